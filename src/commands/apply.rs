//! `accord apply PATH`: make the live account match the configuration.
//!
//! The order of things, each step before any write:
//! 1. validate the configuration (as `plan`); with `--plan FILE`, read the saved plan
//!    and refuse it if the configuration changed since (its digest);
//! 2. open the backend, pace it at its declared rate (or `--max-rate`), take its lock
//!    (waiting up to `--lock-timeout`), renewed in the background;
//! 3. fetch and diff with the same checks as `plan` (R10-R13 refuse with exit 3); a
//!    saved plan is refused if the account's revision moved, or if planning afresh
//!    would not give exactly the saved plan;
//! 4. show the plan and ask on a terminal (`--auto-approve` in CI; no terminal and
//!    no `--auto-approve` is a refusal);
//! 5. hand it to [`crate::apply::carry_out`] (journal, account, execution,
//!    verification), release the lock, print the summary.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use tokio::time::Instant;

use crate::apply::journal::format_utc;
use crate::apply::lock::{self, format_duration};
use crate::apply::progress::{Bar, Lines, Progress};
use crate::apply::{
    ExecuteOptions, HeldLock, LockOptions, PacedBackend, RetryPolicy, Run, Stop, Summary, carry_out,
};
use crate::backend::{Backend, Snapshot};
use crate::cli::{ApplyArgs, ApplyFormat, PlanFormat};
use crate::error::{Error, Result, exit};
use crate::plan::render;
use crate::plan::{Plan, SavedPlan, config_digest};
use crate::validate::Validated;

/// Applies; see the module docs.
///
/// # Errors
/// An invalid configuration, a stale or edited saved plan, a lock held too long, a
/// refusal by a rule (exit 3 for R11-R13), no approval, or an apply that did not
/// converge.
pub fn run(args: &ApplyArgs, color: bool) -> Result<u8> {
    let validated = super::plan::load(&args.config, args.format == ApplyFormat::Json)?;
    let saved = args
        .plan
        .as_deref()
        .map(|path| read_saved(path, &validated))
        .transpose()?;
    let runtime = super::runtime()?;
    runtime.block_on(apply(args, &validated, saved, color))
}

/// Reads a saved plan and checks it was made from this configuration.
fn read_saved(path: &Path, validated: &Validated) -> Result<SavedPlan> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        action: "cannot read the saved plan",
        path: path.to_owned(),
        source,
    })?;
    let saved = SavedPlan::from_json(&text)
        .map_err(|message| Error::Other(format!("{}: {message}", path.display())))?;
    let digest = config_digest(&validated.sources.files()).map_err(|source| Error::Io {
        action: "cannot read the configuration again to compare it with",
        path: path.to_owned(),
        source,
    })?;
    if digest != saved.config_digest {
        return Err(Error::Other(format!(
            "the configuration changed since this plan was made: run `accord plan --out {}` again; nothing was changed",
            path.display()
        )));
    }
    Ok(saved)
}

async fn apply(
    args: &ApplyArgs,
    validated: &Validated,
    saved: Option<SavedPlan>,
    color: bool,
) -> Result<u8> {
    let raw: Arc<dyn Backend> = Arc::from(super::open_backend(&args.backend.backend).await?);
    let rate = pace_rate(raw.capabilities().rate_limit, args.max_rate);
    let paced = Arc::new(PacedBackend::new(raw, rate));
    let counts = paced.counts();
    let backend: Arc<dyn Backend> = paced;
    let holder = lock::holder();
    let options = LockOptions {
        ttl: args.lock_ttl,
        timeout: args.lock_timeout,
        ..LockOptions::default()
    };
    let lease = lock::acquire(backend.as_ref(), &holder, &options, |other, since| {
        eprintln!(
            "waiting for the apply lock held by {other} since {} (up to {}, --lock-timeout)",
            format_utc(since),
            format_duration(args.lock_timeout)
        );
    })
    .await
    .map_err(|e| Error::Other(e.to_string()))?;
    let stop = Stop::default();
    let held = HeldLock::keep(Arc::clone(&backend), lease, stop.clone());
    let interrupt = tokio::spawn(stop_on_interrupt(stop.clone()));
    let session = Session {
        args,
        validated,
        backend: Arc::clone(&backend),
        holder,
        stop,
        counts,
        color,
    };
    let result = session.locked(saved).await;
    interrupt.abort();
    if let Err(e) = held.release(backend.as_ref()).await {
        eprintln!(
            "warning: could not release the apply lock ({e}); it expires by itself within {}",
            format_duration(args.lock_ttl)
        );
    }
    result
}

