//! `accord login`: the vendor's authorization-code flow with PKCE, and the stored
//! login it leaves (the refresh token the Team Admin API's three-legged tokens come
//! from, see [`super::user_token`]).
//!
//! The flow: listen on `127.0.0.1:PORT` (the app's registered callback URL is
//! `http://127.0.0.1:PORT/callback`), send the person to
//! `{base}/authentication/v2/authorize` with the six `tmadmapi:*` scopes, a random
//! `state` and a PKCE S256 challenge, wait (within a timeout) for the browser to come
//! back to `/callback`, check `state`, answer the browser with a small page, and
//! exchange the code (with the verifier, the redirect URI and the app's credentials in
//! HTTP Basic) at `{base}/authentication/v2/token`. A callback whose `state` is not
//! this login's, or that carries `error=access_denied`, ends the login with an error
//! and a page that says why.
//!
//! The stored login is a JSON file (`login.json`) in accord's configuration
//! directory (`ACCORD_CONFIG_DIR`, else the user's configuration directory +
//! `accord/`): `{version, client_id, refresh_token, obtained_at, logged_in_at,
//! scopes}`. The directory is made owner-only (0700) and the file is written
//! atomically (a temporary file in the same directory, renamed over it), owner-only
//! (0600). Nothing here prints or logs a token, the code or the verifier.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Html;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::user_token::SCOPES;
use crate::backend::oauth::{Secret, TokenEndpoint, TokenError};
use crate::call::{Budget, CallOptions, Caller, Request};
use crate::contract::BackendError;

/// The port `accord login` listens on unless `--port` says otherwise; the app's
/// callback URL must be `http://127.0.0.1:8765/callback` for it.
pub const DEFAULT_PORT: u16 = 8765;

/// The path of the callback on accord's listener.
pub const CALLBACK_PATH: &str = "/callback";

/// The vendor's authorization endpoint, under its base URL.
pub const AUTHORIZE_PATH: &str = "/authentication/v2/authorize";

/// The vendor's revocation endpoint, under its base URL.
pub const REVOKE_PATH: &str = "/authentication/v2/revoke";

/// Another directory for accord's configuration (tests; machines with an unusual home).
pub const CONFIG_DIR_VARIABLE: &str = "ACCORD_CONFIG_DIR";

/// The stored login's file name in accord's configuration directory.
pub const LOGIN_FILE: &str = "login.json";

/// The call family of token requests (not paced: the vendor's token endpoint allows
/// 500 a minute and a login makes one).
pub const TOKEN_FAMILY: &str = crate::backend::acc::client::TOKEN_FAMILY;

/// accord's configuration directory: `ACCORD_CONFIG_DIR`, else the user's
/// configuration directory (`$XDG_CONFIG_HOME` or `~/.config` on Linux,
/// `~/Library/Application Support` on macOS, `%APPDATA%` on Windows) + `accord`.
///
/// # Errors
/// [`BackendError::Unauthorized`] when the system has no configuration directory
/// and `ACCORD_CONFIG_DIR` is not set.
pub fn config_dir() -> Result<PathBuf, BackendError> {
    if let Some(dir) = std::env::var_os(CONFIG_DIR_VARIABLE).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::config_dir()
        .map(|dir| dir.join("accord"))
        .ok_or_else(|| BackendError::Unauthorized {
            detail: format!(
                "this system has no user configuration directory to keep the login in: set {CONFIG_DIR_VARIABLE} to a directory only you can read"
            ),
        })
}

/// Where the stored login is: [`config_dir`] + [`LOGIN_FILE`].
///
/// # Errors
/// As [`config_dir`].
pub fn login_file() -> Result<PathBuf, BackendError> {
    config_dir().map(|dir| dir.join(LOGIN_FILE))
}

/// The login `accord login` keeps: the refresh token, the app it was issued to,
/// when, and for which scopes.
#[derive(Clone)]
pub struct StoredLogin {
    /// The app's client id (a refresh token works only with its own app).
    pub client_id: String,
    /// The refresh token (single-use: each refresh replaces it).
    pub refresh_token: Secret,
    /// When this refresh token was obtained (it lives 15 days from then).
    pub obtained_at: Timestamp,
    /// When the person logged in (refreshes keep this).
    pub logged_in_at: Timestamp,
    /// The scopes granted, space-separated.
    pub scopes: String,
}

impl std::fmt::Debug for StoredLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredLogin")
            .field("client_id", &self.client_id)
            .field("obtained_at", &self.obtained_at)
            .field("logged_in_at", &self.logged_in_at)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// The file's format (version 1).
