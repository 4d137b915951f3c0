//! What an operator relies on when running the `playlab` binary, proven against the real
//! process on `127.0.0.1`: HTTPS (`--tls self-signed`, `--tls-cert`/`--tls-key`), the
//! join code (`--auth code --join-code`), content reload on SIGHUP, the local
//! backend (`--backend local`), and the node settings of a `--config` file.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{ADMIN_TOKEN, Client, ServerProcess, copy_dir, fixtures};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// The certificate a TLS server presents, read without verifying it.
async fn served_certificate(url: &str) -> Vec<u8> {
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .tls_info(true)
        .build()
        .unwrap();
    let response = client
        .get(format!("{url}/healthz"))
        .send()
        .await
        .expect("the server answers HTTPS");
    let info = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .expect("the response came over TLS");
    info.peer_certificate()
        .expect("the server presents a certificate")
        .to_vec()
}

/// `GET https://HOST:PORT/healthz` from a client that trusts `cert` (DER) and nothing
/// else, and checks the host name as a browser does.
async fn healthz_trusting(cert: &[u8], host: &str, port: u16) -> Result<String, reqwest::Error> {
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_der(cert).unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    client
        .get(format!("https://{host}:{port}/healthz"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await
}

/// The server on `port` serves HTTPS with `cert` for every name in `hosts`, only to
/// clients that trust it, and does not serve plain HTTP.
async fn assert_https_with(cert: &[u8], hosts: &[&str], port: u16) {
    for host in hosts {
        let answer = healthz_trusting(cert, host, port).await;
        assert_eq!(
            answer.as_deref().ok(),
            Some("ok\n"),
            "https://{host}:{port}/healthz with the served certificate as the only root: {answer:?}"
        );
    }
    // The client really verifies: trusting another certificate gets no answer.
    let stranger = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let answer = healthz_trusting(stranger.cert.der(), "localhost", port).await;
    assert!(
        answer.is_err(),
        "a client trusting another certificate got {answer:?}"
    );
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP was served: {plain:?}");
}

#[tokio::test]
async fn tls_self_signed_serves_https_with_a_certificate_for_localhost() {
    let server = ServerProcess::start(&fixtures(), &["--tls", "self-signed"]).await;
    assert!(server.url.starts_with("https://"), "{}", server.url);
    // Trusting the served certificate alone is enough only if it is self-signed and
    // names both addresses a learner on this machine may type.
    let cert = served_certificate(&server.url).await;
    assert_https_with(&cert, &["localhost", "127.0.0.1"], server.port).await;
}

#[tokio::test]
async fn tls_cert_and_key_files_are_what_the_server_presents() {
    let dir = tempfile::tempdir().unwrap();
    let ours = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, ours.cert.pem()).unwrap();
    std::fs::write(&key, ours.signing_key.serialize_pem()).unwrap();
    let server = ServerProcess::start(
        &fixtures(),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(
        served_certificate(&server.url).await,
        ours.cert.der().to_vec(),
        "the server presents another certificate than --tls-cert"
    );
    assert_https_with(ours.cert.der(), &["localhost"], server.port).await;
}

#[tokio::test]
async fn join_code_keeps_lessons_and_sessions_for_learners_who_joined() {
    let server = ServerProcess::start(&fixtures(), &["--auth", "code", "--join-code", "XYZ"]).await;
    let anonymous = Client::new(&server.url);
    let wrong_code = Client::new(&server.url);
    let joined = Client::new(&server.url);
    let admin = Client::admin(&server.url, ADMIN_TOKEN);

    let (status, body) = wrong_code.post("/api/join", json!({"code": "xyz"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a wrong join code: {body}");
    let (status, body) = joined.post("/api/join", json!({"code": "XYZ"})).await;
    assert_eq!(status, StatusCode::OK, "the right join code: {body}");
    assert!(body["learner"].is_string(), "{body}");

    let cases = [
        ("anonymous", &anonymous, "GET /api/lessons", 401),
        ("anonymous", &anonymous, "GET /api/lessons/demo", 401),
        ("anonymous", &anonymous, "GET /api/sessions", 401),
        ("anonymous", &anonymous, "POST /api/sessions", 401),
        ("anonymous", &anonymous, "GET /api/admin/sessions", 401),
        ("wrong code", &wrong_code, "GET /api/lessons", 401),
        ("wrong code", &wrong_code, "POST /api/sessions", 401),
        ("joined", &joined, "GET /api/lessons", 200),
        ("joined", &joined, "GET /api/lessons/demo", 200),
        ("joined", &joined, "GET /api/sessions", 200),
        ("joined", &joined, "POST /api/sessions", 201),
        ("joined", &joined, "GET /api/admin/sessions", 401),
        ("admin", &admin, "GET /api/admin/sessions", 200),
        ("admin", &admin, "GET /api/lessons", 200),
    ];
    for (who, client, request, want) in cases {
        let (method, path) = request.split_once(' ').unwrap();
        let method: Method = method.parse().unwrap();
        // The one body these requests take: a session of the fixture lesson.
        let body = (method == Method::POST).then(|| json!({"lesson": "demo"}));
        let (status, answer) = client.send(method, path, body).await;
        assert_eq!(status.as_u16(), want, "{who}: {request}: {answer}");
    }
    assert_eq!(
        lessons(&joined).await,
        [("demo".into(), "Server test lesson".into())]
    );
    let (_, me) = anonymous.get("/api/me").await;
    assert_eq!(me, json!({"learner": null, "admin": false, "auth": "code"}));
}

/// `(id, title)` of every lesson the catalog offers.
async fn lessons(client: &Client) -> Vec<(String, String)> {
    let (status, body) = client.get("/api/lessons").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .expect("a list of lessons")
        .iter()
        .map(|l| {
            (
                l["id"].as_str().unwrap().into(),
                l["title"].as_str().unwrap().into(),
            )
        })
        .collect()
}

/// Changes the lesson's `title:` in its `lesson.yaml`.
fn set_title(lesson: &Path, title: &str) {
    let file = lesson.join("lesson.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    assert!(
        yaml.lines().any(|l| l.starts_with("title: ")),
        "no top-level title in {}",
        file.display()
    );
    let edited: Vec<String> = yaml
        .lines()
        .map(|l| {
            if l.starts_with("title: ") {
                format!("title: {title}")
            } else {
                l.to_owned()
            }
        })
        .collect();
    std::fs::write(&file, edited.join("\n")).unwrap();
}

/// One change to the content directory, and what follows from a reload.
struct Reload<'a> {
    what: &'a str,
    edit: &'a dyn Fn(),
    /// `(id, title)` of the lessons offered after it.
    lessons: &'a [(&'a str, &'a str)],
    /// Texts the reload's reported problems mention; none are reported when empty.
    problems: &'a [&'a str],
}

#[tokio::test]
async fn sighup_reloads_the_content_and_keeps_a_lesson_that_stops_loading() {
    let content = tempfile::tempdir().unwrap();
    copy_dir(&fixtures(), content.path());
    let (demo, demo_two) = (content.path().join("demo"), content.path().join("demo-two"));
    let mut server = ServerProcess::start(content.path(), &[]).await;
    let learner = Client::new(&server.url);
    let admin = Client::admin(&server.url, ADMIN_TOKEN);

    // Each edit also retitles `demo`, so the new title says the reload happened.
    let reloads = [
        Reload {
            // SIGHUP's default action ends a process: the server must be listening
            // for it by the time it says where it serves.
            what: "nothing changed, signalled as soon as the server announced itself",
            edit: &|| {},
            lessons: &[("demo", "Server test lesson")],
            problems: &[],
        },
        Reload {
            what: "a lesson retitled and a lesson folder added",
            edit: &|| {
                copy_dir(&demo, &demo_two);
                set_title(&demo, "Renamed");
            },
            lessons: &[("demo", "Renamed"), ("demo-two", "Server test lesson")],
            problems: &[],
        },
        Reload {
            what: "a lesson.yaml that no longer parses",
            edit: &|| {
                std::fs::write(demo_two.join("lesson.yaml"), "title: [unclosed\n").unwrap();
                set_title(&demo, "Renamed again");
            },
            // Learners keep the last good version; the operator is told.
            lessons: &[
                ("demo", "Renamed again"),
                ("demo-two", "Server test lesson"),
            ],
            problems: &["demo-two/lesson.yaml", "demo-two: does not load any more"],
        },
        Reload {
            what: "a lesson folder removed",
            edit: &|| {
                std::fs::remove_dir_all(&demo_two).unwrap();
                set_title(&demo, "Renamed once more");
            },
            lessons: &[("demo", "Renamed once more")],
            problems: &[],
        },
    ];
    for reload in reloads {
        let what = reload.what;
        (reload.edit)();
        server.signal("HUP");
        let want: Vec<(String, String)> = reload
            .lessons
            .iter()
            .map(|(id, title)| (id.to_string(), title.to_string()))
            .collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            assert!(server.is_running(), "{what}: the server exited on SIGHUP");
            let got = lessons(&learner).await;
            if got == want {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: 10 s after SIGHUP the lessons are {got:?}, not {want:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The same reload through the admin API reports what did not load.
        let (status, body) = admin.post("/api/admin/reload", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{what}: {body}");
        let reported: Vec<&str> = body["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(
            reported.is_empty(),
            reload.problems.is_empty(),
            "{what}: {reported:?}"
        );
        for needle in reload.problems {
            assert!(
                reported.iter().any(|p| p.contains(needle)),
                "{what}: no problem mentions {needle:?}: {reported:?}"
            );
        }
        assert_eq!(
            lessons(&learner).await,
            want,
            "{what}: after the admin reload"
        );
    }
}

/// `--backend local` (an author's preview without Docker): a session's nodes are
/// directories on this machine with a real shell in each, and ending the session
/// removes them.
#[tokio::test]
async fn the_local_backend_serves_a_lesson_without_docker() {
    let server = ServerProcess::start(&fixtures(), &["--backend", "local"]).await;
    let learner = Client::new(&server.url);
    let id = learner.ready_session().await;
    let mut term = learner.terminal(&id, "node02", "").await.unwrap();
    let screen = term
        .run("echo \"at:$PWD:$NODE:$((6*7))\"", ":node02:42")
        .await;
    let node_dir = screen
        .split("at:")
        .filter_map(|s| s.split(":node02:42").next())
        .find(|dir| dir.starts_with('/'))
        .unwrap_or_else(|| panic!("no node directory in {screen:?}"))
        .to_owned();
    assert!(
        Path::new(&node_dir).is_dir(),
        "the shell runs in the node's directory {node_dir}"
    );
    drop(term);
    assert_eq!(
        learner.delete(&format!("/api/sessions/{id}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert!(
        !Path::new(&node_dir).exists(),
        "ending the session removes {node_dir}"
    );
    server.stop();
}

/// The node settings, given in a `--config` file as an operator writes them, bound the
/// nodes of every session: a node asking for more than the ceilings gets the
/// ceilings, and a lesson asking for a system node is marked in the catalog and fails
/// to start, saying why, because the operator did not allow system nodes.
#[tokio::test]
async fn the_config_files_node_settings_bound_every_session() {
    let content = tempfile::tempdir().unwrap();
    copy_dir(&fixtures(), content.path());
    let demo = content.path().join("demo/lesson.yaml");
    let yaml = std::fs::read_to_string(&demo).unwrap();
    let greedy = yaml.replacen(
        "image: debian:bookworm-slim\n",
        "image: debian:bookworm-slim\n      memory: 8Gi\n      cpus: 8\n",
        1,
    );
    assert_ne!(
        greedy, yaml,
        "the fixture changed: node01 is no longer greedy"
    );
    std::fs::write(&demo, greedy).unwrap();
    let privileged = content.path().join("privileged");
    copy_dir(&content.path().join("demo"), &privileged);
    let yaml = std::fs::read_to_string(privileged.join("lesson.yaml")).unwrap();
    std::fs::write(
        privileged.join("lesson.yaml"),
        yaml.replacen("cpus: 8\n", "cpus: 8\n      system: true\n", 1),
    )
    .unwrap();
    let config = content.path().join("playlab.toml");
    std::fs::write(
        &config,
        "max_node_memory = \"300Mi\"\nmax_node_cpus = 0.5\npids_limit = 321\nallow_system_nodes = false\n",
    )
    .unwrap();
    let server =
        ServerProcess::start(content.path(), &["--config", config.to_str().unwrap()]).await;
    let learner = Client::new(&server.url);

    let id = learner.ready_session().await;
    let engine = runner::docker::DockerBackend::connect(Default::default())
        .await
        .unwrap();
    let container = runner::docker::container_name(&id.parse().unwrap(), "node01");
    let host = engine
        .docker()
        .inspect_container(&container, None)
        .await
        .unwrap()
        .host_config
        .unwrap();
    let limits = (
        host.memory,
        host.nano_cpus,
        host.pids_limit,
        host.privileged,
    );
    assert_eq!(
        limits,
        (Some(300 << 20), Some(500_000_000), Some(321), Some(false))
    );

    let (status, lessons) = learner.get("/api/lessons").await;
    assert_eq!(status, StatusCode::OK);
    // The reason comes as a sentence and as a code a client translates.
    let marks: Vec<(String, bool, Option<&str>)> = lessons
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["id"].as_str().unwrap().to_owned(),
                l.get("unavailable").is_some(),
                l.get("unavailable_code").and_then(|c| c.as_str()),
            )
        })
        .collect();
    assert!(
        marks.contains(&(
            "privileged".to_owned(),
            true,
            Some("system_nodes_not_allowed")
        )) && marks.contains(&("demo".to_owned(), false, None)),
        "{lessons}"
    );

    let (status, session) = learner
        .post("/api/sessions", json!({"lesson": "privileged"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let id = session["id"].as_str().unwrap();
    let events = learner
        .events_until(
            id,
            |e| e["type"] == "status" && e["status"] != "starting",
            Duration::from_secs(60),
        )
        .await;
    let last = events.last().unwrap();
    assert_eq!(last["status"], "failed", "{last}");
    let error = last["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("node node01 is a system node") && error.contains("--allow-system-nodes"),
        "{error}"
    );
    server.stop();
}

/// `--images FILE`: the operator's table decides what a Killercoda scenario runs on.
/// The fixture maps `ubuntu` to the local `debian:bookworm-slim` (the built-in table
/// says `playlab/base:latest`).
#[tokio::test]
async fn the_operators_image_table_decides_what_killercoda_scenarios_run_on() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/killercoda");
    let content = fixture.join("content");
    let images = fixture.join("images.json");
    let server = ServerProcess::start(&content, &["--images", images.to_str().unwrap()]).await;
    let id = Client::new(&server.url)
        .ready_session_of("foreground")
        .await;
    let inspect = std::process::Command::new("docker")
        .args(["inspect", "--format", "{{.Config.Image}}"])
        .arg(format!("playlab-{id}-host01"))
        .output()
        .expect("the docker CLI runs");
    assert_eq!(
        String::from_utf8_lossy(&inspect.stdout).trim(),
        "debian:bookworm-slim",
        "{}",
        String::from_utf8_lossy(&inspect.stderr)
    );
    server.stop();
}
