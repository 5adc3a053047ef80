//! The pipeline: the steps `plan`, `apply` and `export` are made of, in the library so
//! every command (and the drift report, the benchmarks, the tests) runs the same
//! checks in the same order. `src/commands/` only parses, calls these and prints.
//!
//! - [`open`] the backend a URL names;
//! - [`check`]: fetch the account, restrict the configuration to what the backend
//!   manages, diff, run the safety rules, attach the notes (parts not managed, a
//!   process-local lock) and the drift report, and ask the backend whether it can
//!   carry every operation out (its preflight): a [`Checked`] plan, or the error that
//!   refuses it;
//! - for `apply`: [`read_saved`] and [`check_saved`] (a reviewed plan must still be
//!   the plan), [`lock`] (the backend's lock, or a process-local one), then
//!   [`carry_out`] (journal, execution, verification), which answers the summary or
//!   [`Error::NotConverged`].

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::time::Instant;

use crate::apply::lock::{self, HeldLock, LockOptions, Stop};
use crate::apply::progress::Progress;
use crate::apply::{ExecuteOptions, Run, Summary};
use crate::backend::{self, OpenOptions};
use crate::contract::{Backend, LockScope, OpKind, Snapshot};
use crate::desired::Desired;
use crate::diagnostic::Code;
use crate::error::{Error, Result, Staleness};
use crate::plan::drift::{self, Drift};
use crate::plan::scope::{self, Target};
use crate::plan::{DiffOptions, Plan, Refusal, SavedPlan, config_digest, diff, restrict};
use crate::report;
use crate::state::State;

/// The note every plan against a backend with no lock of its own carries.
pub const PROCESS_LOCK_NOTE: &str = "this backend keeps no lock of its own: `accord apply` locks the account only within one process, so two applies on two machines could race; run one apply at a time (one CI job, a concurrency group)";

/// Opens the backend `url` names.
///
/// # Errors
/// [`Error::Backend`] when it cannot be opened (a bad URL, an unreadable store, an
/// unreachable service, missing credentials).
pub async fn open(url: &str, options: &OpenOptions) -> Result<Arc<dyn Backend>> {
    backend::open_with(url, options)
        .await
        .map(Arc::from)
        .map_err(|source| Error::Backend {
            doing: "cannot open the backend",
            url: crate::backend::http::shown_url(url),
            source,
        })
}

/// Reads the whole account.
///
/// # Errors
/// [`Error::Backend`] when it cannot be read.
pub async fn fetch(backend: &dyn Backend) -> Result<Snapshot> {
    backend.fetch().await.map_err(|source| Error::Backend {
        doing: "cannot read the account from",
        url: backend.url(),
        source,
    })
}

/// How a plan is made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// `--max-removals N` (R13).
    pub max_removals: Option<u32>,
    /// `--skip-unsupported`: plan without the parts the backend does not manage
    /// instead of failing.
    pub skip_unsupported: bool,
    /// Whether to classify drift for the report (`plan` does; `apply`, which only
    /// carries the plan out, does not need to).
    pub drift: bool,
}

/// A plan checked against the live account: what `plan` prints and `apply` carries out.
#[derive(Debug, Clone)]
pub struct Checked<'a> {
    /// The plan, with its notes and drift report.
    pub plan: Plan,
    /// The account's revision it was made at.
    pub revision: u64,
    /// Whether the backend holds no account yet.
    pub fresh: bool,
    /// The configuration restricted to what the backend manages (what `apply`
    /// verifies against): the configuration itself, not a copy, for a backend that
    /// manages everything.
    pub managed: Cow<'a, Desired>,
    /// The diff options it was made with.
    pub options: DiffOptions,
    /// The account as fetched, which the plan was made against. Handed over rather
    /// than freed here: freeing 50,000 members' state piece by piece takes tens of
    /// milliseconds, which a command about to exit need not spend (it can keep the
    /// state until the process ends); one that goes on frees it at once.
    pub fetched: State,
}

