//! The apply lock, held for a whole apply: taken (waiting up to `--lock-timeout`
//! while someone else holds it), renewed in the background while the apply runs,
//! and released at the end. A lease left by a crashed apply expires after its ttl,
//! so it never blocks for long.
//!
//! If the lease is lost (it expired while renewals failed, and another apply took
//! it), the renewal task raises [`Stop`]: the executor sends no further call, so two
//! applies never write at once.
//!
//! The lock is the backend's own ([`crate::contract::Backend::lock`]) when it keeps
//! one; a backend that keeps none (the vendor) gets a [`ProcessLock`], and `plan`
//! and `apply` say that two applies on two machines could then race.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::contract::{Backend, Lease, Lock, LockError, LockScope};
use crate::time::{Clock, SystemClock, format_utc};

/// The lock `backend` keeps, or a lock local to this process for one that keeps none.
#[must_use]
pub fn lock_of(backend: &dyn Backend) -> Arc<dyn Lock> {
    backend
        .lock()
        .unwrap_or_else(|| Arc::new(ProcessLock::new(&backend.url())))
}

/// Leases held in this process, by backend URL.
static PROCESS_LEASES: LazyLock<Mutex<HashMap<String, Lease>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// A lock only this process sees, for a backend that keeps none: it keeps two applies
/// of one process apart (a test, a tool embedding accord), not two CI jobs.
#[derive(Debug, Clone)]
pub struct ProcessLock {
    url: String,
}

impl ProcessLock {
    /// The process-local lock of the backend at `url`.
    #[must_use]
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
        }
    }
}

#[async_trait]
impl Lock for ProcessLock {
    fn scope(&self) -> LockScope {
        LockScope::ProcessLocal
    }

    async fn acquire(&self, holder: &str, ttl: Duration) -> Result<Lease, LockError> {
        let now = SystemClock.now();
        let secs = ttl.as_secs().max(1);
        let mut leases = PROCESS_LEASES
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(current) = leases.get(&self.url) {
            if current.expires > now {
                return Err(LockError::Held {
                    holder: current.holder.clone(),
                    since: current.since,
                    expires: current.expires,
                });
            }
        }
        let lease = Lease {
            holder: holder.to_owned(),
            token: format!("process-{}-{:016x}", std::process::id(), fastrand::u64(..)),
            since: now,
            expires: now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX)),
            ttl_secs: secs,
        };
        leases.insert(self.url.clone(), lease.clone());
        Ok(lease)
    }

    async fn renew(&self, lease: &Lease) -> Result<Lease, LockError> {
        let now = SystemClock.now();
        let mut leases = PROCESS_LEASES
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match leases.get_mut(&self.url) {
            Some(current) if current.token == lease.token => {
                current.expires =
                    now.saturating_add(i64::try_from(current.ttl_secs).unwrap_or(i64::MAX));
                Ok(current.clone())
            }
            _ => Err(LockError::Lost {
                holder: lease.holder.clone(),
                reason: "the lease was released".into(),
            }),
        }
    }

    async fn release(&self, lease: Lease) -> Result<(), LockError> {
        let mut leases = PROCESS_LEASES
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if leases
            .get(&self.url)
            .is_some_and(|l| l.token == lease.token)
        {
            leases.remove(&self.url);
        }
        Ok(())
    }
}

/// Why an apply must stop sending calls (the lock was lost, the backend keeps
/// failing). Clones share the same flag.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<Mutex<Option<String>>>);

impl Stop {
    /// Raises the flag with `reason`; the first reason is kept.
    pub fn trigger(&self, reason: impl Into<String>) {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        slot.get_or_insert_with(|| reason.into());
    }

    /// Why the apply must stop, if it must.
    #[must_use]
    pub fn reason(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// How the lock is taken and kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockOptions {
    /// How long a lease lasts unless renewed (it is renewed every third of it).
    pub ttl: Duration,
    /// How long to wait for another holder to finish.
    pub timeout: Duration,
    /// How often to try again while waiting.
    pub poll: Duration,
}

impl Default for LockOptions {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(30),
            timeout: Duration::from_secs(60),
            poll: Duration::from_millis(500),
        }
    }
}

/// The lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockFailure {
    /// Someone else held it for the whole wait.
    #[error(
        "the account is locked by {holder} since {} (waited {}, --lock-timeout); their lock expires at {} unless renewed. If that apply is still running, wait for it and run again; if it crashed, its lock expires by itself",
        format_utc(*since),
        format_duration(*waited),
        format_utc(*expires)
    )]
    Held {
        /// The holder.
        holder: String,
        /// Since when (Unix seconds).
        since: i64,
        /// When it expires unless renewed (Unix seconds).
        expires: i64,
        /// How long we waited.
        waited: Duration,
    },
    /// The backend failed.
    #[error("cannot take the apply lock: {0}")]
    Backend(LockError),
}

/// Takes the lock for `holder`, waiting while someone else holds it, up to
/// `options.timeout`. `on_wait` is called once, when the wait starts, with the
/// current holder's lease details.
///
/// # Errors
/// [`LockFailure::Held`] when the wait ran out; [`LockFailure::Backend`] otherwise.
pub async fn acquire(
    lock: &dyn Lock,
    holder: &str,
    options: &LockOptions,
    mut on_wait: impl FnMut(&str, i64),
) -> Result<Lease, LockFailure> {
    let start = Instant::now();
    let mut told = false;
    loop {
        match lock.acquire(holder, options.ttl).await {
            Ok(lease) => return Ok(lease),
            Err(LockError::Held {
                holder: other,
                since,
                expires,
            }) => {
                let waited = start.elapsed();
                if waited >= options.timeout {
                    return Err(LockFailure::Held {
                        holder: other,
                        since,
                        expires,
                        waited,
                    });
                }
                if !told {
                    on_wait(&other, since);
                    told = true;
                }
                let pause = options.poll.min(options.timeout.saturating_sub(waited));
                tokio::time::sleep(pause.max(Duration::from_millis(1))).await;
            }
            Err(other) => return Err(LockFailure::Backend(other)),
        }
    }
}

