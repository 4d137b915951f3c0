//! What a session (or a class) tells its browsers over Server-Sent Events.
//!
//! Every event is one SSE `message` whose data is a JSON object with a `type`:
//! `progress` (image pull/build, node and setup output while the environment starts),
//! `status` (`starting`/`ready`/`failed` with `error`/`ended`), `step` (a check passed),
//! `expiry_warning`, `extended`, `ended`, `presence` (how many instructors watch, and
//! whether the learner lets them type) and `engine` (the engine stopped answering, or
//! came back with the nodes restarted). A browser that connects late first gets
//! the progress so far (bounded) and the current status, so nothing depends on timing.
//! A class's stream carries `broadcast` (the instructor's message to its members); a
//! late subscriber first gets the latest one.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use runner::Progress;
use serde::Serialize;
use tokio::sync::broadcast;

use super::status::{EndReason, Status};

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Progress {
        progress: Progress,
    },
    Status {
        status: Status,
        error: Option<String>,
    },
    Step {
        step: usize,
        completed: bool,
        /// RFC 3339; completing the lesson brings it forward (the finish grace).
        expires_at: String,
    },
    ExpiryWarning {
        /// RFC 3339.
        expires_at: String,
        seconds_left: u64,
    },
    Extended {
        expires_at: String,
    },
    Ended {
        reason: EndReason,
    },
    /// Who watches the learner's terminals, and whether they may type.
    Presence {
        watchers: usize,
        help: bool,
    },
    Broadcast {
        message: String,
        /// RFC 3339.
        at: String,
    },
    /// What happened to the engine the session's environment runs on.
    Engine {
        notice: EngineNotice,
    },
}

/// What a session's browsers are told about its engine (see `sessions::engine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineNotice {
    /// The engine stopped answering: terminals and checks wait for it.
    Unreachable,
    /// The engine is back and so are the session's nodes, restarted: files kept,
    /// programs stopped, fresh shells.
    NodesRestarted,
}

/// Progress events kept for late subscribers; a big image pull is summarised by its
/// latest lines.
const HISTORY: usize = 256;

/// A session's event stream: a broadcast for live subscribers plus a bounded history
/// of start progress.
pub struct EventLog {
    tx: broadcast::Sender<Event>,
    history: Mutex<VecDeque<Event>>,
}

impl Default for EventLog {
    fn default() -> Self {
        EventLog {
            tx: broadcast::channel(256).0,
            history: Mutex::new(VecDeque::new()),
        }
    }
}

impl EventLog {
    pub fn send(&self, event: Event) {
        // Sent under the history lock so a subscriber sees each event exactly once:
        // either in its history snapshot or on its receiver.
        let mut history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        if matches!(event, Event::Progress { .. }) {
            if history.len() == HISTORY {
                history.pop_front();
            }
            history.push_back(event.clone());
        }
        let _ = self.tx.send(event);
    }

    /// The progress so far and a receiver for everything after it.
    pub fn subscribe(&self) -> (Vec<Event>, broadcast::Receiver<Event>) {
        let history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        (history.iter().cloned().collect(), self.tx.subscribe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_subscribers_get_progress_history_then_live_events() {
        let log = EventLog::default();
        for i in 0..(HISTORY + 5) {
            log.send(Event::Progress {
                progress: Progress::Setup {
                    node: "n".into(),
                    line: i.to_string(),
                },
            });
        }
        let (history, mut rx) = log.subscribe();
        assert_eq!(history.len(), HISTORY);
        log.send(Event::Step {
            step: 1,
            completed: false,
            expires_at: "2030-01-01T00:00:00Z".into(),
        });
        let json = serde_json::to_value(rx.try_recv().unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "step", "step": 1, "completed": false,
                               "expires_at": "2030-01-01T00:00:00Z"})
        );
        let first = serde_json::to_value(&history[0]).unwrap();
        assert_eq!(first["progress"]["line"], "5");
    }
}
