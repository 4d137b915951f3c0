//! Judging a step: the one place that decides whether a learner (or a self-test) is
//! done with a step.
//!
//! A step is judged item by item: its quiz questions first (validated, then judged by
//! [`judge_quiz`]), then each check in order through [`run_check`]. Every item's
//! verdict is a [`CheckOutcome`], so the server and `playlab test` read one type.
//!
//! The server wants the whole step or an error ([`judge_step`]); the self-test wants
//! to name each check that could not run and still judge the others (`judge_items`).
//! Both walk the same lazy stream, so the only difference between them is where they
//! stop.

use futures::stream::{self, Stream, StreamExt, TryStreamExt};
use scenarios::Step;

use crate::backend::Backend;
use crate::checks::{CheckContext, CheckOutcome, judge_quiz, run_check};
use crate::error::RunnerError;
use crate::session::SessionId;

/// The verdict on a step: one outcome per quiz question, then one per check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepVerdict {
    /// Every item passed (a step with neither quiz nor checks passes).
    pub passed: bool,
    pub checks: Vec<CheckOutcome>,
}

impl StepVerdict {
    pub fn new(checks: Vec<CheckOutcome>) -> Self {
        StepVerdict {
            passed: checks.iter().all(|c| c.passed),
            checks,
        }
    }
}

/// The learner's quiz answers do not fit the step's questions. This is the client's
/// mistake (a malformed request), not a wrong answer, so it is not a verdict.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("this step is a quiz: send {expected} answers as {{\"answers\": [[index, ...], ...]}}")]
    Missing { expected: usize },
    #[error("expected {expected} answers, got {got}")]
    Count { expected: usize, got: usize },
    #[error("answer {item}: choice {choice} does not exist")]
    Range { item: usize, choice: usize },
}

/// Why a step could not be judged at all.
#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    #[error(transparent)]
    Answers(#[from] AnswerError),
    /// A check could not be run (no such environment or node, the backend failed).
    #[error(transparent)]
    Runner(#[from] RunnerError),
}

/// Judges the step: the quiz `answers` (required when the step has a quiz), then every
/// check in order. The first check that cannot run ends the judging with its error.
pub async fn judge_step(
    backend: &dyn Backend,
    session: &SessionId,
    step: &Step,
    answers: Option<&[Vec<usize>]>,
    ctx: &CheckContext<'_>,
) -> Result<StepVerdict, JudgeError> {
    let checks = judge_items(backend, session, step, answers, ctx)?
        .try_collect()
        .await?;
    Ok(StepVerdict::new(checks))
}

/// The step's items judged one at a time, in [`StepVerdict`] order: quiz questions,
/// then checks, each check run only when the stream is polled for it. A check that
/// cannot run is an `Err` item; the stream goes on with the next check if polled.
pub(crate) fn judge_items<'a>(
    backend: &'a dyn Backend,
    session: &'a SessionId,
    step: &'a Step,
    answers: Option<&[Vec<usize>]>,
    ctx: &'a CheckContext<'a>,
) -> Result<impl Stream<Item = Result<CheckOutcome, RunnerError>> + Send + 'a, AnswerError> {
    let quiz = if step.quiz.is_empty() {
        Vec::new()
    } else {
        judge_quiz(&step.quiz, validate_answers(step, answers)?, ctx.language)
    };
    let checks =
        stream::iter(&step.checks).then(move |check| run_check(backend, session, check, ctx));
    Ok(stream::iter(quiz).map(Ok).chain(checks))
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

/// Steps and a fake backend for unit tests of judging, here and in the self-test.
#[cfg(test)]
pub(crate) mod fake {
    use std::sync::Arc;
    use std::time::Duration;

    use scenarios::{Check, Page, QuizItem, ShellCheck};

    use super::*;
    use crate::backend::ExecOutput;
    use crate::checks::{Transcript, WasmChecker, WasmLimits};
    use crate::testing::FakeBackend;

    pub(crate) fn check(node: &str) -> Check {
        Check::Shell(ShellCheck {
            node: node.into(),
            run: "true".into(),
            fail: Some(format!("{node} failed")),
            timeout: Duration::from_secs(1),
            wait: Duration::ZERO,
        })
    }

    /// A step with `quiz` questions (each answered by choice 1) and a shell check on
    /// each of `checks`' nodes.
    pub(crate) fn step(quiz: usize, checks: &[&str]) -> Step {
        let item = |i| QuizItem {
            question: format!("q{i}"),
            choices: vec!["a".into(), "b".into()],
            answer: vec![1],
            explain: Some(format!("q{i} is b")),
        };
        Step {
            title: "step".into(),
            text: Page {
                path: "step.md".into(),
                markdown: String::new(),
            },
            hint: None,
            setup: vec![],
            checks: checks.iter().map(|n| check(n)).collect(),
            solve: vec![],
            quiz: (0..quiz).map(item).collect(),
        }
    }

    /// What judging needs besides the step: a session on a fresh [`FakeBackend`]
    /// whose node `pass` exits 0 and prints `fine`, node `fail` exits 1 and prints
    /// `nope` (any other node does not exist), an empty transcript and a WASM checker.
    pub(crate) struct Setup {
        pub(crate) backend: Arc<FakeBackend>,
        pub(crate) session: SessionId,
        pub(crate) transcript: Transcript,
        pub(crate) wasm: WasmChecker,
    }

