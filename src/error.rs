//! The one error type of accord's commands. Each variant carries what happened and
//! where, says when it happens, maps to an exit code ([`Error::exit_code`]) and has a
//! stable name for tools ([`Error::kind`], the `error.kind` of `--format json`), so a
//! held lock, a stale plan, an unreachable backend, a refused plan and a failed
//! operation can be told apart without reading a sentence.

use std::path::PathBuf;

use crate::apply::{CarryOutError, LockFailure};
use crate::contract::BackendError;
use crate::diagnostic::{Diagnostic, Location};
use crate::plan::Plan;

/// Exit codes, as DOMAIN.md's command-line table fixes them.
pub mod exit {
    /// Valid, converged, or no changes.
    pub const OK: u8 = 0;
    /// Invalid configuration, or any other error.
    pub const FAILURE: u8 = 1;
    /// `plan --detailed-exitcode`: there are changes.
    pub const CHANGES: u8 = 2;
    /// Refused by a safety rule (R11-R14): nothing was changed.
    pub const REFUSED: u8 = 3;
    /// The command line itself is wrong (an unknown flag, a bad value). Kept apart
    /// from 2 (changes) and 3 (refused) so CI can never read a typo as drift; 64 is
    /// `EX_USAGE` of sysexits.h.
    pub const USAGE: u8 = 64;
}

/// Why a saved plan can no longer be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Staleness {
    /// The configuration's files changed since the plan was made.
    Configuration,
    /// The account was written since the plan was made.
    Revision {
        /// The revision the plan was made at.
        saved: u64,
        /// The revision the account is at now.
        found: u64,
    },
    /// Planning afresh gives another plan (the backend's limits, or an invitation's
    /// expiry, moved on).
    Replanned,
}

