//! The join code's rate limit: so many attempts per client address per minute.
//!
//! A join code is about 49 bits; guessing one needs billions of attempts, and this
//! keeps anyone to a handful a minute. Every attempt counts, right or wrong: counting
//! only wrong ones would let a guesser who is over the limit still learn which guess
//! is right. A classroom behind one NAT address joins in a burst, so the burst is the
//! whole minute's allowance.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::ClassError;

pub struct JoinLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl JoinLimiter {
    pub fn per_minute(attempts: u32) -> JoinLimiter {
        let attempts = NonZeroU32::new(attempts).unwrap_or(NonZeroU32::MIN);
        JoinLimiter {
            limiter: RateLimiter::keyed(Quota::per_minute(attempts)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts an attempt from `client`; refused with how long to wait when over.
    pub fn check(&self, client: IpAddr) -> Result<(), ClassError> {
        // Addresses not seen for a while are forgotten, so the map stays small.
        if self.limiter.len() > 10_000 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            ClassError::TooManyAttempts(wait.max(Duration::from_secs(1)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_has_its_own_allowance() {
        let limiter = JoinLimiter::per_minute(3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            limiter.check(a).unwrap();
        }
        match limiter.check(a) {
            Err(ClassError::TooManyAttempts(wait)) => {
                assert!(wait >= Duration::from_secs(1) && wait <= Duration::from_secs(20))
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        limiter.check(b).unwrap();
    }
}
