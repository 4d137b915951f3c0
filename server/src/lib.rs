//! The `playlab` server as a library, so integration tests and benchmarks drive the
//! real server in-process (`serve::run` on a listener they bind).

pub mod serve;
