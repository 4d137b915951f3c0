//! Unit tests of the kubeadm lessons' shell checks.
//!
//! `kubeadm-init` and `kubeadm-upgrade` run on the kubeadm node image, which builds only
//! where the Kubernetes registries are reachable, so `playlab test` skips them here.
//! Their checks are still tested: every step has recorded command outputs for the state
//! before and after its solution, in `content/<lesson>/tests/step<N>/{before,after}/`:
//!
//! - `commands.txt`: blocks of `$ <command line>` (optionally ending `  [exit N]`)
//!   followed by what the command printed;
//! - `home/` (optional): the files of `$HOME` in that state.
//!
//! Each shell check runs with bash against a `PATH` whose commands named in
//! `commands.txt` (kubectl, kubeadm, ...) are fakes printing the recorded outputs; the
//! rest of the check (grep, awk, stat) is real, and the node's `env` from `lesson.yaml`
//! is set as `docker exec` would. A check must fail before, with a message, and pass
//! after; further states named `fail-*` must fail with the message in their
//! `expect.txt`. A fake asked for a command line that was not recorded makes the test
//! fail, so fixtures and checks cannot drift apart silently.
//!
//! The upgrade lesson's WASM order check runs in the real sandbox (the runner's
//! [`WasmChecker`]) against typed-command transcripts in
//! `content/kubeadm-upgrade/tests/step5/order/*.txt`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::copy_dir;
use runner::checks::{
    ProbeResult, Transcript, TranscriptEntry, WasmChecker, WasmInput, WasmLimits, WasmVerdict,
};
use scenarios::{Check, ImageMap, Lesson, Severity, load_lesson};

/// Prints the recorded output of its own command line from `$PLAYLAB_FIXTURE`, exits
/// with the recorded status, and notes unrecorded command lines in `$PLAYLAB_MISSES`.
const FAKE_COMMAND: &str = r#"#!/bin/bash
line=$(basename "$0")
for a in "$@"; do line+=" $a"; done
awk -v want="\$ $line" '
  found && /^\$ / { exit }
  found { buf[n++] = $0; next }
  $0 == want || index($0, want "  [exit ") == 1 {
    found = 1
    if (match($0, /\[exit [0-9]+\]$/)) rc = substr($0, RSTART + 6, RLENGTH - 7)
  }
  END {
    while (n > 0 && buf[n - 1] == "") n--
    for (i = 0; i < n; i++) print buf[i]
    if (!found) exit 97
    exit rc + 0
  }' "$PLAYLAB_FIXTURE"
rc=$?
[ $rc = 97 ] && echo "$line" >> "$PLAYLAB_MISSES"
exit $rc
"#;

fn content_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../content")
}

fn load(id: &str) -> Lesson {
    let load = load_lesson(&content_dir().join(id), &ImageMap::builtin(false));
    let errors: Vec<_> = load
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{id} has lint errors: {errors:#?}");
    load.lesson.unwrap_or_else(|| panic!("{id} did not load"))
}

/// What one run of a check script against a fixture state produced.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    misses: Vec<String>,
}

