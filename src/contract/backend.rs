//! The [`Backend`] trait: what every backend implements, and the [`Lock`] some offer.
//!
//! A backend implements four things: [`Backend::capabilities`] (what it manages and
//! how it wants to be called, as data), [`Backend::fetch`] (the whole current
//! [`State`] with a revision and the backend's clock), [`Backend::execute`] (one batch
//! of [`Op`]s, one [`Outcome`] each) and, optionally, [`Backend::lock`] (a lease shared
//! by every process that uses the backend). Everything else is shared and written
//! once: pacing and retries by the call policy ([`crate::call`]), the batch-limit
//! check, restriction to what it manages and manual steps (`plan`), scheduling,
//! journaling and verification (`apply`), and a process-local lock for a backend
//! that offers none. A backend that knows, before the first write, that some
//! operation cannot be carried out says so in [`Backend::preflight`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::capabilities::Capabilities;
use super::error::{BackendError, LockError};
use super::op::Op;
use crate::call::Caller;
use crate::diagnostic::Code;
use crate::state::{AccountInfo, State};

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

/// An operation a backend cannot carry out as planned, found by
/// [`Backend::preflight`] before anything is written (a credential the write needs
/// is missing, a field the backend requires is not set, a value it would not keep).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unfit {
    /// The operation's position in the list given to [`Backend::preflight`].
    pub index: usize,
    /// Why it cannot be carried out, and what to change, in words an account
    /// administrator can act on. Operations that fail for the same reason give the
    /// same text, so a refusal can say it once.
    pub reason: String,
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

/// A recorded change to one target: who made it and when (an audit log entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastChange {
    /// The operation recorded (`member.update`).
    pub op: String,
    /// When (Unix seconds, the backend's clock).
    pub at: i64,
    /// Who: the name of the token that made it; `null` when the backend does not know
    /// (a change made outside the service).
    pub actor: Option<String>,
}

/// The name under which a backend's history records that an apply converged: the
/// account was then as the configuration asked.
pub const APPLIED: &str = "account.applied";

/// What accord last applied, from a backend's history: the revision at which an
/// apply last converged, and every change recorded since (newest per target). A
/// plan uses it to tell drift (the live account changed since) from a reviewed
/// change (the configuration changed since).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The revision the converged apply left the account at.
    pub revision: u64,
    /// When it converged (Unix seconds, the backend's clock).
    pub at: i64,
    /// The newest change per target recorded since then.
    pub since: BTreeMap<String, LastChange>,
}

/// [`Applied`] from a history (oldest first, as `(op, target, at, actor, revision)`):
/// `None` when it records no converged apply.
#[must_use]
pub fn applied_from_history(
    entries: impl IntoIterator<Item = (String, String, i64, Option<String>, u64)>,
) -> Option<Applied> {
    let mut applied: Option<Applied> = None;
    for (op, target, at, actor, revision) in entries {
        if op == APPLIED {
            applied = Some(Applied {
                revision,
                at,
                since: BTreeMap::new(),
            });
        } else if let Some(applied) = &mut applied {
            applied.since.insert(target, LastChange { op, at, actor });
        }
    }
    applied
}

/// Which kind of seat pool a count is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    /// A product of an agreement (`owner` is the contract number).
    Agreement,
    /// A team's product pool (`owner` is the team id).
    Team,
}

/// A product's seats used and total at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatCount {
    /// An agreement's product or a team's pool.
    pub kind: PoolKind,
    /// The contract number or the team id.
    pub owner: String,
    /// The product.
    pub product: String,
    /// Seats held (a team's: direct and inherited).
    pub used: u32,
    /// Seats in total; `null` when unlimited.
    pub seats: Option<u32>,
}

/// A [`SeatCount`] as a backend's history recorded it: the counts after the change
/// that produced `revision`. Backends record a product only when its numbers moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatSample {
    /// The revision the counts are of.
    pub revision: u64,
    /// When (Unix seconds, the backend's clock).
    pub at: i64,
    /// The counts.
    #[serde(flatten)]
    pub count: SeatCount,
}

/// How far a lock reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockScope {
    /// Every process that uses the backend sees the lock (the store's file, the
    /// service): two applies never write at once.
    Shared,
    /// Only this process: the backend keeps no lock (the vendor), so two applies on
    /// two machines (two CI jobs) could race. Plans and applies say so.
    ProcessLocal,
}

/// An apply lock: a lease so two applies never write at once, and a crashed one does
/// not block forever. Every method is safe to call from several tasks at once.
#[async_trait]
pub trait Lock: Send + Sync {
    /// How far the lock reaches.
    fn scope(&self) -> LockScope;

