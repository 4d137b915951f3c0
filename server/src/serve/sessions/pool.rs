//! The warm pool: environments started before anyone asks, with a shell already
//! running on each node, so a learner's session is ready at once.
//!
//! A pooled environment belongs to no session until [`Pool::take`] hands it to one.
//! A content reload makes pooled environments stale (their lesson changed), so they are
//! drained and the pool is refilled.
//!
//! Each lesson's pool holds `--warm-pool` environments, or more while a class is about
//! to start ([`Pool::reserve`]: the classes' expected learners, so a room pressing
//! Start at once waits milliseconds); when a reservation ends, the surplus ready
//! environments go.

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
    /// Environments wanted per lesson beyond `--warm-pool`, for classes about to start.
    reserved: HashMap<String, usize>,
}

impl Lanes {
    /// How many environments the lesson's pool should hold.
    fn want(&self, lesson: &str, warm_pool: usize) -> usize {
        warm_pool.max(self.reserved.get(lesson).copied().unwrap_or(0))
    }
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
    /// Whether a ready environment of the lesson waits.
    pub fn has_ready(&self, lesson: &str) -> bool {
        self.lanes()
            .ready
            .get(lesson)
            .is_some_and(|ready| !ready.is_empty())
    }

    pub fn take(&self, lesson: &str) -> Option<Pooled> {
        let taken = self.lanes().ready.get_mut(lesson)?.pop();
        if taken.is_some() {
            self.shared.metrics.warm_pool_ready.dec();
        }
        taken
    }

    /// Sets how many environments each lesson's pool holds beyond `--warm-pool` (the
    /// classes about to start; a lesson not named has none reserved), starts what is
    /// missing and destroys ready environments no longer wanted.
    pub async fn reserve(self: &Arc<Self>, reserved: HashMap<String, usize>) {
        let surplus: Vec<Pooled> = {
            let mut lanes = self.lanes();
            if lanes.reserved == reserved {
                return;
            }
            tracing::info!(?reserved, "warm pool reserved for classes");
            lanes.reserved = reserved;
            let warm_pool = self.shared.limits.warm_pool;
            let wanted: HashMap<String, usize> = lanes
                .ready
                .keys()
                .map(|lesson| (lesson.clone(), lanes.want(lesson, warm_pool)))
                .collect();
            wanted
                .into_iter()
                .flat_map(|(lesson, want)| {
                    let lane = lanes.ready.get_mut(&lesson).expect("a key of ready");
                    lane.split_off(want.min(lane.len()))
                })
                .collect()
        };
        self.shared
            .metrics
            .warm_pool_ready
            .dec_by(surplus.len() as i64);
        self.refill();
        futures::future::join_all(surplus.iter().map(|pooled| async {
            pooled.terminals.close_all().await;
            self.shared.destroy(&pooled.id).await;
        }))
        .await;
    }

    /// Starts environments until every lesson has its warm pool, holding at most
    /// `--max-sessions` pooled environments in all: a big class cannot make the pool
    /// start more environments than the server may run sessions.
    pub fn refill(self: &Arc<Self>) {
        if self.stopping.is_cancelled() {
            return;
        }
        let warm_pool = self.shared.limits.warm_pool;
        let mut lanes = self.lanes();
        let mut pooled: usize = lanes.ready.values().map(Vec::len).sum::<usize>()
            + lanes.starting.values().sum::<usize>();
        for lesson in self.shared.catalog.get().lessons() {
            let want = lanes.want(&lesson.id, warm_pool);
            let have = lanes.ready.get(&lesson.id).map_or(0, Vec::len)
                + lanes.starting.get(&lesson.id).copied().unwrap_or(0);
            for _ in have..want {
                if pooled >= self.shared.limits.max_sessions {
                    return;
                }
                pooled += 1;
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
        lesson: &Arc<Lesson>,
        terminals: &Arc<Terminals>,
    ) -> Result<(), RunnerError> {
        let backend = &self.shared.backend;
        let lesson = self.shared.session_lesson(id, lesson.clone());
        backend
            .start(id, &lesson, ProgressSender::discard())
            .await?;
        let names = lesson.environment.node_names();
        let shells = names
            .iter()
            .map(|node| terminals.open(node, TermSize::default()));
        futures::future::try_join_all(shells).await.map(drop)
    }

    /// Puts a finished start into the pool, or gives it back to be removed when it
    /// failed, the server stops, a reload since the start made it stale, or the pool
    /// holds what it wants already (a class's reservation ended meanwhile).
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
        // A reservation that ended while this one started wants it no more.
        let want = lanes.want(&pooled.lesson.id, self.shared.limits.warm_pool);
        let full = lanes.ready.get(&pooled.lesson.id).map_or(0, Vec::len) >= want;
        if !started || !current || full || self.stopping.is_cancelled() {
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
