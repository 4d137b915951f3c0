//! The learner's file editor on a node: open a folder or a text file, save it with a
//! check that nobody changed it since, and move single files either way.
//!
//! Everything goes through [`Backend::exec`] with small POSIX `sh` scripts (`readlink`,
//! `find`, `stat`, `sha256sum`, `head`, `base64`, `cat`: Debian and busybox both have
//! them), so every backend has the editor at once and an image needs no daemon, SSH or
//! agent of its own. Paths reach the scripts as environment variables, never as script
//! text, so no file name can become a command.
//!
//! The path rules are checked twice. Here, a request's path is made absolute against
//! the root and its `.` and `..` resolved by name, so an escape by `..` is refused
//! before anything runs. In the node, the script follows every symbolic link
//! (`readlink -f`, the parent folder's `pwd -P` for a file yet to be created) and, when
//! the root is restricted, refuses a path that ends outside the root's own resolved
//! path: only the node knows where its links lead. Every operation resolves, checks
//! and acts in one exec, so nothing changes between the check and the act but what
//! the node itself does in those milliseconds.
//!
//! Saving compares the file's current SHA-256 with the version the editor opened inside
//! the same exec that writes, so a change made meanwhile (in a terminal, by a setup
//! script) is refused as [`FileError::Changed`] instead of being overwritten. Files are
//! written in place (`cat > file`), which keeps their mode and owner.
//!
//! Contents travel as base64 on the way out, because an exec's output is text
//! ([`crate::ExecOutput`]) and a file need not be; the bytes are judged here: a text
//! file is one without NUL bytes that is valid UTF-8.
//!
//! A listing is read as `stat -c '%F/%s/%n'` lines, so a name holding a newline is
//! misread (its entry is dropped or split); such names are rare enough on a lesson's
//! nodes, and the file is still reachable by its path.

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use scenarios::EditorRoot;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::backend::{Backend, ExecOutput, ExecRequest};
use crate::error::RunnerError;
use crate::session::SessionId;

/// The largest file the editor opens or saves: beyond it, a browser's code editor
/// crawls and the JSON body stops being a reasonable request.
pub const TEXT_LIMIT: u64 = 1024 * 1024;

/// The largest file uploaded or downloaded in one request.
pub const TRANSFER_LIMIT: u64 = 10 * 1024 * 1024;

/// The most entries one folder listing returns; the rest are left out and the
/// listing says [`Listing::truncated`].
pub const LISTING_LIMIT: usize = 2000;

