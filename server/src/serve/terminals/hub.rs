//! The transport-free half of terminals: one shell per node, shared by its viewers.
//!
//! A [`TerminalHub`] owns the backend's [`Terminal`] for one node of one session. A
//! pump task reads the shell's output into a ring buffer (the replay a reconnecting
//! browser gets) and hands each chunk to the viewers:
//! - an **owner** (the learner) gets every byte through a small bounded channel, and
//!   the pump *waits* for it: a slow or paused browser stops the pump, which stops
//!   reading from the backend, so `yes` cannot grow memory;
//! - a **watcher** (an instructor, read-only) never slows the learner: when its
//!   channel is full it is dropped and told so.
//!
//! With no owner attached the pump keeps reading into the ring buffer (bounded), so a
//! running command is not frozen by a dropped connection. When the last owner leaves,
//! a grace timer starts; if nobody reconnects in time the shell is closed.
//!
//! Nothing here knows how viewers are connected: the session core (which starts
//! shells for the warm pool and types foreground scripts) depends on this module only,
//! and the WebSocket protocol in [`super::ws`] is one client of it.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use runner::{Backend, RunnerError, SessionId, TermSize, Terminal, TerminalControl};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

use crate::serve::metrics::Metrics;

/// Recent output kept for a reconnecting viewer: enough to repaint a full screen of a
/// busy program, at least 64 KiB.
pub const REPLAY_BYTES: usize = 128 * 1024;
/// Output chunks queued per viewer; with the backend's chunk size this bounds what a
/// viewer holds in memory.
const VIEWER_QUEUE: usize = 16;
/// How long typed input waits for a new shell's first output (see
/// [`Terminals::type_input`]).
const FIRST_OUTPUT: Duration = Duration::from_secs(10);

/// Called with every keystroke chunk an owner sends (activity, transcript).
pub type InputHook = Box<dyn FnMut(&[u8]) + Send>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Types into the shell; its pace sets the pace of the output.
    Owner,
    /// Reads only.
    Watcher,
}

/// What a viewer receives.
#[derive(Debug)]
pub enum Out {
    Data(Bytes),
    Exit(Option<i64>),
}

/// Who is at a session's terminals besides its learner, which the learner sees.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Presence {
    /// Read-only viewers (instructors) attached to any of the session's terminals.
    pub watchers: usize,
    /// Whether the learner lets watchers type ("help mode"); they never resize.
    pub help: bool,
}

/// The terminals of one session, by node.
pub struct Terminals {
    session: SessionId,
    backend: Arc<dyn Backend>,
    grace: Duration,
    metrics: Arc<Metrics>,
    hubs: tokio::sync::Mutex<HashMap<String, Arc<TerminalHub>>>,
    /// Watchers are counted per [`Viewer`] alive, so a watcher dropped for being slow
    /// still counts until its socket is gone.
    presence: watch::Sender<Presence>,
}

impl Terminals {
    pub fn new(
        session: SessionId,
        backend: Arc<dyn Backend>,
        grace: Duration,
        metrics: Arc<Metrics>,
    ) -> Arc<Terminals> {
        Arc::new(Terminals {
            session,
            backend,
            grace,
            metrics,
            hubs: tokio::sync::Mutex::new(HashMap::new()),
            presence: watch::Sender::new(Presence::default()),
        })
    }

    /// The current [`Presence`] and every change to it.
    pub fn presence(&self) -> watch::Receiver<Presence> {
        self.presence.subscribe()
    }

    /// Lets watchers type, or stops them, from their next keystroke on; `false` when
    /// nothing changed.
    pub fn set_help(&self, help: bool) -> bool {
        self.presence
            .send_if_modified(|p| std::mem::replace(&mut p.help, help) != help)
    }

    /// Joins the node's shell, starting one if there is none (or it exited).
    pub async fn attach(
        self: &Arc<Self>,
        node: &str,
        size: TermSize,
        role: Role,
    ) -> Result<Viewer, RunnerError> {
        let hub = self.live_hub(node, size).await?;
        // A reconnecting browser brings its current size; a watcher's window does not
        // get to reshape the learner's terminal.
        if role == Role::Owner
            && let Err(e) = hub.resize(size).await
        {
            tracing::debug!(node, error = %e, "resize on attach");
        }
        Ok(hub.add_viewer(role))
    }

