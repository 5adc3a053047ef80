//! `accord serve` and the `http` backend, through the real binary: a server on
//! 127.0.0.1:0, and `validate`, `plan`, `apply` as separate processes talking to it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use accord::backend::http::HttpBackend;
use accord::backend::{Backend, BackendError, Outcome};
use accord::plan::Op;
use accord::state::Email;
use accord::wire::AuditEntry;
use saphyr::{LoadableYamlNode, Yaml};
use serde_json::{Value, json};

use crate::common::{TestConfig, accord};
use crate::process::{
    accord_child, assert_one_waited_then_found_nothing, onboarding, planned_operations, text,
    wait_both,
};

mod edges;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A token unlike anything else in any output, so a leak is found by a plain search.
fn secret(kind: &str) -> String {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{kind}-SECRET-{}-{n}-Zq7xW", std::process::id())
}

/// A directory with a tokens file (a write token `ci`, a read token `dash`), the
/// store, the run journals and the server logs.
struct Place {
    dir: tempfile::TempDir,
    write: String,
    read: String,
}

impl Place {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (write, read) = (secret("write"), secret("read"));
        std::fs::write(
            dir.path().join("tokens"),
            format!("# test tokens\nwrite {write} ci\nread {read} dash\n"),
        )
        .expect("tokens");
        Self { dir, write, read }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts `accord serve` on the store, on `listen`, logging to `log`.
    fn serve(&self, listen: &str, log: &str, extra: &[&str]) -> Server {
        let log = self.path(log);
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("accord"))
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "debug")
            .args(["serve", "--listen", listen, "--db"])
            .arg(self.path("state.db"))
            .arg("--tokens")
            .arg(self.path("tokens"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn accord serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let mut reader = BufReader::new(stdout);
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep the pipe open (and drained) while the server lives.
            let mut rest = String::new();
            while reader.read_line(&mut rest).is_ok_and(|n| n > 0) {
                rest.clear();
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("accord serve printed its address");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Server { child, url, log }
    }

    /// `accord ARGS` with the write token and the backend at `url`.
    fn run(&self, url: &str, token: &str, args: &[&str]) -> Output {
        let mut cmd = accord();
        cmd.args(args)
            .args(["--backend", url])
            .env("ACCORD_TOKEN", token);
        if args.first() == Some(&"apply") {
            cmd.arg("--runs-dir").arg(self.path("runs"));
        }
        cmd.output().expect("run accord")
    }

    /// The same as a child process, to run two at once.
    fn spawn(&self, url: &str, args: &[&str]) -> Child {
        accord_child()
            .env("ACCORD_TOKEN", &self.write)
            .args(args)
            .args(["--backend", url, "--runs-dir"])
            .arg(self.path("runs"))
            .spawn()
            .expect("spawn accord")
    }
}

/// A running `accord serve`; killed when dropped.
struct Server {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Server {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn port(&self) -> &str {
        self.url.rsplit(':').next().unwrap_or_default()
    }

    /// SIGTERM; answers the exit code and how long it took to stop.
    fn terminate(mut self) -> (Option<i32>, Duration) {
        let started = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        let deadline = started + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status.code(), started.elapsed());
            }
            assert!(
                Instant::now() < deadline,
                "accord serve did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGKILL (this process's own child, by its handle).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn both_outputs(output: &Output) -> String {
    format!("{}\n{}", text(&output.stdout), text(&output.stderr))
}

/// `op target` of each operation `accord plan --format json` lists.
fn planned(place: &Place, url: &str, config: &Path) -> Vec<String> {
    let output = place.run(
        url,
        &place.read,
        &["plan", config.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", both_outputs(&output));
    planned_operations(&output.stdout)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The service's audit log, through the `http` backend.
fn audit(url: &str, token: &str) -> Vec<AuditEntry> {
    runtime().block_on(async {
        let backend = HttpBackend::connect(url, token).await.expect("connect");
        backend.audit().await.expect("audit")
    })
}

/// `op target` -> how many times the audit log records it (the account's own entries left out).
fn audit_counts(entries: &[AuditEntry]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for entry in entries.iter().filter(|e| !e.op.starts_with("account.")) {
        *counts
            .entry(format!("{} {}", entry.op, entry.target))
            .or_default() += 1;
    }
    counts
}

/// Every planned operation is in the audit log exactly once, and nothing else is.
fn assert_each_once(planned: &[String], entries: &[AuditEntry]) {
    let counts = audit_counts(entries);
    let expected: BTreeMap<String, usize> = planned.iter().map(|op| (op.clone(), 1)).collect();
    assert_eq!(counts, expected, "audit log against the plan");
}

/// A raw request with `token` (None: no Authorization header).
fn request(
    method: &str,
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    runtime().block_on(async {
        let client = reqwest::Client::new();
        let mut req = client.request(method.parse().unwrap(), url);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body);
        }
        let response = req.send().await.expect("send");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, headers, value)
    })
}

#[test]
fn over_http_validate_plan_apply_then_plan_finds_nothing_and_sigterm_stops_cleanly() {
    let place = Place::new();
    let server = place.serve("127.0.0.1:0", "serve.log", &[]);
    let config = onboarding(12);
    let path = config.path().to_str().unwrap();
    let mut outputs = Vec::new();

    let validate = accord().args(["validate", path]).output().unwrap();
    assert_eq!(
        validate.status.code(),
        Some(0),
        "{}",
        both_outputs(&validate)
    );

    let plan = place.run(
        &server.url,
        &place.read,
        &["plan", path, "--detailed-exitcode"],
    );
    assert_eq!(plan.status.code(), Some(2), "{}", both_outputs(&plan));
    assert!(
        text(&plan.stdout).contains("Plan: 45 to add, 0 to change, 0 to remove."),
        "{}",
        text(&plan.stdout)
    );
    let ops = planned(&place, &server.url, config.path());
    assert_eq!(ops.len(), 45);

    let apply = place.run(
        &server.url,
        &place.write,
        &["apply", path, "--auto-approve"],
    );
    assert_eq!(apply.status.code(), Some(0), "{}", both_outputs(&apply));
    assert!(
        text(&apply.stdout).contains("Apply complete: 45 operations: 45 done."),
        "{}",
        text(&apply.stdout)
    );
    assert!(text(&apply.stdout).contains("Verified: the account matches the configuration"));

    let again = place.run(
        &server.url,
        &place.read,
        &["plan", path, "--detailed-exitcode"],
    );
    assert_eq!(again.status.code(), Some(0), "{}", both_outputs(&again));
    assert!(
        text(&again.stdout).contains("No changes."),
        "{}",
        text(&again.stdout)
    );

    // Every change is in the audit log once, made by the write token's name.
    let entries = audit(&server.url, &place.read);
    assert_each_once(&ops, &entries);
    assert!(
        entries.iter().all(|e| e.actor.as_deref() == Some("ci")),
        "{entries:?}"
    );
    assert_eq!(entries[0].op, "account.create");

    // Alice accepts her invitation through the service: recorded, with who did it.
    let answers = runtime().block_on(async {
        let backend = HttpBackend::connect(&server.url, &place.write)
            .await
            .unwrap();
        let mut answers = Vec::new();
        for email in [
            "alice@acme.example",
            "alice@acme.example",
            "nobody@acme.example",
        ] {
            answers.push(backend.accept_invitation(&Email::new(email)).await.unwrap());
        }
        answers
    });
    assert_eq!(answers[..2], [Outcome::Done, Outcome::AlreadySo]);
    assert!(
        matches!(&answers[2], Outcome::Refused { reason, .. } if reason.contains("not a member")),
        "{answers:?}"
    );
    let last = audit(&server.url, &place.read).pop().unwrap();
    assert_eq!(
        (
            last.op.as_str(),
            last.target.as_str(),
            last.actor.as_deref()
        ),
        ("member.accept_invitation", "alice@acme.example", Some("ci"))
    );

    // Export over HTTP gives a configuration that plans to no change.
    let export = place.run(&server.url, &place.read, &["export"]);
    assert_eq!(export.status.code(), Some(0), "{}", both_outputs(&export));
    let exported = TestConfig::with(&text(&export.stdout));
    let replan = place.run(
        &server.url,
        &place.read,
        &[
            "plan",
            exported.path().to_str().unwrap(),
            "--detailed-exitcode",
        ],
    );
    assert_eq!(replan.status.code(), Some(0), "{}", both_outputs(&replan));
    outputs.extend([validate, plan, apply, again, export, replan]);

    // One log line per request, with status and duration, naming the caller.
    let log = server.log();
    assert!(
        log.lines().any(|l| l.contains("request")
            && l.contains("method=POST")
            && l.contains("route=\"/v1/operations\"")
            && l.contains("status=200")
            && l.contains("ms=")
            && l.contains("who=\"ci\"")),
        "{log}"
    );
    let (code, took) = server.terminate();
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(5), "{took:?}");
    let log = std::fs::read_to_string(place.path("serve.log")).unwrap();
    assert!(log.contains("SIGTERM: stopping"), "{log}");
    assert!(log.contains("accord serve stopped"), "{log}");
    for output in &outputs {
        let all = both_outputs(output);
        assert!(
            !all.contains(&place.write) && !all.contains(&place.read),
            "token leaked: {all}"
        );
    }
    assert!(
        !log.contains(&place.write) && !log.contains(&place.read),
        "token in the log"
    );
}

#[test]
fn with_faults_and_a_rate_limit_apply_converges_and_the_audit_log_shows_each_change_once() {
    let place = Place::new();
    let server = place.serve(
        "127.0.0.1:0",
        "serve.log",
        &[
            "--inject-faults",
            "0.2",
            "--fault-seed",
            "7",
            "--rate-limit",
            "40",
        ],
    );
    let config = onboarding(150);
    let path = config.path().to_str().unwrap();
    let ops = planned(&place, &server.url, config.path());
    assert_eq!(ops.len(), 9 + 3 * 150);

    let apply = place.run(
        &server.url,
        &place.write,
        &["apply", path, "--auto-approve"],
    );
    assert_eq!(apply.status.code(), Some(0), "{}", both_outputs(&apply));
    let stdout = text(&apply.stdout);
    assert!(
        stdout.contains("Apply complete: 459 operations: 459 done."),
        "{stdout}"
    );
    assert!(
        stdout.contains("Verified: the account matches the configuration"),
        "{stdout}"
    );

    let again = place.run(
        &server.url,
        &place.read,
        &["plan", path, "--detailed-exitcode"],
    );
    assert_eq!(again.status.code(), Some(0), "{}", both_outputs(&again));
    assert_each_once(&ops, &audit(&server.url, &place.read));

    let log = server.log();
    if std::env::var_os("ACCORD_TEST_VERBOSE").is_some() {
        let lines = log
            .lines()
            .filter(|l| l.contains("fault") || l.contains("replayed"));
        eprintln!(
            "{}\n{}",
            lines.collect::<Vec<_>>().join("\n"),
            text(&apply.stderr)
        );
    }
    let injected = log.matches("injected fault").count();
    assert!(injected >= 3, "only {injected} faults injected:\n{log}");
    assert!(
        log.contains("when=After"),
        "no fault after a commit:\n{log}"
    );
    // A batch whose answer was lost after its commit is sent again by the executor
    // with the same key, and answered from the record: at least one replay each.
    let lost_after_commit = log
        .lines()
        .filter(|l| {
            l.contains("injected fault") && l.contains("when=After") && l.contains("/v1/operations")
        })
        .count();
    let replayed = log
        .lines()
        .filter(|l| l.contains("replayed the recorded answer") && l.contains("key=\"batch-"))
        .count();
    assert!(
        replayed >= lost_after_commit,
        "{lost_after_commit} batches lost after commit, {replayed} replays:\n{log}"
    );
    assert!(log.contains("FAULT INJECTION IS ON"), "{log}");
}

#[test]
fn a_batch_sent_again_with_its_key_is_answered_from_the_record_not_done_twice() {
    let place = Place::new();
    let server = place.serve("127.0.0.1:0", "serve.log", &[]);
    let url = format!("{}/v1/operations", server.url);
    let batch = |name: &str| {
        serde_json::to_vec(
            &json!({ "operations": [{ "op": "company.create", "name": name, "trade": null }] }),
        )
        .unwrap()
    };
    let key = [("idempotency-key", "batch-1")];
    let (status, headers, first) =
        request("POST", &url, Some(&place.write), &key, Some(batch("ACME")));
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["outcomes"], json!([{ "outcome": "done" }]));
    assert_eq!(headers["etag"], "\"1\"");
    assert!(headers.get("idempotent-replayed").is_none());

    // The same request with the same key: the recorded answer, marked as a replay.
    let (status, headers, replay) =
        request("POST", &url, Some(&place.write), &key, Some(batch("ACME")));
    assert_eq!((status, &replay), (200, &first));
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(headers["etag"], "\"1\"");

    // The same key for another request is refused; without a key the store answers
    // `already_so`, and the revision stays.
    let (status, _, body) = request("POST", &url, Some(&place.write), &key, Some(batch("Other")));
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    let (status, headers, body) =
        request("POST", &url, Some(&place.write), &[], Some(batch("ACME")));
    assert_eq!(status, 200);
    assert_eq!(body["outcomes"], json!([{ "outcome": "already_so" }]));
    assert_eq!(headers["etag"], "\"1\"");

    // If-Match with a revision the account has left: 412, nothing done.
    let stale = [("if-match", "\"0\"")];
    let (status, _, body) = request(
        "POST",
        &url,
        Some(&place.write),
        &stale,
        Some(batch("Late")),
    );
    assert_eq!(status, 412, "{body}");
    assert_eq!(body["code"], "stale");
    assert_eq!(body["details"], json!({ "expected": 0, "found": 1 }));
    let error = runtime().block_on(async {
        let backend = HttpBackend::connect(&server.url, &place.write)
            .await
            .unwrap();
        let op = Op::CompanyCreate {
            name: "Late".into(),
            trade: None,
        };
        backend.execute_at(&[op], 0).await.unwrap_err()
    });
    assert!(
        matches!(
            error,
            BackendError::Stale {
                expected: 0,
                found: 1
            }
        ),
        "{error}"
    );
    assert!(
        error.to_string().contains("the account changed since"),
        "{error}"
    );

    let entries = audit(&server.url, &place.read);
    let creates: Vec<&str> = entries.iter().map(|e| e.target.as_str()).collect();
    assert_eq!(creates, ["ACME"]);
    assert_eq!(entries[0].actor.as_deref(), Some("ci"));
}

