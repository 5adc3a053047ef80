//! The apply benchmark (BENCHMARKS.md, "## apply"): an onboarding wave of 10,000
//! operations applied to the embedded store.
//!
//! ```text
//! cargo build --release --bin accord --example apply
//! target/release/examples/apply [--rates 20,50] [--keep DIR]
//! ```
//!
//! The workload (deterministic): an account of 1,201 members (alice, admin, and
//! e0000..e1199), 20 companies, 20 projects, one agreement with AutoCAD (4,000 seats)
//! and Revit (1,000 seats, held by e0000..e0999). The configuration onboards 2,000
//! newcomers n0000..n1999: each is invited, gets an AutoCAD seat and joins two of the
//! 20 projects; the Revit seats of e0000..e0999 move to n0000..n0999. That is 2,000
//! invitations, 1,000 seat un-assignments, 3,000 seat assignments and 4,000 project
//! additions: 10,000 operations.
//!
//! It measures:
//! 1. The whole `accord apply --auto-approve --format json` process on that workload
//!    (configuration written by `accord::export`, store seeded with `import_state`),
//!    under `/usr/bin/time`: wall time, peak memory, and the calls its JSON summary
//!    counts, next to the minimum given the bulk limits (the sum over operation kinds
//!    of ceil(count / limit)) and to one call per change.
//! 2. For each rate R of `--rates`, the same plan carried out in-process against the
//!    store behind a limiter that allows R calls per second (a token bucket with a
//!    burst of 2, answering 429 with `Retry-After` when a call comes too early) and
//!    declares R: the achieved rate of calls / R, the 429s and the longest run of them.

#[path = "tool.rs"]
mod tool;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord::apply::progress::Silent;
use accord::apply::{ExecuteOptions, Run, Stop, carry_out};
use accord::backend::{
    Backend, BackendError, Capabilities, Lock, Outcome, Snapshot, SqliteBackend, SystemClock,
};
use accord::call::{Budget, CallOptions, Caller, Repeat, Request};
use accord::desired::Desired;
use accord::plan::DiffOptions;
use accord::plan::{Op, Plan, diff};
use accord::state::{
    AccessLevel, AccountInfo, AgreementState, CompanyState, Email, MemberState, MemberStatus,
    ProductState, ProjectAccess, ProjectMemberState, ProjectProduct, ProjectState, RoleState,
    State,
};
use tokio::time::Instant;

const EXISTING: usize = 1_200;
const NEWCOMERS: usize = 2_000;
const MOVED: usize = 1_000;
const PROJECTS: usize = 20;
const COMPANIES: usize = 20;
const NUMBER: &str = "110001234567";

fn main() -> ExitCode {
    let mut rates = vec![20.0, 50.0];
    let mut keep: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--rates", Some(list)) => {
                rates = list
                    .split(',')
                    .filter_map(|r| r.trim().parse().ok())
                    .collect();
            }
            ("--keep", Some(dir)) => keep = Some(PathBuf::from(dir)),
            _ => {
                eprintln!("usage: apply [--rates 20,50] [--keep DIR]");
                return ExitCode::from(2);
            }
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    tool::finish(runtime.block_on(run(&rates, keep)))
}

