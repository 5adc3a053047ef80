//! One scenario per point of DOMAIN.md's "What minimal plan means" and "Ownership",
//! and the safety rules R10-R13.

use accord::desired::Desired;
use accord::desired::{Declared, LimitSource, MaxRemovals};
use accord::diagnostic::{Code, Location};
use accord::plan::{DiffOptions, Op, Provenance, Refusal};
use accord::state::{
    AccessLevel, AgreementState, MemberStatus, ProductState, ProjectAccess, ProjectProduct, State,
};

use super::fixtures::*;

/// The product `name` of the `AEC` agreement in `state`, to change in place.
fn aec_product<'s>(state: &'s mut State, name: &str) -> &'s mut ProductState {
    state
        .agreements
        .get_mut(AEC)
        .unwrap()
        .products
        .get_mut(name)
        .unwrap()
}

// ----- "No operation for a value that is already right" -----

#[test]
fn an_account_that_matches_plans_nothing() {
    let current = account();
    let plan = plan(&current, &desired(&current));
    assert!(plan.is_empty(), "{:#?}", ops(&plan));
    assert_eq!(plan.batches, 0);
    assert_eq!(accord::plan::render::text(&plan, false), "No changes.\n");
}

#[test]
fn values_are_compared_normalised_and_backend_facts_are_not_drift() {
    let mut current = account();
    let alice = current
        .members
        .get_mut(&email("alice@acme.example"))
        .unwrap();
    alice.first_name = Some("  Alice ".into());
    alice.status = MemberStatus::Pending;
    alice.signed_in = false;
    alice.invited_at = Some(NOW - 3600); // not expired
    let bob = current.members.get_mut(&email("bob@acme.example")).unwrap();
    bob.status = MemberStatus::NotInvited;
    bob.external_subscriptions = [" Revit ".to_owned()].into();
    let mut wanted = current.clone();
    let alice = wanted
        .members
        .get_mut(&email("alice@acme.example"))
        .unwrap();
    alice.first_name = Some("Alice".into());
    let bob = wanted.members.get_mut(&email("bob@acme.example")).unwrap();
    bob.external_subscriptions = ["Revit".to_owned()].into();
    wanted.companies.get_mut("ACME").unwrap().trade = Some("Architecture  ".into());
    let plan = plan(&current, &desired(&wanted));
    assert!(plan.is_empty(), "{:#?}", ops(&plan));
}

#[test]
fn optional_text_left_out_keeps_the_backends_value() {
    let mut current = account();
    current
        .members
        .get_mut(&email("bob@acme.example"))
        .unwrap()
        .first_name = Some("Bob".into());
    let mut wanted = current.clone();
    wanted
        .members
        .get_mut(&email("bob@acme.example"))
        .unwrap()
        .first_name = None;
    wanted.companies.get_mut("ACME").unwrap().trade = None;
    assert!(plan(&current, &desired(&wanted)).is_empty());
}

// ----- "An update, never a remove-and-add" -----

#[test]
fn a_member_who_changes_company_is_updated_not_reinvited() {
    let mut current = account();
    current.companies.insert("Other".into(), Default::default());
    let mut wanted = current.clone();
    wanted
        .members
        .get_mut(&email("bob@acme.example"))
        .unwrap()
        .company = Some("Other".into());
    let mut desired = desired(&wanted);
    desired.prune = true;
    let plan = plan(&current, &desired);
    assert_eq!(ops(&plan), ["member.update bob@acme.example"]);
    let update = &plan.operations[0];
    assert_eq!(update.changes.len(), 1);
    assert_eq!(
        (
            update.changes[0].field.as_str(),
            update.changes[0].from.as_str(),
            update.changes[0].to.as_str()
        ),
        ("company", "ACME", "Other")
    );
    assert_eq!(
        update.provenance.as_str(),
        cited(&desired, Declared::Member, "bob@acme.example")
    );
    let Op::MemberUpdate { record, .. } = &update.op else {
        panic!()
    };
    assert_eq!(
        record.role.as_deref(),
        Some("Architect"),
        "the update carries the whole record"
    );
    assert_eq!(plan.summary.change, 1);
}

#[test]
fn a_project_member_whose_products_change_is_updated() {
    let current = account();
    let mut wanted = current.clone();
    wanted.projects.get_mut("Tower A").unwrap().members.insert(
        email("bob@acme.example"),
        project_member(ProjectAccess::Member, &[ProjectProduct::Cost]),
    );
    let desired = desired(&wanted);
    let plan = plan(&current, &desired);
    assert_eq!(
        ops(&plan),
        ["project_member.update Tower A/bob@acme.example"]
    );
    assert_eq!(plan.operations[0].changes[0].to, "[docs, cost]");
    assert_eq!(
        plan.operations[0].provenance.as_str(),
        cited(
            &desired,
            Declared::ProjectMember,
            "Tower A/bob@acme.example"
        )
    );
}

