//! The settings `playlab serve`, `test` and `lint` share, each declared once: where
//! environments run ([`BackendSettings`]), what every node gets ([`NodeSettings`],
//! validated into a [`NodePolicy`]), the Killercoda image table ([`ImageSettings`])
//! and the lesson folders to load ([`LessonPaths`], into a [`Catalog`]).
//!
//! Each group is a clap argument group (flags and `PLAYLAB_*` variables) that a
//! command flattens in, and a serde struct, because `serve` also reads its groups'
//! keys from its TOML file (see [`crate::serve::config::Settings`]). Validation errors
//! name the flag, so an operator finds the setting whichever of the three ways it was
//! given.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use runner::docker::{ClientFiles, DockerConfig, SwarmOptions, SystemNodes};
use scenarios::{Diagnostic, ImageMap};
use serde::Deserialize;

use crate::catalog::Catalog;

/// Where environments run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// One container per node, on the Docker engine.
    Docker,
    /// A shell on this machine for each node, for authors without Docker.
    Local,
    /// One Swarm service per node, spread over a pool of Docker hosts; `DOCKER_HOST`
    /// names a manager.
    Swarm,
}

/// `--backend`: where environments run, and for `swarm`, the pool's settings.
#[derive(Debug, Default, Clone, PartialEq, clap::Args, Deserialize)]
pub struct BackendSettings {
    /// Where environments run: `docker`, `swarm` (a pool of Docker hosts; DOCKER_HOST
    /// names a manager), or `local` (no isolation; `serve` allows it with a loopback
    /// `--listen` address only) [default: docker].
    #[arg(long, env = "PLAYLAB_BACKEND", value_enum)]
    pub backend: Option<BackendKind>,
    /// swarm: the registry every host pulls from, as HOST:PORT; lessons' images are
    /// pushed there through the manager [default: none, every host has the images].
    #[arg(long, env = "PLAYLAB_SWARM_REGISTRY")]
    pub swarm_registry: Option<String>,
    /// swarm: the port of each host's engine API, on the address the host advertises
    /// in the swarm [default: 2375].
    #[arg(long, env = "PLAYLAB_SWARM_ENGINE_PORT")]
    pub swarm_engine_port: Option<u16>,
    /// swarm: a folder of TLS client files (`ca.pem`, `cert.pem`, `key.pem`, as
    /// `playlab swarm certs` writes them) for every engine of the pool, the manager's
    /// included [default: plain TCP].
    #[arg(long, env = "PLAYLAB_SWARM_TLS", value_name = "DIR")]
    pub swarm_tls: Option<PathBuf>,
    /// swarm: run all nodes of a session on one host (the first node's) instead of
    /// wherever Swarm spreads them.
    #[arg(long, env = "PLAYLAB_SWARM_KEEP_TOGETHER")]
    #[serde(default)]
    pub swarm_keep_together: bool,
}

impl BackendSettings {
    /// The backend chosen, or Docker.
    pub fn kind(&self) -> BackendKind {
        self.backend.unwrap_or(BackendKind::Docker)
    }

    /// The pool's settings; an error when they are given for another backend, where
    /// they would do nothing.
    pub fn swarm_options(&self) -> anyhow::Result<SwarmOptions> {
        let given = self.swarm_registry.is_some()
            || self.swarm_engine_port.is_some()
            || self.swarm_tls.is_some()
            || self.swarm_keep_together;
        if given && self.kind() != BackendKind::Swarm {
            bail!(
                "--swarm-registry, --swarm-engine-port, --swarm-tls and --swarm-keep-together need --backend swarm"
            );
        }
        let tls = self.swarm_tls.clone().map(ClientFiles);
        if let Some(files) = &tls {
            for file in [files.ca(), files.cert(), files.key()] {
                if !file.is_file() {
                    bail!(
                        "--swarm-tls {}: there is no {} (write the folder with `playlab swarm certs`)",
                        files.0.display(),
                        file.display()
                    );
                }
            }
        }
        if let Some(registry) = &self.swarm_registry
            && (registry.contains('/') || !registry.contains(':'))
        {
            bail!("--swarm-registry {registry:?}: expected HOST:PORT, e.g. 10.0.0.5:5000");
        }
        let defaults = SwarmOptions::default();
        Ok(SwarmOptions {
            registry: self.swarm_registry.clone(),
            host_engine_port: self.swarm_engine_port.unwrap_or(defaults.host_engine_port),
            tls,
            keep_together: self.swarm_keep_together,
        })
    }
}

