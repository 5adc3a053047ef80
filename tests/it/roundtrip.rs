//! Property tests of the configuration as a whole: generated valid configurations
//! (teams included) pass, and writing the typed model back as YAML and loading it
//! again yields the same desired state.

use std::collections::BTreeSet;

use accord::config::emit::to_yaml;
use accord::config::model::{
    AccessLevel, Account, Agreement, CloudService, Company, ConfigFile, DesiredStatus, Group,
    Member, Product, Project, ProjectAccess, ProjectMember, ProjectProduct, Role, Team,
    TeamProduct,
};
use proptest::prelude::*;

use crate::common::TestConfig;

const PRODUCTS: [ProjectProduct; 6] = [
    ProjectProduct::Build,
    ProjectProduct::Cost,
    ProjectProduct::Insight,
    ProjectProduct::DesignCollaboration,
    ProjectProduct::ModelCoordination,
    ProjectProduct::Takeoff,
];

/// Text that needs care in YAML: spaces, `&`, a colon, quotes, digits only.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Z][a-z]{2,8}( [A-Z][a-z]{2,8})?",
        Just("Stahl & Partner".to_owned()),
        Just("R&D: Tower".to_owned()),
        Just("2024".to_owned()),
        Just("\"Quoted\" Ltd".to_owned()),
        Just("yes".to_owned()),
    ]
}

/// A valid configuration: every reference resolves, limits hold, an admin stays.
fn config() -> impl Strategy<Value = ConfigFile> {
    (
        prop::collection::btree_set(name(), 1..4),
        1usize..12,
        prop::collection::vec(any::<u8>(), 12..64),
    )
        .prop_map(|(company_names, member_count, dice)| build(&company_names, member_count, &dice))
}

/// Builds a configuration from a few random choices (`dice` bytes).
fn build(company_names: &BTreeSet<String>, member_count: usize, dice: &[u8]) -> ConfigFile {
    let mut roll = dice.iter().copied().cycle();
    let mut next = move |n: usize| usize::from(roll.next().unwrap_or(0)) % n.max(1);
    let companies: Vec<Company> = company_names
        .iter()
        .map(|name| Company {
            name: name.clone(),
            trade: (next(2) == 0).then(|| "Architecture".to_owned()),
            renamed_from: None,
        })
        .collect();
    let roles = vec![
        Role {
            name: "BIM Manager".into(),
            default_access: vec![AccessLevel::AccountAdmin],
            renamed_from: None,
        },
        Role {
            name: "Architect".into(),
            default_access: Vec::new(),
            renamed_from: None,
        },
    ];
    let members: Vec<Member> = (0..member_count)
        .map(|i| {
            let inactive = i > 0 && next(5) == 0;
            Member {
                // Mixed case and padding: emails are normalised.
                email: if next(3) == 0 {
                    format!(" Person{i}@Acme.Example ")
                } else {
                    format!("person{i}@acme.example")
                },
                first_name: (next(2) == 0).then(|| format!("First{i}")),
                last_name: None,
                company: Some(companies[next(companies.len())].name.clone()),
                role: Some(roles[usize::from(i != 0)].name.clone()),
                access: match next(3) {
                    0 => None,
                    1 => Some(Vec::new()),
                    _ => Some(vec![AccessLevel::Executive, AccessLevel::StandardsAdmin]),
                }
                .filter(|_| i != 0),
                status: inactive
                    .then_some(DesiredStatus::Inactive)
                    .or((next(2) == 0).then_some(DesiredStatus::Active)),
                external_subscriptions: if next(4) == 0 {
                    vec!["Revit".into()]
                } else {
                    Vec::new()
                },
            }
        })
        .collect();
    let active: Vec<String> = members
        .iter()
        .filter(|m| m.status != Some(DesiredStatus::Inactive))
        .map(|m| m.email.trim().to_ascii_lowercase())
        .collect();
    let group_members: Vec<String> = active.iter().skip(1).take(2).cloned().collect();
    let groups = if group_members.is_empty() {
        Vec::new()
    } else {
        vec![Group {
            name: "team".into(),
            members: group_members,
        }]
    };
    let holders: Vec<String> = active.iter().take(1 + next(3)).cloned().collect();
    let mut assigned = holders.clone();
    if !groups.is_empty() && next(2) == 0 {
        assigned.push("group:team".into());
    }
    let agreements = vec![Agreement {
        number: format!("11000{}", next(1000)),
        name: "AEC Collection".into(),
        contract_manager: active[0].clone(),
        software_coordinator: (next(2) == 0).then(|| active[next(active.len())].clone()),
        products: vec![Product {
            name: "AutoCAD".into(),
            seats: Some(u32::try_from(active.len() + next(3)).expect("small")),
            assigned,
        }],
        cloud_services: vec![CloudService {
            name: "Cloud Rendering".into(),
            assigned: holders.iter().take(3).cloned().collect(),
        }],
        support: holders,
    }];
    let mut project_members = Vec::new();
    for email in &active {
        if next(2) == 0 {
            continue;
        }
        project_members.push(ProjectMember {
            email: Some(email.clone()),
            group: None,
            access: if next(2) == 0 {
                ProjectAccess::Admin
            } else {
                ProjectAccess::Member
            },
            products: (next(2) == 0).then(|| vec![ProjectProduct::Docs, PRODUCTS[next(6)]]),
        });
    }
    if !groups.is_empty() && next(2) == 0 {
        project_members.push(ProjectMember {
            email: None,
            group: Some("team".into()),
            access: ProjectAccess::Member,
            products: None,
        });
    }
    let teams = teams(&active, !groups.is_empty(), &mut next);
    ConfigFile {
        account: Some(Account {
            id: "acme-eu".into(),
            name: "ACME: Architects".into(),
        }),
        settings: None,
        companies,
        roles,
        groups,
        members,
        agreements,
        teams,
        projects: vec![Project {
            name: "Tower A".into(),
            renamed_from: None,
            members: project_members,
        }],
    }
}

