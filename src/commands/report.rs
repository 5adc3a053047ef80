//! `accord report seats`: seat usage on the live account, as Markdown, HTML or JSON.

use std::io::Write;
use std::path::Path;

use super::Finished;
use crate::backend::{BackendUrl, OpenOptions};
use crate::cli::{ReportCommand, ReportFormat, SeatsArgs};
use crate::config::LoadOptions;
use crate::error::{Error, Result, exit};
use crate::pipeline;
use crate::seat_report::{self, Inputs};
use crate::validate::validate;

/// Runs a `report` subcommand.
///
/// # Errors
/// See [`seats`].
pub fn run(command: &ReportCommand) -> Result<Finished> {
    match command {
        ReportCommand::Seats(args) => seats(args),
    }
}

/// Reads the backend (and its seat history), builds the report and writes it.
///
/// # Errors
/// An `--out` file that exists without `--force`, an invalid configuration, a
/// missing store, an unreachable or unreadable backend; in each case nothing is
/// written.
pub fn seats(args: &SeatsArgs) -> Result<Finished> {
    if let Some(out) = &args.out {
        refuse_existing(out, args.force)?;
    }
    let desired = match &args.path {
        Some(path) => {
            let options = LoadOptions {
                recursive: args.recursive,
                ..LoadOptions::default()
            };
            Some(validate(path, &options).map_err(Error::Invalid)?.desired)
        }
        None => None,
    };
    let url = &args.backend.backend;
    refuse_missing_store(url)?;
    let runtime = super::runtime()?;
    let (snapshot, history, shown) = runtime.block_on(async {
        let backend = pipeline::open(url, &OpenOptions::default()).await?;
        let snapshot = pipeline::fetch(backend.as_ref()).await?;
        let history = backend
            .seat_history()
            .await
            .map_err(|source| Error::Backend {
                doing: "cannot read the seat history from",
                url: backend.url(),
                source,
            })?;
        Ok::<_, Error>((snapshot, history, backend.url()))
    })?;
    let report = seat_report::build(&Inputs {
        backend: &shown,
        state: &snapshot.state,
        revision: snapshot.revision,
        now: snapshot.now,
        history: history.as_deref(),
        desired: desired.as_ref(),
    });
    let text = match args.format {
        ReportFormat::Markdown => report.markdown(),
        ReportFormat::Html => report.html(),
        ReportFormat::Json => report.json(),
    };
    match &args.out {
        Some(out) => {
            std::fs::write(out, &text).map_err(|source| Error::Io {
                action: "cannot write",
                path: out.clone(),
                source,
            })?;
            eprintln!("wrote {}", out.display());
        }
        None => {
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
        }
    }
    Ok(Finished::with(exit::OK).keeping(snapshot).keeping(desired))
}

/// Refuses to overwrite `out` without `force`, before anything is read.
fn refuse_existing(out: &Path, force: bool) -> Result<()> {
    if force || !out.exists() {
        return Ok(());
    }
    Err(Error::Refusal(format!(
        "{} already exists: nothing was written; use --force to overwrite it",
        out.display()
    )))
}

/// A report only reads: opening a store that does not exist would create an empty
/// one, leaving a stray file behind a mistyped `--backend`.
fn refuse_missing_store(url: &str) -> Result<()> {
    match crate::backend::parse_url(url) {
        Ok(BackendUrl::Sqlite(path)) if !path.exists() => Err(Error::Refusal(format!(
            "there is no store at {}: nothing to report on (check --backend or ACCORD_BACKEND)",
            path.display()
        ))),
        _ => Ok(()),
    }
}
