//! Observability: `GET /metrics` (Prometheus text), `GET /ready`, and logs that carry the
//! request id and never a token (docs/OPERATIONS.md).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::sse::Sse;
use crate::harness::{on_postgres, Request, TestServer, ADMIN};

/// The samples of a scrape: `name{labels}` → value.
fn scrape(server: &TestServer) -> Vec<(String, f64)> {
    let response = server.send(Request::get("/metrics"));
    assert_eq!(response.status, 200, "{}", response.text());
    let content_type = response.content_type().unwrap_or_default().to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text();
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}

fn sample(samples: &[(String, f64)], name: &str) -> Option<f64> {
    samples.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
}

#[track_caller]
fn value(samples: &[(String, f64)], name: &str) -> f64 {
    sample(samples, name).unwrap_or_else(|| panic!("no sample {name} in {samples:?}"))
}

/// Scrapes until `name` has `want`, for at most five seconds.
#[track_caller]
fn wait_for(server: &TestServer, name: &str, want: f64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = sample(&scrape(server), name);
        if got == Some(want) {
            return;
        }
        assert!(Instant::now() < deadline, "{name} is {got:?}, not {want}");
        std::thread::yield_now();
    }
}

#[test]
fn metrics_count_requests_writes_conflicts_and_pokes() {
    let server = TestServer::strict();
    // Unauthenticated, like /health.
    let before = scrape(&server);
    assert_eq!(
        sample(&before, r#"eventodb_writes_total{namespace="default"}"#),
        None
    );

    let mut sse = Sse::open(
        server.addr(),
        "/subscribe?stream=m-1&position=0",
        Some(ADMIN),
    )
    .ready();
    for n in 0..3 {
        server.call(
            ADMIN,
            json!(["stream.write", "m-1", {"type": "T", "data": {"n": n}}]),
        );
    }
    for _ in 0..3 {
        sse.next_poke();
    }
    let conflict = server.rpc(
        ADMIN,
        &json!(["stream.write", "m-1", {"type": "T", "data": {}}, {"expectedVersion": 0}]),
    );
    conflict.assert_error(409, "STREAM_VERSION_CONFLICT");
    server.call(ADMIN, json!(["stream.get", "m-1"]));
    server
        .rpc_anon(&json!(["stream.get", "m-1"]))
        .assert_error(401, "AUTH_REQUIRED");

    let s = scrape(&server);
    let write_ok = r#"{method="stream.write",status="200"}"#;
    assert_eq!(
        value(&s, &format!("eventodb_rpc_requests_total{write_ok}")),
        3.0
    );
    assert_eq!(
        value(
            &s,
            r#"eventodb_rpc_requests_total{method="stream.write",status="409"}"#
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            r#"eventodb_rpc_requests_total{method="stream.get",status="200"}"#
        ),
        1.0
    );
    // Refused before the method was known.
    assert_eq!(
        value(
            &s,
            r#"eventodb_rpc_requests_total{method="unknown",status="401"}"#
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            &format!("eventodb_rpc_duration_seconds_count{write_ok}")
        ),
        3.0
    );
    assert!(value(&s, &format!("eventodb_rpc_duration_seconds_sum{write_ok}")) > 0.0);
    assert_eq!(
        value(&s, r#"eventodb_writes_total{namespace="default"}"#),
        3.0
    );
    assert_eq!(
        value(
            &s,
            r#"eventodb_version_conflicts_total{namespace="default"}"#
        ),
        1.0
    );
    assert_eq!(value(&s, "eventodb_sse_subscriptions"), 1.0);
    assert_eq!(value(&s, "eventodb_sse_pokes_total"), 3.0);
    assert_eq!(value(&s, "eventodb_sse_coalesced_pokes_total"), 0.0);
    assert!(value(&s, "eventodb_commit_batch_size_count") >= 1.0);
    assert!(
        value(&s, "eventodb_http_connections") >= 2.0,
        "SSE and scrape"
    );
    assert!(value(&s, "eventodb_storage_connections") >= 1.0);
    if on_postgres() {
        assert_eq!(value(&s, "eventodb_storage_pool_max"), 8.0);
        assert!(value(&s, "eventodb_storage_pool_idle") >= 0.0);
        assert_eq!(value(&s, "eventodb_storage_pool_waiting"), 0.0);
    }

    drop(sse);
    wait_for(&server, "eventodb_sse_subscriptions", 0.0);
}

#[test]
fn metrics_show_import_progress() {
    let server = TestServer::strict();
    let body: String = (1..=5)
        .map(|g| {
            format!(
                r#"{{"id":"0191f0c2-7777-7e00-8000-{g:012x}","stream":"imp-1","type":"T","pos":{},"gpos":{g},"data":{{}},"meta":null,"time":"2025-03-02T08:15:30Z"}}"#,
                g - 1
            ) + "\n"
        })
        .collect();
    let response = server.send(Request::post("/import").bearer(ADMIN).body(body));
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(
        response.text().contains(r#""imported":5"#),
        "{}",
        response.text()
    );
    let s = scrape(&server);
    assert_eq!(
        value(&s, r#"eventodb_import_records_total{namespace="default"}"#),
        5.0
    );
}

#[test]
fn ready_answers_while_storage_is_reachable() {
    let server = TestServer::strict();
    for method in ["GET", "POST"] {
        let response = server.send(Request::new(method, "/ready"));
        assert_eq!(response.status, 200, "{method} /ready");
        assert_eq!(response.ok_json(), json!({"status": "ready"}));
    }
}

/// Every log line is JSON; the lines of a request carry its id; no token text appears,
/// whether it came in a header, a query string, a request body or a response.
#[test]
fn json_logs_carry_request_ids_and_never_a_token() {
    let mut server = TestServer::builder()
        .strict()
        .arg("--log-level=debug")
        .arg("--log-format=json")
        .start();
    let created = server.call(ADMIN, json!(["ns.create", "logged"]));
    let token = created["token"].as_str().expect("token").to_owned();
    server.call(
        &token,
        json!(["stream.write", "log-1", {"type": "T", "data": {"n": 1}}]),
    );
    // Refusals log at debug with their message: a wrong secret, a malformed token.
    let wrong = format!("{}{}", &token[..token.len() - 64], "e".repeat(64));
    server
        .rpc(&wrong, &json!(["stream.get", "log-1"]))
        .assert_error(403, "AUTH_UNAUTHORIZED");
    server
        .rpc("ns_not-a-token", &json!(["stream.get", "log-1"]))
        .assert_error(401, "AUTH_INVALID_TOKEN");
    let mut sse = Sse::open(
        server.addr(),
        &format!("/subscribe?stream=log-1&position=0&token={token}"),
        None,
    )
    .ready();
    sse.next_poke();
    drop(sse);
    let rotated = server.call(ADMIN, json!(["ns.rotateToken", "logged"]));
    let new_token = rotated["token"].as_str().expect("new token").to_owned();
    server.call(&new_token, json!(["ns.info", "logged"]));
    server.terminate();

    let lines = server.stdout_lines();
    let records: Vec<Value> = lines
        .iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(records.len() > 10, "{lines:#?}");
    let output = server.output();
    for secret in [&token, &wrong, &new_token, ADMIN] {
        let hex = &secret[secret.len() - 64..];
        assert!(!output.contains(hex), "a token was logged:\n{output}");
    }
    assert!(!output.contains("ns_not-a-token"), "{output}");

    // Every line logged inside a request names it with its id.
    let answered: Vec<&Value> = records
        .iter()
        .filter(|r| r["fields"]["message"] == "answered")
        .collect();
    assert!(answered.len() >= 7, "{lines:#?}");
    let mut ids = Vec::new();
    for record in records.iter().filter(|r| r.get("span").is_some()) {
        let id = &record["span"]["id"];
        assert!(id.is_u64(), "request line without an id: {record}");
        assert_eq!(record["span"]["name"], "request", "{record}");
        ids.push(id.as_u64());
    }
    let refused: Vec<&Value> = records
        .iter()
        .filter(|r| r["fields"]["message"] == "request refused")
        .collect();
    assert_eq!(refused.len(), 2, "{lines:#?}");
    assert!(refused.iter().all(|r| r["span"]["id"].is_u64()));
    ids.sort_unstable();
    ids.dedup();
    assert!(ids.len() >= 7, "distinct request ids: {ids:?}");
}
