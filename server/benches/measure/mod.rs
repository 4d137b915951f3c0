//! What the server benches measure through a real server: time to a prompt, keystroke
//! echo latency and output throughput on a terminal WebSocket.

#![allow(dead_code)] // each bench uses its own part of this module

use std::time::{Duration, Instant};

use crate::common::{Client, Term};
use reqwest::StatusCode;
use serde_json::json;

/// The `p` quantile (0..=1) of `samples`.
pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// POST → ready (polled) → terminal → first byte of the prompt.
pub async fn time_to_prompt(client: &Client) -> (String, Duration) {
    let began = Instant::now();
    let (status, session) = client
        .post("/api/sessions", json!({"lesson": "demo"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let id = session["id"].as_str().unwrap().to_owned();
    let mut status = session["status"].as_str().unwrap().to_owned();
    while status == "starting" {
        tokio::time::sleep(Duration::from_millis(5)).await;
        status = client.get(&format!("/api/sessions/{id}")).await.1["status"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    assert_eq!(status, "ready");
    let mut term = client.terminal(&id, "node01", "").await.unwrap();
    while term.screen.is_empty() {
        term.next_frame().await.expect("a prompt");
    }
    (id, began.elapsed())
}

/// Keystroke to echo, `samples` times, one key at a time.
pub async fn echo_latency_server(term: &mut Term, samples: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples {
        let key = [b'a' + (i % 26) as u8];
        let from = term.screen.len();
        let began = Instant::now();
        term.send(std::str::from_utf8(&key).unwrap()).await;
        while term.screen.len() == from {
            term.next_frame().await.unwrap();
        }
        times.push(began.elapsed());
    }
    term.send("\x15").await; // clear the typed line
    times
}

/// MB/s of the output of `command` (a shell pipeline) through the server; returns the
/// rate and the bytes received.
pub async fn throughput_server(term: &mut Term, command: &str) -> (f64, usize) {
    term.screen.clear();
    term.send(&format!("{command}; echo; echo done-$((40+2))\r"))
        .await;
    let began = Instant::now();
    let mut bytes = 0usize;
    // Only a short tail is kept and searched, so this stays linear in the output.
    let mut tail = Vec::new();
    loop {
        term.screen.clear();
        term.next_frame().await.expect("output");
        bytes += term.screen.len();
        tail.extend_from_slice(&term.screen);
        tail.drain(..tail.len().saturating_sub(32));
        if String::from_utf8_lossy(&tail).contains("done-42") {
            break;
        }
    }
    (bytes as f64 / began.elapsed().as_secs_f64() / 1e6, bytes)
}
