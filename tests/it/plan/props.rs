//! Property tests: random (current, desired) pairs, the plan carried out batch by batch
//! on the embedded store seeded with `current`.
//!
//! - every batch is accepted, every operation `Done` (the order is right, and none of
//!   them finds the account already so);
//! - the result is exactly what the configuration asks (checked field by field, with
//!   the ownership rules of DOMAIN.md, and by a second plan being empty);
//! - no operation is redundant: dropping any one leaves the result short.
//!
//! States are built from a vector of dice (bytes), so that proptest shrinks towards
//! zeros, which build the simplest states.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use accord::backend::sqlite::SqliteStore;
use accord::backend::{ManualClock, Outcome};
use accord::desired::{Desired, MaxRemovals};
use accord::diagnostic::Code;
use accord::plan::{DiffOptions, Op, Plan, Refusal, diff};
use accord::state::{
    AccessLevel, AccountInfo, AgreementState, CompanyState, Email, MemberState, MemberStatus,
    PoolState, ProductState, ProjectAccess, ProjectMemberState, ProjectProduct, ProjectState,
    RoleState, State, TeamState,
};
use proptest::prelude::*;

use super::fixtures::NOW;

const DAY: i64 = 24 * 60 * 60;
const MEMBERS: usize = 6;
const ACCESS: [AccessLevel; 3] = [
    AccessLevel::AccountAdmin,
    AccessLevel::Executive,
    AccessLevel::StandardsAdmin,
];
const EXTRA_PRODUCTS: [ProjectProduct; 2] = [ProjectProduct::Build, ProjectProduct::Cost];
const TEAM_PRODUCTS: [&str; 2] = ["AutoCAD", "Revit"];

/// Reads choices off a byte vector; past its end every choice is 0 (the simplest).
struct Dice<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Dice<'_> {
    fn next(&mut self) -> u8 {
        let byte = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        byte
    }

    fn flag(&mut self) -> bool {
        self.next() % 2 == 1
    }

    fn below(&mut self, n: usize) -> usize {
        usize::from(self.next()) % n
    }

    fn text(&mut self, prefix: &str, options: usize) -> Option<String> {
        match self.below(options + 1) {
            0 => None,
            n => Some(format!("{prefix}{n}")),
        }
    }

    fn subset<T: Clone + Ord>(&mut self, items: &[T]) -> BTreeSet<T> {
        items.iter().filter(|_| self.flag()).cloned().collect()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    /// A backend's state: backend-owned facts (pending, invitation dates) included.
    Backend,
    /// A compiled configuration: `active` or `inactive` only.
    Configuration,
}

fn email(i: usize) -> Email {
    Email::new(&format!("m{i}@acme.example"))
}

/// A state that satisfies R02-R10, built from dice.
fn build(dice: &mut Dice<'_>, side: Side) -> State {
    let mut state = State {
        account: AccountInfo {
            id: "acme".into(),
            name: "ACME".into(),
        },
        ..State::default()
    };
    for c in 0..3 {
        if c == 0 || dice.flag() {
            let trade = dice.text("Trade", 2);
            state
                .companies
                .insert(format!("C{c}"), CompanyState { trade });
        }
    }
    for r in 0..3 {
        if r == 0 || dice.flag() {
            let default_access = dice.subset(&ACCESS);
            state
                .roles
                .insert(format!("R{r}"), RoleState { default_access });
        }
    }
    let companies: Vec<String> = state.companies.keys().cloned().collect();
    let roles: Vec<String> = state.roles.keys().cloned().collect();
    for i in 0..MEMBERS {
        if i == 0 || dice.flag() {
            let member = build_member(dice, side, &companies, &roles, &state.roles);
            state.members.insert(email(i), member);
        }
    }
    ensure_admin(&mut state);
    let eligible = eligible(&state);
    for a in 0..2 {
        if dice.flag() {
            state
                .agreements
                .insert(format!("A{a}"), build_agreement(dice, &eligible));
        }
    }
    for j in 0..2 {
        if dice.flag() {
            let mut project = ProjectState::default();
            for email in dice.subset(&eligible) {
                let access = if dice.flag() {
                    ProjectAccess::Admin
                } else {
                    ProjectAccess::Member
                };
                let mut products = dice.subset(&EXTRA_PRODUCTS);
                products.insert(ProjectProduct::Docs);
                project
                    .members
                    .insert(email, ProjectMemberState { access, products });
            }
            state.projects.insert(format!("J{j}"), project);
        }
    }
    for t in 0..2 {
        if dice.flag() {
            state
                .teams
                .insert(format!("T{t}"), build_team(dice, &eligible));
        }
    }
    state
}

