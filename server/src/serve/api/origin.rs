//! Playlab's own API acts only for playlab's own pages.
//!
//! Why this exists: in host mode a node's app is served at `PORT-NODE-SESSION.DOMAIN`,
//! a sibling of playlab's host under the same site, so `SameSite` cookies do not keep
//! the caller's cookies (the learner's, or the admin's) off a request its scripts send
//! to playlab; CORS only stops them reading the answer, not the request taking effect,
//! and a WebSocket (a terminal) has no CORS at all. So a request to `/api/` that
//! changes something (any method but `GET`, `HEAD` and `OPTIONS`) or opens a WebSocket
//! is refused, 403 `cross_origin`, when the browser says it comes from another page:
//! `Sec-Fetch-Site` is `same-site` or `cross-site`, or the `Origin` is not the host the
//! request was sent to. A request with neither header is no browser's request from
//! another page (curl, scripts, the tests), and passes.
//!
//! The origin is compared with the request's own `Host`, not with a configured URL:
//! playlab does not know the name it is reached by (a reverse proxy in front of it
//! must pass `Host` on, as host mode needs anyway), and the scheme is left out because
//! TLS may end in front of it.

use axum::extract::Request;
use axum::http::header::{self, HeaderMap};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Middleware on the `/api/` routes: refuses what [`from_elsewhere`] says.
pub async fn same_origin(request: Request, next: Next) -> Response {
    if from_elsewhere(request.method(), request.uri(), request.headers()) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_origin",
            "playlab's API takes changes only from playlab's own pages",
        )
        .into_response();
    }
    next.run(request).await
}

/// Whether a request that could change something was sent by a browser from a page of
/// another origin.
fn from_elsewhere(method: &Method, uri: &Uri, headers: &HeaderMap) -> bool {
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if safe && !headers.contains_key(header::UPGRADE) {
        return false;
    }
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let site = text(header::HeaderName::from_static("sec-fetch-site"));
    if site.is_some_and(|s| {
        s.eq_ignore_ascii_case("same-site") || s.eq_ignore_ascii_case("cross-site")
    }) {
        return true;
    }
    let Some(origin) = text(header::ORIGIN) else {
        return false;
    };
    let host = text(header::HOST).or_else(|| uri.authority().map(|a| a.as_str()));
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    // `Origin: null` (a sandboxed page, a redirect across origins) is nobody's.
    !matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(method: Method, pairs: &[(&str, &str)]) -> bool {
        let headers: HeaderMap = pairs
            .iter()
            .map(|(k, v)| {
                (
                    header::HeaderName::try_from(*k).unwrap(),
                    v.parse().unwrap(),
                )
            })
            .collect();
        from_elsewhere(&method, &Uri::from_static("/api/x"), &headers)
    }

    #[test]
    fn changes_come_only_from_playlabs_own_origin() {
        let host = ("host", "localhost:8080");
        // playlab's own pages, and whoever is no browser on another page.
        for own in [
            vec![host, ("origin", "http://localhost:8080")],
            vec![host, ("origin", "https://LocalHost:8080")],
            vec![host, ("sec-fetch-site", "same-origin")],
            vec![host, ("sec-fetch-site", "none")],
            vec![host],
            vec![],
        ] {
            assert!(!refused(Method::POST, &own), "{own:?}");
        }
        // A node's app in host mode (same site), another site, a sandboxed page.
        for elsewhere in [
            vec![host, ("origin", "http://8080-web-s1.localhost:8080")],
            vec![host, ("origin", "http://localhost:9090")],
            vec![host, ("origin", "http://evil.org")],
            vec![host, ("origin", "null")],
            vec![("origin", "http://localhost:8080")],
            vec![host, ("sec-fetch-site", "same-site")],
            vec![host, ("sec-fetch-site", "cross-site")],
            vec![
                host,
                ("origin", "http://localhost:8080"),
                ("sec-fetch-site", "same-site"),
            ],
        ] {
            for method in [Method::POST, Method::DELETE, Method::PUT, Method::PATCH] {
                assert!(
                    refused(method.clone(), &elsewhere),
                    "{method} {elsewhere:?}"
                );
            }
            // Reading is for CORS to guard; a WebSocket has no CORS, so it is a change.
            assert!(!refused(Method::GET, &elsewhere), "{elsewhere:?}");
            let mut upgrade = elsewhere.clone();
            upgrade.push(("upgrade", "websocket"));
            assert!(refused(Method::GET, &upgrade), "{upgrade:?}");
        }
    }
}
