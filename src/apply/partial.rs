//! A partial plan (`--target`): the whole plan narrowed to what concerns some
//! objects and what that needs first. The targets, what "concerns" means and the
//! rules a partial plan keeps are told in [`crate::plan::scope`]; the narrowing is
//! here because what an operation needs is the executor's own dependency model
//! ([`super::deps`]), so a partial plan holds exactly what its operations would
//! wait for in a whole apply.

use std::collections::{BTreeSet, HashMap};

use super::deps;
use crate::contract::{Limits, OpKind};
use crate::plan::model::{ManualStep, Plan, PoolCount, SeatCount, Summary, fingerprint};
use crate::plan::operation::{Op, Operation};
use crate::plan::order::Slot;
use crate::plan::scope::{Target, person};
use crate::state::{AccessLevel, Email, State};

/// The plan narrowed to `targets` (see the module docs); `current` is the account
/// the plan was made against, `limits` cut the batches again.
#[must_use]
pub fn narrow(plan: Plan, targets: &[Target], current: &State, limits: &Limits) -> Plan {
    let keep = kept(&plan.operations, targets, current);
    let total = plan.operations.len();
    let Plan {
        operations,
        seats,
        team_seats,
        manual,
        ..
    } = &plan;
    let operations: Vec<Operation> = operations
        .iter()
        .enumerate()
        .filter(|(index, _)| keep.contains(index))
        .map(|(_, operation)| operation.clone())
        .collect();
    let (operations, batches) = rebatch(operations, limits);
    let seats = seats
        .iter()
        .map(|line| {
            let mut line = line.clone();
            line.after = seat_after(line.before, &line.agreement, &line.product, &operations);
            line
        })
        .collect();
    let team_seats = team_seats
        .iter()
        .map(|line| {
            let mut line = line.clone();
            let held = |email: &String| {
                operations.iter().any(|o| {
                    o.op.object().1 == line.team && person(&o.op).map(Email::as_str) == Some(email)
                })
            };
            line.gains.retain(held);
            line.loses.retain(held);
            line.after = pool_after(line.before, &line.team, &line.product, &operations);
            line
        })
        .collect();
    let manual: Vec<ManualStep> = manual
        .iter()
        .filter(|step| targets.iter().any(|t| step_concerns(t, step)))
        .cloned()
        .collect();
    let mut names: Vec<String> = targets.iter().map(ToString::to_string).collect();
    names.sort();
    names.dedup();
    Plan {
        summary: Summary::of(&operations),
        batches,
        fingerprint: fingerprint(&operations),
        outside_targets: total - operations.len(),
        operations,
        seats,
        team_seats,
        manual,
        targets: names,
        ..plan
    }
}

/// The indices of the operations to keep: those concerning a target, and what they
/// need, transitively.
fn kept(operations: &[Operation], targets: &[Target], current: &State) -> BTreeSet<usize> {
    let keys: Vec<deps::Keys> = operations.iter().map(deps::keys).collect();
    // Which operations change each key, in plan order.
    let mut changers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, k) in keys.iter().enumerate() {
        for key in &k.changes {
            changers.entry(key.as_str()).or_default().push(index);
        }
    }
    let mut keep = BTreeSet::new();
    let mut work: Vec<usize> = operations
        .iter()
        .enumerate()
        .filter(|(_, o)| targets.iter().any(|t| t.concerns(&o.op)))
        .map(|(index, _)| index)
        .collect();
    while let Some(index) = work.pop() {
        if !keep.insert(index) {
            continue;
        }
        let operation = &operations[index];
        let earlier = |found: &[usize]| -> Vec<usize> {
            found.iter().copied().take_while(|&j| j < index).collect()
        };
        for key in &keys[index].needs {
            if let Some(found) = changers.get(key.as_str()) {
                work.extend(earlier(found));
            }
        }
        if is_assignment(operation.op.kind()) {
            for key in &keys[index].changes {
                let Some(found) = changers.get(key.as_str()) else {
                    continue;
                };
                work.extend(
                    earlier(found)
                        .into_iter()
                        .filter(|&j| !is_assignment(operations[j].op.kind())),
                );
            }
        }
        if takes_admin(&operation.op, current) {
            work.extend((0..index).filter(|&j| keys[j].provides.iter().any(|p| p == "admins")));
        }
        if let Op::MemberRemove { email } | Op::MemberDeactivate { email } = &operation.op {
            work.extend((0..index).filter(|&j| transfers_from(&operations[j].op, email, current)));
        }
    }
    keep
}