/// Up to two teams of active members (R07): numeric-looking ids (text, R09: unique),
/// a `members` list, pools with and without `seats`, some through `group:team`;
/// every pool with `seats` has room for everyone it lists (R04).
fn teams(active: &[String], has_group: bool, next: &mut impl FnMut(usize) -> usize) -> Vec<Team> {
    let people = |next: &mut dyn FnMut(usize) -> usize| -> Vec<String> {
        let mut people: Vec<String> = active.iter().filter(|_| next(2) == 0).cloned().collect();
        if has_group && next(3) == 0 {
            people.push("group:team".into());
        }
        people
    };
    let mut teams = Vec::new();
    for t in 0..next(3) {
        let members = people(&mut *next);
        let mut products = Vec::new();
        for name in ["AutoCAD", "Revit"] {
            if next(3) == 0 {
                continue;
            }
            let assigned = people(&mut *next);
            // The group counts for its (at most 2) people.
            let room = assigned.len() + 2 + next(3);
            products.push(TeamProduct {
                name: name.into(),
                seats: (next(3) != 0).then(|| u32::try_from(room).expect("small")),
                assigned,
            });
        }
        teams.push(Team {
            id: format!("10000{t}"),
            name: format!("ACME Team {t}"),
            members,
            products,
        });
    }
    teams
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn generated_configurations_are_valid_and_survive_a_yaml_round_trip(config in config()) {
        let yaml = to_yaml(&config);
        let first = TestConfig::with(&yaml).validate();
        let first = match first {
            Ok(valid) => valid,
            Err(errors) => {
                let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
                return Err(TestCaseError::fail(format!("{}\n---\n{yaml}", text.join("\n"))));
            }
        };
        // The typed model read back from the file is the one written...
        prop_assert_eq!(&first.config, &config);
        // ...and writing it again and loading that yields the same desired state.
        let again = TestConfig::with(&to_yaml(&first.config)).valid();
        prop_assert_eq!(again.desired.state, first.desired.state);
    }

    #[test]
    fn an_exported_state_validates_to_the_same_state(config in config()) {
        let state = TestConfig::with(&to_yaml(&config)).valid().desired.state;
        prop_assert_eq!(state.teams.len(), config.teams.len());
        let exported = accord::export::to_config(&state);
        let back = TestConfig::with(&to_yaml(&exported)).valid().desired.state;
        prop_assert_eq!(back, state);
    }
}
