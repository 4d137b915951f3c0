//! The learner's file editor on the real Docker engine (`fixtures/editor`: a node whose
//! editor is restricted to `/root/project`): a folder lists, a YAML file opens, saves
//! and reopens with the edit; a change made on the node meanwhile is refused as
//! `changed_on_disk`; binary and huge files are refused with their reasons; `..` and a
//! symbolic link out of the root are refused, a link inside it is followed; uploads
//! and downloads keep bytes exactly; nobody but the learner (and the admin) gets in.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn files(session: &str, action: &str, path: &str) -> String {
    let path: String = url_escape(path);
    format!("/api/sessions/{session}/nodes/dev/files{action}?path={path}")
}

fn url_escape(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Runs `script` on the node as the backend's exec (what a terminal would do).
async fn on_node(server: &TestServer, session: &str, script: &str) {
    let output = server
        .backend
        .exec(
            &session.parse().unwrap(),
            "dev",
            runner::ExecRequest::new(script, std::time::Duration::from_secs(20)),
        )
        .await
        .unwrap();
    assert!(output.success(), "{script}: {output:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_editor_opens_saves_and_refuses_what_it_must() {
    let server = TestServer::start(Options {
        catalog: Some(fixture_catalog("editor")),
        ..Options::default()
    })
    .await;
    let learner = server.learner();
    let id = learner.ready_session_of("workspace").await;

    // The lesson says where the editor opens.
    let (_, lesson) = learner.get("/api/lessons/workspace").await;
    assert_eq!(
        lesson["editor"],
        json!({"root": "/root/project", "restricted": true})
    );

    // The root, folders first; a link is shown as one.
    let (status, root) = learner
        .get(&format!("/api/sessions/{id}/nodes/dev/files"))
        .await;
    assert_eq!(status, StatusCode::OK, "{root}");
    assert_eq!(root["kind"], "dir");
    let names: Vec<(&str, &str)> = root["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["kind"].as_str().unwrap()))
        .collect();
    assert!(names.contains(&("manifests", "dir")), "{names:?}");
    assert!(names.contains(&("escape", "link")), "{names:?}");
    assert!(names.contains(&("big.txt", "file")), "{names:?}");

    // Open, save, reopen.
    let manifest = "/root/project/manifests/app.yaml";
    let (status, opened) = learner.get(&files(&id, "", manifest)).await;
    assert_eq!(status, StatusCode::OK, "{opened}");
    assert_eq!(
        opened["content"],
        "kind: Deployment\nspec:\n  replicas: 1\n"
    );
    let version = opened["version"].as_str().unwrap().to_owned();
    let edited = "kind: Deployment\nspec:\n  replicas: 3\n";
    let (status, saved) = learner
        .send(
            Method::PUT,
            &files(&id, "", manifest),
            Some(json!({"content": edited, "version": version})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (_, reopened) = learner.get(&files(&id, "", "manifests/app.yaml")).await;
    assert_eq!(reopened["content"], edited, "a relative path is the root's");
    assert_eq!(reopened["version"], saved["version"]);

    // A change on the node meanwhile: the stale save is refused, the file untouched.
    on_node(
        &server,
        &id,
        "echo '# from the terminal' >> /root/project/manifests/app.yaml",
    )
    .await;
    let (status, refused) = learner
        .send(
            Method::PUT,
            &files(&id, "", manifest),
            Some(json!({"content": "lost", "version": saved["version"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"], "changed_on_disk");
    let (_, now) = learner.get(&files(&id, "", manifest)).await;
    assert_eq!(now["content"], format!("{edited}# from the terminal\n"));
    // A new file: `null` creates it, and refuses when one is there.
    let fresh = "/root/project/new.json";
    let (status, _) = learner
        .send(
            Method::PUT,
            &files(&id, "", fresh),
            Some(json!({"content": "{}\n", "version": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = learner
        .send(
            Method::PUT,
            &files(&id, "", fresh),
            Some(json!({"content": "[]\n", "version": null})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // What the editor will not open, each with its reason.
    let refusals: [(&str, StatusCode, &str); 6] = [
        (
            "/root/project/blob.bin",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "binary_file",
        ),
        (
            "/root/project/big.txt",
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
        ),
        (
            "/root/project/../outside/secret.txt",
            StatusCode::FORBIDDEN,
            "outside_root",
        ),
        (
            "../outside/secret.txt",
            StatusCode::FORBIDDEN,
            "outside_root",
        ),
        (
            "/root/project/escape/secret.txt",
            StatusCode::FORBIDDEN,
            "outside_root",
        ),
        (
            "/root/project/nothing-here.txt",
            StatusCode::NOT_FOUND,
            "file_not_found",
        ),
    ];
    for (path, status, code) in refusals {
        let (got, body) = learner.get(&files(&id, "", path)).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(code)),
            "{path}: {body}"
        );
    }
    // Saving through a link out of the root is refused too, and writes nothing.
    let (status, _) = learner
        .send(
            Method::PUT,
            &files(&id, "", "/root/project/escape/planted"),
            Some(json!({"content": "x", "version": null})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    on_node(&server, &id, "test ! -e /root/outside/planted").await;
    // A link that stays inside is followed.
    let (status, inside) = learner
        .get(&files(&id, "", "/root/project/inside/app.yaml"))
        .await;
    assert_eq!(status, StatusCode::OK, "{inside}");

    // Upload and download keep every byte.
    let bytes: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let uploaded = learner
        .http
        .put(format!(
            "{}{}",
            learner.base,
            files(&id, "/upload", "/root/project/data.bin")
        ))
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    let downloaded = learner
        .http
        .get(format!(
            "{}{}",
            learner.base,
            files(&id, "/download", "/root/project/data.bin")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(downloaded.status(), StatusCode::OK);
    let disposition = downloaded.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"data.bin\""),
        "{disposition}"
    );
    assert_eq!(downloaded.bytes().await.unwrap().as_ref(), bytes.as_slice());

    // Someone else's session is not theirs to read.
    let stranger = server.learner();
    let (status, _) = stranger.get(&files(&id, "", manifest)).await;
    assert!(
        status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
        "{status}"
    );
    let (status, body): (StatusCode, Value) = learner
        .get(&format!("/api/sessions/{id}/nodes/nope/files"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    server.stop().await;
}
