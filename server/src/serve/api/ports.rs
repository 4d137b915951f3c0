//! Web ports: `/ports/{session}/{node}/{port}/...` is a reverse proxy from the browser
//! to `port` on `node` of the session's environment, for the web apps learners run
//! there (HTTP, WebSockets, server-sent events, uploads). With a traffic domain, host
//! mode serves the same at `/` of `{port}-{node}-{session}.DOMAIN`, for apps that
//! cannot live under a path; [`open`] is where a tab goes in either mode.
//!
//! Why it is shaped this way:
//!
//! - **Where it connects is never read from the request.** The session is authorized
//!   like every per-session route ([`AuthorizedSession`]: its learner or the admin),
//!   the node must be one of the session's lesson, the port a plain decimal 1-65535,
//!   and the address comes from the backend ([`runner::Backend::port_address`]), which
//!   only ever gives an address of that node. The rest of the path, `..`, `@`, encoded
//!   slashes and all, is only the request line the node's app sees.
//! - **Nothing buffers a body.** The request body is handed to the node as the
//!   browser sends it and the response body back as the node sends it, so uploads,
//!   long downloads and event streams flow at the pace of the slower side and a slow
//!   reader holds only the sockets' buffers. A WebSocket (any `Upgrade`) is passed
//!   through: both sides are upgraded and the bytes copied both ways.
//! - **Connections to nodes are kept alive and reused** ([`NodeConnections`], in the
//!   state: `state.rs` may not import the routes): a page
//!   of many small requests would otherwise pay a TCP handshake (and the app's new
//!   connection) for each. They are pooled per session, never shared between two.
//! - **What belongs to playlab stays here.** Hop-by-hop headers are dropped, playlab's
//!   cookies and any `Authorization` (the admin token) never reach the node, and a
//!   node cannot set playlab's cookies. Request headers are capped, and so is a
//!   request body (`--port-upload-limit`): a `Content-Length` over the cap is refused
//!   before anything is sent, and a body without one is counted as it streams
//!   (`Limited`) and cut off at the cap, so neither can make the node (or its disk)
//!   take more than the operator allows. Both answer 413.
//! - **A port nothing listens on yet** (the learner has not started the app) is a
//!   small page that reloads itself every 2 s, not a bare 502.
//!
//! - **Host mode's browser has no playlab cookie** on a port's host (they are
//!   host-only, and should be). [`open`] sends it there with a ticket for that host
//!   alone, valid a minute, which [`LOGIN_PATH`] on that host trades for the caller's
//!   cookies on that host. A name under the domain that is no port's is refused, so a
//!   port's host is never playlab itself.
//!
//! Path mode shares playlab's origin with the node's app, so the app's scripts run
//! beside playlab's cookies. For the learner that is their own code; for the admin
//! it would be the learner's code with the admin's rights, so what the admin opens
//! comes with `Content-Security-Policy: sandbox` (an opaque origin: no same-origin
//! reads of playlab's API, and `SameSite` keeps playlab's cookies off its requests).

use std::fmt::Display;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU16;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use http_body_util::LengthLimitError;
use hyper_util::rt::TokioIo;
use runner::{RunnerError, SessionId};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult};
use super::extract::{AuthorizedSession, ClientIp};
use crate::serve::auth::{Identity, is_playlab_cookie};
use crate::serve::node_connections::NodeConnections;
use crate::serve::sessions::SessionError;
use crate::serve::state::AppState;
use crate::serve::status::Status;
use crate::serve::terminals::Role;

/// The routes' prefix; a session's ports live under `/ports/{session}/`.
pub const PREFIX: &str = "/ports";

/// The most request header bytes (names and values) passed on to a node.
pub const MAX_REQUEST_HEADERS: usize = 32 * 1024;

/// What the admin's pages from a learner's node run under: scripts, forms and popups
/// still work, but in an origin of their own.
const WATCHER_SANDBOX: &str =
    "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads";

/// Seconds the "not listening yet" page waits before it reloads.
const RETRY_SECONDS: u64 = 2;

