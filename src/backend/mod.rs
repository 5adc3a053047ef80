//! The backend boundary: where accord's plans meet a live account.
//!
//! A [`Backend`] is whatever holds the account: the embedded `SQLite` store
//! ([`sqlite`], `sqlite:PATH`), the account service over HTTP ([`http`],
//! `http://HOST:PORT`, served by `accord serve`) or the vendor's own API ([`acc`],
//! `acc://ACCOUNT_ID?region=REGION`). The rest of accord sees
//! only this trait, so `plan`, `apply` and `export` work the same against each:
//!
//! - [`Backend::capabilities`] says what the backend can manage and how it wants to
//!   be called (bulk limit, rate limit), so the planner batches and the executor
//!   paces to fit;
//! - [`Backend::fetch`] reads the whole current [`State`] with the account's
//!   revision and the backend's clock;
//! - [`Backend::execute`] carries out one batch of [`Op`]s (one backend call) and
//!   answers one [`Outcome`] per operation;
//! - [`Backend::ensure_account`] gives a fresh backend its account id and name;
//! - [`Backend::acquire_lock`] / [`Backend::renew_lock`] / [`Backend::release_lock`]
//!   are a lease so two applies never write at once, and a crashed one does not
//!   block forever.
//!
//! Errors come in two layers: an [`Outcome`] is one operation's answer (refused,
//! failed) inside a call that went through; a [`BackendError`] is the whole call
//! failing (unreachable, corrupt store, batch too large). Every `BackendError` says
//! whether retrying can help ([`BackendError::retryable`]).

pub mod acc;
pub mod http;
pub mod sqlite;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::diagnostic::Code;
use crate::plan::Op;
use crate::state::{AccountInfo, State};

pub use sqlite::SqliteBackend;

/// The backend used when none is given (`--backend` / `ACCORD_BACKEND`).
pub const DEFAULT_BACKEND_URL: &str = "sqlite:.accord/state.db";

pub use crate::plan::DEFAULT_BULK_LIMIT;
pub use crate::state::{INVITATION_TTL_SECS, invitation_expired};

/// Every operation name of DOMAIN.md's "Operations" table, in plan order.
pub const ALL_OPERATIONS: [&str; 24] = [
    "company.create",
    "company.update",
    "role.create",
    "role.update",
    "member.invite",
    "member.update",
    "member.activate",
    "agreement.create",
    "agreement.update",
    "agreement.set_contract_manager",
    "agreement.set_software_coordinator",
    "member.deactivate",
    "member.remove",
    "seat.unassign",
    "cloud_service.unassign",
    "support.unassign",
    "seat.assign",
    "cloud_service.assign",
    "support.assign",
    "project.create",
    "project_member.remove",
    "project_member.add",
    "project_member.update",
    "member.resend_invite",
];

/// A part of the account a backend may or may not be able to manage.
///
/// `plan` reports the parts of a configuration that fall in a section the backend
/// does not manage as "not managed by this backend" (issue 6) instead of dropping
/// them silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// Companies (create, trade).
    Companies,
    /// Roles and their default access levels.
    Roles,
    /// Members: invitation, names, company, role, status, external subscriptions.
    Members,
    /// Members' account access levels (`account_admin`, `executive`, `standards_admin`).
    MemberAccess,
    /// Agreements: creation, names, licence counts, contract managers, coordinators.
    Agreements,
    /// Product seat assignments.
    Seats,
    /// Cloud-service assignments.
    CloudServices,
    /// Support benefits.
    Support,
    /// Projects.
    Projects,
    /// Project members, their project access level and products.
    ProjectMembers,
}

impl Section {
    /// Every section.
    pub const ALL: [Self; 10] = [
        Self::Companies,
        Self::Roles,
        Self::Members,
        Self::MemberAccess,
        Self::Agreements,
        Self::Seats,
        Self::CloudServices,
        Self::Support,
        Self::Projects,
        Self::ProjectMembers,
    ];
}

