//! Recordings: every terminal's output, its owner's input and the session's check
//! verdicts, as asciicast v2 files an instructor replays or downloads.
//!
//! The [`Recorder`] is the server's one recording service. A terminal hub asks it to
//! [`Recorder::start`] a recording when a shell starts and gets a [`Recording`]: a
//! handle whose every method returns at once, feeding a bounded queue that a
//! background writer task drains to disk. Recording never blocks a terminal: a full
//! queue drops events and marks the gap, and a full or broken disk, or the session's
//! size cap, stops the recording with a logged reason and a metric, never the shell.
//! At shutdown, [`Recorder::shutdown`] waits for the writers to flush.
//!
//! Rooms: `cast` (the file format, UTF-8 decoding across chunks), `writer` (the
//! handle, the queue and the writer task), `thread` (the lower-priority thread the
//! writers run on), `files` (layout, listing, the retention sweep), `settings` (the
//! flags).

mod cast;
mod files;
mod settings;
mod thread;
mod writer;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use runner::{SessionId, TermSize};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use self::files::{RecordingInfo, Swept};
pub use self::settings::{RecordingConfig, RecordingMode, RecordingSettings};
pub use self::writer::Recording;

use self::cast::Header;
use self::thread::WriterThread;
use self::writer::{Budget, Ended};
use crate::serve::metrics::{Metrics, ReasonLabel};

/// How often old recordings are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// How long shutdown waits for writers to flush.
const FLUSH_AT_SHUTDOWN: Duration = Duration::from_secs(10);

/// The server's recordings: starts them, lists them, sweeps old ones away.
pub struct Recorder {
    config: RecordingConfig,
    metrics: Arc<Metrics>,
    /// The writer tasks, so shutdown can wait for them to flush.
    writers: TaskTracker,
    /// Where they run (see `thread`); `None` when that thread could not start, and
    /// they run on the server's runtime.
    thread: Option<WriterThread>,
    /// The size budget of each session being recorded, shared by its nodes' writers.
    budgets: Mutex<HashMap<SessionId, Weak<Budget>>>,
}

impl Recorder {
    pub fn new(config: RecordingConfig, metrics: Arc<Metrics>) -> Arc<Recorder> {
        let thread = if config.enabled {
            WriterThread::start()
                .inspect_err(|e| {
                    tracing::warn!(error = %e, "recordings: no thread of their own; the writers share the server's");
                })
                .ok()
        } else {
            None
        };
        Arc::new(Recorder {
            config,
            metrics,
            writers: TaskTracker::new(),
            thread,
            budgets: Mutex::new(HashMap::new()),
        })
    }

    pub fn config(&self) -> &RecordingConfig {
        &self.config
    }

    /// Starts recording a new shell on `node` of `session`: `None` when recording is
    /// off. Returns at once; the file is created by the writer task, which logs it if
    /// it cannot.
    pub fn start(&self, session: &SessionId, node: &str, size: TermSize) -> Option<Recording> {
        if !self.config.enabled {
            return None;
        }
        let (recording, rx, finished) = Recording::channel(self.metrics.clone());
        let timestamp = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let header = Header::new(size, timestamp, format!("{node} · session {session}"));
        let dir = files::session_dir(&self.config.dir, session);
        let budget = self.budget(session);
        let metrics = self.metrics.clone();
        let (session, node) = (session.clone(), node.to_owned());
        let writer = async move {
            let opened = tokio::task::spawn_blocking({
                let (budget, node) = (budget.clone(), node.clone());
                move || {
                    budget.seed(|| files::used_bytes(&dir));
                    files::create_next(&dir, &node)
                }
            })
            .await;
            let ended = match opened {
                Ok(Ok((path, file))) => {
                    tracing::debug!(%session, node, path = %path.display(), "recording");
                    let file = tokio::fs::File::from_std(file);
                    writer::write(file, header, rx, finished, budget).await
                }
                Ok(Err(e)) => Ended::Failed(e),
                Err(e) => Ended::Failed(std::io::Error::other(e)),
            };
            match &ended {
                Ended::Closed => return,
                Ended::Capped { cap } => {
                    tracing::warn!(%session, node, cap, "recording stopped: the session's recordings reached --recording-max-bytes; the terminal goes on")
                }
                Ended::Failed(e) => {
                    tracing::warn!(%session, node, error = %e, "recording stopped: the recording could not be written; the terminal goes on")
                }
            }
            let label = ReasonLabel {
                reason: ended.reason().into(),
            };
            metrics.recordings_stopped.get_or_create(&label).inc();
        };
        match &self.thread {
            Some(thread) => drop(self.writers.spawn_on(writer, thread.handle())),
            None => drop(self.writers.spawn(writer)),
        }
        Some(recording)
    }

    /// The session's budget, shared with its other live recordings.
    fn budget(&self, session: &SessionId) -> Arc<Budget> {
        let mut budgets = self.budgets.lock().unwrap_or_else(PoisonError::into_inner);
        budgets.retain(|_, b| b.strong_count() > 0);
        if let Some(budget) = budgets.get(session).and_then(Weak::upgrade) {
            return budget;
        }
        let budget = Arc::new(Budget::new(self.config.max_bytes, 0));
        budgets.insert(session.clone(), Arc::downgrade(&budget));
        budget
    }

    /// The session's recordings (blocking: reads the folder).
    pub fn list(&self, session: &SessionId) -> Vec<RecordingInfo> {
        files::list(&self.config.dir, session)
    }

    /// Every session with recordings, most recent first (blocking).
    pub fn sessions(&self) -> Vec<SessionId> {
        files::sessions(&self.config.dir)
    }