/// A named-user team: a pool or two of 1-4 seats, direct seats for some eligible
/// members (as many as fit), and a few more users without a seat.
fn build_team(dice: &mut Dice<'_>, eligible: &[Email]) -> TeamState {
    let mut team = TeamState {
        name: dice.text("Team", 2).unwrap_or_else(|| "Team".into()),
        ..TeamState::default()
    };
    for product in TEAM_PRODUCTS {
        if product == TEAM_PRODUCTS[0] || dice.flag() {
            let seats = u32::try_from(dice.below(4)).unwrap() + 1;
            let direct: BTreeSet<Email> = dice
                .subset(eligible)
                .into_iter()
                .take(seats as usize)
                .collect();
            team.users.extend(direct.iter().cloned());
            team.pools.insert(
                product.to_owned(),
                PoolState {
                    seats: Some(seats),
                    direct,
                    ..PoolState::default()
                },
            );
        }
    }
    team.users.extend(dice.subset(eligible));
    team
}

fn build_member(
    dice: &mut Dice<'_>,
    side: Side,
    companies: &[String],
    roles: &[String],
    role_access: &BTreeMap<String, RoleState>,
) -> MemberState {
    let company = companies[dice.below(companies.len())].clone();
    let role = roles[dice.below(roles.len())].clone();
    let access = if dice.flag() {
        dice.subset(&ACCESS)
    } else {
        role_access[&role].default_access.clone()
    };
    let inactive = dice.below(4) == 3;
    let mut member = MemberState {
        first_name: dice.text("First", 2),
        company: Some(company),
        role: Some(role),
        external_subscriptions: dice.subset(&["Revit".to_owned(), "Civil 3D".to_owned()]),
        status: if inactive {
            MemberStatus::Inactive
        } else {
            MemberStatus::Active
        },
        access,
        ..MemberState::default()
    };
    // The backend-owned facts are rolled on both sides, so that the same dice build
    // the same configuration-side state whatever the side (nearby pairs stay nearby).
    let (roll, days) = (dice.below(3), i64::from(dice.next() % 10));
    if side == Side::Backend && !inactive {
        match roll {
            0 => member.signed_in = true,
            1 => {
                member.status = MemberStatus::Pending;
                member.invited_at = Some(NOW - days * DAY);
            }
            _ if member.access.is_empty() => member.status = MemberStatus::NotInvited,
            _ => {
                member.status = MemberStatus::Pending;
                member.invited_at = Some(NOW - DAY);
            }
        }
    }
    member
}

/// The members who may hold things: present and not inactive (R07).
fn eligible(state: &State) -> Vec<Email> {
    state
        .members
        .iter()
        .filter(|(_, m)| !m.status.is_inactive())
        .map(|(e, _)| e.clone())
        .collect()
}

/// Makes an edited state satisfy R02-R10 again: an admin remains, role holders are
/// members who are not inactive, lists hold only such members and fit their limits.
fn repair(state: &mut State) {
    ensure_admin(state);
    let eligible = eligible(state);
    let ok = |e: &Email| eligible.contains(e);
    for agreement in state.agreements.values_mut() {
        if !ok(&agreement.contract_manager) {
            agreement.contract_manager = eligible[0].clone();
        }
        if !ok(&agreement.software_coordinator) {
            agreement.software_coordinator = agreement.contract_manager.clone();
        }
        for product in agreement.products.values_mut() {
            let seats = product.seats.map_or(usize::MAX, |n| n as usize);
            product.assigned = product
                .assigned
                .iter()
                .filter(|e| ok(e))
                .take(seats)
                .cloned()
                .collect();
        }
        for users in agreement.cloud_services.values_mut() {
            *users = users.iter().filter(|e| ok(e)).take(3).cloned().collect();
        }
        let support_limit = usize::try_from(agreement.licences() * 6).unwrap();
        agreement.support = agreement
            .support
            .iter()
            .filter(|e| ok(e))
            .take(support_limit)
            .cloned()
            .collect();
    }
    for project in state.projects.values_mut() {
        project.members.retain(|e, _| ok(e));
    }
    // R07 for teams: inactive members hold no team seat and are on no team.
    for team in state.teams.values_mut() {
        team.users.retain(ok);
        for pool in team.pools.values_mut() {
            let seats = pool.seats.map_or(usize::MAX, |n| n as usize);
            pool.direct = pool
                .direct
                .iter()
                .filter(|e| ok(e))
                .take(seats)
                .cloned()
                .collect();
            team.users.extend(pool.direct.iter().cloned());
        }
    }
}

/// The configuration-side view of a backend state: what a configuration exported
/// from it would compile to.
fn as_configured(state: &State) -> State {
    let mut state = state.clone();
    for member in state.members.values_mut() {
        if !member.status.is_inactive() {
            member.status = MemberStatus::Active;
        }
        member.invited_at = None;
        member.signed_in = false;
    }
    state
}

