//! After the last call: fetch the account again and diff it with the configuration.
//! An empty plan means the apply converged; anything else is reported as the
//! differences that remain.

use crate::contract::{Backend, BackendError};
use crate::desired::Desired;
use crate::plan::{DiffOptions, Plan, Refusal, diff};

/// What the account looked like after the apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The account's revision when it was read.
    pub revision: u64,
    /// What still differs from the configuration (`op target`, or a sentence when
    /// there is no plan to show); empty when the apply converged.
    pub differences: Vec<String>,
}

impl Verification {
    /// Whether the account matches the configuration.
    #[must_use]
    pub fn converged(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Fetches the account and diffs it with `desired`, with `options` (its `now` is
/// taken from the fetch).
///
/// # Errors
/// The account could not be read.
pub async fn verify(
    backend: &dyn Backend,
    desired: &Desired,
    options: &DiffOptions,
) -> Result<Verification, BackendError> {
    let snapshot = backend.fetch().await?;
    let options = DiffOptions {
        now: snapshot.now,
        ..options.clone()
    };
    // A partial apply converged when nothing its targets concern still differs.
    let narrowed = |plan: Plan| {
        if options.targets.is_empty() {
            plan
        } else {
            super::partial::narrow(plan, &options.targets, &snapshot.state, &options.limits)
        }
    };
    let differences = match diff(&snapshot.state, desired, &options).map(narrowed) {
        Ok(plan) => plan
            .operations
            .iter()
            .map(|o| format!("{} {}", o.op.name(), o.target))
            .collect(),
        Err(Refusal::Rules(plan)) => {
            let plan = narrowed(*plan);
            plan.operations
                .iter()
                .map(|o| format!("{} {}", o.op.name(), o.target))
                .chain(
                    plan.refusals
                        .iter()
                        .map(|d| format!("{}: {}", d.code.as_str(), d.message)),
                )
                .collect()
        }
        Err(other) => vec![other.to_string()],
    };
    Ok(Verification {
        revision: snapshot.revision,
        differences,
    })
}
