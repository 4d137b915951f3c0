//! Sessions: one learner working through one lesson, owning one environment.
//!
//! The [`SessionManager`] owns the backend and is the only code that starts or
//! destroys environments, so every way a session ends (delete, finish, expiry, idle,
//! failed start, shutdown) goes through [`SessionManager::end`] and destroys the
//! environment. This file is the lifecycle: create (one live session per learner per
//! lesson, within the global capacity), start, get, list, extend, expire and end.
//! State that must survive a restart is written to the [`Store`].
//!
//! Its rooms:
//! - `session`: one session's state, its deadlines and how the API shows it;
//! - `pool`: the warm pool of environments started before anyone asks;
//! - `steps`: page scripts, the transcript, check and advance;
//! - `adopt`: re-adoption of the live sessions on start-up;
//! - `engine`: whether the backend's engine answers (new sessions wait while it does not),
//!   and the sessions' nodes are checked when it is back;
//! - `shared`: what every room works with (backend, store, limits, recorder, clock);
//! - `clock`: "now" for deadlines: the wall clock, which the browser and the
//!   database share; tests swap in tokio's paused clock;
//! - `error`: [`SessionError`], what the API turns into a status code.

mod adopt;
mod clock;
mod engine;
mod error;
mod pool;
mod session;
mod shared;
mod steps;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use runner::environment::{DEFAULT_SETUP_TIMEOUT, run_setup};
use runner::{Backend, SessionId};
use scenarios::Script;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use self::error::SessionError;
pub use self::session::{HelpView, Session, SessionProgress, SessionView};
pub use self::steps::CheckResponse;
pub use crate::serve::status::{EndReason, Status};

use self::clock::Clock;
use self::engine::EngineWatch;
use self::pool::Pool;
use self::session::rfc3339;
use self::shared::Shared;
use self::steps::StepRunner;
use super::config::Limits;
use super::content::SharedCatalog;
use super::events::{EngineNotice, Event};
use super::language::Wanted;
use super::metrics::{HostLabel, Metrics};
use super::public_url::PortUrls;
use super::recordings::Recorder;
use super::store::Store;
use super::terminals::InputHook;

/// Where a reset takes a session back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResetTo {
    /// The start of the step the learner is on.
    Step,
    /// The start of the lesson.
    Lesson,
}

/// How long shutdown waits for environment starts in flight (an image build can take
/// minutes; past this, the next start-up's reconciliation removes what is left).
const START_DRAIN: Duration = Duration::from_secs(60);

pub struct SessionManager {
    shared: Arc<Shared>,
    sessions: Mutex<HashMap<SessionId, Arc<Session>>>,
    pool: Arc<Pool>,
    steps: StepRunner,
    /// Cancelled when the server stops: no new environments from then on.
    stopping: CancellationToken,
    /// Environment starts in flight (sessions' and the pool's). Shutdown waits for
    /// them: a start cut off when the runtime stops would leave half an environment
    /// that no session owns.
    starts: TaskTracker,
}

impl SessionManager {
    /// A session manager on the wall clock. With `port_urls`, each session's lesson
    /// runs with its web ports' URLs (in scripts and the nodes' files).
    pub fn new(
        backend: Arc<dyn Backend>,
        store: Arc<Store>,
        catalog: Arc<SharedCatalog>,
        limits: Limits,
        metrics: Arc<Metrics>,
        recorder: Arc<Recorder>,
        port_urls: Option<PortUrls>,
    ) -> anyhow::Result<Arc<SessionManager>> {
        SessionManager::assemble(Shared {
            backend,
            store,
            catalog,
            limits,
            metrics,
            recorder,
            clock: Clock::Wall,
            port_urls,
            engine: EngineWatch::default(),
        })
    }

