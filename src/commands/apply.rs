//! `accord apply PATH`: make the live account match the configuration.
//!
//! The order of things, each step before any write:
//! 1. validate the configuration (as `plan`); with `--plan FILE`, read the saved plan
//!    and refuse it if the configuration changed since (its digest);
//! 2. open the backend with the call policy's options (`--max-rate`), take its lock
//!    (waiting up to `--lock-timeout`), renewed in the background;
//! 3. fetch and plan with the same checks as `plan` (R10-R14 refuse with exit 3); a
//!    saved plan is refused if the account's revision moved, or if planning afresh
//!    would not give exactly the saved plan;
//! 4. show the plan and ask on a terminal (`--auto-approve` in CI; no terminal and
//!    no `--auto-approve` is a refusal);
//! 5. carry it out ([`crate::pipeline::carry_out`]: journal, account, execution,
//!    verification), release the lock, print the summary.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use tokio::time::Instant;

use super::Finished;
use crate::apply::lock::{self, LockOptions, Stop, format_duration};
use crate::apply::progress::{Bar, Lines, Progress};
use crate::apply::{ExecuteOptions, Summary};
use crate::backend::OpenOptions;
use crate::call::CallOptions;
use crate::cli::{ApplyArgs, ApplyFormat, PlanFormat};
use crate::contract::{Backend, LockScope};
use crate::desired::Desired;
use crate::error::{Approval, Error, Result, exit};
use crate::pipeline::{self, CarryOut, PlanOptions};
use crate::plan::scope::Target;
use crate::plan::{Plan, SavedPlan, render};
use crate::time::format_utc;
use crate::validate::Validated;

/// Applies; see the module docs.
///
/// # Errors
/// An invalid configuration, a stale or edited saved plan, a lock held too long, a
/// refusal by a rule (exit 3 for R11-R14), no approval, or an apply that did not
/// converge.
pub fn run(args: &ApplyArgs, color: bool) -> Result<Finished> {
    if args.accounts {
        return super::accounts::apply(args, color);
    }
    let started = Instant::now();
    let Validated {
        config,
        sources,
        desired,
        warnings,
    } = super::plan::load(&args.config, args.format == ApplyFormat::Json)?;
    let saved = args
        .plan
        .as_deref()
        .map(|path| pipeline::read_saved(path, &sources.files()))
        .transpose()?;
    // As in `plan`: from here on only the desired state is needed. The typed
    // configuration and its source map are freed and handed back to the system
    // before the fetches (the plan's and the verification's), which would otherwise
    // sit beside them.
    drop((config, sources, warnings));
    crate::memory::release_freed();
    let session = Session {
        args,
        color,
        started,
    };
    super::runtime()?.block_on(session.apply(&desired, saved))?;
    Ok(Finished::with(exit::OK).keeping(desired))
}

/// What the steps of one apply share.
struct Session<'a> {
    args: &'a ApplyArgs,
    color: bool,
    started: Instant,
}

