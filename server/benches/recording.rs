//! What recording costs a terminal, in one run (`cargo bench -p playlab --bench
//! recording`): two `playlab serve` processes on the real Docker engine, one recording
//! (with a size cap above what the run prints, so every byte is recorded) and one with
//! `--recording off`, measured in alternating rounds:
//! - keystroke echo latency through the server, median, p95 and p99;
//! - output throughput of `head -c 50M /dev/zero | base64` (about 68 MB of lines).
//!
//! It prints a table with the ratios, and what the recording server wrote and dropped
//! (a dropped event means the writer fell behind: the terminal did not wait for it).

#[path = "../tests/common/mod.rs"]
mod common;
mod measure;

use std::time::Duration;

use common::{Client, ServerProcess, fixtures};
use measure::{echo_latency_server, percentile, throughput_server, time_to_prompt};

const ROUNDS: usize = 5;
const ECHO_SAMPLES: usize = 300;
const OUTPUT: &str = "head -c 50000000 /dev/zero | base64";

/// One server's samples over every round.
#[derive(Default)]
struct Samples {
    echo: Vec<Duration>,
    mbs: Vec<f64>,
}

/// One round on `server`: a fresh session, echo latency then throughput on node01.
async fn round(server: &ServerProcess, samples: &mut Samples) {
    let client = Client::new(&server.url);
    let (id, _) = time_to_prompt(&client).await;
    let mut term = client.terminal(&id, "node01", "").await.unwrap();
    term.read_until(0, "# ", Duration::from_secs(10)).await;
    samples
        .echo
        .extend(echo_latency_server(&mut term, ECHO_SAMPLES).await);
    let (mbs, bytes) = throughput_server(&mut term, OUTPUT).await;
    assert!(bytes > 60_000_000, "only {bytes} bytes arrived");
    samples.mbs.push(mbs);
    drop(term);
    client.delete(&format!("/api/sessions/{id}")).await;
}

async fn metric(server: &ServerProcess, name: &str) -> f64 {
    let text = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn row(name: &str, off: f64, on: f64, unit: &str) {
    println!(
        "| {name:<24} | {off:>10.3} {unit:<4} | {on:>10.3} {unit:<4} | {:>6.3} |",
        on / off
    );
}

#[tokio::main]
async fn main() {
    let _ = common::docker().await;
    println!(
        "recording on vs off (2-node fixture lesson on debian:bookworm-slim, {ROUNDS} rounds each, alternating)\n"
    );
    let recordings = tempfile::tempdir().unwrap();
    let dir = recordings.path().to_str().unwrap();
    let on = ServerProcess::start(
        &fixtures(),
        &["--recordings-dir", dir, "--recording-max-bytes", "4Gi"],
    )
    .await;
    let off = ServerProcess::start(&fixtures(), &["--recording", "off"]).await;
    let (mut with, mut without) = (Samples::default(), Samples::default());
    for _ in 0..ROUNDS {
        round(&off, &mut without).await;
        round(&on, &mut with).await;
    }
    let dropped = metric(&on, "playlab_recording_dropped_events").await;
    let stopped = metric(&on, "playlab_recordings_stopped").await;
    on.stop();
    off.stop();
    let written: u64 = walk(recordings.path());

    println!(
        "| {:<24} | {:>15} | {:>15} | {:>6} |",
        "", "off", "on", "on/off"
    );
    println!("|{:-<26}|{:-<17}|{:-<17}|{:-<8}|", "", "", "", "");
    for (name, p) in [("echo p50", 0.5), ("echo p95", 0.95), ("echo p99", 0.99)] {
        let ms = |s: &mut Samples| percentile(&mut s.echo, p).as_secs_f64() * 1000.0;
        row(name, ms(&mut without), ms(&mut with), "ms");
    }
    row(
        "throughput (median)",
        median(&mut without.mbs),
        median(&mut with.mbs),
        "MB/s",
    );
    println!(
        "\nrecorded: {:.1} MB in .cast files, {dropped} events dropped (writer behind), {stopped} recordings stopped early",
        written as f64 / 1e6
    );
    let p99 = |s: &mut Samples| percentile(&mut s.echo, 0.99);
    let extra = p99(&mut with).saturating_sub(p99(&mut without));
    let loss = 1.0 - median(&mut with.mbs) / median(&mut without.mbs);
    println!(
        "targets: throughput loss <= 5 %: {:.1} % ({}); echo p99 + <= 0.2 ms: +{:.3} ms ({})",
        loss * 100.0,
        if loss <= 0.05 { "met" } else { "not met" },
        extra.as_secs_f64() * 1000.0,
        if extra <= Duration::from_micros(200) {
            "met"
        } else {
            "not met"
        }
    );
}

/// Bytes of every file under `dir`.
fn walk(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => walk(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}
