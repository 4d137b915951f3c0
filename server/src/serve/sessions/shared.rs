//! What every room of the session manager works with: the backend, the store, the
//! lessons, the limits, the metrics, the recorder, the clock and where web ports are,
//! with the few operations they all need (make a session, with its lesson as that
//! session runs it; save it; destroy an environment).

use std::sync::Arc;
use std::time::Duration;

use runner::{Backend, SessionId};
use scenarios::Lesson;

use super::clock::Clock;
use super::engine::EngineWatch;
use super::session::Session;
use crate::serve::config::Limits;
use crate::serve::content::SharedCatalog;
use crate::serve::metrics::Metrics;
use crate::serve::public_url::PortUrls;
use crate::serve::recordings::Recorder;
use crate::serve::status::Status;
use crate::serve::store::Store;
use crate::serve::terminals::Terminals;

pub(super) struct Shared {
    pub backend: Arc<dyn Backend>,
    pub store: Arc<Store>,
    pub catalog: Arc<SharedCatalog>,
    pub limits: Limits,
    pub metrics: Arc<Metrics>,
    pub recorder: Arc<Recorder>,
    pub clock: Clock,
    /// Where sessions' web ports are, when the server knows its public URL.
    pub port_urls: Option<PortUrls>,
    /// Whether the backend's engine answers.
    pub engine: EngineWatch,
}

impl Shared {
    /// The terminals of a new environment (none open yet).
    pub fn terminals(&self, id: &SessionId) -> Arc<Terminals> {
        Terminals::new(
            id.clone(),
            self.backend.clone(),
            self.limits.terminal_grace,
            self.metrics.clone(),
            self.recorder.clone(),
        )
    }

    /// A new session with terminals of its own, created now.
    pub fn new_session(
        &self,
        id: SessionId,
        learner: &str,
        lesson: Arc<Lesson>,
        class: Option<String>,
        status: Status,
    ) -> Arc<Session> {
        let terminals = self.terminals(&id);
        self.session_with(id, learner, lesson, class, status, terminals)
    }

    /// A new session on terminals that already exist (a warm pool environment).
    pub fn session_with(
        &self,
        id: SessionId,
        learner: &str,
        lesson: Arc<Lesson>,
        class: Option<String>,
        status: Status,
        terminals: Arc<Terminals>,
    ) -> Arc<Session> {
        let ttl = self.ttl(&lesson);
        let lesson = self.session_lesson(&id, lesson);
        Session::new(
            id,
            learner,
            lesson,
            class,
            status,
            terminals,
            self.clock.now(),
            ttl,
        )
    }

    /// `lesson` as session `id` runs it: its scripts' traffic markers are the session's
    /// URLs, and its nodes get them in files. The same for the same session, so a
    /// warm pool environment started for an id runs the lesson its session gets.
    pub fn session_lesson(&self, id: &SessionId, lesson: Arc<Lesson>) -> Arc<Lesson> {
        match &self.port_urls {
            Some(urls) => Arc::new(lesson.with_traffic(&urls.for_session(id))),
            None => lesson,
        }
    }

    /// How long a session of `lesson` lives: the lesson's own TTL, else the operator's.
    pub fn ttl(&self, lesson: &Lesson) -> Duration {
        lesson.session_ttl.unwrap_or(self.limits.session_ttl)
    }

    pub fn save(&self, session: &Session) {
        if let Err(e) = self.store.save_session(&session.record()) {
            tracing::error!(session = %session.id, error = %e, "could not save the session");
        }
    }

    /// Destroys the environment; a failure is logged (the next start-up's
    /// reconciliation removes what is left).
    pub async fn destroy(&self, id: &SessionId) {
        if let Err(e) = self.backend.destroy(id).await {
            tracing::error!(session = %id, error = %e, "could not destroy the environment");
        }
    }
}
