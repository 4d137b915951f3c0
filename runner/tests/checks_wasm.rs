//! The WASM check sandbox against hand-written modules, one per way of going right or
//! wrong. Each `tests/wasm/sandbox/*.wat` file states what must happen in its header:
//!
//! ```text
//! ;; expect: exit N | out_of_fuel | deadline | memory | trap | output | bad_module
//! ;; message: text the verdict's message/reason must contain (optional)
//! ;; limits: fuel=N deadline_ms=N (optional; defaults otherwise)
//! ```
//!
//! No Docker needed: these run the module directly through [`WasmChecker`].

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use runner::checks::{
    ProbeResult, SandboxFailureKind, Transcript, TranscriptEntry, WasmChecker, WasmInput,
    WasmLimits, WasmVerdict,
};

fn sandbox_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wasm/sandbox")
}

fn header<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .filter_map(|l| l.strip_prefix(";; "))
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(str::trim)
}

fn limits_from(text: &str) -> WasmLimits {
    let mut limits = WasmLimits::default();
    for setting in header(text, "limits")
        .unwrap_or_default()
        .split_whitespace()
    {
        let (key, value) = setting.split_once('=').expect("limits are key=value");
        let value: u64 = value.parse().expect("limits are numbers");
        match key {
            "fuel" => limits.fuel = value,
            "deadline_ms" => limits.deadline = Duration::from_millis(value),
            other => panic!("unknown limit {other}"),
        }
    }
    limits
}

