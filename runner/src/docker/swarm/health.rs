//! What the swarm says of each session's nodes: which hosts run them, and which
//! sessions lost one while the manager kept answering: a host that went down (its
//! engine stopped, the machine died), a node whose task stopped (a worker's engine
//! that restarted kills its tasks' containers, and Swarm does not restart them: a new
//! task would be a new container without the learner's files), or a node that Swarm
//! moved to another host.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{Node, NodeSpecAvailabilityEnum, NodeState, Task, TaskState};

use super::super::labels::{LABEL_NODE, LABEL_SESSION};
use super::Service;
use crate::session::SessionId;

/// Each session with a lost node, and why (the first lost node of the session).
pub(super) fn lost(
    services: &[Service],
    nodes: &[Node],
    tasks: &[Task],
) -> Vec<(SessionId, String)> {
    let hosts = Hosts::new(nodes);
    // Each service's newest task, and how many it has had.
    let mut newest: HashMap<&str, (&Task, usize)> = HashMap::new();
    for task in tasks {
        let Some(service) = task.service_id.as_deref() else {
            continue;
        };
        let index = |t: &Task| t.version.as_ref().and_then(|v| v.index);
        let entry = newest.entry(service).or_insert((task, 0));
        entry.1 += 1;
        if index(entry.0) < index(task) {
            entry.0 = task;
        }
    }
    let mut lost = BTreeMap::new();
    for service in services {
        let (Some(session), Some(node)) = (
            service
                .labels
                .get(LABEL_SESSION)
                .and_then(|s| s.parse::<SessionId>().ok()),
            service.labels.get(LABEL_NODE),
        ) else {
            continue;
        };
        // A service without a task yet is starting, not lost.
        let Some(&(task, count)) = newest.get(service.id.as_str()) else {
            continue;
        };
        if let Some(reason) = why_lost(node, task, count, &hosts) {
            lost.entry(session).or_insert(reason);
        }
    }
    lost.into_iter().collect()
}

/// Which hosts run each session's nodes (sorted names), from the tasks meant to run.
pub(super) fn hosts_of(
    services: &[Service],
    nodes: &[Node],
    tasks: &[Task],
) -> Vec<(SessionId, Vec<String>)> {
    let names: HashMap<&str, &str> = nodes
        .iter()
        .filter_map(|n| {
            let id = n.id.as_deref()?;
            Some((
                id,
                n.description.as_ref()?.hostname.as_deref().unwrap_or(id),
            ))
        })
        .collect();
    let session_of: HashMap<&str, SessionId> = services
        .iter()
        .filter_map(|s| Some((s.id.as_str(), s.labels.get(LABEL_SESSION)?.parse().ok()?)))
        .collect();
    let mut hosts: BTreeMap<SessionId, std::collections::BTreeSet<String>> = BTreeMap::new();
    let running = tasks
        .iter()
        .filter(|t| t.desired_state == Some(TaskState::RUNNING));
    for task in running {
        let session = task.service_id.as_deref().and_then(|id| session_of.get(id));
        let host = task.node_id.as_deref().and_then(|id| names.get(id));
        if let (Some(session), Some(host)) = (session, host) {
            hosts
                .entry(session.clone())
                .or_default()
                .insert((*host).to_owned());
        }
    }
    hosts
        .into_iter()
        .map(|(session, hosts)| (session, hosts.into_iter().collect()))
        .collect()
}

/// The hosts that are not ready, and those drained, by swarm node id, with their names.
struct Hosts<'a> {
    down: HashMap<&'a str, &'a str>,
    drained: HashMap<&'a str, &'a str>,
}

impl<'a> Hosts<'a> {
    fn new(nodes: &'a [Node]) -> Hosts<'a> {
        let named = |n: &'a Node| {
            let id = n.id.as_deref()?;
            let name = n.description.as_ref().and_then(|d| d.hostname.as_deref());
            Some((id, name.unwrap_or(id)))
        };
        Hosts {
            down: nodes
                .iter()
                .filter(|n| n.status.as_ref().and_then(|s| s.state) != Some(NodeState::READY))
                .filter_map(named)
                .collect(),
            drained: nodes
                .iter()
                .filter(|n| {
                    n.spec.as_ref().and_then(|s| s.availability)
                        == Some(NodeSpecAvailabilityEnum::DRAIN)
                })
                .filter_map(named)
                .collect(),
        }
    }
}