// ----- "A removal or deactivation implies its cascade" -----

#[test]
fn a_removal_lists_its_cascade_as_consequences_not_operations() {
    let mut current = account();
    current
        .members
        .insert(email("zed@acme.example"), architect());
    let aec = current.agreements.get_mut(AEC).unwrap();
    aec.products
        .get_mut("Revit")
        .unwrap()
        .assigned
        .insert(email("zed@acme.example"));
    aec.cloud_services
        .get_mut("Cloud Rendering")
        .unwrap()
        .insert(email("zed@acme.example"));
    aec.support.insert(email("zed@acme.example"));
    current.projects.get_mut("Tower A").unwrap().members.insert(
        email("zed@acme.example"),
        project_member(ProjectAccess::Member, &[]),
    );
    let mut wanted = account();
    wanted.members.remove(&email("zed@acme.example"));
    let mut desired = desired(&wanted);
    desired.prune = true;
    let plan = plan(&current, &desired);
    assert_eq!(ops(&plan), ["member.remove zed@acme.example"]);
    let removal = &plan.operations[0];
    assert_eq!(removal.provenance.as_str(), Provenance::NOT_DECLARED);
    assert_eq!(
        removal.consequences(),
        [
            "seat.unassign 110001234567/Revit/zed@acme.example",
            "cloud_service.unassign 110001234567/Cloud Rendering/zed@acme.example",
            "support.unassign 110001234567/zed@acme.example",
            "project_member.remove Tower A/zed@acme.example",
        ]
    );
    assert_eq!(
        (plan.summary.add, plan.summary.change, plan.summary.remove),
        (0, 0, 1)
    );
}

#[test]
fn a_deactivation_frees_everything_as_consequences_and_keeps_the_member() {
    let current = account();
    let mut wanted = current.clone();
    wanted
        .members
        .get_mut(&email("bob@acme.example"))
        .unwrap()
        .status = MemberStatus::Inactive;
    aec_product(&mut wanted, "AutoCAD").assigned = emails(&["alice@acme.example"]);
    wanted
        .projects
        .get_mut("Tower A")
        .unwrap()
        .members
        .remove(&email("bob@acme.example"));
    let plan = plan(&current, &desired(&wanted));
    assert_eq!(ops(&plan), ["member.deactivate bob@acme.example"]);
    assert_eq!(
        plan.operations[0].consequences(),
        [
            "seat.unassign 110001234567/AutoCAD/bob@acme.example",
            "project_member.remove Tower A/bob@acme.example",
        ]
    );
}

// ----- "Batched where the backend allows" -----

#[test]
fn invites_and_project_adds_are_batched_up_to_the_bulk_limit() {
    let current = account();
    let mut wanted = current.clone();
    for n in 0..250 {
        let address = email(&format!("new{n:03}@acme.example"));
        wanted.members.insert(address.clone(), architect());
        wanted
            .projects
            .get_mut("Tower A")
            .unwrap()
            .members
            .insert(address, project_member(ProjectAccess::Member, &[]));
    }
    let plan = plan(&current, &desired(&wanted));
    assert_well_batched(&plan, 100);
    let batch_sizes = |kind: &str| {
        let mut sizes = std::collections::BTreeMap::<usize, usize>::new();
        for o in plan.operations.iter().filter(|o| o.op.name() == kind) {
            *sizes.entry(o.batch).or_default() += 1;
        }
        sizes.into_values().collect::<Vec<_>>()
    };
    assert_eq!(batch_sizes("member.invite"), [100, 100, 50]);
    assert_eq!(batch_sizes("project_member.add"), [100, 100, 50]);
    assert_eq!(plan.batches, 6);

    let mut small = options();
    small.limits = accord::contract::Limits::uniform(30);
    small
        .limits
        .batch_by_kind
        .insert(accord::contract::OpKind::ProjectMemberAdd, 200);
    let plan = plan_with(&current, &desired(&wanted), &small);
    assert_eq!(plan.batches, 9 + 2);
}

// ----- "Ordered so that every rule holds after every step" -----