async fn run(rates: &[f64], keep: Option<PathBuf>) -> Result<(), String> {
    let temp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = keep.unwrap_or_else(|| temp.path().to_owned());
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let (current, desired) = (current(), desired());
    let plan = diff(
        &current,
        &desired,
        &DiffOptions::for_backend(&Capabilities::full(100), 0, None),
    )
    .map_err(|e| format!("the workload does not plan: {e}"))?;
    let kinds = count_kinds(&plan);
    let minimum: usize = kinds.values().map(|n| n.div_ceil(100)).sum();
    println!("workload: {} operations ({kinds:?})", plan.operations.len());
    println!(
        "plan batches: {}; minimum calls given the bulk limit of 100: {minimum}; one call per change: {}",
        plan.batches,
        plan.operations.len()
    );

    let whole = whole_process(&dir, &current, &desired).await?;
    println!(
        "\nwhole process (accord apply --auto-approve --format json):\n  converged {}; {} operations done; write calls {} (minimum {minimum}, ratio {:.2}; one per change: {}); all calls {}\n  wall {:.2} s; peak memory {:.1} MiB",
        whole.converged,
        whole.done,
        whole.write_calls,
        ratio(whole.write_calls, minimum),
        plan.operations.len(),
        whole.api_calls,
        whole.wall_secs,
        whole.peak_kib / 1024.0,
    );
    for &rate in rates {
        let paced = rate_limited(&dir, rate, &current, &desired).await?;
        println!(
            "\nagainst a backend limited to {rate} calls/s: converged {}; {} write calls admitted over {:.2} s = {:.2}/s; achieved / R = {:.3}; 429s {} (longest run {}); apply wall {:.2} s",
            paced.converged,
            paced.calls,
            paced.span_secs,
            paced.achieved,
            paced.achieved / rate,
            paced.rejected,
            paced.longest_run,
            paced.wall_secs,
        );
    }
    Ok(())
}

#[allow(clippy::cast_precision_loss)] // call counts are far below 2^52
fn ratio(a: u64, b: usize) -> f64 {
    a as f64 / b as f64
}

fn count_kinds(plan: &Plan) -> BTreeMap<&'static str, usize> {
    let mut kinds = BTreeMap::new();
    for operation in &plan.operations {
        *kinds.entry(operation.op.name()).or_default() += 1;
    }
    kinds
}

fn mail(raw: &str) -> Email {
    Email::new(raw)
}

fn existing(n: usize) -> Email {
    mail(&format!("e{n:04}@acme.example"))
}

fn newcomer(n: usize) -> Email {
    mail(&format!("n{n:04}@acme.example"))
}

fn company(n: usize) -> String {
    format!("Company {:02}", n % COMPANIES)
}

fn project(n: usize) -> String {
    format!("Project {:02}", n % PROJECTS)
}

fn member(company: String, role: &str, access: &[AccessLevel]) -> MemberState {
    MemberState {
        company: Some(company),
        role: Some(role.into()),
        access: access.iter().copied().collect(),
        status: MemberStatus::Active,
        signed_in: true,
        ..MemberState::default()
    }
}

fn on_project() -> ProjectMemberState {
    ProjectMemberState {
        access: ProjectAccess::Member,
        products: [ProjectProduct::Docs].into(),
    }
}

/// The account before the wave (see the module docs).
fn current() -> State {
    let mut state = State {
        account: AccountInfo {
            id: "acme-bench".into(),
            name: "ACME".into(),
        },
        ..State::default()
    };
    for n in 0..COMPANIES {
        state.companies.insert(company(n), CompanyState::default());
    }
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
        member(company(0), "BIM Manager", &[AccessLevel::AccountAdmin]),
    );
    for n in 0..EXISTING {
        state
            .members
            .insert(existing(n), member(company(n), "Architect", &[]));
    }
    let products = BTreeMap::from([
        (
            "AutoCAD".to_owned(),
            ProductState {
                seats: Some(4_000),
                assigned: std::collections::BTreeSet::new(),
            },
        ),
        (
            "Revit".to_owned(),
            ProductState {
                seats: Some(1_000),
                assigned: (0..MOVED).map(existing).collect(),
            },
        ),
    ]);
    state.agreements.insert(
        NUMBER.into(),
        AgreementState {
            name: "AEC Collection".into(),
            contract_manager: alice.clone(),
            software_coordinator: alice,
            products,
            ..AgreementState::default()
        },
    );
    for p in 0..PROJECTS {
        let mut members = BTreeMap::new();
        for n in (p..EXISTING).step_by(PROJECTS) {
            members.insert(existing(n), on_project());
        }
        state.projects.insert(project(p), ProjectState { members });
    }
    state
}

