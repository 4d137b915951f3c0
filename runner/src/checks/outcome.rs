//! The verdict on one check, or one quiz question: the single type every judge
//! returns, so the server and `playlab test` read each item of a step the same way.

use std::time::Duration;

use serde::Serialize;

/// The verdict on one check or quiz question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckOutcome {
    pub passed: bool,
    /// The headline for the learner: on a failure the check's `fail` text (or a
    /// sentence saying what went wrong); on a pass the WASM module's first line, if any.
    pub message: String,
    /// Shown below the message: the shell check's stdout, or the module's stdout.
    pub output: String,
    pub timed_out: bool,
    pub attempts: u32,
    #[serde(with = "millis")]
    pub duration: Duration,
}

mod millis {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
}
