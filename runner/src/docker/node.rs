//! One node: the container's settings (limits, init, systemd), starting it, and
//! copying files into it.
//!
//! Every node gets the operator's limits whatever the lesson says: memory (capped),
//! CPUs (capped), a pids limit, a capped log, the OOM killer left on, and no
//! `--privileged` unless the lesson asks for it (`privileged: true`) *and* the operator
//! allows it. Ordinary nodes run `sleep infinity` under Docker's init (tini), which
//! reaps the orphans learners leave behind and stops at once; `systemd: true` nodes run
//! systemd as PID 1 with what a kind node needs.

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, HostConfigCgroupnsModeEnum,
    HostConfigLogConfig, NetworkingConfig,
};
use bollard::query_parameters::{CreateContainerOptions, UploadToContainerOptions};
use scenarios::{Lesson, NodeSpec};

use super::config::DockerConfig;
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
    let address = inspect
        .network_settings
        .and_then(|s| s.networks)
        .and_then(|mut n| n.remove(network))
        .and_then(|e| e.ip_address)
        .filter(|ip| !ip.is_empty());
    Ok(NodeInfo {
        name: spec.name.clone(),
        address,
    })
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
    let memory = spec.memory_bytes.min(config.max_memory_bytes) as i64;
    let cpus = spec.cpus.min(config.max_cpus);
    let mut env: Vec<String> = spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut host = HostConfig {
        memory: Some(memory),
        // Equal to memory: no swap on top, so the limit is the limit.
        memory_swap: Some(memory),
        nano_cpus: Some((cpus * 1e9) as i64),
        pids_limit: Some(config.pids_limit),
        oom_kill_disable: Some(false),
        // `start` refuses a lesson asking for more than the operator allows; checked
        // again here so no other path can produce a privileged node.
        privileged: Some(spec.privileged && config.allow_privileged),
        network_mode: Some(network.to_owned()),
        log_config: Some(HostConfigLogConfig {
            typ: Some("json-file".to_owned()),
            config: Some(
                [
                    ("max-size".to_owned(), config.log_max_size.clone()),
                    ("max-file".to_owned(), "1".to_owned()),
                ]
                .into(),
            ),
        }),
        cap_add: Some(spec.capabilities.clone()),
        ..Default::default()
    };
    let (cmd, stop_signal) = if spec.systemd {
        systemd_host_config(&mut host);
        // systemd changes its behaviour (no udev, no getty) when it knows it is in a
        // container.
        env.push("container=docker".to_owned());
        (vec!["/sbin/init".to_owned()], Some("SIGRTMIN+3".to_owned()))
    } else {
        host.init = Some(true);
        (vec!["sleep".to_owned(), "infinity".to_owned()], None)
    };
    ContainerCreateBody {
        hostname: Some(spec.name.clone()),
        image: Some(image.to_owned()),
        // The node's own command replaces whatever the image would run.
        entrypoint: Some(Vec::new()),
        cmd: Some(cmd),
        env: Some(env),
        stop_signal,
        labels: Some({
            let mut labels = environment_labels(config, session, lesson);
            labels.insert(LABEL_NODE.to_owned(), spec.name.clone());
            labels
        }),
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

/// What systemd as PID 1 needs, as kind gives it: writable tmpfs for `/run`,
/// `/run/lock` and `/tmp`, its own cgroup namespace, the host's kernel modules (read
/// only), and, unless the node is privileged, the two capabilities it uses plus
/// unconfined seccomp/AppArmor. A privileged node has every capability and no
/// seccomp/AppArmor profile already; Docker then also mounts `/sys` and the cgroup
/// filesystem read-write and leaves `/proc/sys` writable.
///
/// The host's cgroup tree is deliberately *not* bind-mounted writable: Docker's own
/// read-only cgroup mount is enough for systemd to boot (the engine tests prove it),
/// and a writable cgroup v1 hierarchy is a well-known way out of a container.
fn systemd_host_config(host: &mut HostConfig) {
    host.tmpfs = Some(
        ["/run", "/run/lock", "/tmp"]
            .into_iter()
            .map(|p| (p.to_owned(), "rw,nosuid,nodev".to_owned()))
            .collect(),
    );
    host.cgroupns_mode = Some(HostConfigCgroupnsModeEnum::PRIVATE);
    // Checked here: the runner talks to the engine over a local Unix socket.
    if std::path::Path::new("/lib/modules").is_dir() {
        host.binds = Some(vec!["/lib/modules:/lib/modules:ro".to_owned()]);
    }
    if host.privileged != Some(true) {
        let caps = host.cap_add.get_or_insert_with(Vec::new);
        for cap in ["SYS_ADMIN", "NET_ADMIN"] {
            if !caps.iter().any(|c| c == cap) {
                caps.push(cap.to_owned());
            }
        }
        host.security_opt = Some(vec![
            "seccomp=unconfined".to_owned(),
            "apparmor=unconfined".to_owned(),
        ]);
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

    /// The node's HostConfig for every combination of what the lesson asks and what
    /// the operator allows: privileged only when both say so; a systemd node that is
    /// not privileged gets the two capabilities and unconfined profiles instead.
    #[test]
    fn privileged_only_when_the_lesson_asks_and_the_operator_allows() {
        let session: SessionId = "privtest".parse().unwrap();
        // (systemd, lesson asks, operator allows) -> (privileged, capabilities added)
        let cases = [
            ((false, false, false), (false, vec![])),
            ((false, false, true), (false, vec![])),
            ((false, true, false), (false, vec![])),
            ((false, true, true), (true, vec![])),
            (
                (true, false, false),
                (false, vec!["SYS_ADMIN", "NET_ADMIN"]),
            ),
            ((true, false, true), (false, vec!["SYS_ADMIN", "NET_ADMIN"])),
            ((true, true, false), (false, vec!["SYS_ADMIN", "NET_ADMIN"])),
            ((true, true, true), (true, vec![])),
        ];
        for ((systemd, asks, allows), (privileged, caps)) in cases {
            let mut spec = NodeSpec::new("node01", NodeImage::Reference("x".to_owned()));
            spec.systemd = systemd;
            spec.privileged = asks;
            let lesson = Lesson::with_environment("t", "/", Environment::new(vec![spec.clone()]));
            let config = DockerConfig {
                allow_privileged: allows,
                ..DockerConfig::default()
            };
            let body = container_body(&config, &session, &lesson, &spec, "x", "net");
            let host = body.host_config.unwrap();
            let case = format!("systemd {systemd}, lesson asks {asks}, operator allows {allows}");
            assert_eq!(host.privileged, Some(privileged), "{case}");
            assert_eq!(host.cap_add.unwrap_or_default(), caps, "{case}");
            assert_eq!(
                host.security_opt.is_some(),
                systemd && !privileged,
                "{case}: unconfined profiles only for an unprivileged systemd node"
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
