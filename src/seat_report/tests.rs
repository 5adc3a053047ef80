use super::*;
use crate::contract::SeatCount;
use crate::state::{
    AgreementState, MemberStatus, PoolState, ProductState, ProjectAccess, ProjectMemberState,
    ProjectProduct, ProjectState, TeamState,
};

const NOW: i64 = 1_800_000_000; // 2027-01-15

fn member(first: &str, status: MemberStatus) -> MemberState {
    MemberState {
        first_name: Some(first.to_owned()),
        status,
        ..MemberState::default()
    }
}

fn state() -> State {
    let mut state = State::default();
    state.account.id = "acme-eu".into();
    state.account.name = "ACME <Architects>".into();
    for (email, status) in [
        ("ann@x", MemberStatus::Active),
        ("ben@x", MemberStatus::Inactive),
        ("cat@x", MemberStatus::Active),
    ] {
        state
            .members
            .insert(Email::new(email), member(&email[..3], status));
    }
    let mut project = ProjectState::default();
    project.members.insert(
        Email::new("ann@x"),
        ProjectMemberState {
            access: ProjectAccess::Member,
            products: [ProjectProduct::Docs].into(),
        },
    );
    state.projects.insert("Tower".into(), project);
    let mut agreement = AgreementState {
        name: "AEC".into(),
        ..AgreementState::default()
    };
    agreement.products.insert(
        "Revit".into(),
        ProductState {
            seats: Some(2),
            assigned: [
                Email::new("ann@x"),
                Email::new("ben@x"),
                Email::new("cat@x"),
            ]
            .into(),
        },
    );
    state.agreements.insert("1100".into(), agreement);
    let mut team = TeamState {
        name: "EU".into(),
        ..TeamState::default()
    };
    let pool = |ends: i64| PoolState {
        seats: Some(5),
        starts: Some(0),
        ends: Some(ends),
        direct: [Email::new("ann@x")].into(),
        inherited: [Email::new("cat@x")].into(),
        ..PoolState::default()
    };
    team.pools.insert("AutoCAD".into(), pool(NOW + 10 * DAY));
    team.pools.insert("Maya".into(), pool(NOW + 45 * DAY + 5));
    team.pools.insert("Revit".into(), pool(NOW + 89 * DAY));
    team.pools.insert("Civil 3D".into(), pool(NOW + 90 * DAY));
    team.pools.insert(
        "Max".into(),
        PoolState {
            unlimited: true,
            ..PoolState::default()
        },
    );
    state.teams.insert("100001".into(), team);
    state
}

fn report_of(state: &State, history: Option<&[SeatSample]>) -> SeatReport {
    build(&Inputs {
        backend: "sqlite:x.db",
        state,
        revision: 7,
        now: NOW,
        history,
        desired: None,
    })
}

#[test]
fn seats_used_free_over_and_reclaim_candidates() {
    let report = report_of(&state(), None);
    let revit = &report.products[0];
    assert_eq!(
        (revit.kind, revit.owner.as_str(), revit.product.as_str()),
        (PoolKind::Agreement, "1100", "Revit")
    );
    assert_eq!(
        (revit.used, revit.seats, revit.free, revit.over),
        (3, Some(2), Some(0), 1)
    );
    assert_eq!(
        revit
            .reclaim
            .iter()
            .map(|r| (r.email.as_str(), r.reason))
            .collect::<Vec<_>>(),
        [
            ("ben@x", ReclaimReason::Inactive),
            ("cat@x", ReclaimReason::NoProject)
        ]
    );
    let max = report.products.iter().find(|p| p.product == "Max").unwrap();
    assert_eq!((max.used, max.seats, max.free), (0, None, None));
    let autocad = report
        .products
        .iter()
        .find(|p| p.product == "AutoCAD")
        .unwrap();
    assert_eq!(autocad.used, 2);
    assert!(autocad.holders[1].inherited, "cat holds it by inheritance");
    // Totals count limited pools only: Revit 2 + four team pools of 5.
    assert_eq!(report.totals.seats, 22);
    assert_eq!(report.totals.used, 3 + 4 * 2);
    assert_eq!(report.totals.free, 4 * 3);
    assert!(!report.history_kept);
}

#[test]
fn pools_ending_within_30_60_90_days_say_which_and_later_ones_are_not_expiring() {
    let report = report_of(&state(), None);
    let expiring: Vec<(&str, i64, u32)> = report
        .expiring
        .iter()
        .map(|e| (e.product.as_str(), e.days_left, e.within_days))
        .collect();
    assert_eq!(
        expiring,
        [("AutoCAD", 10, 30), ("Maya", 45, 60), ("Revit", 89, 90)],
        "Civil 3D ends in 90 days: not within 90"
    );
    assert_eq!(report.expiring[0].used, 2);
}

#[test]
fn every_seat_of_a_pool_with_an_end_date_is_a_time_bound_grant() {
    let report = report_of(&state(), None);
    let grants: Vec<(&str, &str, i64)> = report
        .time_bound
        .iter()
        .map(|g| (g.product.as_str(), g.email.as_str(), g.days_left))
        .collect();
    assert_eq!(
        grants,
        [
            ("AutoCAD", "ann@x", 10),
            ("AutoCAD", "cat@x", 10),
            ("Maya", "ann@x", 45),
            ("Maya", "cat@x", 45),
            ("Revit", "ann@x", 89),
            ("Revit", "cat@x", 89),
            ("Civil 3D", "ann@x", 90),
            ("Civil 3D", "cat@x", 90),
        ]
    );
}

#[test]
fn history_is_per_product_oldest_first() {
    let sample = |revision, used| SeatSample {
        revision,
        at: NOW - 1000 + i64::try_from(revision).unwrap(),
        count: SeatCount {
            kind: PoolKind::Agreement,
            owner: "1100".into(),
            product: "Revit".into(),
            used,
            seats: Some(2),
        },
    };
    let history = [sample(3, 2), sample(1, 1)];
    let report = report_of(&state(), Some(&history));
    assert!(report.history_kept);
    let points: Vec<(u64, u32)> = report.products[0]
        .history
        .iter()
        .map(|p| (p.revision, p.used))
        .collect();
    assert_eq!(points, [(1, 1), (3, 2)]);
    assert!(report.products[1].history.is_empty());
    let html = report.html();
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 1, "one chart");
}

#[test]
fn html_escapes_what_the_backend_says_and_has_no_script_or_address() {
    let mut state = state();
    state.agreements.get_mut("1100").unwrap().name = "<script>alert(1)</script> & \"x\"".into();
    let html = report_of(&state, None).html();
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;"));
    assert!(html.contains("ACME &lt;Architects&gt;"));
    for forbidden in ["http://", "https://", "<link", "<img", "<iframe", "url("] {
        assert!(!html.contains(forbidden), "{forbidden}");
    }
    let markdown = report_of(&state, None).markdown();
    assert!(!markdown.contains("<script"), "{markdown}");
}

#[test]
fn markdown_cells_cannot_break_the_table() {
    let mut state = state();
    state.agreements.get_mut("1100").unwrap().name = "A | B\nC".into();
    let markdown = report_of(&state, None).markdown();
    assert!(
        markdown.contains("agreement A \\| B C (1100)"),
        "{markdown}"
    );
}
