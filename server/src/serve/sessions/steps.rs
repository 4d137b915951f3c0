//! A learner's way through the lesson: the scripts each page runs when reached, the
//! transcript of what they type, and the check that moves them to the next step.
//!
//! Reaching a page (the environment became ready, or a check passed) runs its scripts;
//! completing the last step brings the session's expiry forward to the finish grace,
//! so a finished lesson frees its environment through the same countdown, warning and
//! extension as a TTL. Every verdict is also a marker in the session's recordings
//! (through [`Terminals::mark`](crate::serve::terminals::Terminals::mark), which knows
//! nothing of files here), so a replay shows where the learner got stuck.

use std::sync::Arc;

use runner::checks::{
    CheckContext, CheckOutcome, LineAssembler, TranscriptEntry, WasmChecker, WasmLimits,
};
use runner::environment::{DEFAULT_SETUP_TIMEOUT, PageScripts};
use runner::judge::judge_step;
use runner::{Backend, ExecRequest};
use scenarios::Script;
use serde::Serialize;

use super::error::SessionError;
use super::session::{Session, rfc3339};
use super::shared::Shared;
use crate::serve::events::Event;
use crate::serve::foreground;
use crate::serve::language::Wanted;
use crate::serve::metrics::ResultLabel;
use crate::serve::status::Status;
use crate::serve::store::{Attempt, Store};
use crate::serve::terminals::InputHook;

/// What a check returns to the learner.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResponse {
    pub passed: bool,
    pub step: usize,
    pub completed: bool,
    /// RFC 3339; brought forward when this check completed the lesson.
    pub expires_at: String,
    /// One per quiz question, then one per check.
    pub results: Vec<CheckOutcome>,
}

/// Runs page scripts and checks; see the module documentation.
pub(super) struct StepRunner {
    shared: Arc<Shared>,
    /// Runs WASM checks; compiled modules are cached inside.
    wasm: WasmChecker,
}

impl StepRunner {
    pub fn new(shared: Arc<Shared>) -> anyhow::Result<StepRunner> {
        let wasm = WasmChecker::new(WasmLimits::default())?;
        Ok(StepRunner { shared, wasm })
    }

    /// The environment is ready for its learner: the scripts of the page they are on
    /// run; on the first page (a start), the lesson's foreground setup among them (the
    /// backend ran the others while starting; a reset to a later step replayed it).
    /// Not on re-adoption: they ran before the restart.
    pub fn became_ready(&self, session: &Arc<Session>) {
        let step = session.view().step;
        let scripts = match step {
            0 => PageScripts::on_ready(&session.lesson),
            step => PageScripts::of_step(&session.lesson, step),
        };
        self.run_page_scripts(session, step, scripts);
    }

    /// Runs the scripts of the page the learner has reached (`step`): typed ones go
    /// into their node's terminal, in order (see [`foreground`]); the others run out of
    /// sight. The two groups run side by side, as in Killercoda, where a foreground
    /// script often waits for what a background one prepares.
    fn run_page_scripts(&self, session: &Arc<Session>, step: usize, scripts: PageScripts) {
        let PageScripts { typed, hidden } = scripts;
        if !typed.is_empty() {
            let backend = self.shared.backend.clone();
            tokio::spawn(type_scripts(backend, session.clone(), step, typed));
        }
        if !hidden.is_empty() {
            let backend = self.shared.backend.clone();
            tokio::spawn(run_hidden(backend, session.clone(), step, hidden));
        }
    }

    /// Checks the current step; a pass moves the learner to the next one.
    pub async fn check(
        &self,
        session: &Arc<Session>,
        answers: Option<&[Vec<usize>]>,
        wanted: &Wanted,
    ) -> Result<CheckResponse, SessionError> {
        let _one_at_a_time = session.check_turn().await;
        let (status, step) = {
            let st = session.lock();
            (st.status, st.step)
        };
        if status != Status::Ready {
            return Err(SessionError::NotReady(status));
        }
        // Judged as the learner reads it: the checks' messages, the quiz's
        // explanations and the runner's own sentences in the learner's language.
        let lesson = wanted.localize(&session.lesson).lesson;
        let Some(lesson_step) = lesson.steps.get(step) else {
            return Ok(CheckResponse {
                passed: true,
                step,
                completed: true,
                expires_at: rfc3339(session.lock().expires_at),
                results: Vec::new(),
            });
        };
        let transcript = self
            .shared
            .store
            .transcript(&session.id)
            .unwrap_or_else(|e| {
                tracing::error!(session = %session.id, error = %e, "could not read the transcript");
                Default::default()
            });
        let ctx = CheckContext {
            step,
            transcript: &transcript,
            wasm: &self.wasm,
            retry: true,
            language: &lesson.language,
        };
        let backend = self.shared.backend.as_ref();
        let verdict = judge_step(backend, &session.id, lesson_step, answers, &ctx).await?;
        let passed = verdict.passed;
        let failure = verdict.checks.iter().find(|c| !c.passed);
        let attempt = Attempt {
            step,
            at: self.shared.clock.now(),
            passed,
            message: failure.map(|c| c.message.clone()),
        };
        self.record_attempt(session, &attempt);
        // In the recordings too, so a replay shows where the learner got stuck.
        let marker = check_marker(step, &lesson_step.title, passed, &verdict.checks);
        session.terminals.mark(&marker).await;
        let (step, completed, expires_at) = self.advance(session, step, passed);
        Ok(CheckResponse {
            passed,
            step,
            completed,
            expires_at,
            results: verdict.checks,
        })
    }

