//! Unit tests of the rules, on configurations built in code (no positions: these
//! assert codes and JSON pointers; tests/it/rules.rs asserts lines through files).

use serde_json::{Value, json};

use super::compile;
use super::r08::DOCS_RULE;
use crate::config::{ConfigFile, SourceMap};
use crate::desired::{Desired, LimitSource};
use crate::diagnostic::{Code, Diagnostic};
use crate::state::{AccessLevel, Email, MemberStatus, ProjectAccess, ProjectProduct};

/// A valid configuration: alice is the admin; `structural` is dana and erik.
fn base() -> Value {
    json!({
        "account": { "id": "acme-eu", "name": "ACME Architects" },
        "companies": [{ "name": "ACME Architects", "trade": "Architecture" }],
        "roles": [
            { "name": "BIM Manager", "default_access": ["account_admin"] },
            { "name": "Architect" }
        ],
        "groups": [{ "name": "structural", "members": ["dana@acme.example", "erik@acme.example"] }],
        "members": [
            { "email": "alice@acme.example", "company": "ACME Architects", "role": "BIM Manager" },
            { "email": "bob@acme.example", "company": "ACME Architects", "role": "Architect" },
            { "email": "dana@acme.example", "company": "ACME Architects", "role": "Architect" },
            { "email": "erik@acme.example", "company": "ACME Architects", "role": "Architect" }
        ]
    })
}

/// `base()` with `section` set to `value`.
fn with(section: &str, value: Value) -> Value {
    let mut config = base();
    config[section] = value;
    config
}

/// `base()` with one agreement.
fn with_agreement(agreement: Value) -> Value {
    with("agreements", Value::Array(vec![agreement]))
}

/// An agreement managed by alice, with `extra` fields. It has one licence by
/// default, so a short support list passes R06.
fn agreement(extra: Value) -> Value {
    let mut agreement = json!({
        "number": "110001234567",
        "name": "AEC Collection",
        "contract_manager": "alice@acme.example",
        "products": [{ "name": "Docs", "seats": 1 }]
    });
    let Value::Object(fields) = extra else {
        panic!("extra fields are an object")
    };
    for (key, value) in fields {
        agreement[key] = value;
    }
    agreement
}

fn run(config: Value) -> Result<Desired, Vec<Diagnostic>> {
    let config: ConfigFile = serde_json::from_value(config).expect("a well-typed configuration");
    compile(&config, &SourceMap::default())
}

fn valid(config: Value) -> Desired {
    match run(config) {
        Ok(desired) => desired,
        Err(diagnostics) => panic!("expected valid, got {diagnostics:#?}"),
    }
}

/// The (code, pointer) of every diagnostic.
fn errors(config: Value) -> Vec<(Code, String)> {
    match run(config) {
        Ok(_) => panic!("expected the configuration to be invalid"),
        Err(diagnostics) => diagnostics
            .into_iter()
            .map(|d| (d.code, d.pointer))
            .collect(),
    }
}

fn messages(config: Value) -> Vec<Diagnostic> {
    run(config).expect_err("expected the configuration to be invalid")
}

fn one(code: Code, pointer: &str) -> Vec<(Code, String)> {
    vec![(code, pointer.to_owned())]
}

fn email(raw: &str) -> Email {
    Email::new(raw)
}

#[test]
fn the_base_configuration_is_valid() {
    valid(base());
}

// R01

#[test]
fn r01_refuses_a_malformed_member_email() {
    let mut config = base();
    config["members"][1]["email"] = json!("bob@acme");
    assert_eq!(errors(config), one(Code::R01, "/members/1/email"));
}

#[test]
fn r01_refuses_a_member_declared_twice_ignoring_case_and_spaces() {
    let mut config = base();
    config["members"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "email": "  Bob@ACME.example " }));
    let diagnostics = messages(config);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0].code, Code::R01);
    assert_eq!(diagnostics[0].pointer, "/members/4/email");
    assert!(diagnostics[0].message.contains("declared twice"));
}

#[test]
fn r01_refuses_a_malformed_protected_email_but_not_an_undeclared_one() {
    let config = with(
        "settings",
        json!({ "protected": ["it-admin@acme.example", "it admin"] }),
    );
    assert_eq!(errors(config), one(Code::R01, "/settings/protected/1"));
    valid(with(
        "settings",
        json!({ "protected": ["it-admin@acme.example"] }),
    ));
}

#[test]
fn r01_not_r07_for_a_malformed_address_in_a_list() {
    let config = with_agreement(agreement(
        json!({ "support": ["alice@acme.example", "bob at acme"] }),
    ));
    assert_eq!(errors(config), one(Code::R01, "/agreements/0/support/1"));
}

#[test]
fn r01_reports_a_malformed_declaration_once_not_at_every_use() {
    let mut config = base();
    config["members"][1]["email"] = json!("bob@@acme.example");
    config["agreements"] = json!([agreement(json!({ "support": ["bob@@acme.example"] }))]);
    assert_eq!(errors(config), one(Code::R01, "/members/1/email"));
}

