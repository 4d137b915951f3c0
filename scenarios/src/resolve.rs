//! Resolution shared by both lesson formats: reading lesson files (never outside the
//! lesson folder), checking node references, parsing durations and script text, and
//! collecting the diagnostics for all of it against the file's [`SourceMap`].

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use crate::diagnostic::{Diagnostic, did_you_mean, line_col};
use crate::model::Page;
use crate::source_map::{SourceMap, field};
use crate::units;

/// Turns the raw file into the model, collecting diagnostics on the way.
pub(crate) struct Resolver<'a> {
    pub(crate) dir: &'a Path,
    pub(crate) map: &'a SourceMap,
    pub(crate) diags: Vec<Diagnostic>,
    /// Node names, for checking references.
    pub(crate) nodes: Vec<String>,
}

impl Resolver<'_> {
    pub(crate) fn error(&mut self, path: &str, message: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(self.map.error(path, message));
        self.diags.last_mut().expect("just pushed")
    }

    /// Like [`Resolver::error`], at the key of `path` (see [`SourceMap::key_error`]).
    pub(crate) fn error_at_key(
        &mut self,
        path: &str,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diags.push(self.map.key_error(path, message));
        self.diags.last_mut().expect("just pushed")
    }

    /// A path inside the lesson folder; refuses absolute paths and `..`, so a lesson
    /// can never make playlab read files outside its own folder.
    pub(crate) fn lesson_path(&mut self, rel: &str, path: &str) -> Option<PathBuf> {
        self.path_within(rel, path, self.dir, "the lesson folder")
    }

    /// A path inside the content directory that holds the lesson: node `build` folders
    /// may be shared by lessons (`build: ../images/base`).
    pub(crate) fn content_path(&mut self, rel: &str, path: &str) -> Option<PathBuf> {
        let content = self.dir.parent().unwrap_or(self.dir);
        self.path_within(rel, path, content, "the content directory")
    }

    fn path_within(&mut self, rel: &str, path: &str, root: &Path, what: &str) -> Option<PathBuf> {
        if rel.trim().is_empty() {
            self.error(path, "the file name is empty").hint =
                Some("name a file, relative to the lesson folder".into());
            return None;
        }
        // Resolved lexically (not through symlinks), so the answer does not depend on
        // what exists on disk yet.
        let mut resolved = self.dir.to_path_buf();
        let mut inside = true;
        for c in Path::new(rel).components() {
            match c {
                Component::Normal(part) => resolved.push(part),
                Component::CurDir => {}
                Component::ParentDir => inside &= resolved.pop() && resolved.starts_with(root),
                Component::RootDir | Component::Prefix(_) => inside = false,
            }
        }
        if !inside || !resolved.starts_with(root) {
            self.error(path, format!("`{rel}` must be a path inside {what}"))
                .hint = Some("use a path relative to the lesson folder".into());
            return None;
        }
        Some(resolved)
    }

    /// Reads a file of the lesson, reporting a missing one at `path`.
    pub(crate) fn read(&mut self, rel: &str, path: &str) -> Option<(PathBuf, String)> {
        let abs = self.lesson_path(rel, path)?;
        match read_text(&abs) {
            Ok(text) => Some((abs, text)),
            Err(ReadError::NotUtf8(d)) => {
                self.diags.push(d);
                None
            }
            Err(ReadError::Io(e)) => {
                let msg = if e.kind() == std::io::ErrorKind::NotFound {
                    format!("file `{rel}` not found")
                } else {
                    format!("cannot read `{rel}`: {e}")
                };
                self.error(path, msg).hint = Some(format!(
                    "paths are relative to the lesson folder `{}/`",
                    lesson_folder_name(self.dir)
                ));
                None
            }
        }
    }

    pub(crate) fn page(&mut self, rel: &str, path: &str) -> Option<Page> {
        self.read(rel, path)
            .map(|(path, markdown)| Page { path, markdown })
    }

    pub(crate) fn duration(&mut self, text: &str, path: &str) -> Option<Duration> {
        match units::parse_duration(text) {
            Ok(d) => Some(d),
            Err(msg) => {
                self.error(path, msg).hint =
                    Some("write durations like `10s`, `30m` or `1h 30m`".into());
                None
            }
        }
    }

    /// The node a command runs on: the named one, or the first node.
    pub(crate) fn node_ref(&mut self, node: Option<&str>, path: &str) -> String {
        match node {
            None => self.nodes.first().cloned().unwrap_or_default(),
            Some(name) => {
                if !self.nodes.iter().any(|n| n == name) {
                    let hint = did_you_mean(name, self.nodes.iter().map(String::as_str))
                        .unwrap_or_else(|| format!("the nodes are: {}", self.nodes.join(", ")));
                    self.error(&field(path, "node"), format!("unknown node `{name}`"))
                        .hint = Some(hint);
                }
                name.to_owned()
            }
        }
    }

    /// Script text: inline, or read from a `.sh` file named by `run`.
    pub(crate) fn run_text(&mut self, run: &str, path: &str) -> String {
        if is_script_file_name(run) {
            // A missing file has been reported by `read`; an empty one is reported here.
            let (_, text) = self.read(run.trim(), path).unwrap_or_default();
            if self.dir.join(run.trim()).is_file() && text.trim().is_empty() {
                self.error(path, format!("the script file `{}` is empty", run.trim()));
            }
            text
        } else {
            if run.trim().is_empty() {
                self.error(path, "the script is empty");
            }
            run.to_owned()
        }
    }
}

/// Why a lesson file could not be read as text.
pub(crate) enum ReadError {
    Io(std::io::Error),
    /// The diagnostic, pointing at the first byte that is not UTF-8.
    NotUtf8(Diagnostic),
}

/// Reads a lesson file as UTF-8 text. `std`'s own error for other encodings
/// ("stream did not contain valid UTF-8") says neither where nor what to do, and a
/// stray Latin-1 byte in a page is an easy mistake to make and hard to find.
pub(crate) fn read_text(path: &Path) -> Result<String, ReadError> {
    let bytes = std::fs::read(path).map_err(ReadError::Io)?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let valid = std::str::from_utf8(valid).expect("valid up to here");
        let (line, col) = line_col(valid, valid.len());
        ReadError::NotUtf8(
            Diagnostic::error(path, line, col, "the file is not UTF-8 text")
                .with_hint("save it as UTF-8 (most editors offer this when saving)"),
        )
    })
}

/// `run: check.sh` names a file; anything with spaces or newlines is the script itself.
fn is_script_file_name(run: &str) -> bool {
    let t = run.trim();
    t.ends_with(".sh") && !t.contains(char::is_whitespace)
}

/// The folder's own name, for messages that must not depend on where content lives.
pub(crate) fn lesson_folder_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