fn pick<T: Clone>(dice: &mut Dice<'_>, items: impl IntoIterator<Item = T>) -> Option<T> {
    let items: Vec<T> = items.into_iter().collect();
    (!items.is_empty()).then(|| items[dice.below(items.len())].clone())
}

/// A few targeted edits of `current` as a configuration would make them: seat swaps,
/// role transfers, deactivations, removals, licence changes, record changes, project
/// changes, role defaults, newcomers. The result is repaired to satisfy R02-R10.
fn edited(current: &State, dice: &mut Dice<'_>) -> State {
    let mut state = as_configured(current);
    for _ in 0..=dice.below(4) {
        // Swaps are drawn more often: on full lists, they are where order matters.
        match dice.below(13) {
            0 | 10 => swap_seat(&mut state, dice),
            1 => transfer_roles(&mut state, dice),
            2 => deactivate(&mut state, dice),
            3 => undeclare(&mut state, dice),
            4 => change_licences(&mut state, dice),
            5 => change_record(&mut state, dice),
            6 => change_project(&mut state, dice),
            7 => change_role_default(&mut state, dice),
            9 => add_newcomer(&mut state, dice),
            12 => change_team(&mut state, dice),
            _ => swap_service_or_support(&mut state, dice),
        }
    }
    repair(&mut state);
    state
}

/// One team's seat given to someone else, its pool resized, or a user added.
fn change_team(state: &mut State, dice: &mut Dice<'_>) {
    let eligible = eligible(state);
    let Some(id) = pick(dice, state.teams.keys().cloned()) else {
        return;
    };
    let team = state.teams.get_mut(&id).expect("picked");
    let Some(product) = pick(dice, team.pools.keys().cloned()) else {
        return;
    };
    let pool = team.pools.get_mut(&product).expect("picked");
    match dice.below(3) {
        0 => swap_one(&mut pool.direct, &eligible, dice),
        1 => pool.seats = Some(u32::try_from(dice.below(4)).unwrap() + 1),
        _ => {
            if let Some(user) = pick(dice, eligible) {
                team.users.insert(user);
            }
        }
    }
}

/// Replaces one member of `list` by someone eligible who is not on it.
fn swap_one(list: &mut BTreeSet<Email>, eligible: &[Email], dice: &mut Dice<'_>) {
    let outsiders: Vec<Email> = eligible
        .iter()
        .filter(|e| !list.contains(*e))
        .cloned()
        .collect();
    if let (Some(out), Some(new)) = (pick(dice, list.clone()), pick(dice, outsiders)) {
        list.remove(&out);
        list.insert(new);
    }
}

fn some_agreement<'s>(state: &'s mut State, dice: &mut Dice<'_>) -> Option<&'s mut AgreementState> {
    let number = pick(dice, state.agreements.keys().cloned())?;
    state.agreements.get_mut(&number)
}

fn swap_seat(state: &mut State, dice: &mut Dice<'_>) {
    let members = eligible(state);
    let Some(agreement) = some_agreement(state, dice) else {
        return;
    };
    let Some(product) = pick(dice, agreement.products.keys().cloned()) else {
        return;
    };
    swap_one(
        &mut agreement.products.get_mut(&product).unwrap().assigned,
        &members,
        dice,
    );
}

fn swap_service_or_support(state: &mut State, dice: &mut Dice<'_>) {
    let members = eligible(state);
    let Some(agreement) = some_agreement(state, dice) else {
        return;
    };
    let list = match pick(dice, agreement.cloud_services.keys().cloned()) {
        Some(service) if dice.below(4) > 0 => agreement.cloud_services.get_mut(&service).unwrap(),
        _ => &mut agreement.support,
    };
    swap_one(list, &members, dice);
}

/// Transfers the contract manager; the coordinator follows when it was the same person.
fn transfer_roles(state: &mut State, dice: &mut Dice<'_>) {
    let Some(to) = pick(dice, eligible(state)) else {
        return;
    };
    let Some(agreement) = some_agreement(state, dice) else {
        return;
    };
    if agreement.software_coordinator == agreement.contract_manager || dice.flag() {
        agreement.software_coordinator = to.clone();
    }
    agreement.contract_manager = to;
}

fn deactivate(state: &mut State, dice: &mut Dice<'_>) {
    if let Some(email) = pick(dice, eligible(state)) {
        state.members.get_mut(&email).unwrap().status = MemberStatus::Inactive;
    }
}

/// Takes a member out of the configuration (pruned when `prune` is on).
fn undeclare(state: &mut State, dice: &mut Dice<'_>) {
    let Some(email) = pick(dice, state.members.keys().cloned()) else {
        return;
    };
    state.members.remove(&email);
    // `repair` takes them off every list, as a valid configuration would.
}

