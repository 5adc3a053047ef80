//! The HTTP side of the Team Admin API: the user's three-legged token on every call
//! ([`UserTokens`], one more try with a new token after a 401), an `X-Request-Id` on
//! every request (logged with the answer, so a call can be found in the vendor's
//! logs), and every request through the call policy ([`Caller`]) counted against the
//! budget the vendor enforces: 60 calls per UTC minute **per team**
//! ([`TEAM_FAMILY`], keyed by the team id, shared with every other app and admin),
//! and 60 a minute for List Teams ([`LIST_FAMILY`], the app's own).
//!
//! The answers' `X-RateLimit-Remaining` and `X-RateLimit-Reset` are followed, so the
//! calls others make on the same team are respected; a 429 or a 503 pauses the team's
//! budget for its `Retry-After` and is sent again (it was not carried out). Every
//! write converges (an existing user, an existing assignment, an assignment already
//! gone are answered as such), so a write whose answer was lost is sent again too.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::wire::{BASE_PATH, Problem};
use crate::backend::autodesk::user_token::UserTokens;
use crate::backend::transport::{self, Attempt, ClientSettings, retry_after};
use crate::call::{Budget, Caller, Kind, Repeat, Reported, Request, Window};
use crate::contract::BackendError;

/// The call family of team operations: one budget per team id.
pub const TEAM_FAMILY: &str = "team";

/// The call family of List Teams: the app's own budget.
pub const LIST_FAMILY: &str = "team-list";

/// Calls a team allows per window (a UTC minute).
pub const TEAM_CALLS_PER_WINDOW: u32 = 60;

/// The vendor's window: a UTC minute.
pub const WINDOW_SECS: u64 = 60;

/// Test only: the length of the vendor's window in seconds (a fake vendor's scaled
/// minute), so a benchmark of thousands of calls runs in seconds.
pub const WINDOW_VARIABLE: &str = "ACCORD_TEAM_ADMIN_WINDOW_SECS";

/// The budgets of the Team Admin API with a window of `window_secs`: each team's 60
/// calls a window, spent evenly (one every `window / 60`, no bursts, as the vendor's
/// guide asks), and List Teams' 60 a window.
#[must_use]
pub fn budgets(window_secs: u64) -> Vec<Budget> {
    let window_secs = window_secs.max(1);
    #[allow(clippy::cast_precision_loss)] // a window of a few seconds to a minute
    let per_second = f64::from(TEAM_CALLS_PER_WINDOW) / window_secs as f64;
    let windowed = |family: &str, per_key: bool| Budget {
        family: family.to_owned(),
        per_second,
        burst: 1,
        window: Some(Window {
            calls: TEAM_CALLS_PER_WINDOW,
            seconds: window_secs,
        }),
        per_key,
    };
    vec![windowed(TEAM_FAMILY, true), windowed(LIST_FAMILY, false)]
}

/// A complete answer.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The error body, read.
    #[must_use]
    pub fn problem(&self) -> Problem {
        Problem::parse(&self.body)
    }
}

/// The connection to the Team Admin API.
pub struct TeamAdminClient {
    http: reqwest::Client,
    base: String,
    tokens: Arc<UserTokens>,
    caller: Arc<Caller>,
}

impl std::fmt::Debug for TeamAdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeamAdminClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// What a request is about: which budget it spends.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// List Teams (the app's budget).
    Teams,
    /// An operation on one team (that team's budget).
    Team(&'a str),
}

impl TeamAdminClient {
    /// A client of the API under the vendor's `base` URL.
    ///
    /// # Errors
    /// [`BackendError::Internal`] when the TLS stack cannot be set up.
    pub fn new(
        base: &str,
        tokens: Arc<UserTokens>,
        caller: Arc<Caller>,
    ) -> Result<Self, BackendError> {
        Ok(Self {
            http: transport::client(&ClientSettings::default())?,
            base: format!("{}{BASE_PATH}", base.trim_end_matches('/')),
            tokens,
            caller,
        })
    }

