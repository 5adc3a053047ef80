//! `plan --target` and `apply --target` through the binary: on `examples/acme`
//! applied to a store, then changed in every section, each kind of target plans
//! exactly its changes (and what they need first), the safety rules still see the
//! whole account, a saved partial plan keeps its targets, and a target that names
//! nothing is an error.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{accord, schema_errors};

/// ZOE is new: a Revit seat, a project, a team seat; BOB changes role.
const ZOE: &str = "member:zoe.new@acme.example";
const BOB: &str = "member:bob.berg@acme.example";
const RIVERSIDE: &str = "project:Riverside School";
const CONSTRUCTION: &str = "agreement:110009876543";
const TEAM: &str = "team:100001";

/// The changes made to the example after it was applied, one per section: (file,
/// text, replacement).
const CHANGES: [(&str, &str, &str); 7] = [
    (
        "people.yaml",
        "    company: ACME Architects\n    role: Architect\n  - email: dana.dekker",
        "    company: ACME Architects\n    role: BIM Coordinator\n  - { email: zoe.new@acme.example, first_name: Zoe, last_name: New, company: ACME Architects, role: Architect }\n  - email: dana.dekker",
    ),
    (
        "agreements.yaml",
        "          - grace.lee@acme.example\n      - name: AutoCAD\n",
        "          - grace.lee@acme.example\n          - zoe.new@acme.example\n      - name: AutoCAD\n",
    ),
    (
        "agreements.yaml",
        "        seats: 2\n        assigned: [noah.fischer@acme.example, luca.ferri@nordbau.example]",
        "        seats: 3\n        assigned: [noah.fischer@acme.example, luca.ferri@nordbau.example, tom.hughes@acme.example]",
    ),
    (
        "projects.yaml",
        "      - { email: raj.patel@acme.example, access: member, products: [docs, model_coordination] }\n",
        "",
    ),
    (
        "projects.yaml",
        "      - { email: nina.berger@nordbau.example, access: member, products: [docs, build] }\n",
        "      - { email: nina.berger@nordbau.example, access: member, products: [docs, build] }\n      - { email: zoe.new@acme.example, access: member, products: [docs] }\n",
    ),
    (
        "teams.yaml",
        "assigned: [bob.berg@acme.example, dana.dekker@acme.example, group:riverside-design]",
        "assigned: [bob.berg@acme.example, dana.dekker@acme.example, group:riverside-design, zoe.new@acme.example]",
    ),
    (
        "teams.yaml",
        "assigned: [tom.hughes@acme.example, priya.nair@acme.example]",
        "assigned: [tom.hughes@acme.example, priya.nair@acme.example, alice.anders@acme.example]",
    ),
];

/// Every operation of the whole plan after [`CHANGES`].
const WHOLE: [&str; 10] = [
    "member.invite zoe.new@acme.example",
    "member.update bob.berg@acme.example",
    "team_member.add 100001/zoe.new@acme.example",
    "agreement.update 110009876543",
    "seat.assign 110001234567/Revit/zoe.new@acme.example",
    "seat.assign 110009876543/Autodesk Takeoff/tom.hughes@acme.example",
    "team_seat.assign 100001/Navisworks Manage/alice.anders@acme.example",
    "team_seat.assign 100001/Revit/zoe.new@acme.example",
    "project_member.remove Riverside School/raj.patel@acme.example",
    "project_member.add Harbour Tower A/zoe.new@acme.example",
];

/// A copy of `examples/acme` applied to a fresh store, then changed.
struct Scenario {
    dir: tempfile::TempDir,
}

impl Scenario {
    /// The example applied as it is, then [`CHANGES`] made to the files.
    fn changed() -> Self {
        let scenario = Self::applied(&[]);
        scenario.edit(&CHANGES);
        scenario
    }

