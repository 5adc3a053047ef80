//! The diff: from the account as the backend holds it and the account as the
//! configuration wants it, the minimal plan (DOMAIN.md "What minimal plan means"
//! and "Ownership").
//!
//! - Values are compared normalised (emails are already normalised by [`Email`];
//!   text is compared trimmed; sets are ordered sets), so nothing is planned for a
//!   value that is already right.
//! - What stays is updated, never removed and added again.
//! - A declared agreement's seat, cloud-service and support lists and a declared
//!   project's member list are owned whole; undeclared agreements and projects are
//!   not touched. Companies and roles are created and updated, never deleted.
//! - Members absent from the configuration are left alone unless `settings.prune`
//!   (then removed, provenance "not declared"), and protected members never (R12).
//! - An optional text field the configuration leaves out (a member's names,
//!   company or role, a company's trade) is not managed: the backend's value stays.
//!   `access` left out is the role's default (already resolved in [`Desired`]).
//! - Backend-owned facts are not drift (`pending`, `not_invited`, invitation dates),
//!   except an expired invitation, which plans `member.resend_invite`.
//! - A removal or deactivation carries its cascade as `consequences`: the seats,
//!   services, support and project memberships it frees are not planned separately.
//! - A member declared inactive who is not in the account is added inactive, in one
//!   `member.invite` (no invitation); each invitation says whether it goes out now.
//! - `renamed_from` renames the live company, role or project (see `renames`).
//!
//! The diff takes plain inputs ([`State`], [`Desired`], [`DiffOptions`]), so it is
//! tested without a backend; the caller fills the options from the backend's
//! capabilities and clock.
//!
//! A private `Builder` collects operations section by section (`members`: steps 1, 2, 4
//! and 8; `agreements`: steps 3, 5 and 6; `teams`: steps 1-6; `projects`: step 7),
//! then `finish` attaches consequences, runs the safety checks and orders and
//! batches the plan.

mod agreements;
mod finish;
mod members;
mod projects;
mod renames;
mod teams;
mod values;

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashSet;

use super::model::{ManualStep, Plan};
use super::operation::{FieldChange, Op, Operation, Provenance};
use super::order::{Placed, Slot};
use super::safety::Exit;
use crate::contract::{Capabilities, Limits, ManualAction, OpKind, Section};
use crate::desired::{Declared, Desired};
use crate::diagnostic::{Diagnostic, Location};
use crate::state::{Email, State};

pub use crate::contract::DEFAULT_BULK_LIMIT;

/// What the diff needs to know about the backend and the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffOptions {
    /// How many operations one backend call carries.
    pub limits: Limits,
    /// The backend's clock (Unix seconds): invitations older than 7 days have expired.
    pub now: i64,
    /// `--max-removals N`: overrides `settings.max_removals` (R13).
    pub max_removals: Option<u32>,
    /// Whether the backend is the system of record for agreements: only then are
    /// agreements created, renamed and their licence counts changed.
    pub records_agreements: bool,
    /// The kinds of operation the backend carries out; `None` means all. Operations it
    /// does not carry out are left out of the plan: listed as manual steps when
    /// `manual` says what a person does instead, counted in its notes otherwise.
    pub kinds: Option<BTreeSet<OpKind>>,
    /// What a person does for kinds the backend does not carry out (manual steps).
    pub manual: BTreeMap<OpKind, ManualAction>,
    /// `--target`: the objects a partial plan is narrowed to (empty: the whole
    /// account). The diff itself always plans and checks the whole account; the
    /// pipeline and the apply's verification narrow its plan with
    /// [`super::scope::narrow`].
    pub targets: Vec<super::scope::Target>,
}

impl Default for DiffOptions {
    fn default() -> Self {
        Self {
            limits: Limits::uniform(DEFAULT_BULK_LIMIT),
            now: 0,
            max_removals: None,
            records_agreements: true,
            kinds: None,
            manual: BTreeMap::new(),
            targets: Vec::new(),
        }
    }
}

