//! One module per command. Each takes its validated arguments, does its work and
//! returns the exit code; [`run`] dispatches.

mod schema;
mod validate;

use crate::cli::{Cli, Command};
use crate::error::Result;

/// Runs the command the user asked for and returns the process exit code.
///
/// # Errors
/// Whatever the command fails with; the caller prints it and maps it to an exit code.
pub fn run(cli: &Cli) -> Result<u8> {
    let color = cli.color.enabled();
    match &cli.command {
        Command::Validate(args) => validate::run(args, color),
        Command::Schema => schema::run(),
    }
}

/// Prints a command's error: diagnostics in full, anything else as one line on stderr.
pub fn print_error(error: &crate::error::Error, color: bool) {
    use crate::error::Error;
    match error {
        Error::Invalid(diagnostics) | Error::Refused(diagnostics) => {
            print!("{}", crate::report::human(diagnostics, color));
            eprintln!("error: {error}");
        }
        other => eprintln!("error: {other}"),
    }
}
