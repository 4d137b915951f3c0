//! The Docker backend against the real Docker engine.
//!
//! Needs a running `dockerd` and the locally seeded `debian:bookworm-slim` image
//! (`.ci/setup-machine` does both); without them every test fails saying so. Nodes use
//! an image built from `docker_fixtures/node-image` (Debian plus ip, ping, ps) through
//! the backend's own `build:` path, once per test run.
//!
//! Traffic goes only between the tests' own containers; egress is proven from the
//! network's configuration and the routing table, never by contacting anything.
//! Every session id starts with `pltest`, and every test removes its environment even
//! when it fails (see [`Session`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use runner::docker::{
    DockerBackend, DockerConfig, EngineAddress, LABEL_OWNER, LABEL_SESSION, container_name,
    network_name,
};
use runner::{
    Backend, EXEC_OUTPUT_LIMIT, ExecRequest, Progress, ProgressSender, RunnerError, SessionId,
    TermSize, Terminal,
};
use scenarios::{Asset, Lesson, NodeImage, Script};

mod common;
use common::*;

#[tokio::test]
async fn three_nodes_start_resolve_each_other_and_destroy_completely() {
    let backend = backend().await;
    let image = node_image().await;
    let session = Session::new();
    let lesson = lesson(vec![
        node("controlplane", &image),
        node("node01", &image),
        node("node02", &image),
    ]);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let info = backend
        .start(&session, &lesson, ProgressSender::new(tx))
        .await
        .unwrap();
    let names: Vec<&str> = info.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["controlplane", "node01", "node02"]);
    assert!(info.nodes.iter().all(|n| n.address.is_some()), "{info:?}");

    let mut ready = Vec::new();
    while let Ok(p) = rx.try_recv() {
        if let Progress::Node { node, status } = p
            && status == "ready"
        {
            ready.push(node);
        }
    }
    assert_eq!(ready.len(), 3, "every node reports ready");

    for (from, to) in [
        ("controlplane", "node01"),
        ("node01", "node02"),
        ("node02", "controlplane"),
    ] {
        let out = sh(
            &backend,
            &session,
            from,
            &format!("hostname; getent hosts {to}"),
        )
        .await;
        assert!(out.success(), "{out:?}");
        let address = info
            .nodes
            .iter()
            .find(|n| n.name == to)
            .unwrap()
            .address
            .clone()
            .unwrap();
        assert_eq!(
            out.stdout.lines().next(),
            Some(from),
            "hostname is the node name"
        );
        assert!(
            out.stdout.contains(&address),
            "{to} resolves to {address}: {out:?}"
        );
        let ping = sh(&backend, &session, from, &format!("ping -c1 -W2 {to}")).await;
        assert!(ping.success(), "{from} pings {to}: {ping:?}");
    }

    assert_eq!(
        labelled(&backend, &session).await.len(),
        4,
        "3 containers + 1 network"
    );
    backend.destroy(&session).await.unwrap();
    assert_eq!(labelled(&backend, &session).await, Vec::<String>::new());
    backend
        .destroy(&session)
        .await
        .expect("destroy is idempotent");
    match backend
        .exec(&session, "node01", ExecRequest::new("true", TIMEOUT))
        .await
    {
        Err(RunnerError::NoEnvironment(s)) => assert_eq!(s, *session),
        other => panic!("expected NoEnvironment, got {other:?}"),
    }
}

/// `internet: false` must leave no way out. Docker 25 and later give containers on an
/// internal network no default route at all; Docker 20.10 (Debian's) still installs
/// one and drops the traffic in the host's `DOCKER-ISOLATION-STAGE-1` chain instead.
/// Both are checked without sending a packet: the route table inside the node, and the
/// host's firewall rules for the session's bridge.
#[tokio::test]
async fn internet_false_means_an_internal_network_without_egress() {
    let backend = backend().await;
    let image = node_image().await;
    let engine = backend
        .docker()
        .version()
        .await
        .unwrap()
        .version
        .unwrap_or_default();
    let engine_major: u32 = engine
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    for internet in [false, true] {
        let session = Session::new();
        let mut lesson = lesson(vec![node("node01", &image)]);
        lesson.environment.internet = internet;
        backend
            .start(&session, &lesson, ProgressSender::discard())
            .await
            .unwrap();
        let network = backend
            .docker()
            .inspect_network(&network_name(&session), None)
            .await
            .unwrap();
        assert_eq!(network.internal, Some(!internet), "internet: {internet}");

        let bridge = format!("br-{}", &network.id.as_deref().unwrap()[..12]);
        let subnet = network
            .ipam
            .and_then(|i| i.config)
            .and_then(|c| c.into_iter().next())
            .and_then(|c| c.subnet)
            .unwrap();
        let drop_egress = format!("-A DOCKER-ISOLATION-STAGE-1 ! -d {subnet} -i {bridge} -j DROP");
        let rules = std::process::Command::new("iptables")
            .args(["-S", "DOCKER-ISOLATION-STAGE-1"])
            .output()
            .expect("iptables must be runnable: these tests run as root on the Docker host");
        let rules = String::from_utf8_lossy(&rules.stdout);
        assert_eq!(
            rules.lines().any(|l| l == drop_egress),
            !internet,
            "internet: {internet}: looking for {drop_egress:?} in\n{rules}"
        );

        let routes = sh(&backend, &session, "node01", "ip route").await;
        assert!(routes.success(), "{routes:?}");
        let default_route = routes.stdout.lines().any(|l| l.starts_with("default"));
        if internet || engine_major >= 25 {
            assert_eq!(
                default_route, internet,
                "engine {engine}, internet: {internet}, routes:\n{}",
                routes.stdout
            );
        }
    }
}