/// Ctrl-C stops the apply gracefully: calls in flight finish, nothing more is sent,
/// the summary and the journal say what was done, the lock is released. A second
/// Ctrl-C quits at once (the journal and the lock's expiry cover that too).
async fn stop_on_interrupt(stop: Stop) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    eprintln!(
        "interrupted: finishing the calls in flight, sending nothing more (Ctrl-C again to quit at once)"
    );
    stop.trigger("interrupted (Ctrl-C); run `accord plan` and `accord apply` again to finish");
    if tokio::signal::ctrl_c().await.is_ok() {
        std::process::exit(130);
    }
}

/// The client-side rate: the backend's declared limit, lowered by `--max-rate`.
fn pace_rate(declared: Option<f64>, max_rate: Option<f64>) -> Option<f64> {
    match (declared, max_rate) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What the steps under the lock share.
struct Session<'a> {
    args: &'a ApplyArgs,
    validated: &'a Validated,
    backend: Arc<dyn Backend>,
    holder: String,
    stop: Stop,
    counts: Arc<crate::apply::CallCounts>,
    color: bool,
}

impl Session<'_> {
    async fn locked(self, saved: Option<SavedPlan>) -> Result<u8> {
        let snapshot = super::plan::fetch(self.backend.as_ref()).await?;
        if let Some(saved) = &saved {
            check_revision(saved, &snapshot)?;
        }
        let options = self
            .backend
            .capabilities()
            .diff_options(snapshot.now, self.args.max_removals);
        let format = match self.args.format {
            ApplyFormat::Text => PlanFormat::Text,
            ApplyFormat::Json => PlanFormat::Json,
        };
        // The same restriction as `plan`: parts the backend does not manage are left
        // out of the diff (and out of the verification), and refuse the apply when
        // the configuration would change them, unless --skip-unsupported.
        let (managed, notes, unsupported) = super::plan::managed_part(
            &snapshot,
            &self.validated.desired,
            &self.backend.capabilities(),
            self.args.skip_unsupported,
        );
        let mut fresh_plan =
            super::plan::checked_diff(&snapshot, &managed, &options, format, self.color)?;
        fresh_plan.notes.extend(notes);
        if let Some(error) = super::plan::unsupported_error(unsupported, self.args.skip_unsupported)
        {
            self.show(&fresh_plan);
            return Err(error);
        }
        let plan = match saved {
            Some(saved) => check_fingerprint(saved, &fresh_plan)?,
            None => fresh_plan,
        };
        let fresh = snapshot.is_fresh();
        self.show(&plan);
        if !plan.is_empty() || fresh {
            self.approve(&plan).await?;
        }
        let run = Run {
            backend: Arc::clone(&self.backend),
            plan,
            revision: snapshot.revision,
            fresh,
            desired: &managed,
            diff_options: options,
            holder: self.holder.clone(),
            runs_dir: self.args.runs_dir.clone(),
            execute: ExecuteOptions {
                parallelism: self.args.parallelism,
                retry: RetryPolicy::default(),
                seed: None,
            },
            progress: progress_sink(),
            stop: self.stop.clone(),
            counts: Some(Arc::clone(&self.counts)),
            started: Instant::now(),
        };
        let summary = carry_out(run)
            .await
            .map_err(|e| Error::Other(e.to_string()))?;
        self.report(&summary)
    }

    /// Prints the plan (text format only: with `--format json` standard output holds
    /// only the summary).
    fn show(&self, plan: &Plan) {
        if self.args.format == ApplyFormat::Text {
            let text = render::text(plan, self.color);
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
        }
    }

    /// Asks on a terminal, unless `--auto-approve`; refuses without a terminal.
    async fn approve(&self, plan: &Plan) -> Result<()> {
        if self.args.auto_approve {
            return Ok(());
        }
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return Err(Error::Other(
                "refusing to apply without confirmation: there is no terminal to ask on. Review the plan (`accord plan`), then run `accord apply --auto-approve` (CI), or save it with `accord plan --out plan.json` and run `accord apply --plan plan.json --auto-approve` to apply exactly what was reviewed; nothing was changed".into(),
            ));
        }
        if self.args.format == ApplyFormat::Json {
            eprint!("{}", render::text(plan, self.color));
        }
        eprint!(
            "\nApply these {} changes to account {} at {}? Only `yes` goes on: ",
            plan.operations.len(),
            plan.account.id,
            self.backend.url()
        );
        let _ = std::io::stderr().flush();
        let answer = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map(|_| line)
        })
        .await
        .map_err(|e| Error::Other(format!("cannot read the answer: {e}")))?
        .map_err(|e| Error::Other(format!("cannot read the answer: {e}")))?;
        if answer.trim() == "yes" {
            Ok(())
        } else {
            Err(Error::Other("apply cancelled; nothing was changed".into()))
        }
    }

    /// Prints the summary; an apply that did not converge is an error (exit 1).
    fn report(&self, summary: &Summary) -> Result<u8> {
        let text = match self.args.format {
            ApplyFormat::Text => summary.text(),
            ApplyFormat::Json => summary.json(),
        };
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
        if summary.converged {
            return Ok(exit::OK);
        }
        let unsuccessful = summary.problems.len();
        Err(Error::Other(if let Some(reason) = &summary.stopped {
            format!(
                "the apply stopped before finishing ({unsuccessful} operations not carried out): {reason}"
            )
        } else if unsuccessful > 0 {
            format!(
                "the apply did not converge: {unsuccessful} operations did not succeed (see the summary); fix the cause and run `accord apply` again: nothing already done is done twice"
            )
        } else {
            "the apply did not converge: the account still differs from the configuration (see the summary); run `accord plan` to see why".to_owned()
        }))
    }
}

