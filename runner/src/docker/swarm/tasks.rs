//! Finding a node's container: Swarm has no exec API, so a command on a node goes to
//! the engine of the host that runs the node's task, to the task's container.
//!
//! The manager says which task runs a service, on which swarm node, in which
//! container; the swarm node's status says the address its engine advertised. Host
//! engines are cached by swarm node id, located nodes by session and name; both are
//! only caches (a miss asks the manager again), so the backend still keeps no state a
//! restarted server would need.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{Task, TaskState};
use bollard::query_parameters::ListTasksOptions;

use super::super::config::EngineAddress;
use super::super::engine_client;
use super::super::tls::ClientFiles;
use crate::backend::{Progress, ProgressSender};
use crate::error::RunnerError;
use crate::image::ImageStore;
use crate::session::SessionId;

/// One Docker host of the pool, as its engine is reached.
#[derive(Clone)]
pub struct Host {
    /// The host's swarm node id.
    pub id: String,
    /// The host's name in the swarm (its hostname).
    pub name: String,
    pub engine: EngineAddress,
    pub docker: Docker,
}

/// Where a node runs: the host and the container of its task.
#[derive(Clone)]
pub(super) struct Located {
    pub host: Host,
    pub container: String,
}

/// How long a node's task may take to run (pulling its image included).
const TASK_START_LIMIT: Duration = Duration::from_secs(180);
const TASK_POLL: Duration = Duration::from_millis(100);

pub(super) struct Tasks {
    manager: Docker,
    /// The port every host's engine API listens on.
    host_engine_port: u16,
    /// The client files for the hosts' engines, when they speak TLS.
    tls: Option<ClientFiles>,
    hosts: Mutex<HashMap<String, Host>>,
    located: Mutex<HashMap<(SessionId, String), Located>>,
}

impl Tasks {
    pub fn new(manager: Docker, host_engine_port: u16, tls: Option<ClientFiles>) -> Tasks {
        Tasks {
            manager,
            host_engine_port,
            tls,
            hosts: Mutex::new(HashMap::new()),
            located: Mutex::new(HashMap::new()),
        }
    }

    /// The host running the node's task and its container; `None` when the service
    /// has no running task.
    pub async fn locate(
        &self,
        session: &SessionId,
        node: &str,
        service: &str,
    ) -> Result<Option<Located>, RunnerError> {
        let key = (session.clone(), node.to_owned());
        if let Some(located) = self.located.lock().unwrap().get(&key) {
            return Ok(Some(located.clone()));
        }
        let task = self.newest_task(service).await?;
        let Some(task) = task.filter(|t| state(t) == Some(TaskState::RUNNING)) else {
            return Ok(None);
        };
        let located = self.located_task(&task).await?;
        self.located.lock().unwrap().insert(key, located.clone());
        Ok(Some(located))
    }

