//! From a plan's batches to backend calls, and from calls to waves that may run
//! concurrently.
//!
//! A plan numbers each operation's batch for the backend it was made against. Each
//! batch becomes one call, cut smaller only if this backend takes fewer operations
//! per call ([`crate::contract::Limits::for_kinds`]).
//!
//! Calls run in plan order, wave after wave. A wave is a run of consecutive calls
//! that may run at once: every one of them must be independent of every other.
//! "Independent" is defined conservatively, so every rule holds whichever finishes
//! first. Two calls are independent when:
//!
//! - each holds operations of one kind only, and it is the same kind: DOMAIN.md's
//!   order between kinds (companies before invitations, un-assignments before
//!   assignments, ...) is never changed;
//! - they touch disjoint targets (an agreement's `agreement.update` of step 3 and
//!   the one of step 5 are never concurrent);
//! - for `member.update`, neither call may revoke `account_admin` while the other may
//!   grant it (R10: grants come before revocations). An update whose record keeps
//!   `account_admin` can only grant it; one whose record lacks it may revoke it.
//!
//! Every kind is otherwise safe to run in any order within itself: its operations
//! target different objects, and the rules they meet move one way within a kind
//! (assignments only fill pools that the un-assignments before them emptied,
//! removals only shrink the set of admins towards a state the plan checked).

use std::collections::HashSet;
use std::ops::Range;

use crate::contract::Capabilities;
use crate::plan::{Op, Operation};
use crate::state::AccessLevel;

/// One backend call: a range of the plan's operations (consecutive, same batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Its position among all calls (0-based).
    pub index: usize,
    /// The plan batch it carries (or part of).
    pub batch: usize,
    /// The operations, as indices into the plan's operations.
    pub ops: Range<usize>,
}

/// Calls that may run concurrently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wave {
    /// The calls, in plan order.
    pub calls: Vec<Call>,
}

/// The calls and waves of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Every wave, in order.
    pub waves: Vec<Wave>,
}

impl Schedule {
    /// Cuts `operations` into calls (by batch, then by the backend's limits) and groups
    /// them into waves.
    #[must_use]
    pub fn new(operations: &[Operation], capabilities: &Capabilities) -> Self {
        let calls = calls(operations, capabilities);
        let mut waves = waves(operations, calls);
        for wave in &mut waves {
            interleave(wave, operations);
        }
        Self { waves }
    }

    /// The number of calls.
    #[must_use]
    pub fn calls(&self) -> usize {
        self.waves.iter().map(|w| w.calls.len()).sum()
    }
}

/// One call per batch, cut to the backend's limit for the kinds it holds.
fn calls(operations: &[Operation], capabilities: &Capabilities) -> Vec<Call> {
    let mut calls = Vec::new();
    let mut start = 0;
    while start < operations.len() {
        let batch = operations[start].batch;
        let end = start
            + operations[start..]
                .iter()
                .take_while(|o| o.batch == batch)
                .count();
        let limit = capabilities
            .limits
            .for_kinds(operations[start..end].iter().map(|o| o.op.kind()));
        let mut from = start;
        while from < end {
            let to = (from + limit).min(end);
            calls.push(Call {
                index: calls.len(),
                batch,
                ops: from..to,
            });
            from = to;
        }
        start = end;
    }
    calls
}

/// What decides whether two calls are independent.
struct Profile<'a> {
    /// The one kind of operation the call holds; `None` when it mixes kinds.
    kind: Option<&'static str>,
    targets: HashSet<&'a str>,
    /// For `member.update`: whether some update keeps (so may grant) `account_admin`,
    /// and whether some lacks it (so may revoke it).
    may_grant_admin: bool,
    may_revoke_admin: bool,
}

impl<'a> Profile<'a> {
    fn of(operations: &'a [Operation]) -> Self {
        let first = operations.first().map(|o| o.op.name());
        let same_kind = operations.iter().all(|o| Some(o.op.name()) == first);
        let (mut may_grant_admin, mut may_revoke_admin) = (false, false);
        for operation in operations {
            if let Op::MemberUpdate { record, .. } = &operation.op {
                if record.access.contains(&AccessLevel::AccountAdmin) {
                    may_grant_admin = true;
                } else {
                    may_revoke_admin = true;
                }
            }
        }
        Self {
            kind: if same_kind { first } else { None },
            targets: operations.iter().map(|o| o.target.as_str()).collect(),
            may_grant_admin,
            may_revoke_admin,
        }
    }

    fn independent_of(&self, other: &Self) -> bool {
        let same_kind = self.kind.is_some() && self.kind == other.kind;
        let admin_safe = !(self.may_grant_admin && other.may_revoke_admin
            || self.may_revoke_admin && other.may_grant_admin);
        same_kind && admin_safe && self.targets.is_disjoint(&other.targets)
    }
}

/// Groups consecutive calls into waves of pairwise independent calls.
fn waves(operations: &[Operation], calls: Vec<Call>) -> Vec<Wave> {
    let mut waves: Vec<Wave> = Vec::new();
    let mut profiles: Vec<Profile<'_>> = Vec::new();
    for call in calls {
        let profile = Profile::of(&operations[call.ops.clone()]);
        let joins = !profiles.is_empty() && profiles.iter().all(|p| p.independent_of(&profile));
        if joins {
            profiles.push(profile);
            if let Some(wave) = waves.last_mut() {
                wave.calls.push(call);
            }
        } else {
            profiles = vec![profile];
            waves.push(Wave { calls: vec![call] });
        }
    }
    waves
}