    /// A session manager whose deadlines follow `clock` (tests pass `Clock::tokio`),
    /// without web ports' URLs.
    #[cfg(test)]
    fn with_clock(
        backend: Arc<dyn Backend>,
        store: Arc<Store>,
        catalog: Arc<SharedCatalog>,
        limits: Limits,
        metrics: Arc<Metrics>,
        recorder: Arc<Recorder>,
        clock: Clock,
    ) -> anyhow::Result<Arc<SessionManager>> {
        SessionManager::assemble(Shared {
            backend,
            store,
            catalog,
            limits,
            metrics,
            recorder,
            clock,
            port_urls: None,
            engine: EngineWatch::default(),
        })
    }

    fn assemble(shared: Shared) -> anyhow::Result<Arc<SessionManager>> {
        let shared = Arc::new(shared);
        let stopping = CancellationToken::new();
        let starts = TaskTracker::new();
        let pool = Pool::new(shared.clone(), stopping.clone(), starts.clone());
        Ok(Arc::new(SessionManager {
            steps: StepRunner::new(shared.clone())?,
            pool: Arc::new(pool),
            shared,
            sessions: Mutex::new(HashMap::new()),
            stopping,
            starts,
        }))
    }

    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.shared.backend
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.shared.store
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<SessionId, Arc<Session>>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A session the caller may use: its learner, or the admin.
    pub fn get(
        &self,
        id: &str,
        learner: Option<&str>,
        admin: bool,
    ) -> Result<Arc<Session>, SessionError> {
        let not_found = || SessionError::NotFound(id.to_owned());
        let id: SessionId = id.parse().map_err(|_| not_found())?;
        let session = self.sessions().get(&id).cloned().ok_or_else(not_found)?;
        if !admin && !session.owned_by(learner) {
            return Err(SessionError::Forbidden);
        }
        if !admin {
            session.touch();
        }
        Ok(session)
    }

    /// A session that has ended, from the database (so a browser learns it ended).
    pub fn ended_view(
        &self,
        id: &str,
        learner: Option<&str>,
        admin: bool,
    ) -> Result<SessionView, SessionError> {
        let not_found = || SessionError::NotFound(id.to_owned());
        let id: SessionId = id.parse().map_err(|_| not_found())?;
        let record = self.shared.store.session(&id).ok().flatten();
        let record = record.ok_or_else(not_found)?;
        if !admin && learner != Some(record.learner.as_str()) {
            return Err(SessionError::Forbidden);
        }
        let lesson = self.shared.catalog.get().get(&record.lesson).cloned();
        Ok(SessionView::of_record(record, lesson.as_deref()))
    }

    /// The sessions the manager holds (live or recently failed), for a learner or all.
    pub fn list(&self, learner: Option<&str>) -> Vec<SessionView> {
        let mut views: Vec<_> = self
            .sessions()
            .values()
            .filter(|s| learner.is_none_or(|l| s.learner == l))
            .map(|s| s.view())
            .collect();
        views.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        views
    }

    pub fn live_count(&self) -> usize {
        self.live_sessions().len()
    }

    fn live_sessions(&self) -> Vec<Arc<Session>> {
        self.sessions()
            .values()
            .filter(|s| s.status().is_live())
            .cloned()
            .collect()
    }

    /// The sessions the manager holds that members of `class` started.
    pub fn of_class(&self, class: &str) -> Vec<Arc<Session>> {
        self.sessions()
            .values()
            .filter(|s| s.class.as_deref() == Some(class))
            .cloned()
            .collect()
    }

    /// "Now" on the clock the sessions' times are on.
    pub fn now(&self) -> std::time::SystemTime {
        self.shared.clock.now()
    }

