//! Sessions: one learner working through one lesson, owning one environment.
//!
//! The [`SessionManager`] owns the backend and is the only code that starts or
//! destroys environments, so every way a session ends (delete, finish, expiry, idle,
//! failed start, shutdown) goes through [`SessionManager::end`] and destroys the
//! environment. It enforces one live session per learner per lesson, the global
//! capacity, TTL with warnings and extension, the idle timeout, and keeps the warm
//! pool of pre-started environments. State that must survive a restart is written to
//! the [`Store`]; on start-up [`SessionManager::adopt`] re-adopts live sessions and
//! asks the backend to remove every other environment.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use runner::checks::{LineAssembler, TranscriptEntry, WasmChecker, WasmLimits};
use runner::{Backend, ExecRequest, ProgressSender, RunnerError, SessionId, TermSize};
use scenarios::{Lesson, Script};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::checks::{self, AnswerError, CheckResult, JudgeError};
use super::config::Limits;
use super::content::SharedCatalog;
use super::events::{Event, EventLog};
use super::foreground;
use super::metrics::{Metrics, ReasonLabel, ResultLabel};
use super::store::{SessionRecord, Status, Store};
use super::terminals::{InputHook, Terminals};

/// How long a failed session stays visible (with its error) before it is forgotten.
const FAILED_VISIBLE: Duration = Duration::from_secs(10 * 60);
/// Step setup scripts are killed after this long.
const STEP_SETUP_TIMEOUT: Duration = Duration::from_secs(300);
/// How long shutdown waits for environment starts in flight (an image build can take
/// minutes; past this, the next start-up's reconciliation removes what is left).
const START_DRAIN: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("there is no lesson {0:?}")]
    LessonNotFound(String),
    #[error("there is no session {0}")]
    NotFound(String),
    #[error("this session belongs to someone else")]
    Forbidden,
    #[error("the lab is full ({0} sessions running); try again in a minute")]
    AtCapacity(usize),
    #[error("the session is {0:?}, not ready")]
    NotReady(Status),
    #[error("the lesson has no node {0:?}")]
    NoNode(String),
    #[error(transparent)]
    Answers(#[from] AnswerError),
    #[error(transparent)]
    Backend(#[from] RunnerError),
}

/// A session as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    pub id: SessionId,
    pub lesson: String,
    pub learner: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub nodes: Vec<String>,
    /// The current step, counting from 0; equal to `steps` once completed.
    pub step: usize,
    pub steps: usize,
    pub completed: bool,
    /// RFC 3339.
    pub created_at: String,
    pub expires_at: String,
    /// Why an ended session ended: `finished`, `deleted`, `expired`, `idle`,
    /// `shutdown`, `failed`, or a sentence when a restart could not take it back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
}

/// What a check returns.
#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    pub passed: bool,
    pub step: usize,
    pub completed: bool,
    /// RFC 3339; brought forward when this check completed the lesson.
    pub expires_at: String,
    pub results: Vec<CheckResult>,
}

pub struct Session {
    pub id: SessionId,
    pub learner: String,
    pub lesson: Arc<Lesson>,
    pub events: EventLog,
    pub terminals: Arc<Terminals>,
    state: Mutex<SessionState>,
    /// One check at a time per session: a double click must not advance twice.
    checking: tokio::sync::Mutex<()>,
}

struct SessionState {
    status: Status,
    error: Option<String>,
    step: usize,
    created_at: SystemTime,
    expires_at: SystemTime,
    completed_at: Option<SystemTime>,
    ended_at: Option<SystemTime>,
    end_reason: Option<String>,
    last_active: Instant,
    warned: bool,
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

impl Session {
    fn lock(&self) -> std::sync::MutexGuard<'_, SessionState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn status(&self) -> Status {
        self.lock().status
    }

