//! The two halves of one recording: [`Recording`], the handle a terminal's pump calls
//! without ever waiting, and [`write`], the background task that encodes and writes.
//!
//! Between them is a bounded queue. The handle only ever `try_send`s: when the queue
//! is full (the disk is slower than the shell) the event is dropped and counted, and
//! the next event that fits is preceded by one "recording gap" marker saying how much
//! was lost. The writer stops for good, with a reason, when the session's size cap is
//! reached (after a final marker) or the file cannot be written; the queue's receiver
//! then goes, and the handle's sends fail instantly. Either way the terminal goes on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use bytes::Bytes;
use runner::TermSize;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;

use super::cast::{self, Code, Header, Utf8Carry};
use crate::serve::metrics::Metrics;

/// Events queued per recording between the pump and the writer: enough to ride out a
/// disk that stalls for a few hundred milliseconds under a terminal printing at full
/// speed (the Docker backend reads at most 16 KiB a chunk, so at most 8 MiB is held per
/// terminal while its disk is stuck, and nothing when it keeps up).
pub const QUEUE: usize = 512;
/// The writer's buffer. It goes to the file when full, and at least every
/// [`FLUSH_AFTER`], so a download of a live recording is at most that far behind
/// without a write for every chunk of a busy terminal.
const BUFFER: usize = 256 * 1024;
const FLUSH_AFTER: Duration = Duration::from_millis(200);

/// What happened in the terminal, and when (since the recording began).
#[derive(Debug)]
pub(super) struct Record {
    time: Duration,
    event: Event,
}

#[derive(Debug)]
enum Event {
    Output(Bytes),
    Input(Bytes),
    Resize(TermSize),
    Marker(String),
    /// Events the queue had no room for: how many, and how many bytes.
    Gap {
        events: u64,
        bytes: u64,
    },
}

/// What one session's recordings may write together (`--recording-max-bytes`).
#[derive(Debug)]
pub(super) struct Budget {
    cap: u64,
    used: AtomicU64,
    /// Whether what is already on disk was counted (see [`Budget::seed`]).
    seeded: Once,
}

impl Budget {
    /// A budget of `cap` bytes, `used` of which are taken.
    pub fn new(cap: u64, used: u64) -> Budget {
        Budget {
            cap,
            used: AtomicU64::new(used),
            seeded: Once::new(),
        }
    }

    /// Counts, once per budget, what the session's earlier shells (or the server
    /// before a restart) already wrote.
    pub fn seed(&self, on_disk: impl FnOnce() -> u64) {
        self.seeded.call_once(|| {
            self.used.fetch_add(on_disk(), Ordering::Relaxed);
        });
    }

    /// Takes `n` bytes, if they fit.
    fn take(&self, n: u64) -> bool {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                (used + n <= self.cap).then_some(used + n)
            })
            .is_ok()
    }
}

/// The pump's end of a recording. Every method returns at once.
pub struct Recording {
    tx: mpsc::Sender<Record>,
    began: Instant,
    /// Dropped since the last gap marker.
    lost_events: AtomicU64,
    lost_bytes: AtomicU64,
    /// Cancelled when the shell is gone: the writer writes what is queued and ends.
    finished: CancellationToken,
    metrics: Arc<Metrics>,
}