// R02

#[test]
fn r02_refuses_an_undeclared_contract_manager_and_not_as_r07() {
    let config = with_agreement(agreement(json!({ "contract_manager": "zoe@acme.example" })));
    assert_eq!(
        errors(config),
        one(Code::R02, "/agreements/0/contract_manager")
    );
}

#[test]
fn r02_lets_one_person_manage_several_agreements() {
    let second = {
        let mut a = agreement(json!({ "contract_manager": "ALICE@acme.example" }));
        a["number"] = json!("110009999999");
        a
    };
    let desired = valid(with("agreements", json!([agreement(json!({})), second])));
    assert_eq!(desired.state.agreements.len(), 2);
}

// R03

#[test]
fn r03_refuses_an_undeclared_coordinator() {
    let config = with_agreement(agreement(
        json!({ "software_coordinator": "zoe@acme.example" }),
    ));
    assert_eq!(
        errors(config),
        one(Code::R03, "/agreements/0/software_coordinator")
    );
}

#[test]
fn r03_no_coordinator_means_the_contract_manager() {
    let desired = valid(with_agreement(agreement(json!({}))));
    let state = &desired.state.agreements["110001234567"];
    assert_eq!(state.software_coordinator, email("alice@acme.example"));
    let desired = valid(with_agreement(agreement(
        json!({ "software_coordinator": " Bob@acme.example" }),
    )));
    let state = &desired.state.agreements["110001234567"];
    assert_eq!(state.software_coordinator, email("bob@acme.example"));
}

// R04

#[test]
fn r04_counts_people_after_group_expansion() {
    let config = with_agreement(agreement(json!({ "products": [
        { "name": "AutoCAD", "seats": 2, "assigned": ["alice@acme.example", "group:structural"] }
    ] })));
    let diagnostics = messages(config);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0].code, Code::R04);
    assert_eq!(
        diagnostics[0].pointer,
        "/agreements/0/products/0/assigned/1"
    );
    assert!(
        diagnostics[0].message.contains("3 members"),
        "{}",
        diagnostics[0].message
    );
    assert!(
        diagnostics[0].message.contains("2 seats"),
        "{}",
        diagnostics[0].message
    );
}

#[test]
fn r04_counts_a_person_named_directly_and_through_a_group_once() {
    let config = with_agreement(agreement(json!({ "products": [
        { "name": "AutoCAD", "seats": 2, "assigned": ["Dana@acme.example", "group:structural", "erik@acme.example "] }
    ] })));
    let desired = valid(config);
    let product = &desired.state.agreements["110001234567"].products["AutoCAD"];
    assert_eq!(product.seats, Some(2));
    assert_eq!(
        product
            .assigned
            .iter()
            .map(Email::as_str)
            .collect::<Vec<_>>(),
        ["dana@acme.example", "erik@acme.example"]
    );
}

#[test]
fn r04_does_not_check_a_product_without_seats() {
    let config = with_agreement(agreement(json!({ "products": [
        { "name": "AutoCAD", "assigned": ["alice@acme.example", "group:structural"] }
    ] })));
    let desired = valid(config);
    assert_eq!(
        desired.state.agreements["110001234567"].products["AutoCAD"].seats,
        None
    );
}

#[test]
fn r04_a_seat_is_used_even_with_an_external_subscription() {
    let mut config = with_agreement(agreement(json!({ "products": [
        { "name": "Revit", "seats": 1, "assigned": ["alice@acme.example", "bob@acme.example"] }
    ] })));
    config["members"][1]["external_subscriptions"] = json!(["Revit"]);
    assert_eq!(
        errors(config),
        one(Code::R04, "/agreements/0/products/0/assigned/1")
    );
}

// R05

#[test]
fn r05_refuses_a_fourth_member_on_a_cloud_service() {
    let config = with_agreement(agreement(json!({ "cloud_services": [
        { "name": "Cloud Rendering", "assigned": ["alice@acme.example", "bob@acme.example", "group:structural"] }
    ] })));
    assert_eq!(
        errors(config),
        one(Code::R05, "/agreements/0/cloud_services/0/assigned/2")
    );
}

#[test]
fn r05_allows_three_distinct_members() {
    let config = with_agreement(agreement(json!({ "cloud_services": [
        { "name": "Cloud Rendering", "assigned": ["alice@acme.example", "ALICE@acme.example", "group:structural"] }
    ] })));
    valid(config);
}

// R06

fn seven_members() -> Value {
    let mut config = base();
    let members = config["members"].as_array_mut().unwrap();
    for name in ["f", "g", "h"] {
        members.push(json!({ "email": format!("{name}@acme.example") }));
    }
    config
}

