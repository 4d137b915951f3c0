//! Shell and WASM checks through [`run_check`] on real nodes (the Docker backend
//! against the real engine). Needs a running `dockerd` and the seeded
//! `debian:bookworm-slim` image (`.ci/setup-machine`); without them every test fails
//! saying so.
//!
//! Each test gets its own environment, destroyed when the test ends, pass or fail.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::FutureExt;
use runner::checks::{
    CheckContext, CheckOutcome, LineAssembler, Transcript, WasmChecker, WasmLimits, run_check,
};
use runner::docker::{DockerBackend, DockerConfig};
use runner::{Backend, ExecRequest, ProgressSender, RunnerError, SessionId};
use scenarios::{
    Check, DEFAULT_CHECK_TIMEOUT, Environment, Lesson, NodeImage, NodeSpec, Probe, ShellCheck,
    WasmCheck,
};

const IMAGE: &str = "debian:bookworm-slim";

/// One started environment with nodes `controlplane` and `node01`.
struct Env {
    backend: DockerBackend,
    session: SessionId,
    wasm: WasmChecker,
}

impl Env {
    async fn check(&self, check: &Check, transcript: &Transcript, step: usize) -> CheckOutcome {
        self.try_check(check, transcript, step, true).await.unwrap()
    }

    async fn try_check(
        &self,
        check: &Check,
        transcript: &Transcript,
        step: usize,
        retry: bool,
    ) -> Result<CheckOutcome, RunnerError> {
        let ctx = CheckContext {
            step,
            transcript,
            wasm: &self.wasm,
            retry,
            language: "en",
        };
        run_check(&self.backend, &self.session, check, &ctx).await
    }

    async fn exec(&self, node: &str, script: &str) -> String {
        let out = self
            .backend
            .exec(
                &self.session,
                node,
                ExecRequest::new(script, Duration::from_secs(10)),
            )
            .await
            .unwrap();
        assert!(out.success(), "{script}: {out:?}");
        out.stdout
    }
}

