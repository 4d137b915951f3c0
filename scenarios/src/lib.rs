//! The lesson model.
//!
//! A **lesson** is a folder of content: either a native `lesson.yaml` with Markdown
//! files, or a Killercoda scenario (`index.json`). This crate loads both into one
//! in-memory [`Lesson`], validates everything that can be checked without running it,
//! and renders step Markdown to HTML with click-to-run markup.
//!
//! Entry points:
//! - [`load_content_dirs`]: every lesson under content directories, with diagnostics
//!   (what `playlab serve`, `lint` and `test` use);
//! - [`load_lesson`]: one lesson folder;
//! - [`render::render`]: a page's Markdown as HTML;
//! - [`Lesson::localized`]: a lesson in one of its languages (see [`translation`]);
//! - [`schema::lesson_schema`]: the JSON Schemas of `lesson.yaml` and its translations.
//!
//! It knows nothing of Docker or HTTP: the `runner` crate turns a lesson's
//! [`Environment`] into containers, and the `server` crate serves lessons to browsers.

pub mod content;
pub mod diagnostic;
pub mod killercoda;
mod lint;
pub mod model;
pub mod native;
pub mod render;
mod resolve;
pub mod schema;
pub mod source_map;
pub mod traffic;
pub mod translation;
pub mod units;
mod yaml;

pub use content::{
    Content, LessonLoad, lint, load_content_dirs, load_content_dirs_with, load_lesson,
};
pub use diagnostic::{Diagnostic, Severity};
pub use killercoda::ImageMap;
pub use model::*;
pub use translation::Localized;