/// A pair of states whose plan has operations in every one of the eight steps.
fn every_step() -> (State, Desired) {
    let mut current = account();
    current
        .members
        .insert(email("zed@acme.example"), architect());
    let zed = current.members.get_mut(&email("zed@acme.example")).unwrap();
    zed.status = MemberStatus::Pending;
    zed.signed_in = false;
    current.agreements.get_mut(AEC).unwrap().contract_manager = email("zed@acme.example");
    let bob = current.members.get_mut(&email("bob@acme.example")).unwrap();
    bob.status = MemberStatus::Pending;
    bob.signed_in = false;
    bob.invited_at = Some(NOW - 8 * 24 * 3600);
    current
        .members
        .get_mut(&email("carol@acme.example"))
        .unwrap()
        .status = MemberStatus::Inactive;
    aec_product(&mut current, "Revit").assigned.clear();

    let mut wanted = account();
    wanted
        .companies
        .insert("Partners".into(), Default::default());
    wanted.roles.insert("Engineer".into(), Default::default());
    wanted.members.insert(
        email("dana@acme.example"),
        member("Partners", "Engineer", &[]),
    );
    let aec = wanted.agreements.get_mut(AEC).unwrap();
    aec.name = "AEC Collection 2025".into();
    aec.products.get_mut("AutoCAD").unwrap().seats = Some(3);
    aec.products.get_mut("AutoCAD").unwrap().assigned =
        emails(&["alice@acme.example", "dana@acme.example"]);
    aec.products.get_mut("Revit").unwrap().seats = Some(1);
    aec.products.get_mut("Revit").unwrap().assigned = emails(&["carol@acme.example"]);
    let mut bim = AgreementState {
        name: "BIM".into(),
        contract_manager: email("dana@acme.example"),
        software_coordinator: email("dana@acme.example"),
        ..AgreementState::default()
    };
    bim.products.insert(
        "Navisworks".into(),
        ProductState {
            seats: Some(1),
            assigned: emails(&["dana@acme.example"]),
        },
    );
    wanted.agreements.insert("2200".into(), bim);
    wanted.projects.insert("Tower B".into(), Default::default());
    wanted.projects.get_mut("Tower B").unwrap().members.insert(
        email("dana@acme.example"),
        project_member(ProjectAccess::Admin, &[]),
    );
    wanted
        .projects
        .get_mut("Tower A")
        .unwrap()
        .members
        .remove(&email("bob@acme.example"));
    let mut desired = desired(&wanted);
    desired.prune = true;
    (current, desired)
}

#[test]
fn operations_follow_the_eight_steps() {
    let (current, desired) = every_step();
    let plan = plan(&current, &desired);
    assert_eq!(
        ops(&plan),
        [
            "company.create Partners",
            "role.create Engineer",
            "member.invite dana@acme.example",
            "member.activate carol@acme.example",
            "agreement.create 2200",
            "agreement.update 110001234567",
            "agreement.set_contract_manager 110001234567",
            "member.remove zed@acme.example",
            "seat.unassign 110001234567/AutoCAD/bob@acme.example",
            "agreement.update 110001234567",
            "seat.assign 110001234567/AutoCAD/dana@acme.example",
            "seat.assign 110001234567/Revit/carol@acme.example",
            "seat.assign 2200/Navisworks/dana@acme.example",
            "project.create Tower B",
            "project_member.remove Tower A/bob@acme.example",
            "project_member.add Tower B/dana@acme.example",
            "member.resend_invite bob@acme.example",
        ]
    );
    assert_well_batched(&plan, 100);
    // One agreement.update per step: the rename with the increase, the decrease later.
    let updates: Vec<_> = plan
        .operations
        .iter()
        .filter(|o| o.op.name() == "agreement.update")
        .collect();
    assert_eq!(
        updates[0].op,
        Op::AgreementUpdate {
            number: AEC.into(),
            name: Some("AEC Collection 2025".into()),
            seats: [("AutoCAD".to_owned(), 3)].into(),
        }
    );
    assert_eq!(
        updates[1].op,
        Op::AgreementUpdate {
            number: AEC.into(),
            name: None,
            seats: [("Revit".to_owned(), 1)].into()
        }
    );
    assert_eq!(
        updates[0].provenance.as_str(),
        cited(&desired, Declared::Agreement, AEC)
    );
    assert_eq!(
        updates[1].provenance.as_str(),
        cited(&desired, Declared::Product, "110001234567/Revit")
    );
    let Op::AgreementCreate {
        contract_manager,
        software_coordinator,
        seats,
        ..
    } = &find(&plan, "agreement.create 2200").op
    else {
        panic!()
    };
    assert_eq!(
        (contract_manager.as_str(), software_coordinator.as_str()),
        ("dana@acme.example", "dana@acme.example")
    );
    assert_eq!(seats.get("Navisworks"), Some(&1));
}