    pub fn view(&self) -> SessionView {
        let st = self.lock();
        SessionView {
            id: self.id.clone(),
            lesson: self.lesson.id.clone(),
            learner: self.learner.clone(),
            status: st.status,
            error: st.error.clone(),
            nodes: self
                .lesson
                .environment
                .nodes
                .iter()
                .map(|n| n.name.clone())
                .collect(),
            step: st.step,
            steps: self.lesson.steps.len(),
            completed: st.completed_at.is_some(),
            created_at: rfc3339(st.created_at),
            expires_at: rfc3339(st.expires_at),
            end_reason: st.end_reason.clone(),
        }
    }

    fn record(&self) -> SessionRecord {
        let st = self.lock();
        SessionRecord {
            id: self.id.clone(),
            learner: self.learner.clone(),
            lesson: self.lesson.id.clone(),
            status: st.status,
            error: st.error.clone(),
            step: st.step,
            created_at: st.created_at,
            expires_at: st.expires_at,
            completed_at: st.completed_at,
            ended_at: st.ended_at,
            end_reason: st.end_reason.clone(),
        }
    }

    /// Marks the session as used now (it is not idle).
    pub fn touch(&self) {
        self.lock().last_active = Instant::now();
    }

    /// Whether `learner` may use this session.
    pub fn owned_by(&self, learner: Option<&str>) -> bool {
        learner == Some(self.learner.as_str())
    }
}

/// A warm pool entry: an environment started before anyone asked for it, with a shell
/// already running on each node.
struct Pooled {
    id: SessionId,
    lesson: Arc<Lesson>,
    terminals: Arc<Terminals>,
}

#[derive(Default)]
struct Pool {
    ready: HashMap<String, Vec<Pooled>>,
    starting: HashMap<String, usize>,
}

pub struct SessionManager {
    backend: Arc<dyn Backend>,
    store: Arc<Store>,
    catalog: Arc<SharedCatalog>,
    limits: Limits,
    metrics: Arc<Metrics>,
    sessions: Mutex<HashMap<SessionId, Arc<Session>>>,
    pool: Mutex<Pool>,
    /// Runs WASM checks; compiled modules are cached inside.
    wasm: WasmChecker,
    /// Cancelled when the server stops: no new environments from then on.
    stopping: CancellationToken,
    /// Environment starts in flight. Shutdown waits for them: a start cut off when the
    /// runtime stops would leave half an environment that no session owns.
    starts: TaskTracker,
}

