//! The HTTP API (the contract the web UI and tests are written against).
//!
//! - `GET /api/lessons` → `[{id,title,description,difficulty,duration,tags,steps}]`
//!   (`duration` as text like `30m`, `steps` a count)
//! - `GET /api/lessons/{id}` → the lesson with `nodes`, `ports[{node,port,title,path,
//!   url,open}]` (templates: `url` is `/ports/{session}/NODE/PORT/PATH`, `open` the
//!   `.../ports/...?path=` route below) and
//!   `steps[{title,html,hint_html?,quiz,checks}]` (`hint_html` only for a step with a
//!   hint), plus `intro_html`/`finish_html` (quiz answers are never sent)
//! - `GET /api/sessions` → the caller's sessions (for "resume" badges)
//! - `POST /api/sessions {"lesson":ID}` → `201` (new) or `200` (the learner's live
//!   session for that lesson) with `{id,lesson,status,error?,nodes,step,steps,completed,
//!   created_at,expires_at}`; an ended session adds `end_reason` (`finished`,
//!   `deleted`, `expired`, `idle`, `shutdown`, `failed`, or why a restart lost it)
//! - `GET /api/sessions/{id}`, `DELETE /api/sessions/{id}` (204), `POST .../extend`
//! - `POST /api/sessions/{id}/check` `{"answers":[[i,...],...]}` (quiz steps) →
//!   `{passed,step,completed,expires_at,results:[{passed,message,output}]}` (one
//!   result per quiz question, then per check); passing the last step brings
//!   `expires_at` forward to the finish grace
//! - `GET /api/sessions/{id}/events`: Server-Sent Events, see [`super::events`]
//! - `GET /api/sessions/{id}/terminals/{node}?cols=&rows=`: WebSocket, see
//!   [`super::terminals`]; the admin joins read-only, and types only while the learner
//!   grants help
//! - `POST /api/sessions/{id}/reset {"to":"step"|"lesson"}` → `202` with the session
//!   (now `starting`): a fresh environment brought to the start of the current step
//!   (earlier steps' solutions replayed) or of the lesson; `409 cannot_reset` when an
//!   earlier step has no solution to replay
//! - `POST /api/sessions/{id}/help {"allow":bool}` (the learner only) →
//!   `{help,watchers,log:[{at,granted}]}`; `GET` the same (learner or admin)
//! - `GET /api/me` → `{learner, admin, auth}`; `POST /api/join {"code"}` (`--auth code`);
//!   `POST /api/admin/login {"token"}`; `GET /api/admin/sessions`; `POST /api/admin/reload`
//! - Classes (see [`classes`]): the instructor's `POST /api/classes
//!   {name,lessons,starts_at?,ends_at?,capacity?}` → 201 `{id,name,lessons,code,...}`,
//!   `GET /api/classes`, `GET|DELETE /api/classes/{id}`, `GET .../roster` (JSON),
//!   `.../roster.csv`, `.../roster/events` (SSE: the whole roster whenever it changes),
//!   `POST .../broadcast {"message"}`; the learner's `POST /api/classes/join
//!   {"code","name"}` (rate-limited per address: 429 with `Retry-After`),
//!   `GET /api/classes/mine` (their class and its lessons) and `.../mine/events` (SSE:
//!   `broadcast`). A class member's `GET /api/lessons` lists the class's lessons, and
//!   `POST /api/sessions` refuses others (403).
//! - `GET /api/admin/recordings[/{id}[/{file}]]`: terminal recordings, see [`recordings`]
//! - `GET /api/sessions/{id}/ports/{node}/{port}?path=` → `303` to where a tab opens
//!   the port: its own host with a sign-in ticket (`--traffic-domain`), else path mode
//! - `/ports/{id}/{node}/{port}/...` (any method, WebSockets too): the session's web
//!   ports, a reverse proxy to `port` on `node`, see [`ports`]; the learner or the admin
//! - The editor (see [`files`]), for the learner or the admin:
//!   `GET /api/sessions/{id}/nodes/{node}/files?path=` → `{kind:"dir",path,real_path,
//!   entries:[{name,kind,size}],truncated}` or `{kind:"file",path,real_path,content,
//!   version,size}` (no `path`: the lesson's editor root); `PUT` the same with
//!   `{content,version}` (`version` as opened, `null` for a new file) → `{version,size}`,
//!   `409 changed_on_disk` when the file changed since; `PUT .../files/upload?path=`
//!   (the body is the file) → `201`; `GET .../files/download?path=` (the bytes). A text
//!   file over 1 MiB is `413 file_too_large`, a binary one `415 binary_file`, a path
//!   out of a restricted root `403 outside_root`, a missing file `404 file_not_found`
//! - `GET /ports/{id}/`: the traffic selector, a form per node asking for a port;
//!   `?node=&port=` → `303` to the `.../ports/{node}/{port}?path=/` route above
//! - `GET /healthz`, `GET /readyz`, `GET /metrics`
//!
//! Errors are `{"error": code, "message": text}`: 400/422 bad body, 401 not joined
//! (with `--auth code`, the lesson catalog and creating a session are for learners who
//! joined; the admin may read lessons) or not admin, 403 a wrong join code or admin
//! token, or someone else's session (a caller who has not joined owns none), or a
//! learner on an instructor's endpoint, or (`cross_origin`) a change or a WebSocket
//! a browser sent from another origin's page (see [`origin`]), 404 unknown, 409 not ready (or a class full),
//! 429 too many join attempts, 503 (with `Retry-After`) at capacity or backend down.