/// Why the node whose newest task is `task` (of `count`) is lost, if it is.
fn why_lost(node: &str, task: &Task, count: usize, hosts: &Hosts) -> Option<String> {
    let host = task.node_id.as_deref();
    if let Some(name) = host.and_then(|id| hosts.down.get(id)) {
        return Some(format!(
            "the lab host {name} that ran node {node} stopped answering"
        ));
    }
    let status = task.status.as_ref();
    match status.and_then(|s| s.state) {
        Some(
            state @ (TaskState::FAILED
            | TaskState::SHUTDOWN
            | TaskState::COMPLETE
            | TaskState::REJECTED
            | TaskState::ORPHANED
            | TaskState::REMOVE),
        ) => Some(match host.and_then(|id| hosts.drained.get(id)) {
            // Swarm stops every task of a drained host (and, as these are never
            // restarted, starts none elsewhere).
            Some(name) => format!("the lab host {name} that ran node {node} was drained"),
            None => {
                let why = status
                    .and_then(|s| s.err.clone().or_else(|| s.message.clone()))
                    .unwrap_or_default();
                format!("node {node} stopped on its lab host ({state}: {why})")
            }
        }),
        // Never restarted (see `service`), so a second task means Swarm moved the
        // node: a new container, without the learner's files.
        _ if count > 1 => Some(format!(
            "node {node} was moved to another lab host and lost its files"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use bollard::models::{NodeDescription, NodeStatus, ObjectVersion, TaskStatus};

    use super::*;

    fn service(id: &str, session: &str, node: &str) -> Service {
        Service {
            id: id.to_owned(),
            name: format!("playlab-{session}-{node}"),
            labels: [
                (LABEL_SESSION.to_owned(), session.to_owned()),
                (LABEL_NODE.to_owned(), node.to_owned()),
            ]
            .into(),
        }
    }

    fn host(id: &str, name: &str, state: NodeState) -> Node {
        Node {
            id: Some(id.to_owned()),
            description: Some(NodeDescription {
                hostname: Some(name.to_owned()),
                ..Default::default()
            }),
            status: Some(NodeStatus {
                state: Some(state),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn task(service: &str, host: &str, index: u64, state: TaskState, err: &str) -> Task {
        Task {
            service_id: Some(service.to_owned()),
            node_id: Some(host.to_owned()),
            version: Some(ObjectVersion { index: Some(index) }),
            desired_state: Some(match state {
                TaskState::RUNNING => TaskState::RUNNING,
                _ => TaskState::SHUTDOWN,
            }),
            status: Some(TaskStatus {
                state: Some(state),
                err: (!err.is_empty()).then(|| err.to_owned()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn each_session_is_on_the_hosts_its_running_tasks_are_on() {
        let services = [
            service("s1", "split", "node01"),
            service("s2", "split", "node02"),
            service("s3", "alone", "node01"),
        ];
        let hosts = [
            host("h1", "pool-host1", NodeState::READY),
            host("h2", "pool-host2", NodeState::READY),
        ];
        let running = [
            task("s1", "h2", 1, TaskState::RUNNING, ""),
            task("s2", "h1", 2, TaskState::RUNNING, ""),
            task("s3", "h2", 3, TaskState::RUNNING, ""),
        ];
        let placed: Vec<(String, Vec<String>)> = hosts_of(&services, &hosts, &running)
            .into_iter()
            .map(|(s, h)| (s.to_string(), h))
            .collect();
        assert_eq!(
            placed,
            [
                ("alone".to_owned(), vec!["pool-host2".to_owned()]),
                (
                    "split".to_owned(),
                    vec!["pool-host1".to_owned(), "pool-host2".to_owned()]
                ),
            ]
        );
    }

    #[test]
    fn a_session_is_lost_with_its_host_its_stopped_task_or_a_moved_node_and_only_then() {
        let services = [
            service("s1", "onup", "node01"),
            service("s2", "ondown", "node01"),
            service("s3", "ondown", "node02"),
            service("s4", "stopped", "node01"),
            service("s5", "starting", "node01"),
            service("s6", "rescheduled", "node01"),
            service("s7", "drained", "node01"),
        ];
        let hosts = [
            host("h1", "pool-host1", NodeState::READY),
            host("h2", "pool-host2", NodeState::DOWN),
            Node {
                spec: Some(bollard::models::NodeSpec {
                    availability: Some(NodeSpecAvailabilityEnum::DRAIN),
                    ..Default::default()
                }),
                ..host("h3", "pool-host3", NodeState::READY)
            },
        ];
        let tasks = [
            task("s1", "h1", 5, TaskState::RUNNING, ""),
            task("s2", "h1", 6, TaskState::RUNNING, ""),
            task("s3", "h2", 7, TaskState::RUNNING, ""),
            task(
                "s4",
                "h1",
                8,
                TaskState::FAILED,
                "task: non-zero exit (137)",
            ),
            // Moved: the old task shut down, a new one runs elsewhere.
            task("s6", "h2", 9, TaskState::SHUTDOWN, ""),
            task("s6", "h1", 10, TaskState::RUNNING, ""),
            task("s7", "h3", 11, TaskState::SHUTDOWN, "shutdown"),
        ];
        let lost = lost(&services, &hosts, &tasks);
        let lost: Vec<(String, String)> =
            lost.into_iter().map(|(s, r)| (s.to_string(), r)).collect();
        assert_eq!(
            lost,
            [
                (
                    "drained".to_owned(),
                    "the lab host pool-host3 that ran node node01 was drained".to_owned()
                ),
                (
                    "ondown".to_owned(),
                    "the lab host pool-host2 that ran node node02 stopped answering".to_owned()
                ),
                (
                    "rescheduled".to_owned(),
                    "node node01 was moved to another lab host and lost its files".to_owned()
                ),
                (
                    "stopped".to_owned(),
                    "node node01 stopped on its lab host (failed: task: non-zero exit (137))"
                        .to_owned()
                ),
            ]
        );
    }
}