fn is_assignment(kind: OpKind) -> bool {
    matches!(
        kind,
        OpKind::SeatAssign
            | OpKind::CloudServiceAssign
            | OpKind::SupportAssign
            | OpKind::TeamSeatAssign
    )
}

/// Whether `op` takes `account_admin` from someone who holds it now (R10).
fn takes_admin(op: &Op, current: &State) -> bool {
    let is_admin = |email: &Email| {
        current
            .members
            .get(email)
            .is_some_and(|m| m.access.contains(&AccessLevel::AccountAdmin))
    };
    match op {
        Op::MemberRemove { email } | Op::MemberDeactivate { email } => is_admin(email),
        Op::MemberUpdate { email, record } => {
            is_admin(email) && !record.access.contains(&AccessLevel::AccountAdmin)
        }
        _ => false,
    }
}

/// Whether `op` hands over a role `leaving` holds now (R11: before they leave).
fn transfers_from(op: &Op, leaving: &Email, current: &State) -> bool {
    match op {
        Op::SetContractManager { number, .. } => current
            .agreements
            .get(number)
            .is_some_and(|a| &a.contract_manager == leaving),
        Op::SetSoftwareCoordinator { number, .. } => current
            .agreements
            .get(number)
            .is_some_and(|a| &a.software_coordinator == leaving),
        _ => false,
    }
}

fn step_concerns(target: &Target, step: &ManualStep) -> bool {
    let parts: Vec<&str> = step.target.split('/').collect();
    match target {
        Target::Member(email) => parts.last() == Some(&email.as_str()),
        Target::Team(id) => step.op.object() == crate::contract::ObjectKind::Team && parts[0] == id,
        Target::Agreement(number) => {
            step.op.object() == crate::contract::ObjectKind::Agreement && parts[0] == number
        }
        Target::Project(name) => {
            step.op.object() == crate::contract::ObjectKind::Project && parts[0] == name
        }
    }
}

/// Cuts the batches again, keeping the order: consecutive operations of one kind in
/// one step share a call, up to the bulk limit (as [`crate::plan::order`] does).
fn rebatch(mut operations: Vec<Operation>, limits: &Limits) -> (Vec<Operation>, usize) {
    let mut batches = 0;
    let mut open: Option<(u8, OpKind, usize)> = None;
    for operation in &mut operations {
        let kind = operation.op.kind();
        let step = Slot::of(&operation.op).step;
        match &mut open {
            Some((s, k, size)) if *s == step && *k == kind && *size < limits.for_kind(kind) => {
                *size += 1;
            }
            _ => {
                batches += 1;
                open = Some((step, kind, 1));
            }
        }
        operation.batch = batches - 1;
    }
    (operations, batches)
}

/// A product's seats after the operations kept: now, plus their assignments, minus
/// their un-assignments and the seats their removals free, at their licence count.
fn seat_after(
    before: Option<SeatCount>,
    number: &str,
    product: &str,
    operations: &[Operation],
) -> SeatCount {
    let mut count = before.unwrap_or_default();
    let freed = format!("seat.unassign {number}/{product}/");
    for operation in operations {
        match &operation.op {
            Op::SeatAssign {
                number: n,
                product: p,
                ..
            } if n == number && p == product => count.assigned += 1,
            Op::SeatUnassign {
                number: n,
                product: p,
                ..
            } if n == number && p == product => count.assigned = count.assigned.saturating_sub(1),
            Op::AgreementCreate {
                number: n, seats, ..
            }
            | Op::AgreementUpdate {
                number: n, seats, ..
            } if n == number => {
                if let Some(&seats) = seats.get(product) {
                    count.seats = seats;
                }
            }
            _ => {}
        }
        let frees = operation
            .consequences()
            .iter()
            .filter(|c| c.starts_with(&freed))
            .count();
        count.assigned = count.assigned.saturating_sub(frees);
    }
    count
}

