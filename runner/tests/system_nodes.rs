//! System nodes (`system: true`) against the real Docker engine, without
//! `--privileged`: the profile they get and what they do not get, systemd booting in
//! them, Docker and containerd running nested containers, the operator's limits
//! binding what runs nested, and nothing left behind (volumes included).
//!
//! Needs what `.ci/setup-machine` installs (a running `dockerd`, the seeded
//! `debian:bookworm-slim`, the `docker` CLI); the node images are built from
//! `content/images/docker-node` and `content/images/kubeadm-node` (its Debian stage,
//! `--target node`: the Kubernetes packages cannot be had here). Isolation is shown by
//! inspection, never by reaching out of the node.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use runner::docker::{DockerBackend, DockerConfig, SystemNodes, container_name};
use runner::{Backend, ExecOutput, ExecRequest, ProgressSender, RunnerError, SessionId};
use scenarios::{NodeImage, NodeSpec};

/// Failed units a booted system node may show, each harmless in a container. None so
/// far: both images mask what fails in containers (udev, getty, kernel file systems).
const HARMLESS_FAILED_UNITS: &[&str] = &[];

/// Long enough for systemd, dockerd and the seed import on a busy two-CPU machine.
const BOOT_TIMEOUT: Duration = Duration::from_secs(180);

fn images_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/images")
}

fn system_node(name: &str, image: NodeImage) -> NodeSpec {
    let mut spec = NodeSpec::new(name, image);
    spec.systemd = true;
    spec.system = true;
    spec.memory_bytes = 1 << 30;
    spec
}

fn docker_node() -> NodeSpec {
    system_node("host01", NodeImage::Build(images_dir().join("docker-node")))
}

/// A backend that allows system nodes, with the given pids limit.
async fn allowing(pids_limit: i64) -> DockerBackend {
    backend_with(DockerConfig {
        system_nodes: SystemNodes::Profile,
        pids_limit,
        ..DockerConfig::default()
    })
    .await
}

async fn run(backend: &DockerBackend, session: &SessionId, script: &str) -> ExecOutput {
    backend
        .exec(session, "host01", ExecRequest::new(script, BOOT_TIMEOUT))
        .await
        .unwrap_or_else(|e| panic!("exec {script:?}: {e}"))
}

/// Starts one system node and waits for systemd to finish booting; asserts the boot
/// ended `running`, or `degraded` with only known-harmless failed units.
async fn booted(backend: &DockerBackend, node: NodeSpec) -> Session {
    let session = Session::new();
    backend
        .start(&session, &lesson(vec![node]), ProgressSender::discard())
        .await
        .unwrap_or_else(|e| panic!("starting a system node: {e}"));
    // `--wait` answers at once (`offline`, or nothing) while PID 1 is still the
    // node's init script.
    let state = run(
        backend,
        &session,
        "for i in $(seq 300); do s=$(systemctl is-system-running --wait); \
           case \"$s\" in \"\"|offline) sleep 0.1;; *) break;; esac; done; echo $s",
    )
    .await;
    let failed = run(
        backend,
        &session,
        "systemctl list-units --failed --plain --no-legend",
    )
    .await;
    let failed: Vec<&str> = failed
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|unit| !HARMLESS_FAILED_UNITS.contains(unit))
        .collect();
    assert!(
        matches!(state.stdout.trim(), "running" | "degraded") && failed.is_empty(),
        "systemd in a system node: {:?}, failed units {failed:?}",
        state.stdout.trim()
    );
    session
}

/// Runs the docker-node's own wait (engine up, `debian:bookworm-slim` seeded).
async fn docker_ready(backend: &DockerBackend, session: &SessionId) {
    let wait = run(backend, session, "playlab-docker-wait").await;
    assert_eq!(
        wait.exit_code,
        Some(0),
        "the node's Docker engine: {wait:?}"
    );
}

fn host_kernel_sysctls() -> String {
    ["kernel/panic", "kernel/panic_on_oops"]
        .map(|s| std::fs::read_to_string(Path::new("/proc/sys").join(s)).unwrap())
        .concat()
}

