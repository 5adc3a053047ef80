//! Scoping a plan to some objects (`plan --target`, `apply --target`): what a partial
//! plan holds, and why it is still safe to carry out.
//!
//! The whole account is planned and checked first (R10-R14 on every change the
//! configuration asks for: a target is never a way around a safety rule), then
//! [`narrow`] keeps:
//!
//! - the operations that concern a target: for `member:EMAIL` everything done to or
//!   for that person (their record, seats, cloud services, support, role transfers
//!   to them, project memberships, team memberships and seats); for
//!   `agreement:NUMBER` everything on that agreement (its creation, licence counts,
//!   role holders, seats, cloud services and support); for `project:NAME` the
//!   project and its members; for `team:ID` the team, its users and seats;
//! - and, transitively, the operations earlier in the plan that those need: the
//!   invitation of a member before anything is given to them, the company and role an
//!   invitation names, the agreement, project or team before anything on it, the
//!   user's place on a team before a team seat; what frees or enlarges a pool before
//!   an assignment to it (un-assignments, removals whose cascade frees a seat of it,
//!   licence and pool changes), so the seat limits hold after a partial apply; the
//!   role transfers away from a member before their removal (R11); every grant of
//!   `account_admin` before a change that takes it from a current admin (R10).
//!
//! The seat pictures are recomputed for the operations kept, manual steps are kept
//! when they concern a target, and the plan records its targets and how many
//! changes of the whole plan it leaves out. A target that names nothing in the
//! configuration or the live account is [`Unmatched`] (with a "did you mean").

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

use super::model::{ManualStep, Plan, PoolCount, SeatCount, Summary, fingerprint};
use super::operation::{Op, Operation};
use super::order::Slot;
use crate::apply::deps;
use crate::contract::{Limits, OpKind};
use crate::desired::Desired;
use crate::state::{AccessLevel, Email, State};

/// One `--target`: an object whose changes the plan is narrowed to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// `member:EMAIL`.
    Member(Email),
    /// `project:NAME`.
    Project(String),
    /// `agreement:NUMBER`.
    Agreement(String),
    /// `team:ID`.
    Team(String),
}

/// The kinds of target, as `--target` spells them.
pub const TARGET_KINDS: [&str; 4] = ["member", "project", "agreement", "team"];

impl FromStr for Target {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let Some((kind, name)) = text.split_once(':') else {
            return Err(format!(
                "`{text}` is not a target: write KIND:NAME, KIND being one of {} (member:dana@acme.example)",
                TARGET_KINDS.join(", ")
            ));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("`{text}` names no {kind}"));
        }
        match kind.trim() {
            "member" => Ok(Self::Member(Email::new(name))),
            "project" => Ok(Self::Project(name.to_owned())),
            "agreement" => Ok(Self::Agreement(name.to_owned())),
            "team" => Ok(Self::Team(name.to_owned())),
            other => {
                let hint = crate::rules::context::suggest(other, TARGET_KINDS.into_iter())
                    .map(|k| format!("; did you mean `{k}:{name}`?"))
                    .unwrap_or_default();
                Err(format!(
                    "`{other}` is not a kind of target: use one of {}{hint}",
                    TARGET_KINDS.join(", ")
                ))
            }
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Member(email) => write!(f, "member:{email}"),
            Self::Project(name) => write!(f, "project:{name}"),
            Self::Agreement(number) => write!(f, "agreement:{number}"),
            Self::Team(id) => write!(f, "team:{id}"),
        }
    }
}

impl Target {
    fn kind(&self) -> &'static str {
        match self {
            Self::Member(_) => "member",
            Self::Project(_) => "project",
            Self::Agreement(_) => "agreement",
            Self::Team(_) => "team",
        }
    }

    fn name(&self) -> &str {
        match self {
            Self::Member(email) => email.as_str(),
            Self::Project(name) | Self::Agreement(name) | Self::Team(name) => name,
        }
    }

    /// Whether `op` is done on this object or has its effect on it.
    #[must_use]
    pub fn concerns(&self, op: &Op) -> bool {
        match self {
            Self::Member(email) => person(op) == Some(email),
            Self::Project(name) => {
                matches!(
                    op,
                    Op::ProjectCreate { name: n } | Op::ProjectUpdate { name: n, .. } if n == name
                ) || matches!(
                    op,
                    Op::ProjectMemberAdd { project, .. }
                    | Op::ProjectMemberUpdate { project, .. }
                    | Op::ProjectMemberRemove { project, .. } if project == name
                )
            }
            Self::Agreement(number) => {
                op.kind().object() == crate::contract::ObjectKind::Agreement
                    && op.object().1 == number
            }
            Self::Team(id) => {
                op.kind().object() == crate::contract::ObjectKind::Team && op.object().1 == id
            }
        }
    }
}

