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
//! rest of the check (grep, awk, stat) is real. A check must fail before, with a message,
//! and pass after; a fake asked for a command line that was not recorded makes the test
//! fail, so fixtures and checks cannot drift apart silently.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

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
    let load = load_lesson(&content_dir().join(id), &ImageMap::default());
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

fn run_check(script: &str, state: &Path) -> Outcome {
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

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read fixture home") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy fixture file");
        }
    }
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
            let before = run_check(&check.run, &dir.join("before"));
            let after = run_check(&check.run, &dir.join("after"));
            let name = format!("{id} step {} ({})", index + 1, step.title);
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
            for (state, outcome) in [("before", &before), ("after", &after)] {
                for miss in &outcome.misses {
                    problems.push(format!("{name}: no recorded output {state} for `{miss}`"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    exercised
}

#[test]
fn kubeadm_init_checks_fail_before_and_pass_after() {
    assert_eq!(assert_checks_fail_before_and_pass_after("kubeadm-init"), 5);
}

/// The harness itself must be able to fail: a check that ignores the recorded state
/// (always passes) is caught, and so is a command line nobody recorded.
#[test]
fn the_harness_catches_weak_checks_and_unrecorded_commands() {
    let state = content_dir().join("kubeadm-init/tests/step5/before");
    let always = run_check("true", &state);
    assert_eq!(
        always.code,
        Some(0),
        "`true` passes, which the lesson test reports"
    );
    let unrecorded = run_check("kubectl get pods -A", &state);
    assert_eq!(unrecorded.code, Some(97));
    assert_eq!(unrecorded.misses, vec!["kubectl get pods -A".to_owned()]);
    let recorded = run_check("kubectl get nodes --no-headers", &state);
    assert_eq!(recorded.code, Some(0));
    assert!(
        recorded.stdout.starts_with("controlplane   Ready"),
        "{}",
        recorded.stdout
    );
}