impl Recording {
    /// A handle and the queue's other end, for [`write`].
    pub(super) fn channel(
        metrics: Arc<Metrics>,
    ) -> (Recording, mpsc::Receiver<Record>, CancellationToken) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let finished = CancellationToken::new();
        let recording = Recording {
            tx,
            began: Instant::now(),
            lost_events: AtomicU64::new(0),
            lost_bytes: AtomicU64::new(0),
            finished: finished.clone(),
            metrics,
        };
        (recording, rx, finished)
    }

    /// Shell output.
    pub fn output(&self, bytes: &Bytes) {
        self.push(Event::Output(bytes.clone()));
    }

    /// Keystrokes from the terminal's owner (or whoever was let to type).
    pub fn input(&self, bytes: &[u8]) {
        self.push(Event::Input(Bytes::copy_from_slice(bytes)));
    }

    pub fn resize(&self, size: TermSize) {
        self.push(Event::Resize(size));
    }

    /// A marker a replay shows on its timeline (a check verdict).
    pub fn mark(&self, label: &str) {
        self.push(Event::Marker(label.to_owned()));
    }

    /// The shell is gone: what is queued is written, then the file is closed.
    pub fn finish(&self) {
        self.finished.cancel();
    }

    fn push(&self, event: Event) {
        let time = self.began.elapsed();
        let record = Record { time, event };
        if self.lost_events.load(Ordering::Relaxed) == 0 {
            match self.tx.try_send(record) {
                Ok(()) => {}
                Err(TrySendError::Full(record)) => self.lose(&record),
                // The writer stopped (capped or failed) and said why.
                Err(TrySendError::Closed(_)) => {}
            }
            return;
        }
        // After a gap, its marker goes first, in the same breath, so it lands where
        // the gap was and only once.
        match self.tx.try_reserve_many(2) {
            Ok(mut permits) => {
                let events = self.lost_events.swap(0, Ordering::Relaxed);
                let bytes = self.lost_bytes.swap(0, Ordering::Relaxed);
                let gap = Event::Gap { events, bytes };
                if let Some(permit) = permits.next() {
                    permit.send(Record { time, event: gap });
                }
                if let Some(permit) = permits.next() {
                    permit.send(record);
                }
            }
            Err(TrySendError::Full(())) => self.lose(&record),
            Err(TrySendError::Closed(())) => {}
        }
    }

    fn lose(&self, record: &Record) {
        let bytes = match &record.event {
            Event::Output(b) | Event::Input(b) => b.len() as u64,
            _ => 0,
        };
        self.lost_events.fetch_add(1, Ordering::Relaxed);
        self.lost_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.metrics.recording_dropped_events.inc();
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        self.finished.cancel();
    }
}

/// Why a writer stopped.
#[derive(Debug)]
pub enum Ended {
    /// The shell is gone and everything was written.
    Closed,
    /// The session's recordings reached `--recording-max-bytes`.
    Capped { cap: u64 },
    /// The file could not be written (disk full, permissions, ...).
    Failed(std::io::Error),
}

impl Ended {
    /// The metric label of an early stop.
    pub fn reason(&self) -> &'static str {
        match self {
            Ended::Closed => "closed",
            Ended::Capped { .. } => "size_cap",
            Ended::Failed(_) => "write_failed",
        }
    }
}

/// Writes `header` and then the queue's events to `out` until the recording is
/// finished, capped, or `out` fails.
pub(super) async fn write<W: AsyncWrite + Unpin>(
    out: W,
    header: Header,
    mut rx: mpsc::Receiver<Record>,
    finished: CancellationToken,
    budget: Arc<Budget>,
) -> Ended {
    let mut writer = Writer {
        out: BufWriter::with_capacity(BUFFER, out),
        budget,
        last: Duration::ZERO,
        output: Utf8Carry::default(),
        input: Utf8Carry::default(),
        line: Vec::new(),
        flushed: Instant::now(),
        dirty: false,
    };
    let ended = writer.run(header, &mut rx, finished).await;
    // The pump's sends fail from now on instead of filling a queue nobody reads.
    rx.close();
    ended
}

struct Writer<W> {
    out: BufWriter<W>,
    budget: Arc<Budget>,
    /// The last event's time: events from the pump, the owner's input and checks are
    /// timed by their senders, and may reach the queue a hair out of order.
    last: Duration,
    output: Utf8Carry,
    input: Utf8Carry,
    /// The line being encoded, reused.
    line: Vec<u8>,
    /// When the buffer last went to the file, and whether it holds anything since.
    flushed: Instant,
    dirty: bool,
}

/// What the writer loop does next.
enum Next {
    Record(Record),
    Flush,
    /// The shell is gone (or every sender too).
    Finish,
}

/// Stops the writer loop.
enum Stop {
    Capped,
    Failed(std::io::Error),
}

impl From<std::io::Error> for Stop {
    fn from(e: std::io::Error) -> Stop {
        Stop::Failed(e)
    }
}

