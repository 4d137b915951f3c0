//! How fast the Docker backend starts environments and runs commands, against the
//! Docker CLI doing the nearest equivalent, measured in the same run on the same engine.
//!
//! Run with `cargo bench -p runner --bench environment` (needs dockerd and the seeded
//! `debian:bookworm-slim`, like the engine tests). Prints one table: the median of
//! several rounds for each measurement, and the ratios the issue sets targets for:
//!
//! | ratio | target |
//! |---|---|
//! | 1-node start / `docker run --rm IMAGE true` | ≤ 1.5 |
//! | 3-node start / 1-node start | ≤ 2 |
//! | exec round trip / `docker exec NODE true` | ≤ 1.2 |
//!
//! "Start" is `Backend::start` returning (nodes running, reachable by name, ready for
//! exec); the removal that `docker run --rm` includes is measured separately as
//! "destroy".

use std::time::{Duration, Instant};

mod common;
use common::{IMAGE, docker_cli, header, lesson, median, ratio, row};

use runner::docker::{DockerBackend, DockerConfig, container_name};
use runner::{Backend, ExecRequest, ProgressSender, SessionId};

const START_ROUNDS: usize = 7;
const EXEC_ROUNDS: usize = 30;

/// Starts and destroys an environment of `nodes` nodes `START_ROUNDS` times; returns
/// the median start and destroy times.
async fn environment_rounds(backend: &DockerBackend, nodes: usize) -> (Duration, Duration) {
    let lesson = lesson(nodes);
    let (mut starts, mut destroys) = (Vec::new(), Vec::new());
    for _ in 0..START_ROUNDS {
        let session = SessionId::random();
        let started = Instant::now();
        backend
            .start(&session, &lesson, ProgressSender::discard())
            .await
            .expect("start");
        starts.push(started.elapsed());
        let destroying = Instant::now();
        backend.destroy(&session).await.expect("destroy");
        destroys.push(destroying.elapsed());
    }
    (median(starts), median(destroys))
}

#[tokio::main]
async fn main() {
    let backend = DockerBackend::connect(DockerConfig::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Warm caches (image metadata, the CLI binary, the engine's code paths).
    docker_cli(&["run", "--rm", IMAGE, "true"]);
    environment_rounds(&backend, 1).await;

    let docker_run = median(
        (0..START_ROUNDS)
            .map(|_| docker_cli(&["run", "--rm", IMAGE, "true"]))
            .collect(),
    );
    let (start_1, destroy_1) = environment_rounds(&backend, 1).await;
    let (start_3, destroy_3) = environment_rounds(&backend, 3).await;

    let session = SessionId::random();
    backend
        .start(&session, &lesson(1), ProgressSender::discard())
        .await
        .expect("start");
    let container = container_name(&session, "node01");
    let cli_exec = median(
        (0..EXEC_ROUNDS)
            .map(|_| docker_cli(&["exec", &container, "true"]))
            .collect(),
    );
    let mut execs = Vec::new();
    for _ in 0..EXEC_ROUNDS {
        let started = Instant::now();
        let out = backend
            .exec(
                &session,
                "node01",
                ExecRequest::new("true", Duration::from_secs(10)),
            )
            .await
            .expect("exec");
        execs.push(started.elapsed());
        assert!(out.success());
    }
    let exec = median(execs);
    backend.destroy(&session).await.expect("destroy");

    header();
    row("docker run --rm debian:bookworm-slim true", docker_run);
    row("start 1-node environment", start_1);
    row("destroy 1-node environment", destroy_1);
    row("start 3-node environment", start_3);
    row("destroy 3-node environment", destroy_3);
    row("docker exec NODE true (CLI)", cli_exec);
    row("Backend::exec(\"true\") round trip", exec);
    println!();
    ratio(
        "1-node start / docker run",
        start_1.as_secs_f64() / docker_run.as_secs_f64(),
        Some(1.5),
    );
    ratio(
        "3-node start / 1-node start",
        start_3.as_secs_f64() / start_1.as_secs_f64(),
        Some(2.0),
    );
    ratio(
        "exec / docker exec",
        exec.as_secs_f64() / cli_exec.as_secs_f64(),
        Some(1.2),
    );
}
