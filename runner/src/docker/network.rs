//! The session network: one user-defined bridge per session, so nodes find each other
//! by name through Docker's embedded DNS, and nothing else shares their segment.
//!
//! Unless the lesson sets `internet: true` the bridge is `internal`: Docker gives its
//! containers no default route and no NAT, so there is no way out of the network.

use bollard::Docker;
use bollard::models::{Network, NetworkCreateRequest};
use bollard::query_parameters::ListNetworksOptions;
use futures::future::join_all;
use scenarios::Lesson;

use super::{LABEL_LESSON, LABEL_SESSION, is_not_found, label_filter, network_name};
use crate::backend::{RunnerError, SessionId};

/// Creates the session's network; returns its name.
pub(super) async fn create(
    docker: &Docker,
    session: &SessionId,
    lesson: &Lesson,
) -> Result<String, RunnerError> {
    let name = network_name(session);
    docker
        .create_network(NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".to_owned()),
            internal: Some(!lesson.environment.internet),
            labels: Some(
                [
                    (LABEL_SESSION.to_owned(), session.to_string()),
                    (LABEL_LESSON.to_owned(), lesson.id.clone()),
                ]
                .into(),
            ),
            ..Default::default()
        })
        .await?;
    Ok(name)
}

/// Networks playlab made: all of them, or one session's.
pub(super) async fn list(
    docker: &Docker,
    session: Option<&SessionId>,
) -> Result<Vec<Network>, RunnerError> {
    Ok(docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(label_filter(session)),
        }))
        .await?)
}

pub(super) async fn exists(docker: &Docker, session: &SessionId) -> Result<bool, RunnerError> {
    Ok(!list(docker, Some(session)).await?.is_empty())
}

/// Removes every network labelled with the session (normally one; more only if a
/// start raced another). Call after the containers are gone: Docker refuses to remove
/// a network with endpoints.
pub(super) async fn remove_all(docker: &Docker, session: &SessionId) -> Result<(), RunnerError> {
    let networks = list(docker, Some(session)).await?;
    let results = join_all(
        networks
            .iter()
            .filter_map(|n| n.id.as_deref())
            .map(|id| docker.remove_network(id)),
    )
    .await;
    for result in results {
        match result {
            Err(e) if !is_not_found(&e) => return Err(e.into()),
            _ => {}
        }
    }
    Ok(())
}
