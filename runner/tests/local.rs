//! The local backend against real shells and pseudo-terminals on this machine.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt as _;
use runner::local::LocalBackend;
use runner::{Backend, ExecRequest, ProgressSender, RunnerError, SessionId, TermSize, Terminal};
use scenarios::{Asset, Environment, Lesson, NodeImage, NodeSpec, Pki, Script};
use tokio::io::AsyncWriteExt as _;

fn lesson(nodes: &[&str]) -> Lesson {
    let nodes = nodes
        .iter()
        .map(|name| NodeSpec {
            env: BTreeMap::from([("GREETING".to_owned(), format!("hi {name}"))]),
            ..NodeSpec::new(*name, NodeImage::Reference("unused".to_owned()))
        })
        .collect();
    Lesson::with_environment(
        "local-test",
        env!("CARGO_MANIFEST_DIR"),
        Environment::new(nodes),
    )
}

async fn started(lesson: &Lesson) -> (LocalBackend, SessionId) {
    let backend = LocalBackend::new().unwrap();
    let session = SessionId::random();
    backend
        .start(&session, lesson, ProgressSender::discard())
        .await
        .unwrap();
    (backend, session)
}

/// Reads terminal output until `want` appears (after the typed command's echo); returns
/// everything read.
async fn read_until(terminal: &mut Terminal, want: &str) -> String {
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.contains(want) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, terminal.output.next()).await {
            Ok(Some(Ok(bytes))) => seen.push_str(&String::from_utf8_lossy(&bytes)),
            other => panic!("no {want:?} in terminal output ({other:?}):\n{seen}"),
        }
    }
    seen
}

async fn type_line(terminal: &mut Terminal, line: &str) {
    terminal.input.write_all(line.as_bytes()).await.unwrap();
    terminal.input.write_all(b"\r").await.unwrap();
    terminal.input.flush().await.unwrap();
}