/// The node policy as the operator wrote it: what every node gets whatever its lesson
/// asks. `serve` and `test` take the same flags, so lessons are self-tested under the
/// ceilings of the server they are for.
#[derive(Debug, Default, Clone, PartialEq, clap::Args, Deserialize)]
pub struct NodeSettings {
    /// Most memory a node gets, e.g. `2Gi`; a lesson asking for more gets this
    /// [default: 2Gi].
    #[arg(long, env = "PLAYLAB_MAX_NODE_MEMORY")]
    pub max_node_memory: Option<String>,
    /// Most CPUs a node gets, e.g. `1.5`; a lesson asking for more gets this. Docker
    /// refuses more than the host has [default: 2].
    #[arg(long, env = "PLAYLAB_MAX_NODE_CPUS")]
    pub max_node_cpus: Option<f64>,
    /// Most processes in one node; a fork bomb stops here [default: 1024].
    #[arg(long, env = "PLAYLAB_PIDS_LIMIT", allow_negative_numbers = true)]
    pub pids_limit: Option<i64>,
    /// Run system nodes, where a lesson asks for them (`system: true`: kubeadm, Docker
    /// in the node). They get nearly every capability and may change host-wide kernel
    /// settings (README, "System nodes"): allow them only on a host given over to the
    /// labs. Without it such lessons do not start [default: false].
    // `require_equals`: `playlab test --allow-system-nodes LESSON` must not read the
    // lesson path as the flag's value.
    #[arg(
        long,
        visible_alias = "allow-privileged",
        env = "PLAYLAB_ALLOW_SYSTEM_NODES",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub allow_system_nodes: Option<bool>,
    /// Run system nodes `--privileged` (kind's way) instead of with the system
    /// profile, where the host grants it; needs --allow-system-nodes [default: false].
    #[arg(
        long,
        env = "PLAYLAB_PRIVILEGED_SYSTEM_NODES",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub privileged_system_nodes: Option<bool>,
}

/// What every node gets whatever its lesson asks, validated: the operator's half of
/// [`DockerConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct NodePolicy {
    pub max_memory_bytes: u64,
    pub max_cpus: f64,
    pub pids_limit: i64,
    pub system_nodes: SystemNodes,
}

impl Default for NodePolicy {
    /// The runner's defaults, so the two cannot disagree.
    fn default() -> Self {
        let d = DockerConfig::default();
        NodePolicy {
            max_memory_bytes: d.max_memory_bytes,
            max_cpus: d.max_cpus,
            pids_limit: d.pids_limit,
            system_nodes: d.system_nodes,
        }
    }
}

/// Docker's own floors (`docker run` refuses less): checked at start so a bad setting
/// is one clear error, not every session failing.
const MIN_NODE_MEMORY_BYTES: u64 = 6 * 1024 * 1024;
const MIN_NODE_CPUS: f64 = 0.01;