    /// The call policy every request goes through.
    #[must_use]
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// Sends `method path?query` (path under `/team-admin/v1`) with an optional JSON
    /// body through the call policy. A 401 gets a new token and one more try; a 429 or
    /// 503 waits for `Retry-After` and is sent again; a 5xx or a lost answer is sent
    /// again (every Team Admin request is safe to repeat). Any other answer is
    /// returned for the caller to read.
    ///
    /// # Errors
    /// Transport failures and 429/5xx that persist, a second 401.
    pub async fn send(
        &self,
        method: Method,
        scope: Scope<'_>,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, BackendError> {
        let (family, key) = match scope {
            Scope::Teams => (LIST_FAMILY, ""),
            Scope::Team(team) => (TEAM_FAMILY, team),
        };
        let kind = if method == Method::GET {
            Kind::Read
        } else {
            Kind::Write
        };
        let request = Request {
            family,
            key,
            kind,
            repeat: Repeat::Safe,
        };
        let refreshed = std::sync::atomic::AtomicBool::new(false);
        self.caller
            .call(&request, |attempt| {
                let method = method.clone();
                let refreshed = &refreshed;
                async move {
                    let token = self.tokens.access_token().await.map_err(Attempt::unsent)?;
                    let (answer, headers) = self.send_once(&method, path, query, body, &token).await?;
                    self.follow(family, key, &headers);
                    tracing::debug!(
                        %method,
                        path,
                        status = answer.status.as_u16(),
                        attempt,
                        request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default(),
                        remaining = headers.get("x-ratelimit-remaining").and_then(|v| v.to_str().ok()).unwrap_or_default(),
                        reset = headers.get("x-ratelimit-reset").and_then(|v| v.to_str().ok()).unwrap_or_default(),
                        "team admin call"
                    );
                    if answer.status == StatusCode::UNAUTHORIZED
                        && !refreshed.swap(true, std::sync::atomic::Ordering::Relaxed)
                    {
                        self.tokens.forget(&token).await;
                        return Err(BackendError::TokenExpired {
                            detail: "HTTP 401".into(),
                        }
                        .into());
                    }
                    let retry_after = retry_after(&headers);
                    if answer.status == StatusCode::TOO_MANY_REQUESTS
                        || answer.status == StatusCode::SERVICE_UNAVAILABLE
                    {
                        return Err(Attempt::from(BackendError::RateLimited { retry_after }));
                    }
                    if answer.status.is_server_error() {
                        return Err(BackendError::Server {
                            status: answer.status.as_u16(),
                            detail: answer.problem().detail,
                        }
                        .into());
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
        token: &str,
    ) -> Result<(Answer, HeaderMap), Attempt> {
        let mut bearer = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            Attempt::unsent(BackendError::Unauthorized {
                detail: "the vendor's token cannot be sent in a header".into(),
            })
        })?;
        bearer.set_sensitive(true);
        let url = format!("{}{path}", self.base);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .header(header::AUTHORIZATION, bearer)
            .header(header::ACCEPT, "application/json")
            .header("X-Request-Id", request_id());
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let failed = |e: &reqwest::Error| {
            transport::failure(
                &self.base,
                e,
                ClientSettings::default().timeout,
                "check the network and ACCORD_ACC_BASE_URL",
            )
        };
        let response = request.send().await.map_err(|e| failed(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|e| failed(&e))?;
        Ok((
            Answer {
                status,
                body: body.to_vec(),
            },
            headers,
        ))
    }

    /// Follows what the vendor reported about the team's window.
    fn follow(&self, family: &str, key: &str, headers: &HeaderMap) {
        let reported = reported(headers, std::time::SystemTime::now());
        if reported != Reported::default() {
            self.caller.pacer().follow(family, key, reported);
        }
    }

    /// Sends a GET and reads a 2xx answer as JSON.
    ///
    /// # Errors
    /// As [`Self::send`], and the error a non-2xx answer stands for.
    pub async fn get<T: DeserializeOwned>(
        &self,
        scope: Scope<'_>,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, BackendError> {
        let answer = self.send(Method::GET, scope, path, query, None).await?;
        if !answer.status.is_success() {
            return Err(error(&answer, scope));
        }
        decode(&answer)
    }
}

/// Reads an answer's body as JSON.
///
/// # Errors
/// [`BackendError::Rejected`] when the body is not what the API describes.
pub fn decode<T: DeserializeOwned>(answer: &Answer) -> Result<T, BackendError> {
    serde_json::from_slice(&answer.body).map_err(|e| BackendError::Rejected {
        detail: format!("the vendor's Team Admin API answered something accord cannot read ({e})"),
    })
}

/// The error a non-2xx answer about `scope` stands for.
#[must_use]
pub fn error(answer: &Answer, scope: Scope<'_>) -> BackendError {
    let problem = answer.problem();
    let said = if problem.detail.is_empty() {
        String::new()
    } else {
        format!(": {}", problem.detail)
    };
    let status = answer.status.as_u16();
    match (answer.status, scope) {
        (StatusCode::UNAUTHORIZED, _) => BackendError::Unauthorized {
            detail: format!(
                "the vendor did not accept the login's token even after a refresh (HTTP 401{said}): run `accord login` again (in CI, store a new APS_REFRESH_TOKEN)"
            ),
        },
        (StatusCode::FORBIDDEN, _) if problem.kind.starts_with("AUTH-") => {
            BackendError::Unauthorized {
                detail: format!(
                    "the vendor's gateway refused the token ({}{said}): the login lacks a scope the call needs; run `accord login` again, which asks for all six tmadmapi scopes, and check that the app has the Team Admin API enabled",
                    problem.kind
                ),
            }
        }
        (StatusCode::FORBIDDEN, Scope::Team(team)) => BackendError::Unauthorized {
            detail: forbidden_team(team, &said),
        },
        (StatusCode::FORBIDDEN, Scope::Teams) => BackendError::Unauthorized {
            detail: format!(
                "the vendor refused to list the login's teams (HTTP 403{said}): check that the app is a Traditional Web App with the Team Admin API enabled"
            ),
        },
        (s, _) if s.is_server_error() => BackendError::Server {
            status,
            detail: problem.detail,
        },
        _ => BackendError::Rejected {
            detail: format!("the vendor's Team Admin API answered HTTP {status}{said}"),
        },
    }
}

/// How the refusal of a team begins: a read that meets it leaves the team out.
pub const FORBIDDEN_TEAM: &str = "the vendor refused access to team";

/// Whether `error` is the vendor's refusal of a team (the same 403 for a team that
/// does not exist, is not the login's, or is not eligible).
#[must_use]
pub fn is_forbidden_team(error: &BackendError) -> bool {
    matches!(error, BackendError::Unauthorized { detail } if detail.starts_with(FORBIDDEN_TEAM))
}

/// A 403 on a team's path: the vendor answers the same for a team that does not
/// exist, one the login does not administer (or no longer: the role is checked on
/// every call) and one that is not eligible (non-Commercial).
#[must_use]
pub fn forbidden_team(team: &str, said: &str) -> String {
    format!(
        "{FORBIDDEN_TEAM} {team} (HTTP 403{said}): the team does not exist, the login is not (or no longer) a primary, secondary or SSO admin of it, or it is not an eligible Commercial team; `accord teams` lists the teams this login administers"
    )
}

/// A fresh request id: 1-128 of `[A-Za-z0-9._-]`, as the vendor accepts.
fn request_id() -> String {
    format!("accord-{:016x}", fastrand::u64(..))
}

/// What the rate-limit headers say. `X-RateLimit-Reset` is read as seconds from now
/// when small, as a Unix time in seconds (or milliseconds) when it is one (its unit is
/// UNCONFIRMED), and as an HTTP date otherwise is ignored.
#[must_use]
pub fn reported(headers: &HeaderMap, now: std::time::SystemTime) -> Reported {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|n| n.is_finite() && *n >= 0.0)
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked: finite, >= 0
    let remaining = number("x-ratelimit-remaining").map(|n| n.min(f64::from(u32::MAX)) as u32);
    let unix_now = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let reset_in = number("x-ratelimit-reset").and_then(|n| {
        let seconds = if n > 1e12 {
            n / 1000.0 - unix_now
        } else if n > 1e9 {
            n - unix_now
        } else {
            n
        };
        (0.0..3600.0)
            .contains(&seconds)
            .then(|| Duration::from_secs_f64(seconds))
    });
    Reported {
        remaining,
        reset_in,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn the_reset_header_is_read_in_any_of_its_plausible_units() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        let seconds = reported(
            &headers(&[("x-ratelimit-remaining", "7"), ("x-ratelimit-reset", "12")]),
            now,
        );
        assert_eq!(seconds.remaining, Some(7));
        assert_eq!(seconds.reset_in, Some(Duration::from_secs(12)));
        let unix = reported(&headers(&[("x-ratelimit-reset", "2000000030")]), now);
        assert_eq!(unix.reset_in, Some(Duration::from_secs(30)));
        let millis = reported(&headers(&[("x-ratelimit-reset", "2000000005000")]), now);
        assert_eq!(millis.reset_in, Some(Duration::from_secs(5)));
        let junk = reported(
            &headers(&[
                ("x-ratelimit-reset", "soon"),
                ("x-ratelimit-remaining", "-1"),
            ]),
            now,
        );
        assert_eq!(junk, Reported::default());
    }

    #[test]
    fn a_team_gets_sixty_calls_a_window_evenly_spaced() {
        let budgets = budgets(60);
        let team = budgets.iter().find(|b| b.family == TEAM_FAMILY).unwrap();
        assert!(team.per_key, "each team has its own budget");
        assert_eq!(team.burst, 1, "no bursts");
        assert!((team.per_second - 1.0).abs() < 1e-9);
        assert_eq!(
            team.window,
            Some(Window {
                calls: 60,
                seconds: 60
            })
        );
        let scaled = budgets_scaled();
        assert!((scaled - 30.0).abs() < 1e-9);
    }

    fn budgets_scaled() -> f64 {
        budgets(2)[0].per_second
    }

    #[test]
    fn a_403_on_a_team_says_every_reason_the_vendor_hides_behind_it() {
        let answer = Answer {
            status: StatusCode::FORBIDDEN,
            body: br#"{"type":"https://developer.api.autodesk.com/problems/forbidden","detail":"Forbidden"}"#.to_vec(),
        };
        let e = error(&answer, Scope::Team("100001")).to_string();
        assert!(e.contains("team 100001"), "{e}");
        assert!(e.contains("does not exist"), "{e}");
        assert!(e.contains("not (or no longer)"), "{e}");
        assert!(e.contains("eligible"), "{e}");
        let gateway = Answer {
            status: StatusCode::FORBIDDEN,
            body: br#"{"developerMessage":"missing scope","errorCode":"AUTH-012"}"#.to_vec(),
        };
        let e = error(&gateway, Scope::Team("100001")).to_string();
        assert!(e.contains("scope"), "{e}");
    }
}
