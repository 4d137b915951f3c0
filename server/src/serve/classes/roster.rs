//! The roster: where every member of a class is, who is stuck, and how many are on
//! each step.
//!
//! [`gather`] collects the facts that already exist (the class's members from the
//! store, the sessions they started from the session manager, their checks from the
//! `attempts` table, whether their terminal is attached from the terminal hub);
//! [`compute`] turns facts into a [`Roster`] and is pure, so its rules (stuck, the
//! summary) are unit-tested on made-up facts. The JSON endpoint, the live stream and
//! the CSV export all show the same [`Roster`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::{ClassBook, ClassError};
use crate::serve::sessions::{Session, SessionManager, SessionProgress};
use crate::serve::status::Status;
use crate::serve::store::Attempt;

/// Consecutive failed checks on one step that flag a learner as stuck.
pub const FAILS_IN_A_ROW: u32 = 3;

/// Why a learner is flagged as stuck.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stuck {
    /// The step has not moved for the configured time.
    NoProgress,
    /// The last [`FAILS_IN_A_ROW`] checks of the step failed.
    FailingChecks,
}

/// One member's line. Flat, so the CSV has the same columns as the JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RosterRow {
    pub name: String,
    /// RFC 3339.
    pub joined_at: String,
    /// The member's session in this class (the live one, else the latest).
    pub session: Option<String>,
    pub lesson: Option<String>,
    pub status: Option<Status>,
    /// The current step, from 0; equal to `steps` once completed.
    pub step: Option<usize>,
    pub step_title: Option<String>,
    pub steps: Option<usize>,
    pub completed: bool,
    /// Checks of the current step.
    pub attempts: u32,
    /// Failed checks of the current step since its last pass.
    pub failed_in_a_row: u32,
    /// The message of the current step's latest failed check.
    pub last_failure: Option<String>,
    pub time_on_step_seconds: Option<u64>,
    /// RFC 3339: the latest terminal input or API call.
    pub last_activity: Option<String>,
    /// Whether the learner has a terminal attached.
    pub connected: bool,
    pub stuck: Option<Stuck>,
}

/// The column names of [`RosterRow`], in order (the CSV's header row).
pub const CSV_HEADER: [&str; 16] = [
    "name",
    "joined_at",
    "session",
    "lesson",
    "status",
    "step",
    "step_title",
    "steps",
    "completed",
    "attempts",
    "failed_in_a_row",
    "last_failure",
    "time_on_step_seconds",
    "last_activity",
    "connected",
    "stuck",
];

/// How many members are on one step of a lesson.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepCount {
    pub step: usize,
    pub title: String,
    pub learners: usize,
    pub stuck: usize,
}

/// How a class's members spread over one of its lessons.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LessonCount {
    pub lesson: String,
    pub title: String,
    pub steps: Vec<StepCount>,
    pub completed: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Roster {
    pub class: String,
    pub name: String,
    pub stuck_after_seconds: u64,
    pub learners: Vec<RosterRow>,
    pub summary: Vec<LessonCount>,
    /// Members who have not started a lesson of the class.
    pub not_started: usize,
}

/// A lesson's title and its steps' titles.
#[derive(Debug, Clone)]
pub struct LessonSteps {
    pub id: String,
    pub title: String,
    pub steps: Vec<String>,
}

