//! The HTTP side of the `acc` backend: the OAuth client-credentials token (cached until
//! shortly before it expires, refreshed once when a call answers 401), the `Region`
//! header on every call, the `User-Id` header on `construction/admin` writes, and
//! client-side pacing per endpoint family, because the vendor limits each family
//! separately (`hq` 100/min; `construction/admin` reads 600/min, writes 100/min).
//!
//! The client secret and the access token live only in this module: they are sent
//! in `Authorization` headers marked sensitive and never appear in `Debug` output,
//! messages or logs.

use std::time::Duration;

use reqwest::header::{self, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::apply::pacing::TokenBucket;
use crate::apply::retry::Jitter;
use crate::backend::BackendError;

/// How long before its expiry a token is replaced (so no call is sent with a token
/// that expires in flight).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// Attempts of one call, the first included (429 and 5xx are retried).
pub const ATTEMPTS: u32 = 5;

/// The longest `Retry-After` waited inside one call; beyond it the error goes up to
/// the apply executor, which waits and resends the batch.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// The scopes accord asks for: read and change the account.
pub const SCOPES: &str = "account:read account:write";

/// The app's credentials and who acts for `construction/admin` writes.
#[derive(Clone)]
pub struct Credentials {
    /// `APS_CLIENT_ID`.
    pub client_id: String,
    /// `APS_CLIENT_SECRET`.
    pub client_secret: String,
    /// `ACCORD_ACC_USER_ID`: an account admin's user id, sent as `User-Id`.
    pub user_id: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// Calls per minute of each endpoint family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimits {
    /// Every `hq/v1` endpoint.
    pub hq_per_minute: f64,
    /// `construction/admin` reads.
    pub admin_reads_per_minute: f64,
    /// `construction/admin` writes.
    pub admin_writes_per_minute: f64,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            hq_per_minute: 100.0,
            admin_reads_per_minute: 600.0,
            admin_writes_per_minute: 100.0,
        }
    }
}

/// Which limit a call counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `hq/v1`.
    Hq,
    /// `construction/admin` GET.
    AdminRead,
    /// `construction/admin` writes (these also need `User-Id`).
    AdminWrite,
}

impl Family {
    /// The family of `method path`.
    #[must_use]
    pub fn of(method: &Method, path: &str) -> Self {
        if path.starts_with("/hq/") {
            Self::Hq
        } else if *method == Method::GET {
            Self::AdminRead
        } else {
            Self::AdminWrite
        }
    }
}

/// A complete answer.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The body.
    pub body: Vec<u8>,
    /// The `Retry-After` header, in whole seconds, when present.
    pub retry_after: Option<Duration>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

struct Token {
    value: String,
    refresh_at: Instant,
}

/// The connection to the vendor's API for one account.
pub struct AccClient {
    http: reqwest::Client,
    base: String,
    region: String,
    credentials: Credentials,
    token: Mutex<Option<Token>>,
    hq: TokenBucket,
    admin_reads: TokenBucket,
    admin_writes: TokenBucket,
}

impl std::fmt::Debug for AccClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccClient")
            .field("base", &self.base)
            .field("region", &self.region)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// A bucket for `per_minute` calls: a burst of a sixth of the minute's allowance, then
/// the steady rate, so a run never exceeds the vendor's limit over any minute by much.
fn bucket(per_minute: f64) -> TokenBucket {
    TokenBucket::new(per_minute / 60.0, (per_minute / 6.0).max(1.0))
}

