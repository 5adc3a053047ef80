//! What the vendor's two kinds of token share: the token endpoint
//! (`POST {base}/authentication/v2/token`, the app's credentials in HTTP Basic, a
//! form body) and a cached access token replaced shortly before it expires.
//!
//! The two-legged token of [`super::acc::client`] (`client_credentials`) and the
//! three-legged tokens of [`super::autodesk::user_token`] (`refresh_token`) and
//! [`super::autodesk::login`] (`authorization_code`) all go through
//! [`TokenEndpoint::request`]. Its answer tells apart what the call policy may retry
//! (a dropped connection, a 429 with its `Retry-After`, a 5xx: [`TokenError::Failed`])
//! from a refusal of the grant itself ([`TokenError::Refused`], with the `OAuth`
//! `error` code the caller turns into advice).
//!
//! Secrets ([`Secret`]: the client secret, tokens, codes, verifiers) have no
//! `Display` and a `Debug` that shows none of them; the credentials travel in a
//! header reqwest marks sensitive.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header;
use serde::Deserialize;
use tokio::time::Instant;

use crate::backend::transport::{self, ClientSettings};
use crate::call::{Failure, Retry};
use crate::contract::BackendError;

/// How long before its expiry a token is replaced at most (so no call is sent with a
/// token that expires in flight). A token that lives a short time is replaced a fifth
/// of its life before it expires ([`refresh_margin`]), so a vendor answering
/// `expires_in: 60` does not make every call ask for a new token.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// How long before it expires a token living `lifetime` is replaced: a fifth of its
/// life, at most [`REFRESH_MARGIN`].
#[must_use]
pub fn refresh_margin(lifetime: Duration) -> Duration {
    (lifetime / 5).min(REFRESH_MARGIN)
}

/// The path of the token endpoint under the vendor's base URL.
pub const TOKEN_PATH: &str = "/authentication/v2/token";

/// A secret: a client secret, a token, an authorization code, a PKCE verifier. It
/// has no `Display`; its `Debug` shows none of it; [`Secret::expose`] is the one way
/// to read it, for the request that needs it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, to send or to store.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// An access token and when to replace it (before it expires, by
/// [`refresh_margin`]).
pub struct CachedToken {
    value: Secret,
    refresh_at: Instant,
}

impl CachedToken {
    /// `value`, valid for `lifetime` from now.
    #[must_use]
    pub fn new(value: Secret, lifetime: Duration) -> Self {
        Self {
            value,
            refresh_at: Instant::now() + lifetime.saturating_sub(refresh_margin(lifetime)),
        }
    }

    /// The token, unless it is due to be replaced.
    #[must_use]
    pub fn fresh(&self) -> Option<&str> {
        (Instant::now() < self.refresh_at).then(|| self.value.expose())
    }

    /// Whether this is `token` (a call refused it: forget it unless replaced).
    #[must_use]
    pub fn is(&self, token: &str) -> bool {
        self.value.expose() == token
    }
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken")
            .field("refresh_at", &self.refresh_at)
            .finish_non_exhaustive()
    }
}

/// What the token endpoint answers.
#[derive(Deserialize)]
pub struct TokenAnswer {
    /// The access token.
    #[serde(deserialize_with = "secret")]
    pub access_token: Secret,
    /// Its lifetime in seconds.
    pub expires_in: u64,
    /// A new refresh token (three-legged grants).
    #[serde(default, deserialize_with = "optional_secret")]
    pub refresh_token: Option<Secret>,
    /// The scopes granted, when said.
    #[serde(default)]
    pub scope: Option<String>,
}

impl std::fmt::Debug for TokenAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenAnswer")
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token.is_some())
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

fn secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    String::deserialize(d).map(Secret)
}

fn optional_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Option::<String>::deserialize(d).map(|s| s.map(Secret))
}

