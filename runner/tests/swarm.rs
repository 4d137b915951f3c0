//! The swarm backend against a real swarm: three Docker engines in containers on this
//! machine, joined into one pool, with a Distribution registry beside them
//! (`tests/support/swarm-pool.sh`). The pool is made at the start and removed at the
//! end, pass or fail; the test checks that no service, network or container of its
//! sessions is left on any host.
//!
//! One test function, because the pool takes seconds to make and every part of the
//! test needs all of it; each part is its own async function.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use bollard::query_parameters::{ListContainersOptions, ListServicesOptions};
use futures::future::join_all;
use runner::docker::{
    ClientFiles, DockerBackend, DockerConfig, EngineAddress, LABEL_SESSION, PoolCertificates,
    SwarmBackend, SystemNodes,
};
use runner::{Backend, ProgressSender, SessionId, TermSize};
use scenarios::NodeImage;

mod common;
use common::*;

mod support {
    pub mod pool;
}
use support::pool::Pool;

#[tokio::test]
async fn environments_spread_over_a_three_host_swarm_and_leave_nothing_behind() {
    let mut pool = Pool::up().await;
    let image = node_image().await;
    let reference = backend()
        .await
        .ensure_image(&image, &ProgressSender::discard())
        .await
        .unwrap();
    pool.load_into_manager(&reference);
    let systemd_image = NodeImage::Build(fixture("systemd-node"));
    let systemd_reference = backend()
        .await
        .ensure_image(&systemd_image, &ProgressSender::discard())
        .await
        .unwrap();
    pool.load_into_manager(&systemd_reference);
    // Everything below talks TLS with client certificates to every engine.
    let files = pool.secure();
    only_the_pools_clients_reach_an_engine(&pool, &files).await;
    let owner = format!("swarmtest{}", &SessionId::random().to_string()[..8]);
    let swarm = pool.backend(&owner, false).await;

    let split = two_nodes_on_two_hosts_work_as_on_one(&pool, &swarm, &image).await;
    twenty_sessions_spread_over_the_three_hosts(&swarm, &image).await;
    keep_together_puts_a_sessions_nodes_on_one_host(&pool.backend(&owner, true).await, &image)
        .await;
    a_restarted_server_finds_its_sessions_again(&swarm, &pool.backend(&owner, false).await, &image)
        .await;
    a_paused_host_takes_no_new_sessions_and_keeps_its_own(&pool, &swarm, &image).await;
    a_drained_host_s_sessions_are_reported_lost(&pool, &swarm, &image).await;
    a_host_whose_engine_stops_loses_only_its_sessions(&pool, &swarm, &image).await;
    orphans_are_the_sessions_no_live_server_stands_for(&pool, &image).await;
    a_node_bigger_than_any_host_finds_no_room(&pool, &owner, &image).await;
    a_systemd_node_boots_and_a_system_node_is_refused(&pool, &owner, &systemd_image).await;
    let removed = swarm
        .reconcile(&Default::default())
        .await
        .expect("reconcile");
    assert_eq!(
        removed,
        Vec::<SessionId>::new(),
        "every part destroyed its own"
    );
    nothing_left(&swarm, &split).await;
}