/// The web ports' premise: the host connects to a node on its session's `internal`
/// network at the address `port_address` gives, and that address is the named node's
/// of the named session and nobody else's.
#[tokio::test]
async fn the_host_reaches_a_port_of_a_node_and_only_a_node_of_the_session() {
    let backend = backend().await;
    let image = node_image().await;
    let listen = "setsid perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalPort => 8080, \
        Listen => 5, ReuseAddr => 1) or die; while ($c = $s->accept) { print $c \"node $ENV{NODE}\\n\"; \
        close $c }' >/dev/null 2>&1 </dev/null &";
    let port = std::num::NonZeroU16::new(8080).unwrap();
    let mut addresses = Vec::new();
    let sessions = [
        one_node(&backend, &image).await,
        one_node(&backend, &image).await,
    ];
    for (n, session) in sessions.iter().enumerate() {
        let mut request = ExecRequest::new(listen, TIMEOUT);
        request.env.push(("NODE".into(), format!("of session {n}")));
        let started = backend.exec(session, "node01", request).await.unwrap();
        assert!(started.success(), "{started:?}");
        let address = backend.port_address(session, "node01", port).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let greeting = loop {
            match tokio::net::TcpStream::connect(address).await {
                Ok(mut stream) => {
                    let mut text = String::new();
                    tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut text)
                        .await
                        .unwrap();
                    break text;
                }
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("the host cannot reach {address} on an internal network: {e}"),
            }
        };
        assert_eq!(greeting, format!("node of session {n}\n"));
        addresses.push(address);
    }
    assert_ne!(addresses[0], addresses[1]);
    for node in ["node02", "127.0.0.1", "../node01", ""] {
        let refused = backend.port_address(&sessions[0], node, port).await;
        assert!(
            matches!(refused, Err(RunnerError::NoNode { .. })),
            "{node:?}: {refused:?}"
        );
    }
    let gone = Session::new();
    let refused = backend.port_address(&gone, "node01", port).await;
    assert!(
        matches!(refused, Err(RunnerError::NoEnvironment(_))),
        "{refused:?}"
    );
}

/// Ceilings of an operator's own, unlike the defaults, so the test proves they are the
/// ones applied.
fn ceilings() -> DockerConfig {
    DockerConfig {
        max_memory_bytes: 300 * 1024 * 1024,
        max_cpus: 0.75,
        pids_limit: 321,
        ..DockerConfig::default()
    }
}

#[tokio::test]
async fn the_operators_ceilings_and_labels_are_applied() {
    let config = ceilings();
    let backend = backend_with(config.clone()).await;
    let image = node_image().await;
    let session = Session::new();
    let mut greedy = node("node01", &image);
    greedy.memory_bytes = 64 * 1024 * 1024 * 1024;
    greedy.cpus = 64.0;
    greedy.capabilities = vec!["NET_ADMIN".to_owned()];
    let mut modest = node("node02", &image);
    modest.memory_bytes = 256 * 1024 * 1024;
    modest.cpus = 0.5;
    backend
        .start(
            &session,
            &lesson(vec![greedy, modest]),
            ProgressSender::discard(),
        )
        .await
        .unwrap();

    // Asking for more than the ceiling gets the ceiling; asking for less gets that.
    for (node, memory, nano_cpus) in [
        ("node01", 300 * 1024 * 1024, 750_000_000),
        ("node02", 256 * 1024 * 1024, 500_000_000),
    ] {
        let inspect = backend
            .docker()
            .inspect_container(&container_name(&session, node), None)
            .await
            .unwrap();
        let host = inspect.host_config.unwrap();
        assert_eq!(host.memory, Some(memory), "{node}");
        assert_eq!(
            host.memory_swap,
            Some(memory),
            "{node}: no swap beyond the limit"
        );
        assert_eq!(host.nano_cpus, Some(nano_cpus), "{node}");
        assert_eq!(host.pids_limit, Some(config.pids_limit), "{node}");
        assert_eq!(host.privileged, Some(false), "{node}");
        assert_ne!(host.oom_kill_disable, Some(true), "{node}");
        assert_eq!(host.init, Some(true), "{node}");
        let log = host.log_config.unwrap();
        assert_eq!(log.typ.as_deref(), Some("json-file"));
        assert_eq!(
            log.config.unwrap().get("max-size").map(String::as_str),
            Some("1m")
        );
        let config = inspect.config.unwrap();
        assert_eq!(config.hostname.as_deref(), Some(node));
        let labels = config.labels.unwrap();
        assert_eq!(labels.get("playlab.session"), Some(&session.to_string()));
        assert_eq!(
            labels.get("playlab.lesson").map(String::as_str),
            Some("docker-test")
        );
        assert_eq!(labels.get("playlab.node").map(String::as_str), Some(node));
    }
    // The capability is really there: only NET_ADMIN may add an address.
    let add = "ip addr add 10.254.254.1/32 dev lo";
    assert!(sh(&backend, &session, "node01", add).await.success());
    assert!(!sh(&backend, &session, "node02", add).await.success());
    // The ceilings hold inside the node, as the kernel sees them (cgroup v1 or v2).
    let limits = sh(
        &backend,
        &session,
        "node01",
        "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max
         cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
    )
    .await;
    assert_eq!(
        limits.stdout.lines().collect::<Vec<_>>(),
        ["321", &(300 * 1024 * 1024).to_string()],
        "{limits:?}"
    );
}

