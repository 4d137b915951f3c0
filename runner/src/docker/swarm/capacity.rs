//! Whether a lesson's environment fits in the pool now, by the memory its nodes
//! reserve and what each host has left: Swarm's own rule (it leaves a task pending
//! when no host has the reservation free), asked before a session is accepted.

use std::collections::HashMap;

use bollard::models::{Node, NodeSpecAvailabilityEnum, NodeState, Task};

const MIB: i64 = 1024 * 1024;

/// Places each `(node, reservation)` on the host with the most memory free (all on one
/// host when `together`), as Swarm's spread would; the node that does not fit, and why.
pub(super) fn fits(
    hosts: &[Node],
    running: &[Task],
    needs: &[(String, i64)],
    together: bool,
) -> Result<(), (String, String)> {
    let mut free: HashMap<&str, i64> = hosts
        .iter()
        .filter(|h| h.status.as_ref().and_then(|s| s.state) == Some(NodeState::READY))
        .filter(|h| {
            h.spec.as_ref().and_then(|s| s.availability) == Some(NodeSpecAvailabilityEnum::ACTIVE)
        })
        .filter_map(|h| {
            let memory = h.description.as_ref()?.resources.as_ref()?.memory_bytes?;
            Some((h.id.as_deref()?, memory))
        })
        .collect();
    for task in running {
        let reserved = task
            .spec
            .as_ref()
            .and_then(|s| s.resources.as_ref())
            .and_then(|r| r.reservations.as_ref())
            .and_then(|r| r.memory_bytes)
            .unwrap_or(0);
        if let Some(left) = task.node_id.as_deref().and_then(|id| free.get_mut(id)) {
            *left -= reserved;
        }
    }
    let roomiest = |free: &HashMap<&str, i64>| {
        free.iter()
            .max_by_key(|(_, left)| **left)
            .map(|(id, left)| (id.to_string(), *left))
    };
    let full = |node: &str, needs: i64, most: i64| {
        Err((
            node.to_owned(),
            format!(
                "it reserves {} MiB, and the most any active host has free is {} MiB",
                needs / MIB,
                most.max(0) / MIB
            ),
        ))
    };
    if together {
        let total: i64 = needs.iter().map(|(_, n)| n).sum();
        return match roomiest(&free) {
            Some((_, most)) if most >= total => Ok(()),
            most => full(&needs[0].0, total, most.map_or(0, |(_, m)| m)),
        };
    }
    let mut needs = needs.to_vec();
    needs.sort_by_key(|(_, n)| -n);
    for (node, need) in needs {
        match roomiest(&free) {
            Some((host, most)) if most >= need => {
                *free.get_mut(host.as_str()).expect("listed") -= need;
            }
            most => return full(&node, need, most.map_or(0, |(_, m)| m)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use bollard::models::{
        NodeDescription, NodeSpec, NodeStatus, ResourceObject, TaskSpec, TaskSpecResources,
    };

    use super::*;

    fn host(id: &str, memory_mib: i64, availability: NodeSpecAvailabilityEnum) -> Node {
        Node {
            id: Some(id.to_owned()),
            spec: Some(NodeSpec {
                availability: Some(availability),
                ..Default::default()
            }),
            description: Some(NodeDescription {
                resources: Some(ResourceObject {
                    memory_bytes: Some(memory_mib * MIB),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            status: Some(NodeStatus {
                state: Some(NodeState::READY),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn task(host: &str, reserved_mib: i64) -> Task {
        Task {
            node_id: Some(host.to_owned()),
            spec: Some(TaskSpec {
                resources: Some(TaskSpecResources {
                    reservations: Some(ResourceObject {
                        memory_bytes: Some(reserved_mib * MIB),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn needs(mib: &[i64]) -> Vec<(String, i64)> {
        mib.iter()
            .enumerate()
            .map(|(i, m)| (format!("node{:02}", i + 1), m * MIB))
            .collect()
    }

    #[test]
    fn nodes_fit_by_the_memory_hosts_have_left() {
        use NodeSpecAvailabilityEnum::{ACTIVE, PAUSE};
        let hosts = [
            host("a", 4096, ACTIVE),
            host("b", 4096, ACTIVE),
            host("c", 8192, PAUSE),
        ];
        let running = [task("a", 3072), task("b", 1024), task("c", 0)];
        // Free: a 1024, b 3072; c is paused.
        assert_eq!(fits(&hosts, &running, &needs(&[2048, 1024]), false), Ok(()));
        assert_eq!(
            fits(&hosts, &running, &needs(&[2048, 2048]), false),
            Err((
                "node02".to_owned(),
                "it reserves 2048 MiB, and the most any active host has free is 1024 MiB"
                    .to_owned()
            ))
        );
        assert_eq!(fits(&hosts, &running, &needs(&[2048, 1024]), true), Ok(()));
        assert!(fits(&hosts, &running, &needs(&[2048, 2048]), true).is_err());
        assert!(
            fits(&[], &[], &needs(&[1]), false).is_err(),
            "no host, no room"
        );
    }
}
