//! Environments and checks.
//!
//! The runner turns a lesson's [`scenarios::Environment`] into real **nodes** and gives
//! the rest of playlab four operations through the [`Backend`] trait: start an
//! environment, run a command on a node, attach an interactive terminal to a node, and
//! destroy the environment. Every operation is keyed by [`SessionId`], not by a handle,
//! so a restarted server can re-adopt environments it did not start.
//!
//! Its public face: the [`Backend`] contract and its types, the backend-neutral
//! [`environment`] plan, [`checks`], [`judge`] (the verdict on a step), [`selftest`],
//! [`files`] (the learner's file editor on a node, over `exec`), and the two backends
//! ([`docker`], [`local`]); backend internals stay inside the
//! crate. [`image`] is public for the server (which builds the base image at start-up
//! through [`docker::DockerBackend::images`]) and the Docker tests; [`pki`] for the
//! tests that inspect the issued certificates, and for [`pki::PkiError`] inside
//! [`RunnerError`]. Other crates' unit tests get a fake backend in `testing`
//! (feature `testing`).
//!
//! It knows nothing of HTTP: the `server` crate maps these operations onto the API.

mod backend;
pub mod checks;
pub mod docker;
pub mod environment;
mod error;
pub mod files;
pub mod image;
pub mod judge;
pub mod local;
pub mod pki;
pub mod selftest;
mod session;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use backend::*;
pub use error::{BoxError, RunnerError};
pub use session::SessionId;
