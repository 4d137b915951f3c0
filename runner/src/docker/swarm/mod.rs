//! The Swarm backend: a session's environment spread over a pool of Docker hosts that
//! `docker swarm init` / `join` made one. Each node is a Swarm service with one
//! replica on an overlay network per session; Swarm places the tasks by the memory
//! they reserve, and the operator's ceilings and labels are the Docker backend's.
//!
//! Swarm has no exec API: commands, terminals and files go to the engine of the host
//! that runs the node's task ([`tasks`]), with the Docker backend's own code for each.
//! Images are made on the manager (pulled or built) and pushed to the registry every
//! host pulls from ([`registry`]).
//!
//! Like the Docker backend it keeps no state a restarted server would need: services
//! and networks carry the same labels and names (`playlab-<session>-<node>`,
//! `playlab-<session>`), and the manager lists them.
//!
//! Not on Swarm: system nodes (a service cannot ask for unconfined seccomp or
//! AppArmor, which nested runtimes need), web ports (the overlay is not reachable from
//! the server).

mod capacity;
mod health;
mod registry;
mod service;
mod tasks;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;
use bollard::query_parameters::{ListServicesOptions, ListTasksOptions};
use futures::future::{join_all, try_join_all};
use scenarios::{Lesson, NodeSpec};

use super::config::DockerConfig;
use super::engine::{all_removed, is_not_found};
use super::labels::{
    LABEL_NODE, LABEL_SESSION, container_name, environment_labels, label_filter, network_name,
    owned_labels, session_label,
};
use super::network::{self, NetworkKind};
use super::node::node_memory;
use super::tls::ClientFiles;
use super::{engine_client, exec, lesson_images, liveness, node, terminal};
use crate::backend::{
    Backend, EnvironmentInfo, ExecOutput, ExecRequest, HostsReport, NodeInfo, ProgressSender,
    TermSize, Terminal,
};
use crate::environment::{NodeFile, Plan, Provision};
use crate::error::RunnerError;
use crate::image::ImageStore;
use crate::session::SessionId;
use registry::Registry;
use service::Placement;
use tasks::{Located, Tasks};

pub use tasks::Host;

/// What the operator decides about the pool, beyond what every node gets.
#[derive(Debug, Clone, PartialEq)]
pub struct SwarmOptions {
    /// `HOST:PORT` of the registry every host pulls from. Each image a lesson needs is
    /// pushed there through the manager's engine, which must be able to reach it (and
    /// trust it, e.g. as an insecure registry). `None`: every host must already have
    /// (or be able to pull) every image itself.
    pub registry: Option<String>,
    /// The port of each host's engine API, on the address the host advertises in the
    /// swarm.
    pub host_engine_port: u16,
    /// Client certificate files for every engine of the pool, the manager's included
    /// (see [`super::PoolCertificates`]); `None`: plain TCP.
    pub tls: Option<ClientFiles>,
    /// Keep each session's nodes on one host (beside its first node) instead of
    /// wherever Swarm spreads them.
    pub keep_together: bool,
}

impl Default for SwarmOptions {
    fn default() -> Self {
        SwarmOptions {
            registry: None,
            host_engine_port: 2375,
            tls: None,
            keep_together: false,
        }
    }
}

/// Environments as Swarm services on an overlay network per session.
pub struct SwarmBackend {
    manager: Docker,
    config: DockerConfig,
    options: SwarmOptions,
    images: ImageStore,
    registry: Option<Registry>,
    tasks: Tasks,
}

impl SwarmBackend {
    /// Connects to the manager at `config.engine`, which must be a manager of an
    /// active swarm.
    pub async fn connect(
        mut config: DockerConfig,
        options: SwarmOptions,
    ) -> Result<SwarmBackend, RunnerError> {
        if let Some(files) = &options.tls {
            config.engine = config.engine.with_tls(files.clone());
        }
        let manager = engine_client(&config.engine).await?;
        let info = manager.info().await?;
        let is_manager = info
            .swarm
            .as_ref()
            .and_then(|s| s.control_available)
            .unwrap_or(false);
        if !is_manager {
            return Err(RunnerError::NotAManager {
                engine: config.engine.to_string(),
            });
        }
        Ok(SwarmBackend {
            images: ImageStore::new(manager.clone()),
            registry: options
                .registry
                .clone()
                .map(|address| Registry::new(manager.clone(), address)),
            tasks: Tasks::new(
                manager.clone(),
                options.host_engine_port,
                options.tls.clone(),
            ),
            manager,
            config,
            options,
        })
    }

    /// Where `image:` references and `build:` folders become images on the manager,
    /// before they are pushed to the registry.
    pub fn images(&self) -> &ImageStore {
        &self.images
    }

    /// The server's liveness record, on the manager (see [`super::Liveness`]).
    pub async fn hold_liveness(&self) -> Result<Option<super::Liveness>, RunnerError> {
        liveness::hold(&self.manager, &self.images, self.config.owner.clone()).await
    }

