//! The engine watch: whether the backend's engine answers, and what its coming back
//! means for the sessions that were running on it.
//!
//! A Docker engine that restarts stops every container. The nodes have a restart
//! policy, so the engine starts them again with their files, but every shell and
//! every program that ran in them is gone. Without a watch, a session would still
//! read `ready` while nothing in it answered, and a session asked for while the
//! engine is down would be accepted and fail later. So:
//!
//! - the backend is pinged every [`POLL`]; while it does not answer, new sessions
//!   are refused at once ([`EngineWatch::answering`]: 503 with `Retry-After`), and
//!   every live session is told its lab is unreachable;
//! - when it answers again, every ready session's nodes are asked to run `true`
//!   until [`NODES_BACK`] has passed. A session whose nodes all answer has its
//!   terminals closed (the browser reconnects to fresh shells) and is told what
//!   happened; one whose nodes do not come back is failed with the reason, and its
//!   environment goes, like a failed start.
//!
//! Every [`LOST_EVERY`] polls of an answering engine, the backend is also asked for its
//! hosts report: which hosts run each session (the dashboard, `/metrics`), and which
//! environments lost a node anyway (a host of a swarm that went down): those sessions
//! fail with the reason, as above.
//!
//! An engine restart shorter than [`POLL`] can go unseen here; its nodes still come
//! back (the restart policy), and each terminal whose shell ended reconnects.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use runner::{Backend, ExecRequest};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::session::Session;

/// How often the engine is pinged.
pub const POLL: Duration = Duration::from_secs(1);
/// Every this many polls the backend is asked for its hosts report: where environments
/// run, and which lost a node while the engine answered (a swarm host going down
/// takes no ping with it).
pub const LOST_EVERY: u32 = 5;
/// How long one ping may take before the engine counts as not answering.
const PING_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a session's nodes have to answer after the engine is back (a system
/// node boots systemd again).
pub const NODES_BACK: Duration = Duration::from_secs(60);
/// How long one node's `true` may take.
const NODE_PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Between two rounds of asking a node that did not answer yet.
const NODE_PROBE_PAUSE: Duration = Duration::from_millis(500);

/// Whether the engine answered the last ping.
#[derive(Debug)]
pub struct EngineWatch {
    answering: AtomicBool,
}

impl Default for EngineWatch {
    fn default() -> EngineWatch {
        // Until the first ping says otherwise: start-up has just reached the engine.
        EngineWatch {
            answering: AtomicBool::new(true),
        }
    }
}

impl EngineWatch {
    pub fn answering(&self) -> bool {
        self.answering.load(Ordering::Relaxed)
    }

    /// Records a ping's outcome; `Some(now)` when that changes what was known.
    pub(super) fn record(&self, answering: bool) -> Option<bool> {
        let before = self.answering.swap(answering, Ordering::Relaxed);
        (before != answering).then_some(answering)
    }
}

/// Pings the engine once; the error says why it does not answer.
pub(super) async fn ping(backend: &dyn Backend) -> Result<(), String> {
    match tokio::time::timeout(PING_TIMEOUT, backend.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {}s", PING_TIMEOUT.as_secs())),
    }
}

/// Waits, up to [`NODES_BACK`] or until `stopping`, for each node of the session to
/// run `true`; the error names the first that did not.
pub(super) async fn nodes_answer(
    backend: &dyn Backend,
    session: &Session,
    stopping: &CancellationToken,
) -> Result<(), String> {
    let deadline = Instant::now() + NODES_BACK;
    for node in session.lesson.environment.node_names() {
        loop {
            let probe = ExecRequest::new("true", NODE_PROBE_TIMEOUT);
            let error = match backend.exec(&session.id, &node, probe).await {
                Ok(out) if out.success() => break,
                Ok(out) => format!("`true` exited with {:?}", out.exit_code),
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline || stopping.is_cancelled() {
                return Err(format!(
                    "the lab's engine restarted and node {node} did not come back within {}s ({error}); start the lesson again",
                    NODES_BACK.as_secs()
                ));
            }
            tokio::time::sleep(NODE_PROBE_PAUSE).await;
        }
    }
    Ok(())
}
