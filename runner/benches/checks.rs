//! How long a check takes from request to verdict, against the plain `docker exec` of
//! the same script, and what a WASM check with a cached module adds.
//!
//! Run with `cargo bench -p runner --bench checks` (needs dockerd and the seeded
//! `debian:bookworm-slim`, like the engine tests). Prints p50/p90 of each measurement
//! over the same environment in the same run, and the targets the checks issue sets:
//!
//! | measurement | target |
//! |---|---|
//! | shell check round trip (request to verdict), p50 | ≤ 150 ms |
//! | WASM check minus its probe's exec, p50 (cached module) | ≤ 20 ms |
//!
//! The shell check includes everything a learner's Check click costs in the runner:
//! writing the session's transcript into the node, running the script, removing the
//! transcript, judging the result.

use std::future::Future;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use runner::checks::{
    CheckContext, Transcript, WasmChecker, WasmInput, WasmLimits, WasmVerdict, run_check,
};
use runner::docker::{DockerBackend, DockerConfig, container_name};
use runner::{Backend, ExecRequest, ProgressSender, SessionId};
use scenarios::{
    Check, DEFAULT_CHECK_TIMEOUT, Environment, Lesson, NodeImage, NodeSpec, Probe, ShellCheck,
    WasmCheck,
};

const IMAGE: &str = "debian:bookworm-slim";
const ROUNDS: usize = 40;
/// A typical check: a file exists and has the right content.
const SCRIPT: &str = "test -f /etc/hostname && grep -qx controlplane /etc/hostname";
const PROBE: &str = "cat /etc/hostname";

fn lesson() -> Lesson {
    let node = NodeSpec::new("controlplane", NodeImage::Reference(IMAGE.into()));
    Lesson::with_environment(
        "checks-bench",
        std::env::temp_dir(),
        Environment::new(vec![node]),
    )
}

/// p50 and p90 of `ROUNDS` timed runs of `f`, after one warm-up run.
async fn measure<F, Fut>(mut f: F) -> (Duration, Duration)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    f().await;
    let mut samples = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        f().await;
        samples.push(started.elapsed());
    }
    samples.sort();
    (samples[ROUNDS / 2], samples[ROUNDS * 9 / 10])
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let backend = DockerBackend::connect(DockerConfig::default())
        .await
        .unwrap_or_else(|e| {
            panic!("Docker is unreachable; start dockerd (see .ci/setup-machine): {e}")
        });
    let session: SessionId = format!("plbench{}", SessionId::random()).parse().unwrap();
    backend
        .start(&session, &lesson(), ProgressSender::discard())
        .await
        .unwrap_or_else(|e| panic!("starting the bench environment: {e}"));
    let result = std::panic::AssertUnwindSafe(bench(&backend, &session));
    let outcome = futures::FutureExt::catch_unwind(result).await;
    backend.destroy(&session).await.unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn bench(backend: &DockerBackend, session: &SessionId) {
    let container = container_name(session, "controlplane");
    let wasm = WasmChecker::new(WasmLimits::default()).unwrap();
    // A transcript of a learner some way into a lesson.
    let mut transcript = Transcript::new();
    for i in 0..50 {
        transcript.record(
            "controlplane",
            format!("kubectl get pods -n kube-system # {i}"),
        );
    }
    let ctx = CheckContext {
        step: 3,
        transcript: &transcript,
        wasm: &wasm,
        retry: true,
        language: "en",
    };
    let module = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wasm/upgrade-order.wat");
    let shell = Check::Shell(ShellCheck {
        node: "controlplane".into(),
        run: SCRIPT.into(),
        fail: None,
        timeout: DEFAULT_CHECK_TIMEOUT,
        wait: Duration::ZERO,
    });
    let wasm_check = Check::Wasm(WasmCheck {
        module: module.clone(),
        probes: vec![Probe {
            node: "controlplane".into(),
            run: PROBE.into(),
        }],
        fail: None,
    });

    let docker_exec = measure(|| async {
        let status = Command::new("docker")
            .args(["exec", &container, "sh", "-c", SCRIPT])
            .status()
            .expect("running the docker CLI");
        assert!(status.success());
    })
    .await;
    let backend_exec = measure(|| async {
        let out = backend
            .exec(
                session,
                "controlplane",
                ExecRequest::new(SCRIPT, DEFAULT_CHECK_TIMEOUT),
            )
            .await
            .unwrap();
        assert!(out.success());
    })
    .await;
    let shell_check = measure(|| async {
        let outcome = run_check(backend, session, &shell, &ctx).await.unwrap();
        assert!(outcome.passed, "{outcome:?}");
    })
    .await;
    let probe_exec = measure(|| async {
        let out = backend
            .exec(
                session,
                "controlplane",
                ExecRequest::new(PROBE, DEFAULT_CHECK_TIMEOUT),
            )
            .await
            .unwrap();
        assert!(out.success());
    })
    .await;
    let wasm_check_time = measure(|| async {
        // The order check fails on this transcript; what is measured is the verdict.
        let outcome = run_check(backend, session, &wasm_check, &ctx)
            .await
            .unwrap();
        assert!(
            !outcome.passed && !outcome.message.is_empty(),
            "{outcome:?}"
        );
    })
    .await;
    let input = serde_json::to_vec(&WasmInput {
        probes: &[],
        transcript: &transcript,
        step: 3,
    })
    .unwrap();
    let module_run = measure(|| async {
        let verdict = wasm.run(&module, input.clone()).await;
        assert!(
            matches!(verdict, WasmVerdict::Exited { code: 1, .. }),
            "{verdict:?}"
        );
    })
    .await;

    println!("checks bench: {ROUNDS} rounds each, one node ({IMAGE}), p50 / p90");
    let rows = [
        ("docker exec (CLI) of the script", docker_exec),
        ("backend exec of the script", backend_exec),
        ("shell check, request to verdict", shell_check),
        ("backend exec of the probe", probe_exec),
        ("WASM check (probe + cached module)", wasm_check_time),
        ("WASM module run alone (cached)", module_run),
    ];
    for (name, (p50, p90)) in rows {
        println!("  {name:<38} {:>9} / {:>9}", ms(p50), ms(p90));
    }
    let overhead = wasm_check_time.0.saturating_sub(probe_exec.0);
    println!();
    println!(
        "  shell check p50 {} (target <= 150 ms): {}; {:.2}x the docker CLI exec",
        ms(shell_check.0),
        if shell_check.0 <= Duration::from_millis(150) {
            "met"
        } else {
            "NOT met"
        },
        shell_check.0.as_secs_f64() / docker_exec.0.as_secs_f64()
    );
    println!(
        "  WASM check adds {} over its probe's exec at p50 (target <= 20 ms): {}",
        ms(overhead),
        if overhead <= Duration::from_millis(20) {
            "met"
        } else {
            "NOT met"
        }
    );
}