impl Session<'_> {
    async fn apply(&self, desired: &Desired, saved: Option<SavedPlan>) -> Result<()> {
        let options = OpenOptions {
            calls: CallOptions {
                max_rate: self.args.max_rate,
                ..CallOptions::default()
            },
            ..OpenOptions::default()
        };
        let backend = pipeline::open(&self.args.backend.backend, &options).await?;
        let holder = lock::holder();
        let stop = Stop::default();
        let lock_options = LockOptions {
            ttl: self.args.lock_ttl,
            timeout: self.args.lock_timeout,
            ..LockOptions::default()
        };
        let held = pipeline::lock(
            backend.as_ref(),
            &holder,
            &lock_options,
            &stop,
            |other, since| {
                eprintln!(
                    "waiting for the apply lock held by {} since {} (up to {}, --lock-timeout)",
                    crate::text::shown_inline(other),
                    format_utc(since),
                    format_duration(self.args.lock_timeout)
                );
            },
        )
        .await?;
        let interrupt = tokio::spawn(stop_on_interrupt(stop.clone()));
        let result = self
            .locked(desired, saved, Arc::clone(&backend), holder, stop)
            .await;
        interrupt.abort();
        if let Err(e) = held.release().await {
            eprintln!(
                "warning: could not release the apply lock ({e}); it expires by itself within {}",
                format_duration(self.args.lock_ttl)
            );
        }
        result
    }

    async fn locked(
        &self,
        desired: &Desired,
        saved: Option<SavedPlan>,
        backend: Arc<dyn Backend>,
        holder: String,
        stop: Stop,
    ) -> Result<()> {
        let options = PlanOptions {
            max_removals: self.args.max_removals,
            skip_unsupported: self.args.skip_unsupported,
            drift: false,
        };
        let targets = self.targets(saved.as_ref())?;
        let checked = pipeline::check_targeted(backend.as_ref(), desired, options, &targets);
        let mut checked = match checked.await {
            Ok(checked) => checked,
            Err(error) => {
                if let Some(plan) = error.plan() {
                    self.show_refused(plan, &error);
                }
                return Err(error);
            }
        };
        // The apply goes on (and its verification fetches again): the account as
        // fetched is not needed, and not kept to the end.
        drop(std::mem::take(&mut checked.fetched));
        let plan = match (saved, &self.args.plan) {
            (Some(saved), Some(path)) => pipeline::check_saved(path, saved, &checked)?,
            _ => std::mem::take(&mut checked.plan),
        };
        self.show(&plan);
        if !plan.is_empty() || checked.fresh {
            self.approve(&plan, backend.as_ref()).await?;
        }
        let settings = CarryOut {
            holder,
            runs_dir: self.args.runs_dir.clone(),
            execute: ExecuteOptions {
                parallelism: self.args.parallelism,
            },
            progress: progress_sink(),
            stop,
            started: self.started,
        };
        let lock_scope = pipeline::lock_scope(backend.as_ref());
        let summary = pipeline::carry_out(backend, plan, &checked, settings).await?;
        self.report(&summary, lock_scope);
        pipeline::converged(&summary)
    }

    /// The objects the apply is narrowed to: `--target`, or a saved plan's own
    /// targets (a saved plan is applied as it was made: other targets are refused).
    fn targets(&self, saved: Option<&SavedPlan>) -> Result<Vec<Target>> {
        let Some(saved) = saved else {
            return Ok(self.args.target.clone());
        };
        let path = self.args.plan.clone().unwrap_or_default();
        let mut given: Vec<String> = self.args.target.iter().map(ToString::to_string).collect();
        given.sort();
        given.dedup();
        if !given.is_empty() && given != saved.plan.targets {
            let made = if saved.plan.targets.is_empty() {
                "the whole account".to_owned()
            } else {
                format!("--target {}", saved.plan.targets.join(" --target "))
            };
            return Err(Error::BadPlan {
                path,
                message: format!(
                    "it was made for {made}, not --target {}: apply it without --target (its targets are kept), or run `accord plan --out` again with the targets you want",
                    given.join(" --target ")
                ),
            });
        }
        saved
            .plan
            .targets
            .iter()
            .map(|t| t.parse())
            .collect::<std::result::Result<_, String>>()
            .map_err(|message| Error::BadPlan { path, message })
    }

    /// Prints the plan (text format only: with `--format json` standard output holds
    /// only the summary).
    fn show(&self, plan: &Plan) {
        if self.args.format == ApplyFormat::Text {
            let text = render::text(plan, self.color);
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
        }
    }

    /// Prints a refused plan in the apply's format.
    fn show_refused(&self, plan: &Plan, error: &Error) {
        let format = match self.args.format {
            ApplyFormat::Text => PlanFormat::Text,
            ApplyFormat::Json => PlanFormat::Json,
        };
        super::plan::print(plan, format, self.color, Some(error));
    }

    /// Asks on a terminal, unless `--auto-approve`; refuses without a terminal.
    async fn approve(&self, plan: &Plan, backend: &dyn Backend) -> Result<()> {
        if self.args.auto_approve {
            return Ok(());
        }
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return Err(Error::NotApproved(Approval::NoTerminal));
        }
        if self.args.format == ApplyFormat::Json {
            eprint!("{}", render::text(plan, self.color));
        }
        eprint!(
            "\nApply these {} changes to account {} at {}? Only `yes` goes on: ",
            plan.operations.len(),
            plan.account.id,
            backend.url()
        );
        let _ = std::io::stderr().flush();
        let answer = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map(|_| line)
        })
        .await
        .map_err(|e| Error::NotApproved(Approval::Unreadable(e.to_string())))?
        .map_err(|e| Error::NotApproved(Approval::Unreadable(e.to_string())))?;
        if answer.trim() == "yes" {
            Ok(())
        } else {
            Err(Error::NotApproved(Approval::Declined))
        }
    }

    /// Prints the summary (with `--format json`, with the error when it did not
    /// converge).
    fn report(&self, summary: &Summary, lock_scope: LockScope) {
        let text = match self.args.format {
            ApplyFormat::Text => {
                let mut text = summary.text();
                if lock_scope == LockScope::ProcessLocal {
                    text.push_str(&format!("note: {}\n", pipeline::PROCESS_LOCK_NOTE));
                }
                text
            }
            ApplyFormat::Json => match pipeline::converged(summary) {
                Ok(()) => summary.json(),
                Err(error) => super::with_error(&summary.json(), &error),
            },
        };
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    }
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

/// A progress bar on a terminal, plain lines otherwise.
fn progress_sink() -> Arc<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Arc::new(Bar::default())
    } else {
        Arc::new(Lines::default())
    }
}