    /// Where the session's recording named `file` is, if that is a recording's name.
    pub fn path(&self, session: &SessionId, file: &str) -> Option<PathBuf> {
        files::path_of(&self.config.dir, session, file)
    }

    /// Removes recordings older than the retention (blocking).
    pub fn sweep(&self, now: SystemTime) -> Swept {
        files::sweep(&self.config.dir, self.config.retention, now)
    }

    /// Sweeps at once and then every hour, until `stop`.
    pub async fn sweep_periodically(self: Arc<Self>, stop: CancellationToken) {
        let mut interval = tokio::time::interval(SWEEP_EVERY);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = interval.tick() => {}
            }
            let recorder = self.clone();
            match tokio::task::spawn_blocking(move || recorder.sweep(SystemTime::now())).await {
                Ok(swept) if swept.files > 0 => {
                    tracing::info!(
                        files = swept.files,
                        bytes = swept.bytes,
                        "removed recordings past --recording-retention"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the recording sweep failed"),
            }
        }
    }

    /// Waits (a while) for every writer to flush; their shells are closed by now.
    pub async fn shutdown(&self) {
        self.writers.close();
        let writers = self.writers.clone();
        let flushed = async move {
            tokio::time::timeout(FLUSH_AT_SHUTDOWN, writers.wait())
                .await
                .is_ok()
        };
        // Timed on the writers' own runtime: its clock is the wall clock even where
        // the caller's is paused (the session tests), which would skip the wait.
        let flushed = match &self.thread {
            Some(thread) => thread.handle().spawn(flushed).await.unwrap_or(false),
            None => flushed.await,
        };
        if !flushed {
            tracing::warn!("recordings still being written at shutdown; their ends may be missing");
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn recorder(dir: PathBuf, max_bytes: u64) -> (Arc<Recorder>, Arc<Metrics>) {
        let metrics = Arc::new(Metrics::default());
        let config = RecordingConfig {
            enabled: true,
            dir,
            retention: RecordingConfig::DEFAULT_RETENTION,
            max_bytes,
        };
        (Recorder::new(config, metrics.clone()), metrics)
    }

    const SIZE: TermSize = TermSize { cols: 80, rows: 24 };

    #[tokio::test]
    async fn a_recording_lands_in_the_session_folder_and_is_flushed_at_shutdown() {
        let root = tempfile::tempdir().unwrap();
        let (recorder, _) = recorder(root.path().to_owned(), 1 << 20);
        let id: SessionId = "abc".parse().unwrap();
        let recording = recorder.start(&id, "node01", SIZE).unwrap();
        recording.output(&Bytes::from_static(b"hello\r\n"));
        recording.finish();
        recorder.shutdown().await;
        let listed = recorder.list(&id);
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].file, "node01.1.cast");
        let text = std::fs::read_to_string(root.path().join("abc/node01.1.cast")).unwrap();
        assert!(text.contains("\"o\", \"hello\\r\\n\"]"), "{text}");
        assert_eq!(recorder.sessions(), vec![id]);
    }

    #[tokio::test]
    async fn the_cap_is_per_session_across_nodes_and_shells() {
        let root = tempfile::tempdir().unwrap();
        let (recorder, metrics) = recorder(root.path().to_owned(), 2000);
        let id: SessionId = "capped".parse().unwrap();
        // An earlier shell already wrote most of the budget.
        std::fs::create_dir_all(root.path().join("capped")).unwrap();
        std::fs::write(root.path().join("capped/node01.1.cast"), vec![b'x'; 1500]).unwrap();
        let a = recorder.start(&id, "node01", SIZE).unwrap();
        let b = recorder.start(&id, "node02", SIZE).unwrap();
        for _ in 0..20 {
            a.output(&Bytes::from(vec![b'a'; 50]));
            b.output(&Bytes::from(vec![b'b'; 50]));
        }
        drop((a, b));
        recorder.shutdown().await;
        let new_bytes: u64 = recorder.list(&id).iter().skip(1).map(|r| r.bytes).sum();
        // What fits in the 500 bytes left, plus one final marker per file.
        assert!(new_bytes <= 500 + 2 * 200, "{new_bytes}");
        let stopped = ReasonLabel {
            reason: "size_cap".into(),
        };
        assert_eq!(metrics.recordings_stopped.get_or_create(&stopped).get(), 2);
    }

    #[tokio::test]
    async fn a_directory_that_cannot_be_made_stops_recording_with_a_reason() {
        let root = tempfile::tempdir().unwrap();
        // A file where the folder should be: even root cannot create a folder in it.
        let blocked = root.path().join("not-a-dir");
        std::fs::write(&blocked, "").unwrap();
        let (recorder, metrics) = recorder(blocked, 1 << 20);
        let id: SessionId = "s".parse().unwrap();
        let recording = recorder.start(&id, "node01", SIZE).unwrap();
        for _ in 0..10 * writer::QUEUE {
            recording.output(&Bytes::from_static(b"the shell goes on"));
        }
        drop(recording);
        recorder.shutdown().await;
        let failed = ReasonLabel {
            reason: "write_failed".into(),
        };
        assert_eq!(metrics.recordings_stopped.get_or_create(&failed).get(), 1);
    }

    #[test]
    fn off_records_nothing() {
        let root = tempfile::tempdir().unwrap();
        let metrics = Arc::new(Metrics::default());
        let mut config = RecordingConfig::new(root.path());
        config.enabled = false;
        let recorder = Recorder::new(config, metrics);
        assert!(recorder.start(&"s".parse().unwrap(), "n", SIZE).is_none());
    }
}
