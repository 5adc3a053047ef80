//! The Team Admin API's JSON shapes (`aps/team-admin.md` §5-§7), and every choice
//! accord makes where the vendor's pages were silent.
//!
//! Each choice the fact sheet marks **UNCONFIRMED** is one constant or one function
//! here, marked so, and read tolerantly: an answer that uses another of the plausible
//! shapes is still understood, and what the server actually sent is logged at debug
//! level (`-vv`) so the guess can be checked against a real response.

use serde::Deserialize;
use serde_json::{Value, json};

/// The API's path under the vendor's base URL.
pub const BASE_PATH: &str = "/team-admin/v1";

/// Page size accord asks for: the most the API gives (`limit` 1-100).
pub const PAGE: usize = 100;

/// A page of a paginated list: `{data, pagination: {cursor, hasMore}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    /// The items.
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    /// Where the next page starts.
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

/// The pagination part of a page.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    /// The next page's cursor (`null` on the last page).
    #[serde(default)]
    pub cursor: Option<String>,
    /// Whether there is a next page.
    #[serde(default)]
    pub has_more: bool,
}

impl<T> Page<T> {
    /// The cursor of the next page, when there is one.
    #[must_use]
    pub fn next(&self) -> Option<&str> {
        let pagination = self.pagination.as_ref()?;
        let cursor = pagination.cursor.as_deref().filter(|c| !c.is_empty())?;
        pagination.has_more.then_some(cursor)
    }
}

/// A team the login administers (`GET /teams`).
#[derive(Debug, Clone, Deserialize)]
pub struct Team {
    /// The vendor's team id.
    pub id: String,
    /// Its display name.
    #[serde(default)]
    pub name: String,
}

/// A user of a team (`GET /teams/{id}/users`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamUser {
    /// The user's id on the team.
    pub id: String,
    /// Email (compared case-insensitively).
    pub email: String,
    /// The user's role (`USER`, `EXTERNAL_USER`; admin roles: UNCONFIRMED names).
    #[serde(default)]
    pub role: Option<String>,
    /// Given name (UNCONFIRMED field name).
    #[serde(default)]
    pub first_name: Option<String>,
    /// Family name (UNCONFIRMED field name).
    #[serde(default)]
    pub last_name: Option<String>,
}

impl TeamUser {
    /// Whether the user is one of the team's admins (primary, secondary or SSO): any
    /// role whose name says `ADMIN` (the admin roles' names are UNCONFIRMED).
    #[must_use]
    pub fn is_admin(&self) -> bool {
        self.role
            .as_deref()
            .is_some_and(|r| r.to_ascii_uppercase().contains("ADMIN"))
    }
}

/// A product pool (`GET /teams/{id}/product-pools`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductPool {
    /// The id assignments are made with (only from this list).
    pub product_id: String,
    /// The product's name, as the configuration names it.
    #[serde(default)]
    pub product_name: String,
    /// Seats in the pool (`null` when unlimited).
    #[serde(default)]
    pub total_quantity: Option<u32>,
    /// Seats held (`null` when unlimited, and possibly for a future pool: never 0).
    #[serde(default)]
    pub assigned_quantity: Option<u32>,
    /// Whether the pool has unlimited seats.
    #[serde(default)]
    pub unlimited: bool,
    /// When the pool starts (ISO-8601).
    #[serde(default)]
    pub start_date: Option<String>,
    /// When it ends (ISO-8601).
    #[serde(default)]
    pub end_date: Option<String>,
}

/// One (user, product) pair with its effective assignment type.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assignment {
    /// The user's id.
    pub user_id: String,
    /// The user's email.
    #[serde(default)]
    pub email: Option<String>,
    /// The product's id.
    pub product_id: String,
    /// `DIRECT`, or an inherited kind.
    #[serde(default)]
    pub assignment_type: Option<String>,
}

/// The only assignment type accord creates and removes.
pub const DIRECT: &str = "DIRECT";

impl Assignment {
    /// Whether the assignment is direct. A missing type, and every other value (`GROUP`, `TEAM`, or
    /// whatever the vendor calls them: UNCONFIRMED) is inherited and never changed.
    #[must_use]
    pub fn is_direct(&self) -> bool {
        self.assignment_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(DIRECT))
    }
}

/// The list of assignments (`GET /teams/{id}/assignments`: not paginated).
#[derive(Debug, Clone, Deserialize)]
pub struct Assignments {
    /// Every matching assignment.
    #[serde(default = "Vec::new")]
    pub data: Vec<Assignment>,
}

/// The answer to an assignment (201 new, 200 existing).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignAnswer {
    /// True once the team has used 80% or more of the pool's reassignment quota.
    #[serde(default)]
    pub reassignment_quota_nearing_limit: bool,
}

/// The body of Add Team User. UNCONFIRMED field names (`email`, `firstName`,
/// `lastName`); the names are sent only when known.
#[must_use]
pub fn add_user_body(email: &str, first_name: Option<&str>, last_name: Option<&str>) -> Value {
    let mut body = json!({ "email": email });
    if let Some(first) = first_name {
        body["firstName"] = json!(first);
    }
    if let Some(last) = last_name {
        body["lastName"] = json!(last);
    }
    body
}