/// A held lock, renewed in the background until released.
pub struct HeldLock {
    lock: Arc<dyn Lock>,
    lease: Arc<Mutex<Lease>>,
    renewals: Arc<AtomicU64>,
    renewer: JoinHandle<()>,
}

impl HeldLock {
    /// Starts renewing `lease` every third of its ttl; on loss, raises `stop`.
    #[must_use]
    pub fn keep(lock: Arc<dyn Lock>, lease: Lease, stop: Stop) -> Self {
        let ttl = Duration::from_secs(lease.ttl_secs.max(1));
        let lease = Arc::new(Mutex::new(lease));
        let renewals = Arc::new(AtomicU64::new(0));
        let renewer = tokio::spawn(renew_until_stopped(
            Arc::clone(&lock),
            Arc::clone(&lease),
            ttl,
            Arc::clone(&renewals),
            stop,
        ));
        Self {
            lock,
            lease,
            renewals,
            renewer,
        }
    }

    /// The lease as last renewed.
    #[must_use]
    pub fn lease(&self) -> Lease {
        self.lease
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many times the lease was renewed.
    #[must_use]
    pub fn renewals(&self) -> u64 {
        self.renewals.load(Ordering::Relaxed)
    }

    /// Stops renewing and gives the lock up.
    ///
    /// # Errors
    /// The backend could not be told (the lease then expires by itself).
    pub async fn release(self) -> Result<(), LockError> {
        self.renewer.abort();
        // Wait for the renewal task to end, so no renewal races the release.
        let _ = self.renewer.await;
        let lease = self
            .lease
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        self.lock.release(lease).await
    }

    /// How far the lock reaches.
    #[must_use]
    pub fn scope(&self) -> LockScope {
        self.lock.scope()
    }
}

impl std::fmt::Debug for HeldLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldLock")
            .field("lease", &self.lease())
            .field("scope", &self.scope())
            .finish_non_exhaustive()
    }
}

async fn renew_until_stopped(
    lock: Arc<dyn Lock>,
    lease: Arc<Mutex<Lease>>,
    ttl: Duration,
    renewals: Arc<AtomicU64>,
    stop: Stop,
) {
    let every = ttl / 3;
    let mut renewed_at = Instant::now();
    loop {
        tokio::time::sleep(every).await;
        let current = lease.lock().unwrap_or_else(PoisonError::into_inner).clone();
        match lock.renew(&current).await {
            Ok(renewed) => {
                *lease.lock().unwrap_or_else(PoisonError::into_inner) = renewed;
                renewals.fetch_add(1, Ordering::Relaxed);
                renewed_at = Instant::now();
            }
            Err(lost @ LockError::Lost { .. }) => {
                stop.trigger(format!(
                    "{lost}; no further change was sent, so two applies never write at once"
                ));
                return;
            }
            // A passing failure: try again at the next tick, unless the lease may
            // already have run out.
            Err(other) => {
                if renewed_at.elapsed() >= ttl {
                    stop.trigger(format!(
                        "the apply lock could not be renewed for {} ({other}), so it may have expired; no further change was sent",
                        format_duration(ttl)
                    ));
                    return;
                }
            }
        }
    }
}

/// `1m 30s`, `45s`, `250ms`: whole seconds from a second up.
#[must_use]
pub fn format_duration(duration: Duration) -> String {
    let shown = if duration.as_secs() == 0 {
        Duration::from_millis(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    } else {
        Duration::from_secs(duration.as_secs())
    };
    humantime::format_duration(shown).to_string()
}

/// Who is applying, for other applies to see: `user@host pid N`.
#[must_use]
pub fn holder() -> String {
    let user = ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "someone".into());
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into());
    format!("{user}@{host} pid {}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_secs(45)), "45s");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m 30s");
        assert_eq!(format_duration(Duration::from_secs(3_725)), "1h 2m 5s");
    }

    #[tokio::test]
    async fn a_process_lock_keeps_two_holders_apart_and_is_released() {
        let lock = ProcessLock::new("test://process-lock");
        let lease = lock.acquire("a", Duration::from_secs(30)).await.unwrap();
        let held = lock
            .acquire("b", Duration::from_secs(30))
            .await
            .unwrap_err();
        assert!(
            matches!(held, LockError::Held { ref holder, .. } if holder == "a"),
            "{held}"
        );
        assert_eq!(lock.scope(), LockScope::ProcessLocal);
        let renewed = lock.renew(&lease).await.unwrap();
        assert_eq!(renewed.token, lease.token);
        lock.release(lease.clone()).await.unwrap();
        assert!(matches!(
            lock.renew(&lease).await,
            Err(LockError::Lost { .. })
        ));
        lock.acquire("b", Duration::from_secs(30)).await.unwrap();
    }

    #[test]
    fn the_first_stop_reason_is_kept() {
        let stop = Stop::default();
        assert_eq!(stop.reason(), None);
        stop.clone().trigger("lost");
        stop.trigger("later");
        assert_eq!(stop.reason().as_deref(), Some("lost"));
    }
}
