//! The `acc` backend against a stateful fake of the vendor's API (`acc/fake.rs`):
//! plan -> apply -> plan converges through the binary, unmanaged parts of a
//! configuration are reported in every format, and the client survives an expired
//! token, 429s and partial import failures while making the fewest calls the bulk
//! limits allow.

#[path = "acc/fake.rs"]
pub(crate) mod fake;

#[path = "acc/faults.rs"]
mod faults;

#[path = "acc/before_writing.rs"]
mod before_writing;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

use accord::backend::acc::client::{Credentials, RateLimits};
use accord::backend::acc::{AccBackend, AccSettings};
use accord::backend::{Backend, Outcome};
use accord::call::RetryPolicy;
use accord::plan::{MemberRecord, Op};
use accord::state::{Email, ProjectAccess, ProjectProduct};
use serde_json::Value;

use crate::common::{TestConfig, accord};
use fake::{ADMIN_EMAIL, ADMIN_ID, CLIENT_ID, CLIENT_SECRET, Fake, HUB, REGION};
use fake::{Fault, FaultKind, FaultTime};

/// The account as the vendor's UI names it: its hub id.
fn backend_url() -> String {
    format!("acc://{HUB}?region={REGION}")
}

/// `accord ARGS` against the fake, run in `dir` (for `.accord/runs`).
fn run(fake: &Fake, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    command(fake, dir, Some(ADMIN_ID))
        .args(args)
        .output()
        .expect("accord runs")
}

/// `accord` against the fake, in `dir`, acting for `user_id` (`ACCORD_ACC_USER_ID`).
fn command(fake: &Fake, dir: &std::path::Path, user_id: Option<&str>) -> assert_cmd::Command {
    let mut cmd = accord();
    cmd.current_dir(dir)
        .env("APS_CLIENT_ID", CLIENT_ID)
        .env("APS_CLIENT_SECRET", CLIENT_SECRET)
        .env("ACCORD_ACC_BASE_URL", &fake.url)
        .env_remove("ACCORD_ACC_USER_ID");
    if let Some(user_id) = user_id {
        cmd.env("ACCORD_ACC_USER_ID", user_id);
    }
    cmd
}

/// `accord apply --auto-approve --skip-unsupported` of `config` against the fake,
/// asserting that it converged (exit 0).
fn apply_converges(fake: &Fake, config: &TestConfig) -> std::process::Output {
    let dir = config.path().to_str().expect("UTF-8 path");
    let url = backend_url();
    let applied = run(
        fake,
        config.path(),
        &[
            "apply",
            dir,
            "--backend",
            &url,
            "--auto-approve",
            "--skip-unsupported",
        ],
    );
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&applied),
        stderr(&applied)
    );
    applied
}

