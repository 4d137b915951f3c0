//! The lessons the server offers: the [`Catalog`] of the content directory (loaded as
//! `test` and `lint` load theirs), swapped whole on reload, rendered to HTML for the
//! browser.
//!
//! A reload swaps the whole [`Catalog`]; running sessions keep the `Arc<Lesson>` they
//! started with, so an author's edit never changes a session under a learner's feet.

use std::sync::{Arc, PoisonError, RwLock};

use scenarios::Lesson;

use crate::catalog::Catalog;

/// A page's Markdown as HTML, with exec/copy blocks marked up for the browser.
pub fn render_page(lesson: &Lesson, markdown: &str) -> String {
    scenarios::render::render(markdown, &lesson.environment.node_names())
}

/// The current catalog, swapped whole on reload.
#[derive(Debug, Default)]
pub struct SharedCatalog(RwLock<Arc<Catalog>>);

impl SharedCatalog {
    pub fn new(catalog: Catalog) -> SharedCatalog {
        SharedCatalog(RwLock::new(Arc::new(catalog)))
    }

    pub fn get(&self) -> Arc<Catalog> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn replace(&self, catalog: Catalog) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(catalog);
    }
}
