//! Which operations depend on which: when one fails, the ones that need it are
//! skipped (and reported as such) while independent work goes on.
//!
//! Each operation names the things it *changes* and the things it *needs* as short
//! keys (`member:dana@x`, `seat:1100/AutoCAD`). An operation depends on an earlier
//! one when the earlier one changes something the later one changes or needs; a
//! skipped operation counts as failed for those after it, so skips cascade. The keys
//! are chosen conservatively, so that no rule can break because a step before was
//! missing:
//!
//! - everything done to or for a member needs that member (`member:EMAIL`): a failed
//!   invitation skips the member's seats, projects and roles;
//! - invitations and updates need the company and role they name (created in step 1);
//! - everything on an agreement needs its creation (`agreement:N`); seats of a product
//!   (`seat:N/P`), a cloud service (`cloud:N/S`) and support (`support:N`) are each one
//!   pool: a failed un-assignment or licence change skips the later assignments of the
//!   same pool, which may have needed the freed capacity (R04-R06), and a failed
//!   removal or deactivation skips those of the pools its cascade would have freed;
//! - removals and deactivations need every contract-manager and coordinator transfer
//!   (`holders`, R11) and every grant of `account_admin` (`admins`, R10); so do member
//!   updates that may take `account_admin` away;
//! - project members need their project (`project:P`);
//! - everything on a team needs its creation (`team:T`); a team's seats of a product
//!   are one pool (`team-pool:T/P`) as an agreement's are; a seat needs its holder on
//!   the team (`team-user:T/email`), and a failed removal from a team skips the later
//!   assignments of the pools its cascade would have freed.

use std::collections::HashMap;

use crate::plan::{Op, Operation};
use crate::state::{AccessLevel, Email};

/// Every grant of `account_admin` (R10): what may revoke it needs them all.
const ADMINS: &str = "admins";
/// Every contract-manager or coordinator transfer (R11): exits need them all.
const HOLDERS: &str = "holders";

/// What one operation changes, provides and needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys {
    /// The things it changes: a later operation changing or needing one of them
    /// depends on it.
    pub changes: Vec<String>,
    /// Shared guarantees it contributes to (`admins`, `holders`): only a later
    /// operation *needing* one depends on it (two admin grants do not depend on
    /// each other, but a revocation depends on both).
    pub provides: Vec<String>,
    /// The things it needs as earlier operations left them.
    pub needs: Vec<String>,
}

fn member(email: &Email) -> String {
    format!("member:{email}")
}

fn record_needs(company: Option<&String>, role: Option<&String>) -> Vec<String> {
    company
        .map(|c| format!("company:{c}"))
        .into_iter()
        .chain(role.map(|r| format!("role:{r}")))
        .collect()
}

/// The keys of an operation (its consequences included, for removals and
/// deactivations).
#[must_use]
pub fn keys(operation: &Operation) -> Keys {
    let mut keys = keys_of(&operation.op);
    keys.changes
        .extend(operation.consequences().iter().filter_map(|c| pool_of(c)));
    keys
}