/// What is known of a member's session.
#[derive(Debug, Clone)]
pub struct SessionFacts {
    pub id: String,
    pub lesson: String,
    pub progress: SessionProgress,
    pub connected: bool,
    /// Oldest first.
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Clone)]
pub struct MemberFacts {
    pub name: String,
    pub joined_at: SystemTime,
    pub session: Option<SessionFacts>,
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn row(
    member: MemberFacts,
    lessons: &[LessonSteps],
    now: SystemTime,
    stuck_after: Duration,
) -> RosterRow {
    let mut row = RosterRow {
        name: member.name,
        joined_at: rfc3339(member.joined_at),
        session: None,
        lesson: None,
        status: None,
        step: None,
        step_title: None,
        steps: None,
        completed: false,
        attempts: 0,
        failed_in_a_row: 0,
        last_failure: None,
        time_on_step_seconds: None,
        last_activity: None,
        connected: false,
        stuck: None,
    };
    let Some(s) = member.session else {
        return row;
    };
    let p = s.progress;
    let on_step: Vec<&Attempt> = s.attempts.iter().filter(|a| a.step == p.step).collect();
    let failed_in_a_row = on_step.iter().rev().take_while(|a| !a.passed).count() as u32;
    // The step began when the previous one passed, or with the session.
    let since = s
        .attempts
        .iter()
        .rev()
        .find(|a| a.passed && a.step < p.step)
        .map_or(p.created_at, |a| a.at);
    let time_on_step = (!p.completed).then(|| now.duration_since(since).unwrap_or_default());
    let working = !p.completed && p.status == Status::Ready;
    row.stuck = if working && failed_in_a_row >= FAILS_IN_A_ROW {
        Some(Stuck::FailingChecks)
    } else if working && time_on_step.is_some_and(|t| t >= stuck_after) {
        Some(Stuck::NoProgress)
    } else {
        None
    };
    let lesson = lessons.iter().find(|l| l.id == s.lesson);
    row.step_title = lesson.and_then(|l| l.steps.get(p.step)).cloned();
    row.steps = lesson.map(|l| l.steps.len());
    row.session = Some(s.id);
    row.lesson = Some(s.lesson);
    row.status = Some(p.status);
    row.step = Some(p.step);
    row.completed = p.completed;
    row.attempts = on_step.len() as u32;
    row.failed_in_a_row = failed_in_a_row;
    row.last_failure = on_step
        .iter()
        .rev()
        .find(|a| !a.passed)
        .and_then(|a| a.message.clone());
    row.time_on_step_seconds = time_on_step.map(|t| t.as_secs());
    row.last_activity = Some(rfc3339(p.last_activity));
    row.connected = s.connected;
    row
}

/// The roster of a class from its facts: `lessons` are the class's, in its order.
pub fn compute(
    class: (&str, &str),
    members: Vec<MemberFacts>,
    lessons: &[LessonSteps],
    now: SystemTime,
    stuck_after: Duration,
) -> Roster {
    let learners: Vec<RosterRow> = members
        .into_iter()
        .map(|m| row(m, lessons, now, stuck_after))
        .collect();
    let summary = lessons
        .iter()
        .map(|lesson| {
            let rows: Vec<&RosterRow> = learners
                .iter()
                .filter(|r| r.lesson.as_deref() == Some(lesson.id.as_str()))
                .collect();
            let steps = lesson
                .steps
                .iter()
                .enumerate()
                .map(|(step, title)| {
                    let on = rows.iter().filter(|r| !r.completed && r.step == Some(step));
                    StepCount {
                        step,
                        title: title.clone(),
                        learners: on.clone().count(),
                        stuck: on.filter(|r| r.stuck.is_some()).count(),
                    }
                })
                .collect();
            LessonCount {
                lesson: lesson.id.clone(),
                title: lesson.title.clone(),
                steps,
                completed: rows.iter().filter(|r| r.completed).count(),
            }
        })
        .collect();
    Roster {
        class: class.0.to_owned(),
        name: class.1.to_owned(),
        stuck_after_seconds: stuck_after.as_secs(),
        not_started: learners.iter().filter(|r| r.session.is_none()).count(),
        learners,
        summary,
    }
}

/// Of a learner's sessions in the class, the one the roster shows: a live one before
/// an ended or failed one, then the newest.
fn shown(sessions: Vec<Arc<Session>>, now: SystemTime) -> Option<(Arc<Session>, SessionProgress)> {
    sessions
        .into_iter()
        .map(|s| {
            let progress = s.progress(now);
            (s, progress)
        })
        .max_by_key(|(_, p)| (p.status.is_live(), p.created_at))
}

/// Collects the class's facts and computes its roster.
pub async fn gather(
    book: &ClassBook,
    sessions: &SessionManager,
    class: &str,
    stuck_after: Duration,
) -> Result<Roster, ClassError> {
    let record = book.record(class)?;
    let members = book.store().members(class)?;
    let now = sessions.now();
    let mut attempts = book.store().class_attempts(class)?;
    let mut by_learner: HashMap<String, Vec<Arc<Session>>> = HashMap::new();
    for session in sessions.of_class(class) {
        by_learner
            .entry(session.learner.clone())
            .or_default()
            .push(session);
    }
    let mut facts = Vec::with_capacity(members.len());
    for member in members {
        let session = match shown(by_learner.remove(&member.learner).unwrap_or_default(), now) {
            None => None,
            Some((session, progress)) => Some(SessionFacts {
                id: session.id.to_string(),
                lesson: session.lesson.id.clone(),
                progress,
                connected: session.terminals.owner_attached().await,
                attempts: attempts.remove(session.id.as_str()).unwrap_or_default(),
            }),
        };
        facts.push(MemberFacts {
            name: member.name,
            joined_at: member.joined_at,
            session,
        });
    }
    let catalog = book.catalog().get();
    let lessons: Vec<LessonSteps> = record
        .lessons
        .iter()
        .filter_map(|id| catalog.get(id))
        .map(|l| LessonSteps {
            id: l.id.clone(),
            title: l.title.clone(),
            steps: l.steps.iter().map(|s| s.title.clone()).collect(),
        })
        .collect();
    Ok(compute(
        (&record.id, &record.name),
        facts,
        &lessons,
        now,
        stuck_after,
    ))
}

/// The roster's learners as CSV, with a header row even when the class is empty.
pub fn to_csv(roster: &Roster) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    writer.write_record(CSV_HEADER)?;
    for row in &roster.learners {
        writer.serialize(row)?;
    }
    writer.into_inner().map_err(|e| e.into_error().into())
}