impl SessionManager {
    pub fn new(
        backend: Arc<dyn Backend>,
        store: Arc<Store>,
        catalog: Arc<SharedCatalog>,
        limits: Limits,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Arc<SessionManager>> {
        let wasm = WasmChecker::new(WasmLimits::default())?;
        Ok(Arc::new(SessionManager {
            backend,
            store,
            catalog,
            limits,
            metrics,
            sessions: Mutex::new(HashMap::new()),
            pool: Mutex::new(Pool::default()),
            wasm,
            stopping: CancellationToken::new(),
            starts: TaskTracker::new(),
        }))
    }

    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Arc<Session>>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn save(&self, session: &Session) {
        if let Err(e) = self.store.save_session(&session.record()) {
            tracing::error!(session = %session.id, error = %e, "could not save the session");
        }
    }

    fn new_terminals(&self, id: &SessionId) -> Arc<Terminals> {
        Terminals::new(
            id.clone(),
            self.backend.clone(),
            self.limits.terminal_grace,
            self.metrics.clone(),
        )
    }

    fn new_session(
        &self,
        id: SessionId,
        learner: &str,
        lesson: Arc<Lesson>,
        status: Status,
        terminals: Arc<Terminals>,
    ) -> Arc<Session> {
        let now = SystemTime::now();
        let ttl = lesson.session_ttl.unwrap_or(self.limits.session_ttl);
        Arc::new(Session {
            id,
            learner: learner.to_owned(),
            lesson,
            events: EventLog::default(),
            terminals,
            state: Mutex::new(SessionState {
                status,
                error: None,
                step: 0,
                created_at: now,
                expires_at: now + ttl,
                completed_at: None,
                ended_at: None,
                end_reason: None,
                last_active: Instant::now(),
                warned: false,
            }),
            checking: tokio::sync::Mutex::new(()),
        })
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
        let record = self
            .store
            .session(&id)
            .ok()
            .flatten()
            .ok_or_else(not_found)?;
        if !admin && learner != Some(record.learner.as_str()) {
            return Err(SessionError::Forbidden);
        }
        let lesson = self.catalog.get().get(&record.lesson).cloned();
        Ok(SessionView {
            id: record.id,
            lesson: record.lesson,
            learner: record.learner,
            status: record.status,
            error: record.error,
            nodes: lesson
                .as_ref()
                .map(|l| l.environment.nodes.iter().map(|n| n.name.clone()).collect())
                .unwrap_or_default(),
            step: record.step,
            steps: lesson.map(|l| l.steps.len()).unwrap_or(record.step),
            completed: record.completed_at.is_some(),
            created_at: rfc3339(record.created_at),
            expires_at: rfc3339(record.expires_at),
            end_reason: record.end_reason,
        })
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
        self.sessions()
            .values()
            .filter(|s| s.status().is_live())
            .count()
    }

    /// Creates the learner's session for a lesson, or returns the live one they have
    /// (`false`: it already existed).
    pub fn create(
        self: &Arc<Self>,
        learner: &str,
        lesson_id: &str,
    ) -> Result<(Arc<Session>, bool), SessionError> {
        let lesson = self
            .catalog
            .get()
            .get(lesson_id)
            .cloned()
            .ok_or_else(|| SessionError::LessonNotFound(lesson_id.to_owned()))?;
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
            if live >= self.limits.max_sessions {
                return Err(SessionError::AtCapacity(live));
            }
            let pooled = self.pool_take(&lesson.id);
            let session = match pooled {
                Some(p) => self.new_session(p.id, learner, p.lesson, Status::Ready, p.terminals),
                None => {
                    let id = SessionId::random();
                    let terminals = self.new_terminals(&id);
                    self.new_session(id, learner, lesson, Status::Starting, terminals)
                }
            };
            sessions.insert(session.id.clone(), session.clone());
            let pooled = session.status() == Status::Ready;
            (session, pooled)
        };
        self.metrics.sessions_started.inc();
        self.metrics.sessions_live.inc();
        self.save(&session);
        tracing::info!(session = %session.id, lesson = %session.lesson.id, learner, pooled, "session created");
        if pooled {
            self.metrics.session_start_seconds.observe(0.0);
            self.became_ready(&session);
        } else {
            self.starts.spawn(self.clone().start(session.clone()));
        }
        self.refill_pool();
        Ok((session, true))
    }

    async fn start(self: Arc<Self>, session: Arc<Session>) {
        let began = Instant::now();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let forward = {
            let session = session.clone();
            tokio::spawn(async move {
                while let Some(progress) = rx.recv().await {
                    session.events.send(Event::Progress { progress });
                }
            })
        };
        let result = self
            .backend
            .start(&session.id, &session.lesson, ProgressSender::new(tx))
            .await;
        // Progress sent before `start` returned is delivered before the status.
        let _ = tokio::time::timeout(Duration::from_secs(1), forward).await;
        let outcome = {
            let mut st = session.lock();
            if st.status == Status::Ended {
                None
            } else {
                match &result {
                    Ok(_) => st.status = Status::Ready,
                    Err(e) => {
                        st.status = Status::Failed;
                        st.error = Some(e.to_string());
                        st.last_active = Instant::now();
                    }
                }
                Some((st.status, st.error.clone()))
            }
        };
        match outcome {
            // Deleted while starting: whatever the start created goes.
            None => self.destroy(&session.id).await,
            Some((status, error)) => {
                self.save(&session);
                if status == Status::Ready {
                    self.metrics
                        .session_start_seconds
                        .observe(began.elapsed().as_secs_f64());
                    tracing::info!(session = %session.id, elapsed = ?began.elapsed(), "session ready");
                } else {
                    self.metrics.sessions_failed.inc();
                    self.metrics.sessions_live.dec();
                    tracing::warn!(session = %session.id, error = error.as_deref().unwrap_or(""), "session failed to start");
                    self.destroy(&session.id).await;
                }
                session.events.send(Event::Status { status, error });
                if status == Status::Ready {
                    self.became_ready(&session);
                }
            }
        }
    }