#[derive(Serialize, Deserialize)]
struct LoginFile {
    version: u32,
    client_id: String,
    refresh_token: String,
    obtained_at: String,
    logged_in_at: String,
    scopes: String,
}

impl StoredLogin {
    /// The login stored at `path`, or `None` when there is none.
    ///
    /// # Errors
    /// [`BackendError::Unauthorized`] when the file exists but cannot be read or is
    /// not a login (it says to log in again).
    pub fn read(path: &Path) -> Result<Option<Self>, BackendError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(BackendError::Unauthorized {
                    detail: format!(
                        "cannot read the stored login {} ({e}): run `accord login` again",
                        path.display()
                    ),
                });
            }
        };
        let unreadable = |why: String| BackendError::Unauthorized {
            detail: format!(
                "the stored login {} is not one accord can read ({why}): run `accord logout` and `accord login` again",
                path.display()
            ),
        };
        // serde_json's messages quote no values of a string field, but to be sure
        // nothing of the file reaches a message, only the position is kept.
        let file: LoginFile = serde_json::from_str(&text)
            .map_err(|e| unreadable(format!("line {} column {}", e.line(), e.column())))?;
        let time = |text: &str| {
            text.parse::<Timestamp>()
                .map_err(|_| unreadable("a time is not RFC 3339".to_owned()))
        };
        Ok(Some(Self {
            obtained_at: time(&file.obtained_at)?,
            logged_in_at: time(&file.logged_in_at)?,
            client_id: file.client_id,
            refresh_token: Secret::new(file.refresh_token),
            scopes: file.scopes,
        }))
    }

    /// Writes this login to `path`, atomically and owner-only ([`write_private`]).
    ///
    /// # Errors
    /// [`BackendError::Unwritable`] when the directory or the file cannot be written.
    pub fn write(&self, path: &Path) -> Result<(), BackendError> {
        let file = LoginFile {
            version: 1,
            client_id: self.client_id.clone(),
            refresh_token: self.refresh_token.expose().to_owned(),
            obtained_at: self.obtained_at.to_string(),
            logged_in_at: self.logged_in_at.to_string(),
            scopes: self.scopes.clone(),
        };
        let mut text = serde_json::to_string_pretty(&file).map_err(|e| BackendError::Internal {
            detail: format!("cannot write the login as JSON: {e}"),
        })?;
        text.push('\n');
        write_private(path, text.as_bytes())
    }

    /// How old the refresh token is, in whole days, at `now`.
    #[must_use]
    pub fn age_days(&self, now: Timestamp) -> i64 {
        (now.as_second() - self.obtained_at.as_second()) / 86_400
    }
}

/// Writes `contents` to `path` so that no reader ever sees a half-written file and
/// only the owner can read it: the parent directory is created owner-only (0700)
/// when missing, the contents go to a temporary file in it created 0600, which is
/// flushed to disk and renamed over `path`.
///
/// # Errors
/// [`BackendError::Unwritable`] naming `path` and what the system said.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), BackendError> {
    use std::io::Write as _;
    let unwritable = |e: &std::io::Error| BackendError::Unwritable {
        path: path.to_owned(),
        detail: format!("{e}; the new refresh token could not be saved"),
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|e| unwritable(&e))?;
    }
    let name = path
        .file_name()
        .map_or_else(|| "token".into(), |n| n.to_string_lossy().into_owned());
    let temporary = dir.join(format!(".{name}.{}.tmp", random_string(6)));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temporary).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&temporary, path)) {
        let _ = std::fs::remove_file(&temporary);
        return Err(unwritable(&e));
    }
    Ok(())
}

/// `bytes` random bytes from the operating system, base64url without padding.
///
/// # Panics
/// When the operating system has no source of randomness (accord cannot make a
/// secret without one).
#[must_use]
pub fn random_string(bytes: usize) -> String {
    let mut buffer = vec![0_u8; bytes];
    getrandom::fill(&mut buffer).expect("the operating system's random number source");
    URL_SAFE_NO_PAD.encode(buffer)
}

/// A PKCE verifier and its S256 challenge.
pub struct Pkce {
    /// The verifier: 43 characters of base64url (32 random bytes), sent with the code.
    pub verifier: Secret,
    /// `BASE64URL(SHA256(verifier))`, sent to the authorization endpoint.
    pub challenge: String,
}