    /// The example, with `extra` members added to people.yaml, applied to a store.
    fn applied(extra: &[&str]) -> Self {
        let scenario = Self {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme");
        std::fs::create_dir(scenario.config()).expect("mkdir");
        for entry in std::fs::read_dir(example).expect("the example") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), scenario.config().join(entry.file_name())).expect("copy");
        }
        let people: String = extra
            .iter()
            .map(|email| {
                format!("  - {{ email: {email}, company: ACME Architects, role: Architect }}\n")
            })
            .collect();
        scenario.edit(&[(
            "people.yaml",
            "  # --- ACME Architects: management and BIM",
            &format!("{people}  # --- ACME Architects: management and BIM"),
        )]);
        scenario.run(&["apply", "--auto-approve"], &[], 0);
        scenario
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    fn url(&self) -> String {
        format!("sqlite:{}", self.dir.path().join("state.db").display())
    }

    /// Replaces each text (which must be there exactly once) in its file.
    fn edit(&self, changes: &[(&str, &str, &str)]) {
        for (file, from, to) in changes {
            let path = self.config().join(file);
            let text = std::fs::read_to_string(&path).expect("read");
            assert_eq!(text.matches(from).count(), 1, "{file}: {from}");
            std::fs::write(&path, text.replace(from, to)).expect("write");
        }
    }

    /// `accord COMMAND CONFIG --backend URL [--runs-dir DIR] EXTRA... (--target T)...`,
    /// asserting the exit code.
    fn run(&self, command: &[&str], targets: &[&str], code: i32) -> Output {
        let mut cmd = accord();
        cmd.args(command)
            .arg(self.config())
            .args(["--backend", &self.url()]);
        if command[0] == "apply" {
            cmd.arg("--runs-dir").arg(self.dir.path().join("runs"));
        }
        for target in targets {
            cmd.args(["--target", target]);
        }
        let output = cmd.output().expect("run accord");
        assert_eq!(
            output.status.code(),
            Some(code),
            "{command:?} {targets:?}\nstdout:\n{}\nstderr:\n{}",
            self.shown(&output.stdout),
            self.shown(&output.stderr)
        );
        output
    }

    /// Output with the temporary directory's path replaced by `[dir]`.
    fn shown(&self, bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).replace(&self.dir.path().display().to_string(), "[dir]")
    }

    /// The plan's operations (`op target`), from `plan --format json`.
    fn operations(&self, targets: &[&str]) -> Vec<String> {
        let output = self.run(&["plan", "--format", "json"], targets, 0);
        let plan: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
        plan["operations"]
            .as_array()
            .expect("operations")
            .iter()
            .map(|o| {
                format!(
                    "{} {}",
                    o["op"].as_str().unwrap(),
                    o["target"].as_str().unwrap()
                )
            })
            .collect()
    }
}

fn only(names: &[&str]) -> Vec<String> {
    names.iter().map(ToString::to_string).collect()
}

#[test]
fn the_whole_plan_holds_every_change() {
    let scenario = Scenario::changed();
    assert_eq!(scenario.operations(&[]), only(&WHOLE));
}

#[test]
fn a_member_target_plans_their_invitation_seats_projects_and_team_in_text() {
    let scenario = Scenario::changed();
    let output = scenario.run(&["plan"], &[ZOE], 0);
    insta::assert_snapshot!("member_text", scenario.shown(&output.stdout));
}

#[test]
fn a_member_target_of_an_update_plans_only_the_update() {
    let scenario = Scenario::changed();
    let output = scenario.run(&["plan", "--format", "markdown"], &[BOB], 0);
    insta::assert_snapshot!("member_markdown", scenario.shown(&output.stdout));
}

#[test]
fn a_project_target_plans_its_members() {
    let scenario = Scenario::changed();
    let output = scenario.run(&["plan"], &[RIVERSIDE], 0);
    insta::assert_snapshot!("project_text", scenario.shown(&output.stdout));
}

#[test]
fn an_agreement_target_plans_its_licences_and_seats() {
    let scenario = Scenario::changed();
    let output = scenario.run(&["plan"], &[CONSTRUCTION], 0);
    insta::assert_snapshot!("agreement_text", scenario.shown(&output.stdout));
}

#[test]
fn a_team_target_plans_its_users_and_seats_with_the_invitation_they_need() {
    let scenario = Scenario::changed();
    let output = scenario.run(&["plan"], &[TEAM], 0);
    insta::assert_snapshot!("team_text", scenario.shown(&output.stdout));
}

#[test]
fn the_json_of_a_partial_plan_names_its_targets_and_follows_the_schema() {
    let scenario = Scenario::changed();
    let output = scenario.run(
        &["plan", "--format", "json", "--detailed-exitcode"],
        &[TEAM, RIVERSIDE, TEAM],
        2,
    );
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(
        plan["targets"],
        serde_json::json!([RIVERSIDE, TEAM]),
        "sorted, once each"
    );
    assert_eq!(plan["outside_targets"], 5);
    assert_eq!(
        plan["summary"],
        serde_json::json!({"add": 4, "change": 0, "remove": 1})
    );
    // The two team seats share a call; the invitation, the team user and the project
    // place have one each.
    assert_eq!(plan["batches"], 4);
    assert_eq!(
        schema_errors("plan.schema.json", &plan),
        Vec::<String>::new()
    );
    // Targets that together cover everything leave nothing out (the field is absent).
    let all = [ZOE, BOB, RIVERSIDE, CONSTRUCTION, TEAM];
    let output = scenario.run(&["plan", "--format", "json"], &all, 0);
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(plan["summary"]["add"].as_u64().unwrap() + 3, 10);
    assert!(plan.get("outside_targets").is_none(), "{plan}");
    assert_eq!(
        schema_errors("plan.schema.json", &plan),
        Vec::<String>::new()
    );
}

