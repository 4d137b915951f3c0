//! The registry every host of the pool pulls from: a lesson's images are made on the
//! manager (pulled or built, as on Docker), then tagged `<registry>/<reference>` and
//! pushed there once per server run.

use std::collections::HashSet;
use std::sync::Mutex;

use bollard::Docker;
use bollard::query_parameters::{PushImageOptions, TagImageOptions};
use futures::StreamExt;

use crate::error::RunnerError;
use crate::image::split_reference;

pub(super) struct Registry {
    manager: Docker,
    /// `HOST:PORT`.
    address: String,
    /// References already pushed by this process.
    pushed: Mutex<HashSet<String>>,
}

impl Registry {
    pub fn new(manager: Docker, address: String) -> Registry {
        Registry {
            manager,
            address,
            pushed: Mutex::new(HashSet::new()),
        }
    }

    /// Pushes the manager's image `local` to the registry; returns the reference every
    /// host pulls.
    pub async fn publish(&self, local: &str) -> Result<String, RunnerError> {
        let (repository, tag) = split_reference(local);
        let repository = format!("{}/{repository}", self.address);
        let tag = tag.unwrap_or("latest");
        let remote = format!("{repository}:{tag}");
        if self.pushed.lock().unwrap().contains(&remote) {
            return Ok(remote);
        }
        let unavailable = |reason: String| RunnerError::ImageUnavailable {
            image: local.to_owned(),
            reason: format!(
                "pushing it to the pool's registry {}: {reason}",
                self.address
            ),
        };
        self.manager
            .tag_image(
                local,
                Some(TagImageOptions {
                    repo: Some(repository.clone()),
                    tag: Some(tag.to_owned()),
                }),
            )
            .await?;
        let mut push = self.manager.push_image(
            &repository,
            Some(PushImageOptions {
                tag: Some(tag.to_owned()),
                ..Default::default()
            }),
            None,
        );
        while let Some(step) = push.next().await {
            step.map_err(|e| unavailable(e.to_string()))?;
        }
        self.pushed.lock().unwrap().insert(remote.clone());
        Ok(remote)
    }
}
