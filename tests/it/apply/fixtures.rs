//! An onboarding wave built in code, stores to run it against, and a backend wrapper
//! that injects faults at the backend boundary.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord::apply::progress::Silent;
use accord::apply::{ExecuteOptions, Run, Stop, Summary, carry_out};
use accord::backend::sqlite::HistoryEntry;
use accord::backend::{
    Backend, BackendError, Capabilities, Clock, Lock, Outcome, Snapshot, SqliteBackend,
};
use accord::call::{Budget, CallOptions, Caller, Repeat, Request, RetryPolicy};
use accord::desired::Desired;
use accord::plan::{DiffOptions, Op, Plan, diff};
use accord::state::{
    AccessLevel, AccountInfo, AgreementState, CompanyState, Email, MemberState, MemberStatus,
    ProductState, ProjectAccess, ProjectMemberState, ProjectProduct, ProjectState, RoleState,
    State,
};
use tokio::time::Instant;

/// The agreement of the fixture account.
pub const AGREEMENT: &str = "110001234567";

/// 2026-01-01T00:00:00Z.
pub const T0: i64 = 1_767_225_600;

fn mail(raw: &str) -> Email {
    Email::new(raw)
}

fn active(role: &str, access: &[AccessLevel]) -> MemberState {
    MemberState {
        company: Some("ACME".into()),
        role: Some(role.into()),
        access: access.iter().copied().collect(),
        status: MemberStatus::Active,
        signed_in: true,
        ..MemberState::default()
    }
}

fn existing(n: usize) -> Email {
    mail(&format!("e{n:03}@acme.example"))
}

fn newcomer(n: usize) -> Email {
    mail(&format!("n{n:03}@acme.example"))
}

/// The account as it is: alice (admin), 40 members e000..e039; agreement with AutoCAD
/// (100 seats, held by e000..e029) and Revit (50 seats, e030..e039); projects P0..P3.
pub fn current() -> State {
    let mut state = State {
        account: AccountInfo {
            id: "acme".into(),
            name: "ACME".into(),
        },
        ..State::default()
    };
    state
        .companies
        .insert("ACME".into(), CompanyState::default());
    state.roles.insert("Architect".into(), RoleState::default());
    state.roles.insert(
        "BIM Manager".into(),
        RoleState {
            default_access: [AccessLevel::AccountAdmin].into(),
        },
    );
    let alice = mail("alice@acme.example");
    state.members.insert(
        alice.clone(),
        active("BIM Manager", &[AccessLevel::AccountAdmin]),
    );
    for n in 0..40 {
        state.members.insert(existing(n), active("Architect", &[]));
    }
    let products = BTreeMap::from([
        (
            "AutoCAD".to_owned(),
            ProductState {
                seats: Some(100),
                assigned: (0..30).map(existing).collect(),
            },
        ),
        (
            "Revit".to_owned(),
            ProductState {
                seats: Some(50),
                assigned: (30..40).map(existing).collect(),
            },
        ),
    ]);
    state.agreements.insert(
        AGREEMENT.into(),
        AgreementState {
            name: "AEC Collection".into(),
            contract_manager: alice.clone(),
            software_coordinator: alice,
            products,
            ..AgreementState::default()
        },
    );
    for p in 0..4 {
        state
            .projects
            .insert(format!("P{p}"), ProjectState::default());
    }
    state
}

/// The onboarding wave: 60 newcomers invited; the AutoCAD seats of e000..e009 taken
/// back and every newcomer given one, 20 of them a Revit seat too; every newcomer on
/// one project; e010 renamed. 211 operations: 60 invites, 1 update, 10 un-assignments, 80 assignments,
/// 60 project additions.
pub fn desired() -> Desired {
    let mut state = current();
    for n in 0..60 {
        let mut member = active("Architect", &[]);
        member.signed_in = false;
        state.members.insert(newcomer(n), member);
    }
    if let Some(e010) = state.members.get_mut(&existing(10)) {
        e010.first_name = Some("Ten".into());
    }
    let agreement = state.agreements.get_mut(AGREEMENT).expect("agreement");
    let autocad = agreement.products.get_mut("AutoCAD").expect("AutoCAD");
    autocad.assigned = (10..30)
        .map(existing)
        .chain((0..60).map(newcomer))
        .collect();
    let revit = agreement.products.get_mut("Revit").expect("Revit");
    revit.assigned.extend((40..60).map(newcomer));
    for n in 0..60 {
        let project = state
            .projects
            .get_mut(&format!("P{}", n % 4))
            .expect("project");
        project.members.insert(
            newcomer(n),
            ProjectMemberState {
                access: ProjectAccess::Member,
                products: [ProjectProduct::Docs].into(),
            },
        );
    }
    // A desired state holds no backend-owned facts.
    for member in state.members.values_mut() {
        member.status = MemberStatus::Active;
        member.signed_in = false;
        member.invited_at = None;
    }
    Desired {
        state,
        ..Desired::default()
    }
}

