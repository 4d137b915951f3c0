//! Lesson self-tests: prove, in a real environment, that every step's checks fail
//! before the author's solution and pass after it.
//!
//! This is what `playlab test` runs, and what makes lesson content testable in CI
//! (Instruqt's `track test` does the same). For each lesson: start an environment,
//! then for each step in order, in the same environment: run the step's setup, run its
//! checks and expect every one to FAIL (a check that passes before the solution would
//! let a learner through without doing the work: it is "too weak"), run `solve`, run
//! the checks again and expect every one to PASS. Quiz steps are judged with no answer
//! (must fail) and with their declared `answer` (must pass). The first step with a
//! problem ends the lesson's run, since later steps build on its state. The
//! environment is always destroyed unless the caller asks to keep it. Killercoda
//! `foreground` scripts, typed into a learner's terminal, run out of sight here.
//!
//! Solve scripts are not typed into a terminal, so their lines are added to the
//! session's [`Transcript`] as if the learner had typed them on the script's node:
//! checks that judge the order of commands are tested like any other.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;

use scenarios::{Lesson, Script, Step};

use crate::backend::{Backend, ProgressSender};
use crate::checks::{CheckContext, CheckOutcome, Transcript, WasmChecker, correct_answers};
use crate::environment::{DEFAULT_SETUP_TIMEOUT, foreground_setup, run_setup};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::error::RunnerError;
use crate::judge::judge_items;
use crate::session::SessionId;

#[derive(Debug, Clone, Copy, Default)]
pub struct SelfTestOptions {
    /// Leave the environment running after the test, for the author to inspect.
    pub keep: bool,
    /// Report what a learner is told when a step is checked before it is done (the
    /// checks' failure messages, the quiz's explanations): for reviewing them, in the
    /// lesson's own language or a translation.
    pub show_messages: bool,
}