#[test]
fn auth_limits_and_errors_say_what_to_do_and_never_show_the_token() {
    let place = Place::new();
    let server = place.serve(
        "127.0.0.1:0",
        "serve.log",
        &["--max-body", "64KiB", "--rate-limit", "5"],
    );
    let members = format!("{}/v1/members", server.url);
    let operations = format!("{}/v1/operations", server.url);
    let empty = Some(b"{\"operations\":[]}".to_vec());

    let (status, headers, body) = request("GET", &members, None, &[], None);
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let (status, _, body) = request("GET", &members, Some("not-a-token"), &[], None);
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("ACCORD_TOKEN"));
    let (status, _, body) = request("POST", &operations, Some(&place.read), &[], empty.clone());
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    let (status, _, body) = request("POST", &operations, Some(&place.write), &[], empty);
    assert_eq!(status, 200, "{body}");
    let big = format!(
        "{{\"operations\":[],\"pad\":\"{}\"}}",
        "x".repeat(100 * 1024)
    );
    let (status, _, body) = request(
        "POST",
        &operations,
        Some(&place.write),
        &[],
        Some(big.into_bytes()),
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("body_too_large")),
        "{body}"
    );
    assert_eq!(body["details"]["limit_bytes"], 64 * 1024);
    let (status, _, body) = request(
        "GET",
        &format!("{members}?limit=500"),
        Some(&place.read),
        &[],
        None,
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_limit")),
        "{body}"
    );

    // Over 5 requests a second with one token: 429 with Retry-After and the exact wait.
    let mut limited = None;
    for _ in 0..12 {
        let (status, headers, body) = request("GET", &members, Some(&place.read), &[], None);
        if status == 429 {
            limited = Some((headers, body));
            break;
        }
    }
    let (headers, body) = limited.expect("a 429 within 12 quick requests");
    assert_eq!(body["code"], "rate_limited");
    assert!(
        headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert!(
        body["details"]["retry_after_ms"].as_u64().unwrap() <= 200,
        "{body}"
    );
    std::thread::sleep(Duration::from_millis(1_100));

    // Through the command line, each failure says what to do.
    let config = onboarding(2);
    let path = config.path().to_str().unwrap();
    let bad = place.run(&server.url, "not-a-token", &["plan", path]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("check ACCORD_TOKEN"),
        "{}",
        both_outputs(&bad)
    );
    assert_eq!(
        text(&bad.stderr).matches("check ACCORD_TOKEN").count(),
        1,
        "said once: {}",
        both_outputs(&bad)
    );
    let read_only = place.run(&server.url, &place.read, &["apply", path, "--auto-approve"]);
    assert_eq!(read_only.status.code(), Some(1));
    assert!(
        text(&read_only.stderr).contains("this token can only read"),
        "{}",
        both_outputs(&read_only)
    );
    let unset = accord()
        .args(["plan", path, "--backend", &server.url])
        .output()
        .unwrap();
    assert_eq!(unset.status.code(), Some(1));
    assert!(
        text(&unset.stderr).contains("ACCORD_TOKEN is not set"),
        "{}",
        both_outputs(&unset)
    );
    let closed = place.run("http://127.0.0.1:9", &place.write, &["plan", path]);
    assert_eq!(closed.status.code(), Some(1));
    assert!(
        text(&closed.stderr).contains("is `accord serve` running at http://127.0.0.1:9?"),
        "{}",
        both_outputs(&closed)
    );
    for output in [&bad, &read_only, &unset, &closed] {
        let all = both_outputs(output);
        assert!(
            !all.contains(&place.write) && !all.contains(&place.read),
            "token leaked: {all}"
        );
    }
    let log = server.log();
    assert!(log.contains("status=401") && log.contains("status=403") && log.contains("status=413"));
    assert!(
        !log.contains(&place.write) && !log.contains(&place.read),
        "token in the log:\n{log}"
    );
}

