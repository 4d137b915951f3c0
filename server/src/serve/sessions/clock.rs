//! The session manager's clock: wall-clock times that move with tokio's clock.
//!
//! Deadlines (expiry, idle, the finish grace, how long a failure stays visible) are
//! shown to learners as wall-clock times and stored in the database, yet tests must be
//! able to pause and advance time. So the wall clock is read once, when the clock is
//! made, and every later "now" is that base plus tokio's elapsed time: under
//! `#[tokio::test(start_paused = true)]` an hour passes in no time.

use std::time::SystemTime;

use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base: SystemTime,
    started: Instant,
}

impl Clock {
    /// A clock that reads the wall clock now; made inside the runtime whose time it
    /// follows.
    pub fn new() -> Clock {
        Clock {
            base: SystemTime::now(),
            started: Instant::now(),
        }
    }

    /// The wall-clock time now, as tokio's clock has moved since [`Clock::new`].
    pub fn now(&self) -> SystemTime {
        self.base + self.started.elapsed()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}
