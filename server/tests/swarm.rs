//! The server on a real swarm (`runner/tests/support/swarm-pool.sh`: three Docker
//! engines in containers on this machine, one registry), over HTTP and WebSocket as a
//! browser uses it: the fixture lesson on the swarm backend, and a server restart that
//! re-adopts it; then one host's engine,
//! used as a plain Docker backend over TCP, stopped and started under a live session.
//!
//! One test function: the pool takes seconds to make, and both parts need it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use playlab::serve::config::OnShutdown;
use reqwest::StatusCode;
use runner::docker::{DockerBackend, DockerConfig, EngineAddress};
use runner::{Backend, ExecRequest, SessionId};
use serde_json::json;

mod common;
use common::*;

#[path = "../../runner/tests/support/pool.rs"]
mod pool;
use pool::Pool;

const SHORT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn the_server_runs_lessons_on_a_swarm_and_survives_an_engine_restart() {
    let pool = Pool::up().await;
    pool.load_into_manager("debian:bookworm-slim");
    a_lesson_through_the_server_on_the_swarm(&pool).await;
    a_restarted_server_re_adopts_its_sessions_on_the_swarm(&pool).await;
    an_engine_restart_under_a_live_session(&pool).await;
}

/// Terminal round trip and resize, a check that fails then passes, a reconnect that
/// replays the screen, and the end of the session removing its services.
async fn a_lesson_through_the_server_on_the_swarm(pool: &Pool) {
    let owner = format!("test-{}", SessionId::random());
    let swarm: Arc<dyn Backend> = Arc::new(pool.backend(&owner, false).await);
    let server = TestServer::start_with(Options::default(), swarm).await;
    let learner = server.learner();
    let id = learner.ready_session().await;

    let mut term = learner
        .terminal(&id, "node02", "?cols=80&rows=24")
        .await
        .unwrap();
    term.read_until(0, "# ", SHORT).await;
    assert!(
        term.run("getent hosts node01 && echo $((6*7))", "42")
            .await
            .contains("42")
    );
    term.control(json!({"type": "resize", "cols": 100, "rows": 30}))
        .await;
    assert!(term.run("stty size", "30 100").await.contains("30 100"));
    term.run("echo before-$((5+5))", "before-10").await;
    drop(term);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut term = learner.terminal(&id, "node02", "").await.unwrap();
    term.read_until(0, "before-10", SHORT).await;

    let check = format!("/api/sessions/{id}/check");
    let (_, verdict) = learner.post(&check, json!({})).await;
    assert_eq!(verdict["passed"], false, "{verdict}");
    let mut node01 = learner.terminal(&id, "node01", "").await.unwrap();
    node01.read_until(0, "# ", SHORT).await;
    node01
        .run("touch /tmp/done && echo touched-$((2+2))", "touched-4")
        .await;
    let (_, verdict) = learner.post(&check, json!({})).await;
    assert_eq!(verdict["passed"], true, "{verdict}");
    drop((term, node01));

    let (status, _) = learner.delete(&format!("/api/sessions/{id}")).await;
    assert!(status.is_success(), "{status}");
    server.wait_destroyed(&id, Duration::from_secs(60)).await;
    server.stop().await;
}

