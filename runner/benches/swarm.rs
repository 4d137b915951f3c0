//! The swarm backend against the Docker backend, in one run on this machine: a real
//! three-host swarm (`tests/support/swarm-pool.sh`, removed at the end) beside the
//! outer Docker engine.
//!
//! Run with `cargo bench -p runner --bench swarm` (needs what the swarm test needs:
//! dockerd, `debian:bookworm-slim`). Prints:
//! - 2-node environment ready time (median of rounds), swarm vs docker;
//! - `Backend::exec("true")` round trip, and terminal keystroke echo p50/p99 and output
//!   throughput, to a node on a remote host (a worker's engine over TCP) vs a node on
//!   the local engine (Unix socket);
//! - 50 one-node sessions started at once over the three hosts: time, failures, how
//!   many on each host, and what is left on any host after destroying them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bollard::query_parameters::ListContainersOptions;
use futures::StreamExt;
use futures::future::join_all;
use runner::docker::{DockerBackend, DockerConfig, LABEL_SESSION, SwarmBackend};
use runner::{Backend, ExecRequest, ProgressSender, SessionId, TermSize, Terminal};
use tokio::io::AsyncWriteExt;

mod common;
use common::{IMAGE, header, lesson, median, row};

#[path = "../tests/support/pool.rs"]
mod pool;
use pool::Pool;

const START_ROUNDS: usize = 5;
const EXEC_ROUNDS: usize = 30;
const KEYSTROKES: usize = 200;
const OUTPUT_BYTES: usize = 32 * 1024 * 1024;
const CROWD: usize = 50;

fn session() -> SessionId {
    format!("plbench{}", SessionId::random()).parse().unwrap()
}

async fn ready_time(backend: &dyn Backend, nodes: usize) -> Duration {
    let lesson = lesson(nodes);
    let mut times = Vec::new();
    for _ in 0..START_ROUNDS {
        let session = session();
        let started = Instant::now();
        backend
            .start(&session, &lesson, ProgressSender::discard())
            .await
            .expect("start");
        times.push(started.elapsed());
        backend.destroy(&session).await.expect("destroy");
    }
    median(times)
}

struct NodeTimes {
    exec: Duration,
    echo_p50: Duration,
    echo_p99: Duration,
    mib_per_s: f64,
}

/// Exec, echo and throughput on node01 of a started session.
async fn node_times(backend: &dyn Backend, session: &SessionId) -> NodeTimes {
    let mut execs = Vec::new();
    for _ in 0..EXEC_ROUNDS {
        let started = Instant::now();
        let out = backend
            .exec(
                session,
                "node01",
                ExecRequest::new("true", Duration::from_secs(10)),
            )
            .await
            .expect("exec");
        execs.push(started.elapsed());
        assert!(out.success());
    }
    let mut terminal = backend
        .attach(session, "node01", TermSize::default())
        .await
        .expect("attach");
    type_line(&mut terminal, "stty -echo; echo ready-$((6*7)); stty echo").await;
    read_until(&mut terminal, b"ready-42").await;
    let mut echoes = Vec::new();
    for i in 0..KEYSTROKES {
        let key = [b'a' + (i % 26) as u8];
        let started = Instant::now();
        terminal.input.write_all(&key).await.unwrap();
        terminal.input.flush().await.unwrap();
        read_until(&mut terminal, &key).await;
        echoes.push(started.elapsed());
    }
    // Ctrl-U: drop the typed line before the throughput command.
    terminal.input.write_all(&[0x15]).await.unwrap();
    echoes.sort();
    let p = |q: f64| echoes[((echoes.len() as f64 * q) as usize).min(echoes.len() - 1)];
    let command =
        format!("head -c {OUTPUT_BYTES} /dev/zero | tr '\\0' x; echo; echo done-$((1+1))");
    type_line(&mut terminal, &command).await;
    let started = Instant::now();
    let seen = read_until(&mut terminal, b"done-2").await;
    let elapsed = started.elapsed();
    assert!(seen >= OUTPUT_BYTES, "read {seen} bytes");
    NodeTimes {
        exec: median(execs),
        echo_p50: p(0.5),
        echo_p99: p(0.99),
        mib_per_s: OUTPUT_BYTES as f64 / (1024.0 * 1024.0) / elapsed.as_secs_f64(),
    }
}

async fn type_line(terminal: &mut Terminal, line: &str) {
    terminal.input.write_all(line.as_bytes()).await.unwrap();
    terminal.input.write_all(b"\n").await.unwrap();
    terminal.input.flush().await.unwrap();
}

