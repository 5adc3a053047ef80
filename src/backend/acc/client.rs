//! The HTTP side of the `acc` backend: the OAuth client-credentials token (cached until
//! shortly before it expires, refreshed once when a call answers 401), the `Region`
//! header on every call, and the `User-Id` header on `construction/admin` writes.
//! Every request, the token's included, goes through the call policy ([`Caller`]),
//! counted against its endpoint family's budget, because the vendor limits each
//! family separately (`hq` 100/min; `construction/admin` reads 600/min, writes
//! 100/min; the token endpoint 500/min): see [`RateLimits::budgets`].
//!
//! The token request is retried by the call policy like any read (a 5xx, a 429 with
//! its `Retry-After`, a dropped connection); a call whose token could not be had
//! after those retries is not retried again on top (nor counted: it never left).
//! The vendor's refusals are phrased from its answer: a 403 from the gateway (a
//! token without the scope the call needs) is told apart from a 403 of the account
//! (the app is not a custom integration, or `User-Id` is no account admin), and a
//! 404 on the account says to check its id and region.
//!
//! The client secret and the access token live only in this module: they are sent
//! in `Authorization` headers marked sensitive and never appear in `Debug` output,
//! messages or logs.

use std::time::Duration;

use reqwest::header::{self, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use std::sync::Arc;

use crate::backend::oauth::{CachedToken, Secret, TokenAnswer, TokenEndpoint, TokenError};
use crate::backend::transport::{self, Attempt, ClientSettings, retry_after};
use crate::call::{Budget, Caller, Repeat, Request};
use crate::contract::BackendError;

pub use crate::backend::oauth::{REFRESH_MARGIN, refresh_margin};

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

/// Requests per minute the token endpoint takes (`authentication.openapi.yaml`).
pub const TOKEN_PER_MINUTE: f64 = 500.0;

impl RateLimits {
    /// The budgets these limits declare, one per [`Family`].
    #[must_use]
    pub fn budgets(&self) -> Vec<Budget> {
        vec![
            Budget::per_minute(Family::Hq.name(), self.hq_per_minute),
            Budget::per_minute(Family::AdminRead.name(), self.admin_reads_per_minute),
            Budget::per_minute(Family::AdminWrite.name(), self.admin_writes_per_minute),
            Budget::per_minute(TOKEN_FAMILY, TOKEN_PER_MINUTE),
        ]
    }
}

/// The call family of token requests.
pub const TOKEN_FAMILY: &str = "token";

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
    /// The family's budget name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Hq => "hq",
            Self::AdminRead => "admin-read",
            Self::AdminWrite => "admin-write",
        }
    }

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

/// The connection to the vendor's API for one account.
pub struct AccClient {
    http: reqwest::Client,
    base: String,
    region: String,
    credentials: Credentials,
    endpoint: TokenEndpoint,
    token: Mutex<Option<CachedToken>>,
    caller: Arc<Caller>,
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

impl AccClient {
    /// A client for the API at `base` (no trailing slash) in `region`.
    ///
    /// # Errors
    /// [`BackendError::Internal`] when the TLS stack cannot be set up.
    pub fn new(
        base: &str,
        region: &str,
        credentials: Credentials,
        caller: Arc<Caller>,
    ) -> Result<Self, BackendError> {
        let http = transport::client(&ClientSettings::default())?;
        let endpoint = TokenEndpoint::new(
            http.clone(),
            base,
            &credentials.client_id,
            Secret::new(credentials.client_secret.clone()),
        );
        Ok(Self {
            http,
            endpoint,
            base: base.trim_end_matches('/').to_owned(),
            region: region.to_owned(),
            credentials,
            token: Mutex::new(None),
            caller,
        })
    }

    /// The call policy every request goes through.
    #[must_use]
    pub fn caller(&self) -> &Caller {
        &self.caller
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
        if let Some(token) = cached.as_ref().and_then(CachedToken::fresh) {
            return Ok(token.to_owned());
        }
        let fresh = self.request_token().await?;
        let value = fresh.access_token.expose().to_owned();
        *cached = Some(CachedToken::new(
            fresh.access_token,
            Duration::from_secs(fresh.expires_in),
        ));
        Ok(value)
    }