/// The path-mode URL of a port's `path`, with `{session}` for the session's id:
/// what the lesson API tells the web UI (and Markdown may link to).
pub fn url_template(node: &str, port: impl Display, path: &str) -> String {
    format!("{PREFIX}/{{session}}/{node}/{port}{path}")
}

/// Where a tab opens a port's `path` in either mode ([`open`]), with `{session}`.
pub fn open_template(node: &str, port: impl Display, path: &str) -> String {
    format!(
        "/api/sessions/{{session}}/ports/{node}/{port}?path={}",
        query_escape(path)
    )
}

/// Any port's addresses, with `{session}`, `{node}` and `{port}` for the web UI to
/// fill in: Markdown's traffic links name a node and a port the lesson does not
/// declare, and the page is the same for every session.
#[derive(Debug, Serialize)]
pub struct PortTemplates {
    /// Where a tab opens the port's `/` ([`open_template`]).
    open: String,
    /// The port's `/` in path mode ([`url_template`]).
    url: String,
    /// The traffic selector ([`selector`]).
    selector: String,
}

impl Default for PortTemplates {
    fn default() -> PortTemplates {
        PortTemplates {
            open: open_template("{node}", "{port}", "/"),
            url: url_template("{node}", "{port}", "/"),
            selector: format!("{PREFIX}/{{session}}/"),
        }
    }
}

/// Where a path-mode request goes: the node, the port, and what follows them.
#[derive(Debug, PartialEq, Eq)]
pub struct Target<'a> {
    pub session: &'a str,
    pub node: &'a str,
    pub port: NonZeroU16,
    /// The path the node's app sees, as the browser sent it (still percent-encoded),
    /// with the query; `None` for `/ports/{s}/{n}/{p}` without a slash after it.
    pub rest: Option<String>,
}

/// Reads a `/ports/{session}/{node}/{port}[/rest][?query]` request target from the
/// raw URI, so that the path passed on is exactly what the browser sent. The first
/// three segments are taken literally: a percent-encoded session, node or port is
/// not one (it could never name a real one), nor is a port with a sign, leading
/// zeros or anything but digits.
pub fn parse_target(uri: &Uri) -> Option<Target<'_>> {
    let path = uri.path().strip_prefix(PREFIX)?.strip_prefix('/')?;
    let mut parts = path.splitn(4, '/');
    let session = parts.next().filter(|s| !s.is_empty())?;
    let node = parts.next().filter(|s| !s.is_empty())?;
    let port = parse_port(parts.next()?)?;
    let rest = parts.next().map(|rest| match uri.query() {
        Some(query) => format!("/{rest}?{query}"),
        None => format!("/{rest}"),
    });
    Some(Target {
        session,
        node,
        port,
        rest,
    })
}

fn parse_port(text: &str) -> Option<NonZeroU16> {
    let canonical =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0');
    canonical.then(|| text.parse().ok()).flatten()
}

/// Request headers that are the connection's, not the request's (RFC 9110 7.6.1),
/// plus the proxy ones: never passed on either way.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

/// The headers of a request as the node gets them: without hop-by-hop headers (and
/// those the `Connection` header names), without `Authorization` (the admin token
/// travels there) and without playlab's cookies. An `Upgrade` is kept, with its
/// `Connection: upgrade`, when the browser asked for one.
pub fn request_headers(headers: &HeaderMap) -> HeaderMap {
    let upgrade = wants_upgrade(headers);
    let mut kept = without_hop_by_hop(headers);
    kept.remove(header::AUTHORIZATION);
    let cookies: Vec<String> = kept
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|pair| {
            let name = pair.split_once('=').map_or(*pair, |(name, _)| name);
            !pair.is_empty() && !is_playlab_cookie(name.trim())
        })
        .map(str::to_owned)
        .collect();
    kept.remove(header::COOKIE);
    if !cookies.is_empty()
        && let Ok(value) = HeaderValue::from_str(&cookies.join("; "))
    {
        kept.insert(header::COOKIE, value);
    }
    if !upgrade {
        kept.remove(header::UPGRADE);
    } else {
        kept.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
    kept
}