#[test]
fn r06_refuses_more_than_six_support_members_per_licence() {
    let mut config = seven_members();
    config["agreements"] = json!([agreement(json!({
        "products": [{ "name": "AutoCAD", "seats": 1, "assigned": ["alice@acme.example"] }],
        "support": ["alice@acme.example", "bob@acme.example", "group:structural",
                    "f@acme.example", "g@acme.example", "h@acme.example"]
    }))]);
    assert_eq!(errors(config), one(Code::R06, "/agreements/0/support/5"));
}

#[test]
fn r06_allows_six_per_licence() {
    let mut config = seven_members();
    config["agreements"] = json!([agreement(json!({
        "products": [{ "name": "AutoCAD", "seats": 1, "assigned": ["alice@acme.example"] }],
        "support": ["alice@acme.example", "bob@acme.example", "group:structural",
                    "f@acme.example", "g@acme.example"]
    }))]);
    valid(config);
}

#[test]
fn r06_counts_a_product_without_seats_as_no_licence_and_says_so() {
    let config = with_agreement(agreement(json!({
        "products": [{ "name": "AutoCAD", "assigned": ["alice@acme.example"] }],
        "support": ["alice@acme.example"]
    })));
    let diagnostics = messages(config);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0].code, Code::R06);
    assert_eq!(diagnostics[0].pointer, "/agreements/0/support/0");
    assert!(
        diagnostics[0]
            .message
            .contains("(AutoCAD) count as 0 licences")
    );
}

// R07

#[test]
fn r07_refuses_an_undeclared_member_in_an_assignment_and_a_project() {
    let mut config = with_agreement(agreement(json!({ "products": [
        { "name": "AutoCAD", "assigned": ["alice@acme.example", "zoe@acme.example"] }
    ] })));
    config["projects"] =
        json!([{ "name": "Tower A", "members": [{ "email": "yves@acme.example" }] }]);
    assert_eq!(
        errors(config),
        vec![
            (Code::R07, "/agreements/0/products/0/assigned/1".to_owned()),
            (Code::R07, "/projects/0/members/0/email".to_owned()),
        ]
    );
}

#[test]
fn r07_reports_an_undeclared_group_member_once_at_the_group() {
    let mut config = with_agreement(agreement(json!({ "support": ["group:structural"] })));
    config["groups"][0]["members"] = json!(["dana@acme.example", "zoe@acme.example"]);
    config["projects"] = json!([{ "name": "Tower A", "members": [{ "group": "structural" }] }]);
    assert_eq!(errors(config), one(Code::R07, "/groups/0/members/1"));
}

#[test]
fn r07_an_inactive_member_holds_nothing() {
    let mut config = with_agreement(agreement(json!({
        "software_coordinator": "bob@acme.example",
        "products": [{ "name": "AutoCAD", "seats": 1, "assigned": ["bob@acme.example"] }],
        "cloud_services": [{ "name": "Rendering", "assigned": ["group:structural"] }],
        "support": ["dana@acme.example"]
    })));
    config["members"][1]["status"] = json!("inactive");
    config["members"][2]["status"] = json!("inactive");
    config["projects"] = json!([{ "name": "Tower A", "members": [
        { "email": "bob@acme.example" }, { "group": "structural" }
    ] }]);
    assert_eq!(
        errors(config),
        vec![
            (Code::R07, "/agreements/0/products/0/assigned/0".to_owned()),
            (
                Code::R07,
                "/agreements/0/cloud_services/0/assigned/0".to_owned()
            ),
            (Code::R07, "/agreements/0/support/0".to_owned()),
            (Code::R07, "/projects/0/members/0/email".to_owned()),
            (Code::R07, "/projects/0/members/1/group".to_owned()),
            (Code::R07, "/agreements/0/software_coordinator".to_owned()),
        ]
    );
}

#[test]
fn r07_an_inactive_contract_manager_is_r07_not_r02() {
    let mut config = with_agreement(agreement(json!({ "contract_manager": "bob@acme.example" })));
    config["members"][1]["status"] = json!("inactive");
    assert_eq!(
        errors(config),
        one(Code::R07, "/agreements/0/contract_manager")
    );
}

#[test]
fn r07_an_inactive_member_may_stay_in_a_group_and_keep_access() {
    let mut config = base();
    config["members"][2]["status"] = json!("inactive");
    config["members"][2]["access"] = json!(["executive"]);
    let desired = valid(config);
    let dana = &desired.state.members[&email("dana@acme.example")];
    assert_eq!(dana.status, MemberStatus::Inactive);
    assert!(dana.access.contains(&AccessLevel::Executive));
}

// R08

#[test]
fn r08_refuses_products_without_docs_and_says_why() {
    let config = with(
        "projects",
        json!([{ "name": "Tower A", "members": [
        { "email": "alice@acme.example", "products": ["docs", "build"] },
        { "email": "bob@acme.example", "products": ["build"] },
        { "group": "structural", "products": [] }
    ] }]),
    );
    let diagnostics = messages(config);
    let found: Vec<_> = diagnostics
        .iter()
        .map(|d| (d.code, d.pointer.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (Code::R08, "/projects/0/members/1/products"),
            (Code::R08, "/projects/0/members/2/products"),
        ]
    );
    assert!(diagnostics.iter().all(|d| d.message.contains(DOCS_RULE)));
    assert_eq!(
        DOCS_RULE,
        "turning docs off removes the person from the project"
    );
}

