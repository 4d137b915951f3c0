//! A [`Backend`] for tests only (cargo feature `testing`): no containers, no processes.
//!
//! It lets the code above the runner (the server's session manager) be tested in
//! milliseconds and with tokio's paused clock, where a Docker environment takes seconds
//! and the wall clock; the runner's own judging tests use it too. Exec results come
//! from a rule the test sets; a terminal is a loopback (what is written to it comes
//! back as its output); every start, destroy, exec and attach is recorded; a start can
//! be made to fail or to wait until released, pings to fail; and the environments it holds are
//! listed for re-adoption and reconciliation.
//!
//! It is as strict as the real backends where a caller could come to rely on leniency:
//! a start checks the lesson ([`Plan::new`]) and refuses a session that has an
//! environment, and an exec or attach on a node the environment lacks is
//! [`RunnerError::NoNode`]. Nothing here is fit for serving learners.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use futures::StreamExt;
use scenarios::Lesson;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tokio_util::io::ReaderStream;

use crate::backend::{
    Backend, EnvironmentInfo, ExecOutput, ExecRequest, HostsReport, NodeInfo, Progress,
    ProgressSender, TermSize, Terminal, TerminalControl,
};
use crate::environment::Plan;
use crate::error::RunnerError;
use crate::session::SessionId;

/// What a loopback terminal prints first, as a shell prints its prompt.
pub const PROMPT: &str = "$ ";

/// Decides an exec's result from the node and the script.
pub type ExecRule = dyn Fn(&str, &str) -> ExecOutput + Send + Sync;

/// One exec the backend ran (one refused for want of an environment or node is not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecCall {
    pub session: SessionId,
    pub node: String,
    pub script: String,
}