/// A clock that follows tokio's (paused) time, so lock leases expire as tests sleep.
#[derive(Debug)]
pub struct TokioClock {
    start: Instant,
}

impl TokioClock {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> i64 {
        T0 + i64::try_from(self.start.elapsed().as_secs()).unwrap_or(0)
    }
}

/// A store in `dir` holding [`current`], with the bulk limit `limit`.
pub async fn seeded_store(dir: &Path, limit: usize) -> SqliteBackend {
    let mut store = SqliteBackend::open(dir.join("state.db"), Arc::new(TokioClock::new()))
        .await
        .expect("open store");
    store.set_bulk_limit(limit);
    store.import_state(&current()).await.expect("seed");
    store
}

/// Plans `desired` against what `backend` holds now.
pub async fn plan(backend: &dyn Backend, desired: &Desired) -> (Plan, u64) {
    let snapshot = backend.fetch().await.expect("fetch");
    let options = DiffOptions::for_backend(&backend.capabilities(), snapshot.now, None);
    let plan = diff(&snapshot.state, desired, &options).expect("a plan");
    (plan, snapshot.revision)
}

/// A retry policy generous in count, so seeded faults never exhaust it.
pub fn patient() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 20,
        initial_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(5),
        max_elapsed: Duration::from_secs(600),
    }
}

/// Plans and carries out `desired` against `backend` (paced and retried by its own
/// call policy), with journals in `runs`.
pub async fn apply(backend: Arc<dyn Backend>, desired: &Desired, runs: &Path) -> (Summary, Plan) {
    let snapshot = backend.fetch().await.expect("fetch");
    let diff_options = DiffOptions::for_backend(&backend.capabilities(), snapshot.now, None);
    let plan = diff(&snapshot.state, desired, &diff_options).expect("a plan");
    let run = Run {
        backend: Arc::clone(&backend),
        plan: plan.clone(),
        revision: snapshot.revision,
        fresh: false,
        desired,
        diff_options,
        holder: "test".into(),
        runs_dir: runs.to_owned(),
        execute: ExecuteOptions { parallelism: 4 },
        progress: Arc::new(Silent),
        stop: Stop::default(),
        started: Instant::now(),
    };
    (carry_out(run).await.expect("carry out"), plan)
}

/// How many times the store's history records each `op target` (the store's own
/// writes, `account.*`, left out).
pub fn history_counts(history: &[HistoryEntry]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for entry in history.iter().filter(|e| !e.op.starts_with("account.")) {
        *counts
            .entry(format!("{} {}", entry.op, entry.target))
            .or_default() += 1;
    }
    counts
}

/// `op target` of each operation of `plan`.
pub fn plan_lines(plan: &Plan) -> BTreeSet<String> {
    plan.operations
        .iter()
        .map(|o| format!("{} {}", o.op.name(), o.target))
        .collect()
}

/// The faults a [`FaultyBackend`] injects, as fractions of calls.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Answered 429 with this `Retry-After`, nothing done.
    pub rate_limited: f64,
    pub retry_after: Option<Duration>,
    /// Answered 500, nothing done.
    pub server_error: f64,
    /// Timed out before the backend got the call: nothing done.
    pub timeout: f64,
    /// The connection dropped after the write committed: done, answer lost.
    pub dropped_after_write: f64,
    /// Each operation of a call that went through answered `Failed { retryable }`
    /// (whether or not it was done).
    pub op_failure: f64,
    /// What the first calls do, whatever the dice say (`"429"`, `"500"`, `"timeout"`,
    /// `"dropped"`), so every kind of fault happens in every run.
    pub first_calls: Vec<&'static str>,
    /// Every call from this one on fails (the backend died).
    pub die_after_calls: Option<usize>,
    /// Targets the backend refuses (never done).
    pub refuse: HashSet<String>,
    /// Declared rate limit.
    pub rate_limit: Option<f64>,
    /// How long each call takes.
    pub latency: Duration,
}

/// One call the wrapper saw.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub at: Instant,
    pub targets: Vec<String>,
    pub result: &'static str,
}

/// The family a faulty backend's calls are counted under.
const FAMILY: &str = "faulty";

/// A backend that fails a seeded fraction of calls the ways a network service does.
/// Its calls go through its own call policy ([`patient`] unless [`Self::with_retry`]),
/// as a real backend's requests do.
pub struct FaultyBackend {
    pub inner: SqliteBackend,
    faults: Faults,
    rng: Mutex<fastrand::Rng>,
    calls: AtomicUsize,
    pub log: Mutex<Vec<CallRecord>>,
    caller: Caller,
    seed: u64,
}

impl FaultyBackend {
    pub fn new(inner: SqliteBackend, faults: Faults, seed: u64) -> Self {
        let caller = Self::caller_for(&faults, patient(), seed);
        Self {
            inner,
            faults,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            calls: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
            caller,
            seed,
        }
    }

