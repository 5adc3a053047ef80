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

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use super::model::Plan;
use super::operation::Op;
use crate::desired::Desired;
use crate::state::{Email, State};

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
}
