//! The operations a plan is made of: one per change, in the vocabulary of DOMAIN.md's
//! "Operations" table.
//!
//! An [`Op`] carries everything a backend needs to carry it out (so a saved plan can
//! be applied later without the configuration), and knows its kind (`member.invite`)
//! and its target string (`NUMBER/PRODUCT/email`). An [`Operation`] wraps it with what
//! the plan adds: the batch that carries it, why it is there (provenance), the field
//! changes for updates, and the consequences of a removal or deactivation.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::state::{AccessLevel, Email, MemberStatus, ProjectAccess, ProjectProduct};

/// A member's record as an invite or update sets it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRecord {
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Company name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Role name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Effective access levels.
    #[serde(default)]
    pub access: BTreeSet<AccessLevel>,
    /// Products held through another firm's subscription.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub external_subscriptions: BTreeSet<String>,
}

/// One change to the account, with the data needed to carry it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op")]
pub enum Op {
    /// Create a company.
    #[serde(rename = "company.create")]
    CompanyCreate {
        /// Company name.
        name: String,
        /// Trade.
        trade: Option<String>,
    },
    /// Change a company's trade.
    #[serde(rename = "company.update")]
    CompanyUpdate {
        /// Company name.
        name: String,
        /// New trade.
        trade: Option<String>,
    },
    /// Create a role.
    #[serde(rename = "role.create")]
    RoleCreate {
        /// Role name.
        name: String,
        /// Default access levels.
        default_access: BTreeSet<AccessLevel>,
    },
    /// Change a role's default access.
    #[serde(rename = "role.update")]
    RoleUpdate {
        /// Role name.
        name: String,
        /// New default access levels.
        default_access: BTreeSet<AccessLevel>,
    },
    /// Create an agreement with its contract manager, coordinator and licence counts.
    #[serde(rename = "agreement.create")]
    AgreementCreate {
        /// Contract number.
        number: String,
        /// Name.
        name: String,
        /// Contract manager.
        contract_manager: Email,
        /// Software coordinator.
        software_coordinator: Email,
        /// Seats purchased per product.
        seats: BTreeMap<String, u32>,
    },
    /// Rename an agreement and/or change licence counts (only the products listed).
    #[serde(rename = "agreement.update")]
    AgreementUpdate {
        /// Contract number.
        number: String,
        /// New name, when it changes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// New seat counts of the products whose count changes.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        seats: BTreeMap<String, u32>,
    },
    /// Add a member to the account (sends the invitation when they have access or a project).
    #[serde(rename = "member.invite")]
    MemberInvite {
        /// Email.
        email: Email,
        /// The record.
        record: MemberRecord,
    },
    /// Change a member's record (company, role, names, access, external subscriptions).
    #[serde(rename = "member.update")]
    MemberUpdate {
        /// Email.
        email: Email,
        /// The whole new record.
        record: MemberRecord,
    },
    /// Make an inactive member active again.
    #[serde(rename = "member.activate")]
    MemberActivate {
        /// Email.
        email: Email,
    },
    /// Deactivate a member: frees everything they hold, keeps the member.
    #[serde(rename = "member.deactivate")]
    MemberDeactivate {
        /// Email.
        email: Email,
    },
    /// Remove a member from the account: frees everything, leaves every project.
    #[serde(rename = "member.remove")]
    MemberRemove {
        /// Email.
        email: Email,
    },
    /// Send an expired invitation again.
    #[serde(rename = "member.resend_invite")]
    MemberResendInvite {
        /// Email.
        email: Email,
    },
    /// Make `to` the agreement's contract manager.
    #[serde(rename = "agreement.set_contract_manager")]
    SetContractManager {
        /// Contract number.
        number: String,
        /// New holder.
        to: Email,
    },
    /// Make `to` the agreement's software coordinator.
    #[serde(rename = "agreement.set_software_coordinator")]
    SetSoftwareCoordinator {
        /// Contract number.
        number: String,
        /// New holder.
        to: Email,
    },
    /// Give a member a seat of a product.
    #[serde(rename = "seat.assign")]
    SeatAssign {
        /// Contract number.
        number: String,
        /// Product.
        product: String,
        /// Member.
        email: Email,
    },
    /// Take a member's seat of a product back.
    #[serde(rename = "seat.unassign")]
    SeatUnassign {
        /// Contract number.
        number: String,
        /// Product.
        product: String,
        /// Member.
        email: Email,
    },
    /// Let a member use a cloud service.
    #[serde(rename = "cloud_service.assign")]
    CloudServiceAssign {
        /// Contract number.
        number: String,
        /// Service.
        service: String,
        /// Member.
        email: Email,
    },
    /// Stop a member using a cloud service.
    #[serde(rename = "cloud_service.unassign")]
    CloudServiceUnassign {
        /// Contract number.
        number: String,
        /// Service.
        service: String,
        /// Member.
        email: Email,
    },
    /// Give a member support benefits.
    #[serde(rename = "support.assign")]
    SupportAssign {
        /// Contract number.
        number: String,
        /// Member.
        email: Email,
    },
    /// Take a member's support benefits back.
    #[serde(rename = "support.unassign")]
    SupportUnassign {
        /// Contract number.
        number: String,
        /// Member.
        email: Email,
    },
    /// Create a project.
    #[serde(rename = "project.create")]
    ProjectCreate {
        /// Project name.
        name: String,
    },
    /// Add a member to a project.
    #[serde(rename = "project_member.add")]
    ProjectMemberAdd {
        /// Project name.
        project: String,
        /// Member.
        email: Email,
        /// Project access.
        access: ProjectAccess,
        /// Products (includes docs).
        products: BTreeSet<ProjectProduct>,
    },
    /// Change a project member's access or products.
    #[serde(rename = "project_member.update")]
    ProjectMemberUpdate {
        /// Project name.
        project: String,
        /// Member.
        email: Email,
        /// Project access.
        access: ProjectAccess,
        /// Products (includes docs).
        products: BTreeSet<ProjectProduct>,
    },
    /// Remove a member from a project.
    #[serde(rename = "project_member.remove")]
    ProjectMemberRemove {
        /// Project name.
        project: String,
        /// Member.
        email: Email,
    },
}

