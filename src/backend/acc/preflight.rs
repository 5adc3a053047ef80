//! What the vendor will not take, found before the first write
//! ([`crate::contract::Backend::preflight`]): a plan holding any of it is refused
//! whole, with the reason, so an apply never stops halfway on something that was
//! knowable before it started.
//!
//! - **Credentials**: a `construction/admin` write (projects, project members, and the
//!   deactivation of a member who is on projects, whose memberships it removes)
//!   acts for an account admin named by `ACCORD_ACC_USER_ID`; it must be set, and
//!   name a user of the account who is an account admin.
//! - **Required fields**: the vendor requires a company's trade, so a company
//!   created without one, or an update clearing it, is refused.
//! - **What the vendor keeps**: it makes a project admin administrator of every
//!   product, so a project admin declared with only some products would be changed
//!   back on every apply and never converge. accord refuses it rather than quietly
//!   giving the person products the configuration does not list: the configuration
//!   should say what the person will hold.
//! - **Statuses**: the vendor changes the status only of members who accepted their
//!   invitation, and cannot add a member as inactive: deactivating a pending or
//!   not-invited member, or one not in the account yet, is refused with what to do.

use std::collections::{BTreeMap, BTreeSet};

use super::client::USER_ID_NEEDED;
use super::wire::{self, User};
use crate::contract::Op;
use crate::contract::backend::Unfit;
use crate::state::{Email, MemberStatus};

/// What the account holds, as last read.
#[derive(Debug, Clone, Copy)]
pub struct Live<'a> {
    /// Whether the account was read (without it, only the plan itself is checked).
    pub loaded: bool,
    /// The account's users by email.
    pub users: &'a BTreeMap<Email, User>,
    /// The members who are on at least one project.
    pub in_projects: &'a BTreeSet<Email>,
}

/// Why a company cannot be created without a trade.
pub const TRADE_NEEDED: &str =
    "the vendor requires a trade for every company: add `trade:` to the company's declaration";

/// Why a company's trade cannot be cleared.
pub const TRADE_KEPT: &str = "the vendor requires a trade for every company, so it cannot be cleared: keep `trade:` in the company's declaration";

/// Why a project admin must hold every product.
pub const ADMIN_PRODUCTS: &str = "the vendor makes a project admin administrator of every product, so an admin with only some products would be changed back on every apply: list every product for a project admin (products: [docs, build, cost, insight, design_collaboration, model_coordination, takeoff]), or make them a member (access: member)";

/// Why a pending member cannot be deactivated.
pub const PENDING: &str = "the member has not accepted the invitation yet, and the vendor changes the status only of members who have: deactivate them by hand in ACC's Account Admin (Members), or declare them active until they accept";

/// Why a member who was never invited cannot be deactivated.
pub const NOT_INVITED: &str = "the member is in the account but was never invited, and the vendor changes the status only of members who accepted an invitation: remove them by hand in ACC's Account Admin (Members), or declare them active";

/// Why a member cannot be added inactive.
pub const NEW_INACTIVE: &str = "the member is not in the account yet, and the vendor cannot add a member as inactive (it changes the status only of members who accepted an invitation): leave them out of the configuration, or declare them active";

/// The operations of `operations` the vendor would not take, with the reason; `user_id`
/// is `ACCORD_ACC_USER_ID`.
#[must_use]
pub fn unfit(operations: &[Op], live: &Live<'_>, user_id: Option<&str>) -> Vec<Unfit> {
    let acting = acting_admin(live, user_id);
    let mut found = Vec::new();
    for (index, op) in operations.iter().enumerate() {
        let mut reasons: Vec<String> = Vec::new();
        if needs_user_id(op, live) {
            if let Err(reason) = &acting {
                reasons.push(reason.clone());
            }
        }
        match op {
            Op::CompanyCreate { trade, .. } if blank(trade.as_deref()) => {
                reasons.push(TRADE_NEEDED.to_owned());
            }
            Op::CompanyUpdate { trade, .. } if blank(trade.as_deref()) => {
                reasons.push(TRADE_KEPT.to_owned());
            }
            Op::ProjectMemberAdd {
                access, products, ..
            }
            | Op::ProjectMemberUpdate {
                access, products, ..
            } if !wire::keeps(*access, products) => reasons.push(ADMIN_PRODUCTS.to_owned()),
            Op::MemberInvite { inactive: true, .. } => reasons.push(NEW_INACTIVE.to_owned()),
            Op::MemberDeactivate { email } if live.loaded => {
                match live
                    .users
                    .get(email)
                    .map(|u| wire::status(u.status.as_deref()))
                {
                    None => reasons.push(NEW_INACTIVE.to_owned()),
                    Some(MemberStatus::Pending) => reasons.push(PENDING.to_owned()),
                    Some(MemberStatus::NotInvited) => reasons.push(NOT_INVITED.to_owned()),
                    Some(_) => {}
                }
            }
            _ => {}
        }
        found.extend(reasons.into_iter().map(|reason| Unfit { index, reason }));
    }
    found
}

