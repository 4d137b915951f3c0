//! The HTTP API (the contract the web UI and tests are written against).
//!
//! - `GET /api/lessons` → `[{id,title,description,difficulty,duration,tags,steps}]`
//!   (`duration` as text like `30m`, `steps` a count)
//! - `GET /api/lessons/{id}` → the lesson with `nodes` and
//!   `steps[{title,html,hint_html?,quiz,checks}]` (`hint_html` only for a step with a
//!   hint), plus `intro_html`/`finish_html` (quiz answers are never sent)
//! - `GET /api/sessions` → the caller's sessions (for "resume" badges)
//! - `POST /api/sessions {"lesson":ID}` → `201` (new) or `200` (the learner's live
//!   session for that lesson) with `{id,lesson,status,error?,nodes,step,steps,completed,
//!   created_at,expires_at}`; an ended session adds `end_reason` (`finished`,
//!   `deleted`, `expired`, `idle`, `shutdown`, `failed`, or why a restart lost it)
//! - `GET /api/sessions/{id}`, `DELETE /api/sessions/{id}` (204), `POST .../extend`
//! - `POST /api/sessions/{id}/check` `{"answers":[[i,...],...]}` (quiz steps) →
//!   `{passed,step,completed,expires_at,results:[{passed,message}]}`; passing the
//!   last step brings `expires_at` forward to the finish grace
//! - `GET /api/sessions/{id}/events`: Server-Sent Events, see [`super::events`]
//! - `GET /api/sessions/{id}/terminals/{node}?cols=&rows=`: WebSocket, see
//!   [`super::terminals`]; the admin joins read-only
//! - `GET /api/me` → `{learner, admin, auth}`; `POST /api/join {"code"}` (`--auth code`);
//!   `POST /api/admin/login {"token"}`; `GET /api/admin/sessions`; `POST /api/admin/reload`
//! - `GET /healthz`, `GET /readyz`, `GET /metrics`
//!
//! Errors are `{"error": code, "message": text}`: 400/422 bad body, 401 not joined
//! (with `--auth code`, lessons and sessions are for learners who joined; the admin
//! may read lessons) or not admin, 403 a wrong join code or admin token, or someone
//! else's session, 404 unknown, 409 not ready, 503 (with `Retry-After`) at capacity or
//! backend down.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Query, State, WebSocketUpgrade};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use futures::{Stream, StreamExt};
use runner::TermSize;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_stream::wrappers::BroadcastStream;

use super::auth::{self, Identity};
use super::config::AuthMode;
use super::content::render_page;
use super::events::Event;
use super::sessions::SessionError;
use super::state::AppState;
use super::terminals::{self, Role};

/// An API error: a status and the `{error, message}` body.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            axum::Json(json!({"error": self.code, "message": self.message})),
        )
            .into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        response
    }
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> ApiError {
        let (status, code) = match &e {
            SessionError::LessonNotFound(_) => (StatusCode::NOT_FOUND, "lesson_not_found"),
            SessionError::NotFound(_) => (StatusCode::NOT_FOUND, "session_not_found"),
            SessionError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            SessionError::AtCapacity(_) => (StatusCode::SERVICE_UNAVAILABLE, "at_capacity"),
            SessionError::NotReady(_) => (StatusCode::CONFLICT, "not_ready"),
            SessionError::NoNode(_) => (StatusCode::NOT_FOUND, "node_not_found"),
            SessionError::Answers(_) => (StatusCode::UNPROCESSABLE_ENTITY, "bad_answers"),
            SessionError::Backend(_) => (StatusCode::SERVICE_UNAVAILABLE, "backend_error"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        let code = match rejection.status() {
            StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "not_json",
            _ => "bad_body",
        };
        ApiError::new(rejection.status(), code, rejection.body_text())
    }
}

/// `axum::Json` with errors in the API's shape.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
struct Json<T>(T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

impl Identity {
    fn require_learner(&self) -> ApiResult<&str> {
        self.learner.as_deref().ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "join_required",
                "enter the join code first (POST /api/join)",
            )
        })
    }

    /// The lessons are for learners who joined (with `--auth code`, the catalog is
    /// the instructor's business until then) and for the admin's dashboard.
    fn require_reader(&self) -> ApiResult<()> {
        if self.admin {
            return Ok(());
        }
        self.require_learner().map(|_| ())
    }

    fn require_admin(&self) -> ApiResult<()> {
        if self.admin {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "admin_required",
                "this needs the admin token",
            ))
        }
    }
}