/// The headers of a node's response as the browser gets them: without hop-by-hop
/// headers (a `101`'s `Upgrade` and `Connection` stay) and without a `Set-Cookie` for
/// one of playlab's cookies.
pub fn response_headers(status: StatusCode, headers: &HeaderMap) -> HeaderMap {
    let mut kept = without_hop_by_hop(headers);
    let sets_ours = |v: &HeaderValue| {
        let text = v.to_str().unwrap_or_default();
        let name = text.split_once('=').map_or(text, |(name, _)| name);
        is_playlab_cookie(name.trim())
    };
    let cookies: Vec<HeaderValue> = kept
        .get_all(header::SET_COOKIE)
        .iter()
        .filter(|v| !sets_ours(v))
        .cloned()
        .collect();
    kept.remove(header::SET_COOKIE);
    for cookie in cookies {
        kept.append(header::SET_COOKIE, cookie);
    }
    if status == StatusCode::SWITCHING_PROTOCOLS {
        kept.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    } else {
        kept.remove(header::UPGRADE);
    }
    kept
}

fn without_hop_by_hop(headers: &HeaderMap) -> HeaderMap {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::try_from(name.trim()).ok())
        .filter(|name| name != header::UPGRADE)
        .collect();
    let mut kept = headers.clone();
    for name in HOP_BY_HOP.iter().chain(&named) {
        kept.remove(name);
    }
    kept
}

fn wants_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
}

fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum()
}

fn upload_too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "upload_too_large",
        format!("a web port takes request bodies of at most {limit} bytes"),
    )
}

fn bad_port() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "bad_port",
        "a web port is /ports/SESSION/NODE/PORT/ with a port from 1 to 65535",
    )
}

/// `/ports/{id}/{node}/{port}` and everything under it (path mode).
pub async fn proxy(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    authorized: AuthorizedSession,
    request: Request,
) -> ApiResult<Response> {
    let uri = request.uri().clone();
    let target = parse_target(&uri).ok_or_else(bad_port)?;
    if target.session != authorized.session.id.as_str() {
        return Err(SessionError::NoNode(target.node.to_owned()).into());
    }
    let prefix = format!(
        "{PREFIX}/{}/{}/{}",
        target.session, target.node, target.port
    );
    let Some(rest) = target.rest else {
        // Relative links in the node's pages resolve against the folder.
        let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
        return Ok(Redirect::permanent(&format!("{prefix}/{query}")).into_response());
    };
    let port = NodePort {
        node: target.node,
        port: target.port,
    };
    serve(
        &state,
        &authorized,
        port,
        &rest,
        Some(&prefix),
        request,
        client,
    )
    .await
}

/// A port of a node, as a request names it (checked against the session by [`serve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct NodePort<'a> {
    node: &'a str,
    port: NonZeroU16,
}

/// One request for a port of a node of the authorized session, whichever the mode:
/// `rest` is the path and query the node's app gets, `prefix` where path mode mounts it.
async fn serve(
    state: &AppState,
    authorized: &AuthorizedSession,
    NodePort { node, port }: NodePort<'_>,
    rest: &str,
    prefix: Option<&str>,
    request: Request,
    client: IpAddr,
) -> ApiResult<Response> {
    let session = &authorized.session;
    if session.lesson.environment.node(node).is_none() {
        return Err(SessionError::NoNode(node.to_owned()).into());
    }
    if header_bytes(request.headers()) > MAX_REQUEST_HEADERS {
        return Err(ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("a web port takes at most {MAX_REQUEST_HEADERS} bytes of request headers"),
        ));
    }
    let upload_limit = state.config.limits.port_upload_limit;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > upload_limit) {
        return Err(upload_too_large(upload_limit));
    }
    if session.status() != Status::Ready {
        return Ok(not_listening(
            node,
            port,
            "The environment is not ready yet.",
        ));
    }
    let address = state
        .sessions
        .backend()
        .port_address(&session.id, node, port)
        .await
        .map_err(|e| match e {
            RunnerError::NoNode { node, .. } => SessionError::NoNode(node).into(),
            RunnerError::PortsUnsupported { .. } => ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "ports_unsupported",
                e.to_string(),
            ),
            other => SessionError::Backend(other).into(),
        })?;
    let rest = without_admin_token(rest, |t| state.auth.is_admin_token(t));
    let watcher = authorized.role() == Role::Watcher;
    forward(
        &state.node_connections,
        request,
        &session.id,
        address,
        &rest,
        prefix,
        client,
    )
    .await
    .map(|mut response| {
        if watcher {
            response.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(WATCHER_SANDBOX),
            );
        }
        response
    })
    .or_else(|failure| match failure {
        Failure::NotListening => Ok(not_listening(
            node,
            port,
            "Nothing is listening on this port yet.",
        )),
        Failure::BadPath => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_path",
            "that path cannot be passed on to the node",
        )),
        Failure::TooLarge => Err(upload_too_large(upload_limit)),
        Failure::Upstream(e) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "port_failed",
            format!("port {port} of node {node}: {e}"),
        )),
    })
}

