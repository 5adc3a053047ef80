//! How a backend call fails, and whether trying again can help.
//!
//! Two layers: an [`super::Outcome`] is one operation's answer inside a call that went
//! through; a [`BackendError`] is the whole call failing. Each variant says when it
//! happens; [`BackendError::retry`] says what the call policy may do about it.

use std::path::PathBuf;
use std::time::Duration;

use crate::call::Failure;
pub use crate::call::Retry;

/// Why the lock could not be taken or kept.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else holds an unexpired lease. Wait and try again, or let it expire.
    #[error(
        "the account is locked by {holder} since {since} (Unix time); the lock expires at {expires} unless renewed"
    )]
    Held {
        /// The current holder.
        holder: String,
        /// When they took it (Unix seconds).
        since: i64,
        /// When it expires unless renewed (Unix seconds).
        expires: i64,
    },
    /// The lease being renewed is no longer ours: it expired and someone else took the
    /// lock, or it was released. Whoever held it must stop writing.
    #[error("the lock held by {holder} was lost: {reason}")]
    Lost {
        /// The holder named in the lost lease.
        holder: String,
        /// What happened to it.
        reason: String,
    },
    /// The backend could not be asked.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// A whole backend call failed (as opposed to one operation being refused).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// `--backend` names a scheme accord does not know.
    #[error(
        "unknown backend `{url}`: use sqlite:PATH, http://HOST:PORT, https://HOST or acc://ACCOUNT_ID?region=REGION"
    )]
    UnknownScheme {
        /// The URL as given.
        url: String,
    },
    /// The store's file or its directory cannot be created, opened or written
    /// (missing permissions, a read-only file system, a path through a file).
    #[error("cannot use the store at {}: {detail}", path.display())]
    Unwritable {
        /// The store's path.
        path: PathBuf,
        /// What the system said, and what to check.
        detail: String,
    },
    /// The file exists but is not an `SQLite` database (or not accord's); nothing was changed.
    #[error(
        "{} is not an accord store ({detail}); point --backend at another path or move the file away",
        path.display()
    )]
    NotAStore {
        /// The file.
        path: PathBuf,
        /// What was found.
        detail: String,
    },
    /// The store was written by a newer accord (a schema version this build does not
    /// know); nothing was changed.
    #[error(
        "the store at {} has schema version {found}, newer than this accord understands (up to {supported}); upgrade accord",
        path.display()
    )]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The store holds data accord cannot read back (damaged file, hand-edited rows).
    #[error("the store at {} is damaged: {detail}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Another process kept the store busy for longer than the wait allows. Retryable.
    #[error("the store at {} is busy (another accord is writing); try again", path.display())]
    Busy {
        /// The file.
        path: PathBuf,
    },
    /// Any other storage failure (disk full, I/O error).
    #[error("the store at {} failed: {detail}", path.display())]
    Storage {
        /// The file.
        path: PathBuf,
        /// What the storage engine said.
        detail: String,
    },
    /// A batch holds more operations than the backend's bulk limit; nothing was done.
    #[error("a batch of {size} operations is more than this backend takes in one call ({limit})")]
    BatchTooLarge {
        /// Operations in the batch.
        size: usize,
        /// The backend's limit.
        limit: usize,
    },
    /// The backend holds another account than the configuration's.
    #[error("this configuration is for {expected} but the backend holds {found}")]
    AccountMismatch {
        /// The configuration's account id.
        expected: String,
        /// The backend's account id.
        found: String,
    },
    /// A state given to `import_state` is inconsistent (a seat for an unknown member...).
    #[error("cannot import this state: {detail}")]
    InvalidState {
        /// What is inconsistent.
        detail: String,
    },
    /// The backend cannot be reached (connection refused, DNS, TLS). Retryable.
    #[error("cannot reach the backend at {url}: {detail}")]
    Unreachable {
        /// The backend's URL.
        url: String,
        /// What failed, and what to check.
        detail: String,
    },
    /// The backend did not answer in time, or the connection dropped mid-call; the call
    /// may or may not have been carried out (operations are idempotent, so retry). Retryable.
    #[error("the backend at {url} did not answer: {detail}")]
    Timeout {
        /// The backend's URL.
        url: String,
        /// What happened.
        detail: String,
    },
    /// The backend asked us to slow down (HTTP 429). Retryable after `retry_after`.
    #[error("the backend is rate limiting requests; retry later")]
    RateLimited {
        /// How long it asked us to wait, if it said.
        retry_after: Option<Duration>,
    },
    /// The backend failed on its side (HTTP 5xx). Retryable.
    #[error("the backend failed (status {status}): {detail}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// What it said.
        detail: String,
    },
    /// Credentials are missing, wrong or expired, or lack the right (HTTP 401/403).
    #[error("the backend refused our credentials: {detail}")]
    Unauthorized {
        /// What to fix (`check ACCORD_TOKEN`, `this token can only read`).
        detail: String,
    },
    /// The access token was refused (HTTP 401) although it had not expired by our
    /// clock (revoked, or the clocks disagree): a new token is asked for and the call
    /// sent once more. Not carried out, so retryable once.
    #[error("the backend refused the access token ({detail}); asking for a new one")]
    TokenExpired {
        /// What the backend said.
        detail: String,
    },
    /// The account changed since the revision the call was made against (HTTP 412).
    #[error(
        "the account changed since this plan was made (revision {expected} -> {found}): run `accord plan` again"
    )]
    Stale {
        /// The revision the caller expected.
        expected: u64,
        /// The revision the backend holds.
        found: u64,
    },
    /// The backend rejected the call itself (a malformed request, HTTP 4xx). Not retryable.
    #[error("the backend rejected the call: {detail}")]
    Rejected {
        /// What it said.
        detail: String,
    },
    /// A bug or an unexpected failure inside accord (a worker thread panicked).
    #[error("internal error in the backend: {detail}")]
    Internal {
        /// What happened.
        detail: String,
    },
}

