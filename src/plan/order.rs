//! The order of a plan and its batches: DOMAIN.md's eight steps, so that every rule
//! holds after every backend call.
//!
//! Each operation gets a [`Slot`]: its step (1-8), its phase within the step (one
//! kind of operation per phase, in the order DOMAIN.md lists them) and a rank within
//! the phase (member updates that revoke access come after those that only grant it,
//! so R10 holds throughout). Operations are sorted by slot, then by target, which
//! makes a plan deterministic. Batches are then cut: consecutive operations of the
//! same kind in the same step share a backend call, up to the bulk limit.

use std::collections::BTreeSet;

use super::operation::{Op, Operation};
use crate::contract::{Limits, OpKind};
use crate::state::AccessLevel;

/// Where an operation goes in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot {
    /// DOMAIN.md's step, 1 to 8.
    pub step: u8,
    /// The phase within the step.
    pub phase: u8,
    /// The rank within the phase (member updates: 0 grants only, 1 revokes some
    /// access but not `account_admin`, 2 revokes `account_admin`).
    pub rank: u8,
}

impl Slot {
    const fn at(step: u8, phase: u8) -> Self {
        Self {
            step,
            phase,
            rank: 0,
        }
    }

    /// An agreement's licence decreases: step 5, after the un-assignments that free the seats.
    pub const LICENCE_DECREASE: Self = Self::at(5, 3);

    /// A team's pool decreases: step 5, after the team un-assignments that free them.
    pub const POOL_DECREASE: Self = Self::at(5, 5);

    /// The slot of a member update that changes access from `from` to `to`.
    #[must_use]
    pub fn member_update(from: &BTreeSet<AccessLevel>, to: &BTreeSet<AccessLevel>) -> Self {
        let revokes_admin =
            from.contains(&AccessLevel::AccountAdmin) && !to.contains(&AccessLevel::AccountAdmin);
        let revokes_any = from.difference(to).next().is_some();
        let rank = match (revokes_admin, revokes_any) {
            (true, _) => 2,
            (false, true) => 1,
            (false, false) => 0,
        };
        Self {
            step: 2,
            phase: 2,
            rank,
        }
    }

    /// The usual slot of `op`. Licence decreases ([`Slot::LICENCE_DECREASE`]) and
    /// member updates ([`Slot::member_update`]) are placed by the diff, which knows more.
    #[must_use]
    pub fn of(op: &Op) -> Self {
        match op {
            // 1. companies and roles
            Op::CompanyCreate { .. } => Self::at(1, 0),
            Op::CompanyUpdate { .. } => Self::at(1, 1),
            Op::RoleCreate { .. } => Self::at(1, 2),
            Op::RoleUpdate { .. } => Self::at(1, 3),
            Op::TeamCreate { .. } => Self::at(1, 4),
            // 2. invites, then activations and updates (grants before revocations)
            Op::MemberInvite { .. } => Self::at(2, 0),
            // right after the invitations: team users
            Op::TeamMemberAdd { .. } => Self::at(2, 3),
            Op::MemberActivate { .. } => Self::at(2, 1),
            Op::MemberUpdate { .. } => Self::at(2, 2),
            // 3. agreements: creation and increases, then role transfers
            Op::AgreementCreate { .. } => Self::at(3, 0),
            Op::AgreementUpdate { .. } => Self::at(3, 1),
            Op::SetContractManager { .. } => Self::at(3, 2),
            Op::SetSoftwareCoordinator { .. } => Self::at(3, 3),
            // with the agreements: pool increases and team renames
            Op::TeamUpdate { .. } => Self::at(3, 4),
            // 4. removals and deactivations
            Op::MemberRemove { .. } => Self::at(4, 0),
            Op::MemberDeactivate { .. } => Self::at(4, 1),
            Op::TeamMemberRemove { .. } => Self::at(4, 2),
            // 5. un-assignments, then licence decreases
            Op::SeatUnassign { .. } => Self::at(5, 0),
            Op::CloudServiceUnassign { .. } => Self::at(5, 1),
            Op::SupportUnassign { .. } => Self::at(5, 2),
            Op::TeamSeatUnassign { .. } => Self::at(5, 4),
            // 6. assignments
            Op::SeatAssign { .. } => Self::at(6, 0),
            Op::CloudServiceAssign { .. } => Self::at(6, 1),
            Op::SupportAssign { .. } => Self::at(6, 2),
            Op::TeamSeatAssign { .. } => Self::at(6, 3),
            // 7. projects: creation, then member removals, additions, updates
            Op::ProjectCreate { .. } => Self::at(7, 0),
            // renames (`renamed_from`) before anything names the new name
            Op::ProjectUpdate { .. } => Self::at(7, 1),
            Op::ProjectMemberRemove { .. } => Self::at(7, 2),
            Op::ProjectMemberAdd { .. } => Self::at(7, 3),
            Op::ProjectMemberUpdate { .. } => Self::at(7, 4),
            // 8. invitation re-sends
            Op::MemberResendInvite { .. } => Self::at(8, 0),
        }
    }
}