/// What a backend can manage and how it wants to be called.
///
/// How each backend fills it:
/// - `sqlite:` (the embedded store): every section and operation, `bulk_limit` 100,
///   no rate limit, `manages_agreements: true` (it is the system of record).
/// - `http://` (the account service, issue 5): the same sections and operations as the
///   store it serves; `bulk_limit` and `rate_limit` read from the service when the
///   backend is opened; `manages_agreements: true`.
/// - `acc://` (the vendor's API, issue 6): only what the public API can do: sections
///   `Companies`, `Members` (status and company), `Projects`, `ProjectMembers`;
///   operations `company.create/update`, `member.invite/update/activate/deactivate`,
///   `project.create`, `project_member.add/update/remove`; `bulk_limit` 50 with
///   per-operation limits in `bulk_limits` (`project_member.add`: 200); no
///   `rate_limit` here, because the vendor limits each endpoint family separately and
///   the backend paces each family itself (see [`acc::client`]); `manages_agreements: false`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The sections the backend manages; anything else is "not managed by this backend".
    pub sections: BTreeSet<Section>,
    /// The operation names (`member.invite`, as [`Op::name`]) the backend carries out.
    pub operations: BTreeSet<String>,
    /// The most operations (each naming at most one member) one [`Backend::execute`] call
    /// takes; a larger batch is refused whole ([`BackendError::BatchTooLarge`]).
    pub bulk_limit: usize,
    /// Per-operation bulk limits where they differ from `bulk_limit` (a batch holding
    /// such an operation is limited to the smallest limit of the operations it holds).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bulk_limits: BTreeMap<String, usize>,
    /// Requests per second the backend accepts, if it has a limit (the executor's
    /// token bucket keeps below it). `None`: no limit.
    pub rate_limit: Option<f64>,
    /// Whether the backend is the system of record for agreements: only then are
    /// agreements created and their licence counts changed (DOMAIN.md "Ownership").
    pub manages_agreements: bool,
}

impl Capabilities {
    /// Everything, as the embedded store and the account service offer it.
    #[must_use]
    pub fn full(bulk_limit: usize, rate_limit: Option<f64>) -> Self {
        Self {
            sections: Section::ALL.into_iter().collect(),
            operations: ALL_OPERATIONS.iter().map(|&op| op.to_owned()).collect(),
            bulk_limit,
            bulk_limits: BTreeMap::new(),
            rate_limit,
            manages_agreements: true,
        }
    }

    /// Whether the backend carries out operations named `op` (`member.invite`).
    #[must_use]
    pub fn supports(&self, op: &str) -> bool {
        self.operations.contains(op)
    }

    /// Whether the backend manages `section`.
    #[must_use]
    pub fn manages(&self, section: Section) -> bool {
        self.sections.contains(&section)
    }

    /// The bulk limit for operations named `op`.
    #[must_use]
    pub fn bulk_limit_for(&self, op: &str) -> usize {
        self.bulk_limits.get(op).copied().unwrap_or(self.bulk_limit)
    }

    /// The diff options for planning against a backend with these capabilities at the
    /// backend's `now`, with the `--max-removals` override: one place, so `plan`,
    /// `apply`, the benchmarks and the tests batch and restrict plans alike.
    #[must_use]
    pub fn diff_options(&self, now: i64, max_removals: Option<u32>) -> crate::plan::DiffOptions {
        crate::plan::DiffOptions {
            bulk_limit: self.bulk_limit,
            bulk_limits: self.bulk_limits.clone(),
            now,
            max_removals,
            manages_agreements: self.manages_agreements,
            operations: Some(self.operations.clone()),
        }
    }

    /// The most operations a batch holding `ops` may have (the smallest limit among them).
    #[must_use]
    pub fn batch_limit(&self, ops: &[Op]) -> usize {
        ops.iter()
            .map(|op| self.bulk_limit_for(op.name()))
            .min()
            .unwrap_or(self.bulk_limit)
    }
}

/// What [`Backend::fetch`] reads: the account as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The whole current state. `account.id` and `account.name` are empty strings when
    /// the backend is fresh (no account yet: the first apply gives it one).
    pub state: State,
    /// The account's revision: it changes with every write, so a saved plan can tell
    /// the account changed since it was made (and the service uses it as the `ETag`).
    pub revision: u64,
    /// The backend's clock (Unix seconds) when the state was read, so the diff can tell
    /// expired invitations: `pending`, never signed in, `invited_at + 7 days < now`.
    pub now: i64,
}

impl Snapshot {
    /// Whether the backend holds no account yet (it takes the configuration's on first apply).
    #[must_use]
    pub fn is_fresh(&self) -> bool {
        self.state.account.id.is_empty()
    }
}

