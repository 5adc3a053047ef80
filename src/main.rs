//! The `accord` binary: parse the command line, run, map errors to exit codes.

use clap::Parser;

fn main() {
    let cli = match accord::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // `--help` and `--version` are answers, not errors; a usage error exits 64,
            // never 2 (changes) or 3 (refused), so CI cannot mistake a typo for drift.
            let code = if error.use_stderr() {
                i32::from(accord::error::exit::USAGE)
            } else {
                0
            };
            let _ = error.print();
            std::process::exit(code);
        }
    };
    let result = accord::commands::run(&cli);
    let code = match &result {
        Ok(finished) => finished.code,
        Err(error) => {
            let json = accord::commands::wants_json(&cli);
            accord::commands::print_error(error, cli.color.enabled(), json);
            error.exit_code()
        }
    };
    // Exiting here, with `result` (the command's large values) still held, hands
    // their memory back with the process instead of freeing it piece by piece.
    std::process::exit(i32::from(code));
}
