//! The embedded account store: `sqlite:PATH`, the default backend, and the store the
//! account service (a later issue) serves over HTTP. It behaves like the vendor
//! (DOMAIN.md "What the backend does"), so a plan that works here works there.
//!
//! [`SqliteStore`] is the synchronous core (one `SQLite` connection); [`SqliteBackend`]
//! puts it behind the async [`Backend`] trait, running every call on tokio's blocking
//! pool. Both are free of HTTP concerns.
//!
//! How a batch commits: the whole batch is ONE transaction. Operations run in order,
//! each inside a savepoint: a refused operation is rolled back to its savepoint (it
//! leaves no trace) and the batch goes on; the operations that succeed commit
//! together. When at least one operation was `Done`, the revision goes up by exactly
//! one and every done operation is written to the history with that revision; a batch
//! that changes nothing (all `AlreadySo` or refused) leaves the revision alone, so
//! replaying a batch does not make saved plans stale. A storage failure rolls the
//! whole batch back and is a [`BackendError`]. A batch (or an import) that moved
//! seats also records, with its revision, the seats used and total of each product
//! whose numbers moved (`seat_usage.rs`), which `accord report seats` charts.
//!
//! The account's id and name: a fresh store holds empty strings;
//! [`Backend::ensure_account`] gives it the configuration's on the first apply.

mod codec;
mod import;
mod lock;
mod read;
mod schema;
mod seat_usage;
mod write;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};

use crate::call::{CallOptions, Caller, Repeat, Request};
use crate::contract::{
    Applied, Backend, BackendError, Capabilities, DEFAULT_BULK_LIMIT, Lease, Lock, LockError,
    LockScope, Op, Outcome, SeatSample, Snapshot, applied_from_history,
};
use crate::state::{AccountInfo, Email, State};
use crate::time::Clock;

/// One row of the store's history: an operation that changed the account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HistoryEntry {
    /// The revision the operation's batch produced.
    pub revision: u64,
    /// The operation's name (`member.invite`; also `account.create`, `account.import`,
    /// `member.accept_invitation` for the store's own writes).
    pub op: String,
    /// Its target string (`NUMBER/PRODUCT/email`).
    pub target: String,
    /// When (Unix seconds, the store's clock).
    pub at: i64,
    /// Who made the change, when the caller said (the account service's token name).
    pub actor: Option<String>,
}

/// Extras for a write through [`SqliteStore::execute_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Who makes the change (recorded in the history; the service's token name).
    pub actor: Option<String>,
    /// Only write if the account is still at this revision (else `Stale`, nothing done).
    pub if_revision: Option<u64>,
}