#[test]
fn r08_products_left_out_mean_docs() {
    let config = with(
        "projects",
        json!([{ "name": "Tower A", "members": [{ "email": "bob@acme.example" }] }]),
    );
    let desired = valid(config);
    let bob = &desired.state.projects["Tower A"].members[&email("bob@acme.example")];
    assert_eq!(
        bob.products.iter().copied().collect::<Vec<_>>(),
        [ProjectProduct::Docs]
    );
    assert_eq!(bob.access, ProjectAccess::Member);
}

// R09

#[test]
fn r09_refuses_unknown_company_role_and_group_with_hints() {
    let mut config = with_agreement(agreement(json!({ "support": ["group:structurl"] })));
    config["members"][1]["company"] = json!("acme architects");
    config["members"][2]["role"] = json!("Architekt");
    config["projects"] = json!([{ "name": "Tower A", "members": [{ "group": "nobody" }] }]);
    let diagnostics = messages(config);
    let found: Vec<_> = diagnostics
        .iter()
        .map(|d| (d.code, d.pointer.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (Code::R09, "/members/1/company"),
            (Code::R09, "/members/2/role"),
            (Code::R09, "/agreements/0/support/0"),
            (Code::R09, "/projects/0/members/0/group"),
        ]
    );
    let helps: Vec<_> = diagnostics
        .iter()
        .map(|d| d.help.clone().unwrap())
        .collect();
    assert!(
        helps[0].contains("did you mean `ACME Architects`?"),
        "{}",
        helps[0]
    );
    assert!(
        helps[1].contains("did you mean `Architect`?"),
        "{}",
        helps[1]
    );
    assert!(
        helps[2].contains("did you mean `structural`?"),
        "{}",
        helps[2]
    );
    assert!(!helps[3].contains("did you mean"), "{}", helps[3]);
}

#[test]
fn r09_refuses_names_declared_twice() {
    let mut config = base();
    config["companies"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "name": "ACME Architects" }));
    config["roles"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "name": "Architect" }));
    config["groups"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "name": "structural" }));
    config["projects"] = json!([{ "name": "Tower A" }, { "name": "Tower A" }]);
    config["agreements"] = json!([agreement(json!({})), agreement(json!({}))]);
    assert_eq!(
        errors(config),
        vec![
            (Code::R09, "/companies/1/name".to_owned()),
            (Code::R09, "/roles/2/name".to_owned()),
            (Code::R09, "/groups/1/name".to_owned()),
            (Code::R09, "/projects/1/name".to_owned()),
            (Code::R09, "/agreements/1/number".to_owned()),
        ]
    );
}

#[test]
fn r09_refuses_a_product_or_service_twice_in_one_agreement() {
    let config = with_agreement(agreement(json!({
        "products": [{ "name": "AutoCAD" }, { "name": "Revit" }, { "name": "AutoCAD" }],
        "cloud_services": [{ "name": "Rendering" }, { "name": "Rendering" }]
    })));
    assert_eq!(
        errors(config),
        vec![
            (Code::R09, "/agreements/0/products/2/name".to_owned()),
            (Code::R09, "/agreements/0/cloud_services/1/name".to_owned()),
        ]
    );
}

#[test]
fn r09_the_same_product_on_two_agreements_is_fine() {
    let mut second = agreement(json!({ "products": [{ "name": "AutoCAD", "seats": 1 }] }));
    second["number"] = json!("2");
    let first = agreement(json!({ "products": [{ "name": "AutoCAD", "seats": 1 }] }));
    valid(with("agreements", json!([first, second])));
}

#[test]
fn r09_refuses_a_person_or_group_twice_in_one_project() {
    let config = with(
        "projects",
        json!([{ "name": "Tower A", "members": [
        { "email": "bob@acme.example" }, { "group": "structural" },
        { "email": "BOB@acme.example", "access": "admin" }, { "group": "structural" }
    ] }]),
    );
    assert_eq!(
        errors(config),
        vec![
            (Code::R09, "/projects/0/members/2/email".to_owned()),
            (Code::R09, "/projects/0/members/3/group".to_owned()),
        ]
    );
}

#[test]
fn r09_refuses_a_cycle_of_groups_once() {
    let config = with(
        "groups",
        json!([
            { "name": "a", "members": ["alice@acme.example", "group:b"] },
            { "name": "b", "members": ["bob@acme.example", "group:c"] },
            { "name": "c", "members": ["group:a"] },
            { "name": "self", "members": ["group:self"] }
        ]),
    );
    assert_eq!(
        errors(config),
        vec![
            (Code::R09, "/groups/2/members/0".to_owned()),
            (Code::R09, "/groups/3/members/0".to_owned()),
        ]
    );
}