impl Op {
    /// The operation's name as DOMAIN.md writes it (`member.invite`).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::CompanyCreate { .. } => "company.create",
            Self::CompanyUpdate { .. } => "company.update",
            Self::RoleCreate { .. } => "role.create",
            Self::RoleUpdate { .. } => "role.update",
            Self::AgreementCreate { .. } => "agreement.create",
            Self::AgreementUpdate { .. } => "agreement.update",
            Self::MemberInvite { .. } => "member.invite",
            Self::MemberUpdate { .. } => "member.update",
            Self::MemberActivate { .. } => "member.activate",
            Self::MemberDeactivate { .. } => "member.deactivate",
            Self::MemberRemove { .. } => "member.remove",
            Self::MemberResendInvite { .. } => "member.resend_invite",
            Self::SetContractManager { .. } => "agreement.set_contract_manager",
            Self::SetSoftwareCoordinator { .. } => "agreement.set_software_coordinator",
            Self::SeatAssign { .. } => "seat.assign",
            Self::SeatUnassign { .. } => "seat.unassign",
            Self::CloudServiceAssign { .. } => "cloud_service.assign",
            Self::CloudServiceUnassign { .. } => "cloud_service.unassign",
            Self::SupportAssign { .. } => "support.assign",
            Self::SupportUnassign { .. } => "support.unassign",
            Self::ProjectCreate { .. } => "project.create",
            Self::ProjectMemberAdd { .. } => "project_member.add",
            Self::ProjectMemberUpdate { .. } => "project_member.update",
            Self::ProjectMemberRemove { .. } => "project_member.remove",
        }
    }

    /// The target string of DOMAIN.md's "Operations" table.
    #[must_use]
    pub fn target(&self) -> String {
        match self {
            Self::CompanyCreate { name, .. }
            | Self::CompanyUpdate { name, .. }
            | Self::RoleCreate { name, .. }
            | Self::RoleUpdate { name, .. }
            | Self::ProjectCreate { name } => name.clone(),
            Self::AgreementCreate { number, .. }
            | Self::AgreementUpdate { number, .. }
            | Self::SetContractManager { number, .. }
            | Self::SetSoftwareCoordinator { number, .. } => number.clone(),
            Self::MemberInvite { email, .. }
            | Self::MemberUpdate { email, .. }
            | Self::MemberActivate { email }
            | Self::MemberDeactivate { email }
            | Self::MemberRemove { email }
            | Self::MemberResendInvite { email } => email.to_string(),
            Self::SeatAssign {
                number,
                product,
                email,
            }
            | Self::SeatUnassign {
                number,
                product,
                email,
            } => format!("{number}/{product}/{email}"),
            Self::CloudServiceAssign {
                number,
                service,
                email,
            }
            | Self::CloudServiceUnassign {
                number,
                service,
                email,
            } => format!("{number}/{service}/{email}"),
            Self::SupportAssign { number, email } | Self::SupportUnassign { number, email } => {
                format!("{number}/{email}")
            }
            Self::ProjectMemberAdd { project, email, .. }
            | Self::ProjectMemberUpdate { project, email, .. }
            | Self::ProjectMemberRemove { project, email } => format!("{project}/{email}"),
        }
    }

    /// Whether this operation removes or deactivates a member (it has consequences).
    #[must_use]
    pub fn is_member_exit(&self) -> bool {
        matches!(
            self,
            Self::MemberRemove { .. } | Self::MemberDeactivate { .. }
        )
    }
}

