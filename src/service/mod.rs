//! `accord serve`: the account service. It serves the embedded `SQLite` store over
//! HTTP with a REST + JSON API (`schemas/openapi.yaml`), so teams share one live
//! account and `--backend http://HOST:PORT` works like `sqlite:PATH`.
//!
//! The service holds no rules of its own: every change goes through the same
//! [`SqliteStore`] as the embedded backend (one transaction per batch, refused
//! operations leaving no trace), and the service only adds what a shared, networked
//! store needs:
//! - who is calling ([`auth`]: bearer tokens, `read` or `write`), and how fast
//!   ([`limits`]: an optional rate limit per token);
//! - consistent reads of a large account in pages ([`views`]);
//! - writes that complete even when the client hangs up, are answered once per
//!   idempotency key, and are waited for on shutdown ([`writes`]);
//! - an audit log of every change with the token's name;
//! - a test-only fault switch ([`faults`]) to prove clients converge.
//!
//! The endpoints are in [`handlers`], the route table and middleware order in
//! [`routes`], and the error format in [`error`].

pub mod auth;
pub mod checks;
pub mod connections;
pub mod error;
pub mod faults;
pub mod handlers;
pub mod limits;
pub mod routes;
pub mod views;
pub mod writes;

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

pub use auth::{Caller, Scope, Tokens, TokensError};
pub use connections::ConnectionLimits;
pub use routes::{RouteInfo, routes};

use crate::backend::sqlite::SqliteStore;
use crate::contract::{BackendError, DEFAULT_BULK_LIMIT};
use crate::time::Clock;
use crate::wire::AuditEntry;
use error::ApiError;
use views::{View, Views};
use writes::{InFlight, KeyLocks, WriteLog};

/// The largest request body accepted by default: a batch of 100 operations is a few
/// tens of kilobytes.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;

/// How long a request may run by default.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How the service is set up.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// The store's file.
    pub db: PathBuf,
    /// The tokens it accepts.
    pub tokens: Tokens,
    /// Requests per second per token, if limited.
    pub rate_limit: Option<f64>,
    /// Test only: `(fraction, seed)` of requests to fail.
    pub faults: Option<(f64, u64)>,
    /// The largest request body, in bytes.
    pub max_body: usize,
    /// How long a request may run.
    pub request_timeout: Duration,
    /// The most operations a batch may hold.
    pub bulk_limit: usize,
    /// Timeouts and the cap of connections.
    pub connections: ConnectionLimits,
}

impl ServiceOptions {
    /// The defaults for a store at `db` accepting `tokens`.
    #[must_use]
    pub fn new(db: impl Into<PathBuf>, tokens: Tokens) -> Self {
        Self {
            db: db.into(),
            tokens,
            rate_limit: None,
            faults: None,
            max_body: DEFAULT_MAX_BODY,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            bulk_limit: DEFAULT_BULK_LIMIT,
            connections: ConnectionLimits::default(),
        }
    }
}

/// The limits every request meets.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest request body, in bytes.
    pub max_body: usize,
    /// How long a request may run.
    pub request_timeout: Duration,
    /// The most operations a batch may hold.
    pub bulk_limit: usize,
}

/// What every request shares. Cheap to clone.
#[derive(Clone)]
pub struct App(Arc<Shared>);

/// The service's state.
pub struct Shared {
    store: Arc<Mutex<SqliteStore>>,
    tokens: Tokens,
    limiter: Option<limits::RateLimiter>,
    faults: Option<faults::Faults>,
    views: Views,
    audit: Mutex<Option<(u64, Arc<[AuditEntry]>)>>,
    write_log: WriteLog,
    key_locks: KeyLocks,
    in_flight: InFlight,
    limits: Limits,
    clock: Arc<dyn Clock>,
}