impl<W: AsyncWrite + Unpin> Writer<W> {
    async fn run(
        &mut self,
        header: Header,
        rx: &mut mpsc::Receiver<Record>,
        finished: CancellationToken,
    ) -> Ended {
        let result = async {
            self.line.extend_from_slice(header.line().as_bytes());
            self.write_line().await?;
            loop {
                let idle = tokio::time::sleep(FLUSH_AFTER);
                let next = tokio::select! {
                    biased;
                    record = rx.recv() => record.map_or(Next::Finish, Next::Record),
                    _ = finished.cancelled() => Next::Finish,
                    _ = idle, if self.dirty => Next::Flush,
                };
                match next {
                    Next::Record(record) => {
                        self.record(record).await?;
                        if self.flushed.elapsed() >= FLUSH_AFTER {
                            self.flush().await?;
                        }
                    }
                    Next::Flush => self.flush().await?,
                    Next::Finish => break,
                }
            }
            // Finished: what the shell printed before it went is still written.
            while let Ok(record) = rx.try_recv() {
                self.record(record).await?;
            }
            if let Some(rest) = self.output.finish() {
                self.event(Code::Output, &rest).await?;
            }
            self.out.flush().await?;
            Ok::<_, Stop>(())
        }
        .await;
        match result {
            Ok(()) => Ended::Closed,
            Err(Stop::Failed(e)) => Ended::Failed(e),
            Err(Stop::Capped) => {
                let cap = self.budget.cap;
                let label = format!(
                    "recording stopped: this session's recordings reached {cap} bytes \
                     (--recording-max-bytes)"
                );
                // Past the cap on purpose: one short line, so a replay says why it ends.
                self.line.clear();
                cast::write_event(&mut self.line, self.last, Code::Marker, &label);
                let closed = async {
                    self.out.write_all(&self.line).await?;
                    self.out.flush().await
                };
                match closed.await {
                    Ok(()) => Ended::Capped { cap },
                    Err(e) => Ended::Failed(e),
                }
            }
        }
    }

    async fn record(&mut self, Record { time, event }: Record) -> Result<(), Stop> {
        self.last = self.last.max(time);
        match event {
            Event::Output(bytes) => {
                let text = self.output.decode(&bytes);
                if !text.is_empty() {
                    self.event(Code::Output, &text).await?;
                }
            }
            Event::Input(bytes) => {
                let text = self.input.decode(&bytes);
                if !text.is_empty() {
                    self.event(Code::Input, &text).await?;
                }
            }
            Event::Resize(size) => self.event(Code::Resize, &cast::resize_data(size)).await?,
            Event::Marker(label) => self.event(Code::Marker, &label).await?,
            Event::Gap { events, bytes } => {
                let label = format!(
                    "recording gap: {events} events ({bytes} bytes) not recorded, \
                     the disk was slower than the terminal"
                );
                self.event(Code::Marker, &label).await?;
            }
        }
        Ok(())
    }

    async fn event(&mut self, code: Code, data: &str) -> Result<(), Stop> {
        cast::write_event(&mut self.line, self.last, code, data);
        self.write_line().await
    }

    /// Writes the encoded line, if it fits the session's budget.
    async fn write_line(&mut self) -> Result<(), Stop> {
        let fits = self.budget.take(self.line.len() as u64);
        if fits {
            self.out.write_all(&self.line).await?;
            self.dirty = true;
        }
        self.line.clear();
        if fits { Ok(()) } else { Err(Stop::Capped) }
    }

    async fn flush(&mut self) -> Result<(), Stop> {
        self.out.flush().await?;
        self.flushed = Instant::now();
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header::new(TermSize { cols: 80, rows: 24 }, 1_700_000_000, "t".into())
    }