#[test]
fn a_partial_apply_carries_out_only_its_plan_and_converges() {
    let scenario = Scenario::changed();
    let output = scenario.run(&["apply", "--auto-approve"], &[ZOE], 0);
    let text = scenario.shown(&output.stdout);
    assert!(
        text.contains("Apply complete: 5 operations: 5 done.\n"),
        "{text}"
    );
    assert!(
        text.contains("Verified: member:zoe.new@acme.example match the configuration (revision "),
        "{text}"
    );
    // Zoe's changes are made; the rest is still to do.
    let zoe: Vec<&str> = WHOLE
        .iter()
        .copied()
        .filter(|o| o.contains("zoe"))
        .collect();
    let rest: Vec<&str> = WHOLE
        .iter()
        .copied()
        .filter(|o| !o.contains("zoe"))
        .collect();
    assert_eq!(zoe.len(), 5);
    assert_eq!(scenario.operations(&[]), only(&rest));
    assert_eq!(scenario.operations(&[ZOE]), Vec::<String>::new());
    let output = scenario.run(&["plan"], &[ZOE], 0);
    assert_eq!(
        scenario.shown(&output.stdout),
        "Partial plan: only member:zoe.new@acme.example; 5 other changes not shown (the safety rules were checked on the whole account)\n\nNo changes.\n"
    );
    // The JSON summary names the targets too.
    let output = scenario.run(&["apply", "--auto-approve", "--format", "json"], &[TEAM], 0);
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(summary["targets"], serde_json::json!([TEAM]));
    assert_eq!(summary["converged"], true);
    assert_eq!(summary["operations"], 1, "alice's Navisworks seat");
    assert_eq!(
        schema_errors("apply.schema.json", &summary),
        Vec::<String>::new()
    );
}

#[test]
fn a_saved_partial_plan_keeps_its_targets_and_refuses_others() {
    let scenario = Scenario::changed();
    let saved = scenario.dir.path().join("plan.json");
    let saved_arg = saved.to_str().expect("UTF-8");
    scenario.run(&["plan", "--out", saved_arg], &[RIVERSIDE], 0);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).expect("saved")).expect("JSON");
    assert_eq!(json["targets"], serde_json::json!([RIVERSIDE]));
    assert_eq!(json["operations"].as_array().expect("ops").len(), 1);
    // Other targets than the saved plan's: refused, nothing changed.
    let output = scenario.run(
        &["apply", "--auto-approve", "--plan", saved_arg],
        &[TEAM],
        1,
    );
    assert_eq!(
        scenario.shown(&output.stderr),
        "error: [dir]/plan.json: it was made for --target project:Riverside School, not --target team:100001: apply it without --target (its targets are kept), or run `accord plan --out` again with the targets you want; nothing was changed\n"
    );
    assert_eq!(scenario.operations(&[]), only(&WHOLE));
    // Without --target: the saved plan's targets, and only its operation.
    let output = scenario.run(&["apply", "--auto-approve", "--plan", saved_arg], &[], 0);
    let text = scenario.shown(&output.stdout);
    assert!(
        text.starts_with("Partial plan: only project:Riverside School; 9 other changes not shown"),
        "{text}"
    );
    assert!(
        text.contains("Apply complete: 1 operation: 1 done.\n"),
        "{text}"
    );
    let rest: Vec<&str> = WHOLE
        .iter()
        .copied()
        .filter(|o| !o.contains("raj"))
        .collect();
    assert_eq!(scenario.operations(&[]), only(&rest));
}

#[test]
fn a_whole_saved_plan_refuses_a_target() {
    let scenario = Scenario::changed();
    let saved = scenario.dir.path().join("plan.json");
    let saved_arg = saved.to_str().expect("UTF-8");
    scenario.run(&["plan", "--out", saved_arg], &[], 0);
    let output = scenario.run(&["apply", "--auto-approve", "--plan", saved_arg], &[BOB], 1);
    assert!(
        scenario.shown(&output.stderr).contains(
            "it was made for the whole account, not --target member:bob.berg@acme.example"
        ),
        "{}",
        scenario.shown(&output.stderr)
    );
    assert_eq!(scenario.operations(&[]), only(&WHOLE));
}

