//! The JSON the account service and the `http` backend exchange: one definition for
//! both sides, so the client can never read a field the server does not write.
//!
//! The account is served as flat, paginated collections (members, seats, project
//! members, ...) rather than one nested document: a 50,000-member account is read
//! in pages of at most [`MAX_PAGE_SIZE`] rows, fetched concurrently, each page from
//! the same revision (`?revision=R`). `schemas/openapi.yaml` describes the same
//! shapes for other clients.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

pub mod status;

use crate::contract::{Capabilities, Lease, Op, Outcome};
use crate::state::{AccessLevel, Email, MemberState, MemberStatus, ProjectAccess, ProjectProduct};

/// The call family of every request to the service: its budget, when it declares
/// one, is declared under this name.
pub const FAMILY: &str = "service";

/// The most rows one page holds (`limit` above it is refused).
pub const MAX_PAGE_SIZE: usize = 200;

/// The rows a page holds when the request does not say.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// The header carrying a write's idempotency key.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The header a replayed answer carries (`true`): the write was not done again.
pub const REPLAYED: &str = "idempotent-replayed";

/// Every error the service answers: `{code, message, details}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable, machine-readable code (`unauthorized`, `stale`, `rate_limited`).
    pub code: String,
    /// What went wrong and what to do, for a person.
    pub message: String,
    /// Structured facts (the revisions of a 412, the lock holder of a 409...).
    #[serde(default)]
    pub details: serde_json::Value,
}

/// `GET /v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// accord's version.
    pub version: String,
}

/// `GET /v1/capabilities`: what the service manages and how it wants to be called.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceInfo {
    /// The store's capabilities, with the service's rate limit per token.
    #[serde(flatten)]
    pub capabilities: Capabilities,
    /// The most rows a page holds.
    pub max_page_size: usize,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// accord's version on the service.
    pub version: String,
}

/// `GET /v1/account`: the account's identity, revision and the service's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    /// The account id; empty while the store is fresh.
    pub id: String,
    /// The display name; empty while the store is fresh.
    pub name: String,
    /// The account's revision (also the `ETag`).
    pub revision: u64,
    /// The service's clock (Unix seconds), for invitation expiry.
    pub now: i64,
}

/// `PUT /v1/account`: give a fresh store its account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRequest {
    /// The account id.
    pub id: String,
    /// The display name.
    pub name: String,
}

/// One page of a collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Rows in the whole collection.
    pub total: usize,
    /// The page size asked for.
    pub limit: usize,
    /// The index of the first row of this page.
    pub offset: usize,
    /// The revision the page was read at.
    pub revision: u64,
}

/// A company row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyItem {
    /// Name.
    pub name: String,
    /// Trade.
    #[serde(default)]
    pub trade: Option<String>,
}

/// A role row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleItem {
    /// Name.
    pub name: String,
    /// Access levels the role grants by default.
    #[serde(default)]
    pub default_access: BTreeSet<AccessLevel>,
}

/// A member row: the email and the whole record, backend-owned facts included.
///
/// The fields are [`MemberState`]'s, spelled out rather than `#[serde(flatten)]`ed:
/// flattening makes serde buffer every row, and members are most of a large fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberItem {
    /// Email (trimmed, lower-case).
    pub email: Email,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Company name.
    pub company: Option<String>,
    /// Role name.
    pub role: Option<String>,
    /// Effective access levels.
    pub access: BTreeSet<AccessLevel>,
    /// Status.
    pub status: MemberStatus,
    /// Products held through another firm's subscription.
    pub external_subscriptions: BTreeSet<String>,
    /// When the last invitation was sent (Unix seconds).
    pub invited_at: Option<i64>,
    /// Whether the member ever signed in.
    pub signed_in: bool,
}

impl MemberItem {
    /// The row of `email`'s record.
    #[must_use]
    pub fn new(email: Email, member: MemberState) -> Self {
        Self {
            email,
            first_name: member.first_name,
            last_name: member.last_name,
            company: member.company,
            role: member.role,
            access: member.access,
            status: member.status,
            external_subscriptions: member.external_subscriptions,
            invited_at: member.invited_at,
            signed_in: member.signed_in,
        }
    }

    /// The email and the record.
    #[must_use]
    pub fn into_parts(self) -> (Email, MemberState) {
        let member = MemberState {
            first_name: self.first_name,
            last_name: self.last_name,
            company: self.company,
            role: self.role,
            access: self.access,
            status: self.status,
            external_subscriptions: self.external_subscriptions,
            invited_at: self.invited_at,
            signed_in: self.signed_in,
        };
        (self.email, member)
    }
}