/// A two-node lesson whose nodes Swarm spreads over two hosts: pull progress reaches
/// the learner, names resolve across the overlay, ping and files work, setup scripts ran, a check fails then passes, a
/// terminal round-trips and resizes; destroying it leaves nothing on any host.
async fn two_nodes_on_two_hosts_work_as_on_one(
    pool: &Pool,
    swarm: &SwarmBackend,
    image: &scenarios::NodeImage,
) -> SessionId {
    let session = new_session();
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("hello"), "from the lesson\n").unwrap();
    let mut lesson = lesson(vec![node("node01", image), node("node02", image)]);
    lesson.assets = vec![scenarios::Asset {
        node: "node02".to_owned(),
        from: files.path().join("hello"),
        to: "/root/hello".to_owned(),
        mode: 0o644,
    }];
    lesson.setup = vec![script("node02", "hostname > /root/setup-ran")];
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let info = swarm
        .start(&session, &lesson, ProgressSender::new(tx))
        .await
        .unwrap_or_else(|e| panic!("starting on the swarm: {e}"));
    eprintln!(
        "two-node session ready on the swarm in {:?}",
        started.elapsed()
    );
    // The first start on this pool: a worker pulls the image from the registry, and the
    // learner sees its layers as on Docker.
    let mut pulls = 0;
    while let Ok(progress) = rx.try_recv() {
        if let runner::Progress::Pull { image, .. } = progress {
            assert!(image.starts_with(pool.get("SWARM_REGISTRY")), "{image}");
            pulls += 1;
        }
    }
    assert!(pulls > 0, "no pull progress from the hosts");
    assert!(info.nodes.iter().all(|n| n.address.is_some()), "{info:?}");

    let placement = swarm.placement(&session).await.unwrap();
    let hosts: Vec<&str> = placement.iter().map(|(_, h)| h.name.as_str()).collect();
    assert_eq!(placement.len(), 2, "{hosts:?}");
    assert_ne!(
        hosts[0], hosts[1],
        "Swarm spreads a session's two nodes over two hosts"
    );
    let mut both: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
    both.sort();
    let placed = swarm.hosts_report().await.unwrap().hosts;
    assert!(placed.contains(&(session.clone(), both)), "{placed:?}");

    let across = sh(
        swarm,
        &session,
        "node01",
        "getent hosts node02 && ping -c1 -W5 node02",
    )
    .await;
    assert!(
        across.success(),
        "node01 reaches node02 by name: {across:?}"
    );
    let node02 = &info.nodes[1].address.clone().unwrap();
    assert!(
        across.stdout.starts_with(node02.as_str()),
        "{across:?} vs {node02}"
    );
    let files = sh(swarm, &session, "node02", "cat /root/hello /root/setup-ran").await;
    assert_eq!(files.stdout, "from the lesson\nnode02\n");

    let check = "test -f /root/done";
    assert!(
        !sh(swarm, &session, "node01", check).await.success(),
        "fails first"
    );
    sh(swarm, &session, "node01", "touch /root/done").await;
    assert!(
        sh(swarm, &session, "node01", check).await.success(),
        "then passes"
    );

    let mut terminal = swarm
        .attach(&session, "node02", TermSize::default())
        .await
        .unwrap();
    type_line(&mut terminal, "echo on-$(hostname) size=$(stty size)").await;
    read_until(&mut terminal, b"on-node02 size=24 80").await;
    terminal
        .control
        .resize(TermSize {
            cols: 100,
            rows: 30,
        })
        .await
        .unwrap();
    type_line(&mut terminal, "stty size").await;
    read_until(&mut terminal, b"30 100").await;
    drop(terminal);

    assert!(swarm.environments().await.unwrap().contains(&session));
    swarm.destroy(&session).await.unwrap();
    assert!(
        matches!(
            swarm
                .exec(
                    &session,
                    "node01",
                    runner::ExecRequest::new("true", TIMEOUT)
                )
                .await,
            Err(runner::RunnerError::NoEnvironment(_))
        ),
        "a destroyed environment is gone"
    );
    session
}

/// Twenty one-node sessions started at once land on all three hosts.
async fn twenty_sessions_spread_over_the_three_hosts(
    swarm: &SwarmBackend,
    image: &scenarios::NodeImage,
) {
    let sessions: Vec<SessionId> = (0..20).map(|_| new_session()).collect();
    let lesson = lesson(vec![node("node01", image)]);
    let started = Instant::now();
    let results = join_all(
        sessions
            .iter()
            .map(|s| swarm.start(s, &lesson, ProgressSender::discard())),
    )
    .await;
    let failures: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    let elapsed = started.elapsed();
    let mut per_host: BTreeMap<String, usize> = BTreeMap::new();
    for session in &sessions {
        for (_, host) in swarm.placement(session).await.unwrap() {
            *per_host.entry(host.name).or_default() += 1;
        }
    }
    eprintln!("20 sessions on the swarm in {elapsed:?}: {per_host:?}, failures: {failures:?}");
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(per_host.values().sum::<usize>(), 20, "{per_host:?}");
    assert_eq!(per_host.len(), 3, "every host takes some: {per_host:?}");
    let destroyed = join_all(sessions.iter().map(|s| swarm.destroy(s))).await;
    assert!(destroyed.iter().all(Result::is_ok), "{destroyed:?}");
}

/// With `keep_together`, both nodes of a session run on the host of the first.
async fn keep_together_puts_a_sessions_nodes_on_one_host(
    swarm: &SwarmBackend,
    image: &scenarios::NodeImage,
) {
    let session = new_session();
    let lesson = lesson(vec![node("node01", image), node("node02", image)]);
    swarm
        .start(&session, &lesson, ProgressSender::discard())
        .await
        .unwrap();
    let placement = swarm.placement(&session).await.unwrap();
    let result = sh(swarm, &session, "node02", "getent hosts node01").await;
    swarm.destroy(&session).await.unwrap();
    assert_eq!(placement.len(), 2);
    assert_eq!(placement[0].1.name, placement[1].1.name, "together");
    assert!(result.success(), "{result:?}");
}

