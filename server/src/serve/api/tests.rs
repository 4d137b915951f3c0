//! Who gets which answer from the per-session routes, proven in milliseconds rather
//! than only by the Docker suites: the real router and state (a SQLite store and
//! signed cookies in a temporary folder, the Docker suites' lesson) on the fake
//! backend, driven request by request without a socket.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use axum::response::Response;
use runner::testing::FakeBackend;
use scenarios::ImageMap;
use serde_json::{Value, json};
use tempfile::TempDir;
use tower::ServiceExt;

use super::router;
use crate::catalog::Catalog;
use crate::serve::config::{AuthMode, Config};
use crate::serve::sessions::Session;
use crate::serve::state::AppState;
use crate::serve::status::{EndReason, Status};

const ADMIN_TOKEN: &str = "the-admin-token";
const JOIN_CODE: &str = "the-join-code";

/// The lesson `demo` the Docker suites serve too; its first step has a shell check,
/// which the fake backend passes.
const CONTENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/content");

/// The per-session routes, in the order of a row's [`Answers`].
#[derive(Debug, Clone, Copy)]
enum Route {
    Get,
    Delete,
    Extend,
    Check,
    Events,
    /// Asked as a WebSocket upgrade, since the upgrade is checked before the session.
    Terminal,
}

impl Route {
    const ALL: [Route; 6] = [
        Route::Get,
        Route::Delete,
        Route::Extend,
        Route::Check,
        Route::Events,
        Route::Terminal,
    ];

    fn method_and_path(self, id: &str) -> (Method, String) {
        let session = format!("/api/sessions/{id}");
        match self {
            Route::Get => (Method::GET, session),
            Route::Delete => (Method::DELETE, session),
            Route::Extend => (Method::POST, format!("{session}/extend")),
            Route::Check => (Method::POST, format!("{session}/check")),
            Route::Events => (Method::GET, format!("{session}/events")),
            Route::Terminal => (Method::GET, format!("{session}/terminals/node01")),
        }
    }
}

/// The session a request names.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// A well-formed id no session has.
    Unknown,
    /// Not a session id at all.
    Malformed,
    /// A ready session of the learner Ann, fresh for every request.
    Live,
    /// Ann's session after she deleted it: only the database knows it.
    Ended,
}

/// Who asks, and how they present themselves.
#[derive(Debug, Clone, Copy)]
enum Caller {
    /// No cookie, no token.
    Nobody,
    /// Ann's signed learner cookie, as joining gave it to her.
    Ann,
    /// Another learner's signed cookie.
    Bob,
    /// A learner cookie with Ann's id but no signature.
    ForgedAnn,
    AdminBearer,
    /// `?token=`, as WebSockets and EventSource present the token.
    AdminQuery,
    /// The cookie `POST /api/admin/login` sets.
    AdminCookie,
    WrongBearer,
}

/// Each route's status, in [`Route::ALL`]'s order.
type Answers = [u16; 6];

const ALLOWED: Answers = [200, 204, 200, 200, 200, 101];
const NOT_FOUND: Answers = [404; 6];
const FORBIDDEN: Answers = [403; 6];
/// An ended session can still be read by whom it may be read by; nothing else
/// reaches it.
const ENDED_READABLE: Answers = [200, 404, 404, 404, 404, 404];
const ENDED_HIDDEN: Answers = [403, 404, 404, 404, 404, 404];

const TABLE: &[(Target, Caller, Answers)] = &[
    (Target::Unknown, Caller::Ann, NOT_FOUND),
    (Target::Unknown, Caller::Nobody, NOT_FOUND),
    (Target::Unknown, Caller::AdminBearer, NOT_FOUND),
    (Target::Malformed, Caller::Ann, NOT_FOUND),
    (Target::Malformed, Caller::AdminBearer, NOT_FOUND),
    (Target::Live, Caller::Ann, ALLOWED),
    (Target::Live, Caller::AdminBearer, ALLOWED),
    (Target::Live, Caller::AdminQuery, ALLOWED),
    (Target::Live, Caller::AdminCookie, ALLOWED),
    (Target::Live, Caller::Bob, FORBIDDEN),
    (Target::Live, Caller::Nobody, FORBIDDEN),
    (Target::Live, Caller::ForgedAnn, FORBIDDEN),
    (Target::Live, Caller::WrongBearer, FORBIDDEN),
    (Target::Ended, Caller::Ann, ENDED_READABLE),
    (Target::Ended, Caller::AdminBearer, ENDED_READABLE),
    (Target::Ended, Caller::Bob, ENDED_HIDDEN),
    (Target::Ended, Caller::ForgedAnn, ENDED_HIDDEN),
];