#[test]
fn a_target_that_matches_nothing_is_an_error_with_a_suggestion() {
    let scenario = Scenario::changed();
    for (target, expected) in [
        (
            "member:zoe.nwe@acme.example",
            "error: --target member:zoe.nwe@acme.example matches nothing: no member of that name in the configuration or the account (nothing was changed); did you mean `member:zoe.new@acme.example`?\n",
        ),
        (
            "project:riverside school",
            "error: --target project:riverside school matches nothing: no project of that name in the configuration or the account (nothing was changed); did you mean `project:Riverside School`?\n",
        ),
        (
            "agreement:999",
            "error: --target agreement:999 matches nothing: no agreement of that name in the configuration or the account (nothing was changed)\n",
        ),
        (
            "team:100002",
            "error: --target team:100002 matches nothing: no team of that name in the configuration or the account (nothing was changed); did you mean `team:100001`?\n",
        ),
    ] {
        let output = scenario.run(&["plan"], &[ZOE, target], 1);
        assert_eq!(scenario.shown(&output.stderr), expected);
        assert!(output.stdout.is_empty(), "no plan is printed");
        let output = scenario.run(&["apply", "--auto-approve"], &[target], 1);
        assert_eq!(scenario.shown(&output.stderr), expected);
        assert!(output.stdout.is_empty(), "no plan is printed");
    }
    // JSON tools get the error's kind.
    let output = scenario.run(&["plan", "--format", "json"], &["team:7"], 1);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["error"]["kind"], "unmatched_target");
    assert_eq!(json["error"]["exit_code"], 1);
    assert_eq!(
        scenario.operations(&[]),
        only(&WHOLE),
        "nothing was changed"
    );
}

#[test]
fn a_target_that_is_not_kind_colon_name_is_a_usage_error() {
    let scenario = Scenario::changed();
    let output = scenario.run(&["plan"], &["membr:zoe.new@acme.example"], 64);
    assert!(
        scenario.shown(&output.stderr).contains(
            "invalid value 'membr:zoe.new@acme.example' for '--target <KIND:NAME>': `membr` is not a kind of target: use one of member, project, agreement, team; did you mean `member:zoe.new@acme.example`?"
        ),
        "{}",
        scenario.shown(&output.stderr)
    );
    let output = scenario.run(&["plan"], &["Riverside School"], 64);
    assert!(
        scenario
            .shown(&output.stderr)
            .contains("`Riverside School` is not a target: write KIND:NAME"),
        "{}",
        scenario.shown(&output.stderr)
    );
}

/// The store holds four members the configuration no longer declares, and prune is
/// on with `max_removals: 3`: the whole plan removes four, so R13 refuses it. A
/// target whose own changes remove nobody is refused all the same (exit 3, nothing
/// changed): a partial plan is never a way around a safety rule, since the next
/// whole apply would face it anyway and the configuration as it stands asks for it.
#[test]
fn a_target_that_leaves_out_the_removals_is_still_refused_by_r13() {
    let leavers = [
        "x1@acme.example",
        "x2@acme.example",
        "x3@acme.example",
        "x4@acme.example",
    ];
    let scenario = Scenario::applied(&leavers);
    let people = scenario.config().join("people.yaml");
    let original = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme/people.yaml");
    std::fs::copy(original, &people).expect("restore people.yaml");
    scenario.edit(&CHANGES);
    scenario.edit(&[("people.yaml", "  prune: false", "  prune: true")]);
    let output = scenario.run(&["plan"], &[BOB], 3);
    let text = scenario.shown(&output.stdout);
    insta::assert_snapshot!("refused_r13_text", text);
    let stderr = scenario.shown(&output.stderr);
    assert_eq!(
        stderr,
        "error: the plan was refused by a safety rule; nothing was changed\n"
    );
    let output = scenario.run(&["apply", "--auto-approve"], &[BOB], 3);
    assert!(
        scenario.shown(&output.stdout).contains("error[R13]"),
        "{}",
        scenario.shown(&output.stdout)
    );
    // Nothing was changed: with the limit raised, the whole plan is as before.
    let output = scenario.run(&["plan", "--format", "json", "--max-removals", "4"], &[], 0);
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(
        plan["summary"]["remove"], 5,
        "four leavers and raj's project place"
    );
    assert!(
        plan["operations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["op"] == "member.update" && o["target"] == "bob.berg@acme.example"),
        "bob's update was not applied"
    );
}