/// Where host mode signs a browser in on a port's host: `?ticket=&path=`.
pub const LOGIN_PATH: &str = "/.playlab/port-login";

/// A host-mode request target: `PORT-NODE-SESSION.DOMAIN`.
#[derive(Debug, PartialEq, Eq)]
pub struct HostTarget {
    pub session: String,
    pub node: String,
    pub port: NonZeroU16,
}

impl HostTarget {
    /// The port's host name, as tickets are bound to it.
    fn host(&self, domain: &str) -> String {
        format!("{}-{}-{}.{domain}", self.port, self.node, self.session)
    }
}

/// Whether `host` (a `Host` header, with or without its port) is host mode's:
/// `None` for any other host, `Some(None)` for one label under `domain` that is not a
/// port's name (answered 404, never served as playlab itself), `Some(Some(target))`
/// for a port's. Session ids have no `-` and ports only digits, so the node is what
/// lies between the first and the last `-`.
pub fn parse_host(host: &str, domain: &str) -> Option<Option<HostTarget>> {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let label = name.strip_suffix(domain)?.strip_suffix('.')?;
    if label.contains('.') {
        return None;
    }
    let target = (|| {
        let (port, rest) = label.split_once('-')?;
        let (node, session) = rest.rsplit_once('-')?;
        let port = parse_port(port)?;
        let valid = scenarios::units::is_dns_label(node)
            && !session.is_empty()
            && session
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        valid.then(|| HostTarget {
            session: session.to_owned(),
            node: node.to_owned(),
            port,
        })
    })();
    Some(target)
}

/// Host mode, ahead of every route and the web UI (the server wraps everything in
/// it): a request whose `Host` is a port's goes to that port with its whole path;
/// every other request goes on to playlab's routes.
pub async fn host_mode(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(domain) = state.config.traffic_domain.clone() else {
        return next.run(request).await;
    };
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().host());
    let Some(target) = host.and_then(|h| parse_host(h, &domain)) else {
        return next.run(request).await;
    };
    match target {
        Some(target) => host_request(&state, &domain, target, request).await,
        None => Err(bad_port()),
    }
    .unwrap_or_else(IntoResponse::into_response)
}

async fn host_request(
    state: &AppState,
    domain: &str,
    target: HostTarget,
    request: Request,
) -> ApiResult<Response> {
    if request.uri().path() == LOGIN_PATH {
        return login(state, &target.host(domain), &request);
    }
    // Outside playlab's own routes: who asks is read here, and nobody new is made.
    let (_, caller) = state.auth.identity(&request);
    let rest = request
        .uri()
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
    if caller.learner.is_none() && !caller.admin && request.method() == Method::GET {
        // A link to the port followed from elsewhere (a URL a script printed in the
        // terminal): the browser has playlab's cookies on playlab's origin only, so it
        // goes there to be signed in on this host, as a tab does.
        if let Some(public) = &state.config.public_url {
            let open = open_template(&target.node, target.port.get(), &rest)
                .replace("{session}", &target.session);
            return Ok(Redirect::to(&format!("{}{open}", public.origin())).into_response());
        }
    }
    let ClientIp(client) = ClientIp::of(request.extensions());
    let authorized = AuthorizedSession::resolve(target.session.clone(), caller, &state.sessions)?;
    let port = NodePort {
        node: &target.node,
        port: target.port,
    };
    serve(state, &authorized, port, &rest, None, request, client).await
}

