//! The strings of a write, checked with the rules `accord validate` applies to a
//! configuration before the store sees them: an address must be one R01 accepts,
//! a name, number or team id is not empty, and no string may hold a control
//! character or a bidirectional override ([`crate::text`]).
//!
//! Without this the service wrote `"not an email"`, NUL bytes and ANSI escape
//! sequences as given (issue 14): `export` then wrote files that fail R01, and
//! plans printed ESC and CR bytes. An operation that fails the check is refused
//! (its outcome says which field and why) and the others of its batch go on, as
//! with any refusal.

use serde_json::Value;

use crate::contract::{Op, Outcome};
use crate::rules::r01::is_valid_email;
use crate::text::name_problem;

/// The fields of an operation that hold an e-mail address.
const EMAIL_FIELDS: [&str; 4] = ["email", "to", "contract_manager", "software_coordinator"];

/// The fields of an operation that name what it creates or changes: the
/// configuration's schema gives a name, a number and an id at least one character.
const NAME_FIELDS: [&str; 3] = ["name", "number", "team"];

/// Why `op` may not be written, as its refusal; `None` when its strings are fine.
#[must_use]
pub fn refusal(op: &Op) -> Option<Outcome> {
    let value = serde_json::to_value(op).ok()?;
    let problem = problem(&value, "")?;
    Some(Outcome::Refused {
        rule: problem.0,
        reason: problem.1,
    })
}

/// Why an account's id and name may not be written; `None` when they are fine.
#[must_use]
pub fn account_problem(account: &crate::state::AccountInfo) -> Option<String> {
    if account.id.is_empty() {
        // `schemas/openapi.yaml`: the id has at least one character.
        return Some("the account's `id` is empty".to_owned());
    }
    [("id", &account.id), ("name", &account.name)]
        .into_iter()
        .find_map(|(field, text)| {
            name_problem(text).map(|why| format!("the account's `{field}` {why}"))
        })
}

/// The first problem in `value` (found at `path`): the rule it breaks, and why.
fn problem(value: &Value, path: &str) -> Option<(Option<String>, String)> {
    match value {
        Value::String(text) => {
            if let Some(why) = name_problem(text) {
                return Some((None, format!("`{}` {why}", field_name(path))));
            }
            let field = path.rsplit('/').next().unwrap_or("");
            if NAME_FIELDS.contains(&field) && text.is_empty() {
                return Some((None, format!("`{}` is empty", field_name(path))));
            }
            if EMAIL_FIELDS.contains(&field) && !is_valid_email(text.trim()) {
                return Some((
                    Some("R01".into()),
                    format!(
                        "`{}` is not a valid e-mail address: {text:?}",
                        field_name(path)
                    ),
                ));
            }
            None
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| problem(item, &format!("{path}/{i}"))),
        Value::Object(fields) => fields.iter().find_map(|(key, field)| {
            if let Some(why) = name_problem(key) {
                return Some((None, format!("a key of `{}` {why}", field_name(path))));
            }
            problem(field, &format!("{path}/{key}"))
        }),
        _ => None,
    }
}

/// `/record/first_name` as `record.first_name`.
fn field_name(path: &str) -> String {
    path.trim_start_matches('/').replace('/', ".")
}
