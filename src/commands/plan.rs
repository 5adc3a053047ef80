//! `accord plan PATH`: validate, fetch the live account, diff, print the minimal plan.

use std::io::Write;
use std::path::Path;

use crate::cli::{PlanArgs, PlanFormat};
use crate::error::{Error, Result, exit};
use crate::plan::model::{SavedPlan, config_digest};
use crate::plan::render::{self, Format};
use crate::plan::{DiffOptions, Plan, Refusal, diff};
use crate::report;
use crate::validate::{Validated, validate};

/// Plans and prints; saves the plan with `--out`.
///
/// # Errors
/// An invalid configuration, an unreachable backend, an account mismatch, or a
/// refusal by a rule (exit 3 for R11-R13).
pub fn run(args: &PlanArgs, color: bool) -> Result<u8> {
    let validated = match validate(&args.config.path, &args.config.load_options()) {
        Ok(validated) => validated,
        // Tools reading `--format json` get the problems as JSON too.
        Err(diagnostics) if args.format == PlanFormat::Json => {
            let _ = std::io::stdout()
                .lock()
                .write_all(report::json(&diagnostics).as_bytes());
            return Err(Error::Invalid(Vec::new()));
        }
        Err(diagnostics) => return Err(Error::Invalid(diagnostics)),
    };
    let runtime = super::runtime()?;
    let (plan, revision) = runtime.block_on(make_plan(args, &validated, color))?;
    let format = match args.format {
        PlanFormat::Text => Format::Text,
        PlanFormat::Json => Format::Json,
        PlanFormat::Markdown => Format::Markdown,
    };
    let _ = std::io::stdout()
        .lock()
        .write_all(render::render(&plan, format, color).as_bytes());
    if let Some(out) = &args.out {
        save(out, plan.clone(), revision, &validated)?;
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        exit::CHANGES
    } else {
        exit::OK
    })
}

/// Fetches the current state and diffs; a rule refusal is printed here (the plan it
/// refuses is worth seeing) and returned as [`Error::Refused`].
async fn make_plan(
    args: &PlanArgs,
    validated: &Validated,
    colour: bool,
) -> Result<(Plan, u64)> {
    let backend = super::open_backend(&args.backend.backend).await?;
    let snapshot = backend.fetch().await.map_err(|e| {
        Error::Other(format!(
            "cannot read the account from {}: {e}",
            backend.url()
        ))
    })?;
    let capabilities = backend.capabilities();
    let options = DiffOptions {
        bulk_limit: capabilities.bulk_limit,
        bulk_limits: capabilities.bulk_limits.clone(),
        now: snapshot.now,
        max_removals: args.max_removals,
        manages_agreements: capabilities.manages_agreements,
        operations: Some(capabilities.operations.clone()),
    };
    match diff(&snapshot.state, &validated.desired, &options) {
        Ok(plan) => Ok((plan, snapshot.revision)),
        Err(Refusal::Rules(plan)) => Err(refused(&plan, args.format, colour)),
        Err(other) => {
            let location = other
                .location()
                .map(|l| format!(" (declared at {l})"))
                .unwrap_or_default();
            Err(Error::Other(format!("{other}{location}")))
        }
    }
}

/// The error for a refused plan: safety rules (R11-R13) exit 3, other rules 1. The
/// refused plan and its reasons are printed in the chosen format first.
fn refused(plan: &Plan, format: PlanFormat, colour: bool) -> Error {
    let text = match format {
        PlanFormat::Json => render::json(plan),
        PlanFormat::Markdown => render::markdown(plan),
        // The text rendering has its own "Refused" section with every reason.
        PlanFormat::Text => render::text(plan, colour),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    let safety = plan.refusals.iter().any(|d| {
        use crate::diagnostic::Code;
        matches!(d.code, Code::R11 | Code::R12 | Code::R13)
    });
    if safety {
        Error::Refused(Vec::new())
    } else {
        Error::Other(format!(
            "the plan is refused: {}",
            report::summary(&plan.refusals)
        ))
    }
}

/// Writes the plan with what it was made against, for `apply --plan`.
fn save(out: &Path, plan: Plan, revision: u64, validated: &Validated) -> Result<()> {
    let files = validated.sources.files();
    let digest = config_digest(&files).map_err(|source| Error::Io {
        action: "cannot read the configuration again to digest it:",
        path: out.to_path_buf(),
        source,
    })?;
    let saved = SavedPlan {
        plan,
        backend_revision: revision,
        config_digest: digest,
    };
    std::fs::write(out, saved.to_json()).map_err(|source| Error::Io {
        action: "cannot write the plan to",
        path: out.to_path_buf(),
        source,
    })
}
