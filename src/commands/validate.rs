//! `accord validate PATH`: schema and rules, no backend contact.

use std::io::Write;

use super::Finished;
use crate::cli::{DiagnosticFormat, ValidateArgs};
use crate::error::{Result, exit};
use crate::report;
use crate::validate::validate;

/// Validates and prints either a one-line success or every problem found.
///
/// Diagnostics are the command's product, so they go to standard output (in JSON
/// with `--format json`); the exit code says valid (0) or invalid (1).
pub fn run(args: &ValidateArgs, color: bool) -> Result<Finished> {
    let outcome = validate(&args.config.path, &args.config.load_options());
    let mut stdout = std::io::stdout().lock();
    let (text, code) = match (&outcome, args.format) {
        (Ok(v), DiagnosticFormat::Json) => (report::json(&v.warnings), exit::OK),
        (Ok(v), DiagnosticFormat::Github) => (crate::annotate::github(&v.warnings), exit::OK),
        (Ok(v), DiagnosticFormat::Sarif) => (crate::annotate::sarif(&v.warnings), exit::OK),
        (Err(diagnostics), DiagnosticFormat::Github) => {
            (crate::annotate::github(diagnostics), exit::FAILURE)
        }
        (Err(diagnostics), DiagnosticFormat::Sarif) => {
            (crate::annotate::sarif(diagnostics), exit::FAILURE)
        }
        (Ok(validated), DiagnosticFormat::Human) => {
            let state = &validated.desired.state;
            let warnings = if validated.warnings.is_empty() {
                String::new()
            } else {
                report::human(&validated.warnings, color)
            };
            (
                format!(
                    "{warnings}{} is valid: account {}, {} members, {} agreements, {} projects\n",
                    args.config.path.display(),
                    state.account.id,
                    state.members.len(),
                    state.agreements.len(),
                    state.projects.len()
                ),
                exit::OK,
            )
        }
        (Err(diagnostics), DiagnosticFormat::Json) => (report::json(diagnostics), exit::FAILURE),
        (Err(diagnostics), DiagnosticFormat::Human) => {
            (report::human(diagnostics, color), exit::FAILURE)
        }
    };
    // A closed pipe (`accord validate | head`) is not an error worth reporting.
    let _ = stdout.write_all(text.as_bytes());
    Ok(Finished::with(code).keeping(outcome))
}
