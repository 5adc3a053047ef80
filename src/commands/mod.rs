//! One module per command. Each takes its validated arguments, does its work and
//! returns the exit code; [`run`] dispatches.

mod apply;
pub mod completions;
mod export;
mod plan;
mod schema;
mod serve;
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
        Command::Plan(args) => plan::run(args, color),
        Command::Apply(args) => apply::run(args, color),
        Command::Export(args) => export::run(args),
        Command::Schema => schema::run(),
        Command::Serve(args) => serve::run(args),
        Command::Completions(args) => completions::run(args.shell),
    }
}

/// Prints a command's error: diagnostics in full, anything else as one line on stderr.
pub fn print_error(error: &crate::error::Error, color: bool) {
    use crate::error::Error;
    match error {
        Error::Invalid(diagnostics) | Error::Refused(diagnostics) => {
            // Commands that already printed the reasons in their own format pass none.
            if !diagnostics.is_empty() {
                print!("{}", crate::report::human(diagnostics, color));
            }
            eprintln!("error: {error}");
        }
        other => eprintln!("error: {other}"),
    }
}

/// A runtime for the commands that talk to a backend (two worker threads: the
/// machines accord runs on are small, and the work is mostly waiting).
///
/// # Errors
/// When the operating system refuses the threads.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| crate::error::Error::Other(format!("cannot start the async runtime: {e}")))
}

/// Opens the backend the user named, phrasing failures for them.
///
/// # Errors
/// The backend cannot be opened (bad URL, unreadable store, unreachable service).
pub(crate) async fn open_backend(url: &str) -> Result<Box<dyn crate::backend::Backend>> {
    crate::backend::open(url)
        .await
        .map_err(|e| crate::error::Error::Other(format!("backend {url}: {e}")))
}
