//! A [`Backend`] for tests only (cargo feature `testing`): no containers, no processes.
//!
//! It lets the code above the runner (the server's session manager) be tested in
//! milliseconds and with tokio's paused clock, where a Docker environment takes seconds
//! and the wall clock. Exec results come from a rule the test sets; a terminal is a
//! loopback (what is written to it comes back as its output); every start, destroy,
//! exec and attach is recorded; a start can be made to fail or to wait until released;
//! and the environments it holds are listed for re-adoption and reconciliation.
//! Nothing here is fit for serving learners.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use futures::StreamExt;
use scenarios::Lesson;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tokio_util::io::ReaderStream;

use crate::{
    Backend, EnvironmentInfo, ExecOutput, ExecRequest, NodeInfo, ProgressSender, RunnerError,
    SessionId, TermSize, Terminal, TerminalControl,
};

/// What a loopback terminal prints first, as a shell prints its prompt.
pub const PROMPT: &str = "$ ";

/// Decides an exec's result from the node and the script.
pub type ExecRule = dyn Fn(&str, &str) -> ExecOutput + Send + Sync;

/// One exec the backend was asked to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecCall {
    pub session: SessionId,
    pub node: String,
    pub script: String,
}

#[derive(Default)]
struct Record {
    environments: HashSet<SessionId>,
    starts: Vec<SessionId>,
    destroys: Vec<SessionId>,
    execs: Vec<ExecCall>,
    attaches: Vec<(SessionId, String)>,
    fail_starts: bool,
}

/// The fake backend; see the module documentation.
pub struct FakeBackend {
    record: Mutex<Record>,
    rule: Mutex<Arc<ExecRule>>,
    /// `true` while starts are held.
    held: watch::Sender<bool>,
}

impl Default for FakeBackend {
    fn default() -> Self {
        FakeBackend {
            record: Mutex::default(),
            rule: Mutex::new(Arc::new(|_: &str, _: &str| exit(0))),
            held: watch::Sender::new(false),
        }
    }
}

/// An exec result with this exit code and no output.
pub fn exit(code: i64) -> ExecOutput {
    ExecOutput {
        exit_code: Some(code),
        ..ExecOutput::default()
    }
}

impl FakeBackend {
    /// A backend whose execs all succeed with no output.
    pub fn new() -> Arc<FakeBackend> {
        Arc::new(FakeBackend::default())
    }

    fn record(&self) -> std::sync::MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Execs from now on return what `rule(node, script)` says.
    pub fn on_exec(&self, rule: impl Fn(&str, &str) -> ExecOutput + Send + Sync + 'static) {
        *self.rule.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(rule);
    }

    /// Starts from now on fail (`true`) or succeed (`false`).
    pub fn fail_starts(&self, fail: bool) {
        self.record().fail_starts = fail;
    }

    /// Starts from now on wait until [`FakeBackend::release_starts`].
    pub fn hold_starts(&self) {
        self.held.send_replace(true);
    }

    /// Lets held starts (and later ones) go on.
    pub fn release_starts(&self) {
        self.held.send_replace(false);
    }

    /// Pretends an environment exists, as one left by an earlier server would.
    pub fn add_environment(&self, session: &SessionId) {
        self.record().environments.insert(session.clone());
    }

    /// Whether the session has an environment now.
    pub fn has_environment(&self, session: &SessionId) -> bool {
        self.record().environments.contains(session)
    }

    /// Every session a start was asked for, in order.
    pub fn starts(&self) -> Vec<SessionId> {
        self.record().starts.clone()
    }

    /// Every session a destroy was asked for, in order.
    pub fn destroys(&self) -> Vec<SessionId> {
        self.record().destroys.clone()
    }

    /// Every exec, in order.
    pub fn execs(&self) -> Vec<ExecCall> {
        self.record().execs.clone()
    }

    /// Every terminal attached, as `(session, node)`, in order.
    pub fn attaches(&self) -> Vec<(SessionId, String)> {
        self.record().attaches.clone()
    }

    /// Execs and terminals need an environment, as on a real backend.
    fn require(&self, session: &SessionId) -> Result<(), RunnerError> {
        if self.record().environments.contains(session) {
            Ok(())
        } else {
            Err(RunnerError::NoEnvironment(session.clone()))
        }
    }
}

/// A loopback terminal's control: resizing does nothing, the shell never exits.
struct LoopbackControl;

