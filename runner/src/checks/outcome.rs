//! The verdict on one check, or one quiz question: the single type every judge
//! returns, so the server and `playlab test` read each item of a step the same way.

use std::time::Duration;

use serde::Serialize;

/// The verdict on one check or quiz question. It serializes as the server's check
/// endpoint shows it to the learner, `{passed, message, output}`; how the check ran
/// (timed out, attempts, duration) is for Rust callers and stays out of that API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckOutcome {
    pub passed: bool,
    /// The headline for the learner: on a failure the check's `fail` text (or a
    /// sentence saying what went wrong); on a pass the WASM module's first line, if any.
    pub message: String,
    /// Shown below the message: the shell check's stdout, or the module's stdout.
    pub output: String,
    #[serde(skip_serializing)]
    pub timed_out: bool,
    #[serde(skip_serializing)]
    pub attempts: u32,
    #[serde(skip_serializing)]
    pub duration: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check endpoint's `results` items are exactly these three keys.
    #[test]
    fn serializes_as_the_api_shows_it() {
        let outcome = CheckOutcome {
            passed: false,
            message: "not yet".into(),
            output: "out".into(),
            timed_out: true,
            attempts: 3,
            duration: Duration::from_secs(2),
        };
        assert_eq!(
            serde_json::to_value(&outcome).unwrap(),
            serde_json::json!({"passed": false, "message": "not yet", "output": "out"})
        );
    }
}
