//! `accord plan PATH`: validate, fetch the live account, diff, print the minimal plan.

use std::io::Write;
use std::path::Path;

use super::Finished;
use crate::backend::OpenOptions;
use crate::cli::{ConfigArgs, PlanArgs, PlanFormat};
use crate::config::SourceMap;
use crate::error::{Error, Result, exit};
use crate::pipeline::{self, Checked, PlanOptions};
use crate::plan::Plan;
use crate::plan::model::{SavedPlan, config_digest};
use crate::plan::render::{self, Format};
use crate::report;
use crate::validate::{Validated, validate};

/// Plans and prints; saves the plan with `--out`.
///
/// # Errors
/// An invalid configuration, an unreachable backend, an account mismatch, or a
/// refusal by a rule (exit 3 for R11-R14); the refused plan is printed first.
pub fn run(args: &PlanArgs, color: bool) -> Result<Finished> {
    if args.accounts {
        return super::accounts::plan(args, color);
    }
    let Validated {
        config,
        sources,
        desired,
        warnings,
    } = load(&args.config, args.format == PlanFormat::Json)?;
    // From here on only the desired state is needed (and, for `--out`, the digest of
    // the files it came from). Dropping the typed configuration and its source map
    // before the fetch, and handing what they held back to the system
    // ([`crate::memory`]), keeps plan's peak at validate's: 7.6 times the input's
    // size on 50,000 members with teams (BENCHMARKS.md, "## plan memory after
    // trimming").
    // Warnings (the configuration is valid) go to standard error, so standard output
    // holds only the plan.
    if !warnings.is_empty() {
        eprint!("{}", report::human(&warnings, color));
    }
    drop((config, warnings));
    let digest = args
        .out
        .as_ref()
        .map(|out| digest(out, &sources))
        .transpose()?;
    drop(sources);
    crate::memory::release_freed();
    let options = PlanOptions {
        max_removals: args.max_removals,
        skip_unsupported: args.skip_unsupported,
        drift: true,
    };
    let runtime = super::runtime()?;
    let checked = runtime.block_on(async {
        let backend = pipeline::open(&args.backend.backend, &OpenOptions::default()).await?;
        pipeline::check_targeted(backend.as_ref(), &desired, options, &args.target).await
    });
    let checked = match checked {
        Ok(checked) => checked,
        Err(error) => {
            if let Some(plan) = error.plan() {
                print(plan, args.format, color, Some(&error));
            }
            return Err(error);
        }
    };
    print(&checked.plan, args.format, color, None);
    // Manual steps still to make are changes too: the account is not as declared.
    let changes = !checked.plan.is_empty() || !checked.plan.manual.is_empty();
    let code = if args.detailed_exitcode && changes {
        exit::CHANGES
    } else {
        exit::OK
    };
    let Checked {
        plan,
        revision,
        managed,
        fetched,
        ..
    } = checked;
    // The restricted configuration borrows the configuration (or is a copy of part of
    // it): let it go, so the configuration itself can be kept to the end.
    drop(managed);
    let finished = Finished::with(code).keeping(desired).keeping(fetched);
    match (&args.out, digest) {
        (Some(out), Some(digest)) => {
            let saved = SavedPlan {
                plan,
                backend_revision: revision,
                config_digest: digest,
            };
            save(out, &saved)?;
            Ok(finished.keeping(saved))
        }
        _ => Ok(finished.keeping(plan)),
    }
}

/// Prints `plan` in `format`; a plan refused by `error` carries it (JSON: an `error`
/// object next to the plan's `refusals`).
pub(super) fn print(plan: &Plan, format: PlanFormat, color: bool, error: Option<&Error>) {
    let text = match format {
        PlanFormat::Text => render::render(plan, Format::Text, color),
        PlanFormat::Markdown => render::render(plan, Format::Markdown, color),
        PlanFormat::Json => match error {
            None => render::render(plan, Format::Json, color),
            Some(error) => super::with_error(&render::json(plan), error),
        },
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Loads and validates the configuration (shared by `plan` and `apply`). With
/// `json`, the problems of an invalid configuration are printed as JSON here, for
/// tools; otherwise they travel in [`Error::Invalid`].
///
/// # Errors
/// [`Error::Invalid`] for an invalid configuration.
pub(super) fn load(config: &ConfigArgs, json: bool) -> Result<Validated> {
    match validate(&config.path, &config.load_options()) {
        Ok(validated) => Ok(validated),
        Err(diagnostics) if json => {
            let _ = std::io::stdout()
                .lock()
                .write_all(report::json(&diagnostics).as_bytes());
            Err(Error::Invalid(Vec::new()))
        }
        Err(diagnostics) => Err(Error::Invalid(diagnostics)),
    }
}

/// The digest of the configuration's files, read again right after validation (so it
/// describes what was validated, unless a file changes in between), for `--out`.
fn digest(out: &Path, sources: &SourceMap) -> Result<String> {
    config_digest(&sources.files()).map_err(|source| Error::Io {
        action: "cannot read the configuration again to digest it for",
        path: out.to_path_buf(),
        source,
    })
}

/// Writes the plan with what it was made against, for `apply --plan`.
fn save(out: &Path, saved: &SavedPlan) -> Result<()> {
    std::fs::write(out, saved.to_json()).map_err(|source| Error::Io {
        action: "cannot write the plan to",
        path: out.to_path_buf(),
        source,
    })
}