#[test]
fn access_grants_come_before_revocations() {
    let current = account();
    let mut wanted = current.clone();
    // alice hands account_admin to carol; bob gains executive.
    wanted
        .members
        .get_mut(&email("alice@acme.example"))
        .unwrap()
        .access = [AccessLevel::Executive].into();
    wanted
        .members
        .get_mut(&email("bob@acme.example"))
        .unwrap()
        .access = [AccessLevel::Executive].into();
    wanted
        .members
        .get_mut(&email("carol@acme.example"))
        .unwrap()
        .access = [AccessLevel::AccountAdmin].into();
    let plan = plan(&current, &desired(&wanted));
    assert_eq!(
        ops(&plan),
        [
            "member.update bob@acme.example",
            "member.update carol@acme.example",
            "member.update alice@acme.example",
        ]
    );
}

// ----- Ownership -----

#[test]
fn declared_lists_are_owned_whole_and_undeclared_objects_are_left_alone() {
    let mut current = account();
    let mut other = current.agreements[AEC].clone();
    other
        .products
        .get_mut("AutoCAD")
        .unwrap()
        .assigned
        .insert(email("carol@acme.example"));
    current.agreements.insert("9900".into(), other);
    current
        .projects
        .insert("Undeclared".into(), current.projects["Tower A"].clone());
    current
        .companies
        .insert("Old Co".into(), Default::default());
    let mut wanted = account();
    let aec = wanted.agreements.get_mut(AEC).unwrap();
    aec.cloud_services.clear(); // a service the agreement does not list has nobody
    aec.support.clear(); // a missing support list is empty
    aec.products.remove("Revit"); // a product it does not list has nobody assigned
    wanted
        .projects
        .get_mut("Tower A")
        .unwrap()
        .members
        .remove(&email("bob@acme.example"));
    let plan = plan(&current, &desired(&wanted));
    assert_eq!(
        ops(&plan),
        [
            "seat.unassign 110001234567/Revit/carol@acme.example",
            "cloud_service.unassign 110001234567/Cloud Rendering/alice@acme.example",
            "support.unassign 110001234567/alice@acme.example",
            "project_member.remove Tower A/bob@acme.example",
        ]
    );
    let revit = plan.seats.iter().find(|l| l.product == "Revit").unwrap();
    assert_eq!(
        (revit.after.assigned, revit.after.seats),
        (0, 3),
        "seats are kept when not listed"
    );
}

#[test]
fn undeclared_members_are_left_alone_unless_prune() {
    let mut current = account();
    current
        .members
        .insert(email("zed@acme.example"), architect());
    let wanted = account();
    assert!(plan(&current, &desired(&wanted)).is_empty());
    let mut pruning = desired(&wanted);
    pruning.prune = true;
    assert_eq!(
        ops(&plan(&current, &pruning)),
        ["member.remove zed@acme.example"]
    );
}

#[test]
fn a_role_default_change_updates_each_member_using_the_default() {
    let current = account();
    let mut wanted = current.clone();
    let executive: std::collections::BTreeSet<_> = [AccessLevel::Executive].into();
    wanted.roles.get_mut("Architect").unwrap().default_access = executive.clone();
    wanted
        .members
        .get_mut(&email("bob@acme.example"))
        .unwrap()
        .access = executive.clone();
    // carol lists `access: []` explicitly: her access stays empty.
    let desired = desired(&wanted);
    let plan = plan(&current, &desired);
    assert_eq!(
        ops(&plan),
        ["role.update Architect", "member.update bob@acme.example"]
    );
    assert_eq!(
        plan.operations[1].provenance.as_str(),
        cited(&desired, Declared::Role, "Architect")
    );
    assert_eq!(plan.operations[1].changes[0].to, "[executive]");
}

#[test]
fn the_coordinator_follows_the_contract_manager() {
    let current = account();
    let mut wanted = current.clone();
    let aec = wanted.agreements.get_mut(AEC).unwrap();
    aec.contract_manager = email("bob@acme.example");
    aec.software_coordinator = email("bob@acme.example");
    let desired = desired(&wanted);
    let plan = plan(&current, &desired);
    assert_eq!(
        ops(&plan),
        [
            "agreement.set_contract_manager 110001234567",
            "agreement.set_software_coordinator 110001234567",
        ]
    );
    assert_eq!(
        plan.operations[0].op,
        Op::SetContractManager {
            number: AEC.into(),
            to: email("bob@acme.example")
        }
    );
    assert_eq!(plan.operations[0].changes[0].from, "alice@acme.example");
    assert_eq!(
        plan.operations[0].provenance.as_str(),
        cited(&desired, Declared::ContractManager, AEC)
    );
    assert_eq!(
        plan.operations[1].provenance.as_str(),
        cited(&desired, Declared::SoftwareCoordinator, AEC)
    );
}