/// One row: a script, its environment and standard input, and what it must produce.
struct ExecCase {
    script: &'static str,
    env: &'static [(&'static str, &'static str)],
    stdin: Option<&'static str>,
    exit_code: i64,
    stdout: &'static str,
    stderr: &'static str,
}

const EXEC_CASES: &[ExecCase] = &[
    ExecCase {
        script: "echo hello",
        env: &[],
        stdin: None,
        exit_code: 0,
        stdout: "hello\n",
        stderr: "",
    },
    ExecCase {
        script: "echo oops >&2; exit 3",
        env: &[],
        stdin: None,
        exit_code: 3,
        stdout: "",
        stderr: "oops\n",
    },
    ExecCase {
        script: "echo \"$GREETING, $NAME\"",
        env: &[("GREETING", "hi"), ("NAME", "node")],
        stdin: None,
        exit_code: 0,
        stdout: "hi, node\n",
        stderr: "",
    },
    ExecCase {
        script: "tr a-z A-Z",
        env: &[],
        stdin: Some("from stdin\n"),
        exit_code: 0,
        stdout: "FROM STDIN\n",
        stderr: "",
    },
    ExecCase {
        script: "wc -c",
        env: &[],
        stdin: Some(""),
        exit_code: 0,
        stdout: "0\n",
        stderr: "",
    },
    // bash when the image has it: arrays are not sh.
    ExecCase {
        script: "a=(x y z); echo ${#a[@]} $0",
        env: &[],
        stdin: None,
        exit_code: 0,
        stdout: "3 bash\n",
        stderr: "",
    },
    ExecCase {
        script: "exit 137",
        env: &[],
        stdin: None,
        exit_code: 137,
        stdout: "",
        stderr: "",
    },
];

#[tokio::test]
async fn exec_runs_scripts_with_env_and_stdin() {
    let backend = backend().await;
    let image = node_image().await;
    let session = one_node(&backend, &image).await;
    for case in EXEC_CASES {
        let mut request = ExecRequest::new(case.script, TIMEOUT);
        request.env = case
            .env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        request.stdin = case.stdin.map(|s| bytes::Bytes::from_static(s.as_bytes()));
        let out = backend.exec(&session, "node01", request).await.unwrap();
        assert_eq!(
            (
                out.exit_code,
                out.stdout.as_str(),
                out.stderr.as_str(),
                out.timed_out
            ),
            (Some(case.exit_code), case.stdout, case.stderr, false),
            "{}",
            case.script
        );
    }
    match backend
        .exec(&session, "nosuchnode", ExecRequest::new("true", TIMEOUT))
        .await
    {
        Err(RunnerError::NoNode { node, .. }) => assert_eq!(node, "nosuchnode"),
        other => panic!("expected NoNode, got {other:?}"),
    }
    match backend
        .exec(&session, "../x", ExecRequest::new("true", TIMEOUT))
        .await
    {
        Err(RunnerError::NoNode { .. }) => {}
        other => panic!("expected NoNode, got {other:?}"),
    }
}

#[tokio::test]
async fn exec_timeout_kills_the_script_and_its_children() {
    let backend = backend().await;
    let image = node_image().await;
    let session = one_node(&backend, &image).await;
    let started = Instant::now();
    let out = backend
        .exec(
            &session,
            "node01",
            ExecRequest::new(
                "echo before; sleep 3001 & sleep 3002; echo after",
                Duration::from_secs(1),
            ),
        )
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(out.timed_out, "{out:?}");
    assert_eq!(out.exit_code, None);
    assert_eq!(out.stdout, "before\n", "output up to the kill is kept");
    let ps = sh(&backend, &session, "node01", "ps -eo args").await;
    assert!(
        !ps.stdout.contains("sleep 300"),
        "both sleeps are gone:\n{}",
        ps.stdout
    );
}

