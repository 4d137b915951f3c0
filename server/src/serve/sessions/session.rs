//! One session: a learner working through a lesson in one environment, its state,
//! how the API shows it and how the database stores it.
//!
//! The state sits behind a short-lived lock that no code holds across an `.await`; the
//! session manager's rooms change it, and only through the methods here and the
//! fields they open to the `sessions` module.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use runner::{ProgressSender, RunnerError, SessionId};
use scenarios::Lesson;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::serve::config::Limits;
use crate::serve::events::{Event, EventLog};
use crate::serve::status::{EndReason, Status};
use crate::serve::store::SessionRecord;
use crate::serve::terminals::{Presence, Terminals};

/// How long a failed session stays visible (with its error) before it is forgotten.
const FAILED_VISIBLE: Duration = Duration::from_secs(10 * 60);

/// A session as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    pub id: SessionId,
    pub lesson: String,
    pub learner: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub nodes: Vec<String>,
    /// The current step, counting from 0; equal to `steps` once completed.
    pub step: usize,
    pub steps: usize,
    pub completed: bool,
    /// RFC 3339.
    pub created_at: String,
    pub expires_at: String,
    /// Why an ended session ended (see [`EndReason`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<EndReason>,
    /// The hosts its nodes run on, where the backend has several (a swarm).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
}

impl SessionView {
    /// A session the database remembers; `lesson` is `None` when the lesson is gone.
    pub(super) fn of_record(record: SessionRecord, lesson: Option<&Lesson>) -> SessionView {
        SessionView {
            id: record.id,
            lesson: record.lesson,
            learner: record.learner,
            status: record.status,
            error: record.error,
            nodes: lesson
                .map(|l| l.environment.node_names())
                .unwrap_or_default(),
            step: record.step,
            steps: lesson.map_or(record.step, |l| l.steps.len()),
            completed: record.completed_at.is_some(),
            created_at: rfc3339(record.created_at),
            expires_at: rfc3339(record.expires_at),
            end_reason: record.end_reason,
            hosts: Vec::new(),
        }
    }
}

/// Help mode as the learner and the instructors see it (`/api/sessions/{id}/help`).
#[derive(Debug, Serialize)]
pub struct HelpView {
    /// Whether watchers may type.
    pub help: bool,
    pub watchers: usize,
    /// Every grant and revocation, oldest first.
    pub log: Vec<HelpChange>,
}

#[derive(Debug, Serialize)]
pub struct HelpChange {
    /// RFC 3339.
    pub at: String,
    pub granted: bool,
}

impl HelpView {
    pub(super) fn new(presence: Presence, log: Vec<(SystemTime, bool)>) -> HelpView {
        HelpView {
            help: presence.help,
            watchers: presence.watchers,
            log: log
                .into_iter()
                .map(|(at, granted)| HelpChange {
                    at: rfc3339(at),
                    granted,
                })
                .collect(),
        }
    }
}

/// A session's place in its lesson at one moment (see [`Session::progress`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SessionProgress {
    pub status: Status,
    pub step: usize,
    pub completed: bool,
    pub created_at: SystemTime,
    pub last_activity: SystemTime,
}

pub(super) fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

pub struct Session {
    pub id: SessionId,
    pub learner: String,
    pub lesson: Arc<Lesson>,
    /// The class of the learner when they started it (the roster finds it by this).
    pub class: Option<String>,
    pub events: EventLog,
    pub terminals: Arc<Terminals>,
    state: Mutex<SessionState>,
    /// One check at a time per session: a double click must not advance twice.
    checking: tokio::sync::Mutex<()>,
}

/// What changes in a session's life.
pub(super) struct SessionState {
    pub status: Status,
    pub error: Option<String>,
    pub step: usize,
    pub created_at: SystemTime,
    pub expires_at: SystemTime,
    pub completed_at: Option<SystemTime>,
    pub ended_at: Option<SystemTime>,
    pub end_reason: Option<EndReason>,
    /// On tokio's clock, so tests can pause time (only ever compared with itself).
    pub last_active: Instant,
    /// Whether the learner was warned of the current expiry.
    pub warned: bool,
    /// The hosts the environment's nodes run on, as the backend last said.
    pub hosts: Vec<String>,
}

