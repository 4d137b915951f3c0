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

/// How many times a push is tried, and the wait before the second (doubled for the
/// third).
const PUSH_ATTEMPTS: u32 = 3;
const PUSH_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

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
        // A registry may answer a push with a passing error (the test pool's did, once,
        // with a 500 right after the manager's engine restarted): retried, as the
        // Docker CLI's users do by hand. Layers already there are not sent again.
        let mut attempt = 1;
        loop {
            match self.push(&repository, tag).await {
                Ok(()) => break,
                Err(e) if attempt < PUSH_ATTEMPTS => {
                    tracing::warn!(image = local, attempt, error = %e, "pushing to the pool's registry; retrying");
                    tokio::time::sleep(PUSH_RETRY_AFTER * attempt).await;
                    attempt += 1;
                }
                Err(e) => return Err(unavailable(e.to_string())),
            }
        }
        self.pushed.lock().unwrap().insert(remote.clone());
        Ok(remote)
    }

    async fn push(&self, repository: &str, tag: &str) -> Result<(), bollard::errors::Error> {
        let mut push = self.manager.push_image(
            repository,
            Some(PushImageOptions {
                tag: Some(tag.to_owned()),
                ..Default::default()
            }),
            None,
        );
        while let Some(step) = push.next().await {
            step?;
        }
        Ok(())
    }
}
