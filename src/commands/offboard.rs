//! `accord offboard EMAIL [PATH]`: take a person off the configuration's files in
//! place ([`crate::offboard`]), print the diff, and write the files unless
//! `--dry-run`.

use std::io::Write;

use super::Finished;
use crate::cli::OffboardArgs;
use crate::error::{Result, exit};
use crate::offboard::{self, Leaving, Request};

/// Prepares and checks the edits, prints the diff on standard output and what
/// changed on standard error, then writes the files (not with `--dry-run`).
pub fn run(args: &OffboardArgs) -> Result<Finished> {
    let request = Request {
        email: args.email.clone(),
        successor: args.transfer_to.clone(),
        leaving: if args.remove {
            Leaving::Remove
        } else {
            Leaving::Deactivate
        },
    };
    let offboarding = offboard::prepare(&args.config.path, &args.config.load_options(), &request)?;
    // A closed pipe (`accord offboard ... | head`) is not an error worth reporting.
    let _ = std::io::stdout()
        .lock()
        .write_all(offboarding.diff().as_bytes());
    let mut stderr = std::io::stderr().lock();
    for change in &offboarding.changes {
        let _ = writeln!(stderr, "{change}");
    }
    for note in &offboarding.notes {
        let _ = writeln!(stderr, "note: {note}");
    }
    let files = offboarding.files.len();
    let plural = if files == 1 { "" } else { "s" };
    let outcome = if offboarding.files.is_empty() {
        format!(
            "{} holds nothing to take off: no file changed",
            offboarding.email
        )
    } else if args.dry_run {
        format!("dry run: {files} file{plural} would change; nothing was written")
    } else {
        offboarding.write()?;
        format!(
            "offboarded {}: {files} file{plural} changed; run `accord plan` to see what the account frees",
            offboarding.email
        )
    };
    let _ = writeln!(stderr, "{outcome}");
    Ok(Finished::with(exit::OK))
}