/// `accord plan --skip-unsupported --detailed-exitcode` of `config` against the fake
/// (exit 0: nothing left to do; 2: changes).
fn replan(fake: &Fake, config: &TestConfig) -> std::process::Output {
    let dir = config.path().to_str().expect("UTF-8 path");
    let url = backend_url();
    run(
        fake,
        config.path(),
        &[
            "plan",
            dir,
            "--backend",
            &url,
            "--skip-unsupported",
            "--detailed-exitcode",
        ],
    )
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A configuration the vendor's API can carry out whole: companies, 120 members
/// (three user imports: 50 + 50 + 20; two pages of the bare-array user list), a
/// project with an admin and members.
fn managed_config() -> String {
    let mut yaml = format!(
        "account: {{ id: {HUB}, name: ACME }}\ncompanies:\n  - {{ name: ACME Architects, trade: Architecture }}\n  - {{ name: Nordbau, trade: General Contracting }}\nmembers:\n  - {{ email: {ADMIN_EMAIL}, access: [account_admin] }}\n"
    );
    for i in 0..120 {
        let company = if i % 2 == 0 {
            "ACME Architects"
        } else {
            "Nordbau"
        };
        let _ = writeln!(
            yaml,
            "  - {{ email: m{i:02}@acme.example, first_name: M{i}, company: {company} }}"
        );
    }
    yaml.push_str("projects:\n  - name: Tower A\n    members:\n");
    // The vendor makes a project admin administrator of every product.
    yaml.push_str("      - { email: m00@acme.example, access: admin, products: [docs, build, cost, insight, design_collaboration, model_coordination, takeoff] }\n");
    for i in 1..5 {
        let _ = writeln!(
            yaml,
            "      - {{ email: m{i:02}@acme.example, access: member, products: [docs, design_collaboration] }}"
        );
    }
    yaml
}

#[test]
fn plan_apply_plan_converges_with_the_fewest_calls() {
    let fake = Fake::start();
    let config = TestConfig::with(&managed_config());
    let dir = config.path().to_str().unwrap().to_owned();
    let url = backend_url();
    let first = run(&fake, config.path(), &["plan", &dir, "--backend", &url]);
    let text = stdout(&first);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(text.contains("+ member.invite m00@acme.example"), "{text}");
    assert!(
        text.contains("+ project_member.add Tower A/m01@acme.example"),
        "{text}"
    );
    assert!(!text.contains("would change"), "{text}");

    // Mid-apply: one 429 and, a few calls later, every token revoked.
    {
        let mut s = fake.state();
        s.throttle = 1;
        s.expire_tokens_at_call = Some(s.api_calls + 6);
        s.calls.clear();
        s.turned_away.clear();
    }
    let tokens_before = fake.state().token_requests;
    let applied = run(
        &fake,
        config.path(),
        &["apply", &dir, "--backend", &url, "--auto-approve"],
    );
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}{}",
        stdout(&applied),
        String::from_utf8_lossy(&applied.stderr)
    );
    {
        let s = fake.state();
        // One token at the start, one after the revocation, however many calls in
        // flight were refused with the revoked token (each is sent again once).
        assert_eq!(s.token_requests - tokens_before, 2);
        let turned_away = s.turned_away.values().sum::<u64>();
        assert!(
            (2..=1 + accord::apply::DEFAULT_PARALLELISM as u64).contains(&turned_away),
            "{:?}",
            s.turned_away
        );
        // The fewest writes the bulk limits allow.
        assert_eq!(s.count("POST companies/import"), 1, "{:?}", s.calls);
        assert_eq!(s.count("POST users/import"), 3, "{:?}", s.calls);
        assert_eq!(s.count("POST projects"), 1, "{:?}", s.calls);
        assert_eq!(
            s.count("POST projects/{id}/users:import"),
            1,
            "{:?}",
            s.calls
        );
        assert_eq!(s.count("PATCH users/{id}"), 0, "{:?}", s.calls);
        assert_eq!(s.users.len(), 121);
        let m01 = s
            .project_users
            .iter()
            .find(|(u, _)| u["email"] == "m01@acme.example")
            .unwrap();
        let keys: BTreeSet<String> = m01.0["products"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                format!(
                    "{}={}",
                    p["key"].as_str().unwrap(),
                    p["access"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                "designCollaboration=member",
                "docs=member",
                "projectAdministration=none"
            ]
            .map(str::to_owned)
            .into()
        );
        // The secret never reaches output.
        assert!(!stdout(&applied).contains(CLIENT_SECRET));
        assert!(!String::from_utf8_lossy(&applied.stderr).contains(CLIENT_SECRET));
    }
    fake.state().calls.clear();
    let again = run(&fake, config.path(), &["plan", &dir, "--backend", &url]);
    {
        // Both list shapes read whole: 121 users are two bare-array pages of 100.
        let s = fake.state();
        assert_eq!(s.count("GET users"), 2, "{:?}", s.calls);
        assert_eq!(s.count("GET projects"), 1, "{:?}", s.calls);
        assert_eq!(s.count("GET projects/{id}/users"), 1, "{:?}", s.calls);
    }
    // Empty: only the notes that the admin's access level is read, not managed...
    let text = stdout(&again);
    assert!(text.ends_with("\n\nNo changes.\n"), "{text}");
    assert!(
        text.starts_with("Notes:\n  - not managed by this backend: account access levels of it-admin@acme.example ("),
        "{text}"
    );
    assert!(
        text.contains("accord.yaml:6): matches the account\n"),
        "{text}"
    );
    // And that the vendor keeps no lock, so two applies could race.
    assert!(text.contains("keeps no lock of its own"), "{text}");
    assert_eq!(text.lines().count(), 5, "{text}");
    assert_eq!(again.status.code(), Some(0));
}