    /// Forgets `used` (the API refused it), unless another call already replaced it:
    /// calls refused together with the same token ask for one new token, not one each.
    async fn forget_token(&self, used: &str) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|token| token.is(used)) {
            *cached = None;
        }
    }

    async fn request_token(&self) -> Result<TokenAnswer, BackendError> {
        self.caller
            .call(&Request::token(TOKEN_FAMILY), |_| {
                self.endpoint
                    .request(&[("grant_type", "client_credentials"), ("scope", SCOPES)], &[])
            })
            .await
            .map_err(|error| match error {
                TokenError::Failed(error) => error,
                TokenError::Refused { status, .. } => BackendError::Unauthorized {
                    detail: format!(
                        "the vendor refused the app's credentials (HTTP {status}): check APS_CLIENT_ID and APS_CLIENT_SECRET, and that the app may use the scopes `{SCOPES}`"
                    ),
                },
            })
    }

    /// Sends `method path?query` with an optional JSON `body` through the call
    /// policy (paced by its family's budget; a 429 or a refused connection retried,
    /// and a 5xx or a lost answer retried too when `repeat` says the request is safe
    /// to send again). A 401 gets a new token and one more try. Any other answer is
    /// returned for the caller to read.
    ///
    /// # Errors
    /// Transport failures and 429/5xx that persist, a second 401.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        repeat: Repeat,
    ) -> Result<Answer, BackendError> {
        let family = Family::of(&method, path);
        let kind = if method == Method::GET {
            crate::call::Kind::Read
        } else {
            crate::call::Kind::Write
        };
        let request = Request {
            family: family.name(),
            key: "",
            kind,
            repeat,
        };
        let refreshed = std::sync::atomic::AtomicBool::new(false);
        self.caller
            .call(&request, |attempt| {
                let method = method.clone();
                let refreshed = &refreshed;
                async move {
                    // A token that could not be had (after the token request's own
                    // retries) ends the call: nothing was sent, nothing to retry.
                    let token = self.token().await.map_err(Attempt::unsent)?;
                    let answer = self
                        .send_once(&method, path, query, body, family, &token)
                        .await?;
                    tracing::debug!(%method, path, status = answer.status.as_u16(), attempt, "vendor call");
                    if answer.status == StatusCode::UNAUTHORIZED
                        && !refreshed.swap(true, std::sync::atomic::Ordering::Relaxed)
                    {
                        // The token expired or was revoked mid-run: a new token, one
                        // more try (a 401 was not carried out).
                        self.forget_token(&token).await;
                        return Err(BackendError::TokenExpired {
                            detail: "HTTP 401".into(),
                        }
                        .into());
                    }
                    if answer.status == StatusCode::TOO_MANY_REQUESTS || answer.status.is_server_error() {
                        return Err(self.error(&answer, &method, path).into());
                    }
                    Ok(answer)
                }
            })
            .await
            .map_err(|attempt: Attempt| attempt.error)
    }

    async fn send_once(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        family: Family,
        token: &str,
    ) -> Result<Answer, Attempt> {
        let mut bearer = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            Attempt::unsent(BackendError::Unauthorized {
                detail: "the vendor's token cannot be sent in a header".into(),
            })
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
            // The plan's preflight refuses project changes without it before any
            // write; this is the last guard, and sends nothing.
            let user = self.credentials.user_id.as_deref().ok_or_else(|| {
                Attempt::unsent(BackendError::Unauthorized {
                    detail: USER_ID_NEEDED.into(),
                })
            })?;
            request = request.header("User-Id", user);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
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
        let answer = self
            .send(Method::GET, path, query, None, Repeat::Safe)
            .await?;
        if !answer.status.is_success() {
            return Err(self.error(&answer, &Method::GET, path));
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
        let check = "check the network, the region and ACCORD_ACC_BASE_URL";
        transport::failure(&self.base, error, ClientSettings::default().timeout, check)
    }

    /// The error a non-2xx answer to `path` stands for. Admin error bodies are
    /// undocumented, so the status decides and the body is kept as text; the
    /// gateway's own errors (`{developerMessage, errorCode: "AUTH-..."}`) are read, so
    /// a 403 says whether the token or the account refused.
    #[must_use]
    pub fn error(&self, answer: &Answer, method: &Method, path: &str) -> BackendError {
        let text = body_text(&answer.body);
        match answer.status {
            StatusCode::UNAUTHORIZED => BackendError::Unauthorized {
                detail: format!(
                    "the vendor did not accept the app's token even after a refresh: check APS_CLIENT_ID and APS_CLIENT_SECRET ({text})"
                ),
            },
            StatusCode::FORBIDDEN => BackendError::Unauthorized {
                detail: forbidden(
                    &answer.body,
                    !path.is_empty() && Family::of(method, path) == Family::AdminWrite,
                ),
            },
            StatusCode::NOT_FOUND if path.contains("/accounts/") => BackendError::Rejected {
                detail: format!(
                    "the vendor has no account `{}` in region {} (HTTP 404: {text}): check the account id in `acc://ACCOUNT_ID` (the hub id, with or without its `b.` prefix) and `?region=` (each account lives in one region)",
                    account_in(path),
                    self.region
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

/// What a `construction/admin` write without `ACCORD_ACC_USER_ID` needs.
pub const USER_ID_NEEDED: &str = "changing projects needs ACCORD_ACC_USER_ID: set it to the user id of an account admin (sent as the `User-Id` header); reading and account-level changes do not need it";

/// An answer's body as text for a message (at most 300 characters).
fn body_text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(300).collect()
}

/// The account id in an API path (`/hq/v1/accounts/ID/users`).
fn account_in(path: &str) -> &str {
    path.split("/accounts/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
}

/// The detail of a 403: the gateway refusing the token (its body is the APS error
/// shape with an `AUTH-` code: a scope the call needs is missing), or the account
/// refusing the app (not a custom integration; for project changes, a `User-Id`
/// that is no account admin).
fn forbidden(body: &[u8], admin_write: bool) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let code = field("errorCode");
    let said = [
        field("developerMessage"),
        field("userMessage"),
        field("message"),
    ]
    .into_iter()
    .find(|m| !m.is_empty())
    .unwrap_or_else(|| body_text(body));
    if code.starts_with("AUTH-") {
        return format!(
            "the vendor's gateway refused the token for this call ({code}: {said}): the token lacks a scope the call needs (changes need `account:write`); check that the app may use the scopes `{SCOPES}` in the vendor's developer portal"
        );
    }
    let user = if admin_write {
        ", and that ACCORD_ACC_USER_ID is the user id of an account admin (project changes act for that admin)"
    } else {
        ""
    };
    format!(
        "the account refused the app ({said}): check that the app is added to the account as a custom integration (Account Admin, Custom Integrations){user}"
    )
}