    /// Every environment on the swarm whose owner holds no liveness record on the
    /// manager: what `playlab gc --backend swarm` removes.
    pub async fn orphans(&self, owner: Option<&str>) -> Result<Vec<super::Orphan>, RunnerError> {
        let live = liveness::live_owners(&self.manager).await?;
        let labelled = self.labelled(liveness::environment_terms(owner)).await?;
        Ok(liveness::orphans_among(&live, labelled))
    }

    /// The labels of every service and network that carries all `terms`: an
    /// environment is whatever of it is left, a network without services included.
    async fn labelled(
        &self,
        terms: Vec<String>,
    ) -> Result<Vec<HashMap<String, String>>, RunnerError> {
        let services = self.services(terms.clone()).await?;
        let networks = network::list(&self.manager, terms).await?;
        Ok(services
            .into_iter()
            .map(|s| s.labels)
            .chain(networks.into_iter().filter_map(|n| n.labels))
            .collect())
    }

    /// The manager's client, for callers that inspect what the backend created.
    pub fn manager(&self) -> &Docker {
        &self.manager
    }

    /// Where each node of the session runs: `(node, host)` in node order.
    pub async fn placement(&self, session: &SessionId) -> Result<Vec<(String, Host)>, RunnerError> {
        let mut placed = Vec::new();
        for service in self.session_services(session).await? {
            let Some(node) = service.labels.get(LABEL_NODE) else {
                continue;
            };
            if let Some(located) = self.tasks.locate(session, node, &service.name).await? {
                placed.push((node.clone(), located.host));
            }
        }
        placed.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(placed)
    }

    /// Every host of the pool, by the address its engine advertises.
    pub async fn hosts(&self) -> Result<Vec<Host>, RunnerError> {
        let nodes = self.manager.list_nodes(None).await?;
        try_join_all(
            nodes
                .iter()
                .filter_map(|n| n.id.as_deref())
                .map(|id| self.tasks.host(id)),
        )
        .await
    }

    async fn session_services(&self, session: &SessionId) -> Result<Vec<Service>, RunnerError> {
        self.services(vec![session_label(session)]).await
    }

    async fn services(&self, terms: Vec<String>) -> Result<Vec<Service>, RunnerError> {
        let services = self
            .manager
            .list_services(Some(ListServicesOptions {
                filters: Some(label_filter(terms)),
                ..Default::default()
            }))
            .await?;
        Ok(services
            .into_iter()
            .filter_map(|s| {
                let spec = s.spec?;
                Some(Service {
                    id: s.id?,
                    name: spec.name?,
                    labels: spec.labels.unwrap_or_default(),
                })
            })
            .collect())
    }

    /// The node's container, or why there is none: the node is unknown if the session
    /// still has services, else the whole environment is gone.
    async fn located(&self, session: &SessionId, node: &str) -> Result<Located, RunnerError> {
        if !scenarios::units::is_dns_label(node) {
            return Err(RunnerError::NoNode {
                session: session.clone(),
                node: node.to_owned(),
            });
        }
        match self
            .tasks
            .locate(session, node, &container_name(session, node))
            .await
        {
            Ok(Some(located)) => Ok(located),
            Err(RunnerError::Docker(e)) if !is_not_found(&e) => Err(RunnerError::Docker(e)),
            _ => Err(self.missing_node(session, node).await),
        }
    }

    async fn missing_node(&self, session: &SessionId, node: &str) -> RunnerError {
        match self.session_services(session).await {
            Ok(services) if services.is_empty() => RunnerError::NoEnvironment(session.clone()),
            Ok(_) => RunnerError::NoNode {
                session: session.clone(),
                node: node.to_owned(),
            },
            Err(e) => e,
        }
    }

    /// Creates one node's service and waits for its task to run.
    async fn create_node(
        &self,
        start: &Start<'_>,
        spec: &NodeSpec,
        image: &str,
        placement: &Placement,
    ) -> Result<(NodeInfo, Located), RunnerError> {
        let Start {
            session,
            lesson,
            network,
            progress,
        } = *start;
        let name = container_name(session, &spec.name);
        self.manager
            .create_service(
                service::spec(
                    &self.config,
                    session,
                    lesson,
                    spec,
                    image,
                    network,
                    placement,
                ),
                None,
            )
            .await?;
        let located = self
            .tasks
            .wait_running(session, &spec.name, &name, image, progress)
            .await?;
        let inspect = located
            .host
            .docker
            .inspect_container(&located.container, None)
            .await?;
        Ok((
            NodeInfo {
                name: spec.name.clone(),
                address: node::address_on(inspect, network),
            },
            located,
        ))
    }

    /// Creates `nodes` concurrently, all under one placement.
    async fn create_placed(
        &self,
        start: &Start<'_>,
        nodes: &[(&NodeSpec, &String)],
        placement: Placement,
    ) -> Result<Vec<NodeInfo>, RunnerError> {
        try_join_all(nodes.iter().map(|(spec, image)| async {
            self.create_node(start, spec, image, &placement)
                .await
                .map(|(info, _)| info)
        }))
        .await
    }
}

/// What every node of one environment's start shares.
#[derive(Clone, Copy)]
struct Start<'a> {
    session: &'a SessionId,
    lesson: &'a Lesson,
    network: &'a str,
    progress: &'a ProgressSender,
}

