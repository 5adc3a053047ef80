//! What is checked before the first write (issue 13, items 5, 7, 10 and 11): a plan
//! the vendor cannot carry out is refused by `plan` and by `apply` before anything
//! changes, naming the operation, where it is declared and why; and the account's
//! id is accepted with or without the hub's `b.` prefix (item 6).

use super::fake::{ADMIN_EMAIL, ADMIN_ID, Fake, HUB, REGION};
use super::{apply_converges, backend_url, command, replan, run, stderr, stdout};
use crate::common::TestConfig;

/// Writes the vendor received (anything but reads and token requests).
fn writes(fake: &Fake) -> u64 {
    fake.state()
        .received
        .iter()
        .filter(|(label, _)| !label.starts_with("GET ") && *label != "POST token")
        .map(|(_, n)| n)
        .sum()
}

/// `plan` and `apply` are both refused (exit 1, `rejected`), each saying `words`,
/// and the vendor receives no write.
fn refused_before_writing(fake: &Fake, yaml: &str, user_id: Option<&str>, words: &[&str]) {
    let config = TestConfig::with(yaml);
    let dir = config.path().to_str().unwrap().to_owned();
    let url = backend_url();
    for verb in ["plan", "apply"] {
        let mut args = vec![
            verb,
            dir.as_str(),
            "--backend",
            url.as_str(),
            "--skip-unsupported",
        ];
        if verb == "apply" {
            args.extend(["--auto-approve", "--format", "json"]);
        }
        let output = command(fake, config.path(), user_id)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(1),
            "{verb}: {}{}",
            stdout(&output),
            stderr(&output)
        );
        // Provenance is `PATH/accord.yaml:LINE`: shown here without the directory.
        let said = format!("{}{}", stdout(&output), stderr(&output))
            .replace(&format!("{}/", config.path().display()), "");
        for w in words {
            assert!(said.contains(w), "{verb} does not say {w:?}: {said}");
        }
        if verb == "apply" {
            let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
            assert_eq!(json["error"]["kind"], "rejected", "{json}");
        }
    }
    assert_eq!(writes(fake), 0, "{:?}", fake.state().received);
}

fn with_project(extra_members: &str, project_members: &str) -> String {
    format!(
        "account: {{ id: {HUB}, name: ACME }}\ncompanies:\n  - {{ name: ACME, trade: Architecture }}\nmembers:\n  - {{ email: {ADMIN_EMAIL}, access: [account_admin] }}\n  - {{ email: a@acme.example, company: ACME }}\n{extra_members}projects:\n  - name: Tower A\n    members:\n{project_members}"
    )
}

/// Regression (item 5): without `ACCORD_ACC_USER_ID` an apply made the account-level
/// changes, then failed at the first project write with the rest undone.
#[test]
fn project_changes_without_an_admin_to_act_for_are_refused_before_any_write() {
    let fake = Fake::start();
    let yaml = with_project(
        "",
        "      - { email: a@acme.example, access: member, products: [docs] }\n",
    );
    refused_before_writing(
        &fake,
        &yaml,
        None,
        &[
            // One reason, said once: the first operation it concerns, and how many more.
            "project.create Tower A (accord.yaml:8) and 1 more: changing projects needs ACCORD_ACC_USER_ID",
        ],
    );
    // A User-Id that is no account admin is refused too.
    let user = fake.state().add_active_user("bob@acme.example");
    refused_before_writing(
        &fake,
        &yaml,
        Some(&user),
        &["bob@acme.example, who is not an account admin"],
    );
}

/// Regression (item 7): a company without a trade could never be created (the vendor
/// requires one) and every run failed the same item.
#[test]
fn a_company_without_a_trade_is_refused_before_any_write() {
    let fake = Fake::start();
    let yaml = format!(
        "account: {{ id: {HUB}, name: ACME }}\ncompanies:\n  - {{ name: Nordbau }}\nmembers:\n  - {{ email: {ADMIN_EMAIL}, access: [account_admin] }}\n  - {{ email: a@acme.example, company: Nordbau }}\n"
    );
    refused_before_writing(
        &fake,
        &yaml,
        Some(ADMIN_ID),
        &["company.create Nordbau (accord.yaml:3)", "requires a trade"],
    );
}

/// Regression (item 10): the vendor makes a project admin administrator of every
/// product, so an admin declared with some products never converged. It is refused
/// before writing; an admin with every product converges.
#[test]
fn a_project_admin_with_only_some_products_is_refused_and_one_with_all_converges() {
    let fake = Fake::start();
    let some = with_project(
        "",
        "      - { email: a@acme.example, access: admin, products: [docs, build] }\n",
    );
    refused_before_writing(
        &fake,
        &some,
        Some(ADMIN_ID),
        &[
            "project_member.add Tower A/a@acme.example (accord.yaml:10)",
            "administrator of every product",
        ],
    );
    let all = with_project(
        "",
        "      - { email: a@acme.example, access: admin, products: [docs, build, cost, insight, design_collaboration, model_coordination, takeoff] }\n",
    );
    let config = TestConfig::with(&all);
    apply_converges(&fake, &config);
    let again = replan(&fake, &config);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
}

