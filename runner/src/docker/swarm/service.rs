//! One node as a Swarm service: the spec that gives its single task what a Docker
//! node's container gets (image, hostname, environment, labels, the operator's
//! ceilings, an init or systemd, capped logs), on the session's overlay under the
//! node's name.

use bollard::models::{
    EndpointSpec, EndpointSpecModeEnum, Limit, Mount, MountType, NetworkAttachmentConfig,
    ResourceObject, ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated, TaskSpec,
    TaskSpecContainerSpec, TaskSpecLogDriver, TaskSpecPlacement, TaskSpecResources,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum,
};
use scenarios::{Lesson, NodeSpec};

use super::super::config::DockerConfig;
use super::super::labels::container_name;
use super::super::node::{
    NodeBasics, SYSTEMD_ENV, SYSTEMD_INIT, SYSTEMD_STOP_SIGNAL, SYSTEMD_TMPFS,
    add_systemd_capabilities, log_options, plain_node_command,
};
use crate::session::SessionId;

/// Where a node's task may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Placement {
    /// Wherever Swarm's spread strategy puts it.
    Anywhere,
    /// On this swarm node (by id): beside the session's first node.
    On(String),
}

/// The service for one node of a session. Named like the Docker backend's container
/// (`playlab-<session>-<node>`), labelled like it (service and container both, so a
/// host's engine finds its tasks' containers by label too).
pub(super) fn spec(
    config: &DockerConfig,
    session: &SessionId,
    lesson: &Lesson,
    node: &NodeSpec,
    image: &str,
    network: &str,
    placement: &Placement,
) -> ServiceSpec {
    let NodeBasics {
        labels,
        mut env,
        memory,
        nano_cpus,
    } = NodeBasics::new(config, session, lesson, node);
    let mut capabilities = node.capabilities.clone();
    // A systemd node as on Docker, less what a service cannot ask for (unconfined
    // seccomp and AppArmor, a private cgroup namespace): with CAP_SYS_ADMIN, Docker's
    // default seccomp profile allows systemd's mounts, and the engine's own
    // cgroup-namespace default applies.
    let (command, init, stop_signal, mounts) = if node.systemd {
        add_systemd_capabilities(&mut capabilities);
        env.push(SYSTEMD_ENV.to_owned());
        let tmpfs = SYSTEMD_TMPFS
            .into_iter()
            .map(|target| Mount {
                target: Some(target.to_owned()),
                typ: Some(MountType::TMPFS),
                ..Default::default()
            })
            .collect();
        (
            vec![SYSTEMD_INIT.to_owned()],
            None,
            Some(SYSTEMD_STOP_SIGNAL.to_owned()),
            Some(tmpfs),
        )
    } else {
        (plain_node_command(), Some(true), None, None)
    };
    let constraints = match placement {
        Placement::Anywhere => Vec::new(),
        Placement::On(host) => vec![format!("node.id=={host}")],
    };
    ServiceSpec {
        name: Some(container_name(session, &node.name)),
        labels: Some(labels.clone()),
        task_template: Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(image.to_owned()),
                labels: Some(labels),
                // `command` replaces the image's entrypoint, as the Docker backend's
                // empty entrypoint does.
                command: Some(command),
                hostname: Some(node.name.clone()),
                env: Some(env),
                init,
                stop_signal,
                mounts,
                capability_add: (!capabilities.is_empty()).then_some(capabilities),
                ..Default::default()
            }),
            resources: Some(TaskSpecResources {
                limits: Some(Limit {
                    nano_cpus: Some(nano_cpus),
                    memory_bytes: Some(memory),
                    pids: Some(config.pids_limit),
                }),
                // Memory is what a host runs out of: reserving it makes Swarm place
                // nodes by what the hosts really have left, and leave a node pending
                // when no host has room. CPU time is shared, not reserved, so a
                // 2-CPU node does not take a 2-CPU host for itself.
                reservations: Some(ResourceObject {
                    memory_bytes: Some(memory),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            // A node that stops is not replaced: a new task would be a new container
            // without the learner's files. The engine watch fails such a session.
            restart_policy: Some(TaskSpecRestartPolicy {
                condition: Some(TaskSpecRestartPolicyConditionEnum::NONE),
                ..Default::default()
            }),
            placement: Some(TaskSpecPlacement {
                constraints: Some(constraints),
                ..Default::default()
            }),
            networks: Some(vec![NetworkAttachmentConfig {
                target: Some(network.to_owned()),
                aliases: Some(vec![node.name.clone()]),
                ..Default::default()
            }]),
            log_driver: Some(TaskSpecLogDriver {
                name: Some("json-file".to_owned()),
                options: Some(log_options(config)),
            }),
            ..Default::default()
        }),
        mode: Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated { replicas: Some(1) }),
            ..Default::default()
        }),
        // DNS round robin, not a virtual IP: a node's name resolves to its task's own
        // address, as on one host, and no IPVS is needed (many kernels lack it).
        endpoint_spec: Some(EndpointSpec {
            mode: Some(EndpointSpecModeEnum::DNSRR),
            ..Default::default()
        }),
        ..Default::default()
    }
}
