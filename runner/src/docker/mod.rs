//! The Docker backend: each session's environment is one private bridge network with
//! one container per node, driven through the Docker Engine API with bollard.
//!
//! The backend keeps no state of its own: every container, network and volume carries
//! the labels `playlab.session`, `playlab.lesson` (and `playlab.node` on containers and
//! volumes), and has a name derived from the session (`playlab-<session>` for the
//! network, `playlab-<session>-<node>` for nodes, `playlab-<session>-<node>-<what>`
//! for a system node's volumes). So a restarted server finds, uses and cleans
//! up environments it did not start.
//!
//! What starting means (checks, files, setup scripts) is the [`crate::environment`]
//! plan's; this backend supplies images, the network, containers and uploads.
//!
//! Submodules: `config` (the operator's limits), `labels` (names and labels),
//! `engine` (reading the engine's errors), `network` (the session network), `node`
//! (container settings, the system profile, file uploads), `volume` (system nodes'
//! volumes), `exec` (non-interactive commands), `terminal` (interactive TTYs).

mod config;
mod engine;
mod exec;
mod host;
mod labels;
mod liveness;
mod network;
mod node;
mod swarm;
mod terminal;
mod tls;
mod volume;

use std::collections::{BTreeSet, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU16;
use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;
use bollard::query_parameters::{ListContainersOptions, RemoveContainerOptions};
use futures::future::{join_all, try_join_all};
use scenarios::{Lesson, NodeImage};

use crate::backend::{
    Backend, EnvironmentInfo, ExecOutput, ExecRequest, NodeInfo, ProgressSender, TermSize, Terminal,
};
use crate::environment::{NodeFile, Plan, Provision};
use crate::error::RunnerError;
use crate::image::ImageStore;
use crate::session::SessionId;
use engine::{all_removed, is_not_found};
use labels::{environment_labels, label_filter, owned_labels, session_label};

pub use config::{DockerConfig, EngineAddress, SystemNodes};
pub use host::{HostSupport, Probe};
pub use labels::{
    LABEL_LESSON, LABEL_NODE, LABEL_OWNER, LABEL_SESSION, container_name, network_name,
};
pub use liveness::{LABEL_LIVENESS, Liveness, Orphan};
pub use swarm::{Host, SwarmBackend, SwarmOptions};
pub use tls::{CertError, ClientFiles, PoolCertificates, PoolHost, host_folder};

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
        let docker = engine_client(&config.engine).await?;
        let images = ImageStore::new(docker.clone());
        Ok(DockerBackend {
            docker,
            config,
            images,
        })
    }

    /// What this host supports (engine, cgroups, privileged containers, the system
    /// profile), found by starting a probe container of each kind; for the log at start.
    pub async fn host_support(&self) -> HostSupport {
        HostSupport::detect(&self.docker, &self.config).await
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
    /// the reference to run. `start` calls it for each distinct image of a lesson, so
    /// its [`RunnerError::ImageUnavailable`] reaches `playlab test` through `start`
    /// (the self-test reports the lesson skipped); it is public for the Docker tests,
    /// which prepare images without starting an environment.
    pub async fn ensure_image(
        &self,
        image: &NodeImage,
        progress: &ProgressSender,
    ) -> Result<String, RunnerError> {
        self.images.ensure(image, progress).await
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
        if scenarios::units::is_dns_label(node) {
            Ok(container_name(session, node))
        } else {
            Err(RunnerError::NoNode {
                session: session.clone(),
                node: node.to_owned(),
            })
        }
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

/// A client of the engine at `engine`, settled on an API version it speaks (bollard
/// defaults to a newer one than Debian's Docker 20.10 knows).
pub(crate) async fn engine_client(engine: &EngineAddress) -> Result<Docker, RunnerError> {
    let unreachable = |e: bollard::errors::Error| RunnerError::EngineUnreachable {
        socket: engine.to_string(),
        source: e.into(),
    };
    let version = bollard::API_DEFAULT_VERSION;
    let docker = match engine {
        EngineAddress::Unix(path) => {
            Docker::connect_with_unix(&path.to_string_lossy(), 120, version)
        }
        EngineAddress::Tcp(authority) => {
            Docker::connect_with_http(&format!("http://{authority}"), 120, version)
        }
        EngineAddress::Tls { authority, files } => Docker::connect_with_ssl(
            authority,
            &files.key(),
            &files.cert(),
            &files.ca(),
            120,
            version,
        ),
    };
    docker
        .map_err(unreachable)?
        .negotiate_version()
        .await
        .map_err(unreachable)
}

/// Every node's image of `lesson` made available in `images`, each distinct image once
/// and concurrently; the references to run, in node order.
pub(crate) async fn lesson_images(
    images: &ImageStore,
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
    let resolved = try_join_all(distinct.iter().map(|i| images.ensure(i, progress))).await?;
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

#[async_trait]
impl Provision for DockerBackend {
    /// Each node's image reference, in node order.
    type Prepared = Vec<String>;

    fn allow_system_nodes(&self) -> bool {
        self.config.system_nodes.allowed()
    }

    fn setup_timeout(&self) -> Duration {
        self.config.setup_timeout
    }

    async fn prepare(
        &self,
        session: &SessionId,
        plan: &Plan<'_>,
        progress: &ProgressSender,
    ) -> Result<Vec<String>, RunnerError> {
        if network::exists(&self.docker, session).await?
            || !self.session_containers(session).await?.is_empty()
        {
            return Err(RunnerError::AlreadyStarted(session.clone()));
        }
        lesson_images(&self.images, plan.lesson(), progress).await
    }

    async fn create_nodes(
        &self,
        session: &SessionId,
        plan: &Plan<'_>,
        images: Vec<String>,
        progress: &ProgressSender,
    ) -> Result<Vec<NodeInfo>, RunnerError> {
        let lesson = plan.lesson();
        let network = network::create(
            &self.docker,
            session,
            lesson,
            environment_labels(&self.config, session, &lesson.id),
            network::NetworkKind::Bridge,
        )
        .await?;
        try_join_all(plan.nodes().iter().zip(&images).map(|(spec, image)| {
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
        }))
        .await
    }

    async fn place_files(
        &self,
        session: &SessionId,
        node: &str,
        files: &[NodeFile],
    ) -> Result<(), RunnerError> {
        node::upload(&self.docker, &container_name(session, node), files).await
    }
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
        crate::environment::start(self, session, lesson, &progress).await
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
        match terminal::attach(&self.docker, &self.config.engine, &container, size).await {
            Err(RunnerError::Docker(e)) if is_not_found(&e) => {
                Err(self.missing_node(session, node).await)
            }
            other => other,
        }
    }

    /// The node container's address on the session network, which the host reaches
    /// through its side of the bridge even when the network is `internal` (that only
    /// stops forwarding, not the host's own connections). Only a container carrying
    /// the session's label counts, and only its address on that session's network.
    async fn port_address(
        &self,
        session: &SessionId,
        node: &str,
        port: NonZeroU16,
    ) -> Result<SocketAddr, RunnerError> {
        let container = self.node_container(session, node)?;
        let inspect = match self.docker.inspect_container(&container, None).await {
            Err(e) if is_not_found(&e) => return Err(self.missing_node(session, node).await),
            other => other?,
        };
        let ours = inspect
            .config
            .and_then(|c| c.labels)
            .is_some_and(|l| l.get(LABEL_SESSION).map(String::as_str) == Some(session.as_str()));
        let address = inspect
            .network_settings
            .and_then(|s| s.networks)
            .and_then(|mut n| n.remove(&network_name(session)))
            .and_then(|e| e.ip_address)
            .and_then(|ip| ip.parse::<IpAddr>().ok());
        match address {
            Some(ip) if ours => Ok(SocketAddr::new(ip, port.get())),
            _ => Err(RunnerError::NoNode {
                session: session.clone(),
                node: node.to_owned(),
            }),
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
        all_removed(removed)?;
        network::remove_all(&self.docker, session).await?;
        volume::remove_all(&self.docker, session).await
    }

    async fn environments(&self) -> Result<Vec<SessionId>, RunnerError> {
        let sessions: BTreeSet<SessionId> = self
            .labelled(owned_labels(&self.config))
            .await?
            .into_iter()
            .filter_map(|labels| labels.get(LABEL_SESSION)?.parse().ok())
            .collect();
        Ok(sessions.into_iter().collect())
    }
}

impl DockerBackend {
    /// The labels of every container, network and volume that carries all `terms`:
    /// an environment is whatever of it is left, a network without nodes included.
    async fn labelled(
        &self,
        terms: Vec<String>,
    ) -> Result<Vec<std::collections::HashMap<String, String>>, RunnerError> {
        let containers = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(label_filter(terms.clone())),
                ..Default::default()
            }))
            .await?;
        let container_labels = containers.into_iter().filter_map(|c| c.labels);
        let network_labels = network::list(&self.docker, terms.clone())
            .await?
            .into_iter()
            .filter_map(|n| n.labels);
        let volume_labels = volume::list(&self.docker, terms)
            .await?
            .into_iter()
            .map(|v| v.labels);
        Ok(container_labels
            .chain(network_labels)
            .chain(volume_labels)
            .collect())
    }
}
