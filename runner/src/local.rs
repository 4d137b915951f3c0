//! The local backend: nodes as shells on this machine, for lesson authors without Docker.
//!
//! # NO ISOLATION
//!
//! **A local node is not a sandbox.** A node is only a temporary directory; its shells
//! and commands run as the user running playlab, with that user's access to the whole
//! machine, its network and its files. A learner on a local node can do anything that
//! user can. The server therefore only allows this backend when it is bound to loopback,
//! for an author previewing their own lessons; never offer it to anyone else.
//!
//! What a node is here: a directory under one temporary root per backend
//! (`<root>/<session>/<node>`), which is the shell's working directory and `HOME`, with
//! `NODE=<name>` set. Absolute paths of assets and PKI files land under the node's
//! directory (see `node_path`), not on the host. `exec` runs `bash -c` (or `sh -c`)
//! in its own process group so a timeout kills everything the script started;
//! `attach` runs `bash -l` (or `sh`) in a pseudo-terminal from `portable-pty`.
//! `destroy` kills every process group the session started and removes its directory.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};
use scenarios::Lesson;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::mpsc;

use crate::backend::{
    Backend, EnvironmentInfo, ExecOutput, ExecRequest, NodeInfo, Progress, ProgressSender,
    TermSize, Terminal, TerminalControl,
};
use crate::environment::{DEFAULT_SETUP_TIMEOUT, NodeFile, Plan, Provision};
use crate::error::{BoxError, RunnerError};
use crate::session::SessionId;

/// Chunks of terminal output in flight between the PTY reader thread and the consumer:
/// with 8 KiB reads, at most 128 KiB per terminal. When the consumer stops reading, the
/// thread blocks on the full channel, the PTY fills, and the shell blocks on write.
const TERMINAL_CHANNEL: usize = 16;
const TERMINAL_READ: usize = 8 * 1024;
/// Keystrokes buffered towards the PTY before the writer waits.
const TERMINAL_INPUT_BUFFER: usize = 16 * 1024;
/// After a timeout kill, how long to wait for the output pipes to close (a process that
/// left the group could hold them open).
const DRAIN_AFTER_KILL: Duration = Duration::from_secs(1);

/// Environments as directories and shells on this machine. See the module docs: no
/// isolation.
pub struct LocalBackend {
    root: tempfile::TempDir,
    sessions: Mutex<HashMap<SessionId, Arc<LocalEnvironment>>>,
}

struct LocalEnvironment {
    dir: PathBuf,
    /// Node name to its directory, in lesson order.
    nodes: Vec<(String, PathBuf)>,
    env: BTreeMap<String, BTreeMap<String, String>>,
    /// Process groups started for this session, killed on destroy.
    groups: Mutex<HashSet<i32>>,
}

impl LocalEnvironment {
    fn node(&self, session: &SessionId, node: &str) -> Result<&Path, RunnerError> {
        self.nodes
            .iter()
            .find(|(name, _)| name == node)
            .map(|(_, dir)| dir.as_path())
            .ok_or_else(|| RunnerError::NoNode {
                session: session.clone(),
                node: node.to_owned(),
            })
    }

    /// The variables every process on `node` gets: the lesson's, then `NODE` and `HOME`.
    fn variables(&self, node: &str, dir: &Path) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = self
            .env
            .get(node)
            .map(|e| e.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        vars.push(("NODE".into(), node.into()));
        vars.push(("HOME".into(), dir.display().to_string()));
        vars
    }

    /// Remembers a process group, so destroy can kill it.
    fn track(&self, group: i32) {
        self.groups
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(group);
    }

    /// Kills a process group and forgets it.
    fn end(&self, group: i32) {
        kill_group(group);
        self.groups
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&group);
    }

    fn kill_all(&self) {
        for group in self
            .groups
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
        {
            kill_group(group);
        }
    }
}

fn kill_group(group: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; no memory involved.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
}

/// `bash` when this machine has it, else `sh`.
fn shell() -> &'static str {
    let has_bash = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("bash").is_file()));
    if has_bash { "bash" } else { "sh" }
}