impl NodePolicy {
    /// Applies defaults and checks every value; errors name the flag.
    pub fn validate(s: NodeSettings) -> anyhow::Result<NodePolicy> {
        let mut policy = NodePolicy::default();
        if let Some(text) = s.max_node_memory {
            let bytes = scenarios::units::parse_memory(&text).map_err(|e| {
                anyhow!("--max-node-memory {text:?}: {e}; write sizes like `512Mi` or `2Gi`")
            })?;
            if bytes < MIN_NODE_MEMORY_BYTES {
                bail!("--max-node-memory {text:?}: Docker needs at least 6Mi per container");
            }
            policy.max_memory_bytes = bytes;
        }
        if let Some(cpus) = s.max_node_cpus {
            if !(cpus.is_finite() && cpus >= MIN_NODE_CPUS) {
                bail!("--max-node-cpus {cpus}: expected a number of CPUs of at least 0.01");
            }
            policy.max_cpus = cpus;
        }
        if let Some(n) = s.pids_limit {
            // Docker reads 0 and -1 as "no limit": not what a ceiling is for.
            if n < 1 {
                bail!("--pids-limit {n}: must be at least 1");
            }
            policy.pids_limit = n;
        }
        policy.system_nodes = match (
            s.allow_system_nodes.unwrap_or(false),
            s.privileged_system_nodes.unwrap_or(false),
        ) {
            (false, false) => SystemNodes::Refused,
            (false, true) => bail!("--privileged-system-nodes needs --allow-system-nodes"),
            (true, false) => SystemNodes::Profile,
            (true, true) => SystemNodes::Privileged,
        };
        Ok(policy)
    }

    /// The Docker backend's configuration under this policy; the one place the
    /// operator's settings become a [`DockerConfig`] (`serve` and `test` alike).
    pub fn docker_config(&self, owner: Option<String>) -> DockerConfig {
        DockerConfig {
            max_memory_bytes: self.max_memory_bytes,
            max_cpus: self.max_cpus,
            pids_limit: self.pids_limit,
            system_nodes: self.system_nodes,
            owner,
            ..DockerConfig::default()
        }
    }
}

/// `--images`: the operator's Killercoda image table.
#[derive(Debug, Default, Clone, PartialEq, clap::Args, Deserialize)]
pub struct ImageSettings {
    /// A JSON file replacing the table that maps Killercoda `backend.imageid` values to
    /// environments [default: the built-in table, see scenarios/FORMAT.md].
    #[arg(long, env = "PLAYLAB_IMAGES", value_name = "FILE")]
    pub images: Option<PathBuf>,
}

impl ImageSettings {
    /// The table these settings name, or the built-in one for a server that does
    /// (or does not) allow system nodes.
    pub fn load(&self, system_nodes: bool) -> anyhow::Result<ImageMap> {
        image_map(self.images.as_deref(), system_nodes)
    }
}

/// The operator's Killercoda image table from `path` (`--images`), or the built-in one;
/// errors name the flag.
pub fn image_map(path: Option<&Path>, system_nodes: bool) -> anyhow::Result<ImageMap> {
    match path {
        Some(path) => {
            ImageMap::from_file(path).with_context(|| format!("--images {}", path.display()))
        }
        None => Ok(ImageMap::builtin(system_nodes)),
    }
}

/// The lessons `test` and `lint` work on: folders given on the command line, read
/// through the image table.
#[derive(Debug, Clone, clap::Args)]
pub struct LessonPaths {
    /// Lesson folders or content directories (one folder per lesson).
    #[arg(default_value = "content")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub images: ImageSettings,
}

impl LessonPaths {
    /// Every lesson under the paths, and every diagnostic; only a bad `--images` file is
    /// an error here (a broken lesson is a diagnostic, so the others still load).
    /// `system_nodes`: whether they will run where system nodes are allowed (which
    /// Killercoda `ubuntu` scenarios' node depends on).
    pub fn load(&self, system_nodes: bool) -> anyhow::Result<(Catalog, Vec<Diagnostic>)> {
        let images = self.images.load(system_nodes)?;
        Ok(Catalog::load_paths(&self.paths, &images))
    }