#[tokio::test]
async fn exec_output_is_bounded() {
    let backend = backend().await;
    let image = node_image().await;
    let session = one_node(&backend, &image).await;
    let out = sh(
        &backend,
        &session,
        "node01",
        "yes | head -c 1000000; yes e | head -c 10 >&2",
    )
    .await;
    assert!(out.success(), "{:?}", out.exit_code);
    assert!(out.truncated);
    assert_eq!(out.stdout.len(), EXEC_OUTPUT_LIMIT);
    assert_eq!(out.stderr, "e\ne\ne\ne\ne\n");
}

/// A started one-node environment (`node01` on `image`).
async fn one_node(backend: &DockerBackend, image: &NodeImage) -> Session {
    let session = Session::new();
    backend
        .start(
            &session,
            &lesson(vec![node("node01", image)]),
            ProgressSender::discard(),
        )
        .await
        .unwrap();
    session
}

async fn started_terminal(backend: &DockerBackend, session: &SessionId) -> Terminal {
    let mut terminal = backend
        .attach(session, "node01", TermSize::default())
        .await
        .unwrap();
    // Output after this marker comes from commands typed below, not from the prompt.
    type_line(&mut terminal, "echo ready-$((40+2))").await;
    read_until(&mut terminal, b"ready-42").await;
    terminal
}

#[tokio::test]
async fn terminal_round_trip_with_resize_and_exit() {
    let backend = backend().await;
    let image = node_image().await;
    let session = one_node(&backend, &image).await;
    let mut terminal = started_terminal(&backend, &session).await;
    type_line(&mut terminal, "echo shell=$0 term=$TERM size=$(stty size)").await;
    read_until(&mut terminal, b"shell=bash term=xterm-256color size=24 80").await;

    terminal
        .control
        .resize(TermSize {
            cols: 132,
            rows: 43,
        })
        .await
        .unwrap();
    type_line(&mut terminal, "stty size").await;
    read_until(&mut terminal, b"43 132").await;

    assert_eq!(
        terminal.control.exit_code().await.unwrap(),
        None,
        "still running"
    );
    type_line(&mut terminal, "exit 7").await;
    let rest = tokio::time::timeout(TIMEOUT, async {
        while terminal.output.next().await.is_some() {}
    })
    .await;
    assert!(rest.is_ok(), "the output ends when the shell exits");
    assert_eq!(terminal.control.exit_code().await.unwrap(), Some(7));
}

#[tokio::test]
async fn terminal_output_is_raw_even_when_it_looks_like_a_frame_header() {
    let backend = backend().await;
    let image = node_image().await;
    let session = one_node(&backend, &image).await;
    let mut terminal = started_terminal(&backend, &session).await;
    // No echo, and a pause: the printf output arrives as a chunk of its own, starting
    // with 0x01, which is exactly what a multiplexing decoder takes for a header.
    type_line(
        &mut terminal,
        r"stty -echo; sleep 0.5; printf '\x01\x00\x00\x00\x00\x00\x00\x05hello'; sleep 0.5; echo; echo end-$((1+1))",
    )
    .await;
    let seen = read_until(&mut terminal, b"end-2").await;
    let expected = b"\x01\x00\x00\x00\x00\x00\x00\x05hello";
    assert!(
        seen.windows(expected.len()).any(|w| w == expected),
        "raw bytes intact: {seen:?}"
    );
}