/// The API and operator routes; the web UI is nested as the fallback by the caller.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/me", get(me))
        .route("/join", post(join))
        .route("/lessons", get(list_lessons))
        .route("/lessons/{id}", get(get_lesson))
        .route("/sessions", get(list_sessions).post(create_session))
        .route("/sessions/{id}", get(get_session).delete(delete_session))
        .route("/sessions/{id}/events", get(session_events))
        .route("/sessions/{id}/check", post(check))
        .route("/sessions/{id}/extend", post(extend))
        .route("/sessions/{id}/terminals/{node}", get(terminal))
        .route("/admin/login", post(admin_login))
        .route("/admin/sessions", get(admin_sessions))
        .route("/admin/reload", post(admin_reload))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such API endpoint")
        });
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .nest("/api", api)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::identify,
        ))
        .with_state(state)
}

async fn readyz(State(state): State<AppState>) -> ApiResult<&'static str> {
    state.sessions.backend().ping().await.map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "backend_unreachable",
            format!(
                "the {} backend is not reachable: {e}",
                state.sessions.backend().name()
            ),
        )
    })?;
    Ok("ready\n")
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
}

async fn me(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
) -> impl IntoResponse {
    Json(json!({
        "learner": id.learner,
        "admin": id.admin,
        "auth": match state.auth.mode() { AuthMode::Open => "open", AuthMode::Code => "code" },
    }))
}

#[derive(Deserialize)]
struct JoinBody {
    code: String,
}

async fn join(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    headers: axum::http::HeaderMap,
    Json(body): Json<JoinBody>,
) -> ApiResult<Response> {
    if !state.auth.is_join_code(&body.code) && state.auth.mode() == AuthMode::Code {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_code",
            "that join code is not right",
        ));
    }
    if let Some(learner) = id.learner {
        return Ok(Json(json!({"learner": learner})).into_response());
    }
    let (jar, learner) = state.auth.new_learner(state.auth.jar(&headers));
    Ok((jar, Json(json!({"learner": learner}))).into_response())
}

#[derive(Deserialize)]
struct LoginBody {
    token: String,
}

async fn admin_login(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Json(body): Json<LoginBody>,
) -> ApiResult<Response> {
    if !state.auth.is_admin_token(&body.token) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_token",
            "that admin token is not right",
        ));
    }
    let jar = state.auth.admin_cookie(state.auth.jar(&headers));
    Ok((jar, StatusCode::NO_CONTENT).into_response())
}

fn lesson_summary(lesson: &scenarios::Lesson) -> serde_json::Value {
    json!({
        "id": lesson.id,
        "title": lesson.title,
        "description": lesson.description,
        "difficulty": lesson.difficulty.map(|d| d.as_str()),
        "duration": lesson.duration.map(|d| humantime::format_duration(d).to_string()),
        "tags": lesson.tags,
        "steps": lesson.steps.len(),
    })
}

async fn list_lessons(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
) -> ApiResult<impl IntoResponse> {
    id.require_reader()?;
    let catalog = state.catalog.get();
    Ok(Json(
        catalog
            .lessons()
            .map(|l| lesson_summary(l))
            .collect::<Vec<_>>(),
    ))
}

async fn get_lesson(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    who.require_reader()?;
    let catalog = state.catalog.get();
    let lesson = catalog
        .get(&id)
        .ok_or_else(|| ApiError::from(SessionError::LessonNotFound(id.clone())))?;
    let mut body = lesson_summary(lesson);
    body["nodes"] = json!(
        lesson
            .environment
            .nodes
            .iter()
            .map(|n| &n.name)
            .collect::<Vec<_>>()
    );
    body["steps"] = lesson
        .steps
        .iter()
        .map(|step| {
            let mut detail = json!({
                "title": step.title,
                "html": render_page(lesson, &step.text.markdown),
                "quiz": step.quiz.iter().map(|q| json!({
                    "question": q.question,
                    "choices": q.choices,
                    "multiple": q.answer.len() > 1,
                })).collect::<Vec<_>>(),
                "checks": step.checks.len(),
            });
            // Only a step with a hint carries the key: the page offers no hint without it.
            if let Some(hint) = &step.hint {
                detail["hint_html"] = json!(render_page(lesson, &hint.markdown));
            }
            detail
        })
        .collect();
    body["intro_html"] = json!(
        lesson
            .intro
            .as_ref()
            .map(|p| render_page(lesson, &p.markdown))
    );
    body["finish_html"] = json!(
        lesson
            .finish
            .as_ref()
            .map(|p| render_page(lesson, &p.markdown))
    );
    Ok(Json(body))
}

async fn list_sessions(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
) -> ApiResult<impl IntoResponse> {
    let learner = id.require_learner()?;
    Ok(Json(state.sessions.list(Some(learner))))
}

async fn admin_sessions(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
) -> ApiResult<impl IntoResponse> {
    id.require_admin()?;
    Ok(Json(state.sessions.list(None)))
}

