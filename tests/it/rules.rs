//! Tests of the rules area: R01-R10 through real files, asserting each diagnostic's
//! code AND line, the precedence between rules, and what a valid configuration
//! compiles to (including where each declaration is recorded).

use std::fmt::Write as _;

use accord::desired::{Declared, LimitSource};
use accord::diagnostic::Diagnostic;
use accord::state::{AccessLevel, Email, MemberStatus, ProjectAccess, ProjectProduct};

use crate::common::{TestConfig, lines_of, with_code};

/// A valid configuration, one node per line where tests point: alice is the admin,
/// `structural` is dana and erik.
const BASE: &str = "\
account: { id: acme-eu, name: ACME Architects }
companies:
  - { name: ACME Architects, trade: Architecture }
roles:
  - { name: BIM Manager, default_access: [account_admin] }
  - { name: Architect }
groups:
  - name: structural
    members:
      - dana@acme.example
      - erik@acme.example
members:
  - { email: alice@acme.example, company: ACME Architects, role: BIM Manager }
  - { email: bob@acme.example, company: ACME Architects, role: Architect }
  - { email: dana@acme.example, company: ACME Architects, role: Architect }
  - { email: erik@acme.example, company: ACME Architects, role: Architect }
";

/// An agreement section; `body` is indented under the agreement (4 spaces).
fn agreement(body: &str) -> String {
    format!(
        "agreements:\n  - number: \"110001234567\"\n    name: AEC Collection\n    contract_manager: alice@acme.example\n{body}"
    )
}

/// The 1-based line of the only line of `yaml` containing `needle`.
fn line_of(yaml: &str, needle: &str) -> u32 {
    let found: Vec<usize> = yaml
        .lines()
        .enumerate()
        .filter(|(_, line)| line.contains(needle))
        .map(|(index, _)| index + 1)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "`{needle}` should be on exactly one line, found {found:?}"
    );
    u32::try_from(found[0]).expect("a small file")
}

/// The 1-based line of the only line of `yaml` that is exactly `text`.
fn line_is(yaml: &str, text: &str) -> u32 {
    let found: Vec<usize> = yaml
        .lines()
        .enumerate()
        .filter(|(_, line)| *line == text)
        .map(|(index, _)| index + 1)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "`{text}` should be exactly one line, found {found:?}"
    );
    u32::try_from(found[0]).expect("a small file")
}

/// `BASE` with `from` replaced by `to` (which must be there).
fn base_with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}

/// Validates `yaml` as one file, expecting errors.
fn errors(yaml: &str) -> Vec<Diagnostic> {
    TestConfig::with(yaml).errors()
}

/// The codes of all diagnostics, to assert nothing else was reported.
fn codes(diagnostics: &[Diagnostic]) -> Vec<&'static str> {
    diagnostics.iter().map(|d| d.code.as_str()).collect()
}

fn email(raw: &str) -> Email {
    Email::new(raw)
}

#[test]
fn the_base_configuration_is_valid() {
    TestConfig::with(BASE).valid();
}

// R01

#[test]
fn r01_malformed_member_email() {
    let yaml = base_with("email: bob@acme.example", "email: bob@acme");
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R01"]);
    assert_eq!(lines_of(&errors, "R01"), [line_of(&yaml, "bob@acme,")]);
    assert_eq!(errors[0].location.as_ref().unwrap().column, 14);
    assert_eq!(errors[0].pointer, "/members/1/email");
}

#[test]
fn r01_member_declared_twice_across_files_cites_both() {
    let more = "members:\n  - { email: \" Alice@ACME.example \", company: ACME Architects }\n";
    let config = TestConfig::with(BASE).file("more.yaml", more);
    let errors = config.errors();
    assert_eq!(
        codes(&errors),
        ["R01"],
        "a member email twice is R01, not R09"
    );
    let location = errors[0].location.as_ref().expect("located");
    assert!(location.file.ends_with("more.yaml"), "{location}");
    assert_eq!(location.line, 2);
    let first = &errors[0].related[0].location;
    assert!(first.file.ends_with("accord.yaml"), "{first}");
    assert_eq!(first.line, line_of(BASE, "alice@acme.example"));
}

#[test]
fn r01_protected_entries_are_emails_but_need_not_be_declared() {
    let yaml =
        format!("{BASE}settings:\n  protected:\n    - it-admin@acme.example\n    - it admin\n");
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R01"]);
    assert_eq!(lines_of(&errors, "R01"), [line_of(&yaml, "- it admin")]);
    let valid = format!("{BASE}settings:\n  protected: [IT-Admin@acme.example]\n");
    let desired = TestConfig::with(&valid).valid().desired;
    assert!(desired.protected.contains(&email("it-admin@acme.example")));
}

