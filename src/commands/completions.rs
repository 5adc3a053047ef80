//! `accord completions SHELL`: prints a shell completion script.
//!
//! The script is generated from the same clap definition the binary parses with
//! (`clap_complete`), so completions cannot drift from the real flags.

use std::io::Write;

use clap::CommandFactory;

use super::Finished;
use crate::cli::{Cli, CompletionShell};
use crate::error::{Error, Result};

/// Writes the completion script for `shell` to standard output.
///
/// # Errors
/// Standard output cannot be written (a closed pipe, a full disk).
pub fn run(shell: CompletionShell) -> Result<Finished> {
    let mut out = Vec::new();
    write_script(shell, &mut out);
    std::io::stdout()
        .write_all(&out)
        .map_err(|source| Error::System {
            doing: "cannot write the completion script".to_owned(),
            source,
        })?;
    Ok(Finished::with(0))
}

/// Generates the completion script for `shell` into `out`.
pub fn write_script(shell: CompletionShell, out: &mut Vec<u8>) {
    let mut command = Cli::command();
    let generator = match shell {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(generator, &mut command, "accord", out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_script_names_the_subcommands() {
        for shell in [
            CompletionShell::Bash,
            CompletionShell::Zsh,
            CompletionShell::Fish,
        ] {
            let mut out = Vec::new();
            write_script(shell, &mut out);
            let script = String::from_utf8(out).expect("UTF-8");
            for name in [
                "validate",
                "plan",
                "apply",
                "export",
                "serve",
                "completions",
            ] {
                assert!(script.contains(name), "{shell:?} script lacks {name}");
            }
        }
    }
}
