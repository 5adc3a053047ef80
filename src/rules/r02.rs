//! R02: every agreement names exactly one contract manager, who is a declared
//! member. One person may manage several agreements.
//!
//! The schema makes `contract_manager` a required single string, so "exactly one" is
//! already true here; this rule checks the person is declared. A contract manager
//! who is declared but inactive is R07's.

use super::context::{Context, normalise};
use crate::diagnostic::{Code, Diagnostic};

/// Checks R02.
#[must_use]
pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (index, agreement) in ctx.config.agreements.iter().enumerate() {
        let manager = normalise(&agreement.contract_manager);
        if ctx.member_index(&manager).is_none() {
            out.push(
                ctx.error(
                    Code::R02,
                    format!("/agreements/{index}/contract_manager"),
                    format!(
                        "the contract manager `{}` of agreement {} is not a declared member",
                        agreement.contract_manager, agreement.number
                    ),
                )
                .help(format!(
                    "declare `{manager}` under `members`, or name a declared member as `contract_manager`"
                )),
            );
        }
    }
    out
}
