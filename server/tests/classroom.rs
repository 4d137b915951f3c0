//! Classes through the real server: the instructor creates classes, learners join
//! with a code and a name, the roster follows a member's session on the real Docker
//! engine (JSON, the live stream, CSV), a broadcast reaches the class and no one
//! else, classes survive a restart, and the security cases (instructor endpoints,
//! another class, wrong codes, guessing, names, capacity). What does not need
//! environments runs on the fake backend.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{ADMIN_TOKEN, Client, Options, TestServer};
use playlab::serve::config::{AuthMode, Limits};
use reqwest::StatusCode;
use serde_json::{Value, json};

const SHORT: Duration = Duration::from_secs(20);

fn fake() -> Arc<dyn runner::Backend> {
    runner::testing::FakeBackend::new()
}

fn admin(server: &TestServer) -> Client {
    Client::admin(&server.url, ADMIN_TOKEN)
}

async fn create_class(admin: &Client, name: &str, extra: Value) -> Value {
    let mut body = json!({"name": name, "lessons": ["demo"]});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let (status, class) = admin.post("/api/classes", body).await;
    assert_eq!(status, StatusCode::CREATED, "{class}");
    class
}

async fn join(learner: &Client, code: &Value, name: &str) -> (StatusCode, Value) {
    learner
        .post("/api/classes/join", json!({"code": code, "name": name}))
        .await
}