#[tokio::test]
async fn terminal_output_is_backpressured_not_buffered() {
    let backend = backend().await;
    let image = node_image().await;
    let session = one_node(&backend, &image).await;
    let mut terminal = started_terminal(&backend, &session).await;
    // 20 MB take well under a second when someone reads them.
    type_line(
        &mut terminal,
        "yes | head -c 20000000; touch /tmp/finished; echo all-$((2+3))",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let blocked = sh(&backend, &session, "node01", "test -e /tmp/finished").await;
    assert_eq!(blocked.exit_code, Some(1), "the shell waits for the reader");
    read_until(&mut terminal, b"all-5").await;
    let done = sh(&backend, &session, "node01", "test -e /tmp/finished").await;
    assert!(done.success(), "and finishes once the output is read");
}

#[tokio::test]
async fn assets_land_with_their_mode_before_setup_runs_in_order() {
    let backend = backend().await;
    let image = node_image().await;
    let session = Session::new();
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("tool.sh"), "#!/bin/sh\necho tool ran\n").unwrap();
    std::fs::write(files.path().join("secret"), "s3cret").unwrap();
    let mut lesson = lesson(vec![node("node01", &image), node("node02", &image)]);
    lesson.assets = vec![
        Asset {
            node: "node01".to_owned(),
            from: files.path().join("tool.sh"),
            to: "/opt/lesson/bin/tool.sh".to_owned(),
            mode: 0o755,
        },
        Asset {
            node: "node01".to_owned(),
            from: files.path().join("secret"),
            to: "/root/secret".to_owned(),
            mode: 0o600,
        },
        Asset {
            node: "node02".to_owned(),
            from: files.path().join("secret"),
            to: "/etc/other".to_owned(),
            mode: 0o644,
        },
    ];
    lesson.setup = vec![
        script("node01", "/opt/lesson/bin/tool.sh > /tmp/order"),
        script("node02", "cat /etc/other"),
        script("node01", "echo second >> /tmp/order"),
        Script {
            node: "node01".to_owned(),
            run: "echo typed by the learner >> /tmp/order".to_owned(),
            foreground: true,
        },
    ];
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    backend
        .start(&session, &lesson, ProgressSender::new(tx))
        .await
        .unwrap();

    let out = sh(
        &backend,
        &session,
        "node01",
        "stat -c '%a %U %n' /opt/lesson/bin/tool.sh /root/secret; cat /tmp/order",
    )
    .await;
    assert_eq!(
        out.stdout,
        "755 root /opt/lesson/bin/tool.sh\n600 root /root/secret\ntool ran\nsecond\n"
    );
    let other = sh(
        &backend,
        &session,
        "node02",
        "stat -c '%a' /etc/other; cat /etc/other; test -e /root/secret",
    )
    .await;
    assert_eq!(other.stdout, "644\ns3cret");
    assert_eq!(other.exit_code, Some(1), "assets go only to their node");

    let mut setup_lines = Vec::new();
    while let Ok(p) = rx.try_recv() {
        if let Progress::Setup { node, line } = p {
            setup_lines.push(format!("{node}: {line}"));
        }
    }
    assert_eq!(setup_lines, ["node02: s3cret"]);
}

#[tokio::test]
async fn a_failing_setup_fails_the_start_and_removes_everything() {
    let backend = backend().await;
    let image = node_image().await;
    let session = Session::new();
    let mut lesson = lesson(vec![node("node01", &image), node("node02", &image)]);
    lesson.setup = vec![
        script("node01", "echo fine"),
        script("node02", "echo about to fail; echo details >&2; exit 3"),
        script("node01", "echo never runs"),
    ];
    match backend
        .start(&session, &lesson, ProgressSender::discard())
        .await
    {
        Err(RunnerError::SetupFailed {
            node,
            exit_code,
            stdout,
            stderr,
            killed_after,
        }) => {
            assert_eq!(node, "node02");
            assert_eq!(exit_code, Some(3));
            assert_eq!(
                (stdout.as_str(), stderr.as_str()),
                ("about to fail\n", "details\n")
            );
            assert_eq!(killed_after, None);
        }
        other => panic!("expected SetupFailed, got {other:?}"),
    }
    assert_eq!(labelled(&backend, &session).await, Vec::<String>::new());
}

#[tokio::test]
async fn bad_lessons_are_refused_before_anything_is_created() {
    let backend = backend().await;
    let session = Session::new();
    let missing = NodeImage::Reference("127.0.0.1:9/playlab-test/missing:never".to_owned());
    let cases: Vec<(Lesson, &str)> = vec![
        (lesson(vec![]), "has no nodes"),
        (lesson(vec![node("Bad_Name", &missing)]), "not a DNS label"),
        // A registry on a closed loopback port: the pull fails without leaving the machine.
        (lesson(vec![node("node01", &missing)]), "is unavailable"),
        (
            lesson(vec![node(
                "node01",
                &NodeImage::Build(fixture("does-not-exist")),
            )]),
            "no Dockerfile",
        ),
    ];
    for (lesson, message) in cases {
        let error = backend
            .start(&session, &lesson, ProgressSender::discard())
            .await
            .expect_err(message);
        assert!(error.to_string().contains(message), "{message}: {error}");
        assert_eq!(labelled(&backend, &session).await, Vec::<String>::new());
    }
}

#[tokio::test]
async fn an_unreachable_engine_says_what_to_do() {
    let config = DockerConfig {
        engine: EngineAddress::Unix(PathBuf::from("/nonexistent/docker.sock")),
        ..Default::default()
    };
    let error = DockerBackend::connect(config)
        .await
        .err()
        .expect("no engine there");
    assert!(error.to_string().contains("start dockerd"), "{error}");
}

/// A backend with an owner of its own: what it creates carries that owner's label, and
/// it sees only environments with the same owner.
async fn owned_backend() -> DockerBackend {
    let config = DockerConfig {
        owner: Some(format!("test-{}", SessionId::random())),
        ..DockerConfig::default()
    };
    DockerBackend::connect(config).await.unwrap()
}