#[test]
fn r01_not_r07_for_a_malformed_address_on_a_list() {
    let yaml = format!(
        "{BASE}{}",
        agreement(
            "    products: [{ name: AutoCAD, seats: 1 }]\n    support:\n      - alice@acme.example\n      - bob at acme\n"
        )
    );
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R01"], "{errors:#?}");
    assert_eq!(lines_of(&errors, "R01"), [line_of(&yaml, "bob at acme")]);
}

#[test]
fn r10_is_left_to_r09_when_an_unknown_role_hides_the_admin() {
    let yaml = base_with("role: BIM Manager }", "role: BIM Manger }");
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R09"], "{errors:#?}");
    assert_eq!(lines_of(&errors, "R09"), [line_of(&yaml, "BIM Manger")]);
    assert!(
        errors[0]
            .help
            .as_deref()
            .unwrap()
            .contains("did you mean `BIM Manager`?")
    );
}

// R02

#[test]
fn r02_undeclared_contract_manager() {
    let yaml = format!("{BASE}{}", agreement("")).replace(
        "contract_manager: alice@acme.example",
        "contract_manager: zoe@acme.example",
    );
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R02"], "not also R07");
    assert_eq!(
        lines_of(&errors, "R02"),
        [line_of(&yaml, "contract_manager:")]
    );
}

#[test]
fn r02_one_person_may_manage_several_agreements() {
    let yaml = format!(
        "{BASE}{}  - {{ number: \"2\", name: Other, contract_manager: ALICE@acme.example }}\n",
        agreement("")
    );
    let desired = TestConfig::with(&yaml).valid().desired;
    assert_eq!(
        desired.state.agreements["2"].contract_manager,
        email("alice@acme.example")
    );
}

// R03

#[test]
fn r03_undeclared_coordinator() {
    let yaml = format!(
        "{BASE}{}",
        agreement("    software_coordinator: zoe@acme.example\n")
    );
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R03"]);
    assert_eq!(
        lines_of(&errors, "R03"),
        [line_of(&yaml, "software_coordinator:")]
    );
}

#[test]
fn r03_no_coordinator_means_the_contract_manager() {
    let yaml = format!("{BASE}{}", agreement(""));
    let desired = TestConfig::with(&yaml).valid().desired;
    let state = &desired.state.agreements["110001234567"];
    assert_eq!(state.software_coordinator, email("alice@acme.example"));
    let cited = desired
        .provenance
        .get(Declared::SoftwareCoordinator, "110001234567")
        .expect("recorded");
    assert_eq!(cited.line, line_of(&yaml, "contract_manager:"));
}

#[test]
fn r03_named_coordinator_is_compiled() {
    let yaml = format!(
        "{BASE}{}",
        agreement("    software_coordinator: Bob@acme.example\n")
    );
    let desired = TestConfig::with(&yaml).valid().desired;
    let state = &desired.state.agreements["110001234567"];
    assert_eq!(state.software_coordinator, email("bob@acme.example"));
}

// R04

const SEATS: &str = "    products:
      - name: AutoCAD
        seats: 2
        assigned:
          - alice@acme.example
          - group:structural
";

#[test]
fn r04_more_people_than_seats_after_group_expansion() {
    let yaml = format!("{BASE}{}", agreement(SEATS));
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R04"]);
    assert_eq!(
        lines_of(&errors, "R04"),
        [line_of(&yaml, "- group:structural")]
    );
    assert!(
        errors[0].message.contains("3 members"),
        "{}",
        errors[0].message
    );
    assert_eq!(
        errors[0].related[0].location.line,
        line_of(&yaml, "seats: 2")
    );
}

#[test]
fn r04_a_person_named_directly_and_through_a_group_uses_one_seat() {
    let yaml = format!("{BASE}{}", agreement(SEATS)).replace(
        "- alice@acme.example\n          - group",
        "- Dana@acme.example\n          - group",
    );
    let desired = TestConfig::with(&yaml).valid().desired;
    let product = &desired.state.agreements["110001234567"].products["AutoCAD"];
    assert_eq!(product.assigned.len(), 2);
    assert_eq!(product.seats, Some(2));
}

// R05

const SERVICE: &str = "    cloud_services:
      - name: Cloud Rendering
        assigned:
          - alice@acme.example
          - bob@acme.example
          - group:structural
";

#[test]
fn r05_at_most_three_per_cloud_service() {
    let yaml = format!("{BASE}{}", agreement(SERVICE));
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R05"]);
    assert_eq!(
        lines_of(&errors, "R05"),
        [line_of(&yaml, "- group:structural")]
    );
}

#[test]
fn r05_three_is_fine() {
    let yaml = format!("{BASE}{}", agreement(SERVICE))
        .replace("- bob@acme.example", "- ALICE@acme.example");
    let desired = TestConfig::with(&yaml).valid().desired;
    assert_eq!(
        desired.state.agreements["110001234567"].cloud_services["Cloud Rendering"].len(),
        3
    );
}

// R06

/// One licence (so 6 support members at most) and `support` listing `people`.
fn support(people: &[&str]) -> String {
    let mut yaml = base_with(
        "\nmembers:\n",
        "\nmembers:\n  - { email: f@acme.example }\n  - { email: g@acme.example }\n  - { email: h@acme.example }\n",
    );
    let mut body = "    products: [{ name: AutoCAD, seats: 1 }]\n    support:\n".to_owned();
    for person in people {
        let _ = writeln!(body, "      - {person}");
    }
    yaml.push_str(&agreement(&body));
    yaml
}

#[test]
fn r06_at_most_six_support_members_per_licence() {
    let yaml = support(&[
        "alice@acme.example",
        "bob@acme.example",
        "group:structural",
        "f@acme.example",
        "g@acme.example",
        "h@acme.example",
    ]);
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R06"]);
    assert_eq!(
        lines_of(&errors, "R06"),
        [line_of(&yaml, "- h@acme.example")]
    );
}

#[test]
fn r06_six_per_licence_is_fine() {
    let yaml = support(&[
        "alice@acme.example",
        "bob@acme.example",
        "group:structural",
        "f@acme.example",
        "g@acme.example",
    ]);
    let desired = TestConfig::with(&yaml).valid().desired;
    assert_eq!(desired.state.agreements["110001234567"].support.len(), 6);
}

#[test]
fn r06_a_product_without_seats_counts_no_licence() {
    let yaml = support(&["alice@acme.example"]).replace("seats: 1", "assigned: []");
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R06"]);
    assert_eq!(
        lines_of(&errors, "R06"),
        [line_of(&yaml, "- alice@acme.example")]
    );
    assert!(
        errors[0].message.contains("without `seats`"),
        "{}",
        errors[0].message
    );
}

// R07

#[test]
fn r07_undeclared_members_in_an_assignment_a_group_and_a_project() {
    let yaml = format!(
        "{}{}projects:\n  - name: Tower A\n    members:\n      - {{ email: yves@acme.example }}\n",
        base_with(
            "- erik@acme.example\n",
            "- erik@acme.example\n      - xavier@acme.example\n"
        ),
        agreement(
            "    products:\n      - name: AutoCAD\n        assigned:\n          - zoe@acme.example\n          - group:structural\n"
        ),
    );
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R07", "R07", "R07"], "{errors:#?}");
    let mut lines = lines_of(&errors, "R07");
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            line_of(&yaml, "xavier@"),
            line_of(&yaml, "zoe@"),
            line_of(&yaml, "yves@"),
        ],
        "xavier is reported once, at the group, not where the group is used"
    );
}

#[test]
fn r07_an_inactive_member_holds_nothing() {
    let yaml = format!(
        "{}{}projects:\n  - name: Tower A\n    members:\n      - {{ group: structural }}\n",
        base_with(
            "email: dana@acme.example,",
            "email: dana@acme.example, status: inactive,"
        ),
        agreement("    software_coordinator: dana@acme.example\n"),
    );
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R07", "R07"], "{errors:#?}");
    assert_eq!(
        with_code(&errors, "R07")
            .iter()
            .map(|(line, _)| *line)
            .collect::<Vec<_>>(),
        [
            line_of(&yaml, "software_coordinator:"),
            line_of(&yaml, "group: structural")
        ]
    );
    assert!(
        errors[1].message.contains("dana@acme.example"),
        "{}",
        errors[1].message
    );
}

#[test]
fn r07_an_inactive_contract_manager_is_r07_not_r02() {
    let yaml = format!(
        "{}{}",
        base_with(
            "email: alice@acme.example,",
            "email: alice@acme.example, status: inactive, access: [],"
        ),
        agreement(""),
    )
    .replace(
        "role: Architect }\n  - { email: dana",
        "role: Architect, access: [account_admin] }\n  - { email: dana",
    );
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R07"], "{errors:#?}");
    assert_eq!(
        lines_of(&errors, "R07"),
        [line_of(&yaml, "contract_manager:")]
    );
}

#[test]
fn r07_an_inactive_member_may_stay_in_an_unused_group() {
    let yaml = base_with(
        "email: dana@acme.example,",
        "email: dana@acme.example, status: inactive, access: [executive],",
    );
    let desired = TestConfig::with(&yaml).valid().desired;
    let dana = &desired.state.members[&email("dana@acme.example")];
    assert_eq!(dana.status, MemberStatus::Inactive);
    assert!(
        dana.access.contains(&AccessLevel::Executive),
        "kept for their return"
    );
}

// R08

#[test]
fn r08_a_project_member_without_docs() {
    let yaml = format!(
        "{BASE}projects:\n  - name: Tower A\n    members:\n      - {{ email: alice@acme.example, products: [docs, build] }}\n      - {{ email: bob@acme.example, products: [build] }}\n"
    );
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R08"]);
    assert_eq!(
        lines_of(&errors, "R08"),
        [line_of(&yaml, "products: [build]")]
    );
    assert!(
        errors[0]
            .message
            .contains("turning docs off removes the person from the project"),
        "{}",
        errors[0].message
    );
}

#[test]
fn r08_products_left_out_mean_docs() {
    let yaml = format!(
        "{BASE}projects:\n  - name: Tower A\n    members:\n      - {{ email: bob@acme.example }}\n"
    );
    let desired = TestConfig::with(&yaml).valid().desired;
    let bob = &desired.state.projects["Tower A"].members[&email("bob@acme.example")];
    assert_eq!(
        bob.products.iter().copied().collect::<Vec<_>>(),
        [ProjectProduct::Docs]
    );
}

// R09

#[test]
fn r09_unknown_company_role_and_group() {
    let yaml = format!(
        "{}{}",
        base_with(
            "email: bob@acme.example, company: ACME Architects, role: Architect",
            "email: bob@acme.example, company: Acme, role: Architekt"
        ),
        agreement(
            "    products: [{ name: AutoCAD, seats: 1 }]\n    support:\n      - group:structurl\n"
        ),
    );
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R09", "R09", "R09"], "{errors:#?}");
    assert_eq!(
        lines_of(&errors, "R09"),
        [
            line_of(&yaml, "company: Acme,"),
            line_of(&yaml, "company: Acme,"),
            line_of(&yaml, "group:structurl")
        ]
    );
    assert!(
        errors[2]
            .help
            .as_deref()
            .unwrap()
            .contains("did you mean `structural`?")
    );
}

#[test]
fn r09_a_project_declared_twice_across_files_cites_both() {
    let config = TestConfig::with(BASE)
        .file("projects-a.yaml", "projects:\n  - name: Tower A\n")
        .file(
            "projects-b.yaml",
            "projects:\n  - name: Tower B\n  - name: Tower A\n",
        );
    let errors = config.errors();
    assert_eq!(codes(&errors), ["R09"]);
    let location = errors[0].location.as_ref().expect("located");
    assert!(location.file.ends_with("projects-b.yaml"), "{location}");
    assert_eq!(location.line, 3);
    let first = &errors[0].related[0].location;
    assert!(first.file.ends_with("projects-a.yaml"), "{first}");
    assert_eq!(first.line, 2);
}

#[test]
fn r09_a_product_twice_in_one_agreement() {
    let yaml = format!(
        "{BASE}{}",
        agreement(
            "    products:\n      - { name: AutoCAD, seats: 1 }\n      - { name: AutoCAD, seats: 2 }\n"
        )
    );
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R09"]);
    assert_eq!(lines_of(&errors, "R09"), [line_of(&yaml, "seats: 2")]);
}

#[test]
fn r09_a_cycle_of_groups() {
    let yaml = base_with(
        "groups:\n",
        "groups:\n  - { name: a, members: [alice@acme.example, group:b] }\n  - name: b\n    members:\n      - group:a\n",
    );
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R09"]);
    assert_eq!(lines_of(&errors, "R09"), [line_of(&yaml, "- group:a")]);
}

#[test]
fn r09_nested_groups_expand() {
    let yaml = format!(
        "{}{}",
        base_with(
            "groups:\n",
            "groups:\n  - { name: everyone, members: [group:structural, alice@acme.example] }\n"
        ),
        agreement("    products: [{ name: AutoCAD, seats: 1 }]\n    support: [group:everyone]\n"),
    );
    let desired = TestConfig::with(&yaml).valid().desired;
    assert_eq!(desired.state.agreements["110001234567"].support.len(), 3);
}

// R10

#[test]
fn r10_the_account_keeps_an_admin() {
    let yaml = base_with("role: BIM Manager }", "role: BIM Manager, access: [] }");
    let errors = errors(&yaml);
    assert_eq!(
        codes(&errors),
        ["R10"],
        "`access: []` means no access at all"
    );
    assert_eq!(lines_of(&errors, "R10"), [line_is(&yaml, "members:")]);
}

#[test]
fn r10_an_inactive_admin_does_not_count_but_an_explicit_one_does() {
    let inactive = base_with(
        "role: BIM Manager }",
        "role: BIM Manager, status: inactive }",
    );
    assert_eq!(codes(&errors(&inactive)), ["R10"]);
    let explicit = inactive.replace(
        "email: bob@acme.example, company: ACME Architects, role: Architect }",
        "email: bob@acme.example, company: ACME Architects, role: Architect, access: [account_admin] }",
    );
    TestConfig::with(&explicit).valid();
}

// Compile

#[test]
fn compile_resolves_defaults_groups_and_provenance() {
    let yaml = format!(
        "{}settings:\n  prune: true\n  max_removals: 3\n{}projects:\n  - name: Tower A\n    members:\n      - {{ group: structural, products: [docs, model_coordination] }}\n      - {{ email: Erik@acme.example, access: admin }}\n",
        base_with(
            "role: Architect }\n  - { email: dana",
            "role: Architect, access: [executive] }\n  - { email: dana"
        ),
        agreement(
            "    products:\n      - name: AutoCAD\n        seats: 10\n        assigned: [alice@acme.example, group:structural]\n"
        ),
    );
    let validated = TestConfig::with(&yaml).valid();
    let desired = &validated.desired;
    let state = &desired.state;
    assert_eq!(state.account.id, "acme-eu");
    assert_eq!(
        state.members[&email("alice@acme.example")]
            .access
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        [AccessLevel::AccountAdmin],
        "role default"
    );
    assert_eq!(
        state.members[&email("bob@acme.example")]
            .access
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        [AccessLevel::Executive],
        "explicit access overrides"
    );
    assert!(state.members[&email("dana@acme.example")].access.is_empty());

    let seats = &state.agreements["110001234567"].products["AutoCAD"].assigned;
    assert_eq!(
        seats.iter().map(Email::as_str).collect::<Vec<_>>(),
        [
            "alice@acme.example",
            "dana@acme.example",
            "erik@acme.example"
        ]
    );

    let tower = &state.projects["Tower A"].members;
    let dana = &tower[&email("dana@acme.example")];
    assert_eq!(dana.access, ProjectAccess::Member);
    assert_eq!(dana.products.len(), 2);
    let erik = &tower[&email("erik@acme.example")];
    assert_eq!(erik.access, ProjectAccess::Admin, "the direct entry wins");
    assert_eq!(
        erik.products.iter().copied().collect::<Vec<_>>(),
        [ProjectProduct::Docs]
    );

    assert!(desired.prune);
    assert_eq!(desired.max_removals.limit, 3);
    match &desired.max_removals.source {
        LimitSource::Config(location) => assert_eq!(location.line, line_of(&yaml, "max_removals:")),
        other => panic!("expected the configuration as source, got {other:?}"),
    }

    let line = |kind, target: &str| desired.provenance.get(kind, target).map(|l| l.line);
    assert_eq!(
        line(Declared::Member, "alice@acme.example"),
        Some(line_of(&yaml, "{ email: alice@"))
    );
    assert_eq!(
        line(Declared::Company, "ACME Architects"),
        Some(line_of(&yaml, "trade: Architecture"))
    );
    assert_eq!(
        line(Declared::Agreement, "110001234567"),
        Some(line_of(&yaml, "number:"))
    );
    assert_eq!(
        line(Declared::Seat, "110001234567/AutoCAD/dana@acme.example"),
        Some(line_of(&yaml, "assigned: [alice"))
    );
    assert_eq!(
        line(Declared::ProjectMember, "Tower A/erik@acme.example"),
        Some(line_of(&yaml, "Erik@acme"))
    );
    assert_eq!(
        line(Declared::ProjectMember, "Tower A/dana@acme.example"),
        Some(line_of(&yaml, "group: structural,"))
    );
    assert_eq!(
        line(Declared::MembersSection, ""),
        Some(line_is(&yaml, "members:"))
    );
}

// Teams (R04, R07, R09 as for agreements; R14 is the plan's)

/// A team section; `body` holds the team's `members:` and `products:` lines,
/// indented under the team (4 spaces).
fn team(body: &str) -> String {
    format!("teams:\n  - id: \"100001\"\n    name: ACME EU\n{body}")
}

const TEAM_SEATS: &str = "    products:
      - name: AutoCAD
        seats: 2
        assigned:
          - alice@acme.example
          - group:structural
";

#[test]
fn teams_r04_more_people_than_pool_seats_after_group_expansion() {
    let yaml = format!("{BASE}{}", team(TEAM_SEATS));
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R04"]);
    let location = errors[0].location.as_ref().expect("located");
    assert_eq!(location.line, line_of(&yaml, "- group:structural"));
    assert_eq!(location.column, 13);
    assert_eq!(errors[0].pointer, "/teams/0/products/0/assigned/1");
    assert_eq!(
        errors[0].message,
        "`AutoCAD` on team 100001 (ACME EU) is assigned to 3 members but its pool has 2 seats"
    );
    assert!(
        errors[0]
            .help
            .as_deref()
            .unwrap()
            .contains("take 1 member off `assigned`"),
        "{:?}",
        errors[0].help
    );
    assert_eq!(
        errors[0].related[0].location.line,
        line_of(&yaml, "seats: 2")
    );
    assert_eq!(errors[0].related[0].message, "2 seats in the pool here");
}

#[test]
fn teams_r04_a_person_named_directly_and_through_a_group_uses_one_seat() {
    let yaml = format!("{BASE}{}", team(TEAM_SEATS)).replace(
        "- alice@acme.example\n          - group",
        "- Dana@acme.example\n          - group",
    );
    let desired = TestConfig::with(&yaml).valid().desired;
    let pool = &desired.state.teams["100001"].pools["AutoCAD"];
    assert_eq!(pool.direct.len(), 2);
    assert_eq!(pool.seats, Some(2));
}

#[test]
fn teams_r07_undeclared_people_on_the_members_and_assigned_lists() {
    let yaml = format!(
        "{BASE}{}",
        team(
            "    members:\n      - zoe@acme.example\n    products:\n      - name: Revit\n        assigned: [alice@acme.example, yves@acme.example]\n"
        )
    );
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R07", "R07"], "{errors:#?}");
    assert_eq!(
        lines_of(&errors, "R07"),
        [line_of(&yaml, "zoe@"), line_of(&yaml, "yves@")]
    );
    assert_eq!(errors[1].location.as_ref().unwrap().column, 40);
    assert!(
        errors[0]
            .message
            .contains("the `members` list of team 100001 (ACME EU)"),
        "{}",
        errors[0].message
    );
}

#[test]
fn teams_r07_an_inactive_member_holds_no_team_seat_and_is_on_no_team() {
    let yaml = format!(
        "{}{}",
        base_with(
            "email: bob@acme.example,",
            "email: bob@acme.example, status: inactive,"
        ),
        team(
            "    members:\n      - bob@acme.example\n    products:\n      - name: Revit\n        assigned:\n          - BOB@acme.example\n"
        )
    );
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R07", "R07"], "{errors:#?}");
    assert_eq!(
        lines_of(&errors, "R07"),
        [
            line_is(&yaml, "      - bob@acme.example"),
            line_of(&yaml, "BOB@")
        ]
    );
    for error in &errors {
        assert!(error.message.contains("is inactive"), "{}", error.message);
        assert_eq!(
            error.related[0].location.line,
            line_of(&yaml, "status: inactive"),
            "cites where the member was made inactive"
        );
    }
}

#[test]
fn teams_r09_a_team_id_declared_twice_across_files_cites_both() {
    let config = TestConfig::with(BASE)
        .file(
            "teams-eu.yaml",
            "teams:\n  - { id: \"100001\", name: ACME EU }\n",
        )
        .file(
            "teams-us.yaml",
            "teams:\n  - { id: \"100002\", name: ACME US }\n  - { id: \"100001\", name: ACME EU (copy) }\n",
        );
    let errors = config.errors();
    assert_eq!(codes(&errors), ["R09"]);
    // Both places as `file:line`: the first in the message itself.
    assert!(
        errors[0]
            .message
            .starts_with("team id `100001` is declared twice (first declared at "),
        "{}",
        errors[0].message
    );
    assert!(
        errors[0].message.ends_with("teams-eu.yaml:2)"),
        "{}",
        errors[0].message
    );
    let location = errors[0].location.as_ref().expect("located");
    assert!(location.file.ends_with("teams-us.yaml"), "{location}");
    assert_eq!((location.line, location.column), (3, 11));
    let first = &errors[0].related[0];
    assert_eq!(first.message, "first declared here");
    assert!(
        first.location.file.ends_with("teams-eu.yaml"),
        "{}",
        first.location
    );
    assert_eq!((first.location.line, first.location.column), (2, 11));
}

#[test]
fn teams_r09_a_product_twice_in_one_team_cites_both() {
    let yaml = format!(
        "{BASE}{}",
        team(
            "    products:\n      - { name: AutoCAD, seats: 1 }\n      - { name: AutoCAD, seats: 2 }\n"
        )
    );
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R09"]);
    assert_eq!(lines_of(&errors, "R09"), [line_of(&yaml, "seats: 2")]);
    assert_eq!(
        errors[0].related[0].location.line,
        line_of(&yaml, "seats: 1")
    );
    assert!(
        errors[0]
            .help
            .as_deref()
            .unwrap()
            .contains("one pool per product"),
        "{:?}",
        errors[0].help
    );
}

#[test]
fn teams_r09_an_unknown_group_on_a_team_list() {
    let yaml = format!(
        "{BASE}{}",
        team(
            "    members: [group:structual]\n    products:\n      - { name: Revit, assigned: [group:nobody] }\n"
        )
    );
    let errors = errors(&yaml);
    assert_eq!(codes(&errors), ["R09", "R09"], "{errors:#?}");
    assert_eq!(
        lines_of(&errors, "R09"),
        [line_of(&yaml, "structual"), line_of(&yaml, "nobody")]
    );
    assert_eq!(errors[0].location.as_ref().unwrap().column, 15);
    assert!(
        errors[0]
            .help
            .as_deref()
            .unwrap()
            .contains("did you mean `structural`?")
    );
}

#[test]
fn teams_merge_across_files_and_compile_with_provenance() {
    let config = TestConfig::with(BASE)
        .file(
            "teams-a.yaml",
            "teams:\n  - id: \"100001\"\n    name: ACME EU\n    members:\n      - bob@acme.example\n      - group:structural\n    products:\n      - name: AutoCAD\n        seats: 10\n        assigned:\n          - alice@acme.example\n          - group:structural\n      - { name: Revit, assigned: [Dana@acme.example] }\n",
        )
        .file(
            "teams-b.yaml",
            "teams:\n  - { id: \"100002\", name: ACME US }\n",
        );
    let validated = config.valid();
    let desired = &validated.desired;
    let teams = &desired.state.teams;
    assert_eq!(teams.keys().collect::<Vec<_>>(), ["100001", "100002"]);
    let eu = &teams["100001"];
    assert_eq!(
        eu.users.iter().map(Email::as_str).collect::<Vec<_>>(),
        [
            "alice@acme.example",
            "bob@acme.example",
            "dana@acme.example",
            "erik@acme.example"
        ]
    );
    assert_eq!(eu.pools["AutoCAD"].seats, Some(10));
    assert_eq!(eu.pools["AutoCAD"].direct.len(), 3);
    assert_eq!(eu.pools["Revit"].seats, None);
    assert_eq!(
        eu.pools["Revit"]
            .direct
            .iter()
            .map(Email::as_str)
            .collect::<Vec<_>>(),
        ["dana@acme.example"]
    );
    assert!(teams["100002"].users.is_empty() && teams["100002"].pools.is_empty());

    let at = |kind, target: &str| {
        let location = desired
            .provenance
            .get(kind, target)
            .unwrap_or_else(|| panic!("{kind:?} {target} is not recorded"));
        let file = std::path::Path::new(&*location.file)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        (file, location.line)
    };
    let a = |line: u32| ("teams-a.yaml".to_owned(), line);
    assert_eq!(at(Declared::Team, "100001"), a(2));
    assert_eq!(at(Declared::Team, "100002"), ("teams-b.yaml".to_owned(), 2));
    assert_eq!(at(Declared::TeamPool, "100001/AutoCAD"), a(8));
    assert_eq!(at(Declared::TeamPool, "100001/Revit"), a(13));
    assert_eq!(
        at(Declared::TeamSeat, "100001/AutoCAD/alice@acme.example"),
        a(11)
    );
    assert_eq!(
        at(Declared::TeamSeat, "100001/AutoCAD/dana@acme.example"),
        a(12)
    );
    assert_eq!(
        at(Declared::TeamSeat, "100001/Revit/dana@acme.example"),
        a(13)
    );
    // A user cites the first direct entry naming them (`members` first, then the
    // `assigned` lists), else the first group entry bringing them in.
    assert_eq!(at(Declared::TeamMember, "100001/bob@acme.example"), a(5));
    assert_eq!(at(Declared::TeamMember, "100001/alice@acme.example"), a(11));
    assert_eq!(at(Declared::TeamMember, "100001/dana@acme.example"), a(13));
    assert_eq!(at(Declared::TeamMember, "100001/erik@acme.example"), a(6));
    assert!(
        desired
            .provenance
            .get(Declared::TeamSeat, "100001/Revit/alice@acme.example")
            .is_none()
    );
}

/// Through the binary, as CI sees it: the team's defect with file, line and column.
#[test]
fn teams_errors_through_the_binary_name_file_line_and_column() {
    let yaml = format!("{BASE}{}", team(TEAM_SEATS));
    let config = TestConfig::with(&yaml);
    let output = crate::common::accord()
        .args(["validate", "--format", "json"])
        .arg(config.path())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let errors = value["diagnostics"].as_array().expect("a list");
    assert_eq!(errors.len(), 1, "{value:#}");
    assert_eq!(errors[0]["code"], "R04");
    assert_eq!(errors[0]["line"], line_of(&yaml, "- group:structural"));
    assert_eq!(errors[0]["column"], 13);
    assert_eq!(errors[0]["pointer"], "/teams/0/products/0/assigned/1");
    assert_eq!(errors[0]["related"][0]["line"], line_of(&yaml, "seats: 2"));
    let human = crate::common::accord()
        .arg("validate")
        .arg(config.path())
        .output()
        .expect("runs");
    let text = String::from_utf8(human.stdout).expect("UTF-8");
    assert!(text.contains("error[R04]"), "{text}");
    assert!(
        text.contains(&format!(
            "accord.yaml:{}:13]",
            line_of(&yaml, "- group:structural")
        )),
        "{text}"
    );
}

// ----- names: surrounding spaces, letter case, both places of a duplicate -----

#[test]
fn a_name_declared_twice_in_one_file_cites_both_places_as_file_and_line() {
    let config = TestConfig::with(&format!(
        "{BASE}projects:\n  - {{ name: Tower A }}\n  - {{ name: Tower A }}\n"
    ));
    let errors = config.errors();
    let file = config.join("accord.yaml");
    let expected = format!(
        "project `Tower A` is declared twice (first declared at {}:18)",
        file.display()
    );
    let messages: Vec<(u32, String)> = with_code(&errors, "R09");
    assert_eq!(messages, [(19, expected)], "{errors:#?}");
    // Every format carries it: the human report, JSON and CI annotations.
    let output = crate::common::accord()
        .args([
            "validate",
            "--format",
            "github",
            config.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let github = String::from_utf8_lossy(&output.stdout);
    assert!(github.contains("line=19"), "{github}");
    assert!(
        github.contains(&format!("{}:18", file.display())),
        "{github}"
    );
}

#[test]
fn names_are_trimmed_and_names_that_differ_only_by_case_warn_naming_both_places() {
    // `C1 ` is `C1`: declared twice. Members naming ` C1` find it.
    let trimmed = TestConfig::with(&format!(
        "{BASE}  - {{ email: x@acme.example, company: \" ACME Architects \", role: \"Architect \" }}\n"
    ));
    let validated = trimmed.valid();
    let x = &validated.desired.state.members[&Email::new("x@acme.example")];
    assert_eq!(x.company.as_deref(), Some("ACME Architects"));
    assert_eq!(x.role.as_deref(), Some("Architect"));
    let twice = TestConfig::with(&BASE.replace(
        "  - { name: Architect }\n",
        "  - { name: Architect }\n  - { name: \"Architect \" }\n",
    ));
    assert_eq!(
        lines_of(&twice.errors(), "R09"),
        [7],
        "{:#?}",
        twice.errors()
    );
    // `architect` and `Architect` are two roles, with a warning naming both places.
    let case = TestConfig::with(&BASE.replace(
        "  - { name: Architect }\n",
        "  - { name: Architect }\n  - { name: architect }\n",
    ));
    let validated = case.valid();
    assert_eq!(validated.desired.state.roles.len(), 3);
    let warnings: Vec<(u32, String)> = with_code(&validated.warnings, "R09");
    let file = case.join("accord.yaml");
    assert_eq!(
        warnings,
        [(
            7,
            format!(
                "role `architect` differs from role `Architect` only by letter case (declared at {}:6): they are two roles",
                file.display()
            )
        )]
    );
    assert!(!validated.warnings[0].is_error());
    // `validate` prints it and still exits 0.
    let output = crate::common::accord()
        .args(["validate", case.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("warning[R09]") || stdout.contains("R09"),
        "{stdout}"
    );
    assert!(stdout.contains("is valid"), "{stdout}");
}

#[test]
fn renamed_from_a_name_declared_too_warns_that_nothing_is_renamed() {
    let config = TestConfig::with(&BASE.replace(
        "  - { name: Architect }\n",
        "  - { name: Architect }\n  - { name: Designer, renamed_from: Architect }\n",
    ));
    let validated = config.valid();
    let warnings = with_code(&validated.warnings, "R09");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].0, 7);
    assert!(
        warnings[0].1.starts_with(
            "role `Designer` is renamed from `Architect`, which is declared too (declared at "
        ),
        "{warnings:?}"
    );
    assert!(validated.desired.state.roles.contains_key("Architect"));
}
