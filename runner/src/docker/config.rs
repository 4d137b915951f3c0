//! [`DockerConfig`]: what the operator decides about every node, whatever the lesson
//! asks for.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::tls::ClientFiles;
use crate::environment::DEFAULT_SETUP_TIMEOUT;

/// What the operator decides about every node, whatever the lesson asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct DockerConfig {
    /// Where the Docker Engine's API is.
    pub engine: EngineAddress,
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
            engine: EngineAddress::from_env(),
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

/// Where a Docker Engine's API is: its Unix socket, `HOST:PORT` of a plain TCP
/// endpoint (`dockerd -H tcp://...` on a private network), or `HOST:PORT` over TLS
/// with a client certificate (`dockerd --tlsverify`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineAddress {
    Unix(PathBuf),
    Tcp(String),
    Tls {
        authority: String,
        files: ClientFiles,
    },
}

impl EngineAddress {
    /// The engine `DOCKER_HOST` names (`unix://PATH` or `tcp://HOST:PORT`; over TLS
    /// with the files in `DOCKER_CERT_PATH` when `DOCKER_TLS_VERIFY` is set, as the
    /// Docker CLI does), else the standard socket.
    pub fn from_env() -> EngineAddress {
        let address = std::env::var("DOCKER_HOST")
            .ok()
            .and_then(|host| EngineAddress::parse(&host))
            .unwrap_or_else(|| EngineAddress::Unix(PathBuf::from("/var/run/docker.sock")));
        let verify = std::env::var("DOCKER_TLS_VERIFY").is_ok_and(|v| !v.is_empty());
        match std::env::var_os("DOCKER_CERT_PATH") {
            Some(dir) if verify => address.with_tls(ClientFiles(PathBuf::from(dir))),
            _ => address,
        }
    }

    /// `unix://PATH` or `tcp://HOST:PORT`, as `DOCKER_HOST` has them.
    pub fn parse(text: &str) -> Option<EngineAddress> {
        if let Some(path) = text.strip_prefix("unix://") {
            return Some(EngineAddress::Unix(PathBuf::from(path)));
        }
        let authority = text.strip_prefix("tcp://")?.trim_end_matches('/');
        let has_port = authority
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        has_port.then(|| EngineAddress::Tcp(authority.to_owned()))
    }

    /// The same TCP endpoint over TLS with `files` (a Unix socket stays as it is).
    pub fn with_tls(self, files: ClientFiles) -> EngineAddress {
        match self {
            EngineAddress::Tcp(authority) | EngineAddress::Tls { authority, .. } => {
                EngineAddress::Tls { authority, files }
            }
            unix => unix,
        }
    }
}

impl fmt::Display for EngineAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineAddress::Unix(path) => write!(f, "unix://{}", path.display()),
            EngineAddress::Tcp(authority) => write!(f, "tcp://{authority}"),
            EngineAddress::Tls { authority, .. } => write!(f, "tcp://{authority} (TLS)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_is_a_unix_socket_or_a_tcp_host_and_port() {
        let parsed = |text: &str| EngineAddress::parse(text).map(|e| e.to_string());
        assert_eq!(
            parsed("unix:///run/docker.sock").as_deref(),
            Some("unix:///run/docker.sock")
        );
        assert_eq!(
            parsed("tcp://10.0.0.5:2375/").as_deref(),
            Some("tcp://10.0.0.5:2375")
        );
        assert_eq!(
            parsed("tcp://[::1]:2375").as_deref(),
            Some("tcp://[::1]:2375")
        );
        for bad in [
            "tcp://10.0.0.5",
            "tcp://:2375",
            "ssh://host",
            "/var/run/docker.sock",
            "tcp://h:99999",
        ] {
            assert_eq!(parsed(bad), None, "{bad}");
        }
    }
}
