//! Benchmarks `playlab serve` on this machine, in one run, against the real binary and
//! real Docker (`cargo bench -p playlab --bench serve`):
//! - time from `POST /api/sessions` to the first prompt byte on a terminal, cold and
//!   from the warm pool (2-node fixture lesson, cached image);
//! - keystroke echo latency p50/p99 through the server vs a direct attach (the Docker
//!   backend's own exec attach, no server in between);
//! - output throughput through the server vs `docker exec -t`;
//! - 50 concurrent sessions: time until all ready, failures, server RSS, leftovers;
//! - idle server RSS.
//!
//! The server runs as its own process so its memory is measured alone.

#[path = "../tests/common/mod.rs"]
mod common;
mod measure;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Client, ServerProcess, fixtures};
use futures::StreamExt;
use measure::{echo_latency_server, ms, percentile, throughput_server, time_to_prompt};
use reqwest::StatusCode;
use runner::{Backend, SessionId, TermSize};
use serde_json::json;
use tokio::io::AsyncWriteExt;

const ROUNDS: usize = 5;
const ECHO_SAMPLES: usize = 200;
const THROUGHPUT_BYTES: u64 = 64 * 1024 * 1024;
const CONCURRENT: usize = 50;

async fn echo_latency_direct(backend: &dyn Backend, session: &SessionId) -> Vec<Duration> {
    let mut terminal = backend
        .attach(session, "node01", TermSize { cols: 80, rows: 24 })
        .await
        .unwrap();
    // Wait for the prompt.
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("# ") {
        seen.extend_from_slice(&terminal.output.next().await.unwrap().unwrap());
    }
    let mut samples = Vec::with_capacity(ECHO_SAMPLES);
    for i in 0..ECHO_SAMPLES {
        let began = Instant::now();
        terminal
            .input
            .write_all(&[b'a' + (i % 26) as u8])
            .await
            .unwrap();
        terminal.input.flush().await.unwrap();
        terminal.output.next().await.unwrap().unwrap();
        samples.push(began.elapsed());
    }
    samples
}

fn throughput_docker_exec(container: &str) -> f64 {
    let began = Instant::now();
    let out = Command::new("docker")
        .args(["exec", "-t", container, "sh", "-c"])
        .arg(format!("head -c {THROUGHPUT_BYTES} /dev/zero | tr '\\0' x"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    out.stdout.len() as f64 / began.elapsed().as_secs_f64() / 1e6
}

#[tokio::main]
async fn main() {
    let backend = common::docker().await;
    println!("playlab serve benchmark (2-node fixture lesson on debian:bookworm-slim)\n");

    // Idle RSS and the cold start.
    let server = ServerProcess::start(&fixtures(), &["--max-sessions", "60"]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = server.rss_mib();
    println!("idle server RSS: {idle_rss:.1} MiB (target <= 40)");
    let mut cold = Vec::new();
    for _ in 0..ROUNDS {
        let client = Client::new(&server.url);
        let (id, elapsed) = time_to_prompt(&client).await;
        cold.push(elapsed);
        client.delete(&format!("/api/sessions/{id}")).await;
    }
    println!(
        "POST -> first prompt byte, cold: p50 {} max {} (target <= 1 s)",
        ms(percentile(&mut cold, 0.5)),
        ms(*cold.iter().max().unwrap())
    );

    // Echo latency and throughput on one session.
    let client = Client::new(&server.url);
    let (id, _) = time_to_prompt(&client).await;
    let mut term = client.terminal(&id, "node01", "").await.unwrap();
    term.read_until(0, "# ", Duration::from_secs(10)).await;
    let mut via_server = echo_latency_server(&mut term, ECHO_SAMPLES).await;
    let session: SessionId = id.parse().unwrap();
    let mut direct = echo_latency_direct(backend.as_ref(), &session).await;
    let (s50, s99) = (
        percentile(&mut via_server, 0.5),
        percentile(&mut via_server, 0.99),
    );
    let (d50, d99) = (percentile(&mut direct, 0.5), percentile(&mut direct, 0.99));
    println!(
        "echo latency via server: p50 {} p99 {}; direct attach: p50 {} p99 {} (target p99 <= direct p99 + 1 ms: {})",
        ms(s50),
        ms(s99),
        ms(d50),
        ms(d99),
        if s99 <= d99 + Duration::from_millis(1) {
            "met"
        } else {
            "not met"
        }
    );
    let command = format!("head -c {THROUGHPUT_BYTES} /dev/zero | tr '\\0' x");
    let (server_mbs, _) = throughput_server(&mut term, &command).await;
    let direct_mbs = throughput_docker_exec(&format!("playlab-{id}-node01"));
    println!(
        "output throughput via server: {server_mbs:.1} MB/s; docker exec -t: {direct_mbs:.1} MB/s; ratio {:.2} (target >= 0.9)",
        server_mbs / direct_mbs
    );
    drop(term);
    client.delete(&format!("/api/sessions/{id}")).await;

    // 50 concurrent sessions.
    let began = Instant::now();
    let clients: Vec<Client> = (0..CONCURRENT).map(|_| Client::new(&server.url)).collect();
    let results = futures::future::join_all(clients.iter().map(|c| async move {
        let (status, session) = c.post("/api/sessions", json!({"lesson": "demo"})).await;
        if status != StatusCode::CREATED {
            return Err(format!("{status}: {session}"));
        }
        let id = session["id"].as_str().unwrap().to_owned();
        loop {
            let (_, s) = c.get(&format!("/api/sessions/{id}")).await;
            match s["status"].as_str() {
                Some("ready") => return Ok(id),
                Some("starting") => tokio::time::sleep(Duration::from_millis(100)).await,
                _ => return Err(format!("{s}")),
            }
        }
    }))
    .await;
    let all_ready = began.elapsed();
    let peak_rss = server.rss_mib();
    let failures: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let ids: Vec<&String> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    futures::future::join_all(
        clients
            .iter()
            .zip(&results)
            .filter_map(|(c, r)| r.as_ref().ok().map(|id| (c, id)))
            .map(|(c, id)| async move { c.delete(&format!("/api/sessions/{id}")).await }),
    )
    .await;
    let remaining = backend.environments().await.unwrap();
    let leftovers = ids
        .iter()
        .filter(|id| remaining.iter().any(|r| r.as_str() == id.as_str()))
        .count();
    println!(
        "{CONCURRENT} concurrent sessions: all ready in {:.1} s, {} failures, server RSS {peak_rss:.1} MiB (target <= 150), {leftovers} leftovers after delete",
        all_ready.as_secs_f64(),
        failures.len()
    );
    for f in failures.iter().take(3) {
        println!("  failure: {f}");
    }
    server.stop();

    // The warm pool.
    let server = ServerProcess::start(&fixtures(), &["--warm-pool", "1"]).await;
    let mut warm = Vec::new();
    for _ in 0..ROUNDS {
        // Wait for the pool to refill.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = reqwest::get(format!("{}/metrics", server.url))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if text.lines().any(|l| l == "playlab_warm_pool_ready 1") {
                break;
            }
            assert!(Instant::now() < deadline, "the warm pool did not fill");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let client = Client::new(&server.url);
        let (id, elapsed) = time_to_prompt(&client).await;
        warm.push(elapsed);
        client.delete(&format!("/api/sessions/{id}")).await;
    }
    println!(
        "POST -> first prompt byte, warm pool: p50 {} max {} (target <= 50 ms)",
        ms(percentile(&mut warm, 0.5)),
        ms(*warm.iter().max().unwrap())
    );
    server.stop();
}