mod classes;
mod error;
mod events;
mod extract;
mod files;
mod lessons;
mod origin;
mod ports;
mod recordings;
#[cfg(test)]
mod tests;

use std::convert::Infallible;

use axum::Router;
use axum::extract::{Path, Query, State, WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::response::sse::Sse;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, put};
use futures::{Stream, StreamExt};
use runner::TermSize;
use serde::{Deserialize, Serialize};
use tokio_stream::wrappers::WatchStream;

pub use self::error::ApiError;
use self::error::{ApiResult, Json};
use self::events::{event_stream, live};
use self::extract::{AuthorizedSession, SessionRequest};
use self::lessons::{LessonDetail, LessonSummary};
pub use self::ports::host_mode;
use super::auth::{self, Identity};
use super::config::AuthMode;
use super::events::Event;
use super::language::Wanted;
use super::sessions::{ResetTo, SessionError};
use super::state::AppState;
use super::status::{EndReason, Status};
use super::terminals;

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
        .route("/sessions/{id}/help", get(help).post(set_help))
        .route("/sessions/{id}/reset", post(reset))
        .route("/sessions/{id}/terminals/{node}", get(terminal))
        .route("/sessions/{id}/ports/{node}/{port}", get(ports::open))
        .route(
            "/sessions/{id}/nodes/{node}/files",
            get(files::open).put(files::save),
        )
        .route(
            "/sessions/{id}/nodes/{node}/files/download",
            get(files::download),
        )
        .route(
            "/sessions/{id}/nodes/{node}/files/upload",
            // The body is the file; the runner refuses more than this anyway.
            put(files::upload).layer(axum::extract::DefaultBodyLimit::max(
                runner::files::TRANSFER_LIMIT as usize,
            )),
        )
        .route("/classes", get(classes::list).post(classes::create))
        .route("/classes/join", post(classes::join))
        .route("/classes/mine", get(classes::mine))
        .route("/classes/mine/events", get(classes::mine_events))
        .route("/classes/{id}", get(classes::get).delete(classes::delete))
        .route("/classes/{id}/roster", get(classes::roster))
        .route("/classes/{id}/roster.csv", get(classes::roster_csv))
        .route("/classes/{id}/roster/events", get(classes::roster_events))
        .route("/classes/{id}/broadcast", post(classes::broadcast))
        .route("/admin/login", post(admin_login))
        .route("/admin/sessions", get(admin_sessions))
        .route("/admin/reload", post(admin_reload))
        .route("/admin/recordings", get(recordings::all))
        .route("/admin/recordings/{id}", get(recordings::of_session))
        .route("/admin/recordings/{id}/{file}", get(recordings::download))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such API endpoint")
        })
        .layer(axum::middleware::from_fn(origin::same_origin));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/ports/{id}/", get(ports::selector))
        .route("/ports/{id}/{node}/{port}", any(ports::proxy))
        .route("/ports/{id}/{node}/{port}/", any(ports::proxy))
        .route("/ports/{id}/{node}/{port}/{*rest}", any(ports::proxy))
        .nest("/api", api)
        .layer(axum::middleware::from_fn_with_state(
            state.auth.clone(),
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

#[derive(Serialize)]
struct MeBody {
    learner: Option<String>,
    admin: bool,
    auth: &'static str,
}

async fn me(State(state): State<AppState>, id: Identity) -> Json<MeBody> {
    Json(MeBody {
        learner: id.learner,
        admin: id.admin,
        auth: match state.auth.mode() {
            AuthMode::Open => "open",
            AuthMode::Code => "code",
        },
    })
}

#[derive(Deserialize)]
struct JoinBody {
    code: String,
}

#[derive(Serialize)]
struct Joined {
    learner: String,
}

async fn join(
    State(state): State<AppState>,
    id: Identity,
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
        return Ok(Json(Joined { learner }).into_response());
    }
    let (jar, learner) = state.auth.new_learner(state.auth.jar(&headers));
    Ok((jar, Json(Joined { learner })).into_response())
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

async fn list_lessons(
    State(state): State<AppState>,
    id: Identity,
    wanted: Wanted,
) -> ApiResult<Response> {
    id.require_reader()?;
    // A class member's catalog is their class's lessons.
    let class = match id.learner.as_deref() {
        Some(learner) => state.classes.membership(learner)?.map(|(class, _)| class),
        None => None,
    };
    let catalog = state.catalog.get();
    let lessons: Vec<_> = catalog
        .lessons()
        .filter(|l| class.as_ref().is_none_or(|c| c.lessons.contains(&l.id)))
        .map(|l| wanted.localize(l))
        .collect();
    let summaries: Vec<_> = lessons
        .iter()
        .map(|l| LessonSummary::of(l, state.config.cannot_start(&l.lesson)))
        .collect();
    Ok(([VARY_BY_LANGUAGE], Json(summaries)).into_response())
}

async fn get_lesson(
    State(state): State<AppState>,
    who: Identity,
    wanted: Wanted,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    who.require_reader()?;
    let catalog = state.catalog.get();
    let lesson = catalog
        .get(&id)
        .ok_or_else(|| ApiError::from(SessionError::LessonNotFound(id.clone())))?;
    let localized = wanted.localize(lesson);
    let detail = LessonDetail::of(&localized, state.config.cannot_start(lesson));
    let content_language = (header::CONTENT_LANGUAGE, localized.lesson.language.clone());
    Ok(([VARY_BY_LANGUAGE], [content_language], Json(detail)).into_response())
}

/// Responses whose text follows the request's language say so, so that no cache
/// hands one learner's language to another.
const VARY_BY_LANGUAGE: (header::HeaderName, &str) = (header::VARY, "accept-language");

async fn list_sessions(
    State(state): State<AppState>,
    id: Identity,
) -> ApiResult<impl IntoResponse> {
    let learner = id.require_learner()?;
    Ok(Json(state.sessions.list(Some(learner))))
}

async fn admin_sessions(
    State(state): State<AppState>,
    id: Identity,
) -> ApiResult<impl IntoResponse> {
    id.require_admin()?;
    Ok(Json(state.sessions.list(None)))
}

#[derive(Serialize)]
struct Reloaded {
    /// How many lessons the catalog holds now.
    lessons: usize,
    problems: Vec<String>,
}

async fn admin_reload(State(state): State<AppState>, id: Identity) -> ApiResult<Json<Reloaded>> {
    id.require_admin()?;
    let problems = state.reload_content().await.map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reload_failed",
            format!("{e:#}"),
        )
    })?;
    Ok(Json(Reloaded {
        lessons: state.catalog.get().lessons().count(),
        problems,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    lesson: String,
}

async fn create_session(
    State(state): State<AppState>,
    id: Identity,
    Json(body): Json<CreateBody>,
) -> ApiResult<impl IntoResponse> {
    let learner = id.require_learner()?;
    let class = state.classes.class_for_session(learner, &body.lesson)?;
    state.sessions.room_for(learner, &body.lesson).await?;
    let (session, created) = state
        .sessions
        .create(learner, &body.lesson, class.as_deref())?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(session.view())))
}

