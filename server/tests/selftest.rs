//! `playlab test` end to end: the real binary against the real Docker engine, on the
//! fixture lessons in `tests/fixtures/selftest/`. Each fixture folder holds a lesson
//! and an `expected.txt` with one or more runs separated by `---`:
//!
//! ```text
//! args: --require-all        (extra arguments; optional)
//! exit: 1                    (the exit code)
//! contains: text             (a line of output must contain it; repeatable)
//! lacks: text                (no line may contain it; repeatable)
//! ```
//!
//! Needs a running `dockerd` and the seeded `debian:bookworm-slim` image
//! (`.ci/setup-machine`); fails saying so when Docker is unreachable.

use std::path::{Path, PathBuf};
use std::process::Command;

use runner::docker::{DockerBackend, DockerConfig, LABEL_LESSON};
use runner::{Backend, SessionId};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/selftest")
}

async fn docker() -> DockerBackend {
    let hint = "these tests need the real Docker engine: install docker.io and start dockerd (see .ci/setup-machine)";
    let backend = DockerBackend::connect(DockerConfig::default())
        .await
        .unwrap_or_else(|e| panic!("Docker is unreachable ({e}); {hint}"));
    backend
        .ping()
        .await
        .unwrap_or_else(|e| panic!("Docker does not answer ({e}); {hint}"));
    backend
}

struct Run {
    args: Vec<String>,
    exit: i32,
    contains: Vec<String>,
    lacks: Vec<String>,
}

fn parse_expected(text: &str) -> Vec<Run> {
    text.split("\n---\n")
        .map(|block| {
            let mut run = Run {
                args: Vec::new(),
                exit: -1,
                contains: Vec::new(),
                lacks: Vec::new(),
            };
            for line in block.lines().filter(|l| !l.trim().is_empty()) {
                let (key, value) = line.split_once(": ").expect("lines are `key: value`");
                match key {
                    "args" => run.args = value.split_whitespace().map(Into::into).collect(),
                    "exit" => run.exit = value.parse().expect("exit is a number"),
                    "contains" => run.contains.push(value.to_owned()),
                    "lacks" => run.lacks.push(value.to_owned()),
                    other => panic!("unknown key {other:?} in expected.txt"),
                }
            }
            run
        })
        .collect()
}

fn playlab_test(lesson: &Path, args: &[String]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_playlab"))
        .arg("test")
        .arg(lesson)
        .args(args)
        .output()
        .expect("running playlab");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Containers and networks labelled with one of `lessons`, whoever started them.
async fn labelled(backend: &DockerBackend, lessons: &[String]) -> Vec<String> {
    use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions};
    let mut found = Vec::new();
    for lesson in lessons {
        let filters =
            || Some([("label".to_owned(), vec![format!("{LABEL_LESSON}={lesson}")])].into());
        let docker = backend.docker();
        let containers = docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: filters(),
                ..Default::default()
            }))
            .await
            .unwrap();
        let networks = docker
            .list_networks(Some(ListNetworksOptions { filters: filters() }))
            .await
            .unwrap();
        found.extend(
            containers
                .into_iter()
                .flat_map(|c| c.names.unwrap_or_default()),
        );
        found.extend(networks.into_iter().filter_map(|n| n.name));
    }
    found
}

/// One test, so the runs never overlap and what is left behind can be told apart.
#[tokio::test(flavor = "multi_thread")]
async fn playlab_test_on_the_fixture_lessons() {
    let backend = docker().await;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.txt").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 5, "fixture lessons are missing");
    let ids: Vec<String> = dirs
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut failures = Vec::new();
    for (dir, name) in dirs.iter().zip(&ids) {
        let expected = std::fs::read_to_string(dir.join("expected.txt")).unwrap();
        for run in parse_expected(&expected) {
            let (code, output) = playlab_test(dir, &run.args);
            let mut problems = Vec::new();
            if code != run.exit {
                problems.push(format!("exit code {code}, expected {}", run.exit));
            }
            for want in &run.contains {
                if !output.lines().any(|l| l.contains(want.as_str())) {
                    problems.push(format!("no line contains {want:?}"));
                }
            }
            for unwanted in &run.lacks {
                if output.contains(unwanted.as_str()) {
                    problems.push(format!("the output contains {unwanted:?}"));
                }
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{name} {:?}: {}\n--- output ---\n{output}",
                    run.args,
                    problems.join("; ")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let left = labelled(&backend, &ids).await;
    assert!(left.is_empty(), "playlab test left these behind: {left:?}");

    // --keep: the environment stays, and the output says how to get a shell on it.
    let (code, output) = playlab_test(&fixtures().join("too-weak"), &["--keep".into()]);
    let kept = output
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("docker exec -it playlab-")?
                .strip_suffix("-box bash")
        })
        .map(|s| s.parse::<SessionId>().unwrap());
    let left = labelled(&backend, &["too-weak".to_owned()]).await;
    if let Some(session) = &kept {
        backend.destroy(session).await.unwrap();
    }
    assert_eq!(code, 1, "{output}");
    let session = kept.unwrap_or_else(|| panic!("no shell hint in:\n{output}"));
    assert!(
        left.contains(&format!("/playlab-{session}-box")),
        "the kept environment is not there: {left:?}"
    );
}