fn change_licences(state: &mut State, dice: &mut Dice<'_>) {
    let Some(agreement) = some_agreement(state, dice) else {
        return;
    };
    if let Some(product) = pick(dice, agreement.products.keys().cloned()) {
        agreement.products.get_mut(&product).unwrap().seats = Some(u32::from(dice.next() % 5));
    }
}

fn change_record(state: &mut State, dice: &mut Dice<'_>) {
    let roles: Vec<String> = state.roles.keys().cloned().collect();
    let Some(email) = pick(dice, state.members.keys().cloned()) else {
        return;
    };
    let member = state.members.get_mut(&email).unwrap();
    member.access = dice.subset(&ACCESS);
    member.role = pick(dice, roles);
    if member.status.is_inactive() && dice.flag() {
        member.status = MemberStatus::Active;
    }
}

/// Adds someone to a project, changes their entry, or takes them off.
fn change_project(state: &mut State, dice: &mut Dice<'_>) {
    let members = eligible(state);
    let Some(name) = pick(dice, state.projects.keys().cloned()) else {
        return;
    };
    let Some(email) = pick(dice, members) else {
        return;
    };
    let project = state.projects.get_mut(&name).unwrap();
    if project.members.contains_key(&email) && dice.flag() {
        project.members.remove(&email);
        return;
    }
    let mut products = dice.subset(&EXTRA_PRODUCTS);
    products.insert(ProjectProduct::Docs);
    let access = if dice.flag() {
        ProjectAccess::Admin
    } else {
        ProjectAccess::Member
    };
    project
        .members
        .insert(email, ProjectMemberState { access, products });
}

/// A role's defaults change: its members who used the old default follow.
fn change_role_default(state: &mut State, dice: &mut Dice<'_>) {
    let Some(role) = pick(dice, state.roles.keys().cloned()) else {
        return;
    };
    let old = state.roles[&role].default_access.clone();
    let new = dice.subset(&ACCESS);
    for member in state.members.values_mut() {
        if member.role.as_deref() == Some(role.as_str()) && member.access == old {
            member.access.clone_from(&new);
        }
    }
    state.roles.get_mut(&role).unwrap().default_access = new;
}

/// A newcomer (where an address is free), with a seat of the first product.
fn add_newcomer(state: &mut State, dice: &mut Dice<'_>) {
    let free: Vec<usize> = (0..MEMBERS)
        .filter(|&i| !state.members.contains_key(&email(i)))
        .collect();
    let Some(i) = pick(dice, free) else { return };
    let newcomer = MemberState {
        company: state.companies.keys().next().cloned(),
        role: state.roles.keys().next().cloned(),
        access: dice.subset(&ACCESS),
        ..MemberState::default()
    };
    state.members.insert(email(i), newcomer);
    let first_product = state
        .agreements
        .values_mut()
        .next()
        .and_then(|a| a.products.values_mut().next());
    if let Some(product) = first_product {
        product.assigned.insert(email(i));
    }
}

/// R10: the first member who is not inactive (or m0, made active) gets account_admin.
fn ensure_admin(state: &mut State) {
    let has_admin = state
        .members
        .values()
        .any(|m| !m.status.is_inactive() && m.access.contains(&AccessLevel::AccountAdmin));
    if has_admin {
        return;
    }
    if !state.members.values().any(|m| !m.status.is_inactive()) {
        // Nobody who could be admin: bring m0 (back) as an active member.
        let company = state.companies.keys().next().cloned();
        let role = state.roles.keys().next().cloned();
        let m0 = state
            .members
            .entry(email(0))
            .or_insert_with(|| MemberState {
                company,
                role,
                ..MemberState::default()
            });
        m0.status = MemberStatus::Active;
        m0.signed_in = true;
    }
    let admin = state
        .members
        .values_mut()
        .find(|m| !m.status.is_inactive())
        .expect("one is active");
    admin.access.insert(AccessLevel::AccountAdmin);
}

fn build_agreement(dice: &mut Dice<'_>, eligible: &[Email]) -> AgreementState {
    let contract_manager = eligible[dice.below(eligible.len())].clone();
    let software_coordinator = if dice.flag() {
        eligible[dice.below(eligible.len())].clone()
    } else {
        contract_manager.clone()
    };
    let mut agreement = AgreementState {
        name: format!("Agreement {}", dice.below(2)),
        contract_manager,
        software_coordinator,
        ..AgreementState::default()
    };
    for p in 0..2 {
        if dice.flag() {
            let seats = dice.below(4);
            let assigned = dice.subset(eligible).into_iter().take(seats).collect();
            let seats = Some(u32::try_from(seats).unwrap());
            agreement
                .products
                .insert(format!("P{p}"), ProductState { seats, assigned });
        }
    }
    if dice.flag() {
        // Often full (R05: 3 users), where the order of un-assignments matters.
        let users = if dice.flag() {
            eligible.iter().rev().take(3).cloned().collect()
        } else {
            dice.subset(eligible).into_iter().take(3).collect()
        };
        agreement.cloud_services.insert("S0".into(), users);
    }
    let support_limit = usize::try_from(agreement.licences() * 6).unwrap(); // R06
    agreement.support = dice
        .subset(eligible)
        .into_iter()
        .take(support_limit)
        .collect();
    agreement
}

