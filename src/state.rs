//! The normalised account state: what a backend holds, and what a configuration asks for.
//!
//! Desired and current state are the same type so that export (state -> YAML) and
//! diff (current vs desired) are plain comparisons. Everything is normalised on the
//! way in: emails are trimmed and lower-cased ([`Email`]), sets are ordered sets, and
//! defaults (role access, "no coordinator means the contract manager", `[docs]`) are
//! already resolved. A desired state never holds backend-owned facts (pending status,
//! invitation dates, inherited team seats, pool dates); a current state always has
//! every product's seat count (a team pool's, unless the pool is unlimited).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use schemars::JsonSchema;

/// An account access level.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevel {
    /// Full administration of the account.
    AccountAdmin,
    /// Account dashboards only.
    Executive,
    /// Library and templates tools only.
    StandardsAdmin,
}

/// A project access level.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ProjectAccess {
    /// A project member (the default).
    #[default]
    Member,
    /// A project administrator.
    Admin,
}

/// A product used on a project.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ProjectProduct {
    /// Document management; every project member has it.
    Docs,
    /// Build.
    Build,
    /// Cost management.
    Cost,
    /// Insight.
    Insight,
    /// Design collaboration.
    DesignCollaboration,
    /// Model coordination.
    ModelCoordination,
    /// Takeoff.
    Takeoff,
}

/// An email address, trimmed and lower-cased: members are compared on this.
///
/// Shared, not copied: a member's address appears in every project, seat and team
/// that holds them (150,000 times in a 50,000-member account), and a clone is a
/// count, not an allocation.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(Arc<str>);

impl Email {
    /// Normalises `raw` (trim, lower-case). Syntax is checked by rule R01, not here.
    #[must_use]
    pub fn new(raw: &str) -> Self {
        let trimmed = raw.trim();
        // Most addresses are written normalised already: one allocation, not two.
        if trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
            Self(trimmed.to_ascii_lowercase().into())
        } else {
            Self(trimmed.into())
        }
    }

    /// The normalised address.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How long an invitation stays valid: 7 days, in seconds (DOMAIN.md).
pub const INVITATION_TTL_SECS: i64 = 7 * 24 * 60 * 60;

/// A member's status. `Active` and `Inactive` may be asked for; the others are the backend's.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// In the account, but with no access level and no project: not invited yet.
    NotInvited,
    /// Invited, has not accepted yet.
    Pending,
    /// Active (the default a configuration asks for).
    #[default]
    Active,
    /// Kept in the account, holding nothing.
    Inactive,
}

impl MemberStatus {
    /// Whether the member counts as "not inactive" for R07 and R10.
    #[must_use]
    pub fn is_inactive(self) -> bool {
        self == Self::Inactive
    }
}

/// The account's identity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// The account id (`acme-eu`).
    pub id: String,
    /// The display name.
    pub name: String,
}

/// A company.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyState {
    /// The company's trade.
    pub trade: Option<String>,
}

/// A role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleState {
    /// Access levels the role grants by default.
    pub default_access: BTreeSet<AccessLevel>,
}

/// A member of the account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberState {
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Company name.
    pub company: Option<String>,
    /// Role name.
    pub role: Option<String>,
    /// Effective account access levels (the role default already applied).
    pub access: BTreeSet<AccessLevel>,
    /// Status: desired states hold only `Active` or `Inactive`.
    pub status: MemberStatus,
    /// Products held through another firm's subscription.
    pub external_subscriptions: BTreeSet<String>,
    /// When the last invitation was sent (Unix seconds); owned by the backend.
    pub invited_at: Option<i64>,
    /// Whether the member has ever signed in; owned by the backend.
    pub signed_in: bool,
}

impl MemberState {
    /// Whether the member's invitation has expired at `now` (Unix seconds): still
    /// `pending`, never signed in, and invited more than 7 days ago. Such a member is
    /// drift the plan repairs with `member.resend_invite`.
    #[must_use]
    pub fn invitation_expired(&self, now: i64) -> bool {
        self.status == MemberStatus::Pending
            && !self.signed_in
            && invitation_expired(self.invited_at, now)
    }
}

/// Whether an invitation sent at `invited_at` has expired at `now`: strictly more
/// than 7 days have passed. The caller checks that the member is still pending.
#[must_use]
pub fn invitation_expired(invited_at: Option<i64>, now: i64) -> bool {
    invited_at.is_some_and(|at| at.saturating_add(INVITATION_TTL_SECS) < now)
}

/// A product of an agreement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductState {
    /// Seats purchased. `None` in a desired state means "not declared: keep the backend's".
    pub seats: Option<u32>,
    /// Members holding a seat.
    pub assigned: BTreeSet<Email>,
}

/// A subscription agreement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementState {
    /// The agreement's name.
    pub name: String,
    /// The contract manager.
    pub contract_manager: Email,
    /// The software coordinator (the contract manager when none was named).
    pub software_coordinator: Email,
    /// Products by name.
    pub products: BTreeMap<String, ProductState>,
    /// Cloud services by name, with who may use each.
    pub cloud_services: BTreeMap<String, BTreeSet<Email>>,
    /// Members with support benefits.
    pub support: BTreeSet<Email>,
}

