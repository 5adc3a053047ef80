//! The operation vocabulary: one [`Op`] per change, in the words of DOMAIN.md's
//! "Operations" table, and its [`OpKind`].
//!
//! Every fact about a kind of operation is written once, in the table the
//! `operations!` macro below expands: its name (`member.invite`, used by serde, by
//! `Display`, by capability sets and checked against `schemas/plan.schema.json` by a
//! test), its position in plan order, whether it adds, changes or removes, the object
//! it belongs to, the section of the account it touches, and whether sending it twice
//! is harmless. An [`Op`] carries everything a backend needs to carry it out, so a
//! saved plan can be applied without the configuration.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::state::{AccessLevel, Email, ProjectAccess, ProjectProduct};

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
    /// A named-user team, with its users and seats.
    Team,
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
            Self::Team => "team",
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
            Self::Team => "teams",
        }
    }
}

/// A part of the account a backend may or may not manage. Every operation kind
/// belongs to one ([`OpKind::section`]); a backend manages a section when it carries
/// out at least one kind of it (see [`super::Capabilities::manages`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// Companies (create, trade).
    Companies,
    /// Roles and their default access levels.
    Roles,
    /// Members: invitation, names, company, role, status, access levels.
    Members,
    /// Agreements: creation, names, licence counts, contract managers, coordinators.
    Agreements,
    /// Product seat assignments of agreements.
    Seats,
    /// Cloud-service assignments.
    CloudServices,
    /// Support benefits.
    Support,
    /// Projects.
    Projects,
    /// Project members, their project access level and products.
    ProjectMembers,
    /// Named-user teams: creation, names, pool sizes.
    Teams,
    /// The users of a team.
    TeamMembers,
    /// Direct seat assignments of a team's pools.
    TeamSeats,
}

impl Section {
    /// Every section.
    pub const ALL: [Self; 12] = [
        Self::Companies,
        Self::Roles,
        Self::Members,
        Self::Agreements,
        Self::Seats,
        Self::CloudServices,
        Self::Support,
        Self::Projects,
        Self::ProjectMembers,
        Self::Teams,
        Self::TeamMembers,
        Self::TeamSeats,
    ];

    /// The sections of named-user teams (the team, its users, its seats).
    pub const TEAMS: [Self; 3] = [Self::Teams, Self::TeamMembers, Self::TeamSeats];

    /// Whether the section is one of a team's.
    #[must_use]
    pub fn is_team(self) -> bool {
        Self::TEAMS.contains(&self)
    }

    /// The word messages use (`project members`).
    #[must_use]
    pub fn words(self) -> &'static str {
        match self {
            Self::Companies => "companies",
            Self::Roles => "roles",
            Self::Members => "members",
            Self::Agreements => "agreements",
            Self::Seats => "seats",
            Self::CloudServices => "cloud services",
            Self::Support => "support benefits",
            Self::Projects => "projects",
            Self::ProjectMembers => "project members",
            Self::Teams => "teams",
            Self::TeamMembers => "team users",
            Self::TeamSeats => "team seats",
        }
    }
}

