//! `accord plan --accounts DIR` and `accord apply --accounts DIR`: every account of
//! a repository in one command ([`crate::accounts`]), printed as one report.

use std::io::Write;

use super::Finished;
use crate::accounts::{self, ApplySettings, Report, Settings};
use crate::apply::lock::LockOptions;
use crate::cli::{ApplyArgs, ApplyFormat, PlanArgs, PlanFormat};
use crate::error::Result;
use crate::pipeline::PlanOptions;

/// Plans every account and prints the combined report.
///
/// # Errors
/// When the directory cannot be read or holds no account; each account's own
/// failure is in the report and its exit code.
pub fn plan(args: &PlanArgs, color: bool) -> Result<Finished> {
    let found = accounts::discover(&args.config.path)?;
    let settings = Settings {
        backend: args.backend.backend.clone(),
        load: args.config.load_options(),
        plan: PlanOptions {
            max_removals: args.max_removals,
            skip_unsupported: args.skip_unsupported,
            drift: true,
        },
        targets: args.target.clone(),
        jobs: args.jobs,
        detailed_exitcode: args.detailed_exitcode,
        apply: ApplySettings::default(),
    };
    let report = super::runtime()?.block_on(accounts::plan(found, settings));
    let text = match args.format {
        PlanFormat::Text => report.text(color),
        PlanFormat::Markdown => report.markdown(),
        PlanFormat::Json => report.json(),
    };
    Ok(print(&report, &text))
}

/// Applies every account (`--auto-approve` is required) and prints the combined report.
///
/// # Errors
/// As [`plan`].
pub fn apply(args: &ApplyArgs, color: bool) -> Result<Finished> {
    let found = accounts::discover(&args.config.path)?;
    let settings = Settings {
        backend: args.backend.backend.clone(),
        load: args.config.load_options(),
        plan: PlanOptions {
            max_removals: args.max_removals,
            skip_unsupported: args.skip_unsupported,
            drift: false,
        },
        targets: args.target.clone(),
        jobs: args.jobs,
        detailed_exitcode: false,
        apply: ApplySettings {
            max_rate: args.max_rate,
            parallelism: args.parallelism,
            lock: LockOptions {
                ttl: args.lock_ttl,
                timeout: args.lock_timeout,
                ..LockOptions::default()
            },
            runs_dir: args.runs_dir.clone(),
        },
    };
    let report = super::runtime()?.block_on(accounts::apply(found, settings));
    let text = match args.format {
        ApplyFormat::Text => report.text(color),
        ApplyFormat::Json => report.json(),
    };
    Ok(print(&report, &text))
}

fn print(report: &Report, text: &str) -> Finished {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Finished::with(report.exit_code)
}