/// Regression (item 11): deactivating a pending member was planned, then refused by
/// apply run after run.
#[test]
fn deactivating_a_member_who_has_not_accepted_is_refused_with_what_to_do() {
    let fake = Fake::start();
    {
        let mut s = fake.state();
        s.add_active_user("p@acme.example");
        let pending = s.users.last_mut().unwrap();
        pending["status"] = serde_json::json!("pending");
        pending["last_sign_in"] = serde_json::Value::Null;
    }
    let yaml = format!(
        "account: {{ id: {HUB}, name: ACME }}\nmembers:\n  - {{ email: {ADMIN_EMAIL}, access: [account_admin] }}\n  - {{ email: p@acme.example, status: inactive }}\n"
    );
    refused_before_writing(
        &fake,
        &yaml,
        Some(ADMIN_ID),
        &[
            "member.deactivate p@acme.example (accord.yaml:4)",
            "has not accepted the invitation",
        ],
    );
}

/// Issue 15: a member declared inactive who is not in the account is one
/// `member.invite` (inactive, no invitation); the vendor cannot add a member inactive,
/// so the plan is refused before any write, saying what to do instead.
#[test]
fn a_new_member_declared_inactive_is_refused_before_any_write_with_what_to_do() {
    let fake = Fake::start();
    let yaml = format!(
        "account: {{ id: {HUB}, name: ACME }}\nmembers:\n  - {{ email: {ADMIN_EMAIL}, access: [account_admin] }}\n  - {{ email: leave@acme.example, status: inactive }}\n"
    );
    refused_before_writing(
        &fake,
        &yaml,
        Some(ADMIN_ID),
        &[
            "member.invite leave@acme.example (accord.yaml:4)",
            "cannot add a member as inactive",
        ],
    );
}

/// Regression (item 11): with `prune: true` the drift report said "settings.prune is
/// off" for a member the vendor's API cannot remove.
#[test]
fn with_prune_on_the_drift_report_says_the_vendor_cannot_remove_members() {
    let fake = Fake::start();
    fake.state().add_active_user("zed@acme.example");
    let yaml = format!(
        "account: {{ id: {HUB}, name: ACME }}\nsettings: {{ prune: true }}\nmembers:\n  - {{ email: {ADMIN_EMAIL}, access: [account_admin] }}\n"
    );
    let config = TestConfig::with(&yaml);
    let dir = config.path().to_str().unwrap().to_owned();
    let planned = run(
        &fake,
        config.path(),
        &[
            "plan",
            &dir,
            "--backend",
            &backend_url(),
            "--skip-unsupported",
        ],
    );
    let text = stdout(&planned);
    assert_eq!(planned.status.code(), Some(0), "{text}{}", stderr(&planned));
    assert!(
        text.contains("zed@acme.example: member not declared"),
        "{text}"
    );
    assert!(
        text.contains("settings.prune is on, but this backend cannot remove members"),
        "{text}"
    );
    assert!(!text.contains("settings.prune is off"), "{text}");
}

/// Regression (item 6): `acc://b.1234abcd` (the hub id, as the README shows it) was
/// sent to the API unchanged and answered 404. Both forms name the account; the API
/// is sent the id without `b.`.
#[test]
fn the_hub_id_and_the_account_id_both_name_the_account() {
    let fake = Fake::start();
    for id in [HUB, super::fake::ACCOUNT] {
        let yaml = format!(
            "account: {{ id: {id}, name: ACME }}\nmembers:\n  - {{ email: {ADMIN_EMAIL}, access: [account_admin] }}\n"
        );
        let config = TestConfig::with(&yaml);
        let dir = config.path().to_str().unwrap().to_owned();
        let url = format!("acc://{id}?region={REGION}");
        let planned = run(
            &fake,
            config.path(),
            &["plan", &dir, "--backend", &url, "--detailed-exitcode"],
        );
        assert_eq!(
            planned.status.code(),
            Some(0),
            "{id}: {}{}",
            stdout(&planned),
            stderr(&planned)
        );
        let out = tempfile::tempdir().unwrap();
        let export = out.path().join("export");
        let exported = run(
            &fake,
            config.path(),
            &[
                "export",
                "--backend",
                &url,
                "--out",
                export.to_str().unwrap(),
            ],
        );
        assert_eq!(
            exported.status.code(),
            Some(0),
            "{id}: {}",
            stderr(&exported)
        );
    }
    let s = fake.state();
    assert!(
        s.turned_away.is_empty(),
        "every call named the account: {:?}",
        s.turned_away
    );
}