impl LocalBackend {
    /// A backend whose nodes live under a fresh temporary directory, removed with it.
    pub fn new() -> Result<Self, RunnerError> {
        let root = tempfile::Builder::new()
            .prefix("playlab-local-")
            .tempdir()
            .map_err(RunnerError::io("creating the local backend's directory"))?;
        Ok(LocalBackend {
            root,
            sessions: Mutex::new(HashMap::new()),
        })
    }

    /// The directory holding every session's nodes (`<root>/<session>/<node>`).
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Arc<LocalEnvironment>>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn environment(&self, session: &SessionId) -> Result<Arc<LocalEnvironment>, RunnerError> {
        self.sessions()
            .get(session)
            .cloned()
            .ok_or_else(|| RunnerError::NoEnvironment(session.clone()))
    }
}

#[async_trait]
impl Provision for LocalBackend {
    type Prepared = ();

    /// Every local node already runs with all the rights of the user running playlab:
    /// there is no privilege to withhold, so a privileged node is nothing more.
    fn allow_system_nodes(&self) -> bool {
        true
    }

    fn setup_timeout(&self) -> Duration {
        DEFAULT_SETUP_TIMEOUT
    }

    async fn prepare(
        &self,
        session: &SessionId,
        _plan: &Plan<'_>,
        _progress: &ProgressSender,
    ) -> Result<(), RunnerError> {
        if self.sessions().contains_key(session) {
            return Err(RunnerError::AlreadyStarted(session.clone()));
        }
        Ok(())
    }

    /// Registers the environment before anything can fail, so destroy finds and removes
    /// it, then creates the node directories.
    async fn create_nodes(
        &self,
        session: &SessionId,
        plan: &Plan<'_>,
        (): (),
        progress: &ProgressSender,
    ) -> Result<Vec<NodeInfo>, RunnerError> {
        let dir = self.root.path().join(session.as_str());
        let environment = Arc::new(LocalEnvironment {
            nodes: plan
                .nodes()
                .iter()
                .map(|n| (n.name.clone(), dir.join(&n.name)))
                .collect(),
            env: plan
                .nodes()
                .iter()
                .map(|n| (n.name.clone(), n.env.clone()))
                .collect(),
            dir,
            groups: Mutex::new(HashSet::new()),
        });
        self.sessions().insert(session.clone(), environment.clone());
        let mut nodes = Vec::new();
        for (name, node_dir) in &environment.nodes {
            std::fs::create_dir_all(node_dir)
                .map_err(RunnerError::io(format!("creating {}", node_dir.display())))?;
            progress.send(Progress::Node {
                node: name.clone(),
                status: "started".into(),
            });
            nodes.push(NodeInfo {
                name: name.clone(),
                address: None,
            });
        }
        Ok(nodes)
    }

    async fn place_files(
        &self,
        session: &SessionId,
        node: &str,
        files: &[NodeFile],
    ) -> Result<(), RunnerError> {
        let environment = self.environment(session)?;
        write_node_files(environment.node(session, node)?, files)
            .map_err(RunnerError::io(format!("copying files into node {node}")))
    }
}

/// Reads `reader` to its end, keeping the first `limit` bytes; says whether it dropped
/// any. Reading on after the limit keeps the writer from blocking on a full pipe.
async fn read_bounded(mut reader: impl AsyncRead + Unpin, limit: usize) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut truncated = false;
    let mut buf = [0u8; 8192];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = limit - kept.len();
                kept.extend_from_slice(&buf[..n.min(room)]);
                truncated |= n > room;
            }
        }
    }
    (kept, truncated)
}

/// A command's output streams, read while it runs, so it never blocks on a full pipe.
struct Outputs {
    stdout: tokio::task::JoinHandle<(Vec<u8>, bool)>,
    stderr: tokio::task::JoinHandle<(Vec<u8>, bool)>,
}

impl Outputs {
    fn read(child: &mut tokio::process::Child, limit: usize) -> Outputs {
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        Outputs {
            stdout: tokio::spawn(read_bounded(stdout, limit)),
            stderr: tokio::spawn(read_bounded(stderr, limit)),
        }
    }

