//! One node: the container's settings (limits, init, systemd), starting it, and
//! copying files into it.
//!
//! Every node gets the operator's limits whatever the lesson says: memory (capped),
//! CPUs (capped), a pids limit, a capped log, and the OOM killer left on. Ordinary
//! nodes run `sleep infinity` under Docker's init (tini), which reaps the orphans
//! learners leave behind and stops at once; `systemd: true` nodes run systemd as PID 1
//! with what a kind node needs; `system: true` nodes (where the operator allows them)
//! get the system profile and start through `system-node-init.sh`, which makes their
//! cgroups writable below the limits before the node's own command runs.
//!
//! Every node restarts with its engine (`unless-stopped`): a Docker daemon that
//! restarts stops all containers, and the node must come back with its files rather
//! than leave the session with nothing to talk to (the server tells the learner).

use bollard::Docker;
use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, HostConfigCgroupnsModeEnum,
    HostConfigLogConfig, Mount, MountType, MountVolumeOptions, NetworkingConfig, RestartPolicy,
    RestartPolicyNameEnum,
};
use bollard::query_parameters::{CreateContainerOptions, UploadToContainerOptions};
use scenarios::{Lesson, NodeSpec};

use super::config::{DockerConfig, SystemNodes};
use super::labels::{LABEL_NODE, container_name, environment_labels};
use crate::backend::{NodeInfo, Progress, ProgressSender};
use crate::environment::NodeFile;
use crate::error::RunnerError;
use crate::session::SessionId;

/// Creates and starts one node on the session network; returns its name and address.
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename them
pub(super) async fn create_and_start(
    docker: &Docker,
    config: &DockerConfig,
    session: &SessionId,
    lesson: &Lesson,
    spec: &NodeSpec,
    image: &str,
    network: &str,
    progress: &ProgressSender,
) -> Result<NodeInfo, RunnerError> {
    let name = container_name(session, &spec.name);
    progress.send(Progress::Node {
        node: spec.name.clone(),
        status: "creating".to_owned(),
    });
    docker
        .create_container(
            Some(CreateContainerOptions {
                name: Some(name.clone()),
                ..Default::default()
            }),
            container_body(config, session, lesson, spec, image, network),
        )
        .await?;
    docker.start_container(&name, None).await?;
    progress.send(Progress::Node {
        node: spec.name.clone(),
        status: "started".to_owned(),
    });
    let inspect = docker.inspect_container(&name, None).await?;
    Ok(NodeInfo {
        name: spec.name.clone(),
        address: address_on(inspect, network),
    })
}

/// A container's address on `network`, if it has one there.
pub(super) fn address_on(
    inspect: bollard::models::ContainerInspectResponse,
    network: &str,
) -> Option<String> {
    inspect
        .network_settings
        .and_then(|s| s.networks)
        .and_then(|mut n| n.remove(network))
        .and_then(|e| e.ip_address)
        .filter(|ip| !ip.is_empty())
}

/// The container settings for one node.
fn container_body(
    config: &DockerConfig,
    session: &SessionId,
    lesson: &Lesson,
    spec: &NodeSpec,
    image: &str,
    network: &str,
) -> ContainerCreateBody {
    let NodeBasics {
        labels,
        mut env,
        memory,
        nano_cpus,
    } = NodeBasics::new(config, session, lesson, spec);
    let mut host = HostConfig {
        memory: Some(memory),
        // Equal to memory: no swap on top, so the limit is the limit.
        memory_swap: Some(memory),
        nano_cpus: Some(nano_cpus),
        pids_limit: Some(config.pids_limit),
        oom_kill_disable: Some(false),
        privileged: Some(false),
        network_mode: Some(network.to_owned()),
        log_config: Some(HostConfigLogConfig {
            typ: Some("json-file".to_owned()),
            config: Some(log_options(config)),
        }),
        cap_add: Some(spec.capabilities.clone()),
        restart_policy: Some(RestartPolicy {
            name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
            maximum_retry_count: None,
        }),
        ..Default::default()
    };
    // `start` refuses a lesson with system nodes where the operator does not allow
    // them; checked again here so no other path can produce one.
    let system = spec.system && config.system_nodes.allowed();
    if system {
        system_profile(&mut host, config.system_nodes, session, &spec.name, &labels);
    }
    let mut cmd = if spec.systemd {
        systemd_host_config(&mut host, system);
        env.push(SYSTEMD_ENV.to_owned());
        vec![SYSTEMD_INIT.to_owned()]
    } else {
        host.init = Some(true);
        plain_node_command()
    };
    if system {
        cmd.splice(0..0, system_node_init());
    }
    ContainerCreateBody {
        hostname: Some(spec.name.clone()),
        image: Some(image.to_owned()),
        // The node's own command replaces whatever the image would run.
        entrypoint: Some(Vec::new()),
        cmd: Some(cmd),
        env: Some(env),
        stop_signal: spec.systemd.then(|| SYSTEMD_STOP_SIGNAL.to_owned()),
        labels: Some(labels),
        host_config: Some(host),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(
                [(
                    network.to_owned(),
                    EndpointSettings {
                        aliases: Some(vec![spec.name.clone()]),
                        ..Default::default()
                    },
                )]
                .into(),
            ),
        }),
        ..Default::default()
    }
}

