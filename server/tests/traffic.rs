//! Killercoda's traffic links on the real Docker engine: the corpus's own
//! `playlab-traffic` scenario, started unchanged but for its node's image (the web
//! ports tests' node, which has python3 as Killercoda's `ubuntu` does), prints its
//! app's URL from a foreground script and from `/etc/killercoda/host`, and the URLs it
//! names reach the app through the server with the learner's cookie.

mod common;

use std::time::Duration;

use common::*;
use playlab::serve::Catalog;
use reqwest::StatusCode;
use runner::{ExecRequest, SessionId};
use scenarios::NodeImage;

fn traffic_catalog() -> Catalog {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let load = scenarios::load_lesson(
        &root.join("../scenarios/tests/corpus/playlab-traffic"),
        &scenarios::ImageMap::builtin(false),
    );
    let mut lesson = load.lesson.expect("the corpus scenario loads");
    lesson.environment.nodes[0].image =
        NodeImage::Build(root.join("tests/fixtures/ports/images/web"));
    Catalog::from_lessons([lesson])
}

/// GETs `url` until the app answers (its server starts in the foreground script);
/// meanwhile the proxy says nothing listens yet.
async fn get_when_listening(client: &Client, url: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let response = client.http.get(url).send().await.unwrap();
        if response.status() == StatusCode::OK {
            return response.text().await.unwrap();
        }
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY, "{url}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "{url} never answered"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killercoda_scenarios_traffic_links_reach_its_app() {
    let server = TestServer::start(Options {
        catalog: Some(traffic_catalog()),
        ..Options::default()
    })
    .await;
    let learner = server.learner();
    let id = learner.ready_session_of("playlab-traffic").await;
    let app = format!("{}/ports/{id}/host01/8080/", server.url);

    // The foreground script's marker and the host file both say where the app is.
    let mut term = learner.terminal(&id, "host01", "").await.unwrap();
    term.read_until(0, "From the host file: http", Duration::from_secs(30))
        .await;
    term.read_until(0, "/8080/\r\n", Duration::from_secs(5))
        .await;
    let screen = String::from_utf8_lossy(&term.screen).into_owned();
    assert!(screen.contains(&format!("The app: {app}")), "{screen:?}");
    assert!(
        screen.contains(&format!("From the host file: {app}")),
        "{screen:?}"
    );

    let session: SessionId = id.parse().unwrap();
    let cat = ExecRequest::new(
        "cat /etc/killercoda/host /etc/playlab/ports",
        Duration::from_secs(10),
    );
    let files = server.backend.exec(&session, "host01", cat).await.unwrap();
    let template = format!("{}/ports/{id}/host01/PORT/", server.url);
    assert_eq!(
        files.stdout,
        format!("{template}\nhost01 {template}\n"),
        "{files:?}"
    );
    let named = template.replace("PORT", "8080");
    assert_eq!(
        get_when_listening(&learner, &named).await,
        "hello from the traffic scenario\n"
    );
    // Someone else's browser does not get in by knowing the URL.
    let stranger = server.learner();
    let refused = stranger.http.get(&named).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // The selector lists the node and leads to the port a learner types.
    let selector = format!("{}/ports/{id}/", server.url);
    let page = learner.http.get(&selector).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("name=\"node\" value=\"host01\""), "{page}");
    let chosen = learner
        .http
        .get(format!("{selector}?node=host01&port=8080"))
        .send()
        .await
        .unwrap();
    assert_eq!(chosen.url().as_str(), app);
    assert_eq!(
        chosen.text().await.unwrap(),
        "hello from the traffic scenario\n"
    );
    let (status, _) = learner
        .get(&format!("/ports/{id}/?node=nowhere&port=8080"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The page's links are for the web UI to complete; the layout is the scenario's.
    let (_, lesson) = learner.get("/api/lessons/playlab-traffic").await;
    assert_eq!(lesson["layout"], "editor-terminal");
    let intro = lesson["intro_html"].as_str().unwrap();
    assert!(
        intro.contains(
            "<a class=\"traffic-link\" data-traffic-host=\"1\" data-traffic-port=\"8080\" \
             href=\"#\" target=\"_blank\" rel=\"noopener\">this link</a>"
        ),
        "{intro}"
    );
    assert!(intro.contains("data-traffic-selector"), "{intro}");
    drop(term);
    server.stop().await;
}
