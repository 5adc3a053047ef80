//! R10: at least one member who is not inactive keeps `account_admin`: an account
//! never loses its last admin.
//!
//! Effective access is the member's `access` when given (`[]` meaning none), else
//! their role's `default_access`. No single node is at fault, so the diagnostic
//! cites the `members` section. When a member's role is not declared (R09) their
//! default access is unknown; if such a member could be the admin, R10 is not
//! reported, since the R09 error is the real defect.

use super::context::{Context, is_inactive};
use crate::config::model::AccessLevel;
use crate::diagnostic::{Code, Diagnostic};

/// Checks R10.
#[must_use]
pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let mut undecided = false;
    for (index, member) in ctx.config.members.iter().enumerate() {
        // A repeated declaration is R01's and does not count.
        if is_inactive(member) || ctx.member_index(&ctx.member_emails[index]) != Some(index) {
            continue;
        }
        match effective_admin(ctx, member) {
            Some(true) => return Vec::new(),
            Some(false) => {}
            None => undecided = true,
        }
    }
    if undecided {
        return Vec::new();
    }
    vec![
        ctx.error_at_key(
            Code::R10,
            "/members".to_owned(),
            "no member who is not inactive has `account_admin`: an account never loses its last admin",
        )
        .help("give an active member `account_admin`, in their `access` or through a role whose `default_access` has it"),
    ]
}

/// Whether the member is an account admin; `None` when it depends on an undeclared role.
fn effective_admin(ctx: &Context, member: &crate::config::model::Member) -> Option<bool> {
    if let Some(access) = &member.access {
        return Some(access.contains(&AccessLevel::AccountAdmin));
    }
    let Some(role) = &member.role else {
        return Some(false);
    };
    let &index = ctx.roles.get(role.as_str())?;
    Some(
        ctx.config.roles[index]
            .default_access
            .contains(&AccessLevel::AccountAdmin),
    )
}
