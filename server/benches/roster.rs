//! What the live roster costs the server (`cargo bench -p playlab --bench roster`): a
//! class of 200 learners, each with a session of the fixture lesson, checking at a
//! steady rate while 0, 1 and then 5 instructors watch the roster stream
//! (`GET /api/classes/{id}/roster/events`). For each window it prints:
//! - bytes/s and events/s received per instructor stream;
//! - the server's CPU, as % of one core, and its extra over the window with the same
//!   learner load and no stream open;
//! - roster latency: from a check's response to the first roster event showing it.
//!
//! The environments are FAKE (`runner::testing::FakeBackend`: no containers, a check's
//! exec answers at once, 1 in 10 passes): what is measured is the server's own roster
//! work (gathering members, sessions and attempts from SQLite, computing, serializing,
//! sending), never Docker. The server runs in this process, as the integration tests'
//! `TestServer`, on a runtime of its own whose threads are named, so its CPU time is
//! read per thread from `/proc/self/task/*/stat`, apart from the load generator's
//! (the clients parse nothing but the latency probe's stream); the whole process's
//! CPU is printed beside it.

#[path = "../tests/common/mod.rs"]
mod common;
#[allow(dead_code)] // the terminal helpers are the other benches'
mod measure;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{ADMIN_TOKEN, Client, Options, TestServer};
use futures::StreamExt;
use measure::{ms, percentile, time_to_prompt};
use playlab::serve::config::Limits;
use reqwest::StatusCode;
use serde_json::{Value, json};

const LEARNERS: usize = 200;
/// Checks per second over the whole class (each learner about every 10 s).
const CHECKS_PER_SECOND: u64 = 20;
const WINDOW: Duration = Duration::from_secs(10);
const STREAM_COUNTS: [usize; 3] = [0, 1, 5];
/// The server runtime's threads are named this (`comm` keeps 15 bytes).
const SERVER_THREADS: &str = "playlab-srv";
/// Linux's `USER_HZ`, the unit of `/proc/*/stat` times.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds (user + system) from a `/proc/.../stat` line.
fn stat_seconds(stat: &str) -> f64 {
    // The fields after the command name's closing parenthesis start at field 3.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / TICKS_PER_SECOND
}

/// CPU seconds of the server's threads (live ones) and of the whole process.
fn cpu_seconds() -> (f64, f64) {
    let mut server = 0.0;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() == SERVER_THREADS
            && let Ok(stat) = std::fs::read_to_string(task.path().join("stat"))
        {
            server += stat_seconds(&stat);
        }
    }
    let process = stat_seconds(&std::fs::read_to_string("/proc/self/stat").unwrap());
    (server, process)
}

/// A learner of the class: their client, session, and where the bench thinks they are.
struct Learner {
    name: String,
    client: Client,
    session: String,
    /// (step, checks of that step so far), as the roster should show after the
    /// learner's latest check.
    at: Mutex<(u64, u64)>,
}

/// What the roster should show for a learner, and since when.
type Pending = Mutex<HashMap<String, ((u64, u64), Instant)>>;

#[derive(Default)]
struct Load {
    checks: AtomicU64,
    failed_requests: AtomicU64,
    check_times: Mutex<Vec<Duration>>,
}

/// One check by `learner`; notes what the roster should now show.
async fn check(learner: &Learner, load: &Load, pending: &Pending) {
    let (step, _) = *learner.at.lock().unwrap();
    // On the quiz step (step 1) a wrong answer, so the learner stays there.
    let body = if step == 0 {
        json!({})
    } else {
        json!({"answers": [[0]]})
    };
    let began = Instant::now();
    let (status, verdict) = learner
        .client
        .post(&format!("/api/sessions/{}/check", learner.session), body)
        .await;
    let done = Instant::now();
    if status != StatusCode::OK {
        load.failed_requests.fetch_add(1, Ordering::Relaxed);
        return;
    }
    load.checks.fetch_add(1, Ordering::Relaxed);
    load.check_times.lock().unwrap().push(done - began);
    let now_on = verdict["step"].as_u64().unwrap();
    let expected = {
        let mut at = learner.at.lock().unwrap();
        *at = if now_on == at.0 {
            (at.0, at.1 + 1)
        } else {
            (now_on, 0)
        };
        *at
    };
    pending
        .lock()
        .unwrap()
        .insert(learner.name.clone(), (expected, done));
}

/// Checks at [`CHECKS_PER_SECOND`], round-robin over the learners, until `stop`.
async fn load_loop(
    learners: Arc<Vec<Learner>>,
    load: Arc<Load>,
    pending: Arc<Pending>,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut every = tokio::time::interval(Duration::from_micros(1_000_000 / CHECKS_PER_SECOND));
    let mut next = 0usize;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = every.tick() => {}
        }
        let (learners, load, pending) = (learners.clone(), load.clone(), pending.clone());
        let i = next;
        next = (next + 1) % learners.len();
        tokio::spawn(async move { check(&learners[i], &load, &pending).await });
    }
}