/// The person an operation is done to or for, if any (a role transfer: the new holder).
#[must_use]
pub fn person(op: &Op) -> Option<&Email> {
    match op {
        Op::MemberInvite { email, .. }
        | Op::MemberUpdate { email, .. }
        | Op::MemberActivate { email }
        | Op::MemberDeactivate { email }
        | Op::MemberRemove { email }
        | Op::MemberResendInvite { email }
        | Op::TeamMemberAdd { email, .. }
        | Op::TeamMemberRemove { email, .. }
        | Op::SeatAssign { email, .. }
        | Op::SeatUnassign { email, .. }
        | Op::CloudServiceAssign { email, .. }
        | Op::CloudServiceUnassign { email, .. }
        | Op::SupportAssign { email, .. }
        | Op::SupportUnassign { email, .. }
        | Op::TeamSeatAssign { email, .. }
        | Op::TeamSeatUnassign { email, .. }
        | Op::ProjectMemberAdd { email, .. }
        | Op::ProjectMemberUpdate { email, .. }
        | Op::ProjectMemberRemove { email, .. } => Some(email),
        Op::SetContractManager { to, .. } | Op::SetSoftwareCoordinator { to, .. } => Some(to),
        Op::CompanyCreate { .. }
        | Op::CompanyUpdate { .. }
        | Op::RoleCreate { .. }
        | Op::RoleUpdate { .. }
        | Op::TeamCreate { .. }
        | Op::TeamUpdate { .. }
        | Op::AgreementCreate { .. }
        | Op::AgreementUpdate { .. }
        | Op::ProjectCreate { .. }
        | Op::ProjectUpdate { .. } => None,
    }
}

/// A target that names nothing the configuration declares or the account holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatched {
    /// The target, as given.
    pub target: String,
    /// The closest name of the same kind, for "did you mean".
    pub suggestion: Option<String>,
}

impl fmt::Display for Unmatched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, _) = self.target.split_once(':').unwrap_or(("object", ""));
        write!(
            f,
            "--target {} matches nothing: no {kind} of that name in the configuration or the account (nothing was changed)",
            self.target
        )?;
        if let Some(suggestion) = &self.suggestion {
            write!(f, "; did you mean `{kind}:{suggestion}`?")?;
        }
        Ok(())
    }
}

/// Checks that every target names an object of the configuration or the account.
///
/// # Errors
/// The first target that matches nothing.
pub fn check_targets(
    targets: &[Target],
    current: &State,
    desired: &Desired,
) -> Result<(), Unmatched> {
    for target in targets {
        let names: Vec<&str> = match target {
            Target::Member(_) => desired
                .state
                .members
                .keys()
                .chain(current.members.keys())
                .map(Email::as_str)
                .collect(),
            Target::Project(_) => keys(&desired.state.projects, &current.projects),
            Target::Agreement(_) => keys(&desired.state.agreements, &current.agreements),
            Target::Team(_) => keys(&desired.state.teams, &current.teams),
        };
        if names.contains(&target.name()) {
            continue;
        }
        let suggestion =
            crate::rules::context::suggest(target.name(), names.into_iter()).map(str::to_owned);
        return Err(Unmatched {
            target: format!("{}:{}", target.kind(), target.name()),
            suggestion,
        });
    }
    Ok(())
}

fn keys<'a, T>(declared: &'a BTreeMap<String, T>, live: &'a BTreeMap<String, T>) -> Vec<&'a str> {
    declared
        .keys()
        .chain(live.keys())
        .map(String::as_str)
        .collect()
}

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
/// one step share a call, up to the bulk limit (as [`super::order`] does).
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

/// The line a partial plan's renderings show: `Partial plan: only member:a@x,
/// team:100001; 12 other changes not shown`.
#[must_use]
pub fn partial_line(plan: &Plan) -> Option<String> {
    if plan.targets.is_empty() {
        return None;
    }
    let others = match plan.outside_targets {
        1 => "1 other change not shown".to_owned(),
        n => format!("{n} other changes not shown"),
    };
    Some(format!(
        "Partial plan: only {}; {others} (the safety rules were checked on the whole account)",
        plan.targets.join(", ")
    ))
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
    fn targets_parse_and_print_back() {
        for text in [
            "member:dana@acme.example",
            "project:Tower A",
            "agreement:110001234567",
            "team:100001",
        ] {
            assert_eq!(text.parse::<Target>().unwrap().to_string(), text);
        }
        assert_eq!(
            "member: Dana@ACME.example ".parse::<Target>().unwrap(),
            Target::Member(Email::new("dana@acme.example"))
        );
        assert_eq!(
            "membre:dana@x".parse::<Target>().unwrap_err(),
            "`membre` is not a kind of target: use one of member, project, agreement, team; did you mean `member:dana@x`?"
        );
        assert!("dana".parse::<Target>().unwrap_err().contains("KIND:NAME"));
        assert_eq!(
            "team:".parse::<Target>().unwrap_err(),
            "`team:` names no team"
        );
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