#[tokio::test]
async fn reconcile_removes_orphans_and_keeps_live_sessions() {
    // Owned, so reconcile cannot touch environments of other tests, or of a playlab
    // running on the same engine; `other` proves that scoping.
    let (backend, other) = (owned_backend().await, owned_backend().await);
    let backend = &backend;
    let image = node_image().await;
    let (live, orphan, half_made) = (Session::new(), Session::new(), Session::new());
    for session in [&live, &orphan] {
        backend
            .start(
                session,
                &lesson(vec![node("node01", &image)]),
                ProgressSender::discard(),
            )
            .await
            .unwrap();
    }
    // What a crash between creating the network and the nodes leaves behind.
    backend
        .docker()
        .create_network(bollard::models::NetworkCreateRequest {
            name: network_name(&half_made),
            labels: Some(
                [
                    (LABEL_SESSION.to_owned(), half_made.to_string()),
                    (
                        LABEL_OWNER.to_owned(),
                        backend.config().owner.clone().unwrap(),
                    ),
                ]
                .into(),
            ),
            internal: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();

    let all = backend.environments().await.unwrap();
    let others = other.environments().await.unwrap();
    for s in [&live, &orphan, &half_made] {
        assert!(all.contains(s), "environments() lists {}", **s);
        assert!(!others.contains(s), "another owner does not see {}", **s);
    }
    assert!(other.reconcile(&HashSet::new()).await.unwrap().is_empty());
    let mut removed = backend.reconcile(&[(*live).clone()].into()).await.unwrap();
    removed.sort();
    let mut expected = vec![(*orphan).clone(), (*half_made).clone()];
    expected.sort();
    assert_eq!(removed, expected);
    assert!(labelled(backend, &orphan).await.is_empty());
    assert!(labelled(backend, &half_made).await.is_empty());
    assert_eq!(
        labelled(backend, &live).await.len(),
        2,
        "the live session is untouched"
    );
    assert!(sh(backend, &live, "node01", "true").await.success());
}

#[tokio::test]
async fn builds_are_cached_by_content_and_failures_carry_the_log() {
    let backend = backend().await;
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("cache-test");
    std::fs::create_dir(&folder).unwrap();
    // A unique file, so the first build of this folder is really a build.
    std::fs::write(folder.join("stamp"), SessionId::random().to_string()).unwrap();
    std::fs::write(
        folder.join("Dockerfile"),
        "FROM debian:bookworm-slim\nCOPY stamp /stamp\n",
    )
    .unwrap();
    let image = NodeImage::Build(folder.clone());

    let build = |image: NodeImage| {
        let backend = &backend;
        async move {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let result = backend.ensure_image(&image, &ProgressSender::new(tx)).await;
            let mut lines = Vec::new();
            while let Ok(p) = rx.try_recv() {
                if let Progress::Build { line, .. } = p {
                    lines.push(line);
                }
            }
            (result, lines)
        }
    };
    let (first, lines) = build(image.clone()).await;
    let tag = first.unwrap();
    assert!(tag.starts_with("playlab-build/cache-test:"), "{tag}");
    assert!(lines.iter().any(|l| l.contains("COPY stamp")), "{lines:?}");

    let started = Instant::now();
    let (second, lines) = build(image.clone()).await;
    assert_eq!(second.unwrap(), tag);
    assert_eq!(
        lines,
        Vec::<String>::new(),
        "an unchanged folder is not rebuilt"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    std::fs::write(
        folder.join("Dockerfile"),
        "FROM debian:bookworm-slim\nRUN echo broken-step >&2; exit 7\n",
    )
    .unwrap();
    let (failed, _) = build(image).await;
    match failed {
        Err(RunnerError::ImageUnavailable { reason, .. }) => {
            assert!(reason.contains("build failed"), "{reason}");
            assert!(
                reason.contains("broken-step"),
                "the log's last lines: {reason}"
            );
        }
        other => panic!("expected ImageUnavailable, got {other:?}"),
    }
    backend
        .docker()
        .remove_image(
            &tag,
            None::<bollard::query_parameters::RemoveImageOptions>,
            None,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn systemd_nodes_boot_systemd_as_pid_1_without_privileged() {
    let backend = backend().await;
    let session = Session::new();
    let mut spec = node("node01", &NodeImage::Build(fixture("systemd-node")));
    spec.systemd = true;
    spec.capabilities = vec!["SYS_TIME".to_owned()];
    backend
        .start(&session, &lesson(vec![spec]), ProgressSender::discard())
        .await
        .unwrap();
    let boot = sh(
        &backend,
        &session,
        "node01",
        // The bus appears a moment after PID 1 starts: poll the state for up to 15 s.
        "cat /proc/1/comm
         for i in $(seq 75); do
           s=$(systemctl is-system-running 2>/dev/null)
           case $s in running|degraded) break;; esac; sleep 0.2
         done
         echo $s; findmnt -no FSTYPE /run",
    )
    .await;
    let lines: Vec<&str> = boot.stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"systemd"), "PID 1: {boot:?}");
    assert!(
        matches!(lines.get(1), Some(&"running") | Some(&"degraded")),
        "systemd finished booting: {boot:?}"
    );
    assert_eq!(lines.get(2), Some(&"tmpfs"), "/run: {boot:?}");

    let inspect = backend
        .docker()
        .inspect_container(&container_name(&session, "node01"), None)
        .await
        .unwrap();
    let host = inspect.host_config.unwrap();
    assert_eq!(host.privileged, Some(false));
    assert_eq!(host.init, None, "systemd is the init");
    let mut caps = host.cap_add.unwrap();
    caps.sort();
    assert_eq!(caps, ["NET_ADMIN", "SYS_ADMIN", "SYS_TIME"]);
    assert!(
        host.security_opt
            .unwrap()
            .contains(&"seccomp=unconfined".to_owned())
    );
    let tmpfs = host.tmpfs.unwrap();
    for path in ["/run", "/run/lock", "/tmp"] {
        assert!(tmpfs.contains_key(path), "{path} in {tmpfs:?}");
    }
    assert_eq!(
        inspect.config.unwrap().stop_signal.as_deref(),
        Some("SIGRTMIN+3")
    );

    // The host's cgroup tree stays read-only inside the node.
    let write = sh(&backend, &session, "node01", "touch /sys/fs/cgroup/pids/x").await;
    assert!(!write.success(), "{write:?}");
}

#[tokio::test]
async fn the_base_image_has_the_everyday_tools() {
    let backend = backend().await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/images/base");
    let tag = backend
        .images()
        .build_tagged(
            &dir,
            scenarios::killercoda::BASE_IMAGE,
            &ProgressSender::discard(),
        )
        .await
        .unwrap_or_else(|e| panic!("building content/images/base: {e}"));
    assert_eq!(tag, scenarios::killercoda::BASE_IMAGE);
    let session = one_node(&backend, &NodeImage::Reference(tag)).await;
    let tools = "bash vim less curl jq git ip ping dig ps openssl tmux tini";
    let out = sh(
        &backend,
        &session,
        "node01",
        &format!(
            "for t in {tools}; do command -v $t >/dev/null || echo missing $t; done
             test -f /usr/share/bash-completion/bash_completion || echo missing completion
             {SPEAKS_UTF8}"
        ),
    )
    .await;
    assert_eq!(out.stdout, "UTF-8 4\n", "{out:?}");
    assert_eq!(out.stderr, "", "no locale warnings");
}

/// The locale's character set, and how many characters the tools count in four
/// Chinese ones (12 bytes): `UTF-8 4` in a UTF-8 locale, where `ls`, vim and kubectl
/// show Chinese names as characters; `ANSI_X3.4-1968 12` in the C locale.
const SPEAKS_UTF8: &str = "echo \"$(locale charmap) $(printf %s 你好世界 | wc -m)\"";

/// The etcd lesson's node image speaks UTF-8 as the base image does.
#[tokio::test]
async fn the_etcd_node_image_speaks_utf8() {
    let backend = backend().await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/images/etcd-node");
    let tag = backend
        .images()
        .build_tagged(
            &dir,
            "playlab-test/etcd-node:latest",
            &ProgressSender::discard(),
        )
        .await
        .unwrap_or_else(|e| panic!("building content/images/etcd-node: {e}"));
    let session = one_node(&backend, &NodeImage::Reference(tag)).await;
    let out = sh(&backend, &session, "node01", SPEAKS_UTF8).await;
    assert_eq!(out.stdout, "UTF-8 4\n", "{out:?}");
    assert_eq!(out.stderr, "", "no locale warnings");
}

#[tokio::test]
async fn nodes_without_bash_fall_back_to_sh_and_checks_run_as_root() {
    let backend = backend().await;
    let session = Session::new();
    let image = NodeImage::Build(fixture("no-bash"));
    backend
        .start(
            &session,
            &lesson(vec![node("node01", &image)]),
            ProgressSender::discard(),
        )
        .await
        .unwrap();
    let out = sh(
        &backend,
        &session,
        "node01",
        "echo $0; command -v bash || echo no bash; id -un",
    )
    .await;
    assert_eq!(out.stdout, "sh\nno bash\nroot\n", "{out:?}");
    let timed = backend
        .exec(
            &session,
            "node01",
            ExecRequest::new("sleep 30", Duration::from_millis(500)),
        )
        .await
        .unwrap();
    assert!(timed.timed_out, "{timed:?}");

    let mut terminal = started_terminal(&backend, &session).await;
    type_line(&mut terminal, "echo shell=$0").await;
    read_until(&mut terminal, b"shell=sh").await;
}

#[tokio::test]
async fn dropping_a_terminal_ends_its_shell() {
    let backend = backend().await;
    let image = node_image().await;
    let session = one_node(&backend, &image).await;
    let terminal = started_terminal(&backend, &session).await;
    let shells = "ps -eo args | grep -c '^bash -l'";
    assert_eq!(sh(&backend, &session, "node01", shells).await.stdout, "1\n");
    drop(terminal);
    let mut left = String::new();
    for _ in 0..50 {
        left = sh(&backend, &session, "node01", shells).await.stdout;
        if left == "0\n" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, "0\n", "the shell exits when its terminal is dropped");
}

#[tokio::test]
async fn a_kubernetes_pki_lands_in_the_nodes_and_verifies() {
    let backend = backend().await;
    // The base image has openssl.
    let base =
        NodeImage::Build(Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/images/base"));
    let session = Session::new();
    let mut lesson = lesson(vec![node("controlplane", &base), node("node01", &base)]);
    lesson.environment.pki = Some(scenarios::Pki::Kubernetes {
        short_lived: [(
            "apiserver-kubelet-client".to_owned(),
            Duration::from_secs(3600),
        )]
        .into(),
    });
    let info = backend
        .start(&session, &lesson, ProgressSender::discard())
        .await
        .unwrap();
    let address = info.nodes[0].address.clone().unwrap();
    let out = sh(
        &backend,
        &session,
        "controlplane",
        "cd /etc/kubernetes/pki
         openssl verify -CAfile ca.crt apiserver.crt apiserver-kubelet-client.crt
         openssl verify -CAfile front-proxy-ca.crt front-proxy-client.crt
         openssl verify -CAfile etcd/ca.crt etcd/server.crt etcd/peer.crt etcd/healthcheck-client.crt apiserver-etcd-client.crt
         openssl x509 -in apiserver.crt -noout -ext subjectAltName | tail -n 1
         stat -c '%a %n' ca.key sa.key ca.crt
         openssl x509 -in apiserver.crt -noout -checkend 7200 >/dev/null && echo apiserver lives
         openssl x509 -in apiserver-kubelet-client.crt -noout -checkend 7200 >/dev/null || echo kubelet-client expires soon",
    )
    .await;
    assert!(out.success(), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    for leaf in [
        "apiserver.crt",
        "front-proxy-client.crt",
        "etcd/server.crt",
        "apiserver-etcd-client.crt",
    ] {
        assert!(
            lines.contains(&format!("{leaf}: OK").as_str()),
            "{leaf}: {out:?}"
        );
    }
    let sans = lines.iter().find(|l| l.contains("DNS:")).unwrap();
    assert!(sans.contains("DNS:controlplane"), "{sans}");
    assert!(
        sans.contains(&format!("IP Address:{address}")),
        "{sans} has {address}"
    );
    assert!(
        lines.contains(&"600 ca.key")
            && lines.contains(&"600 sa.key")
            && lines.contains(&"644 ca.crt"),
        "{out:?}"
    );
    assert!(lines.contains(&"apiserver lives"), "{out:?}");
    assert!(lines.contains(&"kubelet-client expires soon"), "{out:?}");

    let worker = sh(
        &backend,
        &session,
        "node01",
        "ls /etc/kubernetes/pki; test -e /etc/kubernetes/kubelet.conf && echo kubelet.conf",
    )
    .await;
    assert_eq!(
        worker.stdout, "ca.crt\nkubelet.conf\n",
        "a worker gets what kubeadm join leaves"
    );
}

/// A Killercoda scenario's assets land where the importer puts them: recursive globs
/// keep their folders below the pattern's fixed part, `~` is root's home, `+x` makes
/// files executable (the scenario is the corpus's own, `playlab-assets-highlights`).
#[tokio::test]
async fn killercoda_assets_land_with_their_folders_and_modes() {
    let backend = backend().await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/tests/corpus/playlab-assets-highlights");
    let mut lesson = scenarios::load_lesson(&dir, &scenarios::ImageMap::builtin(false))
        .lesson
        .expect("the corpus scenario loads");
    // The seeded image rather than the base image: what is tested is where files land.
    lesson.environment.nodes[0].image = NodeImage::Reference("debian:bookworm-slim".into());
    let session = Session::new();
    backend
        .start(&session, &lesson, ProgressSender::discard())
        .await
        .unwrap();
    let out = sh(
        &backend,
        &session,
        "host01",
        "cd / && stat -c '%a %n' root/apps/app1/src/main.sh root/apps/app2/conf/settings.json \
         root/json/app2/conf/settings.json root/json/top.json etc/demo/a.yaml usr/local/bin/run.sh",
    )
    .await;
    assert_eq!(
        out.stdout,
        "755 root/apps/app1/src/main.sh\n755 root/apps/app2/conf/settings.json\n\
         644 root/json/app2/conf/settings.json\n644 root/json/top.json\n644 etc/demo/a.yaml\n\
         755 usr/local/bin/run.sh\n",
        "{out:?}"
    );
}