const UNMANAGED: &str = "\
roles:
  - { name: BIM Manager, default_access: [account_admin] }
agreements:
  - number: \"110001234567\"
    name: AEC Collection
    contract_manager: it-admin@acme.example
    products:
      - { name: Revit, seats: 2, assigned: [it-admin@acme.example] }
";

#[test]
fn unmanaged_parts_are_listed_in_every_format_and_fail_the_plan_unless_skipped() {
    let fake = Fake::start();
    let yaml = format!(
        "account: {{ id: {HUB}, name: ACME }}\nmembers:\n  - {{ email: {ADMIN_EMAIL}, role: BIM Manager }}\n{UNMANAGED}"
    );
    let config = TestConfig::with(&yaml);
    let dir = config.path().to_str().unwrap().to_owned();
    let url = backend_url();
    for format in ["text", "json", "markdown"] {
        let output = run(
            &fake,
            config.path(),
            &["plan", &dir, "--backend", &url, "--format", format],
        );
        let text = stdout(&output);
        assert_eq!(output.status.code(), Some(1), "{format}: {text}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--skip-unsupported"), "{stderr}");
        assert!(
            text.contains("not managed by this backend: agreement 110001234567 (AEC Collection)"),
            "{format}: {text}"
        );
        assert!(
            text.contains("accord.yaml:7): the configuration would change it"),
            "{format}: {text}"
        );
        assert!(
            text.contains("not managed by this backend: role BIM Manager"),
            "{format}: {text}"
        );
        if format == "json" {
            let plan: Value = serde_json::from_str(&text).unwrap();
            let notes = plan["notes"].as_array().unwrap();
            assert_eq!(notes.len(), 5, "{text}");
            assert!(
                notes
                    .iter()
                    .any(|n| n.as_str().unwrap().contains("keeps no lock of its own")),
                "{text}"
            );
        }
        let skipped = run(
            &fake,
            config.path(),
            &[
                "plan",
                &dir,
                "--backend",
                &url,
                "--format",
                format,
                "--skip-unsupported",
            ],
        );
        let text = stdout(&skipped);
        assert_eq!(skipped.status.code(), Some(0), "{format}: {text}");
        assert!(
            text.contains("warning: not managed by this backend: agreement 110001234567"),
            "{format}: {text}"
        );
        assert!(
            text.contains("the change is skipped (--skip-unsupported)"),
            "{format}: {text}"
        );
    }
}

/// Settings for the fake with budgets that never hold a test up, and quick looks
/// while waiting for the vendor to show what it accepted.
fn settings(fake: &Fake) -> AccSettings {
    AccSettings {
        account_id: HUB.into(),
        region: REGION.into(),
        base_url: fake.url.clone(),
        credentials: Credentials {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            user_id: Some(ADMIN_ID.into()),
        },
        limits: RateLimits {
            hq_per_minute: 6000.0,
            admin_reads_per_minute: 6000.0,
            admin_writes_per_minute: 6000.0,
        },
        poll: RetryPolicy {
            max_attempts: 400,
            initial_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
            max_elapsed: Duration::from_secs(20),
        },
    }
}