impl AgreementState {
    /// The agreement's licences: the sum of the seats of its products (R06).
    #[must_use]
    pub fn licences(&self) -> u64 {
        self.products
            .values()
            .map(|p| u64::from(p.seats.unwrap_or(0)))
            .sum()
    }
}

/// A project member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectMemberState {
    /// `member` or `admin`.
    pub access: ProjectAccess,
    /// Products used on the project (always includes `docs`).
    pub products: BTreeSet<ProjectProduct>,
}

/// A project.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectState {
    /// Members by email.
    pub members: BTreeMap<Email, ProjectMemberState>,
}

/// A product pool of a team (named-user subscriptions, DOMAIN.md "Teams").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolState {
    /// Seats in the pool. Desired: `None` = not declared, keep the live size.
    /// Current: `None` only when `unlimited`.
    pub seats: Option<u32>,
    /// Current only: the pool has unlimited seats (`seats` is then `None`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unlimited: bool,
    /// Current only: when the pool starts (Unix seconds), if the backend says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts: Option<i64>,
    /// Current only: when the pool ends (Unix seconds), if the backend says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends: Option<i64>,
    /// Direct assignments (desired: the `assigned` list).
    pub direct: BTreeSet<Email>,
    /// Current only: users holding the product by inheritance (a group or the
    /// whole team, set in the vendor's portal); never changed by accord.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub inherited: BTreeSet<Email>,
}

impl PoolState {
    /// Whether the pool is current at `now` (Unix seconds): `starts <= now < ends`,
    /// a bound the backend does not give being open (R14).
    #[must_use]
    pub fn is_current(&self, now: i64) -> bool {
        is_current(self.starts, self.ends, now)
    }
}

/// Whether a pool from `starts` to `ends` (Unix seconds; a bound not given is open)
/// is current at `now`: `starts <= now < ends` (R14).
#[must_use]
pub fn is_current(starts: Option<i64>, ends: Option<i64>, now: i64) -> bool {
    starts.is_none_or(|starts| starts <= now) && ends.is_none_or(|ends| now < ends)
}

/// A team: a named-user subscription with a product pool per product.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamState {
    /// The team's display name.
    pub name: String,
    /// The team's users: everyone on its `members` and `assigned` lists (desired);
    /// everyone on the team (current).
    pub users: BTreeSet<Email>,
    /// Product pools by product name.
    pub pools: BTreeMap<String, PoolState>,
}

/// The whole account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The account's identity.
    pub account: AccountInfo,
    /// Companies by name.
    pub companies: BTreeMap<String, CompanyState>,
    /// Roles by name.
    pub roles: BTreeMap<String, RoleState>,
    /// Members by email.
    pub members: BTreeMap<Email, MemberState>,
    /// Agreements by contract number.
    pub agreements: BTreeMap<String, AgreementState>,
    /// Projects by name.
    pub projects: BTreeMap<String, ProjectState>,
    /// Teams by the vendor's team id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub teams: BTreeMap<String, TeamState>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_is_trimmed_and_lower_cased_and_its_clones_share_it() {
        assert_eq!(
            Email::new("  Dana.Berg@Acme.Example\t").as_str(),
            "dana.berg@acme.example"
        );
        assert_eq!(
            Email::new("dana@acme.example").as_str(),
            "dana@acme.example"
        );
        assert_eq!(
            Email::new(" dana@acme.example "),
            Email::new("DANA@acme.example")
        );
        let email = Email::new("dana@acme.example");
        assert!(
            Arc::ptr_eq(&email.0, &email.clone().0),
            "a clone is not a copy"
        );
        let json = serde_json::to_string(&email).expect("serialises");
        assert_eq!(json, "\"dana@acme.example\"");
        assert_eq!(
            serde_json::from_str::<Email>(&json).expect("reads back"),
            email
        );
    }

    #[test]
    fn a_pool_is_current_from_its_start_until_before_its_end() {
        let pool = |starts, ends| PoolState {
            starts,
            ends,
            ..PoolState::default()
        };
        let bounded = pool(Some(100), Some(200));
        assert!(!bounded.is_current(99));
        assert!(bounded.is_current(100), "the start is included");
        assert!(bounded.is_current(199));
        assert!(!bounded.is_current(200), "the end is excluded");
        assert!(
            pool(None, None).is_current(i64::MIN),
            "no bounds: always current"
        );
        assert!(pool(None, Some(200)).is_current(-5));
        assert!(!pool(None, Some(200)).is_current(200));
        assert!(pool(Some(100), None).is_current(i64::MAX));
        assert!(!pool(Some(100), None).is_current(99));
    }

    #[test]
    fn a_state_without_teams_serialises_as_before() {
        let state = State::default();
        let json = serde_json::to_value(&state).expect("JSON");
        assert!(json.get("teams").is_none(), "{json}");
        let back: State = serde_json::from_value(json).expect("reads back without `teams`");
        assert_eq!(back, state);
        let pool = PoolState {
            seats: Some(10),
            ..PoolState::default()
        };
        assert_eq!(
            serde_json::to_value(&pool).expect("JSON"),
            serde_json::json!({ "seats": 10, "direct": [] }),
            "current-only facts are left out when unset"
        );
    }
}
