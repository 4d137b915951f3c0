//! Web ports on the real Docker engine: a learner reaches the test app on a node of
//! their session (`fixtures/ports`: python3's standard library serving files, an upload
//! counter, server-sent events and a WebSocket echo) through `/ports/...`, and nothing
//! else through it, whoever asks and whatever the path or `Host` says.

mod common;

use std::time::Duration;

use common::*;
use futures::{SinkExt, StreamExt};
use playlab::serve::config::Limits;
use reqwest::StatusCode;
use reqwest::cookie::CookieStore;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The learner's cookies, as a browser would send them.
fn cookies(client: &Client) -> String {
    client
        .jar
        .cookies(&client.base.parse().unwrap())
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// A request sent byte for byte as written (no client normalises its path), with the
/// learner's cookies; returns the status and the body.
async fn raw(server: &TestServer, client: &Client, target: &str, host: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nCookie: {}\r\nConnection: close\r\n\r\n",
        cookies(client)
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer))
        .await
        .expect("an answer within 20 s")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

/// A `POST` of `body` as written (a head of `headers` and the learner's cookies,
/// then the bytes), the answer read to its end; returns the answer's text.
async fn post_raw(
    server: &TestServer,
    client: &Client,
    target: &str,
    headers: &str,
    body: &[u8],
) -> String {
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST {target} HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\n{headers}Connection: close\r\n\r\n",
        server.addr,
        cookies(client)
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer))
        .await
        .expect("an answer within 20 s")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// `data` as one chunk of a chunked body per 64 KiB.
fn chunked(data: &[u8]) -> Vec<u8> {
    data.chunks(64 * 1024)
        .flat_map(|chunk| {
            [
                format!("{:x}\r\n", chunk.len()).into_bytes(),
                chunk.to_vec(),
                b"\r\n".to_vec(),
            ]
        })
        .flatten()
        .collect()
}