/// The self-test of one lesson.
#[derive(Debug, Clone, PartialEq)]
pub struct LessonReport {
    pub lesson: String,
    pub session: SessionId,
    pub result: LessonResult,
    /// How long the environment took to start.
    pub start: Duration,
    /// One entry per step that was run, in order.
    pub steps: Vec<StepReport>,
    /// The environment's nodes, once it started.
    pub nodes: Vec<String>,
    /// The environment was left running (`--keep`).
    pub kept: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LessonResult {
    Passed,
    /// The lesson is broken; `step` is `None` when the environment did not start.
    Failed {
        step: Option<usize>,
        problems: Vec<String>,
    },
    /// The lesson could not be tested here, which is not a pass.
    Skipped {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepReport {
    /// Counting from 0.
    pub index: usize,
    pub title: String,
    pub before: Phase,
    pub after: Phase,
    pub duration: Duration,
    /// What went wrong in this step, one sentence each; empty when it passed.
    pub problems: Vec<String>,
    /// What a learner who checks the step before doing it is told, one message per
    /// failed item (kept with [`SelfTestOptions::show_messages`]).
    pub told: Vec<String>,
}

/// How a step's checks fared on one side of its solution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The step has no checks and no quiz.
    Nothing,
    /// Not reached (an earlier part of the step failed).
    NotRun,
    /// As required: all checks failed before solve, all passed after.
    AsExpected,
    /// Not as required.
    Wrong,
    /// A check could not be run at all (no such node, the backend failed).
    Error,
}

impl StepReport {
    fn new(index: usize, step: &Step) -> Self {
        StepReport {
            index,
            title: step.title.clone(),
            before: Phase::NotRun,
            after: Phase::NotRun,
            duration: Duration::ZERO,
            problems: Vec::new(),
            told: Vec::new(),
        }
    }
}

/// Self-tests one lesson in a fresh environment for `session` on `backend`. The
/// caller picks the session id so it can still destroy the environment if the test is
/// interrupted.
pub async fn test_lesson(
    backend: &dyn Backend,
    wasm: &WasmChecker,
    lesson: &Lesson,
    session: &SessionId,
    options: SelfTestOptions,
) -> LessonReport {
    let started = Instant::now();
    let start_result = backend
        .start(session, lesson, ProgressSender::discard())
        .await;
    let mut report = LessonReport {
        lesson: lesson.id.clone(),
        session: session.clone(),
        result: LessonResult::Passed,
        start: started.elapsed(),
        steps: Vec::new(),
        nodes: Vec::new(),
        kept: false,
    };
    report.result = match start_result {
        Ok(info) => {
            report.nodes = info.nodes.into_iter().map(|n| n.name).collect();
            let run = LessonRun {
                backend,
                wasm,
                session,
                language: &lesson.language,
                keep_told: options.show_messages,
            };
            run.test(lesson, &mut report.steps).await
        }
        Err(e) => not_started(e),
    };
    let started_up = matches!(
        report.result,
        LessonResult::Passed | LessonResult::Failed { step: Some(_), .. }
    );
    if options.keep && started_up {
        report.kept = true;
    } else if let Err(e) = backend.destroy(session).await {
        report.result.add_cleanup_problem(e);
    }
    report
}

/// The result of a lesson whose environment did not start: a skip when this machine
/// cannot run it (the image is unavailable, privileged nodes are not allowed), which
/// says nothing about the lesson; otherwise a failure.
fn not_started(e: RunnerError) -> LessonResult {
    match e {
        RunnerError::ImageUnavailable { image, reason } => LessonResult::Skipped {
            reason: format!("image unavailable: {image}: {reason}"),
        },
        e @ RunnerError::SystemNodeNotAllowed { .. } => LessonResult::Skipped {
            reason: e.to_string(),
        },
        e => LessonResult::Failed {
            step: None,
            problems: vec![format!("the environment did not start: {e}")],
        },
    }
}

impl LessonResult {
    /// A failed destroy fails the lesson's run even if it passed: it leaves an
    /// environment behind on the author's machine or in CI.
    fn add_cleanup_problem(&mut self, e: RunnerError) {
        let cleanup = format!("destroying the environment failed: {e}");
        match self {
            LessonResult::Failed { problems, .. } => problems.push(cleanup),
            other => {
                *other = LessonResult::Failed {
                    step: None,
                    problems: vec![cleanup],
                }
            }
        }
    }
}

/// What every step of one lesson's self-test runs against: its environment, on its
/// backend.
struct LessonRun<'a> {
    backend: &'a dyn Backend,
    wasm: &'a WasmChecker,
    session: &'a SessionId,
    /// The lesson's language: the runner's own sentences are said in it.
    language: &'a str,
    /// Keep what a learner is told before the solution (see [`StepReport::told`]).
    keep_told: bool,
}

impl LessonRun<'_> {
    /// Runs the intro's foreground scripts, then tests the steps in order.
    async fn test(&self, lesson: &Lesson, reports: &mut Vec<StepReport>) -> LessonResult {
        // A learner's session types the intro's foreground scripts into the terminal
        // once it is ready; nobody watches a self-test's terminal, so they run out of
        // sight, but they run: later steps may depend on what they do.
        if let Err(problem) = self
            .run_scripts(foreground_setup(lesson), "foreground")
            .await
        {
            return LessonResult::Failed {
                step: None,
                problems: vec![problem],
            };
        }
        let mut transcript = Transcript::new();
        for (index, step) in lesson.steps.iter().enumerate() {
            let started = Instant::now();
            let mut report = StepReport::new(index, step);
            self.test_step(index, step, &mut transcript, &mut report)
                .await;
            report.duration = started.elapsed();
            let problems = report.problems.clone();
            reports.push(report);
            if !problems.is_empty() {
                return LessonResult::Failed {
                    step: Some(index),
                    problems,
                };
            }
        }
        LessonResult::Passed
    }

    /// Setup, checks (all must fail), solve, checks again (all must pass); the first
    /// part with a problem ends the step.
    async fn test_step(
        &self,
        index: usize,
        step: &Step,
        transcript: &mut Transcript,
        report: &mut StepReport,
    ) {
        if let Err(problem) = self.run_scripts(step.setup.iter(), "setup").await {
            report.problems.push(problem);
            return;
        }
        let judged = !step.checks.is_empty() || !step.quiz.is_empty();
        report.before = if judged {
            self.judge(index, step, transcript, false, report).await
        } else {
            Phase::Nothing
        };
        if !report.problems.is_empty() {
            return;
        }
        for script in &step.solve {
            for line in script_lines(&script.run) {
                transcript.record(&script.node, line);
            }
        }
        if let Err(problem) = self.run_scripts(step.solve.iter(), "solve").await {
            report.problems.push(problem);
            return;
        }
        report.after = if judged {
            self.judge(index, step, transcript, true, report).await
        } else {
            Phase::Nothing
        };
    }