/// Waits on the roster stream until a roster satisfies `want`; returns it.
async fn roster_until(
    stream: &mut common::Events,
    within: Duration,
    want: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let roster = stream
            .next(left)
            .await
            .unwrap_or_else(|| panic!("no matching roster within {within:?}"));
        if want(&roster) {
            return roster;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_class_day_on_real_docker() {
    let server = TestServer::start(Options::default()).await;
    let admin = admin(&server);
    let a = create_class(&admin, "Monday", json!({"capacity": 30})).await;
    let b = create_class(&admin, "Tuesday", json!({})).await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());

    let ann = server.learner();
    let bob = server.learner();
    let carl = server.learner();
    assert_eq!(join(&ann, &a["code"], "Ann").await.0, StatusCode::OK);
    assert_eq!(join(&bob, &a["code"], "Bob").await.0, StatusCode::OK);
    assert_eq!(join(&carl, &b["code"], "Carl").await.0, StatusCode::OK);

    let mut live = admin
        .events(&format!("/api/classes/{a_id}/roster/events"))
        .await;
    let first = live.next(SHORT).await.expect("the roster at once");
    let names: Vec<_> = first["learners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(names, [json!("Ann"), json!("Bob")]);

    let id = ann.ready_session().await;
    let (status, verdict) = ann
        .post(&format!("/api/sessions/{id}/check"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{verdict}");
    assert_eq!(verdict["passed"], false);
    let checked = Instant::now();
    let roster = roster_until(&mut live, SHORT, |r| r["learners"][0]["attempts"] == 1).await;
    assert!(
        checked.elapsed() < Duration::from_secs(1),
        "the roster took {:?} to show the check",
        checked.elapsed()
    );
    let row = &roster["learners"][0];
    assert_eq!(row["session"], id.as_str());
    assert_eq!(row["lesson"], "demo");
    assert_eq!(row["status"], "ready");
    assert_eq!(
        (row["step"].clone(), row["step_title"].clone()),
        (json!(0), json!("Make a file"))
    );
    assert_eq!(
        row["last_failure"],
        "/tmp/done does not exist on node01 yet"
    );
    assert_eq!(row["failed_in_a_row"], 1);
    assert_eq!(row["stuck"], Value::Null);
    assert_eq!(roster["summary"][0]["steps"][0]["learners"], 1);
    assert_eq!(roster["not_started"], 1);

    // The terminal attached shows as connected.
    let mut term = ann.terminal(&id, "node01", "").await.unwrap();
    term.read_until(0, "# ", SHORT).await;
    roster_until(&mut live, SHORT, |r| r["learners"][0]["connected"] == true).await;

    let (status, json_roster) = admin.get(&format!("/api/classes/{a_id}/roster")).await;
    assert_eq!(status, StatusCode::OK);
    let response = admin
        .http
        .get(format!("{}/api/classes/{a_id}/roster.csv", server.url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two members:\n{csv}");
    assert!(lines[0].starts_with("name,joined_at,session,lesson,status,step,"));
    assert!(
        lines[1].starts_with("Ann,") && lines[1].contains(&id),
        "{csv}"
    );
    assert!(lines[1].contains("/tmp/done does not exist on node01 yet"));
    assert!(lines[2].starts_with("Bob,"));
    assert_eq!(json_roster["learners"].as_array().unwrap().len(), 2);

    // A broadcast reaches the class's members, and not another class's.
    let mut bob_hears = bob.events("/api/classes/mine/events").await;
    let mut carl_hears = carl.events("/api/classes/mine/events").await;
    let (status, _) = admin
        .post(
            &format!("/api/classes/{a_id}/broadcast"),
            json!({"message": "Break until 10:30"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let heard = bob_hears
        .next(SHORT)
        .await
        .expect("Bob hears the broadcast");
    assert_eq!(
        (heard["type"].clone(), heard["message"].clone()),
        (json!("broadcast"), json!("Break until 10:30"))
    );
    assert_eq!(carl_hears.next(Duration::from_millis(800)).await, None);
    // A page opened later gets the latest message first.
    let mut late = ann.events("/api/classes/mine/events").await;
    assert_eq!(
        late.next(SHORT).await.unwrap()["message"],
        "Break until 10:30"
    );
    let _ = b_id;
    drop(term);
    server.stop().await;
}

#[tokio::test]
async fn classes_and_members_survive_a_restart() {
    let server = TestServer::start_with(Options::default(), fake()).await;
    let data = server.data.clone();
    let class = create_class(
        &admin(&server),
        "Monday",
        json!({
            "starts_at": "2030-01-01T09:00:00Z", "ends_at": "2030-01-01T17:00:00Z", "capacity": 5
        }),
    )
    .await;
    let ann = server.learner();
    assert_eq!(join(&ann, &class["code"], "Ann").await.0, StatusCode::OK);
    let (_, sent) = admin(&server)
        .post(
            &format!("/api/classes/{}/broadcast", class["id"].as_str().unwrap()),
            json!({"message": "Hello"}),
        )
        .await;
    assert_eq!(sent["message"], "Hello");
    server.stop().await;

    let server = TestServer::start_with(
        Options {
            data: Some(data),
            ..Options::default()
        },
        fake(),
    )
    .await;
    let (status, classes) = admin(&server).get("/api/classes").await;
    assert_eq!(status, StatusCode::OK);
    let kept = &classes[0];
    for field in [
        "id",
        "name",
        "code",
        "lessons",
        "starts_at",
        "ends_at",
        "capacity",
    ] {
        assert_eq!(kept[field], class[field], "{field}");
    }
    assert_eq!(kept["members"], 1);
    assert_eq!(kept["message"]["message"], "Hello");
    let ann = Client {
        base: server.url.clone(),
        ..ann
    };
    let (status, mine) = ann.get("/api/classes/mine").await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["display_name"], "Ann");
    assert_eq!(mine["lessons"][0]["id"], "demo");
    server.stop().await;
}

#[tokio::test]
async fn learners_stay_in_their_own_class() {
    let server = TestServer::start_with(Options::default(), fake()).await;
    let admin = admin(&server);
    let a = create_class(&admin, "A", json!({"capacity": 2})).await;
    let b = create_class(&admin, "B", json!({})).await;
    let b_id = b["id"].as_str().unwrap();
    let ann = server.learner();
    assert_eq!(join(&ann, &a["code"], "Ann").await.0, StatusCode::OK);

    // A learner's cookie on every instructor endpoint: 403.
    let instructor_only = [
        (reqwest::Method::GET, "/api/classes".to_owned(), None),
        (
            reqwest::Method::POST,
            "/api/classes".to_owned(),
            Some(json!({"name": "X", "lessons": ["demo"]})),
        ),
        (reqwest::Method::GET, format!("/api/classes/{b_id}"), None),
        (
            reqwest::Method::DELETE,
            format!("/api/classes/{b_id}"),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("/api/classes/{b_id}/roster"),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("/api/classes/{b_id}/roster.csv"),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("/api/classes/{b_id}/roster/events"),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("/api/classes/{b_id}/broadcast"),
            Some(json!({"message": "hi"})),
        ),
        (
            reqwest::Method::GET,
            format!("/api/classes/{}/roster", a["id"].as_str().unwrap()),
            None,
        ),
    ];
    for (method, path, body) in instructor_only {
        let (status, error) = ann.send(method.clone(), &path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {error}");
        assert_eq!(error["error"], "instructor_only");
    }
    // The instructor asking for a class that does not exist: 404, streams included.
    for path in [
        "/api/classes/nope",
        "/api/classes/nope/roster",
        "/api/classes/nope/roster/events",
    ] {
        let (status, error) = admin.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(error["error"], "class_not_found");
    }
    // With `--auth open` a first visitor is a learner too: refused the same way.
    let visitor = Client::new(&server.url);
    assert_eq!(visitor.get("/api/classes").await.0, StatusCode::FORBIDDEN);

    // Another class's code does not move a member over.
    let (status, error) = join(&ann, &b["code"], "Ann").await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["error"], "in_another_class");
    let (_, mine) = ann.get("/api/classes/mine").await;
    assert_eq!(mine["name"], "A");
    assert!(
        mine.get("code").is_none(),
        "members do not get the code: {mine}"
    );

    // A wrong code, bad names, a full class.
    let eve = server.learner();
    let (status, error) = join(&eve, &json!("aaaaa-bbbbb"), "Eve").await;
    assert_eq!(
        (status, error["error"].clone()),
        (StatusCode::FORBIDDEN, json!("wrong_code"))
    );
    assert_eq!(eve.get("/api/classes/mine").await.0, StatusCode::NOT_FOUND);
    for (name, message) in [
        ("  ", "the display name is empty"),
        (
            "Eve\nAdmin",
            "the display name contains a control character (a line break, a tab, ...)",
        ),
        (
            &"e".repeat(41),
            "the display name is longer than 40 characters",
        ),
    ] {
        let (status, error) = join(&eve, &a["code"], name).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name:?}");
        assert_eq!(error["message"], message);
    }
    assert_eq!(join(&eve, &a["code"], "Eve").await.0, StatusCode::OK);
    let (status, error) = join(&server.learner(), &a["code"], "Zed").await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["error"], "class_full");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("is full (2 learners)")
    );

    // A member starts only their class's lessons; B's roster does not show them.
    let (status, created) = ann.post("/api/sessions", json!({"lesson": "demo"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, roster_b) = admin.get(&format!("/api/classes/{b_id}/roster")).await;
    assert_eq!(roster_b["learners"], json!([]));
    let (_, roster_a) = admin
        .get(&format!(
            "/api/classes/{}/roster",
            a["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(roster_a["learners"][0]["session"], created["id"]);
    server.stop().await;
}

#[tokio::test]
async fn a_member_cannot_start_a_lesson_outside_the_class() {
    // Two lessons served; the class covers one.
    let dir = tempfile::tempdir().unwrap();
    common::copy_dir(&common::fixtures().join("demo"), &dir.path().join("demo"));
    common::copy_dir(&common::fixtures().join("demo"), &dir.path().join("extra"));
    let (catalog, problems) =
        playlab::serve::Catalog::load(dir.path(), &scenarios::ImageMap::builtin(false)).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let options = Options {
        catalog: Some(catalog),
        ..Options::default()
    };
    let server = TestServer::start_with(options, fake()).await;
    let class = create_class(&admin(&server), "A", json!({})).await;
    let ann = server.learner();
    join(&ann, &class["code"], "Ann").await;
    let (status, error) = ann.post("/api/sessions", json!({"lesson": "extra"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert_eq!(error["error"], "lesson_not_in_class");
    assert_eq!(
        error["message"],
        "the lesson \"extra\" is not part of your class \"A\""
    );
    let (_, lessons) = ann.get("/api/lessons").await;
    let ids: Vec<_> = lessons
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].clone())
        .collect();
    assert_eq!(ids, [json!("demo")], "a member's catalog is the class's");
    let outsider = server.learner();
    let (status, _) = outsider
        .post("/api/sessions", json!({"lesson": "extra"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "a learner in no class is free");
    server.stop().await;
}

#[tokio::test]
async fn guessing_join_codes_gets_429() {
    let options = Options {
        limits: Limits {
            join_attempts: 5,
            ..Limits::default()
        },
        ..Options::default()
    };
    let server = TestServer::start_with(options, fake()).await;
    let class = create_class(&admin(&server), "A", json!({})).await;
    let guesser = server.learner();
    for i in 0..5 {
        let (status, _) = join(&guesser, &json!(format!("guess{i:05}")), "Eve").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let response = guesser
        .http
        .post(format!("{}/api/classes/join", server.url))
        .json(&json!({"code": class["code"], "name": "Eve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right code"
    );
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After: {wait}");
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"], "too_many_attempts");
    server.stop().await;
}

/// With `--auth code`, a class's code admits a learner: the cookie comes with a
/// successful join, never with a refused one.
#[tokio::test]
async fn a_class_code_admits_a_learner_under_auth_code() {
    let options = Options {
        auth: AuthMode::Code,
        ..Options::default()
    };
    let server = TestServer::start_with(options, fake()).await;
    let class = create_class(&admin(&server), "A", json!({})).await;
    let visitor = server.learner();
    assert_eq!(
        visitor.get("/api/lessons").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        visitor.get("/api/classes").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        join(&visitor, &json!("wrong-code"), "Ann").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(visitor.get("/api/me").await.1["learner"], Value::Null);
    let (status, mine) = join(&visitor, &class["code"], "Ann").await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["display_name"], "Ann");
    let (status, lessons) = visitor.get("/api/lessons").await;
    assert_eq!(status, StatusCode::OK, "{lessons}");
    assert_eq!(visitor.get("/api/classes").await.0, StatusCode::FORBIDDEN);
    server.stop().await;
}

/// Ready before the class starts: a class starting in a minute has its first lesson's
/// environments started for its capacity (on real Docker), and its learners pressing
/// Start get them ready at once; after the class the surplus is not kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_class_about_to_start_has_its_environments_ready() {
    let server = TestServer::start(Options::default()).await;
    let admin = admin(&server);
    let starts_at =
        humantime::format_rfc3339_seconds(std::time::SystemTime::now() + Duration::from_secs(60));
    let class = create_class(
        &admin,
        "Nine o'clock",
        json!({"capacity": 2, "starts_at": starts_at.to_string()}),
    )
    .await;
    let ready = |n: usize| format!("playlab_warm_pool_ready {n}");
    let metrics = || async {
        let (_, text) = server.learner().get("/metrics").await;
        text.as_str().unwrap_or_default().to_owned()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !metrics().await.contains(&ready(2)) {
        assert!(
            Instant::now() < deadline,
            "the class's environments never got ready:\n{}",
            metrics().await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for name in ["Ann", "Bob"] {
        let learner = server.learner();
        assert_eq!(join(&learner, &class["code"], name).await.0, StatusCode::OK);
        let started = Instant::now();
        let (status, session) = learner
            .post("/api/sessions", json!({"lesson": "demo"}))
            .await;
        assert_eq!(
            (status, session["status"].as_str()),
            (StatusCode::CREATED, Some("ready")),
            "{name} gets a pre-started environment: {session}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }
    // Both learners started: the class wants no more, so the pool does not refill.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(metrics().await.contains(&ready(0)), "{}", metrics().await);
    server.stop().await;
}
