//! The one retry policy: exponential backoff with jitter, bounded in attempts and in
//! time, the server's `Retry-After` honoured, a refusal never retried, and a call
//! that may have been carried out sent again only when repeating it is safe.
//!
//! The delays come from `backon`'s exponential backoff (a maintained implementation
//! of exactly this, seedable for tests); what this module adds is the decision
//! *whether* to retry ([`Retry`], [`Failure`]) and the `Retry-After` override.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use tokio::time::Instant;

/// Whether a failed call may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// No: sending it again fails the same way (a refusal, bad credentials, a bug).
    Never,
    /// Yes, whatever the call: it was certainly not carried out (a 429, a refused
    /// connection, a busy store).
    NotCarriedOut,
    /// Only if the call is safe to repeat (a read, an idempotent write, a write with
    /// an idempotency key): it may or may not have been carried out (a 5xx, a
    /// timeout, a connection dropped before the answer).
    IfRepeatable,
}

/// What the policy needs to know about a failure.
pub trait Failure {
    /// Whether the call may be sent again.
    fn retry(&self) -> Retry;

    /// How long the server asked us to wait (`Retry-After`), if it said.
    fn retry_after(&self) -> Option<Duration>;

    /// Whether the server said "too many requests" (counted, and it pauses the budget).
    fn is_rate_limited(&self) -> bool;

    /// Whether the request left at all. An attempt that failed before anything was
    /// sent (the access token it needs could not be had, a header could not be made)
    /// is not counted as a request. Every failure the server answered, and every lost
    /// answer, was sent.
    fn was_sent(&self) -> bool {
        true
    }
}

/// Whether a call is safe to send twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// A read, an idempotent write, or a write carrying an idempotency key.
    Safe,
    /// A write that must not happen twice (a re-sent invitation e-mails again).
    Once,
    /// A probe, sent once whatever the failure: opening a backend asks once whether
    /// it is there, and says so at once when it is not.
    Never,
}

impl Repeat {
    /// Whether a call that failed with `failure` may be sent again.
    #[must_use]
    pub fn allows(self, failure: Retry) -> bool {
        match failure {
            _ if self == Self::Never => false,
            Retry::Never => false,
            Retry::NotCarriedOut => true,
            Retry::IfRepeatable => self == Self::Safe,
        }
    }
}

/// How retries are paced and bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The most attempts of one call, the first included.
    pub max_attempts: u32,
    /// The delay after the first failure, before jitter; it doubles with each failure.
    pub initial_delay: Duration,
    /// The longest delay before jitter, however many failures came before (jitter
    /// adds up to as much again).
    pub max_delay: Duration,
    /// The longest time one call may spend failing and waiting, from its first
    /// attempt: no retry starts after it, and a `Retry-After` beyond it ends the retries.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    /// 8 attempts, 250 ms doubling up to 15 s (plus jitter), at most 5 minutes per
    /// call: enough to ride out a service restart or a rate-limit window (the vendor's
    /// is a minute), short enough for CI.
    fn default() -> Self {
        Self {
            max_attempts: 8,
            initial_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(15),
            max_elapsed: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The delays of one call, seeded (the same seed gives the same delays).
    #[must_use]
    pub fn backoff(&self, seed: u64) -> Backoff {
        let delays = ExponentialBuilder::new()
            .with_min_delay(self.initial_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
            .with_jitter()
            .with_jitter_seed(seed)
            .build();
        Backoff {
            delays,
            started: Instant::now(),
            max_elapsed: self.max_elapsed,
            seed,
            failures: 0,
        }
    }
}

/// The delays of one call's retries.
#[derive(Debug)]
pub struct Backoff {
    delays: ExponentialBackoff,
    started: Instant,
    max_elapsed: Duration,
    seed: u64,
    failures: u32,
}

impl Backoff {
    /// After a failed attempt, how long to wait before the next one, or `None` when
    /// the policy says stop (attempts or time used up). With `retry_after` (the
    /// server said when), it is that wait plus up to 10% (at most 1 s) of jitter, so
    /// clients told the same moment do not come back together.
    pub fn next_delay(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
        // Every failure uses up an attempt, whoever decides the delay.
        let backoff = self.delays.next()?;
        self.failures += 1;
        let delay = match retry_after {
            Some(wait) => wait + self.spread(wait),
            None => backoff,
        };
        (self.started.elapsed() + delay <= self.max_elapsed).then_some(delay)
    }

    /// How many failures were seen so far.
    #[must_use]
    pub fn failures(&self) -> u32 {
        self.failures
    }

    fn spread(&self, wait: Duration) -> Duration {
        let span = (wait / 10).min(Duration::from_secs(1));
        let mut rng = fastrand::Rng::with_seed(self.seed ^ u64::from(self.failures));
        span.mul_f64(rng.f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(400),
            max_elapsed: Duration::from_secs(10),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn delays_double_within_their_jitter_band_up_to_the_cap() {
        for seed in 0..20 {
            let mut backoff = policy().backoff(seed);
            let bands = [(100, 200), (200, 400), (400, 800), (400, 800)];
            for (low, high) in bands {
                let delay = backoff.next_delay(None).expect("within the attempts");
                assert!(
                    delay >= Duration::from_millis(low) && delay < Duration::from_millis(high),
                    "seed {seed}: {delay:?} not in {low}..{high} ms"
                );
            }
            assert_eq!(backoff.next_delay(None), None, "5 attempts: 4 retries");
            assert_eq!(backoff.failures(), 4);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_with_a_little_jitter_and_bounded_by_the_time_budget() {
        let mut backoff = policy().backoff(3);
        let wait = Duration::from_secs(4);
        let delay = backoff.next_delay(Some(wait)).unwrap();
        assert!(
            delay >= wait && delay < wait + Duration::from_millis(400),
            "{delay:?}"
        );
        assert_eq!(backoff.next_delay(Some(Duration::from_secs(11))), None);
        let mut late = policy().backoff(3);
        tokio::time::advance(Duration::from_millis(9_950)).await;
        assert_eq!(late.next_delay(None), None, "past the time budget");
    }

    #[tokio::test(start_paused = true)]
    async fn a_seed_gives_the_same_delays() {
        let (mut a, mut b) = (policy().backoff(42), policy().backoff(42));
        for _ in 0..4 {
            assert_eq!(a.next_delay(None), b.next_delay(None));
        }
    }

    #[test]
    fn what_may_be_repeated() {
        assert!(!Repeat::Safe.allows(Retry::Never));
        assert!(Repeat::Once.allows(Retry::NotCarriedOut));
        assert!(Repeat::Safe.allows(Retry::IfRepeatable));
        assert!(!Repeat::Once.allows(Retry::IfRepeatable));
        assert!(!Repeat::Never.allows(Retry::NotCarriedOut));
    }
}