struct Service {
    id: String,
    name: String,
    labels: HashMap<String, String>,
}

/// How long `destroy` waits for Swarm to let go of a session's overlay, which it
/// removes only once the deleted services' tasks have shut down.
const NETWORK_RELEASE_LIMIT: Duration = Duration::from_secs(60);

#[async_trait]
impl Provision for SwarmBackend {
    /// Each node's image reference, as every host pulls it.
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
        if let Some(node) = plan.nodes().iter().find(|n| n.system) {
            return Err(RunnerError::NotOnSwarm {
                node: node.name.clone(),
            });
        }
        if network::exists(&self.manager, session).await?
            || !self.session_services(session).await?.is_empty()
        {
            return Err(RunnerError::AlreadyStarted(session.clone()));
        }
        let local = lesson_images(&self.images, plan.lesson(), progress).await?;
        match &self.registry {
            Some(registry) => try_join_all(local.iter().map(|image| registry.publish(image))).await,
            None => Ok(local),
        }
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
            &self.manager,
            session,
            lesson,
            environment_labels(&self.config, session, &lesson.id),
            NetworkKind::Overlay,
        )
        .await?;
        let start = Start {
            session,
            lesson,
            network: &network,
            progress,
        };
        let nodes: Vec<(&NodeSpec, &String)> = plan.nodes().iter().zip(&images).collect();
        if !self.options.keep_together {
            return self
                .create_placed(&start, &nodes, Placement::Anywhere)
                .await;
        }
        // Together: the first node where Swarm puts it, the others on its host.
        let ((spec, image), rest) = nodes.split_first().expect("a plan has nodes");
        let (info, located) = self
            .create_node(&start, spec, image, &Placement::Anywhere)
            .await?;
        let beside = Placement::On(located.host.id.clone());
        let others = self.create_placed(&start, rest, beside).await?;
        Ok(std::iter::once(info).chain(others).collect())
    }

    async fn place_files(
        &self,
        session: &SessionId,
        node: &str,
        files: &[NodeFile],
    ) -> Result<(), RunnerError> {
        let located = self.located(session, node).await?;
        node::upload(&located.host.docker, &located.container, files).await
    }
}

#[async_trait]
impl Backend for SwarmBackend {
    fn name(&self) -> &'static str {
        "swarm"
    }

    async fn ping(&self) -> Result<(), RunnerError> {
        self.manager.ping().await?;
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
        let located = self.located(session, node).await?;
        match exec::run(&located.host.docker, &located.container, request).await {
            Err(RunnerError::Docker(e)) if is_not_found(&e) => {
                self.tasks.forget(session, Some(node));
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
        let located = self.located(session, node).await?;
        let Located { host, container } = &located;
        match terminal::attach(&host.docker, &host.engine, container, size).await {
            Err(RunnerError::Docker(e)) if is_not_found(&e) => {
                self.tasks.forget(session, Some(node));
                Err(self.missing_node(session, node).await)
            }
            other => other,
        }
    }

    async fn destroy(&self, session: &SessionId) -> Result<(), RunnerError> {
        let services = self.session_services(session).await?;
        let removed = join_all(services.iter().map(|s| self.manager.delete_service(&s.id))).await;
        self.tasks.forget(session, None);
        all_removed(removed)?;
        let deadline = tokio::time::Instant::now() + NETWORK_RELEASE_LIMIT;
        // Removing an overlay that tasks still use is refused, or accepted and done
        // once they are gone: done only when the manager no longer lists it.
        loop {
            let removed = match network::remove_all(&self.manager, session).await {
                Ok(()) => network::exists(&self.manager, session).await,
                Err(e) => Err(e),
            };
            match removed {
                Ok(false) => return Ok(()),
                Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
                Ok(true) if tokio::time::Instant::now() >= deadline => {
                    return Err(RunnerError::NetworkInUse(network_name(session)));
                }
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }

    async fn room_for(&self, lesson: &Lesson) -> Result<(), RunnerError> {
        let hosts = self.manager.list_nodes(None).await?;
        let running = self
            .manager
            .list_tasks(Some(ListTasksOptions {
                filters: Some([("desired-state".to_owned(), vec!["running".to_owned()])].into()),
            }))
            .await?;
        let needs: Vec<(String, i64)> = lesson
            .environment
            .nodes
            .iter()
            .map(|n| (n.name.clone(), node_memory(&self.config, n)))
            .collect();
        capacity::fits(&hosts, &running, &needs, self.options.keep_together)
            .map_err(|(node, reason)| RunnerError::PoolFull { node, reason })
    }

    /// One look at the manager (services, hosts, tasks) for both halves.
    async fn hosts_report(&self) -> Result<HostsReport, RunnerError> {
        let services = self.services(owned_labels(&self.config)).await?;
        if services.is_empty() {
            return Ok(HostsReport::default());
        }
        let hosts = self.manager.list_nodes(None).await?;
        let tasks = self.manager.list_tasks(None).await?;
        Ok(HostsReport {
            hosts: health::hosts_of(&services, &hosts, &tasks),
            lost: health::lost(&services, &hosts, &tasks),
        })
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