#[test]
fn two_applies_from_two_processes_at_once_one_waits_and_nothing_is_done_twice() {
    let place = Place::new();
    let server = place.serve("127.0.0.1:0", "serve.log", &[]);
    let config = onboarding(100);
    let path = config.path().to_str().unwrap();
    let ops = planned(&place, &server.url, config.path());
    let args = [
        "apply",
        path,
        "--auto-approve",
        "--max-rate",
        "20",
        "--lock-timeout",
        "60s",
    ];
    let first = place.spawn(&server.url, &args);
    let second = place.spawn(&server.url, &args);
    let outputs = wait_both(first, second);
    for output in &outputs {
        assert_eq!(output.status.code(), Some(0), "{}", both_outputs(output));
    }
    assert_one_waited_then_found_nothing(&outputs);
    assert_each_once(&ops, &audit(&server.url, &place.read));
}

#[test]
fn sigkill_of_the_server_mid_apply_then_restart_and_apply_again_converges() {
    let place = Place::new();
    let server = place.serve("127.0.0.1:0", "first.log", &[]);
    let config = onboarding(300);
    let path = config.path().to_str().unwrap();
    let ops = planned(&place, &server.url, config.path());
    // Slow enough (5 calls a second) to be killed in the middle.
    let apply = place.spawn(
        &server.url,
        &["apply", path, "--auto-approve", "--max-rate", "5"],
    );
    // Read its output as it comes (a full pipe would block it).
    let apply = std::thread::spawn(move || apply.wait_with_output().expect("wait"));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let changes = audit(&server.url, &place.read).len();
        if changes > 150 {
            break;
        }
        if apply.is_finished() {
            let output = apply.join().expect("apply");
            panic!("the apply ended before the kill: {}", both_outputs(&output));
        }
        assert!(
            Instant::now() < deadline,
            "the apply made no progress ({changes} changes)"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (url, port) = (server.url.clone(), server.port().to_owned());
    drop(server); // SIGKILL, mid-apply
    // Down for a while: the apply's calls meet refused connections and back off.
    std::thread::sleep(Duration::from_millis(800));
    let restarted = place.serve(&format!("127.0.0.1:{port}"), "second.log", &[]);
    assert_eq!(restarted.url, url);
    // The interrupted apply either rides out the restart (it retries) or stops; then a
    // second apply finishes the work and a plan finds nothing.
    let first = apply.join().expect("apply");
    if std::env::var_os("ACCORD_TEST_VERBOSE").is_some() {
        eprintln!("{}", text(&first.stderr));
    }
    assert!(
        matches!(first.status.code(), Some(0 | 1)),
        "{}",
        both_outputs(&first)
    );
    let again = place.run(
        &url,
        &place.write,
        &["apply", path, "--auto-approve", "--lock-timeout", "60s"],
    );
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}\n{}",
        both_outputs(&first),
        both_outputs(&again)
    );
    let plan = place.run(&url, &place.read, &["plan", path, "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", both_outputs(&plan));
    assert_each_once(&ops, &audit(&url, &place.read));
}