/// Declares [`Op`] and [`OpKind`] from one table, so that a kind's name and facts
/// are written once. Each row: the variant's docs, `Variant = "name"`, then
/// `(action, object, section, idempotent)`, then the fields.
macro_rules! operations {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $name:literal ($action:ident, $object:ident, $section:ident, $idempotent:literal) {
            $( $(#[$field_meta:meta])* $field:ident : $ty:ty ),* $(,)?
        }
    )*) => {
        /// One change to the account, with the data needed to carry it out. Its
        /// JSON is tagged by `op`, the kind's name.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "op")]
        pub enum Op {
            $(
                $(#[$doc])*
                #[serde(rename = $name)]
                $variant { $( $(#[$field_meta])* $field: $ty ),* },
            )*
        }

        /// The kind of an operation: the one source of operation names.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum OpKind {
            $(
                $(#[$doc])*
                #[serde(rename = $name)]
                $variant,
            )*
        }

        impl OpKind {
            /// Every kind, in DOMAIN.md's plan order.
            pub const ALL: &'static [OpKind] = &[$(OpKind::$variant),*];

            /// The kind's name as DOMAIN.md writes it (`member.invite`).
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self { $(Self::$variant => $name,)* }
            }

            /// Whether the kind adds, changes or removes something.
            #[must_use]
            pub const fn action(self) -> Action {
                match self { $(Self::$variant => Action::$action,)* }
            }

            /// The kind of object its operations belong to.
            #[must_use]
            pub const fn object(self) -> ObjectKind {
                match self { $(Self::$variant => ObjectKind::$object,)* }
            }

            /// The section of the account it changes.
            #[must_use]
            pub const fn section(self) -> Section {
                match self { $(Self::$variant => Section::$section,)* }
            }

            /// Whether carrying an operation of this kind out twice leaves the account
            /// as once (the second answers `already_so`), so a call whose answer was
            /// lost may be sent again. Only a re-sent invitation is not: it e-mails
            /// the person each time.
            #[must_use]
            pub const fn is_idempotent(self) -> bool {
                match self { $(Self::$variant => $idempotent,)* }
            }
        }

        impl Op {
            /// The operation's kind.
            #[must_use]
            pub const fn kind(&self) -> OpKind {
                match self { $(Self::$variant { .. } => OpKind::$variant,)* }
            }
        }
    };
}

operations! {
    /// Create a company.
    CompanyCreate = "company.create" (Add, Company, Companies, true) {
        /// Company name.
        name: String,
        /// Trade.
        trade: Option<String>,
    }
    /// Change a company's trade, and rename it (`from`: the live name).
    CompanyUpdate = "company.update" (Change, Company, Companies, true) {
        /// Company name (the new one, for a rename).
        name: String,
        /// New trade.
        trade: Option<String>,
        /// For a rename (`renamed_from`): the live company's name now.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
    }
    /// Create a role.
    RoleCreate = "role.create" (Add, Role, Roles, true) {
        /// Role name.
        name: String,
        /// Default access levels.
        default_access: BTreeSet<AccessLevel>,
    }
    /// Change a role's default access, and rename it (`from`: the live name).
    RoleUpdate = "role.update" (Change, Role, Roles, true) {
        /// Role name (the new one, for a rename).
        name: String,
        /// New default access levels.
        default_access: BTreeSet<AccessLevel>,
        /// For a rename (`renamed_from`): the live role's name now.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
    }
    /// Create a named-user team with its name and pool sizes (backends that are the
    /// system of record for teams: the embedded store and the account service).
    TeamCreate = "team.create" (Add, Team, Teams, true) {
        /// The team's id.
        team: String,
        /// Its display name.
        name: String,
        /// Seats per product pool.
        seats: BTreeMap<String, u32>,
    }
    /// Add a member to the account (sends the invitation when they have access or a
    /// project). With `inactive`, the member is added inactive from the start: no
    /// invitation goes out, and they hold nothing until activated.
    MemberInvite = "member.invite" (Add, Member, Members, true) {
        /// Email.
        email: Email,
        /// The record.
        record: MemberRecord,
        /// Added inactive (declared `status: inactive`), without an invitation.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        inactive: bool,
    }
    /// Add a user to a team (on the vendor: an invitation; an existing user is done).
    TeamMemberAdd = "team_member.add" (Add, Team, TeamMembers, true) {
        /// The team's id.
        team: String,
        /// The user.
        email: Email,
        /// Given name, for the invitation of someone with no login yet.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        first_name: Option<String>,
        /// Family name, likewise.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_name: Option<String>,
    }
    /// Change a member's record (company, role, names, access, external subscriptions).
    MemberUpdate = "member.update" (Change, Member, Members, true) {
        /// Email.
        email: Email,
        /// The whole new record.
        record: MemberRecord,
    }
    /// Make an inactive member active again.
    MemberActivate = "member.activate" (Change, Member, Members, true) {
        /// Email.
        email: Email,
    }
    /// Create an agreement with its contract manager, coordinator and licence counts.
    AgreementCreate = "agreement.create" (Add, Agreement, Agreements, true) {
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
    }
    /// Rename an agreement and/or change licence counts (only the products listed).
    AgreementUpdate = "agreement.update" (Change, Agreement, Agreements, true) {
        /// Contract number.
        number: String,
        /// New name, when it changes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// New seat counts of the products whose count changes.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        seats: BTreeMap<String, u32>,
    }
    /// Make `to` the agreement's contract manager.
    SetContractManager = "agreement.set_contract_manager" (Change, Agreement, Agreements, true) {
        /// Contract number.
        number: String,
        /// New holder.
        to: Email,
    }
    /// Make `to` the agreement's software coordinator.
    SetSoftwareCoordinator = "agreement.set_software_coordinator" (Change, Agreement, Agreements, true) {
        /// Contract number.
        number: String,
        /// New holder.
        to: Email,
    }
    /// Rename a team and/or change pool sizes (only the products listed).
    TeamUpdate = "team.update" (Change, Team, Teams, true) {
        /// The team's id.
        team: String,
        /// New name, when it changes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// New seat counts of the pools whose size changes.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        seats: BTreeMap<String, u32>,
    }
    /// Deactivate a member: frees everything they hold, keeps the member.
    MemberDeactivate = "member.deactivate" (Change, Member, Members, true) {
        /// Email.
        email: Email,
    }
    /// Remove a member from the account: frees everything, leaves every project.
    MemberRemove = "member.remove" (Remove, Member, Members, true) {
        /// Email.
        email: Email,
    }
    /// Remove a user from a team: frees their seats of that team.
    TeamMemberRemove = "team_member.remove" (Remove, Team, TeamMembers, true) {
        /// The team's id.
        team: String,
        /// The user.
        email: Email,
    }
    /// Take a member's seat of a product back.
    SeatUnassign = "seat.unassign" (Remove, Agreement, Seats, true) {
        /// Contract number.
        number: String,
        /// Product.
        product: String,
        /// Member.
        email: Email,
    }
    /// Stop a member using a cloud service.
    CloudServiceUnassign = "cloud_service.unassign" (Remove, Agreement, CloudServices, true) {
        /// Contract number.
        number: String,
        /// Service.
        service: String,
        /// Member.
        email: Email,
    }
    /// Take a member's support benefits back.
    SupportUnassign = "support.unassign" (Remove, Agreement, Support, true) {
        /// Contract number.
        number: String,
        /// Member.
        email: Email,
    }
    /// Take a user's direct seat of a team's pool back.
    TeamSeatUnassign = "team_seat.unassign" (Remove, Team, TeamSeats, true) {
        /// The team's id.
        team: String,
        /// The product.
        product: String,
        /// The user.
        email: Email,
    }
    /// Give a member a seat of a product.
    SeatAssign = "seat.assign" (Add, Agreement, Seats, true) {
        /// Contract number.
        number: String,
        /// Product.
        product: String,
        /// Member.
        email: Email,
    }
    /// Let a member use a cloud service.
    CloudServiceAssign = "cloud_service.assign" (Add, Agreement, CloudServices, true) {
        /// Contract number.
        number: String,
        /// Service.
        service: String,
        /// Member.
        email: Email,
    }
    /// Give a member support benefits.
    SupportAssign = "support.assign" (Add, Agreement, Support, true) {
        /// Contract number.
        number: String,
        /// Member.
        email: Email,
    }
    /// Give a team user a direct seat of a pool.
    TeamSeatAssign = "team_seat.assign" (Add, Team, TeamSeats, true) {
        /// The team's id.
        team: String,
        /// The product.
        product: String,
        /// The user.
        email: Email,
    }
    /// Create a project.
    ProjectCreate = "project.create" (Add, Project, Projects, true) {
        /// Project name.
        name: String,
    }
    /// Rename a project (`renamed_from`), keeping its members and history.
    ProjectUpdate = "project.update" (Change, Project, Projects, true) {
        /// The new name.
        name: String,
        /// The live project's name now.
        from: String,
    }
    /// Remove a member from a project.
    ProjectMemberRemove = "project_member.remove" (Remove, Project, ProjectMembers, true) {
        /// Project name.
        project: String,
        /// Member.
        email: Email,
    }
    /// Add a member to a project.
    ProjectMemberAdd = "project_member.add" (Add, Project, ProjectMembers, true) {
        /// Project name.
        project: String,
        /// Member.
        email: Email,
        /// Project access.
        access: ProjectAccess,
        /// Products (includes docs).
        products: BTreeSet<ProjectProduct>,
    }
    /// Change a project member's access or products.
    ProjectMemberUpdate = "project_member.update" (Change, Project, ProjectMembers, true) {
        /// Project name.
        project: String,
        /// Member.
        email: Email,
        /// Project access.
        access: ProjectAccess,
        /// Products (includes docs).
        products: BTreeSet<ProjectProduct>,
    }
    /// Send an expired invitation again.
    MemberResendInvite = "member.resend_invite" (Change, Member, Members, false) {
        /// Email.
        email: Email,
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for OpKind {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| format!("`{name}` is not an operation"))
    }
}

impl Op {
    /// The operation's name as DOMAIN.md writes it (`member.invite`).
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// Whether the operation adds, changes or removes something.
    #[must_use]
    pub fn action(&self) -> Action {
        self.kind().action()
    }

    /// The target string of DOMAIN.md's "Operations" table.
    #[must_use]
    pub fn target(&self) -> String {
        match self {
            Self::CompanyCreate { name, .. }
            | Self::CompanyUpdate { name, .. }
            | Self::RoleCreate { name, .. }
            | Self::RoleUpdate { name, .. }
            | Self::ProjectUpdate { name, .. }
            | Self::ProjectCreate { name } => name.clone(),
            Self::TeamCreate { team, .. } | Self::TeamUpdate { team, .. } => team.clone(),
            Self::TeamMemberAdd { team, email, .. } | Self::TeamMemberRemove { team, email } => {
                format!("{team}/{email}")
            }
            Self::TeamSeatAssign {
                team,
                product,
                email,
            }
            | Self::TeamSeatUnassign {
                team,
                product,
                email,
            } => format!("{team}/{product}/{email}"),
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
                product: item,
                email,
            }
            | Self::SeatUnassign {
                number,
                product: item,
                email,
            }
            | Self::CloudServiceAssign {
                number,
                service: item,
                email,
            }
            | Self::CloudServiceUnassign {
                number,
                service: item,
                email,
            } => format!("{number}/{item}/{email}"),
            Self::SupportAssign { number, email } | Self::SupportUnassign { number, email } => {
                format!("{number}/{email}")
            }
            Self::ProjectMemberAdd { project, email, .. }
            | Self::ProjectMemberUpdate { project, email, .. }
            | Self::ProjectMemberRemove { project, email } => format!("{project}/{email}"),
        }
    }

    /// The object the operation belongs to, and its key (name, email or number):
    /// a seat belongs to its agreement, a project member to its project.
    #[must_use]
    pub fn object(&self) -> (ObjectKind, &str) {
        let key = match self {
            Self::CompanyCreate { name, .. }
            | Self::CompanyUpdate { name, .. }
            | Self::RoleCreate { name, .. }
            | Self::RoleUpdate { name, .. }
            | Self::ProjectUpdate { name, .. }
            | Self::ProjectCreate { name } => name.as_str(),
            Self::MemberInvite { email, .. }
            | Self::MemberUpdate { email, .. }
            | Self::MemberActivate { email }
            | Self::MemberDeactivate { email }
            | Self::MemberRemove { email }
            | Self::MemberResendInvite { email } => email.as_str(),
            Self::AgreementCreate { number, .. }
            | Self::AgreementUpdate { number, .. }
            | Self::SetContractManager { number, .. }
            | Self::SetSoftwareCoordinator { number, .. }
            | Self::SeatAssign { number, .. }
            | Self::SeatUnassign { number, .. }
            | Self::CloudServiceAssign { number, .. }
            | Self::CloudServiceUnassign { number, .. }
            | Self::SupportAssign { number, .. }
            | Self::SupportUnassign { number, .. } => number.as_str(),
            Self::ProjectMemberAdd { project, .. }
            | Self::ProjectMemberUpdate { project, .. }
            | Self::ProjectMemberRemove { project, .. } => project.as_str(),
            Self::TeamCreate { team, .. }
            | Self::TeamUpdate { team, .. }
            | Self::TeamMemberAdd { team, .. }
            | Self::TeamMemberRemove { team, .. }
            | Self::TeamSeatAssign { team, .. }
            | Self::TeamSeatUnassign { team, .. } => team.as_str(),
        };
        (self.kind().object(), key)
    }

    /// Whether this operation removes or deactivates a member (it has consequences).
    #[must_use]
    pub fn is_member_exit(&self) -> bool {
        matches!(
            self,
            Self::MemberRemove { .. } | Self::MemberDeactivate { .. }
        )
    }

    /// Whether this operation frees what someone holds (a member's removal or
    /// deactivation, a user's removal from a team): a plan lists what it frees as its
    /// `consequences`, an empty list when it frees nothing.
    #[must_use]
    pub fn has_consequences(&self) -> bool {
        self.is_member_exit() || matches!(self, Self::TeamMemberRemove { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parse_back() {
        let names: BTreeSet<&str> = OpKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), OpKind::ALL.len());
        for kind in OpKind::ALL {
            assert_eq!(kind.name().parse::<OpKind>(), Ok(*kind));
            assert_eq!(kind.to_string(), kind.name());
            let json = serde_json::to_string(kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.name()));
        }
        assert!("member.invite ".parse::<OpKind>().is_err());
    }

    #[test]
    fn an_operation_serialises_under_its_kinds_name() {
        let op = Op::MemberRemove {
            email: Email::new("A@x.example"),
        };
        let json = serde_json::to_value(&op).unwrap();
        assert_eq!(json["op"], op.kind().name());
        assert_eq!(serde_json::from_value::<Op>(json).unwrap(), op);
        assert_eq!(op.target(), "a@x.example");
    }

    #[test]
    fn only_a_resent_invitation_is_not_idempotent() {
        let not: Vec<OpKind> = OpKind::ALL
            .iter()
            .copied()
            .filter(|k| !k.is_idempotent())
            .collect();
        assert_eq!(not, [OpKind::MemberResendInvite]);
    }
}
