//! [`DockerConfig`]: what the operator decides about every node, whatever the lesson
//! asks for.

use std::path::PathBuf;
use std::time::Duration;

use crate::environment::DEFAULT_SETUP_TIMEOUT;

/// What the operator decides about every node, whatever the lesson asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct DockerConfig {
    /// The Docker Engine's Unix socket.
    pub socket: PathBuf,
    /// Upper bound on a node's memory; a lesson asking for more gets this much.
    pub max_memory_bytes: u64,
    /// Upper bound on a node's CPUs.
    pub max_cpus: f64,
    /// Maximum number of processes in a node (a fork bomb stops here).
    pub pids_limit: i64,
    /// Whether nodes whose lesson says `system: true` may run, and how. Refused by
    /// default, and then such a lesson does not start
    /// ([`crate::RunnerError::SystemNodeNotAllowed`]). No other node gets more than
    /// the capabilities its lesson names.
    pub system_nodes: SystemNodes,
    /// `json-file` log driver `max-size` for each node (Docker's size syntax).
    pub log_max_size: String,
    /// How long one setup script may run before it is killed.
    pub setup_timeout: Duration,
    /// Who the environments belong to (a server's instance id). When set, everything
    /// this backend creates is labelled with it, and `environments` (so `reconcile`)
    /// sees only environments with the same owner: two servers, or two test runs,
    /// sharing one Docker engine never remove each other's environments. `None` sees
    /// every playlab environment on the engine.
    pub owner: Option<String>,
}

impl Default for DockerConfig {
    fn default() -> Self {
        DockerConfig {
            socket: default_socket(),
            max_memory_bytes: 2 * 1024 * 1024 * 1024,
            max_cpus: 2.0,
            pids_limit: 1024,
            system_nodes: SystemNodes::Refused,
            log_max_size: "1m".to_owned(),
            setup_timeout: DEFAULT_SETUP_TIMEOUT,
            owner: None,
        }
    }
}

/// The operator's answer to lessons that ask for system nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SystemNodes {
    /// Lessons with system nodes do not start.
    #[default]
    Refused,
    /// System nodes get the system profile: every capability but those that act on the
    /// whole machine or lift limits (`CAP_SYS_RESOURCE`, `CAP_SYS_MODULE`, ...),
    /// unconfined seccomp and AppArmor, their own cgroup tree writable (nested below
    /// the operator's limits), `/` rshared, a `/dev/kmsg` stand-in, and Docker
    /// volumes for `/var/lib/containerd` and `/var/lib/docker`. `/proc/sys` stays
    /// read-only: `kernel.*` sysctls are the host's.
    Profile,
    /// As [`SystemNodes::Profile`], but the container runs `--privileged` (every
    /// capability, host devices, writable `/proc/sys`, so the host's `kernel.*`
    /// sysctls): for hosts that grant it to operators who prefer kind's way.
    Privileged,
}

impl SystemNodes {
    pub fn allowed(self) -> bool {
        self != SystemNodes::Refused
    }
}

/// `DOCKER_HOST` when it names a Unix socket, else the standard socket path.
fn default_socket() -> PathBuf {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|host| host.strip_prefix("unix://").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/var/run/docker.sock"))
}