/// One operation's answer from [`Backend::execute`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The operation changed the account.
    Done,
    /// The account was already so (an existing member invited, a held seat assigned,
    /// an absent member removed): nothing changed, and that counts as done. This is
    /// what makes every operation safe to run twice.
    AlreadySo,
    /// The backend said no (a rule would break, or a name is unknown); retrying the
    /// same operation will not help until something else changes.
    Refused {
        /// The rule it would break (`R04`), when one applies.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
        /// Why, in words an account administrator can act on.
        reason: String,
    },
    /// The operation could not be carried out this time (a per-item error in a bulk
    /// answer); `retryable` says whether trying again may succeed.
    Failed {
        /// What went wrong.
        reason: String,
        /// Whether trying again may succeed.
        retryable: bool,
    },
}

impl Outcome {
    /// A refusal under `rule`.
    #[must_use]
    pub fn refused(rule: Code, reason: impl Into<String>) -> Self {
        Self::Refused {
            rule: Some(rule.as_str().to_owned()),
            reason: reason.into(),
        }
    }

    /// A refusal that no single rule explains.
    #[must_use]
    pub fn refused_plain(reason: impl Into<String>) -> Self {
        Self::Refused {
            rule: None,
            reason: reason.into(),
        }
    }

    /// Whether the account is now as the operation asked (done or already so).
    #[must_use]
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Done | Self::AlreadySo)
    }

    /// The rule a refusal cites, if any.
    #[must_use]
    pub fn rule(&self) -> Option<&str> {
        match self {
            Self::Refused { rule, .. } => rule.as_deref(),
            _ => None,
        }
    }
}

/// A lease on a backend's apply lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Who holds it (`alice@ci-runner-3 pid 4242`), shown to whoever has to wait.
    pub holder: String,
    /// An id unique to this lease: renewal and release check it, so a holder whose
    /// lease expired and was taken over cannot release the new holder's lock.
    pub token: String,
    /// When the lease was first acquired (Unix seconds, backend clock).
    pub since: i64,
    /// When it expires unless renewed (Unix seconds, backend clock).
    pub expires: i64,
    /// How long each renewal extends it.
    pub ttl_secs: u64,
}

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
    /// The backend kind exists but is not built into this version yet.
    #[error(
        "the {kind} backend (`{url}`) is not available in this version of accord yet; use sqlite:PATH"
    )]
    NotAvailable {
        /// `http` or `acc`.
        kind: &'static str,
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
    /// Whether trying the same call again later may succeed.
    #[must_use]
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            Self::Busy { .. }
                | Self::Unreachable { .. }
                | Self::Timeout { .. }
                | Self::RateLimited { .. }
                | Self::Server { .. }
        )
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

/// The backend's clock, injectable so tests can move time (invitation expiry, lock leases).
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now, in Unix seconds.
    fn now(&self) -> i64;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}

/// A clock that only moves when told to (tests, demos). Clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock showing `now` (Unix seconds).
    #[must_use]
    pub fn new(now: i64) -> Self {
        Self(Arc::new(AtomicI64::new(now)))
    }

    /// Sets the time.
    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }

    /// Moves the time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Where the account lives. See the module docs for the contract each method keeps.
///
/// Every method is safe to call from several tasks at once; implementations serialise
/// what must be serialised.
#[async_trait]
pub trait Backend: Send + Sync {
    /// The backend's URL as the user gave it (`sqlite:.accord/state.db`), for messages.
    /// Never contains secrets.
    fn url(&self) -> String;

    /// What this backend manages and how it wants to be called.
    fn capabilities(&self) -> Capabilities;

    /// Reads the whole current state, its revision and the backend's clock, consistently
    /// (the state is the one at `revision`).
    async fn fetch(&self) -> Result<Snapshot, BackendError>;

    /// Carries out one batch (one backend call), in order, and answers one [`Outcome`]
    /// per operation, in the same order.
    ///
    /// A batch larger than [`Capabilities::batch_limit`] is refused whole
    /// ([`BackendError::BatchTooLarge`]). A refused or failed operation does not stop the
    /// others: each backend documents how a batch commits (the embedded store: one
    /// transaction; refused operations leave no trace and the rest commit). A
    /// `BackendError` means the call as a whole may not have happened: when it is
    /// retryable, the same batch may be sent again, since every operation is idempotent.
    async fn execute(&self, batch: &[Op]) -> Result<Vec<Outcome>, BackendError>;

    /// Makes sure the backend holds `account`: a fresh backend (empty account id) takes
    /// its id and name; a backend holding the same id is left as it is (`AlreadySo`,
    /// even if the name differs: there is no operation to rename an account); one holding
    /// another id is refused with [`BackendError::AccountMismatch`]. `apply` calls this
    /// before its first batch; `plan` only compares ids.
    async fn ensure_account(&self, account: &AccountInfo) -> Result<Outcome, BackendError>;