fn kind_name(kind: SandboxFailureKind) -> &'static str {
    match kind {
        SandboxFailureKind::BadModule => "bad_module",
        SandboxFailureKind::OutOfFuel => "out_of_fuel",
        SandboxFailureKind::Deadline => "deadline",
        SandboxFailureKind::Memory => "memory",
        SandboxFailureKind::Trap => "trap",
        SandboxFailureKind::Output => "output",
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sandbox_case_ends_as_its_header_says() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(sandbox_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "sandbox cases are missing");
    let mut failures = Vec::new();
    for case in &cases {
        let text = std::fs::read_to_string(case).unwrap();
        let expect = header(&text, "expect").expect("every case has an expect header");
        let checker = WasmChecker::new(limits_from(&text)).unwrap();
        let started = Instant::now();
        let verdict = checker.run(case, b"{}".to_vec()).await;
        let elapsed = started.elapsed();
        let (got, message) = match &verdict {
            WasmVerdict::Exited { code, stdout, .. } => (format!("exit {code}"), stdout.clone()),
            WasmVerdict::Failed(f) => (kind_name(f.kind).to_owned(), f.reason.clone()),
        };
        let name = case.file_name().unwrap().to_string_lossy();
        if got != expect {
            failures.push(format!("{name}: expected {expect}, got {got}: {message}"));
        } else if let Some(want) = header(&text, "message")
            && !message.contains(want)
        {
            failures.push(format!("{name}: message {message:?} lacks {want:?}"));
        }
        // Whatever the module does, the run ends soon after its deadline.
        let bound = checker.limits().deadline + Duration::from_secs(1);
        if elapsed > bound {
            failures.push(format!("{name}: took {elapsed:?}, more than {bound:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_missing_module_is_a_bad_module() {
    let checker = WasmChecker::new(WasmLimits::default()).unwrap();
    let verdict = checker
        .run(Path::new("/nonexistent/check.wasm"), Vec::new())
        .await;
    let WasmVerdict::Failed(f) = verdict else {
        panic!("a missing module ran: {verdict:?}")
    };
    assert_eq!(f.kind, SandboxFailureKind::BadModule);
    assert!(f.reason.contains("/nonexistent/check.wasm"), "{}", f.reason);
}

#[tokio::test]
async fn the_module_reads_the_documented_json_input() {
    let checker = WasmChecker::new(WasmLimits::default()).unwrap();
    let mut transcript = Transcript::new();
    transcript.push(TranscriptEntry {
        node: "controlplane".into(),
        at: 1000,
        line: "etcdctl snapshot save /tmp/s.db".into(),
    });
    let probes = [ProbeResult {
        node: "node01".into(),
        exit: Some(0),
        stdout: "v1.31.2\n".into(),
        stderr: String::new(),
    }];
    let input = WasmInput {
        probes: &probes,
        transcript: &transcript,
        step: 3,
    };
    let verdict = checker
        .run(
            &sandbox_dir().join("echo-input.wat"),
            serde_json::to_vec(&input).unwrap(),
        )
        .await;
    let WasmVerdict::Exited {
        code: 0, stdout, ..
    } = verdict
    else {
        panic!("echo module failed: {verdict:?}")
    };
    let got: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        got,
        serde_json::json!({
            "probes": [{"node": "node01", "exit": 0, "stdout": "v1.31.2\n", "stderr": ""}],
            "transcript": [{"node": "controlplane", "at": 1000, "line": "etcdctl snapshot save /tmp/s.db"}],
            "step": 3
        })
    );
}

#[tokio::test]
async fn compiled_modules_are_cached_until_the_file_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("check.wat");
    std::fs::copy(sandbox_dir().join("pass.wat"), &path).unwrap();
    let checker = WasmChecker::new(WasmLimits::default()).unwrap();
    let first = checker.run(&path, Vec::new()).await;
    assert!(
        matches!(first, WasmVerdict::Exited { code: 0, .. }),
        "{first:?}"
    );

    // A rewritten file (different size, so no mtime-resolution doubt) is recompiled.
    std::fs::copy(sandbox_dir().join("exit-1.wat"), &path).unwrap();
    let second = checker.run(&path, Vec::new()).await;
    assert!(
        matches!(second, WasmVerdict::Exited { code: 1, .. }),
        "{second:?}"
    );

    // Warm runs skip compilation: far faster than the first.
    let started = Instant::now();
    for _ in 0..20 {
        checker.run(&path, Vec::new()).await;
    }
    let per_run = started.elapsed() / 20;
    assert!(
        per_run < Duration::from_millis(20),
        "cached run took {per_run:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_module_does_not_stall_the_runtime() {
    let checker = WasmChecker::new(WasmLimits {
        fuel: u64::MAX / 2,
        deadline: Duration::from_millis(800),
        ..WasmLimits::default()
    })
    .unwrap();
    let looping = sandbox_dir().join("loop-deadline.wat");
    let run = tokio::spawn(async move { checker.run(&looping, Vec::new()).await });
    // While the module spins, a timer on the same runtime still fires on time.
    let started = Instant::now();
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    let verdict = run.await.unwrap();
    assert!(
        matches!(&verdict, WasmVerdict::Failed(f) if f.kind == SandboxFailureKind::Deadline),
        "{verdict:?}"
    );
}

/// The input of an upgrade-order case, read from the shared case files.
#[derive(serde::Deserialize)]
struct CaseInput {
    probes: Vec<ProbeResult>,
    transcript: Transcript,
    step: usize,
}

fn upgrade_order_wat() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wasm/upgrade-order.wat")
}

/// Serializes like playlab does when it runs a WASM check.
fn check_input(probes: &[ProbeResult], transcript: &Transcript, step: usize) -> Vec<u8> {
    serde_json::to_vec(&WasmInput {
        probes,
        transcript,
        step,
    })
    .unwrap()
}

/// The hand-written `.wat` against the cases the Rust crate
/// `checks-wasm/upgrade-order` is tested with (`cargo test` in that folder): same
/// exit code, same message, for transcripts in the right and in wrong orders.
#[tokio::test]
async fn upgrade_order_wat_judges_the_shared_cases() {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("../checks-wasm/upgrade-order/cases");
    let checker = WasmChecker::new(WasmLimits::default()).unwrap();
    let mut seen = 0;
    let mut failures = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&cases)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    entries.sort();
    for path in entries {
        seen += 1;
        let case: CaseInput =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let expect = std::fs::read_to_string(path.with_extension("expect")).unwrap();
        let mut lines = expect.lines();
        let code: i32 = lines.next().unwrap().parse().unwrap();
        let message = lines.next().unwrap().to_owned();
        let verdict = checker
            .run(
                &upgrade_order_wat(),
                check_input(&case.probes, &case.transcript, case.step),
            )
            .await;
        let want = WasmVerdict::Exited {
            code,
            stdout: format!("{message}\n"),
            stderr: String::new(),
        };
        if verdict != want {
            failures.push(format!("{}: got {verdict:?}", path.display()));
        }
    }
    assert!(seen >= 6, "shared cases are missing");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The biggest transcript playlab keeps, with the longest lines, in the right order:
/// the check still decides well within its fuel and deadline.
#[tokio::test]
async fn upgrade_order_wat_handles_the_largest_transcript() {
    use runner::checks::transcript::{LINE_MAX_BYTES, TRANSCRIPT_MAX_ENTRIES};
    let mut transcript = Transcript::new();
    let filler = format!("echo {}", "x".repeat(LINE_MAX_BYTES - 5));
    for i in 0..TRANSCRIPT_MAX_ENTRIES {
        let line = match i {
            10 => "etcdctl snapshot save /b.db".to_owned(),
            1000 => "kubeadm upgrade apply v1.31.2 -y".to_owned(),
            1990 => "kubeadm upgrade node".to_owned(),
            _ => filler.clone(),
        };
        let node = if i == 1990 { "node01" } else { "controlplane" };
        transcript.push(TranscriptEntry {
            node: node.into(),
            at: i as u64,
            line,
        });
    }
    let checker = WasmChecker::new(WasmLimits::default()).unwrap();
    let started = Instant::now();
    let verdict = checker
        .run(&upgrade_order_wat(), check_input(&[], &transcript, 0))
        .await;
    assert!(
        matches!(&verdict, WasmVerdict::Exited { code: 0, .. }),
        "{verdict:?}"
    );
    eprintln!("the largest transcript judged in {:?}", started.elapsed());
}

/// Input that is not playlab's: exit 2 with a message, never a pass.
#[tokio::test]
async fn upgrade_order_wat_refuses_foreign_input() {
    let checker = WasmChecker::new(WasmLimits::default()).unwrap();
    let verdict = checker.run(&upgrade_order_wat(), b"garbage".to_vec()).await;
    assert_eq!(
        verdict,
        WasmVerdict::Exited {
            code: 2,
            stdout: "upgrade-order: cannot read the check input\n".into(),
            stderr: String::new()
        }
    );
}
