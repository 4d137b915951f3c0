//! The embedded database: sessions, progress and transcripts in SQLite
//! (`<data>/playlab.db`).
//!
//! It is what lets a restart keep live sessions and learners' progress. Writes are
//! small and local, so calls are synchronous behind one mutex; the busy paths (terminal
//! output) never touch it.

use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use runner::SessionId;
use runner::checks::{Transcript, TranscriptEntry};
use rusqlite::{Connection, OptionalExtension, params};

use super::status::{EndReason, Status};

/// One row of the `sessions` table.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    pub id: SessionId,
    pub learner: String,
    pub lesson: String,
    pub status: Status,
    pub error: Option<String>,
    pub step: usize,
    pub created_at: SystemTime,
    pub expires_at: SystemTime,
    pub completed_at: Option<SystemTime>,
    pub ended_at: Option<SystemTime>,
    pub end_reason: Option<EndReason>,
}

pub struct Store {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    learner TEXT NOT NULL,
    lesson TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    step INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    completed_at INTEGER,
    ended_at INTEGER,
    end_reason TEXT
);
CREATE INDEX IF NOT EXISTS sessions_live ON sessions(status);
CREATE TABLE IF NOT EXISTS attempts (
    session TEXT NOT NULL,
    step INTEGER NOT NULL,
    at INTEGER NOT NULL,
    passed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_session ON attempts(session);
CREATE TABLE IF NOT EXISTS transcript (
    session TEXT NOT NULL,
    node TEXT NOT NULL,
    at INTEGER NOT NULL,
    line TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transcript_session ON transcript(session);
CREATE TABLE IF NOT EXISTS help_grants (
    session TEXT NOT NULL,
    at INTEGER NOT NULL,
    granted INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS help_grants_session ON help_grants(session);
";

pub fn millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn from_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

impl Store {
    pub fn open(path: &Path) -> anyhow::Result<Store> {
        let conn = Connection::open(path)
            .with_context(|| format!("opening database {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)
            .with_context(|| format!("creating tables in {}", path.display()))?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite itself consistent.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Inserts or replaces the session's row.
    pub fn save_session(&self, r: &SessionRecord) -> rusqlite::Result<()> {
        self.conn().execute(
            "INSERT OR REPLACE INTO sessions
             (id, learner, lesson, status, error, step, created_at, expires_at,
              completed_at, ended_at, end_reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                r.id.as_str(),
                r.learner,
                r.lesson,
                r.status.as_str(),
                r.error,
                r.step as i64,
                millis(r.created_at),
                millis(r.expires_at),
                r.completed_at.map(millis),
                r.ended_at.map(millis),
                r.end_reason.as_ref().map(EndReason::as_str),
            ],
        )?;
        Ok(())
    }

    fn row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRecord> {
        let id: String = row.get(0)?;
        let status: String = row.get(3)?;
        Ok(SessionRecord {
            id: id.parse().map_err(|e: runner::RunnerError| {
                rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
            })?,
            learner: row.get(1)?,
            lesson: row.get(2)?,
            status: Status::parse(&status),
            error: row.get(4)?,
            step: row.get::<_, i64>(5)? as usize,
            created_at: from_millis(row.get(6)?),
            expires_at: from_millis(row.get(7)?),
            completed_at: row.get::<_, Option<i64>>(8)?.map(from_millis),
            ended_at: row.get::<_, Option<i64>>(9)?.map(from_millis),
            end_reason: row
                .get::<_, Option<String>>(10)?
                .map(|text| EndReason::parse(&text)),
        })
    }

    const COLUMNS: &str = "id, learner, lesson, status, error, step, created_at, expires_at,
                           completed_at, ended_at, end_reason";

    pub fn session(&self, id: &SessionId) -> rusqlite::Result<Option<SessionRecord>> {
        let sql = format!("SELECT {} FROM sessions WHERE id = ?1", Self::COLUMNS);
        self.conn()
            .query_row(&sql, [id.as_str()], Self::row)
            .optional()
    }

    /// Sessions that were starting or ready when the server last stopped.
    pub fn live_sessions(&self) -> rusqlite::Result<Vec<SessionRecord>> {
        let sql = format!(
            "SELECT {} FROM sessions WHERE status IN ('starting', 'ready') ORDER BY created_at",
            Self::COLUMNS
        );
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql)?;
        stmt.query_map([], Self::row)?.collect()
    }

    pub fn record_attempt(
        &self,
        session: &SessionId,
        step: usize,
        passed: bool,
    ) -> rusqlite::Result<()> {
        self.conn().execute(
            "INSERT INTO attempts (session, step, at, passed) VALUES (?1, ?2, ?3, ?4)",
            params![
                session.as_str(),
                step as i64,
                millis(SystemTime::now()),
                passed
            ],
        )?;
        Ok(())
    }

    /// The learner let the instructor type (`granted`) or stopped them.
    pub fn record_help(&self, session: &SessionId, granted: bool) -> rusqlite::Result<()> {
        self.conn().execute(
            "INSERT INTO help_grants (session, at, granted) VALUES (?1, ?2, ?3)",
            params![session.as_str(), millis(SystemTime::now()), granted],
        )?;
        Ok(())
    }

    /// Every grant and revocation of help for the session, oldest first.
    pub fn help_log(&self, session: &SessionId) -> rusqlite::Result<Vec<(SystemTime, bool)>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT at, granted FROM help_grants WHERE session = ?1 ORDER BY rowid")?;
        stmt.query_map(params![session.as_str()], |row| {
            Ok((from_millis(row.get(0)?), row.get(1)?))
        })?
        .collect()
    }

    /// How many times each step was checked: `(step, attempts)`, by step.
    pub fn attempts(&self, session: &SessionId) -> rusqlite::Result<Vec<(usize, u32)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT step, COUNT(*) FROM attempts WHERE session = ?1 GROUP BY step ORDER BY step",
        )?;
        stmt.query_map([session.as_str()], |r| {
            Ok((r.get::<_, i64>(0)? as usize, r.get::<_, i64>(1)? as u32))
        })?
        .collect()
    }

    pub fn record_command(
        &self,
        session: &SessionId,
        entry: &TranscriptEntry,
    ) -> rusqlite::Result<()> {
        self.conn().execute(
            "INSERT INTO transcript (session, node, at, line) VALUES (?1, ?2, ?3, ?4)",
            params![session.as_str(), entry.node, entry.at as i64, entry.line],
        )?;
        Ok(())
    }

    /// What the learner typed in the session, oldest first (as checks see it).
    pub fn transcript(&self, session: &SessionId) -> rusqlite::Result<Transcript> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT node, at, line FROM transcript WHERE session = ?1 ORDER BY at, rowid",
        )?;
        let mut transcript = Transcript::new();
        for entry in stmt.query_map([session.as_str()], |r| {
            Ok(TranscriptEntry {
                node: r.get(0)?,
                at: r.get::<_, i64>(1)? as u64,
                line: r.get(2)?,
            })
        })? {
            transcript.push(entry?);
        }
        Ok(transcript)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, status: Status) -> SessionRecord {
        let now = from_millis(millis(SystemTime::now()));
        SessionRecord {
            id: id.parse().unwrap(),
            learner: "l1".into(),
            lesson: "demo".into(),
            status,
            error: None,
            step: 1,
            created_at: now,
            expires_at: now + Duration::from_secs(60),
            completed_at: None,
            ended_at: None,
            end_reason: None,
        }
    }

    #[test]
    fn sessions_and_progress_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("playlab.db");
        let live = record("live1", Status::Ready);
        {
            let store = Store::open(&path).unwrap();
            store.save_session(&live).unwrap();
            store.save_session(&record("gone1", Status::Ended)).unwrap();
            store.record_attempt(&live.id, 0, false).unwrap();
            store.record_attempt(&live.id, 0, true).unwrap();
            let entry = TranscriptEntry {
                node: "node01".into(),
                at: 5,
                line: "ls".into(),
            };
            store.record_command(&live.id, &entry).unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.live_sessions().unwrap(), vec![live.clone()]);
        assert_eq!(store.attempts(&live.id).unwrap(), vec![(0, 2)]);
        let transcript = store.transcript(&live.id).unwrap();
        assert_eq!(transcript.entries().next().unwrap().line, "ls");
        assert_eq!(store.session(&live.id).unwrap(), Some(live));
    }
}