impl BackendError {
    /// What the call policy may do about this failure.
    #[must_use]
    pub fn retry(&self) -> Retry {
        match self {
            Self::Busy { .. }
            | Self::Unreachable { .. }
            | Self::RateLimited { .. }
            | Self::TokenExpired { .. } => Retry::NotCarriedOut,
            Self::Timeout { .. } | Self::Server { .. } => Retry::IfRepeatable,
            _ => Retry::Never,
        }
    }

    /// Whether trying the same call again later may succeed (if it is safe to repeat).
    #[must_use]
    pub fn retryable(&self) -> bool {
        self.retry() != Retry::Never
    }

    /// A stable name for this kind of failure, for tools reading `--format json`
    /// errors (`unreachable`, `unauthorized`, `rate_limited`, ...).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::UnknownScheme { .. } => "unknown_backend",
            Self::Unwritable { .. } => "store_unwritable",
            Self::NotAStore { .. } => "not_a_store",
            Self::NewerSchema { .. } => "store_too_new",
            Self::Corrupt { .. } => "store_damaged",
            Self::Busy { .. } => "store_busy",
            Self::Storage { .. } => "storage",
            Self::BatchTooLarge { .. } => "batch_too_large",
            Self::AccountMismatch { .. } => "account_mismatch",
            Self::InvalidState { .. } => "invalid_state",
            Self::Unreachable { .. } => "unreachable",
            Self::Timeout { .. } => "no_answer",
            Self::RateLimited { .. } => "rate_limited",
            Self::Server { .. } => "server_error",
            Self::Unauthorized { .. } => "unauthorized",
            Self::TokenExpired { .. } => "token_expired",
            Self::Stale { .. } => "stale",
            Self::Rejected { .. } => "rejected",
            Self::Internal { .. } => "internal",
        }
    }

    /// How long the backend asked us to wait before retrying, if it said.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

impl Failure for BackendError {
    fn retry(&self) -> Retry {
        BackendError::retry(self)
    }

    fn retry_after(&self) -> Option<Duration> {
        BackendError::retry_after(self)
    }

    fn is_rate_limited(&self) -> bool {
        matches!(self, Self::RateLimited { .. })
    }
}
