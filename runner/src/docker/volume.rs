//! System nodes' volumes (see `node::SYSTEM_NODE_VOLUMES`): labelled like the node
//! they belong to, so a session's are found, and removed, from its id alone, by a
//! restarted server too.

use bollard::Docker;
use bollard::models::Volume;
use bollard::query_parameters::{ListVolumesOptions, RemoveVolumeOptions};
use futures::future::join_all;

use super::engine::all_removed;
use super::labels::{label_filter, session_label};
use crate::error::RunnerError;
use crate::session::SessionId;

/// Volumes playlab made that carry every label filter term in `terms`.
pub(super) async fn list(docker: &Docker, terms: Vec<String>) -> Result<Vec<Volume>, RunnerError> {
    let response = docker
        .list_volumes(Some(ListVolumesOptions {
            filters: Some(label_filter(terms)),
        }))
        .await?;
    Ok(response.volumes.unwrap_or_default())
}

/// Removes every volume labelled with the session. Call after the containers are
/// gone: Docker refuses to remove a volume in use.
pub(super) async fn remove_all(docker: &Docker, session: &SessionId) -> Result<(), RunnerError> {
    let volumes = list(docker, vec![session_label(session)]).await?;
    let results = join_all(
        volumes
            .iter()
            .map(|v| docker.remove_volume(&v.name, None::<RemoveVolumeOptions>)),
    )
    .await;
    all_removed(results)
}
