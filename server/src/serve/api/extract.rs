//! Who may do what: the checks on the caller's [`Identity`] and the
//! [`AuthorizedSession`] extractor, which every per-session route takes instead of
//! looking the session up itself; and what else a request says of its caller (the
//! client's address, the languages it wants).

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Path, Query};
use axum::http::StatusCode;
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult};
use crate::serve::auth::Identity;
use crate::serve::language::Wanted;
use crate::serve::sessions::{Session, SessionError, SessionManager};
use crate::serve::state::AppState;
use crate::serve::terminals::Role;

/// The `{id}` of a session's routes (others, like `{node}`, are read apart).
#[derive(Deserialize)]
struct SessionPath {
    id: String,
}

/// The session a request names, and who asks. Resolve it with [`Self::live`] or
/// [`Self::ended`], which allow its learner and the admin; most handlers take an
/// [`AuthorizedSession`] instead.
pub struct SessionRequest {
    id: String,
    caller: Identity,
}

impl FromRequestParts<AppState> for SessionRequest {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Path(SessionPath { id }) = Path::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Ok(caller) = Identity::from_request_parts(parts, state).await;
        Ok(SessionRequest { id, caller })
    }
}

impl SessionRequest {
    /// The running session, if the caller may use it (its use counts as activity).
    pub fn live(&self, sessions: &SessionManager) -> Result<Arc<Session>, SessionError> {
        sessions.get(&self.id, self.caller.learner.as_deref(), self.caller.admin)
    }

    /// The ended session's last state from the database, if the caller may see it.
    pub fn ended(&self, sessions: &SessionManager) -> Result<impl Serialize, SessionError> {
        sessions.ended_view(&self.id, self.caller.learner.as_deref(), self.caller.admin)
    }
}

/// A running session the caller may act on: its learner, or the admin. Extracting it
/// answers 404 for an unknown session and 403 for someone else's.
pub struct AuthorizedSession {
    pub session: Arc<Session>,
    caller: Identity,
}

impl FromRequestParts<AppState> for AuthorizedSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let SessionRequest { id, caller } =
            SessionRequest::from_request_parts(parts, state).await?;
        AuthorizedSession::resolve(id, caller, &state.sessions).map_err(IntoResponse::into_response)
    }
}

impl AuthorizedSession {
    /// The session `id` for `caller`, where the id is not in the path (a web port's
    /// host names it): the same rule as the extractor.
    pub fn resolve(
        id: String,
        caller: Identity,
        sessions: &SessionManager,
    ) -> ApiResult<AuthorizedSession> {
        let request = SessionRequest { id, caller };
        let session = request.live(sessions)?;
        Ok(AuthorizedSession {
            session,
            caller: request.caller,
        })
    }

    /// How the caller joins a terminal: its learner types, the admin watches.
    pub fn role(&self) -> Role {
        if self.session.owned_by(self.caller.learner.as_deref()) {
            Role::Owner
        } else {
            Role::Watcher
        }
    }
}

/// The client's address (the peer of the connection), for rate limits. A request
/// served without connection info (the router driven directly, in unit tests) counts
/// as from the unspecified address.
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp::of(&parts.extensions))
    }
}

impl ClientIp {
    /// The address in a request's extensions (for middleware, which has no parts).
    pub fn of(extensions: &axum::http::Extensions) -> ClientIp {
        let peer = extensions.get::<ConnectInfo<SocketAddr>>();
        ClientIp(peer.map_or(
            IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            |ConnectInfo(addr)| addr.ip(),
        ))
    }
}

impl Identity {
    pub fn require_learner(&self) -> ApiResult<&str> {
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
    pub fn require_reader(&self) -> ApiResult<()> {
        if self.admin {
            return Ok(());
        }
        self.require_learner().map(|_| ())
    }

    /// The instructor's endpoints (classes, rosters): the admin only. A learner is
    /// refused outright (403), someone unknown asked to authenticate (401).
    pub fn require_instructor(&self) -> ApiResult<()> {
        match (self.admin, &self.learner) {
            (true, _) => Ok(()),
            (false, Some(_)) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "instructor_only",
                "this is for the instructor; learners cannot use it",
            )),
            (false, None) => self.require_admin(),
        }
    }

    pub fn require_admin(&self) -> ApiResult<()> {
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

/// The one query parameter read here; a route's others are its own.
#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

/// The languages a request wants lesson text in: see [`Wanted::of`].
impl<S: Send + Sync> FromRequestParts<S> for Wanted {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Wanted, Infallible> {
        let header = parts
            .headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        // A query that does not parse says nothing about languages; the route's own
        // extractors report it.
        let lang = Query::<LangQuery>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|Query(q)| q.lang);
        Ok(Wanted::of(lang.as_deref(), header))
    }
}