/// The engines accept playlab's certificate, and refuse a client without one or with
/// a certificate of another CA.
async fn only_the_pools_clients_reach_an_engine(pool: &Pool, files: &ClientFiles) {
    let secure = EngineAddress::parse(&pool.manager_api()).unwrap();
    let ping = |engine: EngineAddress| async move {
        let config = DockerConfig {
            engine,
            ..DockerConfig::default()
        };
        DockerBackend::connect(config).await.map(|_| ())
    };
    assert!(ping(secure.clone().with_tls(files.clone())).await.is_ok());
    assert!(
        ping(secure.clone()).await.is_err(),
        "plain HTTP to the TLS port"
    );
    let strangers = tempfile::tempdir().unwrap();
    PoolCertificates::issue(&pool.hosts())
        .unwrap()
        .write(strangers.path())
        .unwrap();
    let stranger = ping(secure.with_tls(ClientFiles(strangers.path().to_owned()))).await;
    assert!(stranger.is_err(), "a certificate of another CA");
    let plain = EngineAddress::parse(pool.get("SWARM_MANAGER_API")).unwrap();
    assert!(ping(plain).await.is_err(), "no plain TCP port left");
}

fn new_session() -> SessionId {
    format!("plsw{}", SessionId::random()).parse().unwrap()
}

/// Starts one-node sessions, all at once.
async fn one_node_sessions(
    swarm: &SwarmBackend,
    image: &scenarios::NodeImage,
    count: usize,
) -> Vec<SessionId> {
    let sessions: Vec<SessionId> = (0..count).map(|_| new_session()).collect();
    let lesson = lesson(vec![node("node01", image)]);
    for started in join_all(
        sessions
            .iter()
            .map(|s| swarm.start(s, &lesson, ProgressSender::discard())),
    )
    .await
    {
        started.unwrap_or_else(|e| panic!("starting a one-node session: {e}"));
    }
    sessions
}

/// The host each one-node session runs on.
async fn hosts_of(swarm: &SwarmBackend, sessions: &[SessionId]) -> Vec<String> {
    let mut hosts = Vec::new();
    for session in sessions {
        let placement = swarm.placement(session).await.unwrap();
        hosts.push(placement[0].1.name.clone());
    }
    hosts
}

async fn destroy_all(swarm: &SwarmBackend, sessions: &[SessionId]) {
    for destroyed in join_all(sessions.iter().map(|s| swarm.destroy(s))).await {
        destroyed.unwrap();
    }
}

/// `docker node update --availability AVAILABILITY HOST` on the manager.
fn set_availability(pool: &Pool, host: &str, availability: &str) {
    // Through the manager's own socket: its TCP port speaks TLS by now.
    let status = Command::new("docker")
        .args([
            "exec",
            pool.get("SWARM_HOST1_NAME"),
            "docker",
            "node",
            "update",
        ])
        .args(["--availability", availability, host])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "docker node update --availability {availability} {host}"
    );
}

/// A second backend over the same swarm, as a restarted server makes (nothing cached),
/// sees the session, reaches its nodes, and keeps it when it is live.
async fn a_restarted_server_finds_its_sessions_again(
    swarm: &SwarmBackend,
    restarted: &SwarmBackend,
    image: &scenarios::NodeImage,
) {
    let sessions = one_node_sessions(swarm, image, 1).await;
    sh(swarm, &sessions[0], "node01", "echo kept > /root/kept").await;
    assert!(
        restarted
            .environments()
            .await
            .unwrap()
            .contains(&sessions[0])
    );
    let live = sessions.iter().cloned().collect();
    assert_eq!(
        restarted.reconcile(&live).await.unwrap(),
        Vec::<SessionId>::new()
    );
    assert_eq!(
        sh(restarted, &sessions[0], "node01", "cat /root/kept")
            .await
            .stdout,
        "kept\n"
    );
    destroy_all(swarm, &sessions).await;
}