/// Starts an environment, runs `test` on it, and destroys it whatever happened.
async fn with_env(test: impl AsyncFnOnce(&Env)) {
    let backend = DockerBackend::connect(DockerConfig::default())
        .await
        .unwrap_or_else(|e| panic!("Docker is unreachable, these tests need the real engine: install docker.io and start dockerd (see .ci/setup-machine): {e}"));
    let session: SessionId = format!("plcheck{}", SessionId::random()).parse().unwrap();
    let node = |name: &str| NodeSpec::new(name, NodeImage::Reference(IMAGE.into()));
    let lesson = Lesson::with_environment(
        "checks-test",
        env!("CARGO_MANIFEST_DIR"),
        Environment::new(vec![node("controlplane"), node("node01")]),
    );
    if let Err(e) = backend
        .start(&session, &lesson, ProgressSender::discard())
        .await
    {
        panic!(
            "starting a {IMAGE} environment failed (seed the image with .ci/setup-machine): {e}"
        );
    }
    let env = Env {
        backend,
        session,
        wasm: WasmChecker::new(WasmLimits::default()).unwrap(),
    };
    let result = AssertUnwindSafe(test(&env)).catch_unwind().await;
    env.backend.destroy(&env.session).await.unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

fn shell(node: &str, run: &str, fail: Option<&str>) -> ShellCheck {
    ShellCheck {
        node: node.into(),
        run: run.into(),
        fail: fail.map(Into::into),
        timeout: DEFAULT_CHECK_TIMEOUT,
        wait: Duration::ZERO,
    }
}

/// A transcript as the server builds it: raw keystrokes per node through the line
/// assembler, in the order given.
fn typed(keystrokes: &[(&str, &[u8])]) -> Transcript {
    let mut transcript = Transcript::new();
    let mut assemblers: BTreeMap<&str, LineAssembler> = BTreeMap::new();
    for (node, bytes) in keystrokes {
        for line in assemblers.entry(node).or_default().feed(bytes) {
            transcript.record(node, line);
        }
    }
    transcript
}

/// Order check in shell: the snapshot line comes before the apply line.
const ORDER_SCRIPT: &str = r#"awk -F'\t' '$3 ~ /etcdctl .*snapshot save/ && !s {s=NR} $3 ~ /kubeadm upgrade apply/ && !a {a=NR} END {if (!(s && a && s < a)) {print "snapshot line " s ", apply line " a; exit 1}}' "$PLAYLAB_TRANSCRIPT""#;

#[tokio::test(flavor = "multi_thread")]
async fn shell_check_cases() {
    let right: &[(&str, &[u8])] = &[
        ("controlplane", b"etcdctl snapshot sav\x7fve /b.db\r"),
        ("controlplane", b"kubeadm upgrade apply v1.31.2 -y\r"),
    ];
    let wrong: &[(&str, &[u8])] = &[
        ("controlplane", b"kubeadm upgrade apply v1.31.2 -y\r"),
        ("controlplane", b"etcdctl snapshot save /b.db\r"),
    ];
    // (name, check, transcript, passed, message, output)
    let cases: Vec<(&str, ShellCheck, Transcript, bool, &str, &str)> = vec![
        (
            "exit 0 passes",
            shell("node01", "true", None),
            Transcript::new(),
            true,
            "",
            "",
        ),
        (
            "fail text over the script's own stdout",
            shell(
                "node01",
                "echo '/root/x is missing'; echo 'noise' >&2; exit 1",
                Some("Create /root/x."),
            ),
            Transcript::new(),
            false,
            "Create /root/x.",
            "/root/x is missing",
        ),
        (
            "no fail text: the exit code",
            shell("controlplane", "exit 4", None),
            Transcript::new(),
            false,
            "the check did not pass (exit code 4)",
            "",
        ),
        (
            "stdin is closed, never waited on",
            shell("node01", "cat; echo got-eof", None),
            Transcript::new(),
            true,
            "",
            "got-eof",
        ),
        (
            "bash when the node has it",
            shell(
                "node01",
                "arr=(a b c); [[ ${#arr[@]} -eq 3 ]] && echo bash",
                None,
            ),
            Transcript::new(),
            true,
            "",
            "bash",
        ),
        (
            "the step number",
            shell(
                "node01",
                "echo step $PLAYLAB_STEP; [ \"$PLAYLAB_STEP\" = 3 ]",
                None,
            ),
            Transcript::new(),
            true,
            "",
            "step 3",
        ),
        (
            "transcript columns: at, node, line",
            shell("node01", "cut -f2,3 \"$PLAYLAB_TRANSCRIPT\"", None),
            typed(&[("node01", b"ls -l\r"), ("controlplane", b"hostname\r")]),
            true,
            "",
            "node01\tls -l\ncontrolplane\thostname",
        ),
        (
            "transcript order: backup before apply",
            shell("controlplane", ORDER_SCRIPT, Some("Back up etcd first.")),
            typed(right),
            true,
            "",
            "",
        ),
        (
            "transcript order: apply before backup",
            shell("controlplane", ORDER_SCRIPT, Some("Back up etcd first.")),
            typed(wrong),
            false,
            "Back up etcd first.",
            "snapshot line 2, apply line 1",
        ),
        (
            "an exit in the script still cleans up",
            shell(
                "controlplane",
                "test -s \"$PLAYLAB_TRANSCRIPT\" && exit 0; exit 1",
                None,
            ),
            typed(right),
            true,
            "",
            "",
        ),
    ];
    with_env(async move |env: &Env| {
        let mut failures = Vec::new();
        for (name, check, transcript, passed, message, output) in cases {
            let got = env.check(&Check::Shell(check), &transcript, 3).await;
            if (got.passed, got.message.as_str(), got.output.as_str()) != (passed, message, output)
            {
                failures.push(format!("{name}: {got:?}"));
            }
            if got.attempts != 1 || got.timed_out {
                failures.push(format!("{name}: one attempt, no timeout expected: {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        // Every check's transcript file is gone once the check ends.
        for node in ["controlplane", "node01"] {
            let left = env.exec(node, "ls -A /tmp/playlab").await;
            assert_eq!(left, "", "transcript files left on {node}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_check_that_hangs_times_out_and_fails() {
    with_env(async move |env: &Env| {
        let check = ShellCheck {
            timeout: Duration::from_secs(1),
            ..shell("node01", "echo started; sleep 60", Some("never shown"))
        };
        let started = Instant::now();
        let got = env.check(&Check::Shell(check), &Transcript::new(), 0).await;
        assert!(!got.passed && got.timed_out, "{got:?}");
        assert_eq!(got.message, "timed out after 1s");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_retries_every_second_until_the_check_passes() {
    with_env(async move |env: &Env| {
        env.exec("node01", "date +%s%N > /tmp/t0").await;
        // Passes once two seconds have gone by since t0.
        let check = ShellCheck {
            wait: Duration::from_secs(6),
            ..shell(
                "node01",
                "[ $(( ($(date +%s%N) - $(cat /tmp/t0)) / 1000000 )) -ge 2000 ] || { echo not yet; exit 1; }",
                None,
            )
        };
        let got = env.check(&Check::Shell(check), &Transcript::new(), 0).await;
        assert!(got.passed, "{got:?}");
        assert!((3..=4).contains(&got.attempts), "{got:?}");
        assert!(got.duration >= Duration::from_secs(2) && got.duration < Duration::from_secs(4), "{got:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_gives_up_when_it_runs_out_and_retry_off_tries_once() {
    with_env(async move |env: &Env| {
        let check = Check::Shell(ShellCheck {
            wait: Duration::from_secs(2),
            ..shell("node01", "echo nope; exit 1", Some("Not ready."))
        });
        let got = env.check(&check, &Transcript::new(), 0).await;
        assert!(!got.passed, "{got:?}");
        assert_eq!(
            (got.attempts, got.message.as_str(), got.output.as_str()),
            (3, "Not ready.", "nope")
        );
        assert!(
            got.duration >= Duration::from_secs(2) && got.duration < Duration::from_secs(3),
            "{got:?}"
        );

        let once = env
            .try_check(&check, &Transcript::new(), 0, false)
            .await
            .unwrap();
        assert_eq!(once.attempts, 1, "{once:?}");
    })
    .await;
}

fn wasm_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wasm")
}

#[tokio::test(flavor = "multi_thread")]
async fn wasm_checks_get_probe_results_and_the_transcript() {
    with_env(async move |env: &Env| {
        let check = Check::Wasm(WasmCheck {
            module: wasm_dir().join("sandbox/echo-input.wat"),
            probes: vec![
                Probe {
                    node: "controlplane".into(),
                    run: "hostname".into(),
                },
                Probe {
                    node: "node01".into(),
                    run: "echo oops >&2; exit 3".into(),
                },
            ],
            fail: None,
        });
        let transcript = typed(&[("node01", b"uptime\r")]);
        let got = env.check(&check, &transcript, 2).await;
        assert!(got.passed, "{got:?}");
        let input: serde_json::Value = serde_json::from_str(&got.output).unwrap();
        assert_eq!(input["step"], 2);
        assert_eq!(
            input["probes"],
            serde_json::json!([
                {"node": "controlplane", "exit": 0, "stdout": "controlplane\n", "stderr": ""},
                {"node": "node01", "exit": 3, "stdout": "", "stderr": "oops\n"}
            ])
        );
        assert_eq!(input["transcript"][0]["line"], "uptime");
        assert_eq!(input["transcript"][0]["node"], "node01");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_upgrade_order_check_judges_what_was_typed() {
    with_env(async move |env: &Env| {
        let check = Check::Wasm(WasmCheck {
            module: wasm_dir().join("upgrade-order.wat"),
            probes: vec![Probe { node: "controlplane".into(), run: "true".into() }],
            fail: Some("Mind the order.".into()),
        });
        let snapshot: &[u8] = b"ETCDCTL_API=3 etcdctl snapshot save /backup/etcd.db\r";
        let apply: &[u8] = b"kubeadm upgrade apply v1.31.2 -y\r";
        let worker: &[u8] = b"kubeadm upgrade node\r";
        // (name, what was typed on which node, passes, message)
        type Case<'a> = (&'a str, Vec<(&'a str, &'a [u8])>, bool, &'a str);
        let cases: [Case; 3] = [
            (
                "right order",
                vec![("controlplane", snapshot), ("controlplane", apply), ("node01", worker)],
                true,
                "etcd was backed up, then the control plane upgraded, then the worker",
            ),
            (
                "apply before the backup",
                vec![("controlplane", apply), ("controlplane", snapshot), ("node01", worker)],
                false,
                "kubeadm upgrade apply ran before any etcd backup: run etcdctl snapshot save first",
            ),
            (
                "worker before the control plane",
                vec![("controlplane", snapshot), ("node01", worker), ("controlplane", apply)],
                false,
                "a worker was upgraded (kubeadm upgrade node) before the control plane (kubeadm upgrade apply)",
            ),
        ];
        for (name, keys, passed, module_says) in cases {
            let got = env.check(&check, &typed(&keys), 4).await;
            assert_eq!(got.passed, passed, "{name}: {got:?}");
            assert_eq!(got.output, module_says, "{name}");
            let headline = if passed { module_says } else { "Mind the order." };
            assert_eq!(got.message, headline, "{name}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_check_on_a_missing_node_is_an_error_not_a_verdict() {
    with_env(async move |env: &Env| {
        let got = env
            .try_check(
                &Check::Shell(shell("node07", "true", None)),
                &Transcript::new(),
                0,
                true,
            )
            .await;
        assert!(matches!(got, Err(RunnerError::NoNode { .. })), "{got:?}");
    })
    .await;
}