/// The docker CLI on the host, for what the engine API makes long-winded (a build
/// target, copying an image archive into a node).
fn docker_cli(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("the docker CLI is needed (apt-get install docker.io): {e}"));
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A lesson with a system node does not start where the operator has not allowed
/// them: refused before anything is created, saying which flag would allow it.
#[tokio::test]
async fn system_nodes_are_refused_unless_the_operator_allows_them() {
    let refusing = backend().await;
    let session = Session::new();
    let node = system_node(
        "host01",
        NodeImage::Reference("debian:bookworm-slim".into()),
    );
    match refusing
        .start(&session, &lesson(vec![node]), ProgressSender::discard())
        .await
    {
        Err(e @ RunnerError::SystemNodeNotAllowed { .. }) => {
            let message = e.to_string();
            assert!(
                message.contains("node host01") && message.contains("--allow-system-nodes"),
                "{message}"
            );
        }
        other => panic!("expected SystemNodeNotAllowed, got {other:?}"),
    }
    assert_eq!(labelled(&refusing, &session).await, Vec::<String>::new());
}

/// Capabilities (by number, `linux/capability.h`) that act on the whole machine or
/// lift the node's limits, which a system node's root must not hold; and two it must.
const WITHHELD_CAPS: &[(&str, u32)] = &[
    ("SYS_MODULE", 16),
    ("SYS_RAWIO", 17),
    ("SYS_RESOURCE", 24),
    ("SYS_TIME", 25),
    ("AUDIT_CONTROL", 30),
    ("MAC_OVERRIDE", 32),
    ("MAC_ADMIN", 33),
    ("SYSLOG", 34),
    ("WAKE_ALARM", 35),
    ("BLOCK_SUSPEND", 36),
];
const HELD_CAPS: &[(&str, u32)] = &[("NET_ADMIN", 12), ("SYS_ADMIN", 21)];

/// The profile as the engine applied it, and what the node does not get: no
/// `--privileged`, no capability that acts on the whole machine (read from the
/// bounding set of the node's PID 1, so nothing started in it can gain one), its own cgroup namespace, its
/// two volumes (labelled, removed with the session), no host Docker socket, no network
/// but its session's, no sight of the host's cgroup tree.
#[tokio::test]
async fn a_system_node_gets_the_profile_and_nothing_of_the_host() {
    let backend = allowing(1024).await;
    let session = booted(&backend, docker_node()).await;
    let name = container_name(&session, "host01");
    let inspect = backend
        .docker()
        .inspect_container(&name, None)
        .await
        .unwrap();
    let host = inspect.host_config.clone().unwrap();
    assert_eq!(host.privileged, Some(false));
    assert_eq!(host.cap_add, Some(vec!["ALL".to_owned()]));
    assert_eq!(
        host.cgroupns_mode.map(|m| m.to_string()),
        Some("private".to_owned())
    );
    let binds = host.binds.unwrap_or_default();
    assert!(
        binds.iter().all(|b| b.starts_with("/lib/modules:")),
        "only the kernel modules are bound from the host: {binds:?}"
    );
    let networks: Vec<String> = inspect
        .network_settings
        .and_then(|n| n.networks)
        .unwrap_or_default()
        .into_keys()
        .collect();
    assert_eq!(networks, [runner::docker::network_name(&session)]);

    let volumes: Vec<String> = labelled(&backend, &session)
        .await
        .into_iter()
        .filter(|n| n.starts_with(&format!("{name}-")))
        .collect();
    assert_eq!(volumes.len(), 2, "{volumes:?}");

    let id = inspect.id.unwrap();
    let inside = run(
        &backend,
        &session,
        &format!(
            "grep -c docker.sock /proc/self/mountinfo; \
             grep -c {id} /proc/1/cgroup; find /sys/fs/cgroup -name '*{id}*' | wc -l; \
             stat -f -c %T /var/lib/docker /var/lib/containerd; cat /proc/sys/net/ipv4/ip_forward"
        ),
    )
    .await;
    assert_eq!(
        inside.stdout.split_whitespace().collect::<Vec<_>>(),
        ["0", "0", "0", "ext2/ext3", "ext2/ext3", "1"],
        "no host socket, no host cgroup path, volumes not overlay, forwarding on: {inside:?}"
    );

    let bounding = run(
        &backend,
        &session,
        "sed -n 's/^CapBnd:[[:space:]]*//p' /proc/1/status",
    )
    .await;
    let bounding = u64::from_str_radix(bounding.stdout.trim(), 16)
        .unwrap_or_else(|e| panic!("CapBnd of the node's PID 1 {bounding:?}: {e}"));
    let held = |bit: u32| bounding & (1 << bit) != 0;
    let leaked: Vec<&str> = WITHHELD_CAPS
        .iter()
        .filter(|(_, bit)| held(*bit))
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(
        leaked,
        Vec::<&str>::new(),
        "host-wide capabilities in the node (CapBnd {bounding:x})"
    );
    let missing: Vec<&str> = HELD_CAPS
        .iter()
        .filter(|(_, bit)| !held(*bit))
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(
        missing,
        Vec::<&str>::new(),
        "capabilities a system node needs (CapBnd {bounding:x})"
    );

    let id: SessionId = (*session).clone();
    drop(session);
    assert_eq!(labelled(&backend, &id).await, Vec::<String>::new());
}