/// `(METHOD, path)` of every operation in schemas/openapi.yaml.
fn spec_routes() -> BTreeSet<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/openapi.yaml");
    let text = std::fs::read_to_string(path).expect("schemas/openapi.yaml");
    let docs = Yaml::load_from_str(&text).expect("the spec is YAML");
    let paths = docs[0]
        .as_mapping_get("paths")
        .and_then(Yaml::as_mapping)
        .expect("paths");
    let mut routes = BTreeSet::new();
    for (path, item) in paths {
        let item = item.as_mapping().expect("a path item");
        for method in item.keys() {
            let method = method.as_str().expect("a method");
            if ["get", "put", "post", "delete", "patch", "head", "options"].contains(&method) {
                routes.insert((
                    method.to_uppercase(),
                    path.as_str().expect("a path").to_owned(),
                ));
            }
        }
    }
    routes
}

#[test]
fn the_openapi_spec_describes_exactly_the_routes_the_service_serves() {
    let spec = spec_routes();
    let served: BTreeSet<(String, String)> = accord::service::routes()
        .into_iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    let missing: Vec<_> = served.difference(&spec).collect();
    let extra: Vec<_> = spec.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "served but not in schemas/openapi.yaml: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "in schemas/openapi.yaml but not served: {extra:?}"
    );

    // And the running server answers every path of the spec (not `no_route`, not 405),
    // while an unknown one is `no_route`.
    let place = Place::new();
    let server = place.serve("127.0.0.1:0", "serve.log", &[]);
    for (method, path) in &spec {
        let url = format!(
            "{}{}",
            server.url,
            path.replace("{email}", "nobody@acme.example")
        );
        let body = (method != "GET").then(|| b"{}".to_vec());
        let (status, _, answer) = request(method, &url, Some(&place.write), &[], body);
        assert!(
            status != 405 && answer["code"] != "no_route",
            "{method} {path}: {status} {answer}"
        );
    }
    let (status, _, answer) = request(
        "GET",
        &format!("{}/v1/nothing", server.url),
        Some(&place.write),
        &[],
        None,
    );
    assert_eq!((status, answer["code"].as_str()), (404, Some("no_route")));
    let (status, _, answer) = request(
        "DELETE",
        &format!("{}/v1/members", server.url),
        Some(&place.write),
        &[],
        None,
    );
    assert_eq!(
        (status, answer["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
}

#[test]
fn the_http_backend_reads_what_the_store_holds_across_many_pages() {
    let place = Place::new();
    let server = place.serve("127.0.0.1:0", "serve.log", &[]);
    let config = onboarding(450); // 451 members, 450 seats, 450 project members: 3 pages each
    let path = config.path().to_str().unwrap();
    let apply = place.run(
        &server.url,
        &place.write,
        &["apply", path, "--auto-approve"],
    );
    assert_eq!(apply.status.code(), Some(0), "{}", both_outputs(&apply));
    let (over_http, pages) = runtime().block_on(async {
        let backend = HttpBackend::connect(&server.url, &place.read)
            .await
            .unwrap();
        let (snapshot, stats) = backend.fetch_with_stats().await.unwrap();
        (snapshot, stats.pages)
    });
    drop(server);
    let direct = runtime().block_on(async {
        let store = accord::backend::SqliteBackend::open(
            place.path("state.db"),
            std::sync::Arc::new(accord::backend::SystemClock),
        )
        .await
        .unwrap();
        store.fetch().await.unwrap()
    });
    assert_eq!(over_http.state, direct.state);
    assert_eq!(over_http.revision, direct.revision);
    // members 3, seats 3, project members 3, and one page of each of the other seven
    // (teams among them).
    assert_eq!(pages, 16);
}

/// Over the service: a member declared inactive who is not in the account is added
/// inactive in one operation, never invited; the converged apply is in the audit log
/// (`account.applied`, by the token), and a later change by another token is drift.
#[test]
fn over_http_an_inactive_newcomer_is_added_inactive_and_the_apply_is_recorded() {
    let place = Place::new();
    let server = place.serve("127.0.0.1:0", "serve.log", &[]);
    let config = onboarding(2);
    let people = std::fs::read_to_string(config.join("accord.yaml")).unwrap();
    let people = people.replace(
        "  - { email: m001@acme.example, company: ACME, role: Architect }",
        "  - { email: m001@acme.example, company: ACME, role: Architect, status: inactive }",
    );
    // An inactive member holds nothing (R07): take m001 off the seats and projects.
    let people = people
        .replace("assigned: [m000@acme.example, m001@acme.example]", "assigned: [m000@acme.example]")
        .replace(
            "    members:\n      - { email: m001@acme.example, access: member, products: [docs] }\n",
            "    members: []\n",
        );
    let config = crate::common::TestConfig::with(&people);
    let path = config.path().to_str().unwrap();
    let plan = place.run(
        &server.url,
        &place.read,
        &["plan", path, "--format", "json"],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", both_outputs(&plan));
    let json: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let m001: Vec<&serde_json::Value> = json["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["target"].as_str().is_some_and(|t| t.contains("m001@")))
        .collect();
    assert_eq!(m001.len(), 1, "{m001:#?}");
    assert_eq!(m001[0]["op"], "member.invite");
    assert_eq!(m001[0]["inactive"], true);
    assert_eq!(m001[0]["invitation"], "none");
    let apply = place.run(
        &server.url,
        &place.write,
        &["apply", path, "--auto-approve"],
    );
    assert_eq!(apply.status.code(), Some(0), "{}", both_outputs(&apply));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (member, audit) = runtime.block_on(async {
        let backend = accord::backend::http::HttpBackend::connect(&server.url, &place.read)
            .await
            .unwrap();
        let state = accord::backend::Backend::fetch(&backend)
            .await
            .unwrap()
            .state;
        let member = state.members[&accord::state::Email::new("m001@acme.example")].clone();
        (member, backend.audit().await.unwrap())
    });
    assert_eq!(member.status, accord::state::MemberStatus::Inactive);
    assert_eq!(member.invited_at, None);
    let last = audit.last().unwrap();
    assert_eq!(last.op, "account.applied");
    assert!(last.actor.is_some(), "{last:?}");
    let again = place.run(
        &server.url,
        &place.read,
        &["plan", path, "--detailed-exitcode"],
    );
    assert_eq!(again.status.code(), Some(0), "{}", both_outputs(&again));
}

#[test]
fn over_http_with_faults_the_examples_teams_apply_once_and_converge() {
    // The shipped example (classic agreements and a team) on a fresh account
    // service that fails a fifth of its requests, before or after carrying them out.
    let place = Place::new();
    let server = place.serve(
        "127.0.0.1:0",
        "serve.log",
        &["--inject-faults", "0.2", "--fault-seed", "11"],
    );
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme");
    let ops = planned(&place, &server.url, &example);
    assert!(
        ops.iter().any(|op| op.starts_with("team.create "))
            && ops.iter().any(|op| op.starts_with("team_seat.assign ")),
        "the example plans its team: {ops:?}"
    );
    let path = example.to_str().unwrap();
    let apply = place.run(
        &server.url,
        &place.write,
        &["apply", path, "--auto-approve"],
    );
    assert_eq!(apply.status.code(), Some(0), "{}", both_outputs(&apply));
    let again = place.run(
        &server.url,
        &place.read,
        &["plan", path, "--detailed-exitcode"],
    );
    assert_eq!(again.status.code(), Some(0), "{}", both_outputs(&again));
    assert_each_once(&ops, &audit(&server.url, &place.read));
    let injected = server.log().matches("injected fault").count();
    assert!(injected >= 3, "only {injected} faults injected");
}