/// `--availability pause`: Swarm places nothing new on the host and leaves what runs
/// there alone, which is what an operator taking a host out of a training day wants.
async fn a_paused_host_takes_no_new_sessions_and_keeps_its_own(
    pool: &Pool,
    swarm: &SwarmBackend,
    image: &scenarios::NodeImage,
) {
    let before = one_node_sessions(swarm, image, 3).await;
    let paused = hosts_of(swarm, &before).await[0].clone();
    set_availability(pool, &paused, "pause");
    let after = one_node_sessions(swarm, image, 4).await;
    let hosts = hosts_of(swarm, &after).await;
    set_availability(pool, &paused, "active");
    assert!(
        !hosts.contains(&paused),
        "nothing new on {paused}: {hosts:?}"
    );
    assert_eq!(
        sh(swarm, &before[0], "node01", "hostname").await.stdout,
        "node01\n"
    );
    assert_eq!(swarm.hosts_report().await.unwrap().lost, []);
    destroy_all(swarm, &[before, after].concat()).await;
}

/// `--availability drain`: Swarm stops every task of the host (and starts none
/// elsewhere: nodes are never restarted); the backend reports exactly those sessions
/// lost, and why.
async fn a_drained_host_s_sessions_are_reported_lost(
    pool: &Pool,
    swarm: &SwarmBackend,
    image: &scenarios::NodeImage,
) {
    let sessions = one_node_sessions(swarm, image, 3).await;
    let hosts = hosts_of(swarm, &sessions).await;
    let drained = hosts[1].clone();
    set_availability(pool, &drained, "drain");
    let on_drained: Vec<SessionId> = sessions
        .iter()
        .zip(&hosts)
        .filter(|(_, h)| **h == drained)
        .map(|(s, _)| s.clone())
        .collect();
    let lost = wait_for_lost(swarm, &on_drained).await;
    set_availability(pool, &drained, "active");
    assert!(
        lost.iter().all(|(_, why)| why.contains("was drained")),
        "{lost:?}"
    );
    destroy_all(swarm, &sessions).await;
}

/// Stopping a worker's engine takes down only the sessions on that host, and says so.
async fn a_host_whose_engine_stops_loses_only_its_sessions(
    pool: &Pool,
    swarm: &SwarmBackend,
    image: &scenarios::NodeImage,
) {
    let sessions = one_node_sessions(swarm, image, 3).await;
    let hosts = hosts_of(swarm, &sessions).await;
    // A worker: stopping the manager's engine would stop the swarm's API.
    let victim = hosts
        .iter()
        .find(|h| !h.ends_with("-host1"))
        .expect("a session on a worker")
        .clone();
    pool.engine(&victim, "stop");
    let on_victim: Vec<SessionId> = sessions
        .iter()
        .zip(&hosts)
        .filter(|(_, h)| **h == victim)
        .map(|(s, _)| s.clone())
        .collect();
    let lost = wait_for_lost(swarm, &on_victim).await;
    let others: Vec<&SessionId> = sessions.iter().filter(|s| !on_victim.contains(s)).collect();
    for other in &others {
        assert!(
            sh(swarm, other, "node01", "true").await.success(),
            "{other} goes on"
        );
    }
    pool.engine(&victim, "start");
    eprintln!("lost with {victim}'s engine: {lost:?}");
    destroy_all(swarm, &sessions).await;
}

/// A server that holds its liveness record on the manager keeps its sessions out of
/// `playlab gc`'s reach; a gone server's sessions (no record) are orphans.
async fn orphans_are_the_sessions_no_live_server_stands_for(
    pool: &Pool,
    image: &scenarios::NodeImage,
) {
    let live = pool
        .backend(
            &format!("live{}", &SessionId::random().to_string()[..8]),
            false,
        )
        .await;
    let gone = pool
        .backend(
            &format!("gone{}", &SessionId::random().to_string()[..8]),
            false,
        )
        .await;
    let record = live
        .hold_liveness()
        .await
        .unwrap()
        .expect("an owner has a record");
    let kept = one_node_sessions(&live, image, 1).await;
    let orphaned = one_node_sessions(&gone, image, 1).await;
    let orphans: Vec<SessionId> = live
        .orphans(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.session)
        .collect();
    destroy_all(&live, &kept).await;
    destroy_all(&gone, &orphaned).await;
    drop(record);
    assert!(orphans.contains(&orphaned[0]), "{orphans:?}");
    assert!(
        !orphans.contains(&kept[0]),
        "a live server's session: {orphans:?}"
    );
}