#[test]
fn a_backend_that_does_not_manage_agreements_keeps_their_counts() {
    let current = account();
    let mut wanted = current.clone();
    aec_product(&mut wanted, "AutoCAD").seats = Some(5);
    let mut vendor = options();
    vendor.records_agreements = false;
    let plan = plan_with(&current, &desired(&wanted), &vendor);
    assert!(plan.is_empty(), "{:#?}", ops(&plan));
    assert_eq!(plan.notes.len(), 1);
    assert!(
        plan.notes[0].contains("seats.AutoCAD is 2 on the backend and 5 in the configuration"),
        "{}",
        plan.notes[0]
    );

    wanted
        .agreements
        .insert("3300".into(), current.agreements[AEC].clone());
    let desired = desired(&wanted);
    let Refusal::Unsupported { message, location } = refusal(&current, &desired, &vendor) else {
        panic!("expected Unsupported")
    };
    assert!(
        message.starts_with("agreement 3300 is declared but the backend does not hold it"),
        "{message}"
    );
    assert_eq!(
        location.unwrap().line,
        desired
            .provenance
            .get(Declared::Agreement, "3300")
            .unwrap()
            .line
    );
}

#[test]
fn operations_the_backend_does_not_carry_out_are_left_out_and_noted() {
    let current = account();
    let mut wanted = current.clone();
    wanted
        .companies
        .insert("Partners".into(), Default::default());
    wanted
        .agreements
        .get_mut(AEC)
        .unwrap()
        .support
        .insert(email("bob@acme.example"));
    let mut limited = options();
    limited.kinds = Some([accord::contract::OpKind::CompanyCreate].into());
    let plan = plan_with(&current, &desired(&wanted), &limited);
    assert_eq!(ops(&plan), ["company.create Partners"]);
    assert_eq!(
        plan.notes,
        ["not managed by this backend, so left out of the plan: 1 × support.assign"]
    );
}

// ----- Account -----

#[test]
fn a_plan_against_another_account_is_refused() {
    let mut current = account();
    current.account.id = "acme-us".into();
    let desired = desired(&account());
    let refusal = refusal(&current, &desired, &options());
    assert_eq!(
        refusal.to_string(),
        "this configuration is for acme-eu but the backend holds acme-us"
    );
    assert_eq!(refusal.location().map(|l| l.line), Some(1));
    assert!(!refusal.is_safety_rule());
}

#[test]
fn a_fresh_backend_takes_the_configurations_account() {
    let current = accord::state::State::default();
    let plan = plan(&current, &desired(&account()));
    assert!(plan.new_account);
    let text = accord::plan::render::text(&plan, false);
    assert!(text.contains("    AutoCAD (new) 2/2\n"), "{text}");
    assert_eq!(plan.account.id, "acme-eu");
    assert_eq!(
        &ops(&plan)[..3],
        [
            "company.create ACME",
            "role.create Architect",
            "role.create BIM Manager"
        ]
    );
    assert_eq!(
        find(&plan, "agreement.create 110001234567").batch + 1,
        find(&plan, "seat.assign 110001234567/AutoCAD/alice@acme.example").batch
    );
}

// ----- Invitations -----

#[test]
fn an_expired_invitation_is_resent_once_the_clock_passes_seven_days() {
    let sent = NOW;
    let mut current = account();
    let bob = current.members.get_mut(&email("bob@acme.example")).unwrap();
    bob.status = MemberStatus::Pending;
    bob.signed_in = false;
    bob.invited_at = Some(sent);
    let desired = desired(&account());
    let at = |now: i64| {
        let mut o = options();
        o.now = now;
        ops(&plan_with(&current, &desired, &o))
    };
    let week = 7 * 24 * 3600;
    assert!(
        at(sent + week).is_empty(),
        "exactly seven days is not expired yet"
    );
    assert_eq!(
        at(sent + week + 1),
        ["member.resend_invite bob@acme.example"]
    );
    let mut o = options();
    o.now = sent + week + 1;
    let plan = plan_with(&current, &desired, &o);
    assert_eq!(
        plan.operations[0].provenance.as_str(),
        "drift: invitation expired"
    );
    assert_eq!(plan.summary.change, 1);

    // A member who signed in once never expires.
    current
        .members
        .get_mut(&email("bob@acme.example"))
        .unwrap()
        .signed_in = true;
    assert!(plan_with(&current, &desired, &o).is_empty());
}

// ----- Seats -----

