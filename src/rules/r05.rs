//! R05: at most 3 members are assigned to each cloud service of an agreement.
//!
//! Counted like seats (R04): distinct people after group expansion.

use super::context::{Context, plural};
use crate::diagnostic::{Code, Diagnostic};

/// The most members one cloud service of an agreement may have.
pub const MAX_PER_CLOUD_SERVICE: u64 = 3;

/// Checks R05.
#[must_use]
pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (a, agreement) in ctx.config.agreements.iter().enumerate() {
        for (s, service) in agreement.cloud_services.iter().enumerate() {
            let (assigned, Some(first_over)) =
                ctx.count_over(&service.assigned, MAX_PER_CLOUD_SERVICE)
            else {
                continue;
            };
            out.push(
                ctx.error(
                    Code::R05,
                    format!("/agreements/{a}/cloud_services/{s}/assigned/{first_over}"),
                    format!(
                        "cloud service `{}` on agreement {} is assigned to {}; at most {MAX_PER_CLOUD_SERVICE} may use each cloud service",
                        service.name,
                        agreement.number,
                        plural(assigned, "member", "members"),
                    ),
                )
                .help(format!(
                    "take {} off this `assigned` list (a person named twice, or directly and through a group, counts once)",
                    plural(assigned - MAX_PER_CLOUD_SERVICE, "member", "members"),
                )),
            );
        }
    }
    out
}