fn build_desired(dice: &mut Dice<'_>) -> Desired {
    let state = build(dice, Side::Configuration);
    Desired {
        state,
        prune: dice.flag(),
        max_removals: MaxRemovals {
            limit: 100,
            ..MaxRemovals::default()
        },
        ..Desired::default()
    }
}

fn options(bulk_limit: usize) -> DiffOptions {
    DiffOptions {
        now: NOW,
        limits: accord::contract::Limits::uniform(bulk_limit),
        ..DiffOptions::default()
    }
}

fn store_holding(current: &State, bulk_limit: usize) -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = Arc::new(ManualClock::new(NOW));
    let mut store = SqliteStore::open(dir.path().join("state.db"), clock).expect("open store");
    store.set_bulk_limit(bulk_limit);
    store.import_state(current).expect("seed the store");
    (dir, store)
}

/// The plan's batches, as the backend receives them.
fn batches(plan: &Plan) -> Vec<Vec<Op>> {
    let mut batches: Vec<Vec<Op>> = vec![Vec::new(); plan.batches];
    for operation in &plan.operations {
        batches[operation.batch].push(operation.op.clone());
    }
    batches
}

/// Plans, or `None` when R11 refuses the plan (an exiting member holds a role of an
/// agreement the configuration does not declare: that refusal is right).
fn plan_or_r11(current: &State, desired: &Desired, options: &DiffOptions) -> Option<Plan> {
    match diff(current, desired, options) {
        Ok(plan) => Some(plan),
        Err(Refusal::Rules(plan)) => {
            for refusal in &plan.refusals {
                assert_eq!(refusal.code, Code::R11, "unexpected refusal: {refusal}");
                let undeclared = current.agreements.keys().any(|n| {
                    !desired.state.agreements.contains_key(n)
                        && refusal.message.contains(&format!("agreement {n},"))
                });
                assert!(undeclared, "R11 without an undeclared agreement: {refusal}");
            }
            None
        }
        Err(other) => panic!("unexpected refusal: {other}"),
    }
}

fn describe(current: &State, desired: &Desired, plan: &Plan) -> String {
    format!(
        "current: {current:#?}\ndesired (prune {}): {:#?}\nplan:\n{}",
        desired.prune,
        desired.state,
        accord::plan::render::text(plan, false)
    )
}

/// The text field after the plan: the configured value, or the backend's when left out.
fn expect_text(before: Option<&Option<String>>, wanted: &Option<String>) -> Option<String> {
    wanted.clone().or_else(|| before.cloned().flatten())
}

/// `after` is what the configuration asks of `current`: declared parts exactly,
/// undeclared parts as they were (less what leaving members held).
fn assert_converged(current: &State, desired: &Desired, after: &State) {
    let wanted = &desired.state;
    for (name, company) in &wanted.companies {
        let before = current.companies.get(name).map(|c| &c.trade);
        assert_eq!(
            after.companies[name].trade,
            expect_text(before, &company.trade),
            "company {name}"
        );
    }
    for (name, role) in &wanted.roles {
        assert_eq!(after.roles[name], *role, "role {name}");
    }
    let leaving = assert_members_converged(current, desired, after);
    assert_agreements_converged(current, wanted, after, &leaving);
    for (name, project) in &current.projects {
        if !wanted.projects.contains_key(name) {
            let mut expected = project.clone();
            expected.members.retain(|e, _| !leaving.contains(e));
            assert_eq!(
                after.projects.get(name),
                Some(&expected),
                "undeclared project {name}"
            );
        }
    }
    for (name, project) in &wanted.projects {
        assert_eq!(after.projects.get(name), Some(project), "project {name}");
    }
    for (id, team) in &wanted.teams {
        let got = after.teams.get(id).unwrap_or_else(|| panic!("team {id}"));
        assert!(team.users.is_subset(&got.users), "team {id}'s users");
        for (product, pool) in &team.pools {
            let live = &got.pools[product];
            assert_eq!(
                live.direct, pool.direct,
                "team {id} {product}'s direct seats"
            );
            assert_eq!(live.seats, pool.seats, "team {id} {product}'s seats");
        }
    }
}

