//! The operations of a plan: an [`Op`] (the vocabulary of [`crate::contract`]) with
//! what the plan adds: the batch that carries it, why it is there (provenance), the
//! field changes for updates, and the consequences of a removal or deactivation.

use serde::{Deserialize, Serialize};

pub use crate::contract::{Action, MemberRecord, ObjectKind, Op, OpKind};

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

/// Whether adding a member sends them an invitation (DOMAIN.md: a member with no
/// access level and no project is in the account, not invited yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Invitation {
    /// The invitation e-mail goes out with this apply (an access level, or a project
    /// this plan adds them to).
    Now,
    /// Not yet: it goes out when they get an access level or a project.
    Later,
    /// None: the member is added inactive.
    None,
}

impl Invitation {
    /// The words the text and markdown renderings use.
    #[must_use]
    pub fn words(self) -> &'static str {
        match self {
            Self::Now => "sent now",
            Self::Later => "not sent yet (it goes out when they get an access level or a project)",
            Self::None => "none (added inactive: no e-mail, no access until activated)",
        }
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
    /// For removals and deactivations (and removals from a team): what they free
    /// (`seat.unassign 1100/AutoCAD/x@y`, ...), an empty list when nothing; `None`
    /// (absent from the JSON) for every other operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consequences: Option<Vec<String>>,
    /// For an addition of a member (and the change that first gives a member who was
    /// never invited an access level or a project): whether an invitation goes out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation: Option<Invitation>,
}

impl Operation {
    /// An operation with no field changes or consequences yet; the batch is set when
    /// the plan is ordered.
    #[must_use]
    pub fn new(op: Op, provenance: Provenance) -> Self {
        Self {
            target: op.target(),
            batch: 0,
            provenance,
            changes: Vec::new(),
            consequences: op.has_consequences().then(Vec::new),
            invitation: None,
            op,
        }
    }

    /// What the operation frees (empty for operations that free nothing).
    #[must_use]
    pub fn consequences(&self) -> &[String] {
        self.consequences.as_deref().unwrap_or_default()
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