#[derive(Deserialize)]
struct LoginQuery {
    ticket: String,
    path: Option<String>,
}

/// Redeems a ticket on a port's host: the caller's cookies for this host, and on to
/// the path the tab opens.
fn login(state: &AppState, host: &str, request: &Request) -> ApiResult<Response> {
    let Query(query) = Query::<LoginQuery>::try_from_uri(request.uri())
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_ticket", e.body_text()))?;
    let who = state
        .auth
        .redeem_port_ticket(&query.ticket, host, SystemTime::now())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "bad_ticket",
                "this link has expired or is not for this port: open the port again",
            )
        })?;
    let jar = state
        .auth
        .identity_cookies(state.auth.jar(request.headers()), &who);
    Ok((jar, Redirect::to(&local_path(query.path.as_deref()))).into_response())
}

/// A path on the same host, never another (`//evil`, `https://...`): `/` otherwise.
fn local_path(path: Option<&str>) -> String {
    match path {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_owned(),
        _ => "/".to_owned(),
    }
}

/// The `{node}` and `{port}` of `/api/sessions/{id}/ports/{node}/{port}`.
#[derive(Deserialize)]
pub struct OpenPath {
    node: String,
    port: String,
}

#[derive(Deserialize)]
pub struct OpenQuery {
    path: Option<String>,
}

/// `GET /api/sessions/{id}/ports/{node}/{port}?path=`: where a tab opens a port. In
/// host mode, the port's own host with a ticket that signs the browser in there;
/// else the path-mode URL.
pub async fn open(
    State(state): State<AppState>,
    who: Identity,
    Path(OpenPath { node, port }): Path<OpenPath>,
    Query(OpenQuery { path }): Query<OpenQuery>,
    headers: HeaderMap,
    authorized: AuthorizedSession,
) -> ApiResult<Response> {
    let port = parse_port(&port).ok_or_else(bad_port)?;
    let session = &authorized.session;
    if session.lesson.environment.node(&node).is_none() {
        return Err(SessionError::NoNode(node).into());
    }
    let path = local_path(path.as_deref());
    let Some(domain) = state.config.traffic_domain.as_deref() else {
        return Ok(
            Redirect::to(&format!("{PREFIX}/{}/{node}/{port}{path}", session.id)).into_response(),
        );
    };
    let target = HostTarget {
        session: session.id.to_string(),
        node,
        port,
    };
    let host = target.host(domain);
    let ticket = state.auth.port_ticket(&host, &who, SystemTime::now());
    // The port's host is served by this same listener: the browser's port is its port.
    let listener_port = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.rsplit_once(':'))
        .map(|(_, p)| p)
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    let scheme = if state.config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    Ok(Redirect::to(&format!(
        "{scheme}://{host}{listener_port}{LOGIN_PATH}?ticket={ticket}&path={}",
        query_escape(&path)
    ))
    .into_response())
}

/// A query value keeps only unreserved characters (and `/`, so paths stay readable).
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// `text` as a query value: everything but unreserved characters percent-encoded.
fn query_escape(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, QUERY_VALUE).to_string()
}

/// `rest` without a `token=` query pair that is the admin token (the admin may sign
/// in with it in the query, and it must not reach a node).
fn without_admin_token(rest: &str, is_admin_token: impl Fn(&str) -> bool) -> String {
    let Some((path, query)) = rest.split_once('?') else {
        return rest.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.strip_prefix("token=").is_some_and(&is_admin_token))
        .collect();
    if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

enum Failure {
    NotListening,
    /// The path is not one a request to the node can carry.
    BadPath,
    /// The request body went over the upload limit before the node answered.
    TooLarge,
    Upstream(hyper_util::client::legacy::Error),
}

impl From<hyper_util::client::legacy::Error> for Failure {
    /// The body's cap shows as a cause of the request's error: the one the connection
    /// got from the upload limit while sending the body ([`NodeConnections::send`]).
    fn from(e: hyper_util::client::legacy::Error) -> Failure {
        if e.is_connect() {
            return Failure::NotListening;
        }
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            if c.is::<LengthLimitError>() {
                return Failure::TooLarge;
            }
            cause = c.source();
        }
        Failure::Upstream(e)
    }
}