/// Why an apply was not approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// No terminal to ask on, and no `--auto-approve`.
    NoTerminal,
    /// The person at the terminal did not answer `yes`.
    Declined,
    /// The answer could not be read.
    Unreadable(String),
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid: the loader, the schema or a rule found problems.
    /// Happens in every command that reads a configuration, before any backend is
    /// contacted. `diagnostics` is empty when the command already printed them.
    #[error("the configuration is invalid; nothing was contacted or changed")]
    Invalid(Vec<Diagnostic>),

    /// A safety rule (R11-R14) refused the plan; nothing was changed. The plan, with
    /// its refusals, is shown first.
    #[error("the plan was refused by a safety rule; nothing was changed")]
    Refused(Box<Plan>),

    /// The plan would break a rule on the account it leaves (R04, R10 against what the
    /// backend holds); nothing was changed.
    #[error("the plan is refused: {summary}; nothing was changed")]
    Rejected {
        /// The refused plan, shown first.
        plan: Box<Plan>,
        /// The refusals in one line.
        summary: String,
    },

    /// The configuration is for another account than the backend holds.
    #[error("this configuration is for {configured} but the backend holds {backend}{}", at(.location.as_ref()))]
    AccountMismatch {
        /// `account.id` of the configuration.
        configured: String,
        /// The backend's account id.
        backend: String,
        /// Where `account` is declared.
        location: Option<Location>,
    },

    /// The configuration asks for something the backend cannot do at all.
    #[error("{message}{}", at(.location.as_ref()))]
    CannotPlan {
        /// What and why.
        message: String,
        /// The declaration concerned.
        location: Option<Location>,
    },

    /// The configuration would change parts of the account the backend does not
    /// manage, and `--skip-unsupported` was not given. The plan is shown first.
    #[error(
        "the configuration would change {parts} part{} this backend does not manage (listed in the plan's notes): change {them} in the vendor's web console or leave {them} out of the configuration, or pass --skip-unsupported to plan without {them}",
        if *.parts == 1 { "" } else { "s" },
        them = if *.parts == 1 { "it" } else { "them" }
    )]
    Unsupported {
        /// The plan without those parts.
        plan: Box<Plan>,
        /// How many parts.
        parts: usize,
    },

    /// The backend could not be opened, read or written as a whole (unreachable,
    /// credentials refused, a damaged store, a call that kept failing).
    #[error("{}", backend_message(.doing, .url, .source))]
    Backend {
        /// What accord was doing (`cannot read the account from`).
        doing: &'static str,
        /// The backend, as messages show it (never with credentials).
        url: String,
        /// What failed.
        source: BackendError,
    },

    /// Another apply holds the account's lock (for the whole `--lock-timeout`), or the
    /// lock could not be taken.
    #[error(transparent)]
    Lock(LockFailure),

    /// A saved plan (`apply --plan FILE`) no longer fits the account or the
    /// configuration; nothing was changed.
    #[error("{}", stale_message(.path, .why))]
    StalePlan {
        /// The saved plan.
        path: PathBuf,
        /// What moved on.
        why: Staleness,
    },

    /// A saved plan cannot be read, is not a plan, or was edited.
    #[error("{}: {message}; nothing was changed", .path.display())]
    BadPlan {
        /// The saved plan.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// `apply` was not approved; nothing was changed.
    #[error("{}", approval_message(.0))]
    NotApproved(Approval),

    /// `apply` could not start (its journal); nothing was written.
    #[error(transparent)]
    CarryOut(#[from] CarryOutError),

    /// `apply` carried the plan out but the account did not converge: operations
    /// failed, the apply stopped, or the account still differs. The summary is shown
    /// first.
    #[error("{}", not_converged_message(*.failed, .stopped.as_deref()))]
    NotConverged {
        /// Operations that did not succeed.
        failed: usize,
        /// Why the apply stopped early, if it did.
        stopped: Option<String>,
    },

    /// `export` or `serve` has nothing to work with, or would overwrite files.
    #[error("{0}")]
    Refusal(String),

    /// A `--target` names nothing the configuration declares or the account holds;
    /// nothing was changed.
    #[error("{0}")]
    UnmatchedTarget(crate::plan::scope::Unmatched),

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

    /// `offboard` cannot take the person off: an unknown person or successor, roles
    /// nobody takes over, a protected person, or edits that would not validate.
    #[error("{0}; nothing was changed")]
    Offboard(String),

    /// The operating system refused what accord needs to run (threads, a socket).
    #[error("{doing}: {source}")]
    System {
        /// What accord was doing.
        doing: String,
        /// The cause.
        source: std::io::Error,
    },

    /// `import` found problems in its files (a header it cannot place, missing
    /// columns, unusable rows, each with `file:line`); nothing was written.
    #[error("{}", import_message(.0))]
    Import(Vec<String>),

    /// `show` was asked for a member, product, agreement or team the configuration
    /// does not declare (the message says what is close, if anything).
    #[error("{0}")]
    NotFound(String),
}

fn import_message(problems: &[String]) -> String {
    let mut text = format!(
        "cannot import: {} problem{}; nothing was written",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for problem in problems {
        text.push_str("\n  ");
        text.push_str(problem);
    }
    text
}

/// `cannot read the account from URL: WHY`, naming the URL once.
fn backend_message(doing: &str, url: &str, source: &BackendError) -> String {
    let why = source.to_string();
    if why.contains(url) {
        format!("{doing}: {why}")
    } else {
        format!("{doing} {url}: {why}")
    }
}

fn at(location: Option<&Location>) -> String {
    location
        .map(|l| format!(" (declared at {})", l.file_line()))
        .unwrap_or_default()
}

fn stale_message(path: &std::path::Path, why: &Staleness) -> String {
    let plan = format!("run `accord plan --out {}` again", path.display());
    match why {
        Staleness::Configuration => {
            format!(
                "the configuration changed since this plan was made: {plan}; nothing was changed"
            )
        }
        Staleness::Revision { saved, found } => format!(
            "the account changed since this plan was made (revision {saved} -> {found}): {plan}; nothing was changed"
        ),
        Staleness::Replanned => format!(
            "the account changed since this plan was made (planning afresh gives another plan: the backend's limits or an invitation's expiry moved on): {plan}; nothing was changed"
        ),
    }
}

fn approval_message(approval: &Approval) -> String {
    match approval {
        Approval::NoTerminal => "refusing to apply without confirmation: there is no terminal to ask on. Review the plan (`accord plan`), then run `accord apply --auto-approve` (CI), or save it with `accord plan --out plan.json` and run `accord apply --plan plan.json --auto-approve` to apply exactly what was reviewed; nothing was changed".to_owned(),
        Approval::Declined => "apply cancelled; nothing was changed".to_owned(),
        Approval::Unreadable(why) => format!("cannot read the answer: {why}; nothing was changed"),
    }
}

fn not_converged_message(failed: usize, stopped: Option<&str>) -> String {
    if let Some(reason) = stopped {
        format!(
            "the apply stopped before finishing ({failed} operations not carried out): {reason}"
        )
    } else if failed > 0 {
        format!(
            "the apply did not converge: {failed} operations did not succeed (see the summary); fix the cause and run `accord apply` again: nothing already done is done twice"
        )
    } else {
        "the apply did not converge: the account still differs from the configuration (see the summary); run `accord plan` to see why".to_owned()
    }
}

impl Error {
    /// The process exit code for this error.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Refused(_) => exit::REFUSED,
            _ => exit::FAILURE,
        }
    }

    /// A stable name for this kind of failure, for tools (`error.kind` in
    /// `--format json`). Backend failures name the backend's kind of failure too
    /// (`backend.unreachable`).
    #[must_use]
    pub fn kind(&self) -> String {
        let kind = match self {
            Self::Invalid(_) => "invalid_configuration",
            Self::Refused(_) => "refused",
            Self::Rejected { .. } => "rejected",
            Self::AccountMismatch { .. } => "account_mismatch",
            Self::CannotPlan { .. } => "cannot_plan",
            Self::Unsupported { .. } => "unsupported",
            Self::Backend { source, .. } => return format!("backend.{}", source.kind()),
            Self::Lock(LockFailure::Held { .. }) => "lock_held",
            Self::Lock(LockFailure::Backend(_)) => "lock_failed",
            Self::StalePlan { .. } => "stale_plan",
            Self::BadPlan { .. } => "invalid_plan",
            Self::NotApproved(_) => "not_approved",
            Self::CarryOut(_) => "journal",
            Self::NotConverged { .. } => "not_converged",
            Self::Refusal(_) => "refusal",
            Self::UnmatchedTarget(_) => "unmatched_target",
            Self::Io { .. } => "io",
            Self::Offboard(_) => "offboard",
            Self::System { .. } => "system",
            Self::Import(_) => "import",
            Self::NotFound(_) => "not_found",
        };
        kind.to_owned()
    }

    /// The plan the error refers to, when it refuses one (it is worth showing).
    #[must_use]
    pub fn plan(&self) -> Option<&Plan> {
        match self {
            Self::Refused(plan) | Self::Rejected { plan, .. } | Self::Unsupported { plan, .. } => {
                Some(plan)
            }
            _ => None,
        }
    }

    /// The error as JSON for tools: `{"kind", "message", "exit_code"}`.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind(),
            "message": self.to_string(),
            "exit_code": self.exit_code(),
        })
    }
}

/// The result of a command.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_has_its_own_kind_and_code() {
        let stale = Error::StalePlan {
            path: "plan.json".into(),
            why: Staleness::Revision { saved: 3, found: 4 },
        };
        assert_eq!(stale.kind(), "stale_plan");
        assert_eq!(stale.exit_code(), exit::FAILURE);
        assert!(stale.to_string().contains("revision 3 -> 4"), "{stale}");
        let backend = Error::Backend {
            doing: "cannot read the account from",
            url: "http://x".into(),
            source: BackendError::Unreachable {
                url: "http://x".into(),
                detail: "refused".into(),
            },
        };
        assert_eq!(backend.kind(), "backend.unreachable");
        assert_eq!(exit::REFUSED, 3);
        let json = Error::NotConverged {
            failed: 2,
            stopped: None,
        }
        .to_json();
        assert_eq!(json["kind"], "not_converged");
        assert_eq!(json["exit_code"], 1);
    }
}