#[async_trait]
impl TerminalControl for LoopbackControl {
    async fn resize(&self, _size: TermSize) -> Result<(), RunnerError> {
        Ok(())
    }

    async fn exit_code(&self) -> Result<Option<i64>, RunnerError> {
        Ok(None)
    }
}

#[async_trait]
impl Backend for FakeBackend {
    fn name(&self) -> &'static str {
        "fake"
    }

    async fn ping(&self) -> Result<(), RunnerError> {
        Ok(())
    }

    async fn start(
        &self,
        session: &SessionId,
        lesson: &Lesson,
        _progress: ProgressSender,
    ) -> Result<EnvironmentInfo, RunnerError> {
        self.record().starts.push(session.clone());
        let mut held = self.held.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail.
        let _ = held.wait_for(|held| !held).await;
        let mut record = self.record();
        if record.fail_starts {
            return Err(RunnerError::ImageUnavailable {
                image: "fake".into(),
                reason: "the fake backend was told to fail starts".into(),
            });
        }
        record.environments.insert(session.clone());
        Ok(EnvironmentInfo {
            session: session.clone(),
            nodes: lesson
                .environment
                .nodes
                .iter()
                .map(|n| NodeInfo {
                    name: n.name.clone(),
                    address: None,
                })
                .collect(),
        })
    }

    async fn exec(
        &self,
        session: &SessionId,
        node: &str,
        request: ExecRequest,
    ) -> Result<ExecOutput, RunnerError> {
        self.require(session)?;
        self.record().execs.push(ExecCall {
            session: session.clone(),
            node: node.to_owned(),
            script: request.script.clone(),
        });
        let rule = self
            .rule
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Ok(rule(node, &request.script))
    }

    async fn attach(
        &self,
        session: &SessionId,
        node: &str,
        _size: TermSize,
    ) -> Result<Terminal, RunnerError> {
        self.require(session)?;
        self.record()
            .attaches
            .push((session.clone(), node.to_owned()));
        // Written into one end, read from the other: keystrokes come back as output.
        let (mut input, output) = tokio::io::duplex(64 * 1024);
        input
            .write_all(PROMPT.as_bytes())
            .await
            .map_err(|source| RunnerError::Io {
                context: "writing the loopback terminal's prompt".into(),
                source,
            })?;
        Ok(Terminal {
            output: ReaderStream::new(output).boxed(),
            input: Box::pin(input),
            control: Box::new(LoopbackControl),
        })
    }

    async fn destroy(&self, session: &SessionId) -> Result<(), RunnerError> {
        let mut record = self.record();
        record.destroys.push(session.clone());
        record.environments.remove(session);
        Ok(())
    }

    async fn environments(&self) -> Result<Vec<SessionId>, RunnerError> {
        let mut list: Vec<_> = self.record().environments.iter().cloned().collect();
        list.sort();
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn a_terminal_echoes_what_is_typed() {
        let backend = FakeBackend::new();
        let id: SessionId = "s1".parse().unwrap();
        backend.add_environment(&id);
        let mut term = backend
            .attach(&id, "node01", TermSize::default())
            .await
            .unwrap();
        term.input.write_all(b"ls\r").await.unwrap();
        let mut seen = Vec::new();
        while seen.len() < 5 {
            seen.extend_from_slice(&term.output.next().await.unwrap().unwrap());
        }
        assert_eq!(seen, b"$ ls\r");
    }

    #[tokio::test]
    async fn execs_follow_the_rule_and_are_recorded() {
        let backend = FakeBackend::new();
        let id: SessionId = "s1".parse().unwrap();
        assert!(matches!(
            backend
                .exec(&id, "n", ExecRequest::new("true", Default::default()))
                .await,
            Err(RunnerError::NoEnvironment(_))
        ));
        backend.add_environment(&id);
        backend.on_exec(|node, script| {
            exit(if node == "n" && script == "false" {
                1
            } else {
                0
            })
        });
        let run = |script: &'static str| {
            backend.exec(&id, "n", ExecRequest::new(script, Default::default()))
        };
        assert!(!run("false").await.unwrap().success());
        assert!(run("true").await.unwrap().success());
        assert_eq!(backend.execs().len(), 2);
        backend.destroy(&id).await.unwrap();
        assert!(backend.environments().await.unwrap().is_empty());
    }
}
