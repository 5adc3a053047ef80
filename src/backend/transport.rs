//! What every HTTP backend shares below its own API: one pooled reqwest client
//! (rustls, no OpenSSL) with timeouts, and transport failures (a refused connection,
//! a timeout, a connection dropped before the answer) phrased as [`BackendError`]s
//! the call policy knows how to retry.

use std::time::Duration;

use reqwest::header::{self, HeaderMap};

use crate::call::{Failure, Retry};

use crate::contract::BackendError;

/// How an HTTP client connects.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Headers every request carries (`Authorization`, `Accept`).
    pub headers: HeaderMap,
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
    /// How long one request may take, answer included.
    pub timeout: Duration,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            headers: HeaderMap::new(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
        }
    }
}

/// A pooled client with `settings`.
///
/// # Errors
/// [`BackendError::Internal`] when the TLS stack cannot be set up.
pub fn client(settings: &ClientSettings) -> Result<reqwest::Client, BackendError> {
    reqwest::Client::builder()
        .default_headers(settings.headers.clone())
        .user_agent(concat!("accord/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.timeout)
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(32)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| BackendError::Internal {
            detail: format!("cannot set up the HTTP client: {e}"),
        })
}

/// A transport failure at `url`, phrased for the person who has to fix it; `check`
/// says what to check when nothing answers (`is accord serve running at ...?`).
#[must_use]
pub fn failure(url: &str, error: &reqwest::Error, timeout: Duration, check: &str) -> BackendError {
    let url = url.to_owned();
    let cause = root_cause(error);
    if error.is_connect() {
        let detail = if cause.contains("refused") {
            format!("connection refused: {check}")
        } else {
            format!("cannot connect ({cause}): {check}")
        };
        return BackendError::Unreachable { url, detail };
    }
    if error.is_timeout() {
        return BackendError::Timeout {
            url,
            detail: format!(
                "no answer within {} s; the call may or may not have been carried out",
                timeout.as_secs()
            ),
        };
    }
    BackendError::Timeout {
        url,
        detail: format!(
            "the connection dropped before the answer arrived ({cause}); the call may or may not have been carried out"
        ),
    }
}

/// The innermost cause of an error (`Connection refused (os error 111)`).
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// One attempt's failure, as the call policy sees it: whether it reached the vendor
/// at all, and whether it may be tried again.
#[derive(Debug)]
pub struct Attempt {
    /// What failed.
    pub error: BackendError,
    sent: bool,
    may_retry: bool,
}

impl Attempt {
    /// A failure before anything was sent (no token, no header): not a request, and
    /// not retried (whatever was needed already had its own retries).
    #[must_use]
    pub fn unsent(error: BackendError) -> Self {
        Self {
            error,
            sent: false,
            may_retry: false,
        }
    }
}

impl From<BackendError> for Attempt {
    /// A request that failed on the way or in the vendor: sent, unless no connection
    /// could be made (then nothing reached the vendor); retried as the error says.
    fn from(error: BackendError) -> Self {
        let sent = !matches!(error, BackendError::Unreachable { .. });
        Self {
            error,
            sent,
            may_retry: true,
        }
    }
}

impl std::fmt::Display for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl Failure for Attempt {
    fn retry(&self) -> Retry {
        if self.may_retry {
            self.error.retry()
        } else {
            Retry::Never
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        self.error.retry_after()
    }

    fn is_rate_limited(&self) -> bool {
        matches!(self.error, BackendError::RateLimited { .. })
    }

    fn was_sent(&self) -> bool {
        self.sent
    }
}

/// The `Retry-After` header, in whole seconds, when present.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}