/// The synchronous store: one connection to one file.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    clock: Arc<dyn Clock>,
    bulk_limit: usize,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the store at `path`, creating it (and its directory) on first use.
    ///
    /// # Errors
    /// [`BackendError::Unwritable`] when the directory or file cannot be created or
    /// written, [`BackendError::NotAStore`] for a file that is not an accord store, and
    /// [`BackendError::NewerSchema`] for a store written by a newer accord; in each case
    /// the file is left as it was.
    pub fn open(path: impl Into<PathBuf>, clock: Arc<dyn Clock>) -> Result<Self, BackendError> {
        let path = path.into();
        let conn = schema::open(&path)?;
        Ok(Self {
            conn,
            path,
            clock,
            bulk_limit: DEFAULT_BULK_LIMIT,
        })
    }

    /// The store's file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Changes the bulk limit (tests and the fault-injection harness; 100 by default).
    pub fn set_bulk_limit(&mut self, limit: usize) {
        self.bulk_limit = limit.max(1);
    }

    /// What the store manages: everything, 100 members per call, no rate limit.
    #[must_use]
    pub fn capabilities(&self) -> Capabilities {
        Capabilities::full(self.bulk_limit)
    }

    /// The whole account, its revision and the clock, read in one transaction.
    ///
    /// # Errors
    /// [`BackendError::Corrupt`] for rows accord cannot read back; storage errors.
    pub fn fetch(&mut self) -> Result<Snapshot, BackendError> {
        let now = self.clock.now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(|e| storage_error(&self.path, &e))?;
        let (state, revision) = read::load(&tx, &self.path)?;
        tx.commit().map_err(|e| storage_error(&self.path, &e))?;
        Ok(Snapshot {
            state,
            revision,
            now,
        })
    }

    /// Carries out `batch` in one transaction (see the module docs for how it commits).
    ///
    /// # Errors
    /// [`BackendError::BatchTooLarge`] for more operations than the bulk limit (nothing
    /// done); storage errors (nothing done).
    pub fn execute(&mut self, batch: &[Op]) -> Result<Vec<Outcome>, BackendError> {
        self.execute_with(batch, &WriteOptions::default())
    }

    /// As [`Self::execute`], with the account service's extras: the actor recorded in
    /// the history, and an optimistic-concurrency check (HTTP `If-Match`).
    ///
    /// # Errors
    /// As [`Self::execute`], and [`BackendError::Stale`] (nothing done) when
    /// `options.if_revision` is set and the account is at another revision.
    pub fn execute_with(
        &mut self,
        batch: &[Op],
        options: &WriteOptions,
    ) -> Result<Vec<Outcome>, BackendError> {
        // The store enforces its limit as the vendor would: a client that sends more
        // is refused, whatever it checked itself.
        self.capabilities().limits.check(batch)?;
        let now = self.clock.now();
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| storage_error(&path, &e))?;
        if let Some(expected) = options.if_revision {
            let found = current_revision(&tx).map_err(|e| storage_error(&path, &e))?;
            if found != expected {
                return Err(BackendError::Stale { expected, found });
            }
        }
        let outcomes = run_batch(&tx, batch, now, options.actor.as_deref())
            .map_err(|e| storage_error(&path, &e))?;
        tx.commit().map_err(|e| storage_error(&path, &e))?;
        Ok(outcomes)
    }

    /// Records that an apply converged with the account at `revision` (see
    /// [`Backend::record_applied`]): a history entry `account.applied`, with no new
    /// revision. Nothing is recorded when the account moved on, or the newest entry
    /// already says so.
    ///
    /// # Errors
    /// Storage errors.
    pub fn record_applied(
        &mut self,
        revision: u64,
        actor: Option<&str>,
    ) -> Result<bool, BackendError> {
        let now = self.clock.now();
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| storage_error(&path, &e))?;
        let mark = || -> rusqlite::Result<bool> {
            if current_revision(&tx)? != revision {
                return Ok(false);
            }
            let newest: Option<String> = tx
                .query_row(
                    "SELECT op FROM history ORDER BY seq DESC LIMIT 1",
                    [],
                    |row| row.get(0),
                )
                .optional()?;
            if newest.as_deref() == Some(crate::contract::APPLIED) {
                return Ok(false);
            }
            let target: String = tx.query_row(
                "SELECT account_id FROM account WHERE singleton = 1",
                [],
                |row| row.get(0),
            )?;
            let revision = i64::try_from(revision).unwrap_or(i64::MAX);
            record(
                &tx,
                revision,
                crate::contract::APPLIED,
                &target,
                now,
                actor,
                None,
            )?;
            Ok(true)
        };
        let recorded = mark().map_err(|e| storage_error(&path, &e))?;
        tx.commit().map_err(|e| storage_error(&path, &e))?;
        Ok(recorded)
    }

    /// Gives a fresh store `account` (see [`Backend::ensure_account`]).
    ///
    /// # Errors
    /// [`BackendError::AccountMismatch`] when the store holds another account id;
    /// [`BackendError::Rejected`] for an empty id; storage errors.
    pub fn ensure_account(&mut self, account: &AccountInfo) -> Result<Outcome, BackendError> {
        if account.id.trim().is_empty() {
            return Err(BackendError::Rejected {
                detail: "the account id is empty".into(),
            });
        }
        let now = self.clock.now();
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| storage_error(&path, &e))?;
        let found: String = tx
            .query_row(
                "SELECT account_id FROM account WHERE singleton = 1",
                [],
                |row| row.get(0),
            )
            .map_err(|e| storage_error(&path, &e))?;
        if found == account.id {
            return Ok(Outcome::AlreadySo);
        }
        if !found.is_empty() {
            return Err(BackendError::AccountMismatch {
                expected: account.id.clone(),
                found,
            });
        }
        let write = || -> rusqlite::Result<()> {
            tx.execute(
                "UPDATE account SET account_id = ?1, name = ?2 WHERE singleton = 1",
                params![account.id, account.name],
            )?;
            let revision = bump_revision(&tx)?;
            record(
                &tx,
                revision,
                "account.create",
                &account.id,
                now,
                None,
                None,
            )
        };
        write().map_err(|e| storage_error(&path, &e))?;
        tx.commit().map_err(|e| storage_error(&path, &e))?;
        Ok(Outcome::Done)
    }

    /// Marks `email` as having accepted the invitation: the member becomes `active` and
    /// signed in (their invitation never expires again). Refused for an expired
    /// invitation (re-send it first), a member never invited, or an inactive one;
    /// `AlreadySo` for an active member. A change bumps the revision.
    ///
    /// # Errors
    /// Storage errors.
    pub fn accept_invitation(&mut self, email: &Email) -> Result<Outcome, BackendError> {
        let now = self.clock.now();
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| storage_error(&path, &e))?;
        let run = || -> rusqlite::Result<Outcome> {
            let outcome = write::Writer { tx: &tx, now }.accept_invitation(email)?;
            if outcome == Outcome::Done {
                let revision = bump_revision(&tx)?;
                record(
                    &tx,
                    revision,
                    "member.accept_invitation",
                    email.as_str(),
                    now,
                    None,
                    None,
                )?;
            }
            Ok(outcome)
        };
        let outcome = run().map_err(|e| storage_error(&path, &e))?;
        tx.commit().map_err(|e| storage_error(&path, &e))?;
        Ok(outcome)
    }

    /// Replaces the whole account with `state`, backend-owned facts included, in one
    /// transaction that bumps the revision once (history: `account.import`). For tests,
    /// benchmarks and demos: only references are checked, not rules R02-R11. A product
    /// whose `seats` is `None` gets as many seats as it has members assigned.
    ///
    /// # Errors
    /// [`BackendError::InvalidState`] when the state names a company, role or member it
    /// does not hold (nothing is changed); storage errors.
    pub fn import_state(&mut self, state: &State) -> Result<(), BackendError> {
        let now = self.clock.now();
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| storage_error(&path, &e))?;
        import::replace(&tx, state).map_err(|e| match e {
            import::ImportError::Sql(e) => storage_error(&path, &e),
            import::ImportError::Invalid(detail) => BackendError::InvalidState { detail },
        })?;
        let finish = || -> rusqlite::Result<()> {
            let revision = bump_revision(&tx)?;
            let detail = format!("{} members", state.members.len());
            record(
                &tx,
                revision,
                "account.import",
                &state.account.id,
                now,
                None,
                Some(&detail),
            )?;
            seat_usage::record(&tx, revision, now)
        };
        finish().map_err(|e| storage_error(&path, &e))?;
        tx.commit().map_err(|e| storage_error(&path, &e))?;
        Ok(())
    }

    /// The account's revision.
    ///
    /// # Errors
    /// Storage errors.
    pub fn revision(&self) -> Result<u64, BackendError> {
        let revision: i64 = self
            .conn
            .query_row(
                "SELECT revision FROM account WHERE singleton = 1",
                [],
                |row| row.get(0),
            )
            .map_err(|e| self.error(&e))?;
        Ok(u64::try_from(revision).unwrap_or_default())
    }

    /// Every change recorded, oldest first.
    ///
    /// # Errors
    /// Storage errors.
    pub fn history(&self) -> Result<Vec<HistoryEntry>, BackendError> {
        let read = || -> rusqlite::Result<Vec<HistoryEntry>> {
            let mut stmt = self
                .conn
                .prepare("SELECT revision, op, target, at, actor FROM history ORDER BY seq")?;
            let rows = stmt.query_map([], |row| {
                Ok(HistoryEntry {
                    revision: row.get::<_, i64>(0)?.try_into().unwrap_or_default(),
                    op: row.get(1)?,
                    target: row.get(2)?,
                    at: row.get(3)?,
                    actor: row.get(4)?,
                })
            })?;
            rows.collect()
        };
        read().map_err(|e| self.error(&e))
    }

    /// Seats used over time (see [`Backend::seat_history`]), oldest first.
    ///
    /// # Errors
    /// Storage errors.
    pub fn seat_history(&self) -> Result<Vec<SeatSample>, BackendError> {
        seat_usage::read(&self.conn).map_err(|e| self.error(&e))
    }

    /// Takes the apply lock (see [`Backend::acquire_lock`]).
    ///
    /// # Errors
    /// [`LockError::Held`] while another unexpired lease holds it; storage errors.
    pub fn acquire_lock(&mut self, holder: &str, ttl: Duration) -> Result<Lease, LockError> {
        let now = self.clock.now();
        lock::acquire(&mut self.conn, holder, ttl, now)
            .map_err(|e| storage_error(&self.path, &e))?
    }

    /// Renews `lease` (see [`Backend::renew_lock`]).
    ///
    /// # Errors
    /// [`LockError::Lost`] when the lease is no longer the lock's; storage errors.
    pub fn renew_lock(&mut self, lease: &Lease) -> Result<Lease, LockError> {
        let now = self.clock.now();
        lock::renew(&mut self.conn, lease, now).map_err(|e| storage_error(&self.path, &e))?
    }

    /// Releases `lease` (see [`Backend::release_lock`]).
    ///
    /// # Errors
    /// Storage errors.
    pub fn release_lock(&mut self, lease: &Lease) -> Result<(), LockError> {
        lock::release(&self.conn, lease).map_err(|e| storage_error(&self.path, &e).into())
    }

    fn error(&self, e: &rusqlite::Error) -> BackendError {
        storage_error(&self.path, e)
    }
}

