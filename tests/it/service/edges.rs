//! The service's edges (issue 14): connections that send nothing, too many
//! connections, a client trickling its request at shutdown, strings that break
//! validate's rules, and the tokens file.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Place, request};

fn address(url: &str) -> String {
    url.trim_start_matches("http://").to_owned()
}

/// Reads from `stream` until it closes or `limit` passes; whether it closed,
/// and what was read.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (bool, String) {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let started = Instant::now();
    let mut read = Vec::new();
    let mut buffer = [0u8; 1024];
    while started.elapsed() < limit {
        match stream.read(&mut buffer) {
            Ok(0) => return (true, String::from_utf8_lossy(&read).into_owned()),
            Ok(n) => read.extend_from_slice(&buffer[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return (true, String::from_utf8_lossy(&read).into_owned()),
        }
    }
    (false, String::from_utf8_lossy(&read).into_owned())
}

/// Issue 14, item 7: a connection that sent nothing stayed open past 120 s.
#[test]
fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let place = Place::new();
    let server = place.serve("127.0.0.1:0", "serve.log", &["--header-timeout", "1s"]);
    let mut silent = TcpStream::connect(address(&server.url)).expect("connect");
    let started = Instant::now();
    let (closed, _) = read_until_closed(&mut silent, Duration::from_secs(15));
    assert!(closed, "still open after 15 s");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // A real request is served as before.
    let (status, _, _) = request("GET", &format!("{}/v1/health", server.url), None, &[], None);
    assert_eq!(status, 200);
}

