//! What the Docker benches share: the CLI baseline, a lesson of plain nodes, medians,
//! and the table they print.
// Each bench compiles this module and uses a part of it.
#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

use scenarios::{Environment, Lesson, NodeImage, NodeSpec};

/// The image the environment benches run, the one every playlab host has.
pub const IMAGE: &str = "debian:bookworm-slim";

/// A lesson of `nodes` plain nodes `node01`, `node02`, ... on [`IMAGE`].
pub fn lesson(nodes: usize) -> Lesson {
    let nodes = (1..=nodes)
        .map(|i| {
            NodeSpec::new(
                format!("node{i:02}"),
                NodeImage::Reference(IMAGE.to_owned()),
            )
        })
        .collect();
    Lesson::with_environment("bench", std::env::temp_dir(), Environment::new(nodes))
}

/// Runs the docker CLI once and returns how long it took; panics if it failed, since a
/// baseline that did not run is no baseline.
pub fn docker_cli(args: &[&str]) -> Duration {
    let started = Instant::now();
    let status = Command::new("docker")
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("running docker {args:?}: {e} (is the docker CLI installed?)"));
    let elapsed = started.elapsed();
    assert!(status.success(), "docker {args:?} failed: {status}");
    elapsed
}

pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub fn header() {
    println!();
    println!("| measurement (median)                         |      time    |");
    println!("|----------------------------------------------|--------------|");
}

pub fn row(what: &str, time: Duration) {
    println!("| {what:<44} | {:>9.1} ms |", time.as_secs_f64() * 1000.0);
}

/// A ratio against its target, if it has one.
pub fn ratio(what: &str, value: f64, target: Option<f64>) {
    match target {
        Some(target) => {
            let verdict = if value <= target { "met" } else { "NOT met" };
            println!("| {what:<44} | {value:>9.2} x  | target <= {target} ({verdict})");
        }
        None => println!("| {what:<44} | {value:>9.2} x  |"),
    }
}
