//! States and desired states built in code, for plan tests: no files, no backend.

use std::collections::{BTreeMap, BTreeSet};

use accord::desired::{Declared, Desired};
use accord::diagnostic::Location;
use accord::plan::{DiffOptions, Plan, Refusal, diff};
use accord::state::{
    AccessLevel, AccountInfo, AgreementState, CompanyState, Email, MemberState, MemberStatus,
    ProductState, ProjectAccess, ProjectMemberState, ProjectProduct, ProjectState, RoleState,
    State,
};

/// The file every declaration of a test configuration is "in".
pub const FILE: &str = "accord.yaml";

/// The backend clock of most tests.
pub const NOW: i64 = 1_700_000_000;

/// The agreement of the base account.
pub const AEC: &str = "110001234567";

pub fn email(raw: &str) -> Email {
    Email::new(raw)
}

pub fn emails(raw: &[&str]) -> BTreeSet<Email> {
    raw.iter().map(|e| email(e)).collect()
}

/// An active member who has signed in.
pub fn member(company: &str, role: &str, access: &[AccessLevel]) -> MemberState {
    MemberState {
        company: Some(company.into()),
        role: Some(role.into()),
        access: access.iter().copied().collect(),
        status: MemberStatus::Active,
        signed_in: true,
        ..MemberState::default()
    }
}

pub fn admin() -> MemberState {
    member("ACME", "BIM Manager", &[AccessLevel::AccountAdmin])
}

pub fn architect() -> MemberState {
    member("ACME", "Architect", &[])
}

pub fn project_member(access: ProjectAccess, products: &[ProjectProduct]) -> ProjectMemberState {
    let mut products: BTreeSet<_> = products.iter().copied().collect();
    products.insert(ProjectProduct::Docs);
    ProjectMemberState { access, products }
}

/// The account both sides start from: alice (admin), bob and carol; agreement AEC with
/// AutoCAD (2 seats: alice, bob), Revit (3 seats: carol), Cloud Rendering (alice) and
/// support (alice); project Tower A (alice admin with build, bob member).
pub fn account() -> State {
    let mut state = State {
        account: AccountInfo {
            id: "acme-eu".into(),
            name: "ACME Architects".into(),
        },
        ..State::default()
    };
    state.companies.insert(
        "ACME".into(),
        CompanyState {
            trade: Some("Architecture".into()),
        },
    );
    state.roles.insert(
        "BIM Manager".into(),
        RoleState {
            default_access: [AccessLevel::AccountAdmin].into(),
        },
    );
    state.roles.insert("Architect".into(), RoleState::default());
    state.members.insert(email("alice@acme.example"), admin());
    state.members.insert(email("bob@acme.example"), architect());
    state
        .members
        .insert(email("carol@acme.example"), architect());
    let mut agreement = AgreementState {
        name: "AEC Collection".into(),
        contract_manager: email("alice@acme.example"),
        software_coordinator: email("alice@acme.example"),
        ..AgreementState::default()
    };
    agreement.products.insert(
        "AutoCAD".into(),
        ProductState {
            seats: Some(2),
            assigned: emails(&["alice@acme.example", "bob@acme.example"]),
        },
    );
    agreement.products.insert(
        "Revit".into(),
        ProductState {
            seats: Some(3),
            assigned: emails(&["carol@acme.example"]),
        },
    );
    agreement
        .cloud_services
        .insert("Cloud Rendering".into(), emails(&["alice@acme.example"]));
    agreement.support = emails(&["alice@acme.example"]);
    state.agreements.insert(AEC.into(), agreement);
    let mut tower = ProjectState::default();
    tower.members.insert(
        email("alice@acme.example"),
        project_member(ProjectAccess::Admin, &[ProjectProduct::Build]),
    );
    tower.members.insert(
        email("bob@acme.example"),
        project_member(ProjectAccess::Member, &[]),
    );
    state.projects.insert("Tower A".into(), tower);
    state
}

/// A desired state as compiled from a configuration: backend-owned facts cleared, every
/// declaration recorded at its own line of [`FILE`] (in a fixed order), so a test can
/// check an operation cites exactly the declaration it should.
pub fn desired(state: &State) -> Desired {
    let mut state = state.clone();
    for member in state.members.values_mut() {
        member.invited_at = None;
        member.signed_in = false;
        if member.status != MemberStatus::Inactive {
            member.status = MemberStatus::Active;
        }
    }
    let mut desired = Desired {
        state,
        ..Desired::default()
    };
    declare_all(&mut desired);
    desired
}

