//! `accord apply`'s engine: carrying out a plan safely, resumably, and never doing
//! work twice.
//!
//! The command (`src/commands/apply.rs`) validates, takes the lock ([`lock`]),
//! fetches, plans (or checks a saved plan), asks for approval, then hands the plan
//! to [`carry_out`], which:
//!
//! 1. opens the run's [`journal`] and recovers what a dead earlier run left in doubt
//!    (and waits until the account shows what a dead run was told was done);
//! 2. gives a fresh backend its account ([`crate::backend::Backend::ensure_account`]);
//! 3. runs the [`executor`]: calls cut by [`schedule`], wave after wave, the calls of a
//!    wave concurrently; each paced and retried by the backend's call policy
//!    ([`crate::call`]), its failures isolated ([`deps`]);
//! 4. [`verify`]: fetches again and diffs, so "converged" is checked, not assumed;
//! 5. closes the journal and reports ([`report`], [`progress`]).
//!
//! Nothing here prints or asks: feedback goes through [`progress::Progress`], and
//! the command decides what to show.

pub mod deps;
pub mod executor;
pub mod journal;
pub mod lock;
pub mod outcome;
pub mod partial;
pub mod progress;
pub mod report;
pub mod schedule;
pub mod verify;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::time::Instant;

pub use executor::{DEFAULT_PARALLELISM, ExecuteOptions, Execution, Executor};
pub use journal::{DEFAULT_RUNS_DIR, Journal};
pub use lock::{HeldLock, LockFailure, LockOptions, ProcessLock, Stop};
pub use outcome::{OpOutcome, Tally};
pub use report::{Problem, Summary};
pub use schedule::Schedule;
pub use verify::{Verification, verify};

use crate::contract::{Backend, BackendError};
use crate::desired::Desired;
use crate::plan::{DiffOptions, Plan};
use journal::{OpRef, RunInfo};

/// Everything [`carry_out`] needs.
pub struct Run<'a> {
    /// The backend; the caller holds its lock.
    pub backend: Arc<dyn Backend>,
    /// The plan to carry out (checked: safety rules passed, not stale).
    pub plan: Plan,
    /// The revision the plan was made at.
    pub revision: u64,
    /// Whether the backend holds no account yet.
    pub fresh: bool,
    /// The configuration, for the verification.
    pub desired: &'a Desired,
    /// The diff options the plan was made with, for the verification.
    pub diff_options: DiffOptions,
    /// Who holds the lock (recorded in the journal).
    pub holder: String,
    /// Where the journal goes.
    pub runs_dir: PathBuf,
    /// How calls are carried out.
    pub execute: ExecuteOptions,
    /// Where feedback goes.
    pub progress: Arc<dyn progress::Progress>,
    /// Raised to stop sending calls (the lock was lost).
    pub stop: Stop,
    /// When the apply started (before it fetched), for the summary's elapsed time.
    pub started: Instant,
}

/// Why [`carry_out`] could not get going; nothing was written in either case.
#[derive(Debug, thiserror::Error)]
pub enum CarryOutError {
    /// The journal cannot be created.
    #[error(
        "cannot write the run journal in {}: {source}; choose another directory with --runs-dir",
        dir.display()
    )]
    Journal {
        /// The directory.
        dir: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The fresh backend could not be given its account.
    #[error("cannot give the backend its account: {0}")]
    Account(BackendError),
}

/// Carries out a checked plan: journal, recovery, account, execution, verification.
/// See the module docs.
///
/// # Errors
/// [`CarryOutError`] before anything is written; once operations run, every
/// failure is in the [`Summary`] instead.
pub async fn carry_out(run: Run<'_>) -> Result<Summary, CarryOutError> {
    let Run {
        backend,
        plan,
        revision,
        fresh,
        desired,
        diff_options,
        holder,
        runs_dir,
        execute,
        progress,
        stop,
        started,
    } = run;
    let schedule = Schedule::new(&plan.operations, &backend.capabilities());
    let info = RunInfo {
        run: String::new(),
        accord: env!("CARGO_PKG_VERSION").to_owned(),
        backend: backend.url(),
        account: plan.account.id.clone(),
        revision,
        fingerprint: plan.fingerprint.clone(),
        operations: plan.operations.len(),
        calls: schedule.calls(),
        holder,
    };
    let journal =
        Arc::new(
            Journal::create(&runs_dir, info).map_err(|source| CarryOutError::Journal {
                dir: runs_dir.clone(),
                source,
            })?,
        );
    let recovery = Recovery {
        journal: &journal,
        runs_dir: &runs_dir,
        backend: backend.as_ref(),
        desired,
        diff_options: &diff_options,
    };
    let (recovered, unseen) = recovery.run(&plan).await;
    if fresh {
        if let Err(error) = backend.ensure_account(&plan.account).await {
            journal.end(Tally::default(), false);
            return Err(CarryOutError::Account(error));
        }
    }
    let manual = plan.manual;
    let targets = plan.targets;
    let operations: Arc<[crate::plan::Operation]> = Arc::from(plan.operations);
    let executor = Executor::new(
        Arc::clone(&backend),
        execute,
        Some(Arc::clone(&journal)),
        progress,
        stop,
    );
    let execution = executor.run(Arc::clone(&operations), &schedule).await;
    let verification = verify(backend.as_ref(), desired, &diff_options).await;
    let tally = execution.tally();
    let mut summary = summarise(&operations, &execution, verification, recovered);
    summary.warnings.extend(unseen);
    journal.end(tally, summary.converged);
    summary.run.push_str(journal.run());
    summary.journal = journal.path().display().to_string();
    summary.backend = backend.url();
    summary.warnings.extend(journal.error());
    // The account is now as the configuration asks: the backend's history says so,
    // and later plans tell what changed since (drift) from what the configuration
    // changes (a reviewed change). An apply with nothing to do records it only when
    // the history does not say so yet (an account converged before accord recorded
    // applies), so it makes no write call otherwise.
    let record = match (summary.converged, summary.revision) {
        (true, Some(revision)) if !operations.is_empty() || fresh => Some(revision),
        (true, Some(revision)) => match backend.last_applied().await {
            Ok(Some(applied)) if applied.revision == revision => None,
            Ok(_) => Some(revision),
            Err(_) => None,
        },
        _ => None,
    };
    if let Some(revision) = record {
        if let Err(e) = backend.record_applied(revision).await {
            summary.warnings.push(format!(
                "the apply converged, but {} could not record it, so plans cannot tell drift from reviewed changes until an apply does: {e}",
                backend.url()
            ));
        }
    }
    let counts = backend.caller().counts();
    summary.api_calls = counts.total();
    summary.write_calls = counts.writes;
    summary.rate_limited = counts.rate_limited;
    summary.retries += counts.retries;
    summary.elapsed_secs = started.elapsed().as_secs_f64();
    summary.manual = manual;
    summary.targets = targets;
    Ok(summary)
}

