//! The one error type of accord's commands, and the exit code each variant maps to.

use std::path::PathBuf;

use crate::diagnostic::Diagnostic;

/// Exit codes, as DOMAIN.md's command-line table fixes them.
pub mod exit {
    /// Valid, converged, or no changes.
    pub const OK: u8 = 0;
    /// Invalid configuration, or any other error.
    pub const FAILURE: u8 = 1;
    /// `plan --detailed-exitcode`: there are changes. Also a usage error (clap's own code).
    pub const CHANGES: u8 = 2;
    /// Bad command-line usage (clap exits with 2 itself).
    pub const USAGE: u8 = 2;
    /// Refused by a safety rule (R11-R13): nothing was changed.
    pub const REFUSED: u8 = 3;
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid: the loader, the schema or a rule found problems.
    /// Happens in every command that reads a configuration, before any backend is contacted.
    #[error("the configuration is invalid; nothing was contacted or changed")]
    Invalid(Vec<Diagnostic>),

    /// A safety rule (R11-R13) refused the plan; nothing was changed.
    #[error("the plan was refused by a safety rule; nothing was changed")]
    Refused(Vec<Diagnostic>),

    /// The command line asks for something that cannot work (e.g. a bad backend URL).
    #[error("{0}")]
    Usage(String),

    /// Reading or writing a local file failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What accord was doing ("cannot write").
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },

    /// Anything else, already phrased for the user.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// The process exit code for this error.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Refused(_) => exit::REFUSED,
            Self::Usage(_) => exit::USAGE,
            Self::Invalid(_) | Self::Io { .. } | Self::Other(_) => exit::FAILURE,
        }
    }
}

/// The result of a command.
pub type Result<T, E = Error> = std::result::Result<T, E>;
