//! The warm pool: environments started before anyone asks, with a shell already
//! running on each node, so a learner's session is ready at once.
//!
//! A pooled environment belongs to no session until [`Pool::take`] hands it to one.
//! A content reload makes pooled environments stale (their lesson changed), so they are
//! drained and the pool is refilled.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use runner::{ProgressSender, RunnerError, SessionId, TermSize};
use scenarios::Lesson;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::shared::Shared;
use crate::serve::terminals::Terminals;

/// A pre-started environment waiting for a learner.
pub(super) struct Pooled {
    pub id: SessionId,
    pub lesson: Arc<Lesson>,
    pub terminals: Arc<Terminals>,
}

#[derive(Default)]
struct Lanes {
    ready: HashMap<String, Vec<Pooled>>,
    starting: HashMap<String, usize>,
}

pub(super) struct Pool {
    shared: Arc<Shared>,
    lanes: Mutex<Lanes>,
    /// Cancelled when the server stops: no new environments from then on.
    stopping: CancellationToken,
    /// Where starts run, so shutdown waits for them.
    starts: TaskTracker,
}

impl Pool {
    pub fn new(shared: Arc<Shared>, stopping: CancellationToken, starts: TaskTracker) -> Pool {
        Pool {
            shared,
            lanes: Mutex::default(),
            stopping,
            starts,
        }
    }

    fn lanes(&self) -> MutexGuard<'_, Lanes> {
        self.lanes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A ready environment of the lesson, if one waits.
    pub fn take(&self, lesson: &str) -> Option<Pooled> {
        let taken = self.lanes().ready.get_mut(lesson)?.pop();
        if taken.is_some() {
            self.shared.metrics.warm_pool_ready.dec();
        }
        taken
    }

    /// Starts environments until every lesson has its warm pool.
    pub fn refill(self: &Arc<Self>) {
        let want = self.shared.limits.warm_pool;
        if want == 0 || self.stopping.is_cancelled() {
            return;
        }
        for lesson in self.shared.catalog.get().lessons() {
            let mut lanes = self.lanes();
            let have = lanes.ready.get(&lesson.id).map_or(0, Vec::len)
                + lanes.starting.get(&lesson.id).copied().unwrap_or(0);
            for _ in have..want {
                *lanes.starting.entry(lesson.id.clone()).or_default() += 1;
                self.starts.spawn(self.clone().start_one(lesson.clone()));
            }
        }
    }

    async fn start_one(self: Arc<Self>, lesson: Arc<Lesson>) {
        let id = SessionId::random();
        let terminals = self.shared.terminals(&id);
        let result = self.prepare(&id, &lesson, &terminals).await;
        if let Err(e) = &result {
            tracing::warn!(lesson = %lesson.id, error = %e, "could not start a warm pool environment");
        }
        let pooled = Pooled {
            id,
            lesson,
            terminals,
        };
        if let Some(stale) = self.settle(pooled, result.is_ok()) {
            stale.terminals.close_all().await;
            self.shared.destroy(&stale.id).await;
        }
    }

    /// Starts the environment and a shell on each node: the first prompt is then
    /// already on the screen when a learner arrives.
    async fn prepare(
        &self,
        id: &SessionId,
        lesson: &Lesson,
        terminals: &Arc<Terminals>,
    ) -> Result<(), RunnerError> {
        let backend = &self.shared.backend;
        backend.start(id, lesson, ProgressSender::discard()).await?;
        let names = lesson.environment.node_names();
        let shells = names
            .iter()
            .map(|node| terminals.open(node, TermSize::default()));
        futures::future::try_join_all(shells).await.map(drop)
    }

    /// Puts a finished start into the pool, or gives it back to be removed when it
    /// failed, the server stops, or a reload since the start made it stale.
    fn settle(&self, pooled: Pooled, started: bool) -> Option<Pooled> {
        let mut lanes = self.lanes();
        if let Some(n) = lanes.starting.get_mut(&pooled.lesson.id) {
            *n = n.saturating_sub(1);
        }
        let current = self
            .shared
            .catalog
            .get()
            .get(&pooled.lesson.id)
            .is_some_and(|l| Arc::ptr_eq(l, &pooled.lesson));
        if !(started && current && !self.stopping.is_cancelled()) {
            return Some(pooled);
        }
        let lane = lanes.ready.entry(pooled.lesson.id.clone()).or_default();
        lane.push(pooled);
        self.shared.metrics.warm_pool_ready.inc();
        None
    }

    /// Destroys every pooled environment (shutdown, content reload).
    pub async fn drain(&self) {
        let drained: Vec<Pooled> = self.lanes().ready.drain().flat_map(|(_, v)| v).collect();
        self.shared
            .metrics
            .warm_pool_ready
            .dec_by(drained.len() as i64);
        futures::future::join_all(drained.iter().map(|pooled| async {
            pooled.terminals.close_all().await;
            self.shared.destroy(&pooled.id).await;
        }))
        .await;
    }
}
