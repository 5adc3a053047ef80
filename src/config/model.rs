//! The configuration as the user writes it: one struct per YAML mapping.
//!
//! These types are the single source of truth for `schemas/accord.schema.json`
//! (generated with schemars, see [`crate::config::schema`]). Every struct refuses
//! unknown keys, because a typo such as `frist_name` must never be silently ignored.
//!
//! A [`ConfigFile`] is what one file may hold: every section is optional, so a
//! configuration can be split across files. The merged configuration is the same
//! type; the loader checks that `account` is present once in all.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::state::{AccessLevel, ProjectAccess, ProjectProduct};

/// One configuration file, or all of them merged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "accord configuration",
    description = "One file of an accord configuration. Sections may be split across files; lists merge, `account` and `settings` appear once in all."
)]
pub struct ConfigFile {
    /// The account this configuration manages. Required once across all files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<Account>,
    /// How accord treats what the configuration does not declare.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Settings>,
    /// Companies members belong to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub companies: Vec<Company>,
    /// Job roles and the access levels they grant by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
    /// Named lists of members; `group:NAME` expands to them wherever members are listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Group>,
    /// The people in the account, keyed by email.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
    /// Subscription agreements and their seat, cloud-service and support assignments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agreements: Vec<Agreement>,
    /// Teams (named-user subscriptions, the portal's "User Management"): product pools and who holds their seats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<Team>,
    /// Projects and their members.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub projects: Vec<Project>,
}

/// The account: one per configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The account id; it must match the backend's.
    #[schemars(length(min = 1))]
    pub id: String,
    /// The account's display name.
    #[schemars(length(min = 1))]
    pub name: String,
}

/// Settings that govern what a plan may do.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Remove backend members absent from the configuration (default false).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prune: bool,
    /// The most members one plan may remove (R13, default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_removals: Option<u32>,
    /// Members who are never removed, deactivated or changed (R12); they need not be declared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protected: Vec<String>,
}

/// A company members belong to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Company {
    /// Unique company name (surrounding spaces are ignored).
    #[schemars(length(min = 1))]
    #[serde(deserialize_with = "trimmed")]
    pub name: String,
    /// The company's trade, such as "Architecture".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade: Option<String>,
    /// The company's previous name, to rename it: the plan renames the live company of that name instead of creating a new one (a no-op once it has the new name).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "trimmed_opt"
    )]
    pub renamed_from: Option<String>,
}

/// A job role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// Unique role name (surrounding spaces are ignored).
    #[schemars(length(min = 1))]
    #[serde(deserialize_with = "trimmed")]
    pub name: String,
    /// Access levels a member with this role gets when the member lists no `access`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_access: Vec<AccessLevel>,
    /// The role's previous name, to rename it: the plan renames the live role of that name instead of creating a new one (a no-op once it has the new name).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "trimmed_opt"
    )]
    pub renamed_from: Option<String>,
}

/// A named list of members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Unique group name, referred to as `group:NAME`.
    #[schemars(length(min = 1))]
    #[serde(deserialize_with = "trimmed")]
    pub name: String,
    /// Member emails (or `group:NAME` of another group).
    #[serde(default)]
    pub members: Vec<String>,
}

/// The status a configuration may ask for; `pending` is owned by the backend.
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
pub enum DesiredStatus {
    /// In the account and able to work (the default).
    #[default]
    Active,
    /// Kept in the account but holding nothing.
    Inactive,
}

/// A person in the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// The member's email: their key, compared case-insensitively after trimming.
    #[schemars(length(min = 1))]
    pub email: String,
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// The company the member belongs to (declared under `companies`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "trimmed_opt"
    )]
    pub company: Option<String>,
    /// The member's job role (declared under `roles`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "trimmed_opt"
    )]
    pub role: Option<String>,
    /// Account access levels; overrides the role's default. `[]` means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<Vec<AccessLevel>>,
    /// `active` (default) or `inactive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DesiredStatus>,
    /// Products held through another firm's subscription; they use no seat.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_subscriptions: Vec<String>,
}

