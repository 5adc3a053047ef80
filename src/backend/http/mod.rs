//! The `http` backend: `--backend http://HOST:PORT` (or `https://`), the account
//! service `accord serve` (or a compatible one), with the token in `ACCORD_TOKEN`.
//!
//! - **Opening** checks the service answers (`/v1/health`: a refused connection asks
//!   "is `accord serve` running at ...?") and reads its bulk limit and request budget
//!   (`/v1/capabilities`); every request then goes through the call policy, paced at
//!   that budget.
//! - **Reading** ([`fetch`]) pins one revision and reads every collection in pages,
//!   concurrently.
//! - **Writing**: each batch is one `POST /v1/operations`, retried by the call policy
//!   when it failed in a retryable way. A write whose connection dropped after the
//!   service committed it is not done twice, by two guards: the batch carries an
//!   `Idempotency-Key` derived from this client's random session id and the batch's
//!   content, so the resend is answered by the service from its record of the first
//!   answer; and should that
//!   record be missing (the service died between its commit and the record), every
//!   operation but `member.resend_invite` is idempotent in the store and answers
//!   `already_so`. The service's audit log shows each change once either way.
//! - **Account and lock calls** carry a random idempotency key and are retried on
//!   transient failures (their answer is replayed if the first one was lost).
//!
//! Errors become messages an administrator can act on: 401 "check `ACCORD_TOKEN`",
//! 403 "this token can only read", 412 "the account changed since the plan".

pub mod client;
pub mod fetch;

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};

use client::{Call, Client, Repeat};
use fetch::FetchStats;
use url::Url;

use crate::call::{CallOptions, Caller};
use crate::contract::{
    Backend, BackendError, Capabilities, Lease, Lock, LockError, LockScope, Op, Outcome, Snapshot,
};
use crate::state::{AccountInfo, Email};
use crate::wire::{
    AccountRequest, AuditEntry, BatchRequest, BatchResponse, ErrorBody, Health, LeaseRequest,
    LockRequest, MAX_PAGE_SIZE, OutcomeResponse, Page, ServiceInfo,
};

/// The environment variable holding the service token.
pub const TOKEN_VARIABLE: &str = "ACCORD_TOKEN";

/// Page requests in flight at once while fetching: enough to hide a network's round
/// trips, few enough for a small service.
pub const DEFAULT_FETCH_CONCURRENCY: usize = 8;

/// The account service over HTTP.
#[derive(Debug)]
pub struct HttpBackend {
    session: Arc<Session>,
    capabilities: Capabilities,
    concurrency: usize,
}

/// One client's session with the service: the connection, and the keys that make
/// its writes safe to send again. It is also the service's lock, as seen from here.
#[derive(Debug)]
struct Session {
    client: Arc<Client>,
    /// This client's random session id: batch keys are unique to it.
    id: [u8; 16],
    /// Counts keys for account and lock calls.
    calls: AtomicU64,
}

