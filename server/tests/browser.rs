//! The web UI in a real browser: starts the real `playlab serve` binary on
//! `127.0.0.1:0` with the browser fixture lessons and real Docker, then runs the
//! playwright-core scripts `web/tests/*.test.mjs` (headless Debian Chromium) against it.
//! Screenshots land in `artifacts/screenshots/`.
//!
//! Missing tools fail the test with what to install: a skipped browser test would
//! hide a broken UI.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ADMIN_TOKEN: &str = "browser-test-admin-token";
const CHROMIUM: &str = "/usr/bin/chromium";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Fails with an install hint unless `cmd args` runs successfully.
fn require(cmd: &str, args: &[&str], hint: &str) {
    let ok = Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "the browser tests need `{cmd}`: {hint}");
}

/// The server process; killed on drop so a failing test leaves nothing running.
struct Server {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start(data: &Path) -> (Server, String) {
        let content = repo().join("web/tests/fixtures/content");
        let mut child = Command::new(env!("CARGO_BIN_EXE_playlab"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--admin-token",
                ADMIN_TOKEN,
            ])
            // Nothing of the test may outlive it, even a session it did not end.
            .args(["--on-shutdown", "destroy"])
            .arg("--content")
            .arg(&content)
            .arg("--data")
            .arg(data)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting playlab serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        // Keep draining stderr for the whole run (a full pipe would block the server)
        // and hand over the URL from the line that announces it.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("serving ").nth(1) {
                    let _ = tx.send(url.trim().to_string());
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let server = Server { child, log };
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => (server, url),
            Err(_) => panic!(
                "playlab serve did not announce its address within 60 s; its log:\n{}",
                server.log()
            ),
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// SIGTERM, as an operator would: the server closes terminals and destroys
    /// environments on the way out.
    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return self.log();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "playlab serve did not stop within 30 s of SIGTERM; its log:\n{}",
            self.log()
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sessions the browser tests started, one id per line of `file`.
fn recorded_sessions(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Containers and networks Docker still has for a session: `(containers, networks)`.
fn leftovers(session: &str) -> (Vec<String>, Vec<String>) {
    let label = format!("label=playlab.session={session}");
    let list = |args: &[&str]| -> Vec<String> {
        let output = Command::new("docker")
            .args(args)
            .args(["--filter", &label])
            .output()
            .expect("running docker");
        String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    (list(&["ps", "-aq"]), list(&["network", "ls", "-q"]))
}

/// Removes what a failed run left behind, so one failure does not pollute the machine.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for session in recorded_sessions(&self.0) {
            let (containers, networks) = leftovers(&session);
            if !containers.is_empty() {
                let _ = Command::new("docker")
                    .args(["rm", "-f"])
                    .args(&containers)
                    .output();
            }
            if !networks.is_empty() {
                let _ = Command::new("docker")
                    .args(["network", "rm"])
                    .args(&networks)
                    .output();
            }
        }
    }
}

#[test]
fn learner_goes_through_a_lesson_in_a_real_browser() {
    require(
        "docker",
        &["info"],
        "install Docker Engine (Debian: `apt-get install docker.io`) and start `dockerd`",
    );
    require(
        "node",
        &["--version"],
        "install Node.js 20+ (Debian: `apt-get install nodejs npm`)",
    );
    assert!(
        Path::new(CHROMIUM).exists(),
        "the browser tests need Chromium at {CHROMIUM} (Debian: `apt-get install chromium`)"
    );
    require(
        "docker",
        &["image", "inspect", "debian:bookworm-slim"],
        "the local image debian:bookworm-slim (see .ci/setup-machine)",
    );

    let data = tempfile::tempdir().expect("temp dir");
    let session_file = data.path().join("browser-session-id");
    // Declared before the server so it runs after the server is gone.
    let _cleanup = Cleanup(session_file.clone());
    let (server, url) = Server::start(data.path());
    let shots = repo().join("artifacts/screenshots");
    let output = Command::new("node")
        .args(["--test", "--test-reporter=spec", "tests/"])
        .current_dir(repo().join("web"))
        .env("PLAYLAB_URL", &url)
        .env("PLAYLAB_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("PLAYLAB_SCREENSHOTS", &shots)
        .env("PLAYLAB_SESSION_FILE", &session_file)
        .output()
        .expect("running node --test");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{report}");
    if !output.status.success() {
        panic!(
            "the browser tests failed ({}):\n{report}\n--- playlab serve log ---\n{}",
            output.status,
            server.log()
        );
    }

    let sessions = recorded_sessions(&session_file);
    assert!(
        sessions.len() >= 2,
        "the browser tests record the sessions they start (the tour's and the workbench's), got {sessions:?}"
    );
    let log = server.stop();
    for session in sessions {
        let left = leftovers(&session);
        assert_eq!(
            left,
            (vec![], vec![]),
            "session {session} left containers and networks behind\n--- playlab serve log ---\n{log}"
        );
    }
    for shot in [
        "catalog.png",
        "lesson.png",
        "dashboard.png",
        "workbench.png",
    ] {
        assert!(
            shots.join(shot).is_file(),
            "no screenshot {shot} in {}",
            shots.display()
        );
    }
}
