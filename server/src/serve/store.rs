//! The embedded database: sessions, progress, transcripts, classes and their members
//! in SQLite (`<data>/playlab.db`).
//!
//! It is what lets a restart keep live sessions, learners' progress and classes. Writes
//! are small and local, so calls are synchronous behind one mutex; the busy paths
//! (terminal output) never touch it. A database written by an older playlab opens as
//! it is: tables are created if missing and new columns added ([`MIGRATIONS`]).

use std::collections::HashMap;
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
    /// The class whose member started it, if any.
    pub class: Option<String>,
}

/// One check of a step, as the `attempts` table keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub step: usize,
    pub at: SystemTime,
    pub passed: bool,
    /// The first failing check's message (none for a pass).
    pub message: Option<String>,
}

/// One row of the `classes` table.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassRecord {
    pub id: String,
    pub name: String,
    pub lessons: Vec<String>,
    /// Unique among classes; learners type it.
    pub code: String,
    pub starts_at: Option<SystemTime>,
    pub ends_at: Option<SystemTime>,
    pub capacity: Option<usize>,
    pub created_at: SystemTime,
    /// The instructor's latest broadcast and when it was sent.
    pub message: Option<(String, SystemTime)>,
}

/// One learner in a class (a learner is in at most one class).
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRecord {
    pub class: String,
    pub learner: String,
    pub name: String,
    pub joined_at: SystemTime,
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
CREATE TABLE IF NOT EXISTS classes (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    lessons TEXT NOT NULL,
    code TEXT NOT NULL UNIQUE,
    starts_at INTEGER,
    ends_at INTEGER,
    capacity INTEGER,
    created_at INTEGER NOT NULL,
    message TEXT,
    message_at INTEGER
);
CREATE TABLE IF NOT EXISTS class_members (
    learner TEXT PRIMARY KEY,
    class TEXT NOT NULL,
    name TEXT NOT NULL,
    joined_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS class_members_class ON class_members(class);
";

/// Columns added after a table's first release: `(table, column, type)`. Each is added
/// when missing, so databases of every earlier version open.
const MIGRATIONS: &[(&str, &str, &str)] = &[
    ("sessions", "class", "TEXT"),
    ("attempts", "message", "TEXT"),
];

fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    for (table, column, kind) in MIGRATIONS {
        let mut stmt = conn.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?;
        let present = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if !present.iter().any(|c| c == column) {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?;
        }
    }
    conn.execute_batch("CREATE INDEX IF NOT EXISTS sessions_class ON sessions(class)")
}

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
        migrate(&conn).with_context(|| format!("updating the tables of {}", path.display()))?;
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
              completed_at, ended_at, end_reason, class)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
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
                r.class,
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
            class: row.get(11)?,
        })
    }

    const COLUMNS: &str = "id, learner, lesson, status, error, step, created_at, expires_at,
                           completed_at, ended_at, end_reason, class";

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

    pub fn record_attempt(&self, session: &SessionId, attempt: &Attempt) -> rusqlite::Result<()> {
        self.conn().execute(
            "INSERT INTO attempts (session, step, at, passed, message) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                session.as_str(),
                attempt.step as i64,
                millis(attempt.at),
                attempt.passed,
                attempt.message,
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

    /// Every check of the sessions of a class's members, by session id, oldest first:
    /// one query for a whole roster.
    pub fn class_attempts(&self, class: &str) -> rusqlite::Result<HashMap<String, Vec<Attempt>>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT a.session, a.step, a.at, a.passed, a.message
             FROM attempts a JOIN sessions s ON s.id = a.session
             WHERE s.class = ?1 ORDER BY a.at, a.rowid",
        )?;
        let mut by_session: HashMap<String, Vec<Attempt>> = HashMap::new();
        let rows = stmt.query_map([class], |r| {
            let attempt = Attempt {
                step: r.get::<_, i64>(1)? as usize,
                at: from_millis(r.get(2)?),
                passed: r.get(3)?,
                message: r.get(4)?,
            };
            Ok((r.get::<_, String>(0)?, attempt))
        })?;
        for row in rows {
            let (session, attempt) = row?;
            by_session.entry(session).or_default().push(attempt);
        }
        Ok(by_session)
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

    /// Adds a class; `Ok(false)` when its join code is taken (the caller draws another).
    pub fn insert_class(&self, c: &ClassRecord) -> rusqlite::Result<bool> {
        let result = self.conn().execute(
            "INSERT INTO classes (id, name, lessons, code, starts_at, ends_at, capacity, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                c.id,
                c.name,
                // Lesson ids are folder names: no newline in them.
                c.lessons.join("\n"),
                c.code,
                c.starts_at.map(millis),
                c.ends_at.map(millis),
                c.capacity.map(|n| n as i64),
                millis(c.created_at),
            ],
        );
        match result {
            Ok(_) => Ok(true),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    const CLASS_COLUMNS: &str =
        "id, name, lessons, code, starts_at, ends_at, capacity, created_at, message, message_at";

    fn class_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ClassRecord> {
        let lessons: String = row.get(2)?;
        let message: Option<String> = row.get(8)?;
        let message_at: Option<i64> = row.get(9)?;
        Ok(ClassRecord {
            id: row.get(0)?,
            name: row.get(1)?,
            lessons: lessons.split('\n').map(str::to_owned).collect(),
            code: row.get(3)?,
            starts_at: row.get::<_, Option<i64>>(4)?.map(from_millis),
            ends_at: row.get::<_, Option<i64>>(5)?.map(from_millis),
            capacity: row.get::<_, Option<i64>>(6)?.map(|n| n as usize),
            created_at: from_millis(row.get(7)?),
            message: message.zip(message_at.map(from_millis)),
        })
    }

    pub fn classes(&self) -> rusqlite::Result<Vec<ClassRecord>> {
        let sql = format!(
            "SELECT {} FROM classes ORDER BY created_at, id",
            Self::CLASS_COLUMNS
        );
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql)?;
        stmt.query_map([], Self::class_row)?.collect()
    }

    pub fn class(&self, id: &str) -> rusqlite::Result<Option<ClassRecord>> {
        let sql = format!("SELECT {} FROM classes WHERE id = ?1", Self::CLASS_COLUMNS);
        self.conn()
            .query_row(&sql, [id], Self::class_row)
            .optional()
    }

    pub fn class_by_code(&self, code: &str) -> rusqlite::Result<Option<ClassRecord>> {
        let sql = format!(
            "SELECT {} FROM classes WHERE code = ?1",
            Self::CLASS_COLUMNS
        );
        self.conn()
            .query_row(&sql, [code], Self::class_row)
            .optional()
    }

    /// Removes the class and its members; `false` if there was none.
    pub fn delete_class(&self, id: &str) -> rusqlite::Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM class_members WHERE class = ?1", [id])?;
        let removed = tx.execute("DELETE FROM classes WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(removed > 0)
    }

    pub fn set_class_message(
        &self,
        id: &str,
        message: &str,
        at: SystemTime,
    ) -> rusqlite::Result<()> {
        self.conn().execute(
            "UPDATE classes SET message = ?2, message_at = ?3 WHERE id = ?1",
            params![id, message, millis(at)],
        )?;
        Ok(())
    }

    /// Adds the member, or renames them if they are already in that class. `Ok(false)`
    /// when the class has no free place (`capacity`), checked in the same transaction
    /// so two joins cannot both take the last place.
    pub fn join_class(&self, m: &MemberRecord, capacity: Option<usize>) -> rusqlite::Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let already: bool = tx.query_row(
            "SELECT COUNT(*) FROM class_members WHERE learner = ?1 AND class = ?2",
            params![m.learner, m.class],
            |r| r.get::<_, i64>(0).map(|n| n > 0),
        )?;
        if already {
            tx.execute(
                "UPDATE class_members SET name = ?2 WHERE learner = ?1",
                params![m.learner, m.name],
            )?;
        } else {
            let members: i64 = tx.query_row(
                "SELECT COUNT(*) FROM class_members WHERE class = ?1",
                [&m.class],
                |r| r.get(0),
            )?;
            if capacity.is_some_and(|cap| members as usize >= cap) {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO class_members (learner, class, name, joined_at) VALUES (?1, ?2, ?3, ?4)",
                params![m.learner, m.class, m.name, millis(m.joined_at)],
            )?;
        }
        tx.commit()?;
        Ok(true)
    }

    fn member_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<MemberRecord> {
        Ok(MemberRecord {
            learner: row.get(0)?,
            class: row.get(1)?,
            name: row.get(2)?,
            joined_at: from_millis(row.get(3)?),
        })
    }

    /// The class membership of a learner, if any.
    pub fn member(&self, learner: &str) -> rusqlite::Result<Option<MemberRecord>> {
        self.conn()
            .query_row(
                "SELECT learner, class, name, joined_at FROM class_members WHERE learner = ?1",
                [learner],
                Self::member_row,
            )
            .optional()
    }

    /// A class's members in the order they joined.
    pub fn members(&self, class: &str) -> rusqlite::Result<Vec<MemberRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT learner, class, name, joined_at FROM class_members WHERE class = ?1
             ORDER BY joined_at, rowid",
        )?;
        stmt.query_map([class], Self::member_row)?.collect()
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
            class: Some("c1".into()),
        }
    }

    fn attempt(step: usize, passed: bool) -> Attempt {
        Attempt {
            step,
            at: from_millis(millis(SystemTime::now())),
            passed,
            message: (!passed).then(|| "not yet".into()),
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
            store.record_attempt(&live.id, &attempt(0, false)).unwrap();
            store.record_attempt(&live.id, &attempt(0, true)).unwrap();
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
        let history = &store.class_attempts("c1").unwrap()[live.id.as_str()];
        assert_eq!(history[0].message.as_deref(), Some("not yet"));
        assert!(history[1].passed);
        let transcript = store.transcript(&live.id).unwrap();
        assert_eq!(transcript.entries().next().unwrap().line, "ls");
        assert_eq!(store.session(&live.id).unwrap(), Some(live));
    }

    /// A database of the release before classes: no `class` on sessions, no `message`
    /// on attempts. It opens, keeps its rows and gains the columns.
    #[test]
    fn an_older_database_opens_and_gains_the_new_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("playlab.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE sessions (id TEXT PRIMARY KEY, learner TEXT NOT NULL,
                   lesson TEXT NOT NULL, status TEXT NOT NULL, error TEXT, step INTEGER NOT NULL,
                   created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, completed_at INTEGER,
                   ended_at INTEGER, end_reason TEXT);
                 CREATE TABLE attempts (session TEXT NOT NULL, step INTEGER NOT NULL,
                   at INTEGER NOT NULL, passed INTEGER NOT NULL);
                 INSERT INTO sessions VALUES ('old1', 'l1', 'demo', 'ready', NULL, 0, 1, 9999999999999,
                   NULL, NULL, NULL);
                 INSERT INTO attempts VALUES ('old1', 0, 5, 0);",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let old = store.session(&"old1".parse().unwrap()).unwrap().unwrap();
        assert_eq!(old.class, None);
        assert_eq!(store.attempts(&old.id).unwrap(), vec![(0, 1)]);
        let failed = Attempt {
            step: 0,
            at: from_millis(6),
            passed: false,
            message: Some("still no file".into()),
        };
        store.record_attempt(&old.id, &failed).unwrap();
        let with_class = SessionRecord {
            class: Some("c1".into()),
            ..old
        };
        store.save_session(&with_class).unwrap();
        let history = &store.class_attempts("c1").unwrap()["old1"];
        let messages: Vec<_> = history.iter().map(|a| a.message.clone()).collect();
        assert_eq!(messages, [None, Some("still no file".into())]);
        // Opening twice is a no-op.
        drop(store);
        Store::open(&path).unwrap();
    }

    #[test]
    fn classes_members_and_capacity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("playlab.db");
        let now = from_millis(millis(SystemTime::now()));
        let class = ClassRecord {
            id: "c1".into(),
            name: "Monday".into(),
            lessons: vec!["demo".into(), "other".into()],
            code: "code1".into(),
            starts_at: None,
            ends_at: Some(now),
            capacity: Some(1),
            created_at: now,
            message: None,
        };
        let member = |learner: &str, name: &str| MemberRecord {
            class: "c1".into(),
            learner: learner.into(),
            name: name.into(),
            joined_at: now,
        };
        {
            let store = Store::open(&path).unwrap();
            assert!(store.insert_class(&class).unwrap());
            let same_code = ClassRecord {
                id: "c2".into(),
                ..class.clone()
            };
            assert!(!store.insert_class(&same_code).unwrap(), "codes are unique");
            assert!(
                store
                    .join_class(&member("l1", "Ada"), class.capacity)
                    .unwrap()
            );
            assert!(
                !store
                    .join_class(&member("l2", "Bob"), class.capacity)
                    .unwrap()
            );
            // A member renames themself even in a full class.
            assert!(
                store
                    .join_class(&member("l1", "Ada L."), class.capacity)
                    .unwrap()
            );
            store
                .set_class_message("c1", "break until 11", now)
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let kept = store.class_by_code("code1").unwrap().unwrap();
        assert_eq!(kept.lessons, class.lessons);
        assert_eq!(kept.message, Some(("break until 11".into(), now)));
        assert_eq!(store.members("c1").unwrap(), vec![member("l1", "Ada L.")]);
        assert!(store.delete_class("c1").unwrap());
        assert_eq!(store.member("l1").unwrap(), None);
        assert!(!store.delete_class("c1").unwrap());
    }
}
