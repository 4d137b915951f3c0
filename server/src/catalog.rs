//! The lessons loaded from content directories, by id: what `serve` offers (and
//! reloads), what `test` self-tests and what `lint` counts, loaded the one same way.
//!
//! Lessons are held as `Arc<Lesson>`, so a reload builds a new [`Catalog`] while running
//! sessions keep the lessons they started with.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use scenarios::{Diagnostic, ImageMap, Lesson};

/// The lessons by id.
#[derive(Debug, Default)]
pub struct Catalog {
    lessons: BTreeMap<String, Arc<Lesson>>,
}

impl Catalog {
    pub fn from_lessons(lessons: impl IntoIterator<Item = Lesson>) -> Catalog {
        Catalog {
            lessons: lessons
                .into_iter()
                .map(|l| (l.id.clone(), Arc::new(l)))
                .collect(),
        }
    }

    /// Loads every lesson under `paths` (lesson folders or content directories),
    /// Killercoda scenarios through `images`: the lessons that loaded, and every
    /// diagnostic. Lessons with errors are left out, so one broken lesson does not take
    /// the others down. How `serve`, `test` and `lint` all load lessons.
    pub fn load_paths(paths: &[impl AsRef<Path>], images: &ImageMap) -> (Catalog, Vec<Diagnostic>) {
        let content = scenarios::load_content_dirs_with(paths, images);
        (Catalog::from_lessons(content.lessons), content.diagnostics)
    }

    /// Loads the content directory `dir` (which must exist, unlike a path given to
    /// [`Catalog::load_paths`]: a server without its content is misconfigured); the
    /// errors come back as messages with paths relative to `dir`.
    pub fn load(dir: &Path, images: &ImageMap) -> anyhow::Result<(Catalog, Vec<String>)> {
        if !dir.is_dir() {
            anyhow::bail!("content directory {} does not exist", dir.display());
        }
        let (catalog, diagnostics) = Catalog::load_paths(&[dir], images);
        let problems = diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.display_relative_to(dir).to_string())
            .collect();
        Ok((catalog, problems))
    }

    /// Loads `dir` again to pick up authors' edits. A lesson whose folder is still there
    /// but no longer loads keeps its last good version, so a half-saved `lesson.yaml`
    /// does not take a lesson away from learners mid-class; its problems are reported
    /// all the same. A removed folder removes its lesson.
    pub fn reload(&self, dir: &Path, images: &ImageMap) -> anyhow::Result<(Catalog, Vec<String>)> {
        let (mut catalog, mut problems) = Catalog::load(dir, images)?;
        for (id, lesson) in &self.lessons {
            if !catalog.lessons.contains_key(id) && lesson.dir.is_dir() {
                problems.push(format!(
                    "{id}: does not load any more; learners keep the last version that did \
                     until it is fixed and reloaded"
                ));
                catalog.lessons.insert(id.clone(), lesson.clone());
            }
        }
        Ok((catalog, problems))
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Lesson>> {
        self.lessons.get(id)
    }

    /// The lessons, by id.
    pub fn lessons(&self) -> impl Iterator<Item = &Arc<Lesson>> {
        self.lessons.values()
    }

    pub fn len(&self) -> usize {
        self.lessons.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lessons.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `test` and `lint` may name a lesson folder or a missing path (a diagnostic); the
    /// server's content directory must exist.
    #[test]
    fn paths_load_what_they_can_the_servers_directory_must_exist() {
        let lint_cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/tests/lint");
        let fixture = |case: &str| lint_cases.join(case);
        let images = ImageMap::builtin(false);
        let (catalog, diagnostics) =
            Catalog::load_paths(&[fixture("ok"), fixture("unknown-key")], &images);
        assert_eq!(catalog.len(), 1, "{diagnostics:?}");
        assert!(diagnostics.iter().any(Diagnostic::is_error));
        let (catalog, diagnostics) = Catalog::load_paths(&[fixture("missing")], &images);
        assert!(catalog.is_empty());
        assert!(diagnostics.iter().any(Diagnostic::is_error));
        let err = Catalog::load(&fixture("missing"), &images).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }
}
