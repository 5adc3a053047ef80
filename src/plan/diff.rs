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
//!
//! The diff takes plain inputs ([`State`], [`Desired`], [`DiffOptions`]), so it is
//! tested without a backend; the caller fills the options from the backend's
//! capabilities and clock.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{PLAN_FORMAT_VERSION, Plan, SeatCount, SeatLine, Summary, fingerprint};
use super::operation::{FieldChange, MemberRecord, Op, Operation, Provenance, word, words as list};
use super::order::{BulkLimits, Placed, Slot, order_and_batch};
use super::safety::{self, Exit};
use crate::desired::{Declared, Desired, LimitSource, MaxRemovals};
use crate::diagnostic::{self, Diagnostic, Location};
use crate::state::{AgreementState, Email, MemberState, MemberStatus, ProjectMemberState, State};

/// How long an invitation stays valid: 7 days, in seconds (DOMAIN.md).
pub const INVITATION_TTL_SECS: i64 = 7 * 24 * 60 * 60;

/// The bulk limit of the embedded store and the account service.
pub const DEFAULT_BULK_LIMIT: usize = 100;

/// What the diff needs to know about the backend and the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffOptions {
    /// The most operations one backend call carries.
    pub bulk_limit: usize,
    /// Per-operation limits (`project_member.add`) where they differ from `bulk_limit`.
    pub bulk_limits: BTreeMap<String, usize>,
    /// The backend's clock (Unix seconds): invitations older than 7 days have expired.
    pub now: i64,
    /// `--max-removals N`: overrides `settings.max_removals` (R13).
    pub max_removals: Option<u32>,
    /// Whether the backend is the system of record for agreements: only then are
    /// agreements created, renamed and their licence counts changed.
    pub manages_agreements: bool,
    /// The operation names the backend carries out; `None` means all. Operations it
    /// does not carry out are left out of the plan and counted in its notes.
    pub operations: Option<BTreeSet<String>>,
}