/// What recovering dead runs needs.
struct Recovery<'a> {
    journal: &'a Journal,
    runs_dir: &'a std::path::Path,
    backend: &'a dyn Backend,
    desired: &'a Desired,
    diff_options: &'a DiffOptions,
}

impl Recovery<'_> {
    /// Records, in this run's journal, the operations dead runs sent without
    /// recording an answer that the plan no longer needs (the account has them), and
    /// closes the dead runs' journals. Then, when the plan still holds operations a
    /// dead run's journal shows acknowledged, waits until the account shows them
    /// before anything is sent ([`Self::await_acknowledged`]). Answers how many were
    /// recovered, and a warning for those that never showed.
    async fn run(&self, plan: &Plan) -> (usize, Option<String>) {
        let dead = journal::dead_runs(
            self.runs_dir,
            &self.backend.url(),
            &plan.account.id,
            self.journal.run(),
        );
        if dead.is_empty() {
            return (0, None);
        }
        let planned: HashSet<OpRef> = plan.operations.iter().map(OpRef::of).collect();
        let mut recovered = 0;
        let mut acknowledged: HashSet<OpRef> = HashSet::new();
        for run in dead {
            let done: Vec<OpRef> = run
                .in_doubt
                .iter()
                .filter(|op| !planned.contains(op))
                .cloned()
                .collect();
            self.journal.recovered(&run.run, &done);
            recovered += done.len();
            acknowledged.extend(
                run.acknowledged
                    .iter()
                    .filter(|op| planned.contains(*op))
                    .cloned(),
            );
            // A journal that cannot be closed is found again next time: harmless.
            let _ = run.close(self.journal.run());
        }
        (recovered, self.await_acknowledged(acknowledged).await)
    }

    /// Reads the account again, with the call policy's backoff and within its bound,
    /// until none of `acknowledged` (operations a dead run was told were carried out,
    /// that the plan made from the account still holds) is still needed: the backend
    /// then has them and answers `already_so` when they come. What never shows is
    /// sent again (the backend may really have lost it), and the warning says so.
    async fn await_acknowledged(&self, mut acknowledged: HashSet<OpRef>) -> Option<String> {
        if acknowledged.is_empty() {
            return None;
        }
        let mut backoff = self.backend.caller().backoff();
        loop {
            if let Ok(now) = verify(self.backend, self.desired, self.diff_options).await {
                let needed: HashSet<&str> = now.differences.iter().map(String::as_str).collect();
                acknowledged
                    .retain(|op| needed.contains(format!("{} {}", op.op, op.target).as_str()));
                if acknowledged.is_empty() {
                    return None;
                }
            }
            let Some(delay) = backoff.next_delay(None) else {
                return Some(format!(
                    "{} operations an interrupted apply was told were done did not show in the account while accord waited; they were sent again",
                    acknowledged.len()
                ));
            };
            tokio::time::sleep(delay).await;
        }
    }
}

fn summarise(
    operations: &[crate::plan::Operation],
    execution: &Execution,
    verification: Result<Verification, BackendError>,
    recovered: usize,
) -> Summary {
    let tally = execution.tally();
    let results: Vec<Problem> = operations
        .iter()
        .zip(&execution.outcomes)
        .map(|(operation, outcome)| Problem {
            op: operation.op.name().to_owned(),
            target: operation.target.clone(),
            outcome: outcome.clone(),
        })
        .collect();
    let problems: Vec<Problem> = results
        .iter()
        .filter(|p| !p.outcome.is_success())
        .cloned()
        .collect();
    let (revision, differences, warning) = match verification {
        Ok(v) => (Some(v.revision), v.differences, None),
        Err(e) => (
            None,
            Vec::new(),
            Some(format!(
                "the account could not be read again to verify the apply: {e}"
            )),
        ),
    };
    let converged = revision.is_some() && differences.is_empty() && tally.all_succeeded();
    Summary {
        version: report::SUMMARY_FORMAT_VERSION,
        converged,
        run: String::new(),
        journal: String::new(),
        backend: String::new(),
        operations: operations.len(),
        tally,
        recovered,
        api_calls: 0,
        write_calls: 0,
        retries: execution.retries,
        rate_limited: 0,
        elapsed_secs: 0.0,
        revision,
        problems,
        results,
        differences,
        stopped: execution.stopped.clone(),
        warnings: warning.into_iter().collect(),
        manual: Vec::new(),
        targets: Vec::new(),
    }
}