/// Fetches the account and plans against it (see the module docs).
///
/// # Errors
/// [`Error::Backend`] (unreadable), [`Error::AccountMismatch`], [`Error::CannotPlan`],
/// [`Error::Refused`] (R11-R14: exit 3), [`Error::Rejected`] (another rule on the
/// result), [`Error::Unsupported`] (parts not managed, without `skip_unsupported`).
pub async fn check<'a>(
    backend: &dyn Backend,
    desired: &'a Desired,
    options: PlanOptions,
) -> Result<Checked<'a>> {
    check_targeted(backend, desired, options, &[]).await
}

/// [`check`], narrowed to `targets` (`--target`) when there are any: the whole
/// account is planned and checked by the safety rules, then the plan keeps what
/// concerns the targets and what that needs ([`scope`]). A refused plan is shown
/// narrowed too, with every refusal of the whole account.
///
/// # Errors
/// Those of [`check`], and [`Error::UnmatchedTarget`] for a target that names
/// nothing the configuration declares or the account holds.
pub async fn check_targeted<'a>(
    backend: &dyn Backend,
    desired: &'a Desired,
    options: PlanOptions,
    targets: &[Target],
) -> Result<Checked<'a>> {
    backend.focus_teams(&desired.state.teams.keys().cloned().collect());
    let snapshot = fetch(backend).await?;
    crate::memory::release_freed();
    scope::check_targets(targets, &snapshot.state, desired).map_err(Error::UnmatchedTarget)?;
    let capabilities = backend.capabilities();
    let mut diff_options =
        DiffOptions::for_backend(&capabilities, snapshot.now, options.max_removals);
    diff_options.targets = targets.to_vec();
    let narrowed = |plan: Plan| {
        if targets.is_empty() {
            plan
        } else {
            crate::apply::partial::narrow(plan, targets, &snapshot.state, &diff_options.limits)
        }
    };
    let (managed, unmanaged) = restrict::split(&snapshot.state, desired, &capabilities);
    let unsupported = unmanaged.iter().filter(|part| part.changes).count();
    let mut notes: Vec<String> = unmanaged
        .iter()
        .map(|part| part.note(options.skip_unsupported))
        .collect();
    if backend.lock().is_none() {
        notes.push(PROCESS_LOCK_NOTE.to_owned());
    }
    let mut plan = match diff(&snapshot.state, &managed, &diff_options) {
        Ok(plan) => plan,
        Err(Refusal::Rules(plan)) => {
            let mut plan = narrowed(*plan);
            plan.notes.extend(notes);
            return Err(refused(Refusal::Rules(Box::new(plan))));
        }
        Err(refusal) => return Err(refused(refusal)),
    };
    plan.notes.extend(notes);
    if options.drift {
        // How the account differs is told of the whole account, as the safety rules are.
        plan.drift = drift_report(backend, &plan, &snapshot, &managed).await;
    }
    let plan = narrowed(plan);
    if unsupported > 0 && !options.skip_unsupported {
        return Err(Error::Unsupported {
            plan: Box::new(plan),
            parts: unsupported,
        });
    }
    preflight(backend, &plan).await?;
    Ok(Checked {
        plan,
        revision: snapshot.revision,
        fresh: snapshot.is_fresh(),
        managed,
        options: diff_options,
        fetched: snapshot.state,
    })
}

/// Refuses, before anything is written, a plan the backend says it cannot carry out
/// ([`Backend::preflight`]): [`Error::Rejected`] with the plan, saying each reason
/// once, with the first operation it concerns, where that operation comes from
/// (`file:line`) and how many more share the reason.
///
/// # Errors
/// When the backend finds any operation unfit.
async fn preflight(backend: &dyn Backend, plan: &Plan) -> Result<()> {
    let ops: Vec<crate::contract::Op> = plan.operations.iter().map(|o| o.op.clone()).collect();
    let unfit = backend.preflight(&ops).await;
    let mut reasons: Vec<(&str, usize, usize)> = Vec::new(); // reason, first index, count
    for u in unfit.iter().filter(|u| u.index < plan.operations.len()) {
        match reasons.iter_mut().find(|(reason, ..)| *reason == u.reason) {
            Some((_, _, count)) => *count += 1,
            None => reasons.push((&u.reason, u.index, 1)),
        }
    }
    if reasons.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = reasons
        .iter()
        .map(|&(reason, first, count)| {
            let o = &plan.operations[first];
            let more = match count {
                1 => String::new(),
                n => format!(" and {} more", n - 1),
            };
            format!(
                "{} {} ({}){more}: {reason}",
                o.op.name(),
                o.target,
                o.provenance.as_str()
            )
        })
        .collect();
    Err(Error::Rejected {
        plan: Box::new(plan.clone()),
        summary: format!(
            "{} cannot carry it out ({})",
            backend.url(),
            lines.join("; ")
        ),
    })
}