/// The keys of an [`Op`] alone.
#[must_use]
#[allow(clippy::too_many_lines)] // one arm per operation kind reads best as one table
pub fn keys_of(op: &Op) -> Keys {
    let provides = match op {
        Op::MemberInvite { record, .. } | Op::MemberUpdate { record, .. }
            if record.access.contains(&AccessLevel::AccountAdmin) =>
        {
            vec![ADMINS.to_owned()]
        }
        // An activation may bring an admin back; its access is not in the operation.
        Op::MemberActivate { .. } => vec![ADMINS.to_owned()],
        Op::SetContractManager { .. } | Op::SetSoftwareCoordinator { .. } => {
            vec![HOLDERS.to_owned()]
        }
        _ => Vec::new(),
    };
    let (changes, needs): (Vec<String>, Vec<String>) = match op {
        Op::CompanyCreate { name, .. } => (vec![format!("company:{name}")], vec![]),
        // A trade change: nothing else needs it.
        // A rename gives the company its new name, which members' records name.
        Op::CompanyUpdate {
            name,
            from: Some(_),
            ..
        } => (
            vec![format!("company:{name}"), format!("company-record:{name}")],
            vec![],
        ),
        Op::CompanyUpdate { name, .. } => (vec![format!("company-record:{name}")], vec![]),
        Op::RoleCreate { name, .. } => (vec![format!("role:{name}")], vec![]),
        // Members' access follows a role through their own updates, not the role's.
        Op::RoleUpdate {
            name,
            from: Some(_),
            ..
        } => (
            vec![format!("role:{name}"), format!("role-record:{name}")],
            vec![],
        ),
        Op::RoleUpdate { name, .. } => (vec![format!("role-record:{name}")], vec![]),
        Op::MemberInvite { email, record, .. } => (
            vec![member(email)],
            record_needs(record.company.as_ref(), record.role.as_ref()),
        ),
        Op::MemberUpdate { email, record } => {
            let mut needs = record_needs(record.company.as_ref(), record.role.as_ref());
            // An update whose record lacks account_admin may take it away (R10).
            if !record.access.contains(&AccessLevel::AccountAdmin) {
                needs.push(ADMINS.into());
            }
            (vec![member(email)], needs)
        }
        Op::MemberActivate { email } => (vec![member(email)], vec![]),
        Op::MemberDeactivate { email } | Op::MemberRemove { email } => {
            (vec![member(email)], vec![ADMINS.into(), HOLDERS.into()])
        }
        Op::MemberResendInvite { email } => (vec![member(email)], vec![]),
        Op::AgreementCreate {
            number,
            contract_manager,
            software_coordinator,
            ..
        } => (
            vec![format!("agreement:{number}")],
            vec![member(contract_manager), member(software_coordinator)],
        ),
        Op::AgreementUpdate {
            number,
            name,
            seats,
        } => {
            let mut changes: Vec<String> =
                seats.keys().map(|p| format!("seat:{number}/{p}")).collect();
            if name.is_some() {
                changes.push(format!("agreement-name:{number}"));
            }
            (changes, vec![format!("agreement:{number}")])
        }
        Op::SetContractManager { number, to } => (
            vec![format!("contract-manager:{number}")],
            vec![format!("agreement:{number}"), member(to)],
        ),
        Op::SetSoftwareCoordinator { number, to } => (
            vec![format!("coordinator:{number}")],
            vec![format!("agreement:{number}"), member(to)],
        ),
        Op::SeatAssign {
            number,
            product,
            email,
        }
        | Op::SeatUnassign {
            number,
            product,
            email,
        } => (
            vec![format!("seat:{number}/{product}")],
            vec![format!("agreement:{number}"), member(email)],
        ),
        Op::CloudServiceAssign {
            number,
            service,
            email,
        }
        | Op::CloudServiceUnassign {
            number,
            service,
            email,
        } => (
            vec![format!("cloud:{number}/{service}")],
            vec![format!("agreement:{number}"), member(email)],
        ),
        Op::SupportAssign { number, email } | Op::SupportUnassign { number, email } => (
            vec![format!("support:{number}")],
            vec![format!("agreement:{number}"), member(email)],
        ),
        Op::ProjectCreate { name } | Op::ProjectUpdate { name, .. } => {
            (vec![format!("project:{name}")], vec![])
        }
        Op::TeamCreate { team, seats, .. } => (
            std::iter::once(format!("team:{team}"))
                .chain(seats.keys().map(|p| format!("team-pool:{team}/{p}")))
                .collect(),
            vec![],
        ),
        Op::TeamUpdate { team, name, seats } => {
            let mut changes: Vec<String> = seats
                .keys()
                .map(|p| format!("team-pool:{team}/{p}"))
                .collect();
            if name.is_some() {
                changes.push(format!("team-name:{team}"));
            }
            (changes, vec![format!("team:{team}")])
        }
        Op::TeamMemberAdd { team, email, .. } | Op::TeamMemberRemove { team, email } => (
            vec![format!("team-user:{team}/{email}")],
            vec![format!("team:{team}"), member(email)],
        ),
        Op::TeamSeatAssign {
            team,
            product,
            email,
        } => (
            vec![format!("team-pool:{team}/{product}")],
            vec![
                format!("team:{team}"),
                format!("team-user:{team}/{email}"),
                member(email),
            ],
        ),
        Op::TeamSeatUnassign {
            team,
            product,
            email,
        } => (
            vec![format!("team-pool:{team}/{product}")],
            vec![format!("team:{team}"), member(email)],
        ),
        Op::ProjectMemberAdd { project, email, .. }
        | Op::ProjectMemberUpdate { project, email, .. }
        | Op::ProjectMemberRemove { project, email } => (
            vec![format!("project-member:{project}/{email}")],
            vec![format!("project:{project}"), member(email)],
        ),
    };
    Keys {
        changes,
        provides,
        needs,
    }
}