#[test]
fn r09_nested_groups_expand() {
    let mut config = with(
        "groups",
        json!([
            { "name": "everyone", "members": ["group:structural", "alice@acme.example"] },
            { "name": "structural", "members": ["dana@acme.example", "erik@acme.example"] }
        ]),
    );
    config["agreements"] = json!([agreement(json!({ "support": ["group:everyone"] }))]);
    let desired = valid(config);
    let support: Vec<_> = desired.state.agreements["110001234567"]
        .support
        .iter()
        .map(Email::as_str)
        .collect();
    assert_eq!(
        support,
        [
            "alice@acme.example",
            "dana@acme.example",
            "erik@acme.example"
        ]
    );
}

// R10

#[test]
fn r10_refuses_an_account_without_an_active_admin() {
    let mut config = base();
    config["members"][0]["status"] = json!("inactive");
    assert_eq!(errors(config), one(Code::R10, "/members"));
}

#[test]
fn r10_access_empty_list_means_no_access() {
    let mut config = base();
    config["members"][0]["access"] = json!([]);
    assert_eq!(errors(config), one(Code::R10, "/members"));
}

#[test]
fn r10_explicit_access_makes_an_admin() {
    let mut config = base();
    config["members"][0]["access"] = json!([]);
    config["members"][1]["access"] = json!(["account_admin"]);
    valid(config);
}

#[test]
fn r10_an_empty_configuration_has_no_admin() {
    let config = json!({ "account": { "id": "acme-eu", "name": "ACME" } });
    assert_eq!(errors(config), one(Code::R10, "/members"));
}

#[test]
fn r10_is_not_reported_when_an_unknown_role_hides_the_answer() {
    let mut config = base();
    config["members"][0]["role"] = json!("BIM Manger");
    assert_eq!(errors(config), one(Code::R09, "/members/0/role"));
}

// Shape

#[test]
fn a_project_entry_names_a_person_or_a_group() {
    let config = with(
        "projects",
        json!([{ "name": "Tower A", "members": [
        { "email": "bob@acme.example", "group": "structural" }, { "access": "admin" }
    ] }]),
    );
    assert_eq!(
        errors(config),
        vec![
            (Code::Schema, "/projects/0/members/0".to_owned()),
            (Code::Schema, "/projects/0/members/1".to_owned()),
        ]
    );
}

// Compile

#[test]
fn compile_resolves_access_status_and_names() {
    let mut config = base();
    config["members"][1]["access"] = json!(["executive", "standards_admin"]);
    config["members"][1]["first_name"] = json!("Bob");
    config["members"][1]["external_subscriptions"] = json!(["Revit", " Revit "]);
    config["members"][0]["email"] = json!(" Alice@ACME.example ");
    let desired = valid(config);
    let members = &desired.state.members;
    assert_eq!(members.len(), 4);
    let alice = &members[&email("alice@acme.example")];
    assert_eq!(
        alice.access.iter().copied().collect::<Vec<_>>(),
        [AccessLevel::AccountAdmin]
    );
    assert_eq!(alice.status, MemberStatus::Active);
    let bob = &members[&email("bob@acme.example")];
    assert_eq!(
        bob.access.iter().copied().collect::<Vec<_>>(),
        [AccessLevel::Executive, AccessLevel::StandardsAdmin]
    );
    assert_eq!(bob.first_name.as_deref(), Some("Bob"));
    assert_eq!(bob.company.as_deref(), Some("ACME Architects"));
    assert_eq!(bob.external_subscriptions.len(), 1);
    assert!(members[&email("dana@acme.example")].access.is_empty());
    assert_eq!(desired.state.account.id, "acme-eu");
    assert_eq!(
        desired.state.companies["ACME Architects"].trade.as_deref(),
        Some("Architecture")
    );
    assert!(
        desired.state.roles["BIM Manager"]
            .default_access
            .contains(&AccessLevel::AccountAdmin)
    );
}

#[test]
fn compile_projects_direct_entry_wins_and_groups_merge() {
    let mut config = with(
        "groups",
        json!([
            { "name": "structural", "members": ["dana@acme.example", "erik@acme.example"] },
            { "name": "leads", "members": ["erik@acme.example", "bob@acme.example"] }
        ]),
    );
    config["projects"] = json!([{ "name": "Tower A", "members": [
        { "group": "structural", "access": "member", "products": ["docs", "model_coordination"] },
        { "group": "leads", "access": "admin", "products": ["docs", "cost"] },
        { "email": "Dana@acme.example", "products": ["docs"] }
    ] }]);
    let desired = valid(config);
    let members = &desired.state.projects["Tower A"].members;
    assert_eq!(members.len(), 3);
    let dana = &members[&email("dana@acme.example")];
    assert_eq!(dana.access, ProjectAccess::Member);
    assert_eq!(
        dana.products.iter().copied().collect::<Vec<_>>(),
        [ProjectProduct::Docs]
    );
    let erik = &members[&email("erik@acme.example")];
    assert_eq!(erik.access, ProjectAccess::Admin);
    assert_eq!(
        erik.products.iter().copied().collect::<Vec<_>>(),
        [
            ProjectProduct::Docs,
            ProjectProduct::Cost,
            ProjectProduct::ModelCoordination
        ]
    );
    let bob = &members[&email("bob@acme.example")];
    assert_eq!(bob.access, ProjectAccess::Admin);
}