    async fn destroy(&self, id: &SessionId) {
        if let Err(e) = self.backend.destroy(id).await {
            tracing::error!(session = %id, error = %e, "could not destroy the environment");
        }
    }

    /// The environment is ready for its learner: the lesson's foreground scripts
    /// (Killercoda's intro `foreground`; the backend ran the others while starting),
    /// then the first step's scripts. Not on re-adoption: they ran before the restart.
    fn became_ready(&self, session: &Arc<Session>) {
        let intro = session.lesson.setup.iter().filter(|s| s.foreground);
        let first_step = session.lesson.steps.first().map(|s| s.setup.iter());
        let scripts = intro.chain(first_step.into_iter().flatten()).cloned();
        self.run_page_scripts(session, 0, scripts.collect());
    }

    /// Runs a step's setup scripts when the learner reaches it.
    fn enter_step(&self, session: &Arc<Session>, step: usize) {
        let scripts = session.lesson.steps.get(step).map(|s| s.setup.clone());
        self.run_page_scripts(session, step, scripts.unwrap_or_default());
    }

    /// Runs the scripts of the page the learner has reached (`step` is for the log):
    /// foreground ones are typed into their node's terminal, in order (see
    /// [`foreground`]); the others run out of sight. The two groups run side by side,
    /// as in Killercoda, where a foreground script often waits for what a background
    /// one prepares.
    fn run_page_scripts(&self, session: &Arc<Session>, step: usize, scripts: Vec<Script>) {
        let (typed, hidden): (Vec<Script>, Vec<Script>) =
            scripts.into_iter().partition(|s| s.foreground);
        if !typed.is_empty() {
            let backend = self.backend.clone();
            let session = session.clone();
            tokio::spawn(async move {
                for script in typed {
                    if let Err(e) = foreground::run(
                        backend.as_ref(),
                        &session.terminals,
                        &session.id,
                        &script.node,
                        &script.run,
                    )
                    .await
                    {
                        tracing::warn!(session = %session.id, step, node = %script.node, error = %e, "could not run a foreground script");
                    }
                }
            });
        }
        if hidden.is_empty() {
            return;
        }
        let backend = self.backend.clone();
        let session = session.clone();
        tokio::spawn(async move {
            for script in hidden {
                let request = ExecRequest::new(script.run, STEP_SETUP_TIMEOUT);
                match backend.exec(&session.id, &script.node, request).await {
                    Ok(out) if out.success() => {}
                    Ok(out) => {
                        tracing::warn!(session = %session.id, step, exit = ?out.exit_code, stderr = %out.stderr, "step setup failed")
                    }
                    Err(e) => {
                        tracing::warn!(session = %session.id, step, error = %e, "step setup could not run")
                    }
                }
            }
        });
    }

    /// Ends a session: closes its terminals, destroys its environment, records why.
    pub async fn end(&self, session: &Arc<Session>, reason: &str) {
        if self.sessions().remove(&session.id).is_none() {
            return;
        }
        let was_live = {
            let mut st = session.lock();
            let was_live = st.status.is_live();
            st.status = Status::Ended;
            st.ended_at = Some(SystemTime::now());
            st.end_reason = Some(reason.to_owned());
            was_live
        };
        // Recorded before the slow part, so the session reads as ended at once.
        self.save(session);
        if was_live {
            self.metrics.sessions_live.dec();
        }
        self.metrics
            .sessions_ended
            .get_or_create(&ReasonLabel {
                reason: reason.to_owned(),
            })
            .inc();
        session.events.send(Event::Ended {
            reason: reason.to_owned(),
        });
        session.terminals.close_all().await;
        self.destroy(&session.id).await;
        tracing::info!(session = %session.id, reason, "session ended");
    }