/// Records a location for every declaration of `desired.state` (lines from 1, in order).
pub fn declare_all(desired: &mut Desired) {
    let mut entries: Vec<(Declared, String)> = Vec::new();
    let state = &desired.state;
    entries.push((Declared::Account, state.account.id.clone()));
    entries.extend(
        state
            .companies
            .keys()
            .map(|n| (Declared::Company, n.clone())),
    );
    entries.extend(state.roles.keys().map(|n| (Declared::Role, n.clone())));
    entries.push((Declared::MembersSection, String::new()));
    entries.extend(
        state
            .members
            .keys()
            .map(|e| (Declared::Member, e.to_string())),
    );
    for (number, agreement) in &state.agreements {
        entries.push((Declared::Agreement, number.clone()));
        entries.push((Declared::ContractManager, number.clone()));
        entries.push((Declared::SoftwareCoordinator, number.clone()));
        for (product, p) in &agreement.products {
            entries.push((Declared::Product, format!("{number}/{product}")));
            for e in &p.assigned {
                entries.push((Declared::Seat, format!("{number}/{product}/{e}")));
            }
        }
        for (service, holders) in &agreement.cloud_services {
            for e in holders {
                entries.push((Declared::CloudService, format!("{number}/{service}/{e}")));
            }
        }
        for e in &agreement.support {
            entries.push((Declared::Support, format!("{number}/{e}")));
        }
    }
    for (name, project) in &state.projects {
        entries.push((Declared::Project, name.clone()));
        for e in project.members.keys() {
            entries.push((Declared::ProjectMember, format!("{name}/{e}")));
        }
    }
    for (id, team) in &state.teams {
        entries.push((Declared::Team, id.clone()));
        for e in &team.users {
            entries.push((Declared::TeamMember, format!("{id}/{e}")));
        }
        for (product, pool) in &team.pools {
            entries.push((Declared::TeamPool, format!("{id}/{product}")));
            for e in &pool.direct {
                entries.push((Declared::TeamSeat, format!("{id}/{product}/{e}")));
            }
        }
    }
    for e in &desired.protected {
        entries.push((Declared::Protected, e.to_string()));
    }
    let first_free = u32::try_from(desired.provenance.len()).unwrap() + 1;
    for (i, (kind, target)) in entries.into_iter().enumerate() {
        let line = first_free + u32::try_from(i).unwrap();
        desired
            .provenance
            .record(kind, target, Some(Location::new(FILE, line, 3)));
    }
}

/// `file:line` of a declaration, as plan provenance writes it.
pub fn cited(desired: &Desired, kind: Declared, target: &str) -> String {
    desired
        .provenance
        .get(kind, target)
        .unwrap_or_else(|| panic!("{kind:?} {target} is not declared"))
        .file_line()
}

pub fn options() -> DiffOptions {
    DiffOptions {
        now: NOW,
        ..DiffOptions::default()
    }
}

/// Plans with the default options, expecting a plan.
pub fn plan(current: &State, desired: &Desired) -> Plan {
    plan_with(current, desired, &options())
}

pub fn plan_with(current: &State, desired: &Desired, options: &DiffOptions) -> Plan {
    match diff(current, desired, options) {
        Ok(plan) => plan,
        Err(refusal) => panic!(
            "expected a plan, got a refusal: {refusal}\n{:#?}",
            refusal.diagnostics()
        ),
    }
}

/// Plans, expecting a refusal.
pub fn refusal(current: &State, desired: &Desired, options: &DiffOptions) -> Refusal {
    match diff(current, desired, options) {
        Ok(plan) => panic!(
            "expected a refusal, got a plan:\n{}",
            accord::plan::render::text(&plan, false)
        ),
        Err(refusal) => refusal,
    }
}

/// The plan as `op target` lines, in order.
pub fn ops(plan: &Plan) -> Vec<String> {
    plan.operations
        .iter()
        .map(|o| format!("{} {}", o.op.name(), o.target))
        .collect()
}

/// The operation `op target`, which must be in the plan.
pub fn find<'p>(plan: &'p Plan, line: &str) -> &'p accord::plan::Operation {
    plan.operations
        .iter()
        .find(|o| format!("{} {}", o.op.name(), o.target) == line)
        .unwrap_or_else(|| panic!("`{line}` is not in the plan:\n{:#?}", ops(plan)))
}

/// Checks what every plan must satisfy: batches numbered from 0 without gaps, each
/// holding one kind of operation within `limit`, in plan order.
pub fn assert_well_batched(plan: &Plan, limit: usize) {
    let mut sizes: BTreeMap<usize, (usize, &str)> = BTreeMap::new();
    let mut last = 0;
    for operation in &plan.operations {
        assert!(
            operation.batch >= last,
            "batches go backwards at {}",
            operation.target
        );
        last = operation.batch;
        let entry = sizes
            .entry(operation.batch)
            .or_insert((0, operation.op.name()));
        assert_eq!(
            entry.1,
            operation.op.name(),
            "batch {} mixes kinds",
            operation.batch
        );
        entry.0 += 1;
        assert!(
            entry.0 <= limit,
            "batch {} exceeds {limit}",
            operation.batch
        );
    }
    assert_eq!(sizes.len(), plan.batches);
    assert!(
        sizes.keys().copied().eq(0..plan.batches),
        "batch numbers have gaps"
    );
}
