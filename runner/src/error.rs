//! [`RunnerError`]: everything that can go wrong in the runner, one variant per kind of
//! failure, each saying what happened in words a learner's or operator's log can use.
//!
//! It names two things of ours, and neither imports it back: the session id (a leaf)
//! and the PKI's own error (`pki` imports only the node-file type, another leaf). So
//! any other module can return it without closing an import loop; `pki` is the one
//! module that cannot: it has its own error, which [`RunnerError::Pki`] wraps.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::pki::PkiError;
use crate::session::SessionId;

/// The error of an underlying library that has no one type (terminals, engine
/// connections), kept whole as the source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("invalid session id {0:?}: use 1 to 32 lowercase letters and digits")]
    InvalidSessionId(String),
    #[error("no environment for session {0}")]
    NoEnvironment(SessionId),
    #[error("session {session} has no node named {node:?}")]
    NoNode { session: SessionId, node: String },
    /// Web ports connect to a node's own address; the local backend's nodes are
    /// shells on the host, and reaching "their" ports would reach the host's.
    #[error(
        "web ports need the Docker backend: the {backend} backend's nodes have no network \
         address of their own"
    )]
    PortsUnsupported { backend: &'static str },
    /// `start` for a session that has an environment already: starting again would
    /// mix two environments under one id.
    #[error("session {0} already has an environment")]
    AlreadyStarted(SessionId),
    /// Node names become hostnames and parts of container and folder names.
    #[error(
        "lesson {lesson}: node name {node:?} is not a DNS label (lowercase letters, \
         digits and '-', at most 63)"
    )]
    InvalidNodeName { lesson: String, node: String },
    #[error("lesson {lesson} has no nodes")]
    NoNodes { lesson: String },
    #[error("image {image} is unavailable: {reason}")]
    ImageUnavailable { image: String, reason: String },
    /// The lesson asks for a system node and the operator has not allowed them:
    /// like an unavailable image, the lesson cannot run on this host as configured.
    #[error(
        "node {node} is a system node (`system: true` in the lesson: systemd, containerd \
         or Docker run inside it), which this server's operator has not allowed \
         (playlab's --allow-system-nodes)"
    )]
    SystemNodeNotAllowed { node: String },
    /// A reset to a step would have to redo an earlier step's work, and that step has
    /// no solution to redo it with.
    #[error(
        "step {step} ({title}) checks the environment but has no solve script, so its \
         work cannot be redone in a fresh environment: reset to the lesson start instead"
    )]
    CannotReplay { step: usize, title: String },
    /// A setup script did not succeed, which stops the scripts after it. Its output
    /// keeps the two streams apart so that a report (the self-test's) can lay them out.
    #[error(
        "setup script on node {node} failed with exit code {exit_code:?}:\n{stdout}{stderr}{}",
        killed_note(.killed_after)
    )]
    SetupFailed {
        node: String,
        exit_code: Option<i64>,
        stdout: String,
        stderr: String,
        /// The timeout that killed the script, when it ran out of time.
        killed_after: Option<Duration>,
    },
    /// A command that puts a file on a node (a staged script) did not succeed.
    ///
    /// Built only by the server, which stages Killercoda foreground scripts with an
    /// exec before typing them. It lives here all the same: a file that cannot be
    /// copied onto a node by exec is a failure of the node, like [`Self::SetupFailed`],
    /// and the staging sits between two runner operations (the exec and the terminal's
    /// input) whose errors are already this type.
    #[error("could not copy {what} onto node {node} (exit code {exit_code:?}): {stderr}")]
    CopyFailed {
        node: String,
        what: String,
        exit_code: Option<i64>,
        stderr: String,
    },
    #[error("issuing the session PKI: {0}")]
    Pki(#[from] PkiError),
    /// Only when connecting to the engine, where the advice to install it fits; a
    /// connection that fails later is the failure of what it was for.
    #[error(
        "cannot reach the Docker engine at {socket}: {source} (install docker.io and start \
         dockerd; see .ci/setup-machine)"
    )]
    EngineUnreachable {
        socket: String,
        #[source]
        source: BoxError,
    },
    /// The engine answered an attached exec as a detached one: there is no output to read.
    #[error("the Docker engine started the command on {container} detached")]
    ExecDetached { container: String },
    /// Opening or controlling an interactive terminal failed; `place` says where
    /// (`on node web`, `(exec 1f2e on /var/run/docker.sock)`).
    #[error("{action} a terminal {place}: {source}")]
    Terminal {
        action: &'static str,
        place: String,
        #[source]
        source: BoxError,
    },
    /// The local backend's temporary root was removed under it.
    #[error("the local backend's directory {} is gone", dir.display())]
    LocalRootGone { dir: PathBuf },
    /// Work moved to a blocking thread panicked or was cancelled.
    #[error("{task}: {source}")]
    BlockingTask {
        task: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },
    #[error(
        "node {node} is a system node, which the swarm backend does not run (a Swarm service \
         cannot ask for the unconfined seccomp and AppArmor profiles nested runtimes need); \
         run this lesson on the docker backend"
    )]
    NotOnSwarm { node: String },
    #[error(
        "the engine at {engine} is not a manager of an active swarm: run `docker swarm init` there, or point DOCKER_HOST at a manager"
    )]
    NotAManager { engine: String },
    /// No host of the pool has the memory a node reserves.
    #[error("no host of the pool can take node {node} now: {reason}")]
    PoolFull { node: String, reason: String },
    #[error("the swarm still has network {0} in use after its services were deleted")]
    NetworkInUse(String),
    #[error("node {node} did not start on the swarm: {reason}")]
    TaskFailed { node: String, reason: String },
    #[error("docker: {0}")]
    Docker(#[from] bollard::errors::Error),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl RunnerError {
    /// A closure for `map_err` that wraps an I/O error with what was being done.
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> RunnerError {
        let context = context.into();
        move |source| RunnerError::Io { context, source }
    }
}

/// How [`RunnerError::SetupFailed`] ends when the script was killed at its timeout.
fn killed_note(killed_after: &Option<Duration>) -> String {
    killed_after
        .map(|timeout| format!("(killed after {timeout:?})"))
        .unwrap_or_default()
}

/// Here rather than beside [`SessionId`]: its error is a [`RunnerError`], and the id's
/// module stays a leaf that this one can name.
impl FromStr for SessionId {
    type Err = RunnerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SessionId::checked(s).ok_or_else(|| RunnerError::InvalidSessionId(s.to_owned()))
    }
}
