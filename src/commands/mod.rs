//! One module per command. Each takes its validated arguments, calls the library
//! (mostly [`crate::pipeline`]), prints, and returns what [`Finished`] holds; [`run`]
//! dispatches. Nothing here decides anything the library could.

mod accounts;
mod apply;
pub mod completions;
mod export;
mod import;
mod init;
mod login;
mod offboard;
mod plan;
mod report;
mod schema;
mod serve;
mod show;
mod teams;
mod validate;

use std::any::Any;

use crate::cli::{Cli, Command};
use crate::error::{Error, Result};

/// What a command leaves when it succeeds: its exit code, and the large values it
/// built (a parsed configuration, a plan, a fetched account) kept to the end, so the
/// binary exits without freeing their millions of small allocations one by one (a
/// tenth of a second for 50,000 members): `main` calls `std::process::exit` while
/// they are still held.
#[derive(Default)]
pub struct Finished {
    /// The exit code.
    pub code: u8,
    kept: Vec<Box<dyn Any>>,
}

impl Finished {
    /// Finished with `code`.
    #[must_use]
    pub fn with(code: u8) -> Self {
        Self {
            code,
            kept: Vec::new(),
        }
    }

    /// Keeps `value` until the process exits.
    #[must_use]
    pub fn keeping(mut self, value: impl Any) -> Self {
        self.kept.push(Box::new(value));
        self
    }
}

impl std::fmt::Debug for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finished")
            .field("code", &self.code)
            .finish_non_exhaustive()
    }
}

/// Runs the command the user asked for (logging as its flags say).
///
/// # Errors
/// Whatever the command fails with; the caller prints it and maps it to an exit code.
pub fn run(cli: &Cli) -> Result<Finished> {
    start_logging(cli);
    let color = cli.color.enabled();
    match &cli.command {
        Command::Validate(args) => validate::run(args, color),
        Command::Plan(args) => plan::run(args, color),
        Command::Apply(args) => apply::run(args, color),
        Command::Export(args) => export::run(args),
        Command::Teams(args) => teams::run(args),
        Command::Schema => schema::run(),
        Command::Serve(args) => serve::run(args),
        Command::Init(args) => init::run(args),
        Command::Login(args) => login::run(args),
        Command::Logout(args) => login::logout(args),
        Command::Completions(args) => completions::run(args.shell),
        Command::Import(args) => import::run(args),
        Command::Show(args) => show::run(args),
        Command::Report(report) => report::run(report),
        Command::Offboard(args) => offboard::run(args),
    }
}

/// Logs to standard error, at the level and in the format the flags ask for. Log
/// lines never carry a secret: tokens and keys live only in request headers.
fn start_logging(cli: &Cli) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_new(cli.log_filter())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match cli.log_format {
        crate::cli::LogFormat::Json => builder.json().with_ansi(false).try_init(),
        crate::cli::LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal() && cli.color.enabled())
            .try_init(),
    };
}

/// Whether the command asked for JSON on standard output.
#[must_use]
pub fn wants_json(cli: &Cli) -> bool {
    use crate::cli::{ApplyFormat, DiagnosticFormat, PlanFormat};
    match &cli.command {
        Command::Validate(args) => args.format == DiagnosticFormat::Json,
        Command::Plan(args) => args.format == PlanFormat::Json,
        Command::Apply(args) => args.format == ApplyFormat::Json,
        Command::Show(args) => args.format == crate::cli::ListFormat::Json,
        _ => false,
    }
}

/// Prints a command's error: diagnostics in full, anything else as one line on
/// standard error; with `json`, also `{"error": {kind, message, exit_code}}` on
/// standard output, unless the command already printed its document there (an
/// invalid configuration's diagnostics, a refused plan, an apply's summary).
pub fn print_error(error: &Error, color: bool, json: bool) {
    use std::io::Write;
    if let Error::Invalid(diagnostics) = error {
        if !diagnostics.is_empty() {
            print!("{}", crate::report::human(diagnostics, color));
        }
    }
    // These commands printed their document already, with the error in it.
    let printed_document =
        matches!(error, Error::Invalid(_) | Error::NotConverged { .. }) || error.plan().is_some();
    if json && !printed_document {
        let document = serde_json::json!({ "error": error.to_json() });
        let _ = writeln!(std::io::stdout().lock(), "{document:#}");
    }
    eprintln!("error: {}", crate::text::shown(&error.to_string()));
}

/// A JSON document with the error that ended the command added as `error`.
pub(crate) fn with_error(document: &str, error: &Error) -> String {
    match serde_json::from_str::<serde_json::Value>(document) {
        Ok(serde_json::Value::Object(mut fields)) => {
            fields.insert("error".to_owned(), error.to_json());
            format!("{:#}\n", serde_json::Value::Object(fields))
        }
        _ => document.to_owned(),
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
        .map_err(|source| Error::System {
            doing: "cannot start the async runtime".to_owned(),
            source,
        })
}
