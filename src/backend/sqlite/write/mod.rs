//! Carrying out operations as the vendor does: each one checked against R02-R11 (and
//! R04/R07/R09 for teams)
//! first, refused with a reason an administrator can act on, or applied.
//!
//! Every function here runs inside the batch's transaction and answers an
//! [`Outcome`]; an `Err` is a storage failure that aborts the whole batch. A refusal
//! is mostly decided before anything is written; the caller also wraps each operation
//! in a savepoint, so one found midway (an `agreement.update` whose second product
//! would break R04) leaves no trace either.

mod agreements;
mod assignments;
mod catalog;
mod lookups;
mod members;
mod projects;
mod teams;

use rusqlite::Transaction;
use rusqlite::types::Type;

use super::codec;
use crate::contract::Op;
use crate::contract::Outcome;
use crate::diagnostic::Code;
use crate::state::{AccessLevel, Email, MemberStatus};

type Sql<T> = rusqlite::Result<T>;

/// A lookup that may end in a refusal: `Ok(Err(outcome))` is the refusal to answer.
type Checked<T> = Sql<Result<T, Outcome>>;

/// The ids of a member record's company and role.
type RecordRefs = (Option<i64>, Option<i64>);

/// At most this many members per cloud service (R05).
const MAX_CLOUD_SERVICE_USERS: i64 = 3;

/// At most this many support members per licence (R06).
const SUPPORT_PER_LICENCE: i64 = 6;

/// A member's row, as the rules need it.
#[derive(Debug, Clone, Copy)]
pub(super) struct MemberRow {
    pub(super) id: i64,
    pub(super) status: MemberStatus,
    pub(super) invited_at: Option<i64>,
}

/// An agreement's row.
#[derive(Debug, Clone, Copy)]
struct AgreementRow {
    id: i64,
    contract_manager: i64,
    software_coordinator: i64,
}

/// One batch's writer: the transaction and the backend's clock at the batch's start.
pub(super) struct Writer<'a, 'c> {
    pub(super) tx: &'a Transaction<'c>,
    pub(super) now: i64,
}

impl Writer<'_, '_> {
    /// Carries out `op`.
    pub(super) fn apply(&self, op: &Op) -> Sql<Outcome> {
        match op {
            Op::CompanyCreate { name, trade } => self.company_create(name, trade.as_deref()),
            Op::CompanyUpdate { name, trade, from } => {
                self.company_update(name, trade.as_deref(), from.as_deref())
            }
            Op::RoleCreate {
                name,
                default_access,
            } => self.role_create(name, default_access),
            Op::RoleUpdate {
                name,
                default_access,
                from,
            } => self.role_update(name, default_access, from.as_deref()),
            Op::AgreementCreate {
                number,
                name,
                contract_manager,
                software_coordinator,
                seats,
            } => self.agreement_create(number, name, contract_manager, software_coordinator, seats),
            Op::AgreementUpdate {
                number,
                name,
                seats,
            } => self.agreement_update(number, name.as_deref(), seats),
            Op::MemberInvite {
                email,
                record,
                inactive,
            } => self.member_invite(email, record, *inactive),
            Op::MemberUpdate { email, record } => self.member_update(email, record),
            Op::MemberActivate { email } => self.member_activate(email),
            Op::MemberDeactivate { email } => self.member_deactivate(email),
            Op::MemberRemove { email } => self.member_remove(email),
            Op::MemberResendInvite { email } => self.member_resend_invite(email),
            Op::SetContractManager { number, to } => self.set_holder(number, to, Holder::Manager),
            Op::SetSoftwareCoordinator { number, to } => {
                self.set_holder(number, to, Holder::Coordinator)
            }
            Op::SeatAssign {
                number,
                product,
                email,
            } => self.seat_assign(number, product, email),
            Op::SeatUnassign {
                number,
                product,
                email,
            } => self.seat_unassign(number, product, email),
            Op::CloudServiceAssign {
                number,
                service,
                email,
            } => self.cloud_service_assign(number, service, email),
            Op::CloudServiceUnassign {
                number,
                service,
                email,
            } => self.cloud_service_unassign(number, service, email),
            Op::SupportAssign { number, email } => self.support_assign(number, email),
            Op::SupportUnassign { number, email } => self.support_unassign(number, email),
            Op::ProjectCreate { name } => self.project_create(name),
            Op::ProjectUpdate { name, from } => {
                Ok(match self.rename(catalog::Table::Projects, from, name)? {
                    Ok(true) => Outcome::Done,
                    Ok(false) => Outcome::AlreadySo,
                    Err(refusal) => refusal,
                })
            }
            Op::ProjectMemberAdd {
                project,
                email,
                access,
                products,
            } => self.project_member_add(project, email, *access, products),
            Op::ProjectMemberUpdate {
                project,
                email,
                access,
                products,
            } => self.project_member_update(project, email, *access, products),
            Op::ProjectMemberRemove { project, email } => {
                self.project_member_remove(project, email)
            }
            Op::TeamCreate { team, name, seats } => self.team_create(team, name, seats),
            Op::TeamUpdate { team, name, seats } => self.team_update(team, name.as_deref(), seats),
            Op::TeamMemberAdd { team, email, .. } => self.team_member_add(team, email),
            Op::TeamMemberRemove { team, email } => self.team_member_remove(team, email),
            Op::TeamSeatAssign {
                team,
                product,
                email,
            } => self.team_seat_assign(team, product, email),
            Op::TeamSeatUnassign {
                team,
                product,
                email,
            } => self.team_seat_unassign(team, product, email),
        }
    }
}

/// The two holder roles of an agreement.
#[derive(Debug, Clone, Copy)]
enum Holder {
    Manager,
    Coordinator,
}

impl Holder {
    fn title(self) -> &'static str {
        match self {
            Self::Manager => "contract manager",
            Self::Coordinator => "software coordinator",
        }
    }

    /// The rule that requires the holder to be a member: R02 or R03.
    fn rule(self) -> Code {
        match self {
            Self::Manager => Code::R02,
            Self::Coordinator => Code::R03,
        }
    }
}

fn done_if(changed: bool) -> Outcome {
    if changed {
        Outcome::Done
    } else {
        Outcome::AlreadySo
    }
}

fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "(none)".to_owned(), |v| format!("`{v}`"))
}

fn unknown_member(email: &Email) -> Outcome {
    Outcome::refused(
        Code::R07,
        format!("{email} is not a member of the account; invite them first (member.invite)"),
    )
}

fn unknown_company(name: &str) -> Outcome {
    Outcome::refused(
        Code::R09,
        format!("company `{name}` does not exist; create it first (company.create)"),
    )
}

fn unknown_role(name: &str) -> Outcome {
    Outcome::refused(
        Code::R09,
        format!("role `{name}` does not exist; create it first (role.create)"),
    )
}

fn unknown_agreement(number: &str) -> Outcome {
    Outcome::refused(
        Code::R09,
        format!("agreement {number} does not exist; create it first (agreement.create)"),
    )
}

fn parse_access(text: &str) -> Sql<AccessLevel> {
    codec::access_from_str(text).ok_or_else(|| bad_text("access level", text))
}

/// A stored word accord does not know: the store is damaged (reported as corrupt).
fn bad_text(what: &str, text: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        Type::Text,
        format!("unknown {what} `{text}` in the store").into(),
    )
}
