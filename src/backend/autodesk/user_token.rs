//! Three-legged tokens for the Team Admin API, which takes no other kind.
//!
//! An access token comes from a refresh token (`grant_type=refresh_token`, the app's
//! credentials in HTTP Basic, the six `tmadmapi:*` scopes) and is cached until
//! shortly before it expires ([`crate::backend::oauth::refresh_margin`], as the
//! two-legged token of the `acc` backend), so a long apply refreshes mid-run.
//! Concurrent callers wait on one lock and share one refresh: a refresh token is
//! never sent twice.
//!
//! **Where the refresh token comes from**: `APS_REFRESH_TOKEN` (CI), else the login
//! `accord login` stored ([`super::login`]), else an error that says to log in.
//!
//! **Rotation**: every refresh answers a new refresh token and the old one stops
//! working (assumed single-use; the vendor does not say). Before the access token is
//! returned the new refresh token is written back where it came from (the stored
//! login, rewritten atomically and owner-only) and, when `ACCORD_REFRESH_TOKEN_FILE`
//! is set, to that file (owner-only) for a pipeline to store back into its secret.
//! A token from `APS_REFRESH_TOKEN` with no such file is lost on rotation: accord
//! warns (in the log and once on standard error) that the next run will fail.
//!
//! **Refusals**: a refresh token the vendor refuses gets an error that says the
//! likely case (another app's login, older than 15 days, used already) and what to
//! do, for a person and for CI.
//!
//! No token, secret or code appears in `Debug` output, messages or logs.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use tokio::sync::Mutex;

use super::login::{self, StoredLogin};
use crate::backend::oauth::{CachedToken, Secret, TokenAnswer, TokenEndpoint, TokenError};
use crate::call::{Caller, Request};
use crate::contract::BackendError;

/// The scopes the Team Admin API's reads and writes need, all six.
pub const SCOPES: &str = "tmadmapi:team:read tmadmapi:team:write tmadmapi:team-users:read tmadmapi:team-users:write tmadmapi:team-products:read tmadmapi:team-products:write";

/// The app's client id.
pub const CLIENT_ID_VARIABLE: &str = crate::backend::acc::CLIENT_ID_VARIABLE;

/// The app's client secret.
pub const CLIENT_SECRET_VARIABLE: &str = crate::backend::acc::CLIENT_SECRET_VARIABLE;

/// A refresh token given by the environment (CI); wins over the stored login.
pub const REFRESH_TOKEN_VARIABLE: &str = "APS_REFRESH_TOKEN";

/// A file the new refresh token is also written to on every refresh (owner-only),
/// for a pipeline to store back into its secret.
pub const REFRESH_TOKEN_FILE_VARIABLE: &str = "ACCORD_REFRESH_TOKEN_FILE";

/// How long the vendor's refresh tokens live.
pub const REFRESH_TOKEN_DAYS: i64 = 15;

/// Where the refresh token came from, and so where its successor goes.
#[derive(Debug, Clone)]
pub enum Origin {
    /// `APS_REFRESH_TOKEN`: the new one goes to `ACCORD_REFRESH_TOKEN_FILE` alone.
    Environment,
    /// The login `accord login` stored at `path`, rewritten on every refresh.
    Login {
        /// The stored login's file.
        path: PathBuf,
        /// The stored login as read (the refresh token in it is the first one used).
        stored: StoredLogin,
    },
}

/// Everything [`UserTokens`] needs, as read from the environment by
/// [`Settings::from_env`] (or built by a test).
#[derive(Clone)]
pub struct Settings {
    /// The vendor's base URL (the token endpoint is `{base_url}/authentication/v2/token`).
    pub base_url: String,
    /// `APS_CLIENT_ID`.
    pub client_id: String,
    /// `APS_CLIENT_SECRET`.
    pub client_secret: Secret,
    /// The refresh token to start from.
    pub refresh_token: Secret,
    /// Where it came from.
    pub origin: Origin,
    /// `ACCORD_REFRESH_TOKEN_FILE`.
    pub export_file: Option<PathBuf>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("origin", &self.origin)
            .field("export_file", &self.export_file)
            .finish_non_exhaustive()
    }
}