/// Docker inside the node: `docker build` from the seeded base and `docker run` of
/// the result, no registry; the node's engine sees its own containers, not the host's.
#[tokio::test]
async fn docker_in_the_node_builds_and_runs_from_the_seeded_image() {
    let backend = allowing(1024).await;
    let session = booted(&backend, docker_node()).await;
    docker_ready(&backend, &session).await;
    let built = run(
        &backend,
        &session,
        "mkdir -p /tmp/app && cd /tmp/app \
         && printf 'FROM debian:bookworm-slim\\nRUN echo built in the node > /built\\n' > Dockerfile \
         && docker build -q -t playlab-nested:1 . >/dev/null \
         && docker run --rm playlab-nested:1 cat /built \
         && docker ps -a --format '{{.Names}}' | grep -c '^playlab-'",
    )
    .await;
    assert_eq!(built.stdout, "built in the node\n0\n", "{built:?}");
}

/// What runs nested counts against the node's limits, which the node cannot raise:
/// root in the node lifts its own cgroup's pids limit, then a nested container still
/// cannot fork past the operator's, and a nested memory hog is killed at the node's
/// memory limit while the node lives on.
#[tokio::test]
async fn nested_containers_count_against_the_nodes_limits() {
    let backend = allowing(300).await;
    let mut node = docker_node();
    node.memory_bytes = 768 << 20;
    let session = booted(&backend, node).await;
    docker_ready(&backend, &session).await;
    let raised = run(
        &backend,
        &session,
        "for f in /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max; do \
           [ -e $f ] && echo max > $f && cat $f; done",
    )
    .await;
    assert_eq!(
        raised.stdout.trim(),
        "max",
        "the node's own root: {raised:?}"
    );
    let forks = run(
        &backend,
        &session,
        "docker run --rm debian:bookworm-slim sh -c \
           'n=0; for i in $(seq 400); do sleep 5 & n=$((n+1)); done; wait; echo $n' 2>&1",
    )
    .await;
    assert!(
        forks.stdout.contains("fork") || forks.stdout.contains("Resource temporarily unavailable"),
        "400 nested processes under a limit of 300: {forks:?}"
    );
    // Let the sleeps end before the memory test needs processes again.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let hog = run(
        &backend,
        &session,
        "docker run --rm debian:bookworm-slim tail /dev/zero; echo exit=$?",
    )
    .await;
    assert!(hog.stdout.contains("exit=137"), "{hog:?}");
    docker_ready(&backend, &session).await;
}