/// A subscription agreement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    /// The contract number (quote it: it is text, not a number).
    #[schemars(length(min = 1))]
    #[serde(deserialize_with = "trimmed")]
    pub number: String,
    /// The agreement's name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// The member who manages the contract (R02).
    #[schemars(length(min = 1))]
    pub contract_manager: String,
    /// The member who coordinates the software (R03); the contract manager when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_coordinator: Option<String>,
    /// Products and who holds their seats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<Product>,
    /// Cloud services included in the subscription, and who may use each (R05).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cloud_services: Vec<CloudService>,
    /// Members with support benefits (R06).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub support: Vec<String>,
}

/// A product of an agreement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// The product's name, such as "AutoCAD".
    #[schemars(length(min = 1))]
    #[serde(deserialize_with = "trimmed")]
    pub name: String,
    /// Seats purchased; left out, the backend's count is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seats: Option<u32>,
    /// Members (or `group:NAME`) holding a seat (R04).
    #[serde(default)]
    pub assigned: Vec<String>,
}

/// A cloud service of an agreement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloudService {
    /// The service's name, such as "Cloud Rendering".
    #[schemars(length(min = 1))]
    #[serde(deserialize_with = "trimmed")]
    pub name: String,
    /// Members (or `group:NAME`) who may use it; at most 3 (R05).
    #[serde(default)]
    pub assigned: Vec<String>,
}

/// A team: a named-user subscription, managed in the portal's "User Management" (next to the classic `agreements`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Team {
    /// The vendor's team id, such as "100001" (`accord teams` lists them); quote it: it is text, not a number.
    #[schemars(length(min = 1))]
    pub id: String,
    /// The team's display name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// People on the team with no seat (emails or `group:NAME`); everyone on an `assigned` list is on the team too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// The team's product pools, and who holds a seat of each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<TeamProduct>,
}

/// A product pool of a team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamProduct {
    /// The product's name, such as "AutoCAD".
    #[schemars(length(min = 1))]
    #[serde(deserialize_with = "trimmed")]
    pub name: String,
    /// Seats in the team's pool; left out, the pool keeps its live size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seats: Option<u32>,
    /// Members (or `group:NAME`) assigned a seat directly; never more than `seats` (R04).
    #[serde(default)]
    pub assigned: Vec<String>,
}

/// A project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// Unique project name (surrounding spaces are ignored).
    #[schemars(length(min = 1))]
    #[serde(deserialize_with = "trimmed")]
    pub name: String,
    /// The project's previous name, to rename it: the plan renames the live project of that name (keeping its members and history) instead of creating a new one (a no-op once it has the new name).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "trimmed_opt"
    )]
    pub renamed_from: Option<String>,
    /// The project's members, by email or by group.
    #[serde(default)]
    pub members: Vec<ProjectMember>,
}

/// A project member entry: one person (`email`) or every member of a group (`group`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
// Exactly one of `email` / `group`: serde cannot say it, the schema can (and editors show it).
#[schemars(extend("oneOf" = [{ "required": ["email"] }, { "required": ["group"] }]))]
pub struct ProjectMember {
    /// The member's email. Give `email` or `group`, not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// A group whose members all get this entry. Give `email` or `group`, not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// `member` (default) or `admin`.
    #[serde(default)]
    pub access: ProjectAccess,
    /// Products the member uses on the project; `docs` is required (R08). Left out: `[docs]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub products: Option<Vec<ProjectProduct>>,
}

/// A name without its surrounding spaces (`"C1 "` is `C1`, as emails are trimmed).
fn trimmed<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let name = String::deserialize(deserializer)?;
    Ok(match name.trim() {
        trimmed if trimmed.len() == name.len() => name,
        trimmed => trimmed.to_owned(),
    })
}

/// [`trimmed`], for an optional name.
fn trimmed_opt<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let name = Option::<String>::deserialize(deserializer)?;
    Ok(name.map(|n| match n.trim() {
        trimmed if trimmed.len() == n.len() => n,
        trimmed => trimmed.to_owned(),
    }))
}
