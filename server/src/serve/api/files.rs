//! The learner's file editor: `/api/sessions/{id}/nodes/{node}/files?path=` opens a
//! folder or a text file on a node of the session and saves it, `/upload` and
//! `/download` move single files either way. The work is `runner::files` (over the
//! backend's exec, so no daemon in the image); this maps it onto HTTP for the
//! session's learner and the admin, like every per-session route.

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use runner::files::{FileError, NodeFiles, Opened, Saved};
use serde::Deserialize;

use super::error::{ApiError, ApiResult, Json};
use super::extract::AuthorizedSession;
use crate::serve::sessions::SessionError;
use crate::serve::state::AppState;

#[derive(Deserialize)]
pub struct NodePath {
    node: String,
}

/// Which file or folder: absolute, or relative to the lesson's editor root; none is
/// the root itself.
#[derive(Deserialize)]
pub struct FileQuery {
    path: Option<String>,
}

/// A save: the editor's text and the version it was opened at (`null`: a new file).
#[derive(Deserialize)]
pub struct SaveBody {
    content: String,
    version: Option<String>,
}

impl From<FileError> for ApiError {
    fn from(e: FileError) -> ApiError {
        let (status, code) = match &e {
            FileError::InvalidPath { .. } => (StatusCode::BAD_REQUEST, "bad_path"),
            FileError::OutsideRoot { .. } => (StatusCode::FORBIDDEN, "outside_root"),
            FileError::NotFound { .. } => (StatusCode::NOT_FOUND, "file_not_found"),
            FileError::IsADirectory { .. } | FileError::NotAFile { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "not_a_file")
            }
            FileError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "file_too_large"),
            FileError::Binary { .. } => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "binary_file"),
            FileError::Changed { .. } => (StatusCode::CONFLICT, "changed_on_disk"),
            FileError::Failed { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "file_failed"),
            FileError::Node(_) => (StatusCode::SERVICE_UNAVAILABLE, "backend_error"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

/// The session's node `node`, seen through its lesson's editor root.
fn node_files<'a>(
    state: &'a AppState,
    authorized: &'a AuthorizedSession,
    node: &'a str,
) -> ApiResult<NodeFiles<'a>> {
    let session = &authorized.session;
    if session.lesson.environment.node(node).is_none() {
        return Err(SessionError::NoNode(node.to_owned()).into());
    }
    Ok(NodeFiles::new(
        state.sessions.backend().as_ref(),
        &session.id,
        node,
        &session.lesson.editor,
    ))
}

pub async fn open(
    State(state): State<AppState>,
    Path(NodePath { node }): Path<NodePath>,
    Query(FileQuery { path }): Query<FileQuery>,
    authorized: AuthorizedSession,
) -> ApiResult<Json<Opened>> {
    let files = node_files(&state, &authorized, &node)?;
    Ok(Json(files.open(path.as_deref()).await?))
}

pub async fn save(
    State(state): State<AppState>,
    Path(NodePath { node }): Path<NodePath>,
    Query(FileQuery { path }): Query<FileQuery>,
    authorized: AuthorizedSession,
    Json(body): Json<SaveBody>,
) -> ApiResult<Json<Saved>> {
    let files = node_files(&state, &authorized, &node)?;
    let path = path.ok_or_else(no_path)?;
    let saved = files
        .write(&path, &body.content, body.version.as_deref())
        .await?;
    Ok(Json(saved))
}

pub async fn upload(
    State(state): State<AppState>,
    Path(NodePath { node }): Path<NodePath>,
    Query(FileQuery { path }): Query<FileQuery>,
    authorized: AuthorizedSession,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Saved>)> {
    let files = node_files(&state, &authorized, &node)?;
    let path = path.ok_or_else(no_path)?;
    Ok((StatusCode::CREATED, Json(files.upload(&path, body).await?)))
}

pub async fn download(
    State(state): State<AppState>,
    Path(NodePath { node }): Path<NodePath>,
    Query(FileQuery { path }): Query<FileQuery>,
    authorized: AuthorizedSession,
) -> ApiResult<Response> {
    let files = node_files(&state, &authorized, &node)?;
    let path = path.ok_or_else(no_path)?;
    let file = files.download(&path).await?;
    let name = file.path.rsplit('/').next().unwrap_or("download");
    // The name as a quoted string with anything but plain characters replaced, and
    // in full as RFC 5987's UTF-8 form, which browsers prefer.
    let plain: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    let disposition = format!("attachment; filename=\"{plain}\"; filename*=UTF-8''{encoded}");
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from(file.bytes),
    )
        .into_response())
}

fn no_path() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_path",
        "name the file with ?path=",
    )
}
