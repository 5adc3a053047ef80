//! R03: every agreement has at most one software coordinator, who is a declared
//! member. One person may coordinate several agreements.
//!
//! "At most one" is the schema's (a single optional string). When none is named the
//! contract manager is the coordinator (resolved when compiling), so only a named
//! coordinator is checked here. A declared but inactive coordinator is R07's.

use super::context::{Context, normalise};
use crate::diagnostic::{Code, Diagnostic};

/// Checks R03.
#[must_use]
pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (index, agreement) in ctx.config.agreements.iter().enumerate() {
        let Some(raw) = &agreement.software_coordinator else {
            continue;
        };
        let coordinator = normalise(raw);
        if ctx.member_index(&coordinator).is_none() {
            out.push(
                ctx.error(
                    Code::R03,
                    format!("/agreements/{index}/software_coordinator"),
                    format!(
                        "the software coordinator `{raw}` of agreement {} is not a declared member",
                        agreement.number
                    ),
                )
                .help(format!(
                    "declare `{coordinator}` under `members`, name a declared member, or leave `software_coordinator` out to make the contract manager the coordinator"
                )),
            );
        }
    }
    out
}