    /// Takes the lock for `holder` for `ttl`, unless someone else holds an unexpired
    /// lease ([`LockError::Held`]). An expired lease is taken over.
    async fn acquire(&self, holder: &str, ttl: Duration) -> Result<Lease, LockError>;

    /// Extends `lease` by its ttl from now. Fails with [`LockError::Lost`] when the lease
    /// is no longer the lock's (it expired and was taken over, or was released).
    async fn renew(&self, lease: &Lease) -> Result<Lease, LockError>;

    /// Gives the lock up. Releasing a lease that was already lost or released is not an
    /// error (there is nothing left to give up).
    async fn release(&self, lease: Lease) -> Result<(), LockError>;
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

    /// The call policy every request of this backend goes through (pacing, retries,
    /// counts). Backends build it from their budgets with [`Caller::new`].
    fn caller(&self) -> &Caller;

    /// Reads the whole current state, its revision and the backend's clock, consistently
    /// (the state is the one at `revision`).
    async fn fetch(&self) -> Result<Snapshot, BackendError>;

    /// Narrows later fetches to the teams `teams` names (those a configuration
    /// declares), where reading the others would cost what the plan does not need:
    /// on the vendor each team's reads spend that team's budget, shared with every
    /// other app. Teams not named are then absent from the state (a plan never
    /// touches undeclared teams). The default reads everything.
    fn focus_teams(&self, teams: &std::collections::BTreeSet<String>) {
        let _ = teams;
    }

    /// Carries out one batch (one backend call), in order, and answers one [`Outcome`]
    /// per operation, in the same order.
    ///
    /// The caller has checked the batch against [`Capabilities::limits`]. A refused or
    /// failed operation does not stop the others: each backend documents how a batch
    /// commits (the embedded store: one transaction; refused operations leave no trace
    /// and the rest commit). A `BackendError` means the call as a whole failed after
    /// the call policy's retries; it may or may not have been carried out.
    async fn execute(&self, batch: &[Op]) -> Result<Vec<Outcome>, BackendError>;

    /// Checks, before anything is written, whether every one of `operations` (a whole
    /// plan, in plan order, against the account just fetched) can be carried out, and
    /// answers those that cannot: a plan with any is refused before its first write
    /// (by `plan` too), so an apply never stops halfway on something knowable in
    /// advance. The default finds nothing: a backend that can carry out whatever its
    /// capabilities admit needs no check.
    async fn preflight(&self, operations: &[Op]) -> Vec<Unfit> {
        let _ = operations;
        Vec::new()
    }

    /// Makes sure the backend holds `account`: a fresh backend (empty account id) takes
    /// its id and name; a backend holding the same id is left as it is (`AlreadySo`,
    /// even if the name differs: there is no operation to rename an account); one holding
    /// another id is refused with [`BackendError::AccountMismatch`]. `apply` calls this
    /// before its first batch. The default suits a backend whose account exists
    /// already and is named by its URL: it only compares ids.
    async fn ensure_account(&self, account: &AccountInfo) -> Result<Outcome, BackendError> {
        let snapshot = self.fetch().await?;
        if snapshot.state.account.id == account.id {
            Ok(Outcome::AlreadySo)
        } else {
            Err(BackendError::AccountMismatch {
                expected: account.id.clone(),
                found: snapshot.state.account.id,
            })
        }
    }

    /// The lock every process using this backend sees, if it keeps one. A backend that
    /// keeps none gets a process-local lock (and `plan` and `apply` say so).
    fn lock(&self) -> Option<Arc<dyn Lock>> {
        None
    }

    /// What accord last applied ([`Applied`]): when an apply last converged and what
    /// changed since. Backends without a history answer `None`, and plans then say
    /// "differs from the configuration" without claiming who changed what.
    ///
    /// # Errors
    /// The backend's history cannot be read.
    async fn last_applied(&self) -> Result<Option<Applied>, BackendError> {
        Ok(None)
    }

    /// Records that an apply converged with the account at `revision` (the
    /// verification's): done only if the account is still at it, so a change made in
    /// between is never taken for applied. Answers whether it was recorded. Backends
    /// without a history record nothing.
    ///
    /// # Errors
    /// The backend cannot be written.
    async fn record_applied(&self, revision: u64) -> Result<bool, BackendError> {
        let _ = revision;
        Ok(false)
    }

    /// Seats used over time, oldest first, where the backend keeps that history (the
    /// embedded store and the account service: each product's counts after every
    /// change that moved them). Backends without a history answer `None`.
    ///
    /// # Errors
    /// The backend's history cannot be read.
    async fn seat_history(&self) -> Result<Option<Vec<SeatSample>>, BackendError> {
        Ok(None)
    }
}