    /// Starts the node's shell before anyone asks for it (the warm pool), so the first
    /// viewer finds a prompt waiting. Nobody is attached, so no grace period runs: the
    /// shell lives until a viewer has come and gone, or [`Terminals::close_all`].
    pub async fn open(self: &Arc<Self>, node: &str, size: TermSize) -> Result<(), RunnerError> {
        self.live_hub(node, size).await.map(drop)
    }

    /// Types `input` into the node's shell as if from its keyboard (a Killercoda
    /// foreground script), starting the shell if none runs. The bytes go through the
    /// TTY like keystrokes, so the shell's echo and the output land in the replay a
    /// browser gets when it attaches. They are not an owner's input: they bypass the
    /// [`InputHook`], so they are neither the learner's activity nor in their
    /// transcript.
    pub async fn type_input(self: &Arc<Self>, node: &str, input: &[u8]) -> Result<(), RunnerError> {
        let hub = self.live_hub(node, TermSize::default()).await?;
        // Typed before the shell has set up its line editor, the text would be echoed
        // twice (once by the TTY, once by readline after the prompt); the first output
        // is the prompt, so wait for it, but not forever (a shell may print nothing).
        let mut printed = hub.printed.subscribe();
        let _ = tokio::time::timeout(FIRST_OUTPUT, printed.wait_for(|p| *p)).await;
        hub.write(input).await.map_err(|source| RunnerError::Io {
            context: format!("typing into the terminal of node {node}"),
            source,
        })
    }

    /// The node's running shell, started at `size` if there is none (or it exited).
    async fn live_hub(
        self: &Arc<Self>,
        node: &str,
        size: TermSize,
    ) -> Result<Arc<TerminalHub>, RunnerError> {
        let mut hubs = self.hubs.lock().await;
        if let Some(hub) = hubs.get(node)
            && !hub.closed.is_cancelled()
        {
            return Ok(hub.clone());
        }
        let terminal = self.backend.attach(&self.session, node, size).await?;
        let hub = TerminalHub::start(node, terminal, size, Arc::downgrade(self));
        self.metrics.terminals_open.inc();
        hubs.insert(node.to_owned(), hub.clone());
        Ok(hub)
    }

    /// Whether the learner has a terminal open on any node (the roster's "connected").
    pub async fn owner_attached(&self) -> bool {
        self.hubs.lock().await.values().any(|hub| hub.has_owner())
    }

    /// Closes every shell (the session ended or the server stops).
    pub async fn close_all(&self) {
        let hubs: Vec<_> = self.hubs.lock().await.drain().map(|(_, h)| h).collect();
        for hub in hubs {
            self.closed(&hub);
        }
    }

    fn closed(&self, hub: &TerminalHub) {
        if !hub.closed.is_cancelled() {
            hub.close();
            self.metrics.terminals_open.dec();
        }
    }

    /// Forgets `hub` if it is still the node's current one.
    async fn remove(&self, hub: &Arc<TerminalHub>) {
        let mut hubs = self.hubs.lock().await;
        if hubs.get(&hub.node).is_some_and(|h| Arc::ptr_eq(h, hub)) {
            hubs.remove(&hub.node);
        }
        drop(hubs);
        self.closed(hub);
    }
}

/// One node's shell and the viewers attached to it.
pub struct TerminalHub {
    node: String,
    input: tokio::sync::Mutex<Pin<Box<dyn AsyncWrite + Send>>>,
    control: Box<dyn TerminalControl>,
    state: Mutex<HubState>,
    terminals: Weak<Terminals>,
    /// Cancelled when the shell is gone; viewers then end.
    closed: CancellationToken,
    /// Becomes `true` with the shell's first output (normally its prompt).
    printed: watch::Sender<bool>,
}

struct HubState {
    replay: Ring,
    /// The TTY's size as last set.
    size: TermSize,
    viewers: Vec<Slot>,
    next_viewer: u64,
    grace_timer: Option<AbortHandle>,
    pump: Option<AbortHandle>,
}