impl Pkce {
    /// A new random verifier and its challenge.
    #[must_use]
    pub fn new() -> Self {
        let verifier = random_string(32);
        Self {
            challenge: challenge(&verifier),
            verifier: Secret::new(verifier),
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

/// The S256 challenge of `verifier`: `BASE64URL(SHA256(verifier))`, no padding.
#[must_use]
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A call policy for token requests alone (retries; no account budget).
#[must_use]
pub fn token_caller() -> Arc<Caller> {
    Arc::new(Caller::new(
        &[Budget::per_minute(
            TOKEN_FAMILY,
            crate::backend::acc::client::TOKEN_PER_MINUTE,
        )],
        CallOptions::default(),
    ))
}

/// What `accord login` needs.
pub struct LoginRequest {
    /// The vendor's base URL.
    pub base_url: String,
    /// `APS_CLIENT_ID`.
    pub client_id: String,
    /// `APS_CLIENT_SECRET`.
    pub client_secret: Secret,
    /// The port to listen on (0: any free port, for tests; the real app's callback
    /// URL names a fixed one).
    pub port: u16,
    /// How long to wait for the browser to come back.
    pub timeout: Duration,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("port", &self.port)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// What the browser brought back.
enum Callback {
    /// An authorization code for this login.
    Code(Secret),
    /// Why there is none (the message for the terminal).
    Failed(String),
}

struct Listening {
    state: String,
    answers: mpsc::Sender<Callback>,
}

/// Runs the login: listens, hands the URL to open to `show` (which prints it and
/// opens the browser), waits for the callback, exchanges the code and returns the
/// login (not yet stored).
///
/// # Errors
/// [`BackendError::Unauthorized`] when the port is taken, no callback comes in time,
/// the callback is refused, declined or not this login's, or the vendor refuses the
/// code; the transport's errors when the token endpoint cannot be reached after
/// retries.
pub async fn login(
    request: &LoginRequest,
    caller: &Caller,
    show: impl FnOnce(&str),
) -> Result<StoredLogin, BackendError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", request.port))
        .await
        .map_err(|e| BackendError::Unauthorized {
            detail: format!(
                "cannot listen on 127.0.0.1:{} for the login's callback ({e}): free the port, or pass --port with another one and register http://127.0.0.1:PORT/callback as the app's callback URL",
                request.port
            ),
        })?;
    let port = listener
        .local_addr()
        .map_err(|e| BackendError::Internal {
            detail: format!("the login's listener has no address: {e}"),
        })?
        .port();
    let redirect_uri = format!("http://127.0.0.1:{port}{CALLBACK_PATH}");
    let state = random_string(24);
    let pkce = Pkce::new();
    let url = authorize_url(request, &redirect_uri, &state, &pkce.challenge)?;

    let (answers, mut received) = mpsc::channel(1);
    let app = axum::Router::new()
        .route(CALLBACK_PATH, axum::routing::get(callback))
        .with_state(Arc::new(Listening { state, answers }));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });

    show(url.as_str());
    let answer = tokio::time::timeout(request.timeout, received.recv()).await;
    let _ = stop.send(());
    // The page was answered before the callback was handed over; give the server a
    // moment to finish writing it, then go on without it.
    let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
    let code = match answer {
        Err(_) => {
            return Err(BackendError::Unauthorized {
                detail: format!(
                    "no answer from the browser within {}: open the URL printed above, sign in as a team admin and allow access, or pass a longer --timeout",
                    humantime::format_duration(request.timeout)
                ),
            });
        }
        Ok(None) => {
            return Err(BackendError::Internal {
                detail: "the login's listener stopped".into(),
            });
        }
        Ok(Some(Callback::Failed(why))) => return Err(BackendError::Unauthorized { detail: why }),
        Ok(Some(Callback::Code(code))) => code,
    };
    exchange(request, caller, &code, &pkce.verifier, &redirect_uri).await
}

/// The URL the person opens: the authorization endpoint with the app, the callback,
/// the scopes, `state` and the PKCE challenge.
fn authorize_url(
    request: &LoginRequest,
    redirect_uri: &str,
    state: &str,
    challenge: &str,
) -> Result<url::Url, BackendError> {
    let base = request.base_url.trim_end_matches('/');
    let mut url = url::Url::parse(&format!("{base}{AUTHORIZE_PATH}")).map_err(|e| {
        BackendError::Rejected {
            detail: format!("the vendor's base URL `{base}` is not a URL ({e})"),
        }
    })?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &request.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", SCOPES)
        .append_pair("state", state)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    // The scopes are space-separated: sent as %20, not the form encoding's `+`
    // (a literal `+` would be %2B, so every `+` here is a space).
    let query = url.query().unwrap_or_default().replace('+', "%20");
    url.set_query(Some(&query));
    Ok(url)
}

/// Exchanges the authorization code for tokens.
async fn exchange(
    request: &LoginRequest,
    caller: &Caller,
    code: &Secret,
    verifier: &Secret,
    redirect_uri: &str,
) -> Result<StoredLogin, BackendError> {
    let endpoint = TokenEndpoint::with_own_client(
        &request.base_url,
        &request.client_id,
        request.client_secret.clone(),
    )?;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.expose()),
        ("code_verifier", verifier.expose()),
        ("redirect_uri", redirect_uri),
    ];
    let secrets = [code, verifier];
    let answer = caller
        .call(&Request::token(TOKEN_FAMILY), |_| {
            endpoint.request(&form, &secrets)
        })
        .await
        .map_err(|error| match error {
            TokenError::Failed(error) => error,
            refused @ TokenError::Refused { .. } => BackendError::Unauthorized {
                detail: format!(
                    "the vendor refused the login's code ({refused}): check that APS_CLIENT_ID and APS_CLIENT_SECRET are the app's, that its callback URL is {redirect_uri}, and run `accord login` again"
                ),
            },
        })?;
    let refresh_token = answer.refresh_token.ok_or_else(|| BackendError::Rejected {
        detail: "the vendor answered the login without a refresh token: check that the app is a Traditional Web App".into(),
    })?;
    let now = Timestamp::now();
    Ok(StoredLogin {
        client_id: request.client_id.clone(),
        refresh_token,
        obtained_at: now,
        logged_in_at: now,
        scopes: answer.scope.unwrap_or_else(|| SCOPES.to_owned()),
    })
}