#[test]
fn compile_settings() {
    let config = with(
        "settings",
        json!({
            "prune": true, "max_removals": 3, "protected": [" IT-Admin@acme.example"]
        }),
    );
    let desired = valid(config);
    assert!(desired.prune);
    assert_eq!(desired.max_removals.limit, 3);
    assert!(matches!(
        desired.max_removals.source,
        LimitSource::Config(_)
    ));
    assert!(desired.protected.contains(&email("it-admin@acme.example")));
    let desired = valid(base());
    assert!(!desired.prune);
    assert_eq!(desired.max_removals.limit, 10);
    assert_eq!(desired.max_removals.source, LimitSource::Default);
}

#[test]
fn compile_agreements_in_full() {
    let desired = valid(with_agreement(agreement(json!({
        "products": [{ "name": "AutoCAD", "seats": 10, "assigned": ["alice@acme.example", "group:structural"] }],
        "cloud_services": [{ "name": "Rendering", "assigned": ["bob@acme.example"] }],
        "support": ["alice@acme.example", "Bob@acme.example"]
    }))));
    let agreement = &desired.state.agreements["110001234567"];
    assert_eq!(agreement.name, "AEC Collection");
    assert_eq!(agreement.contract_manager, email("alice@acme.example"));
    assert_eq!(agreement.products["AutoCAD"].assigned.len(), 3);
    assert_eq!(agreement.licences(), 10);
    assert_eq!(
        agreement.cloud_services["Rendering"]
            .iter()
            .collect::<Vec<_>>(),
        [&email("bob@acme.example")]
    );
    assert_eq!(agreement.support.len(), 2);
}

#[test]
fn a_configuration_without_account_is_refused() {
    let mut config = base();
    config.as_object_mut().unwrap().remove("account");
    assert_eq!(errors(config), one(Code::Schema, ""));
}

/// A generated configuration shaped like the benchmark's: `members` members, one
/// company per 50, 10 roles, one agreement per 200 members with 4 products, one
/// project per 20 members with 60 members each (a third through groups).
fn generated(members: usize) -> ConfigFile {
    let email = |i: usize| format!("user{i}@firm{}.example", i % 7);
    let mut config = json!({
        "account": { "id": "big", "name": "Big" },
        "companies": (0..members.div_ceil(50)).map(|c| json!({ "name": format!("Company {c}") })).collect::<Vec<_>>(),
        "roles": (0..10).map(|r| json!({ "name": format!("Role {r}"), "default_access": if r == 0 { json!(["account_admin"]) } else { json!([]) } })).collect::<Vec<_>>(),
        "members": (0..members).map(|i| json!({
            "email": email(i), "company": format!("Company {}", i / 50), "role": format!("Role {}", i % 10)
        })).collect::<Vec<_>>(),
    });
    config["groups"] = (0..members / 20)
        .map(|g| json!({ "name": format!("team{g}"), "members": (0..20).map(|k| email(g * 20 + k)).collect::<Vec<_>>() }))
        .collect();
    config["agreements"] = (0..members / 200)
        .map(|a| {
            json!({
                "number": format!("1100{a:08}"), "name": format!("Agreement {a}"),
                "contract_manager": email(a * 200),
                "products": (0..4).map(|p| json!({
                    "name": format!("Product {p}"), "seats": 60,
                    "assigned": (0..40).map(|k| email(a * 200 + p * 40 + k)).chain([format!("group:team{}", a * 10)]).collect::<Vec<_>>()
                })).collect::<Vec<_>>(),
                "support": (0..20).map(|k| email(a * 200 + k)).collect::<Vec<_>>(),
            })
        })
        .collect();
    config["projects"] = (0..members / 20)
        .map(|p| {
            let direct = (0..40).map(|k| json!({ "email": email((p * 20 + k * 7) % members), "products": ["docs", "build"] }));
            let groups = (1..=1).map(|k| json!({ "group": format!("team{}", (p + k) % (members / 20)), "access": "admin" }));
            json!({ "name": format!("Project {p}"), "members": direct.chain(groups).collect::<Vec<_>>() })
        })
        .collect();
    serde_json::from_value(config).expect("a well-typed configuration")
}

#[test]
fn a_large_generated_configuration_compiles() {
    let config = generated(2_000);
    let desired = compile(&config, &SourceMap::default()).expect("valid");
    assert_eq!(desired.state.members.len(), 2_000);
    assert_eq!(desired.state.agreements.len(), 10);
    assert_eq!(desired.state.projects.len(), 100);
    let project = &desired.state.projects["Project 0"];
    assert_eq!(project.members.len(), 40 + 20 - overlap(0, 2_000));
}