/// What one instructor stream received.
#[derive(Default)]
struct Received {
    bytes: AtomicU64,
    events: AtomicU64,
    latencies: Mutex<Vec<Duration>>,
}

/// Reads a roster stream, counting bytes and events; the `probe` stream also parses
/// each roster and times the learners' checks it shows.
async fn watch(
    url: String,
    received: Arc<Received>,
    pending: Option<Arc<Pending>>,
    opened: Arc<AtomicUsize>,
    stop: tokio_util::sync::CancellationToken,
) {
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    opened.fetch_add(1, Ordering::SeqCst);
    let mut body = response.bytes_stream();
    let mut buffer = Vec::new();
    loop {
        let chunk = tokio::select! {
            _ = stop.cancelled() => return,
            chunk = body.next() => chunk,
        };
        let Some(Ok(chunk)) = chunk else { return };
        let arrived = Instant::now();
        received
            .bytes
            .fetch_add(chunk.len() as u64, Ordering::Relaxed);
        buffer.extend_from_slice(&chunk);
        while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
            let block: Vec<u8> = buffer.drain(..end + 2).collect();
            let block = String::from_utf8_lossy(&block);
            let Some(data) = block.lines().find_map(|l| l.strip_prefix("data:")) else {
                continue; // a keep-alive comment
            };
            received.events.fetch_add(1, Ordering::Relaxed);
            let Some(pending) = &pending else { continue };
            let roster: Value = serde_json::from_str(data.trim()).unwrap();
            let mut pending = pending.lock().unwrap();
            for row in roster["learners"].as_array().unwrap() {
                let name = row["name"].as_str().unwrap();
                let Some(&(want, since)) = pending.get(name) else {
                    continue;
                };
                let shown = (
                    row["step"].as_u64().unwrap_or(0),
                    row["attempts"].as_u64().unwrap_or(0),
                );
                if shown == want {
                    received.latencies.lock().unwrap().push(arrived - since);
                    pending.remove(name);
                }
            }
        }
    }
}

/// One window's measurements.
struct Row {
    streams: usize,
    server_cpu: f64,
    process_cpu: f64,
    bytes_per_stream: f64,
    events_per_stream: f64,
    latency: Vec<Duration>,
    checks: u64,
}