fn variable(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

impl Settings {
    /// Reads `APS_CLIENT_ID`, `APS_CLIENT_SECRET`, the refresh token and
    /// `ACCORD_REFRESH_TOKEN_FILE`. The refresh token is the one in
    /// `ACCORD_REFRESH_TOKEN_FILE` when that file holds one (an earlier command of
    /// the same CI job rotated it there, spending the one in the environment), else
    /// `APS_REFRESH_TOKEN`, else the stored login.
    ///
    /// # Errors
    /// [`BackendError::Unauthorized`] saying what to set when a credential is
    /// missing, or to run `accord login` when there is no refresh token.
    pub fn from_env(base_url: &str) -> Result<Self, BackendError> {
        let missing = |name: &str| BackendError::Unauthorized {
            detail: format!(
                "{name} is not set: set {CLIENT_ID_VARIABLE} and {CLIENT_SECRET_VARIABLE} to the client id and secret of the vendor app that `accord login` used (a Traditional Web App with the Team Admin API enabled)"
            ),
        };
        let client_id = variable(CLIENT_ID_VARIABLE).ok_or_else(|| missing(CLIENT_ID_VARIABLE))?;
        let client_secret = Secret::new(
            variable(CLIENT_SECRET_VARIABLE).ok_or_else(|| missing(CLIENT_SECRET_VARIABLE))?,
        );
        let export_file = std::env::var_os(REFRESH_TOKEN_FILE_VARIABLE)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        // A token an earlier command of the same job rotated into the file is newer
        // than the one in the environment (which that command spent): use it.
        let rotated = export_file
            .as_deref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .map(|text| text.trim().to_owned())
            .filter(|token| !token.is_empty());
        let (refresh_token, origin) = if let Some(token) =
            rotated.or_else(|| variable(REFRESH_TOKEN_VARIABLE))
        {
            (Secret::new(token), Origin::Environment)
        } else {
            let path = login::login_file()?;
            let stored = StoredLogin::read(&path)?.ok_or_else(|| BackendError::Unauthorized {
                detail: format!(
                    "not logged in to the vendor's teams (no login at {}): run `accord login`; in CI, set {REFRESH_TOKEN_VARIABLE} (and {REFRESH_TOKEN_FILE_VARIABLE} to store the new one back)",
                    path.display()
                ),
            })?;
            (stored.refresh_token.clone(), Origin::Login { path, stored })
        };
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            client_id,
            client_secret,
            refresh_token,
            origin,
            export_file,
        })
    }
}

/// One refresh at the token endpoint (a seam, so the cache and the rotation are
/// tested with paused time and no network).
#[async_trait]
trait Refresh: Send + Sync {
    async fn refresh(&self, refresh_token: &Secret) -> Result<TokenAnswer, TokenError>;
}

#[async_trait]
impl Refresh for TokenEndpoint {
    async fn refresh(&self, refresh_token: &Secret) -> Result<TokenAnswer, TokenError> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
            ("scope", SCOPES),
        ];
        self.request(&form, &[refresh_token]).await
    }
}

/// The refresh token in hand and the access token it last gave.
struct Current {
    refresh_token: Secret,
    /// When the refresh token in hand was obtained, when known.
    obtained_at: Option<Timestamp>,
    access: Option<CachedToken>,
}

/// Where the refresh token comes from and goes to.
pub struct UserTokens {
    refresher: Box<dyn Refresh>,
    caller: Arc<Caller>,
    client_id: String,
    origin: Origin,
    export_file: Option<PathBuf>,
    current: Mutex<Current>,
    warned: AtomicBool,
}

impl std::fmt::Debug for UserTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserTokens")
            .field("client_id", &self.client_id)
            .field("origin", &self.origin)
            .field("export_file", &self.export_file)
            .finish_non_exhaustive()
    }
}

impl UserTokens {
    /// From the environment ([`Settings::from_env`]): the app's credentials, the
    /// refresh token from `APS_REFRESH_TOKEN`, else from the stored login (`accord
    /// login`). `base_url` is the vendor's base (`https://developer.api.autodesk.com`,
    /// or `ACCORD_ACC_BASE_URL` in tests).
    ///
    /// # Errors
    /// [`BackendError::Unauthorized`] saying what to set or to run `accord login`.
    pub fn from_env(base_url: &str, caller: Arc<Caller>) -> Result<Self, BackendError> {
        Self::new(Settings::from_env(base_url)?, caller)
    }

    /// From `settings`.
    ///
    /// # Errors
    /// [`BackendError::Internal`] when the TLS stack cannot be set up.
    pub fn new(settings: Settings, caller: Arc<Caller>) -> Result<Self, BackendError> {
        let endpoint = TokenEndpoint::with_own_client(
            &settings.base_url,
            &settings.client_id,
            settings.client_secret.clone(),
        )?;
        Ok(Self::with_refresher(settings, Box::new(endpoint), caller))
    }