/// `GET /callback`: hands what came back to the login and answers the browser.
async fn callback(
    State(listening): State<Arc<Listening>>,
    Query(query): Query<HashMap<String, String>>,
) -> (StatusCode, Html<String>) {
    let shown = |key: &str| {
        query
            .get(key)
            .map(|v| {
                v.chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect::<String>()
            })
            .unwrap_or_default()
    };
    let (outcome, status, page) = if let Some(error) = query.get("error") {
        let why = if error == "access_denied" {
            "the sign-in was declined (access_denied): run `accord login` again and allow accord access to the team".to_owned()
        } else {
            format!(
                "the vendor answered the login with `{}`: {}",
                shown("error"),
                shown("error_description")
            )
        };
        let page = format!("Login failed: {why}");
        (Callback::Failed(why), StatusCode::BAD_REQUEST, page)
    } else if query.get("state").map(String::as_str) != Some(listening.state.as_str()) {
        let why = "the callback's `state` is not this login's (an old tab, or a request that did not come from the vendor): nothing was stored; run `accord login` again".to_owned();
        let page = "Login failed: the state does not match this login. Nothing was stored; run accord login again.".to_owned();
        (Callback::Failed(why), StatusCode::BAD_REQUEST, page)
    } else if let Some(code) = query.get("code").filter(|c| !c.is_empty()) {
        (
            Callback::Code(Secret::new(code.clone())),
            StatusCode::OK,
            "accord received the login. You can close this tab and go back to the terminal."
                .to_owned(),
        )
    } else {
        let why = "the callback carried no code: run `accord login` again".to_owned();
        let page = format!("Login failed: {why}");
        (Callback::Failed(why), StatusCode::BAD_REQUEST, page)
    };
    // The first answer counts; later ones (a reload) find the login gone.
    let _ = listening.answers.try_send(outcome);
    (status, Html(page_html(&page)))
}

/// The page shown to the browser.
fn page_html(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>accord login</title></head><body><p>{escaped}</p></body></html>"
    )
}

/// What `accord logout` did.
#[derive(Debug, PartialEq, Eq)]
pub enum LoggedOut {
    /// There was no stored login.
    NotLoggedIn,
    /// The stored login was deleted; `revoke` says whether the vendor revoked it.
    Removed {
        /// `Ok` when revoked, else why not (a warning).
        revoked: Result<(), String>,
    },
}

