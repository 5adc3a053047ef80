//! The backends: where accord's plans meet a live account.
//!
//! A backend is whatever holds the account: the embedded `SQLite` store ([`sqlite`],
//! `sqlite:PATH`), the account service over HTTP ([`http`], `http://HOST:PORT`, served
//! by `accord serve`) or the vendor's own APIs ([`autodesk`]:
//! `autodesk://ACCOUNT_ID?region=REGION` for its ACC account ([`acc`]) and its
//! named-user teams, `autodesk://?region=REGION` for teams alone; `acc://` is the
//! same backend by its older name).
//! Each implements the contract of [`crate::contract::Backend`] (fetch, execute a
//! batch, capabilities, optionally a lock) and nothing more: pacing, retries and
//! counting come from the call policy ([`crate::call::Caller`]) every request goes
//! through; batching, restriction to what it manages and manual steps come from
//! `plan`; scheduling, journaling and verification from `apply`.
//!
//! This module opens the backend a URL names ([`open`]).

pub mod acc;
pub mod autodesk;
pub mod http;
pub mod oauth;
pub mod sqlite;
pub mod transport;

use std::path::PathBuf;
use std::sync::Arc;

use url::Url;

use crate::call::CallOptions;
pub use crate::contract::{
    Backend, BackendError, Capabilities, LastChange, Lease, Lock, LockError, LockScope, Outcome,
    Snapshot,
};
pub use crate::state::{INVITATION_TTL_SECS, invitation_expired};
pub use crate::time::{Clock, ManualClock, SystemClock};

pub use sqlite::SqliteBackend;

/// The backend used when none is given (`--backend` / `ACCORD_BACKEND`).
pub const DEFAULT_BACKEND_URL: &str = "sqlite:.accord/state.db";

/// How a backend is opened: the clock it reads and how its calls are made.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// The clock (the system's, or a test's).
    pub clock: Arc<dyn Clock>,
    /// Retries, `--max-rate`, the jitter's seed.
    pub calls: CallOptions,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            calls: CallOptions::default(),
        }
    }
}

/// Opens the backend `url` names, with the system clock and the default call policy.
///
/// # Errors
/// As [`open_with`].
pub async fn open(url: &str) -> Result<Box<dyn Backend>, BackendError> {
    open_with(url, &OpenOptions::default()).await
}

/// Opens the backend `url` names, reading time from `clock` (tests).
///
/// # Errors
/// As [`open_with`].
pub async fn open_with_clock(
    url: &str,
    clock: Arc<dyn Clock>,
) -> Result<Box<dyn Backend>, BackendError> {
    let options = OpenOptions {
        clock,
        ..OpenOptions::default()
    };
    open_with(url, &options).await
}

/// Opens the backend `url` names, with `options`.
///
/// # Errors
/// [`BackendError::UnknownScheme`] for an unknown scheme, the store's errors for
/// `sqlite:`, for `http(s)://` the service's ([`http::HttpBackend::open`]: the token
/// comes from `ACCORD_TOKEN`), and for `autodesk://` and `acc://` missing credentials
/// or region ([`autodesk::VendorBackend::open`]).
pub async fn open_with(url: &str, options: &OpenOptions) -> Result<Box<dyn Backend>, BackendError> {
    match parse_url(url)? {
        BackendUrl::Sqlite(path) => Ok(Box::new(
            SqliteBackend::open_with(path, Arc::clone(&options.clock), options.calls).await?,
        )),
        BackendUrl::Http(url) => Ok(Box::new(
            http::HttpBackend::open(&url, options.calls).await?,
        )),
        BackendUrl::Vendor(url) => Ok(Box::new(autodesk::VendorBackend::open(
            &url,
            options.calls,
        )?)),
    }
}

/// A backend URL, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendUrl {
    /// `sqlite:PATH` (also `sqlite://PATH`): a file path, not a URL, taken as written.
    Sqlite(PathBuf),
    /// `http://...` or `https://...`.
    Http(Url),
    /// The vendor: `autodesk://[ACCOUNT_ID]?region=REGION`, or `acc://ACCOUNT_ID?region=REGION`.
    Vendor(Url),
}

/// Parses a `--backend` URL.
///
/// # Errors
/// [`BackendError::UnknownScheme`] when the scheme is none of `sqlite`, `http`, `https`,
/// `acc`, when `sqlite:` has no path, or when the rest is not a URL.
pub fn parse_url(url: &str) -> Result<BackendUrl, BackendError> {
    let unknown = || BackendError::UnknownScheme {
        url: http::shown_url(url),
    };
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.is_empty() {
            return Err(unknown());
        }
        return Ok(BackendUrl::Sqlite(PathBuf::from(path)));
    }
    let parsed = Url::parse(url).map_err(|_| unknown())?;
    match parsed.scheme() {
        "http" | "https" if parsed.host_str().is_some_and(|h| !h.is_empty()) => {
            Ok(BackendUrl::Http(parsed))
        }
        "acc" | "autodesk" => Ok(BackendUrl::Vendor(parsed)),
        _ => Err(unknown()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_default_url_as_a_relative_sqlite_path() {
        assert_eq!(
            parse_url(DEFAULT_BACKEND_URL).unwrap(),
            BackendUrl::Sqlite(PathBuf::from(".accord/state.db"))
        );
        assert_eq!(
            parse_url("sqlite:///tmp/x.db").unwrap(),
            BackendUrl::Sqlite(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(
            parse_url("sqlite:my store/x.db").unwrap(),
            BackendUrl::Sqlite(PathBuf::from("my store/x.db"))
        );
    }

    #[test]
    fn refuses_unknown_schemes_and_empty_paths() {
        for url in ["postgres://x", "state.db", "sqlite:", "", "http://"] {
            assert!(
                matches!(parse_url(url), Err(BackendError::UnknownScheme { .. })),
                "{url}"
            );
        }
    }

    #[test]
    fn credentials_in_a_url_are_never_echoed() {
        let e = parse_url("postgres://user:s3cret@host/db").unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }
}