    impl Setup {
        pub(crate) fn new() -> Self {
            let backend = FakeBackend::new();
            let session: SessionId = "judge1".parse().unwrap();
            backend.add_environment(&session, &["pass", "fail"]);
            backend.on_exec(|node, _| {
                let (code, stdout) = if node == "pass" {
                    (0, "fine")
                } else {
                    (1, "nope")
                };
                ExecOutput {
                    exit_code: Some(code),
                    stdout: format!("{stdout}\n"),
                    ..ExecOutput::default()
                }
            });
            Setup {
                backend,
                session,
                transcript: Transcript::new(),
                wasm: WasmChecker::new(WasmLimits::default()).unwrap(),
            }
        }

        /// The nodes checks ran on, in order.
        pub(crate) fn ran(&self) -> Vec<String> {
            self.backend.execs().into_iter().map(|e| e.node).collect()
        }

        pub(crate) fn ctx(&self) -> CheckContext<'_> {
            CheckContext {
                step: 0,
                transcript: &self.transcript,
                wasm: &self.wasm,
                retry: true,
                language: "en",
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::{Setup, step};
    use super::*;

    /// Judges `step` on a fresh [`Setup`]; returns the verdict and the nodes run on.
    async fn judge(
        step: &Step,
        answers: Option<&[Vec<usize>]>,
    ) -> (Result<StepVerdict, JudgeError>, Vec<String>) {
        let setup = Setup::new();
        let verdict =
            judge_step(&*setup.backend, &setup.session, step, answers, &setup.ctx()).await;
        (verdict, setup.ran())
    }

    #[tokio::test]
    async fn quiz_answers_that_do_not_fit_are_refused_before_any_check_runs() {
        let quiz = step(2, &["pass"]);
        let cases: [(Option<&[Vec<usize>]>, &str); 3] = [
            (
                None,
                "this step is a quiz: send 2 answers as {\"answers\": [[index, ...], ...]}",
            ),
            (Some(&[vec![1]]), "expected 2 answers, got 1"),
            (
                Some(&[vec![1], vec![0, 2]]),
                "answer 1: choice 2 does not exist",
            ),
        ];
        for (answers, message) in cases {
            let (verdict, ran) = judge(&quiz, answers).await;
            match verdict {
                Err(JudgeError::Answers(e)) => assert_eq!(e.to_string(), message),
                other => panic!("{answers:?}: expected an answer error, got {other:?}"),
            }
            assert!(ran.is_empty(), "{answers:?}: checks ran: {ran:?}");
        }
    }

    #[tokio::test]
    async fn quiz_items_come_first_then_checks_in_order() {
        let (verdict, ran) = judge(&step(2, &["pass", "pass"]), Some(&[vec![1], vec![1]])).await;
        let verdict = verdict.unwrap();
        assert!(verdict.passed);
        assert_eq!(ran, ["pass", "pass"]);
        let outputs: Vec<&str> = verdict.checks.iter().map(|c| c.output.as_str()).collect();
        assert_eq!(outputs, ["", "", "fine", "fine"]);

        let (verdict, _) = judge(&step(2, &[]), Some(&[vec![0], vec![1]])).await;
        let verdict = verdict.unwrap();
        assert!(!verdict.passed);
        let messages: Vec<&str> = verdict.checks.iter().map(|c| c.message.as_str()).collect();
        assert_eq!(messages, ["q0 is b", ""]);
    }

    #[tokio::test]
    async fn a_failing_check_fails_the_step_and_the_others_still_run() {
        let (verdict, ran) = judge(&step(0, &["fail", "pass"]), None).await;
        let verdict = verdict.unwrap();
        assert!(!verdict.passed);
        assert_eq!(ran, ["fail", "pass"]);
        let first = &verdict.checks[0];
        assert!(!first.passed);
        assert_eq!(first.message, "fail failed");
        assert_eq!(first.output, "nope");
        assert!(verdict.checks[1].passed);
    }

    #[tokio::test]
    async fn a_check_that_cannot_run_ends_the_judging_with_its_error() {
        let (verdict, ran) = judge(&step(0, &["pass", "gone", "pass"]), None).await;
        match verdict {
            Err(JudgeError::Runner(RunnerError::NoNode { node, .. })) => assert_eq!(node, "gone"),
            other => panic!("expected the backend's error, got {other:?}"),
        }
        assert_eq!(ran, ["pass"], "no check runs after the error");
    }

    #[tokio::test]
    async fn items_go_on_past_a_check_that_cannot_run() {
        let setup = Setup::new();
        let ctx = setup.ctx();
        let step = step(0, &["gone", "fail"]);
        let items: Vec<_> = judge_items(&*setup.backend, &setup.session, &step, None, &ctx)
            .unwrap()
            .collect()
            .await;
        assert!(matches!(items[0], Err(RunnerError::NoNode { .. })));
        assert!(matches!(&items[1], Ok(outcome) if !outcome.passed));
    }

    #[test]
    fn a_step_without_items_passes() {
        assert!(StepVerdict::new(Vec::new()).passed);
    }
}