/// How many of project `p`'s direct members are also in its group.
fn overlap(p: usize, members: usize) -> usize {
    let group = (p + 1) % (members / 20);
    (0..40)
        .map(|k| (p * 20 + k * 7) % members)
        .filter(|i| i / 20 == group)
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// Run with `cargo test --release --lib rules::tests::timing -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn timing_on_50_000_members() {
    let config = generated(50_000);
    let sources = SourceMap::default();
    let start = std::time::Instant::now();
    let ctx = super::Context::new(&config, &sources);
    let built = start.elapsed();
    let diagnostics = super::check(&ctx);
    let checked = start.elapsed();
    let desired = super::compile::desired(&ctx).expect("valid");
    let compiled = start.elapsed();
    assert!(
        diagnostics.is_empty(),
        "{:?}",
        &diagnostics[..3.min(diagnostics.len())]
    );
    println!(
        "context {built:?}, rules {:?}, compile {:?}; {} members, {} project memberships",
        checked.saturating_sub(built),
        compiled.saturating_sub(checked),
        desired.state.members.len(),
        desired
            .state
            .projects
            .values()
            .map(|p| p.members.len())
            .sum::<usize>()
    );
}

// Teams

/// `base()` with one team, `extra` fields merged into it.
fn with_team(extra: Value) -> Value {
    let mut team = json!({ "id": "100001", "name": "ACME EU" });
    let Value::Object(fields) = extra else {
        panic!("extra fields are an object")
    };
    for (key, value) in fields {
        team[key] = value;
    }
    with("teams", json!([team]))
}

#[test]
fn teams_r04_counts_people_after_group_expansion() {
    let config = with_team(json!({ "products": [
        { "name": "AutoCAD", "seats": 2, "assigned": ["alice@acme.example", "group:structural"] }
    ] }));
    let diagnostics = messages(config);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let d = &diagnostics[0];
    assert_eq!(d.code, Code::R04);
    assert_eq!(d.pointer, "/teams/0/products/0/assigned/1");
    assert_eq!(
        d.message,
        "`AutoCAD` on team 100001 (ACME EU) is assigned to 3 members but its pool has 2 seats"
    );
    assert!(
        d.help.as_deref().unwrap().starts_with("raise `seats` to 3"),
        "{:?}",
        d.help
    );
}

#[test]
fn teams_r04_a_person_named_directly_and_through_a_group_uses_one_seat() {
    let desired = valid(with_team(json!({ "products": [
        { "name": "AutoCAD", "seats": 2, "assigned": ["Dana@acme.example ", "group:structural"] }
    ] })));
    let pool = &desired.state.teams["100001"].pools["AutoCAD"];
    assert_eq!(pool.seats, Some(2));
    assert_eq!(
        pool.direct.iter().map(Email::as_str).collect::<Vec<_>>(),
        ["dana@acme.example", "erik@acme.example"]
    );
}

#[test]
fn teams_r04_the_members_list_uses_no_seat_and_a_pool_without_seats_is_not_checked() {
    let desired = valid(with_team(json!({
        "members": ["alice@acme.example", "bob@acme.example", "group:structural"],
        "products": [
            { "name": "AutoCAD", "seats": 0 },
            { "name": "Revit", "assigned": ["alice@acme.example", "bob@acme.example", "group:structural"] }
        ]
    })));
    let team = &desired.state.teams["100001"];
    assert_eq!(team.pools["AutoCAD"].seats, Some(0));
    assert_eq!(
        team.pools["Revit"].seats, None,
        "not declared: keep the live size"
    );
    assert_eq!(team.pools["Revit"].direct.len(), 4);
}

#[test]
fn teams_r07_everyone_on_a_team_is_declared() {
    let config = with_team(json!({
        "members": ["zoe@acme.example"],
        "products": [{ "name": "AutoCAD", "assigned": ["alice@acme.example", "yves@acme.example"] }]
    }));
    let diagnostics = messages(config);
    let found: Vec<(Code, &str, &str)> = diagnostics
        .iter()
        .map(|d| (d.code, d.pointer.as_str(), d.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                Code::R07,
                "/teams/0/members/0",
                "`zoe@acme.example` in the `members` list of team 100001 (ACME EU) is not declared under `members`"
            ),
            (
                Code::R07,
                "/teams/0/products/0/assigned/1",
                "`yves@acme.example` in the seats of `AutoCAD` on team 100001 (ACME EU) is not declared under `members`"
            ),
        ]
    );
}