/// Checks the members; returns those who left (removed or deactivated).
fn assert_members_converged(current: &State, desired: &Desired, after: &State) -> BTreeSet<Email> {
    let wanted = &desired.state;
    for (email, member) in &wanted.members {
        let got = after
            .members
            .get(email)
            .unwrap_or_else(|| panic!("{email} is missing"));
        let before = current.members.get(email);
        let first_name = expect_text(before.map(|b| &b.first_name), &member.first_name);
        assert_eq!(got.first_name, first_name, "{email}");
        assert_eq!(got.company, member.company, "{email}");
        assert_eq!(got.role, member.role, "{email}");
        assert_eq!(got.access, member.access, "{email}");
        assert_eq!(
            got.external_subscriptions, member.external_subscriptions,
            "{email}"
        );
        assert_eq!(
            got.status.is_inactive(),
            member.status.is_inactive(),
            "{email} status"
        );
    }
    let mut leaving = BTreeSet::new();
    for (email, member) in &current.members {
        match wanted.members.get(email) {
            Some(wanted) => {
                if !member.status.is_inactive() && wanted.status.is_inactive() {
                    leaving.insert(email.clone());
                }
            }
            None if desired.prune => {
                assert!(
                    !after.members.contains_key(email),
                    "{email} should have been pruned"
                );
                leaving.insert(email.clone());
            }
            None => assert_eq!(
                after.members.get(email),
                Some(member),
                "{email} should be left alone"
            ),
        }
    }
    leaving
}

fn assert_agreements_converged(
    current: &State,
    wanted: &State,
    after: &State,
    leaving: &BTreeSet<Email>,
) {
    for (number, agreement) in &current.agreements {
        if wanted.agreements.contains_key(number) {
            continue;
        }
        let mut expected = agreement.clone();
        for product in expected.products.values_mut() {
            product.assigned.retain(|e| !leaving.contains(e));
        }
        for users in expected.cloud_services.values_mut() {
            users.retain(|e| !leaving.contains(e));
        }
        expected.support.retain(|e| !leaving.contains(e));
        assert_eq!(
            after.agreements.get(number),
            Some(&expected),
            "undeclared agreement {number}"
        );
    }
    for (number, agreement) in &wanted.agreements {
        assert_agreement_converged(number, agreement, &after.agreements[number]);
    }
}

fn assert_agreement_converged(number: &str, agreement: &AgreementState, got: &AgreementState) {
    let none = BTreeSet::new();
    assert_eq!(got.name, agreement.name, "{number}");
    assert_eq!(got.contract_manager, agreement.contract_manager, "{number}");
    assert_eq!(
        got.software_coordinator, agreement.software_coordinator,
        "{number}"
    );
    let products: BTreeSet<&String> = got
        .products
        .keys()
        .chain(agreement.products.keys())
        .collect();
    for product in products {
        let want = agreement.products.get(product);
        let have = got.products.get(product);
        let assigned = |p: Option<&ProductState>| p.map_or(&none, |p| &p.assigned).clone();
        assert_eq!(assigned(have), assigned(want), "{number}/{product}");
        if let Some(seats) = want.and_then(|p| p.seats) {
            // A product the backend does not list has no seats.
            assert_eq!(
                have.and_then(|p| p.seats).unwrap_or(0),
                seats,
                "{number}/{product} seats"
            );
        }
    }
    let services: BTreeSet<&String> = got
        .cloud_services
        .keys()
        .chain(agreement.cloud_services.keys())
        .collect();
    for service in services {
        assert_eq!(
            got.cloud_services.get(service).unwrap_or(&none),
            agreement.cloud_services.get(service).unwrap_or(&none),
            "{number}/{service}"
        );
    }
    assert_eq!(got.support, agreement.support, "{number} support");
}

fn dice() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..160)
}

/// Dice for `current` and for `desired`: unrelated (large plans, many creations), or
/// the same dice with a few edits (small plans: updates, swaps, transfers, removals).
fn dice_pair() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    let unrelated = (dice(), dice());
    let nearby = (
        dice(),
        proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
    )
        .prop_map(|(current, edits)| {
            let mut desired = current.clone();
            if !desired.is_empty() {
                for (at, value) in edits {
                    let at = at % desired.len();
                    desired[at] = value;
                }
            }
            (current, desired)
        });
    prop_oneof![unrelated, nearby]
}

/// How `desired` is made from its dice.
#[derive(Debug, Clone, Copy)]
enum Pairing {
    /// Built from its own dice, like `current`.
    Built,
    /// `current` as configured, with a few targeted edits.
    Edited,
}

fn pairing() -> impl Strategy<Value = Pairing> {
    prop_oneof![Just(Pairing::Built), Just(Pairing::Edited)]
}

