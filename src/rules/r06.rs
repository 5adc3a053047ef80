//! R06: at most 6 members per licence have support benefits on an agreement, where
//! the agreement's licences are the sum of the seats of its products.
//!
//! Support members are counted like seats (R04): distinct people after group
//! expansion.
//!
//! A product listed without `seats` counts 0 licences here. What users expect is
//! that `validate` never accepts a support list the backend could then refuse
//! halfway through an apply; a product without `seats` keeps whatever count the
//! backend holds, which validate (no backend contact) cannot see, so the only count
//! it can vouch for is the one written down. This is also how the compiled desired
//! state counts licences ([`crate::state::AgreementState::licences`]), so validate
//! and plan agree. To keep the surprise small, the message names the products
//! without `seats` and the help line says that declaring them fixes it.

use std::fmt::Write as _;

use super::context::{Context, plural, short_list};
use crate::config::model::Agreement;
use crate::diagnostic::{Code, Diagnostic};

/// Members with support benefits allowed per licence.
pub const SUPPORT_PER_LICENCE: u64 = 6;

/// Checks R06.
#[must_use]
pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (a, agreement) in ctx.config.agreements.iter().enumerate() {
        let licences = licences(agreement);
        let limit = licences.saturating_mul(SUPPORT_PER_LICENCE);
        let (supported, Some(first_over)) = ctx.count_over(&agreement.support, limit) else {
            continue;
        };
        let without_seats: Vec<&str> = agreement
            .products
            .iter()
            .filter(|p| p.seats.is_none())
            .map(|p| p.name.as_str())
            .collect();
        let mut message = format!(
            "agreement {} gives support benefits to {}, but its {} allow at most {limit} ({SUPPORT_PER_LICENCE} per licence)",
            agreement.number,
            plural(supported, "member", "members"),
            plural(licences, "licence", "licences"),
        );
        let mut help = format!(
            "take {} off `support`, or buy more seats",
            plural(supported - limit, "member", "members")
        );
        if !without_seats.is_empty() {
            let _ = write!(
                message,
                "; products without `seats` ({}) count as 0 licences",
                short_list(&without_seats)
            );
            help.push_str(
                ", or give `seats` for every product (validate cannot see the backend's counts)",
            );
        }
        out.push(
            ctx.error(
                Code::R06,
                format!("/agreements/{a}/support/{first_over}"),
                message,
            )
            .help(help),
        );
    }
    out
}

/// The agreement's licences as written: the sum of its products' `seats`.
#[must_use]
pub fn licences(agreement: &Agreement) -> u64 {
    agreement
        .products
        .iter()
        .map(|p| u64::from(p.seats.unwrap_or(0)))
        .sum()
}
