//! Named-user teams in the plan (DOMAIN.md "Teams"): users and direct seats owned
//! whole for the products a team lists, inherited seats never changed, prune, the
//! cascades, R13 and R14, pool sizes on backends that set them and manual steps on
//! those that cannot, and the seat picture.

use std::collections::{BTreeMap, BTreeSet};

use accord::contract::{ManualAction, OpKind};
use accord::desired::{Declared, Desired};
use accord::diagnostic::Code;
use accord::plan::{DiffOptions, Plan};
use accord::state::{PoolState, State, TeamState};

use super::fixtures::*;

const TEAM: &str = "100001";

fn pool(seats: Option<u32>, direct: &[&str]) -> PoolState {
    PoolState {
        seats,
        direct: emails(direct),
        ..PoolState::default()
    }
}

/// The base account with team 100001 "ACME EU": users alice and bob; AutoCAD (10
/// seats, alice direct), Revit (5 seats, nobody).
fn with_team() -> State {
    let mut state = account();
    let mut team = TeamState {
        name: "ACME EU".into(),
        users: emails(&["alice@acme.example", "bob@acme.example"]),
        pools: BTreeMap::new(),
    };
    team.pools
        .insert("AutoCAD".into(), pool(Some(10), &["alice@acme.example"]));
    team.pools.insert("Revit".into(), pool(Some(5), &[]));
    state.teams.insert(TEAM.into(), team);
    state
}

fn team(state: &mut State) -> &mut TeamState {
    state.teams.get_mut(TEAM).unwrap()
}

fn autocad(state: &mut State) -> &mut PoolState {
    team(state).pools.get_mut("AutoCAD").unwrap()
}

/// The vendor: every kind but team creation and pool sizes, which are manual.
fn vendor() -> DiffOptions {
    let mut options = options();
    let mut kinds: BTreeSet<OpKind> = OpKind::ALL.iter().copied().collect();
    kinds.remove(&OpKind::TeamCreate);
    kinds.remove(&OpKind::TeamUpdate);
    kinds.remove(&OpKind::TeamMemberRemove);
    options.kinds = Some(kinds);
    options.manual.insert(
        OpKind::TeamUpdate,
        ManualAction {
            action: "change the pool's size in Autodesk Account".into(),
            why: "the vendor sells seats only in the portal".into(),
        },
    );
    options.manual.insert(
        OpKind::TeamMemberRemove,
        ManualAction {
            action: "remove the user in Autodesk Account".into(),
            why: "the vendor's API cannot remove a team user".into(),
        },
    );
    options
}

fn r14(current: &State, desired: &Desired, options: &DiffOptions) -> Vec<String> {
    refusal(current, desired, options)
        .diagnostics()
        .iter()
        .filter(|d| d.code == Code::R14)
        .map(|d| d.message.clone())
        .collect()
}

#[test]
fn a_team_that_matches_plans_nothing() {
    let current = with_team();
    let plan = plan(&current, &desired(&current));
    assert!(plan.is_empty(), "{:#?}", ops(&plan));
    assert!(plan.manual.is_empty());
}

#[test]
fn a_new_user_gets_on_the_team_before_their_seat_and_both_cite_the_configuration() {
    let current = with_team();
    let mut wanted = current.clone();
    team(&mut wanted).users.insert(email("carol@acme.example"));
    autocad(&mut wanted)
        .direct
        .insert(email("carol@acme.example"));
    let desired = desired(&wanted);
    let plan = plan(&current, &desired);
    assert_eq!(
        ops(&plan),
        [
            "team_member.add 100001/carol@acme.example",
            "team_seat.assign 100001/AutoCAD/carol@acme.example",
        ]
    );
    let add = find(&plan, "team_member.add 100001/carol@acme.example");
    assert_eq!(
        add.provenance.as_str(),
        cited(&desired, Declared::TeamMember, "100001/carol@acme.example")
    );
    let seat = find(&plan, "team_seat.assign 100001/AutoCAD/carol@acme.example");
    assert_eq!(
        seat.provenance.as_str(),
        cited(
            &desired,
            Declared::TeamSeat,
            "100001/AutoCAD/carol@acme.example"
        )
    );
    assert!(add.batch < seat.batch);
}

#[test]
fn direct_seats_of_a_listed_product_are_owned_whole_and_other_products_left_alone() {
    let mut current = with_team();
    autocad(&mut current)
        .direct
        .insert(email("bob@acme.example"));
    team(&mut current)
        .pools
        .insert("Maya".into(), pool(Some(2), &["bob@acme.example"]));
    let mut wanted = with_team();
    // The configuration does not list Maya: bob keeps it. It lists AutoCAD: bob's
    // direct seat there goes.
    team(&mut wanted).pools.remove("Maya");
    let plan = plan(&current, &desired(&wanted));
    assert_eq!(
        ops(&plan),
        ["team_seat.unassign 100001/AutoCAD/bob@acme.example"]
    );
    let line = plan
        .team_seats
        .iter()
        .find(|l| l.product == "AutoCAD")
        .unwrap();
    assert_eq!(line.loses, ["bob@acme.example"]);
    let text = accord::plan::render::text(&plan, false);
    assert!(text.contains("ACME EU / AutoCAD 2/10 -> 1/10"), "{text}");
    assert!(
        text.contains("loses their seat: bob@acme.example"),
        "{text}"
    );
}

