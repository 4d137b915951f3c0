//! The contract between playlab and the places environments run.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::num::NonZeroU16;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use scenarios::Lesson;
use serde::Serialize;
use tokio::io::AsyncWrite;
use tokio::sync::mpsc;

use crate::error::RunnerError;
use crate::session::SessionId;

/// What a running environment looks like from outside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvironmentInfo {
    pub session: SessionId,
    pub nodes: Vec<NodeInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeInfo {
    pub name: String,
    /// The node's address on the session network, where the backend has one.
    pub address: Option<String>,
}

/// Something that happened while an environment started, for the learner's progress
/// display.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Progress {
    /// Pulling an image: one layer's progress.
    Pull {
        image: String,
        layer: String,
        status: String,
        current: Option<u64>,
        total: Option<u64>,
    },
    /// Building an image: one line of build output.
    Build { image: String, line: String },
    /// A node changed state (`creating`, `started`, ...).
    Node { node: String, status: String },
    /// One line of a setup script's output.
    Setup { node: String, line: String },
}

/// Where a backend reports [`Progress`]; sending never blocks and never fails the start.
#[derive(Debug, Clone, Default)]
pub struct ProgressSender(Option<mpsc::UnboundedSender<Progress>>);

impl ProgressSender {
    pub fn new(tx: mpsc::UnboundedSender<Progress>) -> Self {
        ProgressSender(Some(tx))
    }

    /// A sender that drops everything, for callers that do not show progress.
    pub fn discard() -> Self {
        ProgressSender(None)
    }

    pub fn send(&self, progress: Progress) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(progress);
        }
    }
}

/// What [`Backend::hosts_report`] says of the environments now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostsReport {
    /// Which hosts run each environment's nodes (host names, sorted).
    pub hosts: Vec<(SessionId, Vec<String>)>,
    /// Environments that lost a node while their engine kept answering, each with why
    /// (a host that went down or was drained, a node whose task stopped).
    pub lost: Vec<(SessionId, String)>,
}

/// A non-interactive command on a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRequest {
    /// A shell script, run as root with `bash` if present, else `sh`.
    pub script: String,
    /// The command is killed after this long.
    pub timeout: Duration,
    pub env: Vec<(String, String)>,
    /// Bytes fed to the script's standard input.
    pub stdin: Option<Bytes>,
    /// Output kept per stream ([`EXEC_OUTPUT_LIMIT`] unless the caller expects more,
    /// as a file download does); more is dropped and [`ExecOutput::truncated`] is set.
    pub output_limit: usize,
}

impl ExecRequest {
    pub fn new(script: impl Into<String>, timeout: Duration) -> Self {
        ExecRequest {
            script: script.into(),
            timeout,
            env: Vec::new(),
            stdin: None,
            output_limit: EXEC_OUTPUT_LIMIT,
        }
    }
}

/// Output kept per stream by default: what a check or setup script's report needs.
pub const EXEC_OUTPUT_LIMIT: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ExecOutput {
    /// `None` when the command was killed at its timeout.
    pub exit_code: Option<i64>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    pub truncated: bool,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TermSize {
    pub cols: u16,
    pub rows: u16,
}

impl Default for TermSize {
    /// 80×24, the VT100's screen: the size a terminal has until its viewer says.
    fn default() -> Self {
        TermSize { cols: 80, rows: 24 }
    }
}

/// An interactive TTY on a node: a byte stream each way, plus control.
///
/// Backpressure is the reader's: output is produced only as fast as `output` is
/// polled, so a consumer that stops reading stops the shell's output at the source
/// instead of filling a queue.
pub struct Terminal {
    /// Raw bytes from the TTY; ends when the shell exits.
    pub output: BoxStream<'static, std::io::Result<Bytes>>,
    /// Raw bytes to the TTY (keystrokes).
    pub input: Pin<Box<dyn AsyncWrite + Send>>,
    pub control: Box<dyn TerminalControl>,
}

#[async_trait]
pub trait TerminalControl: Send + Sync {
    async fn resize(&self, size: TermSize) -> Result<(), RunnerError>;
    /// The shell's exit code, once it has exited.
    async fn exit_code(&self) -> Result<Option<i64>, RunnerError>;
}

/// Where environments run: Docker, or local shells for authors.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// A short name for logs and the API (`docker`, `local`).
    fn name(&self) -> &'static str;

    /// Whether the backend can take work now (the server's `/readyz`).
    async fn ping(&self) -> Result<(), RunnerError>;

    /// Creates the session's network and nodes, copies assets and the PKI in, and runs
    /// the lesson's setup scripts. On any failure everything created is removed before
    /// the error is returned.
    async fn start(
        &self,
        session: &SessionId,
        lesson: &Lesson,
        progress: ProgressSender,
    ) -> Result<EnvironmentInfo, RunnerError>;

    async fn exec(
        &self,
        session: &SessionId,
        node: &str,
        request: ExecRequest,
    ) -> Result<ExecOutput, RunnerError>;

    async fn attach(
        &self,
        session: &SessionId,
        node: &str,
        size: TermSize,
    ) -> Result<Terminal, RunnerError>;

    /// Removes everything the session's environment has. Idempotent: destroying an
    /// environment that is gone succeeds.
    async fn destroy(&self, session: &SessionId) -> Result<(), RunnerError>;

    /// Where the server connects to reach `port` on `node` of the session's
    /// environment (the web ports' proxy): an address of that node and no other, so
    /// whatever a request says, it can only reach the session's own nodes. A node that
    /// is not the session's is [`RunnerError::NoNode`]. Backends whose nodes have no
    /// address of their own (the local backend's shells share the host's) refuse with
    /// [`RunnerError::PortsUnsupported`], as this default does.
    async fn port_address(
        &self,
        session: &SessionId,
        node: &str,
        port: NonZeroU16,
    ) -> Result<SocketAddr, RunnerError> {
        let _ = (session, node, port);
        Err(RunnerError::PortsUnsupported {
            backend: self.name(),
        })
    }

    /// Whether the backend can place `lesson`'s environment now; when it cannot,
    /// [`RunnerError::PoolFull`] says why, so the server refuses the session at once
    /// instead of accepting it and failing the start. A backend that does not place
    /// by capacity (one engine, bounded by the operator's `--max-sessions`) always has
    /// room, as this default says.
    async fn room_for(&self, lesson: &Lesson) -> Result<(), RunnerError> {
        let _ = lesson;
        Ok(())
    }

    /// Where the environments run and which lost a node, for backends that spread
    /// them over several hosts (a swarm). The server asks now and then: it shows the
    /// hosts and fails the lost sessions with the reason. A backend on one engine,
    /// whose nodes can only go with it (an outage `ping` shows), has nothing to tell,
    /// as this default says.
    async fn hosts_report(&self) -> Result<HostsReport, RunnerError> {
        Ok(HostsReport::default())
    }

    /// The sessions this backend holds environments for, live or orphaned.
    async fn environments(&self) -> Result<Vec<SessionId>, RunnerError>;

    /// Destroys every environment whose session is not in `live`; returns those removed.
    async fn reconcile(&self, live: &HashSet<SessionId>) -> Result<Vec<SessionId>, RunnerError> {
        let mut removed = Vec::new();
        for session in self.environments().await? {
            if !live.contains(&session) {
                self.destroy(&session).await?;
                removed.push(session);
            }
        }
        Ok(removed)
    }
}
