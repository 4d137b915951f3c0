//! Where the writers run: a thread of their own at a lower CPU priority.
//!
//! Encoding and writing a recording costs CPU in step with the terminal's output. On
//! the server's own runtime, a busy writer holds a worker the terminals need, and a
//! burst of output (`cat` of a big file) runs slower recorded than not. On a thread of
//! their own, niced, the writers take only the CPU the terminals leave: on a saturated
//! machine the recording falls behind, its bounded queue fills and the gap is marked,
//! and the terminal keeps its pace. The blocking threads of this runtime (file I/O)
//! are started from this thread and inherit its priority.

use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// How much lower than the server's the writers' CPU priority is (a nice increment).
const NICENESS: libc::c_int = 10;

/// The writers' runtime; dropping it ends the thread once its tasks are done.
pub(super) struct WriterThread {
    handle: Handle,
    _stop: oneshot::Sender<()>,
}

impl WriterThread {
    pub fn start() -> std::io::Result<WriterThread> {
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("playlab-recorder".into())
            .spawn(move || {
                lower_priority();
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .thread_name("playlab-recorder-io")
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => return drop(handle_tx.send(Err(e))),
                };
                let _ = handle_tx.send(Ok(runtime.handle().clone()));
                // Until the recorder goes; then the runtime is dropped, which cancels
                // what is left (shutdown has waited for the writers to flush first).
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        let handle = handle_rx
            .recv()
            .map_err(|_| std::io::Error::other("the recorder thread ended at start"))??;
        Ok(WriterThread {
            handle,
            _stop: stop,
        })
    }

    pub fn handle(&self) -> &Handle {
        &self.handle
    }
}

/// Lowers the calling thread's CPU priority (on Linux, `setpriority` with `who = 0`
/// acts on the calling thread, not the whole process). Failing to is harmless: the
/// writers then share the CPU evenly.
fn lower_priority() {
    // SAFETY: setpriority takes plain integers and touches no memory of ours.
    let current = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    let done = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, current + NICENESS) };
    if done != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "could not lower the recorder's priority");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The writers' thread runs below the caller's priority, and what is spawned on
    /// it runs there.
    #[tokio::test]
    async fn writers_run_on_a_niced_thread_of_their_own() {
        let ours = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        let thread = WriterThread::start().unwrap();
        let (name, theirs) = thread
            .handle()
            .spawn(async {
                let name = std::thread::current().name().map(str::to_owned);
                (name, unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) })
            })
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("playlab-recorder"));
        assert_eq!(theirs, (ours + NICENESS).min(19));
    }
}
