//! `accord export`: the backend's state as configuration files.

use std::io::Write;
use std::path::Path;

use super::Finished;
use crate::backend::{BackendUrl, OpenOptions};
use crate::cli::{ExportArgs, ExportFormat};
use crate::error::{Error, Result, exit};
use crate::export;
use crate::import::columns::Kind;
use crate::pipeline;

/// Fetches the state and writes it, one file per section, or one document to stdout.
///
/// # Errors
/// An unreadable backend, a backend with no account yet, or existing files without
/// `--force` (then nothing is written).
pub fn run(args: &ExportArgs) -> Result<Finished> {
    let runtime = super::runtime()?;
    let url = &args.backend.backend;
    refuse_missing_store(url)?;
    let mut snapshot = runtime.block_on(async {
        let backend = pipeline::open(url, &OpenOptions::default()).await?;
        pipeline::fetch(backend.as_ref()).await
    })?;
    if snapshot.state.account.id.is_empty() && !snapshot.state.teams.is_empty() {
        // The vendor's teams alone hold no account: the configuration still needs
        // one, and the backend compares none.
        snapshot.state.account = crate::state::AccountInfo {
            id: TEAMS_ACCOUNT_ID.to_owned(),
            name: "Autodesk teams".to_owned(),
        };
    }
    if snapshot.state.account.id.is_empty() {
        return Err(Error::Refusal(format!(
            "the backend {} holds no account yet: there is nothing to export (`accord apply` gives it one)",
            crate::backend::http::shown_url(url)
        )));
    }
    // The schema line first, so an editor completes and checks the files.
    let schema = args.out.as_deref().map_or_else(
        || crate::config::schema::SCHEMA_ID.to_owned(),
        super::init::schema_reference,
    );
    let header = format!(
        "# yaml-language-server: $schema={schema}\n# Exported by accord {} from {} at revision {}.\n",
        env!("CARGO_PKG_VERSION"),
        crate::backend::http::shown_url(url),
        snapshot.revision
    );
    if let Some(kind) = vendor_kind(args.format) {
        let text = crate::import::vendor::csv(&snapshot.state, kind);
        match &args.out {
            None => {
                let _ = std::io::stdout().lock().write_all(text.as_bytes());
            }
            Some(dir) => write_files(dir, &[(csv_name(kind), text)], args.force)?,
        }
        return Ok(Finished::with(exit::OK).keeping(snapshot));
    }
    let files = export::files(&snapshot.state, &header, snapshot.now);
    match &args.out {
        None => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(header.as_bytes());
            for (_, text) in &files {
                let body = text.strip_prefix(header.as_str()).unwrap_or(text);
                let _ = stdout.write_all(body.as_bytes());
            }
        }
        Some(dir) => write_files(dir, &files, args.force)?,
    }
    Ok(Finished::with(exit::OK))
}

/// The portal export `format` asks for; `None` for configuration files.
fn vendor_kind(format: ExportFormat) -> Option<Kind> {
    match format {
        ExportFormat::Yaml => None,
        ExportFormat::UsersCsv => Some(Kind::Users),
        ExportFormat::MembersCsv => Some(Kind::Members),
        ExportFormat::UsageCsv => Some(Kind::Usage),
    }
}

/// The file an export of `kind` is written to under `--out`.
fn csv_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Users => "users.csv",
        Kind::Members => "members.csv",
        Kind::Usage => "usage.csv",
    }
}

/// The account id written for a backend of teams alone (which names no account).
pub const TEAMS_ACCOUNT_ID: &str = "autodesk-teams";

/// Export only reads: opening a store that does not exist would create an empty one
/// (and its directory), leaving a stray file behind a mistyped `--backend`.
fn refuse_missing_store(url: &str) -> Result<()> {
    match crate::backend::parse_url(url) {
        Ok(BackendUrl::Sqlite(path)) if !path.exists() => Err(Error::Refusal(format!(
            "there is no store at {}: nothing to export (check --backend or ACCORD_BACKEND)",
            path.display()
        ))),
        // Other URLs, and bad ones, are reported by opening the backend.
        _ => Ok(()),
    }
}

/// Writes every file, after checking none exists (unless `force`), so a refusal
/// leaves the directory as it was.
pub(super) fn write_files(dir: &Path, files: &[(&str, String)], force: bool) -> Result<()> {
    if !force {
        let existing: Vec<String> = files
            .iter()
            .map(|(name, _)| dir.join(name))
            .filter(|path| path.exists())
            .map(|path| path.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(Error::Refusal(format!(
                "{} already exist{}: nothing was written; use --force to overwrite",
                existing.join(", "),
                if existing.len() == 1 { "s" } else { "" }
            )));
        }
    }
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        action: "cannot create",
        path: dir.to_path_buf(),
        source,
    })?;
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| Error::Io {
            action: "cannot write",
            path,
            source,
        })?;
        println!("wrote {}", dir.join(name).display());
    }
    Ok(())
}