/// What every node gets, whatever runs it (a container here, a Swarm task in
/// `swarm`): its labels, its environment, and the operator's ceilings on the lesson's
/// memory and CPUs.
pub(super) struct NodeBasics {
    pub labels: HashMap<String, String>,
    pub env: Vec<String>,
    pub memory: i64,
    pub nano_cpus: i64,
}

impl NodeBasics {
    pub fn new(
        config: &DockerConfig,
        session: &SessionId,
        lesson: &Lesson,
        spec: &NodeSpec,
    ) -> NodeBasics {
        let mut labels = environment_labels(config, session, &lesson.id);
        labels.insert(LABEL_NODE.to_owned(), spec.name.clone());
        NodeBasics {
            labels,
            env: spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            memory: node_memory(config, spec),
            nano_cpus: (spec.cpus.min(config.max_cpus) * 1e9) as i64,
        }
    }
}

/// A node's memory: the lesson's, capped by the operator's ceiling.
pub(super) fn node_memory(config: &DockerConfig, spec: &NodeSpec) -> i64 {
    spec.memory_bytes.min(config.max_memory_bytes) as i64
}

/// What an ordinary node runs (under an init that reaps orphans): nothing, until the
/// learner does.
pub(super) fn plain_node_command() -> Vec<String> {
    vec!["sleep".to_owned(), "infinity".to_owned()]
}

/// The `json-file` log driver's options: one capped file.
pub(super) fn log_options(config: &DockerConfig) -> HashMap<String, String> {
    [
        ("max-size".to_owned(), config.log_max_size.clone()),
        ("max-file".to_owned(), "1".to_owned()),
    ]
    .into()
}

/// The first process of a system node, before the node's own command (see the
/// script for what it does and why). It needs `/bin/sh`, `mount`, `umount` and
/// `unshare` in the image (Debian and Ubuntu have them in their essential set).
const SYSTEM_NODE_INIT: &str = include_str!("system-node-init.sh");

/// `sh -c <script> playlab-init <script>`: the script gets its own text so that it can
/// run itself again in the node's second cgroup namespace.
pub(super) fn system_node_init() -> [String; 5] {
    [
        "/bin/sh".to_owned(),
        "-c".to_owned(),
        SYSTEM_NODE_INIT.to_owned(),
        "playlab-init".to_owned(),
        SYSTEM_NODE_INIT.to_owned(),
    ]
}

/// Where a system node keeps container images and layers: a Docker volume each, so
/// the node's containerd and Docker write to the host's filesystem rather than to
/// overlayfs (overlay on overlay does not work). Labelled like the node, so they go
/// with the session.
pub(super) const SYSTEM_NODE_VOLUMES: [(&str, &str); 2] = [
    ("containerd", "/var/lib/containerd"),
    ("docker", "/var/lib/docker"),
];

/// `playlab-<session>-<node>-<what>`.
pub(super) fn volume_name(session: &SessionId, node: &str, what: &str) -> String {
    format!("{}-{what}", container_name(session, node))
}

/// Capabilities a system node does without, though systemd, containerd and a Docker
/// engine run in it: `SYS_RESOURCE` would let the node override resource limits (and
/// some hosts' bounding sets lack it, so `--privileged` fails there); each of the
/// others acts on the whole machine, not the node: load a kernel module, set the
/// host's clock, raw I/O ports, the kernel log, the host's LSM policy, wake alarms and
/// suspend, the kernel's audit rules. The engine tests boot both node images, build
/// and run nested containers and pass the kubeadm node's self-check without them.
pub(super) const SYSTEM_NODE_DROPPED_CAPS: &[&str] = &[
    "SYS_RESOURCE",
    "SYS_MODULE",
    "SYS_TIME",
    "SYS_RAWIO",
    "SYSLOG",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_CONTROL",
];