    /// Judges every item of the step on one side of its solution (`solved`) and reads
    /// the result into a phase. It goes on past a check that could not run, so that
    /// each such check is named.
    async fn judge(
        &self,
        index: usize,
        step: &Step,
        transcript: &Transcript,
        solved: bool,
        report: &mut StepReport,
    ) -> Phase {
        // Before the solution nothing is answered and nothing waited for: a check is
        // expected to fail, and waiting would only slow the self-test down. After it,
        // the quiz gets its declared answers and checks retry, as a learner's would.
        let answers = if solved {
            correct_answers(&step.quiz)
        } else {
            vec![Vec::new(); step.quiz.len()]
        };
        let ctx = CheckContext {
            step: index,
            transcript,
            wasm: self.wasm,
            retry: solved,
            language: self.language,
        };
        let items = match judge_items(self.backend, self.session, step, Some(&answers), &ctx) {
            Ok(items) => items,
            // A guard: lint refuses a quiz whose declared answers are out of range
            // (scenarios/src/native.rs), so a loaded lesson never gets here; one built
            // in code could, and is reported rather than judged.
            Err(e) => {
                report
                    .problems
                    .push(format!("the quiz's answers do not fit its questions: {e}"));
                return Phase::Error;
            }
        };
        let mut quiz: Vec<_> = items.collect().await;
        let checks = quiz.split_off(step.quiz.len());
        // Quiz items are judged without a node, so none of them is an error.
        let quiz: Vec<CheckOutcome> = quiz.into_iter().flatten().collect();
        if solved {
            return after_solve(&quiz, &checks, &mut report.problems);
        }
        if self.keep_told {
            let outcomes = quiz.iter().chain(checks.iter().flatten());
            report.told = outcomes
                .filter(|o| !o.passed)
                .map(|o| o.message.clone())
                .collect();
        }
        before_solve(&quiz, &checks, &mut report.problems)
    }

    /// Runs scripts in order on their nodes, as an environment's setup runs; the first
    /// that fails ends the run with a sentence naming it (`what` says which scripts
    /// they are: setup, solve).
    async fn run_scripts<'s>(
        &self,
        scripts: impl Iterator<Item = &'s Script> + Send,
        what: &str,
    ) -> Result<(), String> {
        // `run_setup` takes a script only once the one before it succeeded, so the
        // count taken when it fails is the failing script's number.
        let taken = AtomicUsize::new(0);
        let counted = scripts.inspect(|_| {
            taken.fetch_add(1, Ordering::Relaxed);
        });
        let discard = ProgressSender::discard();
        run_setup(
            self.backend,
            self.session,
            counted,
            DEFAULT_SETUP_TIMEOUT,
            &discard,
        )
        .await
        .map_err(|e| script_problem(what, taken.into_inner(), e))
    }
}

/// Before the solution every item must fail: one that passes lets a learner through
/// without doing the work.
fn before_solve(
    quiz: &[CheckOutcome],
    checks: &[Result<CheckOutcome, RunnerError>],
    problems: &mut Vec<String>,
) -> Phase {
    let mut phase = read_checks(checks, problems, |n, outcome| {
        outcome
            .passed
            .then(|| format!("check {n} passes before the solution ran: it is too weak"))
    });
    if !quiz.is_empty() && quiz.iter().all(|q| q.passed) {
        phase = Phase::Wrong;
        problems.push("the quiz passes with no answer given: it is too weak".into());
    }
    phase
}

/// After the solution every item must pass.
fn after_solve(
    quiz: &[CheckOutcome],
    checks: &[Result<CheckOutcome, RunnerError>],
    problems: &mut Vec<String>,
) -> Phase {
    let mut phase = read_checks(checks, problems, |n, outcome| {
        (!outcome.passed).then(|| {
            let mut problem = format!(
                "check {n} fails after the solution ran: {}",
                outcome.message
            );
            if !outcome.output.is_empty() {
                let _ = write!(problem, "\n{}", indent(&outcome.output));
            }
            problem
        })
    });
    for (n, question) in quiz.iter().enumerate().filter(|(_, q)| !q.passed) {
        phase = Phase::Wrong;
        problems.push(format!(
            "quiz question {} fails with its own answer: {}",
            n + 1,
            question.message
        ));
    }
    phase
}