/// A product of an agreement, with its licence count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductItem {
    /// Product name.
    pub name: String,
    /// Seats purchased.
    pub seats: u32,
}

/// An agreement row; its assignments are in `seats`, `cloud-services` and `support`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementItem {
    /// Contract number.
    pub number: String,
    /// Name.
    pub name: String,
    /// Contract manager.
    pub contract_manager: Email,
    /// Software coordinator.
    pub software_coordinator: Email,
    /// Products and their licence counts.
    #[serde(default)]
    pub products: Vec<ProductItem>,
    /// The agreement's cloud services (also those nobody uses now).
    #[serde(default)]
    pub cloud_services: Vec<String>,
}

/// A seat held: `NUMBER/PRODUCT/email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatItem {
    /// Contract number.
    pub agreement: String,
    /// Product.
    pub product: String,
    /// Holder.
    pub email: Email,
}

/// A cloud service a member may use: `NUMBER/SERVICE/email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudServiceItem {
    /// Contract number.
    pub agreement: String,
    /// Service.
    pub service: String,
    /// User.
    pub email: Email,
}

/// Support benefits held: `NUMBER/email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportItem {
    /// Contract number.
    pub agreement: String,
    /// Holder.
    pub email: Email,
}

/// A project row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectItem {
    /// Name.
    pub name: String,
    /// How many members it has (they are in `project-members`).
    pub members: usize,
}

/// A project membership: `PROJECT/email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectMemberItem {
    /// Project name.
    pub project: String,
    /// Member.
    pub email: Email,
    /// `member` or `admin`.
    pub access: ProjectAccess,
    /// Products used on the project.
    pub products: BTreeSet<ProjectProduct>,
}

/// A team (`GET /v1/teams`): its users and its pools with their direct and
/// inherited seats, in one row (a team is read in one page of rows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamItem {
    /// The team's id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Everyone on the team.
    pub users: BTreeSet<Email>,
    /// Pools by product.
    pub pools: Vec<TeamPoolItem>,
}

/// A team's product pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamPoolItem {
    /// The product.
    pub product: String,
    /// Seats in the pool.
    pub seats: u32,
    /// Direct seats.
    pub direct: BTreeSet<Email>,
    /// Seats held through a group or the whole team.
    #[serde(default)]
    pub inherited: BTreeSet<Email>,
}

/// `POST /v1/operations`: one batch, carried out in one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRequest {
    /// The operations, in order (at most the bulk limit).
    pub operations: Vec<Op>,
}

/// The answer to a batch: one outcome per operation, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResponse {
    /// The account's revision after the batch.
    pub revision: u64,
    /// One outcome per operation.
    pub outcomes: Vec<Outcome>,
}

/// The answer of a single write (`PUT /v1/account`, accept-invitation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeResponse {
    /// The account's revision after the write.
    pub revision: u64,
    /// What happened.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// `POST /v1/lock`: take the apply lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRequest {
    /// Who is applying (`alice@ci-3 pid 42`), shown to whoever has to wait.
    pub holder: String,
    /// How long the lease lasts unless renewed.
    pub ttl_secs: u64,
}

/// `POST /v1/lock/renew` and `POST /v1/lock/release`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRequest {
    /// The lease as last granted.
    pub lease: Lease,
}

/// `POST /v1/applied`: an apply converged with the account at `revision`. Nothing
/// else: `schemas/openapi.yaml` says `additionalProperties: false`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliedRequest {
    /// The revision the apply's verification read.
    pub revision: u64,
}

/// The answer to `POST /v1/applied`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedResponse {
    /// Whether it was recorded (`false`: the account moved on, or it was already).
    pub recorded: bool,
}

/// One entry of the audit log: a change to the account, who made it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the log (1 is the oldest).
    pub seq: u64,
    /// The revision the change produced.
    pub revision: u64,
    /// The operation (`member.invite`; `account.create`, `member.accept_invitation`).
    pub op: String,
    /// Its target (`NUMBER/PRODUCT/email`).
    pub target: String,
    /// When (Unix seconds, the service's clock).
    pub at: i64,
    /// The name of the token that made it (`null` for changes made outside the service).
    pub actor: Option<String>,
    /// On the last entry of a revision that moved seats: each product's seats used and
    /// total after it, for the products whose numbers moved (`accord report seats`
    /// charts them). Left out when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seats: Vec<crate::contract::SeatCount>,
}
