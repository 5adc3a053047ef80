//! The optional rate limit per token (`--rate-limit N`): a token bucket per token
//! refilling at N requests a second, holding at most N (one second's worth, so a
//! client pacing itself at the declared rate never meets a 429). Over the limit the
//! answer is 429 with `Retry-After` (whole seconds, as HTTP has it) and the exact wait
//! in `details.retry_after_ms`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::App;
use super::auth::Caller;
use super::error::ApiError;

/// Token buckets, one per caller.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<usize, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// `rate` requests a second per token (a positive, finite number).
    #[must_use]
    pub fn new(rate: f64) -> Self {
        Self {
            rate,
            burst: rate.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The limit, requests per second.
    #[must_use]
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Takes a token for caller `id` at `now`, or answers how long until one is there.
    ///
    /// # Errors
    /// The wait, when the caller is over the limit.
    pub fn check(&self, id: usize, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = buckets.entry(id).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
    }
}

/// Answers 429 to a caller over its limit.
pub async fn limit(State(app): State<App>, request: Request, next: Next) -> Response {
    if let (Some(limiter), Some(caller)) = (&app.limiter, request.extensions().get::<Caller>()) {
        if let Err(wait) = limiter.check(caller.id, Instant::now()) {
            let millis = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
            return ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "more than {} requests a second with this token; wait {millis} ms",
                    limiter.rate()
                ),
            )
            .with_details(json!({ "limit_per_second": limiter.rate(), "retry_after_ms": millis }))
            .with_retry_after(wait)
            .into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_one_second_then_the_rate() {
        let limiter = RateLimiter::new(10.0);
        let start = Instant::now();
        for _ in 0..10 {
            assert!(limiter.check(1, start).is_ok());
        }
        let wait = limiter.check(1, start).unwrap_err();
        assert!(
            wait > Duration::from_millis(99) && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        // Another token has its own bucket.
        assert!(limiter.check(2, start).is_ok());
        assert!(limiter.check(1, start + Duration::from_millis(100)).is_ok());
        assert!(
            limiter
                .check(1, start + Duration::from_millis(100))
                .is_err()
        );
    }
}
