//! `accord plan PATH`: validate, fetch the live account, diff, print the minimal plan.

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;

use crate::backend::acc::unmanaged::split;
use crate::backend::{Backend, Capabilities, Snapshot};
use crate::cli::{ConfigArgs, PlanArgs, PlanFormat};
use crate::config::SourceMap;
use crate::desired::Desired;
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
    let validated = load(&args.config, args.format == PlanFormat::Json)?;
    // From here on only the desired state is needed (and, for `--out`, the digest of
    // the files it came from). Dropping the typed configuration and its source map
    // before the fetch lets the fetched state reuse their memory: on 50,000 members
    // that takes plan's peak from 10.1 to 8.7 times the input's size (BENCHMARKS.md,
    // "## plan").
    let Validated {
        config,
        sources,
        desired,
        warnings,
    } = validated;
    drop((config, warnings));
    let digest = args
        .out
        .as_ref()
        .map(|out| digest(out, &sources))
        .transpose()?;
    drop(sources);
    let runtime = super::runtime()?;
    let (plan, revision, unsupported) = runtime.block_on(make_plan(args, &desired, color))?;
    let format = match args.format {
        PlanFormat::Text => Format::Text,
        PlanFormat::Json => Format::Json,
        PlanFormat::Markdown => Format::Markdown,
    };
    let _ = std::io::stdout()
        .lock()
        .write_all(render::render(&plan, format, color).as_bytes());
    let changes = !plan.is_empty();
    if let Some(error) = unsupported_error(unsupported, args.skip_unsupported) {
        std::mem::forget((plan, desired));
        return Err(error);
    }
    match (&args.out, digest) {
        (Some(out), Some(digest)) => save(out, plan, revision, digest)?,
        _ => std::mem::forget(plan),
    }
    // The process exits right after this command (as in `validate`): the desired
    // state's and the plan's many small allocations go back with the process instead
    // of being freed one by one.
    std::mem::forget(desired);
    Ok(if args.detailed_exitcode && changes {
        exit::CHANGES
    } else {
        exit::OK
    })
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

/// Fetches the current state and diffs; a rule refusal is printed here (the plan it
/// refuses is worth seeing) and returned as [`Error::Refused`]. The parts of the
/// configuration the backend does not manage are left out of the diff and listed in
/// the plan's notes (issue 6); the count answered is how many of them the
/// configuration would change.
async fn make_plan(args: &PlanArgs, desired: &Desired, colour: bool) -> Result<(Plan, u64, usize)> {
    let backend = super::open_backend(&args.backend.backend).await?;
    let snapshot = fetch(backend.as_ref()).await?;
    let capabilities = backend.capabilities();
    let options = capabilities.diff_options(snapshot.now, args.max_removals);
    let (managed, notes, unsupported) =
        managed_part(&snapshot, desired, &capabilities, args.skip_unsupported);
    let mut plan = checked_diff(&snapshot, &managed, &options, args.format, colour)?;
    plan.notes.extend(notes);
    plan.drift = drift_report(backend.as_ref(), &plan, &snapshot, &managed).await;
    let revision = snapshot.revision;
    // Not freed one by one: see the end of `run`.
    std::mem::forget((snapshot, managed));
    Ok((plan, revision, unsupported))
}

/// The drift report of `plan`, with who and when from the backend's audit log when
/// it keeps one. An audit log that cannot be read costs only the who and when (a
/// note on standard error), never the plan.
async fn drift_report(
    backend: &dyn Backend,
    plan: &Plan,
    snapshot: &Snapshot,
    desired: &Desired,
) -> crate::plan::drift::Drift {
    let mut drift = crate::plan::drift::classify(plan, &snapshot.state, desired);
    let targets = drift.targets();
    if targets.is_empty() {
        return drift;
    }
    match backend.last_changes(&targets).await {
        Ok(changes) => drift.attach(&changes),
        Err(e) => eprintln!(
            "note: cannot read {}'s audit log for the drift report: {e}",
            backend.url()
        ),
    }
    drift
}

/// The configuration restricted to what a backend with `capabilities` manages
/// (shared by `plan` and, to keep them consistent, meant for `apply` too): the parts
/// it does not manage take the account's values, so the diff plans nothing for them.
/// Answers that configuration, one plan note per part left out ("not managed by this
/// backend"; a warning with `skip_unsupported`), and how many of those parts the
/// configuration would change.
pub(super) fn managed_part<'a>(
    snapshot: &Snapshot,
    desired: &'a Desired,
    capabilities: &Capabilities,
    skip_unsupported: bool,
) -> (Cow<'a, Desired>, Vec<String>, usize) {
    let (managed, unmanaged) = split(&snapshot.state, desired, capabilities);
    let unsupported = unmanaged.iter().filter(|part| part.changes).count();
    let notes = unmanaged
        .iter()
        .map(|part| part.note(skip_unsupported))
        .collect();
    (managed, notes, unsupported)
}

/// The error when the configuration would change `unsupported` parts the backend does
/// not manage and `--skip-unsupported` was not given.
pub(super) fn unsupported_error(unsupported: usize, skip_unsupported: bool) -> Option<Error> {
    if unsupported == 0 || skip_unsupported {
        return None;
    }
    let (s, them) = if unsupported == 1 {
        ("", "it")
    } else {
        ("s", "them")
    };
    Some(Error::Other(format!(
        "the configuration would change {unsupported} part{s} this backend does not manage (listed in the plan's notes): change {them} in the vendor's web console or leave {them} out of the configuration, or pass --skip-unsupported to plan without {them}"
    )))
}

/// Reads the whole account (shared by `plan` and `apply`).
///
/// # Errors
/// The backend cannot be read.
pub(super) async fn fetch(backend: &dyn Backend) -> Result<Snapshot> {
    backend.fetch().await.map_err(|e| {
        Error::Other(format!(
            "cannot read the account from {}: {e}",
            backend.url()
        ))
    })
}

/// Diffs the account with the configuration (shared by `plan` and `apply`, so both
/// run the same safety checks). A rule refusal is printed in `format` and returned as
/// an error: [`Error::Refused`] (exit 3) for R11-R13, [`Error::Other`] otherwise.
///
/// # Errors
/// A refusal (rules, another account, something the backend cannot do).
pub(super) fn checked_diff(
    snapshot: &Snapshot,
    desired: &Desired,
    options: &DiffOptions,
    format: PlanFormat,
    colour: bool,
) -> Result<Plan> {
    match diff(&snapshot.state, desired, options) {
        Ok(plan) => Ok(plan),
        Err(Refusal::Rules(plan)) => Err(refused(&plan, format, colour)),
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
fn save(out: &Path, plan: Plan, revision: u64, digest: String) -> Result<()> {
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