fn blank(text: Option<&str>) -> bool {
    text.is_none_or(|t| t.trim().is_empty())
}

/// Whether `op` is (or, for a deactivation, includes) a `construction/admin` write,
/// which acts for the admin `User-Id` names.
fn needs_user_id(op: &Op, live: &Live<'_>) -> bool {
    match op {
        Op::ProjectCreate { .. }
        | Op::ProjectMemberAdd { .. }
        | Op::ProjectMemberUpdate { .. }
        | Op::ProjectMemberRemove { .. } => true,
        // Deactivating a member removes their project memberships too.
        Op::MemberDeactivate { email } => live.in_projects.contains(email),
        _ => false,
    }
}

/// Whether `user_id` names an account admin of the account (by its ACC id or its
/// Autodesk id), or why not.
fn acting_admin(live: &Live<'_>, user_id: Option<&str>) -> Result<(), String> {
    let Some(id) = user_id else {
        return Err(USER_ID_NEEDED.to_owned());
    };
    if !live.loaded {
        return Ok(());
    }
    let user = live
        .users
        .values()
        .find(|u| u.id == id || u.uid.as_deref() == Some(id));
    match user {
        Some(user) if user.is_account_admin() => Ok(()),
        Some(user) => Err(format!(
            "ACCORD_ACC_USER_ID names {}, who is not an account admin, and project changes act for that user: set it to the user id of an account admin",
            user.email
        )),
        None => Err(format!(
            "ACCORD_ACC_USER_ID (`{id}`) is not the id of a user of this account, and project changes act for that user: set it to the user id of an account admin"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{ProjectAccess, ProjectProduct};

    fn user(id: &str, email: &str, role: &str, status: &str) -> User {
        serde_json::from_value(serde_json::json!({
            "id": id, "email": email, "role": role, "status": status
        }))
        .unwrap()
    }

    #[test]
    fn what_the_vendor_will_not_take_is_named_before_any_write() {
        let users: BTreeMap<Email, User> = [
            user("u-admin", "admin@x", "account_admin", "active"),
            user("u-p", "p@x", "account_user", "pending"),
            user("u-n", "n@x", "account_user", "not_invited"),
            user("u-a", "a@x", "account_user", "active"),
        ]
        .into_iter()
        .map(|u| (Email::new(&u.email), u))
        .collect();
        let in_projects = BTreeSet::from([Email::new("a@x")]);
        let live = Live {
            loaded: true,
            users: &users,
            in_projects: &in_projects,
        };
        let ops = [
            Op::CompanyCreate {
                name: "A".into(),
                trade: None,
            },
            Op::ProjectMemberAdd {
                project: "P".into(),
                email: Email::new("a@x"),
                access: ProjectAccess::Admin,
                products: [ProjectProduct::Docs].into(),
            },
            Op::MemberDeactivate {
                email: Email::new("p@x"),
            },
            Op::MemberDeactivate {
                email: Email::new("n@x"),
            },
            Op::MemberDeactivate {
                email: Email::new("new@x"),
            },
            Op::MemberDeactivate {
                email: Email::new("a@x"),
            },
            Op::MemberInvite {
                email: Email::new("leave@x"),
                record: crate::contract::MemberRecord::default(),
                inactive: true,
            },
        ];
        let reasons = |user_id| -> Vec<(usize, String)> {
            unfit(&ops, &live, user_id)
                .into_iter()
                .map(|u| (u.index, u.reason))
                .collect()
        };
        assert_eq!(
            reasons(Some("u-admin")),
            [
                (0, TRADE_NEEDED.to_owned()),
                (1, ADMIN_PRODUCTS.to_owned()),
                (2, PENDING.to_owned()),
                (3, NOT_INVITED.to_owned()),
                (4, NEW_INACTIVE.to_owned()),
                (6, NEW_INACTIVE.to_owned()),
            ]
        );
        // Without a User-Id: the project write and the deactivation of a member on a
        // project (it removes their memberships) are refused too.
        let without = reasons(None);
        assert!(
            without.contains(&(1, USER_ID_NEEDED.to_owned())),
            "{without:?}"
        );
        assert!(
            without.contains(&(5, USER_ID_NEEDED.to_owned())),
            "{without:?}"
        );
        let not_admin = reasons(Some("u-a"));
        assert!(
            not_admin
                .iter()
                .any(|(i, r)| *i == 1 && r.contains("a@x, who is not an account admin")),
            "{not_admin:?}"
        );
    }
}
