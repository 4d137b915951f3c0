//! `playlab serve` end to end: a real server on 127.0.0.1:0, a real HTTP/WebSocket
//! client with a cookie jar, real Docker environments of the fixture lesson
//! (`tests/fixtures/content/demo`, two nodes on the local `debian:bookworm-slim`) and,
//! for Killercoda's foreground scripts, `tests/fixtures/killercoda` (one node on the
//! same image, through its own image map).
//!
//! The session manager's own rules (capacity, expiry and its warning, idle, the warm
//! pool's refill, re-adoption, check and advance) are proven in milliseconds by its
//! unit tests on a fake backend (`src/serve/sessions/tests.rs`); these tests prove the
//! wiring to Docker, HTTP and WebSocket, one test per path, and sleep as little as
//! that allows.

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime};

use common::{Client, Frame, Options, TestServer, rss_bytes};
use futures::SinkExt;
use playlab::serve::Catalog;
use playlab::serve::config::Limits;
use playlab::settings::image_map;
use reqwest::StatusCode;
use runner::SessionId;
use serde_json::{Value, json};

const READY: Duration = Duration::from_secs(60);
const SHORT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn full_lesson_flow() {
    let server = TestServer::start(Options::default()).await;
    let learner = server.learner();

    let (status, lessons) = learner.get("/api/lessons").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        lessons,
        json!([{"id": "demo", "title": "Server test lesson",
                "description": "Two plain Debian nodes, a file to create, and a quiz.",
                "difficulty": "beginner", "duration": "5m", "tags": ["test"], "steps": 2,
                "lang": "en", "languages": ["en"]}])
    );
    let (status, lesson) = learner.get("/api/lessons/demo").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lesson["nodes"], json!(["node01", "node02"]));
    let html = lesson["steps"][0]["html"].as_str().unwrap();
    assert!(
        html.contains(r#"data-action="exec""#) && html.contains(r#"data-node="node01""#),
        "{html}"
    );
    // The hint is Markdown rendered like the step text, and only a step with one has it.
    assert_eq!(
        lesson["steps"][0]["hint_html"],
        "<p>The check looks for <code>/tmp/done</code> on <strong>node01</strong>: any command that creates an empty file will do.</p>\n"
    );
    assert!(
        lesson["steps"][1].get("hint_html").is_none(),
        "{}",
        lesson["steps"][1]
    );
    assert_eq!(
        lesson["steps"][1]["quiz"][0]["choices"],
        json!(["41", "42", "43"])
    );
    assert!(
        lesson["steps"][1]["quiz"][0].get("answer").is_none(),
        "answers stay on the server"
    );

    // Create: 201 and `starting`, then events until ready.
    let (status, session) = learner
        .post("/api/sessions", json!({"lesson": "demo"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    assert_eq!(session["status"], "starting");
    assert_eq!(session["nodes"], json!(["node01", "node02"]));
    assert_eq!(session["step"], 0);
    let id = session["id"].as_str().unwrap().to_owned();
    let events = learner
        .events_until(
            &id,
            |e| e["type"] == "status" && e["status"] != "starting",
            READY,
        )
        .await;
    assert_eq!(events.last().unwrap()["status"], "ready", "{events:?}");
    assert!(server.has_environment(&id).await);

    // Reopening the lesson page returns the same session.
    let (status, again) = learner
        .post("/api/sessions", json!({"lesson": "demo"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], id.as_str());

    // Terminal round trip and resize.
    let mut term = learner
        .terminal(&id, "node01", "?cols=80&rows=24")
        .await
        .unwrap();
    term.read_until(0, "# ", SHORT).await;
    assert!(term.run("echo $((6*7))", "42").await.contains("42"));
    term.control(json!({"type": "resize", "cols": 100, "rows": 30}))
        .await;
    assert!(term.run("stty size", "30 100").await.contains("30 100"));

    // The check fails with the author's message, then passes after the work.
    let (status, verdict) = learner
        .post(&format!("/api/sessions/{id}/check"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{verdict}");
    assert_eq!(verdict["passed"], false);
    assert_eq!(verdict["step"], 0);
    assert_eq!(
        verdict["results"][0]["message"],
        "/tmp/done does not exist on node01 yet"
    );
    term.run("touch /tmp/done && echo touched-$((2+2))", "touched-4")
        .await;
    let (_, verdict) = learner
        .post(&format!("/api/sessions/{id}/check"), json!({}))
        .await;
    assert_eq!(verdict["passed"], true, "{verdict}");
    assert_eq!(verdict["step"], 1);
    assert_eq!(verdict["completed"], false);

    // The quiz step: a malformed answer is the client's error, a wrong one is not.
    let check = format!("/api/sessions/{id}/check");
    let (status, error) = learner.post(&check, json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"], "bad_answers");
    let (status, _) = learner.post(&check, json!({"answers": [[7]]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, error) = learner.post(&check, json!({"answers": "42"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let (_, verdict) = learner.post(&check, json!({"answers": [[0]]})).await;
    assert_eq!(verdict["passed"], false);
    assert_eq!(verdict["results"][0]["message"], "Multiply again.");
    let (_, verdict) = learner.post(&check, json!({"answers": [[1]]})).await;
    assert_eq!(verdict["passed"], true);
    assert_eq!(verdict["completed"], true);
    assert_eq!(verdict["step"], 2);

    // Progress and the transcript are in the database.
    let store = server.state.sessions.store();
    let sid: SessionId = id.parse().unwrap();
    assert_eq!(store.attempts(&sid).unwrap(), vec![(0, 2), (1, 2)]);
    let typed: Vec<String> = store
        .transcript(&sid)
        .unwrap()
        .entries()
        .map(|e| e.line.clone())
        .collect();
    assert!(
        typed.contains(&"touch /tmp/done && echo touched-$((2+2))".to_owned()),
        "{typed:?}"
    );

    // Finish: 204, the environment is gone, the session reads as ended.
    let (status, _) = learner.delete(&format!("/api/sessions/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!server.has_environment(&id).await);
    let (status, ended) = learner.get(&format!("/api/sessions/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ended["status"], "ended");
    assert_eq!(ended["completed"], true);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reconnect_replays_the_screen_and_keeps_the_shell() {
    let server = TestServer::start(Options::default()).await;
    let learner = server.learner();
    let id = learner.ready_session().await;

    let mut term = learner.terminal(&id, "node02", "").await.unwrap();
    term.read_until(0, "# ", SHORT).await;
    let pid = term.run("echo shell-$$-pid$((1+1))", "-pid2").await;
    // 100 KiB of output, so the replay must hold more than 64 KiB.
    term.run(
        "head -c 76800 /dev/zero | base64 -w 100; echo bulk-$((3*3))",
        "bulk-9",
    )
    .await;
    drop(term);

    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut term = learner.terminal(&id, "node02", "").await.unwrap();
    // Before typing anything, the replay restores the screen.
    term.read_until(0, "bulk-9", SHORT).await;
    assert!(
        term.screen.len() >= 64 * 1024,
        "replay of {} bytes",
        term.screen.len()
    );
    let pid_after = term.run("echo shell-$$-pid$((1+1))", "-pid2").await;
    let shell = |s: &str| {
        s.split("shell-")
            .nth(2)
            .map(|p| p.split("-pid2").next().unwrap().to_owned())
    };
    assert!(shell(&pid).is_some(), "{pid:?}");
    assert_eq!(
        shell(&pid),
        shell(&pid_after),
        "the same shell after reconnecting"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn learners_are_isolated_and_the_admin_watches_read_only() {
    let server = TestServer::start(Options::default()).await;
    let alice = server.learner();
    let bob = server.learner();
    let id = alice.ready_session().await;

    for (status, body) in [
        bob.get(&format!("/api/sessions/{id}")).await,
        bob.delete(&format!("/api/sessions/{id}")).await,
        bob.post(&format!("/api/sessions/{id}/check"), json!({}))
            .await,
        bob.post(&format!("/api/sessions/{id}/extend"), json!({}))
            .await,
    ] {
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"], "forbidden");
    }
    assert_eq!(bob.terminal(&id, "node01", "").await.err(), Some(403));
    assert_eq!(bob.get("/api/sessions").await.1, json!([]));
    let (status, body) = bob.get("/api/sessions/nosuchsession1").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("session_not_found"))
    );
    assert_eq!(
        bob.get("/api/sessions/NOT-an-id!").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(alice.terminal(&id, "node09", "").await.err(), Some(404));

    // The admin sees every session and joins a terminal read-only.
    let admin = Client::admin(&server.url, "admin-secret");
    let (status, all) = admin.get("/api/admin/sessions").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all[0]["id"], id.as_str());
    assert_eq!(
        bob.get("/api/admin/sessions").await.0,
        StatusCode::UNAUTHORIZED
    );
    let mut owner = alice.terminal(&id, "node01", "").await.unwrap();
    owner.read_until(0, "# ", SHORT).await;
    let mut watcher = admin.terminal(&id, "node01", "").await.unwrap();
    watcher.send("echo typed-by-admin\r").await;
    match watcher.next_control().await {
        Some(Frame::Control(c)) => assert_eq!(c["message"], "this terminal is read-only"),
        other => panic!("expected an error frame, got {other:?}"),
    }
    let from = watcher.screen.len();
    owner
        .run("echo seen-by-$((1+1))-viewers", "seen-by-2")
        .await;
    watcher.read_until(from, "seen-by-2-viewers", SHORT).await;
    server.stop().await;
}

/// Help mode: the learner sees who watches, and only the learner lets the watching
/// instructor type; a revocation stops the instructor's next keystroke; every grant and
/// revocation is in the session's help log.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_learner_lets_the_instructor_type_and_stops_them() {
    let server = TestServer::start(Options::default()).await;
    let alice = server.learner();
    let admin = Client::admin(&server.url, "admin-secret");
    let id = alice.ready_session().await;
    let mut owner = alice.terminal(&id, "node01", "").await.unwrap();
    owner.read_until(0, "# ", SHORT).await;

    let mut watcher = admin.terminal(&id, "node01", "").await.unwrap();
    let presence = |watchers: u64, help: bool| {
        move |e: &Value| e["type"] == "presence" && e["watchers"] == watchers && e["help"] == help
    };
    alice.events_until(&id, presence(1, false), SHORT).await;
    let refused = |frame: Option<Frame>| match frame {
        Some(Frame::Control(c)) => assert_eq!(c["message"], "this terminal is read-only"),
        other => panic!("expected a read-only error frame, got {other:?}"),
    };
    // The watcher sees exactly the bytes the learner's shell produced: from a quiet
    // prompt on, both screens grow by the same bytes.
    watcher.read_until(0, "# ", SHORT).await;
    let (owner_from, watcher_from) = (owner.screen.len(), watcher.screen.len());
    owner
        .run(
            "printf 'same-\\x1b[1mbytes\\x1b[0m-%s\\n' $((6*7))",
            "bytes",
        )
        .await;
    watcher.read_until(watcher_from, "-42", SHORT).await;
    owner.read_until(owner_from, "-42", SHORT).await;
    let mine = &owner.screen[owner_from..];
    let seen = &watcher.screen[watcher_from..];
    let end = mine.len().min(seen.len());
    assert_eq!(
        String::from_utf8_lossy(&seen[..end]),
        String::from_utf8_lossy(&mine[..end]),
        "the watcher's bytes are the learner's"
    );
    assert!(end > 20, "compared {end} bytes");

    // A crafted input frame from the read-only viewer is refused and never runs.
    watcher.send("echo typed-before-help\r").await;
    refused(watcher.next_control().await);

    let (status, body) = admin
        .post(&format!("/api/sessions/{id}/help"), json!({"allow": true}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("learner_only")),
        "{body}"
    );
    let (status, body) = alice
        .post(&format!("/api/sessions/{id}/help"), json!({"allow": true}))
        .await;
    assert_eq!(
        (status, body["help"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{body}"
    );
    alice.events_until(&id, presence(1, true), SHORT).await;

    let from = owner.screen.len();
    watcher.send("echo helped-$((2+3))\r").await;
    owner.read_until(from, "helped-5", SHORT).await;
    // A resize from the helper would reshape the learner's terminal: still refused.
    watcher
        .control(json!({"type": "resize", "cols": 40, "rows": 10}))
        .await;
    match watcher.next_control().await {
        Some(Frame::Control(c)) => assert_eq!(c["message"], "a read-only viewer cannot resize"),
        other => panic!("expected a resize refusal, got {other:?}"),
    }

    let (status, _) = alice
        .post(&format!("/api/sessions/{id}/help"), json!({"allow": false}))
        .await;
    assert_eq!(status, StatusCode::OK);
    watcher.send("echo typed-after-revocation\r").await;
    refused(watcher.next_control().await);

    let (status, help) = admin.get(&format!("/api/sessions/{id}/help")).await;
    assert_eq!(status, StatusCode::OK, "{help}");
    let log: Vec<bool> = help["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["granted"].as_bool().unwrap())
        .collect();
    assert_eq!(
        (help["help"].as_bool(), log),
        (Some(false), vec![true, false]),
        "{help}"
    );
    drop(watcher);
    alice.events_until(&id, presence(0, false), SHORT).await;
    // Refused keystrokes never reached the shell (the run flushes what it echoed).
    owner.run("echo done-$((1+1))", "done-2").await;
    let screen = String::from_utf8_lossy(&owner.screen);
    for refused in ["typed-before-help", "typed-after-revocation"] {
        assert!(
            !screen.contains(refused),
            "{refused} reached the shell:\n{screen}"
        );
    }
    server.stop().await;
}

/// A reset makes the environment afresh: to the current step, with the earlier
/// steps' solutions replayed (the learner's own mess gone, their progress kept), or
/// to the lesson start; a second reset while the first runs is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instructor_resets_an_environment_to_the_step_or_the_lesson() {
    let server = TestServer::start(Options::default()).await;
    let alice = server.learner();
    let admin = Client::admin(&server.url, "admin-secret");
    let id = alice.ready_session().await;
    let mut term = alice.terminal(&id, "node01", "").await.unwrap();
    term.read_until(0, "# ", SHORT).await;
    term.run(
        "touch /tmp/done /root/broken && echo made-$((1+1))",
        "made-2",
    )
    .await;
    let (status, body) = alice
        .post(&format!("/api/sessions/{id}/check"), json!({}))
        .await;
    assert_eq!(
        (status, body["step"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{body}"
    );

    let files = || async {
        let mut term = alice.terminal(&id, "node01", "").await.unwrap();
        term.run(
            "ls /tmp/done /root/broken 2>&1 | sort; echo listed-$((1+1))",
            "listed-2",
        )
        .await
    };
    let reset = |to: &'static str| {
        let admin = &admin;
        let id = &id;
        async move {
            admin
                .post(&format!("/api/sessions/{id}/reset"), json!({ "to": to }))
                .await
        }
    };
    let ready = || {
        alice.events_until(
            &id,
            |e| e["type"] == "status" && e["status"] != "starting",
            READY,
        )
    };

    let (status, view) = reset("step").await;
    assert_eq!(
        (status, view["status"].as_str(), view["step"].as_u64()),
        (StatusCode::ACCEPTED, Some("starting"), Some(1)),
        "{view}"
    );
    let (status, again) = reset("lesson").await;
    assert_eq!(
        (status, again["error"].as_str()),
        (StatusCode::CONFLICT, Some("not_ready")),
        "{again}"
    );
    let events = ready().await;
    assert_eq!(events.last().unwrap()["status"], "ready", "{events:?}");
    let listed = files().await;
    assert!(
        listed.contains("/tmp/done\r\n") && listed.contains("cannot access '/root/broken'"),
        "step 1's solution replayed, the learner's file gone: {listed}"
    );
    assert_eq!(alice.get(&format!("/api/sessions/{id}")).await.1["step"], 1);

    let (status, view) = reset("lesson").await;
    assert_eq!(
        (status, view["step"].as_u64()),
        (StatusCode::ACCEPTED, Some(0)),
        "{view}"
    );
    ready().await;
    let listed = files().await;
    assert!(
        listed.contains("cannot access '/tmp/done'"),
        "a fresh start: {listed}"
    );
    let (status, bad) = reset("yesterday").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_warm_pool_hands_out_a_ready_shell() {
    let server = TestServer::start(Options {
        limits: Limits {
            warm_pool: 1,
            ..Limits::default()
        },
        ..Options::default()
    })
    .await;
    let metrics = || async {
        reqwest::get(format!("{}/metrics", server.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let deadline = tokio::time::Instant::now() + READY;
    while !metrics()
        .await
        .lines()
        .any(|l| l == "playlab_warm_pool_ready 1")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the warm pool did not fill within {READY:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pooled = server.backend.environments().await.unwrap();
    assert_eq!(pooled.len(), 1, "one pooled environment: {pooled:?}");
    let text = metrics().await;
    assert!(
        text.lines().any(|l| l == "playlab_terminals_open 2"),
        "a shell runs on each of the two pooled nodes before anyone asks:\n{text}"
    );

    let learner = server.learner();
    let (status, session) = learner
        .post("/api/sessions", json!({"lesson": "demo"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        session["status"], "ready",
        "a pooled session is ready at once"
    );
    let id = session["id"].as_str().unwrap().to_owned();
    assert_eq!(
        id,
        pooled[0].as_str(),
        "the session is the pooled environment"
    );
    // The shell was started with the pool: its prompt is in the replay before any key.
    let mut term = learner
        .terminal(&id, "node01", "?cols=100&rows=30")
        .await
        .unwrap();
    term.read_until(0, "# ", SHORT).await;
    term.run("stty size; echo warm-$((20+1))", "warm-21").await;
    assert!(
        String::from_utf8_lossy(&term.screen).contains("30 100"),
        "the pooled shell takes the browser's size: {:?}",
        String::from_utf8_lossy(&term.screen)
    );

    // The refill is the unit tests' to prove; whatever of it is still starting, the
    // shutdown below waits for and removes.
    drop(term);
    assert_eq!(
        learner.delete(&format!("/api/sessions/{id}")).await.0,
        StatusCode::NO_CONTENT
    );
    let backend = server.backend.clone();
    server.stop().await;
    let left = backend.environments().await.unwrap();
    assert!(left.is_empty(), "shutdown removes the pool too: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn capacity_is_enforced_with_503() {
    let limits = Limits {
        max_sessions: 1,
        ..Limits::default()
    };
    let server = TestServer::start(Options {
        limits,
        ..Options::default()
    })
    .await;
    let first = server.learner();
    let (status, _) = first.post("/api/sessions", json!({"lesson": "demo"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let second = server.learner();
    let response = second
        .http
        .post(format!("{}/api/sessions", server.url))
        .json(&json!({"lesson": "demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "at_capacity");

    // Bad bodies are 400/422 in the same shape; unknown lessons 404.
    let raw = second
        .http
        .post(format!("{}/api/sessions", server.url))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = raw.json().await.unwrap();
    assert!(
        body["message"].is_string() && body["error"].is_string(),
        "{body}"
    );
    assert_eq!(
        second.post("/api/sessions", json!({"lesson": 5})).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        first
            .post("/api/sessions", json!({"lesson": "nope"}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_reader_does_not_grow_server_memory() {
    let server = TestServer::start(Options::default()).await;
    let learner = server.learner();
    let id = learner.ready_session().await;
    let mut term = learner.terminal(&id, "node01", "").await.unwrap();
    term.read_until(0, "# ", SHORT).await;
    let before = rss_bytes();
    term.send("yes playlab-flow-control-test\r").await;
    // Stop reading entirely for a while: the output would be ~40 MB/s unthrottled.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let during = rss_bytes();
    // Paused: bytes still queued are bounded, then nothing more arrives.
    term.control(json!({"type": "pause"})).await;
    let mut received_after_pause = 0usize;
    let start = term.screen.len();
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(_frame) = term.next_frame().await {}
    })
    .await;
    received_after_pause += term.screen.len() - start;
    let mark = term.screen.len();
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(_frame) = term.next_frame().await {}
    })
    .await;
    assert_eq!(
        term.screen.len(),
        mark,
        "nothing arrives while paused (after draining {received_after_pause} bytes in flight)"
    );
    term.control(json!({"type": "resume"})).await;
    term.send("\x03").await;
    let from = term.screen.len();
    term.send("echo back-$((7*7))\r").await;
    term.read_until(from, "back-49", Duration::from_secs(60))
        .await;
    let growth = during.saturating_sub(before);
    assert!(
        growth < 32 * 1024 * 1024,
        "memory grew by {} MiB while the reader was stalled",
        growth >> 20
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_frames_get_errors_not_panics() {
    let server = TestServer::start(Options::default()).await;
    let learner = server.learner();
    let id = learner.ready_session().await;
    let mut term = learner.terminal(&id, "node01", "").await.unwrap();
    term.read_until(0, "# ", SHORT).await;
    let bad = [
        json!("not an object").to_string(),
        "{".to_owned(),
        json!({"type": "dance"}).to_string(),
        json!({"type": "resize", "cols": 0, "rows": 10}).to_string(),
        json!({"type": "resize", "cols": 70000, "rows": 10}).to_string(),
    ];
    for text in bad {
        term.ws
            .send(tokio_tungstenite::tungstenite::Message::Text(
                text.clone().into(),
            ))
            .await
            .unwrap();
        match term.next_control().await {
            Some(Frame::Control(c)) => assert_eq!(c["type"], "error", "{text}: {c}"),
            other => panic!("{text}: expected an error frame, got {other:?}"),
        }
    }
    // Still usable after all that.
    assert!(
        term.run("echo alive-$((8*8))", "alive-64")
            .await
            .contains("alive-64")
    );
    // A frame over the limit closes with 1009 (message too big).
    term.ws
        .send(tokio_tungstenite::tungstenite::Message::Binary(
            vec![b'a'; 100 * 1024].into(),
        ))
        .await
        .unwrap();
    let close = loop {
        match term.next_control().await {
            Some(Frame::Closed(code)) => break code,
            Some(_) => continue,
            None => break None,
        }
    };
    assert_eq!(close, Some(1009));
    // The server and the shell are fine: reconnect and use it.
    let mut term = learner.terminal(&id, "node01", "").await.unwrap();
    assert!(
        term.run("echo again-$((9*9))", "again-81")
            .await
            .contains("again-81")
    );
    let (status, _) = learner.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operator_endpoints() {
    let server = TestServer::start(Options::default()).await;
    let client = server.learner();
    let (status, body) = client.get("/healthz").await;
    assert_eq!((status, body), (StatusCode::OK, json!("ok\n")));
    assert_eq!(client.get("/readyz").await.0, StatusCode::OK);
    let id = client.ready_session().await;
    let text = client
        .http
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for metric in [
        "playlab_sessions_live 1",
        "playlab_sessions_started_total 1",
        "playlab_session_start_seconds_count 1",
    ] {
        assert!(text.contains(metric), "{metric} missing from:\n{text}");
    }
    let (status, body) = client.get("/api/nothing-here").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, me) = client.get("/api/me").await;
    assert_eq!(status, StatusCode::OK);
    assert!(me["learner"].is_string() && me["admin"] == false && me["auth"] == "open");
    let (_, extended) = client
        .post(&format!("/api/sessions/{id}/extend"), json!({}))
        .await;
    assert!(extended["expires_at"].is_string());
    server.stop().await;
}

/// The Killercoda fixture content, its `ubuntu` image id mapped to the local
/// `debian:bookworm-slim` (the default map wants `playlab/base`, built from the
/// bundled content).
fn killercoda_catalog() -> Catalog {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/killercoda");
    let images = image_map(Some(&dir.join("images.json")), false).unwrap();
    let (catalog, problems) = Catalog::load(&dir.join("content"), &images).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(catalog.lessons().count(), 1);
    catalog
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killercoda_foreground_scripts_run_in_the_learners_terminal() {
    let server = TestServer::start(Options {
        catalog: Some(killercoda_catalog()),
        ..Options::default()
    })
    .await;
    let learner = server.learner();
    let id = learner.ready_session_of("foreground").await;

    // The intro's foreground script ran in the terminal, out of nobody's keystrokes.
    let mut term = learner.terminal(&id, "host01", "").await.unwrap();
    term.read_until(0, "intro-foreground-42", SHORT).await;
    // Its `exit` ended the script, not the shell; its `cd` carried over.
    let here = term.run("echo in-$PWD-$((1+1))", "-2").await;
    assert!(here.contains("in-/root/scenario-2"), "{here:?}");
    let screen = String::from_utf8_lossy(&term.screen).into_owned();
    assert!(!screen.contains("after-exit-3"), "{screen:?}");

    // Reaching step 2 types its foreground script; its background one runs unseen.
    term.run("touch /root/step1-done; echo made-$((3+3))", "made-6")
        .await;
    let check = format!("/api/sessions/{id}/check");
    let (_, verdict) = learner.post(&check, json!({})).await;
    assert_eq!(verdict["passed"], true, "{verdict}");
    assert_eq!(verdict["step"], 1);
    term.read_until(0, "step2-foreground-56", SHORT).await;
    let (_, verdict) = learner.post(&check, json!({})).await;
    assert_eq!(
        verdict["passed"], true,
        "the step's background script ran: {verdict}"
    );
    drop(term);

    // Both are in the replay a browser gets when it attaches; background output is not.
    let mut term = learner.terminal(&id, "host01", "").await.unwrap();
    term.read_until(0, "step2-foreground-56", SHORT).await;
    let replay = String::from_utf8_lossy(&term.screen).into_owned();
    assert!(replay.contains("intro-foreground-42"), "{replay:?}");
    assert!(!replay.contains("hidden-25"), "{replay:?}");

    // The transcript is what the learner typed, and nothing the scripts did.
    let sid: SessionId = id.parse().unwrap();
    let typed: Vec<String> = server
        .state
        .sessions
        .store()
        .transcript(&sid)
        .unwrap()
        .entries()
        .map(|e| e.line.clone())
        .collect();
    assert_eq!(
        typed,
        [
            "echo in-$PWD-$((1+1))",
            "touch /root/step1-done; echo made-$((3+3))"
        ]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn finishing_the_lesson_ends_the_session_after_the_finish_grace() {
    let server = TestServer::start(Options {
        limits: Limits {
            finish_grace: Duration::from_secs(2),
            ..Limits::default()
        },
        ..Options::default()
    })
    .await;
    let learner = server.learner();
    let id = learner.ready_session().await;
    let mut term = learner.terminal(&id, "node01", "").await.unwrap();
    term.read_until(0, "# ", SHORT).await;
    term.run("touch /tmp/done; echo done-$((4*4))", "done-16")
        .await;
    drop(term);
    let check = format!("/api/sessions/{id}/check");
    let (_, verdict) = learner.post(&check, json!({})).await;
    assert_eq!(verdict["passed"], true, "{verdict}");
    // Listening before the last step passes: the warning follows within a second.
    let before = SystemTime::now();
    let (events, (_, verdict)) = tokio::join!(
        learner.events_until(&id, |e| e["type"] == "ended", SHORT),
        async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            learner.post(&check, json!({"answers": [[1]]})).await
        }
    );
    assert_eq!(verdict["completed"], true, "{verdict}");
    // The hour-long TTL was cut to the finish grace, and the learner was told.
    let expires_at = humantime::parse_rfc3339(verdict["expires_at"].as_str().unwrap()).unwrap();
    let grace = expires_at.duration_since(before).unwrap_or_default();
    assert!(
        grace <= Duration::from_secs(4),
        "expires {grace:?} after the check: {verdict}"
    );
    assert!(
        events.iter().any(|e| e["type"] == "step"
            && e["completed"] == true
            && e["expires_at"] == verdict["expires_at"]),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| e["type"] == "expiry_warning"),
        "{events:?}"
    );
    assert_eq!(events.last().unwrap()["reason"], "finished", "{events:?}");
    server.wait_destroyed(&id, SHORT).await;
    let (_, session) = learner.get(&format!("/api/sessions/{id}")).await;
    assert_eq!(session["status"], "ended", "{session}");
    assert_eq!(session["end_reason"], "finished", "{session}");
    assert_eq!(session["completed"], true, "{session}");
    server.stop().await;
}