    /// What the streams held once the command ended, waiting at most
    /// [`DRAIN_AFTER_KILL`] for each to close.
    async fn collect(self, exit_code: Option<i64>, timed_out: bool) -> ExecOutput {
        let drain = |task: tokio::task::JoinHandle<(Vec<u8>, bool)>| async move {
            tokio::time::timeout(DRAIN_AFTER_KILL, task)
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default()
        };
        let (stdout, stdout_cut) = drain(self.stdout).await;
        let (stderr, stderr_cut) = drain(self.stderr).await;
        ExecOutput {
            exit_code,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            timed_out,
            truncated: stdout_cut || stderr_cut,
        }
    }
}

/// The shell command for `request` on a node whose directory is `dir`.
fn exec_command(
    environment: &LocalEnvironment,
    node: &str,
    dir: &Path,
    request: &ExecRequest,
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(shell());
    command
        .arg("-c")
        .arg(&request.script)
        .current_dir(dir)
        .envs(environment.variables(node, dir))
        .envs(request.env.iter().cloned())
        .stdin(if request.stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        // Its own process group, so a timeout kills everything the script started.
        .process_group(0)
        .kill_on_drop(true);
    command
}

#[async_trait]
impl Backend for LocalBackend {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn ping(&self) -> Result<(), RunnerError> {
        if self.root.path().is_dir() {
            Ok(())
        } else {
            Err(RunnerError::LocalRootGone {
                dir: self.root.path().to_owned(),
            })
        }
    }

    async fn start(
        &self,
        session: &SessionId,
        lesson: &Lesson,
        progress: ProgressSender,
    ) -> Result<EnvironmentInfo, RunnerError> {
        crate::environment::start(self, session, lesson, &progress).await
    }

    async fn exec(
        &self,
        session: &SessionId,
        node: &str,
        request: ExecRequest,
    ) -> Result<ExecOutput, RunnerError> {
        let environment = self.environment(session)?;
        let dir = environment.node(session, node)?;
        let mut child = exec_command(&environment, node, dir, &request)
            .spawn()
            .map_err(RunnerError::io(format!("running a command on node {node}")))?;
        let group = child.id().map(|pid| pid as i32);
        if let Some(group) = group {
            environment.track(group);
        }
        if let (Some(bytes), Some(mut stdin)) = (request.stdin, child.stdin.take()) {
            // A script that never reads its input must not block us: write in the
            // background, and ignore the broken pipe of a script that exits first.
            tokio::spawn(async move {
                let _ = stdin.write_all(&bytes).await;
            });
        }
        let outputs = Outputs::read(&mut child, request.output_limit);

        let status = tokio::time::timeout(request.timeout, child.wait()).await;
        let timed_out = status.is_err();
        let exit_code = match status {
            Ok(status) => status
                .map_err(RunnerError::io(format!(
                    "waiting for a command on node {node}"
                )))?
                .code()
                .map(i64::from),
            Err(_) => {
                if let Some(group) = group {
                    kill_group(group);
                }
                let _ = child.wait().await;
                None
            }
        };
        // Children that outlive the shell in its group die with it too.
        if let Some(group) = group {
            environment.end(group);
        }
        Ok(outputs.collect(exit_code, timed_out).await)
    }

    async fn attach(
        &self,
        session: &SessionId,
        node: &str,
        size: TermSize,
    ) -> Result<Terminal, RunnerError> {
        let environment = self.environment(session)?;
        let dir = environment.node(session, node)?;
        let pair = native_pty_system()
            .openpty(pty_size(size))
            .map_err(|e| pty_error(node, e))?;
        let shell = shell();
        let mut command = CommandBuilder::new(shell);
        if shell == "bash" {
            command.arg("-l");
        }
        command.cwd(dir);
        command.env("TERM", "xterm-256color");
        for (key, value) in environment.variables(node, dir) {
            command.env(key, value);
        }
        let child = pair
            .slave
            .spawn_command(command)
            .map_err(|e| pty_error(node, e))?;
        // The shell holds the only copy of the slave now; keeping ours would keep the PTY
        // open after the shell exits, and the output would never end.
        drop(pair.slave);
        if let Some(pid) = child.process_id() {
            // portable-pty starts the shell as a session (and group) leader.
            environment.track(pid as i32);
        }
        let reader = pair
            .master
            .try_clone_reader()
            .map_err(|e| pty_error(node, e))?;
        let writer = pair.master.take_writer().map_err(|e| pty_error(node, e))?;
        Ok(Terminal {
            output: pty_output(reader),
            input: pty_input(writer),
            control: Box::new(LocalTerminal {
                node: node.to_owned(),
                master: Mutex::new(pair.master),
                child: Mutex::new(child),
            }),
        })
    }

    async fn destroy(&self, session: &SessionId) -> Result<(), RunnerError> {
        let environment = self.sessions().remove(session);
        if let Some(environment) = environment {
            environment.kill_all();
            match std::fs::remove_dir_all(&environment.dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(RunnerError::io(format!(
                        "removing {}",
                        environment.dir.display()
                    ))(e));
                }
            }
        }
        Ok(())
    }

    async fn environments(&self) -> Result<Vec<SessionId>, RunnerError> {
        let mut sessions: Vec<_> = self.sessions().keys().cloned().collect();
        sessions.sort();
        Ok(sessions)
    }
}

