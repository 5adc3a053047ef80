//! What happened to each operation of an apply, and the counts the summary shows.

use serde::{Deserialize, Serialize};

use crate::contract::Outcome;

/// The final answer for one operation of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum OpOutcome {
    /// The backend changed the account.
    Done,
    /// The account was already so; nothing needed changing (counts as success).
    AlreadySo,
    /// The backend said no; never retried.
    Refused {
        /// The rule it cited (`R04`), if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
        /// Why.
        reason: String,
    },
    /// It could not be carried out, retries included.
    Failed {
        /// What went wrong last.
        reason: String,
    },
    /// It was not sent: an operation it depends on failed, or the apply stopped.
    Skipped {
        /// Why (`depends on member.invite dana@x, which failed`).
        reason: String,
    },
}

impl OpOutcome {
    /// Whether the account is as the operation asked.
    #[must_use]
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Done | Self::AlreadySo)
    }

    /// The word the journal and the summary use (`already_so`).
    #[must_use]
    pub fn word(&self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::AlreadySo => "already_so",
            Self::Refused { .. } => "refused",
            Self::Failed { .. } => "failed",
            Self::Skipped { .. } => "skipped",
        }
    }

    /// The reason of a refusal, failure or skip (`R04: ...` for a refusal citing a rule).
    #[must_use]
    pub fn reason(&self) -> Option<String> {
        match self {
            Self::Done | Self::AlreadySo => None,
            Self::Refused {
                rule: Some(rule),
                reason,
            } => Some(format!("{rule}: {reason}")),
            Self::Refused { reason, .. } | Self::Failed { reason } | Self::Skipped { reason } => {
                Some(reason.clone())
            }
        }
    }

    /// The final outcome for a backend answer that is not to be retried (`None` for a
    /// retryable failure).
    #[must_use]
    pub fn from_final(outcome: &Outcome) -> Option<Self> {
        match outcome {
            Outcome::Done => Some(Self::Done),
            Outcome::AlreadySo => Some(Self::AlreadySo),
            Outcome::Refused { rule, reason } => Some(Self::Refused {
                rule: rule.clone(),
                reason: reason.clone(),
            }),
            Outcome::Failed {
                retryable: true, ..
            } => None,
            Outcome::Failed {
                reason,
                retryable: false,
            } => Some(Self::Failed {
                reason: reason.clone(),
            }),
        }
    }
}

/// How many operations ended each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Changed the account.
    pub done: usize,
    /// Already so.
    pub already_so: usize,
    /// Refused by the backend.
    pub refused: usize,
    /// Failed after retries.
    pub failed: usize,
    /// Not sent.
    pub skipped: usize,
}

impl Tally {
    /// Counts `outcomes`.
    #[must_use]
    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a OpOutcome>) -> Self {
        let mut tally = Self::default();
        for outcome in outcomes {
            tally.add(outcome);
        }
        tally
    }

    /// Counts one more.
    pub fn add(&mut self, outcome: &OpOutcome) {
        match outcome {
            OpOutcome::Done => self.done += 1,
            OpOutcome::AlreadySo => self.already_so += 1,
            OpOutcome::Refused { .. } => self.refused += 1,
            OpOutcome::Failed { .. } => self.failed += 1,
            OpOutcome::Skipped { .. } => self.skipped += 1,
        }
    }

    /// Operations counted.
    #[must_use]
    pub fn total(&self) -> usize {
        self.done + self.already_so + self.refused + self.failed + self.skipped
    }

    /// Whether every operation counted succeeded.
    #[must_use]
    pub fn all_succeeded(&self) -> bool {
        self.refused + self.failed + self.skipped == 0
    }
}