/// The system profile (see [`SystemNodes::Profile`]): what systemd, containerd and a
/// Docker engine need inside a node, and no more. Every capability but
/// [`SYSTEM_NODE_DROPPED_CAPS`]; no seccomp or
/// AppArmor profile (nested runtimes install their own); a private cgroup namespace,
/// which the node's init makes writable below the operator's limits; `net.ipv4.
/// ip_forward` on (network sysctls are the node's own); the two volumes. Not given:
/// host devices, a writable `/proc/sys` (`kernel.*` sysctls are host-wide), the
/// host's cgroup tree or Docker socket.
pub(super) fn system_profile(
    host: &mut HostConfig,
    policy: SystemNodes,
    session: &SessionId,
    node: &str,
    labels: &HashMap<String, String>,
) {
    if policy == SystemNodes::Privileged {
        host.privileged = Some(true);
    } else {
        host.cap_add = Some(vec!["ALL".to_owned()]);
        host.cap_drop = Some(
            SYSTEM_NODE_DROPPED_CAPS
                .iter()
                .map(|c| (*c).to_owned())
                .collect(),
        );
        host.security_opt = Some(vec![
            "seccomp=unconfined".to_owned(),
            "apparmor=unconfined".to_owned(),
        ]);
    }
    own_cgroups_and_modules(host);
    host.sysctls = Some([("net.ipv4.ip_forward".to_owned(), "1".to_owned())].into());
    host.mounts = Some(
        SYSTEM_NODE_VOLUMES
            .iter()
            .map(|(what, target)| Mount {
                typ: Some(MountType::VOLUME),
                source: Some(volume_name(session, node, what)),
                target: Some((*target).to_owned()),
                // Labels apply when Docker creates the volume, which it does here.
                volume_options: Some(MountVolumeOptions {
                    labels: Some(labels.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect(),
    );
}

/// A systemd node's first process.
pub(super) const SYSTEMD_INIT: &str = "/sbin/init";
/// systemd changes its behaviour (no udev, no getty) when it knows it is in a container.
pub(super) const SYSTEMD_ENV: &str = "container=docker";
/// What systemd stops on (`SIGTERM` would make it re-execute).
pub(super) const SYSTEMD_STOP_SIGNAL: &str = "SIGRTMIN+3";
/// Where systemd needs a writable tmpfs.
pub(super) const SYSTEMD_TMPFS: [&str; 3] = ["/run", "/run/lock", "/tmp"];

/// Adds the two capabilities systemd uses (mounts, its network setup) to `caps`.
pub(super) fn add_systemd_capabilities(caps: &mut Vec<String>) {
    for cap in ["SYS_ADMIN", "NET_ADMIN"] {
        if !caps.iter().any(|c| c == cap) {
            caps.push(cap.to_owned());
        }
    }
}

/// What systemd as PID 1 needs, as kind gives it: writable tmpfs for `/run`,
/// `/run/lock` and `/tmp`, its own cgroup namespace, the host's kernel modules (read
/// only), and, unless the node is a system node (which has them and more already),
/// the two capabilities it uses plus unconfined seccomp/AppArmor.
///
/// A plain systemd node's cgroup tree stays as Docker mounts it, read-only: that is
/// enough for systemd to boot (the engine tests prove it). Only a system node's init
/// makes it writable, nested below the limits.
fn systemd_host_config(host: &mut HostConfig, system: bool) {
    host.tmpfs = Some(
        SYSTEMD_TMPFS
            .into_iter()
            .map(|p| (p.to_owned(), "rw,nosuid,nodev".to_owned()))
            .collect(),
    );
    own_cgroups_and_modules(host);
    if !system {
        let caps = host.cap_add.get_or_insert_with(Vec::new);
        add_systemd_capabilities(caps);
        host.security_opt = Some(vec![
            "seccomp=unconfined".to_owned(),
            "apparmor=unconfined".to_owned(),
        ]);
    }
}

/// A private cgroup namespace (the node sees its own cgroup as the root, never the
/// host's tree) and the host's kernel modules read-only, which kubelet and
/// containerd look at.
fn own_cgroups_and_modules(host: &mut HostConfig) {
    host.cgroupns_mode = Some(HostConfigCgroupnsModeEnum::PRIVATE);
    // Checked here: the runner talks to the engine over a local Unix socket.
    if std::path::Path::new("/lib/modules").is_dir() {
        host.binds = Some(vec!["/lib/modules:/lib/modules:ro".to_owned()]);
    }
}

/// Copies files into a container in one tar upload; missing parent directories are
/// created by Docker. Files are owned by root.
pub(super) async fn upload(
    docker: &Docker,
    container: &str,
    files: &[NodeFile],
) -> Result<(), RunnerError> {
    if files.is_empty() {
        return Ok(());
    }
    let archive =
        tar_of(files).map_err(RunnerError::io(format!("packing files for {container}")))?;
    docker
        .upload_to_container(
            container,
            Some(UploadToContainerOptions {
                path: "/".to_owned(),
                ..Default::default()
            }),
            bollard::body_full(archive.into()),
        )
        .await?;
    Ok(())
}

fn tar_of(files: &[NodeFile]) -> std::io::Result<Vec<u8>> {
    let mtime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut builder = tar::Builder::new(Vec::new());
    for file in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(file.contents.len() as u64);
        header.set_mode(file.mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        header.set_entry_type(tar::EntryType::Regular);
        // Paths in the archive are relative to the upload's target, `/`.
        builder.append_data(
            &mut header,
            file.path.trim_start_matches('/'),
            file.contents.as_slice(),
        )?;
    }
    builder.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use scenarios::{Environment, NodeImage};

    /// The node's HostConfig for every combination of what the lesson asks
    /// (`systemd`, `system`) and what the operator allows: the system profile only
    /// when both say so, `--privileged` only when the operator prefers it; a systemd
    /// node that is not a system node gets the two capabilities it needs.
    #[test]
    fn system_profile_only_when_the_lesson_asks_and_the_operator_allows() {
        use SystemNodes::*;
        let session: SessionId = "systest".parse().unwrap();
        // (systemd, lesson asks, operator) -> (privileged, cap_add, cap_drop, volumes)
        let plain = (false, vec![], vec![], 0);
        let systemd_only = (false, vec!["SYS_ADMIN", "NET_ADMIN"], vec![], 0);
        let profile = (false, vec!["ALL"], SYSTEM_NODE_DROPPED_CAPS.to_vec(), 2);
        let privileged = (true, vec![], vec![], 2);
        let cases = [
            ((false, false, Refused), plain.clone()),
            ((false, false, Profile), plain.clone()),
            ((false, true, Refused), plain.clone()),
            ((false, true, Profile), profile.clone()),
            ((false, true, Privileged), privileged.clone()),
            ((true, false, Privileged), systemd_only.clone()),
            ((true, true, Refused), systemd_only.clone()),
            ((true, true, Profile), profile.clone()),
            ((true, true, Privileged), privileged.clone()),
        ];
        for ((systemd, asks, policy), (privileged, caps, dropped, volumes)) in cases {
            let mut spec = NodeSpec::new("node01", NodeImage::Reference("x".to_owned()));
            spec.systemd = systemd;
            spec.system = asks;
            let lesson = Lesson::with_environment("t", "/", Environment::new(vec![spec.clone()]));
            let config = DockerConfig {
                system_nodes: policy,
                ..DockerConfig::default()
            };
            let body = container_body(&config, &session, &lesson, &spec, "x", "net");
            let host = body.host_config.unwrap();
            let case = format!("systemd {systemd}, lesson asks {asks}, operator {policy:?}");
            let system = volumes > 0;
            assert_eq!(host.privileged, Some(privileged), "{case}");
            assert_eq!(host.cap_add.unwrap_or_default(), caps, "{case}");
            assert_eq!(host.cap_drop.unwrap_or_default(), dropped, "{case}");
            assert_eq!(host.mounts.unwrap_or_default().len(), volumes, "{case}");
            assert_eq!(
                host.security_opt.is_some(),
                (systemd || system) && !privileged,
                "{case}: unconfined profiles for an unprivileged systemd or system node"
            );
            let cmd = body.cmd.unwrap();
            assert_eq!(
                cmd[0] == "/bin/sh" && cmd[3] == "playlab-init",
                system,
                "{case}"
            );
            assert_eq!(cmd.last().unwrap() == "/sbin/init", systemd, "{case}");
            assert_eq!(
                host.sysctls
                    .is_some_and(|s| s.contains_key("net.ipv4.ip_forward")),
                system,
                "{case}"
            );
        }
    }

    #[test]
    fn tar_keeps_paths_and_modes() {
        let files = [
            NodeFile {
                path: "/usr/local/bin/tool".to_owned(),
                contents: b"#!/bin/sh\n".to_vec(),
                mode: 0o755,
            },
            NodeFile {
                path: "/etc/secret".to_owned(),
                contents: b"x".to_vec(),
                mode: 0o600,
            },
        ];
        let bytes = tar_of(&files).unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let entries: Vec<(String, u32, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.size().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            [
                ("usr/local/bin/tool".to_owned(), 0o755, 10),
                ("etc/secret".to_owned(), 0o600, 1)
            ]
        );
    }
}