/// The PTY's output as a stream: a thread does the blocking reads and hands chunks over
/// a bounded channel, so a consumer that stops reading stops the thread (see
/// [`TERMINAL_CHANNEL`]).
fn pty_output(mut reader: Box<dyn io::Read + Send>) -> BoxStream<'static, io::Result<Bytes>> {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(TERMINAL_CHANNEL);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; TERMINAL_READ];
        loop {
            match reader.read(&mut buf) {
                // Linux reports EIO on the master once the shell has exited.
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx
                        .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    });
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .boxed()
}

/// Keystrokes towards the PTY: the caller writes into one end of a bounded in-memory
/// pipe; a thread copies from the other end into the PTY with blocking writes.
fn pty_input(mut writer: Box<dyn io::Write + Send>) -> Pin<Box<dyn tokio::io::AsyncWrite + Send>> {
    let (input, mut keys) = tokio::io::duplex(TERMINAL_INPUT_BUFFER);
    let runtime = tokio::runtime::Handle::current();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; TERMINAL_READ];
        loop {
            match runtime.block_on(keys.read(&mut buf)) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if writer
                        .write_all(&buf[..n])
                        .and_then(|_| writer.flush())
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    });
    Box::pin(input)
}

fn pty_error(node: &str, error: impl Into<BoxError>) -> RunnerError {
    RunnerError::Terminal {
        action: "starting",
        place: format!("on node {node}"),
        source: error.into(),
    }
}

fn pty_size(size: TermSize) -> PtySize {
    PtySize {
        rows: size.rows,
        cols: size.cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

struct LocalTerminal {
    node: String,
    master: Mutex<Box<dyn MasterPty + Send>>,
    child: Mutex<Box<dyn portable_pty::Child + Send + Sync>>,
}

#[async_trait]
impl TerminalControl for LocalTerminal {
    async fn resize(&self, size: TermSize) -> Result<(), RunnerError> {
        self.master
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .resize(pty_size(size))
            .map_err(|e| RunnerError::Terminal {
                action: "resizing",
                place: format!("on node {}", self.node),
                source: e.into(),
            })
    }

    async fn exit_code(&self) -> Result<Option<i64>, RunnerError> {
        let status = self
            .child
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .try_wait()
            .map_err(RunnerError::io("waiting for a terminal's shell"))?;
        Ok(status.map(|s| i64::from(s.exit_code())))
    }
}

/// Where a node's absolute path lands: under the node's directory, never on the host's
/// own `/etc` or `/root`, since a local node has no filesystem of its own. A path with
/// `..` could climb out of the node's directory, so it is refused.
pub(crate) fn node_path(root: &Path, path: &str) -> io::Result<PathBuf> {
    let relative = Path::new(path.trim_start_matches('/'));
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{path:?} climbs out of the node's directory"),
        ));
    }
    Ok(root.join(relative))
}

/// Writes `files` under `root` (see `node_path`) with their modes, creating parent
/// directories.
pub fn write_node_files(root: &Path, files: &[NodeFile]) -> io::Result<()> {
    for file in files {
        let path = node_path(root, &file.path)?;
        let with_context =
            |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(with_context)?;
        }
        std::fs::write(&path, &file.contents).map_err(with_context)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(file.mode))
            .map_err(with_context)?;
    }
    Ok(())
}
