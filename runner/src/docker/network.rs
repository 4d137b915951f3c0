//! The session network: one user-defined bridge per session, so nodes find each other
//! by name through Docker's embedded DNS, and nothing else shares their segment.
//!
//! Unless the lesson sets `internet: true` the bridge is `internal`: Docker gives its
//! containers no default route and no NAT, so there is no way out of the network.
//! On a swarm the session network is an overlay instead (one segment across hosts,
//! Swarm's DNS resolving node names on it), `internal` by the same rule, and
//! attachable so that a plain container can join it if a check ever needs to.

use bollard::Docker;
use bollard::models::{Network, NetworkCreateRequest};
use bollard::query_parameters::ListNetworksOptions;
use futures::future::join_all;
use scenarios::Lesson;

use std::collections::HashMap;

use super::engine::all_removed;
use super::labels::{label_filter, network_name, session_label};
use crate::error::RunnerError;
use crate::session::SessionId;

/// Where a session network spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NetworkKind {
    /// A bridge on one engine.
    Bridge,
    /// A Swarm overlay across the pool's hosts.
    Overlay,
}

/// Creates the session's network; returns its name.
pub(super) async fn create(
    docker: &Docker,
    session: &SessionId,
    lesson: &Lesson,
    labels: HashMap<String, String>,
    kind: NetworkKind,
) -> Result<String, RunnerError> {
    let name = network_name(session);
    let (driver, attachable) = match kind {
        NetworkKind::Bridge => ("bridge", None),
        NetworkKind::Overlay => ("overlay", Some(true)),
    };
    docker
        .create_network(NetworkCreateRequest {
            name: name.clone(),
            driver: Some(driver.to_owned()),
            attachable,
            internal: Some(!lesson.environment.internet),
            labels: Some(labels),
            ..Default::default()
        })
        .await?;
    Ok(name)
}

/// Networks playlab made that carry every label filter term in `terms`.
pub(super) async fn list(docker: &Docker, terms: Vec<String>) -> Result<Vec<Network>, RunnerError> {
    Ok(docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(label_filter(terms)),
        }))
        .await?)
}

pub(super) async fn exists(docker: &Docker, session: &SessionId) -> Result<bool, RunnerError> {
    Ok(!list(docker, vec![session_label(session)]).await?.is_empty())
}

/// Removes every network labelled with the session (normally one; more only if a
/// start raced another). Call after the containers are gone: Docker refuses to remove
/// a network with endpoints.
pub(super) async fn remove_all(docker: &Docker, session: &SessionId) -> Result<(), RunnerError> {
    let networks = list(docker, vec![session_label(session)]).await?;
    let results = join_all(
        networks
            .iter()
            .filter_map(|n| n.id.as_deref())
            .map(|id| docker.remove_network(id)),
    )
    .await;
    all_removed(results)
}