impl HttpBackend {
    /// Opens the service at `url` with the token in `ACCORD_TOKEN`.
    ///
    /// # Errors
    /// [`BackendError::Unauthorized`] when `ACCORD_TOKEN` is not set; otherwise as
    /// [`Self::connect`].
    pub async fn open(url: &Url, calls: CallOptions) -> Result<Self, BackendError> {
        let url = url.as_str();
        let token = std::env::var(TOKEN_VARIABLE)
            .ok()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| BackendError::Unauthorized {
                detail: format!(
                    "{TOKEN_VARIABLE} is not set: set it to a token from the tokens file of the service at {}",
                    shown_url(url)
                ),
            })?;
        Self::connect_with(url, &token, calls).await
    }

    /// Opens the service at `url` with `token`.
    ///
    /// # Errors
    /// [`BackendError::UnknownScheme`] for a URL that is not `http(s)://HOST[:PORT]`;
    /// [`BackendError::Unreachable`] when nothing answers there; the service's errors
    /// (401 for a token it does not know).
    pub async fn connect(url: &str, token: &str) -> Result<Self, BackendError> {
        Self::connect_with(url, token, CallOptions::default()).await
    }

    /// As [`Self::connect`], with `calls` for the call policy.
    ///
    /// # Errors
    /// As [`Self::connect`].
    pub async fn connect_with(
        url: &str,
        token: &str,
        calls: CallOptions,
    ) -> Result<Self, BackendError> {
        let base = base_url(url)?;
        let caller = Arc::new(Caller::new(&[], calls));
        let client = Client::new(&base, &shown_url(url), token, Arc::clone(&caller))?;
        let mut health = Call::get("/v1/health");
        health.repeat = Repeat::Never;
        let answer = client.send(&health).await?;
        if answer.status != StatusCode::OK || client.decode::<Health>(&answer).is_err() {
            return Err(BackendError::Rejected {
                detail: format!(
                    "{} does not answer like an accord service (GET /v1/health gave HTTP {}); check the URL",
                    client.shown(),
                    answer.status.as_u16()
                ),
            });
        }
        let info: ServiceInfo = client.json(&Call::get("/v1/capabilities")).await?;
        caller.pacer().set_budgets(&info.capabilities.budgets);
        let mut id = [0_u8; 16];
        id[..8].copy_from_slice(&fastrand::u64(..).to_le_bytes());
        id[8..].copy_from_slice(&fastrand::u64(..).to_le_bytes());
        Ok(Self {
            session: Arc::new(Session {
                client: Arc::new(client),
                id,
                calls: AtomicU64::new(0),
            }),
            capabilities: info.capabilities,
            concurrency: DEFAULT_FETCH_CONCURRENCY,
        })
    }

    /// Sets how many page requests a fetch keeps in flight (benchmarks).
    pub fn set_concurrency(&mut self, concurrency: usize) {
        self.concurrency = concurrency.max(1);
    }

    /// Fetches, and says how many pages it took (benchmarks).
    ///
    /// # Errors
    /// As [`Backend::fetch`].
    pub async fn fetch_with_stats(&self) -> Result<(Snapshot, FetchStats), BackendError> {
        fetch::fetch(&self.session.client, self.concurrency).await
    }

    /// Marks `email` as having accepted the invitation (tests, demos).
    ///
    /// # Errors
    /// The service's errors; a refusal comes back as [`Outcome::Refused`].
    pub async fn accept_invitation(&self, email: &Email) -> Result<Outcome, BackendError> {
        let path = format!(
            "/v1/members/{}/accept-invitation",
            encode_segment(email.as_str())
        );
        let call = Call::write(Method::POST, &path, Vec::new())
            .keyed(self.session.call_key("accept"), Repeat::Safe);
        let answer = self.session.client.send(&call).await?;
        if answer.status.is_success() {
            return Ok(self
                .session
                .client
                .decode::<OutcomeResponse>(&answer)?
                .outcome);
        }
        if answer.status == StatusCode::CONFLICT {
            if let Ok(body) = serde_json::from_slice::<ErrorBody>(&answer.body) {
                return Ok(Outcome::Refused {
                    rule: body
                        .details
                        .get("rule")
                        .and_then(|r| r.as_str())
                        .map(str::to_owned),
                    reason: body.message,
                });
            }
        }
        Err(self.session.client.error(&answer))
    }

    /// The whole audit log, oldest first.
    ///
    /// # Errors
    /// The service's errors.
    pub async fn audit(&self) -> Result<Vec<AuditEntry>, BackendError> {
        let mut entries = Vec::new();
        loop {
            let call = Call::get("/v1/audit")
                .param("limit", MAX_PAGE_SIZE.to_string())
                .param("offset", entries.len().to_string());
            let page: Page<AuditEntry> = self.session.client.json(&call).await?;
            let done = page.items.is_empty() || entries.len() + page.items.len() >= page.total;
            entries.extend(page.items);
            if done {
                return Ok(entries);
            }
        }
    }

    /// Carries out `batch` only if the account is still at `revision` (`If-Match`):
    /// [`BackendError::Stale`] otherwise, with nothing done.
    ///
    /// # Errors
    /// As [`Backend::execute`], and [`BackendError::Stale`].
    pub async fn execute_at(
        &self,
        batch: &[Op],
        revision: u64,
    ) -> Result<Vec<Outcome>, BackendError> {
        self.send_batch(batch, Some(revision)).await
    }

    async fn send_batch(
        &self,
        batch: &[Op],
        revision: Option<u64>,
    ) -> Result<Vec<Outcome>, BackendError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let body = serde_json::to_vec(&BatchRequest {
            operations: batch.to_vec(),
        })
        .map_err(|e| BackendError::Internal {
            detail: format!("cannot write the batch as JSON: {e}"),
        })?;
        let key = self.session.batch_key(&body);
        // The key makes the batch safe to send again: the service answers a resend
        // from its record instead of carrying it out twice.
        let mut call = Call::write(Method::POST, "/v1/operations", body).keyed(key, Repeat::Safe);
        if let Some(revision) = revision {
            call = call.header("if-match", format!("\"{revision}\""));
        }
        let response: BatchResponse = self.session.client.json(&call).await?;
        check_count(response, batch.len())
    }
}