    fn with_refresher(
        settings: Settings,
        refresher: Box<dyn Refresh>,
        caller: Arc<Caller>,
    ) -> Self {
        let obtained_at = match &settings.origin {
            Origin::Login { stored, .. } => Some(stored.obtained_at),
            Origin::Environment => None,
        };
        Self {
            refresher,
            caller,
            client_id: settings.client_id,
            origin: settings.origin,
            export_file: settings.export_file,
            current: Mutex::new(Current {
                refresh_token: settings.refresh_token,
                obtained_at,
                access: None,
            }),
            warned: AtomicBool::new(false),
        }
    }

    /// Where the refresh token came from.
    #[must_use]
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// A valid access token: the cached one until shortly before it expires, else a
    /// new one from a refresh (through the call policy: 5xx, 429 and dropped
    /// connections are retried, `Retry-After` honoured). Concurrent callers share one
    /// refresh. The refresh token the vendor answers with is written back before the
    /// access token is returned.
    ///
    /// # Errors
    /// [`BackendError::Unauthorized`] when the vendor refuses the refresh token or
    /// the app (saying why and what to do); [`BackendError::Unwritable`] when the new
    /// refresh token cannot be saved; the transport's errors after the retries.
    pub async fn access_token(&self) -> Result<String, BackendError> {
        let mut current = self.current.lock().await;
        if let Some(token) = current.access.as_ref().and_then(CachedToken::fresh) {
            return Ok(token.to_owned());
        }
        let used = current.refresh_token.clone();
        let answer = self
            .caller
            .call(&Request::token(login::TOKEN_FAMILY), |_| {
                self.refresher.refresh(&used)
            })
            .await
            .map_err(|error| match error {
                TokenError::Failed(error) => error,
                refused @ TokenError::Refused { .. } => self.refused(&refused, current.obtained_at),
            })?;
        let lifetime = Duration::from_secs(answer.expires_in);
        if let Some(next) = answer.refresh_token {
            let now = Timestamp::now();
            // The old one is spent whether or not the new one can be saved: keep the
            // new one in hand, so this process goes on refreshing with it.
            current.refresh_token = next.clone();
            current.obtained_at = Some(now);
            current.access = None;
            self.keep(&next, now)?;
        } else {
            tracing::debug!("the vendor answered a refresh without a new refresh token");
        }
        let value = answer.access_token.expose().to_owned();
        current.access = Some(CachedToken::new(answer.access_token, lifetime));
        tracing::debug!(
            expires_in = answer.expires_in,
            "refreshed the vendor's three-legged token"
        );
        Ok(value)
    }

    /// Forgets `used` (a call answered 401 with it), unless another call already
    /// replaced it: calls refused together ask for one new token, not one each.
    pub async fn forget(&self, used: &str) {
        let mut current = self.current.lock().await;
        if current.access.as_ref().is_some_and(|token| token.is(used)) {
            current.access = None;
        }
    }

    /// Writes the new refresh token where the old one came from and to
    /// `ACCORD_REFRESH_TOKEN_FILE`.
    fn keep(&self, next: &Secret, now: Timestamp) -> Result<(), BackendError> {
        if let Origin::Login { path, stored } = &self.origin {
            StoredLogin {
                refresh_token: next.clone(),
                obtained_at: now,
                ..stored.clone()
            }
            .write(path)?;
        }
        if let Some(file) = &self.export_file {
            let mut text = next.expose().to_owned();
            text.push('\n');
            login::write_private(file, text.as_bytes())?;
        } else if matches!(self.origin, Origin::Environment) {
            let warning = format!(
                "the vendor replaced the refresh token from {REFRESH_TOKEN_VARIABLE} and the old one no longer works, but the new one is saved nowhere: the next run with this {REFRESH_TOKEN_VARIABLE} will fail. Set {REFRESH_TOKEN_FILE_VARIABLE} to a file and have the pipeline store it back into the {REFRESH_TOKEN_VARIABLE} secret after every run"
            );
            tracing::warn!("{warning}");
            if !self.warned.swap(true, Ordering::Relaxed) {
                eprintln!("warning: {warning}");
            }
        }
        Ok(())
    }