#[tokio::test]
async fn terminal_round_trip() {
    let (backend, session) = started(&lesson(&["controlplane"])).await;
    let mut terminal = backend
        .attach(&session, "controlplane", TermSize::default())
        .await
        .unwrap();
    // The answer is computed by the shell: `42` never appears in what is typed.
    type_line(&mut terminal, "echo $((6*7)) \"$NODE\"").await;
    read_until(&mut terminal, "42 controlplane").await;
    type_line(&mut terminal, "exit 7").await;
    // The output ends when the shell exits, and its exit code is reported.
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Ok(Some(_)) = tokio::time::timeout(
        deadline.saturating_duration_since(Instant::now()),
        terminal.output.next(),
    )
    .await
    {}
    let mut code = None;
    for _ in 0..50 {
        code = terminal.control.exit_code().await.unwrap();
        if code.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(code, Some(7));
    backend.destroy(&session).await.unwrap();
}

#[tokio::test]
async fn resize_is_reflected_by_stty() {
    let (backend, session) = started(&lesson(&["controlplane"])).await;
    let mut terminal = backend
        .attach(&session, "controlplane", TermSize::default())
        .await
        .unwrap();
    type_line(&mut terminal, "stty size; echo done-$((1+1))").await;
    let first = read_until(&mut terminal, "done-2").await;
    assert!(first.contains("24 80"), "initial size:\n{first}");
    terminal
        .control
        .resize(TermSize {
            cols: 132,
            rows: 43,
        })
        .await
        .unwrap();
    type_line(&mut terminal, "stty size; echo done-$((2+1))").await;
    let second = read_until(&mut terminal, "done-3").await;
    assert!(second.contains("43 132"), "after resize:\n{second}");
    backend.destroy(&session).await.unwrap();
}

#[tokio::test]
async fn a_reader_that_stops_stops_the_shell() {
    // Bounded memory: when nobody reads, the reader thread blocks on the full channel,
    // the PTY fills and the shell blocks writing. So a counter the shell writes to a file
    // after each line stalls far below the number of lines it was asked to print.
    let (backend, session) = started(&lesson(&["controlplane"])).await;
    let mut terminal = backend
        .attach(&session, "controlplane", TermSize::default())
        .await
        .unwrap();
    type_line(
        &mut terminal,
        "for i in $(seq 100000); do printf '%4000s\\n' $i; echo $i > p.tmp; mv p.tmp progress; done",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let progress = |backend: &LocalBackend| {
        let path = backend
            .root()
            .join(session.as_str())
            .join("controlplane/progress");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .trim()
            .parse::<u64>()
            .unwrap_or(0)
    };
    let stalled = progress(&backend);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        progress(&backend),
        stalled,
        "the shell kept writing unread output"
    );
    // 4 KB a line; the channel and the PTY hold a few hundred KiB at most.
    assert!(stalled < 200, "{stalled} lines written while nobody read");
    // Reading again lets it go on.
    for _ in 0..200 {
        terminal.output.next().await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        progress(&backend) > stalled,
        "reading did not resume the shell"
    );
    backend.destroy(&session).await.unwrap();
}

/// One exec case: script, stdin, expected exit code, expected stdout, expected stderr.
type ExecCase = (
    &'static str,
    Option<&'static str>,
    Option<i64>,
    &'static str,
    &'static str,
);

const EXEC_CASES: &[ExecCase] = &[
    (
        "echo \"$NODE $GREETING\"",
        None,
        Some(0),
        "node01 hi node01\n",
        "",
    ),
    (
        "[ \"$PWD\" = \"$HOME\" ] && basename \"$PWD\"",
        None,
        Some(0),
        "node01\n",
        "",
    ),
    ("echo oops >&2; exit 3", None, Some(3), "", "oops\n"),
    ("tr a-z A-Z", Some("shout\n"), Some(0), "SHOUT\n", ""),
    ("echo \"$EXTRA\"", None, Some(0), "from-request\n", ""),
    (
        "exit 0",
        Some("ignored input that is never read\n"),
        Some(0),
        "",
        "",
    ),
];

#[tokio::test]
async fn exec_runs_scripts_on_the_node() {
    let (backend, session) = started(&lesson(&["controlplane", "node01"])).await;
    for (script, stdin, code, stdout, stderr) in EXEC_CASES {
        let mut request = ExecRequest::new(*script, Duration::from_secs(10));
        request.stdin = stdin.map(|s| Bytes::from(s.to_owned()));
        request.env.push(("EXTRA".into(), "from-request".into()));
        let out = backend.exec(&session, "node01", request).await.unwrap();
        assert_eq!(
            (out.exit_code, out.stdout.as_str(), out.stderr.as_str()),
            (*code, *stdout, *stderr),
            "{script}"
        );
        assert!(!out.timed_out && !out.truncated, "{script}");
    }
    let big = backend
        .exec(
            &session,
            "node01",
            ExecRequest::new(
                "head -c 1000000 /dev/zero | tr '\\0' x",
                Duration::from_secs(10),
            ),
        )
        .await
        .unwrap();
    assert!(big.truncated && big.success());
    assert_eq!(big.stdout.len(), runner::EXEC_OUTPUT_LIMIT);

    let missing = backend
        .exec(
            &session,
            "node09",
            ExecRequest::new("true", Duration::from_secs(1)),
        )
        .await;
    assert!(
        matches!(missing, Err(RunnerError::NoNode { .. })),
        "{missing:?}"
    );
    backend.destroy(&session).await.unwrap();
}

#[tokio::test]
async fn exec_timeout_kills_the_whole_process_group() {
    let (backend, session) = started(&lesson(&["controlplane"])).await;
    let begun = Instant::now();
    let out = backend
        .exec(
            &session,
            "controlplane",
            ExecRequest::new(
                "sleep 60 & echo $! > bg.pid; echo started; sleep 60",
                Duration::from_millis(500),
            ),
        )
        .await
        .unwrap();
    assert!(
        begun.elapsed() < Duration::from_secs(5),
        "took {:?}",
        begun.elapsed()
    );
    assert!(out.timed_out);
    assert_eq!(out.exit_code, None);
    assert_eq!(out.stdout, "started\n");
    // The background child went with the shell (a zombie awaiting a reaper counts as
    // gone: it no longer runs).
    let check = backend
        .exec(
            &session,
            "controlplane",
            ExecRequest::new(
                "state=$(cut -d' ' -f3 /proc/$(cat bg.pid)/stat 2>/dev/null); \
                 case $state in ''|Z) echo gone;; *) echo alive;; esac",
                Duration::from_secs(5),
            ),
        )
        .await
        .unwrap();
    assert_eq!(check.stdout, "gone\n");
    backend.destroy(&session).await.unwrap();
}

#[tokio::test]
async fn assets_and_pki_land_in_the_node_with_their_modes() {
    let source = tempfile::tempdir().unwrap();
    let tool = source.path().join("tool.sh");
    std::fs::write(&tool, "#!/bin/sh\necho tool-ran\n").unwrap();
    let mut lesson = lesson(&["controlplane", "node01"]);
    lesson.assets.push(Asset {
        node: "node01".into(),
        from: tool,
        to: "/usr/local/bin/tool.sh".into(),
        mode: 0o755,
    });
    lesson.environment.pki = Some(Pki::Kubernetes {
        short_lived: BTreeMap::new(),
    });
    lesson.setup.push(Script {
        node: "node01".into(),
        run: "./usr/local/bin/tool.sh > setup.out".into(),
        foreground: false,
    });
    let (backend, session) = started(&lesson).await;
    let out = backend
        .exec(
            &session,
            "node01",
            ExecRequest::new(
                "stat -c '%a %n' usr/local/bin/tool.sh etc/kubernetes/kubelet.conf etc/kubernetes/pki/ca.crt; cat setup.out",
                Duration::from_secs(5),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        out.stdout,
        "755 usr/local/bin/tool.sh\n600 etc/kubernetes/kubelet.conf\n644 etc/kubernetes/pki/ca.crt\ntool-ran\n",
        "{}",
        out.stderr
    );
    let cp = backend
        .exec(
            &session,
            "controlplane",
            ExecRequest::new(
                "ls etc/kubernetes/pki/etcd | tr '\\n' ' '",
                Duration::from_secs(5),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        cp.stdout,
        "ca.crt ca.key healthcheck-client.crt healthcheck-client.key peer.crt peer.key server.crt server.key "
    );
    backend.destroy(&session).await.unwrap();
}

#[tokio::test]
async fn failing_setup_cleans_up() {
    let mut lesson = lesson(&["controlplane"]);
    lesson.setup.push(Script {
        node: "controlplane".into(),
        run: "sleep 60 & echo $! > \"$TMPDIR_PID\"; echo preparing; echo boom >&2; exit 3".into(),
        foreground: false,
    });
    let pid_file = tempfile::NamedTempFile::new().unwrap();
    lesson.environment.nodes[0]
        .env
        .insert("TMPDIR_PID".into(), pid_file.path().display().to_string());
    let backend = LocalBackend::new().unwrap();
    let session = SessionId::random();
    let err = backend
        .start(&session, &lesson, ProgressSender::discard())
        .await
        .unwrap_err();
    match &err {
        RunnerError::SetupFailed {
            node,
            exit_code,
            stdout,
            stderr,
            ..
        } => {
            assert_eq!(node, "controlplane");
            assert_eq!(*exit_code, Some(3));
            assert_eq!(format!("{stdout}{stderr}"), "preparing\nboom\n");
        }
        other => panic!("want SetupFailed, got {other:?}"),
    }
    assert!(backend.environments().await.unwrap().is_empty());
    assert!(!backend.root().join(session.as_str()).exists());
    let pid: i32 = std::fs::read_to_string(pid_file.path())
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        !running(pid),
        "the setup script's background process survived"
    );
}

/// Whether a process exists and is not a zombie (which no longer runs).
fn running(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[tokio::test]
async fn destroy_is_idempotent_and_complete() {
    let (backend, session) = started(&lesson(&["controlplane", "node01"])).await;
    let _terminal = backend
        .attach(&session, "node01", TermSize::default())
        .await
        .unwrap();
    assert_eq!(backend.environments().await.unwrap(), vec![session.clone()]);
    let dir = backend.root().join(session.as_str());
    assert!(dir.join("node01").is_dir());
    backend.destroy(&session).await.unwrap();
    backend.destroy(&session).await.unwrap();
    assert!(!dir.exists());
    assert!(backend.environments().await.unwrap().is_empty());
    let gone = backend
        .exec(
            &session,
            "node01",
            ExecRequest::new("true", Duration::from_secs(1)),
        )
        .await;
    assert!(
        matches!(gone, Err(RunnerError::NoEnvironment(_))),
        "{gone:?}"
    );
    // Destroying a session that never existed succeeds too.
    backend.destroy(&SessionId::random()).await.unwrap();
}

#[tokio::test]
async fn reconcile_removes_sessions_that_are_not_live() {
    let backend = LocalBackend::new().unwrap();
    let lesson = lesson(&["controlplane"]);
    let (live, orphan) = (SessionId::random(), SessionId::random());
    for s in [&live, &orphan] {
        backend
            .start(s, &lesson, ProgressSender::discard())
            .await
            .unwrap();
    }
    let removed = backend.reconcile(&[live.clone()].into()).await.unwrap();
    assert_eq!(removed, vec![orphan]);
    assert_eq!(backend.environments().await.unwrap(), vec![live]);
}

/// The local backend carries out the same plan as Docker: a lesson no backend can start
/// is refused before a folder is made, and a session starts once.
#[tokio::test]
async fn bad_lessons_and_second_starts_are_refused() {
    let backend = LocalBackend::new().unwrap();
    let session = SessionId::random();
    for (lesson, message) in [
        (lesson(&[]), "has no nodes"),
        (lesson(&["../escape"]), "not a DNS label"),
    ] {
        let error = backend
            .start(&session, &lesson, ProgressSender::discard())
            .await
            .expect_err(message);
        assert!(error.to_string().contains(message), "{message}: {error}");
        assert!(!backend.root().join(session.as_str()).exists());
    }

    let lesson = lesson(&["node01"]);
    backend
        .start(&session, &lesson, ProgressSender::discard())
        .await
        .unwrap();
    match backend
        .start(&session, &lesson, ProgressSender::discard())
        .await
    {
        Err(RunnerError::AlreadyStarted(id)) => assert_eq!(id, session),
        other => panic!("expected AlreadyStarted, got {other:?}"),
    }
    // The refused second start left the first environment alone.
    let out = backend
        .exec(
            &session,
            "node01",
            ExecRequest::new("echo still here", Duration::from_secs(10)),
        )
        .await
        .unwrap();
    assert_eq!(out.stdout, "still here\n");
    backend.destroy(&session).await.unwrap();
}

/// A local node's ports would be the host's own: web ports refuse them.
#[tokio::test]
async fn web_ports_are_refused_as_the_nodes_share_the_hosts_ports() {
    let (backend, session) = started(&lesson(&["node01"])).await;
    let port = std::num::NonZeroU16::new(8080).unwrap();
    let refused = backend.port_address(&session, "node01", port).await;
    assert!(
        matches!(
            refused,
            Err(RunnerError::PortsUnsupported { backend: "local" })
        ),
        "{refused:?}"
    );
    backend.destroy(&session).await.unwrap();
}