    fn record_attempt(&self, session: &Session, attempt: &Attempt) {
        if let Err(e) = self.shared.store.record_attempt(&session.id, attempt) {
            tracing::error!(session = %session.id, error = %e, "could not record the attempt");
        }
        let result = if attempt.passed { "pass" } else { "fail" };
        let label = ResultLabel {
            result: result.into(),
        };
        self.shared.metrics.checks.get_or_create(&label).inc();
    }

    /// After a check of `step`: a pass moves to the next step (and runs its scripts),
    /// and the last one completes the lesson. Returns the step the learner is on,
    /// whether the lesson is completed, and the expiry.
    fn advance(&self, session: &Arc<Session>, step: usize, passed: bool) -> (usize, bool, String) {
        let (step, completed, expires_at) = {
            let mut st = session.lock();
            if passed {
                st.step = step + 1;
                if st.step == session.lesson.steps.len() {
                    let now = self.shared.clock.now();
                    st.completed_at = Some(now);
                    let due = now + self.shared.limits.finish_grace;
                    if due < st.expires_at {
                        st.expires_at = due;
                        st.warned = false;
                    }
                }
            }
            (st.step, st.completed_at.is_some(), rfc3339(st.expires_at))
        };
        if passed {
            self.shared.save(session);
            session.events.send(Event::Step {
                step,
                completed,
                expires_at: expires_at.clone(),
            });
            self.run_page_scripts(session, step, PageScripts::of_step(&session.lesson, step));
        }
        (step, completed, expires_at)
    }
}

/// A check verdict as a recording's marker: `check step 2 "Title": fail: why`, with
/// the step counted from 1 as the learner sees it.
fn check_marker(step: usize, title: &str, passed: bool, outcomes: &[CheckOutcome]) -> String {
    let heading = format!("check step {} {title:?}", step + 1);
    if passed {
        return format!("{heading}: pass");
    }
    let why: Vec<&str> = outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| o.message.as_str())
        .collect();
    format!("{heading}: fail: {}", why.join("; "))
}

/// Types foreground scripts into their nodes' terminals, one after the other.
async fn type_scripts(
    backend: Arc<dyn Backend>,
    session: Arc<Session>,
    step: usize,
    scripts: Vec<Script>,
) {
    for script in scripts {
        let typed = foreground::run(
            backend.as_ref(),
            &session.terminals,
            &session.id,
            &script.node,
            &script.run,
        )
        .await;
        if let Err(e) = typed {
            tracing::warn!(session = %session.id, step, node = %script.node, error = %e, "could not run a foreground script");
        }
    }
}

/// Runs background scripts out of sight, one after the other; a failure is logged and
/// the next one runs all the same.
async fn run_hidden(
    backend: Arc<dyn Backend>,
    session: Arc<Session>,
    step: usize,
    scripts: Vec<Script>,
) {
    for script in scripts {
        let request = ExecRequest::new(script.run, DEFAULT_SETUP_TIMEOUT);
        match backend.exec(&session.id, &script.node, request).await {
            Ok(out) if out.success() => {}
            Ok(out) => {
                tracing::warn!(session = %session.id, step, exit = ?out.exit_code, stderr = %out.stderr, "step setup failed")
            }
            Err(e) => {
                tracing::warn!(session = %session.id, step, error = %e, "step setup could not run")
            }
        }
    }
}

/// What a terminal does with an owner's keystrokes besides sending them: the session
/// is active, and completed command lines go to the transcript that checks read.
pub(super) fn input_hook(store: Arc<Store>, session: &Arc<Session>, node: &str) -> InputHook {
    let session = session.clone();
    let node = node.to_owned();
    let mut lines = LineAssembler::new();
    Box::new(move |bytes: &[u8]| {
        session.touch();
        for line in lines.feed(bytes) {
            let entry = TranscriptEntry::now(&node, line);
            if let Err(e) = store.record_command(&session.id, &entry) {
                tracing::warn!(session = %session.id, error = %e, "could not record a command line");
            }
        }
    })
}