/// Why a token request got no token.
#[derive(Debug)]
pub enum TokenError {
    /// It failed on the way or at the vendor (a dropped connection, a 429, a 5xx, an
    /// unreadable answer): the call policy retries it as the error says.
    Failed(BackendError),
    /// The vendor refused the grant or the app's credentials (a 4xx).
    Refused {
        /// The HTTP status.
        status: u16,
        /// The `OAuth` `error` code (`invalid_grant`, `invalid_client`), or the
        /// gateway's `errorCode`, when the answer had one.
        code: String,
        /// What the vendor said, at most 300 characters, with every secret sent
        /// removed.
        description: String,
    },
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Failed(error) => error.fmt(f),
            Self::Refused {
                status,
                code,
                description,
            } => {
                write!(f, "HTTP {status}")?;
                if !code.is_empty() {
                    write!(f, " {code}")?;
                }
                if !description.is_empty() {
                    write!(f, ": {description}")?;
                }
                Ok(())
            }
        }
    }
}

impl Failure for TokenError {
    fn retry(&self) -> Retry {
        match self {
            Self::Failed(error) => error.retry(),
            Self::Refused { .. } => Retry::Never,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Failed(error) => error.retry_after(),
            Self::Refused { .. } => None,
        }
    }

    fn is_rate_limited(&self) -> bool {
        matches!(self, Self::Failed(BackendError::RateLimited { .. }))
    }

    fn was_sent(&self) -> bool {
        !matches!(self, Self::Failed(BackendError::Unreachable { .. }))
    }
}

/// The vendor's token endpoint, for one app.
pub struct TokenEndpoint {
    http: reqwest::Client,
    base: String,
    client_id: String,
    client_secret: Secret,
}

impl std::fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenEndpoint")
            .field("base", &self.base)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl TokenEndpoint {
    /// The endpoint under `base` (no trailing slash needed) for the app
    /// `client_id`, sending requests with `http`.
    #[must_use]
    pub fn new(http: reqwest::Client, base: &str, client_id: &str, client_secret: Secret) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            client_secret,
        }
    }

    /// The endpoint with a client of its own.
    ///
    /// # Errors
    /// [`BackendError::Internal`] when the TLS stack cannot be set up.
    pub fn with_own_client(
        base: &str,
        client_id: &str,
        client_secret: Secret,
    ) -> Result<Self, BackendError> {
        let http = transport::client(&ClientSettings::default())?;
        Ok(Self::new(http, base, client_id, client_secret))
    }

    /// The vendor's base URL.
    #[must_use]
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The app's client id.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Sends one token request with `form` (the grant), once: no retry here, the
    /// caller wraps it in the call policy. `secrets` are the secret values of the
    /// form, removed from anything the vendor's answer repeats.
    ///
    /// # Errors
    /// [`TokenError::Failed`] for transport failures, 429, 5xx and an unreadable
    /// answer; [`TokenError::Refused`] for any other non-2xx.
    pub async fn request(
        &self,
        form: &[(&str, &str)],
        secrets: &[&Secret],
    ) -> Result<TokenAnswer, TokenError> {
        self.post(TOKEN_PATH, form, secrets).await.and_then(|body| {
            serde_json::from_slice(&body).map_err(|e| {
                TokenError::Failed(BackendError::Rejected {
                    detail: format!(
                        "the token endpoint answered something accord cannot read ({})",
                        scrub(&e.to_string(), secrets)
                    ),
                })
            })
        })
    }

    /// Sends `form` to `path` (the token or the revoke endpoint) with the app's
    /// credentials, once, and returns a 2xx answer's body.
    ///
    /// # Errors
    /// As [`Self::request`].
    pub async fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
        secrets: &[&Secret],
    ) -> Result<Vec<u8>, TokenError> {
        let url = format!("{}{path}", self.base);
        let response = self
            .http
            .post(&url)
            .basic_auth(&self.client_id, Some(self.client_secret.expose()))
            .header(header::ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .map_err(|e| TokenError::Failed(self.transport(&e)))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|e| TokenError::Failed(self.transport(&e)))?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        let mut all: Vec<&Secret> = secrets.to_vec();
        all.push(&self.client_secret);
        let text = scrub(&String::from_utf8_lossy(&body), &all);
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(TokenError::Failed(BackendError::RateLimited {
                retry_after,
            }));
        }
        if status.is_server_error() {
            return Err(TokenError::Failed(BackendError::Server {
                status: status.as_u16(),
                detail: text.chars().take(300).collect(),
            }));
        }
        let (code, description) = refusal(&text);
        Err(TokenError::Refused {
            status: status.as_u16(),
            code,
            description,
        })
    }

    fn transport(&self, error: &reqwest::Error) -> BackendError {
        let check = "check the network and ACCORD_ACC_BASE_URL";
        transport::failure(&self.base, error, ClientSettings::default().timeout, check)
    }
}

