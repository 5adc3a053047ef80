//! How a write request is carried out: detached, tracked, and at most once per
//! idempotency key.
//!
//! - **Detached.** The write runs in its own task, so neither the request timeout
//!   nor a client hanging up can stop it between the store's commit and the
//!   recording of its answer.
//! - **Tracked.** Every write in progress holds an [`InFlight`] guard; on SIGTERM the
//!   service stops accepting and waits for them, so a batch is always finished.
//! - **Idempotent.** A write may carry an `Idempotency-Key` header. Its answer is
//!   recorded (per token, with a digest of the request) in the table
//!   `service_idempotency` of the same `SQLite` file as the account, and the same key
//!   sent again is answered from the record (header `Idempotent-Replayed: true`)
//!   instead of being carried out again: a client whose connection dropped after the
//!   commit gets the original answer, and the audit log shows the change once. The
//!   same key with another request is refused (422). Records are kept 24 hours.
//!
//! The record is written just after the store's transaction commits, not inside it
//! (the store's transaction is its own). Should the service die in that instant, a
//! resent batch is carried out again, which answers `already_so` for every operation
//! but `member.resend_invite` (every other operation is idempotent by itself).
//!
//! The same file also holds `service_attribution`: who made the account changes the
//! store records without an actor (`account.create`, `member.accept_invitation`), so
//! the audit log names a token for every change made through the service.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use super::App;
use super::auth::{Caller, is_write};
use super::error::ApiError;
use crate::contract::BackendError;
use crate::wire::{IDEMPOTENCY_KEY, REPLAYED};

/// How long an idempotency record is kept (seconds): far longer than any client's
/// retries of one request.
pub const KEEP_RECORDS_SECS: i64 = 24 * 60 * 60;

/// The longest idempotency key accepted.
pub const MAX_KEY_LEN: usize = 200;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS service_idempotency (
    actor   TEXT NOT NULL,
    key     TEXT NOT NULL,
    request TEXT NOT NULL,
    status  INTEGER NOT NULL,
    etag    TEXT,
    body    BLOB NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (actor, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS service_attribution (
    revision INTEGER PRIMARY KEY,
    actor    TEXT NOT NULL
);
";

/// A recorded answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Digest of the request it answered.
    pub request: String,
    /// Its status.
    pub status: u16,
    /// Its `ETag`, if any.
    pub etag: Option<String>,
    /// Its body.
    pub body: Vec<u8>,
}

impl Record {
    /// The recorded answer, marked as a replay.
    fn replay(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        let mut response = Response::new(Body::from(self.body.clone()));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        if !self.body.is_empty() {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        if let Some(etag) = self.etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
            headers.insert(header::ETAG, etag);
        }
        headers.insert(REPLAYED, HeaderValue::from_static("true"));
        response
    }
}

/// The service's own tables, on a second connection to the account's file.
pub struct WriteLog {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for WriteLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteLog").finish_non_exhaustive()
    }
}

