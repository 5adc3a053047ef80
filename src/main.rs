//! The `accord` binary: parse the command line, run, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = accord::cli::Cli::parse();
    match accord::commands::run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            let color = cli.color.enabled();
            accord::commands::print_error(&error, color);
            ExitCode::from(error.exit_code())
        }
    }
}