/// The `OAuth` error code and description of a refusal's body (`{"error",
/// "error_description"}`, or the gateway's `{"errorCode", "developerMessage"}`).
fn refusal(text: &str) -> (String, String) {
    let parsed: Option<serde_json::Value> = serde_json::from_str(text).ok();
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| {
                parsed
                    .as_ref()
                    .and_then(|v| v.get(*name))
                    .and_then(serde_json::Value::as_str)
                    .filter(|s| !s.is_empty())
            })
            .map(str::to_owned)
    };
    let code = field(&["error", "errorCode", "code"]).unwrap_or_default();
    let description =
        field(&["error_description", "developerMessage", "message"]).unwrap_or_else(|| {
            if parsed.is_some() {
                String::new()
            } else {
                text.to_owned()
            }
        });
    (
        code.chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            .take(60)
            .collect(),
        description.chars().take(300).collect(),
    )
}

/// `text` with every one of `secrets` (of a length that could not be a common word)
/// replaced by `[redacted]`.
#[must_use]
pub fn scrub(text: &str, secrets: &[&Secret]) -> String {
    let mut text = text.to_owned();
    for secret in secrets {
        let value = secret.expose();
        if value.len() >= 4 {
            text = text.replace(value, "[redacted]");
        }
    }
    text
}

pub use crate::backend::transport::retry_after;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_show_in_no_debug() {
        let secret = Secret::new("s3cr3t-value");
        assert!(!format!("{secret:?}").contains("s3cr3t"));
        let cached = CachedToken::new(secret.clone(), Duration::from_secs(60));
        assert!(!format!("{cached:?}").contains("s3cr3t"));
        let endpoint = TokenEndpoint::with_own_client("http://127.0.0.1:1", "app", secret).unwrap();
        let shown = format!("{endpoint:?}");
        assert!(
            !shown.contains("s3cr3t") && shown.contains("app"),
            "{shown}"
        );
    }

    #[test]
    fn a_refusal_keeps_its_code_and_loses_the_secrets_it_repeats() {
        let token = Secret::new("rt-0123456789");
        let body = r#"{"error":"invalid_grant","error_description":"refresh token rt-0123456789 is used"}"#;
        let (code, description) = refusal(&scrub(body, &[&token]));
        assert_eq!(code, "invalid_grant");
        assert_eq!(description, "refresh token [redacted] is used");
        let (code, _) = refusal(r#"{"errorCode":"AUTH-001","developerMessage":"x"}"#);
        assert_eq!(code, "AUTH-001");
    }

    #[tokio::test(start_paused = true)]
    async fn a_cached_token_is_replaced_a_margin_before_it_expires() {
        let cached = CachedToken::new(Secret::new("a"), Duration::from_secs(3600));
        tokio::time::advance(Duration::from_secs(3600 - 61)).await;
        assert_eq!(cached.fresh(), Some("a"));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(cached.fresh(), None, "60 s before expiry it is due");
        let short = CachedToken::new(Secret::new("b"), Duration::from_secs(10));
        tokio::time::advance(Duration::from_secs(7)).await;
        assert_eq!(short.fresh(), Some("b"));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(short.fresh(), None, "a fifth of a short life before expiry");
    }
}