/// How long one file operation may take on the node.
const FILE_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest path accepted (Linux's `PATH_MAX`).
const PATH_LIMIT: usize = 4096;

/// Shared by every script: resolves `$P` into `$F` and enforces the root. Exit codes
/// 10 and up are refusals, read back by [`refusal`].
const PRELUDE: &str = r#"
fail() { c=$1; shift; printf '%s\n' "$*" >&2; exit "$c"; }
physical() {
  if [ -e "$1" ] || [ -L "$1" ]; then
    readlink -f "$1" || fail 1 "cannot resolve $1"
  else
    d=$(cd -P "$(dirname "$1")" 2>/dev/null && pwd -P) || fail 10 "no folder $(dirname "$1")"
    printf '%s/%s\n' "${d%/}" "$(basename "$1")"
  fi
}
F=$(physical "$P") || exit
if [ -n "$RESTRICTED" ]; then
  R=$(physical "$ROOT") || exit
  if [ "$R" != / ]; then
    case $F in "$R"|"$R"/*) ;; *) fail 11 "$P leads out of $ROOT" ;; esac
  fi
fi
printf '%s\n' "$F"
"#;

/// Opens `$F`: a folder's entries when `$DIRS` is set (first line `dir`), else a
/// regular file of at most `$LIMIT` bytes as base64 (first line `file`). On too large
/// a file, prints its size.
const READ: &str = r#"
if [ -d "$F" ]; then
  [ -n "$DIRS" ] || fail 12 "$P is a folder"
  echo dir
  find "$F" -mindepth 1 -maxdepth 1 -exec stat -c '%F/%s/%n' {} + 2>/dev/null | head -n "$ENTRIES"
  exit 0
fi
[ -e "$F" ] || fail 10 "there is no $P"
[ -f "$F" ] || fail 15 "$P is not a regular file"
s=$(stat -c %s "$F") || fail 1 "cannot read $P"
[ "$s" -le "$LIMIT" ] || { printf '%s\n' "$s"; exit 13; }
echo file
head -c "$((LIMIT + 1))" "$F" | base64
"#;

/// Writes stdin to `$F` in place. With `$CHECK` set, only if the file's SHA-256 is
/// `$EXPECTED` (or, `$EXPECTED` empty, if there is no file yet); otherwise prints the
/// current version (nothing when the file is gone) and exits 14.
const WRITE: &str = r#"
[ -d "$F" ] && fail 12 "$P is a folder"
[ -e "$F" ] && [ ! -f "$F" ] && fail 15 "$P is not a regular file"
if [ -n "$CHECK" ]; then
  if [ -e "$F" ]; then
    v=$(sha256sum < "$F") || fail 1 "cannot read $P"
    v=${v%% *}
    [ "$v" = "$EXPECTED" ] || { printf '%s\n' "$v"; exit 14; }
  elif [ -n "$EXPECTED" ]; then
    exit 14
  fi
fi
cat > "$F" || fail 1 "cannot write $P"
"#;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path:?} is not a path the editor accepts: {reason}")]
    InvalidPath { path: String, reason: &'static str },
    #[error("{path} is outside the editor's folder {root}")]
    OutsideRoot { path: String, root: String },
    #[error("there is no {path}")]
    NotFound { path: String },
    #[error("{path} is a folder")]
    IsADirectory { path: String },
    /// A device, socket or pipe: reading one could block or never end.
    #[error("{path} is not a regular file")]
    NotAFile { path: String },
    #[error("{path} is {size} bytes, more than the {limit} bytes allowed here")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("{path} is not text (it has NUL bytes or is not UTF-8): download it instead")]
    Binary { path: String },
    /// The file is not the version the editor opened; `current_version` is `None`
    /// when it is gone, and is the version of the file in the way when the editor
    /// meant to create a new one.
    #[error("{path} changed on the node since it was opened: reopen it to see the change")]
    Changed {
        path: String,
        current_version: Option<String>,
    },
    /// The script failed otherwise (permissions, a full disk, a missing tool).
    #[error("{path} on node {node}: {reason}")]
    Failed {
        node: String,
        path: String,
        reason: String,
    },
    #[error(transparent)]
    Node(#[from] RunnerError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Dir,
    File,
    Link,
    Other,
}

/// One entry of a folder; a link is not followed (its size is the link's own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub name: String,
    pub kind: EntryKind,
    pub size: u64,
}

/// A folder's entries, folders first, then by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listing {
    /// The path as asked for, absolute and without `.` or `..`.
    pub path: String,
    /// The same with every symbolic link followed, as the node resolved it.
    pub real_path: String,
    pub entries: Vec<Entry>,
    /// More than [`LISTING_LIMIT`] entries: some were left out.
    pub truncated: bool,
}

/// A text file as the editor opens it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TextFile {
    pub path: String,
    pub real_path: String,
    pub content: String,
    /// The SHA-256 of the bytes, in hex: what a save must name to overwrite them.
    pub version: String,
    pub size: u64,
}

/// What a path named: a folder or a text file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Opened {
    Dir(Listing),
    File(TextFile),
}

/// A file written: its new version and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Saved {
    pub version: String,
    pub size: u64,
}

/// A file's bytes, for a download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub path: String,
    pub bytes: Bytes,
}

/// The files of one node of a session, seen through the lesson's editor root.
pub struct NodeFiles<'a> {
    backend: &'a dyn Backend,
    session: &'a SessionId,
    node: &'a str,
    root: &'a EditorRoot,
}

impl<'a> NodeFiles<'a> {
    pub fn new(
        backend: &'a dyn Backend,
        session: &'a SessionId,
        node: &'a str,
        root: &'a EditorRoot,
    ) -> NodeFiles<'a> {
        NodeFiles {
            backend,
            session,
            node,
            root,
        }
    }

    /// Opens a folder (its listing) or a text file; `None` is the root.
    pub async fn open(&self, path: Option<&str>) -> Result<Opened, FileError> {
        let path = self.requested(path)?;
        let mut request = self.request(READ, &path);
        request.env.push(("DIRS".into(), "1".into()));
        request
            .env
            .push(("ENTRIES".into(), (LISTING_LIMIT + 1).to_string()));
        request.env.push(("LIMIT".into(), TEXT_LIMIT.to_string()));
        request.output_limit = encoded_room(TEXT_LIMIT);
        let output = self.run(request, &path, TEXT_LIMIT).await?;
        let (real_path, rest) = split_line(&output.stdout);
        let (kind, body) = split_line(rest);
        match kind {
            "dir" => Ok(Opened::Dir(listing(path, real_path.to_owned(), body))),
            _ => {
                let bytes = self.decode(&path, body, TEXT_LIMIT)?;
                if bytes.contains(&0) {
                    return Err(FileError::Binary { path });
                }
                let version = version(&bytes);
                let size = bytes.len() as u64;
                let content = String::from_utf8(bytes)
                    .map_err(|_| FileError::Binary { path: path.clone() })?;
                Ok(Opened::File(TextFile {
                    path,
                    real_path: real_path.to_owned(),
                    content,
                    version,
                    size,
                }))
            }
        }
    }

    /// Saves a text file if it is still at `expected` (the version it was opened
    /// at); `None` creates a new file and refuses if one is there.
    pub async fn write(
        &self,
        path: &str,
        content: &str,
        expected: Option<&str>,
    ) -> Result<Saved, FileError> {
        let path = self.requested(Some(path))?;
        let mut request = self.request(WRITE, &path);
        request.env.push(("CHECK".into(), "1".into()));
        request
            .env
            .push(("EXPECTED".into(), expected.unwrap_or_default().to_owned()));
        self.put(
            request,
            path,
            Bytes::copy_from_slice(content.as_bytes()),
            TEXT_LIMIT,
        )
        .await
    }

    /// A regular file's bytes, whatever they are, up to [`TRANSFER_LIMIT`].
    pub async fn download(&self, path: &str) -> Result<Download, FileError> {
        let path = self.requested(Some(path))?;
        let mut request = self.request(READ, &path);
        request
            .env
            .push(("LIMIT".into(), TRANSFER_LIMIT.to_string()));
        request.output_limit = encoded_room(TRANSFER_LIMIT);
        let output = self.run(request, &path, TRANSFER_LIMIT).await?;
        let (_, rest) = split_line(&output.stdout);
        let (_, body) = split_line(rest);
        let bytes = self.decode(&path, body, TRANSFER_LIMIT)?;
        Ok(Download {
            path,
            bytes: bytes.into(),
        })
    }

    /// Writes `bytes` to a file, replacing one that is there (never a folder).
    pub async fn upload(&self, path: &str, bytes: Bytes) -> Result<Saved, FileError> {
        let path = self.requested(Some(path))?;
        let request = self.request(WRITE, &path);
        self.put(request, path, bytes, TRANSFER_LIMIT).await
    }

    /// Runs a [`WRITE`] request with `bytes` on its stdin.
    async fn put(
        &self,
        mut request: ExecRequest,
        path: String,
        bytes: Bytes,
        limit: u64,
    ) -> Result<Saved, FileError> {
        let size = bytes.len() as u64;
        if size > limit {
            return Err(FileError::TooLarge { path, size, limit });
        }
        let saved = Saved {
            version: version(&bytes),
            size,
        };
        request.stdin = Some(bytes);
        self.run(request, &path, limit).await?;
        Ok(saved)
    }

    /// `path` made absolute against the root and normalized by name; refused when it
    /// leaves a restricted root by `..` (links are the node's to check).
    fn requested(&self, path: Option<&str>) -> Result<String, FileError> {
        let given = path.unwrap_or_default();
        let invalid = |reason| FileError::InvalidPath {
            path: given.to_owned(),
            reason,
        };
        if given.contains('\0') {
            return Err(invalid("it contains a NUL character"));
        }
        if given.len() > PATH_LIMIT {
            return Err(invalid("it is longer than 4096 bytes"));
        }
        let joined = if given.starts_with('/') {
            given.to_owned()
        } else {
            format!("{}/{given}", self.root.path)
        };
        let path = normalize(&joined);
        if self.root.restricted && !is_under(&path, &normalize(&self.root.path)) {
            return Err(FileError::OutsideRoot {
                path,
                root: self.root.path.clone(),
            });
        }
        Ok(path)
    }

    fn request(&self, script: &str, path: &str) -> ExecRequest {
        let mut request = ExecRequest::new(format!("{PRELUDE}{script}"), FILE_TIMEOUT);
        request.env = vec![
            ("P".into(), path.to_owned()),
            ("ROOT".into(), self.root.path.clone()),
            (
                "RESTRICTED".into(),
                if self.root.restricted { "1" } else { "" }.into(),
            ),
        ];
        request
    }

    /// Runs a request; a refusal becomes its [`FileError`].
    async fn run(
        &self,
        request: ExecRequest,
        path: &str,
        limit: u64,
    ) -> Result<ExecOutput, FileError> {
        let output = self.backend.exec(self.session, self.node, request).await?;
        if output.success() && !output.truncated {
            return Ok(output);
        }
        Err(refusal(self.node, path, &self.root.path, limit, &output))
    }

    fn decode(&self, path: &str, body: &str, limit: u64) -> Result<Vec<u8>, FileError> {
        let compact: String = body.split_ascii_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|e| FileError::Failed {
                node: self.node.to_owned(),
                path: path.to_owned(),
                reason: format!("the node sent the file garbled: {e}"),
            })?;
        // It grew between the size check and the read (`head` stops one byte past).
        if bytes.len() as u64 > limit {
            return Err(FileError::TooLarge {
                path: path.to_owned(),
                size: bytes.len() as u64,
                limit,
            });
        }
        Ok(bytes)
    }
}

/// What a failed or cut-off script run means; the codes are the scripts'.
fn refusal(node: &str, path: &str, root: &str, limit: u64, output: &ExecOutput) -> FileError {
    let path = path.to_owned();
    // What a refusing script says, on the line after the prelude's resolved path.
    let said = output.stdout.lines().nth(1).map(str::trim);
    match output.exit_code {
        Some(10) => FileError::NotFound { path },
        Some(11) => FileError::OutsideRoot {
            path,
            root: root.to_owned(),
        },
        Some(12) => FileError::IsADirectory { path },
        Some(13) => FileError::TooLarge {
            path,
            size: said.and_then(|s| s.parse().ok()).unwrap_or(limit + 1),
            limit,
        },
        Some(14) => FileError::Changed {
            path,
            current_version: said.filter(|v| !v.is_empty()).map(str::to_owned),
        },
        Some(15) => FileError::NotAFile { path },
        code => FileError::Failed {
            node: node.to_owned(),
            path,
            reason: if output.timed_out {
                format!("timed out after {FILE_TIMEOUT:?}")
            } else if output.truncated {
                "the node sent more than asked for".to_owned()
            } else {
                format!("exit code {code:?}: {}", output.stderr.trim())
            },
        },
    }
}

/// The exec output needed for a file of `limit` bytes as base64 (4 characters per 3
/// bytes, a newline every 76), with room for the path lines before it.
fn encoded_room(limit: u64) -> usize {
    (limit as usize) * 3 / 2 + 2 * PATH_LIMIT + 64
}

fn split_line(text: &str) -> (&str, &str) {
    text.split_once('\n').unwrap_or((text, ""))
}

fn version(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `/`-joined parts with `.` and empty parts dropped and `..` taking one back
/// (never above `/`).
fn normalize(path: &str) -> String {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Whether `path` is `root` or inside it; both normalized.
fn is_under(path: &str, root: &str) -> bool {
    root == "/"
        || path == root
        || path
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// A folder's entries from the `stat` lines of [`READ`].
fn listing(path: String, real_path: String, lines: &str) -> Listing {
    let mut entries: Vec<Entry> = lines.lines().filter_map(entry).collect();
    let truncated = entries.len() > LISTING_LIMIT;
    entries.truncate(LISTING_LIMIT);
    entries.sort_by(|a, b| {
        (a.kind != EntryKind::Dir, &a.name).cmp(&(b.kind != EntryKind::Dir, &b.name))
    });
    Listing {
        path,
        real_path,
        entries,
        truncated,
    }
}

/// One `TYPE/SIZE/PATH` line (`stat`'s `%F/%s/%n`).
fn entry(line: &str) -> Option<Entry> {
    let (kind, rest) = line.split_once('/')?;
    let (size, full) = rest.split_once('/')?;
    let name = full.rsplit('/').next().filter(|n| !n.is_empty())?;
    let kind = match kind {
        "directory" => EntryKind::Dir,
        "symbolic link" => EntryKind::Link,
        // GNU says `regular empty file` for an empty one.
        k if k.starts_with("regular") => EntryKind::File,
        _ => EntryKind::Other,
    };
    Some(Entry {
        name: name.to_owned(),
        kind,
        size: size.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::testing::{FakeBackend, exit};

    fn fake() -> (Arc<FakeBackend>, SessionId) {
        let backend = FakeBackend::new();
        let session: SessionId = "s1".parse().unwrap();
        backend.add_environment(&session, &["node01"]);
        (backend, session)
    }

    fn root(path: &str, restricted: bool) -> EditorRoot {
        EditorRoot {
            path: path.to_owned(),
            restricted,
        }
    }

    fn output(code: i64, stdout: &str) -> ExecOutput {
        ExecOutput {
            stdout: stdout.to_owned(),
            ..exit(code)
        }
    }

    #[tokio::test]
    async fn an_escape_by_dot_dot_is_refused_before_anything_runs() {
        let (backend, session) = fake();
        let restricted = root("/root/app", true);
        let files = NodeFiles::new(&*backend, &session, "node01", &restricted);
        for path in [
            "../.bashrc",
            "/root/app/../../etc/passwd",
            "/etc/passwd",
            "/root/apple",
        ] {
            let e = files.open(Some(path)).await.unwrap_err();
            assert!(matches!(e, FileError::OutsideRoot { .. }), "{path}: {e:?}");
        }
        let e = files.upload("a\0b", Bytes::new()).await.unwrap_err();
        assert!(matches!(e, FileError::InvalidPath { .. }), "{e:?}");
        assert!(backend.execs().is_empty());

        // Inside, or unrestricted, the path goes to the node, absolute and normalized.
        files.open(Some("src/../x/./y")).await.ok();
        let home = root("/root", false);
        let open = NodeFiles::new(&*backend, &session, "node01", &home);
        open.open(Some("../etc/passwd")).await.ok();
        assert_eq!(backend.execs().len(), 2);
    }

    #[test]
    fn paths_are_normalized_by_name() {
        assert_eq!(normalize("/root/a/../b/./c//"), "/root/b/c");
        assert_eq!(normalize("/../.."), "/");
        assert!(is_under("/root/app/x", "/root/app"));
        assert!(is_under("/root/app", "/root/app"));
        assert!(!is_under("/root/apple", "/root/app"));
        assert!(is_under("/etc", "/"));
    }

    #[tokio::test]
    async fn a_folder_lists_folders_first_then_names() {
        let (backend, session) = fake();
        backend.on_exec(|_, _| {
            output(
                0,
                "/root\ndir\nregular file/12/root/b.yaml\ndirectory/4096/root/z\n\
                 symbolic link/4/root/a\nregular empty file/0/root/.env\n\
                 directory/4096/root/.cache\nfifo/0/root/p\n",
            )
        });
        let home = root("/root", false);
        let files = NodeFiles::new(&*backend, &session, "node01", &home);
        let Opened::Dir(listing) = files.open(None).await.unwrap() else {
            panic!("not a folder");
        };
        let names: Vec<(&str, EntryKind)> = listing
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.kind))
            .collect();
        assert_eq!(
            names,
            [
                (".cache", EntryKind::Dir),
                ("z", EntryKind::Dir),
                (".env", EntryKind::File),
                ("a", EntryKind::Link),
                ("b.yaml", EntryKind::File),
                ("p", EntryKind::Other),
            ]
        );
        assert_eq!(listing.entries[4].size, 12);
        assert!(!listing.truncated);
        assert_eq!(listing.path, "/root");
    }

    #[tokio::test]
    async fn a_listing_past_the_limit_says_it_is_cut() {
        let (backend, session) = fake();
        let mut stdout = "/root\ndir\n".to_owned();
        for i in 0..=LISTING_LIMIT {
            stdout.push_str(&format!("regular file/1/root/f{i}\n"));
        }
        backend.on_exec(move |_, _| output(0, &stdout));
        let home = root("/root", false);
        let files = NodeFiles::new(&*backend, &session, "node01", &home);
        let Opened::Dir(listing) = files.open(None).await.unwrap() else {
            panic!("not a folder");
        };
        assert!(listing.truncated);
        assert_eq!(listing.entries.len(), LISTING_LIMIT);
    }

    fn file_output(bytes: &[u8]) -> ExecOutput {
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        output(0, &format!("/root/f\nfile\n{encoded}\n"))
    }

    #[tokio::test]
    async fn a_text_file_opens_with_its_version_and_binary_is_refused() {
        let (backend, session) = fake();
        let home = root("/root", false);
        let files = NodeFiles::new(&*backend, &session, "node01", &home);

        backend.on_exec(|_, _| file_output("héllo\n".as_bytes()));
        let Opened::File(file) = files.open(Some("f")).await.unwrap() else {
            panic!("not a file");
        };
        assert_eq!(file.content, "héllo\n");
        assert_eq!(file.size, 7);
        // `printf 'héllo\n' | sha256sum`
        assert_eq!(file.version, version("héllo\n".as_bytes()));
        assert_eq!(file.version.len(), 64);

        for binary in [&b"a\0b"[..], &[0xff, 0xfe, b'a'][..]] {
            backend.on_exec(move |_, _| file_output(binary));
            let e = files.open(Some("f")).await.unwrap_err();
            assert!(matches!(e, FileError::Binary { .. }), "{e:?}");
        }
    }

    #[tokio::test]
    async fn refusals_are_read_from_exit_codes() {
        let (backend, session) = fake();
        let home = root("/root", false);
        let files = NodeFiles::new(&*backend, &session, "node01", &home);

        backend.on_exec(|_, _| output(13, "/root/big\n2000000\n"));
        let e = files.open(Some("big")).await.unwrap_err();
        assert!(
            matches!(
                e,
                FileError::TooLarge {
                    size: 2_000_000,
                    limit: TEXT_LIMIT,
                    ..
                }
            ),
            "{e:?}"
        );

        backend.on_exec(|_, _| output(14, "/root/f\nabc123\n"));
        let e = files.write("f", "new", Some("old")).await.unwrap_err();
        assert!(
            matches!(&e, FileError::Changed { current_version: Some(v), .. } if v == "abc123"),
            "{e:?}"
        );
        backend.on_exec(|_, _| output(14, "/root/f\n"));
        let e = files.write("f", "new", Some("old")).await.unwrap_err();
        assert!(
            matches!(
                e,
                FileError::Changed {
                    current_version: None,
                    ..
                }
            ),
            "{e:?}"
        );

        for (code, want) in [
            (10, "NotFound"),
            (11, "OutsideRoot"),
            (12, "IsADirectory"),
            (15, "NotAFile"),
            (1, "Failed"),
        ] {
            backend.on_exec(move |_, _| output(code, "/root/f\n"));
            let e = files.download("f").await.unwrap_err();
            assert!(format!("{e:?}").starts_with(want), "{code}: {e:?}");
        }
    }

    #[tokio::test]
    async fn a_cut_off_download_is_a_failure_not_a_shorter_file() {
        let (backend, session) = fake();
        let home = root("/root", false);
        let files = NodeFiles::new(&*backend, &session, "node01", &home);
        let huge = "A".repeat(encoded_room(TRANSFER_LIMIT) + 1);
        backend.on_exec(move |_, _| output(0, &format!("/root/f\nfile\n{huge}")));
        let e = files.download("f").await.unwrap_err();
        assert!(matches!(e, FileError::Failed { .. }), "{e:?}");
    }

    #[tokio::test]
    async fn a_save_sends_the_content_and_answers_its_version() {
        let (backend, session) = fake();
        let home = root("/root", false);
        let files = NodeFiles::new(&*backend, &session, "node01", &home);
        let saved = files.write("f", "x: 1\n", None).await.unwrap();
        assert_eq!(
            saved,
            Saved {
                version: version(b"x: 1\n"),
                size: 5
            }
        );
        let too_big = "a".repeat(TEXT_LIMIT as usize + 1);
        let e = files.write("f", &too_big, None).await.unwrap_err();
        assert!(matches!(e, FileError::TooLarge { .. }), "{e:?}");
        assert_eq!(backend.execs().len(), 1);
    }
}
