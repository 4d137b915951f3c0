//! Environments and checks.
//!
//! The runner turns a lesson's [`scenarios::Environment`] into real **nodes** and gives
//! the rest of playlab four operations through the [`Backend`] trait: start an
//! environment, run a command on a node, attach an interactive terminal to a node, and
//! destroy the environment. Every operation is keyed by [`SessionId`], not by a handle,
//! so a restarted server can re-adopt environments it did not start.
//!
//! It knows nothing of HTTP: the `server` crate maps these operations onto the API.

pub mod backend;
pub mod checks;
pub mod docker;
pub mod image;
pub mod judge;
pub mod local;
pub mod pki;
pub mod selftest;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use backend::*;