/// Reads the checks' results on one side of the solution into a phase: a check that
/// could not run is an error; `wrong` says what is wrong with one that ran (given its
/// number, from 1), if anything.
fn read_checks(
    results: &[Result<CheckOutcome, RunnerError>],
    problems: &mut Vec<String>,
    wrong: impl Fn(usize, &CheckOutcome) -> Option<String>,
) -> Phase {
    let mut phase = Phase::AsExpected;
    for (n, result) in results.iter().enumerate() {
        let problem = match result {
            Ok(outcome) => match wrong(n + 1, outcome) {
                Some(problem) => {
                    phase = Phase::Wrong;
                    problem
                }
                None => continue,
            },
            Err(e) => {
                phase = Phase::Error;
                format!("check {} could not run: {e}", n + 1)
            }
        };
        problems.push(problem);
    }
    phase
}

/// The sentence for script number `number` (from 1) of the `what` scripts failing
/// with `e`: how it ended and, indented, what it printed.
fn script_problem(what: &str, number: usize, e: RunnerError) -> String {
    let RunnerError::SetupFailed {
        node,
        exit_code,
        stdout,
        stderr,
        ..
    } = e
    else {
        return format!("{what} script {number} could not run: {e}");
    };
    let status = match exit_code {
        Some(code) => format!("exit code {code}"),
        None => format!("timed out after {}s", DEFAULT_SETUP_TIMEOUT.as_secs()),
    };
    let text = [stdout.trim_end(), stderr.trim_end()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "{what} script {number} on node {node} failed ({status}){}",
        if text.is_empty() {
            String::new()
        } else {
            format!(":\n{}", indent(&text))
        }
    )
}

/// The command lines of a script as a learner would type them: non-empty lines that
/// are not comments.
fn script_lines(script: &str) -> impl Iterator<Item = &str> {
    script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The widest a step title is shown in the table.
const STEP_WIDTH: usize = 40;

/// The self-test table's rows for one lesson: one for the environment start, one per
/// step run, then every problem in full. `lesson_width` is the widest lesson id of the
/// whole run, so rows printed lesson by lesson line up under [`render_header`].
pub fn render_report(report: &LessonReport, lesson_width: usize) -> String {
    let mut out = String::new();
    let environment = match &report.result {
        LessonResult::Skipped { .. } => "skipped",
        LessonResult::Failed { step: None, .. } => "FAILED",
        _ => "started",
    };
    out.push_str(&row(
        &report.lesson,
        lesson_width,
        "(environment)",
        "-",
        environment,
        &secs(report.start),
    ));
    for step in &report.steps {
        out.push_str(&row(
            &report.lesson,
            lesson_width,
            &format!("{}. {}", step.index + 1, step.title),
            phase_text(step.before, true),
            phase_text(step.after, false),
            &secs(step.duration),
        ));
        for message in &step.told {
            let first_line = message.lines().next().unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}: tells the learner: {}",
                report.lesson,
                clip(first_line, REASON_WIDTH)
            );
        }
    }
    match &report.result {
        LessonResult::Passed => {}
        LessonResult::Skipped { reason } => {
            let _ = writeln!(out, "  {}: skipped: {}", report.lesson, summarize(reason));
        }
        LessonResult::Failed { step, problems } => {
            let at = match step.and_then(|i| report.steps.iter().find(|s| s.index == i)) {
                Some(s) => format!("step {} \"{}\"", s.index + 1, s.title),
                None => "environment".to_owned(),
            };
            for problem in problems {
                let _ = writeln!(out, "  {} {at}: {problem}", report.lesson);
            }
        }
    }
    out
}

/// The table's header line, matching [`render_report`]'s columns.
pub fn render_header(lesson_width: usize) -> String {
    row(
        "LESSON",
        lesson_width,
        "STEP",
        "BEFORE SOLVE",
        "AFTER SOLVE",
        "TIME",
    )
}

fn row(
    lesson: &str,
    lesson_width: usize,
    step: &str,
    before: &str,
    after: &str,
    time: &str,
) -> String {
    let line = format!(
        "{lesson:<lesson_width$}  {}  {before:<16}  {after:<16}  {time:>7}",
        pad(&clip(step, STEP_WIDTH), STEP_WIDTH)
    );
    format!("{}\n", line.trim_end())
}

/// The longest a skip reason's first line is shown.
const REASON_WIDTH: usize = 240;

/// A skip reason for the table: its first line, clipped, and the last few lines of
/// substance from the log that usually follows it (colour codes, Docker's build step
/// chatter and stray fragments left out), so the table stays readable while the cause
/// ("Could not resolve host") still shows.
fn summarize(reason: &str) -> String {
    let mut lines = reason.lines();
    let mut out = clip(lines.next().unwrap_or_default(), REASON_WIDTH);
    let substance: Vec<String> = lines
        .map(strip_ansi)
        .map(|l| l.trim().to_owned())
        .filter(|l| {
            l.len() > 2
                && !l.starts_with("--->")
                && !l.starts_with("Step ")
                && !l.starts_with("Removing intermediate container")
        })
        .collect();
    for line in &substance[substance.len().saturating_sub(3)..] {
        let _ = write!(out, "\n      {}", clip(line, REASON_WIDTH));
    }
    out
}