/// A learner as the server knows them: the id and the cookie that carries it.
struct Learner {
    id: String,
    cookie: String,
}

/// The router on a fresh state, with two learners who joined and the admin logged in.
struct Lab {
    app: Router,
    state: AppState,
    ann: Learner,
    bob: Learner,
    admin_cookie: String,
    _dir: TempDir,
}

async fn lab(mode: AuthMode) -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let (catalog, problems) = Catalog::load(Path::new(CONTENT), &ImageMap::builtin(false)).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let mut config = Config::new(CONTENT, dir.path());
    config.auth = mode;
    config.join_code = Some(JOIN_CODE.into());
    config.admin_token = Some(ADMIN_TOKEN.into());
    let state = AppState::open(config, FakeBackend::new(), catalog).unwrap();
    let app = router(state.clone());
    let ann = learner(&app, mode).await;
    let bob = learner(&app, mode).await;
    assert_ne!(ann.id, bob.id);
    let admin_cookie = admin_cookie(&app).await;
    Lab {
        app,
        state,
        ann,
        bob,
        admin_cookie,
        _dir: dir,
    }
}

async fn send(app: &Router, request: Request<Body>) -> Response {
    app.clone().oneshot(request).await.unwrap()
}

fn post_json(uri: &str, body: Value) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn json_body(response: Response) -> Value {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

/// The `name=value` of the cookie `name` the response sets.
fn set_cookie(response: &Response, name: &str) -> String {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next())
        .find(|pair| pair.strip_prefix(name).is_some_and(|v| v.starts_with('=')))
        .unwrap_or_else(|| panic!("no cookie {name} in {:?}", response.headers()))
        .to_owned()
}

/// What `GET /api/me` says to the holder of `cookie`.
async fn me(app: &Router, cookie: &str) -> Value {
    let request = Request::get("/api/me").header(header::COOKIE, cookie);
    json_body(send(app, request.body(Body::empty()).unwrap()).await).await
}

/// A new learner the way a browser becomes one: by joining with the code, or with
/// `--auth open` by its first API request.
async fn learner(app: &Router, mode: AuthMode) -> Learner {
    let response = match mode {
        AuthMode::Code => send(app, post_json("/api/join", json!({"code": JOIN_CODE}))).await,
        AuthMode::Open => send(app, Request::get("/api/me").body(Body::empty()).unwrap()).await,
    };
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = set_cookie(&response, "playlab_learner");
    let id = me(app, &cookie).await["learner"]
        .as_str()
        .expect("the cookie names a learner")
        .to_owned();
    Learner { id, cookie }
}

