//! The one sequence that starts an environment, and [`Provision`], the parts of it each
//! backend does its own way.

use std::time::Duration;

use async_trait::async_trait;
use futures::future::try_join_all;
use scenarios::Lesson;

use crate::backend::{Backend, EnvironmentInfo, NodeInfo, Progress, ProgressSender};
use crate::environment::file::NodeFile;
use crate::environment::plan::{Plan, background_setup};
use crate::environment::setup::run_setup;
use crate::error::RunnerError;
use crate::session::SessionId;

/// What a backend does to carry out a [`Plan`]: only what depends on where nodes live.
/// Checks, files, setup scripts, progress and cleanup on failure are [`start`]'s.
#[async_trait]
pub(crate) trait Provision: Backend {
    /// What [`Provision::prepare`] hands to [`Provision::create_nodes`] (Docker: each
    /// node's image reference).
    type Prepared: Send;

    /// Whether a lesson may have privileged nodes here.
    fn allow_system_nodes(&self) -> bool;

    /// How long one setup script may run before it is killed.
    fn setup_timeout(&self) -> Duration;

    /// Fails with [`RunnerError::AlreadyStarted`] when the session has an environment,
    /// then gets what the nodes need. Creates nothing, so a failure here needs no
    /// cleanup (and must not get one: it would remove the existing environment).
    async fn prepare(
        &self,
        session: &SessionId,
        plan: &Plan<'_>,
        progress: &ProgressSender,
    ) -> Result<Self::Prepared, RunnerError>;

    /// Creates and starts the plan's nodes; returns them in plan order.
    async fn create_nodes(
        &self,
        session: &SessionId,
        plan: &Plan<'_>,
        prepared: Self::Prepared,
        progress: &ProgressSender,
    ) -> Result<Vec<NodeInfo>, RunnerError>;

    /// Places `files` on `node`, creating missing parent directories.
    async fn place_files(
        &self,
        session: &SessionId,
        node: &str,
        files: &[NodeFile],
    ) -> Result<(), RunnerError>;
}

/// [`Backend::start`] for every backend: check the lesson, prepare, create the nodes,
/// place the files, run the setup scripts, report the nodes ready. When anything after
/// `prepare` fails, everything the session has is destroyed before the error returns.
pub(crate) async fn start<P: Provision>(
    backend: &P,
    session: &SessionId,
    lesson: &Lesson,
    progress: &ProgressSender,
) -> Result<EnvironmentInfo, RunnerError> {
    let plan = Plan::new(lesson, backend.allow_system_nodes())?;
    let prepared = backend.prepare(session, &plan, progress).await?;
    match create(backend, session, &plan, prepared, progress).await {
        Ok(info) => Ok(info),
        Err(e) => {
            if let Err(cleanup) = backend.destroy(session).await {
                tracing::error!(%session, error = %cleanup, "removing a failed environment");
            }
            Err(e)
        }
    }
}

async fn create<P: Provision>(
    backend: &P,
    session: &SessionId,
    plan: &Plan<'_>,
    prepared: P::Prepared,
    progress: &ProgressSender,
) -> Result<EnvironmentInfo, RunnerError> {
    let nodes = backend
        .create_nodes(session, plan, prepared, progress)
        .await?;
    let files = plan.files(&nodes).await?;
    try_join_all(
        files
            .iter()
            .map(|(node, files)| backend.place_files(session, node, files)),
    )
    .await?;
    run_setup(
        backend,
        session,
        background_setup(plan.lesson()),
        backend.setup_timeout(),
        progress,
    )
    .await?;
    for node in plan.nodes() {
        progress.send(Progress::Node {
            node: node.name.clone(),
            status: "ready".to_owned(),
        });
    }
    Ok(EnvironmentInfo {
        session: session.clone(),
        nodes,
    })
}