fn run_check(script: &str, state: &Path, env: &BTreeMap<String, String>) -> Outcome {
    let commands = state.join("commands.txt");
    let recorded = std::fs::read_to_string(&commands)
        .unwrap_or_else(|e| panic!("{}: {e}", commands.display()));
    let tmp = tempfile::tempdir().expect("temp dir");
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).expect("bin dir");
    let names: BTreeSet<&str> = recorded
        .lines()
        .filter_map(|l| l.strip_prefix("$ "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for name in names {
        let fake = bin.join(name);
        std::fs::write(&fake, FAKE_COMMAND).expect("write fake");
        make_executable(&fake);
    }
    let home = tmp.path().join("home");
    if state.join("home").is_dir() {
        copy_dir(&state.join("home"), &home);
    } else {
        std::fs::create_dir(&home).expect("home dir");
    }
    let misses = tmp.path().join("misses");
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .env_clear()
        .envs(env)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", &home)
        .env("PLAYLAB_FIXTURE", &commands)
        .env("PLAYLAB_MISSES", &misses)
        .output()
        .expect("bash must be installed to run the lesson checks");
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        misses: std::fs::read_to_string(&misses)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect(),
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Runs every shell check of every step of `id` against its before and after fixtures.
/// Returns the number of checks exercised, so a test also proves it tested something.
fn assert_checks_fail_before_and_pass_after(id: &str) -> usize {
    let lesson = load(id);
    let mut problems = Vec::new();
    let mut exercised = 0;
    for (index, step) in lesson.steps.iter().enumerate() {
        let dir = content_dir()
            .join(id)
            .join(format!("tests/step{}", index + 1));
        for check in &step.checks {
            let Check::Shell(check) = check else { continue };
            exercised += 1;
            let env = &lesson
                .environment
                .node(&check.node)
                .unwrap_or_else(|| panic!("{id}: no node {}", check.node))
                .env;
            let name = format!("{id} step {} ({}) on {}", index + 1, step.title, check.node);
            let before = run_check(&check.run, &dir.join("before"), env);
            let after = run_check(&check.run, &dir.join("after"), env);
            if before.code == Some(0) {
                problems.push(format!("{name}: passes before its solution"));
            } else if before.stdout.trim().is_empty() {
                problems.push(format!("{name}: fails before without saying why"));
            }
            if after.code != Some(0) {
                problems.push(format!(
                    "{name}: fails after its solution ({:?}): {}",
                    after.code, after.stdout
                ));
            }
            let mut outcomes = vec![("before".to_owned(), before), ("after".to_owned(), after)];
            for state in failing_states(&dir) {
                let state_name = state.file_name().unwrap().to_string_lossy().into_owned();
                let want = std::fs::read_to_string(state.join("expect.txt"))
                    .unwrap_or_else(|e| panic!("{}/expect.txt: {e}", state.display()));
                let outcome = run_check(&check.run, &state, env);
                if outcome.code == Some(0) || !outcome.stdout.contains(want.trim()) {
                    problems.push(format!(
                        "{name}: state {state_name} should fail saying `{}`, got {:?}: {}",
                        want.trim(),
                        outcome.code,
                        outcome.stdout
                    ));
                }
                outcomes.push((state_name, outcome));
            }
            for (state, outcome) in &outcomes {
                for miss in &outcome.misses {
                    problems.push(format!("{name}: no recorded output {state} for `{miss}`"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    exercised
}

/// The `fail-*` states of a step's fixtures, sorted.
fn failing_states(step_dir: &Path) -> Vec<PathBuf> {
    let mut states: Vec<PathBuf> = std::fs::read_dir(step_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("fail-"))
                })
                .collect()
        })
        .unwrap_or_default();
    states.sort();
    states
}

/// Every kubeadm node asks for what `content/images/kubeadm-node/README.md` says the
/// image needs at run time, so that README (and `--allow-system-nodes`) is all an
/// operator has to read.
#[test]
fn kubeadm_nodes_ask_for_systemd_system_2_cpus_and_2gi() {
    for id in ["kubeadm-init", "kubeadm-upgrade"] {
        let lesson = load(id);
        let nodes: Vec<_> = lesson.environment.nodes.iter().collect();
        assert_eq!(nodes.len(), 2, "{id}");
        for node in nodes {
            let what = (node.systemd, node.system, node.cpus, node.memory_bytes);
            assert_eq!(what, (true, true, 2.0, 2 << 30), "{id} node {}", node.name);
        }
    }
}

#[test]
fn kubeadm_init_checks_fail_before_and_pass_after() {
    assert_eq!(assert_checks_fail_before_and_pass_after("kubeadm-init"), 5);
}

#[test]
fn kubeadm_upgrade_checks_fail_before_and_pass_after() {
    assert_eq!(
        assert_checks_fail_before_and_pass_after("kubeadm-upgrade"),
        6
    );
}

/// Each order case is `expect <exit> <message start>` and then `node<TAB>typed line`
/// lines; the lesson's own module judges it in the real sandbox.
#[tokio::test]
async fn kubeadm_upgrade_order_check_judges_recorded_transcripts() {
    let lesson = load("kubeadm-upgrade");
    let step = lesson
        .steps
        .iter()
        .position(|s| s.checks.iter().any(|c| matches!(c, Check::Wasm(_))))
        .expect("kubeadm-upgrade has a WASM check");
    let Some(Check::Wasm(check)) = lesson.steps[step]
        .checks
        .iter()
        .find(|c| matches!(c, Check::Wasm(_)))
    else {
        unreachable!()
    };
    let checker = WasmChecker::new(WasmLimits::default()).expect("wasm engine");
    let cases = content_dir().join("kubeadm-upgrade/tests/step5/order");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&cases)
        .expect("order cases")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    assert!(
        names.len() >= 4,
        "too few order cases in {}",
        cases.display()
    );
    let probes = [ProbeResult {
        node: "controlplane".into(),
        exit: Some(0),
        stdout: "controlplane   Ready   control-plane   40m   v1.31.2\n".into(),
        stderr: String::new(),
    }];
    for case in names {
        let text = std::fs::read_to_string(&case).expect("read case");
        let mut lines = text.lines().filter(|l| !l.starts_with('#'));
        let expect = lines.next().expect("an `expect` line");
        let (want_code, want_message) = expect
            .strip_prefix("expect ")
            .and_then(|e| e.split_once(' '))
            .unwrap_or_else(|| panic!("{}: bad expect line `{expect}`", case.display()));
        let mut transcript = Transcript::new();
        for (i, line) in lines.enumerate() {
            let (node, typed) = line.split_once('\t').expect("node<TAB>line");
            transcript.push(TranscriptEntry {
                node: node.into(),
                at: 1_764_000_000_000 + i as u64 * 1000,
                line: typed.into(),
            });
        }
        let input = WasmInput {
            probes: &probes,
            transcript: &transcript,
            step,
        };
        let verdict = checker
            .run(&check.module, serde_json::to_vec(&input).expect("json"))
            .await;
        let WasmVerdict::Exited { code, stdout, .. } = verdict else {
            panic!(
                "{}: the sandbox stopped the module: {verdict:?}",
                case.display()
            );
        };
        assert_eq!(code.to_string(), want_code, "{}: {stdout}", case.display());
        assert!(
            stdout.starts_with(want_message),
            "{}: says `{stdout}`, expected `{want_message}`",
            case.display()
        );
    }
}

/// The harness itself must be able to fail: a check that ignores the recorded state
/// (always passes) is caught, and so is a command line nobody recorded.
#[test]
fn the_harness_catches_weak_checks_and_unrecorded_commands() {
    let state = content_dir().join("kubeadm-init/tests/step5/before");
    let none = BTreeMap::new();
    let always = run_check("true", &state, &none);
    assert_eq!(
        always.code,
        Some(0),
        "`true` passes, which the lesson test reports"
    );
    let unrecorded = run_check("kubectl get pods -A", &state, &none);
    assert_eq!(unrecorded.code, Some(97));
    assert_eq!(unrecorded.misses, vec!["kubectl get pods -A".to_owned()]);
    let recorded = run_check("kubectl get nodes --no-headers", &state, &none);
    assert_eq!(recorded.code, Some(0));
    assert!(
        recorded.stdout.starts_with("controlplane   Ready"),
        "{}",
        recorded.stdout
    );
}

/// The lesson ships a copy of the order check whose source of truth is the runner's
/// tested module (see `checks-wasm/README.md`); the copy must not drift from it.
#[test]
fn the_lessons_order_check_is_the_tested_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let shipped = std::fs::read(root.join("content/kubeadm-upgrade/checks/upgrade-order.wat"))
        .expect("the lesson's module");
    let tested = std::fs::read(root.join("runner/tests/wasm/upgrade-order.wat"))
        .expect("the runner's module");
    assert!(
        shipped == tested,
        "content/kubeadm-upgrade/checks/upgrade-order.wat differs from runner/tests/wasm/upgrade-order.wat: copy it again"
    );
}
