//! What a system node costs: how long until it is ready, against a plain node, and
//! what Docker inside a node costs, against the host's own engine, in one run.
//!
//! Run with `cargo bench -p runner --bench system_nodes` (needs dockerd and the seeded
//! `debian:bookworm-slim`, like the engine tests; builds `content/images/docker-node`
//! and the Debian stage of `content/images/kubeadm-node` on first use). Prints the
//! median of several rounds of:
//!
//! - a plain 1-node environment's start (`Backend::start` returning: ready for exec);
//! - a Docker node (`content/images/docker-node`, system profile) until systemd has
//!   booted, and until its engine answers with the seed image imported
//!   (`playlab-docker-wait`): what a learner waits for before the first `docker run`;
//! - a kubeadm node's Debian part until systemd has booted and containerd answers;
//! - `docker run --rm debian:bookworm-slim true` on the host's engine and in a Docker
//!   node's engine.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;
use common::{docker_cli, header, median, ratio, row};

use runner::docker::{DockerBackend, DockerConfig, SystemNodes};
use runner::{Backend, ExecRequest, ProgressSender, SessionId};
use scenarios::{Environment, Lesson, NodeImage, NodeSpec};

const BASE: &str = "debian:bookworm-slim";
/// The kubeadm node's Debian stage, as the system-node tests build it.
const KUBEADM_NODE: &str = "playlab-test/kubeadm-node-debian:latest";
const BOOT_ROUNDS: usize = 3;
const RUN_ROUNDS: usize = 9;
const WAIT: Duration = Duration::from_secs(180);

/// Until systemd has finished booting (`running` or `degraded`): `--wait` answers at
/// once while PID 1 is still the node's init script, so it is asked again.
const SYSTEMD_BOOTED: &str = "for i in $(seq 3000); do \
     case \"$(systemctl is-system-running --wait 2>/dev/null)\" in \
       running|degraded) exit 0;; *) sleep 0.05;; esac; done; exit 1";
const CONTAINERD_ANSWERS: &str =
    "for i in $(seq 3000); do ctr version >/dev/null 2>&1 && exit 0; sleep 0.05; done; exit 1";

fn images_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/images")
}

fn one_node(spec: NodeSpec) -> Lesson {
    Lesson::with_environment("bench", std::env::temp_dir(), Environment::new(vec![spec]))
}

fn system_node(image: NodeImage) -> NodeSpec {
    let mut spec = NodeSpec::new("node01", image);
    spec.systemd = true;
    spec.system = true;
    spec.memory_bytes = 1 << 30;
    spec
}

async fn exec_ok(backend: &DockerBackend, session: &SessionId, script: &str) {
    let out = backend
        .exec(session, "node01", ExecRequest::new(script, WAIT))
        .await
        .unwrap_or_else(|e| panic!("exec {script:?}: {e}"));
    assert!(out.success(), "{script:?} in the node: {out:?}");
}

/// Starts `lesson`'s one node, then runs each readiness script in turn; returns the
/// time from the start to each script's success, then destroys the environment.
async fn ready_times(backend: &DockerBackend, lesson: &Lesson, stages: &[&str]) -> Vec<Duration> {
    let session = SessionId::random();
    let started = Instant::now();
    backend
        .start(&session, lesson, ProgressSender::discard())
        .await
        .expect("start");
    let mut times = vec![started.elapsed()];
    for stage in stages {
        exec_ok(backend, &session, stage).await;
        times.push(started.elapsed());
    }
    backend.destroy(&session).await.expect("destroy");
    times
}

/// The median over `BOOT_ROUNDS` of each entry of [`ready_times`].
async fn median_ready(backend: &DockerBackend, lesson: &Lesson, stages: &[&str]) -> Vec<Duration> {
    let rounds: Vec<Vec<Duration>> = {
        let mut rounds = Vec::new();
        for _ in 0..BOOT_ROUNDS {
            rounds.push(ready_times(backend, lesson, stages).await);
        }
        rounds
    };
    (0..=stages.len())
        .map(|i| median(rounds.iter().map(|r| r[i]).collect()))
        .collect()
}

