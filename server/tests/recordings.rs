//! Recordings end to end, on the real Docker engine: what a learner does in a
//! terminal and at the Check button is what the instructor downloads, as asciicast v2;
//! a recording that cannot be written never takes the terminal with it.
//!
//! The writer's rules (encoding, the size cap, the queue's gap, a full disk, the
//! retention sweep) are proven by the unit tests in `src/serve/recordings/`.

mod common;

use std::time::Duration;

use common::{ADMIN_TOKEN, Client, Options, TestServer};
use playlab::serve::recordings::RecordingConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

const SHORT: Duration = Duration::from_secs(20);

/// A recording's lines as JSON, after checking what asciicast v2 requires of them.
fn parse_cast(text: &str) -> (Value, Vec<Value>) {
    let mut lines = text.lines();
    let header: Value = serde_json::from_str(lines.next().expect("a header line")).unwrap();
    assert_eq!(header["version"], 2, "{header}");
    let events: Vec<Value> = lines
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    let mut last = 0.0;
    for event in &events {
        let time = event[0]
            .as_f64()
            .unwrap_or_else(|| panic!("a time: {event}"));
        assert!(time >= last, "times go backwards at {event}");
        last = time;
        assert!(
            ["o", "i", "r", "m"].contains(&event[1].as_str().unwrap()),
            "{event}"
        );
        assert!(event[2].is_string(), "{event}");
    }
    (header, events)
}

/// The data of every event of `code`.
fn data<'a>(events: &'a [Value], code: &str) -> Vec<&'a str> {
    events
        .iter()
        .filter(|e| e[1] == code)
        .map(|e| e[2].as_str().unwrap())
        .collect()
}

/// Reads until the shell shows its prompt again, so the screen holds all it printed.
async fn prompt(term: &mut common::Term) {
    let deadline = tokio::time::Instant::now() + SHORT;
    while !term.screen.ends_with(b"# ") {
        tokio::time::timeout_at(deadline, term.next_frame())
            .await
            .expect("the prompt comes back")
            .expect("the terminal stays open");
    }
}

async fn download(client: &Client, path: &str) -> reqwest::Response {
    let mut request = client.http.get(format!("{}{path}", client.base));
    if let Some(token) = &client.admin_token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_learners_terminal_and_checks_are_in_the_instructors_recording() {
    let server = TestServer::start(Options::default()).await;
    let learner = server.learner();
    let admin = Client::admin(&server.url, ADMIN_TOKEN);
    let id = learner.ready_session().await;
    let mut term = learner
        .terminal(&id, "node01", "?cols=100&rows=30")
        .await
        .unwrap();
    term.read_until(0, "# ", SHORT).await;
    // The command's output, not its echo: after the line it was typed on.
    term.run("echo hello-recording", "\rhello-recording\r\n")
        .await;
    prompt(&mut term).await;
    let check = format!("/api/sessions/{id}/check");
    let (status, failed) = learner.post(&check, json!({})).await;
    assert_eq!((status, &failed["passed"]), (StatusCode::OK, &json!(false)));
    term.run("touch /tmp/done", "touch /tmp/done\r\n").await;
    prompt(&mut term).await;
    let (status, passed) = learner.post(&check, json!({})).await;
    assert_eq!((status, &passed["passed"]), (StatusCode::OK, &json!(true)));

    let (status, listed) = admin.get(&format!("/api/admin/recordings/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed[0]["file"], "node01.1.cast", "{listed}");
    let path = format!("/api/admin/recordings/{id}/node01.1.cast");

    // The writer flushes as soon as its queue runs empty; the file catches up with
    // the screen within moments.
    let screen = String::from_utf8_lossy(&term.screen).into_owned();
    let deadline = tokio::time::Instant::now() + SHORT;
    let (header, events) = loop {
        let response = download(&admin, &path).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "application/x-asciicast"
        );
        assert_eq!(
            response.headers()["content-disposition"],
            format!("attachment; filename=\"{id}-node01.1.cast\"").as_str()
        );
        // Read while the writer writes: only whole lines, and none at all is "not yet".
        let text = response.text().await.unwrap();
        let whole = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
        if whole.is_empty() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the recording stayed empty"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let (header, events) = parse_cast(whole);
        if data(&events, "m").len() == 2 && data(&events, "o").concat() == screen {
            break (header, events);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the recording never matched the screen {screen:?}: {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        (&header["width"], &header["height"]),
        (&json!(100), &json!(30))
    );
    // The output replays byte for byte what the learner's terminal received.
    assert!(
        data(&events, "o")
            .concat()
            .contains("\rhello-recording\r\n")
    );
    let input = data(&events, "i").concat();
    assert!(input.contains("echo hello-recording\r"), "{input:?}");
    assert!(input.contains("touch /tmp/done\r"), "{input:?}");
    assert_eq!(
        data(&events, "m"),
        [
            "check step 1 \"Make a file\": fail: /tmp/done does not exist on node01 yet",
            "check step 1 \"Make a file\": pass"
        ]
    );
    // The markers sit where they happened: after the command they judged.
    let at = |needle: &str| {
        events
            .iter()
            .position(|e| e[2].as_str().unwrap().contains(needle))
    };
    assert!(at("hello-recording") < at(": fail:"));
    assert!(at(": fail:") < at("touch /tmp/done") && at("touch /tmp/done") < at(": pass"));

    // The learner cannot read it back, not even their own.
    for path in [
        path.as_str(),
        &format!("/api/admin/recordings/{id}"),
        "/api/admin/recordings",
    ] {
        let response = download(&learner, path).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let (status, all) = admin.get("/api/admin/recordings").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all[0]["session"], id.as_str(), "{all}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recordings_dir_that_cannot_be_written_leaves_the_terminal_working() {
    let blocked = tempfile::NamedTempFile::new().unwrap();
    let mut recording = RecordingConfig::new(blocked.path());
    // A file where the folder should be: not even root can create a folder in it.
    recording.dir = blocked.path().to_owned();
    let server = TestServer::start(Options {
        recording: Some(recording),
        ..Options::default()
    })
    .await;
    let learner = server.learner();
    let id = learner.ready_session().await;
    let mut term = learner.terminal(&id, "node01", "").await.unwrap();
    term.read_until(0, "# ", SHORT).await;
    let output = term
        .run("seq 1 20000 | tail -n 1; echo still-$((6*7))", "still-42")
        .await;
    assert!(output.contains("20000"), "{output}");
    let metrics = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("playlab_recordings_stopped_total{reason=\"write_failed\"} 1"),
        "{metrics}"
    );
    server.stop().await;
}