    /// Pushes the expiry out by the configured extension, to at most one TTL from now.
    pub fn extend(&self, session: &Session) -> Result<SessionView, SessionError> {
        let ttl = session
            .lesson
            .session_ttl
            .unwrap_or(self.limits.session_ttl);
        let expires_at = {
            let mut st = session.lock();
            if !st.status.is_live() {
                return Err(SessionError::NotReady(st.status));
            }
            let now = SystemTime::now();
            st.expires_at = (st.expires_at + self.limits.extend_by)
                .min(now + ttl)
                .max(st.expires_at);
            st.warned = false;
            st.expires_at
        };
        self.save(session);
        session.events.send(Event::Extended {
            expires_at: rfc3339(expires_at),
        });
        Ok(session.view())
    }

    /// Checks the current step; a pass moves the learner to the next one.
    pub async fn check(
        &self,
        session: &Arc<Session>,
        answers: Option<&[Vec<usize>]>,
    ) -> Result<CheckOutcome, SessionError> {
        let _one_at_a_time = session.checking.lock().await;
        let (status, step) = {
            let st = session.lock();
            (st.status, st.step)
        };
        if status != Status::Ready {
            return Err(SessionError::NotReady(status));
        }
        let Some(lesson_step) = session.lesson.steps.get(step) else {
            return Ok(CheckOutcome {
                passed: true,
                step,
                completed: true,
                expires_at: rfc3339(session.lock().expires_at),
                results: Vec::new(),
            });
        };
        let transcript = self.store.transcript(&session.id).unwrap_or_else(|e| {
            tracing::error!(session = %session.id, error = %e, "could not read the transcript");
            Default::default()
        });
        let results = checks::judge_step(
            self.backend.as_ref(),
            &self.wasm,
            &session.id,
            step,
            lesson_step,
            answers,
            &transcript,
        )
        .await
        .map_err(|e| match e {
            JudgeError::Answers(e) => SessionError::Answers(e),
            JudgeError::Runner(e) => SessionError::Backend(e),
        })?;
        let passed = results.iter().all(|r| r.passed);
        if let Err(e) = self.store.record_attempt(&session.id, step, passed) {
            tracing::error!(session = %session.id, error = %e, "could not record the attempt");
        }
        self.metrics
            .checks
            .get_or_create(&ResultLabel {
                result: if passed { "pass" } else { "fail" }.into(),
            })
            .inc();
        let (step, completed, expires_at) = {
            let mut st = session.lock();
            if passed {
                st.step = step + 1;
                if st.step == session.lesson.steps.len() {
                    // A finished lesson frees its environment: the session now ends
                    // within the finish grace, through the same expiry as a TTL (so
                    // the learner sees the countdown, is warned, and may extend).
                    let now = SystemTime::now();
                    st.completed_at = Some(now);
                    let due = now + self.limits.finish_grace;
                    if due < st.expires_at {
                        st.expires_at = due;
                        st.warned = false;
                    }
                }
            }
            (st.step, st.completed_at.is_some(), rfc3339(st.expires_at))
        };
        if passed {
            self.save(session);
            session.events.send(Event::Step {
                step,
                completed,
                expires_at: expires_at.clone(),
            });
            self.enter_step(session, step);
        }
        Ok(CheckOutcome {
            passed,
            step,
            completed,
            expires_at,
            results,
        })
    }

