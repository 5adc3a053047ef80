//! The desired account: a compiled configuration, ready to diff against a backend.
//!
//! Besides the normalised [`State`], it keeps what only the configuration knows:
//! the settings that govern a plan (prune, removal limit, protected members) and
//! the provenance of every declaration, so each planned operation can name the
//! `file:line` that causes it.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;

use crate::diagnostic::Location;
use crate::state::{Email, State};

/// The default of `settings.max_removals` (R13).
pub const DEFAULT_MAX_REMOVALS: u32 = 10;

/// Where the removal limit in force came from (R13 cites it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitSource {
    /// Nobody set it: the default of 10.
    Default,
    /// `settings.max_removals` at this location.
    Config(Location),
    /// The `--max-removals` flag.
    Flag,
}

/// The removal limit in force and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaxRemovals {
    /// The most members one plan may remove.
    pub limit: u32,
    /// Where the limit came from.
    pub source: LimitSource,
}

impl Default for MaxRemovals {
    fn default() -> Self {
        Self {
            limit: DEFAULT_MAX_REMOVALS,
            source: LimitSource::Default,
        }
    }
}

/// What kind of declaration a provenance entry records. With the target string of
/// DOMAIN.md's "Operations" table it names one declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Declared {
    /// The `account` section.
    Account,
    /// The `members` section as a whole (R10 cites it).
    MembersSection,
    /// `settings.protected` entry; target: email.
    Protected,
    /// Company; target: name.
    Company,
    /// Role; target: name.
    Role,
    /// Member; target: email.
    Member,
    /// Agreement; target: number.
    Agreement,
    /// An agreement's contract manager; target: number.
    ContractManager,
    /// An agreement's software coordinator (or the contract manager standing in); target: number.
    SoftwareCoordinator,
    /// A product of an agreement; target: `NUMBER/PRODUCT`.
    Product,
    /// A seat; target: `NUMBER/PRODUCT/email`.
    Seat,
    /// A cloud-service assignment; target: `NUMBER/SERVICE/email`.
    CloudService,
    /// A support benefit; target: `NUMBER/email`.
    Support,
    /// Project; target: name.
    Project,
    /// Project member; target: `PROJECT/email`.
    ProjectMember,
    /// Team; target: team id.
    Team,
    /// A user of a team (on its `members` or an `assigned` list); target: `TEAM/email`.
    TeamMember,
    /// A product pool of a team; target: `TEAM/PRODUCT`.
    TeamPool,
    /// A direct seat of a team's pool; target: `TEAM/PRODUCT/email`.
    TeamSeat,
}

/// Where each declaration of a configuration is.
///
/// One map per kind of declaration: a large configuration records hundreds of
/// thousands, and parts compiled apart (each recording its own kinds) are then
/// joined without copying ([`Self::merge`]). The maps are hashed, not ordered:
/// declarations are only ever looked up, and the targets of one kind share long
/// prefixes (`PROJECT/email`), which an ordered map compares again at every step
/// of every insertion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// By kind (`Declared as usize`), then target.
    by_kind: [FxHashMap<String, Location>; Declared::COUNT],
}

impl Declared {
    /// The number of kinds.
    const COUNT: usize = Declared::TeamSeat as usize + 1;
}

impl Provenance {
    /// Records where `kind` `target` is declared; the first declaration wins.
    pub fn record(
        &mut self,
        kind: Declared,
        target: impl Into<String>,
        location: Option<Location>,
    ) {
        if let Some(location) = location {
            self.by_kind[kind as usize]
                .entry(target.into())
                .or_insert(location);
        }
    }

    /// Makes room for `additional` more declarations of `kind` (a large configuration
    /// records hundreds of thousands: one allocation instead of a dozen growths, each
    /// moving every entry).
    pub fn reserve(&mut self, kind: Declared, additional: usize) {
        self.by_kind[kind as usize].reserve(additional);
    }

    /// Adds the declarations `other` records; where both record the same one, the
    /// location recorded here stays (as with [`Self::record`], the first wins).
    /// Lets parts of a configuration be compiled apart and their provenance joined;
    /// a kind only one of them records is moved, not copied.
    pub fn merge(&mut self, other: Provenance) {
        for (mine, mut theirs) in self.by_kind.iter_mut().zip(other.by_kind) {
            if mine.len() < theirs.len() {
                std::mem::swap(mine, &mut theirs);
                // `mine` now holds the other's declarations: the ones recorded here
                // (now in `theirs`) replace them where both hold one.
                mine.extend(theirs);
            } else {
                for (target, location) in theirs {
                    mine.entry(target).or_insert(location);
                }
            }
        }
    }

    /// Where `kind` `target` is declared, if it is.
    #[must_use]
    pub fn get(&self, kind: Declared, target: &str) -> Option<&Location> {
        self.by_kind[kind as usize].get(target)
    }

    /// Number of recorded declarations.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_kind.iter().map(FxHashMap::len).sum()
    }

    /// Whether nothing is recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_kind.iter().all(FxHashMap::is_empty)
    }
}

/// A compiled, valid configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    /// The account as the configuration wants it.
    pub state: State,
    /// `settings.prune`: remove backend members the configuration does not declare.
    pub prune: bool,
    /// `settings.max_removals` (R13); the flag overrides it later.
    pub max_removals: MaxRemovals,
    /// `settings.protected` (R12), normalised.
    pub protected: BTreeSet<Email>,
    /// Where each declaration is.
    pub provenance: Provenance,
    /// `renamed_from` of companies, roles and projects: new name -> old name.
    pub renames: Renames,
}

/// What the configuration renames (`renamed_from`), by kind: new name -> old name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renames {
    /// Companies.
    pub companies: BTreeMap<String, String>,
    /// Roles.
    pub roles: BTreeMap<String, String>,
    /// Projects.
    pub projects: BTreeMap<String, String>,
}

impl Renames {
    /// Whether nothing is renamed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.companies.is_empty() && self.roles.is_empty() && self.projects.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: u32) -> Option<Location> {
        Some(Location::new("a.yaml", line, 1))
    }

    /// `merge` keeps this side's location where both record a declaration, whichever
    /// side holds more of that kind (the larger map is kept and the smaller added).
    #[test]
    fn merge_keeps_the_first_recorded_location_whichever_side_is_larger() {
        let mut few = Provenance::default();
        few.record(Declared::Member, "a@x.example", at(1));
        let mut many = Provenance::default();
        many.record(Declared::Member, "a@x.example", at(10));
        many.record(Declared::Member, "b@x.example", at(11));
        many.record(Declared::Project, "Tower", at(12));

        let mut smaller_first = few.clone();
        smaller_first.merge(many.clone());
        assert_eq!(
            smaller_first.get(Declared::Member, "a@x.example"),
            at(1).as_ref()
        );
        assert_eq!(
            smaller_first.get(Declared::Member, "b@x.example"),
            at(11).as_ref()
        );
        assert_eq!(
            smaller_first.get(Declared::Project, "Tower"),
            at(12).as_ref()
        );
        assert_eq!(smaller_first.len(), 3);

        let mut larger_first = many;
        larger_first.merge(few);
        assert_eq!(
            larger_first.get(Declared::Member, "a@x.example"),
            at(10).as_ref()
        );
        assert_eq!(larger_first.len(), 3);
    }
}