/// The kubeadm node's Debian part (everything but the Kubernetes binaries) boots
/// under the system profile, passes its own self-check of what kubelet needs, and its
/// containerd runs a nested pod-style container; the host's kernel settings are the
/// same afterwards.
#[tokio::test]
async fn the_kubeadm_node_passes_its_self_check_but_kubernetes() {
    let before = host_kernel_sysctls();
    const IMAGE: &str = "playlab-test/kubeadm-node-debian:latest";
    let dir = images_dir().join("kubeadm-node");
    docker_cli(&[
        "build",
        "-q",
        "--target",
        "node",
        "-t",
        IMAGE,
        dir.to_str().unwrap(),
    ]);
    let backend = allowing(1024).await;
    let session = booted(
        &backend,
        system_node("host01", NodeImage::Reference(IMAGE.into())),
    )
    .await;
    let check = run(&backend, &session, "playlab-node-check").await;
    assert!(
        check.exit_code == Some(0) && !check.stdout.contains("FAIL"),
        "{}{}",
        check.stdout,
        check.stderr
    );
    // A UTF-8 locale: four Chinese characters are four to the tools, not 12 bytes.
    let utf8 = run(
        &backend,
        &session,
        "echo \"$(locale charmap) $(printf %s 你好世界 | wc -m)\"",
    )
    .await;
    assert_eq!(utf8.stdout, "UTF-8 4\n", "{utf8:?}");
    let archive = std::env::temp_dir().join(format!("{}-debian.tar", &*session));
    let archive = archive.to_str().unwrap();
    docker_cli(&["save", "-o", archive, "debian:bookworm-slim"]);
    // Not /tmp: `docker cp` writes beneath the node's tmpfs mounts.
    let target = format!("{}:/root/debian.tar", container_name(&session, "host01"));
    docker_cli(&["cp", archive, &target]);
    std::fs::remove_file(archive).unwrap();
    let nested = run(
        &backend,
        &session,
        "ctr -n k8s.io images import /root/debian.tar >/dev/null \
         && playlab-node-check --nested docker.io/library/debian:bookworm-slim",
    )
    .await;
    assert!(
        nested.exit_code == Some(0),
        "{}{}",
        nested.stdout,
        nested.stderr
    );
    drop(session);
    assert_eq!(
        host_kernel_sysctls(),
        before,
        "kernel.panic, kernel.panic_on_oops"
    );
}

/// A Killercoda scenario of Docker in the `ubuntu` environment, imported as a server
/// that allows system nodes imports it (its node is the Docker node), judged as a
/// learner meets it: each step's verify script fails before the learner runs the
/// step's commands (the page's `{{exec}}` blocks) and passes after, with only the
/// locally seeded image.
#[tokio::test]
async fn a_killercoda_docker_scenario_passes_its_verify_scripts() {
    use runner::checks::{CheckContext, Transcript, WasmChecker, WasmLimits};
    use scenarios::killercoda::DOCKER_NODE_IMAGE;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../server/tests/fixtures/killercoda-docker/content/docker-run");
    let load = scenarios::load_lesson(&dir, &scenarios::ImageMap::builtin(true));
    let lesson = load
        .lesson
        .unwrap_or_else(|| panic!("{:?}", load.diagnostics));
    let node = &lesson.environment.nodes[0];
    assert!(node.system && node.image == NodeImage::Reference(DOCKER_NODE_IMAGE.into()));
    let backend = allowing(1024).await;
    backend
        .images()
        .build_tagged(
            &images_dir().join("docker-node"),
            DOCKER_NODE_IMAGE,
            &ProgressSender::discard(),
        )
        .await
        .unwrap();
    let session = Session::new();
    backend
        .start(&session, &lesson, ProgressSender::discard())
        .await
        .unwrap();
    docker_ready(&backend, &session).await;
    let wasm = WasmChecker::new(WasmLimits::default()).unwrap();
    let transcript = Transcript::new();
    for (i, step) in lesson.steps.iter().enumerate() {
        let ctx = CheckContext {
            step: i,
            transcript: &transcript,
            wasm: &wasm,
            retry: false,
            language: "en",
        };
        let verdict = |ctx| runner::judge::judge_step(&backend, &session, step, None, ctx);
        assert!(
            !verdict(&ctx).await.unwrap().passed,
            "step {i} before the learner acts"
        );
        for command in exec_blocks(&step.text.markdown) {
            let done = run(&backend, &session, &command).await;
            assert_eq!(done.exit_code, Some(0), "{command}: {done:?}");
        }
        assert!(
            verdict(&ctx).await.unwrap().passed,
            "step {i} after the learner acts"
        );
    }
}

/// The commands of a page's ```` ```…```{{exec}} ```` blocks, in order.
fn exec_blocks(markdown: &str) -> Vec<String> {
    markdown
        .split("```")
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|pair| pair[1].starts_with("{{exec"))
        .map(|pair| pair[0].trim_start_matches("bash").trim().to_owned())
        .collect()
}