async fn window(
    url: &str,
    class: &str,
    streams: usize,
    load: &Load,
    pending: &Arc<Pending>,
) -> Row {
    let stop = tokio_util::sync::CancellationToken::new();
    let opened = Arc::new(AtomicUsize::new(0));
    let received: Vec<Arc<Received>> = (0..streams).map(|_| Arc::default()).collect();
    for (i, r) in received.iter().enumerate() {
        tokio::spawn(watch(
            format!("{url}/api/classes/{class}/roster/events"),
            r.clone(),
            (i == 0).then(|| pending.clone()),
            opened.clone(),
            stop.clone(),
        ));
    }
    while opened.load(Ordering::SeqCst) < streams {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The first roster of each stream (sent at once) is not part of the window.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before: Vec<(u64, u64)> = received
        .iter()
        .map(|r| {
            r.latencies.lock().unwrap().clear();
            (
                r.bytes.load(Ordering::Relaxed),
                r.events.load(Ordering::Relaxed),
            )
        })
        .collect();
    let checks = load.checks.load(Ordering::Relaxed);
    let (server0, process0) = cpu_seconds();
    let began = Instant::now();
    tokio::time::sleep(WINDOW).await;
    let (server1, process1) = cpu_seconds();
    let seconds = began.elapsed().as_secs_f64();
    let checks = load.checks.load(Ordering::Relaxed) - checks;
    stop.cancel();
    let (mut bytes, mut events) = (0, 0);
    for (r, (b, e)) in received.iter().zip(before) {
        bytes += r.bytes.load(Ordering::Relaxed) - b;
        events += r.events.load(Ordering::Relaxed) - e;
    }
    let per_stream = |n: u64| n as f64 / streams.max(1) as f64 / seconds;
    Row {
        streams,
        server_cpu: (server1 - server0) / seconds * 100.0,
        process_cpu: (process1 - process0) / seconds * 100.0,
        bytes_per_stream: per_stream(bytes),
        events_per_stream: per_stream(events),
        latency: received
            .first()
            .map(|r| r.latencies.lock().unwrap().clone())
            .unwrap_or_default(),
        checks,
    }
}

fn main() {
    // Quiet: the server's per-session info lines are not what is measured.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .try_init();
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(SERVER_THREADS)
        .enable_all()
        .build()
        .unwrap();
    let load_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-load")
        .enable_all()
        .build()
        .unwrap();
    let backend = runner::testing::FakeBackend::new();
    // 1 check in 10 passes (step 0's shell check); the quiz step's wrong answers fail.
    let execs = AtomicU64::new(0);
    backend.on_exec(move |_, _| {
        runner::testing::exit(if execs.fetch_add(1, Ordering::Relaxed) % 10 == 9 {
            0
        } else {
            1
        })
    });
    let options = Options {
        limits: Limits {
            max_sessions: LEARNERS + 10,
            join_attempts: 10 * LEARNERS as u32,
            ..Limits::default()
        },
        ..Options::default()
    };
    let server = server_runtime
        .block_on(server_runtime.spawn(TestServer::start_with(options, backend)))
        .unwrap();
    let url = server.url.clone();
    load_runtime.block_on(bench(&url));
    server_runtime.block_on(server.stop());
}

async fn bench(url: &str) {
    println!(
        "live roster: {LEARNERS} learners, {CHECKS_PER_SECOND} checks/s, windows of {WINDOW:?}; \
         FAKE environments (runner::testing::FakeBackend): the server's roster work, not Docker\n"
    );
    let admin = Client::admin(url, ADMIN_TOKEN);
    let (status, class) = admin
        .post(
            "/api/classes",
            json!({"name": "Bench", "lessons": ["demo"], "capacity": LEARNERS}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{class}");
    let class_id = class["id"].as_str().unwrap().to_owned();
    let began = Instant::now();
    let mut learners = Vec::with_capacity(LEARNERS);
    for i in 0..LEARNERS {
        let client = Client::new(url);
        let name = format!("Learner {i:03}");
        let (status, joined) = client
            .post(
                "/api/classes/join",
                json!({"code": class["code"], "name": name}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{joined}");
        let (session, _) = time_to_prompt(&client).await;
        learners.push(Learner {
            name,
            client,
            session,
            at: Mutex::new((0, 0)),
        });
    }
    println!(
        "{LEARNERS} joined and started in {:.1} s\n",
        began.elapsed().as_secs_f64()
    );
    let learners = Arc::new(learners);
    let load = Arc::new(Load::default());
    let pending = Arc::new(Pending::default());
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(load_loop(
        learners.clone(),
        load.clone(),
        pending.clone(),
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_secs(2)).await; // warm-up
    let mut rows = Vec::new();
    for streams in STREAM_COUNTS {
        rows.push(window(url, &class_id, streams, &load, &pending).await);
    }
    stop.cancel();
    let (_, roster) = admin.get(&format!("/api/classes/{class_id}/roster")).await;
    let roster_bytes = serde_json::to_vec(&roster).unwrap().len();

    let base = rows[0].server_cpu;
    let base_process = rows[0].process_cpu;
    println!(
        "| {:>7} | {:>8} | {:>10} | {:>10} | {:>10} | {:>12} | {:>9} | {:>10} | {:>10} |",
        "streams",
        "checks/s",
        "server CPU",
        "over base",
        "process",
        "KB/s/stream",
        "events/s",
        "latency50",
        "latency99"
    );
    println!(
        "|{:-<9}|{:-<10}|{:-<12}|{:-<12}|{:-<12}|{:-<14}|{:-<11}|{:-<12}|{:-<12}|",
        "", "", "", "", "", "", "", "", ""
    );
    for row in &mut rows {
        let lat = |l: &mut Vec<Duration>, p| {
            if l.is_empty() {
                "-".to_owned()
            } else {
                ms(percentile(l, p))
            }
        };
        let (p50, p99) = (lat(&mut row.latency, 0.5), lat(&mut row.latency, 0.99));
        println!(
            "| {:>7} | {:>8.1} | {:>8.1} % | {:>+8.1} % | {:>8.1} % | {:>12.1} | {:>9.2} | {:>10} | {:>10} |",
            row.streams,
            row.checks as f64 / WINDOW.as_secs_f64(),
            row.server_cpu,
            row.server_cpu - base,
            row.process_cpu,
            row.bytes_per_stream / 1000.0,
            row.events_per_stream,
            p50,
            p99
        );
    }
    let mut check_times = load.check_times.lock().unwrap().clone();
    println!(
        "\nCPU is % of one core over the window: `server` = the server runtime's threads, \
         `over base` = minus the 0-stream window (same learner load), `process` = the whole \
         bench process (server + load generator + stream readers, base {base_process:.1} %)."
    );
    println!(
        "latency: check response -> first roster event on stream 1 showing it ({} samples in the 5-stream window)",
        rows.last().unwrap().latency.len()
    );
    println!(
        "one roster at the end: {:.1} KB of JSON; {} checks answered (check p50 {}, p99 {}), {} check requests failed",
        roster_bytes as f64 / 1000.0,
        load.checks.load(Ordering::Relaxed),
        ms(percentile(&mut check_times, 0.5)),
        ms(percentile(&mut check_times, 0.99)),
        load.failed_requests.load(Ordering::Relaxed)
    );
}