/// A team pool's seats after the operations kept, as [`seat_after`] for agreements.
fn pool_after(
    before: Option<PoolCount>,
    team: &str,
    product: &str,
    operations: &[Operation],
) -> PoolCount {
    let mut count = before.unwrap_or_default();
    let freed = format!("team_seat.unassign {team}/{product}/");
    for operation in operations {
        match &operation.op {
            Op::TeamSeatAssign {
                team: t,
                product: p,
                ..
            } if t == team && p == product => count.assigned += 1,
            Op::TeamSeatUnassign {
                team: t,
                product: p,
                ..
            } if t == team && p == product => count.assigned = count.assigned.saturating_sub(1),
            Op::TeamCreate { team: t, seats, .. } | Op::TeamUpdate { team: t, seats, .. }
                if t == team =>
            {
                if let Some(&seats) = seats.get(product) {
                    count.seats = Some(seats);
                }
            }
            _ => {}
        }
        let frees = operation
            .consequences()
            .iter()
            .filter(|c| c.starts_with(&freed))
            .count();
        count.assigned = count.assigned.saturating_sub(frees);
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::MemberRecord;
    use crate::plan::operation::Provenance;

    fn op(op: Op) -> Operation {
        Operation::new(op, Provenance("x".into()))
    }

    #[test]
    fn a_seat_for_a_new_member_brings_the_invitation_and_its_company() {
        let dana = Email::new("dana@x.example");
        let bob = Email::new("bob@x.example");
        let invite = |email: &Email, company: &str| {
            op(Op::MemberInvite {
                email: email.clone(),
                record: MemberRecord {
                    company: Some(company.into()),
                    ..MemberRecord::default()
                },
                inactive: false,
            })
        };
        let operations = vec![
            op(Op::CompanyCreate {
                name: "New Co".into(),
                trade: None,
            }),
            op(Op::CompanyCreate {
                name: "Other".into(),
                trade: None,
            }),
            invite(&bob, "Other"),
            invite(&dana, "New Co"),
            op(Op::SeatAssign {
                number: "1100".into(),
                product: "AutoCAD".into(),
                email: bob.clone(),
            }),
            op(Op::SeatAssign {
                number: "1100".into(),
                product: "AutoCAD".into(),
                email: dana.clone(),
            }),
        ];
        let target = Target::Agreement("1100".into());
        let kept = kept(&operations, &[target], &State::default());
        assert_eq!(kept.into_iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4, 5]);
        let kept = super::kept(&operations, &[Target::Member(dana)], &State::default());
        assert_eq!(
            kept.into_iter().collect::<Vec<_>>(),
            [0, 3, 5],
            "not bob's seat, though it is in the same pool"
        );
    }

    #[test]
    fn a_removal_brings_the_role_transfer_away_from_them_and_an_assignment_what_frees_its_pool() {
        let dana = Email::new("dana@x.example");
        let erik = Email::new("erik@x.example");
        let mut current = State::default();
        current.agreements.insert(
            "1100".into(),
            crate::state::AgreementState {
                contract_manager: dana.clone(),
                software_coordinator: erik.clone(),
                ..crate::state::AgreementState::default()
            },
        );
        let mut removal = op(Op::MemberRemove {
            email: dana.clone(),
        });
        removal.consequences = Some(vec![format!("seat.unassign 1100/Revit/{dana}")]);
        let operations = vec![
            op(Op::SetContractManager {
                number: "1100".into(),
                to: erik.clone(),
            }),
            op(Op::SetSoftwareCoordinator {
                number: "2200".into(),
                to: erik.clone(),
            }),
            removal,
            op(Op::SeatAssign {
                number: "1100".into(),
                product: "AutoCAD".into(),
                email: erik.clone(),
            }),
            op(Op::SeatAssign {
                number: "1100".into(),
                product: "Revit".into(),
                email: erik.clone(),
            }),
        ];
        let dana_only = kept(&operations, &[Target::Member(dana)], &current);
        assert_eq!(
            dana_only.into_iter().collect::<Vec<_>>(),
            [0, 2],
            "the transfer of the role she holds, not the other agreement's"
        );
        // Erik's Revit seat needs the seat Dana's removal frees; both transfers are to him.
        let mut revit = operations.clone();
        revit.remove(3);
        let erik_only = kept(&revit, &[Target::Member(erik)], &current);
        assert_eq!(erik_only.into_iter().collect::<Vec<_>>(), [0, 1, 2, 3]);
    }
}