impl DiffOptions {
    /// The options for planning against a backend with `capabilities` at the
    /// backend's `now`, with the `--max-removals` override: one place, so `plan`,
    /// `apply`, the benchmarks and the tests batch and restrict plans alike.
    #[must_use]
    pub fn for_backend(capabilities: &Capabilities, now: i64, max_removals: Option<u32>) -> Self {
        Self {
            limits: capabilities.limits.clone(),
            now,
            max_removals,
            records_agreements: capabilities.records_agreements(),
            kinds: Some(capabilities.kinds.clone()),
            manual: capabilities.manual.clone(),
            targets: Vec::new(),
        }
    }
}

/// Why there is no plan to apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The backend holds another account.
    #[error("this configuration is for {configured} but the backend holds {backend}")]
    AccountMismatch {
        /// `account.id` of the configuration.
        configured: String,
        /// The backend's account id.
        backend: String,
        /// Where `account` is declared.
        location: Option<Location>,
    },
    /// The configuration asks for something this backend cannot do.
    #[error("{message}")]
    Unsupported {
        /// What and why, for the user.
        message: String,
        /// The declaration concerned.
        location: Option<Location>,
    },
    /// A rule refuses the plan: R11-R13, or R04/R10 on the state it would leave. The
    /// plan is kept (its `refusals` list the diagnostics) so it can be shown.
    #[error("{}", rules_message(.0))]
    Rules(Box<Plan>),
}

fn rules_message(plan: &Plan) -> String {
    let codes: BTreeSet<&str> = plan.refusals.iter().map(|d| d.code.as_str()).collect();
    let codes: Vec<&str> = codes.into_iter().collect();
    format!(
        "the plan is refused by {} ({} problem{}); nothing was changed",
        codes.join(", "),
        plan.refusals.len(),
        if plan.refusals.len() == 1 { "" } else { "s" }
    )
}

impl Refusal {
    /// The diagnostics of a rule refusal (empty for the other kinds).
    #[must_use]
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Self::Rules(plan) => &plan.refusals,
            _ => &[],
        }
    }

    /// The refused plan, when there is one to show.
    #[must_use]
    pub fn plan(&self) -> Option<&Plan> {
        match self {
            Self::Rules(plan) => Some(plan),
            _ => None,
        }
    }

    /// The declaration the refusal cites, for the kinds without diagnostics.
    #[must_use]
    pub fn location(&self) -> Option<&Location> {
        match self {
            Self::AccountMismatch { location, .. } | Self::Unsupported { location, .. } => {
                location.as_ref()
            }
            Self::Rules(_) => None,
        }
    }

    /// Whether a safety rule (R11-R14) is among the reasons: `plan` then exits with 3.
    #[must_use]
    pub fn is_safety_rule(&self) -> bool {
        self.diagnostics().iter().any(|d| {
            matches!(
                d.code,
                crate::diagnostic::Code::R11
                    | crate::diagnostic::Code::R12
                    | crate::diagnostic::Code::R13
                    | crate::diagnostic::Code::R14
            )
        })
    }
}

/// Plans the changes that make `current` what `desired` asks for.
///
/// # Errors
/// [`Refusal::AccountMismatch`] when the backend holds another account;
/// [`Refusal::Unsupported`] when a declared agreement is missing from a backend that
/// cannot create agreements; [`Refusal::Rules`] when R11-R13 refuse the plan or the
/// state it would leave breaks R04 or R10. Nothing is changed in any case: the diff
/// only reads.
pub fn diff(current: &State, desired: &Desired, options: &DiffOptions) -> Result<Plan, Refusal> {
    check_account(current, desired)?;
    let (current, mut renamed) = renames::apply(current, desired, options);
    let mut builder = Builder::new(&current, desired, options);
    builder.notes.append(&mut renamed.notes);
    builder.renamed = renamed;
    // A section the backend does not manage is not diffed at all (the restriction
    // of the configuration already listed it); the others are, and within them an
    // operation the backend does not carry out becomes a manual step or a note.
    if builder.manages(Section::Companies) {
        builder.companies();
    }
    builder.roles();
    if builder.manages(Section::Members) {
        builder.members();
    }
    builder.agreements()?;
    builder.teams();
    if builder.manages(Section::Projects) {
        builder.projects();
    }
    builder.finish()
}