async fn admin_cookie(app: &Router) -> String {
    let response = send(
        app,
        post_json("/api/admin/login", json!({"token": ADMIN_TOKEN})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cookie = set_cookie(&response, "playlab_admin");
    assert_eq!(me(app, &cookie).await["admin"], true);
    cookie
}

impl Lab {
    /// A new ready session of Ann's, created as her browser does.
    async fn live_session(&self) -> Arc<Session> {
        let request = post_json("/api/sessions", json!({"lesson": "demo"}));
        let response = send(&self.app, self.with(Caller::Ann, request)).await;
        assert_eq!(response.status(), StatusCode::CREATED, "a fresh session");
        let id = json_body(response).await["id"].as_str().unwrap().to_owned();
        let session = self.state.sessions.get(&id, None, true).unwrap();
        for _ in 0..1000 {
            if session.status() == Status::Ready {
                return session;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("session {id} never became ready: {:?}", session.status());
    }

    async fn session_id(&self, target: Target) -> String {
        match target {
            Target::Unknown => "nosuchsession0".into(),
            Target::Malformed => "Not.A-Session".into(),
            Target::Live => self.live_session().await.id.to_string(),
            Target::Ended => {
                let session = self.live_session().await;
                self.state.sessions.end(&session, EndReason::Deleted).await;
                session.id.to_string()
            }
        }
    }

    /// Ends the session `id` if it still runs, so the next case starts afresh.
    async fn clean_up(&self, id: &str) {
        if let Ok(session) = self.state.sessions.get(id, None, true) {
            self.state.sessions.end(&session, EndReason::Deleted).await;
        }
    }

    /// `request` as `caller` sends it.
    fn with(&self, caller: Caller, mut request: Request<Body>) -> Request<Body> {
        let headers = request.headers_mut();
        let mut header = |name, value: &str| {
            headers.insert(name, value.parse().unwrap());
        };
        match caller {
            Caller::Nobody => {}
            Caller::Ann => header(header::COOKIE, &self.ann.cookie),
            Caller::Bob => header(header::COOKIE, &self.bob.cookie),
            Caller::ForgedAnn => {
                header(header::COOKIE, &format!("playlab_learner={}", self.ann.id))
            }
            Caller::AdminBearer => header(header::AUTHORIZATION, &format!("Bearer {ADMIN_TOKEN}")),
            Caller::AdminCookie => header(header::COOKIE, &self.admin_cookie),
            Caller::WrongBearer => header(header::AUTHORIZATION, "Bearer not-the-token"),
            Caller::AdminQuery => {
                let uri = format!("{}?token={ADMIN_TOKEN}", request.uri());
                *request.uri_mut() = uri.parse().unwrap();
            }
        }
        request
    }

    /// What `route` answers `caller` about the session `id`: the status, and the
    /// error code of a refusal.
    async fn ask(&self, route: Route, id: &str, caller: Caller) -> (u16, Option<String>) {
        let (method, path) = route.method_and_path(id);
        let mut request = Request::builder().method(method).uri(path);
        if let Route::Terminal = route {
            request = request
                .header(header::CONNECTION, "upgrade")
                .header(header::UPGRADE, "websocket")
                .header(header::SEC_WEBSOCKET_VERSION, "13")
                .header(header::SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==");
        }
        let mut request = self.with(caller, request.body(Body::empty()).unwrap());
        if let Route::Terminal = route {
            // What hyper's server puts in an upgradable request; this one upgrades to
            // nothing, so the answer is all there is to see.
            let upgrade = hyper::upgrade::on(&mut request);
            request.extensions_mut().insert(upgrade);
        }
        let response = send(&self.app, request).await;
        let status = response.status().as_u16();
        let code = if status >= 400 {
            json_body(response).await["error"]
                .as_str()
                .map(str::to_owned)
        } else {
            None
        };
        (status, code)
    }
}

/// The code a refusal with `status` must carry: the session's, not some other layer's.
fn expected_code(status: u16) -> Option<&'static str> {
    match status {
        403 => Some("forbidden"),
        404 => Some("session_not_found"),
        _ => None,
    }
}

/// Runs every cell of [`TABLE`] on a fresh session, and lists the cells that differ.
async fn table_holds(mode: AuthMode) {
    let lab = lab(mode).await;
    let mut wrong = Vec::new();
    for &(target, caller, answers) in TABLE {
        for (route, want) in Route::ALL.into_iter().zip(answers) {
            let id = lab.session_id(target).await;
            let got = lab.ask(route, &id, caller).await;
            let want = (want, expected_code(want).map(str::to_owned));
            if got != want {
                wrong.push(format!(
                    "{route:?} {target:?} as {caller:?}: got {got:?}, want {want:?}"
                ));
            }
            lab.clean_up(&id).await;
        }
    }
    assert!(wrong.is_empty(), "{mode:?}:\n{}", wrong.join("\n"));
}

#[tokio::test]
async fn per_session_routes_answer_by_caller_with_join_codes() {
    table_holds(AuthMode::Code).await;
}

#[tokio::test]
async fn per_session_routes_answer_by_caller_in_open_mode() {
    table_holds(AuthMode::Open).await;
}

/// The terminal route validates the upgrade before it looks the session up, so a
/// plain request learns nothing about the session, whoever asks.
#[tokio::test]
async fn terminal_without_an_upgrade_is_refused_before_the_session_is_looked_up() {
    let lab = lab(AuthMode::Code).await;
    let live = lab.live_session().await.id.to_string();
    for (id, caller) in [
        (live.as_str(), Caller::Ann),
        (live.as_str(), Caller::Bob),
        ("nosuchsession0", Caller::AdminBearer),
    ] {
        let (_, path) = Route::Terminal.method_and_path(id);
        let request = lab.with(caller, Request::get(path).body(Body::empty()).unwrap());
        let response = send(&lab.app, request).await;
        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "{id} as {caller:?}"
        );
    }
}

/// Recordings are the instructor's: a learner is refused (403) even for their own
/// session, a stranger is asked to log in (401), the admin lists and downloads; a
/// name that is not a recording's never reaches the disk.
#[tokio::test]
async fn recordings_are_for_the_admin_only() {
    // With join codes, so a caller who is not a learner is one too.
    let lab = lab(AuthMode::Code).await;
    let session = lab.live_session().await;
    let id = session.id.to_string();
    let dir = lab.state.recorder.config().dir.join(&id);
    std::fs::create_dir_all(&dir).unwrap();
    let cast = "{\"version\":2,\"width\":80,\"height\":24,\"timestamp\":0,\"title\":\"t\",\
                \"env\":{\"TERM\":\"xterm-256color\"}}\n[1.5, \"o\", \"hi\"]\n";
    std::fs::write(dir.join("node01.1.cast"), cast).unwrap();
    let get = |caller, uri: String| {
        let request = lab.with(caller, Request::get(uri).body(Body::empty()).unwrap());
        send(&lab.app, request)
    };
    let list = format!("/api/admin/recordings/{id}");
    let file = format!("{list}/node01.1.cast");
    for uri in [
        "/api/admin/recordings".to_owned(),
        list.clone(),
        file.clone(),
    ] {
        for (caller, status) in [
            (Caller::Ann, StatusCode::FORBIDDEN),
            (Caller::Bob, StatusCode::FORBIDDEN),
            (Caller::Nobody, StatusCode::UNAUTHORIZED),
            (Caller::WrongBearer, StatusCode::UNAUTHORIZED),
        ] {
            assert_eq!(
                get(caller, uri.clone()).await.status(),
                status,
                "{caller:?} {uri}"
            );
        }
    }
    let listed = json_body(get(Caller::AdminCookie, list).await).await;
    assert_eq!(listed[0]["file"], "node01.1.cast");
    assert_eq!(listed[0]["node"], "node01");
    assert_eq!(listed[0]["duration"], 1.5);
    let all = json_body(get(Caller::AdminBearer, "/api/admin/recordings".into()).await).await;
    assert_eq!(all[0]["session"], id);
    assert_eq!(all[0]["learner"], lab.ann.id);
    assert_eq!(all[0]["recordings"][0]["bytes"], cast.len());
    let response = get(Caller::AdminBearer, file).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/x-asciicast"
    );
    assert_eq!(
        response.headers()[header::CONTENT_DISPOSITION],
        format!("attachment; filename=\"{id}-node01.1.cast\"")
    );
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(body, cast.as_bytes());
    for bad in [
        format!("/api/admin/recordings/{id}/node01.2.cast"),
        format!("/api/admin/recordings/{id}/..%2F..%2Fplaylab.db"),
        format!("/api/admin/recordings/{id}/notes.txt"),
        "/api/admin/recordings/Not.A-Session/node01.1.cast".to_owned(),
    ] {
        let status = get(Caller::AdminBearer, bad.clone()).await.status();
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
    }
    lab.clean_up(&id).await;
}
