//! Checks: how playlab decides that a step is done.
//!
//! A **check** is a shell script on a node (exit 0 passes) or a WASM module judging
//! the output of probes run on nodes; quiz steps are judged without a node (see
//! [`quiz`]). Both kinds can see what the learner typed (the [`Transcript`]), which
//! lets a lesson check the *order* of commands, something no script inside a node can
//! see reliably.
//!
//! [`run_check`] runs one check; [`crate::judge`] runs a step's quiz and checks through
//! it for both the server and `playlab test`, so a check behaves the same for a
//! learner and in a lesson's self-test. A check never
//! hangs (every exec has a timeout, every module a deadline) and never "passes" by
//! accident: a timeout, a crashed module or garbage output is a failure with a reason.

mod outcome;
pub mod quiz;
mod sentences;
pub mod transcript;
pub mod wasm;

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::try_join_all;
use scenarios::{Check, DEFAULT_CHECK_TIMEOUT, ShellCheck, WasmCheck};

use crate::backend::{Backend, ExecOutput, ExecRequest};
use crate::error::RunnerError;
use crate::session::SessionId;
pub use outcome::CheckOutcome;
pub use quiz::{correct_answers, judge_quiz};
use sentences::Sentence;
pub use transcript::{LineAssembler, Transcript, TranscriptEntry};
pub use wasm::{
    ProbeResult, SandboxFailure, SandboxFailureKind, WasmChecker, WasmError, WasmInput, WasmLimits,
    WasmVerdict,
};

/// The pause between attempts of a shell check with a `wait`.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// Where, inside a node, the transcript file for a shell check is written. `/tmp` is
/// writable on every image and a tmpfs on systemd nodes; each check run gets its own
/// file (removed when the check ends), so concurrent checks never see each other's.
pub const TRANSCRIPT_DIR: &str = "/tmp/playlab";

/// What a check may look at besides the nodes.
#[derive(Clone, Copy)]
pub struct CheckContext<'a> {
    /// The step being checked, counting from 0.
    pub step: usize,
    pub transcript: &'a Transcript,
    pub wasm: &'a WasmChecker,
    /// Whether shell checks honour their `wait` and retry. `playlab test` turns it off
    /// before a step's solution, where a check is expected to fail and waiting for it
    /// would only slow the self-test down.
    pub retry: bool,
    /// The language of the lesson being judged (`Lesson::language` of the lesson, as
    /// localized for the learner): the runner's own sentences are said in it.
    pub language: &'a str,
}

/// Runs one check of a session's step. `Err` means the check could not be run at all
/// (no such environment or node, the backend is down); everything that is the check's
/// own doing is an `Ok` outcome that did not pass.
pub async fn run_check(
    backend: &dyn Backend,
    session: &SessionId,
    check: &Check,
    ctx: &CheckContext<'_>,
) -> Result<CheckOutcome, RunnerError> {
    match check {
        Check::Shell(shell) => run_shell_check(backend, session, shell, ctx).await,
        Check::Wasm(wasm) => run_wasm_check(backend, session, wasm, ctx).await,
    }
}

async fn run_shell_check(
    backend: &dyn Backend,
    session: &SessionId,
    check: &ShellCheck,
    ctx: &CheckContext<'_>,
) -> Result<CheckOutcome, RunnerError> {
    let started = Instant::now();
    let wait = if ctx.retry {
        check.wait
    } else {
        Duration::ZERO
    };
    let transcript = Bytes::from(ctx.transcript.to_tsv());
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut request = ExecRequest::new(with_transcript(&check.run), check.timeout);
        request.stdin = Some(transcript.clone());
        request
            .env
            .push(("PLAYLAB_STEP".into(), ctx.step.to_string()));
        let output = backend.exec(session, &check.node, request).await?;
        // Attempts start on a one-second grid from the first one, so a check with
        // `wait: 5s` gets an attempt at 0, 1, ..., 5 s; one that ran long is followed
        // at once by the next.
        let next_attempt = started + RETRY_INTERVAL * attempts;
        if output.success() || next_attempt > started + wait {
            return Ok(shell_outcome(
                check,
                output,
                attempts,
                started.elapsed(),
                ctx.language,
            ));
        }
        tokio::time::sleep_until(next_attempt.into()).await;
    }
}

