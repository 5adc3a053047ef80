//! Interim three-legged tokens (replaced by the login work): a refresh token from
//! `APS_REFRESH_TOKEN`, refreshed through the call policy.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::backend::transport::{self, ClientSettings};
use crate::call::{Caller, Request};
use crate::contract::BackendError;

/// The six scopes the Team Admin API's operations need.
pub const SCOPES: &str = "tmadmapi:team:read tmadmapi:team:write tmadmapi:team-users:read tmadmapi:team-users:write tmadmapi:team-products:read tmadmapi:team-products:write";

#[derive(Deserialize)]
struct Answer {
    access_token: String,
    expires_in: u64,
    #[serde(default)]
    refresh_token: Option<String>,
}

struct Cached {
    value: String,
    refresh_at: Instant,
}

/// Three-legged access tokens from a refresh token.
pub struct UserTokens {
    http: reqwest::Client,
    url: String,
    client_id: String,
    client_secret: String,
    refresh: Mutex<(String, Option<Cached>)>,
    caller: Arc<Caller>,
}

impl std::fmt::Debug for UserTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserTokens")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn variable(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl UserTokens {
    /// From the environment.
    ///
    /// # Errors
    /// A credential is missing.
    pub fn from_env(base_url: &str, caller: Arc<Caller>) -> Result<Self, BackendError> {
        let missing = |name: &str| BackendError::Unauthorized {
            detail: format!("{name} is not set"),
        };
        Ok(Self {
            http: transport::client(&ClientSettings::default())?,
            url: format!(
                "{}/authentication/v2/token",
                base_url.trim_end_matches('/')
            ),
            client_id: variable("APS_CLIENT_ID").ok_or_else(|| missing("APS_CLIENT_ID"))?,
            client_secret: variable("APS_CLIENT_SECRET")
                .ok_or_else(|| missing("APS_CLIENT_SECRET"))?,
            refresh: Mutex::new((
                variable("APS_REFRESH_TOKEN").ok_or_else(|| BackendError::Unauthorized {
                    detail: "no login for the vendor's Team Admin API: run `accord login`, or set APS_REFRESH_TOKEN".into(),
                })?,
                None,
            )),
            caller,
        })
    }

    /// A valid access token.
    ///
    /// # Errors
    /// The refresh failed.
    pub async fn access_token(&self) -> Result<String, BackendError> {
        let mut state = self.refresh.lock().await;
        if let Some(cached) = &state.1 {
            if Instant::now() < cached.refresh_at {
                return Ok(cached.value.clone());
            }
        }
        let refresh = state.0.clone();
        let answer: Answer = self
            .caller
            .call(&Request::token("token"), |_| self.refresh_once(&refresh))
            .await
            .map_err(|a: transport::Attempt| a.error)?;
        if let Some(next) = answer.refresh_token {
            state.0 = next;
        }
        let lifetime = Duration::from_secs(answer.expires_in);
        state.1 = Some(Cached {
            value: answer.access_token.clone(),
            refresh_at: Instant::now()
                + lifetime.saturating_sub((lifetime / 5).min(Duration::from_secs(60))),
        });
        Ok(answer.access_token)
    }

    async fn refresh_once(&self, refresh: &str) -> Result<Answer, transport::Attempt> {
        let response = self
            .http
            .post(&self.url)
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("scope", SCOPES),
            ])
            .send()
            .await
            .map_err(|e| {
                transport::failure(&self.url, &e, Duration::from_secs(60), "check the network")
            })?;
        let status = response.status();
        let retry_after = transport::retry_after(response.headers());
        let body = response.bytes().await.map_err(|e| {
            transport::failure(&self.url, &e, Duration::from_secs(60), "check the network")
        })?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| {
                transport::Attempt::unsent(BackendError::Rejected {
                    detail: format!(
                        "the token endpoint answered something accord cannot read ({e})"
                    ),
                })
            });
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(BackendError::RateLimited { retry_after }.into());
        }
        if status.is_server_error() {
            return Err(BackendError::Server {
                status: status.as_u16(),
                detail: String::new(),
            }
            .into());
        }
        Err(transport::Attempt::unsent(BackendError::Unauthorized {
            detail: format!(
                "the vendor refused the refresh token (HTTP {})",
                status.as_u16()
            ),
        }))
    }

    /// Forgets `used`.
    pub async fn forget(&self, used: &str) {
        let mut state = self.refresh.lock().await;
        if state.1.as_ref().is_some_and(|c| c.value == used) {
            state.1 = None;
        }
    }
}
