//! The web UI, embedded into the binary and served as the router's fallback.
//!
//! `build.rs` builds `web/` into `web/dist`; this module embeds that folder with
//! `rust-embed` so one binary is the whole product (labs run offline: every script,
//! style and font comes from here). The UI is a single-page app with history routing,
//! so any path that is not a file and not under `/api/` gets `index.html` and the
//! browser-side router picks the page.
//!
//! Caching: esbuild names bundles by content hash under `/assets/`, so those are cached
//! forever; everything else (`index.html`) is revalidated with its ETag on every load,
//! so a new binary's UI is picked up at once.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::Embed)]
#[folder = "../web/dist/"]
struct Ui;

/// The page every client-side route is served from.
const INDEX: &str = "index.html";

/// A router that answers every request it gets with the embedded UI; mount it with
/// `Router::fallback_service` so the API's routes win.
pub fn router() -> Router {
    Router::new().fallback(serve)
}

async fn serve(uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    // An unknown API path is a client bug: answer in the API's error shape, not with HTML.
    if path == "api" || path.starts_with("api/") {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({
                "error": "not_found",
                "message": format!("no API route for {}", uri.path()),
            })),
        )
            .into_response();
    }
    let (name, file) = match Ui::get(path) {
        Some(file) if !path.is_empty() => (path, file),
        // A path whose last segment looks like a file name is a missing file, not a page.
        _ if path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.')) =>
        {
            return (StatusCode::NOT_FOUND, "not found").into_response();
        }
        _ => match Ui::get(INDEX) {
            Some(file) => (INDEX, file),
            None => {
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the web UI was not built into this binary",
                )
                    .into_response();
            }
        },
    };

    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..12]));
    let cache = if name.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = Response::new(Body::from(file.data.into_owned()));
        if let Ok(mime) = HeaderValue::from_str(file.metadata.mimetype()) {
            response.headers_mut().insert(header::CONTENT_TYPE, mime);
        }
        response
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, etag);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(path: &str, if_none_match: Option<&str>) -> Response {
        let mut req = Request::get(path);
        if let Some(tag) = if_none_match {
            req = req.header(header::IF_NONE_MATCH, tag);
        }
        router()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    async fn text(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    /// The script the built `index.html` loads, e.g. `/assets/app-ABC123.js`.
    fn bundle_path(index: &str) -> String {
        let start = index
            .find("src=\"/assets/")
            .expect("index.html loads the app bundle")
            + 5;
        let end = start + index[start..].find('"').unwrap();
        index[start..end].to_string()
    }

    #[tokio::test]
    async fn client_routes_get_the_app_shell() {
        for path in ["/", "/lessons/first-steps", "/dashboard"] {
            let response = get(path, None).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(response.headers()[header::CACHE_CONTROL], "no-cache");
            assert!(
                response.headers()[header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .starts_with("text/html")
            );
            assert!(text(response).await.contains("<div id=\"app\""), "{path}");
        }
    }

    #[tokio::test]
    async fn hashed_bundles_are_cached_forever_and_revalidate_by_etag() {
        let index = text(get("/", None).await).await;
        let js = bundle_path(&index);
        let response = get(&js, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/javascript");
        let etag = response.headers()[header::ETAG]
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(
            get(&js, Some(&etag)).await.status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(get(&js, Some("\"other\"")).await.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn missing_files_and_api_paths_are_404() {
        assert_eq!(
            get("/assets/nope.js", None).await.status(),
            StatusCode::NOT_FOUND
        );
        let response = get("/api/nope", None).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body: serde_json::Value = serde_json::from_str(&text(response).await).unwrap();
        assert_eq!(body["error"], "not_found");
        assert_eq!(body["message"], "no API route for /api/nope");
    }
}