/// Sends the request to `address` (a node of `session`) on one of `connections` and
/// streams the answer back; an upgrade is joined end to end in a task of its own.
async fn forward(
    connections: &NodeConnections,
    mut request: Request,
    session: &SessionId,
    address: SocketAddr,
    path: &str,
    prefix: Option<&str>,
    client: IpAddr,
) -> Result<Response, Failure> {
    let browser_upgrade = hyper::upgrade::on(&mut request);
    let (parts, body) = request.into_parts();
    let mut headers = request_headers(&parts.headers);
    if let Some(host) = parts.headers.get(header::HOST) {
        headers.insert(HeaderName::from_static("x-forwarded-host"), host.clone());
    }
    headers.insert(
        header::HOST,
        HeaderValue::from_str(&address.to_string()).expect("an address is a header value"),
    );
    if let Some(prefix) = prefix {
        headers.insert(
            HeaderName::from_static("x-forwarded-prefix"),
            HeaderValue::from_str(prefix).expect("the prefix is checked ASCII"),
        );
    }
    headers.insert(
        HeaderName::from_static("x-forwarded-for"),
        HeaderValue::from_str(&client.to_string()).expect("an address is a header value"),
    );
    let uri = NodeConnections::uri(session, address, path).ok_or(Failure::BadPath)?;
    let mut upstream = hyper::Request::builder()
        .method(parts.method)
        .uri(uri)
        .body(body)
        .map_err(|_| Failure::BadPath)?;
    *upstream.headers_mut() = headers;

    let mut response = connections.send(upstream).await?;
    let status = response.status();
    if status == StatusCode::SWITCHING_PROTOCOLS {
        let node_upgrade = hyper::upgrade::on(&mut response);
        tokio::spawn(async move {
            let (browser, node) = match tokio::try_join!(browser_upgrade, node_upgrade) {
                Ok(both) => both,
                Err(e) => return tracing::debug!(error = %e, "web port upgrade failed"),
            };
            let (mut browser, mut node) = (TokioIo::new(browser), TokioIo::new(node));
            if let Err(e) = tokio::io::copy_bidirectional(&mut browser, &mut node).await {
                tracing::debug!(error = %e, "web port upgraded connection ended");
            }
        });
    }
    let (parts, body) = response.into_parts();
    let mut answer = Response::new(Body::new(body));
    *answer.status_mut() = status;
    *answer.headers_mut() = response_headers(status, &parts.headers);
    Ok(answer)
}

#[derive(Deserialize)]
pub struct SelectorQuery {
    node: Option<String>,
    port: Option<String>,
}

/// `GET /ports/{id}/`: Killercoda's traffic selector (`{{TRAFFIC_SELECTOR}}`), a form
/// per node of the session asking for a port. A form sends `?node=&port=` back here
/// (no script needed), which goes on to where a tab opens that port ([`open`]), so
/// both modes work and the port's checks are [`open`]'s.
pub async fn selector(
    authorized: AuthorizedSession,
    Query(SelectorQuery { node, port }): Query<SelectorQuery>,
) -> ApiResult<Response> {
    let session = &authorized.session;
    if let (Some(node), Some(port)) = (node, port) {
        let port = parse_port(port.trim()).ok_or_else(bad_port)?;
        if session.lesson.environment.node(&node).is_none() {
            return Err(SessionError::NoNode(node).into());
        }
        let open = open_template(&node, port.get(), "/").replace("{session}", session.id.as_str());
        return Ok(Redirect::to(&open).into_response());
    }
    let mut forms = String::new();
    for node in session.lesson.environment.node_names() {
        let mut name = String::new();
        pulldown_cmark_escape::escape_html(&mut name, &node)
            .expect("writing to a String cannot fail");
        forms.push_str(&format!(
            "<form method=\"get\"><input type=\"hidden\" name=\"node\" value=\"{name}\">\
             <label>{name} port <input name=\"port\" inputmode=\"numeric\" \
             pattern=\"[0-9]{{1,5}}\" required></label> <button>Open</button></form>"
        ));
    }
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\">\
         <title>Open a port</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:3rem;color:#333}}\
         form{{margin:1rem 0}}</style>\
         </head><body><h1>Open a port</h1>{forms}</body></html>"
    );
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Html(page),
    )
        .into_response())
}

