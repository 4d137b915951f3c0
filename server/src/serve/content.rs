//! The lessons the server offers: loaded from the content directory, reloadable
//! without a restart, rendered to HTML for the browser.
//!
//! A reload swaps the whole [`Catalog`]; running sessions keep the `Arc<Lesson>` they
//! started with, so an author's edit never changes a session under a learner's feet.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use scenarios::{ImageMap, Lesson};

pub use crate::settings::image_map;

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

    /// Loads every lesson folder under `dir`, Killercoda scenarios through `images`.
    /// Lessons with errors are left out and their diagnostics returned, so one broken
    /// lesson does not take the others down.
    pub fn load(dir: &Path, images: &ImageMap) -> anyhow::Result<(Catalog, Vec<String>)> {
        let (lessons, problems) = load_lessons(dir, images)?;
        Ok((Catalog::from_lessons(lessons), problems))
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

    pub fn lessons(&self) -> impl Iterator<Item = &Arc<Lesson>> {
        self.lessons.values()
    }
}

fn load_lessons(dir: &Path, images: &ImageMap) -> anyhow::Result<(Vec<Lesson>, Vec<String>)> {
    if !dir.is_dir() {
        anyhow::bail!("content directory {} does not exist", dir.display());
    }
    let content = scenarios::load_content_dirs_with(&[dir], images);
    let problems = content
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.display_relative_to(dir).to_string())
        .collect();
    Ok((content.lessons, problems))
}

/// A page's Markdown as HTML, with exec/copy blocks marked up for the browser.
pub fn render_page(lesson: &Lesson, markdown: &str) -> String {
    let nodes: Vec<String> = lesson
        .environment
        .nodes
        .iter()
        .map(|n| n.name.clone())
        .collect();
    scenarios::render::render(markdown, &nodes)
}

/// The current catalog, swapped whole on reload.
#[derive(Debug, Default)]
pub struct SharedCatalog(std::sync::RwLock<Arc<Catalog>>);

impl SharedCatalog {
    pub fn new(catalog: Catalog) -> SharedCatalog {
        SharedCatalog(std::sync::RwLock::new(Arc::new(catalog)))
    }

    pub fn get(&self) -> Arc<Catalog> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn replace(&self, catalog: Catalog) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(catalog);
    }
}