    /// Takes the apply lock for `holder` for `ttl`, unless someone else holds an unexpired
    /// lease ([`LockError::Held`]). An expired lease is taken over.
    async fn acquire_lock(&self, holder: &str, ttl: Duration) -> Result<Lease, LockError>;

    /// Extends `lease` by its ttl from now. Fails with [`LockError::Lost`] when the lease
    /// is no longer the lock's (it expired and was taken over, or was released).
    async fn renew_lock(&self, lease: &Lease) -> Result<Lease, LockError>;

    /// Gives the lock up. Releasing a lease that was already lost or released is not an
    /// error (there is nothing left to give up).
    async fn release_lock(&self, lease: Lease) -> Result<(), LockError>;

    /// The last recorded change to each of `targets` (operation target strings), for
    /// the drift report's who and when. Backends without an audit log answer none.
    ///
    /// # Errors
    /// The backend's audit log cannot be read.
    async fn last_changes(
        &self,
        targets: &[String],
    ) -> Result<BTreeMap<String, crate::plan::drift::LastChange>, BackendError> {
        let _ = targets;
        Ok(BTreeMap::new())
    }
}

/// Opens the backend `url` names, with the system clock.
///
/// # Errors
/// [`BackendError::UnknownScheme`] for an unknown scheme, the store's errors for
/// `sqlite:`, for `http(s)://` the service's ([`http::HttpBackend::open`]: the token
/// comes from `ACCORD_TOKEN`), and for `acc://` missing credentials or region
/// ([`acc::AccBackend::open`]).
pub async fn open(url: &str) -> Result<Box<dyn Backend>, BackendError> {
    open_with_clock(url, Arc::new(SystemClock)).await
}

/// Opens the backend `url` names, reading time from `clock`.
///
/// # Errors
/// As [`open`].
pub async fn open_with_clock(
    url: &str,
    clock: Arc<dyn Clock>,
) -> Result<Box<dyn Backend>, BackendError> {
    match parse_url(url)? {
        BackendUrl::Sqlite(path) => Ok(Box::new(SqliteBackend::open(path, clock).await?)),
        BackendUrl::Http => Ok(Box::new(http::HttpBackend::open(url).await?)),
        BackendUrl::Acc => Ok(Box::new(acc::AccBackend::open(url)?)),
    }
}

/// A backend URL, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendUrl {
    /// `sqlite:PATH` (also `sqlite://PATH`).
    Sqlite(PathBuf),
    /// `http://...` or `https://...`.
    Http,
    /// `acc://...`.
    Acc,
}

/// Parses a `--backend` URL.
///
/// # Errors
/// [`BackendError::UnknownScheme`] when the scheme is none of `sqlite`, `http`, `https`,
/// `acc`, or `sqlite:` has no path.
pub fn parse_url(url: &str) -> Result<BackendUrl, BackendError> {
    let unknown = || BackendError::UnknownScheme {
        url: url.to_owned(),
    };
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.is_empty() {
            return Err(unknown());
        }
        return Ok(BackendUrl::Sqlite(PathBuf::from(path)));
    }
    if url.starts_with("http://") || url.starts_with("https://") {
        return Ok(BackendUrl::Http);
    }
    if url.starts_with("acc://") {
        return Ok(BackendUrl::Acc);
    }
    Err(unknown())
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
    }

    #[test]
    fn refuses_unknown_schemes_and_empty_paths() {
        for url in ["postgres://x", "state.db", "sqlite:", ""] {
            assert!(
                matches!(parse_url(url), Err(BackendError::UnknownScheme { .. })),
                "{url}"
            );
        }
    }

    #[test]
    fn every_operation_of_the_plan_is_listed_once() {
        let names: BTreeSet<_> = ALL_OPERATIONS.iter().collect();
        assert_eq!(names.len(), ALL_OPERATIONS.len());
    }

    #[test]
    fn capabilities_use_the_smallest_limit_in_a_batch() {
        let mut caps = Capabilities::full(50, None);
        caps.bulk_limits.insert("project_member.add".into(), 200);
        caps.bulk_limits.insert("company.create".into(), 10);
        let ops = [
            Op::ProjectCreate { name: "A".into() },
            Op::CompanyCreate {
                name: "B".into(),
                trade: None,
            },
        ];
        assert_eq!(caps.batch_limit(&ops), 10);
        assert_eq!(caps.bulk_limit_for("project_member.add"), 200);
        assert_eq!(caps.batch_limit(&[]), 50);
    }
}
