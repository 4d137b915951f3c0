//! The `check` endpoint's judging: quiz answers validated here (a malformed answer is
//! the client's mistake, a 422, not a wrong answer), then judged, with the step's
//! checks, by `runner::checks`, the same code `playlab test` uses.

use runner::checks::{CheckContext, Transcript, WasmChecker, judge_quiz, run_check};
use runner::{Backend, RunnerError, SessionId};
use scenarios::Step;
use serde::Serialize;

/// One line of a check's verdict as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub passed: bool,
    /// Empty on a pass; else the author's `fail` text or a quiz item's explanation.
    pub message: String,
    /// The check's own output, shown below the message.
    pub output: String,
}

/// The learner's quiz answers do not fit the step's questions.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("this step is a quiz: send {expected} answers as {{\"answers\": [[index, ...], ...]}}")]
    Missing { expected: usize },
    #[error("expected {expected} answers, got {got}")]
    Count { expected: usize, got: usize },
    #[error("answer {item}: choice {choice} does not exist")]
    Range { item: usize, choice: usize },
}

fn validate_answers<'a>(
    step: &Step,
    answers: Option<&'a [Vec<usize>]>,
) -> Result<&'a [Vec<usize>], AnswerError> {
    let expected = step.quiz.len();
    let answers = answers.ok_or(AnswerError::Missing { expected })?;
    if answers.len() != expected {
        return Err(AnswerError::Count {
            expected,
            got: answers.len(),
        });
    }
    for (item, (quiz, given)) in step.quiz.iter().zip(answers).enumerate() {
        if let Some(&choice) = given.iter().find(|&&c| c >= quiz.choices.len()) {
            return Err(AnswerError::Range { item, choice });
        }
    }
    Ok(answers)
}

#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    #[error(transparent)]
    Answers(#[from] AnswerError),
    #[error(transparent)]
    Runner(#[from] RunnerError),
}

/// Judges the step: quiz answers first, then every check in order.
pub async fn judge_step(
    backend: &dyn Backend,
    wasm: &WasmChecker,
    session: &SessionId,
    step_index: usize,
    step: &Step,
    answers: Option<&[Vec<usize>]>,
    transcript: &Transcript,
) -> Result<Vec<CheckResult>, JudgeError> {
    let mut results = Vec::new();
    if !step.quiz.is_empty() {
        let answers = validate_answers(step, answers)?;
        results.extend(
            judge_quiz(&step.quiz, answers)
                .into_iter()
                .map(|r| CheckResult {
                    passed: r.passed,
                    message: r.message,
                    output: String::new(),
                }),
        );
    }
    let ctx = CheckContext {
        step: step_index,
        transcript,
        wasm,
        retry: true,
    };
    for check in &step.checks {
        let outcome = run_check(backend, session, check, &ctx).await?;
        results.push(CheckResult {
            passed: outcome.passed,
            message: outcome.message,
            output: outcome.output,
        });
    }
    Ok(results)
}