impl WriteLog {
    /// Opens the tables in the store at `path` (already opened, so it exists and is
    /// accord's), dropping records older than [`KEEP_RECORDS_SECS`].
    ///
    /// # Errors
    /// [`BackendError::Storage`] when the file cannot be opened or written.
    pub fn open(path: &Path, now: i64) -> Result<Self, BackendError> {
        let storage = |e: rusqlite::Error| BackendError::Storage {
            path: path.to_owned(),
            detail: format!("cannot set up the service's tables: {e}"),
        };
        let conn = Connection::open(path).map_err(storage)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(storage)?;
        conn.execute_batch(SCHEMA).map_err(storage)?;
        conn.execute(
            "DELETE FROM service_idempotency WHERE at < ?1",
            [now - KEEP_RECORDS_SECS],
        )
        .map_err(storage)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&conn)
        })
        .await
        .map_err(|e| ApiError::internal(format!("the service's worker failed: {e}")))?
        .map_err(|e| {
            tracing::error!(error = %e, "the service's tables failed");
            ApiError::internal("the service's tables failed; the service log says why")
        })
    }

    /// The answer recorded for `actor`'s `key`.
    async fn find(&self, actor: &str, key: &str) -> Result<Option<Record>, ApiError> {
        let (actor, key) = (actor.to_owned(), key.to_owned());
        self.run(move |conn| {
            conn.prepare_cached(
                "SELECT request, status, etag, body FROM service_idempotency WHERE actor = ?1 AND key = ?2",
            )?
            .query_row(params![actor, key], |row| {
                Ok(Record {
                    request: row.get(0)?,
                    status: row.get(1)?,
                    etag: row.get(2)?,
                    body: row.get(3)?,
                })
            })
            .optional()
        })
        .await
    }

    /// Records `record` as the answer to `actor`'s `key`.
    async fn record(
        &self,
        actor: &str,
        key: &str,
        record: Record,
        now: i64,
    ) -> Result<(), ApiError> {
        let (actor, key) = (actor.to_owned(), key.to_owned());
        self.run(move |conn| {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO service_idempotency (actor, key, request, status, etag, body, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                actor,
                key,
                record.request,
                record.status,
                record.etag,
                record.body,
                now
            ])
            .map(|_| ())
        })
        .await
    }

    /// Records that `actor` made the change that produced `revision`.
    ///
    /// # Errors
    /// The table cannot be written.
    pub async fn attribute(&self, revision: u64, actor: &str) -> Result<(), ApiError> {
        let actor = actor.to_owned();
        let revision = i64::try_from(revision).unwrap_or(i64::MAX);
        self.run(move |conn| {
            conn.execute(
                "INSERT OR REPLACE INTO service_attribution (revision, actor) VALUES (?1, ?2)",
                params![revision, actor],
            )
            .map(|_| ())
        })
        .await
    }

    /// Every attribution: revision -> actor.
    ///
    /// # Errors
    /// The table cannot be read.
    pub async fn attributions(&self) -> Result<HashMap<u64, String>, ApiError> {
        self.run(|conn| {
            let mut stmt = conn.prepare("SELECT revision, actor FROM service_attribution")?;
            let rows = stmt.query_map([], |row| {
                Ok((
                    u64::try_from(row.get::<_, i64>(0)?).unwrap_or_default(),
                    row.get::<_, String>(1)?,
                ))
            })?;
            rows.collect()
        })
        .await
    }
}

/// Writes in progress; shutdown waits until there are none.
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<(AtomicUsize, Notify)>);

/// One write in progress (dropping it ends it).
#[derive(Debug)]
pub struct InFlightGuard(InFlight);

impl InFlight {
    /// Marks a write as started.
    #[must_use]
    pub fn enter(&self) -> InFlightGuard {
        self.0.0.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(self.clone())
    }

    /// Writes in progress now.
    #[must_use]
    pub fn count(&self) -> usize {
        self.0.0.load(Ordering::SeqCst)
    }

    /// Waits until no write is in progress.
    pub async fn idle(&self) {
        loop {
            let notified = self.0.1.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.count() == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.0.0.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.0.1.notify_waiters();
        }
    }
}

/// Striped locks on idempotency keys: the same key sent twice at once (a retry while
/// the original is still running) waits for the original, then gets its answer.
#[derive(Debug)]
pub struct KeyLocks(Vec<tokio::sync::Mutex<()>>);

impl Default for KeyLocks {
    fn default() -> Self {
        Self((0..64).map(|_| tokio::sync::Mutex::new(())).collect())
    }
}

impl KeyLocks {
    async fn lock(&self, actor: &str, key: &str) -> tokio::sync::MutexGuard<'_, ()> {
        let digest = Sha256::digest(format!("{actor}\n{key}").as_bytes());
        let stripe = usize::from(digest[0]) % self.0.len();
        self.0[stripe].lock().await
    }
}

/// The middleware: reads the whole body (up to the limit), then carries the write out
/// in a detached, tracked task. Reads pass straight through.
pub async fn writes(State(app): State<App>, request: Request, next: Next) -> Response {
    if !is_write(request.method()) {
        return next.run(request).await;
    }
    let key = match idempotency_key(request.headers()) {
        Ok(key) => key,
        Err(error) => return error.into_response(),
    };
    let Some(caller) = request.extensions().get::<Caller>().cloned() else {
        return ApiError::internal("a write reached the store without a caller").into_response();
    };
    let (parts, body) = request.into_parts();
    let max = app.limits.max_body;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > max) {
        return ApiError::body_too_large(max).into_response();
    }
    let bytes = match axum::body::to_bytes(body, max).await {
        Ok(bytes) => bytes,
        Err(error) if error.to_string().contains("length limit") => {
            return ApiError::body_too_large(max).into_response();
        }
        Err(error) => {
            return ApiError::bad_request(
                "unreadable_body",
                format!("the request body could not be read: {error}"),
            )
            .into_response();
        }
    };
    let fingerprint = fingerprint(&parts.method, &parts.uri, &bytes);
    let guard = app.in_flight.enter();
    let task = tokio::spawn(async move {
        let _guard = guard;
        let request = Request::from_parts(parts, Body::from(bytes));
        carry_out(&app, &caller, key, fingerprint, request, next).await
    });
    task.await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "a write task failed");
        ApiError::internal("the write failed inside the service; the service log says why")
            .into_response()
    })
}

