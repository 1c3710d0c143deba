//! `POST /import`, `eventodb export` and `eventodb import` (PROTOCOL §6): the round trip
//! across servers and backends, every bad input with its line, force, gzip, the sequence
//! after an import, and that imports poke nobody.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::harness::sse::Sse;
use crate::harness::{
    connect, on_postgres, run_cli, token_for, Request, Response, TestServer, ADMIN,
};

/// A valid record line.
fn line(gpos: i64, stream: &str, pos: i64) -> String {
    format!(
        r#"{{"id":"0191f0c2-7777-7e00-8000-{gpos:012x}","stream":"{stream}","type":"T","pos":{pos},"gpos":{gpos},"data":{{"n":{gpos}}},"meta":null,"time":"2025-03-02T08:15:30Z"}}"#
    )
}

/// `n` valid lines for gpos 1..=n over 10 streams, newline-terminated.
fn lines(n: i64) -> String {
    (1..=n)
        .map(|g| line(g, &format!("s-{}", g % 10), (g - 1) / 10) + "\n")
        .collect()
}

/// The `data:` events of an import answer, checking the framing and headers.
fn events(response: &Response) -> Vec<Value> {
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    assert_eq!(response.header("cache-control"), Some("no-cache"));
    assert_eq!(response.header("x-accel-buffering"), Some("no"));
    let text = response.text();
    assert!(text.ends_with("\n\n"), "{text:?}");
    text.trim_end()
        .split("\n\n")
        .map(|e| {
            let data = e.strip_prefix("data: ").expect("a data: event");
            serde_json::from_str(data).expect("event JSON")
        })
        .collect()
}

fn import(server: &TestServer, token: &str, body: &[u8], query: &str) -> Vec<Value> {
    let request = Request::post(&format!("/import{query}"))
        .bearer(token)
        .header("Content-Type", "application/x-ndjson")
        .body(body.to_vec());
    events(&server.send(request))
}

/// Creates namespace `id` and returns its token.
fn namespace(server: &TestServer, id: &str) -> String {
    let token = token_for(id, '7');
    server.call(ADMIN, json!(["ns.create", id, {"token": token}]));
    token
}

fn message_count(server: &TestServer, token: &str, id: &str) -> i64 {
    server.call(token, json!(["ns.info", id]))["messageCount"]
        .as_i64()
        .expect("messageCount")
}

/// Runs the binary with `input` on stdin.
fn run_with_stdin(args: &[&str], input: &[u8]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_eventodb"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    let status = child.wait().expect("wait");
    let _ = writer.join();
    (status.code(), stderr)
}

fn url(server: &TestServer) -> String {
    format!("http://{}", server.addr())
}

fn export(server: &TestServer, token: &str, file: &Path, extra: &[&str]) -> Vec<u8> {
    let url = url(server);
    let out = file.to_str().expect("utf-8 path");
    let mut args = vec!["export", "--url", &url, "--token", token, "--output", out];
    args.extend_from_slice(extra);
    let result = run_cli(&args, &[]);
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    assert!(result.stderr.contains("Exported: "), "{}", result.stderr);
    std::fs::read(file).expect("export file")
}

fn cli_import(server: &TestServer, token: &str, file: &Path, extra: &[&str]) -> String {
    let url = url(server);
    let input = file.to_str().expect("utf-8 path");
    let mut args = vec!["import", "-url", &url, "-token", token, "-input", input];
    args.extend_from_slice(extra);
    let result = run_cli(&args, &[]);
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    result.stderr
}

/// Everything a namespace holds, as reads show it (time cut to whole seconds, which is
/// what an export keeps).
fn snapshot(server: &TestServer, token: &str) -> Value {
    let mut all = server.call(
        token,
        json!(["category.get", "", {"position": 1, "batchSize": -1}]),
    );
    let mut versions = serde_json::Map::new();
    for m in all.as_array_mut().expect("array") {
        let time = m[7].as_str().expect("time");
        m[7] = json!(&time[..19]);
        let stream = m[1].as_str().expect("stream").to_owned();
        versions.insert(
            stream.clone(),
            server.call(token, json!(["stream.version", stream])),
        );
    }
    let streams = server.call(token, json!(["ns.streams", {"limit": 1000}]));
    let categories = server.call(token, json!(["ns.categories"]));
    json!({"messages": all, "versions": versions, "streams": streams.as_array().map(|s| s.len()), "categories": categories})
}