/// Removes ANSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn phase_text(phase: Phase, before: bool) -> &'static str {
    match (phase, before) {
        (Phase::Nothing, _) => "-",
        (Phase::NotRun, _) => "not run",
        (Phase::Error, _) => "ERROR",
        (Phase::AsExpected, true) => "fails (ok)",
        (Phase::AsExpected, false) => "passes (ok)",
        (Phase::Wrong, true) => "PASSES: too weak",
        (Phase::Wrong, false) => "FAILS",
    }
}

/// `text` cut to at most `width` columns of a terminal, `...` marking a cut. Columns,
/// not characters: a Chinese step title's characters take two each.
fn clip(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let mut clipped = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 3 {
            break;
        }
        used += w;
        clipped.push(c);
    }
    clipped.push_str("...");
    clipped
}

/// `text` padded with spaces to `width` columns (`format!`'s padding counts characters).
fn pad(text: &str, width: usize) -> String {
    let fill = width.saturating_sub(text.width());
    format!("{text}{}", " ".repeat(fill))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solve_lines_are_what_a_learner_would_type() {
        let script = "#!/bin/bash\n# back up first\n  etcdctl snapshot save /s.db \n\nkubeadm upgrade apply v1.31.0 -y\n";
        let lines: Vec<&str> = script_lines(script).collect();
        assert_eq!(
            lines,
            [
                "etcdctl snapshot save /s.db",
                "kubeadm upgrade apply v1.31.0 -y"
            ]
        );
    }

    /// Judges `step` as the self-test does on one side of its solution, on nodes that
    /// pass, fail or do not exist (see [`crate::judge::fake::Setup`]).
    async fn judge_side(step: &Step, solved: bool) -> (Phase, Vec<String>) {
        let (phase, report) = judge_report(step, solved, "en").await;
        (phase, report.problems)
    }

    async fn judge_report(step: &Step, solved: bool, language: &str) -> (Phase, StepReport) {
        let setup = crate::judge::fake::Setup::new();
        let run = LessonRun {
            backend: &*setup.backend,
            wasm: &setup.wasm,
            session: &setup.session,
            language,
            keep_told: true,
        };
        let mut report = StepReport::new(0, step);
        let phase = run
            .judge(0, step, &setup.transcript, solved, &mut report)
            .await;
        (phase, report)
    }

    /// Before the solution, the report keeps what the learner would be told, the
    /// runner's own sentences in the lesson's language.
    #[tokio::test]
    async fn what_a_learner_is_told_is_kept_in_the_lessons_language() {
        use crate::judge::fake::step;
        let mut unsaid = step(0, &["fail", "pass"]);
        for check in &mut unsaid.checks {
            if let scenarios::Check::Shell(c) = check {
                c.fail = None;
            }
        }
        let (_, report) = judge_report(&unsaid, false, "zh").await;
        assert_eq!(report.told, ["检查未通过（退出码 1）"]);
        let (_, report) = judge_report(&step(0, &["fail"]), false, "en").await;
        assert_eq!(report.told, ["fail failed"]);
        let (_, report) = judge_report(&step(0, &["fail"]), true, "en").await;
        assert!(
            report.told.is_empty(),
            "only before the solution: {report:?}"
        );
    }

    #[tokio::test]
    async fn every_check_that_cannot_run_is_named_and_the_others_still_judged() {
        use crate::judge::fake::step;
        let missing = "session judge1 has no node named \"gone\"";
        let (phase, problems) = judge_side(&step(0, &["gone", "pass", "fail"]), false).await;
        assert_eq!(phase, Phase::Wrong, "the last problem found sets the phase");
        assert_eq!(
            problems,
            [
                format!("check 1 could not run: {missing}"),
                "check 2 passes before the solution ran: it is too weak".into(),
            ]
        );
        let (phase, problems) = judge_side(&step(1, &["fail", "gone"]), true).await;
        assert_eq!(phase, Phase::Error);
        assert_eq!(
            problems,
            [
                "check 1 fails after the solution ran: fail failed\n    nope".to_owned(),
                format!("check 2 could not run: {missing}"),
            ],
            "the quiz passes with its own answers"
        );
        let (phase, problems) = judge_side(&step(1, &["fail"]), false).await;
        assert_eq!((phase, problems.len()), (Phase::AsExpected, 0));
    }

    #[tokio::test]
    async fn a_failing_script_is_named_by_its_number_with_what_it_printed() {
        let setup = crate::judge::fake::Setup::new();
        let run = LessonRun {
            backend: &*setup.backend,
            wasm: &setup.wasm,
            session: &setup.session,
            language: "en",
            keep_told: false,
        };
        let script = |node: &str| Script {
            node: node.into(),
            run: "x".into(),
            foreground: false,
        };
        let run = &run;
        let problem = |nodes: &[&str]| {
            let scripts: Vec<Script> = nodes.iter().map(|n| script(n)).collect();
            async move { run.run_scripts(scripts.iter(), "setup").await.unwrap_err() }
        };
        assert_eq!(
            problem(&["pass", "fail", "pass"]).await,
            "setup script 2 on node fail failed (exit code 1):\n    nope"
        );
        assert_eq!(
            problem(&["pass", "pass", "gone"]).await,
            "setup script 3 could not run: session judge1 has no node named \"gone\""
        );
        assert_eq!(setup.ran(), ["pass", "fail", "pass", "pass"]);
        let killed = RunnerError::SetupFailed {
            node: "n".into(),
            exit_code: None,
            stdout: "a".into(),
            stderr: "b\n\n".into(),
            killed_after: Some(DEFAULT_SETUP_TIMEOUT),
        };
        assert_eq!(
            script_problem("solve", 4, killed),
            "solve script 4 on node n failed (timed out after 300s):\n    a\n    b"
        );
    }

    fn step(index: usize, title: &str, before: Phase, after: Phase) -> StepReport {
        StepReport {
            index,
            title: title.into(),
            before,
            after,
            duration: Duration::from_millis(1234 + index as u64 * 1000),
            problems: Vec::new(),
            told: Vec::new(),
        }
    }

    #[test]
    fn table_rows_for_each_kind_of_result() {
        let session: SessionId = "abc123".parse().unwrap();
        let passed = LessonReport {
            lesson: "first-steps".into(),
            session: session.clone(),
            result: LessonResult::Passed,
            start: Duration::from_millis(800),
            steps: vec![
                step(0, "Look around", Phase::AsExpected, Phase::AsExpected),
                step(1, "Read this", Phase::Nothing, Phase::Nothing),
            ],
            nodes: vec!["controlplane".into()],
            kept: false,
        };
        let weak = LessonReport {
            lesson: "weak".into(),
            result: LessonResult::Failed {
                step: Some(1),
                problems: vec!["check 1 passes before the solution ran: it is too weak".into()],
            },
            steps: vec![
                step(0, "Create the file", Phase::AsExpected, Phase::AsExpected),
                step(
                    1,
                    "A step whose title is far too long to fit in the column",
                    Phase::Wrong,
                    Phase::NotRun,
                ),
            ],
            ..passed.clone()
        };
        let broken = LessonReport {
            lesson: "broken-solve".into(),
            result: LessonResult::Failed {
                step: Some(0),
                problems: vec!["check 1 fails after the solution ran: /tmp/done is missing\n    ls: cannot access '/tmp/done'".into()],
            },
            steps: vec![step(0, "Make it", Phase::AsExpected, Phase::Wrong)],
            ..passed.clone()
        };
        let skipped = LessonReport {
            lesson: "kubeadm-upgrade".into(),
            result: LessonResult::Skipped {
                reason: "image unavailable: playlab/kubeadm-node: build failed: returned a non-zero code: 2\n   ---> Using cache\n  Step 10/17 : RUN curl\n  \u{1b}[91mcurl: (6) Could not resolve host: pkgs.k8s.io\n  \u{1b}[91ms\u{1b}[0m\n  gpg: no valid OpenPGP data found.\n  Removing intermediate container 7c34dc73f019".into(),
            },
            steps: vec![],
            ..passed.clone()
        };
        let no_start = LessonReport {
            lesson: "no-start".into(),
            result: LessonResult::Failed {
                step: None,
                problems: vec!["the environment did not start: setup script failed".into()],
            },
            steps: vec![],
            ..passed.clone()
        };
        let width = 15;
        let mut table = render_header(width);
        for report in [&passed, &weak, &broken, &skipped, &no_start] {
            table.push_str(&render_report(report, width));
        }
        insta::assert_snapshot!(table);
    }
}