fn pair(current_dice: &[u8], desired_dice: &[u8], pairing: Pairing) -> (State, Desired) {
    let current = build(
        &mut Dice {
            bytes: current_dice,
            at: 0,
        },
        Side::Backend,
    );
    let mut dice = Dice {
        bytes: desired_dice,
        at: 0,
    };
    let desired = match pairing {
        Pairing::Built => build_desired(&mut dice),
        Pairing::Edited => Desired {
            state: edited(&current, &mut dice),
            prune: dice.flag(),
            max_removals: MaxRemovals {
                limit: 100,
                ..MaxRemovals::default()
            },
            ..Desired::default()
        },
    };
    (current, desired)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn carrying_out_the_plan_on_the_store_yields_the_desired_state(
        (current_dice, desired_dice) in dice_pair(),
        pairing in pairing(),
        bulk_limit in 1usize..5,
    ) {
        let (current, desired) = pair(&current_dice, &desired_dice, pairing);
        let options = options(bulk_limit);
        let Some(plan) = plan_or_r11(&current, &desired, &options) else { return Ok(()) };
        let (_dir, mut store) = store_holding(&current, bulk_limit);
        for batch in batches(&plan) {
            let outcomes = store.execute(&batch).expect("the store takes the batch");
            for (op, outcome) in batch.iter().zip(&outcomes) {
                prop_assert_eq!(
                    outcome, &Outcome::Done,
                    "{} {} was not done\n{}", op.name(), op.target(), describe(&current, &desired, &plan)
                );
            }
        }
        let after = store.fetch().expect("fetch").state;
        assert_converged(&current, &desired, &after);
        let again = diff(&after, &desired, &options).expect("a second plan");
        prop_assert!(again.is_empty(), "not converged: {:?}\n{}", super::fixtures::ops(&again), describe(&current, &desired, &plan));
    }

}

proptest! {
    // Each case carries out its plan once per operation: fewer cases.
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_operation_is_redundant((current_dice, desired_dice) in dice_pair(), pairing in pairing()) {
        let (current, desired) = pair(&current_dice, &desired_dice, pairing);
        let options = options(100);
        let Some(plan) = plan_or_r11(&current, &desired, &options) else { return Ok(()) };
        prop_assume!(!plan.is_empty() && plan.operations.len() <= 12);
        let (_dir, mut store) = store_holding(&current, 100);
        for dropped in 0..plan.operations.len() {
            store.import_state(&current).expect("reset the store");
            for batch in batches(&plan) {
                let kept: Vec<Op> = batch
                    .into_iter()
                    .filter(|op| *op != plan.operations[dropped].op)
                    .collect();
                if !kept.is_empty() {
                    store.execute(&kept).expect("the store takes the batch");
                }
            }
            let after = store.fetch().expect("fetch").state;
            let again = diff(&after, &desired, &options);
            let short = !matches!(&again, Ok(plan) if plan.is_empty());
            let op = &plan.operations[dropped];
            prop_assert!(short, "{} {} is redundant\n{}", op.op.name(), op.target, describe(&current, &desired, &plan));
        }
    }
}