#[test]
fn round_trip_across_servers_and_backends() {
    let source = TestServer::strict();
    let token = namespace(&source, "tenant");
    for (stream, data, meta) in [
        (
            "cart-1",
            json!({"sku": "A-1", "qty": 2, "price": 19.90, "big": 12345678901234567890u64}),
            Value::Null,
        ),
        (
            "cart-1",
            json!({"b": "\u{e9}\"x\"", "a": [1, {"z": null, "y": true}]}),
            json!({"correlationStreamName": "flow-7", "k": "v"}),
        ),
        ("order-9+refund", json!({}), json!({"by": "me"})),
        ("order-9", json!({"total": 1}), Value::Null),
        ("ledger", json!({"n": 0}), Value::Null),
        ("cart-2", json!({"sku": "B"}), Value::Null),
    ] {
        let mut message = json!({"type": "Happened", "data": data});
        if !meta.is_null() {
            message["metadata"] = meta;
        }
        source.call(&token, json!(["stream.write", stream, message]));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let first = export(&source, &token, &dir.path().join("first.ndjson"), &[]);
    let text = String::from_utf8(first.clone()).expect("utf-8");
    assert_eq!(text.lines().count(), 6);
    assert!(text.starts_with(r#"{"id":""#), "{text}");
    let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(
        text.lines().next().expect("a line"),
    )
    .expect("record")
    .keys()
    .cloned()
    .collect();
    assert_eq!(keys.len(), 8);

    let mut targets = vec![TestServer::strict()];
    if !on_postgres() {
        let database = eventodb_pg_cluster::PgCluster::shared().fresh_database();
        targets.push(
            TestServer::builder()
                .raw_args(&[
                    "serve", "--port", "0", "--db-url", &database, "--token", ADMIN,
                ])
                .start(),
        );
    }
    let expected = snapshot(&source, &token);
    for (i, target) in targets.iter().enumerate() {
        let token = namespace(target, "moved");
        let report = cli_import(target, &token, &dir.path().join("first.ndjson"), &[]);
        assert!(report.contains("Imported: 6 events in "), "{report}");
        let again = export(
            target,
            &token,
            &dir.path().join(format!("again-{i}.ndjson")),
            &[],
        );
        assert_eq!(
            String::from_utf8_lossy(&again),
            text,
            "export after import differs (target {i})"
        );
        assert_eq!(snapshot(target, &token), expected, "target {i}");
        assert_eq!(message_count(target, &token, "moved"), 6);
    }

    // Filters: categories in the given order, time window.
    let some = export(
        &source,
        &token,
        &dir.path().join("some.ndjson"),
        &["--categories", "order, ledger"],
    );
    let streams: Vec<String> = String::from_utf8_lossy(&some)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("record")["stream"]
                .as_str()
                .expect("s")
                .to_owned()
        })
        .collect();
    assert_eq!(streams, ["order-9+refund", "order-9", "ledger"]);
    let none = export(
        &source,
        &token,
        &dir.path().join("none.ndjson"),
        &["--until", "2000-01-01"],
    );
    assert!(none.is_empty());
    let all = export(
        &source,
        &token,
        &dir.path().join("all.ndjson"),
        &["-since=2000-01-01"],
    );
    assert_eq!(all, first);
}

#[test]
fn bad_input_names_the_line_and_keeps_committed_batches() {
    let server = TestServer::strict();
    let good = lines(1000);
    let long = format!(r#"{{"pad":"{}"}}"#, "x".repeat(1024 * 1024));
    let cases: Vec<(&str, String, &str)> = vec![
        ("malformed", r#"{"id": "#.to_owned(), "INVALID_JSON"),
        (
            "wrong-type",
            line(1002, "s-1", 200).replace(r#""pos":200"#, r#""pos":"200""#),
            "INVALID_JSON",
        ),
        (
            "not-uuid",
            line(1002, "s-1", 200).replace("0191f0c2-7777-7e00-8000-", "nope-"),
            "INVALID_RECORD",
        ),
        (
            "data-null",
            line(1002, "s-1", 200).replace(r#""data":{"n":1002}"#, r#""data":null"#),
            "INVALID_RECORD",
        ),
        (
            "bad-time",
            line(1002, "s-1", 200).replace("2025-03-02T08:15:30Z", "yesterday"),
            "INVALID_RECORD",
        ),
        (
            "no-gpos",
            line(1002, "s-1", 200).replace(r#""gpos":1002"#, r#""gpos":0"#),
            "INVALID_RECORD",
        ),
        (
            "duplicate-gpos",
            line(5, "s-new", 0).replace("000000000005", "0000000fffff"),
            "POSITION_EXISTS",
        ),
        ("too-long", long, "READ_ERROR"),
    ];
    for (i, (label, bad, code)) in cases.into_iter().enumerate() {
        let id = format!("bad{i}");
        let token = namespace(&server, &id);
        // Line 1001 is good, 1002 is bad, 1003 good: batch 2 must leave nothing behind.
        let body = format!(
            "{good}{}\n{bad}\n{}\n",
            line(1001, "s-1", 100),
            line(1003, "s-3", 100)
        );
        let events = import(&server, &token, body.as_bytes(), "");
        assert_eq!(events.len(), 2, "{label}: {events:?}");
        assert_eq!(
            events[0],
            json!({"imported": 1000, "gpos": 1000}),
            "{label}"
        );
        assert_eq!(events[1]["error"], code, "{label}: {events:?}");
        assert_eq!(events[1]["line"], 1002, "{label}: {events:?}");
        assert!(events[1]["message"].is_string());
        if code == "POSITION_EXISTS" {
            assert_eq!(events[1]["message"], "global position already exists: 5");
        }
        assert_eq!(message_count(&server, &token, &id), 1000, "{label}");
        assert_eq!(
            server.call(&token, json!(["stream.version", "s-1"])),
            json!(99)
        );
        // The server keeps serving, and the namespace takes writes above the import.
        let written = server.call(
            &token,
            json!(["stream.write", "s-1", {"type": "X", "data": {}}]),
        );
        assert_eq!(written["position"], 100, "{label}");
        assert!(written["globalPosition"].as_i64().expect("gpos") > 1000);
    }

    // Validation before insertion: an invalid line 2 of 3 imports nothing. Blank lines count,
    // CRLF is fine.
    let token = namespace(&server, "small");
    let body = format!(
        "{}\r\n\r\n{{bad\r\n{}\r\n",
        line(1, "a", 0),
        line(2, "a", 1)
    );
    let events = import(&server, &token, body.as_bytes(), "");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0]["error"].as_str(), events[0]["line"].as_i64()),
        (Some("INVALID_JSON"), Some(3))
    );
    assert_eq!(message_count(&server, &token, "small"), 0);
    let events = import(&server, &token, b"", "");
    assert_eq!(events[0]["done"], true);
    assert_eq!(events[0]["imported"], 0);
    assert_eq!(events[0]["elapsed"], "0.0s");
}

#[test]
fn a_body_cut_off_mid_line_is_reported() {
    let server = TestServer::strict();
    let token = namespace(&server, "cut");
    // Declared longer than sent: the connection's write side closes mid-line.
    let body = format!("{}{}", lines(1000), &line(1001, "s-1", 100)[..40]);
    let mut stream = connect(server.addr());
    let head = format!(
        "POST /import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n",
        body.len() + 500
    );
    stream.write_all(head.as_bytes()).expect("head");
    stream.write_all(body.as_bytes()).expect("body");
    stream
        .shutdown(std::net::Shutdown::Write)
        .expect("shutdown");
    let mut reader = std::io::BufReader::new(stream);
    if let Ok(response) = Response::read_from(&mut reader) {
        let events = events(&response);
        let last = events.last().expect("an event");
        assert_eq!(last["error"], "READ_ERROR", "{events:?}");
        assert_eq!(last["line"], 1001);
    }
    assert_eq!(message_count(&server, &token, "cut"), 1000);

    // A body that simply ends mid-line: that line is invalid.
    let events = import(&server, &token, &line(2001, "z", 0).as_bytes()[..50], "");
    assert_eq!(
        (events[0]["error"].as_str(), events[0]["line"].as_i64()),
        (Some("INVALID_JSON"), Some(1))
    );
    assert_eq!(message_count(&server, &token, "cut"), 1000);
}

#[test]
fn force_gzip_and_the_sequence_after_an_import() {
    let server = TestServer::strict();
    let token = namespace(&server, "forced");
    for _ in 0..3 {
        server.call(
            &token,
            json!(["stream.write", "old-1", {"type": "X", "data": {}}]),
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let gz = dir.path().join("in.ndjson.gz");
    let mut encoder = flate2_encoder(std::fs::File::create(&gz).expect("file"));
    encoder
        .write_all(format!("{}\n{}\n", line(40, "new-1", 0), line(50, "new-1", 1)).as_bytes())
        .expect("gzip");
    encoder.finish().expect("gzip end");
    let url = url(&server);
    let args = [
        "import",
        "--url",
        &url,
        "--token",
        &token,
        "--input",
        gz.to_str().expect("p"),
        "--gzip",
        "--force",
    ];

    let (code, stderr) = run_with_stdin(&args, b"no\n");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.to_lowercase().contains("cancel"), "{stderr}");
    assert_eq!(message_count(&server, &token, "forced"), 3);

    let (code, stderr) = run_with_stdin(&args, b"YES\n");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("Imported: 2 events in "), "{stderr}");
    assert_eq!(message_count(&server, &token, "forced"), 2);
    assert_eq!(
        server.call(&token, json!(["stream.version", "old-1"])),
        Value::Null
    );
    let written = server.call(
        &token,
        json!(["stream.write", "new-1", {"type": "X", "data": {}}]),
    );
    assert_eq!(written, json!({"position": 2, "globalPosition": 51}));

    // force=true over HTTP clears, and positions restart at 1.
    let events = import(&server, &token, b"", "?force=true");
    assert_eq!(events[0]["done"], true);
    assert_eq!(message_count(&server, &token, "forced"), 0);
    let written = server.call(
        &token,
        json!(["stream.write", "x-1", {"type": "X", "data": {}}]),
    );
    assert_eq!(written["globalPosition"], 1);

    // Export with --gzip, import the compressed file elsewhere.
    let exported = export(&server, &token, &dir.path().join("out.gz"), &["--gzip"]);
    assert_eq!(&exported[..2], &[0x1f, 0x8b]);
    let other = namespace(&server, "other");
    let report = cli_import(&server, &other, &dir.path().join("out.gz"), &["--gzip"]);
    assert!(report.contains("Imported: 1 events in "), "{report}");
    assert_eq!(message_count(&server, &other, "other"), 1);
}

fn flate2_encoder(file: std::fs::File) -> flate2::write::GzEncoder<std::fs::File> {
    flate2::write::GzEncoder::new(file, flate2::Compression::fast())
}

#[test]
fn imports_poke_nobody() {
    let server = TestServer::strict();
    let token = namespace(&server, "quiet");
    let mut all = Sse::open(server.addr(), "/subscribe?all=true", Some(&token)).ready();
    let events = import(&server, &token, lines(1500).as_bytes(), "");
    assert_eq!(events.last().expect("done")["imported"], 1500);
    let written = server.call(
        &token,
        json!(["stream.write", "s-9", {"type": "X", "data": {}}]),
    );
    let gpos = written["globalPosition"].as_i64().expect("gpos");
    assert!(gpos > 1500);
    // The first poke the subscription hears is the write, not an imported message.
    assert_eq!(all.next_poke().global_position, gpos);
}

#[test]
fn import_needs_a_namespace_and_post() {
    // Relaxed auth lets a token of a missing namespace through (PROTOCOL §2.9).
    let server = TestServer::builder().relaxed().start();
    let token = token_for("ghost", '7');
    let response = server.send(Request::post("/import").bearer(&token).body("x"));
    response.assert_error(404, "NAMESPACE_NOT_FOUND");
    let response = server.send(Request::get("/import").bearer(ADMIN));
    assert_eq!(response.status, 405);
    let strict = TestServer::strict();
    let response = strict.send(Request::post("/import").body("x"));
    response.assert_error(401, "AUTH_REQUIRED");
}