    /// The paths as the operator wrote them, for messages.
    pub fn describe(&self) -> String {
        let paths: Vec<_> = self.paths.iter().map(|p| p.display().to_string()).collect();
        paths.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The policy reaches the Docker backend unchanged, and nothing else about it moves.
    #[test]
    fn node_policy_becomes_the_docker_config() {
        let policy = NodePolicy {
            max_memory_bytes: 300 << 20,
            max_cpus: 0.5,
            pids_limit: 99,
            system_nodes: SystemNodes::Profile,
        };
        let docker = policy.docker_config(Some("me".into()));
        assert_eq!(
            docker,
            DockerConfig {
                max_memory_bytes: 300 << 20,
                max_cpus: 0.5,
                pids_limit: 99,
                system_nodes: SystemNodes::Profile,
                owner: Some("me".into()),
                ..DockerConfig::default()
            }
        );
    }

    /// The two system-node flags become one policy; `--privileged-system-nodes`
    /// alone is a mistake, said as such.
    #[test]
    fn system_node_flags_become_one_policy() {
        let policy = |allow, privileged| {
            NodePolicy::validate(NodeSettings {
                allow_system_nodes: allow,
                privileged_system_nodes: privileged,
                ..NodeSettings::default()
            })
            .map(|p| p.system_nodes)
            .map_err(|e| e.to_string())
        };
        assert_eq!(policy(None, None), Ok(SystemNodes::Refused));
        assert_eq!(policy(Some(false), None), Ok(SystemNodes::Refused));
        assert_eq!(policy(Some(true), None), Ok(SystemNodes::Profile));
        assert_eq!(policy(Some(true), Some(false)), Ok(SystemNodes::Profile));
        assert_eq!(policy(Some(true), Some(true)), Ok(SystemNodes::Privileged));
        assert_eq!(
            policy(None, Some(true)),
            Err("--privileged-system-nodes needs --allow-system-nodes".to_owned())
        );
    }

    #[derive(clap::Parser)]
    struct Test {
        #[command(flatten)]
        backend: BackendSettings,
        #[command(flatten)]
        nodes: NodeSettings,
        #[command(flatten)]
        lessons: LessonPaths,
    }

    /// `--backend` is Docker unless chosen, and `PLAYLAB_BACKEND` chooses it too.
    #[test]
    fn the_backend_is_docker_unless_chosen() {
        use clap::{CommandFactory as _, Parser};
        let kind = |args: &[&str]| {
            let test = Test::try_parse_from([&["test"], args].concat()).unwrap();
            test.backend.kind()
        };
        assert_eq!(kind(&[]), BackendKind::Docker);
        assert_eq!(kind(&["--backend", "local"]), BackendKind::Local);
        assert!(Test::try_parse_from(["test", "--backend", "k8s"]).is_err());
        let command = Test::command();
        let arg = command.get_arguments().find(|a| a.get_id() == "backend");
        let env = arg.and_then(|a| a.get_env());
        assert_eq!(env.and_then(|e| e.to_str()), Some("PLAYLAB_BACKEND"));
    }

    /// `playlab test` takes lesson paths after the flags: a bare `--allow-privileged`
    /// must not swallow one as its value.
    #[test]
    fn a_bare_allow_system_nodes_leaves_the_lesson_path_alone() {
        use clap::Parser;
        let test =
            Test::try_parse_from(["test", "--allow-privileged", "content/kubeadm-init"]).unwrap();
        assert_eq!(test.nodes.allow_system_nodes, Some(true));
        assert_eq!(test.lessons.paths, [PathBuf::from("content/kubeadm-init")]);
        assert!(Test::try_parse_from(["test", "--allow-privileged=maybe"]).is_err());
        let test = Test::try_parse_from(["test", "--allow-system-nodes", "x"]).unwrap();
        assert_eq!(test.nodes.allow_system_nodes, Some(true));
        assert_eq!(test.lessons.paths, [PathBuf::from("x")]);
        let test = Test::try_parse_from(["test"]).unwrap();
        assert_eq!(test.lessons.paths, [PathBuf::from("content")]);
    }
}