/// The body of Assign Product: a direct assignment.
#[must_use]
pub fn assign_body(user_id: &str, product_id: &str) -> Value {
    json!({ "userId": user_id, "productId": product_id, "assignmentType": DIRECT })
}

/// The query of Unassign Product (no body): UNCONFIRMED parameter names.
#[must_use]
pub fn unassign_query(user_id: &str, product_id: &str) -> [(&'static str, String); 2] {
    [
        ("userId", user_id.to_owned()),
        ("productId", product_id.to_owned()),
    ]
}

/// The problem type of an exhausted reassignment quota.
pub const QUOTA_EXHAUSTED: &str = "reassignment-quota-exhausted";

/// The problem type of a bad parameter.
pub const INVALID_REQUEST: &str = "invalid-request";

/// An error answer, in either of the vendor's two shapes: RFC 9457 problem details
/// (`application/problem+json`: `type`, `title`, `detail`, `requestId`, `errors`,
/// and `data` for the quota) or the gateway's (`developerMessage`, `userMessage`,
/// `errorCode`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problem {
    /// The last part of the problem `type` URI (`reassignment-quota-exhausted`), or the
    /// gateway's `errorCode`.
    pub kind: String,
    /// What the server said, in its words.
    pub detail: String,
    /// The request id it gave, if any.
    pub request_id: Option<String>,
    /// For an exhausted quota: when it may be tried again.
    pub next_reset: Option<String>,
}

impl Problem {
    /// Reads an error body (either shape; anything else is kept as text).
    #[must_use]
    pub fn parse(body: &[u8]) -> Self {
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return Self {
                detail: String::from_utf8_lossy(body).chars().take(300).collect(),
                ..Self::default()
            };
        };
        let text = |name: &str| {
            value
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let kind = text("type")
            .map(|t| t.rsplit('/').next().unwrap_or_default().to_owned())
            .or_else(|| text("errorCode"))
            .unwrap_or_default();
        let mut detail = [
            "detail",
            "title",
            "developerMessage",
            "userMessage",
            "message",
        ]
        .iter()
        .find_map(|name| text(name))
        .unwrap_or_default();
        if let Some(errors) = value.get("errors").and_then(Value::as_array) {
            let fields: Vec<String> = errors
                .iter()
                .filter_map(|e| {
                    let field = e.get("field").and_then(Value::as_str).unwrap_or_default();
                    let said = e
                        .get("detail")
                        .or_else(|| e.get("title"))
                        .and_then(Value::as_str)?;
                    Some(if field.is_empty() {
                        said.to_owned()
                    } else {
                        format!("{field}: {said}")
                    })
                })
                .collect();
            if !fields.is_empty() {
                detail = format!("{detail} ({})", fields.join("; "));
            }
        }
        let next_reset = value
            .pointer("/data/nextQuotaResetDate")
            .or_else(|| value.get("nextQuotaResetDate"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        Self {
            kind,
            detail: detail.chars().take(300).collect(),
            request_id: text("requestId"),
            next_reset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_error_shapes_are_read() {
        let problem = Problem::parse(
            br#"{"type":"https://developer.api.autodesk.com/problems/reassignment-quota-exhausted","title":"Quota","status":422,"detail":"used up","requestId":"r-1","data":{"nextQuotaResetDate":"2026-12-09T00:00:00Z"}}"#,
        );
        assert_eq!(problem.kind, QUOTA_EXHAUSTED);
        assert_eq!(problem.detail, "used up");
        assert_eq!(problem.request_id.as_deref(), Some("r-1"));
        assert_eq!(problem.next_reset.as_deref(), Some("2026-12-09T00:00:00Z"));
        let gateway = Problem::parse(
            br#"{"developerMessage":"The token is not valid","userMessage":"","errorCode":"AUTH-001"}"#,
        );
        assert_eq!(gateway.kind, "AUTH-001");
        assert_eq!(gateway.detail, "The token is not valid");
        let validation = Problem::parse(
            br#"{"type":"https://developer.api.autodesk.com/problems/invalid-request","title":"Bad","errors":[{"field":"limit","detail":"must be 1-100"}]}"#,
        );
        assert_eq!(validation.kind, INVALID_REQUEST);
        assert_eq!(validation.detail, "Bad (limit: must be 1-100)");
        assert_eq!(Problem::parse(b"<html>").detail, "<html>");
    }

    #[test]
    fn only_direct_assignments_are_accords() {
        let row = |t: Option<&str>| Assignment {
            user_id: "u".into(),
            email: None,
            product_id: "p".into(),
            assignment_type: t.map(str::to_owned),
        };
        assert!(row(Some("DIRECT")).is_direct());
        assert!(row(Some("direct")).is_direct());
        assert!(!row(Some("GROUP")).is_direct());
        assert!(!row(Some("TEAM")).is_direct());
        assert!(!row(Some("SOMETHING_NEW")).is_direct());
    }

    #[test]
    fn the_last_page_has_no_next_cursor() {
        let page: Page<Team> = serde_json::from_str(
            r#"{"data":[{"id":"1","name":"A"}],"pagination":{"cursor":"c2","hasMore":true}}"#,
        )
        .unwrap();
        assert_eq!(page.next(), Some("c2"));
        let last: Page<Team> =
            serde_json::from_str(r#"{"data":[],"pagination":{"cursor":null,"hasMore":false}}"#)
                .unwrap();
        assert_eq!(last.next(), None);
    }
}