/// A node that reserves more memory than any host has free: the backend says so
/// before anything starts, and a start anyway fails with Swarm's reason and leaves
/// nothing; an ordinary lesson has room.
async fn a_node_bigger_than_any_host_finds_no_room(
    pool: &Pool,
    owner: &str,
    image: &scenarios::NodeImage,
) {
    let tebibyte = 1 << 40;
    let swarm = pool
        .connect(
            DockerConfig {
                max_memory_bytes: tebibyte,
                ..pool.config(owner)
            },
            false,
        )
        .await;
    let mut huge = node("node01", image);
    huge.memory_bytes = tebibyte;
    let lesson = lesson(vec![huge]);
    let refused = swarm.room_for(&lesson).await;
    assert!(
        matches!(&refused, Err(runner::RunnerError::PoolFull { reason, .. }) if reason.contains("1048576 MiB")),
        "{refused:?}"
    );
    let session = new_session();
    let started = swarm
        .start(&session, &lesson, ProgressSender::discard())
        .await;
    assert!(
        matches!(&started, Err(runner::RunnerError::PoolFull { reason, .. }) if reason.contains("no suitable node")),
        "{started:?}"
    );
    assert!(
        !swarm.environments().await.unwrap().contains(&session),
        "cleaned up"
    );
    assert!(
        swarm
            .room_for(&self::lesson(vec![node("node01", image)]))
            .await
            .is_ok()
    );
}

/// A `systemd: true` node runs systemd as PID 1 as a Swarm service (capabilities and
/// tmpfs, no privileged, no unconfined profiles); a `system: true` node is refused
/// with the reason before anything is created.
async fn a_systemd_node_boots_and_a_system_node_is_refused(
    pool: &Pool,
    owner: &str,
    image: &NodeImage,
) {
    // An operator who allows system nodes: the swarm backend still refuses them.
    let config = DockerConfig {
        system_nodes: SystemNodes::Profile,
        ..pool.config(owner)
    };
    let swarm = &pool.connect(config, false).await;
    let session = new_session();
    let mut systemd = node("node01", image);
    systemd.systemd = true;
    swarm
        .start(&session, &lesson(vec![systemd]), ProgressSender::discard())
        .await
        .unwrap_or_else(|e| panic!("a systemd node on the swarm: {e}"));
    let boot = sh(
        swarm,
        &session,
        "node01",
        "cat /proc/1/comm; systemctl is-system-running --wait; findmnt -no FSTYPE /run",
    )
    .await;
    swarm.destroy(&session).await.unwrap();
    let lines: Vec<&str> = boot.stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"systemd"), "{boot:?}");
    assert!(
        matches!(lines.get(1), Some(&"running") | Some(&"degraded")),
        "{boot:?}"
    );
    assert_eq!(lines.get(2), Some(&"tmpfs"), "{boot:?}");

    let mut system = node("node01", image);
    system.systemd = true;
    system.system = true;
    let refused = swarm
        .start(
            &new_session(),
            &lesson(vec![system]),
            ProgressSender::discard(),
        )
        .await;
    assert!(
        matches!(refused, Err(runner::RunnerError::NotOnSwarm { .. })),
        "{refused:?}"
    );
}

/// Waits until the backend reports exactly `expected` lost; returns the reports.
async fn wait_for_lost(swarm: &SwarmBackend, expected: &[SessionId]) -> Vec<(SessionId, String)> {
    assert!(!expected.is_empty());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let lost = swarm.hosts_report().await.unwrap().lost;
        let mut sessions: Vec<SessionId> = lost.iter().map(|(s, _)| s.clone()).collect();
        sessions.sort();
        let mut want = expected.to_vec();
        want.sort();
        if sessions == want {
            return lost;
        }
        assert!(
            Instant::now() < deadline,
            "expected {want:?} lost, the backend reports {lost:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// No service or network of `session` on the manager, and no container of any
/// playlab session on any host (Swarm removes a deleted service's containers
/// asynchronously, so this waits a little for them).
async fn nothing_left(swarm: &SwarmBackend, session: &SessionId) {
    let services = swarm
        .manager()
        .list_services(Some(ListServicesOptions {
            filters: Some([("label".to_owned(), vec![LABEL_SESSION.to_owned()])].into()),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert!(services.is_empty(), "services left: {services:?}");
    assert!(!swarm.environments().await.unwrap().contains(session));
    let deadline = Instant::now() + Duration::from_secs(30);
    for host in swarm.hosts().await.unwrap() {
        loop {
            let left = host
                .docker
                .list_containers(Some(ListContainersOptions {
                    all: true,
                    filters: Some([("label".to_owned(), vec![LABEL_SESSION.to_owned()])].into()),
                    ..Default::default()
                }))
                .await
                .unwrap();
            if left.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "containers left on {}: {:?}",
                host.name,
                left.iter().map(|c| &c.names).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