    /// What a terminal does with an owner's keystrokes besides sending them: the session
    /// is active, and completed command lines go to the transcript.
    pub fn input_hook(&self, session: &Arc<Session>, node: &str) -> InputHook {
        let session = session.clone();
        let store = self.store.clone();
        let node = node.to_owned();
        let mut lines = LineAssembler::new();
        Box::new(move |bytes: &[u8]| {
            session.touch();
            for line in lines.feed(bytes) {
                if let Err(e) =
                    store.record_command(&session.id, &TranscriptEntry::now(&node, line))
                {
                    tracing::warn!(session = %session.id, error = %e, "could not record a command line");
                }
            }
        })
    }

    /// Expires, idles out and warns; forgets failed sessions after a while. Called
    /// every second.
    pub async fn tick(&self) {
        let now = SystemTime::now();
        let sessions: Vec<_> = self.sessions().values().cloned().collect();
        for session in sessions {
            let action = {
                let mut st = session.lock();
                let left = st.expires_at.duration_since(now).unwrap_or_default();
                match st.status {
                    // A completed lesson's expiry is its finish grace (see `check`).
                    Status::Ready if left.is_zero() && st.completed_at.is_some() => {
                        Some("finished")
                    }
                    Status::Starting | Status::Ready if left.is_zero() => Some("expired"),
                    Status::Ready if st.last_active.elapsed() >= self.limits.idle_timeout => {
                        Some("idle")
                    }
                    Status::Starting | Status::Ready => {
                        if !st.warned && left <= self.limits.expiry_warning {
                            st.warned = true;
                            session.events.send(Event::ExpiryWarning {
                                expires_at: rfc3339(st.expires_at),
                                seconds_left: left.as_secs(),
                            });
                        }
                        None
                    }
                    Status::Failed if st.last_active.elapsed() >= FAILED_VISIBLE => Some("failed"),
                    Status::Failed | Status::Ended => None,
                }
            };
            if let Some(reason) = action {
                self.end(&session, reason).await;
            }
        }
    }

    /// On start-up: takes back the sessions that were live, and removes every
    /// environment that belongs to none of them. Returns the removed orphans.
    pub async fn adopt(&self) -> anyhow::Result<Vec<SessionId>> {
        let records = self.store.live_sessions()?;
        let environments: Option<HashSet<SessionId>> = match self.backend.environments().await {
            Ok(list) => Some(list.into_iter().collect()),
            Err(e) => {
                tracing::warn!(error = %e, "the backend cannot list environments; keeping every live session and removing no orphan");
                None
            }
        };
        let catalog = self.catalog.get();
        for record in records {
            let lesson = catalog.get(&record.lesson).cloned();
            let present = environments
                .as_ref()
                .is_none_or(|envs| envs.contains(&record.id));
            match lesson {
                Some(lesson) if record.status == Status::Ready && present => {
                    let terminals = self.new_terminals(&record.id);
                    let session = self.new_session(
                        record.id.clone(),
                        &record.learner,
                        lesson,
                        Status::Ready,
                        terminals,
                    );
                    {
                        let mut st = session.lock();
                        st.step = record.step;
                        st.created_at = record.created_at;
                        st.expires_at = record.expires_at;
                        st.completed_at = record.completed_at;
                    }
                    self.metrics.sessions_live.inc();
                    self.sessions().insert(record.id.clone(), session);
                    tracing::info!(session = %record.id, "re-adopted a live session");
                }
                _ => {
                    let reason = if record.status == Status::Starting {
                        "the server restarted while the environment was starting"
                    } else if !present {
                        "the environment was gone after a restart"
                    } else {
                        "the lesson is no longer in the content directory"
                    };
                    let mut ended = record.clone();
                    ended.status = Status::Ended;
                    ended.ended_at = Some(SystemTime::now());
                    ended.end_reason = Some(reason.into());
                    self.store.save_session(&ended)?;
                    self.destroy(&record.id).await;
                    tracing::warn!(session = %record.id, reason, "could not re-adopt a session");
                }
            }
        }
        if environments.is_none() {
            return Ok(Vec::new());
        }
        let live: HashSet<SessionId> = self.sessions().keys().cloned().collect();
        // A failed clean-up leaves orphans behind but must not keep the server down.
        match self.backend.reconcile(&live).await {
            Ok(removed) => {
                for id in &removed {
                    tracing::info!(session = %id, "removed an orphaned environment");
                }
                Ok(removed)
            }
            Err(e) => {
                tracing::error!(error = %e, "could not remove orphaned environments");
                Ok(Vec::new())
            }
        }
    }