#[test]
fn a_seat_swap_when_every_seat_is_taken_frees_before_it_assigns() {
    let current = account(); // AutoCAD 2/2: alice, bob
    let mut wanted = current.clone();
    aec_product(&mut wanted, "AutoCAD").assigned =
        emails(&["alice@acme.example", "carol@acme.example"]);
    let desired = desired(&wanted);
    let plan = plan(&current, &desired);
    assert_eq!(
        ops(&plan),
        [
            "seat.unassign 110001234567/AutoCAD/bob@acme.example",
            "seat.assign 110001234567/AutoCAD/carol@acme.example",
        ]
    );
    assert_eq!((plan.operations[0].batch, plan.operations[1].batch), (0, 1));
    assert_eq!(
        plan.operations[1].provenance.as_str(),
        cited(
            &desired,
            Declared::Seat,
            "110001234567/AutoCAD/carol@acme.example"
        )
    );
    assert_eq!(
        plan.operations[0].provenance.as_str(),
        cited(&desired, Declared::Product, "110001234567/AutoCAD")
    );
    let autocad = plan.seats.iter().find(|l| l.product == "AutoCAD").unwrap();
    assert!(!autocad.changes());
}

#[test]
fn a_cloud_service_or_support_swap_at_capacity_frees_before_it_assigns() {
    let mut current = account();
    let aec = current.agreements.get_mut(AEC).unwrap();
    // R05: three users at most; all three places are taken.
    aec.cloud_services.insert(
        "Cloud Rendering".into(),
        emails(&[
            "alice@acme.example",
            "bob@acme.example",
            "carol@acme.example",
        ]),
    );
    // R06: 6 per licence; with a single licence left, six hold support.
    aec.products.remove("Revit");
    aec.products.get_mut("AutoCAD").unwrap().seats = Some(1);
    aec.products.get_mut("AutoCAD").unwrap().assigned = emails(&["alice@acme.example"]);
    let six: Vec<String> = (0..6).map(|n| format!("s{n}@acme.example")).collect();
    for e in &six {
        current.members.insert(email(e), architect());
    }
    aec.support = six.iter().map(|e| email(e)).collect();
    current
        .members
        .insert(email("dana@acme.example"), architect());
    let mut wanted = current.clone();
    let aec = wanted.agreements.get_mut(AEC).unwrap();
    aec.cloud_services
        .get_mut("Cloud Rendering")
        .unwrap()
        .remove(&email("carol@acme.example"));
    aec.cloud_services
        .get_mut("Cloud Rendering")
        .unwrap()
        .insert(email("dana@acme.example"));
    aec.support.remove(&email("s0@acme.example"));
    aec.support.insert(email("dana@acme.example"));
    let plan = plan(&current, &desired(&wanted));
    assert_eq!(
        ops(&plan),
        [
            "cloud_service.unassign 110001234567/Cloud Rendering/carol@acme.example",
            "support.unassign 110001234567/s0@acme.example",
            "cloud_service.assign 110001234567/Cloud Rendering/dana@acme.example",
            "support.assign 110001234567/dana@acme.example",
        ]
    );
    assert_eq!(
        plan.operations.iter().map(|o| o.batch).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
}

#[test]
fn the_seat_picture_shows_before_and_after() {
    let mut current = account();
    let autocad = aec_product(&mut current, "AutoCAD");
    autocad.seats = Some(10);
    autocad.assigned = (0..9)
        .map(|n| email(&format!("m{n}@acme.example")))
        .collect();
    for e in autocad.assigned.clone() {
        current.members.insert(e, architect());
    }
    let mut wanted = current.clone();
    aec_product(&mut wanted, "AutoCAD")
        .assigned
        .insert(email("bob@acme.example"));
    let text = accord::plan::render::text(&plan(&current, &desired(&wanted)), false);
    assert!(text.contains("    AutoCAD 9/10 -> 10/10\n"), "{text}");
    assert!(text.contains("    Revit 1/3\n"), "{text}");
}

#[test]
fn seats_short_on_the_backends_count_are_refused_as_r04() {
    let current = account();
    let mut wanted = current.clone();
    let autocad = aec_product(&mut wanted, "AutoCAD");
    autocad.seats = None; // not declared: the backend's 2 stay
    autocad.assigned.insert(email("carol@acme.example"));
    let desired = desired(&wanted);
    let refusal = refusal(&current, &desired, &options());
    let [diagnostic] = refusal.diagnostics() else {
        panic!("{:#?}", refusal.diagnostics())
    };
    assert_eq!(diagnostic.code, Code::R04);
    assert_eq!(
        diagnostic.location.as_ref().unwrap().line,
        desired
            .provenance
            .get(Declared::Product, "110001234567/AutoCAD")
            .unwrap()
            .line
    );
    assert!(!refusal.is_safety_rule());
}

// ----- R11: transfer first -----

#[test]
fn a_contract_manager_is_transferred_before_being_removed() {
    let mut current = account();
    current
        .members
        .insert(email("zed@acme.example"), architect());
    let aec = current.agreements.get_mut(AEC).unwrap();
    aec.contract_manager = email("zed@acme.example");
    aec.software_coordinator = email("zed@acme.example");
    let mut desired = desired(&account());
    desired.prune = true;
    let plan = plan(&current, &desired);
    assert_eq!(
        ops(&plan),
        [
            "agreement.set_contract_manager 110001234567",
            "agreement.set_software_coordinator 110001234567",
            "member.remove zed@acme.example",
        ]
    );
    assert_eq!(
        plan.operations.iter().map(|o| o.batch).collect::<Vec<_>>(),
        [0, 1, 2]
    );
}

#[test]
fn removing_the_holder_of_an_undeclared_agreement_is_refused() {
    let mut current = account();
    current
        .members
        .insert(email("zed@acme.example"), architect());
    let mut undeclared = current.agreements[AEC].clone();
    undeclared.contract_manager = email("zed@acme.example");
    current.agreements.insert("9900".into(), undeclared);
    let mut desired = desired(&account());
    desired.prune = true;
    let refusal = refusal(&current, &desired, &options());
    assert!(refusal.is_safety_rule());
    let [diagnostic] = refusal.diagnostics() else {
        panic!("{:#?}", refusal.diagnostics())
    };
    assert_eq!(diagnostic.code, Code::R11);
    assert!(
        diagnostic.message.contains(
            "contract manager of agreement 9900, which the configuration does not declare"
        ),
        "{}",
        diagnostic.message
    );
    // Neither the member nor the agreement is declared: the members section is cited.
    assert_eq!(
        diagnostic.location.as_ref().unwrap().line,
        desired
            .provenance
            .get(Declared::MembersSection, "")
            .unwrap()
            .line
    );
    // The refused plan is kept for display.
    let plan = refusal.plan().unwrap();
    assert_eq!(ops(plan), ["member.remove zed@acme.example"]);
    assert!(accord::plan::render::text(plan, false).contains("error[R11]"));
}

#[test]
fn deactivating_the_holder_of_an_undeclared_agreement_cites_the_member() {
    let mut current = account();
    let mut undeclared = current.agreements[AEC].clone();
    undeclared.software_coordinator = email("bob@acme.example");
    current.agreements.insert("9900".into(), undeclared);
    let mut wanted = account();
    wanted
        .members
        .get_mut(&email("bob@acme.example"))
        .unwrap()
        .status = MemberStatus::Inactive;
    aec_product(&mut wanted, "AutoCAD")
        .assigned
        .remove(&email("bob@acme.example"));
    wanted
        .projects
        .get_mut("Tower A")
        .unwrap()
        .members
        .remove(&email("bob@acme.example"));
    let desired = desired(&wanted);
    let refusal = refusal(&current, &desired, &options());
    let [diagnostic] = refusal.diagnostics() else {
        panic!("{:#?}", refusal.diagnostics())
    };
    assert_eq!(diagnostic.code, Code::R11);
    assert!(
        diagnostic
            .message
            .contains("software coordinator of agreement 9900"),
        "{}",
        diagnostic.message
    );
    assert_eq!(
        diagnostic.location.as_ref().unwrap().line,
        desired
            .provenance
            .get(Declared::Member, "bob@acme.example")
            .unwrap()
            .line
    );
}

// ----- R12: protected -----

#[test]
fn prune_passes_protected_members_by() {
    let mut current = account();
    current.members.insert(email("it@acme.example"), admin());
    let mut desired = desired(&account());
    desired.prune = true;
    desired.protected.insert(email("it@acme.example"));
    let plan = plan(&current, &desired);
    assert!(plan.is_empty());
    assert_eq!(
        plan.notes,
        [
            "it@acme.example is not declared but is protected (settings.protected): prune leaves them alone"
        ]
    );
}

#[test]
fn a_configuration_that_would_change_a_protected_member_is_refused() {
    let current = account();
    let mut wanted = current.clone();
    wanted
        .members
        .get_mut(&email("alice@acme.example"))
        .unwrap()
        .company = Some("Elsewhere".into());
    wanted
        .companies
        .insert("Elsewhere".into(), Default::default());
    let mut desired = accord::desired::Desired {
        state: wanted,
        ..Default::default()
    };
    desired.protected.insert(email("alice@acme.example"));
    declare_all(&mut desired);
    let refusal = refusal(&current, &desired, &options());
    assert!(refusal.is_safety_rule());
    let [diagnostic] = refusal.diagnostics() else {
        panic!("{:#?}", refusal.diagnostics())
    };
    assert_eq!(diagnostic.code, Code::R12);
    assert_eq!(
        diagnostic.message,
        "alice@acme.example is protected (settings.protected), but the configuration would change them (company: ACME -> Elsewhere)"
    );
    assert_eq!(
        diagnostic.location.as_ref().unwrap().line,
        desired
            .provenance
            .get(Declared::Member, "alice@acme.example")
            .unwrap()
            .line
    );
    assert_eq!(
        diagnostic.related[0].location.line,
        desired
            .provenance
            .get(Declared::Protected, "alice@acme.example")
            .unwrap()
            .line
    );
}

#[test]
fn a_protected_members_seats_and_projects_follow_declared_lists() {
    let current = account();
    let mut wanted = current.clone();
    wanted.agreements.get_mut(AEC).unwrap().support.clear();
    wanted
        .projects
        .get_mut("Tower A")
        .unwrap()
        .members
        .remove(&email("alice@acme.example"));
    let mut desired = desired(&wanted);
    desired.protected.insert(email("alice@acme.example"));
    assert_eq!(
        ops(&plan(&current, &desired)),
        [
            "support.unassign 110001234567/alice@acme.example",
            "project_member.remove Tower A/alice@acme.example"
        ]
    );
}

// ----- R13: too many removals -----

fn with_undeclared(count: usize) -> accord::state::State {
    let mut current = account();
    for n in 0..count {
        current
            .members
            .insert(email(&format!("old{n:02}@acme.example")), architect());
    }
    current
}

#[test]
fn more_removals_than_the_default_limit_are_refused_before_anything() {
    let current = with_undeclared(11);
    let mut desired = desired(&account());
    desired.prune = true;
    let refusal = refusal(&current, &desired, &options());
    assert!(refusal.is_safety_rule());
    let [diagnostic] = refusal.diagnostics() else {
        panic!("{:#?}", refusal.diagnostics())
    };
    assert_eq!(diagnostic.code, Code::R13);
    assert_eq!(
        diagnostic.message,
        "this plan removes 11 members, more than the default limit of 10 (settings.max_removals is not set) allows; nothing was changed"
    );
    assert!(diagnostic.location.is_none());
    let help = diagnostic.help.as_deref().unwrap();
    assert!(
        help.contains("`settings.max_removals: 11`") && help.contains("`--max-removals 11`"),
        "{help}"
    );
    assert_eq!(
        refusal.to_string(),
        "the plan is refused by R13 (1 problem); nothing was changed"
    );
    // Ten are fine.
    let ten = with_undeclared(10);
    assert_eq!(plan(&ten, &desired).summary.remove, 10);
}

#[test]
fn the_configured_limit_is_cited_and_the_flag_overrides_it() {
    let current = with_undeclared(3);
    let mut desired = desired(&account());
    desired.prune = true;
    desired.max_removals = MaxRemovals {
        limit: 2,
        source: LimitSource::Config(Location::new(FILE, 4, 17)),
    };
    let refused = refusal(&current, &desired, &options());
    let [diagnostic] = refused.diagnostics() else {
        panic!()
    };
    assert_eq!(diagnostic.code, Code::R13);
    assert!(
        diagnostic
            .message
            .contains("more than settings.max_removals: 2 allows"),
        "{}",
        diagnostic.message
    );
    assert_eq!(
        diagnostic
            .location
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("accord.yaml:4:17")
    );

    let flag = DiffOptions {
        max_removals: Some(3),
        ..options()
    };
    assert_eq!(plan_with(&current, &desired, &flag).summary.remove, 3);
    let strict = DiffOptions {
        max_removals: Some(1),
        ..options()
    };
    let refused = refusal(&current, &desired, &strict);
    assert!(
        refused.diagnostics()[0]
            .message
            .contains("more than --max-removals 1 allows")
    );
    assert!(refused.diagnostics()[0].location.is_none());
}

#[test]
fn deactivations_do_not_count_as_removals() {
    let mut current = account();
    let mut wanted = account();
    for n in 0..12 {
        let e = email(&format!("m{n:02}@acme.example"));
        current.members.insert(e.clone(), architect());
        let mut gone = architect();
        gone.status = MemberStatus::Inactive;
        wanted.members.insert(e, gone);
    }
    let plan = plan(&current, &desired(&wanted));
    assert_eq!(plan.operations.len(), 12);
    assert!(
        plan.operations
            .iter()
            .all(|o| o.op.name() == "member.deactivate")
    );
}

// ----- R10 on the result -----

#[test]
fn a_plan_that_would_leave_no_admin_is_refused() {
    let current = account();
    let mut wanted = current.clone();
    wanted
        .members
        .get_mut(&email("alice@acme.example"))
        .unwrap()
        .access
        .clear();
    let desired = desired(&wanted); // invalid configuration built in code: R10 on the result catches it
    let refusal = refusal(&current, &desired, &options());
    let [diagnostic] = refusal.diagnostics() else {
        panic!()
    };
    assert_eq!(diagnostic.code, Code::R10);
    assert_eq!(
        diagnostic.location.as_ref().unwrap().line,
        desired
            .provenance
            .get(Declared::MembersSection, "")
            .unwrap()
            .line
    );
}