/// The error for a refused plan: safety rules (R11-R14) exit 3, the others 1.
fn refused(refusal: Refusal) -> Error {
    match refusal {
        Refusal::Rules(plan) => {
            let safety = plan
                .refusals
                .iter()
                .any(|d| matches!(d.code, Code::R11 | Code::R12 | Code::R13 | Code::R14));
            if safety {
                Error::Refused(plan)
            } else {
                let summary = report::summary(&plan.refusals);
                Error::Rejected { plan, summary }
            }
        }
        Refusal::AccountMismatch {
            configured,
            backend,
            location,
        } => Error::AccountMismatch {
            configured,
            backend,
            location,
        },
        Refusal::Unsupported { message, location } => Error::CannotPlan { message, location },
    }
}

/// The drift report of `plan`: what changed since accord last applied, from the
/// backend's history when it keeps one. A history that cannot be read costs only
/// the telling apart (a warning in the log; the differences are then listed as
/// "differs from the configuration"), never the plan.
async fn drift_report(
    backend: &dyn Backend,
    plan: &Plan,
    snapshot: &Snapshot,
    desired: &Desired,
) -> Drift {
    if plan.new_account {
        return Drift::default();
    }
    // Nothing differs at all: no need to read the history (it can be long).
    let unknown = drift::classify(plan, &snapshot.state, desired, None);
    if unknown.is_empty() {
        return unknown;
    }
    let applied = match backend.last_applied().await {
        Ok(applied) => applied,
        Err(e) => {
            tracing::warn!(
                backend = %backend.url(),
                error = %e,
                "cannot read the history for the drift report"
            );
            None
        }
    };
    drift::classify(plan, &snapshot.state, desired, applied.as_ref())
}

/// Reads a plan saved by `plan --out` and checks it was made from the configuration
/// whose files are `files` (their digest).
///
/// # Errors
/// [`Error::Io`] (unreadable), [`Error::BadPlan`] (not a plan, another version, its
/// fingerprint does not match), [`Error::StalePlan`] (the configuration changed).
pub fn read_saved<P: AsRef<Path>>(path: &Path, files: &[P]) -> Result<SavedPlan> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        action: "cannot read the saved plan",
        path: path.to_owned(),
        source,
    })?;
    let saved = SavedPlan::from_json(&text).map_err(|message| Error::BadPlan {
        path: path.to_owned(),
        message,
    })?;
    let digest = config_digest(files).map_err(|source| Error::Io {
        action: "cannot read the configuration again to compare it with",
        path: path.to_owned(),
        source,
    })?;
    if digest != saved.config_digest {
        return Err(Error::StalePlan {
            path: path.to_owned(),
            why: Staleness::Configuration,
        });
    }
    Ok(saved)
}