/// Reads until `needle` appears; returns how many bytes that took.
async fn read_until(terminal: &mut Terminal, needle: &[u8]) -> usize {
    let mut window: Vec<u8> = Vec::new();
    let mut total = 0;
    let found = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(chunk) = terminal.output.next().await {
            let chunk = chunk.unwrap();
            total += chunk.len();
            window.extend_from_slice(&chunk);
            if window.windows(needle.len()).any(|w| w == needle) {
                return true;
            }
            let keep = window.len().saturating_sub(needle.len());
            window.drain(..keep);
        }
        false
    })
    .await;
    assert_eq!(
        found,
        Ok(true),
        "waiting for {:?}",
        String::from_utf8_lossy(needle)
    );
    total
}

/// A one-node session of the swarm whose node runs on a worker (not the manager,
/// whose engine playlab already talks to): the remote case.
async fn session_on_a_worker(swarm: &SwarmBackend) -> (SessionId, Vec<SessionId>) {
    let mut others = Vec::new();
    loop {
        let session = session();
        swarm
            .start(&session, &lesson(1), ProgressSender::discard())
            .await
            .expect("start");
        let placement = swarm.placement(&session).await.unwrap();
        if !placement[0].1.name.ends_with("-host1") {
            return (session, others);
        }
        others.push(session);
    }
}

#[tokio::main]
async fn main() {
    let docker = DockerBackend::connect(DockerConfig::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pool = Pool::up().await;
    pool.load_into_manager(IMAGE);
    let owner = format!("bench{}", &SessionId::random().to_string()[..8]);
    let swarm = pool.backend(&owner, false).await;
    // Warm: the first swarm start pushes the image and every host pulls it.
    let warm: Vec<SessionId> = (0..3).map(|_| session()).collect();
    for s in &warm {
        swarm
            .start(s, &lesson(2), ProgressSender::discard())
            .await
            .expect("warm");
    }
    join_all(warm.iter().map(|s| swarm.destroy(s))).await;
    ready_time(&docker, 2).await;

    let docker_ready = ready_time(&docker, 2).await;
    let swarm_ready = ready_time(&swarm, 2).await;

    let local = session();
    docker
        .start(&local, &lesson(1), ProgressSender::discard())
        .await
        .expect("start");
    let local_times = node_times(&docker, &local).await;
    docker.destroy(&local).await.unwrap();
    let (remote, others) = session_on_a_worker(&swarm).await;
    let remote_times = node_times(&swarm, &remote).await;
    join_all(others.iter().chain([&remote]).map(|s| swarm.destroy(s))).await;

    let crowd: Vec<SessionId> = (0..CROWD).map(|_| session()).collect();
    let one = lesson(1);
    let started = Instant::now();
    let results = join_all(
        crowd
            .iter()
            .map(|s| swarm.start(s, &one, ProgressSender::discard())),
    )
    .await;
    let crowd_time = started.elapsed();
    let failures = results.iter().filter(|r| r.is_err()).count();
    let mut per_host: BTreeMap<String, usize> = BTreeMap::new();
    for s in &crowd {
        for (_, host) in swarm.placement(s).await.unwrap_or_default() {
            *per_host.entry(host.name).or_default() += 1;
        }
    }
    let destroying = Instant::now();
    join_all(crowd.iter().map(|s| swarm.destroy(s))).await;
    let crowd_destroy = destroying.elapsed();
    let mut left = 0;
    tokio::time::sleep(Duration::from_secs(5)).await;
    for host in swarm.hosts().await.unwrap() {
        left += host
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some([("label".to_owned(), vec![LABEL_SESSION.to_owned()])].into()),
                ..Default::default()
            }))
            .await
            .unwrap()
            .len();
    }
    left += swarm.environments().await.unwrap().len();

    header();
    row("2-node ready, docker backend", docker_ready);
    row("2-node ready, swarm backend", swarm_ready);
    row("exec true, local engine", local_times.exec);
    row("exec true, remote host's engine", remote_times.exec);
    row("echo p50, local engine", local_times.echo_p50);
    row("echo p50, remote host's engine", remote_times.echo_p50);
    row("echo p99, local engine", local_times.echo_p99);
    row("echo p99, remote host's engine", remote_times.echo_p99);
    row("50 sessions at once over 3 hosts", crowd_time);
    row("destroying those 50", crowd_destroy);
    println!();
    println!(
        "swarm/docker ready: {:.2}x; exec remote/local: {:.2}x",
        swarm_ready.as_secs_f64() / docker_ready.as_secs_f64(),
        remote_times.exec.as_secs_f64() / local_times.exec.as_secs_f64()
    );
    println!(
        "terminal output: local {:.0} MiB/s, remote {:.0} MiB/s ({:.2}x)",
        local_times.mib_per_s,
        remote_times.mib_per_s,
        remote_times.mib_per_s / local_times.mib_per_s
    );
    println!("50 sessions: {failures} failed, per host {per_host:?}, {left} left behind");
}