#[test]
fn teams_r07_an_inactive_member_holds_no_team_seat_and_is_on_no_team() {
    let mut config = with_team(json!({
        "members": ["bob@acme.example", "group:structural"],
        "products": [{ "name": "AutoCAD", "assigned": ["Bob@acme.example", "group:structural"] }]
    }));
    config["members"][1]["status"] = json!("inactive");
    config["members"][2]["status"] = json!("inactive");
    let diagnostics = messages(config);
    let found: Vec<(Code, &str)> = diagnostics
        .iter()
        .map(|d| (d.code, d.pointer.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (Code::R07, "/teams/0/members/0"),
            (Code::R07, "/teams/0/members/1"),
            (Code::R07, "/teams/0/products/0/assigned/0"),
            (Code::R07, "/teams/0/products/0/assigned/1"),
        ]
    );
    assert_eq!(
        diagnostics[0].message,
        "`bob@acme.example` is inactive but is on the `members` list of team 100001 (ACME EU)"
    );
    assert!(
        diagnostics[0]
            .help
            .as_deref()
            .unwrap()
            .contains("holds no team seat and is on no team's `members` list"),
        "{:?}",
        diagnostics[0].help
    );
    assert_eq!(
        diagnostics[3].message,
        "group `structural` puts inactive member dana@acme.example on the seats of `AutoCAD` on team 100001 (ACME EU)"
    );
}

#[test]
fn teams_r01_a_malformed_address_on_a_team_list() {
    let config = with_team(json!({ "members": ["alice@acme.example", "bob at acme"] }));
    assert_eq!(errors(config), one(Code::R01, "/teams/0/members/1"));
}

#[test]
fn teams_r09_a_team_id_declared_twice() {
    let config = with(
        "teams",
        json!([
            { "id": "100001", "name": "ACME EU" },
            { "id": "100002", "name": "ACME US" },
            { "id": "100001", "name": "ACME EU again" }
        ]),
    );
    let diagnostics = messages(config);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0].code, Code::R09);
    assert_eq!(diagnostics[0].pointer, "/teams/2/id");
    assert_eq!(diagnostics[0].message, "team id `100001` is declared twice");
}

#[test]
fn teams_r09_a_product_twice_in_one_team_but_fine_in_two_teams() {
    let config = with_team(json!({
        "products": [{ "name": "AutoCAD" }, { "name": "Revit" }, { "name": "AutoCAD", "seats": 3 }]
    }));
    let diagnostics = messages(config);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0].code, Code::R09);
    assert_eq!(diagnostics[0].pointer, "/teams/0/products/2/name");
    assert_eq!(
        diagnostics[0].message,
        "on team 100001 (ACME EU), product `AutoCAD` is declared twice"
    );
    valid(with(
        "teams",
        json!([
            { "id": "1", "name": "A", "products": [{ "name": "AutoCAD" }] },
            { "id": "2", "name": "B", "products": [{ "name": "AutoCAD" }] }
        ]),
    ));
}

#[test]
fn teams_r09_an_unknown_group_on_a_team_list() {
    let config = with_team(json!({
        "members": ["group:structual"],
        "products": [{ "name": "AutoCAD", "assigned": ["group:nobody"] }]
    }));
    let diagnostics = messages(config);
    let found: Vec<(Code, &str)> = diagnostics
        .iter()
        .map(|d| (d.code, d.pointer.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (Code::R09, "/teams/0/members/0"),
            (Code::R09, "/teams/0/products/0/assigned/0"),
        ]
    );
    assert!(
        diagnostics[0]
            .help
            .as_deref()
            .unwrap()
            .contains("did you mean `structural`?")
    );
}

#[test]
fn teams_compile_users_pools_and_provenance_kinds() {
    let desired = valid(with(
        "teams",
        json!([
            {
                "id": "100001", "name": "ACME EU",
                "members": ["alice@acme.example", "group:structural"],
                "products": [
                    { "name": "AutoCAD", "seats": 10, "assigned": ["BOB@acme.example", "dana@acme.example"] },
                    { "name": "Revit" }
                ]
            },
            { "id": "100002", "name": "ACME US" }
        ]),
    ));
    let teams = &desired.state.teams;
    assert_eq!(teams.keys().collect::<Vec<_>>(), ["100001", "100002"]);
    let eu = &teams["100001"];
    assert_eq!(eu.name, "ACME EU");
    assert_eq!(
        eu.users.iter().map(Email::as_str).collect::<Vec<_>>(),
        [
            "alice@acme.example",
            "bob@acme.example",
            "dana@acme.example",
            "erik@acme.example"
        ],
        "`members` and `assigned`, groups expanded, each person once"
    );
    assert_eq!(eu.pools.len(), 2);
    assert!(eu.pools["Revit"].direct.is_empty());
    let autocad = &eu.pools["AutoCAD"];
    assert!(!autocad.unlimited && autocad.starts.is_none() && autocad.ends.is_none());
    assert!(
        autocad.inherited.is_empty(),
        "a desired pool holds no inherited seats"
    );
    assert_eq!(
        teams["100002"],
        crate::state::TeamState {
            name: "ACME US".into(),
            ..Default::default()
        }
    );
    // No positions here (configurations built in code): nothing is recorded, and
    // tests/it/rules.rs checks the lines through files.
    assert!(desired.provenance.is_empty());
}
