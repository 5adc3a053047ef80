//! `accord import`: the portal's CSV exports as configuration files.

use std::io::Write;

use super::Finished;
use crate::cli::ImportArgs;
use crate::error::{Error, Result, exit};
use crate::import::{self, Options, Source};

/// Reads the files, builds what the output directory lacks, and writes it (or prints
/// it as one document).
///
/// # Errors
/// Unreadable files, problems in them ([`Error::Import`]), no account, existing files
/// without `--force` (then nothing is written).
pub fn run(args: &ImportArgs) -> Result<Finished> {
    let sources = args
        .files
        .iter()
        .map(|path| {
            let bytes = std::fs::read(path).map_err(|source| Error::Io {
                action: "cannot read",
                path: path.clone(),
                source,
            })?;
            let name = path.display().to_string();
            // A byte order mark (spreadsheets write one) is not part of the first column.
            let text = String::from_utf8(bytes).map_err(|_| {
                Error::Import(vec![format!(
                    "{name}: not UTF-8 text: save the export as CSV UTF-8"
                )])
            })?;
            Ok(Source {
                name,
                text: text
                    .strip_prefix('\u{feff}')
                    .map(str::to_owned)
                    .unwrap_or(text),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let imported = import::read(&sources, args.team.as_deref()).map_err(Error::Import)?;
    for warning in &imported.warnings {
        eprintln!("warning: {warning}");
    }
    let options = Options {
        account: args.account_id.as_ref().map(|id| {
            (
                id.clone(),
                args.account_name.clone().unwrap_or_else(|| id.clone()),
            )
        }),
        admins: args.admin.clone(),
    };
    let built =
        import::build_in(&imported, args.out.as_deref(), &options).map_err(Error::Import)?;
    for note in &built.notes {
        eprintln!("note: {note}");
    }
    let schema = args.out.as_deref().map_or_else(
        || crate::config::schema::SCHEMA_ID.to_owned(),
        super::init::schema_reference,
    );
    let read: Vec<String> = imported
        .files
        .iter()
        .map(|(name, kind, rows)| format!("{name} ({}, {rows} rows)", kind.title()))
        .collect();
    let header = format!(
        "# yaml-language-server: $schema={schema}\n# Imported by accord {} from {}.\n",
        env!("CARGO_PKG_VERSION"),
        read.join(", ")
    );
    let files = import::render(&built, &header);
    match &args.out {
        None => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(header.as_bytes());
            for (_, text) in &files {
                let body = text.strip_prefix(header.as_str()).unwrap_or(text);
                let _ = stdout.write_all(body.as_bytes());
            }
        }
        Some(dir) => {
            if files.is_empty() {
                eprintln!(
                    "nothing to write: {} declares everything the files hold",
                    dir.display()
                );
            }
            super::export::write_files(dir, &files, args.force)?;
        }
    }
    let people = imported.people.len();
    let seats: usize = imported
        .teams
        .values()
        .flat_map(|t| t.pools.values())
        .map(|p| p.direct.len())
        .sum();
    eprintln!(
        "imported {people} {} and {seats} team seat{} from {}",
        if people == 1 { "person" } else { "people" },
        if seats == 1 { "" } else { "s" },
        read.join(", ")
    );
    Ok(Finished::with(exit::OK))
}
