//! The Docker backend: each session's environment is one private bridge network with
//! one container per node, driven through the Docker Engine API with bollard.
//!
//! The backend keeps no state of its own: every container and network carries the
//! labels `playlab.session`, `playlab.lesson` (and `playlab.node` on containers), and
//! has a name derived from the session (`playlab-<session>` for the network,
//! `playlab-<session>-<node>` for nodes). So a restarted server finds, uses and cleans
//! up environments it did not start.
//!
//! Submodules: [`network`] (the session network), [`node`] (container settings, file
//! uploads), [`exec`] (non-interactive commands), [`terminal`] (interactive TTYs).

mod exec;
mod network;
mod node;
mod terminal;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;
use bollard::query_parameters::{ListContainersOptions, RemoveContainerOptions};
use futures::future::{join_all, try_join_all};
use scenarios::{Lesson, NodeImage};

use crate::backend::{
    Backend, EnvironmentInfo, ExecOutput, ExecRequest, Progress, ProgressSender, RunnerError,
    SessionId, TermSize, Terminal,
};
use crate::image::ImageStore;
use crate::pki::{ClusterIdentity, ClusterNode, kubernetes_pki};

pub use node::NodeFile;

/// Label holding the session id, on every container and network playlab creates.
pub const LABEL_SESSION: &str = "playlab.session";
/// Label holding the lesson id.
pub const LABEL_LESSON: &str = "playlab.lesson";
/// Label holding the node name (containers only: a network belongs to no single node).
pub const LABEL_NODE: &str = "playlab.node";
/// Label holding [`DockerConfig::owner`], when set.
pub const LABEL_OWNER: &str = "playlab.owner";

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
    /// Run nodes whose lesson says `privileged: true` with `--privileged`. Off by
    /// default, and then such a lesson does not start
    /// ([`RunnerError::PrivilegedNotAllowed`]): a privileged container can take over
    /// the host. No other node is ever privileged.
    pub allow_privileged: bool,
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
            allow_privileged: false,
            log_max_size: "1m".to_owned(),
            setup_timeout: Duration::from_secs(300),
            owner: None,
        }
    }
}

/// `DOCKER_HOST` when it names a Unix socket, else the standard socket path.
fn default_socket() -> PathBuf {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|host| host.strip_prefix("unix://").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/var/run/docker.sock"))
}

/// Environments as Docker containers on a private network per session.
pub struct DockerBackend {
    docker: Docker,
    config: DockerConfig,
    images: ImageStore,
}

impl DockerBackend {
    /// Connects to the engine and settles on an API version it speaks (bollard
    /// defaults to a newer one than Debian's Docker 20.10 knows).
    pub async fn connect(config: DockerConfig) -> Result<DockerBackend, RunnerError> {
        let socket = config.socket.to_string_lossy().into_owned();
        let docker = Docker::connect_with_unix(&socket, 120, bollard::API_DEFAULT_VERSION)
            .map_err(|e| unreachable_engine(&socket, e))?
            .negotiate_version()
            .await
            .map_err(|e| unreachable_engine(&socket, e))?;
        let images = ImageStore::new(docker.clone());
        Ok(DockerBackend {
            docker,
            config,
            images,
        })
    }