impl AccClient {
    /// A client for the API at `base` (no trailing slash) in `region`.
    ///
    /// # Errors
    /// [`BackendError::Internal`] when the TLS stack cannot be set up.
    pub fn new(
        base: &str,
        region: &str,
        credentials: Credentials,
        limits: RateLimits,
    ) -> Result<Self, BackendError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("accord/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| BackendError::Internal {
                detail: format!("cannot set up the HTTP client: {e}"),
            })?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            region: region.to_owned(),
            credentials,
            token: Mutex::new(None),
            hq: bucket(limits.hq_per_minute),
            admin_reads: bucket(limits.admin_reads_per_minute),
            admin_writes: bucket(limits.admin_writes_per_minute),
        })
    }

    /// The API's base URL, for messages.
    #[must_use]
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A valid access token: the cached one unless it expires within
    /// [`REFRESH_MARGIN`], else a new one.
    async fn token(&self) -> Result<String, BackendError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            if Instant::now() < token.refresh_at {
                return Ok(token.value.clone());
            }
        }
        let fresh = self.request_token().await?;
        let value = fresh.access_token.clone();
        let lifetime = Duration::from_secs(fresh.expires_in).saturating_sub(REFRESH_MARGIN);
        *cached = Some(Token {
            value: fresh.access_token,
            refresh_at: Instant::now() + lifetime,
        });
        Ok(value)
    }

    /// Forgets the cached token (the API said it is no longer valid).
    async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    async fn request_token(&self) -> Result<TokenAnswer, BackendError> {
        let url = format!("{}/authentication/v2/token", self.base);
        let response = self
            .http
            .post(&url)
            .basic_auth(
                &self.credentials.client_id,
                Some(&self.credentials.client_secret),
            )
            .header(header::ACCEPT, "application/json")
            .form(&[("grant_type", "client_credentials"), ("scope", SCOPES)])
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| self.transport(&e))?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| BackendError::Rejected {
                detail: format!("the token endpoint answered something accord cannot read ({e})"),
            });
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(self.error(&Answer {
                status,
                body: body.to_vec(),
                retry_after: None,
            }));
        }
        Err(BackendError::Unauthorized {
            detail: format!(
                "the vendor refused the app's credentials (HTTP {}): check APS_CLIENT_ID and APS_CLIENT_SECRET, and that the app may use the scopes `{SCOPES}`",
                status.as_u16()
            ),
        })
    }

    fn bucket(&self, family: Family) -> &TokenBucket {
        match family {
            Family::Hq => &self.hq,
            Family::AdminRead => &self.admin_reads,
            Family::AdminWrite => &self.admin_writes,
        }
    }

    /// Sends `method path?query` with an optional JSON `body`. A 401 refreshes the
    /// token and tries once more; 429 (after its `Retry-After`) and 5xx are tried
    /// again up to [`ATTEMPTS`] times (a 429 was not carried out, so resending a
    /// write is safe; a 5xx write is only resent when `idempotent`). Any other
    /// answer is returned for the caller to read.
    ///
    /// # Errors
    /// Transport failures, a second 401, and 429/5xx that persist.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        idempotent: bool,
    ) -> Result<Answer, BackendError> {
        let family = Family::of(&method, path);
        let mut refreshed = false;
        let mut attempt = 0;
        let mut jitter = Jitter::from_entropy();
        loop {
            attempt += 1;
            self.bucket(family).acquire().await;
            let answer = self.send_once(&method, path, query, body, family).await?;
            if answer.status == StatusCode::UNAUTHORIZED && !refreshed {
                // The token expired or was revoked mid-run: one new token, one retry.
                refreshed = true;
                self.forget_token().await;
                continue;
            }
            let transient = answer.status == StatusCode::TOO_MANY_REQUESTS
                || (answer.status.is_server_error() && (idempotent || method == Method::GET));
            if !transient {
                return Ok(answer);
            }
            let error = self.error(&answer);
            if attempt >= ATTEMPTS {
                return Err(error);
            }
            let wait = match error.retry_after() {
                Some(wait) if wait > MAX_RETRY_AFTER => return Err(error),
                Some(wait) => {
                    self.bucket(family).pause_for(wait);
                    wait
                }
                None => {
                    let ceiling = Duration::from_millis(200 * (1 << attempt.min(5)));
                    ceiling / 2 + jitter.fraction_of(ceiling / 2)
                }
            };
            tracing::debug!(
                attempt,
                status = answer.status.as_u16(),
                "retrying {method} {path}"
            );
            tokio::time::sleep(wait).await;
        }
    }

    async fn send_once(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        family: Family,
    ) -> Result<Answer, BackendError> {
        let mut bearer = HeaderValue::from_str(&format!("Bearer {}", self.token().await?))
            .map_err(|_| BackendError::Unauthorized {
                detail: "the vendor's token cannot be sent in a header".into(),
            })?;
        bearer.set_sensitive(true);
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header(header::AUTHORIZATION, bearer)
            .header(header::ACCEPT, "application/json")
            .header("Region", &self.region);
        if !query.is_empty() {
            request = request.query(query);
        }
        if family == Family::AdminWrite {
            let user = self.credentials.user_id.as_deref().ok_or_else(|| {
                BackendError::Unauthorized {
                    detail: "changing projects needs ACCORD_ACC_USER_ID: set it to the user id of an account admin (sent as the `User-Id` header)".into(),
                }
            })?;
            request = request.header("User-Id", user);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.bytes().await.map_err(|e| self.transport(&e))?;
        Ok(Answer {
            status,
            body: body.to_vec(),
            retry_after,
        })
    }

    /// Sends a GET and reads a 2xx answer as JSON.
    ///
    /// # Errors
    /// As [`Self::send`], and the error a non-2xx answer stands for.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, BackendError> {
        let answer = self.send(Method::GET, path, query, None, true).await?;
        if !answer.status.is_success() {
            return Err(self.error(&answer));
        }
        self.decode(&answer)
    }

    /// Reads an answer's body as JSON.
    ///
    /// # Errors
    /// [`BackendError::Rejected`] when the body is not what the API describes.
    pub fn decode<T: DeserializeOwned>(&self, answer: &Answer) -> Result<T, BackendError> {
        serde_json::from_slice(&answer.body).map_err(|e| BackendError::Rejected {
            detail: format!("the vendor's API answered something accord cannot read ({e})"),
        })
    }

    fn transport(&self, error: &reqwest::Error) -> BackendError {
        let url = self.base.clone();
        if error.is_connect() {
            BackendError::Unreachable {
                url,
                detail: format!("cannot connect ({error}); check the network and the region"),
            }
        } else {
            BackendError::Timeout {
                url,
                detail: format!(
                    "no complete answer ({error}); the call may or may not have been carried out"
                ),
            }
        }
    }

    /// The error a non-2xx answer stands for. Admin error bodies are undocumented, so
    /// the status decides and the body is kept as text.
    #[must_use]
    pub fn error(&self, answer: &Answer) -> BackendError {
        let text: String = String::from_utf8_lossy(&answer.body)
            .chars()
            .take(300)
            .collect();
        match answer.status {
            StatusCode::UNAUTHORIZED => BackendError::Unauthorized {
                detail: format!(
                    "the vendor did not accept the app's token even after a refresh: check APS_CLIENT_ID and APS_CLIENT_SECRET ({text})"
                ),
            },
            StatusCode::FORBIDDEN => BackendError::Unauthorized {
                detail: format!(
                    "the vendor refused access: add the app to the account as a custom integration, and set ACCORD_ACC_USER_ID to an account admin's id ({text})"
                ),
            },
            StatusCode::TOO_MANY_REQUESTS => BackendError::RateLimited {
                retry_after: answer.retry_after,
            },
            s if s.is_server_error() => BackendError::Server {
                status: s.as_u16(),
                detail: text,
            },
            s => BackendError::Rejected {
                detail: format!("{text} (HTTP {})", s.as_u16()),
            },
        }
    }
}
