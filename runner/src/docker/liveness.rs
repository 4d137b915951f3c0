//! Liveness records: how `playlab gc` tells a server that is gone from one that is
//! only busy, from the Docker engine alone.
//!
//! A running server (or `playlab test`) holds one small container per owner id,
//! `playlab-liveness-<owner>`, labelled `playlab.liveness=<owner>`: `cat` reading its
//! standard input, which is the server's own attach connection. The record cannot
//! outlive the process that holds it, however the process ends: when it exits, even
//! by `kill -9`, the kernel closes the connection, the engine closes the container's
//! stdin (`StdinOnce`), `cat` ends, and the engine removes the container
//! (`AutoRemove`). No heartbeat to tune, no clock to trust, no file on one host that
//! the others cannot read. Environments whose owner holds no record are orphans.
//!
//! An engine restart ends the record with the connection; the holder makes a new one
//! as soon as the engine answers again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    AttachContainerOptions, CreateContainerOptions, ListContainersOptions, RemoveContainerOptions,
};
use futures::StreamExt;
use tokio::task::JoinHandle;

use scenarios::NodeImage;

use super::DockerBackend;
use super::engine::all_removed;
use super::labels::{LABEL_OWNER, LABEL_SESSION, label_filter};
use crate::backend::ProgressSender;
use crate::error::RunnerError;
use crate::image::ImageStore;
use crate::session::SessionId;

/// Label holding the owner id a liveness record stands for.
pub const LABEL_LIVENESS: &str = "playlab.liveness";

/// The record's image: the base image every playlab host has (`.ci/setup-machine`,
/// the built-in images' base), pulled if it is missing. `cat` is all it runs.
const IMAGE: &str = "debian:bookworm-slim";

/// How long the holder waits before making the record again after it ended (an
/// engine restart, a record removed by hand).
const RENEW_AFTER: Duration = Duration::from_secs(5);

/// `playlab-liveness-<owner>`.
fn record_name(owner: &str) -> String {
    format!("playlab-liveness-{owner}")
}

/// Keeps `owner`'s record while it lives; dropping it (or the process ending) ends
/// the record.
pub struct Liveness {
    holder: JoinHandle<()>,
}

impl Drop for Liveness {
    fn drop(&mut self) {
        // The task owns the attach connection: aborting it drops the connection,
        // which ends the record.
        self.holder.abort();
    }
}

impl DockerBackend {
    /// Makes the record of this backend's owner and keeps it until the [`Liveness`]
    /// is dropped; a backend without an owner has nothing to stand for and gets
    /// `None`. Fails only when the first record cannot be made (the engine refuses,
    /// the image cannot be had), so a server never runs without one; renewals after
    /// it ends are retried.
    pub async fn hold_liveness(&self) -> Result<Option<Liveness>, RunnerError> {
        hold(&self.docker, &self.images, self.config.owner.clone()).await
    }
}

/// [`DockerBackend::hold_liveness`] on the engine `docker` (a swarm's manager holds
/// the records of the servers that use the swarm).
pub(super) async fn hold(
    docker: &Docker,
    images: &ImageStore,
    owner: Option<String>,
) -> Result<Option<Liveness>, RunnerError> {
    let Some(owner) = owner else {
        return Ok(None);
    };
    images
        .ensure(
            &NodeImage::Reference(IMAGE.to_owned()),
            &ProgressSender::discard(),
        )
        .await?;
    let docker = docker.clone();
    let first = record(&docker, &owner).await?;
    let holder = tokio::spawn(async move {
        let mut attached = first;
        loop {
            // The output stream ends when the connection does.
            while attached.output.next().await.is_some() {}
            tracing::warn!(
                owner,
                "the liveness record ended (engine restart?); renewing"
            );
            loop {
                tokio::time::sleep(RENEW_AFTER).await;
                match record(&docker, &owner).await {
                    Ok(again) => break attached = again,
                    Err(e) => tracing::warn!(owner, "renewing the liveness record: {e}"),
                }
            }
        }
    });
    Ok(Some(Liveness { holder }))
}