struct Slot {
    id: u64,
    role: Role,
    tx: mpsc::Sender<Out>,
}

impl TerminalHub {
    fn start(
        node: &str,
        terminal: Terminal,
        size: TermSize,
        terminals: Weak<Terminals>,
    ) -> Arc<TerminalHub> {
        let Terminal {
            output,
            input,
            control,
        } = terminal;
        let hub = Arc::new(TerminalHub {
            node: node.to_owned(),
            input: tokio::sync::Mutex::new(input),
            control,
            state: Mutex::new(HubState {
                replay: Ring::new(REPLAY_BYTES),
                size,
                viewers: Vec::new(),
                next_viewer: 0,
                grace_timer: None,
                pump: None,
            }),
            terminals,
            closed: CancellationToken::new(),
            printed: watch::Sender::new(false),
        });
        let pump = tokio::spawn(hub.clone().pump(output));
        hub.lock().pump = Some(pump.abort_handle());
        hub
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn pump(
        self: Arc<Self>,
        mut output: futures::stream::BoxStream<'static, std::io::Result<Bytes>>,
    ) {
        loop {
            let chunk = match output.next().await {
                Some(Ok(chunk)) => chunk,
                Some(Err(e)) => {
                    tracing::warn!(node = %self.node, error = %e, "terminal output failed; closing the terminal");
                    break;
                }
                None => break,
            };
            self.printed
                .send_if_modified(|printed| !std::mem::replace(printed, true));
            // Appending and taking the viewer list under one lock means a viewer that
            // joins now gets this chunk either in its replay or on its channel, never
            // both, never neither.
            let viewers: Vec<(u64, Role, mpsc::Sender<Out>)> = {
                let mut state = self.lock();
                state.replay.push(&chunk);
                state
                    .viewers
                    .iter()
                    .map(|s| (s.id, s.role, s.tx.clone()))
                    .collect()
            };
            for (id, role, tx) in viewers {
                match role {
                    Role::Owner => {
                        let _ = tx.send(Out::Data(chunk.clone())).await;
                    }
                    Role::Watcher => {
                        if let Err(mpsc::error::TrySendError::Full(_)) =
                            tx.try_send(Out::Data(chunk.clone()))
                        {
                            // Dropping its sender ends the watcher's stream.
                            self.lock().viewers.retain(|s| s.id != id);
                        }
                    }
                }
            }
        }
        let code = self.control.exit_code().await.ok().flatten();
        let viewers: Vec<_> = self.lock().viewers.drain(..).collect();
        for slot in viewers {
            let _ = slot.tx.try_send(Out::Exit(code));
        }
        if let Some(terminals) = self.terminals.upgrade() {
            terminals.remove(&self).await;
        } else {
            self.close();
        }
    }

    fn add_viewer(self: &Arc<Self>, role: Role) -> Viewer {
        let (tx, rx) = mpsc::channel(VIEWER_QUEUE);
        let mut state = self.lock();
        let id = state.next_viewer;
        state.next_viewer += 1;
        state.viewers.push(Slot { id, role, tx });
        if role == Role::Owner
            && let Some(timer) = state.grace_timer.take()
        {
            timer.abort();
        }
        let presence = self.terminals.upgrade().map(|t| {
            if role == Role::Watcher {
                t.presence.send_modify(|p| p.watchers += 1);
            }
            t.presence.subscribe()
        });
        Viewer {
            presence,
            hub: self.clone(),
            id,
            role,
            replay: state.replay.snapshot(),
            rx,
        }
    }

    fn has_owner(&self) -> bool {
        !self.closed.is_cancelled() && self.lock().viewers.iter().any(|s| s.role == Role::Owner)
    }

    fn remove_viewer(self: &Arc<Self>, id: u64) {
        let mut state = self.lock();
        state.viewers.retain(|s| s.id != id);
        let owners = state.viewers.iter().any(|s| s.role == Role::Owner);
        if owners || state.grace_timer.is_some() || self.closed.is_cancelled() {
            return;
        }
        let Some(terminals) = self.terminals.upgrade() else {
            return;
        };
        let hub = self.clone();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let timer = runtime.spawn(async move {
            tokio::time::sleep(terminals.grace).await;
            tracing::info!(session = %terminals.session, node = %hub.node, "terminal grace period over; closing the shell");
            hub.lock().grace_timer = None;
            terminals.remove(&hub).await;
        });
        state.grace_timer = Some(timer.abort_handle());
    }

    /// Whether the shell is gone (exited, or closed by its session).
    pub(super) fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }

