//! A server restart in the middle of a session: live sessions are re-adopted with
//! their progress, and environments that belong to no live session are removed.
//!
//! Its own test binary on purpose: start-up reconciliation removes *every* playlab
//! environment the new server does not know, so it must not run beside other tests.

mod common;

use std::time::Duration;

use common::{Client, Options, TestServer};
use playlab::serve::config::OnShutdown;
use reqwest::StatusCode;
use runner::{ProgressSender, SessionId};
use serde_json::json;

const SHORT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restart_keeps_sessions_and_progress_and_removes_orphans() {
    let keep = Options {
        on_shutdown: OnShutdown::Keep,
        ..Options::default()
    };
    let server = TestServer::start(keep).await;
    let data = server.data.clone();
    let learner = server.learner();
    let id = learner.ready_session().await;
    let mut term = learner.terminal(&id, "node01", "").await.unwrap();
    term.read_until(0, "# ", SHORT).await;
    term.run("touch /tmp/done; echo ok-$((5*5))", "ok-25").await;
    let (_, verdict) = learner
        .post(&format!("/api/sessions/{id}/check"), json!({}))
        .await;
    assert_eq!(verdict["step"], 1);
    drop(term);
    // An environment no session owns, as a crash would leave behind.
    let orphan = SessionId::random();
    let lesson = server.state.catalog.get().get("demo").unwrap().clone();
    server
        .backend
        .start(&orphan, &lesson, ProgressSender::discard())
        .await
        .unwrap();
    let backend = server.backend.clone();
    server.stop().await;
    assert!(backend.environments().await.unwrap().contains(&orphan));

    let server = TestServer::start_with(
        Options {
            data: Some(data),
            ..Options::default()
        },
        backend,
    )
    .await;
    // Same cookie jar, new server (same port not needed: cookies are per host).
    let learner = Client {
        base: server.url.clone(),
        ..learner
    };
    let (status, session) = learner.get(&format!("/api/sessions/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["status"], "ready");
    assert_eq!(session["step"], 1);
    assert!(
        !server.has_environment(orphan.as_str()).await,
        "the orphan was removed"
    );
    let mut term = learner.terminal(&id, "node01", "").await.unwrap();
    term.read_until(0, "# ", SHORT).await;
    assert!(
        term.run("ls /tmp/done && echo still-$((6+6))", "still-12")
            .await
            .contains("/tmp/done")
    );
    let (status, _) = learner.delete(&format!("/api/sessions/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    server.stop().await;
}
