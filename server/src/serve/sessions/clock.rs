//! The session manager's clock: what "now" is for deadlines (expiry, the finish grace)
//! and for the times a session records.
//!
//! In production it is the system's wall clock, read afresh each time. These times are
//! shown to learners (the browser counts down from `expires_at` against its own
//! `Date.now()`) and stored in the database, where the next process re-adopts them. A
//! clock derived from tokio's monotonic one would drift from both over a long run:
//! tokio's clock does not count a suspended machine, nor follow NTP's corrections, and
//! after a restart the old process's drifted times would meet a fresh base.
//!
//! Tests need time they can pause and advance, so they build the manager on
//! `Clock::tokio`: a wall-clock base plus tokio's elapsed time, under which
//! `#[tokio::test(start_paused = true)]` passes an hour in no time.

use std::time::SystemTime;

#[cfg(test)]
use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// The system's wall clock.
    Wall,
    /// The wall clock read once, moved on by tokio's clock since.
    #[cfg(test)]
    Tokio { base: SystemTime, started: Instant },
}

impl Clock {
    /// A clock that follows tokio's (paused) clock from now; made inside the runtime
    /// whose time it follows.
    #[cfg(test)]
    pub fn tokio() -> Clock {
        Clock::Tokio {
            base: SystemTime::now(),
            started: Instant::now(),
        }
    }

    /// The wall-clock time now.
    pub fn now(&self) -> SystemTime {
        match self {
            Clock::Wall => SystemTime::now(),
            #[cfg(test)]
            Clock::Tokio { base, started } => *base + started.elapsed(),
        }
    }
}