    fn pool_take(&self, lesson: &str) -> Option<Pooled> {
        let taken = self.pool().ready.get_mut(lesson)?.pop();
        if taken.is_some() {
            self.metrics.warm_pool_ready.dec();
        }
        taken
    }

    /// Starts environments until every lesson has its warm pool.
    pub fn refill_pool(self: &Arc<Self>) {
        let want = self.limits.warm_pool;
        if want == 0 || self.stopping.is_cancelled() {
            return;
        }
        for lesson in self.catalog.get().lessons() {
            let mut pool = self.pool();
            let have = pool.ready.get(&lesson.id).map_or(0, Vec::len)
                + pool.starting.get(&lesson.id).copied().unwrap_or(0);
            for _ in have..want {
                *pool.starting.entry(lesson.id.clone()).or_default() += 1;
                self.starts.spawn(self.clone().start_pooled(lesson.clone()));
            }
        }
    }

    async fn start_pooled(self: Arc<Self>, lesson: Arc<Lesson>) {
        let id = SessionId::random();
        let terminals = self.new_terminals(&id);
        let mut result = self
            .backend
            .start(&id, &lesson, ProgressSender::discard())
            .await;
        if result.is_ok() {
            // The first prompt is then already on the screen when a learner arrives.
            let shells = lesson
                .environment
                .nodes
                .iter()
                .map(|node| terminals.open(&node.name, TermSize::default()));
            if let Err(e) = futures::future::try_join_all(shells).await {
                result = Err(e);
            }
        }
        let keep = {
            let mut pool = self.pool();
            if let Some(n) = pool.starting.get_mut(&lesson.id) {
                *n = n.saturating_sub(1);
            }
            // A reload since the start makes this environment stale.
            let current = self
                .catalog
                .get()
                .get(&lesson.id)
                .is_some_and(|l| Arc::ptr_eq(l, &lesson));
            let keep = result.is_ok() && current && !self.stopping.is_cancelled();
            if keep {
                pool.ready
                    .entry(lesson.id.clone())
                    .or_default()
                    .push(Pooled {
                        id: id.clone(),
                        lesson: lesson.clone(),
                        terminals: terminals.clone(),
                    });
                self.metrics.warm_pool_ready.inc();
            }
            keep
        };
        if let Err(e) = &result {
            tracing::warn!(lesson = %lesson.id, error = %e, "could not start a warm pool environment");
        }
        if !keep {
            terminals.close_all().await;
            self.destroy(&id).await;
        }
    }

    /// Destroys every pooled environment (shutdown, content reload).
    pub async fn drain_pool(&self) {
        let drained: Vec<Pooled> = {
            let mut pool = self.pool();
            pool.ready.drain().flat_map(|(_, v)| v).collect()
        };
        self.metrics.warm_pool_ready.dec_by(drained.len() as i64);
        futures::future::join_all(drained.iter().map(|pooled| async {
            pooled.terminals.close_all().await;
            self.destroy(&pooled.id).await;
        }))
        .await;
    }

    /// The content changed: new sessions get the new lessons, and the pool is rebuilt.
    pub async fn content_reloaded(self: &Arc<Self>) {
        self.drain_pool().await;
        self.refill_pool();
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
                self.end(&session, "shutdown").await;
            } else {
                session.terminals.close_all().await;
            }
        }
        self.drain_pool().await;
    }
}