    /// The same backend retrying by `retry`.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.caller = Self::caller_for(&self.faults, retry, self.seed);
        self
    }

    fn caller_for(faults: &Faults, retry: RetryPolicy, seed: u64) -> Caller {
        let budgets: Vec<Budget> = faults
            .rate_limit
            .map(|rate| Budget::per_second(FAMILY, rate))
            .into_iter()
            .collect();
        Caller::new(
            &budgets,
            CallOptions {
                retry,
                seed: Some(seed),
                ..CallOptions::default()
            },
        )
    }

    /// A number in [0, 1).
    fn roll(&self) -> f64 {
        self.rng.lock().unwrap().f64()
    }

    fn note(&self, batch: &[Op], result: &'static str) {
        self.log.lock().unwrap().push(CallRecord {
            at: Instant::now(),
            targets: batch
                .iter()
                .map(|op| format!("{} {}", op.name(), op.target()))
                .collect(),
            result,
        });
    }

    pub fn calls(&self) -> Vec<CallRecord> {
        self.log.lock().unwrap().clone()
    }

    async fn through(&self, batch: &[Op]) -> Result<Vec<Outcome>, BackendError> {
        let refused = |op: &Op| self.faults.refuse.contains(&op.target());
        let sent: Vec<Op> = batch.iter().filter(|op| !refused(op)).cloned().collect();
        let mut answers = self.inner.execute(&sent).await?.into_iter();
        Ok(batch
            .iter()
            .map(|op| {
                if refused(op) {
                    Outcome::refused_plain("refused by the test")
                } else {
                    answers.next().expect("one answer per operation")
                }
            })
            .collect())
    }
}

#[async_trait::async_trait]
impl Backend for FaultyBackend {
    fn url(&self) -> String {
        self.inner.url()
    }

    fn capabilities(&self) -> Capabilities {
        let mut capabilities = self.inner.capabilities();
        capabilities.budgets = self
            .faults
            .rate_limit
            .map(|rate| Budget::per_second(FAMILY, rate))
            .into_iter()
            .collect();
        capabilities
    }

    fn caller(&self) -> &Caller {
        &self.caller
    }

    async fn fetch(&self) -> Result<Snapshot, BackendError> {
        self.inner.fetch().await
    }

    /// One call, through the call policy: a batch of idempotent operations, safe to
    /// send again (what a dropped connection already did answers `already_so`).
    async fn execute(&self, batch: &[Op]) -> Result<Vec<Outcome>, BackendError> {
        self.caller
            .call(&Request::write(FAMILY, Repeat::Safe), |_| {
                self.attempt(batch)
            })
            .await
    }

    async fn ensure_account(&self, account: &AccountInfo) -> Result<Outcome, BackendError> {
        self.inner.ensure_account(account).await
    }

    fn lock(&self) -> Option<Arc<dyn Lock>> {
        self.inner.lock()
    }
}

impl FaultyBackend {
    /// One attempt of a call, failing as the dice say.
    async fn attempt(&self, batch: &[Op]) -> Result<Vec<Outcome>, BackendError> {
        if !self.faults.latency.is_zero() {
            tokio::time::sleep(self.faults.latency).await;
        }
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let url = self.inner.url();
        if self.faults.die_after_calls.is_some_and(|limit| n >= limit) {
            self.note(batch, "dead");
            return Err(BackendError::Unreachable {
                url,
                detail: "connection refused".into(),
            });
        }
        let f = &self.faults;
        let edges = [
            f.rate_limited,
            f.server_error,
            f.timeout,
            f.dropped_after_write,
        ];
        let scripted = ["429", "500", "timeout", "dropped"]
            .iter()
            .position(|kind| f.first_calls.get(n) == Some(kind));
        // A scripted call rolls just inside its fault's band.
        let roll = scripted.map_or_else(
            || self.roll(),
            |kind| edges[..kind].iter().sum::<f64>() + edges[kind] / 2.0,
        );
        let mut edge = f.rate_limited;
        if roll < edge {
            self.note(batch, "429");
            return Err(BackendError::RateLimited {
                retry_after: f.retry_after,
            });
        }
        edge += f.server_error;
        if roll < edge {
            self.note(batch, "500");
            return Err(BackendError::Server {
                status: 500,
                detail: "injected".into(),
            });
        }
        edge += f.timeout;
        if roll < edge {
            self.note(batch, "timeout");
            return Err(BackendError::Timeout {
                url,
                detail: "no answer in time".into(),
            });
        }
        edge += f.dropped_after_write;
        if roll < edge {
            self.through(batch).await?;
            self.note(batch, "dropped");
            return Err(BackendError::Timeout {
                url,
                detail: "the connection dropped".into(),
            });
        }
        let mut answers = self.through(batch).await?;
        for answer in &mut answers {
            if f.op_failure > 0.0 && self.roll() < f.op_failure {
                *answer = Outcome::Failed {
                    reason: "injected".into(),
                    retryable: true,
                };
            }
        }
        self.note(batch, "ok");
        Ok(answers)
    }
}
