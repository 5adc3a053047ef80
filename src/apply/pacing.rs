//! Keeping to the backend's rate limit: a client-side token bucket, and a
//! [`PacedBackend`] that sends every call (writes, reads, lock renewals) through it
//! and counts them.
//!
//! The bucket holds at most one token by default, so calls leave at most `rate` per
//! second, evenly spaced, whatever the parallelism: a backend that declares R
//! requests per second never sees a burst above it. Waiting reserves a slot (the
//! token count goes negative), so waiters are served in arrival order. When the
//! backend answers 429 with `Retry-After`, the whole bucket pauses until then: every
//! worker waits, not only the one that was told.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::backend::{Backend, BackendError, Capabilities, Lease, LockError, Outcome, Snapshot};
use crate::plan::Op;
use crate::state::AccountInfo;

/// A token bucket on tokio's clock (so tests can pause time).
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<BucketState>,
}

#[derive(Debug)]
struct BucketState {
    /// Tokens available now; negative when waiters have reserved future tokens.
    tokens: f64,
    /// When `tokens` was last brought up to date.
    updated: Instant,
    /// No call leaves before this (a `Retry-After` in force).
    paused_until: Instant,
}

impl TokenBucket {
    /// A bucket letting `rate` calls per second through, with room for `burst` at once
    /// (at least one). It starts full.
    ///
    /// # Panics
    /// When `rate` is not a positive finite number.
    #[must_use]
    pub fn new(rate: f64, burst: f64) -> Self {
        assert!(rate.is_finite() && rate > 0.0, "a rate limit is positive");
        let burst = burst.max(1.0);
        let now = Instant::now();
        Self {
            rate,
            burst,
            state: Mutex::new(BucketState {
                tokens: burst,
                updated: now,
                paused_until: now,
            }),
        }
    }

    /// Calls per second.
    #[must_use]
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Waits until one call may leave, and takes its token. A caller that reserved its
    /// slot before a pause began and wakes inside it reserves again after the pause
    /// (its first token is forfeited: a little under the rate, never over it).
    pub async fn acquire(&self) {
        loop {
            let wait = self.reserve(Instant::now());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            if !self.paused_at(Instant::now()) {
                return;
            }
        }
    }

    fn paused_at(&self, now: Instant) -> bool {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        now < state.paused_until
    }

    /// Takes a token (possibly one not there yet) and answers how long to wait for it.
    fn reserve(&self, now: Instant) -> Duration {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        // After a pause `updated` lies in the future: tokens accrue from then on.
        if now > state.updated {
            let elapsed = (now - state.updated).as_secs_f64();
            state.tokens = (state.tokens + elapsed * self.rate).min(self.burst);
            state.updated = now;
        }
        state.tokens -= 1.0;
        let ready = if state.tokens >= 0.0 {
            state.updated
        } else {
            state.updated + Duration::from_secs_f64(-state.tokens / self.rate)
        };
        ready.max(state.paused_until).saturating_duration_since(now)
    }

    /// Lets no call leave for `wait` (the backend's `Retry-After`). Tokens do not pile
    /// up during the pause: afterwards calls leave at the rate again, not in a burst.
    pub fn pause_for(&self, wait: Duration) {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let until = now + wait;
        if until > state.paused_until {
            state.paused_until = until;
            // Tokens accrue only from the end of the pause, and at most one is there
            // when it ends: one call leaves then, the next at the rate, no burst.
            state.updated = until;
            state.tokens = state.tokens.min(1.0);
        }
    }
}

/// How many calls a [`PacedBackend`] made.
#[derive(Debug, Default)]
pub struct CallCounts {
    writes: AtomicU64,
    others: AtomicU64,
    rate_limited: AtomicU64,
}

impl CallCounts {
    /// `execute` calls (each carries one batch), retries included.
    #[must_use]
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// Every other call: fetches, `ensure_account`, lock calls.
    #[must_use]
    pub fn others(&self) -> u64 {
        self.others.load(Ordering::Relaxed)
    }

    /// All calls.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.writes() + self.others()
    }

    /// Calls the backend answered with "slow down" (HTTP 429).
    #[must_use]
    pub fn rate_limited(&self) -> u64 {
        self.rate_limited.load(Ordering::Relaxed)
    }
}

/// A backend whose every call waits for the token bucket (when there is a rate) and
/// is counted. A 429 with `Retry-After` pauses the bucket.
pub struct PacedBackend {
    inner: Arc<dyn Backend>,
    bucket: Option<TokenBucket>,
    counts: Arc<CallCounts>,
}