/// Runs every operation of a batch in its savepoint; bumps the revision and records
/// history when anything was done.
fn run_batch(
    tx: &rusqlite::Transaction<'_>,
    batch: &[Op],
    now: i64,
    actor: Option<&str>,
) -> rusqlite::Result<Vec<Outcome>> {
    let writer = write::Writer { tx, now };
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut done = Vec::new();
    for op in batch {
        tx.execute_batch("SAVEPOINT op")?;
        let outcome = writer.apply(op)?;
        if outcome == Outcome::Done {
            tx.execute_batch("RELEASE op")?;
            done.push(op);
        } else {
            tx.execute_batch("ROLLBACK TO op; RELEASE op")?;
        }
        outcomes.push(outcome);
    }
    if !done.is_empty() {
        let revision = bump_revision(tx)?;
        for op in &done {
            let detail = serde_json::to_string(op).ok();
            record(
                tx,
                revision,
                op.name(),
                &op.target(),
                now,
                actor,
                detail.as_deref(),
            )?;
        }
        if seat_usage::moves_seats(&done) {
            seat_usage::record_batch(tx, revision, now, &done)?;
        }
    }
    Ok(outcomes)
}

/// The account's revision inside a transaction.
fn current_revision(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<u64> {
    let revision: i64 = tx.query_row(
        "SELECT revision FROM account WHERE singleton = 1",
        [],
        |row| row.get(0),
    )?;
    Ok(u64::try_from(revision).unwrap_or_default())
}

/// Adds one to the revision and answers the new one.
fn bump_revision(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<i64> {
    tx.query_row(
        "UPDATE account SET revision = revision + 1 WHERE singleton = 1 RETURNING revision",
        [],
        |row| row.get(0),
    )
}

fn record(
    tx: &rusqlite::Transaction<'_>,
    revision: i64,
    op: &str,
    target: &str,
    at: i64,
    actor: Option<&str>,
    detail: Option<&str>,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO history (revision, op, target, at, actor, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![revision, op, target, at, actor, detail])?;
    Ok(())
}

/// Turns a storage engine error into the clearest [`BackendError`].
pub(super) fn storage_error(path: &Path, error: &rusqlite::Error) -> BackendError {
    let path = path.to_owned();
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => BackendError::Busy { path },
        Some(ErrorCode::NotADatabase) => BackendError::NotAStore {
            path,
            detail: "the file is not an SQLite database".into(),
        },
        Some(ErrorCode::DatabaseCorrupt) => BackendError::Corrupt {
            path,
            detail: error.to_string(),
        },
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => {
            BackendError::Unwritable {
                path,
                detail: format!("{error}; check the permissions of the file and its directory"),
            }
        }
        _ if matches!(error, rusqlite::Error::FromSqlConversionFailure(..)) => {
            BackendError::Corrupt {
                path,
                detail: error.to_string(),
            }
        }
        _ => BackendError::Storage {
            path,
            detail: error.to_string(),
        },
    }
}

/// The store behind the async [`Backend`] trait. Cheap to clone; clones share the
/// connection (calls are serialised on it, which `SQLite` needs anyway for writes)
/// and the call policy (a busy store is retried there).
#[derive(Debug, Clone)]
pub struct SqliteBackend {
    store: Arc<Mutex<SqliteStore>>,
    url: String,
    capabilities: Capabilities,
    caller: Arc<Caller>,
}

/// The call family of the store's calls (it has no budget: nothing paces them).
const FAMILY: &str = "store";

impl SqliteBackend {
    /// Opens (creating on first use) the store at `path`, reading time from `clock`,
    /// with the default call policy.
    ///
    /// # Errors
    /// As [`SqliteStore::open`].
    pub async fn open(
        path: impl Into<PathBuf>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, BackendError> {
        Self::open_with(path, clock, CallOptions::default()).await
    }

    /// As [`Self::open`], with `calls` for the call policy.
    ///
    /// # Errors
    /// As [`SqliteStore::open`].
    pub async fn open_with(
        path: impl Into<PathBuf>,
        clock: Arc<dyn Clock>,
        calls: CallOptions,
    ) -> Result<Self, BackendError> {
        let path = path.into();
        let url = format!("sqlite:{}", path.display());
        let store = tokio::task::spawn_blocking(move || SqliteStore::open(path, clock))
            .await
            .map_err(|e| join_error(&e))??;
        let capabilities = store.capabilities();
        Ok(Self {
            caller: Arc::new(Caller::new(&capabilities.budgets, calls)),
            capabilities,
            store: Arc::new(Mutex::new(store)),
            url,
        })
    }

    /// Changes the bulk limit (tests; 100 by default).
    pub fn set_bulk_limit(&mut self, limit: usize) {
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        store.set_bulk_limit(limit);
        self.capabilities = store.capabilities();
    }

    /// Runs `f` on the store on tokio's blocking pool.
    async fn run<T, E>(
        &self,
        f: impl FnOnce(&mut SqliteStore) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<BackendError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || {
            // A panic mid-call drops its transaction, which rolls back: the connection
            // is still consistent, so a poisoned lock is safe to reuse.
            let mut store = store.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut store)
        })
        .await
        .map_err(|e| E::from(join_error(&e)))?
    }

    /// See [`SqliteStore::execute_with`].
    ///
    /// # Errors
    /// As [`SqliteStore::execute_with`].
    pub async fn execute_with(
        &self,
        batch: &[Op],
        options: &WriteOptions,
    ) -> Result<Vec<Outcome>, BackendError> {
        let batch = batch.to_vec();
        let options = options.clone();
        self.run(move |s| s.execute_with(&batch, &options)).await
    }

    /// See [`SqliteStore::accept_invitation`].
    ///
    /// # Errors
    /// Storage errors.
    pub async fn accept_invitation(&self, email: &Email) -> Result<Outcome, BackendError> {
        let email = email.clone();
        self.run(move |s| s.accept_invitation(&email)).await
    }

    /// See [`SqliteStore::import_state`].
    ///
    /// # Errors
    /// As [`SqliteStore::import_state`].
    pub async fn import_state(&self, state: &State) -> Result<(), BackendError> {
        let state = state.clone();
        self.run(move |s| s.import_state(&state)).await
    }

    /// See [`SqliteStore::history`].
    ///
    /// # Errors
    /// Storage errors.
    pub async fn history(&self) -> Result<Vec<HistoryEntry>, BackendError> {
        self.run(|s| s.history()).await
    }

    /// See [`SqliteStore::record_applied`].
    ///
    /// # Errors
    /// Storage errors.
    pub async fn record_applied_by(
        &self,
        revision: u64,
        actor: Option<String>,
    ) -> Result<bool, BackendError> {
        self.run(move |s| s.record_applied(revision, actor.as_deref()))
            .await
    }

    /// See [`SqliteStore::revision`].
    ///
    /// # Errors
    /// Storage errors.
    pub async fn revision(&self) -> Result<u64, BackendError> {
        self.run(|s| s.revision()).await
    }
}

