//! The web ports' HTTP/1.1 connections to nodes, kept alive between requests: a page
//! of many small requests would otherwise pay a TCP handshake (and the app's new
//! connection) for each. The proxy itself is `api/ports.rs`; the pool lives in the
//! server's state, beside the sessions whose nodes it reaches.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::Uri;
use http_body_util::Limited;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Client, Error};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use runner::SessionId;

/// How long connecting to a node may take before the "not listening" page.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a connection to a node is kept for the next request, and how many are
/// kept per session and address (a browser opens about six at once).
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);
const IDLE_CONNECTIONS: usize = 8;

/// The pool is hyper's, keyed by a URI's authority; the session's id goes in as the
/// authority's user (`http://SESSION@ADDRESS`, never sent: requests go out in origin
/// form with their own `Host`), so a connection is only ever reused for the session
/// that opened it, even where a finished session's address is given to a new one.
pub struct NodeConnections {
    client: Client<HttpConnector, Limited<Body>>,
    /// The most bytes of a request body passed on (`--port-upload-limit`).
    upload_limit: u64,
}

impl NodeConnections {
    pub fn new(upload_limit: u64) -> NodeConnections {
        let mut connector = HttpConnector::new();
        // Small answers go out at once, as from the browser's side (see `serve::run`).
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(IDLE_CONNECTION_TIMEOUT)
            .pool_max_idle_per_host(IDLE_CONNECTIONS)
            .set_host(false)
            .build(connector);
        NodeConnections {
            client,
            upload_limit,
        }
    }

    /// Where a request for `path` (and query) on `address`, a node of `session`, goes;
    /// `None` for a path no request can carry.
    pub fn uri(session: &SessionId, address: SocketAddr, path: &str) -> Option<Uri> {
        Uri::builder()
            .scheme("http")
            .authority(format!("{}@{address}", session.as_str()))
            .path_and_query(path)
            .build()
            .ok()
    }

    /// Sends `request` (its URI from [`NodeConnections::uri`]) with its body cut off
    /// at the upload limit: the error's causes then include `LengthLimitError`.
    pub async fn send(
        &self,
        request: hyper::Request<Body>,
    ) -> Result<hyper::Response<Incoming>, Error> {
        let limit = usize::try_from(self.upload_limit).unwrap_or(usize::MAX);
        self.client
            .request(request.map(|body| Limited::new(body, limit)))
            .await
    }
}