/// A saved plan is for the account as it was: refused once anything was written.
fn check_revision(saved: &SavedPlan, snapshot: &Snapshot) -> Result<()> {
    if saved.backend_revision == snapshot.revision {
        return Ok(());
    }
    Err(Error::Other(format!(
        "the account changed since this plan was made (revision {} -> {}): run `accord plan` again; nothing was changed",
        saved.backend_revision, snapshot.revision
    )))
}

/// Planning afresh must give exactly the saved plan (same operations, same batches):
/// otherwise something the plan depends on (the backend's limits, the clock for
/// invitation expiry) moved on.
fn check_fingerprint(saved: SavedPlan, fresh: &Plan) -> Result<Plan> {
    if saved.plan.fingerprint == fresh.fingerprint {
        return Ok(saved.plan);
    }
    Err(Error::Other(
        "the account changed since this plan was made (planning afresh gives another plan: the backend's limits or an invitation's expiry moved on): run `accord plan` again; nothing was changed".into(),
    ))
}

/// A progress bar on a terminal, plain lines otherwise.
fn progress_sink() -> Arc<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Arc::new(Bar::default())
    } else {
        Arc::new(Lines::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pace_is_the_lower_of_the_declared_and_the_asked_rate() {
        assert_eq!(pace_rate(None, None), None);
        assert_eq!(pace_rate(Some(10.0), None), Some(10.0));
        assert_eq!(pace_rate(None, Some(5.0)), Some(5.0));
        assert_eq!(pace_rate(Some(10.0), Some(5.0)), Some(5.0));
        assert_eq!(pace_rate(Some(3.0), Some(5.0)), Some(3.0));
    }
}