impl Deref for App {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl App {
    /// Runs `f` on the store, on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut SqliteStore) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || {
            // A panic mid-call drops its transaction, which rolls back: the connection
            // is consistent, so a poisoned lock is safe to reuse.
            let mut store = store.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut store)
        })
        .await
        .map_err(|e| ApiError::internal(format!("the store's worker failed: {e}")))
    }

    /// Runs `f` on the store and turns its failure into an answer.
    async fn store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut SqliteStore) -> Result<T, BackendError> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.blocking(f).await?.map_err(ApiError::from)
    }

    /// The view at `pinned` (412 `revision_gone` once it is no longer kept), or at the
    /// current revision.
    async fn view(&self, pinned: Option<u64>) -> Result<Arc<View>, ApiError> {
        let current = self.store(|s| s.revision()).await?;
        let wanted = pinned.unwrap_or(current);
        if let Some(view) = self.views.get(wanted) {
            return Ok(view);
        }
        if wanted != current {
            return Err(revision_gone(wanted, current));
        }
        let _building = self.views.building.lock().await;
        if let Some(view) = self.views.get(wanted) {
            return Ok(view);
        }
        let snapshot = self.store(SqliteStore::fetch).await?;
        let view = tokio::task::spawn_blocking(move || Arc::new(View::of(snapshot)))
            .await
            .map_err(|e| ApiError::internal(format!("the view could not be built: {e}")))?;
        self.views.keep(Arc::clone(&view));
        match pinned {
            Some(wanted) if wanted != view.revision => Err(revision_gone(wanted, view.revision)),
            _ => Ok(view),
        }
    }

    /// Records that `actor` made the change that produced `revision` (for the changes
    /// the store records without an actor), and drops a cached audit log that may have
    /// been built before the record.
    async fn attribute(&self, revision: u64, actor: &str) -> Result<(), ApiError> {
        self.write_log.attribute(revision, actor).await?;
        *self.audit.lock().unwrap_or_else(PoisonError::into_inner) = None;
        Ok(())
    }

    /// Drops the cached audit log (an entry was added without a new revision).
    fn forget_audit(&self) {
        *self.audit.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The audit log at the current revision (rebuilt only when the revision moved).
    async fn audit_log(&self) -> Result<(u64, Arc<[AuditEntry]>), ApiError> {
        let current = self.store(|s| s.revision()).await?;
        if let Some((revision, entries)) = self
            .audit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|(revision, _)| *revision == current)
        {
            return Ok((*revision, Arc::clone(entries)));
        }
        let (revision, history, seats) = self
            .store(|s| Ok((s.revision()?, s.history()?, s.seat_history()?)))
            .await?;
        let attributions = self.write_log.attributions().await?;
        let entries = handlers::audit_entries(history, &attributions, seats);
        *self.audit.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((revision, Arc::clone(&entries)));
        Ok((revision, entries))
    }
}

fn revision_gone(wanted: u64, current: u64) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::PRECONDITION_FAILED,
        "revision_gone",
        format!(
            "revision {wanted} is no longer served (the account is at {current}): read it again from the first page"
        ),
    )
    .with_details(serde_json::json!({ "expected": wanted, "found": current }))
}

/// The account service, open on its store.
pub struct Service {
    app: App,
    connections: ConnectionLimits,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("tokens", &self.app.tokens)
            .field("limits", &self.app.limits)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// Opens the store at `options.db` (creating it on first use) and the service's
    /// tables beside it.
    ///
    /// # Errors
    /// The store's errors ([`SqliteStore::open`]), or its tables cannot be written.
    pub fn open(options: ServiceOptions, clock: Arc<dyn Clock>) -> Result<Self, BackendError> {
        let mut store = SqliteStore::open(&options.db, Arc::clone(&clock))?;
        store.set_bulk_limit(options.bulk_limit);
        let write_log = WriteLog::open(&options.db, clock.now())?;
        let shared = Shared {
            store: Arc::new(Mutex::new(store)),
            tokens: options.tokens,
            limiter: options
                .rate_limit
                .filter(|r| r.is_finite() && *r > 0.0)
                .map(limits::RateLimiter::new),
            faults: options
                .faults
                .filter(|(fraction, _)| *fraction > 0.0)
                .map(|(fraction, seed)| faults::Faults::new(fraction, seed)),
            views: Views::default(),
            audit: Mutex::new(None),
            write_log,
            key_locks: KeyLocks::default(),
            in_flight: InFlight::default(),
            limits: Limits {
                max_body: options.max_body,
                request_timeout: options.request_timeout,
                bulk_limit: options.bulk_limit.max(1),
            },
            clock,
        };
        let mut connections = options.connections;
        // The idle timeout must not cut a request that is still within its own
        // time (a connection is silent while its request runs).
        connections.idle_timeout = connections
            .idle_timeout
            .max(options.request_timeout + Duration::from_secs(5));
        Ok(Self {
            app: App(Arc::new(shared)),
            connections,
        })
    }

    /// The router (for serving, or for tests that call it directly).
    pub fn router(&self) -> Router {
        routes::router(self.app.clone())
    }

    /// Serves on `listener` until `shutdown` completes; then stops accepting, lets the
    /// requests in progress finish (for at most the shutdown timeout: connections
    /// still open then are closed), and waits for every write still running.
    /// Connections are limited as [`connections`] says.
    ///
    /// # Errors
    /// When the listener fails.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let in_flight = self.app.in_flight.clone();
        connections::serve(listener, self.router(), self.connections, shutdown).await?;
        let writes = in_flight.count();
        if writes > 0 {
            tracing::info!(writes, "waiting for the writes in progress");
        }
        in_flight.idle().await;
        Ok(())
    }
}