/// Orders a wave's calls round-robin across the objects they belong to (a call of one
/// team, then one of the next team, ...; a call's object is its first operation's).
/// The calls of a wave are independent, so any order is correct; this one matters
/// where a budget is per object (the vendor's 60 calls a minute per team): with a
/// few calls in flight, each object's calls go side by side with the others', and
/// the wave takes as long as its largest object, not the sum of them all.
fn interleave(wave: &mut Wave, operations: &[Operation]) {
    let mut groups: Vec<(&str, std::collections::VecDeque<Call>)> = Vec::new();
    for call in wave.calls.drain(..) {
        let key = operations[call.ops.start].op.object().1;
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, group)) => group.push_back(call),
            None => groups.push((key, std::collections::VecDeque::from([call]))),
        }
    }
    while !groups.is_empty() {
        for (_, group) in &mut groups {
            if let Some(call) = group.pop_front() {
                wave.calls.push(call);
            }
        }
        groups.retain(|(_, group)| !group.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::MemberRecord;
    use crate::plan::Provenance;
    use crate::state::Email;

    fn at(batch: usize, op: Op) -> Operation {
        let mut operation = Operation::new(op, Provenance("test".into()));
        operation.batch = batch;
        operation
    }

    fn invite(n: usize) -> Op {
        Op::MemberInvite {
            inactive: false,
            email: Email::new(&format!("m{n}@x")),
            record: MemberRecord::default(),
        }
    }

    fn update(n: usize, admin: bool) -> Op {
        let mut record = MemberRecord::default();
        if admin {
            record.access.insert(AccessLevel::AccountAdmin);
        }
        Op::MemberUpdate {
            email: Email::new(&format!("u{n}@x")),
            record,
        }
    }

    fn shape(schedule: &Schedule) -> Vec<Vec<(usize, Range<usize>)>> {
        schedule
            .waves
            .iter()
            .map(|w| w.calls.iter().map(|c| (c.batch, c.ops.clone())).collect())
            .collect()
    }

    #[test]
    fn batches_of_one_kind_run_together_and_kinds_keep_their_order() {
        let ops = vec![
            at(
                0,
                Op::CompanyCreate {
                    name: "A".into(),
                    trade: None,
                },
            ),
            at(1, invite(1)),
            at(1, invite(2)),
            at(2, invite(3)),
            at(3, Op::ProjectCreate { name: "P".into() }),
        ];
        let schedule = Schedule::new(&ops, &Capabilities::full(100));
        assert_eq!(
            shape(&schedule),
            [vec![(0, 0..1)], vec![(1, 1..3), (2, 3..4)], vec![(3, 4..5)]]
        );
        assert_eq!(schedule.calls(), 4);
    }

    #[test]
    fn a_waves_calls_alternate_between_the_teams_they_belong_to() {
        let seat = |team: &str, n: usize| Op::TeamSeatAssign {
            team: team.into(),
            product: "AutoCAD".into(),
            email: Email::new(&format!("u{n}@x")),
        };
        let ops: Vec<_> = (0..6)
            .map(|n| at(0, seat("A", n)))
            .chain((0..4).map(|n| at(0, seat("B", n))))
            .collect();
        let schedule = Schedule::new(&ops, &Capabilities::full(2));
        // Team A's three calls and team B's two, started A, B, A, B, A.
        assert_eq!(
            shape(&schedule),
            [vec![(0, 0..2), (0, 6..8), (0, 2..4), (0, 8..10), (0, 4..6)]]
        );
    }

    #[test]
    fn a_smaller_bulk_limit_cuts_batches_into_more_calls_of_the_same_wave() {
        let ops: Vec<_> = (0..5).map(|n| at(0, invite(n))).collect();
        let schedule = Schedule::new(&ops, &Capabilities::full(2));
        assert_eq!(shape(&schedule), [vec![(0, 0..2), (0, 2..4), (0, 4..5)]]);
    }

    #[test]
    fn admin_grants_and_possible_revocations_never_run_together() {
        let ops = vec![
            at(0, update(1, true)),
            at(1, update(2, true)),
            at(2, update(3, false)),
            at(3, update(4, false)),
        ];
        let schedule = Schedule::new(&ops, &Capabilities::full(100));
        assert_eq!(
            shape(&schedule),
            [vec![(0, 0..1), (1, 1..2)], vec![(2, 2..3), (3, 3..4)]]
        );
    }

    #[test]
    fn calls_touching_the_same_target_or_mixing_kinds_run_alone() {
        let decrease = |batch| {
            at(
                batch,
                Op::AgreementUpdate {
                    number: "1100".into(),
                    name: None,
                    seats: [("AutoCAD".to_owned(), 3)].into(),
                },
            )
        };
        let ops = vec![
            decrease(0),
            decrease(1),
            at(2, invite(1)),
            at(2, Op::ProjectCreate { name: "P".into() }),
            at(3, Op::ProjectCreate { name: "Q".into() }),
        ];
        let schedule = Schedule::new(&ops, &Capabilities::full(100));
        assert_eq!(
            shape(&schedule),
            [
                vec![(0, 0..1)],
                vec![(1, 1..2)],
                vec![(2, 2..4)],
                vec![(3, 4..5)]
            ]
        );
    }
}