impl Session {
    /// A session created now, expiring one `ttl` from `now`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        id: SessionId,
        learner: &str,
        lesson: Arc<Lesson>,
        class: Option<String>,
        status: Status,
        terminals: Arc<Terminals>,
        now: SystemTime,
        ttl: Duration,
    ) -> Arc<Session> {
        Arc::new(Session {
            id,
            learner: learner.to_owned(),
            lesson,
            class,
            events: EventLog::default(),
            terminals,
            state: Mutex::new(SessionState {
                status,
                error: None,
                step: 0,
                created_at: now,
                expires_at: now + ttl,
                completed_at: None,
                ended_at: None,
                end_reason: None,
                last_active: Instant::now(),
                warned: false,
                hosts: Vec::new(),
            }),
            checking: tokio::sync::Mutex::new(()),
        })
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, SessionState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Held while a check runs.
    pub(super) async fn check_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.checking.lock().await
    }

    pub fn status(&self) -> Status {
        self.lock().status
    }

    pub fn view(&self) -> SessionView {
        let st = self.lock();
        SessionView {
            id: self.id.clone(),
            lesson: self.lesson.id.clone(),
            learner: self.learner.clone(),
            status: st.status,
            error: st.error.clone(),
            nodes: self.lesson.environment.node_names(),
            step: st.step,
            steps: self.lesson.steps.len(),
            completed: st.completed_at.is_some(),
            created_at: rfc3339(st.created_at),
            expires_at: rfc3339(st.expires_at),
            end_reason: st.end_reason.clone(),
            hosts: st.hosts.clone(),
        }
    }

    /// Records which hosts the environment's nodes run on.
    pub(super) fn placed_on(&self, hosts: Vec<String>) {
        self.lock().hosts = hosts;
    }

    pub(super) fn record(&self) -> SessionRecord {
        let st = self.lock();
        SessionRecord {
            id: self.id.clone(),
            learner: self.learner.clone(),
            lesson: self.lesson.id.clone(),
            status: st.status,
            error: st.error.clone(),
            step: st.step,
            created_at: st.created_at,
            expires_at: st.expires_at,
            completed_at: st.completed_at,
            ended_at: st.ended_at,
            end_reason: st.end_reason.clone(),
            class: self.class.clone(),
        }
    }

    /// Where the learner is, for the class roster: `now` is the session manager's
    /// clock, so the last activity (kept on tokio's clock) is told as a wall time.
    pub fn progress(&self, now: SystemTime) -> SessionProgress {
        let st = self.lock();
        SessionProgress {
            status: st.status,
            step: st.step,
            completed: st.completed_at.is_some(),
            created_at: st.created_at,
            last_activity: now - st.last_active.elapsed(),
        }
    }

    /// Takes back the progress and times a restart kept in the database.
    pub(super) fn restore(&self, record: &SessionRecord) {
        let mut st = self.lock();
        st.step = record.step;
        st.created_at = record.created_at;
        st.expires_at = record.expires_at;
        st.completed_at = record.completed_at;
    }

    /// A progress sender whose reports become this session's events, and the task that
    /// forwards them (it ends once every sender is dropped).
    pub(super) fn forward_progress(self: &Arc<Self>) -> (ProgressSender, JoinHandle<()>) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let session = self.clone();
        let forward = tokio::spawn(async move {
            while let Some(progress) = rx.recv().await {
                session.events.send(Event::Progress { progress });
            }
        });
        (ProgressSender::new(tx), forward)
    }

    /// Records how the environment's start went, unless the session ended meanwhile
    /// (`None`: deleted while starting); returns the status and error it now has.
    pub(super) fn start_finished(
        &self,
        result: Result<(), RunnerError>,
    ) -> Option<(Status, Option<String>)> {
        let mut st = self.lock();
        if st.status == Status::Ended {
            return None;
        }
        match result {
            Ok(()) => st.status = Status::Ready,
            Err(e) => {
                st.status = Status::Failed;
                st.error = Some(e.to_string());
                // A failure stays visible for a while from now.
                st.last_active = Instant::now();
            }
        }
        Some((st.status, st.error.clone()))
    }

    /// A ready session's environment is lost (see `engine`): it is failed with `error`,
    /// shown from now on; `false` if it was not ready (ended, or being reset).
    pub(super) fn lost(&self, error: String) -> bool {
        let mut st = self.lock();
        if st.status != Status::Ready {
            return false;
        }
        st.status = Status::Failed;
        st.error = Some(error);
        st.last_active = Instant::now();
        true
    }

    /// Takes a ready session back to starting at `step` (a reset: its environment is
    /// about to be made afresh), not completed; any other status is the error.
    pub(super) fn begin_reset(&self, step: usize) -> Result<(), Status> {
        let mut st = self.lock();
        if st.status != Status::Ready {
            return Err(st.status);
        }
        st.status = Status::Starting;
        st.error = None;
        st.step = step;
        st.completed_at = None;
        Ok(())
    }

    /// Marks the session as used now (it is not idle).
    pub fn touch(&self) {
        self.lock().last_active = Instant::now();
    }

    /// Whether `learner` may use this session.
    pub fn owned_by(&self, learner: Option<&str>) -> bool {
        learner == Some(self.learner.as_str())
    }

    /// Whether the session's time is up at `now`, and why; on the way, warns the
    /// learner (once per expiry) when it comes within `limits.expiry_warning`.
    /// Pushes the expiry out by `by`, to at most `ttl` from `now` and never earlier
    /// than it was; a session that is not live cannot be extended (its status is the
    /// error). Returns the new expiry.
    pub(super) fn extend(
        &self,
        now: SystemTime,
        by: Duration,
        ttl: Duration,
    ) -> Result<SystemTime, Status> {
        let mut st = self.lock();
        if !st.status.is_live() {
            return Err(st.status);
        }
        st.expires_at = (st.expires_at + by).min(now + ttl).max(st.expires_at);
        st.warned = false;
        Ok(st.expires_at)
    }

    pub(super) fn check_deadlines(&self, now: SystemTime, limits: &Limits) -> Option<EndReason> {
        let mut st = self.lock();
        let left = st.expires_at.duration_since(now).unwrap_or_default();
        let idle = st.last_active.elapsed();
        match st.status {
            // A completed lesson's expiry is its finish grace.
            Status::Ready if left.is_zero() && st.completed_at.is_some() => {
                Some(EndReason::Finished)
            }
            Status::Starting | Status::Ready if left.is_zero() => Some(EndReason::Expired),
            Status::Ready if idle >= limits.idle_timeout => Some(EndReason::Idle),
            Status::Starting | Status::Ready => {
                if !st.warned && left <= limits.expiry_warning {
                    st.warned = true;
                    self.events.send(Event::ExpiryWarning {
                        expires_at: rfc3339(st.expires_at),
                        seconds_left: left.as_secs(),
                    });
                }
                None
            }
            Status::Failed if idle >= FAILED_VISIBLE => Some(EndReason::Failed),
            Status::Failed | Status::Ended => None,
        }
    }
}