async fn admin_reload(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
) -> ApiResult<impl IntoResponse> {
    id.require_admin()?;
    let problems = state.reload_content().await.map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reload_failed",
            format!("{e:#}"),
        )
    })?;
    Ok(Json(
        json!({"lessons": state.catalog.get().lessons().count(), "problems": problems}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    lesson: String,
}

async fn create_session(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    Json(body): Json<CreateBody>,
) -> ApiResult<impl IntoResponse> {
    let learner = id.require_learner()?;
    let (session, created) = state.sessions.create(learner, &body.lesson)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(session.view())))
}

async fn get_session(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    Path(session): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let learner = id.learner.as_deref();
    match state.sessions.get(&session, learner, id.admin) {
        Ok(s) => Ok(Json(s.view())),
        Err(SessionError::NotFound(_)) => Ok(Json(
            state.sessions.ended_view(&session, learner, id.admin)?,
        )),
        Err(e) => Err(e.into()),
    }
}

async fn delete_session(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    Path(session): Path<String>,
) -> ApiResult<StatusCode> {
    let session = state
        .sessions
        .get(&session, id.learner.as_deref(), id.admin)?;
    state.sessions.end(&session, "deleted").await;
    Ok(StatusCode::NO_CONTENT)
}

async fn extend(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    Path(session): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let session = state
        .sessions
        .get(&session, id.learner.as_deref(), id.admin)?;
    Ok(Json(state.sessions.extend(&session)?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CheckBody {
    answers: Option<Vec<Vec<usize>>>,
}

async fn check(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    Path(session): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<impl IntoResponse> {
    let session = state
        .sessions
        .get(&session, id.learner.as_deref(), id.admin)?;
    // An empty body is a plain "Check" click.
    let body: CheckBody = if body.iter().all(u8::is_ascii_whitespace) {
        CheckBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            let status = if e.is_data() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::BAD_REQUEST
            };
            ApiError::new(status, "bad_body", format!("check body: {e}"))
        })?
    };
    Ok(Json(
        state
            .sessions
            .check(&session, body.answers.as_deref())
            .await?,
    ))
}

async fn session_events(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    Path(session): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<axum::response::sse::Event, Infallible>>>> {
    let session = state
        .sessions
        .get(&session, id.learner.as_deref(), id.admin)?;
    let (history, rx) = session.events.subscribe();
    let view = session.view();
    let current = [
        Event::Status {
            status: view.status,
            error: view.error,
        },
        Event::Step {
            step: view.step,
            completed: view.completed,
            expires_at: view.expires_at,
        },
    ];
    // A lagging browser skips events rather than holding the server's memory.
    let live = BroadcastStream::new(rx).filter_map(|e| std::future::ready(e.ok()));
    let stream = futures::stream::iter(history.into_iter().chain(current))
        .chain(live)
        // End right after `ended`, so browsers stop listening.
        .scan(false, |finished, event| {
            let next = (!*finished).then(|| {
                *finished = matches!(event, Event::Ended { .. });
                event
            });
            std::future::ready(next)
        })
        .take_until(state.shutdown.clone().cancelled_owned())
        .map(|event| {
            Ok(axum::response::sse::Event::default()
                .json_data(&event)
                .unwrap_or_default())
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

#[derive(Deserialize)]
struct TerminalQuery {
    cols: Option<u16>,
    rows: Option<u16>,
}

async fn terminal(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    Path((session, node)): Path<(String, String)>,
    Query(query): Query<TerminalQuery>,
    ws: WebSocketUpgrade,
) -> ApiResult<Response> {
    let session = state
        .sessions
        .get(&session, id.learner.as_deref(), id.admin)?;
    if session.lesson.environment.node(&node).is_none() {
        return Err(SessionError::NoNode(node).into());
    }
    let status = session.status();
    if status != super::store::Status::Ready {
        return Err(SessionError::NotReady(status).into());
    }
    let role = if session.owned_by(id.learner.as_deref()) {
        Role::Owner
    } else {
        Role::Watcher
    };
    let size = TermSize {
        cols: query
            .cols
            .unwrap_or(TermSize::default().cols)
            .clamp(1, 1000),
        rows: query
            .rows
            .unwrap_or(TermSize::default().rows)
            .clamp(1, 1000),
    };
    let viewer = session
        .terminals
        .attach(&node, size, role)
        .await
        .map_err(SessionError::from)?;
    let hook = state.sessions.input_hook(&session, &node);
    let shutdown = state.shutdown.clone();
    Ok(ws
        // Well above the per-frame limit the protocol enforces itself, so oversized
        // frames get a proper 1009 close from our code rather than a dropped socket.
        .max_message_size(4 * terminals::MAX_CLIENT_FRAME)
        .on_upgrade(move |socket| terminals::serve_socket(socket, viewer, hook, shutdown)))
}