/// The capacity pool a consequence (`seat.unassign N/P/email`) frees, if any.
fn pool_of(consequence: &str) -> Option<String> {
    let (kind, target) = consequence.split_once(' ')?;
    let number = target.split('/').next()?;
    let middle = || {
        let rest = target.strip_prefix(number)?.strip_prefix('/')?;
        Some(rest.rsplit_once('/')?.0.to_owned())
    };
    match kind {
        "seat.unassign" => Some(format!("seat:{number}/{}", middle()?)),
        "cloud_service.unassign" => Some(format!("cloud:{number}/{}", middle()?)),
        "support.unassign" => Some(format!("support:{number}")),
        "team_seat.unassign" => Some(format!("team-pool:{number}/{}", middle()?)),
        _ => None,
    }
}

/// What has failed so far: each key changed or provided by a failed or skipped
/// operation, with the first such operation (`member.invite dana@x`), for the skip's
/// reason.
#[derive(Debug, Clone, Default)]
pub struct Failures {
    changed: HashMap<String, String>,
    provided: HashMap<String, String>,
}

impl Failures {
    /// Records that `operation` failed or was skipped.
    pub fn record(&mut self, operation: &Operation) {
        let name = format!("{} {}", operation.op.name(), operation.target);
        let keys = keys(operation);
        for key in keys.changes {
            self.changed.entry(key).or_insert_with(|| name.clone());
        }
        for key in keys.provides {
            self.provided.entry(key).or_insert_with(|| name.clone());
        }
    }

    /// The failed operation `operation` depends on, if any.
    #[must_use]
    pub fn blocking(&self, operation: &Operation) -> Option<&str> {
        if self.is_empty() {
            return None;
        }
        let keys = keys(operation);
        let by_change = keys.changes.iter().find_map(|key| self.changed.get(key));
        let by_need = || {
            keys.needs
                .iter()
                .find_map(|key| self.changed.get(key).or_else(|| self.provided.get(key)))
        };
        by_change.or_else(by_need).map(String::as_str)
    }

    /// Whether nothing failed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.provided.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::MemberRecord;
    use crate::plan::Provenance;

    fn operation(op: Op) -> Operation {
        Operation::new(op, Provenance("test".into()))
    }

    fn email(raw: &str) -> Email {
        Email::new(raw)
    }

    fn invite(who: &str, admin: bool) -> Operation {
        let mut record = MemberRecord {
            company: Some("ACME".into()),
            ..MemberRecord::default()
        };
        if admin {
            record.access.insert(AccessLevel::AccountAdmin);
        }
        operation(Op::MemberInvite {
            inactive: false,
            email: email(who),
            record,
        })
    }

    fn seat(op: &str, product: &str, who: &str) -> Operation {
        let (number, product, email) = ("1100".to_owned(), product.to_owned(), email(who));
        operation(match op {
            "assign" => Op::SeatAssign {
                number,
                product,
                email,
            },
            _ => Op::SeatUnassign {
                number,
                product,
                email,
            },
        })
    }