/// The account the configuration asks for (see the module docs).
fn desired() -> Desired {
    let mut state = current();
    for n in 0..NEWCOMERS {
        state
            .members
            .insert(newcomer(n), member(company(n), "Architect", &[]));
        for p in [n, n + PROJECTS / 2] {
            if let Some(project) = state.projects.get_mut(&project(p)) {
                project.members.insert(newcomer(n), on_project());
            }
        }
    }
    if let Some(agreement) = state.agreements.get_mut(NUMBER) {
        if let Some(autocad) = agreement.products.get_mut("AutoCAD") {
            autocad.assigned = (0..NEWCOMERS).map(newcomer).collect();
        }
        if let Some(revit) = agreement.products.get_mut("Revit") {
            revit.assigned = (0..MOVED).map(newcomer).collect();
        }
    }
    for member in state.members.values_mut() {
        member.signed_in = false;
    }
    Desired {
        state,
        ..Desired::default()
    }
}

async fn seed(path: &Path, state: &State) -> Result<SqliteBackend, String> {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let store = SqliteBackend::open(path, Arc::new(SystemClock))
        .await
        .map_err(|e| e.to_string())?;
    store.import_state(state).await.map_err(|e| e.to_string())?;
    Ok(store)
}

/// What the whole-process run measured.
struct Whole {
    converged: bool,
    done: u64,
    write_calls: u64,
    api_calls: u64,
    wall_secs: f64,
    peak_kib: f64,
}

async fn whole_process(dir: &Path, current: &State, desired: &Desired) -> Result<Whole, String> {
    let config = dir.join("config");
    let _ = std::fs::remove_dir_all(&config);
    std::fs::create_dir_all(&config).map_err(|e| e.to_string())?;
    for (name, text) in accord::export::files(&desired.state, "# apply benchmark workload\n", 0) {
        std::fs::write(config.join(name), text).map_err(|e| e.to_string())?;
    }
    let store = dir.join("state.db");
    drop(seed(&store, current).await?);
    let accord = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .parent()
        .and_then(Path::parent)
        .map(|release| release.join("accord"))
        .ok_or("cannot find the accord binary next to this example")?;
    let timing = dir.join("time.txt");
    let output = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%e %M")
        .arg("-o")
        .arg(&timing)
        .arg(&accord)
        .arg("apply")
        .arg(&config)
        .arg("--backend")
        .arg(format!("sqlite:{}", store.display()))
        .arg("--runs-dir")
        .arg(dir.join("runs"))
        .args(["--auto-approve", "--format", "json"])
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run /usr/bin/time {}: {e}", accord.display()))?;
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "accord apply printed no JSON summary ({e}); exit {}",
            output.status
        )
    })?;
    let time = std::fs::read_to_string(&timing).map_err(|e| e.to_string())?;
    let mut fields = time.split_whitespace().map(str::parse::<f64>);
    let (Some(Ok(wall_secs)), Some(Ok(peak_kib))) = (fields.next(), fields.next()) else {
        return Err(format!("cannot read /usr/bin/time's output: {time}"));
    };
    Ok(Whole {
        converged: summary["converged"] == true,
        done: summary["done"].as_u64().unwrap_or(0),
        write_calls: summary["write_calls"].as_u64().unwrap_or(0),
        api_calls: summary["api_calls"].as_u64().unwrap_or(0),
        wall_secs,
        peak_kib,
    })
}

/// What a rate-limited run measured.
struct Paced {
    converged: bool,
    calls: usize,
    span_secs: f64,
    achieved: f64,
    rejected: u64,
    longest_run: u64,
    wall_secs: f64,
}

