//! The `playlab` server as a library, so integration tests and benchmarks drive the
//! real server in-process (`serve::run` on a listener they bind). [`settings`] and
//! [`catalog`] and [`images`] hold what `serve`, `test` and `lint` share.

pub mod catalog;
pub mod images;
pub mod serve;
pub mod settings;