/// An operation waiting for its place in the plan.
#[derive(Debug, Clone)]
pub struct Placed {
    /// Where it goes.
    pub slot: Slot,
    /// The operation.
    pub operation: Operation,
}

/// Sorts `placed` into plan order and numbers the batches (from 0); returns the
/// operations and the number of batches.
#[must_use]
pub fn order_and_batch(mut placed: Vec<Placed>, limits: &Limits) -> (Vec<Operation>, usize) {
    placed.sort_by(|a, b| {
        a.slot
            .cmp(&b.slot)
            .then_with(|| a.operation.target.cmp(&b.operation.target))
    });
    let mut operations = Vec::with_capacity(placed.len());
    let mut batches = 0;
    let mut open: Option<(u8, OpKind, usize)> = None; // step, kind, size
    for Placed {
        slot,
        mut operation,
    } in placed
    {
        let kind = operation.op.kind();
        let joins = matches!(open, Some((step, k, size))
            if step == slot.step && k == kind && size < limits.for_kind(kind));
        if joins {
            if let Some((_, _, size)) = open.as_mut() {
                *size += 1;
            }
        } else {
            batches += 1;
            open = Some((slot.step, kind, 1));
        }
        operation.batch = batches - 1;
        operations.push(operation);
    }
    (operations, batches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::operation::Provenance;
    use crate::state::Email;

    fn placed(op: Op) -> Placed {
        Placed {
            slot: Slot::of(&op),
            operation: Operation::new(op, Provenance("x".into())),
        }
    }

    fn invite(n: usize) -> Op {
        Op::MemberInvite {
            inactive: false,
            email: Email::new(&format!("m{n:03}@x.example")),
            record: crate::contract::MemberRecord::default(),
        }
    }

    #[test]
    fn consecutive_operations_of_a_kind_share_batches_up_to_the_limit() {
        let mut ops: Vec<_> = (0..5).map(|n| placed(invite(n))).collect();
        ops.push(placed(Op::CompanyCreate {
            name: "A".into(),
            trade: None,
        }));
        let limits = Limits::uniform(2);
        let (ops, batches) = order_and_batch(ops, &limits);
        let seen: Vec<_> = ops.iter().map(|o| (o.op.name(), o.batch)).collect();
        assert_eq!(
            seen,
            [
                ("company.create", 0),
                ("member.invite", 1),
                ("member.invite", 1),
                ("member.invite", 2),
                ("member.invite", 2),
                ("member.invite", 3),
            ]
        );
        assert_eq!(batches, 4);
    }

    #[test]
    fn updates_revoking_admin_come_last() {
        let admin: BTreeSet<_> = [AccessLevel::AccountAdmin].into();
        let exec: BTreeSet<_> = [AccessLevel::Executive].into();
        let none = BTreeSet::new();
        assert_eq!(Slot::member_update(&none, &admin).rank, 0);
        assert_eq!(Slot::member_update(&exec, &admin).rank, 1);
        assert_eq!(Slot::member_update(&admin, &exec).rank, 2);
        assert!(Slot::member_update(&exec, &admin) > Slot::of(&invite(0)));
        assert!(
            Slot::member_update(&none, &admin)
                > Slot::of(&Op::MemberActivate {
                    email: Email::new("a@x")
                })
        );
    }
}