fn check_count(response: BatchResponse, expected: usize) -> Result<Vec<Outcome>, BackendError> {
    if response.outcomes.len() == expected {
        Ok(response.outcomes)
    } else {
        Err(BackendError::Rejected {
            detail: format!(
                "the service answered {} outcomes for {expected} operations",
                response.outcomes.len()
            ),
        })
    }
}

#[async_trait]
impl Backend for HttpBackend {
    fn url(&self) -> String {
        self.session.client.shown().to_owned()
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }

    fn caller(&self) -> &Caller {
        self.session.client.caller()
    }

    async fn fetch(&self) -> Result<Snapshot, BackendError> {
        Ok(self.fetch_with_stats().await?.0)
    }

    async fn execute(&self, batch: &[Op]) -> Result<Vec<Outcome>, BackendError> {
        self.send_batch(batch, None).await
    }

    async fn ensure_account(&self, account: &AccountInfo) -> Result<Outcome, BackendError> {
        let body = json_body(&AccountRequest {
            id: account.id.clone(),
            name: account.name.clone(),
        })?;
        let call = Call::write(Method::PUT, "/v1/account", body)
            .keyed(self.session.call_key("account"), Repeat::Safe);
        let response: OutcomeResponse = self.session.client.json(&call).await?;
        Ok(response.outcome)
    }

    fn lock(&self) -> Option<Arc<dyn Lock>> {
        Some(Arc::clone(&self.session) as Arc<dyn Lock>)
    }

    /// From the audit log (`GET /v1/audit`): its newest `account.applied` and what
    /// changed since.
    async fn last_applied(&self) -> Result<Option<crate::contract::Applied>, BackendError> {
        let entries = self.audit().await?;
        Ok(crate::contract::applied_from_history(
            entries
                .into_iter()
                .map(|e| (e.op, e.target, e.at, e.actor, e.revision)),
        ))
    }

    /// From the audit log: the seat counts its entries carry.
    async fn seat_history(&self) -> Result<Option<Vec<crate::contract::SeatSample>>, BackendError> {
        let entries = self.audit().await?;
        Ok(Some(
            entries
                .into_iter()
                .flat_map(|entry| {
                    let (revision, at) = (entry.revision, entry.at);
                    entry
                        .seats
                        .into_iter()
                        .map(move |count| crate::contract::SeatSample {
                            revision,
                            at,
                            count,
                        })
                })
                .collect(),
        ))
    }

    /// `POST /v1/applied`.
    async fn record_applied(&self, revision: u64) -> Result<bool, BackendError> {
        let body = json_body(&crate::wire::AppliedRequest { revision })?;
        let call = Call::write(Method::POST, "/v1/applied", body)
            .keyed(self.session.call_key("applied"), Repeat::Safe);
        let response: crate::wire::AppliedResponse = self.session.client.json(&call).await?;
        Ok(response.recorded)
    }
}