#[derive(Default)]
struct Record {
    /// Each environment's node names.
    environments: HashMap<SessionId, Vec<String>>,
    starts: Vec<SessionId>,
    destroys: Vec<SessionId>,
    execs: Vec<ExecCall>,
    attaches: Vec<(SessionId, String)>,
    fail_starts: bool,
    fail_pings: bool,
    /// What `hosts_report` reports lost.
    lost: Vec<(SessionId, String)>,
    /// `room_for` says the pool is full.
    full: bool,
    /// What `hosts_report` reports of each environment's hosts.
    hosts: Vec<(SessionId, Vec<String>)>,
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

/// `output` as a real backend would return it under `limit`: each stream cut to at
/// most `limit` bytes (at a character boundary), and marked truncated if it was.
fn bounded(mut output: ExecOutput, limit: usize) -> ExecOutput {
    for stream in [&mut output.stdout, &mut output.stderr] {
        if stream.len() > limit {
            let cut = (0..=limit).rev().find(|&i| stream.is_char_boundary(i));
            stream.truncate(cut.unwrap_or(0));
            output.truncated = true;
        }
    }
    output
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

    /// Makes pings fail (an engine that does not answer) until called with `false`.
    pub fn fail_pings(&self, fail: bool) {
        self.record().fail_pings = fail;
    }

    /// From now on the session's environment reads as running on `hosts`.
    pub fn place(&self, session: &SessionId, hosts: &[&str]) {
        let hosts = hosts.iter().map(|h| (*h).to_owned()).collect();
        self.record().hosts.push((session.clone(), hosts));
    }

    /// From now on `room_for` says there is no room (`true`), or room again.
    pub fn fill(&self, full: bool) {
        self.record().full = full;
    }

    /// From now on the session's environment reads as lost, for `reason` (its
    /// environment stays: destroying it is the caller's answer).
    pub fn lose(&self, session: &SessionId, reason: &str) {
        self.record()
            .lost
            .push((session.clone(), reason.to_owned()));
    }

    /// Starts from now on wait until [`FakeBackend::release_starts`].
    pub fn hold_starts(&self) {
        self.held.send_replace(true);
    }

    /// Lets held starts (and later ones) go on.
    pub fn release_starts(&self) {
        self.held.send_replace(false);
    }

    /// Pretends an environment with these nodes exists, as one left by an earlier
    /// server would.
    pub fn add_environment(&self, session: &SessionId, nodes: &[&str]) {
        let nodes = nodes.iter().map(|&n| n.to_owned()).collect();
        self.record().environments.insert(session.clone(), nodes);
    }

    /// Whether the session has an environment now.
    pub fn has_environment(&self, session: &SessionId) -> bool {
        self.record().environments.contains_key(session)
    }

    /// Every session a start was asked for, in order.
    pub fn starts(&self) -> Vec<SessionId> {
        self.record().starts.clone()
    }

    /// Every session a destroy was asked for, in order.
    pub fn destroys(&self) -> Vec<SessionId> {
        self.record().destroys.clone()
    }

    /// Every exec run, in order.
    pub fn execs(&self) -> Vec<ExecCall> {
        self.record().execs.clone()
    }

    /// Every terminal attached, as `(session, node)`, in order (refused ones left out).
    pub fn attaches(&self) -> Vec<(SessionId, String)> {
        self.record().attaches.clone()
    }

    /// Execs and terminals need an environment with that node, as on a real backend.
    fn require(record: &Record, session: &SessionId, node: &str) -> Result<(), RunnerError> {
        let nodes = record
            .environments
            .get(session)
            .ok_or_else(|| RunnerError::NoEnvironment(session.clone()))?;
        if nodes.iter().any(|n| n == node) {
            Ok(())
        } else {
            Err(RunnerError::NoNode {
                session: session.clone(),
                node: node.to_owned(),
            })
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

    async fn room_for(&self, lesson: &Lesson) -> Result<(), RunnerError> {
        match self.record().full {
            true => Err(RunnerError::PoolFull {
                node: lesson.environment.nodes[0].name.clone(),
                reason: "the fake pool was told it is full".to_owned(),
            }),
            false => Ok(()),
        }
    }

    async fn hosts_report(&self) -> Result<HostsReport, RunnerError> {
        let record = self.record();
        Ok(HostsReport {
            hosts: record.hosts.clone(),
            lost: record
                .lost
                .iter()
                .filter(|(s, _)| record.environments.contains_key(s))
                .cloned()
                .collect(),
        })
    }

    async fn ping(&self) -> Result<(), RunnerError> {
        if self.record().fail_pings {
            return Err(RunnerError::Io {
                context: "pinging the fake engine".to_owned(),
                source: std::io::ErrorKind::ConnectionRefused.into(),
            });
        }
        Ok(())
    }

    async fn start(
        &self,
        session: &SessionId,
        lesson: &Lesson,
        progress: ProgressSender,
    ) -> Result<EnvironmentInfo, RunnerError> {
        self.record().starts.push(session.clone());
        let mut held = self.held.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail.
        let _ = held.wait_for(|held| !held).await;
        // Privileged nodes are allowed: that policy is the real backends' to test.
        let plan = Plan::new(lesson, true)?;
        let mut record = self.record();
        if record.environments.contains_key(session) {
            return Err(RunnerError::AlreadyStarted(session.clone()));
        }
        if record.fail_starts {
            return Err(RunnerError::ImageUnavailable {
                image: "fake".into(),
                reason: "the fake backend was told to fail starts".into(),
            });
        }
        let names: Vec<String> = plan.nodes().iter().map(|n| n.name.clone()).collect();
        record.environments.insert(session.clone(), names.clone());
        drop(record);
        for node in &names {
            progress.send(Progress::Node {
                node: node.clone(),
                status: "ready".to_owned(),
            });
        }
        Ok(EnvironmentInfo {
            session: session.clone(),
            nodes: names
                .into_iter()
                .map(|name| NodeInfo {
                    name,
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
        {
            let mut record = self.record();
            Self::require(&record, session, node)?;
            record.execs.push(ExecCall {
                session: session.clone(),
                node: node.to_owned(),
                script: request.script.clone(),
            });
        }
        let rule = self
            .rule
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Ok(bounded(rule(node, &request.script), request.output_limit))
    }

    async fn attach(
        &self,
        session: &SessionId,
        node: &str,
        _size: TermSize,
    ) -> Result<Terminal, RunnerError> {
        {
            let mut record = self.record();
            Self::require(&record, session, node)?;
            record.attaches.push((session.clone(), node.to_owned()));
        }
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
        let mut list: Vec<_> = self.record().environments.keys().cloned().collect();
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
        backend.add_environment(&id, &["node01"]);
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
        backend.add_environment(&id, &["n"]);
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
        assert!(matches!(
            backend
                .exec(&id, "m", ExecRequest::new("true", Default::default()))
                .await,
            Err(RunnerError::NoNode { node, .. }) if node == "m"
        ));
        assert_eq!(backend.execs().len(), 2, "refused execs are not recorded");
        backend.destroy(&id).await.unwrap();
        assert!(backend.environments().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_start_is_as_strict_as_a_real_backend() {
        use scenarios::{Environment, NodeImage, NodeSpec};
        let lesson = |names: &[&str]| {
            let nodes = names
                .iter()
                .map(|&n| NodeSpec::new(n, NodeImage::Reference("x".to_owned())))
                .collect();
            Lesson::with_environment("t", "/", Environment::new(nodes))
        };
        let backend = FakeBackend::new();
        let id: SessionId = "s1".parse().unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let info = backend
            .start(&id, &lesson(&["a", "b"]), ProgressSender::new(tx))
            .await
            .unwrap();
        let names: Vec<_> = info.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        for node in ["a", "b"] {
            assert_eq!(
                rx.try_recv().unwrap(),
                Progress::Node {
                    node: node.into(),
                    status: "ready".into()
                }
            );
        }
        let again = backend
            .start(&id, &lesson(&["a"]), ProgressSender::discard())
            .await;
        assert!(matches!(again, Err(RunnerError::AlreadyStarted(_))));
        let other: SessionId = "s2".parse().unwrap();
        let bad = backend
            .start(&other, &lesson(&[]), ProgressSender::discard())
            .await;
        assert!(matches!(bad, Err(RunnerError::NoNodes { .. })));
        assert!(!backend.has_environment(&other));
    }
}