/// A saved plan is for the account as it was: it is applied only if the account is
/// still at its revision and planning afresh gives exactly it (same operations, same
/// batches). Answers the saved plan, with the fresh plan's notes and drift.
///
/// # Errors
/// [`Error::StalePlan`] when the account moved on, [`Error::BadPlan`] when the saved
/// operations are not what this configuration plans for this account at all (an
/// edited file whose fingerprint was recomputed).
pub fn check_saved(path: &Path, saved: SavedPlan, fresh: &Checked) -> Result<Plan> {
    if saved.backend_revision != fresh.revision {
        return Err(Error::StalePlan {
            path: path.to_owned(),
            why: Staleness::Revision {
                saved: saved.backend_revision,
                found: fresh.revision,
            },
        });
    }
    if saved.plan.fingerprint == fresh.plan.fingerprint {
        let mut plan = saved.plan;
        plan.notes.clone_from(&fresh.plan.notes);
        plan.drift = fresh.plan.drift.clone();
        return Ok(plan);
    }
    // Same configuration, same revision: only the clock (an invitation that expired
    // since) or the backend's batch limits can change the plan. Anything else is an
    // edited file.
    // Compared whole (target, provenance, details) and in order, but for the batch
    // number: operations edited or reordered in anything else, with the fingerprint
    // recomputed, are an edited file, not a change of the backend's limits.
    let changes = |plan: &Plan| -> Vec<(OpKind, String)> {
        plan.operations
            .iter()
            .filter(|o| o.op.kind() != OpKind::MemberResendInvite)
            .map(|o| {
                let mut operation = o.clone();
                operation.batch = 0;
                (
                    o.op.kind(),
                    serde_json::to_string(&operation).unwrap_or_default(),
                )
            })
            .collect()
    };
    if changes(&saved.plan) == changes(&fresh.plan) {
        Err(Error::StalePlan {
            path: path.to_owned(),
            why: Staleness::Replanned,
        })
    } else {
        Err(Error::BadPlan {
            path: path.to_owned(),
            message: "its operations are not what this configuration plans for this account, although both are the ones it was made from (was the file edited?)".to_owned(),
        })
    }
}

/// Takes the apply lock: the backend's own, or one local to this process for a
/// backend that keeps none. `on_wait` is called once if another holder makes us wait.
///
/// # Errors
/// [`Error::Lock`] when another apply held it for the whole wait, or it failed.
pub async fn lock(
    backend: &dyn Backend,
    holder: &str,
    options: &LockOptions,
    stop: &Stop,
    on_wait: impl FnMut(&str, i64),
) -> Result<HeldLock> {
    let lock = lock::lock_of(backend);
    let lease = lock::acquire(lock.as_ref(), holder, options, on_wait)
        .await
        .map_err(Error::Lock)?;
    Ok(HeldLock::keep(lock, lease, stop.clone()))
}

/// Whether `backend`'s lock reaches other processes.
#[must_use]
pub fn lock_scope(backend: &dyn Backend) -> LockScope {
    backend
        .lock()
        .map_or(LockScope::ProcessLocal, |l| l.scope())
}

/// What [`carry_out`] needs besides the backend and the plan.
pub struct CarryOut {
    /// Who holds the lock (recorded in the journal).
    pub holder: String,
    /// Where the journal goes.
    pub runs_dir: PathBuf,
    /// How calls are carried out.
    pub execute: ExecuteOptions,
    /// Where feedback goes.
    pub progress: Arc<dyn Progress>,
    /// Raised to stop sending calls (the lock was lost, Ctrl-C).
    pub stop: Stop,
    /// When the command started (before it fetched), for the summary's elapsed time.
    pub started: Instant,
}

/// Carries `plan` out (checked against `checked`'s account), verifies, and answers
/// the summary when the account converged.
///
/// # Errors
/// [`Error::CarryOut`] before anything is written (the journal). Once operations
/// run, every failure is in the summary: the caller prints it, then [`converged`]
/// turns a summary that did not converge into an error.
pub async fn carry_out(
    backend: Arc<dyn Backend>,
    plan: Plan,
    checked: &Checked<'_>,
    settings: CarryOut,
) -> Result<Summary> {
    let run = Run {
        backend,
        plan,
        revision: checked.revision,
        fresh: checked.fresh,
        desired: &checked.managed,
        diff_options: checked.options.clone(),
        holder: settings.holder,
        runs_dir: settings.runs_dir,
        execute: settings.execute,
        progress: settings.progress,
        stop: settings.stop,
        started: settings.started,
    };
    Ok(crate::apply::carry_out(run).await?)
}

/// [`Error::NotConverged`] unless `summary` says the account converged.
///
/// # Errors
/// When it did not.
pub fn converged(summary: &Summary) -> Result<()> {
    if summary.converged {
        return Ok(());
    }
    Err(Error::NotConverged {
        failed: summary.problems.len(),
        stopped: summary.stopped.clone(),
    })
}