    /// Waits for the service's task to run, reporting its states as progress; fails
    /// with Swarm's reason when the task fails or no host can take it.
    pub async fn wait_running(
        &self,
        session: &SessionId,
        node: &str,
        service: &str,
        image: &str,
        progress: &ProgressSender,
    ) -> Result<Located, RunnerError> {
        let deadline = Instant::now() + TASK_START_LIMIT;
        let mut reported = None;
        let mut pulled = false;
        loop {
            let task = self.newest_task(service).await?;
            let status = task.as_ref().and_then(|t| t.status.as_ref());
            let reason = status
                .and_then(|s| s.err.clone().or_else(|| s.message.clone()))
                .unwrap_or_default();
            let assigned_to = task.as_ref().and_then(|t| t.node_id.clone());
            match task.as_ref().and_then(state) {
                Some(TaskState::RUNNING) => {
                    let located = self
                        .located_task(task.as_ref().expect("has a state"))
                        .await?;
                    self.located
                        .lock()
                        .unwrap()
                        .insert((session.clone(), node.to_owned()), located.clone());
                    return Ok(located);
                }
                // Swarm keeps a task pending while no host can take it, with a reason
                // such as "no suitable node (insufficient resources on 3 nodes)".
                Some(TaskState::PENDING) if reason.contains("no suitable node") => {
                    return Err(RunnerError::PoolFull {
                        node: node.to_owned(),
                        reason,
                    });
                }
                Some(
                    failed @ (TaskState::FAILED
                    | TaskState::REJECTED
                    | TaskState::SHUTDOWN
                    | TaskState::COMPLETE
                    | TaskState::ORPHANED
                    | TaskState::REMOVE),
                ) => {
                    return Err(RunnerError::TaskFailed {
                        node: node.to_owned(),
                        reason: format!("{failed}: {reason}"),
                    });
                }
                // Assigned to a host that prepares it (pulls its image): pulling the
                // image there too joins that pull, and its layers reach the learner
                // as on Docker.
                Some(TaskState::ASSIGNED | TaskState::ACCEPTED | TaskState::PREPARING)
                    if !pulled && assigned_to.is_some() =>
                {
                    pulled = true;
                    let host = self.host(assigned_to.as_deref().expect("guarded")).await?;
                    let pull = ImageStore::new(host.docker)
                        .ensure_reference(image, progress)
                        .await;
                    if let Err(e) = pull {
                        // The task's own pull says what went wrong, as the task's error.
                        tracing::debug!(node, error = %e, "pulling beside the task");
                    }
                }
                other => {
                    if other != reported {
                        if let Some(state) = other {
                            progress.send(Progress::Node {
                                node: node.to_owned(),
                                status: state.to_string(),
                            });
                        }
                        reported = other;
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(RunnerError::TaskFailed {
                    node: node.to_owned(),
                    reason: format!(
                        "its task did not run within {}s ({})",
                        TASK_START_LIMIT.as_secs(),
                        reported.map_or("no task".to_owned(), |s| s.to_string())
                    ),
                });
            }
            tokio::time::sleep(TASK_POLL).await;
        }
    }

    /// Forgets where a session's nodes ran (destroyed, or a container gone).
    pub fn forget(&self, session: &SessionId, node: Option<&str>) {
        self.located
            .lock()
            .unwrap()
            .retain(|(s, n), _| s != session || node.is_some_and(|node| node != n));
    }

    /// The engine of a swarm node, by its id.
    pub async fn host(&self, id: &str) -> Result<Host, RunnerError> {
        if let Some(host) = self.hosts.lock().unwrap().get(id) {
            return Ok(host.clone());
        }
        let node = self.manager.inspect_node(id).await?;
        let name = node
            .description
            .and_then(|d| d.hostname)
            .unwrap_or_else(|| id.to_owned());
        let address = node
            .status
            .and_then(|s| s.addr)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| RunnerError::TaskFailed {
                node: name.clone(),
                reason: "the swarm node advertises no address".to_owned(),
            })?;
        let mut engine = EngineAddress::Tcp(format!("{address}:{}", self.host_engine_port));
        if let Some(files) = &self.tls {
            engine = engine.with_tls(files.clone());
        }
        let docker = engine_client(&engine).await?;
        let host = Host {
            id: id.to_owned(),
            name,
            engine,
            docker,
        };
        self.hosts
            .lock()
            .unwrap()
            .insert(id.to_owned(), host.clone());
        Ok(host)
    }

    /// The service's most recent task (a one-replica service that is never restarted
    /// has one; a rescheduled one has more).
    async fn newest_task(&self, service: &str) -> Result<Option<Task>, RunnerError> {
        let tasks = self
            .manager
            .list_tasks(Some(ListTasksOptions {
                filters: Some([("service".to_owned(), vec![service.to_owned()])].into()),
            }))
            .await?;
        Ok(tasks
            .into_iter()
            .max_by_key(|t| t.version.as_ref().and_then(|v| v.index)))
    }

    async fn located_task(&self, task: &Task) -> Result<Located, RunnerError> {
        let container = task
            .status
            .as_ref()
            .and_then(|s| s.container_status.as_ref())
            .and_then(|c| c.container_id.clone());
        let (Some(container), Some(node_id)) = (container, task.node_id.as_deref()) else {
            return Err(RunnerError::TaskFailed {
                node: task.name.clone().unwrap_or_default(),
                reason: "the running task has no container or host".to_owned(),
            });
        };
        Ok(Located {
            host: self.host(node_id).await?,
            container,
        })
    }
}

fn state(task: &Task) -> Option<TaskState> {
    task.status.as_ref().and_then(|s| s.state)
}
