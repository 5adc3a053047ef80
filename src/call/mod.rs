//! The one call policy every backend's requests go through: pacing to the server's
//! budgets ([`pacing`]), retries ([`retry`]) and counting ([`Counts`]). A backend
//! builds one [`Caller`] from the budgets it declares and wraps each request it makes
//! in [`Caller::call`]; it writes no loop, no pacer and no backoff of its own.
//!
//! Where retries happen, and where not: a request is retried here, at the lowest
//! level, when it failed in a way that can pass ([`Retry`]) and repeating it is safe
//! ([`Repeat`]). The apply executor above retries only single operations a backend
//! answered `failed, retryable` inside a call that went through, never a whole call
//! again, so one write is never sent more than the policy's attempts.
//!
//! This module sits below the backend contract: it knows nothing of operations or
//! accounts, only of requests, budgets and failures ([`Failure`]).

pub mod budget;
pub mod pacing;
pub mod retry;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde::{Deserialize, Serialize};

pub use budget::{Budget, Window};
pub use pacing::{Pacer, Reported};
pub use retry::{Backoff, Failure, Repeat, Retry, RetryPolicy};

/// What kind of request a call is, for counting (and for what may be repeated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Reads the account (safe to repeat).
    Read,
    /// Changes the account.
    Write,
    /// Asks for an access token (safe to repeat).
    Token,
}

/// One request, as the policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The budget family it counts against (`hq`, `team`; a family with no budget is
    /// not paced).
    pub family: &'a str,
    /// The key within a per-key family (a team id); empty otherwise.
    pub key: &'a str,
    /// Read, write or token.
    pub kind: Kind,
    /// Whether it is safe to send twice.
    pub repeat: Repeat,
}

impl<'a> Request<'a> {
    /// A read of `family` (safe to repeat).
    #[must_use]
    pub fn read(family: &'a str) -> Self {
        Self {
            family,
            key: "",
            kind: Kind::Read,
            repeat: Repeat::Safe,
        }
    }

    /// A write of `family`, safe to repeat or not.
    #[must_use]
    pub fn write(family: &'a str, repeat: Repeat) -> Self {
        Self {
            family,
            key: "",
            kind: Kind::Write,
            repeat,
        }
    }

    /// A token request (safe to repeat; not paced by an account budget).
    #[must_use]
    pub fn token(family: &'a str) -> Self {
        Self {
            family,
            key: "",
            kind: Kind::Token,
            repeat: Repeat::Safe,
        }
    }

    /// The same request counted against `key` of a per-key family.
    #[must_use]
    pub fn keyed(mut self, key: &'a str) -> Self {
        self.key = key;
        self
    }
}

/// How the calls of one run are made.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CallOptions {
    /// How failed requests are retried.
    pub retry: RetryPolicy,
    /// `--max-rate`: every request of the backend below this many per second.
    pub max_rate: Option<f64>,
    /// The jitter's seed (`None`: from the process), so tests can replay a run.
    pub seed: Option<u64>,
    /// The key of a budget shared with every other backend this process opens with
    /// the same key (`--accounts`: the accounts on one service take turns in its
    /// budget instead of each spending all of it); `None`: a budget of its own.
    pub shared: Option<u64>,
}

/// The requests a backend sent, as counted by its [`Caller`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Reads sent, retries included.
    pub reads: u64,
    /// Writes sent, retries included.
    pub writes: u64,
    /// Token requests sent, retries included.
    pub tokens: u64,
    /// Requests that were retries (included in the counts above).
    pub retries: u64,
    /// Answers that said "too many requests".
    pub rate_limited: u64,
}

impl Counts {
    /// Every request sent.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.reads + self.writes + self.tokens
    }
}

#[derive(Debug, Default)]
struct Counters {
    reads: AtomicU64,
    writes: AtomicU64,
    tokens: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
}

/// The pacer of the budget shared under `key` ([`CallOptions::shared`]), made with
/// `budgets` by the first backend that asks; later ones add theirs (the same
/// service declares the same budgets).
fn shared_pacer(key: u64, budgets: &[Budget], max_rate: Option<f64>) -> Arc<Pacer> {
    static SHARED: OnceLock<Mutex<HashMap<u64, Arc<Pacer>>>> = OnceLock::new();
    let mut shared = SHARED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(pacer) = shared.get(&key) {
        pacer.set_budgets(budgets);
        return Arc::clone(pacer);
    }
    let pacer = Arc::new(Pacer::new(budgets, max_rate));
    shared.insert(key, Arc::clone(&pacer));
    pacer
}