    /// The bollard client, for callers that inspect what the backend created.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    pub fn config(&self) -> &DockerConfig {
        &self.config
    }

    /// Where `image:` references and `build:` folders become local images.
    pub fn images(&self) -> &ImageStore {
        &self.images
    }

    /// Makes one node image available locally (pulling or building it) and returns
    /// the reference to run. `playlab test` uses the error to report a lesson as
    /// skipped because its image is unavailable.
    pub async fn ensure_image(
        &self,
        image: &NodeImage,
        progress: &ProgressSender,
    ) -> Result<String, RunnerError> {
        self.images.ensure(image, progress).await
    }

    /// Every node's image, each distinct image once and concurrently, in node order.
    async fn ensure_lesson_images(
        &self,
        lesson: &Lesson,
        progress: &ProgressSender,
    ) -> Result<Vec<String>, RunnerError> {
        let distinct: Vec<&NodeImage> = {
            let mut seen = HashSet::new();
            lesson
                .environment
                .nodes
                .iter()
                .map(|n| &n.image)
                .filter(|i| seen.insert(*i))
                .collect()
        };
        let resolved =
            try_join_all(distinct.iter().map(|i| self.ensure_image(i, progress))).await?;
        Ok(lesson
            .environment
            .nodes
            .iter()
            .map(|n| {
                let at = distinct
                    .iter()
                    .position(|i| **i == n.image)
                    .expect("seen above");
                resolved[at].clone()
            })
            .collect())
    }

    /// Everything `start` does after the images are there; on error the caller
    /// removes whatever this created.
    async fn create_environment(
        &self,
        session: &SessionId,
        lesson: &Lesson,
        images: &[String],
        progress: &ProgressSender,
    ) -> Result<EnvironmentInfo, RunnerError> {
        let network = network::create(
            &self.docker,
            session,
            lesson,
            environment_labels(&self.config, session, lesson),
        )
        .await?;
        let nodes = try_join_all(lesson.environment.nodes.iter().zip(images).map(
            |(spec, image)| {
                node::create_and_start(
                    &self.docker,
                    &self.config,
                    session,
                    lesson,
                    spec,
                    image,
                    &network,
                    progress,
                )
            },
        ))
        .await?;
        let info = EnvironmentInfo {
            session: session.clone(),
            nodes,
        };

        let mut files = node::asset_files(lesson).await?;
        if let Some(pki) = &lesson.environment.pki {
            for (node, pki_files) in pki_files(pki, &info)? {
                files.entry(node).or_default().extend(pki_files);
            }
        }
        try_join_all(files.iter().map(|(node, files)| async move {
            node::upload(&self.docker, &container_name(session, node), files).await
        }))
        .await?;

        // Foreground scripts are the server's: it runs them in the learner's terminal
        // once the session is ready.
        for script in lesson.setup.iter().filter(|s| !s.foreground) {
            self.run_setup_script(session, &script.node, &script.run, progress)
                .await?;
        }
        for spec in &lesson.environment.nodes {
            progress.send(Progress::Node {
                node: spec.name.clone(),
                status: "ready".to_owned(),
            });
        }
        Ok(info)
    }

    async fn run_setup_script(
        &self,
        session: &SessionId,
        node: &str,
        script: &str,
        progress: &ProgressSender,
    ) -> Result<(), RunnerError> {
        let out = self
            .exec(
                session,
                node,
                ExecRequest::new(script, self.config.setup_timeout),
            )
            .await?;
        let output = format!("{}{}", out.stdout, out.stderr);
        for line in output.lines() {
            progress.send(Progress::Setup {
                node: node.to_owned(),
                line: line.to_owned(),
            });
        }
        if out.success() {
            Ok(())
        } else {
            let output = if out.timed_out {
                format!("{output}(killed after {:?})", self.config.setup_timeout)
            } else {
                output
            };
            Err(RunnerError::SetupFailed {
                node: node.to_owned(),
                exit_code: out.exit_code,
                output,
            })
        }
    }

    /// The error for a container that does not exist: the node is unknown if the
    /// session still has its network, else the whole environment is gone.
    async fn missing_node(&self, session: &SessionId, node: &str) -> RunnerError {
        match network::exists(&self.docker, session).await {
            Ok(true) => RunnerError::NoNode {
                session: session.clone(),
                node: node.to_owned(),
            },
            Ok(false) => RunnerError::NoEnvironment(session.clone()),
            Err(e) => e,
        }
    }

    /// The container of a node, or a clear error when the name cannot be one.
    fn node_container(&self, session: &SessionId, node: &str) -> Result<String, RunnerError> {
        if is_dns_label(node) {
            Ok(container_name(session, node))
        } else {
            Err(RunnerError::NoNode {
                session: session.clone(),
                node: node.to_owned(),
            })
        }
    }

    /// The label filter terms for every environment this backend owns.
    fn owned_labels(&self) -> Vec<String> {
        let mut terms = vec![LABEL_SESSION.to_owned()];
        if let Some(owner) = &self.config.owner {
            terms.push(format!("{LABEL_OWNER}={owner}"));
        }
        terms
    }

    async fn session_containers(&self, session: &SessionId) -> Result<Vec<String>, RunnerError> {
        let containers = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(label_filter([session_label(session)])),
                ..Default::default()
            }))
            .await?;
        Ok(containers.into_iter().filter_map(|c| c.id).collect())
    }
}