#[test]
fn inherited_seats_are_never_changed_and_one_not_assigned_is_reported() {
    let mut current = with_team();
    let autocad_live = autocad(&mut current);
    autocad_live.inherited = emails(&["bob@acme.example", "carol@acme.example"]);
    let mut wanted = with_team();
    // bob is assigned and holds it by inheritance: nothing to do. carol is not
    // assigned but holds it by inheritance: not accord's seat, so it is reported
    // (DOMAIN.md: "reported, not an error"), with no operation and no manual step.
    autocad(&mut wanted)
        .direct
        .insert(email("bob@acme.example"));
    let plan = plan(&current, &desired(&wanted));
    assert!(plan.is_empty(), "{:#?}", ops(&plan));
    assert!(plan.manual.is_empty(), "{:#?}", plan.manual);
    let note = plan
        .notes
        .iter()
        .find(|n| n.contains("inherited"))
        .expect("a note on the inherited seat");
    assert!(note.contains("team 100001: AutoCAD is inherited"), "{note}");
    assert!(note.contains("carol@acme.example"), "{note}");
    assert!(
        !note.contains("bob@acme.example"),
        "bob is assigned: {note}"
    );
    assert!(note.contains("change the group there"), "{note}");
    let text = accord::plan::render::text(&plan, false);
    assert!(text.contains("carol@acme.example"), "{text}");
    assert!(!text.contains("Manual steps"), "{text}");
}

#[test]
fn prune_removes_users_off_the_lists_freeing_their_seats_and_counts_for_r13() {
    let current = with_team();
    let mut wanted = with_team();
    // bob is a declared member of the account but not on the team's lists.
    team(&mut wanted).users.remove(&email("bob@acme.example"));
    let mut desired = desired(&wanted);
    assert!(plan(&current, &desired).is_empty(), "prune off: left alone");
    desired.prune = true;
    let plan = plan(&current, &desired);
    assert_eq!(ops(&plan), ["team_member.remove 100001/bob@acme.example"]);
    // alice is on the lists: she stays. With bob holding a direct seat, it is freed.
    let mut current = with_team();
    autocad(&mut current)
        .direct
        .insert(email("bob@acme.example"));
    let mut wanted_seats = wanted.clone();
    autocad(&mut wanted_seats)
        .direct
        .remove(&email("bob@acme.example"));
    let mut desired = super::fixtures::desired(&wanted_seats);
    desired.prune = true;
    let removal_plan = plan_with(&current, &desired, &options());
    assert_eq!(
        ops(&removal_plan),
        ["team_member.remove 100001/bob@acme.example"],
        "the seat goes with the removal, not as an operation of its own"
    );
    assert_eq!(
        removal_plan.operations[0].consequences(),
        ["team_seat.unassign 100001/AutoCAD/bob@acme.example"]
    );
    // R13 counts it like a member removal.
    desired.max_removals.limit = 0;
    let refused = refusal(&current, &desired, &options());
    let codes: Vec<Code> = refused.diagnostics().iter().map(|d| d.code).collect();
    assert_eq!(codes, [Code::R13]);
    // R12: a protected user is left on the team; their seat on a declared list
    // follows the list like anyone's (DOMAIN.md: R12 protects the record).
    desired.max_removals.limit = 10;
    desired.protected.insert(email("bob@acme.example"));
    let protected = plan_with(&current, &desired, &options());
    assert_eq!(
        ops(&protected),
        ["team_seat.unassign 100001/AutoCAD/bob@acme.example"]
    );
    assert!(protected.notes.iter().any(|n| n.contains("protected")));
}

#[test]
fn removing_a_member_from_the_account_frees_their_team_seats_and_memberships() {
    let current = with_team();
    let mut wanted = with_team();
    wanted.members.remove(&email("alice@acme.example"));
    team(&mut wanted).users.remove(&email("alice@acme.example"));
    autocad(&mut wanted)
        .direct
        .remove(&email("alice@acme.example"));
    // bob becomes the admin and the agreement's holder so alice may go.
    wanted
        .members
        .get_mut(&email("bob@acme.example"))
        .unwrap()
        .access
        .insert(accord::state::AccessLevel::AccountAdmin);
    let aec = wanted.agreements.get_mut(AEC).unwrap();
    aec.contract_manager = email("bob@acme.example");
    aec.software_coordinator = email("bob@acme.example");
    for product in aec.products.values_mut() {
        product.assigned.remove(&email("alice@acme.example"));
    }
    aec.cloud_services.clear();
    aec.support.clear();
    wanted
        .projects
        .get_mut("Tower A")
        .unwrap()
        .members
        .remove(&email("alice@acme.example"));
    let mut desired = desired(&wanted);
    desired.prune = true;
    let plan = plan(&current, &desired);
    let removal = find(&plan, "member.remove alice@acme.example");
    for freed in [
        "team_seat.unassign 100001/AutoCAD/alice@acme.example",
        "team_member.remove 100001/alice@acme.example",
    ] {
        assert!(
            removal.consequences().iter().any(|c| c == freed),
            "{freed} not in {:?}",
            removal.consequences()
        );
    }
    assert!(
        !ops(&plan).iter().any(|o| o.starts_with("team_")),
        "no team operation of its own: {:#?}",
        ops(&plan)
    );
}

