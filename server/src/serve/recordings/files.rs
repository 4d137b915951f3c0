//! Where recordings live on disk, what the dashboard lists, and the retention sweep.
//!
//! Layout: `<recordings-dir>/<session>/<node>.<n>.cast`, where `n` counts the shells
//! of that node in that session from 1. A reconnecting browser joins the same shell,
//! so its output goes on in the same file; a new shell (the old one exited or
//! outlived its grace period) gets the next number, because its header (size, start
//! time) is its own. Session ids are lowercase letters and digits and node names are
//! DNS labels (no dots), so a name parses back unambiguously and never leaves its
//! folder.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use runner::SessionId;
use serde::Serialize;

use super::cast::Header;

/// The extension of every recording.
const EXTENSION: &str = ".cast";
/// How much of a file's end is read to find its last event's time: a little first
/// (the last events are usually a prompt), more when a long output line ends the file.
const TAILS: [u64; 2] = [16 << 10, 1 << 20];

/// A session's folder of recordings.
pub fn session_dir(root: &Path, session: &SessionId) -> PathBuf {
    root.join(session.as_str())
}

/// `(node, n)` of a recording's file name, if it is one.
pub fn parse_name(file: &str) -> Option<(&str, u32)> {
    let stem = file.strip_suffix(EXTENSION)?;
    let (node, n) = stem.rsplit_once('.')?;
    let n = n.parse().ok().filter(|n| *n >= 1)?;
    scenarios::units::is_dns_label(node).then_some((node, n))
}

/// Creates the next free `<node>.<n>.cast` in `dir` (made if missing).
pub fn create_next(dir: &Path, node: &str) -> io::Result<(PathBuf, File)> {
    fs::create_dir_all(dir)?;
    for n in 1.. {
        let path = dir.join(format!("{node}.{n}{EXTENSION}"));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!("an unbounded range ends only by returning")
}

/// Bytes the session's recordings already hold (before a restart, or earlier shells),
/// so the size cap counts them.
pub fn used_bytes(dir: &Path) -> u64 {
    recordings_in(dir).map(|(_, meta)| meta.len()).sum()
}

/// One recording as the dashboard lists it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RecordingInfo {
    /// The file name, which the download URL takes.
    pub file: String,
    pub node: String,
    /// Which shell of the node, from 1.
    pub shell: u32,
    pub bytes: u64,
    /// RFC 3339, from the header; `None` for a file without a readable header.
    pub started_at: Option<String>,
    /// Seconds from the start to the last event.
    pub duration: f64,
}

/// The session's recordings, by node and shell; none for an unknown session.
pub fn list(root: &Path, session: &SessionId) -> Vec<RecordingInfo> {
    let mut infos: Vec<RecordingInfo> = recordings_in(&session_dir(root, session))
        .filter_map(|(path, meta)| info(&path, meta.len()))
        .collect();
    infos.sort_by(|a, b| (&a.node, a.shell).cmp(&(&b.node, b.shell)));
    infos
}

/// Every session that has recordings, most recently written first.
pub fn sessions(root: &Path) -> Vec<SessionId> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let mut found: Vec<(SystemTime, SessionId)> = entries
        .flatten()
        .filter_map(|entry| {
            let id: SessionId = entry.file_name().to_str()?.parse().ok()?;
            let newest = recordings_in(&entry.path())
                .filter_map(|(_, meta)| meta.modified().ok())
                .max()?;
            Some((newest, id))
        })
        .collect();
    found.sort_by_key(|(newest, _)| std::cmp::Reverse(*newest));
    found.into_iter().map(|(_, id)| id).collect()
}

/// The path of a session's recording named `file`, if that is a recording's name.
pub fn path_of(root: &Path, session: &SessionId, file: &str) -> Option<PathBuf> {
    parse_name(file).map(|_| session_dir(root, session).join(file))
}

/// What a sweep removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub files: usize,
    pub bytes: u64,
}

/// Removes every recording last written more than `retention` before `now`, and the
/// session folders that leaves empty. Problems are logged; the next sweep tries again.
pub fn sweep(root: &Path, retention: Duration, now: SystemTime) -> Swept {
    let mut swept = Swept::default();
    let Ok(sessions) = fs::read_dir(root) else {
        return swept;
    };
    for session in sessions.flatten() {
        let dir = session.path();
        for (path, meta) in recordings_in(&dir) {
            let age = meta
                .modified()
                .ok()
                .and_then(|written| now.duration_since(written).ok());
            if age.is_none_or(|age| age <= retention) {
                continue;
            }
            match fs::remove_file(&path) {
                Ok(()) => {
                    swept.files += 1;
                    swept.bytes += meta.len();
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "could not remove an old recording")
                }
            }
        }
        // Fails, as it should, while the folder still holds something.
        let _ = fs::remove_dir(&dir);
    }
    swept
}

/// The recordings in `dir`, with their metadata.
fn recordings_in(dir: &Path) -> impl Iterator<Item = (PathBuf, fs::Metadata)> {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|name| parse_name(name).is_some())
        })
        .filter_map(|entry| {
            let meta = entry.metadata().ok()?;
            meta.is_file().then(|| (entry.path(), meta))
        })
}