    /// Runs a writer into memory over the events `feed` sends, returns how it ended
    /// and the file's lines.
    async fn record(
        cap: u64,
        feed: impl FnOnce(&Recording),
    ) -> (Ended, Vec<serde_json::Value>, usize) {
        let (recording, rx, finished) = Recording::channel(Arc::new(Metrics::default()));
        let (file, mut reader) = tokio::io::duplex(16 << 20);
        let writer = tokio::spawn(write(
            file,
            header(),
            rx,
            finished,
            Arc::new(Budget::new(cap, 0)),
        ));
        feed(&recording);
        recording.finish();
        let ended = writer.await.unwrap();
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut reader, &mut text)
            .await
            .unwrap();
        let lines = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (ended, lines, text.len())
    }

    #[tokio::test]
    async fn writes_the_header_then_each_event() {
        let (ended, lines, _) = record(1 << 20, |r| {
            r.output(&Bytes::from_static(b"$ "));
            r.input(b"ls\r");
            r.resize(TermSize {
                cols: 100,
                rows: 30,
            });
            r.mark("check step 1: pass");
            // Half a character: finished as U+FFFD at the end.
            r.output(&Bytes::from_static(b"\xe2\x82"));
        })
        .await;
        assert!(matches!(ended, Ended::Closed), "{ended:?}");
        assert_eq!(lines[0]["version"], 2);
        let events: Vec<(&str, &str)> = lines[1..]
            .iter()
            .map(|e| (e[1].as_str().unwrap(), e[2].as_str().unwrap()))
            .collect();
        assert_eq!(
            events,
            [
                ("o", "$ "),
                ("i", "ls\r"),
                ("r", "100x30"),
                ("m", "check step 1: pass"),
                ("o", "\u{FFFD}")
            ]
        );
        let times: Vec<f64> = lines[1..].iter().map(|e| e[0].as_f64().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    }

    #[tokio::test]
    async fn the_size_cap_ends_with_a_marker() {
        let cap = 4096;
        let (ended, lines, size) = record(cap, |r| {
            for _ in 0..100 {
                r.output(&Bytes::from(vec![b'x'; 100]));
            }
        })
        .await;
        assert!(matches!(ended, Ended::Capped { cap: 4096 }), "{ended:?}");
        let last = lines.last().unwrap();
        assert_eq!(last[1], "m");
        assert!(
            last[2]
                .as_str()
                .unwrap()
                .contains("reached 4096 bytes (--recording-max-bytes)"),
            "{last}"
        );
        // The events before the marker fit the cap; the marker is one short line more.
        assert!(size as u64 <= cap + 200, "{size}");
        assert!(lines.len() > 20 && lines.len() < 100, "{}", lines.len());
    }

    #[tokio::test]
    async fn a_full_queue_drops_events_and_marks_the_gap_once() {
        let metrics = Arc::new(Metrics::default());
        let (recording, rx, finished) = Recording::channel(metrics.clone());
        // Nobody reads yet: the disk is "slow". The pump never waits.
        let began = Instant::now();
        for i in 0..QUEUE + 50 {
            recording.output(&Bytes::from(format!("line {i}\n")));
        }
        assert!(began.elapsed() < Duration::from_millis(100));
        assert_eq!(metrics.recording_dropped_events.get(), 50);
        let (file, mut reader) = tokio::io::duplex(1 << 20);
        let writer = tokio::spawn(write(
            file,
            header(),
            rx,
            finished,
            Arc::new(Budget::new(1 << 20, 0)),
        ));
        // Let the writer drain the queue, then the next events fit again.
        tokio::time::sleep(Duration::from_millis(50)).await;
        recording.output(&Bytes::from_static(b"after\n"));
        recording.output(&Bytes::from_static(b"more\n"));
        recording.finish();
        assert!(matches!(writer.await.unwrap(), Ended::Closed));
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut reader, &mut text)
            .await
            .unwrap();
        let events: Vec<serde_json::Value> = text
            .lines()
            .skip(1)
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let gaps: Vec<_> = events.iter().filter(|e| e[1] == "m").collect();
        assert_eq!(gaps.len(), 1, "{text}");
        assert!(
            gaps[0][2]
                .as_str()
                .unwrap()
                .starts_with("recording gap: 50 events ("),
            "{}",
            gaps[0]
        );
        let outputs: Vec<&str> = events.iter().map(|e| e[2].as_str().unwrap()).collect();
        let n = outputs.len();
        assert_eq!(outputs[n - 2], "after\n");
        assert_eq!(outputs[n - 1], "more\n");
        assert_eq!(outputs[QUEUE - 1], format!("line {}\n", QUEUE - 1));
        assert!(outputs[QUEUE].starts_with("recording gap"));
    }

    #[tokio::test]
    async fn a_full_disk_stops_the_recording_not_the_pump() {
        let (recording, rx, finished) = Recording::channel(Arc::new(Metrics::default()));
        let full = tokio::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .await
            .expect("/dev/full (Linux)");
        let writer = tokio::spawn(write(
            full,
            header(),
            rx,
            finished,
            Arc::new(Budget::new(1 << 30, 0)),
        ));
        recording.output(&Bytes::from_static(b"hello"));
        let ended = tokio::time::timeout(Duration::from_secs(5), writer)
            .await
            .expect("the writer gives up")
            .unwrap();
        let Ended::Failed(e) = ended else {
            panic!("{ended:?}")
        };
        assert_eq!(e.raw_os_error(), Some(28), "ENOSPC: {e}");
        // The queue is closed: sends return at once, for as long as the shell runs.
        for _ in 0..10 * QUEUE {
            recording.output(&Bytes::from_static(b"still running"));
        }
    }
}
