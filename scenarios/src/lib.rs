//! The lesson model.
//!
//! A **lesson** is a folder of content: either a native `lesson.yaml` with Markdown
//! files, or a Killercoda scenario (`index.json`). This crate loads both into one
//! in-memory [`Lesson`], validates everything that can be checked without running it
//! (see `lint`), and renders step Markdown to HTML with click-to-run markup.
//!
//! It knows nothing of Docker or HTTP: the `runner` crate turns a lesson's
//! [`Environment`] into containers, and the `server` crate serves lessons to browsers.

pub mod model;

pub use model::*;
