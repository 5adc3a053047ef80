//! R04: the members on a product's `assigned` list never outnumber the seats
//! purchased for it, on an agreement or in a team's product pool.
//!
//! People are counted once each, after group expansion and email normalisation (a
//! person named directly and through a group, or twice with different case, uses
//! one seat). Everyone on the list uses a seat, including a member who also holds
//! the product through an external subscription; external subscriptions themselves
//! use none. A product without `seats` keeps the backend's count, which validate
//! cannot see, so it is not checked here (for a team pool, R14 checks it at plan
//! time, with the seats held by inheritance too).

use super::context::{Context, plural};
use crate::diagnostic::{Code, Diagnostic};

/// Checks R04.
#[must_use]
pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    agreements(ctx, &mut out);
    teams(ctx, &mut out);
    out
}

fn agreements(ctx: &Context, out: &mut Vec<Diagnostic>) {
    for (a, agreement) in ctx.config.agreements.iter().enumerate() {
        for (p, product) in agreement.products.iter().enumerate() {
            let Some(seats) = product.seats else {
                continue;
            };
            let (assigned, Some(first_over)) = ctx.count_over(&product.assigned, u64::from(seats))
            else {
                continue;
            };
            let base = format!("/agreements/{a}/products/{p}");
            out.push(
                ctx.error(
                    Code::R04,
                    format!("{base}/assigned/{first_over}"),
                    format!(
                        "`{}` on agreement {} is assigned to {} but has {} purchased",
                        product.name,
                        agreement.number,
                        plural(assigned, "member", "members"),
                        plural(u64::from(seats), "seat", "seats"),
                    ),
                )
                .help(format!(
                    "raise `seats` to {assigned}, or take {} off `assigned` (a person named twice, or directly and through a group, counts once)",
                    plural(assigned - u64::from(seats), "member", "members"),
                ))
                .related(
                    ctx.locate(&format!("{base}/seats")),
                    format!("{} purchased here", plural(u64::from(seats), "seat", "seats")),
                ),
            );
        }
    }
}

/// A team's pools: the `assigned` list is the pool's direct seats. Only the people
/// on `assigned` use a seat; the team's `members` list holds none.
fn teams(ctx: &Context, out: &mut Vec<Diagnostic>) {
    for (t, team) in ctx.config.teams.iter().enumerate() {
        for (p, product) in team.products.iter().enumerate() {
            let Some(seats) = product.seats else {
                continue;
            };
            let (assigned, Some(first_over)) = ctx.count_over(&product.assigned, u64::from(seats))
            else {
                continue;
            };
            let base = format!("/teams/{t}/products/{p}");
            out.push(
                ctx.error(
                    Code::R04,
                    format!("{base}/assigned/{first_over}"),
                    format!(
                        "`{}` on team {} ({}) is assigned to {} but its pool has {}",
                        product.name,
                        team.id,
                        team.name,
                        plural(assigned, "member", "members"),
                        plural(u64::from(seats), "seat", "seats"),
                    ),
                )
                .help(format!(
                    "raise `seats` to {assigned} once the pool has them, or take {} off `assigned` (a person named twice, or directly and through a group, counts once)",
                    plural(assigned - u64::from(seats), "member", "members"),
                ))
                .related(
                    ctx.locate(&format!("{base}/seats")),
                    format!("{} in the pool here", plural(u64::from(seats), "seat", "seats")),
                ),
            );
        }
    }
}