fn shell_outcome(
    check: &ShellCheck,
    output: ExecOutput,
    attempts: u32,
    duration: Duration,
    language: &str,
) -> CheckOutcome {
    let message = if output.success() {
        String::new()
    } else if output.timed_out {
        Sentence::TimedOut(check.timeout).in_language(language)
    } else {
        check.fail.clone().unwrap_or_else(|| {
            Sentence::DidNotPass {
                exit_code: output.exit_code,
            }
            .in_language(language)
        })
    };
    CheckOutcome {
        passed: output.success(),
        message,
        output: output.stdout.trim_end().to_owned(),
        timed_out: output.timed_out,
        attempts,
        duration,
    }
}

/// Wraps a check script so that, in a single exec, the transcript arriving on stdin is
/// saved to a fresh file named by `PLAYLAB_TRANSCRIPT`, the script runs (in a subshell,
/// so its `exit` cannot skip the cleanup) with stdin closed, and the file is removed.
/// One exec instead of an upload plus an exec keeps the round trip short.
fn with_transcript(script: &str) -> String {
    format!(
        "PLAYLAB_TRANSCRIPT=$(mkdir -p {TRANSCRIPT_DIR} && mktemp {TRANSCRIPT_DIR}/transcript.XXXXXX) || exit 125\n\
         export PLAYLAB_TRANSCRIPT\n\
         trap 'rm -f \"$PLAYLAB_TRANSCRIPT\"' EXIT\n\
         cat >\"$PLAYLAB_TRANSCRIPT\"\n\
         (\n{script}\n) </dev/null\n"
    )
}

async fn run_wasm_check(
    backend: &dyn Backend,
    session: &SessionId,
    check: &WasmCheck,
    ctx: &CheckContext<'_>,
) -> Result<CheckOutcome, RunnerError> {
    let started = Instant::now();
    let probes = try_join_all(check.probes.iter().map(|probe| async move {
        let output = backend
            .exec(
                session,
                &probe.node,
                ExecRequest::new(probe.run.clone(), DEFAULT_CHECK_TIMEOUT),
            )
            .await?;
        Ok::<_, RunnerError>(ProbeResult {
            node: probe.node.clone(),
            exit: output.exit_code,
            stdout: output.stdout,
            stderr: output.stderr,
        })
    }))
    .await?;
    let input = WasmInput {
        probes: &probes,
        transcript: ctx.transcript,
        step: ctx.step,
    };
    let input = serde_json::to_vec(&input).expect("check input always serializes to JSON");
    let verdict = ctx.wasm.run(&check.module, input).await;
    Ok(wasm_outcome(
        check,
        verdict,
        started.elapsed(),
        ctx.language,
    ))
}

fn wasm_outcome(
    check: &WasmCheck,
    verdict: WasmVerdict,
    duration: Duration,
    language: &str,
) -> CheckOutcome {
    let (passed, message, output, timed_out) = match verdict {
        WasmVerdict::Exited { code, stdout, .. } => {
            let first = stdout.lines().next().unwrap_or_default().trim().to_owned();
            let message = if code == 0 {
                first
            } else {
                check
                    .fail
                    .clone()
                    .or((!first.is_empty()).then_some(first))
                    .unwrap_or_else(|| {
                        Sentence::DidNotPass {
                            exit_code: Some(code.into()),
                        }
                        .in_language(language)
                    })
            };
            (code == 0, message, stdout.trim_end().to_owned(), false)
        }
        WasmVerdict::Failed(failure) => (
            false,
            failure.reason,
            failure.stdout.trim_end().to_owned(),
            failure.kind == SandboxFailureKind::Deadline,
        ),
    };
    CheckOutcome {
        passed,
        message,
        output,
        timed_out,
        attempts: 1,
        duration,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasm_failures_prefer_the_author_fail_text() {
        let check = WasmCheck {
            module: "m.wat".into(),
            probes: vec![],
            fail: Some("Back up etcd first.".into()),
        };
        let exited = |code| WasmVerdict::Exited {
            code,
            stdout: "apply ran before the snapshot\nmore".into(),
            stderr: String::new(),
        };
        let pass = wasm_outcome(&check, exited(0), Duration::ZERO, "en");
        assert!(pass.passed);
        assert_eq!(pass.message, "apply ran before the snapshot");
        let fail = wasm_outcome(&check, exited(1), Duration::ZERO, "en");
        assert!(!fail.passed);
        assert_eq!(fail.message, "Back up etcd first.");
        assert_eq!(fail.output, "apply ran before the snapshot\nmore");
        let no_fail_text = WasmCheck {
            fail: None,
            ..check
        };
        let fail = wasm_outcome(&no_fail_text, exited(3), Duration::ZERO, "en");
        assert_eq!(fail.message, "apply ran before the snapshot");
    }
}