    /// The error a refused refresh stands for: the likely case and what to do.
    fn refused(&self, error: &TokenError, obtained_at: Option<Timestamp>) -> BackendError {
        let code = match error {
            TokenError::Refused { code, .. } => code.as_str(),
            TokenError::Failed(_) => "",
        };
        let ci = matches!(self.origin, Origin::Environment);
        let again = if ci {
            format!(
                "log in again (`accord login` on a workstation), put the new refresh token in the {REFRESH_TOKEN_VARIABLE} secret, and have the pipeline store {REFRESH_TOKEN_FILE_VARIABLE} back into it after every run"
            )
        } else {
            "run `accord login` again".to_owned()
        };
        if code == "invalid_client" {
            return BackendError::Unauthorized {
                detail: format!(
                    "the vendor refused the app's credentials when refreshing the login ({error}): check {CLIENT_ID_VARIABLE} and {CLIENT_SECRET_VARIABLE} (the app that logged in)"
                ),
            };
        }
        let from = match &self.origin {
            Origin::Environment => format!("from {REFRESH_TOKEN_VARIABLE}"),
            Origin::Login { path, .. } => format!("of the login at {}", path.display()),
        };
        let head = format!("the vendor refused the refresh token {from} ({error})");
        if let Origin::Login { stored, .. } = &self.origin {
            if stored.client_id != self.client_id {
                return BackendError::Unauthorized {
                    detail: format!(
                        "{head}: the login was made with app `{}` but {CLIENT_ID_VARIABLE} is `{}`, and a refresh token works only with its own app: set {CLIENT_ID_VARIABLE} (and {CLIENT_SECRET_VARIABLE}) to that app's, or {again}",
                        stored.client_id, self.client_id
                    ),
                };
            }
        }
        let age = obtained_at.map(|at| (Timestamp::now().as_second() - at.as_second()) / 86_400);
        let detail = match age {
            Some(days) if days >= REFRESH_TOKEN_DAYS => format!(
                "{head}: it was obtained {days} days ago and refresh tokens live {REFRESH_TOKEN_DAYS} days: {again}"
            ),
            Some(days) => format!(
                "{head}: most likely it was used already (obtained {days} days ago, so it has not lapsed): each refresh token works once, and another run or job refreshed with it first; never run two jobs on one refresh token. Then {again}"
            ),
            None if ci => format!(
                "{head}: most likely it was used already: each refresh token works once, and another job refreshed with it first, or an earlier run's new token was not stored back (never run two jobs on one refresh token; a later accord command in the same job must read the token the earlier one wrote to {REFRESH_TOKEN_FILE_VARIABLE}); or it is older than {REFRESH_TOKEN_DAYS} days; or it belongs to another app than {CLIENT_ID_VARIABLE}. Then {again}"
            ),
            None => format!(
                "{head}: it was used already, is older than {REFRESH_TOKEN_DAYS} days, or belongs to another app: {again}"
            ),
        };
        BackendError::Unauthorized { detail }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use super::*;
    use crate::call::{Budget, CallOptions};

    /// A vendor's token endpoint in memory: single-use refresh tokens `rt-N`
    /// rotated on each refresh, access tokens `at-N` living `lifetime` seconds, the
    /// first `failures` refreshes answered 503.
    struct Vendor {
        refreshes: AtomicU32,
        valid: std::sync::Mutex<String>,
        lifetime: u64,
        failures: AtomicU32,
        delay: Duration,
    }

    impl Vendor {
        fn new(lifetime: u64) -> Arc<Self> {
            Arc::new(Self {
                refreshes: AtomicU32::new(0),
                valid: std::sync::Mutex::new("rt-0".into()),
                lifetime,
                failures: AtomicU32::new(0),
                delay: Duration::from_millis(100),
            })
        }
    }

    #[async_trait]
    impl Refresh for Arc<Vendor> {
        async fn refresh(&self, refresh_token: &Secret) -> Result<TokenAnswer, TokenError> {
            tokio::time::sleep(self.delay).await;
            if self
                .failures
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(TokenError::Failed(BackendError::Server {
                    status: 503,
                    detail: String::new(),
                }));
            }
            let mut valid = self.valid.lock().unwrap();
            if refresh_token.expose() != *valid {
                return Err(TokenError::Refused {
                    status: 400,
                    code: "invalid_grant".into(),
                    description: "The refresh token is invalid or expired.".into(),
                });
            }
            let n = self.refreshes.fetch_add(1, Ordering::Relaxed) + 1;
            *valid = format!("rt-{n}");
            Ok(TokenAnswer {
                access_token: Secret::new(format!("at-{n}")),
                expires_in: self.lifetime,
                refresh_token: Some(Secret::new(format!("rt-{n}"))),
                scope: Some(SCOPES.into()),
            })
        }
    }