/// Issue 14, item 7: 400 idle connections exhausted a 300-descriptor limit so
/// that real requests timed out. Beyond `--max-connections` a connection is
/// answered 503 at once; once the idle ones go, requests are served.
#[test]
fn connections_beyond_the_cap_are_answered_503_at_once_and_service_resumes() {
    let place = Place::new();
    let server = place.serve(
        "127.0.0.1:0",
        "serve.log",
        &["--max-connections", "3", "--header-timeout", "60s"],
    );
    let idle: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(address(&server.url)).expect("connect"))
        .collect();
    // Let the server take the three before the fourth comes.
    std::thread::sleep(Duration::from_millis(300));
    let mut extra = TcpStream::connect(address(&server.url)).expect("connect");
    let _ = extra.write_all(b"GET /v1/health HTTP/1.1\r\nhost: x\r\n\r\n");
    let started = Instant::now();
    let (closed, answer) = read_until_closed(&mut extra, Duration::from_secs(10));
    assert!(closed && answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    assert!(answer.contains("too_many_connections"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut probe = TcpStream::connect(address(&server.url)).expect("connect");
        let _ = probe.write_all(b"GET /v1/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
        let (_, answer) = read_until_closed(&mut probe, Duration::from_secs(5));
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "not served again: {answer:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        server.log().contains("too many connections"),
        "{}",
        server.log()
    );
}

/// Issue 14, item 7: SIGTERM waited 50 s for a trickling client; shutdown now
/// waits at most `--shutdown-timeout`.
#[test]
fn sigterm_with_a_trickling_client_stops_within_the_shutdown_timeout() {
    let place = Place::new();
    let server = place.serve(
        "127.0.0.1:0",
        "serve.log",
        &["--shutdown-timeout", "1s", "--header-timeout", "60s"],
    );
    let mut slow = TcpStream::connect(address(&server.url)).expect("connect");
    slow.write_all(b"GET /v1/health HTTP/1.1\r\n")
        .expect("write");
    let trickle = std::thread::spawn(move || {
        for _ in 0..300 {
            if slow.write_all(b"x").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    let (code, took) = server.terminate();
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(6), "{took:?}");
    drop(trickle);
}

/// Issue 14, item 8: `member.invite` with "not an email", a NUL or ANSI escape
/// sequences was "done", and `export` then wrote files that fail R01.
#[test]
fn writes_with_strings_validate_refuses_are_refused_and_the_rest_is_done() {
    let place = Place::new();
    let server = place.serve("127.0.0.1:0", "serve.log", &[]);
    let account = |name: &str| {
        request(
            "PUT",
            &format!("{}/v1/account", server.url),
            Some(&place.write),
            &[],
            Some(serde_json::to_vec(&json!({ "id": "acme-eu", "name": name })).expect("json")),
        )
    };
    let (status, _, answer) = account("ACME\u{1b}[2J");
    assert_eq!(status, 422, "{answer}");
    assert!(answer.to_string().contains("U+001B"), "{answer}");
    let (status, _, answer) = account("ACME Architects");
    assert_eq!(status, 200, "{answer}");
    let body = json!({ "operations": [
        { "op": "member.invite", "email": "not an email", "record": {} },
        { "op": "company.create", "name": "Nul\u{0}Corp", "trade": null },
        { "op": "company.create", "name": "Esc\u{1b}[2JCorp", "trade": null },
        { "op": "company.create", "name": "Fine Corp", "trade": null },
        { "op": "company.create", "name": "", "trade": null },
        { "op": "team.create", "team": "", "name": "Team", "seats": {} },
        { "op": "project.create", "name": "Tab\tTower", "products": [] },
    ]});
    let (status, _, answer) = request(
        "POST",
        &format!("{}/v1/operations", server.url),
        Some(&place.write),
        &[],
        Some(serde_json::to_vec(&body).expect("json")),
    );
    assert_eq!(status, 200, "{answer}");
    let outcomes = answer["outcomes"].as_array().expect("outcomes");
    assert_eq!(outcomes.len(), 7, "{answer}");
    let text = |i: usize| outcomes[i].to_string();
    assert!(
        text(0).contains("refused") && text(0).contains("R01"),
        "{}",
        text(0)
    );
    assert!(
        text(0).contains("not a valid e-mail address"),
        "{}",
        text(0)
    );
    assert!(
        text(1).contains("refused") && text(1).contains("U+0000"),
        "{}",
        text(1)
    );
    assert!(
        text(2).contains("refused") && text(2).contains("U+001B"),
        "{}",
        text(2)
    );
    assert!(text(3).contains("done"), "{}", text(3));
    // `validate`'s schema gives a name, a number and a team id one character at least.
    assert!(
        text(4).contains("refused") && text(4).contains("`name` is empty"),
        "{}",
        text(4)
    );
    assert!(
        text(5).contains("refused") && text(5).contains("`team` is empty"),
        "{}",
        text(5)
    );
    assert!(
        text(6).contains("refused") && text(6).contains("U+0009"),
        "{}",
        text(6)
    );
    // What is stored exports to files that validate.
    let out = place.path("exported");
    let export = place.run(
        &server.url,
        &place.read,
        &["export", "--out", out.to_str().unwrap()],
    );
    assert_eq!(
        export.status.code(),
        Some(0),
        "{}",
        super::both_outputs(&export)
    );
    let exported = std::fs::read_dir(&out)
        .expect("files")
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect::<String>();
    assert!(exported.contains("Fine Corp"), "{exported}");
    assert!(
        !exported.contains("not an email") && !exported.contains("Nul"),
        "{exported}"
    );
}

/// Issue 14, item 10: no warning for a tokens file readable by others.
#[test]
fn serve_warns_when_the_tokens_file_is_readable_by_others() {
    use std::os::unix::fs::PermissionsExt;
    let place = Place::new();
    let tokens = place.path("tokens");
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let server = place.serve("127.0.0.1:0", "open.log", &[]);
    let log = server.log();
    assert!(log.contains("can be read by other users"), "{log}");
    assert!(log.contains("chmod 600"), "{log}");
    drop(server);
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let server = place.serve("127.0.0.1:0", "closed.log", &[]);
    assert!(
        !server.log().contains("can be read by other users"),
        "{}",
        server.log()
    );
}

/// Issue 14, item 10: a non-ASCII token was reported as "no bearer token".
#[test]
fn a_non_ascii_token_is_reported_as_such_not_as_missing() {
    let place = Place::new();
    let server = place.serve("127.0.0.1:0", "serve.log", &[]);
    let mut stream = TcpStream::connect(address(&server.url)).expect("connect");
    let mut head = b"GET /v1/members HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: Bearer caf\xc3\xa9-token\r\n\r\n".to_vec();
    stream.write_all(&head).expect("write");
    head.clear();
    let (_, answer) = read_until_closed(&mut stream, Duration::from_secs(10));
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("other than visible ASCII"), "{answer}");
    assert!(!answer.contains("no bearer token"), "{answer}");
}

/// The status codes `schemas/openapi.yaml` documents for `method path`.
fn documented(method: &str, path: &str) -> Vec<String> {
    use saphyr::{LoadableYamlNode, Yaml};
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/openapi.yaml");
    let text = std::fs::read_to_string(file).expect("schemas/openapi.yaml");
    let docs = Yaml::load_from_str(&text).expect("the spec is YAML");
    let responses = docs[0]
        .as_mapping_get("paths")
        .and_then(|p| p.as_mapping_get(path))
        .and_then(|p| p.as_mapping_get(method))
        .and_then(|o| o.as_mapping_get("responses"))
        .and_then(Yaml::as_mapping)
        .unwrap_or_else(|| panic!("{method} {path} in the spec"));
    responses
        .keys()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect()
}

/// Issue 14, item 9: Schemathesis found undocumented 400, 415 and 422 answers
/// (lock, lock renew and release, accept-invitation, account writes, a reused
/// idempotency key). Each answer here must be one the spec lists.
#[test]
fn the_openapi_file_documents_the_refusals_the_service_answers() {
    let place = Place::new();
    let server = place.serve("127.0.0.1:0", "serve.log", &[]);
    let call = |method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>| {
        let url = format!("{}{path}", server.url);
        runtime_status(method, &url, &place.write, headers, body)
    };
    let lease = r#"{"lease":{"holder":"h","token":"t","since":0,"expires":0,"ttl_secs":1}}"#;
    let cases: Vec<(&str, &str, u16)> = vec![
        (
            "post",
            "/v1/lock",
            call(
                "POST",
                "/v1/lock",
                &[("content-type", "text/plain")],
                Some("x"),
            ),
        ),
        (
            "post",
            "/v1/lock/renew",
            call(
                "POST",
                "/v1/lock/renew",
                &[("idempotency-key", "caf\u{e9}")],
                Some(lease),
            ),
        ),
        (
            "post",
            "/v1/lock/release",
            call(
                "POST",
                "/v1/lock/release",
                &[("idempotency-key", "a b")],
                Some(lease),
            ),
        ),
        (
            "put",
            "/v1/account",
            call(
                "PUT",
                "/v1/account",
                &[("if-match", "nope")],
                Some(r#"{"id":"a","name":"b"}"#),
            ),
        ),
        (
            "put",
            "/v1/account",
            call("PUT", "/v1/account", &[], Some(r#"{"id":"","name":"b"}"#)),
        ),
        (
            "post",
            "/v1/members/{email}/accept-invitation",
            call(
                "POST",
                "/v1/members/a@b.example/accept-invitation",
                &[("if-match", "W/12")],
                None,
            ),
        ),
        (
            "post",
            "/v1/operations",
            call(
                "POST",
                "/v1/operations",
                &[("content-type", "text/plain")],
                Some("x"),
            ),
        ),
    ];
    for (method, path, status) in cases {
        assert!((400..500).contains(&status), "{method} {path}: {status}");
        assert!(
            documented(method, path).contains(&status.to_string()),
            "{method} {path} answered {status}, not in the spec"
        );
    }
}

/// A raw request's status (headers as given, the body as text).
fn runtime_status(
    method: &str,
    url: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> u16 {
    super::runtime().block_on(async {
        let mut request = reqwest::Client::new()
            .request(method.parse().expect("a method"), url)
            .bearer_auth(token);
        if !headers.iter().any(|(n, _)| *n == "content-type") && body.is_some() {
            request = request.header("content-type", "application/json");
        }
        for (name, value) in headers {
            request = request.header(
                *name,
                reqwest::header::HeaderValue::from_bytes(value.as_bytes()).expect("a header"),
            );
        }
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        request.send().await.expect("send").status().as_u16()
    })
}

/// Issue 14, item 9: Schemathesis's `positive_data_acceptance` found schema-valid
/// bodies the service refused: whole numbers written `60.0` (JSON Schema counts
/// them as integers) and names with a C1 control character that the spec did not
/// exclude. The service now takes the first, and the spec's `Name` pattern refuses
/// exactly the names the service refuses.
#[test]
fn schema_valid_bodies_are_taken_and_the_spec_refuses_the_names_the_service_refuses() {
    let place = Place::new();
    let server = place.serve("127.0.0.1:0", "serve.log", &[]);
    let call = |method: &str, path: &str, body: &str| {
        let url = format!("{}{path}", server.url);
        runtime_status(method, &url, &place.write, &[], Some(body))
    };
    assert_eq!(
        call("POST", "/v1/lock", r#"{"holder":"h","ttl_secs":60.0}"#),
        200
    );
    assert_eq!(call("POST", "/v1/applied", r#"{"revision":0.0}"#), 200);
    assert_eq!(
        call("POST", "/v1/lock", r#"{"holder":"h","ttl_secs":60.5}"#),
        422
    );
    // Past i64::MIN: read as -2^63 in floating point, still refused.
    let lease = |expires: &str| {
        format!(
            r#"{{"lease":{{"holder":"h","token":"t","since":0,"expires":{expires},"ttl_secs":1}}}}"#
        )
    };
    assert_eq!(
        call("POST", "/v1/lock/release", &lease("-9223372036854775809")),
        422
    );
    assert_eq!(call("POST", "/v1/lock/release", &lease("-1.0")), 204);
    // The spec allows `revision` alone.
    assert_eq!(call("POST", "/v1/applied", r#"{"revision":0,"x":1}"#), 422);

    let pattern = name_pattern();
    let spec_takes = |name: &str| {
        let schema = json!({ "type": "string", "pattern": pattern });
        jsonschema::is_valid(&schema, &json!(name))
    };
    for (name, valid) in [
        ("ACME Architects GmbH", true),
        ("Société Générale", true),
        ("a\u{85}b", false),
        ("a\u{1b}[2Kb", false),
        ("tab\there", false),
        ("evil\u{202e}txt", false),
        ("iso\u{2066}late", false),
    ] {
        assert_eq!(spec_takes(name), valid, "the spec's pattern on {name:?}");
        let body = json!({ "id": "acme", "name": name }).to_string();
        let status = call("PUT", "/v1/account", &body);
        assert_eq!(
            status == 200,
            valid,
            "{name:?}: the service answered {status}"
        );
    }
}

/// The `pattern` of `Name` in `schemas/openapi.yaml`.
fn name_pattern() -> String {
    use saphyr::{LoadableYamlNode, Yaml};
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/openapi.yaml");
    let text = std::fs::read_to_string(file).expect("schemas/openapi.yaml");
    let docs = Yaml::load_from_str(&text).expect("the spec is YAML");
    docs[0]
        .as_mapping_get("components")
        .and_then(|c| c.as_mapping_get("schemas"))
        .and_then(|s| s.as_mapping_get("Name"))
        .and_then(|n| n.as_mapping_get("pattern"))
        .and_then(Yaml::as_str)
        .expect("components.schemas.Name.pattern")
        .to_owned()
}
