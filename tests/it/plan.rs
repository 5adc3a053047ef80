//! The diff and the plan (`src/plan/`): scenarios on states built in code, the
//! renderings (snapshots, the JSON schema, the markdown cut) and saved plans.

mod fixtures;
mod props;
mod scenarios;
mod teams;
mod truth;

use accord::desired::{Declared, Desired};
use accord::plan::render::{self, MARKDOWN_LIMIT};
use accord::plan::{Plan, SavedPlan, config_digest};
use accord::state::{AccessLevel, MemberStatus, ProjectAccess, ProjectProduct, State};

use fixtures::*;

/// A plan with a bit of everything: a new company and member, an update with a long
/// value, a licence increase, a removal with consequences, a seat swap, a project
/// change, a protected member prune passes by, and an expired invitation.
fn representative() -> (State, Desired) {
    let mut current = account();
    current
        .members
        .insert(email("zed@acme.example"), architect());
    current.members.insert(email("it@acme.example"), admin());
    let aec = current.agreements.get_mut(AEC).unwrap();
    aec.products
        .get_mut("Revit")
        .unwrap()
        .assigned
        .insert(email("zed@acme.example"));
    current.projects.get_mut("Tower A").unwrap().members.insert(
        email("zed@acme.example"),
        project_member(ProjectAccess::Member, &[]),
    );
    let carol = current
        .members
        .get_mut(&email("carol@acme.example"))
        .unwrap();
    carol.status = MemberStatus::Pending;
    carol.signed_in = false;
    carol.invited_at = Some(NOW - 10 * 24 * 3600);
    current
        .members
        .get_mut(&email("bob@acme.example"))
        .unwrap()
        .external_subscriptions = ["Revit".to_owned(), "Navisworks Manage".to_owned()].into();

    let mut wanted = account();
    wanted
        .companies
        .insert("Partner Engineering".into(), Default::default());
    wanted.members.insert(email("dana@acme.example"), {
        let mut dana = member(
            "Partner Engineering",
            "Architect",
            &[AccessLevel::Executive],
        );
        dana.first_name = Some("Dana".into());
        dana
    });
    let bob = wanted.members.get_mut(&email("bob@acme.example")).unwrap();
    bob.external_subscriptions = [
        "Revit".to_owned(),
        "Navisworks Manage".to_owned(),
        "Civil 3D".to_owned(),
        "InfraWorks".to_owned(),
    ]
    .into();
    let autocad = wanted
        .agreements
        .get_mut(AEC)
        .unwrap()
        .products
        .get_mut("AutoCAD")
        .unwrap();
    autocad.seats = Some(3);
    autocad.assigned = emails(&[
        "alice@acme.example",
        "carol@acme.example",
        "dana@acme.example",
    ]);
    let tower = wanted.projects.get_mut("Tower A").unwrap();
    tower.members.insert(
        email("dana@acme.example"),
        project_member(ProjectAccess::Member, &[ProjectProduct::ModelCoordination]),
    );
    let mut desired = desired(&wanted);
    desired.prune = true;
    desired.protected.insert(email("it@acme.example"));
    (current, desired)
}

fn representative_plan() -> Plan {
    let (current, desired) = representative();
    plan(&current, &desired)
}

#[test]
fn the_representative_plan_is_ordered_and_batched() {
    let plan = representative_plan();
    assert_well_batched(&plan, 100);
    assert_eq!(
        ops(&plan),
        [
            "company.create Partner Engineering",
            "member.invite dana@acme.example",
            "member.update bob@acme.example",
            "agreement.update 110001234567",
            "member.remove zed@acme.example",
            "seat.unassign 110001234567/AutoCAD/bob@acme.example",
            "seat.assign 110001234567/AutoCAD/carol@acme.example",
            "seat.assign 110001234567/AutoCAD/dana@acme.example",
            "project_member.add Tower A/dana@acme.example",
            "member.resend_invite carol@acme.example",
        ]
    );
    assert_eq!(
        (plan.summary.add, plan.summary.change, plan.summary.remove),
        (5, 3, 2)
    );
}

#[test]
fn text_rendering() {
    insta::assert_snapshot!("plan_text", render::text(&representative_plan(), false));
}

#[test]
fn text_rendering_colours_only_when_asked() {
    let plan = representative_plan();
    assert!(!render::text(&plan, false).contains('\x1b'));
    let coloured = render::text(&plan, true);
    assert!(
        coloured.contains("\x1b[32m+ member.invite dana@acme.example\x1b[0m"),
        "{coloured}"
    );
    assert!(coloured.contains("\x1b[31m- member.remove zed@acme.example\x1b[0m"));
}