/// Deletes the stored login at `path`, first revoking its refresh token at the
/// vendor with `endpoint` (the app's credentials) when given and the login is that
/// app's.
///
/// # Errors
/// [`BackendError::Unwritable`] when the file cannot be deleted.
pub async fn logout(
    path: &Path,
    endpoint: Option<&TokenEndpoint>,
    caller: &Caller,
) -> Result<LoggedOut, BackendError> {
    let stored = match StoredLogin::read(path) {
        Ok(None) => return Ok(LoggedOut::NotLoggedIn),
        Ok(Some(stored)) => Some(stored),
        // A damaged login is deleted all the same: there is nothing to revoke.
        Err(_) => None,
    };
    let revoked = match (stored, endpoint) {
        (None, _) => Err("the stored login could not be read, so nothing was revoked".to_owned()),
        (Some(_), None) => Err(
            "APS_CLIENT_ID and APS_CLIENT_SECRET are not set, so the refresh token was not revoked at the vendor (it lapses 15 days after it was issued)".to_owned(),
        ),
        (Some(stored), Some(endpoint)) if stored.client_id != endpoint.client_id() => Err(format!(
            "the login was made with app `{}`, not APS_CLIENT_ID `{}`, so it was not revoked at the vendor (an app revokes only its own tokens)",
            stored.client_id,
            endpoint.client_id()
        )),
        (Some(stored), Some(endpoint)) => {
            let token = &stored.refresh_token;
            let form = [
                ("token", token.expose()),
                ("token_type_hint", "refresh_token"),
                ("client_id", endpoint.client_id()),
            ];
            let secrets = [token];
            caller
                .call(&Request::token(TOKEN_FAMILY), |_| {
                    endpoint.post(REVOKE_PATH, &form, &secrets)
                })
                .await
                .map(|_| ())
                .map_err(|e| format!("the vendor did not revoke the refresh token ({e})"))
        }
    };
    match std::fs::remove_file(path) {
        Ok(()) => Ok(LoggedOut::Removed { revoked }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(LoggedOut::NotLoggedIn),
        Err(e) => Err(BackendError::Unwritable {
            path: path.to_owned(),
            detail: format!("cannot delete the stored login: {e}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_the_base64url_of_the_verifiers_sha256() {
        // RFC 7636, appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let pkce = Pkce::new();
        let verifier = pkce.verifier.expose();
        assert!((43..=128).contains(&verifier.len()), "{}", verifier.len());
        assert!(
            verifier
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(pkce.challenge, challenge(verifier));
        assert_ne!(Pkce::new().verifier, pkce.verifier, "random");
    }

    #[test]
    fn the_stored_login_is_owner_only_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/accord/login.json");
        let login = StoredLogin {
            client_id: "app".into(),
            refresh_token: Secret::new("rt-secret-1"),
            obtained_at: "2026-12-01T10:00:00Z".parse().unwrap(),
            logged_in_at: "2026-12-01T10:00:00Z".parse().unwrap(),
            scopes: SCOPES.into(),
        };
        login.write(&path).unwrap();
        let back = StoredLogin::read(&path).unwrap().unwrap();
        assert_eq!(back.refresh_token.expose(), "rt-secret-1");
        assert_eq!(back.client_id, "app");
        assert_eq!(back.age_days("2026-12-17T11:00:00Z".parse().unwrap()), 16);
        assert!(!format!("{back:?}").contains("rt-secret"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
        }
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("login.json")]);
        assert!(
            StoredLogin::read(&dir.path().join("none.json"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_damaged_login_says_to_log_in_again_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("login.json");
        std::fs::write(&path, "{\"refresh_token\": \"rt-leak\", ").unwrap();
        let e = StoredLogin::read(&path).unwrap_err().to_string();
        assert!(e.contains("accord login") && !e.contains("rt-leak"), "{e}");
    }

    #[test]
    fn the_authorize_url_asks_for_the_six_scopes_with_state_and_s256() {
        let request = LoginRequest {
            base_url: "http://127.0.0.1:9/".into(),
            client_id: "app".into(),
            client_secret: Secret::new("shh-secret"),
            port: 8765,
            timeout: Duration::from_secs(1),
        };
        let url = authorize_url(&request, "http://127.0.0.1:8765/callback", "st", "ch").unwrap();
        assert_eq!(url.path(), AUTHORIZE_PATH);
        let pairs: HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs["scope"], SCOPES);
        assert_eq!(pairs["redirect_uri"], "http://127.0.0.1:8765/callback");
        assert_eq!(pairs["code_challenge_method"], "S256");
        assert_eq!(
            (pairs["state"].as_str(), pairs["code_challenge"].as_str()),
            ("st", "ch")
        );
        assert!(!url.as_str().contains("shh-secret"));
        assert!(!format!("{request:?}").contains("shh-secret"));
    }

    #[test]
    fn the_page_escapes_what_the_callback_said() {
        assert!(!page_html("<script>").contains("<script>"));
    }
}
