//! Content directories: every subfolder with a `lesson.yaml` (native) or `index.json`
//! (Killercoda) is a lesson whose id is the folder name. This is the entry point the
//! server (`serve`), `playlab lint` and `playlab test` use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;
use crate::killercoda::{self, ImageMap};
use crate::model::Lesson;
use crate::native;
use crate::resolve::ReadError;

/// Folders of a content directory that are never lessons: `images/` holds the
/// Dockerfiles of shared node images.
const NOT_LESSONS: &[&str] = &["images"];

/// Every lesson found and every problem found.
#[derive(Debug, Default)]
pub struct Content {
    /// Lessons that loaded without an error (they may have warnings), sorted by id.
    pub lessons: Vec<Lesson>,
    /// Every diagnostic, errors and warnings, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Content {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The result of loading one lesson folder.
#[derive(Debug)]
pub struct LessonLoad {
    /// `None` when the file could not be parsed at all; `Some` even when other errors
    /// were found (a missing file, an unknown node), so tools can still show it.
    pub lesson: Option<Lesson>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Loads one lesson folder: its `lesson.yaml`, else its `index.json`.
pub fn load_lesson(dir: &Path, images: &ImageMap) -> LessonLoad {
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
    let id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let yaml = dir.join("lesson.yaml");
    let json = dir.join("index.json");
    let (lesson, mut diagnostics) = if yaml.is_file() {
        match read(&yaml) {
            Ok(text) => native::load(&id, &dir, &text),
            Err(d) => (None, vec![d]),
        }
    } else {
        match read(&json) {
            Ok(text) => killercoda::load(&id, &dir, &text, images),
            Err(d) => (None, vec![d]),
        }
    };
    if yaml.is_file() && json.is_file() {
        diagnostics.push(
            Diagnostic::warning(
                &json,
                1,
                1,
                "ignored: this folder has a lesson.yaml, which takes precedence",
            )
            .with_hint("keep one of lesson.yaml and index.json"),
        );
    }
    if let Some(lesson) = &lesson {
        if !is_url_safe_id(&lesson.id) {
            diagnostics.push(
                Diagnostic::error(
                    lesson_file(&dir),
                    1,
                    1,
                    format!("lesson id `{}` is not URL-safe", lesson.id),
                )
                .with_hint(
                    "a lesson's id is its folder name: use letters, digits, `-`, `_` and `.`",
                ),
            );
        }
        diagnostics.extend(crate::lint::lint_pages(lesson));
    }
    diagnostics.sort();
    LessonLoad {
        lesson,
        diagnostics,
    }
}

/// Lesson ids appear in URLs and session names, so they stay plain.
fn is_url_safe_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn read(path: &Path) -> Result<String, Diagnostic> {
    crate::resolve::read_text(path).map_err(|e| match e {
        ReadError::Io(e) => Diagnostic::error(path, 1, 1, format!("cannot read the file: {e}")),
        ReadError::NotUtf8(d) => d,
    })
}

/// Loads every lesson under the content directories `dirs`, with the default
/// Killercoda [`ImageMap`]. See [`load_content_dirs_with`].
pub fn load_content_dirs(dirs: &[impl AsRef<Path>]) -> Content {
    load_content_dirs_with(dirs, &ImageMap::builtin(false))
}

/// Loads every lesson under the content directories `dirs`. A directory that is
/// itself a lesson folder counts as one lesson. Lesson ids must be unique across all
/// directories: a second lesson with a taken id is reported and left out.
pub fn load_content_dirs_with(dirs: &[impl AsRef<Path>], images: &ImageMap) -> Content {
    let mut content = Content::default();
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for dir in dirs {
        for lesson_dir in lesson_dirs(dir.as_ref(), &mut content.diagnostics) {
            let load = load_lesson(&lesson_dir, images);
            let ok = !load.diagnostics.iter().any(Diagnostic::is_error);
            content.diagnostics.extend(load.diagnostics);
            let Some(lesson) = load.lesson else { continue };
            if let Some(first) = seen.get(&lesson.id) {
                content.diagnostics.push(
                    Diagnostic::error(lesson_file(&lesson_dir), 1, 1, format!(
                        "duplicate lesson id `{}`: the content directory `{}/` has a lesson with this id too",
                        lesson.id,
                        first.parent().map(crate::resolve::lesson_folder_name).unwrap_or_default()
                    ))
                    .with_hint("a lesson's id is its folder name; rename one of the folders"),
                );
                continue;
            }
            seen.insert(lesson.id.clone(), lesson.dir.clone());
            if ok {
                content.lessons.push(lesson);
            }
        }
    }
    content.lessons.sort_by(|a, b| a.id.cmp(&b.id));
    content.diagnostics.sort();
    content
}

/// Same as [`load_content_dirs`], shaped for `playlab lint`.
pub fn lint(dirs: &[impl AsRef<Path>]) -> (Vec<Lesson>, Vec<Diagnostic>) {
    let content = load_content_dirs(dirs);
    (content.lessons, content.diagnostics)
}

fn is_lesson_dir(dir: &Path) -> bool {
    dir.join("lesson.yaml").is_file() || dir.join("index.json").is_file()
}

fn lesson_file(dir: &Path) -> PathBuf {
    let yaml = dir.join("lesson.yaml");
    if yaml.is_file() {
        yaml
    } else {
        dir.join("index.json")
    }
}

/// The lesson folders of one content directory, sorted by name.
fn lesson_dirs(dir: &Path, diagnostics: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    if is_lesson_dir(dir) {
        return vec![dir.to_owned()];
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            diagnostics.push(Diagnostic::error(
                dir,
                1,
                1,
                format!("cannot read the content directory: {e}"),
            ));
            return Vec::new();
        }
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir() && is_lesson_dir(p))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| NOT_LESSONS.iter().any(|x| n == *x))
        })
        .collect();
    dirs.sort();
    dirs
}
