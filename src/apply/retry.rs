//! When to try a failed call again: exponential backoff with jitter, bounded in
//! count and in total time, and the backend's `Retry-After` honoured.
//!
//! Only what can succeed later is retried: a whole call failing with a retryable
//! [`crate::backend::BackendError`] (429, 5xx, a timeout, a dropped connection, a busy
//! store), or single operations answered `Failed { retryable: true }`. A refusal is
//! never retried. Every operation is idempotent, so a call that may or may not have
//! been carried out (a timeout after the write) is safe to send again.

use std::time::Duration;

/// How retries are paced and bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The most attempts of one call, the first included.
    pub max_attempts: u32,
    /// The delay after the first failure (before jitter); it doubles with each failure.
    pub initial_delay: Duration,
    /// The longest single delay, however many failures came before.
    pub max_delay: Duration,
    /// The longest time one call may spend failing and waiting, from its first attempt:
    /// no retry starts after it (a `Retry-After` beyond it ends the retries at once).
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    /// 8 attempts, 250 ms doubling up to 30 s, at most 5 minutes per call: enough to
    /// ride out a service restart or a rate-limit window, short enough for CI.
    fn default() -> Self {
        Self {
            max_attempts: 8,
            initial_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `failures + 1`, after `failures` failed attempts, when
    /// `elapsed` has passed since the first attempt; `None` when the policy says stop.
    ///
    /// Without `retry_after` it is "equal jitter": a random point in the upper half of
    /// `initial_delay * 2^(failures-1)` (capped at `max_delay`), so clients that failed
    /// together do not come back together. With `retry_after` (the backend said when),
    /// it is that wait plus up to 10% (at most 1 s) of jitter.
    #[must_use]
    pub fn delay(
        &self,
        failures: u32,
        retry_after: Option<Duration>,
        elapsed: Duration,
        jitter: &mut Jitter,
    ) -> Option<Duration> {
        if failures == 0 || failures >= self.max_attempts {
            return None;
        }
        let delay = match retry_after {
            Some(wait) => {
                let spread = (wait / 10).min(Duration::from_secs(1));
                wait + jitter.fraction_of(spread)
            }
            None => {
                let ceiling = self.backoff_ceiling(failures);
                ceiling / 2 + jitter.fraction_of(ceiling / 2)
            }
        };
        (elapsed + delay <= self.max_elapsed).then_some(delay)
    }

    /// `initial_delay * 2^(failures-1)`, capped at `max_delay`.
    fn backoff_ceiling(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.initial_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay)
    }
}

/// A small seeded random source for jitter (`SplitMix64`): deterministic for a seed,
/// so tests can replay a run; seeded from the process otherwise.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    /// A source that gives the same sequence for the same `seed`.
    #[must_use]
    pub fn seeded(seed: u64) -> Self {
        Self(seed)
    }

    /// A source seeded from the process (its id, the time, std's random hasher keys).
    #[must_use]
    pub fn from_entropy() -> Self {
        use std::hash::BuildHasher;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Self(std::collections::hash_map::RandomState::new().hash_one((nanos, std::process::id())))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number uniformly in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        /// 2^-53: the top 53 random bits, scaled, fill an f64's mantissa exactly.
        const SCALE: f64 = 1.0 / 9_007_199_254_740_992.0;
        #[allow(clippy::cast_precision_loss)] // 53 bits are exact in an f64
        let value = (self.next_u64() >> 11) as f64;
        value * SCALE
    }

    /// A random duration in `[0, span)`.
    pub fn fraction_of(&mut self, span: Duration) -> Duration {
        span.mul_f64(self.unit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            max_elapsed: Duration::from_secs(10),
        }
    }

    #[test]
    fn delays_double_within_their_jitter_band_up_to_the_cap() {
        let mut jitter = Jitter::seeded(7);
        let bands = [(50, 100), (100, 200), (200, 400), (250, 500)];
        for (failures, (low, high)) in (1..).zip(bands) {
            for _ in 0..50 {
                let delay = policy()
                    .delay(failures, None, Duration::ZERO, &mut jitter)
                    .unwrap();
                assert!(
                    delay >= Duration::from_millis(low) && delay < Duration::from_millis(high),
                    "failure {failures}: {delay:?}"
                );
            }
        }
    }

    #[test]
    fn the_count_and_the_total_time_bound_the_retries() {
        let mut jitter = Jitter::seeded(1);
        assert_eq!(policy().delay(5, None, Duration::ZERO, &mut jitter), None);
        assert_eq!(policy().delay(0, None, Duration::ZERO, &mut jitter), None);
        let late = Duration::from_millis(9_990);
        assert_eq!(policy().delay(1, None, late, &mut jitter), None);
    }

    #[test]
    fn retry_after_is_honoured_with_a_little_jitter_and_ends_retries_past_the_budget() {
        let mut jitter = Jitter::seeded(3);
        let wait = Duration::from_secs(4);
        let delay = policy()
            .delay(1, Some(wait), Duration::ZERO, &mut jitter)
            .unwrap();
        assert!(
            delay >= wait && delay < wait + Duration::from_millis(400),
            "{delay:?}"
        );
        assert_eq!(
            policy().delay(
                1,
                Some(Duration::from_secs(11)),
                Duration::ZERO,
                &mut jitter
            ),
            None
        );
    }

    #[test]
    fn a_seed_gives_the_same_sequence_and_units_stay_below_one() {
        let mut a = Jitter::seeded(42);
        let mut b = Jitter::seeded(42);
        for _ in 0..1000 {
            let (x, y) = (a.unit(), b.unit());
            assert_eq!(x.to_bits(), y.to_bits());
            assert!((0.0..1.0).contains(&x));
        }
    }
}
