//! What a backend declares about itself, as data: the kinds of operation it carries
//! out (the sections it manages follow from them), the member fields it cannot write,
//! how many operations one call takes, the request budgets its server enforces, and
//! for each kind it cannot carry out inside a section it manages, what a person does
//! instead (a manual step in the plan).
//!
//! Everything shared reads this one value: the diff batches by [`Limits`], the
//! executor checks batches against them, the call policy paces by [`Budget`]s, the
//! restriction of a configuration to what a backend manages reads
//! [`Capabilities::manages`] and [`Capabilities::writes`], and the plan turns
//! [`Capabilities::manual`] into manual steps.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::error::BackendError;
use super::op::{Op, OpKind, Section};
pub use crate::call::{Budget, Window};

/// The bulk limit of the embedded store and the account service (DOMAIN.md: bulk
/// operations take at most 100 members per call).
pub const DEFAULT_BULK_LIMIT: usize = 100;

/// A field of a member's record a backend may be unable to write although it
/// manages members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberField {
    /// First and last name of a member already in the account (an invitation carries
    /// them either way).
    Names,
    /// The member's job role.
    Role,
    /// Account access levels (`account_admin`, `executive`, `standards_admin`).
    Access,
    /// Products held through another firm's subscription.
    ExternalSubscriptions,
}

/// How many operations one backend call takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// The most operations (each naming at most one member) one call takes.
    pub batch: usize,
    /// Kinds whose limit differs from `batch`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub batch_by_kind: BTreeMap<OpKind, usize>,
}

impl Limits {
    /// `batch` operations a call, whatever their kind.
    #[must_use]
    pub fn uniform(batch: usize) -> Self {
        Self {
            batch: batch.max(1),
            batch_by_kind: BTreeMap::new(),
        }
    }

    /// The limit for operations of `kind`.
    #[must_use]
    pub fn for_kind(&self, kind: OpKind) -> usize {
        self.batch_by_kind
            .get(&kind)
            .copied()
            .unwrap_or(self.batch)
            .max(1)
    }

    /// The most operations a call holding operations of `kinds` may carry: the
    /// smallest limit among them. This is the one batch-limit rule: the diff cuts
    /// batches with it, the executor cuts calls and checks batches with it.
    #[must_use]
    pub fn for_kinds(&self, kinds: impl IntoIterator<Item = OpKind>) -> usize {
        kinds
            .into_iter()
            .map(|kind| self.for_kind(kind))
            .min()
            .unwrap_or(self.batch)
            .max(1)
    }

    /// The limit for a batch of `ops`.
    #[must_use]
    pub fn for_batch(&self, ops: &[Op]) -> usize {
        self.for_kinds(ops.iter().map(Op::kind))
    }

    /// Checks a batch before it is sent: a batch larger than the limit is refused
    /// whole, and nothing is sent.
    ///
    /// # Errors
    /// [`BackendError::BatchTooLarge`].
    pub fn check(&self, ops: &[Op]) -> Result<(), BackendError> {
        let limit = self.for_batch(ops);
        if ops.len() > limit {
            return Err(BackendError::BatchTooLarge {
                size: ops.len(),
                limit,
            });
        }
        Ok(())
    }
}

/// What a person does instead of an operation the backend cannot carry out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualAction {
    /// What to do and where (`remove the member in Autodesk Account > Users`).
    pub action: String,
    /// Why accord cannot do it (`the vendor's API cannot remove a member`).
    pub why: String,
}

/// What a backend can manage and how it wants to be called. See the module docs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The kinds of operation the backend carries out.
    pub kinds: BTreeSet<OpKind>,
    /// Member fields it cannot write although it manages members.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub unwritable: BTreeSet<MemberField>,
    /// How many operations one call takes.
    pub limits: Limits,
    /// The request budgets its server enforces (none: no pacing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub budgets: Vec<Budget>,
    /// For kinds it cannot carry out inside a section it manages: what a person does.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub manual: BTreeMap<OpKind, ManualAction>,
    /// For sections it could manage but does not in this run, why (the vendor's teams
    /// without a login: `run accord login`); `plan` says so with the "not managed" note.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unmanaged_because: BTreeMap<Section, String>,
}

impl Capabilities {
    /// Everything, as the embedded store and the account service offer it.
    #[must_use]
    pub fn full(batch: usize) -> Self {
        Self {
            kinds: OpKind::ALL.iter().copied().collect(),
            unwritable: BTreeSet::new(),
            limits: Limits::uniform(batch),
            budgets: Vec::new(),
            manual: BTreeMap::new(),
            unmanaged_because: BTreeMap::new(),
        }
    }

    /// Whether the backend carries out operations of `kind`.
    #[must_use]
    pub fn carries_out(&self, kind: OpKind) -> bool {
        self.kinds.contains(&kind)
    }

    /// Whether the backend manages `section`: it carries out some kind of it.
    #[must_use]
    pub fn manages(&self, section: Section) -> bool {
        self.kinds.iter().any(|kind| kind.section() == section)
    }

    /// Whether the backend manages teams: it carries out some kind of operation on
    /// teams, their users or their seats (the vendor creates no team and changes no
    /// pool, yet manages the teams it is given).
    #[must_use]
    pub fn manages_teams(&self) -> bool {
        Section::TEAMS.iter().any(|s| self.manages(*s))
    }

    /// Whether the backend writes `field` of a member's record.
    #[must_use]
    pub fn writes(&self, field: MemberField) -> bool {
        self.manages(Section::Members)
            && !self.unwritable.contains(&field)
            && (field != MemberField::Role || self.manages(Section::Roles))
    }

    /// Whether the backend is the system of record for agreements: only then are
    /// agreements created and their licence counts changed (DOMAIN.md "Ownership").
    #[must_use]
    pub fn records_agreements(&self) -> bool {
        self.carries_out(OpKind::AgreementCreate)
    }

    /// Whether it leaves any part of a configuration unmanaged.
    #[must_use]
    pub fn is_partial(&self) -> bool {
        Section::ALL.iter().any(|s| !self.manages(*s))
            || !self.records_agreements()
            || !self.unwritable.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Email;

    #[test]
    fn the_smallest_limit_of_a_batchs_kinds_applies() {
        let mut limits = Limits::uniform(50);
        limits.batch_by_kind.insert(OpKind::ProjectMemberAdd, 200);
        limits.batch_by_kind.insert(OpKind::CompanyCreate, 10);
        let ops = [
            Op::ProjectCreate { name: "A".into() },
            Op::CompanyCreate {
                name: "B".into(),
                trade: None,
            },
        ];
        assert_eq!(limits.for_batch(&ops), 10);
        assert_eq!(limits.for_kind(OpKind::ProjectMemberAdd), 200);
        assert_eq!(limits.for_batch(&[]), 50);
        let removal = [Op::MemberRemove {
            email: Email::new("a@x"),
        }];
        assert_eq!(limits.for_batch(&removal), 50);
    }

    #[test]
    fn sections_follow_from_the_kinds_carried_out() {
        let full = Capabilities::full(100);
        assert!(Section::ALL.iter().all(|s| full.manages(*s)));
        assert!(!full.is_partial());
        let mut partial = full.clone();
        partial.kinds.retain(|k| k.section() != Section::Roles);
        assert!(!partial.manages(Section::Roles));
        assert!(!partial.writes(MemberField::Role));
        assert!(partial.writes(MemberField::Access));
        assert!(partial.is_partial());
    }
}