fn check_account(current: &State, desired: &Desired) -> Result<(), Refusal> {
    let configured = &desired.state.account.id;
    let backend = &current.account.id;
    // An empty backend account id is a fresh backend: it takes the configuration's.
    if backend.is_empty() || backend == configured {
        return Ok(());
    }
    Err(Refusal::AccountMismatch {
        configured: configured.clone(),
        backend: backend.clone(),
        location: desired
            .provenance
            .get(Declared::Account, configured)
            .cloned(),
    })
}

/// Collects the operations of one diff, then orders, checks and packs them.
struct Builder<'a> {
    current: &'a State,
    desired: &'a Desired,
    options: &'a DiffOptions,
    placed: Vec<Placed>,
    /// Members leaving (removed or deactivated), with their operation's index in `placed`.
    exits: BTreeMap<Email, (Exit, usize)>,
    /// Roles whose default access changes (their members' updates cite the role).
    changed_roles: BTreeSet<&'a str>,
    /// Operations the backend does not carry out, by name.
    unmanaged: BTreeMap<&'static str, usize>,
    /// Changes a person makes instead (kinds the backend does not carry out).
    manual: Vec<ManualStep>,
    /// Users leaving a team (`team_member.remove`), with their operation's index.
    team_exits: BTreeMap<(String, Email), usize>,
    /// Members never invited whom an operation of this plan invites (an access
    /// level, or their first project), so only that one operation says so.
    invited: BTreeSet<Email>,
    /// The renames (`renamed_from`) the plan makes; `current` shows them made.
    renamed: renames::Applied,
    /// Everyone the configuration puts on some project (see `joins_a_project`).
    on_a_project: OnceCell<FxHashSet<&'a Email>>,
    notes: Vec<String>,
    refusals: Vec<Diagnostic>,
}

impl<'a> Builder<'a> {
    fn new(current: &'a State, desired: &'a Desired, options: &'a DiffOptions) -> Self {
        Self {
            current,
            desired,
            options,
            placed: Vec::new(),
            exits: BTreeMap::new(),
            changed_roles: BTreeSet::new(),
            unmanaged: BTreeMap::new(),
            manual: Vec::new(),
            team_exits: BTreeMap::new(),
            invited: BTreeSet::new(),
            renamed: renames::Applied::default(),
            on_a_project: OnceCell::new(),
            notes: Vec::new(),
            refusals: Vec::new(),
        }
    }

    /// Adds an operation; returns its index, or `None` when the backend does not
    /// carry out operations of its kind.
    fn push(
        &mut self,
        slot: Slot,
        op: Op,
        provenance: Provenance,
        changes: Vec<FieldChange>,
    ) -> Option<usize> {
        if let Some(supported) = &self.options.kinds {
            if !supported.contains(&op.kind()) {
                match self.options.manual.get(&op.kind()) {
                    Some(action) => self.manual.push(ManualStep {
                        op: op.kind(),
                        target: op.target(),
                        provenance,
                        action: action.action.clone(),
                        why: action.why.clone(),
                    }),
                    None => *self.unmanaged.entry(op.name()).or_default() += 1,
                }
                return None;
            }
        }
        let mut operation = Operation::new(op, provenance);
        operation.changes = changes;
        self.placed.push(Placed { slot, operation });
        Some(self.placed.len() - 1)
    }

    /// Whether the backend manages `section` (carries out some kind of it).
    fn manages(&self, section: Section) -> bool {
        self.options
            .kinds
            .as_ref()
            .is_none_or(|kinds| kinds.iter().any(|k| k.section() == section))
    }

    fn push_op(&mut self, op: Op, provenance: Provenance) -> Option<usize> {
        self.push(Slot::of(&op), op, provenance, Vec::new())
    }

    fn location(&self, candidates: &[(Declared, &str)]) -> Option<&'a Location> {
        let provenance = &self.desired.provenance;
        candidates
            .iter()
            .find_map(|(kind, target)| provenance.get(*kind, target))
    }

    /// The `file:line` of the first candidate declaration found.
    fn cite(&self, candidates: &[(Declared, &str)]) -> Provenance {
        Provenance(
            self.location(candidates)
                .map_or_else(|| Provenance::UNLOCATED.to_owned(), Location::file_line),
        )
    }

    fn is_leaving(&self, email: &Email) -> bool {
        self.exits.contains_key(email)
    }
}
