//! What the plan says is what is true (issue 15): inactive newcomers, whether an
//! invitation goes out, `consequences` always present, renames.

use accord::plan::render;
use accord::plan::{Invitation, Op};
use accord::state::{AccessLevel, MemberState, MemberStatus, ProjectAccess, ProjectProduct};

use super::fixtures::*;

/// A snapshot kept with the others, in `tests/it/snapshots`.
fn snapshot(name: &str, value: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.bind(|| insta::assert_snapshot!(name, value));
}

#[test]
fn a_member_declared_inactive_who_is_not_in_the_account_is_added_inactive_in_one_operation() {
    let current = account();
    let mut wanted = account();
    wanted.members.insert(
        email("leave@acme.example"),
        MemberState {
            status: MemberStatus::Inactive,
            ..member("ACME", "Architect", &[AccessLevel::Executive])
        },
    );
    let plan = plan(&current, &desired(&wanted));
    assert_eq!(ops(&plan), ["member.invite leave@acme.example"]);
    let invite = &plan.operations[0];
    assert!(
        matches!(invite.op, Op::MemberInvite { inactive: true, .. }),
        "{:?}",
        invite.op
    );
    assert_eq!(invite.invitation, Some(Invitation::None));
    let json: serde_json::Value = serde_json::from_str(&render::json(&plan)).unwrap();
    assert_eq!(json["operations"][0]["inactive"], true);
    assert_eq!(json["operations"][0]["invitation"], "none");
    snapshot("inactive_newcomer_text", &render::text(&plan, false));
}

#[test]
fn each_new_member_says_whether_the_invitation_goes_out_now_or_later() {
    let current = account();
    let mut wanted = account();
    // An access level: invited now. Nothing at all: later. A project only: now.
    wanted.members.insert(
        email("exec@acme.example"),
        member("ACME", "Architect", &[AccessLevel::Executive]),
    );
    wanted
        .members
        .insert(email("quiet@acme.example"), architect());
    wanted
        .members
        .insert(email("site@acme.example"), architect());
    wanted.projects.get_mut("Tower A").unwrap().members.insert(
        email("site@acme.example"),
        project_member(ProjectAccess::Member, &[ProjectProduct::Docs]),
    );
    let plan = plan(&current, &desired(&wanted));
    let invitation = |who: &str| find(&plan, &format!("member.invite {who}")).invitation;
    assert_eq!(invitation("exec@acme.example"), Some(Invitation::Now));
    assert_eq!(invitation("quiet@acme.example"), Some(Invitation::Later));
    assert_eq!(invitation("site@acme.example"), Some(Invitation::Now));
    let text = render::text(&plan, false);
    assert!(
        text.contains("      invitation: not sent yet (it goes out when they get an access level or a project)"),
        "{text}"
    );
    snapshot("invitations_markdown", &render::markdown(&plan));
    // Later, the first project of a member never invited sends it, and says so.
    let mut live = wanted.clone();
    live.members
        .get_mut(&email("quiet@acme.example"))
        .unwrap()
        .status = MemberStatus::NotInvited;
    let mut later = live.clone();
    later.projects.get_mut("Tower A").unwrap().members.insert(
        email("quiet@acme.example"),
        project_member(ProjectAccess::Member, &[ProjectProduct::Docs]),
    );
    let plan = super::fixtures::plan(&live, &desired(&later));
    assert_eq!(
        ops(&plan),
        ["project_member.add Tower A/quiet@acme.example"]
    );
    assert_eq!(plan.operations[0].invitation, Some(Invitation::Now));
    // Or an access level does, on the update that gives it.
    let mut given = live.clone();
    given
        .members
        .get_mut(&email("quiet@acme.example"))
        .unwrap()
        .access = [AccessLevel::Executive].into();
    let plan = super::fixtures::plan(&live, &desired(&given));
    assert_eq!(ops(&plan), ["member.update quiet@acme.example"]);
    assert_eq!(plan.operations[0].invitation, Some(Invitation::Now));
    // An update of someone already invited says nothing about invitations.
    let plan = super::fixtures::plan(&given, &desired(&live));
    assert_eq!(plan.operations[0].invitation, None);
}

#[test]
fn removals_and_deactivations_always_carry_consequences_in_the_json() {
    let mut current = account();
    current
        .members
        .insert(email("zed@acme.example"), architect());
    let mut wanted = account();
    wanted
        .members
        .get_mut(&email("carol@acme.example"))
        .unwrap()
        .status = MemberStatus::Inactive;
    // carol's Revit seat is freed by her deactivation; zed holds nothing.
    wanted
        .agreements
        .get_mut(AEC)
        .unwrap()
        .products
        .get_mut("Revit")
        .unwrap()
        .assigned
        .clear();
    let mut desired = desired(&wanted);
    desired.prune = true;
    let plan = plan(&current, &desired);
    assert_eq!(
        ops(&plan),
        [
            "member.remove zed@acme.example",
            "member.deactivate carol@acme.example"
        ]
    );
    let json: serde_json::Value = serde_json::from_str(&render::json(&plan)).unwrap();
    let operations = json["operations"].as_array().unwrap();
    assert_eq!(operations[0]["consequences"], serde_json::json!([]));
    assert_eq!(
        operations[1]["consequences"],
        serde_json::json!(["seat.unassign 110001234567/Revit/carol@acme.example"])
    );
    // Other operations carry none.
    let invite = plan_with_invite();
    let json: serde_json::Value = serde_json::from_str(&render::json(&invite)).unwrap();
    assert!(json["operations"][0].get("consequences").is_none());
    // The schema requires it on removals and deactivations.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schemas/plan.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&render::json(&plan)).unwrap();
    assert!(validator.is_valid(&value));
    value["operations"][0]
        .as_object_mut()
        .unwrap()
        .remove("consequences");
    assert!(!validator.is_valid(&value), "consequences is required");
}

