//! Shape checks the JSON Schema does not express, reported as schema errors.
//!
//! A project member entry names one person (`email`) or one group (`group`). The
//! typed model has both as optional fields, so an entry with both or neither gets
//! here; it is a malformed entry rather than a broken rule, hence `Code::Schema`.

use super::context::Context;
use crate::diagnostic::{Code, Diagnostic};

/// Checks the shape of project member entries.
#[must_use]
pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (p, project) in ctx.config.projects.iter().enumerate() {
        for (m, entry) in project.members.iter().enumerate() {
            let problem = match (&entry.email, &entry.group) {
                (Some(_), Some(_)) => "has both `email` and `group`",
                (None, None) => "has neither `email` nor `group`",
                _ => continue,
            };
            out.push(
                ctx.error(
                    Code::Schema,
                    format!("/projects/{p}/members/{m}"),
                    format!("a member entry of project `{}` {problem}", project.name),
                )
                .help("give `email: ADDRESS` for one person or `group: NAME` for every member of a group, not both; use two entries for both"),
            );
        }
    }
    out
}