async fn get_session(
    State(state): State<AppState>,
    request: SessionRequest,
) -> ApiResult<Response> {
    match request.live(&state.sessions) {
        Ok(session) => Ok(Json(session.view()).into_response()),
        // Gone from memory: the database still knows how it ended.
        Err(SessionError::NotFound(_)) => Ok(Json(request.ended(&state.sessions)?).into_response()),
        Err(e) => Err(e.into()),
    }
}

async fn delete_session(
    State(state): State<AppState>,
    AuthorizedSession { session, .. }: AuthorizedSession,
) -> StatusCode {
    state.sessions.end(&session, EndReason::Deleted).await;
    StatusCode::NO_CONTENT
}

async fn extend(
    State(state): State<AppState>,
    AuthorizedSession { session, .. }: AuthorizedSession,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(state.sessions.extend(&session)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    to: ResetTo,
}

/// The learner or an instructor makes the environment afresh.
async fn reset(
    State(state): State<AppState>,
    AuthorizedSession { session, .. }: AuthorizedSession,
    Json(body): Json<ResetBody>,
) -> ApiResult<impl IntoResponse> {
    let view = state.sessions.reset(&session, body.to)?;
    Ok((StatusCode::ACCEPTED, Json(view)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HelpBody {
    allow: bool,
}

async fn help(
    State(state): State<AppState>,
    AuthorizedSession { session, .. }: AuthorizedSession,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(state.sessions.help(&session)))
}

/// Only the learner may let an instructor type into their terminals.
async fn set_help(
    State(state): State<AppState>,
    authorized: AuthorizedSession,
    Json(body): Json<HelpBody>,
) -> ApiResult<impl IntoResponse> {
    if authorized.role() != terminals::Role::Owner {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "learner_only",
            "only the session's learner can let an instructor type in their terminals",
        ));
    }
    Ok(Json(
        state
            .sessions
            .set_help(&authorized.session, body.allow)
            .await,
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CheckBody {
    answers: Option<Vec<Vec<usize>>>,
}

impl CheckBody {
    /// An empty body is a plain "Check" click; quiz steps send their answers.
    fn parse(body: &[u8]) -> ApiResult<CheckBody> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(CheckBody::default());
        }
        serde_json::from_slice(body).map_err(|e| {
            let status = if e.is_data() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::BAD_REQUEST
            };
            ApiError::new(status, "bad_body", format!("check body: {e}"))
        })
    }
}

async fn check(
    State(state): State<AppState>,
    AuthorizedSession { session, .. }: AuthorizedSession,
    wanted: Wanted,
    body: axum::body::Bytes,
) -> ApiResult<impl IntoResponse> {
    let body = CheckBody::parse(&body)?;
    let outcome = state
        .sessions
        .check(&session, body.answers.as_deref(), &wanted)
        .await?;
    Ok(([VARY_BY_LANGUAGE], Json(outcome)))
}

async fn session_events(
    State(state): State<AppState>,
    AuthorizedSession { session, .. }: AuthorizedSession,
) -> Sse<impl Stream<Item = Result<axum::response::sse::Event, Infallible>>> {
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
    // The current presence first, then each change (a watch stream yields its value
    // at once).
    let presence = WatchStream::new(session.terminals.presence()).map(|p| Event::Presence {
        watchers: p.watchers,
        help: p.help,
    });
    let events = futures::stream::iter(history.into_iter().chain(current))
        .chain(futures::stream::select(live(rx), presence));
    event_stream(events, state.shutdown.clone())
}

/// The `{node}` of a terminal's route.
#[derive(Deserialize)]
struct NodePath {
    node: String,
}

#[derive(Deserialize)]
struct TerminalQuery {
    cols: Option<u16>,
    rows: Option<u16>,
}

impl TerminalQuery {
    /// The browser's terminal size, within what the protocol accepts.
    fn size(&self) -> TermSize {
        let default = TermSize::default();
        let dimension = |given: Option<u16>, default: u16| {
            given
                .unwrap_or(default)
                .clamp(1, terminals::MAX_TERM_DIMENSION)
        };
        TermSize {
            cols: dimension(self.cols, default.cols),
            rows: dimension(self.rows, default.rows),
        }
    }
}

/// Upgrades to the terminal WebSocket. The session is looked up last, after the
/// upgrade itself is known to be valid, as the extractors run in order.
async fn terminal(
    State(state): State<AppState>,
    Path(NodePath { node }): Path<NodePath>,
    Query(query): Query<TerminalQuery>,
    ws: WebSocketUpgrade,
    authorized: AuthorizedSession,
) -> ApiResult<Response> {
    let role = authorized.role();
    let session = authorized.session;
    if session.lesson.environment.node(&node).is_none() {
        return Err(SessionError::NoNode(node).into());
    }
    let status = session.status();
    if status != Status::Ready {
        return Err(SessionError::NotReady(status).into());
    }
    let viewer = session
        .terminals
        .attach(&node, query.size(), role)
        .await
        .map_err(SessionError::from)?;
    // An instructor typing in help mode is neither the learner's activity nor in the
    // learner's transcript, which checks read as what the learner typed.
    let hook: terminals::InputHook = match role {
        terminals::Role::Owner => state.sessions.input_hook(&session, &node),
        terminals::Role::Watcher => Box::new(|_| {}),
    };
    let shutdown = state.shutdown.clone();
    Ok(ws
        // Well above the per-frame limit the protocol enforces itself, so oversized
        // frames get a proper 1009 close from our code rather than a dropped socket.
        .max_message_size(4 * terminals::MAX_CLIENT_FRAME)
        .on_upgrade(move |socket| terminals::serve_socket(socket, viewer, hook, shutdown)))
}