async fn carry_out(
    app: &App,
    caller: &Caller,
    key: Option<String>,
    fingerprint: String,
    request: Request,
    next: Next,
) -> Response {
    let Some(key) = key else {
        return next.run(request).await;
    };
    let _same_key = app.key_locks.lock(&caller.name, &key).await;
    match app.write_log.find(&caller.name, &key).await {
        Ok(Some(record)) if record.request == fingerprint => {
            tracing::info!(
                key = key.as_str(),
                who = caller.name.as_str(),
                "replayed the recorded answer of an idempotency key; not carried out again"
            );
            return record.replay();
        }
        Ok(Some(_)) => {
            return ApiError::unprocessable(
                "idempotency_key_reused",
                "this Idempotency-Key was already used for another request: use a new key for each request",
            )
            .into_response();
        }
        Ok(None) => {}
        Err(error) => return error.into_response(),
    }
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(error) => {
            return ApiError::internal(format!("the answer could not be built: {error}"))
                .into_response();
        }
    };
    if is_definitive(parts.status) {
        let record = Record {
            request: fingerprint,
            status: parts.status.as_u16(),
            etag: parts
                .headers
                .get(header::ETAG)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: body.to_vec(),
        };
        if let Err(error) = app
            .write_log
            .record(&caller.name, &key, record, app.clock.now())
            .await
        {
            // The write itself is done; only a later replay would miss its record.
            tracing::error!(message = %error.message, "cannot record an idempotent answer");
        }
    }
    Response::from_parts(parts, Body::from(body))
}

/// Answers worth replaying: success and refusals. Not 5xx (nothing was committed, or
/// the store rolled back), 408 or 429 (trying again is the point).
fn is_definitive(status: StatusCode) -> bool {
    !(status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT)
}

/// The `Idempotency-Key` header, checked.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or_default().trim();
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            format!(
                "an Idempotency-Key is 1 to {MAX_KEY_LEN} visible ASCII characters (a random id per request)"
            ),
        ));
    }
    Ok(Some(key.to_owned()))
}

/// A digest of the request (method, path and query, body): the same key must come
/// with the same request.
fn fingerprint(method: &Method, uri: &Uri, body: &Bytes) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_str().as_bytes());
    hasher.update(b"\n");
    hasher.update(
        uri.path_and_query()
            .map_or(uri.path(), |p| p.as_str())
            .as_bytes(),
    );
    hasher.update(b"\n");
    hasher.update(body);
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn idle_waits_for_every_write_in_flight() {
        let in_flight = InFlight::default();
        in_flight.idle().await;
        let first = in_flight.enter();
        let second = in_flight.enter();
        let waiter = tokio::spawn({
            let in_flight = in_flight.clone();
            async move { in_flight.idle().await }
        });
        drop(first);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(second);
        waiter.await.unwrap();
        assert_eq!(in_flight.count(), 0);
    }

    #[tokio::test]
    async fn records_survive_a_reopen_and_old_ones_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(Connection::open(&path).unwrap());
        let log = WriteLog::open(&path, 1_000_000).unwrap();
        let record = Record {
            request: "r".into(),
            status: 200,
            etag: Some("\"3\"".into()),
            body: b"{}".to_vec(),
        };
        log.record("ci", "k1", record.clone(), 1_000_000)
            .await
            .unwrap();
        log.attribute(3, "ci").await.unwrap();
        drop(log);
        let log = WriteLog::open(&path, 1_000_000 + 10).unwrap();
        assert_eq!(log.find("ci", "k1").await.unwrap(), Some(record));
        assert_eq!(log.find("other", "k1").await.unwrap(), None);
        assert_eq!(
            log.attributions()
                .await
                .unwrap()
                .get(&3)
                .map(String::as_str),
            Some("ci")
        );
        drop(log);
        let log = WriteLog::open(&path, 1_000_000 + KEEP_RECORDS_SECS + 1).unwrap();
        assert_eq!(log.find("ci", "k1").await.unwrap(), None);
    }

    #[test]
    fn keys_are_checked() {
        let mut headers = HeaderMap::new();
        assert_eq!(idempotency_key(&headers).unwrap(), None);
        headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_static("abc-123"));
        assert_eq!(
            idempotency_key(&headers).unwrap().as_deref(),
            Some("abc-123")
        );
        headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_static("has space"));
        assert!(idempotency_key(&headers).is_err());
    }
}