#[tokio::main]
async fn main() {
    let backend = DockerBackend::connect(DockerConfig {
        system_nodes: SystemNodes::Profile,
        ..DockerConfig::default()
    })
    .await
    .unwrap_or_else(|e| {
        panic!("Docker is unreachable: start dockerd, see .ci/setup-machine ({e})")
    });
    let docker_node = NodeImage::Build(images_dir().join("docker-node"));
    backend
        .ensure_image(&docker_node, &ProgressSender::discard())
        .await
        .unwrap_or_else(|e| panic!("building content/images/docker-node: {e}"));
    let kubeadm_dir = images_dir().join("kubeadm-node");
    docker_cli(&[
        "build",
        "-q",
        "--target",
        "node",
        "-t",
        KUBEADM_NODE,
        kubeadm_dir.to_str().unwrap(),
    ]);

    let plain = one_node(NodeSpec::new("node01", NodeImage::Reference(BASE.into())));
    // Warm caches (image metadata, the engine's code paths).
    ready_times(&backend, &plain, &[]).await;
    let plain_ready = median_ready(&backend, &plain, &[]).await[0];

    let docker_lesson = one_node(system_node(docker_node));
    let docker_ready = median_ready(
        &backend,
        &docker_lesson,
        &[SYSTEMD_BOOTED, "playlab-docker-wait"],
    )
    .await;
    let kubeadm_lesson = one_node(system_node(NodeImage::Reference(KUBEADM_NODE.into())));
    let kubeadm_ready = median_ready(
        &backend,
        &kubeadm_lesson,
        &[SYSTEMD_BOOTED, CONTAINERD_ANSWERS],
    )
    .await;

    let host_run = median(
        (0..RUN_ROUNDS)
            .map(|_| docker_cli(&["run", "--rm", BASE, "true"]))
            .collect(),
    );
    let session = SessionId::random();
    backend
        .start(&session, &docker_lesson, ProgressSender::discard())
        .await
        .expect("start");
    exec_ok(&backend, &session, "playlab-docker-wait").await;
    // One warm-up run, as on the host (whose engine has run the image many times).
    exec_ok(
        &backend,
        &session,
        "docker run --rm debian:bookworm-slim true",
    )
    .await;
    let mut node_runs = Vec::new();
    for _ in 0..RUN_ROUNDS {
        let started = Instant::now();
        exec_ok(
            &backend,
            &session,
            "docker run --rm debian:bookworm-slim true",
        )
        .await;
        node_runs.push(started.elapsed());
    }
    let node_run = median(node_runs);
    // The exec's own round trip, to tell the nested engine's cost from playlab's.
    let mut execs = Vec::new();
    for _ in 0..RUN_ROUNDS {
        let started = Instant::now();
        exec_ok(&backend, &session, "true").await;
        execs.push(started.elapsed());
    }
    let exec = median(execs);
    backend.destroy(&session).await.expect("destroy");

    header();
    row("plain node: start (ready for exec)", plain_ready);
    row("docker-node: start", docker_ready[0]);
    row("docker-node: systemd booted", docker_ready[1]);
    row(
        "docker-node: Docker answers, seed imported",
        docker_ready[2],
    );
    row("kubeadm-node (Debian part): start", kubeadm_ready[0]);
    row("kubeadm-node: systemd booted", kubeadm_ready[1]);
    row("kubeadm-node: containerd answers", kubeadm_ready[2]);
    row("host: docker run --rm … true", host_run);
    row("node: docker run --rm … true (through exec)", node_run);
    row("node: exec \"true\" round trip", exec);
    println!();
    let over = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    ratio(
        "docker-node ready / plain node ready",
        over(docker_ready[2], plain_ready),
        None,
    );
    ratio(
        "kubeadm-node ready / plain node ready",
        over(kubeadm_ready[2], plain_ready),
        None,
    );
    ratio(
        "docker run in node / on host",
        over(node_run, host_run),
        None,
    );
    ratio(
        "same, without the exec round trip",
        over(node_run.saturating_sub(exec), host_run),
        None,
    );
}