fn info(path: &Path, bytes: u64) -> Option<RecordingInfo> {
    let file = path.file_name()?.to_str()?.to_owned();
    let (node, shell) = parse_name(&file)?;
    let (node, shell) = (node.to_owned(), shell);
    let mut reader = BufReader::new(File::open(path).ok()?);
    let mut first = String::new();
    reader.read_line(&mut first).ok()?;
    let header: Option<Header> = serde_json::from_str(&first).ok();
    let started_at = header.map(|h| {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(h.timestamp);
        humantime::format_rfc3339_seconds(at).to_string()
    });
    let duration = last_time(reader.into_inner(), bytes).unwrap_or(0.0);
    Some(RecordingInfo {
        file,
        node,
        shell,
        bytes,
        started_at,
        duration,
    })
}

/// The time of the last complete event in the file's tail.
fn last_time(mut file: File, len: u64) -> Option<f64> {
    TAILS.into_iter().find_map(|tail_len| {
        file.seek(SeekFrom::Start(len.saturating_sub(tail_len)))
            .ok()?;
        let mut tail = Vec::new();
        (&mut file).take(tail_len).read_to_end(&mut tail).ok()?;
        String::from_utf8_lossy(&tail)
            .lines()
            .rev()
            .find_map(|line| {
                let event: serde_json::Value = serde_json::from_str(line).ok()?;
                event.get(0)?.as_f64()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_never_escape() {
        assert_eq!(parse_name("node01.1.cast"), Some(("node01", 1)));
        assert_eq!(
            parse_name("control-plane.12.cast"),
            Some(("control-plane", 12))
        );
        for bad in [
            "node01.cast",
            "node01.0.cast",
            "../x.1.cast",
            "a/b.1.cast",
            "node01.1.txt",
            ".1.cast",
            "node01.x.cast",
        ] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
        let root = Path::new("/r");
        let id: SessionId = "abc123".parse().unwrap();
        assert_eq!(path_of(root, &id, "../../etc/passwd"), None);
        assert_eq!(
            path_of(root, &id, "n.2.cast"),
            Some(PathBuf::from("/r/abc123/n.2.cast"))
        );
    }

    #[test]
    fn each_shell_gets_the_next_number_and_lists_with_its_times() {
        let root = tempfile::tempdir().unwrap();
        let id: SessionId = "s1".parse().unwrap();
        let dir = session_dir(root.path(), &id);
        let (first, _) = create_next(&dir, "node01").unwrap();
        let (second, _) = create_next(&dir, "node01").unwrap();
        let (other, _) = create_next(&dir, "node02").unwrap();
        assert!(first.ends_with("s1/node01.1.cast"), "{first:?}");
        assert!(second.ends_with("s1/node01.2.cast"), "{second:?}");
        assert!(other.ends_with("s1/node02.1.cast"), "{other:?}");
        let header = Header::new(
            runner::TermSize { cols: 80, rows: 24 },
            1_700_000_000,
            "t".into(),
        )
        .line();
        let events = "[0.5, \"o\", \"$ \"]\n[3.25, \"m\", \"check\"]\n[3.5, \"o\", \"partial";
        fs::write(&first, format!("{header}{events}")).unwrap();
        let listed = list(root.path(), &id);
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[0].file, "node01.1.cast");
        assert_eq!(
            listed[0].started_at.as_deref(),
            Some("2023-11-14T22:13:20Z")
        );
        assert_eq!(listed[0].duration, 3.25);
        assert_eq!(listed[1].shell, 2);
        assert_eq!(listed[2].node, "node02");
        assert_eq!(used_bytes(&dir), (header.len() + events.len()) as u64);
        // A last event longer than the first look at the tail is still found.
        let long = format!("[7.5, \"o\", \"{}\"]\n", "x".repeat(100_000));
        fs::write(&second, format!("{header}{events}\n{long}")).unwrap();
        assert_eq!(list(root.path(), &id)[1].duration, 7.5);
        assert_eq!(sessions(root.path()), vec![id]);
    }

    #[test]
    fn the_sweep_removes_what_is_older_than_the_retention() {
        let root = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let day = Duration::from_secs(24 * 3600);
        let week = 7 * day;
        let write = |session: &str, node: &str, age: Duration| {
            let id: SessionId = session.parse().unwrap();
            let (_, file) = create_next(&session_dir(root.path(), &id), node).unwrap();
            std::io::Write::write_all(&mut &file, b"0123456789").unwrap();
            file.set_modified(now - age).unwrap();
        };
        write("old", "node01", week + day);
        write("old", "node02", 30 * day);
        write("mixed", "node01", week + Duration::from_secs(60));
        write("mixed", "node02", week - Duration::from_secs(60));
        write("new", "node01", Duration::ZERO);
        // Not a recording: left alone whatever its age.
        fs::write(root.path().join("mixed/notes.txt"), "keep").unwrap();
        let swept = sweep(root.path(), week, now);
        assert_eq!(
            swept,
            Swept {
                files: 3,
                bytes: 30
            }
        );
        assert!(!root.path().join("old").exists(), "an emptied folder goes");
        let left = |s: &str| list(root.path(), &s.parse().unwrap());
        assert_eq!(left("mixed").len(), 1);
        assert_eq!(left("mixed")[0].node, "node02");
        assert_eq!(left("new").len(), 1);
        assert!(root.path().join("mixed/notes.txt").exists());
        // A day later the one left in `mixed` is old too.
        assert_eq!(sweep(root.path(), week, now + day).files, 1);
    }
}