impl Session {
    /// The key of a batch: this session's id and the batch's content. The executor
    /// resends exactly the same batch after a failed call, so the resend carries the
    /// same key and the service answers it from its record.
    fn batch_key(&self, body: &[u8]) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.id);
        hasher.update(body);
        format!("batch-{}", &hex::encode(hasher.finalize())[..40])
    }

    /// A fresh key for one account or lock call.
    fn call_key(&self, what: &str) -> String {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        format!("{what}-{}-{n}", hex::encode(self.id))
    }

    /// A lock call's answer: the lease, or who holds the lock, or that it was lost.
    async fn lease_call(&self, call: &Call<'_>) -> Result<Lease, LockError> {
        let answer = self.client.send(call).await?;
        if answer.status.is_success() {
            return Ok(self.client.decode(&answer)?);
        }
        if answer.status == StatusCode::CONFLICT {
            if let Ok(body) = serde_json::from_slice::<ErrorBody>(&answer.body) {
                let text = |name: &str| {
                    body.details
                        .get(name)
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_owned()
                };
                let number = |name: &str| {
                    body.details
                        .get(name)
                        .and_then(serde_json::Value::as_i64)
                        .unwrap_or_default()
                };
                match body.code.as_str() {
                    "lock_held" => {
                        return Err(LockError::Held {
                            holder: text("holder"),
                            since: number("since"),
                            expires: number("expires"),
                        });
                    }
                    "lock_lost" => {
                        return Err(LockError::Lost {
                            holder: text("holder"),
                            reason: text("reason"),
                        });
                    }
                    _ => {}
                }
            }
        }
        Err(self.client.error(&answer).into())
    }
}

/// The service's lock: every client of the service sees it.
#[async_trait]
impl Lock for Session {
    fn scope(&self) -> LockScope {
        LockScope::Shared
    }

    async fn acquire(&self, holder: &str, ttl: Duration) -> Result<Lease, LockError> {
        let body = json_body(&LockRequest {
            holder: holder.to_owned(),
            ttl_secs: ttl.as_secs().max(1),
        })?;
        let call =
            Call::write(Method::POST, "/v1/lock", body).keyed(self.call_key("lock"), Repeat::Safe);
        self.lease_call(&call).await
    }

    async fn renew(&self, lease: &Lease) -> Result<Lease, LockError> {
        let body = json_body(&LeaseRequest {
            lease: lease.clone(),
        })?;
        let call = Call::write(Method::POST, "/v1/lock/renew", body)
            .keyed(self.call_key("renew"), Repeat::Safe);
        self.lease_call(&call).await
    }

    async fn release(&self, lease: Lease) -> Result<(), LockError> {
        let body = json_body(&LeaseRequest { lease })?;
        let call = Call::write(Method::POST, "/v1/lock/release", body)
            .keyed(self.call_key("release"), Repeat::Safe);
        let answer = self.client.send(&call).await?;
        if answer.status.is_success() {
            Ok(())
        } else {
            Err(self.client.error(&answer).into())
        }
    }
}

fn json_body<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, BackendError> {
    serde_json::to_vec(value).map_err(|e| BackendError::Internal {
        detail: format!("cannot write the request as JSON: {e}"),
    })
}

/// The base URL requests are made under: scheme, host, port and any path prefix,
/// without a trailing slash.
///
/// # Errors
/// [`BackendError::UnknownScheme`] when `url` is not an `http(s)://` URL with a host.
pub fn base_url(url: &str) -> Result<String, BackendError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| BackendError::UnknownScheme {
        url: shown_url(url),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(BackendError::UnknownScheme {
            url: shown_url(url),
        });
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// `url` as messages show it: without any `user:password@`.
#[must_use]
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.as_str().trim_end_matches('/').to_owned()
        }
        Ok(_) => url.trim_end_matches('/').to_owned(),
        // Not a URL: whatever stands between `://` and the last `@` of the host
        // part may still be a password.
        Err(_) => {
            let Some((scheme, rest)) = url.split_once("://") else {
                return url.trim_end_matches('/').to_owned();
            };
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let host = rest[..end].rfind('@').map_or(rest, |at| &rest[at + 1..]);
            format!("{scheme}://{host}")
                .trim_end_matches('/')
                .to_owned()
        }
    }
}

/// Percent-encodes one path segment (an email, a project name).
#[must_use]
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~@+".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_shown_without_credentials() {
        assert_eq!(
            base_url("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            base_url("https://accord.example/api").unwrap(),
            "https://accord.example/api"
        );
        assert!(base_url("ftp://x").is_err());
        assert!(base_url("http://").is_err());
        assert_eq!(
            shown_url("https://u:p@accord.example/"),
            "https://accord.example"
        );
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("a.b+c@x.example"), "a.b+c@x.example");
        assert_eq!(encode_segment("Tower A/B"), "Tower%20A%2FB");
    }
}