impl std::fmt::Debug for PacedBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacedBackend")
            .field("url", &self.inner.url())
            .field("rate", &self.bucket.as_ref().map(TokenBucket::rate))
            .finish_non_exhaustive()
    }
}

impl PacedBackend {
    /// Wraps `inner`, pacing calls at `rate` per second (`None`: no pacing).
    #[must_use]
    pub fn new(inner: Arc<dyn Backend>, rate: Option<f64>) -> Self {
        Self {
            inner,
            bucket: rate
                .filter(|r| r.is_finite() && *r > 0.0)
                .map(|r| TokenBucket::new(r, 1.0)),
            counts: Arc::new(CallCounts::default()),
        }
    }

    /// The rate calls are paced at, if any.
    #[must_use]
    pub fn rate(&self) -> Option<f64> {
        self.bucket.as_ref().map(TokenBucket::rate)
    }

    /// The calls made so far.
    #[must_use]
    pub fn counts(&self) -> Arc<CallCounts> {
        Arc::clone(&self.counts)
    }

    async fn pace(&self, counter: &AtomicU64) {
        if let Some(bucket) = &self.bucket {
            bucket.acquire().await;
        }
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn observe<T>(&self, result: &Result<T, BackendError>) {
        if let Err(error @ BackendError::RateLimited { .. }) = result {
            self.counts.rate_limited.fetch_add(1, Ordering::Relaxed);
            if let (Some(bucket), Some(wait)) = (&self.bucket, error.retry_after()) {
                bucket.pause_for(wait);
            }
        }
    }
}

#[async_trait]
impl Backend for PacedBackend {
    fn url(&self) -> String {
        self.inner.url()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn fetch(&self) -> Result<Snapshot, BackendError> {
        self.pace(&self.counts.others).await;
        let result = self.inner.fetch().await;
        self.observe(&result);
        result
    }

    async fn execute(&self, batch: &[Op]) -> Result<Vec<Outcome>, BackendError> {
        self.pace(&self.counts.writes).await;
        let result = self.inner.execute(batch).await;
        self.observe(&result);
        result
    }

    async fn ensure_account(&self, account: &AccountInfo) -> Result<Outcome, BackendError> {
        self.pace(&self.counts.others).await;
        let result = self.inner.ensure_account(account).await;
        self.observe(&result);
        result
    }

    async fn acquire_lock(&self, holder: &str, ttl: Duration) -> Result<Lease, LockError> {
        self.pace(&self.counts.others).await;
        self.inner.acquire_lock(holder, ttl).await
    }

    async fn renew_lock(&self, lease: &Lease) -> Result<Lease, LockError> {
        self.pace(&self.counts.others).await;
        self.inner.renew_lock(lease).await
    }

    async fn release_lock(&self, lease: Lease) -> Result<(), LockError> {
        self.pace(&self.counts.others).await;
        self.inner.release_lock(lease).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_leave_evenly_spaced_at_the_rate() {
        let bucket = Arc::new(TokenBucket::new(10.0, 1.0));
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..21 {
            bucket.acquire().await;
            times.push(start.elapsed());
        }
        // The first leaves at once, then one every 100 ms.
        assert_eq!(times[0], Duration::ZERO);
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] >= Duration::from_millis(99), "{pair:?}");
        }
        assert!(times[20] >= Duration::from_millis(1_999), "{:?}", times[20]);
        assert!(times[20] <= Duration::from_millis(2_010), "{:?}", times[20]);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_waiters_share_the_rate() {
        let bucket = Arc::new(TokenBucket::new(20.0, 1.0));
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let bucket = Arc::clone(&bucket);
            tasks.spawn(async move {
                for _ in 0..5 {
                    bucket.acquire().await;
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        // 40 calls at 20/s: the first at once, the last 39 x 50 ms later.
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(1_949) && elapsed <= Duration::from_millis(1_960),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_call_and_no_burst_follows() {
        let bucket = TokenBucket::new(10.0, 5.0);
        bucket.acquire().await;
        let start = Instant::now();
        bucket.pause_for(Duration::from_secs(3));
        bucket.acquire().await;
        assert!(start.elapsed() >= Duration::from_secs(3));
        let after_pause = Instant::now();
        bucket.acquire().await;
        assert!(after_pause.elapsed() >= Duration::from_millis(99));
    }
}