/// The session's PKI (see [`crate::pki`]), issued for the nodes' names and addresses,
/// as the files each node receives.
fn pki_files(
    pki: &scenarios::Pki,
    environment: &EnvironmentInfo,
) -> Result<BTreeMap<String, Vec<NodeFile>>, RunnerError> {
    let scenarios::Pki::Kubernetes { short_lived } = pki;
    let cluster = ClusterIdentity {
        nodes: environment
            .nodes
            .iter()
            .map(|n| ClusterNode::new(&n.name, n.address.as_deref().and_then(|a| a.parse().ok())))
            .collect(),
    };
    let issued = kubernetes_pki(&cluster, short_lived)
        .map_err(|e| RunnerError::Other(format!("issuing the session PKI: {e}")))?;
    Ok(issued
        .nodes()
        .map(|(node, files)| (node.to_owned(), files.to_vec()))
        .collect())
}

#[async_trait]
impl Backend for DockerBackend {
    fn name(&self) -> &'static str {
        "docker"
    }

    async fn ping(&self) -> Result<(), RunnerError> {
        self.docker.ping().await?;
        Ok(())
    }

    async fn start(
        &self,
        session: &SessionId,
        lesson: &Lesson,
        progress: ProgressSender,
    ) -> Result<EnvironmentInfo, RunnerError> {
        if let Some(bad) = lesson
            .environment
            .nodes
            .iter()
            .find(|n| !is_dns_label(&n.name))
        {
            return Err(RunnerError::Other(format!(
                "node name {:?} is not a DNS label (lowercase letters, digits and '-', at most 63)",
                bad.name
            )));
        }
        if lesson.environment.nodes.is_empty() {
            return Err(RunnerError::Other(format!(
                "lesson {} has no nodes",
                lesson.id
            )));
        }
        // Before the images: a lesson this host may not run costs no build.
        if let Some(node) = lesson
            .environment
            .nodes
            .iter()
            .find(|n| n.privileged && !self.config.allow_privileged)
        {
            return Err(RunnerError::PrivilegedNotAllowed {
                node: node.name.clone(),
            });
        }
        if network::exists(&self.docker, session).await?
            || !self.session_containers(session).await?.is_empty()
        {
            return Err(RunnerError::Other(format!(
                "session {session} already has an environment"
            )));
        }
        // Images first: nothing to clean up if one is unavailable.
        let images = self.ensure_lesson_images(lesson, &progress).await?;
        match self
            .create_environment(session, lesson, &images, &progress)
            .await
        {
            Ok(info) => Ok(info),
            Err(e) => {
                if let Err(cleanup) = self.destroy(session).await {
                    tracing::error!(%session, error = %cleanup, "removing a failed environment");
                }
                Err(e)
            }
        }
    }

    async fn exec(
        &self,
        session: &SessionId,
        node: &str,
        request: ExecRequest,
    ) -> Result<ExecOutput, RunnerError> {
        let container = self.node_container(session, node)?;
        match exec::run(&self.docker, &container, request).await {
            Err(RunnerError::Docker(e)) if is_not_found(&e) => {
                Err(self.missing_node(session, node).await)
            }
            other => other,
        }
    }

    async fn attach(
        &self,
        session: &SessionId,
        node: &str,
        size: TermSize,
    ) -> Result<Terminal, RunnerError> {
        let container = self.node_container(session, node)?;
        match terminal::attach(&self.docker, &self.config.socket, &container, size).await {
            Err(RunnerError::Docker(e)) if is_not_found(&e) => {
                Err(self.missing_node(session, node).await)
            }
            other => other,
        }
    }

    async fn destroy(&self, session: &SessionId) -> Result<(), RunnerError> {
        let containers = self.session_containers(session).await?;
        let removed = join_all(containers.iter().map(|id| {
            self.docker.remove_container(
                id,
                Some(RemoveContainerOptions {
                    force: true,
                    v: true,
                    ..Default::default()
                }),
            )
        }))
        .await;
        for result in removed {
            // Gone already (another destroy raced us) is what we wanted.
            match result {
                Err(e) if !is_not_found(&e) && !is_removal_in_progress(&e) => return Err(e.into()),
                _ => {}
            }
        }
        network::remove_all(&self.docker, session).await
    }

    async fn environments(&self) -> Result<Vec<SessionId>, RunnerError> {
        let containers = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(label_filter(self.owned_labels())),
                ..Default::default()
            }))
            .await?;
        let container_sessions = containers.into_iter().filter_map(|c| c.labels);
        let network_sessions = network::list(&self.docker, self.owned_labels())
            .await?
            .into_iter()
            .filter_map(|n| n.labels);
        let sessions: BTreeSet<SessionId> = container_sessions
            .chain(network_sessions)
            .filter_map(|labels| labels.get(LABEL_SESSION)?.parse().ok())
            .collect();
        Ok(sessions.into_iter().collect())
    }
}

