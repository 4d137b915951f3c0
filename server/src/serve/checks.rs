//! Running a step's checks for the `check` endpoint: shell checks on the session's
//! nodes and quiz answers judged here.
//!
//! The one place the server calls into check execution, so the runner's checks
//! module replaces the shell part without touching the API.

use std::time::{Duration, Instant};

use runner::{Backend, ExecRequest, SessionId};
use scenarios::{Check, Step};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub passed: bool,
    /// Why it failed (the author's `fail` text and the check's own output), or what a
    /// quiz answer's explanation says.
    pub message: Option<String>,
}

/// The learner's quiz answers do not fit the step.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("this step is a quiz: send {expected} answers as {{\"answers\": [[index, ...], ...]}}")]
    Missing { expected: usize },
    #[error("expected {expected} answers, got {got}")]
    Count { expected: usize, got: usize },
    #[error("answer {item}: choice {choice} does not exist")]
    Range { item: usize, choice: usize },
}

/// Judges quiz answers; `Err` when they do not fit the questions.
pub fn judge_quiz(step: &Step, answers: Option<&[Vec<usize>]>) -> Result<Vec<CheckResult>, AnswerError> {
    if step.quiz.is_empty() {
        return Ok(Vec::new());
    }
    let expected = step.quiz.len();
    let answers = answers.ok_or(AnswerError::Missing { expected })?;
    if answers.len() != expected {
        return Err(AnswerError::Count {
            expected,
            got: answers.len(),
        });
    }
    step.quiz
        .iter()
        .zip(answers)
        .enumerate()
        .map(|(item, (quiz, given))| {
            if let Some(&choice) = given.iter().find(|&&c| c >= quiz.choices.len()) {
                return Err(AnswerError::Range { item, choice });
            }
            let mut given = given.clone();
            given.sort_unstable();
            given.dedup();
            let mut correct = quiz.answer.clone();
            correct.sort_unstable();
            let passed = given == correct;
            Ok(CheckResult {
                passed,
                message: (!passed).then(|| {
                    quiz.explain
                        .clone()
                        .unwrap_or_else(|| format!("\"{}\": not quite, try again", quiz.question))
                }),
            })
        })
        .collect()
}

/// Runs every check of the step, in order.
pub async fn run_checks(backend: &dyn Backend, session: &SessionId, step: &Step) -> Vec<CheckResult> {
    let mut results = Vec::with_capacity(step.checks.len());
    for check in &step.checks {
        results.push(run_check(backend, session, check).await);
    }
    results
}

async fn run_check(backend: &dyn Backend, session: &SessionId, check: &Check) -> CheckResult {
    let Check::Shell(shell) = check else {
        return CheckResult {
            passed: false,
            message: Some("WASM checks are not supported by this server build".into()),
        };
    };
    let deadline = Instant::now() + shell.wait;
    loop {
        let request = ExecRequest::new(shell.run.clone(), shell.timeout);
        let failure = match backend.exec(session, &shell.node, request).await {
            Ok(out) if out.success() => {
                return CheckResult {
                    passed: true,
                    message: None,
                };
            }
            Ok(out) if out.timed_out => format!("the check timed out after {:?}", shell.timeout),
            Ok(out) => out.stdout.trim_end().to_owned(),
            Err(e) => format!("the check could not run: {e}"),
        };
        if Instant::now() >= deadline {
            let message = [check.fail_message().unwrap_or("the check did not pass"), &failure]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("\n");
            return CheckResult {
                passed: false,
                message: Some(message),
            };
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