async fn rate_limited(
    dir: &Path,
    rate: f64,
    current: &State,
    desired: &Desired,
) -> Result<Paced, String> {
    let store = seed(&dir.join("paced.db"), current).await?;
    let limited = Arc::new(Limited::new(store, rate));
    let snapshot = limited.fetch().await.map_err(|e| e.to_string())?;
    let diff_options = DiffOptions::for_backend(&limited.capabilities(), snapshot.now, None);
    let plan = diff(&snapshot.state, desired, &diff_options).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let run = Run {
        backend: limited.clone(),
        plan,
        revision: snapshot.revision,
        fresh: false,
        desired,
        diff_options,
        holder: "bench".into(),
        runs_dir: dir.join("runs"),
        execute: ExecuteOptions {
            parallelism: accord::apply::DEFAULT_PARALLELISM,
        },
        progress: Arc::new(Silent),
        stop: Stop::default(),
        started,
    };
    let summary = carry_out(run).await.map_err(|e| e.to_string())?;
    let wall_secs = started.elapsed().as_secs_f64();
    let calls = limited.calls.lock().map_err(|e| e.to_string())?.clone();
    // The rate calls were admitted at: N calls make N - 1 intervals between the first
    // and the last admission.
    let (Some(first), Some(last)) = (
        calls.iter().map(|c| c.0).min(),
        calls.iter().map(|c| c.0).max(),
    ) else {
        return Err("no call was made".into());
    };
    let span_secs = (last - first).as_secs_f64();
    #[allow(clippy::cast_precision_loss)] // call counts are far below 2^52
    let achieved = (calls.len() - 1) as f64 / span_secs;
    Ok(Paced {
        converged: summary.converged,
        calls: calls.len(),
        span_secs,
        achieved,
        rejected: limited.rejected.load(Ordering::Relaxed),
        longest_run: limited.longest_run.load(Ordering::Relaxed),
        wall_secs,
    })
}

/// The family the limited store's writes are paced under.
const FAMILY: &str = "limited";

/// The store behind a server-side rate limiter: a token bucket of `rate` per second
/// with a burst of 2; a write that comes too early is answered 429 with the wait.
/// It declares `rate` as its budget, so the call policy paces the client to it.
struct Limited {
    inner: SqliteBackend,
    rate: f64,
    caller: Caller,
    bucket: Mutex<(f64, Instant)>,
    /// (admitted, answered) of every write that went through.
    calls: Mutex<Vec<(Instant, Instant)>>,
    rejected: AtomicU64,
    run: AtomicU64,
    longest_run: AtomicU64,
}

impl Limited {
    fn new(inner: SqliteBackend, rate: f64) -> Self {
        Self {
            inner,
            rate,
            caller: Caller::new(
                &[Budget::per_second(FAMILY, rate)],
                CallOptions {
                    seed: Some(1),
                    ..CallOptions::default()
                },
            ),
            bucket: Mutex::new((2.0, Instant::now())),
            calls: Mutex::new(Vec::new()),
            rejected: AtomicU64::new(0),
            run: AtomicU64::new(0),
            longest_run: AtomicU64::new(0),
        }
    }

    /// Takes a token, or answers how long until one is there.
    fn admit(&self) -> Result<(), Duration> {
        let mut bucket = self
            .bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let tokens = (bucket.0 + (now - bucket.1).as_secs_f64() * self.rate).min(2.0);
        *bucket = (tokens, now);
        if tokens >= 1.0 {
            bucket.0 -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - tokens) / self.rate))
        }
    }
}

#[async_trait::async_trait]
impl Backend for Limited {
    fn url(&self) -> String {
        self.inner.url()
    }

    fn capabilities(&self) -> Capabilities {
        let mut capabilities = self.inner.capabilities();
        capabilities.budgets = vec![Budget::per_second(FAMILY, self.rate)];
        capabilities
    }

    fn caller(&self) -> &Caller {
        &self.caller
    }

    async fn fetch(&self) -> Result<Snapshot, BackendError> {
        self.inner.fetch().await
    }

    async fn execute(&self, batch: &[Op]) -> Result<Vec<Outcome>, BackendError> {
        self.caller
            .call(&Request::write(FAMILY, Repeat::Safe), |_| async {
                if let Err(wait) = self.admit() {
                    self.rejected.fetch_add(1, Ordering::Relaxed);
                    let run = self.run.fetch_add(1, Ordering::Relaxed) + 1;
                    self.longest_run.fetch_max(run, Ordering::Relaxed);
                    return Err(BackendError::RateLimited {
                        retry_after: Some(wait),
                    });
                }
                self.run.store(0, Ordering::Relaxed);
                let start = Instant::now();
                let result = self.inner.execute(batch).await;
                if let Ok(mut calls) = self.calls.lock() {
                    calls.push((start, Instant::now()));
                }
                result
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