    #[test]
    fn a_failed_invitation_skips_what_the_member_needs_and_nothing_else() {
        let mut failures = Failures::default();
        failures.record(&invite("dana@x", false));
        assert_eq!(
            failures.blocking(&seat("assign", "AutoCAD", "dana@x")),
            Some("member.invite dana@x")
        );
        let project = operation(Op::ProjectMemberAdd {
            project: "Tower".into(),
            email: email("dana@x"),
            access: crate::state::ProjectAccess::Member,
            products: std::collections::BTreeSet::new(),
        });
        assert!(failures.blocking(&project).is_some());
        assert_eq!(
            failures.blocking(&seat("assign", "AutoCAD", "erik@x")),
            None
        );
        assert_eq!(failures.blocking(&invite("erik@x", true)), None);
    }

    #[test]
    fn a_failed_unassignment_skips_later_assignments_of_the_same_pool_only() {
        let mut failures = Failures::default();
        failures.record(&seat("unassign", "AutoCAD", "bob@x"));
        assert!(
            failures
                .blocking(&seat("assign", "AutoCAD", "dana@x"))
                .is_some()
        );
        assert_eq!(failures.blocking(&seat("assign", "Revit", "dana@x")), None);
    }

    #[test]
    fn a_failed_removal_skips_assignments_of_the_pools_it_would_free() {
        let mut removal = operation(Op::MemberRemove {
            email: email("zed@x"),
        });
        removal.consequences = Some(vec![
            "seat.unassign 1100/Auto/CAD/zed@x".into(),
            "project_member.remove Tower/zed@x".into(),
        ]);
        let mut failures = Failures::default();
        failures.record(&removal);
        assert!(
            failures
                .blocking(&seat("assign", "Auto/CAD", "dana@x"))
                .is_some()
        );
        assert_eq!(failures.blocking(&seat("assign", "Revit", "dana@x")), None);
    }

    #[test]
    fn a_failed_admin_grant_skips_what_may_revoke_admin() {
        let mut failures = Failures::default();
        failures.record(&invite("new-admin@x", true));
        let removal = operation(Op::MemberRemove {
            email: email("old-admin@x"),
        });
        assert_eq!(
            failures.blocking(&removal),
            Some("member.invite new-admin@x")
        );
        let demotion = operation(Op::MemberUpdate {
            email: email("old-admin@x"),
            record: MemberRecord::default(),
        });
        assert!(failures.blocking(&demotion).is_some());
        assert_eq!(failures.blocking(&invite("other@x", true)), None);
    }

    #[test]
    fn a_failed_role_transfer_skips_exits_but_not_other_transfers() {
        let transfer = |number: &str| {
            operation(Op::SetContractManager {
                number: number.into(),
                to: email("new@x"),
            })
        };
        let mut failures = Failures::default();
        failures.record(&transfer("1100"));
        assert_eq!(failures.blocking(&transfer("1200")), None);
        let coordinator = operation(Op::SetSoftwareCoordinator {
            number: "1100".into(),
            to: email("new@x"),
        });
        assert_eq!(failures.blocking(&coordinator), None);
        let exit = operation(Op::MemberDeactivate {
            email: email("old@x"),
        });
        assert_eq!(
            failures.blocking(&exit),
            Some("agreement.set_contract_manager 1100")
        );
    }

    #[test]
    fn a_failed_company_creation_skips_its_members_but_a_trade_change_does_not() {
        let mut failures = Failures::default();
        failures.record(&operation(Op::CompanyUpdate {
            name: "ACME".into(),
            trade: None,
            from: None,
        }));
        assert_eq!(failures.blocking(&invite("dana@x", false)), None);
        failures.record(&operation(Op::CompanyCreate {
            name: "ACME".into(),
            trade: None,
        }));
        assert_eq!(
            failures.blocking(&invite("dana@x", false)),
            Some("company.create ACME")
        );
    }
}