/// How an operation counts in a plan's summary, and the sign it is shown with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Something is created or given (`+`).
    Add,
    /// Something existing changes (`~`); deactivations and re-sent invitations count here.
    Change,
    /// Something is taken away (`-`).
    Remove,
}

impl Action {
    /// The sign the text and markdown renderings use.
    #[must_use]
    pub fn sign(self) -> char {
        match self {
            Self::Add => '+',
            Self::Change => '~',
            Self::Remove => '-',
        }
    }
}

/// The kind of object an operation belongs to: plans are shown grouped by object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// A company.
    Company,
    /// A role.
    Role,
    /// A member of the account.
    Member,
    /// An agreement, with its seats, cloud services, support and role holders.
    Agreement,
    /// A project, with its members.
    Project,
}

impl ObjectKind {
    /// The word renderings use (`member`).
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            Self::Company => "company",
            Self::Role => "role",
            Self::Member => "member",
            Self::Agreement => "agreement",
            Self::Project => "project",
        }
    }

    /// The plural, for section headings (`members`).
    #[must_use]
    pub fn plural(self) -> &'static str {
        match self {
            Self::Company => "companies",
            Self::Role => "roles",
            Self::Member => "members",
            Self::Agreement => "agreements",
            Self::Project => "projects",
        }
    }
}

impl Op {
    /// Whether the operation adds, changes or removes something.
    #[must_use]
    pub fn action(&self) -> Action {
        match self {
            Self::CompanyCreate { .. }
            | Self::RoleCreate { .. }
            | Self::AgreementCreate { .. }
            | Self::MemberInvite { .. }
            | Self::SeatAssign { .. }
            | Self::CloudServiceAssign { .. }
            | Self::SupportAssign { .. }
            | Self::ProjectCreate { .. }
            | Self::ProjectMemberAdd { .. } => Action::Add,
            Self::CompanyUpdate { .. }
            | Self::RoleUpdate { .. }
            | Self::AgreementUpdate { .. }
            | Self::MemberUpdate { .. }
            | Self::MemberActivate { .. }
            | Self::MemberDeactivate { .. }
            | Self::MemberResendInvite { .. }
            | Self::SetContractManager { .. }
            | Self::SetSoftwareCoordinator { .. }
            | Self::ProjectMemberUpdate { .. } => Action::Change,
            Self::MemberRemove { .. }
            | Self::SeatUnassign { .. }
            | Self::CloudServiceUnassign { .. }
            | Self::SupportUnassign { .. }
            | Self::ProjectMemberRemove { .. } => Action::Remove,
        }
    }