/// Writes `accord export`'s files for `state` into a fresh directory and validates them.
fn export_and_validate(
    state: &State,
) -> Result<(tempfile::TempDir, accord::validate::Validated), TestCaseError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = accord::export::files(state, "# exported by the export property\n", 0);
    for (name, text) in &files {
        std::fs::write(dir.path().join(name), text).expect("write an exported file");
    }
    match accord::validate::validate(dir.path(), &accord::config::LoadOptions::default()) {
        Ok(validated) => Ok((dir, validated)),
        Err(diagnostics) => {
            let problems: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
            let texts: Vec<String> = files
                .iter()
                .map(|(name, text)| format!("--- {name}\n{text}"))
                .collect();
            Err(TestCaseError::fail(format!(
                "the export does not validate:\n{}\n{}",
                problems.join("\n"),
                texts.join("")
            )))
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// `accord export` then `accord plan` changes nothing: a generated backend state
    /// imported into a fresh store, exported from the store's snapshot, validates, and
    /// the plan of that configuration against the same snapshot (options from the
    /// store's capabilities and clock) is empty. The one exception is drift the export
    /// cannot carry: an expired invitation is re-sent, exactly once per such member.
    #[test]
    fn exporting_then_planning_changes_nothing(state_dice in dice()) {
        let state = build(&mut Dice { bytes: &state_dice, at: 0 }, Side::Backend);
        let (_store_dir, mut store) = store_holding(&state, accord::plan::DEFAULT_BULK_LIMIT);
        let snapshot = store.fetch().expect("fetch");
        prop_assert_eq!(&snapshot.state, &state, "the store gives back what it was given");
        let (_config_dir, validated) = export_and_validate(&snapshot.state)?;
        let capabilities = store.capabilities();
        let options = DiffOptions::for_backend(&capabilities, snapshot.now, None);
        let plan = match diff(&snapshot.state, &validated.desired, &options) {
            Ok(plan) => plan,
            Err(refusal) => {
                return Err(TestCaseError::fail(format!(
                    "the plan of an export is refused: {refusal}\n{:?}\nstate: {:#?}",
                    refusal.diagnostics(),
                    snapshot.state
                )));
            }
        };
        let resends: Vec<(&str, String)> = snapshot
            .state
            .members
            .iter()
            .filter(|(_, m)| m.invitation_expired(snapshot.now))
            .map(|(email, _)| ("member.resend_invite", email.to_string()))
            .collect();
        let planned: Vec<(&str, String)> = plan
            .operations
            .iter()
            .map(|o| (o.op.name(), o.target.clone()))
            .collect();
        prop_assert_eq!(
            planned, resends,
            "state: {:#?}\nplan:\n{}", snapshot.state, accord::plan::render::text(&plan, false)
        );
        // And the configuration compiles to the state, less the backend-owned facts.
        prop_assert_eq!(&validated.desired.state, &as_configured(&snapshot.state));
    }
}

/// The account service serving `current` from a store in `dir` on 127.0.0.1:0, on
/// the test's clock, failing `fraction` of its requests (before or after carrying
/// them out) as `seed` draws; answers its URL.
async fn service_holding(
    dir: &std::path::Path,
    current: &State,
    fraction: f64,
    seed: u64,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    use accord::service::{Service, ServiceOptions, Tokens};
    let db = dir.join("state.db");
    let clock = Arc::new(ManualClock::new(NOW));
    let mut store = SqliteStore::open(&db, clock.clone()).expect("open store");
    store.import_state(current).expect("seed the store");
    drop(store);
    let tokens = Tokens::parse(&format!("write {HTTP_TOKEN} props\n"), "props").expect("tokens");
    let mut options = ServiceOptions::new(&db, tokens);
    options.faults = Some((fraction, seed));
    let service = Service::open(options, clock).expect("open the service");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(service.run(listener, async move {
        let _ = stopped.await;
    }));
    (url, stop)
}

const HTTP_TOKEN: &str = "props-token-not-a-secret";

proptest! {
    // Each case starts a service and applies through accord's executor, waiting out
    // the service's `Retry-After: 1` on its injected 429s: few cases.
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    /// Issue 11: plan -> apply -> plan is empty over HTTP too, with a fifth of the
    /// service's requests failing (500, 503, 429 or a dropped connection, before or
    /// after the service carried them out), teams included: the executor's retries,
    /// idempotency keys and the verification converge in one run.
    #[test]
    fn over_http_with_faults_the_plan_carried_out_converges(
        (current_dice, desired_dice) in dice_pair(),
        pairing in pairing(),
        seed in any::<u64>(),
    ) {
        use accord::apply::executor::ExecuteOptions;
        use accord::apply::progress::Silent;
        use accord::apply::Stop;
        use accord::backend::http::HttpBackend;
        use accord::pipeline::{self, CarryOut, PlanOptions};

        let (current, desired) = pair(&current_dice, &desired_dice, pairing);
        // R11 refusals are the store property's business; they refuse here as well.
        let Some(plan) = plan_or_r11(&current, &desired, &options(100)) else { return Ok(()) };
        let dir = tempfile::tempdir().expect("temp dir");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let (converged, again) = runtime.block_on(async {
            let (url, stop) = service_holding(dir.path(), &current, 0.2, seed).await;
            // Retries back off from 20 ms, not 250 ms: the faults are many, the test short.
            let calls = accord::call::CallOptions {
                retry: accord::call::RetryPolicy {
                    initial_delay: std::time::Duration::from_millis(20),
                    max_delay: std::time::Duration::from_millis(200),
                    ..accord::call::RetryPolicy::default()
                },
                ..accord::call::CallOptions::default()
            };
            let backend: Arc<dyn accord::backend::Backend> = Arc::new(
                HttpBackend::connect_with(&url, HTTP_TOKEN, calls).await.expect("connect"),
            );
            let options = PlanOptions { max_removals: Some(100), ..PlanOptions::default() };
            let checked = pipeline::check(backend.as_ref(), &desired, options)
                .await
                .expect("a plan over HTTP");
            let carry = CarryOut {
                holder: "props".into(),
                runs_dir: dir.path().join("runs"),
                execute: ExecuteOptions::default(),
                progress: Arc::new(Silent),
                stop: Stop::default(),
                started: tokio::time::Instant::now(),
            };
            let summary = pipeline::carry_out(Arc::clone(&backend), checked.plan.clone(), &checked, carry)
                .await
                .expect("carried out");
            let again = pipeline::check(backend.as_ref(), &desired, options)
                .await
                .expect("a second plan");
            let _ = stop.send(());
            (summary.converged, again.plan)
        });
        prop_assert!(converged, "not converged in one run\n{}", describe(&current, &desired, &plan));
        prop_assert!(again.is_empty(), "left: {:?}\n{}", super::fixtures::ops(&again), describe(&current, &desired, &plan));
    }
}