#[test]
fn markdown_rendering() {
    insta::assert_snapshot!("plan_markdown", render::markdown(&representative_plan()));
}

#[test]
fn json_rendering() {
    insta::assert_snapshot!("plan_json", render::json(&representative_plan()));
}

fn plan_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schemas/plan.schema.json"
    ))
    .expect("schemas/plan.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

fn schema_errors(validator: &jsonschema::Validator, json: &str) -> Vec<String> {
    let instance: serde_json::Value = serde_json::from_str(json).expect("JSON");
    validator
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn json_output_matches_the_plan_schema() {
    let validator = plan_schema();
    let plan = representative_plan();
    let json = render::json(&plan);
    assert_eq!(schema_errors(&validator, &json), Vec::<String>::new());
    // A refused plan, a fresh account, and a saved plan too.
    let (mut current, mut desired) = representative();
    desired.max_removals.limit = 0;
    let refused = accord::plan::diff(&current, &desired, &options()).unwrap_err();
    let refused_json = render::json(refused.plan().unwrap());
    assert!(refused_json.contains("\"refusals\""));
    assert_eq!(
        schema_errors(&validator, &refused_json),
        Vec::<String>::new()
    );
    current = State::default();
    let fresh = plan_with(&current, &desired, &options());
    assert_eq!(
        schema_errors(&validator, &render::json(&fresh)),
        Vec::<String>::new()
    );
    let saved = SavedPlan {
        plan,
        backend_revision: 7,
        config_digest: format!("sha256:{}", "0".repeat(64)),
    };
    assert_eq!(
        schema_errors(&validator, &saved.to_json()),
        Vec::<String>::new()
    );
}

#[test]
fn the_plan_schema_refuses_what_the_plan_never_holds() {
    let validator = plan_schema();
    let json = render::json(&representative_plan());
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["operations"][0]["colour"] = "blue".into();
    assert!(
        !schema_errors(&validator, &value.to_string()).is_empty(),
        "unknown operation field"
    );
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["operations"][1]["op"] = "member.teleport".into();
    assert!(
        !schema_errors(&validator, &value.to_string()).is_empty(),
        "unknown operation"
    );
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["operations"][1]
        .as_object_mut()
        .unwrap()
        .remove("record");
    assert!(
        !schema_errors(&validator, &value.to_string()).is_empty(),
        "invite without a record"
    );
}

#[test]
fn markdown_is_cut_past_the_limit_with_a_note() {
    let current = account();
    let mut wanted = current.clone();
    for n in 0..3000 {
        let mut m = member("ACME", "Architect", &[]);
        m.first_name = Some(format!("Person number {n}"));
        wanted
            .members
            .insert(email(&format!("person{n:04}@acme.example")), m);
    }
    wanted
        .agreements
        .get_mut(AEC)
        .unwrap()
        .support
        .insert(email("bob@acme.example"));
    let plan = plan(&current, &desired(&wanted));
    let markdown = render::markdown(&plan);
    assert!(markdown.len() <= MARKDOWN_LIMIT, "{} bytes", markdown.len());
    assert!(
        markdown.len() > MARKDOWN_LIMIT - 10_000,
        "cut far too early: {} bytes",
        markdown.len()
    );
    let shown = markdown.matches("\n+ member.invite ").count();
    let cut = 3000 - shown;
    assert!(
        markdown.contains(&format!(
            "{} more operations are not shown ({cut} on members, 1 on agreements)",
            cut + 1
        )),
        "{}",
        &markdown[markdown.len() - 400..]
    );
    // It points at the saved full plan, the one the pull request's job keeps.
    assert!(
        markdown.contains("The whole plan is in this run's saved plan (the `plan.json` artifact"),
        "{}",
        &markdown[markdown.len() - 400..]
    );
    // Sections opened are closed: fences and details balance.
    assert_eq!(markdown.matches("```").count() % 2, 0);
    assert_eq!(
        markdown.matches("<details>").count(),
        markdown.matches("</details>").count()
    );
    assert!(markdown.starts_with("### accord plan for `acme-eu`"));
    assert!(markdown.contains("**Plan: 3001 to add, 0 to change, 0 to remove.**"));
}

#[test]
fn a_saved_plan_round_trips_and_detects_edits() {
    let plan = representative_plan();
    assert!(plan.fingerprint.starts_with("sha256:"));
    let saved = SavedPlan {
        plan: plan.clone(),
        backend_revision: 42,
        config_digest: "sha256:ab".into(),
    };
    let text = saved.to_json();
    let back = SavedPlan::from_json(&text).expect("reads back");
    assert_eq!(back, saved);
    let edited = text.replacen("zed@acme.example", "zoe@acme.example", 1);
    let error = SavedPlan::from_json(&edited).unwrap_err();
    assert!(error.contains("do not match its fingerprint"), "{error}");
    let newer = text.replacen("\"version\": 1", "\"version\": 2", 1);
    assert!(
        SavedPlan::from_json(&newer)
            .unwrap_err()
            .contains("format version 2")
    );
    assert!(
        SavedPlan::from_json("{}")
            .unwrap_err()
            .starts_with("this is not a plan saved by")
    );
}

#[test]
fn equal_operations_have_equal_fingerprints() {
    let one = representative_plan();
    let two = representative_plan();
    assert_eq!(one.fingerprint, two.fingerprint);
    let (current, mut desired) = representative();
    desired.prune = false;
    assert_ne!(plan(&current, &desired).fingerprint, one.fingerprint);
}

#[test]
fn provenance_cites_the_declaration_that_causes_each_operation() {
    let (current, desired) = representative();
    let plan = plan(&current, &desired);
    let at = |kind, target: &str| cited(&desired, kind, target);
    let expected = [
        (
            "company.create Partner Engineering",
            at(Declared::Company, "Partner Engineering"),
        ),
        (
            "member.invite dana@acme.example",
            at(Declared::Member, "dana@acme.example"),
        ),
        (
            "member.update bob@acme.example",
            at(Declared::Member, "bob@acme.example"),
        ),
        (
            "agreement.update 110001234567",
            at(Declared::Product, "110001234567/AutoCAD"),
        ),
        ("member.remove zed@acme.example", "not declared".to_owned()),
        (
            "seat.unassign 110001234567/AutoCAD/bob@acme.example",
            at(Declared::Product, "110001234567/AutoCAD"),
        ),
        (
            "seat.assign 110001234567/AutoCAD/dana@acme.example",
            at(Declared::Seat, "110001234567/AutoCAD/dana@acme.example"),
        ),
        (
            "project_member.add Tower A/dana@acme.example",
            at(Declared::ProjectMember, "Tower A/dana@acme.example"),
        ),
        (
            "member.resend_invite carol@acme.example",
            "drift: invitation expired".to_owned(),
        ),
    ];
    for (line, provenance) in expected {
        assert_eq!(find(&plan, line).provenance.as_str(), provenance, "{line}");
    }
}

#[test]
fn the_configuration_digest_covers_every_file() {
    let config = super::common::TestConfig::new()
        .file("a.yaml", "account: { id: a, name: A }\n")
        .file("b.yaml", "members: []\n");
    let files = [config.join("b.yaml"), config.join("a.yaml")];
    let digest = config_digest(&files).unwrap();
    assert_eq!(
        digest,
        config_digest(&[config.join("a.yaml"), config.join("b.yaml")]).unwrap()
    );
    let changed = config.file("b.yaml", "members: [] \n");
    assert_ne!(
        digest,
        config_digest(&[changed.join("a.yaml"), changed.join("b.yaml")]).unwrap()
    );
}

/// The plan schema names every kind of operation the vocabulary has, and no other:
/// `OpKind` is the one source of the names, and the schema cannot drift from it.
#[test]
fn the_plan_schema_names_exactly_the_operation_kinds() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schemas/plan.schema.json"
    ))
    .expect("schemas/plan.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let kinds: std::collections::BTreeSet<String> = accord::contract::OpKind::ALL
        .iter()
        .map(|k| k.name().to_owned())
        .collect();
    let operation = &schema["$defs"]["operation"];
    let listed: std::collections::BTreeSet<String> = operation["properties"]["op"]["enum"]
        .as_array()
        .expect("an enum of operation names")
        .iter()
        .map(|v| v.as_str().expect("a name").to_owned())
        .collect();
    assert_eq!(listed, kinds, "the `op` enum");
    let mut consts = std::collections::BTreeSet::new();
    collect_consts(&schema, &mut consts);
    let op_consts: std::collections::BTreeSet<String> =
        consts.into_iter().filter(|c| c.contains('.')).collect();
    assert_eq!(op_consts, kinds, "the per-kind `const` branches");
}

fn collect_consts(value: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::String(c)) = map.get("const") {
                out.insert(c.clone());
            }
            map.values().for_each(|v| collect_consts(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_consts(v, out)),
        _ => {}
    }
}