fn join_error(e: &tokio::task::JoinError) -> BackendError {
    BackendError::Internal {
        detail: format!("the store's worker thread failed: {e}"),
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    fn url(&self) -> String {
        self.url.clone()
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }

    fn caller(&self) -> &Caller {
        &self.caller
    }

    async fn fetch(&self) -> Result<Snapshot, BackendError> {
        self.caller
            .call(&Request::read(FAMILY), |_| self.run(SqliteStore::fetch))
            .await
    }

    /// One transaction: a failure rolls it back whole, so sending it again is safe.
    async fn execute(&self, batch: &[Op]) -> Result<Vec<Outcome>, BackendError> {
        let options = WriteOptions::default();
        self.caller
            .call(&Request::write(FAMILY, Repeat::Safe), |_| {
                self.execute_with(batch, &options)
            })
            .await
    }

    async fn ensure_account(&self, account: &AccountInfo) -> Result<Outcome, BackendError> {
        self.caller
            .call(&Request::write(FAMILY, Repeat::Safe), |_| {
                let account = account.clone();
                self.run(move |s| s.ensure_account(&account))
            })
            .await
    }

    fn lock(&self) -> Option<Arc<dyn Lock>> {
        Some(Arc::new(self.clone()))
    }

    async fn last_applied(&self) -> Result<Option<Applied>, BackendError> {
        let history = self.run(|s| s.history()).await?;
        Ok(applied_from_history(
            history
                .into_iter()
                .map(|e| (e.op, e.target, e.at, e.actor, e.revision)),
        ))
    }

    async fn seat_history(&self) -> Result<Option<Vec<SeatSample>>, BackendError> {
        self.run(|s| s.seat_history().map(Some)).await
    }

    async fn record_applied(&self, revision: u64) -> Result<bool, BackendError> {
        self.caller
            .call(&Request::write(FAMILY, Repeat::Safe), |_| {
                self.run(move |s| s.record_applied(revision, None))
            })
            .await
    }
}

/// The lock lives in the store's file: every process using it sees it.
#[async_trait]
impl Lock for SqliteBackend {
    fn scope(&self) -> LockScope {
        LockScope::Shared
    }

    async fn acquire(&self, holder: &str, ttl: Duration) -> Result<Lease, LockError> {
        let holder = holder.to_owned();
        self.run(move |s| s.acquire_lock(&holder, ttl)).await
    }

    async fn renew(&self, lease: &Lease) -> Result<Lease, LockError> {
        let lease = lease.clone();
        self.run(move |s| s.renew_lock(&lease)).await
    }

    async fn release(&self, lease: Lease) -> Result<(), LockError> {
        self.run(move |s| s.release_lock(&lease)).await
    }
}
