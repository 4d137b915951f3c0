//! Re-adoption on start-up: the sessions that were live when the server stopped are
//! taken back where their environment and lesson are still there, and ended with the
//! reason where not; then every environment no session owns is removed.
//!
//! Page scripts do not run again for an adopted session: they ran before the restart.

use std::collections::HashSet;
use std::sync::Arc;

use runner::SessionId;
use scenarios::Lesson;

use super::session::Session;
use super::shared::Shared;
use crate::serve::status::{EndReason, Status};
use crate::serve::store::SessionRecord;

/// What start-up does with one session the database says was live.
#[derive(Debug)]
enum Verdict {
    Adopt(Arc<Lesson>),
    End(EndReason),
}

/// `present`: the backend still has the environment (or cannot say).
fn verdict(record: &SessionRecord, lesson: Option<Arc<Lesson>>, present: bool) -> Verdict {
    match lesson {
        Some(lesson) if record.status == Status::Ready && present => Verdict::Adopt(lesson),
        _ if record.status == Status::Starting => Verdict::End(EndReason::RestartedWhileStarting),
        _ if !present => Verdict::End(EndReason::EnvironmentGone),
        _ => Verdict::End(EndReason::LessonGone),
    }
}

/// What re-adoption found.
pub(super) struct Adopted {
    /// The sessions taken back, to be held again.
    pub sessions: Vec<Arc<Session>>,
    /// Whether the backend could list its environments; if not, no orphan is removed
    /// (every environment may be someone's).
    pub listed: bool,
}

/// Takes back the live sessions of the database, and ends those it cannot.
pub(super) async fn readopt(shared: &Shared) -> anyhow::Result<Adopted> {
    let records = shared.store.live_sessions()?;
    let environments: Option<HashSet<SessionId>> = match shared.backend.environments().await {
        Ok(list) => Some(list.into_iter().collect()),
        Err(e) => {
            tracing::warn!(error = %e, "the backend cannot list environments; keeping every live session and removing no orphan");
            None
        }
    };
    let catalog = shared.catalog.get();
    let mut sessions = Vec::new();
    for record in records {
        let lesson = catalog.get(&record.lesson).cloned();
        let present = environments
            .as_ref()
            .is_none_or(|envs| envs.contains(&record.id));
        match verdict(&record, lesson, present) {
            Verdict::Adopt(lesson) => {
                let session = shared.new_session(
                    record.id.clone(),
                    &record.learner,
                    lesson,
                    record.class.clone(),
                    Status::Ready,
                );
                session.restore(&record);
                tracing::info!(session = %record.id, "re-adopted a live session");
                sessions.push(session);
            }
            Verdict::End(reason) => give_up(shared, record, reason).await?,
        }
    }
    Ok(Adopted {
        sessions,
        listed: environments.is_some(),
    })
}

/// Records the session as ended and destroys whatever is left of its environment.
/// Unlike `SessionManager::end` it sends no event: nobody
/// can be subscribed to a session that has not been taken back.
async fn give_up(shared: &Shared, record: SessionRecord, reason: EndReason) -> anyhow::Result<()> {
    tracing::warn!(session = %record.id, %reason, "could not re-adopt a session");
    shared.metrics.session_ended(&reason);
    let ended = SessionRecord {
        status: Status::Ended,
        ended_at: Some(shared.clock.now()),
        end_reason: Some(reason),
        ..record
    };
    shared.store.save_session(&ended)?;
    shared.destroy(&ended.id).await;
    Ok(())
}

/// Removes every environment whose session is not in `live`; returns those removed.
pub(super) async fn remove_orphans(shared: &Shared, live: &HashSet<SessionId>) -> Vec<SessionId> {
    // A failed clean-up leaves orphans behind but must not keep the server down.
    match shared.backend.reconcile(live).await {
        Ok(removed) => {
            for id in &removed {
                tracing::info!(session = %id, "removed an orphaned environment");
            }
            removed
        }
        Err(e) => {
            tracing::error!(error = %e, "could not remove orphaned environments");
            Vec::new()
        }
    }
}