fn plan_with_invite() -> accord::plan::Plan {
    let mut wanted = account();
    wanted
        .members
        .insert(email("new@acme.example"), architect());
    plan(&account(), &desired(&wanted))
}

#[test]
fn renamed_from_renames_a_company_and_a_role_and_their_members_follow() {
    let current = account();
    let mut wanted = account();
    let acme = wanted.companies.remove("ACME").unwrap();
    wanted.companies.insert("ACME Studio".into(), acme);
    let architect_role = wanted.roles.remove("Architect").unwrap();
    wanted.roles.insert("Designer".into(), architect_role);
    for member in wanted.members.values_mut() {
        member.company = Some("ACME Studio".into());
        if member.role.as_deref() == Some("Architect") {
            member.role = Some("Designer".into());
        }
    }
    let mut desired = desired(&wanted);
    // Without renamed_from: new objects, and every member is updated to them.
    let plain = plan(&current, &desired);
    assert!(
        ops(&plain).contains(&"company.create ACME Studio".to_owned()),
        "{:?}",
        ops(&plain)
    );
    desired
        .renames
        .companies
        .insert("ACME Studio".into(), "ACME".into());
    desired
        .renames
        .roles
        .insert("Designer".into(), "Architect".into());
    let plan = plan(&current, &desired);
    assert_eq!(
        ops(&plan),
        ["company.update ACME Studio", "role.update Designer"]
    );
    assert!(
        matches!(&plan.operations[0].op, Op::CompanyUpdate { from: Some(from), .. } if from == "ACME"),
        "{:?}",
        plan.operations[0].op
    );
    snapshot("renames_text", &render::text(&plan, false));
    // Once the live objects have the new names, renamed_from is a no-op.
    let mut renamed = current.clone();
    renamed.companies = wanted.companies.clone();
    renamed.roles = wanted.roles.clone();
    for (email, member) in &mut renamed.members {
        member.company = wanted.members[email].company.clone();
        member.role = wanted.members[email].role.clone();
    }
    assert!(super::fixtures::plan(&renamed, &desired).is_empty());
}

#[test]
fn every_kind_of_live_object_the_configuration_does_not_declare_is_listed() {
    use accord::state::{AgreementState, CompanyState, ProjectState, RoleState, TeamState};
    let mut current = account();
    current
        .companies
        .insert("Old Partner".into(), CompanyState::default());
    current.roles.insert("Intern".into(), RoleState::default());
    current
        .projects
        .insert("Riverside School".into(), ProjectState::default());
    current.agreements.insert(
        "110009999999".into(),
        AgreementState {
            name: "Old".into(),
            contract_manager: email("alice@acme.example"),
            software_coordinator: email("alice@acme.example"),
            ..AgreementState::default()
        },
    );
    current.teams.insert("100009".into(), TeamState::default());
    let desired = desired(&account());
    let plan = plan(&current, &desired);
    assert!(plan.is_empty(), "{:?}", ops(&plan));
    let drift = accord::plan::drift::classify(&plan, &current, &desired, None);
    let listed: Vec<(&str, &str)> = drift
        .unmanaged
        .iter()
        .map(|i| (i.target.as_str(), i.detail.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("Old Partner", "company not declared"),
            ("Intern", "role not declared"),
            ("Riverside School", "project not declared"),
            ("110009999999", "agreement not declared"),
            ("100009", "team not declared"),
        ]
    );
    assert!(
        drift
            .unmanaged
            .iter()
            .all(|i| i.repair.starts_with("nothing: "))
    );
    // A live object the configuration renames is declared, not listed.
    let mut renaming = desired.clone();
    renaming
        .state
        .projects
        .insert("Riverside Academy".into(), ProjectState::default());
    renaming
        .renames
        .projects
        .insert("Riverside Academy".into(), "Riverside School".into());
    let plan = super::fixtures::plan(&current, &renaming);
    assert_eq!(ops(&plan), ["project.update Riverside Academy"]);
    let drift = accord::plan::drift::classify(&plan, &current, &renaming, None);
    assert!(
        drift
            .unmanaged
            .iter()
            .all(|i| i.target != "Riverside School"),
        "{drift:?}"
    );
}
