//! The plan as a document: what `plan --format json` prints, what `--out` saves and
//! what `apply --plan` reads back. Its shape is documented by
//! `schemas/plan.schema.json`; [`PLAN_FORMAT_VERSION`] changes whenever that shape
//! changes incompatibly.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::drift::Drift;
use super::operation::{Action, OpKind, Operation, Provenance};
use crate::diagnostic::Diagnostic;
use crate::state::AccountInfo;

/// The version of the plan's JSON shape.
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// How many operations of each sign a plan holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Operations that create or give something (`+`).
    pub add: usize,
    /// Operations that change something that stays (`~`).
    pub change: usize,
    /// Operations that take something away (`-`).
    pub remove: usize,
}

impl Summary {
    /// Counts the operations by [`Action`].
    #[must_use]
    pub fn of(operations: &[Operation]) -> Self {
        let mut summary = Self::default();
        for operation in operations {
            match operation.op.action() {
                Action::Add => summary.add += 1,
                Action::Change => summary.change += 1,
                Action::Remove => summary.remove += 1,
            }
        }
        summary
    }

    /// The number of operations.
    #[must_use]
    pub fn total(&self) -> usize {
        self.add + self.change + self.remove
    }
}

/// Seats of one product: how many are assigned out of how many purchased.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatCount {
    /// Members holding a seat.
    pub assigned: usize,
    /// Seats purchased.
    pub seats: u32,
}

/// Seats of one team pool: how many users hold one (direct and inherited), out of
/// how many the pool has (`None`: unlimited).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolCount {
    /// Users holding a seat, directly or by inheritance.
    pub assigned: usize,
    /// Seats in the pool; `null` when it is unlimited.
    pub seats: Option<u32>,
}

/// One line of the seat picture of a declared team: a product pool, before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolLine {
    /// The team's id.
    pub team: String,
    /// The team's name (as configured).
    pub team_name: String,
    /// The product.
    pub product: String,
    /// Now; `null` when the team or the pool does not exist yet.
    pub before: Option<PoolCount>,
    /// After the plan.
    pub after: PoolCount,
    /// Who gets a seat (direct assignments the plan makes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gains: Vec<String>,
    /// Who loses one (direct assignments the plan takes back, cascades included).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loses: Vec<String>,
}

impl PoolLine {
    /// Whether the plan changes this pool's size or holders.
    #[must_use]
    pub fn changes(&self) -> bool {
        self.before != Some(self.after) || !self.gains.is_empty() || !self.loses.is_empty()
    }
}

/// A change the backend cannot carry out inside a section it manages: a person
/// makes it, in the portal (DOMAIN.md "Manual steps").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualStep {
    /// The operation it stands for (`team_member.remove`).
    pub op: OpKind,
    /// Its target, as an operation's (`100001/dana@acme.example`).
    pub target: String,
    /// The declaration that asks for it.
    pub provenance: Provenance,
    /// What to do, and where.
    pub action: String,
    /// Why accord cannot.
    pub why: String,
}

/// One line of the seat picture: a product of a declared agreement, before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatLine {
    /// The agreement's contract number.
    pub agreement: String,
    /// The agreement's name (as configured).
    pub agreement_name: String,
    /// The product.
    pub product: String,
    /// Now; `null` when the agreement or the product does not exist yet.
    pub before: Option<SeatCount>,
    /// After the plan.
    pub after: SeatCount,
}

impl SeatLine {
    /// Whether the plan changes this product's seats or assignments.
    #[must_use]
    pub fn changes(&self) -> bool {
        self.before != Some(self.after)
    }
}