/// One backend's call policy: its pacer, its retry policy and its counts.
#[derive(Debug)]
pub struct Caller {
    pacer: Arc<Pacer>,
    options: CallOptions,
    counters: Counters,
    calls: AtomicU64,
    seed: u64,
}

impl Caller {
    /// A policy for a backend with `budgets`.
    #[must_use]
    pub fn new(budgets: &[Budget], options: CallOptions) -> Self {
        let pacer = match options.shared {
            None => Arc::new(Pacer::new(budgets, options.max_rate)),
            Some(key) => shared_pacer(key, budgets, options.max_rate),
        };
        Self {
            pacer,
            options,
            counters: Counters::default(),
            calls: AtomicU64::new(0),
            seed: options.seed.unwrap_or_else(|| fastrand::u64(..)),
        }
    }

    /// The pacer (to add budgets a server declares, or follow what it reports).
    #[must_use]
    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    /// The retry policy.
    #[must_use]
    pub fn retry_policy(&self) -> RetryPolicy {
        self.options.retry
    }

    /// A fresh backoff for one call's retries, seeded from this caller's seed.
    #[must_use]
    pub fn backoff(&self) -> Backoff {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        self.options
            .retry
            .backoff(self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// The requests sent so far.
    #[must_use]
    pub fn counts(&self) -> Counts {
        let c = &self.counters;
        Counts {
            reads: c.reads.load(Ordering::Relaxed),
            writes: c.writes.load(Ordering::Relaxed),
            tokens: c.tokens.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
        }
    }

    /// Sends `request` with `send` (called once per attempt, with the attempt's
    /// number from 1), pacing each attempt, and retrying as the policy says: a
    /// failure that can pass is tried again after the backoff (or the server's
    /// `Retry-After`, which also pauses the whole budget), when the request is safe
    /// to repeat or certainly was not carried out.
    ///
    /// # Errors
    /// The last failure, when it may not be retried or the retries ran out.
    pub async fn call<T, E, F, Fut>(&self, request: &Request<'_>, mut send: F) -> Result<T, E>
    where
        E: Failure + std::fmt::Display,
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut backoff: Option<Backoff> = None;
        let mut attempt = 0;
        let mut sent = 0_u32;
        loop {
            attempt += 1;
            if request.kind != Kind::Token {
                self.pacer.acquire(request.family, request.key).await;
            }
            // Counted once it is known to have left: an attempt that failed before
            // sending anything is no request (the counts are the requests as sent).
            let error = match send(attempt).await {
                Ok(value) => {
                    self.count(request.kind, sent > 0);
                    return Ok(value);
                }
                Err(error) => error,
            };
            if error.was_sent() {
                self.count(request.kind, sent > 0);
                sent += 1;
            }
            if error.is_rate_limited() {
                self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                if let Some(wait) = error.retry_after() {
                    self.pacer.pause(request.family, request.key, wait);
                }
            }
            if !request.repeat.allows(error.retry()) {
                return Err(error);
            }
            let backoff = backoff.get_or_insert_with(|| self.backoff());
            let Some(delay) = backoff.next_delay(error.retry_after()) else {
                return Err(error);
            };
            tracing::info!(
                family = request.family,
                key = request.key,
                attempt,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    fn count(&self, kind: Kind, retry: bool) {
        let counter = match kind {
            Kind::Read => &self.counters.reads,
            Kind::Write => &self.counters.writes,
            Kind::Token => &self.counters.tokens,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if retry {
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;
    use std::time::Duration;

    use super::*;

    #[derive(Debug, Clone, Copy)]
    struct Fail(Retry, Option<Duration>);

    impl std::fmt::Display for Fail {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{:?}", self.0)
        }
    }

    impl Failure for Fail {
        fn retry(&self) -> Retry {
            self.0
        }
        fn retry_after(&self) -> Option<Duration> {
            self.1
        }
        fn is_rate_limited(&self) -> bool {
            self.1.is_some()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn two_accounts_on_one_service_take_turns_in_its_budget() {
        let options = CallOptions {
            shared: Some(0x5eed),
            ..CallOptions::default()
        };
        let budgets = [Budget::per_second("shared-svc", 10.0)];
        let a = Caller::new(&budgets, options);
        let b = Caller::new(&budgets, options);
        let start = tokio::time::Instant::now();
        let send = |caller: &Caller| {
            let pacer = Arc::clone(&caller.pacer);
            async move {
                for _ in 0..10 {
                    pacer.acquire("shared-svc", "").await;
                }
            }
        };
        tokio::join!(send(&a), send(&b));
        // 20 requests at 10 a second, the first at once: 1.9 s, not the 0.9 s each
        // would take in a budget of its own.
        assert!(
            start.elapsed() >= std::time::Duration::from_millis(1890),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn callers_with_one_shared_key_pace_in_one_budget() {
        let options = |shared| CallOptions {
            shared,
            ..CallOptions::default()
        };
        let budgets = [Budget::per_second("svc", 5.0)];
        let a = Caller::new(&budgets, options(Some(0xacc0)));
        let b = Caller::new(&budgets, options(Some(0xacc0)));
        let other = Caller::new(&budgets, options(Some(0xacc1)));
        let own = Caller::new(&budgets, options(None));
        assert!(Arc::ptr_eq(&a.pacer, &b.pacer));
        assert!(!Arc::ptr_eq(&a.pacer, &other.pacer));
        assert!(!Arc::ptr_eq(&a.pacer, &own.pacer));
        assert_eq!(a.pacer().rate("svc"), Some(5.0));
    }

    fn caller() -> Caller {
        Caller::new(
            &[Budget::per_second("svc", 100.0)],
            CallOptions {
                seed: Some(1),
                ..CallOptions::default()
            },
        )
    }

    /// Fails `failures` times with `fail`, then answers the attempt number.
    async fn run(
        caller: &Caller,
        request: Request<'_>,
        fail: Fail,
        failures: u32,
    ) -> (Result<u32, Fail>, u32) {
        let sent = AtomicU32::new(0);
        let result = caller
            .call(&request, |attempt| {
                sent.fetch_add(1, Ordering::Relaxed);
                async move {
                    if attempt <= failures {
                        Err(fail)
                    } else {
                        Ok(attempt)
                    }
                }
            })
            .await;
        (result, sent.load(Ordering::Relaxed))
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_is_sent_once() {
        let c = caller();
        let (result, sent) = run(&c, Request::read("svc"), Fail(Retry::Never, None), 9).await;
        assert!(result.is_err());
        assert_eq!(sent, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_transient_failure_of_a_read_is_retried_until_it_passes() {
        let c = caller();
        let (result, sent) =
            run(&c, Request::read("svc"), Fail(Retry::IfRepeatable, None), 3).await;
        assert_eq!(result.unwrap(), 4);
        assert_eq!(sent, 4);
        let counts = c.counts();
        assert_eq!((counts.reads, counts.retries), (4, 3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_that_may_have_happened_is_repeated_only_when_safe() {
        let c = caller();
        let maybe = Fail(Retry::IfRepeatable, None);
        let (once, sent) = run(&c, Request::write("svc", Repeat::Once), maybe, 1).await;
        assert!(once.is_err());
        assert_eq!(sent, 1);
        let (safe, sent) = run(&c, Request::write("svc", Repeat::Safe), maybe, 1).await;
        assert_eq!(safe.unwrap(), 2);
        assert_eq!(sent, 2);
        // A 429 was not carried out: even a write that must not repeat is sent again.
        let limited = Fail(Retry::NotCarriedOut, Some(Duration::from_secs(2)));
        let start = tokio::time::Instant::now();
        let (once, sent) = run(&c, Request::write("svc", Repeat::Once), limited, 1).await;
        assert_eq!(once.unwrap(), 2);
        assert_eq!(sent, 2);
        assert!(
            start.elapsed() >= Duration::from_secs(2),
            "Retry-After honoured"
        );
        assert_eq!(c.counts().rate_limited, 1);
    }

    #[derive(Debug, Clone, Copy)]
    struct Unsent;

    impl std::fmt::Display for Unsent {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("no token")
        }
    }

    impl Failure for Unsent {
        fn retry(&self) -> Retry {
            Retry::NotCarriedOut
        }
        fn retry_after(&self) -> Option<Duration> {
            None
        }
        fn is_rate_limited(&self) -> bool {
            false
        }
        fn was_sent(&self) -> bool {
            false
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_that_never_left_is_not_counted() {
        let c = caller();
        let result = c
            .call(&Request::read("svc"), |attempt| async move {
                if attempt == 1 {
                    Err(Unsent)
                } else {
                    Ok(attempt)
                }
            })
            .await;
        assert_eq!(result.unwrap(), 2);
        let counts = c.counts();
        assert_eq!((counts.reads, counts.retries), (1, 0), "one request left");
    }

    #[tokio::test(start_paused = true)]
    async fn retries_are_bounded_by_the_policys_attempts() {
        let c = caller();
        let (result, sent) = run(
            &c,
            Request::read("svc"),
            Fail(Retry::NotCarriedOut, None),
            100,
        )
        .await;
        assert!(result.is_err());
        assert_eq!(sent, RetryPolicy::default().max_attempts);
    }
}