impl Default for DiffOptions {
    fn default() -> Self {
        Self {
            bulk_limit: DEFAULT_BULK_LIMIT,
            bulk_limits: BTreeMap::new(),
            now: 0,
            max_removals: None,
            manages_agreements: true,
            operations: None,
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

    /// Whether a safety rule (R11-R13) is among the reasons: `plan` then exits with 3.
    #[must_use]
    pub fn is_safety_rule(&self) -> bool {
        self.diagnostics().iter().any(|d| {
            matches!(
                d.code,
                crate::diagnostic::Code::R11
                    | crate::diagnostic::Code::R12
                    | crate::diagnostic::Code::R13
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
    let mut builder = Builder::new(current, desired, options);
    builder.companies();
    builder.roles();
    builder.members();
    builder.agreements()?;
    builder.projects();
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
            notes: Vec::new(),
            refusals: Vec::new(),
        }
    }

    // ----- recording -----

    /// Adds an operation; returns its index, or `None` when the backend does not
    /// carry out operations of its kind.
    fn push(
        &mut self,
        slot: Slot,
        op: Op,
        provenance: Provenance,
        changes: Vec<FieldChange>,
    ) -> Option<usize> {
        if let Some(supported) = &self.options.operations {
            if !supported.contains(op.name()) {
                *self.unmanaged.entry(op.name()).or_default() += 1;
                return None;
            }
        }
        let mut operation = Operation::new(op, provenance);
        operation.changes = changes;
        self.placed.push(Placed { slot, operation });
        Some(self.placed.len() - 1)
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

    // ----- step 1: companies and roles -----

    fn companies(&mut self) {
        for (name, want) in &self.desired.state.companies {
            let here = self.cite(&[(Declared::Company, name)]);
            match self.current.companies.get(name) {
                None => {
                    let op = Op::CompanyCreate {
                        name: name.clone(),
                        trade: want.trade.clone(),
                    };
                    self.push_op(op, here);
                }
                Some(have) => {
                    let mut changes = Vec::new();
                    let trade = kept_or_changed("trade", &have.trade, &want.trade, &mut changes);
                    if !changes.is_empty() {
                        let op = Op::CompanyUpdate {
                            name: name.clone(),
                            trade,
                        };
                        self.push(Slot::of(&op), op, here, changes);
                    }
                }
            }
        }
    }

    fn roles(&mut self) {
        for (name, want) in &self.desired.state.roles {
            let here = self.cite(&[(Declared::Role, name)]);
            match self.current.roles.get(name) {
                None => {
                    let op = Op::RoleCreate {
                        name: name.clone(),
                        default_access: want.default_access.clone(),
                    };
                    self.push_op(op, here);
                }
                Some(have) if have.default_access != want.default_access => {
                    self.changed_roles.insert(name);
                    let changes = vec![change(
                        "default_access",
                        list(&have.default_access),
                        list(&want.default_access),
                    )];
                    let op = Op::RoleUpdate {
                        name: name.clone(),
                        default_access: want.default_access.clone(),
                    };
                    self.push(Slot::of(&op), op, here, changes);
                }
                Some(_) => {}
            }
        }
    }

    // ----- steps 2, 4 and 8: members -----

    fn members(&mut self) {
        for (email, want) in &self.desired.state.members {
            match self.current.members.get(email) {
                None => self.invite(email, want),
                Some(have) => self.member(email, have, want),
            }
        }
        if self.desired.prune {
            self.prune();
        }
    }

    fn invite(&mut self, email: &Email, want: &MemberState) {
        let here = self.cite(&[(Declared::Member, email.as_str())]);
        let op = Op::MemberInvite {
            email: email.clone(),
            record: record_of(want),
        };
        self.push_op(op, here.clone());
        // A member declared inactive from the start is added, then deactivated.
        if want.status.is_inactive() {
            self.leave(email, Exit::Deactivate, here);
        }
    }

    fn member(&mut self, email: &Email, have: &MemberState, want: &MemberState) {
        let here = self.cite(&[(Declared::Member, email.as_str())]);
        let (record, changes) = updated_record(have, want);
        if !changes.is_empty() {
            self.guard_protected(email, || {
                let fields: Vec<String> = changes
                    .iter()
                    .map(|c| format!("{}: {} -> {}", c.field, c.from, c.to))
                    .collect();
                format!("change them ({})", fields.join("; "))
            });
            let provenance = self
                .update_provenance(want, &changes)
                .unwrap_or(here.clone());
            let slot = Slot::member_update(&have.access, &record.access);
            let op = Op::MemberUpdate {
                email: email.clone(),
                record,
            };
            self.push(slot, op, provenance, changes);
        }
        match (have.status.is_inactive(), want.status.is_inactive()) {
            (true, false) => {
                self.guard_protected(email, || "activate them".to_owned());
                let op = Op::MemberActivate {
                    email: email.clone(),
                };
                let changes = vec![change("status", "inactive".into(), "active".into())];
                self.push(Slot::of(&op), op, here, changes);
            }
            (false, true) => self.leave(email, Exit::Deactivate, here),
            _ => {
                if self.invitation_expired(have) && !want.status.is_inactive() {
                    let op = Op::MemberResendInvite {
                        email: email.clone(),
                    };
                    self.push_op(op, Provenance(Provenance::INVITATION_EXPIRED.into()));
                }
            }
        }
    }

    /// A member's update that only follows their role's new default access cites the role.
    fn update_provenance(&self, want: &MemberState, changes: &[FieldChange]) -> Option<Provenance> {
        let role = want.role.as_deref()?;
        let only_access = changes.iter().all(|c| c.field == "access");
        let follows_role = self.changed_roles.contains(role)
            && self
                .desired
                .state
                .roles
                .get(role)
                .is_some_and(|r| r.default_access == want.access);
        (only_access && follows_role).then(|| self.cite(&[(Declared::Role, role)]))
    }

    fn invitation_expired(&self, have: &MemberState) -> bool {
        have.status == MemberStatus::Pending
            && !have.signed_in
            && have
                .invited_at
                .is_some_and(|at| at.saturating_add(INVITATION_TTL_SECS) < self.options.now)
    }

    fn prune(&mut self) {
        let declared = &self.desired.state.members;
        for email in self.current.members.keys() {
            if declared.contains_key(email) {
                continue;
            }
            if self.desired.protected.contains(email) {
                self.notes.push(format!(
                    "{email} is not declared but is protected (settings.protected): prune leaves them alone"
                ));
                continue;
            }
            self.leave(
                email,
                Exit::Remove,
                Provenance(Provenance::NOT_DECLARED.into()),
            );
        }
    }

    /// Plans a removal or deactivation; its cascade is attached as consequences later.
    fn leave(&mut self, email: &Email, exit: Exit, provenance: Provenance) {
        if exit == Exit::Deactivate {
            self.guard_protected(email, || "deactivate them".to_owned());
        }
        let op = match exit {
            Exit::Remove => Op::MemberRemove {
                email: email.clone(),
            },
            Exit::Deactivate => Op::MemberDeactivate {
                email: email.clone(),
            },
        };
        if let Some(index) = self.push_op(op, provenance) {
            self.exits.insert(email.clone(), (exit, index));
        }
    }

    /// R12: records a refusal when `email` is protected; `what` says what would happen.
    fn guard_protected(&mut self, email: &Email, what: impl FnOnce() -> String) {
        if self.desired.protected.contains(email) {
            let diagnostic = safety::protected_changed(self.desired, email, &what());
            self.refusals.push(diagnostic);
        }
    }

    // ----- steps 3, 5 and 6: agreements -----

    fn agreements(&mut self) -> Result<(), Refusal> {
        let empty = AgreementState::default();
        for (number, want) in &self.desired.state.agreements {
            let have = self.current.agreements.get(number);
            match have {
                None if !self.options.manages_agreements => {
                    return Err(self.missing_agreement(number));
                }
                None => self.create_agreement(number, want),
                Some(have) => {
                    self.resize_agreement(number, have, want);
                    self.transfer_roles(number, have, want);
                }
            }
            self.assignments(number, have.unwrap_or(&empty), want);
        }
        Ok(())
    }

    fn missing_agreement(&self, number: &str) -> Refusal {
        Refusal::Unsupported {
            message: format!(
                "agreement {number} is declared but the backend does not hold it, and this backend cannot create agreements (the vendor creates them on purchase); check the contract number"
            ),
            location: self.location(&[(Declared::Agreement, number)]).cloned(),
        }
    }

    fn create_agreement(&mut self, number: &str, want: &AgreementState) {
        let seats = want
            .products
            .iter()
            .filter_map(|(product, p)| p.seats.map(|n| (product.clone(), n)))
            .collect();
        let op = Op::AgreementCreate {
            number: number.to_owned(),
            name: want.name.clone(),
            contract_manager: want.contract_manager.clone(),
            software_coordinator: want.software_coordinator.clone(),
            seats,
        };
        let here = self.cite(&[(Declared::Agreement, number)]);
        self.push_op(op, here);
    }

    /// A rename and licence increases in step 3; licence decreases in step 5 (after the
    /// un-assignments that make room). At most one `agreement.update` per step.
    fn resize_agreement(&mut self, number: &str, have: &AgreementState, want: &AgreementState) {
        let mut up = (BTreeMap::new(), Vec::new());
        let mut down = (BTreeMap::new(), Vec::new());
        for (product, p) in &want.products {
            let Some(seats) = p.seats else { continue };
            let old = have
                .products
                .get(product)
                .and_then(|h| h.seats)
                .unwrap_or(0);
            let side = if seats > old { &mut up } else { &mut down };
            if seats != old {
                side.0.insert(product.clone(), seats);
                side.1.push(change(
                    &format!("seats.{product}"),
                    old.to_string(),
                    seats.to_string(),
                ));
            }
        }
        let mut rename = Vec::new();
        let name = kept_or_changed(
            "name",
            &Some(have.name.clone()),
            &Some(want.name.clone()),
            &mut rename,
        );
        let renamed = !rename.is_empty();
        if !self.options.manages_agreements {
            self.note_unmanaged_counts(number, rename.iter().chain(&up.1).chain(&down.1));
            return;
        }
        let first_product = |seats: &BTreeMap<String, u32>| seats.keys().next().cloned();
        if renamed || !up.0.is_empty() {
            let here = if renamed {
                self.cite(&[(Declared::Agreement, number)])
            } else {
                self.product_cite(number, first_product(&up.0).as_deref())
            };
            let op = Op::AgreementUpdate {
                number: number.to_owned(),
                name: if renamed { name } else { None },
                seats: up.0,
            };
            rename.extend(up.1);
            self.push(Slot::of(&op), op, here, rename);
        }
        if !down.0.is_empty() {
            let here = self.product_cite(number, first_product(&down.0).as_deref());
            let op = Op::AgreementUpdate {
                number: number.to_owned(),
                name: None,
                seats: down.0,
            };
            self.push(Slot::LICENCE_DECREASE, op, here, down.1);
        }
    }

    fn note_unmanaged_counts<'c>(
        &mut self,
        number: &str,
        changes: impl Iterator<Item = &'c FieldChange>,
    ) {
        for c in changes {
            self.notes.push(format!(
                "agreement {number}: {} is {} on the backend and {} in the configuration; this backend does not change agreements, so it stays {}",
                c.field, c.from, c.to, c.from
            ));
        }
    }

    fn product_cite(&self, number: &str, product: Option<&str>) -> Provenance {
        let key = product.map(|p| format!("{number}/{p}")).unwrap_or_default();
        self.cite(&[(Declared::Product, &key), (Declared::Agreement, number)])
    }

    /// R11's "transfer first": new role holders are set in step 3, before anyone leaves.
    fn transfer_roles(&mut self, number: &str, have: &AgreementState, want: &AgreementState) {
        if have.contract_manager != want.contract_manager {
            let here = self.cite(&[
                (Declared::ContractManager, number),
                (Declared::Agreement, number),
            ]);
            let changes = vec![change(
                "contract_manager",
                have.contract_manager.to_string(),
                want.contract_manager.to_string(),
            )];
            let op = Op::SetContractManager {
                number: number.to_owned(),
                to: want.contract_manager.clone(),
            };
            self.push(Slot::of(&op), op, here, changes);
        }
        if have.software_coordinator != want.software_coordinator {
            let here = self.cite(&[
                (Declared::SoftwareCoordinator, number),
                (Declared::ContractManager, number),
                (Declared::Agreement, number),
            ]);
            let changes = vec![change(
                "software_coordinator",
                have.software_coordinator.to_string(),
                want.software_coordinator.to_string(),
            )];
            let op = Op::SetSoftwareCoordinator {
                number: number.to_owned(),
                to: want.software_coordinator.clone(),
            };
            self.push(Slot::of(&op), op, here, changes);
        }
    }

    /// The seat, cloud-service and support lists of a declared agreement, owned whole.
    fn assignments(&mut self, number: &str, have: &AgreementState, want: &AgreementState) {
        let none = BTreeSet::new();
        let products: BTreeSet<&String> =
            have.products.keys().chain(want.products.keys()).collect();
        for product in products {
            let had = have.products.get(product).map_or(&none, |p| &p.assigned);
            let wants = want.products.get(product).map_or(&none, |p| &p.assigned);
            self.owned_list(number, &List::Seats(product), had, wants);
        }
        let services: BTreeSet<&String> = have
            .cloud_services
            .keys()
            .chain(want.cloud_services.keys())
            .collect();
        for service in services {
            let had = have.cloud_services.get(service).unwrap_or(&none);
            let wants = want.cloud_services.get(service).unwrap_or(&none);
            self.owned_list(number, &List::CloudService(service), had, wants);
        }
        self.owned_list(number, &List::Support, &have.support, &want.support);
    }

    fn owned_list(
        &mut self,
        number: &str,
        list: &List<'_>,
        had: &BTreeSet<Email>,
        wants: &BTreeSet<Email>,
    ) {
        for email in had.difference(wants) {
            // A member who leaves frees everything at once (a consequence of leaving).
            if self.is_leaving(email) {
                continue;
            }
            let here = self.cite(&list.unassign_declarations(number).each());
            self.push_op(list.unassign(number, email), here);
        }
        for email in wants.difference(had) {
            let here = self.cite(&list.assign_declarations(number, email).each());
            self.push_op(list.assign(number, email), here);
        }
    }

    // ----- step 7: projects -----

    fn projects(&mut self) {
        let empty = BTreeMap::new();
        for (name, want) in &self.desired.state.projects {
            let project_here = self.cite(&[(Declared::Project, name)]);
            let have = self.current.projects.get(name).map(|p| &p.members);
            if have.is_none() {
                self.push_op(
                    Op::ProjectCreate { name: name.clone() },
                    project_here.clone(),
                );
            }
            let have = have.unwrap_or(&empty);
            for email in have.keys().filter(|e| !want.members.contains_key(*e)) {
                if self.is_leaving(email) {
                    continue;
                }
                let op = Op::ProjectMemberRemove {
                    project: name.clone(),
                    email: email.clone(),
                };
                self.push_op(op, project_here.clone());
            }
            for (email, wanted) in &want.members {
                self.project_member(name, email, have.get(email), wanted);
            }
        }
    }

    fn project_member(
        &mut self,
        project: &str,
        email: &Email,
        had: Option<&ProjectMemberState>,
        wanted: &ProjectMemberState,
    ) {
        let key = format!("{project}/{email}");
        let here = self.cite(&[
            (Declared::ProjectMember, &key),
            (Declared::Project, project),
        ]);
        let (project, email) = (project.to_owned(), email.clone());
        let (access, products) = (wanted.access, wanted.products.clone());
        match had {
            None => {
                let op = Op::ProjectMemberAdd {
                    project,
                    email,
                    access,
                    products,
                };
                self.push_op(op, here);
            }
            Some(had) if had != wanted => {
                let mut changes = Vec::new();
                if had.access != wanted.access {
                    changes.push(change("access", word(&had.access), word(&wanted.access)));
                }
                if had.products != wanted.products {
                    changes.push(change(
                        "products",
                        list(&had.products),
                        list(&wanted.products),
                    ));
                }
                let op = Op::ProjectMemberUpdate {
                    project,
                    email,
                    access,
                    products,
                };
                self.push(Slot::of(&op), op, here, changes);
            }
            Some(_) => {}
        }
    }

    // ----- checks and packing -----

    fn finish(mut self) -> Result<Plan, Refusal> {
        self.attach_consequences();
        self.check_safety();
        let seats = self.seat_picture();
        let seats_short =
            safety::seats_short(self.desired, &seats, self.options.manages_agreements);
        self.refusals.extend(seats_short);
        self.note_unmanaged_operations();
        let limits = BulkLimits {
            default: self.options.bulk_limit,
            per_kind: self.options.bulk_limits.clone(),
        };
        let (operations, batches) = order_and_batch(self.placed, &limits);
        diagnostic::sort(&mut self.refusals);
        let plan = Plan {
            version: PLAN_FORMAT_VERSION,
            account: self.desired.state.account.clone(),
            new_account: self.current.account.id.is_empty(),
            summary: Summary::of(&operations),
            batches,
            fingerprint: fingerprint(&operations),
            operations,
            seats,
            notes: self.notes,
            refusals: self.refusals,
        };
        if plan.is_refused() {
            Err(Refusal::Rules(Box::new(plan)))
        } else {
            Ok(plan)
        }
    }

    /// Lists, on each removal or deactivation, everything the member holds now.
    fn attach_consequences(&mut self) {
        if self.exits.is_empty() {
            return;
        }
        let mut freed: BTreeMap<&Email, Vec<String>> = BTreeMap::new();
        let mut note = |email: &'a Email, consequence: String| {
            if self.exits.contains_key(email) {
                freed.entry(email).or_default().push(consequence);
            }
        };
        for (number, agreement) in &self.current.agreements {
            for (product, p) in &agreement.products {
                for email in &p.assigned {
                    note(email, format!("seat.unassign {number}/{product}/{email}"));
                }
            }
            for (service, holders) in &agreement.cloud_services {
                for email in holders {
                    note(
                        email,
                        format!("cloud_service.unassign {number}/{service}/{email}"),
                    );
                }
            }
            for email in &agreement.support {
                note(email, format!("support.unassign {number}/{email}"));
            }
        }
        for (name, project) in &self.current.projects {
            for email in project.members.keys() {
                note(email, format!("project_member.remove {name}/{email}"));
            }
        }
        for (email, consequences) in freed {
            if let Some(&(_, index)) = self.exits.get(email) {
                self.placed[index].operation.consequences = consequences;
            }
        }
    }

    fn check_safety(&mut self) {
        let exits: BTreeMap<Email, Exit> = self
            .exits
            .iter()
            .map(|(email, &(exit, _))| (email.clone(), exit))
            .collect();
        let holders = safety::role_holders_leaving(self.current, self.desired, &exits);
        self.refusals.extend(holders);
        let removed: BTreeSet<&Email> = exits
            .iter()
            .filter(|(_, exit)| **exit == Exit::Remove)
            .map(|(email, _)| email)
            .collect();
        let limit = self.removal_limit();
        self.refusals
            .extend(safety::too_many_removals(removed.len(), &limit));
        self.refusals
            .extend(safety::last_admin(self.current, self.desired, &removed));
    }

    /// The flag overrides the configuration, which overrides the default.
    fn removal_limit(&self) -> MaxRemovals {
        self.options.max_removals.map_or_else(
            || self.desired.max_removals.clone(),
            |limit| MaxRemovals {
                limit,
                source: LimitSource::Flag,
            },
        )
    }

    /// Seats per product of each declared agreement, before and after the plan.
    fn seat_picture(&self) -> Vec<SeatLine> {
        let mut lines = Vec::new();
        for (number, want) in &self.desired.state.agreements {
            let have = self.current.agreements.get(number);
            let products: BTreeSet<&String> = want
                .products
                .keys()
                .chain(have.into_iter().flat_map(|h| h.products.keys()))
                .collect();
            for product in products {
                let before = have
                    .and_then(|h| h.products.get(product))
                    .map(|p| SeatCount {
                        assigned: p.assigned.len(),
                        seats: p.seats.unwrap_or(0),
                    });
                let wanted = want.products.get(product);
                let seats = match wanted.and_then(|p| p.seats) {
                    Some(seats) if self.options.manages_agreements => seats,
                    _ => before.map_or(0, |b| b.seats),
                };
                lines.push(SeatLine {
                    agreement: number.clone(),
                    agreement_name: want.name.clone(),
                    product: product.clone(),
                    before,
                    after: SeatCount {
                        assigned: wanted.map_or(0, |p| p.assigned.len()),
                        seats,
                    },
                });
            }
        }
        lines
    }

    fn note_unmanaged_operations(&mut self) {
        if self.unmanaged.is_empty() {
            return;
        }
        let counts: Vec<String> = self
            .unmanaged
            .iter()
            .map(|(name, count)| format!("{count} × {name}"))
            .collect();
        self.notes.push(format!(
            "not managed by this backend, so left out of the plan: {}",
            counts.join(", ")
        ));
    }
}

/// An owned assignment list of an agreement.
enum List<'n> {
    Seats(&'n str),
    CloudService(&'n str),
    Support,
}

/// Up to three candidate declarations, most specific first.
struct Candidates([(Declared, String); 3]);

impl Candidates {
    fn each(&self) -> [(Declared, &str); 3] {
        let [a, b, c] = &self.0;
        [
            (a.0, a.1.as_str()),
            (b.0, b.1.as_str()),
            (c.0, c.1.as_str()),
        ]
    }
}

impl List<'_> {
    fn assign(&self, number: &str, email: &Email) -> Op {
        let (number, email) = (number.to_owned(), email.clone());
        match *self {
            Self::Seats(product) => Op::SeatAssign {
                number,
                product: product.to_owned(),
                email,
            },
            Self::CloudService(service) => Op::CloudServiceAssign {
                number,
                service: service.to_owned(),
                email,
            },
            Self::Support => Op::SupportAssign { number, email },
        }
    }

    fn unassign(&self, number: &str, email: &Email) -> Op {
        let (number, email) = (number.to_owned(), email.clone());
        match *self {
            Self::Seats(product) => Op::SeatUnassign {
                number,
                product: product.to_owned(),
                email,
            },
            Self::CloudService(service) => Op::CloudServiceUnassign {
                number,
                service: service.to_owned(),
                email,
            },
            Self::Support => Op::SupportUnassign { number, email },
        }
    }

    /// The entry that assigns `email`, else the list, else the agreement.
    fn assign_declarations(&self, number: &str, email: &Email) -> Candidates {
        let agreement = (Declared::Agreement, number.to_owned());
        Candidates(match *self {
            Self::Seats(product) => [
                (Declared::Seat, format!("{number}/{product}/{email}")),
                (Declared::Product, format!("{number}/{product}")),
                agreement,
            ],
            Self::CloudService(service) => [
                (
                    Declared::CloudService,
                    format!("{number}/{service}/{email}"),
                ),
                agreement.clone(),
                agreement,
            ],
            Self::Support => [
                (Declared::Support, format!("{number}/{email}")),
                agreement.clone(),
                agreement,
            ],
        })
    }

    /// The list that no longer names the member, else the agreement.
    fn unassign_declarations(&self, number: &str) -> Candidates {
        let agreement = (Declared::Agreement, number.to_owned());
        Candidates(match *self {
            Self::Seats(product) => [
                (Declared::Product, format!("{number}/{product}")),
                agreement.clone(),
                agreement,
            ],
            Self::CloudService(_) | Self::Support => {
                [agreement.clone(), agreement.clone(), agreement]
            }
        })
    }
}

// ----- value helpers -----

fn change(field: &str, from: String, to: String) -> FieldChange {
    FieldChange {
        field: field.to_owned(),
        from,
        to,
    }
}

fn text(value: Option<&String>) -> String {
    value.map_or_else(|| "null".to_owned(), Clone::clone)
}

/// The value of an optional text field after the plan: the backend's when the
/// configuration leaves it out or it matches after trimming, else the configured one
/// (recording the change).
fn kept_or_changed(
    field: &str,
    have: &Option<String>,
    want: &Option<String>,
    changes: &mut Vec<FieldChange>,
) -> Option<String> {
    let Some(wanted) = want else {
        return have.clone();
    };
    let wanted = wanted.trim();
    if have.as_deref().map(str::trim) == Some(wanted) {
        return have.clone();
    }
    changes.push(change(field, text(have.as_ref()), wanted.to_owned()));
    Some(wanted.to_owned())
}

/// A member's record as configured, for an invitation.
fn record_of(want: &MemberState) -> MemberRecord {
    MemberRecord {
        first_name: want.first_name.clone(),
        last_name: want.last_name.clone(),
        company: want.company.clone(),
        role: want.role.clone(),
        access: want.access.clone(),
        external_subscriptions: want.external_subscriptions.clone(),
    }
}

/// The whole record a member will have, and the fields that change.
fn updated_record(have: &MemberState, want: &MemberState) -> (MemberRecord, Vec<FieldChange>) {
    let mut changes = Vec::new();
    let first_name = kept_or_changed(
        "first_name",
        &have.first_name,
        &want.first_name,
        &mut changes,
    );
    let last_name = kept_or_changed("last_name", &have.last_name, &want.last_name, &mut changes);
    let company = kept_or_changed("company", &have.company, &want.company, &mut changes);
    let role = kept_or_changed("role", &have.role, &want.role, &mut changes);
    if have.access != want.access {
        changes.push(change("access", list(&have.access), list(&want.access)));
    }
    let trimmed = |set: &BTreeSet<String>| -> BTreeSet<String> {
        set.iter().map(|s| s.trim().to_owned()).collect()
    };
    let external_subscriptions = trimmed(&want.external_subscriptions);
    if trimmed(&have.external_subscriptions) != external_subscriptions {
        changes.push(change(
            "external_subscriptions",
            list(&have.external_subscriptions),
            list(&external_subscriptions),
        ));
    }
    let record = MemberRecord {
        first_name,
        last_name,
        company,
        role,
        access: want.access.clone(),
        external_subscriptions,
    };
    (record, changes)
}