/// `playlab-<session>-<node>`.
pub fn container_name(session: &SessionId, node: &str) -> String {
    format!("playlab-{session}-{node}")
}

/// `playlab-<session>`.
pub fn network_name(session: &SessionId) -> String {
    format!("playlab-{session}")
}

/// The labels on everything an environment has (nodes add [`LABEL_NODE`]).
fn environment_labels(
    config: &DockerConfig,
    session: &SessionId,
    lesson: &Lesson,
) -> HashMap<String, String> {
    let mut labels: HashMap<String, String> = [
        (LABEL_SESSION.to_owned(), session.to_string()),
        (LABEL_LESSON.to_owned(), lesson.id.clone()),
    ]
    .into();
    if let Some(owner) = &config.owner {
        labels.insert(LABEL_OWNER.to_owned(), owner.clone());
    }
    labels
}

/// The label filter term for one session's containers and networks.
fn session_label(session: &SessionId) -> String {
    format!("{LABEL_SESSION}={session}")
}

/// A Docker `label` filter matching objects that carry every term (Docker ANDs them).
fn label_filter(terms: impl IntoIterator<Item = String>) -> HashMap<String, Vec<String>> {
    [("label".to_owned(), terms.into_iter().collect())].into()
}

/// Node names become hostnames and parts of container names.
fn is_dns_label(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn status_code(e: &bollard::errors::Error) -> Option<u16> {
    match e {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

fn is_not_found(e: &bollard::errors::Error) -> bool {
    status_code(e) == Some(404)
}

fn is_removal_in_progress(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 409, message }
        if message.contains("already in progress"))
}

fn unreachable_engine(socket: &str, e: bollard::errors::Error) -> RunnerError {
    RunnerError::Other(format!(
        "cannot reach the Docker engine at {socket}: {e} (install docker.io and start dockerd; see .ci/setup-machine)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_must_be_dns_labels() {
        for good in ["controlplane", "node01", "a", "web-1"] {
            assert!(is_dns_label(good), "{good}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "Node",
            "a_b",
            "a.b",
            "../x",
            &"a".repeat(64),
        ] {
            assert!(!is_dns_label(bad), "{bad}");
        }
    }

    #[test]
    fn names_follow_the_session() {
        let s: SessionId = "abc123".parse().unwrap();
        assert_eq!(container_name(&s, "node01"), "playlab-abc123-node01");
        assert_eq!(network_name(&s), "playlab-abc123");
    }
}