fn invite(email: &str) -> Op {
    Op::MemberInvite {
        email: Email::new(email),
        record: MemberRecord::default(),
        inactive: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_report_partial_failures_and_survive_expired_tokens_and_429s() {
    let fake = Fake::start();
    fake.state().reject_emails.insert("bad@acme.example".into());
    let backend = AccBackend::connect(settings(&fake)).unwrap();
    backend.fetch().await.unwrap();
    {
        let mut s = fake.state();
        s.tokens.clear();
        s.throttle = 1;
    }
    let outcomes = backend
        .execute(&[
            invite("a@acme.example"),
            invite("bad@acme.example"),
            invite(ADMIN_EMAIL),
        ])
        .await
        .unwrap();
    assert_eq!(outcomes[0], Outcome::Done);
    assert!(
        matches!(&outcomes[1], Outcome::Failed { reason, retryable: false } if reason.contains("cannot be imported")),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[2], Outcome::AlreadySo);
    let s = fake.state();
    assert_eq!(s.token_requests, 2, "one refresh after the revocation");
    // The import went through once, after a 401 (refresh) and a 429 (Retry-After).
    assert_eq!(s.count("POST users/import"), 1, "{:?}", s.calls);
    assert_eq!(
        s.turned_away.get("POST users/import"),
        Some(&2),
        "{:?}",
        s.turned_away
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_imports_wait_until_the_users_show_and_updates_send_product_keys() {
    let fake = Fake::start();
    let backend = AccBackend::connect(settings(&fake)).unwrap();
    backend.fetch().await.unwrap();
    let create = backend
        .execute(&[Op::ProjectCreate {
            name: "Tower A".into(),
        }])
        .await
        .unwrap();
    assert_eq!(create, [Outcome::Done]);
    let adds: Vec<Op> = (0..250)
        .map(|i| Op::ProjectMemberAdd {
            project: "Tower A".into(),
            email: Email::new(&format!("p{i}@acme.example")),
            access: ProjectAccess::Member,
            products: [ProjectProduct::Docs].into(),
        })
        .collect();
    // One batch: the vendor takes 200 users an import, so two imports.
    backend.capabilities().limits.check(&adds).unwrap();
    let outcomes = backend.execute(&adds).await.unwrap();
    assert!(outcomes.iter().all(|o| *o == Outcome::Done), "{outcomes:?}");
    assert_eq!(fake.state().count("POST projects/{id}/users:import"), 2);
    let products: BTreeSet<ProjectProduct> =
        [ProjectProduct::Docs, ProjectProduct::ModelCoordination].into();
    let update = Op::ProjectMemberUpdate {
        project: "Tower A".into(),
        email: Email::new("p0@acme.example"),
        access: ProjectAccess::Member,
        products: products.clone(),
    };
    assert_eq!(backend.execute(&[update]).await.unwrap(), [Outcome::Done]);
    let remove = Op::ProjectMemberRemove {
        project: "Tower A".into(),
        email: Email::new("p1@acme.example"),
    };
    assert_eq!(
        backend
            .execute(std::slice::from_ref(&remove))
            .await
            .unwrap(),
        [Outcome::Done]
    );
    let state = backend.fetch().await.unwrap().state;
    let tower = &state.projects["Tower A"];
    assert_eq!(tower.members.len(), 249, "the removed user is hidden");
    let p0 = &tower.members[&Email::new("p0@acme.example")];
    assert_eq!(
        (p0.access, &p0.products),
        (ProjectAccess::Member, &products)
    );
    assert_eq!(
        backend.execute(&[remove]).await.unwrap(),
        [Outcome::AlreadySo]
    );
}

#[tokio::test]
async fn missing_credentials_and_regions_are_named() {
    // The test process has no vendor credentials (and must not read any).
    if std::env::var_os("APS_CLIENT_ID").is_none() {
        let err = accord::backend::open("acc://abc?region=EMEA")
            .await
            .err()
            .expect("refused");
        assert!(
            err.to_string().contains("APS_CLIENT_ID is not set"),
            "{err}"
        );
        assert!(!err.retryable());
    }
    let err = accord::backend::open("acc://abc")
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("acc://abc?region=REGION"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_reused_until_shortly_before_they_expire() {
    let fake = Fake::start();
    // 2 s: a short-lived token is replaced a fifth of its life before it expires,
    // so after 1.6 s.
    fake.state().token_lifetime = 2;
    let backend = AccBackend::connect(settings(&fake)).unwrap();
    backend.fetch().await.unwrap();
    backend.fetch().await.unwrap();
    assert_eq!(fake.state().token_requests, 1, "cached across calls");
    tokio::time::sleep(Duration::from_millis(1700)).await;
    backend.fetch().await.unwrap();
    let s = fake.state();
    assert_eq!(s.token_requests, 2, "replaced before expiry");
    assert!(
        s.turned_away.is_empty(),
        "no call was sent with a stale token: {:?}",
        s.turned_away
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_writes_without_an_admin_user_id_are_refused_before_sending() {
    let fake = Fake::start();
    let mut settings = settings(&fake);
    settings.credentials.user_id = None;
    let backend = AccBackend::connect(settings).unwrap();
    let err = backend
        .execute(&[Op::ProjectCreate {
            name: "Tower A".into(),
        }])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ACCORD_ACC_USER_ID"), "{err}");
    assert_eq!(fake.state().received("POST projects"), 0);
    // Nothing left, and nothing is counted as sent: the reads and the token only.
    let sent = backend.caller().counts();
    assert_eq!(sent.writes, 0, "{sent:?}");
    assert_eq!(sent.total(), fake.state().requests, "{sent:?}");
    // Account-level writes need no User-Id.
    let outcomes = backend.execute(&[invite("a@acme.example")]).await.unwrap();
    assert_eq!(outcomes, [Outcome::Done]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_lost_after_the_vendor_made_it_is_not_made_twice() {
    let fake = Fake::start();
    fake.state().faults.push(Fault::new(
        "POST users/import",
        FaultKind::ServerError,
        FaultTime::After,
    ));
    let backend = AccBackend::connect(settings(&fake)).unwrap();
    backend.fetch().await.unwrap();
    let batch = [invite("a@acme.example")];
    // A 500 after the import: the import is not safe to send again as it is, so the
    // client does not; the operation is answered "failed, retryable".
    let answers = backend.execute(&batch).await.unwrap();
    assert!(
        matches!(&answers[..], [Outcome::Failed { retryable: true, reason }] if reason.contains("answer was lost")),
        "{answers:?}"
    );
    // The executor's resend: the account is read again and the member is there.
    assert_eq!(backend.execute(&batch).await.unwrap(), [Outcome::AlreadySo]);
    let s = fake.state();
    assert_eq!(s.count("POST users/import"), 1, "{:?}", s.calls);
    assert_eq!(s.count("GET users"), 2, "{:?}", s.calls);
}

/// Regression: `apply` diffed the whole configuration against `acc://`, so a declared
/// agreement or role (which the vendor's API cannot manage) failed mid-apply. It now
/// refuses before any write, like `plan`, and with --skip-unsupported applies the
/// managed part and converges.
#[test]
fn apply_refuses_unmanaged_changes_before_writing_and_converges_when_skipped() {
    let fake = Fake::start();
    let yaml = format!(
        "account: {{ id: {HUB}, name: ACME }}\nmembers:\n  - {{ email: {ADMIN_EMAIL}, role: BIM Manager }}\n{UNMANAGED}"
    );
    let config = TestConfig::with(&yaml);
    let dir = config.path().to_str().unwrap().to_owned();
    let url = backend_url();
    let refused = run(
        &fake,
        config.path(),
        &["apply", &dir, "--backend", &url, "--auto-approve"],
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--skip-unsupported"), "{stderr}");
    let applied = run(
        &fake,
        config.path(),
        &[
            "apply",
            &dir,
            "--backend",
            &url,
            "--auto-approve",
            "--skip-unsupported",
        ],
    );
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&applied),
        String::from_utf8_lossy(&applied.stderr)
    );
    let again = run(
        &fake,
        config.path(),
        &[
            "plan",
            &dir,
            "--backend",
            &url,
            "--skip-unsupported",
            "--format",
            "json",
        ],
    );
    let plan: Value = serde_json::from_str(&stdout(&again)).unwrap();
    assert_eq!(plan["operations"].as_array().unwrap().len(), 0, "{plan}");
}

/// A failed operation ends `apply --format json` with the summary and
/// `error.kind = not_converged` (exit 1); the problem names the operation.
#[test]
fn a_failed_operation_is_not_converged_in_the_json_summary() {
    let fake = Fake::start();
    fake.state()
        .reject_emails
        .insert("m07@acme.example".to_owned());
    let config = TestConfig::with(&managed_config());
    let dir = config.path().to_str().unwrap().to_owned();
    let url = backend_url();
    let applied = run(
        &fake,
        config.path(),
        &[
            "apply",
            &dir,
            "--backend",
            &url,
            "--auto-approve",
            "--format",
            "json",
        ],
    );
    let summary: Value = serde_json::from_str(&stdout(&applied)).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            stdout(&applied),
            String::from_utf8_lossy(&applied.stderr)
        )
    });
    assert_eq!(applied.status.code(), Some(1));
    assert_eq!(summary["error"]["kind"], "not_converged", "{summary}");
    assert_eq!(summary["converged"], false);
    let problems = summary["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["op"] == "member.invite" && p["target"] == "m07@acme.example"),
        "{summary}"
    );
}

/// Manual steps (issue 11): the vendor's API cannot remove a member from the account,
/// so with `prune: true` the removal of someone the configuration does not declare
/// is a manual step: listed with what to do, `plan --detailed-exitcode` exits 2 while
/// it remains, and `apply` does the rest, prints it and exits 0.
#[test]
fn a_removal_the_vendor_cannot_make_is_a_manual_step_that_plan_and_apply_show() {
    let fake = Fake::start();
    fake.state().users.push(serde_json::json!({
        "id": "u-leaver", "account_id": fake::ACCOUNT, "email": "leaver@acme.example",
        "role": "account_user", "status": "active", "first_name": "Lee", "last_name": "Ver",
        "company_id": null, "last_sign_in": "2026-01-01T00:00:00Z"
    }));
    let yaml = format!(
        "account: {{ id: {HUB}, name: ACME }}\nsettings: {{ prune: true }}\nmembers:\n  - {{ email: {ADMIN_EMAIL}, access: [account_admin] }}\n"
    );
    let config = TestConfig::with(&yaml);
    let dir = config.path().to_str().unwrap().to_owned();
    let url = backend_url();
    let planned = run(
        &fake,
        config.path(),
        &[
            "plan",
            &dir,
            "--backend",
            &url,
            "--format",
            "json",
            "--detailed-exitcode",
        ],
    );
    let plan: Value = serde_json::from_str(&stdout(&planned)).unwrap();
    assert_eq!(planned.status.code(), Some(2), "{plan}");
    assert_eq!(plan["operations"].as_array().unwrap().len(), 0, "{plan}");
    let manual = plan["manual"].as_array().unwrap();
    assert_eq!(manual.len(), 1, "{plan}");
    assert_eq!(manual[0]["op"], "member.remove");
    assert_eq!(manual[0]["target"], "leaver@acme.example");
    assert_eq!(manual[0]["provenance"], "not declared");
    assert!(
        manual[0]["action"]
            .as_str()
            .unwrap()
            .contains("Account Admin"),
        "{plan}"
    );
    assert_eq!(plan["drift"]["manual"][0]["target"], "leaver@acme.example");
    let applied = run(
        &fake,
        config.path(),
        &["apply", &dir, "--backend", &url, "--auto-approve"],
    );
    let text = stdout(&applied);
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    assert!(text.contains("Manual steps left (1)"), "{text}");
    assert!(text.contains("member.remove leaver@acme.example"), "{text}");
    // Nothing was sent to remove them.
    assert!(
        fake.state()
            .users
            .iter()
            .any(|u| u["email"] == "leaver@acme.example")
    );
}