    fn close(&self) {
        self.closed.cancel();
        let mut state = self.lock();
        state.viewers.clear();
        if let Some(pump) = state.pump.take() {
            pump.abort();
        }
        if let Some(timer) = state.grace_timer.take() {
            timer.abort();
        }
    }

    /// Sets the TTY's size; a no-op when it already has it, which spares a reconnect
    /// (and the warm pool's first viewer) a round trip to the backend.
    pub(super) async fn resize(&self, size: TermSize) -> Result<(), RunnerError> {
        if self.lock().size == size {
            return Ok(());
        }
        self.control.resize(size).await?;
        self.lock().size = size;
        Ok(())
    }

    /// Writes a viewer's keystrokes (or a typed script) into the shell.
    pub(super) async fn write(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut input = self.input.lock().await;
        input.write_all(bytes).await?;
        input.flush().await
    }
}

/// One attached viewer; dropping it detaches.
pub struct Viewer {
    hub: Arc<TerminalHub>,
    id: u64,
    /// The session's presence (`None` only once the session's terminals are gone).
    presence: Option<watch::Receiver<Presence>>,
    pub role: Role,
    /// The recent output to paint first.
    pub replay: Bytes,
    pub rx: mpsc::Receiver<Out>,
}

impl Viewer {
    /// The shell this viewer is attached to, for the transport to type and resize.
    pub(super) fn hub(&self) -> &Arc<TerminalHub> {
        &self.hub
    }

    /// Whether this viewer's keystrokes reach the shell now: always its owner's, a
    /// watcher's only while the learner grants help. Asked per keystroke, so a
    /// revocation stops the very next one.
    pub(super) fn typing_rights(&self) -> TypingRights {
        TypingRights {
            role: self.role,
            presence: self.presence.clone(),
        }
    }
}

/// See [`Viewer::typing_rights`]; kept by the transport's reader.
pub struct TypingRights {
    role: Role,
    presence: Option<watch::Receiver<Presence>>,
}

impl TypingRights {
    pub fn may_type(&self) -> bool {
        self.role == Role::Owner || self.presence.as_ref().is_some_and(|p| p.borrow().help)
    }

    /// Only the owner's window sets the terminal's size.
    pub fn may_resize(&self) -> bool {
        self.role == Role::Owner
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.hub.remove_viewer(self.id);
        if self.role == Role::Watcher
            && let Some(terminals) = self.hub.terminals.upgrade()
        {
            terminals
                .presence
                .send_modify(|p| p.watchers = p.watchers.saturating_sub(1));
        }
    }
}

/// A byte ring: the last `cap` bytes written.
struct Ring {
    buf: VecDeque<u8>,
    cap: usize,
}

impl Ring {
    fn new(cap: usize) -> Ring {
        Ring {
            buf: VecDeque::with_capacity(cap),
            cap,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        let bytes = &bytes[bytes.len().saturating_sub(self.cap)..];
        let overflow = (self.buf.len() + bytes.len()).saturating_sub(self.cap);
        self.buf.drain(..overflow);
        self.buf.extend(bytes);
    }

    fn snapshot(&self) -> Bytes {
        let (a, b) = self.buf.as_slices();
        let mut v = Vec::with_capacity(a.len() + b.len());
        v.extend_from_slice(a);
        v.extend_from_slice(b);
        Bytes::from(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_the_last_bytes() {
        let mut ring = Ring::new(8);
        ring.push(b"hello");
        assert_eq!(&ring.snapshot()[..], b"hello");
        ring.push(b" world");
        assert_eq!(&ring.snapshot()[..], b"lo world");
        ring.push(b"0123456789abc");
        assert_eq!(&ring.snapshot()[..], b"56789abc");
    }
}