/// Creates and starts the record, attached before it starts so that its stdin is
/// this connection from the first byte.
async fn record(
    docker: &Docker,
    owner: &str,
) -> Result<bollard::container::AttachContainerResults, RunnerError> {
    let name = record_name(owner);
    // A record of this owner from an engine restart, or a server that ran with the
    // same data directory and is gone: it stands for nothing now.
    let removed = docker
        .remove_container(
            &name,
            Some(RemoveContainerOptions {
                force: true,
                ..Default::default()
            }),
        )
        .await;
    all_removed(vec![removed])?;
    docker
        .create_container(
            Some(CreateContainerOptions {
                name: Some(name.clone()),
                ..Default::default()
            }),
            ContainerCreateBody {
                image: Some(IMAGE.to_owned()),
                cmd: Some(vec!["cat".to_owned()]),
                labels: Some([(LABEL_LIVENESS.to_owned(), owner.to_owned())].into()),
                open_stdin: Some(true),
                stdin_once: Some(true),
                attach_stdin: Some(true),
                host_config: Some(HostConfig {
                    auto_remove: Some(true),
                    network_mode: Some("none".to_owned()),
                    memory: Some(16 * 1024 * 1024),
                    pids_limit: Some(8),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await?;
    let attached = docker
        .attach_container(
            &name,
            Some(AttachContainerOptions {
                stdin: true,
                stdout: true,
                stream: true,
                ..Default::default()
            }),
        )
        .await?;
    docker.start_container(&name, None).await?;
    Ok(attached)
}

/// The owners whose records are running now.
pub(super) async fn live_owners(docker: &Docker) -> Result<HashSet<String>, RunnerError> {
    let records = docker
        .list_containers(Some(ListContainersOptions {
            filters: Some(label_filter([LABEL_LIVENESS.to_owned()])),
            ..Default::default()
        }))
        .await?;
    Ok(records
        .into_iter()
        .filter_map(|c| c.labels?.remove(LABEL_LIVENESS))
        .collect())
}

/// An environment no live server stands for, and the owner it was labelled with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    pub session: SessionId,
    pub owner: Option<String>,
}

/// Of `environments` (each session with its owner, if labelled), those no live
/// owner stands for: an unlabelled one has no server that could come back for it.
fn orphans(
    environments: BTreeMap<SessionId, Option<String>>,
    live: &HashSet<String>,
) -> Vec<Orphan> {
    environments
        .into_iter()
        .filter(|(_, owner)| owner.as_ref().is_none_or(|o| !live.contains(o)))
        .map(|(session, owner)| Orphan { session, owner })
        .collect()
}

/// The label filter terms of every environment, or of `owner`'s only.
pub(super) fn environment_terms(owner: Option<&str>) -> Vec<String> {
    let mut terms = vec![LABEL_SESSION.to_owned()];
    terms.extend(owner.map(|o| format!("{LABEL_OWNER}={o}")));
    terms
}

/// The orphans among the environments whose objects carry `labelled` (each
/// object's labels), against the records on `docker`. List the records first (`live`,
/// from [`live_owners`]): an environment made after that has a live owner.
pub(super) fn orphans_among(
    live: &HashSet<String>,
    labelled: Vec<HashMap<String, String>>,
) -> Vec<Orphan> {
    let environments = labelled
        .into_iter()
        .filter_map(|labels| {
            let session = labels.get(LABEL_SESSION)?.parse().ok()?;
            Some((session, labels.get(LABEL_OWNER).cloned()))
        })
        .collect();
    orphans(environments, live)
}

impl DockerBackend {
    /// Every environment on this engine, whoever made it, whose owner holds no
    /// liveness record: what `playlab gc` removes. `owner` narrows it to one owner's.
    pub async fn orphans(&self, owner: Option<&str>) -> Result<Vec<Orphan>, RunnerError> {
        let live = live_owners(&self.docker).await?;
        let labelled = self.labelled(environment_terms(owner)).await?;
        Ok(orphans_among(&live, labelled))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_orphan_is_an_environment_no_live_owner_stands_for() {
        let id = |s: &str| s.parse::<SessionId>().unwrap();
        let environments = [
            (id("a1"), Some("live".to_owned())),
            (id("b2"), Some("gone".to_owned())),
            (id("c3"), None),
        ]
        .into();
        let live = HashSet::from(["live".to_owned()]);
        assert_eq!(
            orphans(environments, &live),
            vec![
                Orphan {
                    session: id("b2"),
                    owner: Some("gone".to_owned())
                },
                Orphan {
                    session: id("c3"),
                    owner: None
                },
            ]
        );
    }
}
