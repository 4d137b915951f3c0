//! What the Docker host supports, found out by asking: the engine's version and
//! cgroup setup from `docker info`, and whether a privileged container and a system
//! node start here, by starting one of each. `playlab serve` and `playlab test` log
//! it at start, so an operator reads why system nodes fail before a learner meets it.
//!
//! The probes are real containers (labelled like a session, so a crash mid-probe is
//! cleaned up by the next reconcile), run with no network, from a local image: a
//! probe never pulls.

use std::fmt;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptions, LogsOptions, RemoveContainerOptions, WaitContainerOptions,
};
use futures::StreamExt;

use super::config::{DockerConfig, SystemNodes};
use super::labels::{container_name, environment_labels};
use super::node::{system_node_init, system_profile};
use super::volume;
use crate::session::SessionId;

/// Local images a probe may run, in order of preference: they have `/bin/sh`,
/// `mount` and `unshare`, as the system node init needs.
const PROBE_IMAGES: [&str; 2] = ["debian:bookworm-slim", scenarios::killercoda::BASE_IMAGE];

/// What the probe container of a system node runs after the node init: make and
/// remove a cgroup, the thing a nested runtime does first.
const CGROUP_WRITE_TEST: &str = r#"d=$(grep -m1 -E '^[^ ]+ [^ ]+ cgroup2? ' /proc/self/mounts | cut -d' ' -f2)
mkdir "$d/playlab-probe" && rmdir "$d/playlab-probe""#;

/// Whether a fresh procfs mount in a system node offers the host's `kernel.panic` for
/// writing. `test -w` only: nothing is written.
const SYSCTL_EXPOSURE_TEST: &str =
    "mkdir -p /tmp/proc && mount -t proc proc /tmp/proc && test -w /tmp/proc/sys/kernel/panic";

/// One thing tried on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Works,
    Fails(String),
    NotTried(String),
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Probe::Works => f.write_str("works"),
            Probe::Fails(why) => write!(f, "fails ({why})"),
            Probe::NotTried(why) => write!(f, "not tried ({why})"),
        }
    }
}

/// What this Docker host supports, for the log.
#[derive(Debug, Clone)]
pub struct HostSupport {
    /// `20.10.24 (API 1.41)`.
    pub engine: String,
    /// `v1, cgroupfs driver`.
    pub cgroups: String,
    /// A `--privileged` container starts.
    pub privileged: Probe,
    /// A node with the system profile starts and can create cgroups.
    pub system_profile: Probe,
    /// Whether root in a system node could write the host's `kernel.*` sysctls by
    /// mounting a fresh `/proc` (tested with `test -w`, never written): "works" means
    /// it could, as on any engine without user-namespace remapping.
    pub host_sysctls_from_node: Probe,
}

impl fmt::Display for HostSupport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Docker {}, cgroups {}; --privileged: {}; system node profile: {}; \
             a system node's root reaching the host's kernel.* sysctls through a fresh \
             /proc: {}",
            self.engine,
            self.cgroups,
            self.privileged,
            self.system_profile,
            self.host_sysctls_from_node
        )
    }
}

impl HostSupport {
    pub(super) async fn detect(docker: &Docker, config: &DockerConfig) -> HostSupport {
        let (engine, cgroups) = match docker.info().await {
            Ok(info) => (
                format!(
                    "{} (API {})",
                    info.server_version.unwrap_or_default(),
                    docker.client_version()
                ),
                format!(
                    "v{}, {} driver",
                    info.cgroup_version
                        .map(|v| v.to_string())
                        .unwrap_or_default(),
                    info.cgroup_driver
                        .map(|d| d.to_string())
                        .unwrap_or_default()
                ),
            ),
            Err(e) => (format!("unknown ({e})"), "unknown".to_owned()),
        };
        let Some(image) = probe_image(docker).await else {
            let none = Probe::NotTried(format!("no local {} image", PROBE_IMAGES.join(" or ")));
            return HostSupport {
                engine,
                cgroups,
                privileged: none.clone(),
                system_profile: none.clone(),
                host_sysctls_from_node: none,
            };
        };
        let host = HostConfig {
            privileged: Some(true),
            ..Default::default()
        };
        let session = SessionId::random();
        let cmd = vec!["true".into()];
        let privileged = run_probe(docker, config, &session, &image, host, cmd).await;
        let system_node = |test: &str| {
            let session = SessionId::random();
            let mut host = HostConfig::default();
            let labels = environment_labels(config, &session, "host-probe");
            system_profile(
                &mut host,
                SystemNodes::Profile,
                &session,
                "host-probe",
                &labels,
            );
            let mut cmd: Vec<String> = system_node_init().into();
            cmd.extend(["/bin/sh".into(), "-c".into(), test.into()]);
            let image = image.clone();
            async move { run_probe(docker, config, &session, &image, host, cmd).await }
        };
        HostSupport {
            engine,
            cgroups,
            privileged,
            system_profile: system_node(CGROUP_WRITE_TEST).await,
            host_sysctls_from_node: system_node(SYSCTL_EXPOSURE_TEST).await,
        }
    }
}

async fn probe_image(docker: &Docker) -> Option<String> {
    for image in PROBE_IMAGES {
        if docker.inspect_image(image).await.is_ok() {
            return Some(image.to_owned());
        }
    }
    None
}

/// Runs `cmd` to its end in a container labelled as `session`, then removes it and
/// the session's volumes.
async fn run_probe(
    docker: &Docker,
    config: &DockerConfig,
    session: &SessionId,
    image: &str,
    host: HostConfig,
    cmd: Vec<String>,
) -> Probe {
    let name = container_name(session, "host-probe");
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        entrypoint: Some(Vec::new()),
        cmd: Some(cmd),
        labels: Some(environment_labels(config, session, "host-probe")),
        host_config: Some(HostConfig {
            network_mode: Some("none".to_owned()),
            ..host
        }),
        ..Default::default()
    };
    let options = CreateContainerOptions {
        name: Some(name.clone()),
        ..Default::default()
    };
    let outcome = async {
        docker.create_container(Some(options), body).await?;
        docker.start_container(&name, None).await?;
        let mut wait = docker.wait_container(&name, None::<WaitContainerOptions>);
        // A non-zero exit arrives as an error carrying the code.
        let code = match wait.next().await {
            Some(Ok(exit)) => exit.status_code,
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
            Some(Err(e)) => return Err(e),
            None => -1,
        };
        Ok(code)
    }
    .await;
    let probe = match outcome {
        Ok(0) => Probe::Works,
        Ok(code) => Probe::Fails(format!(
            "exit {code}: {}",
            last_log_line(docker, &name).await
        )),
        Err(e) => Probe::Fails(e.to_string()),
    };
    let remove = RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    };
    let _ = docker.remove_container(&name, Some(remove)).await;
    let _ = volume::remove_all(docker, session).await;
    probe
}

async fn last_log_line(docker: &Docker, container: &str) -> String {
    let options = LogsOptions {
        stdout: true,
        stderr: true,
        tail: "5".to_owned(),
        ..Default::default()
    };
    let mut logs = docker.logs(container, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = logs.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    text.lines().last().unwrap_or("no output").trim().to_owned()
}
