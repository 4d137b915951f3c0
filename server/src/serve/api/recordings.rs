//! The instructor's recordings: list and download (admin only; a learner gets 403,
//! even for their own session, since a recording may show what an instructor typed).
//!
//! - `GET /api/admin/recordings` → `[{session, learner?, lesson?, status?, recordings}]`,
//!   every session with recordings, most recently written first (`learner`, `lesson`
//!   and `status` while the database remembers the session);
//! - `GET /api/admin/recordings/{id}` → `[{file, node, shell, bytes, started_at,
//!   duration}]`;
//! - `GET /api/admin/recordings/{id}/{file}` → the `.cast`, as
//!   `application/x-asciicast`, an attachment.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use runner::SessionId;
use serde::Serialize;
use tokio_util::io::ReaderStream;

use super::error::{ApiError, ApiResult, Json};
use crate::serve::auth::Identity;
use crate::serve::recordings::RecordingInfo;
use crate::serve::state::AppState;
use crate::serve::status::Status;

/// A session's recordings in the overall list.
#[derive(Serialize)]
pub struct SessionRecordings {
    session: SessionId,
    #[serde(skip_serializing_if = "Option::is_none")]
    learner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lesson: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<Status>,
    recordings: Vec<RecordingInfo>,
}

pub async fn all(
    State(state): State<AppState>,
    id: Identity,
) -> ApiResult<Json<Vec<SessionRecordings>>> {
    id.require_admin_over_learners()?;
    let recorder = state.recorder.clone();
    let listed = blocking(move || {
        recorder
            .sessions()
            .into_iter()
            .map(|session| {
                let recordings = recorder.list(&session);
                (session, recordings)
            })
            .collect::<Vec<_>>()
    })
    .await?;
    let sessions = listed
        .into_iter()
        .map(|(session, recordings)| {
            let view = state.sessions.ended_view(session.as_str(), None, true).ok();
            SessionRecordings {
                learner: view.as_ref().map(|v| v.learner.clone()),
                lesson: view.as_ref().map(|v| v.lesson.clone()),
                status: view.map(|v| v.status),
                session,
                recordings,
            }
        })
        .collect();
    Ok(Json(sessions))
}

pub async fn of_session(
    State(state): State<AppState>,
    id: Identity,
    Path(session): Path<String>,
) -> ApiResult<Json<Vec<RecordingInfo>>> {
    id.require_admin_over_learners()?;
    let session = session_id(&session)?;
    let recorder = state.recorder.clone();
    Ok(Json(blocking(move || recorder.list(&session)).await?))
}

pub async fn download(
    State(state): State<AppState>,
    id: Identity,
    Path((session, file)): Path<(String, String)>,
) -> ApiResult<Response> {
    id.require_admin_over_learners()?;
    let session_id = session_id(&session)?;
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("session {session} has no recording {file:?}"),
        )
    };
    let path = state
        .recorder
        .path(&session_id, &file)
        .ok_or_else(not_found)?;
    let opened = tokio::fs::File::open(&path)
        .await
        .map_err(|_| not_found())?;
    let disposition = format!("attachment; filename=\"{session}-{file}\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-asciicast".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            // A live recording grows: never a stale copy.
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(ReaderStream::new(opened)),
    )
        .into_response())
}

/// A session id from a path; anything else names no folder.
fn session_id(text: &str) -> ApiResult<SessionId> {
    text.parse().map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no session {text:?}"),
        )
    })
}

/// Reads the recordings folder off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("listing recordings failed: {e}"),
        )
    })
}
