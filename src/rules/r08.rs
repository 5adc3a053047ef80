//! R08: a project member always has `docs`; turning `docs` off removes the person
//! from the project.
//!
//! An entry that leaves `products` out gets `[docs]`; an entry that lists products
//! must list `docs` too (an empty list is the same error). The message says the
//! rule itself, because the fix depends on what the writer meant: add `docs`, or
//! delete the entry to take the person off the project.

use super::context::Context;
use crate::config::model::ProjectProduct;
use crate::diagnostic::{Code, Diagnostic};

/// What every R08 message says (DOMAIN.md asks for exactly this).
pub const DOCS_RULE: &str = "turning docs off removes the person from the project";

/// Checks R08.
#[must_use]
pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (p, project) in ctx.config.projects.iter().enumerate() {
        for (m, entry) in project.members.iter().enumerate() {
            let Some(products) = &entry.products else {
                continue;
            };
            if products.contains(&ProjectProduct::Docs) {
                continue;
            }
            let who = match (&entry.email, &entry.group) {
                (Some(email), _) => format!("`{}`", email.trim()),
                (None, Some(group)) => format!("group `{}`", group.trim()),
                (None, None) => "this entry".to_owned(),
            };
            out.push(
                ctx.error(
                    Code::R08,
                    format!("/projects/{p}/members/{m}/products"),
                    format!(
                        "{who} on project `{}` has no `docs`: a project member always has docs; {DOCS_RULE}",
                        project.name
                    ),
                )
                .help("add `docs` to `products` (or leave `products` out for just docs); to take the person off the project, delete this entry"),
            );
        }
    }
    out
}