/// A plan: the operations that make the backend's account match the configuration,
/// ordered and batched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_FORMAT_VERSION`].
    pub version: u32,
    /// The account, as the configuration names it.
    pub account: AccountInfo,
    /// Whether the backend holds no account yet and takes this one on the first apply.
    #[serde(default)]
    pub new_account: bool,
    /// Counts of the operations by sign.
    pub summary: Summary,
    /// How many backend calls carry the operations.
    pub batches: usize,
    /// The operations, in the order they are carried out.
    pub operations: Vec<Operation>,
    /// Seats per product of every declared agreement, before and after.
    #[serde(default)]
    pub seats: Vec<SeatLine>,
    /// Seats per product pool of every declared team, before and after.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub team_seats: Vec<PoolLine>,
    /// Changes a person makes in the vendor's portal: the backend manages their
    /// section but cannot make them. `apply` does the rest and prints these.
    #[serde(default)]
    pub manual: Vec<ManualStep>,
    /// Things worth knowing that change nothing (a protected member prune passed by,
    /// a licence count this backend does not manage).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Why the plan is refused, when it is (R11-R13, or a rule the result would break).
    /// A refused plan is shown, never applied or saved.
    #[serde(default, skip_serializing_if = "Vec::is_empty", skip_deserializing)]
    pub refusals: Vec<Diagnostic>,
    /// How the live account differs from the configuration, by class (changed,
    /// unmanaged, missing, invitations expired); absent when it does not. Filled in by
    /// `accord plan` (it needs the live state and, for who and when, the backend).
    #[serde(default, skip_serializing_if = "Drift::is_empty")]
    pub drift: Drift,
    /// The objects a partial plan is narrowed to (`--target`, as `member:EMAIL`,
    /// `project:NAME`, `agreement:NUMBER`, `team:ID`); absent for a whole plan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// For a partial plan: how many operations of the whole plan it leaves out.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub outside_targets: usize,
    /// `sha256:` digest of the operations' canonical JSON: two plans with the same
    /// fingerprint do the same thing.
    pub fingerprint: String,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Plan {
    /// Whether the plan is narrowed to some objects (`--target`).
    #[must_use]
    pub fn is_partial(&self) -> bool {
        !self.targets.is_empty()
    }

    /// Whether the plan changes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    /// Whether a safety rule or a rule on the result refuses the plan.
    #[must_use]
    pub fn is_refused(&self) -> bool {
        !self.refusals.is_empty()
    }

    /// Whether the fingerprint matches the operations (a saved plan was not edited).
    #[must_use]
    pub fn fingerprint_matches(&self) -> bool {
        self.fingerprint == fingerprint(&self.operations)
    }
}

/// A plan saved with `plan --out`, for a later `apply --plan`: it also records what
/// the plan was made against, so apply can refuse when either changed since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// The plan.
    #[serde(flatten)]
    pub plan: Plan,
    /// The backend's revision when the plan was made.
    pub backend_revision: u64,
    /// [`config_digest`] of the configuration the plan was made from.
    pub config_digest: String,
}

impl SavedPlan {
    /// The saved plan as pretty JSON, ending with a newline.
    ///
    /// # Panics
    /// Never: a plan is plain data (strings, numbers, ordered maps), which always serialises.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).expect("a plan is plain data");
        json.push('\n');
        json
    }

    /// Reads a saved plan, checking its version and fingerprint.
    ///
    /// # Errors
    /// A message for the user when the text is not a saved plan, was written by
    /// another plan format version, or its operations were edited.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let saved: Self = serde_json::from_str(text)
            .map_err(|e| format!("this is not a plan saved by `accord plan --out`: {e}"))?;
        if saved.plan.version != PLAN_FORMAT_VERSION {
            return Err(format!(
                "the plan has format version {}, but this accord reads version {PLAN_FORMAT_VERSION}; run `accord plan --out` again",
                saved.plan.version
            ));
        }
        if !saved.plan.fingerprint_matches() {
            return Err(
                "the plan's operations do not match its fingerprint (was the file edited?); run `accord plan --out` again"
                    .into(),
            );
        }
        Ok(saved)
    }
}

/// `sha256:` and the hex digest of the operations' canonical JSON (compact, fields
/// in declaration order, sets and maps sorted).
///
/// # Panics
/// Never: operations are plain data, which always serialises.
#[must_use]
pub fn fingerprint(operations: &[Operation]) -> String {
    let canonical = serde_json::to_vec(operations).expect("operations are plain data");
    format!("sha256:{}", hex::encode(Sha256::digest(&canonical)))
}

/// `sha256:` and the hex digest of a configuration: its files sorted by path, each
/// contributing its length and its bytes (so moving bytes between files changes the
/// digest, while the directory it is read from does not).
///
/// # Errors
/// The first file that cannot be read.
pub fn config_digest<P: AsRef<Path>>(files: &[P]) -> std::io::Result<String> {
    let mut sorted: Vec<&Path> = files.iter().map(AsRef::as_ref).collect();
    sorted.sort();
    let mut hasher = Sha256::new();
    let mut bytes = Vec::new();
    for path in sorted {
        bytes.clear();
        std::fs::File::open(path)?.read_to_end(&mut bytes)?;
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_digest_depends_on_contents_and_order_of_paths_only() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.yaml");
        let b = dir.path().join("b.yaml");
        std::fs::write(&a, "ab").unwrap();
        std::fs::write(&b, "c").unwrap();
        let one = config_digest(&[&b, &a]).unwrap();
        assert_eq!(one, config_digest(&[&a, &b]).unwrap());
        std::fs::write(&a, "a").unwrap();
        std::fs::write(&b, "bc").unwrap();
        assert_ne!(one, config_digest(&[&a, &b]).unwrap());
        assert!(one.starts_with("sha256:") && one.len() == 7 + 64);
        assert!(config_digest(&[dir.path().join("missing.yaml")]).is_err());
    }
}