    fn caller() -> Arc<Caller> {
        Arc::new(Caller::new(
            &[Budget::per_minute(login::TOKEN_FAMILY, 500.0)],
            CallOptions {
                seed: Some(7),
                ..CallOptions::default()
            },
        ))
    }

    fn settings(origin: Origin, export_file: Option<PathBuf>) -> Settings {
        Settings {
            base_url: "http://127.0.0.1:9".into(),
            client_id: "app".into(),
            client_secret: Secret::new("client-secret-xyz"),
            refresh_token: Secret::new("rt-0"),
            origin,
            export_file,
        }
    }

    fn stored(obtained_at: Timestamp, client_id: &str) -> StoredLogin {
        StoredLogin {
            client_id: client_id.into(),
            refresh_token: Secret::new("rt-0"),
            obtained_at,
            logged_in_at: obtained_at,
            scopes: SCOPES.into(),
        }
    }

    fn tokens(vendor: &Arc<Vendor>, settings: Settings) -> UserTokens {
        UserTokens::with_refresher(settings, Box::new(Arc::clone(vendor)), caller())
    }

    #[cfg(unix)]
    fn mode(path: &std::path::Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[tokio::test(start_paused = true)]
    async fn the_access_token_is_cached_until_shortly_before_it_expires() {
        let vendor = Vendor::new(3600);
        let dir = tempfile::tempdir().unwrap();
        let tokens = tokens(
            &vendor,
            settings(Origin::Environment, Some(dir.path().join("rt"))),
        );
        assert_eq!(tokens.access_token().await.unwrap(), "at-1");
        tokio::time::advance(Duration::from_secs(3600 - 70)).await;
        assert_eq!(tokens.access_token().await.unwrap(), "at-1", "still cached");
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(
            tokens.access_token().await.unwrap(),
            "at-2",
            "refreshed 60 s before expiry, not after"
        );
        assert_eq!(vendor.refreshes.load(Ordering::Relaxed), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_refresh() {
        let vendor = Vendor::new(3600);
        let dir = tempfile::tempdir().unwrap();
        let tokens = tokens(
            &vendor,
            settings(Origin::Environment, Some(dir.path().join("rt"))),
        );
        let all = futures_util::future::join_all((0..16).map(|_| tokens.access_token())).await;
        assert!(
            all.iter().all(|t| matches!(t.as_deref(), Ok("at-1"))),
            "{all:?}"
        );
        assert_eq!(vendor.refreshes.load(Ordering::Relaxed), 1);
        // A 401 on the token forgets it once; the second forget of the same token
        // does not throw away its replacement.
        tokens.forget("at-1").await;
        assert_eq!(tokens.access_token().await.unwrap(), "at-2");
        tokens.forget("at-1").await;
        assert_eq!(tokens.access_token().await.unwrap(), "at-2");
        assert_eq!(vendor.refreshes.load(Ordering::Relaxed), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refresh_that_fails_on_the_way_is_retried() {
        let vendor = Vendor::new(3600);
        vendor.failures.store(2, Ordering::Relaxed);
        let dir = tempfile::tempdir().unwrap();
        let tokens = tokens(
            &vendor,
            settings(Origin::Environment, Some(dir.path().join("rt"))),
        );
        assert_eq!(tokens.access_token().await.unwrap(), "at-1");
    }

    #[tokio::test(start_paused = true)]
    async fn rotation_writes_the_new_refresh_token_owner_only_before_returning() {
        let vendor = Vendor::new(60);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config/login.json");
        let export = dir.path().join("ci/refresh-token");
        let at = Timestamp::now();
        stored(at, "app").write(&path).unwrap();
        let origin = Origin::Login {
            path: path.clone(),
            stored: stored(at, "app"),
        };
        let tokens = tokens(&vendor, settings(origin, Some(export.clone())));
        assert_eq!(tokens.access_token().await.unwrap(), "at-1");
        let read = || StoredLogin::read(&path).unwrap().unwrap();
        assert_eq!(read().refresh_token.expose(), "rt-1");
        assert_eq!(std::fs::read_to_string(&export).unwrap(), "rt-1\n");
        #[cfg(unix)]
        {
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(&export), 0o600);
        }
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(tokens.access_token().await.unwrap(), "at-2");
        assert_eq!(read().refresh_token.expose(), "rt-2");
        assert_eq!(read().client_id, "app");
        assert_eq!(std::fs::read_to_string(&export).unwrap(), "rt-2\n");
    }

    #[tokio::test(start_paused = true)]
    async fn a_refresh_token_that_cannot_be_saved_is_an_error_and_kept_in_hand() {
        let vendor = Vendor::new(60);
        let dir = tempfile::tempdir().unwrap();
        // A path through a file cannot be written.
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "x").unwrap();
        let tokens = tokens(
            &vendor,
            settings(Origin::Environment, Some(blocker.join("rt"))),
        );
        let e = tokens.access_token().await.unwrap_err();
        assert!(matches!(e, BackendError::Unwritable { .. }), "{e}");
        assert!(!e.to_string().contains("rt-1"), "{e}");
        // The spent token is not sent again: the next refresh uses the new one.
        let e = tokens.access_token().await.unwrap_err();
        assert!(matches!(e, BackendError::Unwritable { .. }), "{e}");
        assert_eq!(vendor.refreshes.load(Ordering::Relaxed), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_rotated_token_from_the_environment_with_nowhere_to_go_is_warned_about() {
        let vendor = Vendor::new(60);
        let tokens = tokens(&vendor, settings(Origin::Environment, None));
        tokens.access_token().await.unwrap();
        assert!(tokens.warned.load(Ordering::Relaxed));
        let dir = tempfile::tempdir().unwrap();
        let kept = UserTokens::with_refresher(
            Settings {
                refresh_token: Secret::new("rt-1"),
                ..settings(Origin::Environment, Some(dir.path().join("rt")))
            },
            Box::new(Arc::clone(&vendor)),
            caller(),
        );
        kept.access_token().await.unwrap();
        assert!(!kept.warned.load(Ordering::Relaxed), "saved: no warning");
    }

    #[tokio::test(start_paused = true)]
    async fn a_used_refresh_token_says_so_and_what_to_do_in_ci() {
        let vendor = Vendor::new(60);
        *vendor.valid.lock().unwrap() = "rt-other".into();
        let tokens = tokens(&vendor, settings(Origin::Environment, None));
        let e = tokens.access_token().await.unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, BackendError::Unauthorized { .. }));
        for needle in [
            "used already",
            "never run two jobs on one refresh token",
            "APS_REFRESH_TOKEN secret",
            "ACCORD_REFRESH_TOKEN_FILE",
            "invalid_grant",
        ] {
            assert!(text.contains(needle), "`{needle}` in {text}");
        }
        assert!(
            !text.contains("rt-0") && !text.contains("client-secret"),
            "{text}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_old_login_says_its_age() {
        let vendor = Vendor::new(60);
        *vendor.valid.lock().unwrap() = "rt-other".into();
        let dir = tempfile::tempdir().unwrap();
        let at = Timestamp::now() - jiff::SignedDuration::from_hours(17 * 24);
        let origin = Origin::Login {
            path: dir.path().join("login.json"),
            stored: stored(at, "app"),
        };
        let text = tokens(&vendor, settings(origin, None))
            .access_token()
            .await
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("17 days ago") && text.contains("live 15 days"),
            "{text}"
        );
        assert!(text.contains("run `accord login` again"), "{text}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_login_of_another_app_says_so() {
        let vendor = Vendor::new(60);
        *vendor.valid.lock().unwrap() = "rt-other".into();
        let dir = tempfile::tempdir().unwrap();
        let origin = Origin::Login {
            path: dir.path().join("login.json"),
            stored: stored(Timestamp::now(), "other-app"),
        };
        let text = tokens(&vendor, settings(origin, None))
            .access_token()
            .await
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("`other-app`") && text.contains("APS_CLIENT_ID is `app`"),
            "{text}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_secret_in_debug() {
        let vendor = Vendor::new(60);
        let dir = tempfile::tempdir().unwrap();
        let origin = Origin::Login {
            path: dir.path().join("login.json"),
            stored: stored(Timestamp::now(), "app"),
        };
        let settings = settings(origin, None);
        let shown = format!("{settings:?}");
        let tokens = tokens(&vendor, settings);
        tokens.access_token().await.unwrap();
        let shown = format!("{shown} {tokens:?}");
        for secret in ["rt-0", "rt-1", "at-1", "client-secret-xyz"] {
            assert!(!shown.contains(secret), "`{secret}` in {shown}");
        }
        assert!(shown.contains("app"), "{shown}");
    }
}