/// Waits until the app answers through the proxy (its setup script starts it in the
/// background); meanwhile the proxy shows its "not listening yet" page.
async fn wait_for_app(client: &Client, base: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let response = client
            .http
            .get(format!("{base}hello.txt"))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::OK {
            assert_eq!(response.text().await.unwrap(), "hello from the node\n");
            return;
        }
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the app never answered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_learner_reaches_the_app_on_their_node_with_http_uploads_sse_and_websockets() {
    let server = TestServer::start(Options {
        catalog: Some(fixture_catalog("ports")),
        ..Options::default()
    })
    .await;
    let learner = server.learner();
    let id = learner.ready_session_of("web").await;
    let prefix = format!("/ports/{id}/web/8080");
    let base = format!("{}{prefix}/", server.url);
    wait_for_app(&learner, &base).await;

    // The lesson says where its tabs open; the template leads to the app.
    let (_, lesson) = learner.get("/api/lessons/web").await;
    assert_eq!(
        lesson["ports"],
        serde_json::json!([
            {"node": "web", "port": 8080, "title": "The app", "path": "/hello.txt",
             "url": "/ports/{session}/web/8080/hello.txt",
             "open": "/api/sessions/{session}/ports/web/8080?path=/hello.txt"},
            {"node": "quiet", "port": 9000, "title": "quiet:9000", "path": "/",
             "url": "/ports/{session}/quiet/9000/",
             "open": "/api/sessions/{session}/ports/quiet/9000?path=/"},
        ])
    );
    let tab = lesson["ports"][0]["url"]
        .as_str()
        .unwrap()
        .replace("{session}", &id);
    let opened = learner
        .http
        .get(format!("{}{tab}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(opened.text().await.unwrap(), "hello from the node\n");
    // Without a traffic domain, the tab's way in leads to path mode.
    let open = lesson["ports"][0]["open"]
        .as_str()
        .unwrap()
        .replace("{session}", &id);
    let opened = learner
        .http
        .get(format!("{}{open}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(opened.url().path(), format!("{prefix}/hello.txt"));
    assert_eq!(opened.text().await.unwrap(), "hello from the node\n");

    // Without the slash, a redirect to the folder, so relative links resolve.
    let bare = learner
        .http
        .get(format!("{}{prefix}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), StatusCode::OK);
    assert_eq!(bare.url().path(), format!("{prefix}/"));
    let inner = learner
        .http
        .get(format!("{base}sub/inner.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(inner.text().await.unwrap(), "in a folder\n");

    // 10 MiB up, counted and hashed by the node.
    let upload: Vec<u8> = (0..10 * 1024 * 1024u32)
        .map(|i| (i * 7 + i / 4099) as u8)
        .collect();
    let digest = hex::encode(Sha256::digest(&upload));
    let counted: Value = learner
        .http
        .post(format!("{base}count"))
        .body(upload)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counted["bytes"], 10 * 1024 * 1024);
    assert_eq!(counted["sha256"], digest);

    // What the node is told, and what it is not.
    learner
        .jar
        .add_cookie_str("app=1; Path=/", &server.url.parse().unwrap());
    let seen: Value = learner
        .http
        .get(format!("{base}headers?x=1&y=%2F"))
        .bearer_auth("not-the-admin-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = |name: &str| -> Vec<String> {
        seen["headers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
            .map(|h| h[1].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(seen["path"], "/headers?x=1&y=%2F");
    assert_eq!(header("cookie"), ["app=1"], "{seen}");
    assert!(header("authorization").is_empty(), "{seen}");
    assert_eq!(header("x-forwarded-prefix"), [prefix.as_str()]);
    assert_eq!(header("x-forwarded-host"), [server.addr.to_string()]);
    assert!(header("host")[0].ends_with(":8080"), "{seen}");

    // Server-sent events arrive one by one: nothing waits for the (endless) body.
    let mut events = learner
        .http
        .get(format!("{base}events"))
        .send()
        .await
        .unwrap()
        .bytes_stream();
    let mut text = String::new();
    while !text.contains("tick 1") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .expect("an event every second")
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.starts_with("data: tick 0\n\n"), "{text:?}");
    drop(events);

    // A WebSocket through the proxy, text and binary.
    let mut request = format!("{}{prefix}/ws", server.url.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("cookie", cookies(&learner).parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(Message::Text("hello, node".into())).await.unwrap();
    let binary: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    ws.send(Message::Binary(binary.clone().into()))
        .await
        .unwrap();
    for expected in [
        Message::Text("hello, node".into()),
        Message::Binary(binary.into()),
    ] {
        let echoed = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
        assert_eq!(echoed.unwrap().unwrap().unwrap(), expected);
    }
    ws.close(None).await.unwrap();

    // A reader that stops reading an endless download holds the node back, not the
    // server's memory: the bytes wait in the sockets, not in a buffer of ours.
    let mut slow = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let request = format!(
        "GET {prefix}/endless HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\n\r\n",
        server.addr,
        cookies(&learner)
    );
    slow.write_all(request.as_bytes()).await.unwrap();
    let mut first = vec![0u8; 64 * 1024];
    let n = slow.read(&mut first).await.unwrap();
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    let before = rss_bytes();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let grown = rss_bytes().saturating_sub(before);
    assert!(
        grown < 32 * 1024 * 1024,
        "the server grew by {} MiB while a reader stalled",
        grown / 1024 / 1024
    );
    // ... and the stream still flows once the reader reads again.
    let mut total = 0;
    while total < 8 * 1024 * 1024 {
        total += slow.read(&mut first).await.unwrap();
    }
    drop(slow);

    // A port nothing listens on: a page that retries, not a bare 502.
    let waiting = learner
        .http
        .get(format!("{}/ports/{id}/web/9999/", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(waiting.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(waiting.headers()["retry-after"], "2");
    let page = waiting.text().await.unwrap();
    assert!(
        page.contains(r#"<meta http-equiv="refresh" content="2">"#),
        "{page}"
    );
    assert!(page.contains("port 9999 on web"), "{page}");
    server.stop().await;
}

#[tokio::test]
async fn the_proxy_reaches_only_the_named_node_of_a_session_its_caller_may_use() {
    let server = TestServer::start(Options {
        catalog: Some(fixture_catalog("ports")),
        ..Options::default()
    })
    .await;
    let alice = server.learner();
    let bob = server.learner();
    let alices = alice.ready_session_of("web").await;
    let bobs = bob.ready_session_of("web").await;
    wait_for_app(&alice, &format!("{}/ports/{alices}/web/8080/", server.url)).await;
    wait_for_app(&bob, &format!("{}/ports/{bobs}/web/8080/", server.url)).await;
    let host = server.addr.to_string();

    // Request headers are capped.
    let mut big = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let request = format!(
        "GET /ports/{alices}/web/8080/hello.txt HTTP/1.1\r\nHost: {host}\r\nCookie: {}\r\n\
         X-Big: {}\r\nConnection: close\r\n\r\n",
        cookies(&alice),
        "b".repeat(40 * 1024)
    );
    big.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    big.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

    // Someone else's session, or nobody's.
    let (status, _) = raw(
        &server,
        &bob,
        &format!("/ports/{alices}/web/8080/hello.txt"),
        &host,
    )
    .await;
    assert_eq!(status, 403);
    let stranger = server.learner();
    let (status, _) = raw(
        &server,
        &stranger,
        &format!("/ports/{alices}/web/8080/hello.txt"),
        &host,
    )
    .await;
    assert!(status == 403 || status == 401, "{status}");
    let (status, _) = raw(&server, &alice, "/ports/nosuchsession/web/8080/", &host).await;
    assert_eq!(status, 404);
    // The admin may, as on every per-session route.
    let admin = Client::admin(&server.url, ADMIN_TOKEN);
    let answer = admin
        .http
        .get(format!("{}/ports/{alices}/web/8080/hello.txt", server.url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    // ... in an origin of its own: the learner's code never runs with the admin's rights.
    let policy = answer.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(
        policy.starts_with("sandbox ") && !policy.contains("allow-same-origin"),
        "{policy}"
    );
    let own = alice
        .http
        .get(format!("{}/ports/{alices}/web/8080/hello.txt", server.url))
        .send()
        .await
        .unwrap();
    assert!(own.headers().get("content-security-policy").is_none());
    // Nor does someone else's WebSocket get through.
    let mut request = format!("ws://{host}/ports/{alices}/web/8080/ws")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("cookie", cookies(&bob).parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(refused)) => {
            assert_eq!(refused.status().as_u16(), 403)
        }
        other => panic!(
            "another learner's WebSocket: {:?}",
            other.map(|(_, r)| r.status())
        ),
    }

    // Names that are not a node of the lesson, ports that are not ports.
    for target in [
        "127.0.0.1/8080/",
        "localhost/8080/",
        "10.0.0.1/22/",
        "web.quiet/8080/",
        "%77eb/8080/",
        "web/0/",
        "web/65536/",
        "web/22@evil/",
        "web/8080@127.0.0.1:22/",
        "web/%38080/",
        "web/-1/",
    ] {
        let (status, body) =
            raw(&server, &alice, &format!("/ports/{alices}/{target}"), &host).await;
        assert_eq!(status, 404, "{target}: {body}");
        assert!(
            body.contains("\"error\""),
            "{target}: playlab answered, not a node: {body}"
        );
    }

    // Whatever follows the port goes to that node's app, which resolves it itself:
    // dot segments, encoded slashes, another host in the path or in `Host`.
    for rest in [
        "../../../api/me",
        "..%2F..%2F..%2Fapi%2Fme",
        "%2e%2e/%2e%2e/hello.txt",
        "//127.0.0.1:22/",
        "http://169.254.169.254/latest",
    ] {
        let (status, body) = raw(
            &server,
            &alice,
            &format!("/ports/{alices}/web/8080/{rest}"),
            &host,
        )
        .await;
        assert!(
            !body.contains("\"learner\""),
            "{rest}: reached playlab's API through the proxy: {status} {body}"
        );
        assert!(
            status == 404 || status == 200 || status == 301,
            "{rest}: {status} {body}"
        );
    }
    let (status, body) = raw(
        &server,
        &alice,
        &format!("/ports/{alices}/web/8080/headers"),
        "169.254.169.254",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let seen: Value = serde_json::from_str(&body).unwrap();
    assert!(
        seen.to_string().contains("169.254.169.254"),
        "x-forwarded-host: {seen}"
    );
    // An absolute-form target names a host too: still only the node answers.
    let (status, body) = raw(
        &server,
        &alice,
        &format!("http://127.0.0.1:22/ports/{alices}/web/8080/headers"),
        &host,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"path\": \"/headers\""), "{body}");

    // Each session's port is its own node's: the app sees a different address.
    let node_host = |client: &Client, id: &str| {
        let url = format!("{}/ports/{id}/web/8080/headers", server.url);
        let http = client.http.clone();
        async move {
            let seen: Value = http.get(url).send().await.unwrap().json().await.unwrap();
            seen["headers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|h| h[0].as_str().unwrap().eq_ignore_ascii_case("host"))
                .map(|h| h[1].clone())
                .unwrap()
        }
    };
    assert_ne!(
        node_host(&alice, &alices).await,
        node_host(&bob, &bobs).await
    );
    // A node of the lesson with nothing on the port: the waiting page, from `quiet`.
    let (status, body) = raw(
        &server,
        &alice,
        &format!("/ports/{alices}/quiet/8080/"),
        &host,
    )
    .await;
    assert_eq!(status, 502);
    assert!(body.contains("port 8080 on quiet"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn an_upload_over_the_limit_is_refused_whether_its_length_is_said_or_not() {
    const LIMIT: usize = 1 << 20;
    let server = TestServer::start(Options {
        catalog: Some(fixture_catalog("ports")),
        limits: Limits {
            port_upload_limit: LIMIT as u64,
            ..Limits::default()
        },
        ..Options::default()
    })
    .await;
    let learner = server.learner();
    let id = learner.ready_session_of("web").await;
    let count = format!("/ports/{id}/web/8080/count");
    wait_for_app(&learner, &format!("{}/ports/{id}/web/8080/", server.url)).await;
    let data = vec![b'u'; LIMIT];

    // Up to the limit, with a length or chunked, the node gets it all.
    let answer = post_raw(
        &server,
        &learner,
        &count,
        &format!("Content-Length: {LIMIT}\r\n"),
        &data,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(&format!("\"bytes\": {LIMIT}")), "{answer}");
    let body = [chunked(&data), b"0\r\n\r\n".to_vec()].concat();
    let answer = post_raw(
        &server,
        &learner,
        &count,
        "Transfer-Encoding: chunked\r\n",
        &body,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(&format!("\"bytes\": {LIMIT}")), "{answer}");

    // A length over it is refused before a byte is sent on.
    let answer = post_raw(
        &server,
        &learner,
        &count,
        &format!("Content-Length: {}\r\n", LIMIT + 1),
        &[],
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("upload_too_large"), "{answer}");
    // A chunked body is cut off where it goes over (and the node never answers it).
    let over = chunked(&vec![b'u'; LIMIT + 64 * 1024]);
    let answer = post_raw(
        &server,
        &learner,
        &count,
        "Transfer-Encoding: chunked\r\n",
        &over,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("upload_too_large"), "{answer}");
    server.stop().await;
}

/// A browser that finds `hosts` on the test server (as `*.localhost` is loopback in
/// browsers, without DNS), with its own cookies and without following redirects.
fn browser_for(server: &TestServer, hosts: &[&str]) -> reqwest::Client {
    hosts
        .iter()
        .fold(reqwest::Client::builder(), |b, host| {
            b.resolve(host, server.addr)
        })
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .unwrap()
}

#[tokio::test]
async fn host_mode_serves_a_port_at_the_root_of_its_own_host_to_its_learner_only() {
    let server = TestServer::start(Options {
        catalog: Some(fixture_catalog("ports")),
        traffic_domain: Some("localhost".into()),
        ..Options::default()
    })
    .await;
    let alice = server.learner();
    let bob = server.learner();
    let alices = alice.ready_session_of("web").await;
    let bobs = bob.ready_session_of("web").await;
    wait_for_app(&alice, &format!("{}/ports/{alices}/web/8080/", server.url)).await;
    let port = server.addr.port();
    let host = format!("8080-web-{alices}.localhost");

    // The tab's way in: a redirect to the port's own host, with a ticket for it.
    let entry = |client: &Client, id: &str| {
        let http = reqwest::Client::builder()
            .cookie_provider(client.jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let url = format!(
            "{}/api/sessions/{id}/ports/web/8080?path=/hello.txt",
            server.url
        );
        async move {
            let response = http.get(url).send().await.unwrap();
            let status = response.status();
            let location = response
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned());
            (status, location)
        }
    };
    let (status, location) = entry(&alice, &alices).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    assert!(
        location.starts_with(&format!("http://{host}:{port}/.playlab/port-login?ticket=")),
        "{location}"
    );
    assert_eq!(entry(&bob, &alices).await.0, StatusCode::FORBIDDEN);

    // Alice's browser follows it, is signed in on that host, and gets the app at `/`.
    let browser = browser_for(&server, &[&host]);
    let page = browser.get(&location).send().await.unwrap();
    assert_eq!(page.url().path(), "/hello.txt");
    assert_eq!(page.text().await.unwrap(), "hello from the node\n");
    // The ticket was good once: the same link (a history entry, a log line) is not.
    let again = browser_for(&server, &[&host])
        .get(&location)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
    let refusal: Value = again.json().await.unwrap();
    assert_eq!(refusal["error"], "bad_ticket");
    let seen: Value = browser
        .get(format!("http://{host}:{port}/headers?q=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["path"], "/headers?q=1");
    let text = seen.to_string().to_lowercase();
    assert!(
        !text.contains("playlab_") && !text.contains("x-forwarded-prefix"),
        "{seen}"
    );
    assert!(
        text.contains(&format!("\"{host}:{port}\"")),
        "x-forwarded-host: {seen}"
    );

    // A WebSocket on the port's host.
    let mut request = format!("ws://{}/ws", server.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("host", format!("{host}:{port}").parse().unwrap());
    request
        .headers_mut()
        .insert("cookie", cookies(&alice).parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(Message::Text("on its own host".into()))
        .await
        .unwrap();
    let echoed = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
    assert_eq!(
        echoed.unwrap().unwrap().unwrap(),
        Message::Text("on its own host".into())
    );

    // Nobody else: no ticket, Bob's ticket for his own host, Bob's cookies.
    let stranger = browser_for(&server, &[&host]);
    let refused = stranger
        .get(format!("http://{host}:{port}/hello.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let (_, bobs_location) = entry(&bob, &bobs).await;
    let moved = bobs_location
        .unwrap()
        .replace(&format!("8080-web-{bobs}"), &format!("8080-web-{alices}"));
    let refused = browser_for(&server, &[&host])
        .get(moved)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let (status, _) = raw(&server, &bob, "/hello.txt", &format!("{host}:{port}")).await;
    assert_eq!(status, 403);

    // Whatever the Host says, only a node of the named session is reached.
    let (status, body) = raw(&server, &alice, "/hello.txt", &format!("{host}:{port}")).await;
    assert_eq!((status, body.as_str()), (200, "hello from the node\n"));
    for (name, expected) in [
        (format!("8080-web-{bobs}.localhost"), 403),
        (format!("0-web-{alices}.localhost"), 404),
        (format!("8080-node9-{alices}.localhost"), 404),
        (format!("8080-quiet-{alices}.localhost"), 502),
        (format!("22-web-{alices}.localhost"), 502),
        ("www.localhost".to_owned(), 404),
    ] {
        let (status, body) = raw(&server, &alice, "/hello.txt", &name).await;
        assert_eq!(status, expected, "{name}: {body}");
    }
    // The app's pages are the same site as playlab's, so the learner's cookies go
    // with what their scripts send playlab: changes from them are refused, while
    // playlab's own pages (and clients that are no browser) still make them.
    let help = |origin: Option<String>| {
        let request = alice
            .http
            .post(format!("{}/api/sessions/{alices}/help", server.url))
            .json(&serde_json::json!({"allow": false}));
        let request = match origin {
            Some(origin) => request.header("origin", origin),
            None => request,
        };
        async move { request.send().await.unwrap() }
    };
    let from_app = help(Some(format!("http://{host}:{port}"))).await;
    assert_eq!(from_app.status(), StatusCode::FORBIDDEN);
    let refusal: Value = from_app.json().await.unwrap();
    assert_eq!(refusal["error"], "cross_origin");
    let from_playlab = help(Some(server.url.clone())).await;
    assert_eq!(from_playlab.status(), StatusCode::OK);
    assert_eq!(help(None).await.status(), StatusCode::OK);

    // Hosts that are not a port's are playlab's own, which serves no node's files.
    for name in [
        format!("8080-127.0.0.1-{alices}.localhost"),
        format!("8080-web-{alices}.localhost.evil.org"),
        "localhost".to_owned(),
    ] {
        let (_, body) = raw(&server, &alice, "/hello.txt", &name).await;
        assert!(!body.contains("hello from the node"), "{name}: {body}");
    }
    server.stop().await;
}
