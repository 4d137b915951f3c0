//! Where a session is in its life, and why it ended: the words the API shows and the
//! database stores.
//!
//! Both are enums in the code and fixed strings outside it, so the JSON and the
//! `sessions` table keep exactly the text they always had. This file imports nothing of
//! the server: the store reads and writes these words without knowing sessions.

use std::fmt;

use serde::{Serialize, Serializer};

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The environment is being created.
    Starting,
    /// Terminals and checks work.
    Ready,
    /// The environment could not be created; `error` says why.
    Failed,
    /// Finished, deleted or expired; the environment is gone.
    Ended,
}

impl Status {
    /// The word in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Starting => "starting",
            Status::Ready => "ready",
            Status::Failed => "failed",
            Status::Ended => "ended",
        }
    }

    /// Reads [`Status::as_str`] back; anything else is a session that is over.
    pub fn parse(s: &str) -> Status {
        match s {
            "starting" => Status::Starting,
            "ready" => Status::Ready,
            "failed" => Status::Failed,
            _ => Status::Ended,
        }
    }

    /// Starting or ready: the session holds (or will hold) an environment.
    pub fn is_live(self) -> bool {
        matches!(self, Status::Starting | Status::Ready)
    }
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    /// The lesson was completed and its finish grace ran out.
    Finished,
    /// The learner (or the admin) deleted it.
    Deleted,
    /// Its time ran out.
    Expired,
    /// Nobody typed or looked for the idle timeout.
    Idle,
    /// The server stopped with `--on-shutdown destroy`.
    Shutdown,
    /// Its environment failed to start, and the failure has been shown long enough.
    Failed,
    /// Re-adoption: the server stopped while the environment was starting.
    RestartedWhileStarting,
    /// Re-adoption: the backend no longer had the environment.
    EnvironmentGone,
    /// Re-adoption: the lesson was removed from the content directory.
    LessonGone,
    /// A reason this version does not know (a row written by another version of
    /// playlab), kept as it was.
    Other(String),
}

impl EndReason {
    const KNOWN: [EndReason; 9] = [
        EndReason::Finished,
        EndReason::Deleted,
        EndReason::Expired,
        EndReason::Idle,
        EndReason::Shutdown,
        EndReason::Failed,
        EndReason::RestartedWhileStarting,
        EndReason::EnvironmentGone,
        EndReason::LessonGone,
    ];

    /// The text in the API, the events and the database: a word, or a sentence where
    /// a restart could not take the session back.
    pub fn as_str(&self) -> &str {
        match self {
            EndReason::Finished => "finished",
            EndReason::Deleted => "deleted",
            EndReason::Expired => "expired",
            EndReason::Idle => "idle",
            EndReason::Shutdown => "shutdown",
            EndReason::Failed => "failed",
            EndReason::RestartedWhileStarting => {
                "the server restarted while the environment was starting"
            }
            EndReason::EnvironmentGone => "the environment was gone after a restart",
            EndReason::LessonGone => "the lesson is no longer in the content directory",
            EndReason::Other(text) => text,
        }
    }
}

impl EndReason {
    /// Reads [`EndReason::as_str`] back from the database.
    pub fn parse(text: &str) -> EndReason {
        EndReason::KNOWN
            .into_iter()
            .find(|known| known.as_str() == text)
            .unwrap_or_else(|| EndReason::Other(text.to_owned()))
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EndReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_reasons_keep_their_text_both_ways() {
        for reason in EndReason::KNOWN {
            assert_eq!(EndReason::parse(reason.as_str()), reason);
        }
        assert_eq!(
            serde_json::to_value(EndReason::Idle).unwrap(),
            serde_json::json!("idle")
        );
        assert_eq!(
            EndReason::parse("gone fishing"),
            EndReason::Other("gone fishing".into())
        );
    }
}