#[test]
fn pool_sizes_change_on_a_system_of_record_and_are_manual_on_the_vendor() {
    let current = with_team();
    let mut wanted = with_team();
    autocad(&mut wanted).seats = Some(12);
    team(&mut wanted).pools.get_mut("Revit").unwrap().seats = Some(2);
    let store = plan(&current, &desired(&wanted));
    assert_eq!(
        ops(&store),
        ["team.update 100001", "team.update 100001"],
        "an increase in step 3, a decrease in step 5"
    );
    assert!(store.operations[0].batch < store.operations[1].batch);
    let vendor_plan = plan_with(&current, &desired(&wanted), &vendor());
    assert!(vendor_plan.is_empty(), "{:#?}", ops(&vendor_plan));
    let steps: Vec<(OpKind, &str)> = vendor_plan
        .manual
        .iter()
        .map(|s| (s.op, s.target.as_str()))
        .collect();
    assert_eq!(
        steps,
        [(OpKind::TeamUpdate, TEAM), (OpKind::TeamUpdate, TEAM)]
    );
    // On the vendor the live size stays, and the picture says so.
    let line = vendor_plan
        .team_seats
        .iter()
        .find(|l| l.product == "AutoCAD")
        .unwrap();
    assert_eq!(line.after.seats, Some(10));
}

#[test]
fn a_new_team_is_created_with_its_pools_where_the_backend_can_and_refused_where_it_cannot() {
    let current = account();
    let wanted = with_team();
    let store = plan(&current, &desired(&wanted));
    assert_eq!(
        ops(&store)[0],
        "team.create 100001",
        "created first: {:#?}",
        ops(&store)
    );
    let accord::plan::Op::TeamCreate { name, seats, .. } = &store.operations[0].op else {
        panic!()
    };
    assert_eq!(name, "ACME EU");
    assert_eq!(
        seats,
        &BTreeMap::from([("AutoCAD".to_owned(), 10), ("Revit".to_owned(), 5)])
    );
    let refused = r14(&current, &desired(&wanted), &vendor());
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].contains("team 100001 (ACME EU) is declared but the backend does not hold it"),
        "{refused:?}"
    );
    // A pool the backend lacks needs `seats` to be created.
    let mut no_size = with_team();
    team(&mut no_size).pools.get_mut("Revit").unwrap().seats = None;
    let refused = r14(&current, &desired(&no_size), &options());
    assert!(refused[0].contains("gives it no `seats`"), "{refused:?}");
}

#[test]
fn r14_refuses_a_product_that_is_not_a_current_pool_and_a_pool_over_its_size() {
    let mut current = with_team();
    let mut wanted = with_team();
    team(&mut wanted)
        .pools
        .insert("Maya".into(), pool(None, &["bob@acme.example"]));
    let refused = r14(&current, &desired(&wanted), &vendor());
    assert!(
        refused[0]
            .contains("Maya is not a pool of team 100001 (ACME EU); its pools are: AutoCAD, Revit"),
        "{refused:?}"
    );
    // A future pool is not current.
    team(&mut current).pools.insert(
        "Maya".into(),
        PoolState {
            seats: Some(3),
            starts: Some(NOW + 86_400),
            ..PoolState::default()
        },
    );
    let refused = r14(&current, &desired(&wanted), &vendor());
    assert!(refused[0].contains("is not current"), "{refused:?}");
    // Two inherited seats, nine direct ones asked for, ten seats: eleven would be held.
    let mut current = with_team();
    autocad(&mut current).inherited = emails(&["x1@acme.example", "x2@acme.example"]);
    let mut wanted = with_team();
    let many: Vec<String> = (0..9).map(|i| format!("u{i}@acme.example")).collect();
    for member in &many {
        wanted.members.insert(email(member), architect());
        team(&mut wanted).users.insert(email(member));
    }
    autocad(&mut wanted).direct = many.iter().map(|m| email(m)).collect();
    let refused = r14(&current, &desired(&wanted), &vendor());
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].contains(
            "the AutoCAD pool of team 100001 would hold 11 seats (9 direct, 2 inherited) but has 10 (now 3 of 10 used)"
        ),
        "{refused:?}"
    );
    // An unlimited pool has no size to exceed.
    autocad(&mut current).unlimited = true;
    autocad(&mut current).seats = None;
    let fine: Plan = plan_with(&current, &desired(&wanted), &vendor());
    assert!(fine.refusals.is_empty());
}