/// A server stopped with its environments kept, and a new one (a new backend with
/// nothing cached, the same owner and data): the learner's session is ready again with
/// its progress, and its terminal reaches the same node.
async fn a_restarted_server_re_adopts_its_sessions_on_the_swarm(pool: &Pool) {
    let owner = format!("test-{}", SessionId::random());
    let swarm: Arc<dyn Backend> = Arc::new(pool.backend(&owner, false).await);
    let keep = Options {
        on_shutdown: OnShutdown::Keep,
        ..Options::default()
    };
    let server = TestServer::start_with(keep, swarm).await;
    let data = server.data.clone();
    let learner = server.learner();
    let id = learner.ready_session().await;
    let mut term = learner.terminal(&id, "node01", "").await.unwrap();
    term.read_until(0, "# ", SHORT).await;
    term.run("touch /tmp/done; echo ok-$((5*5))", "ok-25").await;
    let (_, verdict) = learner
        .post(&format!("/api/sessions/{id}/check"), json!({}))
        .await;
    assert_eq!(verdict["step"], 1, "{verdict}");
    drop(term);
    server.stop().await;

    let swarm: Arc<dyn Backend> = Arc::new(pool.backend(&owner, false).await);
    let options = Options {
        data: Some(data),
        ..Options::default()
    };
    let server = TestServer::start_with(options, swarm).await;
    let learner = Client {
        base: server.url.clone(),
        ..learner
    };
    let (status, session) = learner.get(&format!("/api/sessions/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["status"], "ready", "{session}");
    assert_eq!(session["step"], 1);
    let mut term = learner.terminal(&id, "node01", "").await.unwrap();
    term.read_until(0, "# ", SHORT).await;
    let listed = term
        .run("ls /tmp/done && echo still-$((6+6))", "still-12")
        .await;
    assert!(listed.contains("/tmp/done"), "{listed}");
    drop(term);
    let (status, _) = learner.delete(&format!("/api/sessions/{id}")).await;
    assert!(status.is_success(), "{status}");
    server.wait_destroyed(&id, Duration::from_secs(60)).await;
    server.stop().await;
}

/// A worker's engine as a plain Docker host: stopped, new sessions get 503 with
/// Retry-After and the learner hears the lab is unreachable; started, the node comes
/// back with its files and the learner hears the nodes restarted.
async fn an_engine_restart_under_a_live_session(pool: &Pool) {
    let host = pool.get("SWARM_HOST2_NAME").to_owned();
    let docker = DockerBackend::connect(DockerConfig {
        engine: EngineAddress::parse(pool.get("SWARM_HOST2_API")).unwrap(),
        owner: Some(format!("test-{}", SessionId::random())),
        ..DockerConfig::default()
    })
    .await
    .expect("the host's engine answers");
    pool.load_into("host2", "debian:bookworm-slim");
    let backend: Arc<dyn Backend> = Arc::new(docker);
    let server = TestServer::start_with(Options::default(), backend.clone()).await;
    let learner = server.learner();
    let id = learner.ready_session().await;
    let session: SessionId = id.parse().unwrap();
    let wrote = backend
        .exec(
            &session,
            "node01",
            ExecRequest::new("echo kept > /root/kept", SHORT),
        )
        .await
        .unwrap();
    assert!(wrote.success());
    let mut events = learner.events(&format!("/api/sessions/{id}/events")).await;

    pool.engine(&host, "stop");
    wait_for_notice(&mut events, "unreachable").await;
    // Another learner: this one's own request would return its live session.
    let refused = server
        .learner()
        .http
        .post(format!("{}/api/sessions", server.url))
        .json(&json!({"lesson": "demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()["retry-after"], "5");

    pool.engine(&host, "start");
    wait_for_notice(&mut events, "nodes_restarted").await;
    let kept = backend
        .exec(
            &session,
            "node01",
            ExecRequest::new("cat /root/kept", SHORT),
        )
        .await
        .unwrap();
    assert_eq!(kept.stdout, "kept\n");
    let (_, state) = learner.get(&format!("/api/sessions/{id}")).await;
    assert_eq!(state["status"], "ready", "{state}");

    let (status, _) = learner.delete(&format!("/api/sessions/{id}")).await;
    assert!(status.is_success(), "{status}");
    server.wait_destroyed(&id, Duration::from_secs(60)).await;
    server.stop().await;
}

async fn wait_for_notice(events: &mut Events, notice: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Some(event) = events.next(Duration::from_secs(5)).await {
            if event["type"] == "engine" && event["notice"] == notice {
                return;
            }
            seen.push(event);
        }
    }
    panic!("no engine notice {notice:?} within 120 s; events: {seen:?}");
}