    /// The object the operation belongs to, and its key (name, email or number):
    /// a seat belongs to its agreement, a project member to its project.
    #[must_use]
    pub fn object(&self) -> (ObjectKind, &str) {
        match self {
            Self::CompanyCreate { name, .. } | Self::CompanyUpdate { name, .. } => {
                (ObjectKind::Company, name)
            }
            Self::RoleCreate { name, .. } | Self::RoleUpdate { name, .. } => {
                (ObjectKind::Role, name)
            }
            Self::MemberInvite { email, .. }
            | Self::MemberUpdate { email, .. }
            | Self::MemberActivate { email }
            | Self::MemberDeactivate { email }
            | Self::MemberRemove { email }
            | Self::MemberResendInvite { email } => (ObjectKind::Member, email.as_str()),
            Self::AgreementCreate { number, .. }
            | Self::AgreementUpdate { number, .. }
            | Self::SetContractManager { number, .. }
            | Self::SetSoftwareCoordinator { number, .. }
            | Self::SeatAssign { number, .. }
            | Self::SeatUnassign { number, .. }
            | Self::CloudServiceAssign { number, .. }
            | Self::CloudServiceUnassign { number, .. }
            | Self::SupportAssign { number, .. }
            | Self::SupportUnassign { number, .. } => (ObjectKind::Agreement, number),
            Self::ProjectCreate { name } => (ObjectKind::Project, name),
            Self::ProjectMemberAdd { project, .. }
            | Self::ProjectMemberUpdate { project, .. }
            | Self::ProjectMemberRemove { project, .. } => (ObjectKind::Project, project),
        }
    }
}

/// Why an operation is in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Provenance(pub String);

impl Provenance {
    /// Text for an operation caused by pruning an undeclared member.
    pub const NOT_DECLARED: &'static str = "not declared";
    /// Text for a re-sent invitation.
    pub const INVITATION_EXPIRED: &'static str = "drift: invitation expired";
    /// Text for a declaration whose place in the files is not known (a desired state
    /// built in code rather than loaded from files).
    pub const UNLOCATED: &'static str = "declared in the configuration";

    /// The provenance text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One field an update changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The field (`company`, `access`, `seats.AutoCAD`...).
    pub field: String,
    /// Its value now (as text; `null` when unset).
    pub from: String,
    /// Its value after the change.
    pub to: String,
}

/// An operation in a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// What to do, with its data (flattened: `op` plus the fields).
    #[serde(flatten)]
    pub op: Op,
    /// The target string (derived from `op`; kept in the JSON for readers).
    pub target: String,
    /// Index of the backend call (batch) that carries it.
    pub batch: usize,
    /// `file:line` of the declaration that causes it, `not declared`, or `drift: invitation expired`.
    pub provenance: Provenance,
    /// For updates: the fields that change, old -> new.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    /// For removals and deactivations: what they free (`seat.unassign 1100/AutoCAD/x@y`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consequences: Vec<String>,
}

impl Operation {
    /// An operation with no field changes or consequences yet; the batch is set when
    /// the plan is ordered.
    #[must_use]
    pub fn new(op: Op, provenance: Provenance) -> Self {
        Self {
            target: op.target(),
            op,
            batch: 0,
            provenance,
            changes: Vec::new(),
            consequences: Vec::new(),
        }
    }
}

/// The statuses a member can be moved between by a plan (for renderers).
#[must_use]
pub fn status_word(status: MemberStatus) -> &'static str {
    match status {
        MemberStatus::NotInvited => "not_invited",
        MemberStatus::Pending => "pending",
        MemberStatus::Active => "active",
        MemberStatus::Inactive => "inactive",
    }
}

/// A value as the word its JSON uses (`account_admin`, `admin`): field changes and
/// renderings show values this way.
#[must_use]
pub fn word<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// A set as `[a, b]`, each item as its [`word`].
#[must_use]
pub fn words<'v, T: Serialize + 'v>(items: impl IntoIterator<Item = &'v T>) -> String {
    let items: Vec<String> = items.into_iter().map(word).collect();
    format!("[{}]", items.join(", "))
}