/// The page for a port that does not answer yet: it says so and reloads itself.
fn not_listening(node: &str, port: NonZeroU16, why: &str) -> Response {
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"{RETRY_SECONDS}\">\
         <title>Waiting for port {port} on {node}</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:3rem;color:#333}}</style>\
         </head><body><h1>Waiting for port {port} on {node}</h1>\
         <p>{why} Start the app on <code>{node}</code> so that it listens on port \
         <code>{port}</code>; this page tries again every {RETRY_SECONDS} seconds.</p>\
         </body></html>"
    );
    (
        StatusCode::BAD_GATEWAY,
        [
            (header::RETRY_AFTER, HeaderValue::from(RETRY_SECONDS)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Html(page),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(uri: &str) -> Option<(String, String, u16, Option<String>)> {
        let uri: Uri = uri.parse().unwrap();
        parse_target(&uri).map(|t| {
            (
                t.session.to_owned(),
                t.node.to_owned(),
                t.port.get(),
                t.rest,
            )
        })
    }

    #[test]
    fn a_target_is_three_literal_segments_and_the_raw_rest() {
        let at = |rest: Option<&str>| Some(("s1".into(), "web".into(), 8080, rest.map(Into::into)));
        assert_eq!(target("/ports/s1/web/8080"), at(None));
        assert_eq!(target("/ports/s1/web/8080/"), at(Some("/")));
        assert_eq!(
            target("/ports/s1/web/8080/a/b.css?x=1"),
            at(Some("/a/b.css?x=1"))
        );
        // What follows the port is the node's business, passed on as sent.
        assert_eq!(
            target("/ports/s1/web/8080/../../etc"),
            at(Some("/../../etc"))
        );
        assert_eq!(
            target("/ports/s1/web/8080/%2F%2Fevil%2F"),
            at(Some("/%2F%2Fevil%2F"))
        );
        assert_eq!(
            target("/ports/s1/web/8080//evil.com/x"),
            at(Some("//evil.com/x"))
        );
        assert_eq!(target("/ports/s1/web/65535/").unwrap().2, 65535);
        assert_eq!(target("/ports/s1/web/1/").unwrap().2, 1);
    }

    #[test]
    fn ports_are_plain_decimals_from_1_to_65535() {
        for bad in [
            "0",
            "65536",
            "99999999999",
            "22@evil",
            "+80",
            "080",
            "-1",
            "8080.0",
            "%38%30",
            "",
            "0x50",
            "%2080",
        ] {
            assert_eq!(target(&format!("/ports/s1/web/{bad}/")), None, "{bad:?}");
        }
        assert_eq!(target("/ports/s1//80/"), None);
        assert_eq!(target("/ports//web/80/"), None);
        assert_eq!(target("/portsx/s1/web/80/"), None);
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    HeaderName::try_from(*k).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                )
            })
            .collect::<HeaderMap>()
    }

    fn names(map: &HeaderMap) -> Vec<&str> {
        let mut names: Vec<&str> = map.keys().map(HeaderName::as_str).collect();
        names.sort();
        names
    }

    #[test]
    fn requests_lose_hop_by_hop_headers_authorization_and_playlabs_cookies() {
        let sent = headers(&[
            ("connection", "keep-alive, x-secret"),
            ("keep-alive", "timeout=5"),
            ("x-secret", "named by connection"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("proxy-authorization", "Basic eA=="),
            ("authorization", "Bearer admin-secret"),
            ("upgrade", "h2c"),
            ("cookie", "playlab_learner=abc; app=1; playlab_admin=x"),
            ("cookie", "theme=dark"),
            ("accept", "text/html"),
        ]);
        let kept = request_headers(&sent);
        assert_eq!(names(&kept), ["accept", "cookie"]);
        assert_eq!(kept[header::COOKIE], "app=1; theme=dark");

        let only_ours = request_headers(&headers(&[("cookie", "playlab_learner=abc")]));
        assert!(only_ours.get(header::COOKIE).is_none());
    }

    #[test]
    fn a_websocket_upgrade_is_kept_both_ways() {
        let sent = headers(&[
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]);
        let kept = request_headers(&sent);
        assert_eq!(names(&kept), ["connection", "sec-websocket-key", "upgrade"]);
        assert_eq!(kept[header::CONNECTION], "upgrade");

        let answered = headers(&[
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRlK+xOo="),
        ]);
        let back = response_headers(StatusCode::SWITCHING_PROTOCOLS, &answered);
        assert_eq!(
            names(&back),
            ["connection", "sec-websocket-accept", "upgrade"]
        );
        assert!(
            response_headers(StatusCode::OK, &answered)
                .get(header::UPGRADE)
                .is_none()
        );
    }

    #[test]
    fn a_node_cannot_set_playlabs_cookies() {
        let answered = headers(&[
            ("set-cookie", "playlab_learner=forged; Path=/"),
            ("set-cookie", "app=1; Path=/"),
            ("transfer-encoding", "chunked"),
            ("content-type", "text/plain"),
        ]);
        let back = response_headers(StatusCode::OK, &answered);
        assert_eq!(names(&back), ["content-type", "set-cookie"]);
        assert_eq!(back[header::SET_COOKIE], "app=1; Path=/");
    }

    #[test]
    fn a_port_host_is_one_label_under_the_traffic_domain() {
        let port = |n| NonZeroU16::new(n).unwrap();
        let at = |session: &str, node: &str, n| {
            Some(Some(HostTarget {
                session: session.into(),
                node: node.into(),
                port: port(n),
            }))
        };
        let domain = "labs.example.org";
        assert_eq!(
            parse_host("8080-web-s1.labs.example.org", domain),
            at("s1", "web", 8080)
        );
        assert_eq!(
            parse_host("8080-Web-S1.Labs.Example.org.:443", domain),
            at("s1", "web", 8080)
        );
        assert_eq!(
            parse_host("80-my-node-s1.labs.example.org:8443", domain),
            at("s1", "my-node", 80)
        );
        // Not host mode's at all: playlab itself, or another domain.
        for other in [
            "labs.example.org",
            "labs.example.org:8080",
            "8080-web-s1.evil.org",
            "8080-web-s1.labs.example.org.evil.org",
            "8080-web-s1xlabs.example.org",
            "a.8080-web-s1.labs.example.org",
            "127.0.0.1:8080",
        ] {
            assert_eq!(parse_host(other, domain), None, "{other}");
        }
        // Under the domain but no port's: refused, never playlab.
        for bad in [
            "0-web-s1.labs.example.org",
            "65536-web-s1.labs.example.org",
            "8080-s1.labs.example.org",
            "8080--s1.labs.example.org",
            "x-web-s1.labs.example.org",
            "www.labs.example.org",
        ] {
            assert_eq!(parse_host(bad, domain), Some(None), "{bad}");
        }
    }

    #[test]
    fn a_login_only_redirects_on_its_own_host() {
        assert_eq!(local_path(Some("/a/b?c=d")), "/a/b?c=d");
        for elsewhere in [
            None,
            Some("//evil.org/"),
            Some("https://evil.org/"),
            Some("/\\evil.org"),
            Some(""),
        ] {
            assert_eq!(local_path(elsewhere), "/", "{elsewhere:?}");
        }
        assert_eq!(query_escape("/a b?c=d&e"), "/a%20b%3Fc%3Dd%26e");
    }

    #[test]
    fn the_admin_token_is_taken_out_of_the_query() {
        let admin = |t: &str| t == "sekrit";
        assert_eq!(without_admin_token("/a?token=sekrit", admin), "/a");
        assert_eq!(
            without_admin_token("/a?x=1&token=sekrit&y=2", admin),
            "/a?x=1&y=2"
        );
        assert_eq!(
            without_admin_token("/a?token=theirs", admin),
            "/a?token=theirs"
        );
        assert_eq!(without_admin_token("/a", admin), "/a");
    }
}