    /// Creates the learner's session for a lesson, or returns the live one they have
    /// (`false`: it already existed). `class` is the learner's class, recorded with a
    /// new session; whether they may start this lesson was decided by the caller.
    /// Whether a new environment of the lesson would find room on the backend (a
    /// swarm whose hosts have the memory its nodes reserve): asked before `create`,
    /// which cannot wait on the backend. Nothing to ask when the learner's session of
    /// the lesson is live already, or a warm one waits in the pool. Racing creates can
    /// still overfill it: then the start fails with the same reason.
    pub async fn room_for(&self, learner: &str, lesson_id: &str) -> Result<(), SessionError> {
        let lesson = self.shared.catalog.get().get(lesson_id).cloned();
        let Some(lesson) = lesson else {
            return Ok(()); // `create` says there is no such lesson.
        };
        let has_one = self
            .sessions()
            .values()
            .any(|s| s.learner == learner && s.lesson.id == lesson.id && s.status().is_live());
        if has_one || self.pool.has_ready(&lesson.id) {
            return Ok(());
        }
        match self.shared.backend.room_for(&lesson).await {
            Err(runner::RunnerError::PoolFull { node, reason }) => {
                Err(SessionError::PoolFull(format!("node {node}: {reason}")))
            }
            // Not knowing is no reason to refuse: the start says what went wrong.
            Err(e) => {
                tracing::warn!(error = %e, "asking the backend for room");
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }

    pub fn create(
        self: &Arc<Self>,
        learner: &str,
        lesson_id: &str,
        class: Option<&str>,
    ) -> Result<(Arc<Session>, bool), SessionError> {
        let catalog = self.shared.catalog.get();
        let lesson = catalog.get(lesson_id).cloned();
        let lesson = lesson.ok_or_else(|| SessionError::LessonNotFound(lesson_id.to_owned()))?;
        // Whether the session came from the pool is decided here, under the lock: once
        // it is released, a quick start or a delete may change the status.
        let (session, pooled) = {
            let mut sessions = self.sessions();
            if let Some(existing) = sessions
                .values()
                .find(|s| s.learner == learner && s.lesson.id == lesson.id && s.status().is_live())
            {
                existing.touch();
                return Ok((existing.clone(), false));
            }
            let live = sessions.values().filter(|s| s.status().is_live()).count();
            if live >= self.shared.limits.max_sessions {
                return Err(SessionError::AtCapacity(live));
            }
            if !self.shared.engine.answering() {
                return Err(SessionError::EngineUnreachable(self.shared.backend.name()));
            }
            let shared = &self.shared;
            let (session, pooled) = match self.pool.take(&lesson.id) {
                Some(p) => {
                    let session = shared.session_with(
                        p.id,
                        learner,
                        p.lesson,
                        class.map(str::to_owned),
                        Status::Ready,
                        p.terminals,
                    );
                    (session, true)
                }
                None => {
                    let id = SessionId::random();
                    let class = class.map(str::to_owned);
                    let session = shared.new_session(id, learner, lesson, class, Status::Starting);
                    (session, false)
                }
            };
            sessions.insert(session.id.clone(), session.clone());
            (session, pooled)
        };
        self.shared.metrics.sessions_started.inc();
        self.shared.metrics.sessions_live.inc();
        self.shared.save(&session);
        tracing::info!(session = %session.id, lesson = %session.lesson.id, learner, pooled, "session created");
        if pooled {
            self.shared.metrics.session_start_seconds.observe(0.0);
            self.steps.became_ready(&session);
        } else {
            self.starts
                .spawn(self.clone().start(session.clone(), Vec::new()));
        }
        self.pool.refill();
        Ok((session, true))
    }

    /// Starts the session's environment and runs `replay` in it (a reset's), then tells
    /// the browser how it went.
    async fn start(self: Arc<Self>, session: Arc<Session>, replay: Vec<Script>) {
        let began = Instant::now();
        let (progress, forward) = session.forward_progress();
        let backend = &self.shared.backend;
        let result = async {
            backend
                .start(&session.id, &session.lesson, progress.clone())
                .await?;
            run_setup(
                &**backend,
                &session.id,
                &replay,
                DEFAULT_SETUP_TIMEOUT,
                &progress,
            )
            .await
        }
        .await;
        // Progress sent before the start returned is delivered before the status.
        drop(progress);
        let _ = tokio::time::timeout(Duration::from_secs(1), forward).await;
        match session.start_finished(result) {
            // Deleted while starting: whatever the start created goes.
            None => self.shared.destroy(&session.id).await,
            Some((status, error)) => self.started(&session, began, status, error).await,
        }
    }

    /// Makes the session's environment afresh and brings it to the start of the
    /// current step (each earlier page's scripts and solution replayed, out of sight)
    /// or of the lesson: for a learner whose environment is broken. The session keeps
    /// its id, learner, deadlines and recorded attempts; its terminals reconnect to new
    /// shells. Refused (nothing touched) unless the session is ready, or when an
    /// earlier step has no solution to replay.
    pub fn reset(
        self: &Arc<Self>,
        session: &Arc<Session>,
        to: ResetTo,
    ) -> Result<SessionView, SessionError> {
        let last = session.lesson.steps.len().saturating_sub(1);
        let step = match to {
            ResetTo::Lesson => 0,
            ResetTo::Step => session.view().step.min(last),
        };
        let replay = runner::environment::replay_to(&session.lesson, step)
            .map_err(SessionError::CannotReset)?;
        session.begin_reset(step).map_err(SessionError::NotReady)?;
        self.shared.save(session);
        let view = session.view();
        session.events.send(Event::Status {
            status: Status::Starting,
            error: None,
        });
        session.events.send(Event::Step {
            step,
            completed: false,
            expires_at: view.expires_at.clone(),
        });
        tracing::info!(session = %session.id, step, ?to, "resetting the environment");
        self.starts
            .spawn(self.clone().restart(session.clone(), replay));
        Ok(view)
    }

    /// The slow part of [`SessionManager::reset`]: the old environment goes, then a
    /// start as the first, with the replay.
    async fn restart(self: Arc<Self>, session: Arc<Session>, replay: Vec<Script>) {
        session.terminals.close_all().await;
        self.shared.destroy(&session.id).await;
        self.start(session, replay).await;
    }

    /// Records and announces how a start went: a ready session runs its first page's
    /// scripts; a failed one gives its environment back and stays visible a while.
    async fn started(
        &self,
        session: &Arc<Session>,
        began: Instant,
        status: Status,
        error: Option<String>,
    ) {
        if status != Status::Ready {
            return self.failed(session, error.unwrap_or_default()).await;
        }
        self.shared.save(session);
        let elapsed = began.elapsed();
        self.shared
            .metrics
            .session_start_seconds
            .observe(elapsed.as_secs_f64());
        tracing::info!(session = %session.id, ?elapsed, "session ready");
        session.events.send(Event::Status { status, error });
        self.steps.became_ready(session);
    }

    /// A session whose environment failed (to start, or to come back after its engine
    /// restarted) and whose status says so: it gives the environment back and stays
    /// visible, with `error`, a while.
    async fn failed(&self, session: &Arc<Session>, error: String) {
        let metrics = &self.shared.metrics;
        self.shared.save(session);
        metrics.sessions_failed.inc();
        metrics.sessions_live.dec();
        tracing::warn!(session = %session.id, error, "session failed");
        session.terminals.close_all().await;
        self.shared.destroy(&session.id).await;
        session.events.send(Event::Status {
            status: Status::Failed,
            error: Some(error),
        });
    }

    /// Ends a session: closes its terminals, destroys its environment, records why.
    pub async fn end(&self, session: &Arc<Session>, reason: EndReason) {
        if self.sessions().remove(&session.id).is_none() {
            return;
        }
        let was_live = {
            let mut st = session.lock();
            let was_live = st.status.is_live();
            st.status = Status::Ended;
            st.ended_at = Some(self.shared.clock.now());
            st.end_reason = Some(reason.clone());
            was_live
        };
        // Recorded before the slow part, so the session reads as ended at once.
        self.shared.save(session);
        let metrics = &self.shared.metrics;
        if was_live {
            metrics.sessions_live.dec();
        }
        metrics.session_ended(&reason);
        session.events.send(Event::Ended {
            reason: reason.clone(),
        });
        session.terminals.close_all().await;
        self.shared.destroy(&session.id).await;
        tracing::info!(session = %session.id, %reason, "session ended");
    }

    /// Pushes the expiry out by the configured extension, to at most one TTL from now.
    pub fn extend(&self, session: &Session) -> Result<SessionView, SessionError> {
        let (now, ttl) = (self.shared.clock.now(), self.shared.ttl(&session.lesson));
        let expires_at = session
            .extend(now, self.shared.limits.extend_by, ttl)
            .map_err(SessionError::NotReady)?;
        self.shared.save(session);
        session.events.send(Event::Extended {
            expires_at: rfc3339(expires_at),
        });
        Ok(session.view())
    }

    /// Checks the current step; a pass moves the learner to the next one. The
    /// messages are in the language `wanted` of those the lesson has.
    pub async fn check(
        &self,
        session: &Arc<Session>,
        answers: Option<&[Vec<usize>]>,
        wanted: &Wanted,
    ) -> Result<CheckResponse, SessionError> {
        self.steps.check(session, answers, wanted).await
    }

    /// Lets the instructors watching the session type into its terminals ("help
    /// mode"), or stops them; the learner decides, and every change is recorded.
    pub async fn set_help(&self, session: &Session, granted: bool) -> HelpView {
        if session.terminals.set_help(granted) {
            if let Err(e) = self.shared.store.record_help(&session.id, granted) {
                tracing::warn!(session = %session.id, error = %e, "recording a help grant");
            }
            // In the recordings too: input between the two markers may be the
            // instructor's.
            let marker = if granted {
                "help mode on: the learner lets the instructor type"
            } else {
                "help mode off: only the learner types"
            };
            session.terminals.mark(marker).await;
            tracing::info!(session = %session.id, granted, "help mode changed by the learner");
        }
        self.help(session)
    }

    /// Help mode now, and every grant and revocation so far.
    pub fn help(&self, session: &Session) -> HelpView {
        let log = self.shared.store.help_log(&session.id).unwrap_or_else(|e| {
            tracing::warn!(session = %session.id, error = %e, "reading the help log");
            Vec::new()
        });
        HelpView::new(*session.terminals.presence().borrow(), log)
    }

    /// What a terminal does with an owner's keystrokes besides sending them: the session
    /// is active, and completed command lines go to the transcript.
    pub fn input_hook(&self, session: &Arc<Session>, node: &str) -> InputHook {
        steps::input_hook(self.shared.store.clone(), session, node)
    }

    /// Expires, idles out and warns; forgets failed sessions after a while. Called
    /// every second.
    pub async fn tick(&self) {
        let now = self.shared.clock.now();
        let sessions: Vec<_> = self.sessions().values().cloned().collect();
        for session in sessions {
            if let Some(reason) = session.check_deadlines(now, &self.shared.limits) {
                self.end(&session, reason).await;
            }
        }
    }

    /// On start-up: takes back the sessions that were live, and removes every
    /// environment that belongs to none of them. Returns the removed orphans.
    pub async fn adopt(&self) -> anyhow::Result<Vec<SessionId>> {
        let adopted = adopt::readopt(&self.shared).await?;
        for session in adopted.sessions {
            self.shared.metrics.sessions_live.inc();
            self.sessions().insert(session.id.clone(), session);
        }
        if !adopted.listed {
            return Ok(Vec::new());
        }
        let live: HashSet<SessionId> = self.sessions().keys().cloned().collect();
        Ok(adopt::remove_orphans(&self.shared, &live).await)
    }

    /// Follows whether the backend's engine answers until `stop` (see [`engine`]):
    /// every live session hears when it stops answering; when it answers again, each
    /// ready session's nodes are checked, in a task of its own (one whose nodes take
    /// the whole minute must not hold up the others' news).
    pub async fn watch_engine(self: Arc<Self>, stop: CancellationToken) {
        let mut interval = tokio::time::interval(engine::POLL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ticks: u32 = 0;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = interval.tick() => {}
            }
            ticks = ticks.wrapping_add(1);
            let ping = engine::ping(&*self.shared.backend).await;
            let backend = self.shared.backend.name();
            match (self.shared.engine.record(ping.is_ok()), ping) {
                (Some(false), Err(error)) => {
                    tracing::warn!(backend, error, "the engine does not answer");
                    for session in self.live_sessions() {
                        session.events.send(Event::Engine {
                            notice: EngineNotice::Unreachable,
                        });
                    }
                }
                (Some(true), _) => {
                    tracing::info!(backend, "the engine answers again; checking the nodes");
                    for session in self.live_sessions() {
                        if session.status() == Status::Ready {
                            self.starts.spawn(self.clone().recover(session));
                        }
                    }
                }
                (None, Ok(())) if ticks.is_multiple_of(engine::LOST_EVERY) => {
                    match self.shared.backend.hosts_report().await {
                        Ok(report) => {
                            self.fail_lost(report.lost).await;
                            self.note_hosts(report.hosts);
                        }
                        Err(e) => tracing::warn!(error = %e, "asking the backend about its hosts"),
                    }
                }
                _ => {}
            }
        }
    }

    /// Records which hosts run each live session's nodes (the dashboard shows them)
    /// and how many sessions each host has (`playlab_sessions_per_host`).
    fn note_hosts(&self, placed: Vec<(SessionId, Vec<String>)>) {
        let mut placed: HashMap<SessionId, Vec<String>> = placed.into_iter().collect();
        let per_host = &self.shared.metrics.sessions_per_host;
        per_host.clear();
        for session in self.live_sessions() {
            let hosts = placed.remove(&session.id).unwrap_or_default();
            for host in &hosts {
                per_host
                    .get_or_create(&HostLabel { host: host.clone() })
                    .inc();
            }
            session.placed_on(hosts);
        }
    }

    /// Fails each ready session whose environment lost a node while the engine kept
    /// answering (a swarm host that went down), with the backend's reason: its learner
    /// reads why, and can start the lesson again.
    async fn fail_lost(&self, lost: Vec<(SessionId, String)>) {
        for (id, reason) in lost {
            let session = self.sessions().get(&id).cloned();
            if let Some(session) = session {
                let error = format!("{reason}; start the lesson again");
                if session.lost(error.clone()) {
                    self.failed(&session, error).await;
                }
            }
        }
    }

    /// After the engine came back: the session's nodes answer (its terminals start
    /// afresh, and the learner is told why), or it fails with the node that did not.
    async fn recover(self: Arc<Self>, session: Arc<Session>) {
        match engine::nodes_answer(&*self.shared.backend, &session, &self.stopping).await {
            Ok(()) => {
                session.terminals.close_all().await;
                tracing::info!(session = %session.id, "nodes back after the engine came back");
                session.events.send(Event::Engine {
                    notice: EngineNotice::NodesRestarted,
                });
            }
            Err(error) => {
                if session.lost(error.clone()) {
                    self.failed(&session, error).await;
                }
            }
        }
    }

    /// Starts environments until every lesson has its warm pool.
    pub fn refill_pool(self: &Arc<Self>) {
        self.pool.refill();
    }

    /// Holds this many environments per lesson in the warm pool beyond `--warm-pool`
    /// (the classes about to start), destroying the pooled ones no longer wanted.
    pub async fn reserve_pool(self: &Arc<Self>, reserved: HashMap<String, usize>) {
        self.pool.reserve(reserved).await;
    }

    /// The content changed: new sessions get the new lessons, and the pool is rebuilt.
    pub async fn content_reloaded(self: &Arc<Self>) {
        self.pool.drain().await;
        self.pool.refill();
    }

    /// The server stops: terminals close; environments are kept for the next start
    /// (re-adopted) unless `destroy`; the warm pool always goes.
    pub async fn shutdown(&self, destroy: bool) {
        self.stopping.cancel();
        self.starts.close();
        if tokio::time::timeout(START_DRAIN, self.starts.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "environment starts still running at shutdown; the next start-up removes what they leave"
            );
        }
        let sessions: Vec<_> = self.sessions().values().cloned().collect();
        for session in sessions {
            if destroy {
                self.end(&session, EndReason::Shutdown).await;
            } else {
                session.terminals.close_all().await;
            }
        }
        self.pool.drain().await;
    }
}
