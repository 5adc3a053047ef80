//! A small fake of the vendor's OAuth endpoints, for `accord login` and the
//! three-legged tokens: `GET /authentication/v2/authorize` (the person "signs in" at
//! once: it checks the app, the callback URL, the scopes, `state` and the PKCE
//! challenge and redirects 302 to `redirect_uri?code=..&state=..`),
//! `POST /authentication/v2/token` (`authorization_code` with the PKCE check, and
//! `refresh_token` with single-use refresh tokens rotated on each use) and
//! `POST /authentication/v2/revoke`. Access tokens live `access_lifetime` seconds.
//! Everything it refuses is answered as the vendor does (`{"error", "error_description"}`).

#![allow(dead_code)] // each test uses a different part of it

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "test-app";
pub const CLIENT_SECRET: &str = "test-app-secret-3f9a";

/// The six scopes the Team Admin API needs.
pub const SCOPES: &str = accord::backend::autodesk::user_token::SCOPES;

/// The fake's state, for tests to look at and arrange.
#[derive(Debug, Default)]
pub struct OAuthState {
    /// The callback URLs the app has registered.
    pub redirect_uris: BTreeSet<String>,
    /// Codes issued: code -> (`code_challenge`, `redirect_uri`).
    codes: HashMap<String, (String, String)>,
    /// Refresh tokens that still work.
    pub live_refresh_tokens: BTreeSet<String>,
    /// Refresh tokens used once (refused when used again).
    pub used_refresh_tokens: BTreeSet<String>,
    /// Access tokens issued.
    pub access_tokens: BTreeSet<String>,
    /// Revoked tokens.
    pub revoked: BTreeSet<String>,
    /// Grant requests by grant type.
    pub grants: BTreeMap<String, u32>,
    /// Lifetime of access tokens, seconds.
    pub access_lifetime: u64,
    /// Refuse the next authorization as if the person declined.
    pub deny: bool,
    next: u32,
}

impl OAuthState {
    fn next(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}-{}-{}", self.next, fastrand::u64(..))
    }

    /// A refresh token that works, as if someone had logged in before.
    pub fn issue_refresh_token(&mut self) -> String {
        let token = self.next("rt");
        self.live_refresh_tokens.insert(token.clone());
        token
    }
}

/// A running fake, on 127.0.0.1, stopped when dropped.
pub struct FakeOAuth {
    pub url: String,
    state: Arc<Mutex<OAuthState>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl FakeOAuth {
    /// Starts the fake in a thread of its own (so tests may be sync or async).
    pub fn start() -> Self {
        let state = Arc::new(Mutex::new(OAuthState {
            access_lifetime: 3600,
            ..OAuthState::default()
        }));
        // The ACC fake's server: a thread and runtime of its own.
        let (url, stop) = crate::acc::fake::serve(router(Arc::clone(&state)));
        Self {
            url,
            state,
            _stop: stop,
        }
    }

    pub fn state(&self) -> MutexGuard<'_, OAuthState> {
        self.state.lock().unwrap()
    }

    /// Registers `uri` as one of the app's callback URLs.
    pub fn register(&self, uri: &str) {
        self.state().redirect_uris.insert(uri.to_owned());
    }
}

/// The fake's state as its handlers share it (to mount [`router`] in a larger fake).
pub type Shared = Arc<Mutex<OAuthState>>;

/// The OAuth routes, for a fake of the whole vendor to merge into its own router.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/authentication/v2/authorize", get(authorize))
        .route("/authentication/v2/token", post(token))
        .route("/authentication/v2/revoke", post(revoke))
        .with_state(state)
}

fn parse_form(body: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

async fn authorize(
    State(state): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| q.get(k).cloned().unwrap_or_default();
    let mut s = state.lock().unwrap();
    if field("client_id") != CLIENT_ID {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "unknown client_id",
        );
    }
    let redirect = field("redirect_uri");
    if !s.redirect_uris.contains(&redirect) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "redirect_uri does not match the app's callback URL",
        );
    }
    if field("response_type") != "code" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_response_type",
            "code only",
        );
    }
    let asked: BTreeSet<&str> = q
        .get("scope")
        .map(|v| v.split(' ').collect())
        .unwrap_or_default();
    let needed: BTreeSet<&str> = SCOPES.split(' ').collect();
    if asked != needed {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", "scopes");
    }
    let state_param = field("state");
    let challenge = field("code_challenge");
    if state_param.is_empty()
        || !state_param
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ",._-".contains(c))
        || field("code_challenge_method") != "S256"
        || challenge.len() != 43
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "state or PKCE");
    }
    let mut location = url::Url::parse(&redirect).unwrap();
    if s.deny {
        location
            .query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("state", &state_param);
    } else {
        let code = s.next("code");
        s.codes.insert(code.clone(), (challenge, redirect.clone()));
        location
            .query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", &state_param);
    }
    (
        StatusCode::FOUND,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

async fn token(State(state): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let form = parse_form(&body);
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let mut s = state.lock().unwrap();
    let grant = field("grant_type");
    *s.grants.entry(grant.clone()).or_default() += 1;
    match grant.as_str() {
        "authorization_code" => {
            let Some((challenge, redirect)) = s.codes.remove(&field("code")) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "unknown or used code",
                );
            };
            let verifier = field("code_verifier");
            if !(43..=128).contains(&verifier.len())
                || URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge
            {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "PKCE verification failed",
                );
            }
            if field("redirect_uri") != redirect {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "redirect_uri mismatch",
                );
            }
        }
        "refresh_token" => {
            let used = field("refresh_token");
            if !s.live_refresh_tokens.remove(&used) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The refresh token is invalid or expired.",
                );
            }
            s.used_refresh_tokens.insert(used);
            let asked: BTreeSet<&str> = form
                .get("scope")
                .map(|v| v.split(' ').collect())
                .unwrap_or_default();
            if !asked.is_empty() && asked != SCOPES.split(' ').collect() {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", "scopes");
            }
        }
        _ => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "grant"),
    }
    let access = s.next("at");
    let refresh = s.next("rt");
    s.access_tokens.insert(access.clone());
    s.live_refresh_tokens.insert(refresh.clone());
    axum::Json(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": s.access_lifetime,
        "refresh_token": refresh,
        "scope": SCOPES,
    }))
    .into_response()
}

async fn revoke(State(state): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let form = parse_form(&body);
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let token = form.get("token").cloned().unwrap_or_default();
    let mut s = state.lock().unwrap();
    s.live_refresh_tokens.remove(&token);
    s.revoked.insert(token);
    StatusCode::OK.into_response()
}
