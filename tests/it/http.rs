//! HTTP surface (§2.1, §2.3, §3.12, §3.13): /health, /version, 404s, 405, content types.

use std::io::{BufReader, Write};

use serde_json::json;

use crate::harness::{connect, is_semver, on_postgres, Request, Response, TestServer, ADMIN};

#[test]
fn health_answers_without_auth_on_any_method() {
    let s = TestServer::strict();
    for method in ["GET", "POST", "PUT", "DELETE"] {
        let response = s.send(Request::new(method, "/health"));
        assert_eq!(
            response.ok_json(),
            json!({"status": "ok"}),
            "{method} /health"
        );
    }
}

#[test]
fn version_endpoint_matches_sys_version_and_is_semver() {
    let s = TestServer::strict();
    let response = s.send(Request::get("/version"));
    let body = response.ok_json();
    let version = body["version"].as_str().expect("version string").to_owned();
    assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
    assert!(is_semver(&version), "{version:?}");
    assert_eq!(s.call(ADMIN, json!(["sys.version"])), json!(version));
    assert_eq!(
        s.send(Request::post("/version")).ok_json()["version"],
        json!(version)
    );
}

#[test]
fn sys_health_reports_status_backend_and_connections() {
    let s = TestServer::test_mode();
    let health = s.call(ADMIN, json!(["sys.health"]));
    assert_eq!(health["status"], json!("ok"));
    let backend = if on_postgres() { "postgres" } else { "sqlite" };
    assert_eq!(health["backend"], json!(backend));
    assert!(
        health["connections"].is_u64(),
        "connections is a non-negative integer: {health}"
    );
    assert_eq!(health.as_object().map(|o| o.len()), Some(3), "{health}");
    // Arguments are ignored.
    assert_eq!(
        s.call(ADMIN, json!(["sys.health", 1, {}]))["status"],
        json!("ok")
    );
    assert!(s.call(ADMIN, json!(["sys.version", "x"])).is_string());
}

#[test]
fn unknown_paths_are_json_404_not_found() {
    let s = TestServer::strict();
    for (method, path) in [
        ("GET", "/"),
        ("POST", "/nope"),
        ("GET", "/rpc/extra"),
        ("GET", "/debug/pprof/"),
        ("GET", "/debug/pprof/heap"),
        ("GET", "/subscribe/stream/x-1"),
        ("POST", "/healthz"),
    ] {
        let response = s.send(Request::new(method, path).bearer(ADMIN));
        response.assert_error(404, "NOT_FOUND");
    }
    // No credentials needed to be told a path does not exist.
    s.send(Request::get("/nowhere"))
        .assert_error(404, "NOT_FOUND");
}

#[test]
fn non_post_rpc_is_405_invalid_request() {
    let s = TestServer::test_mode();
    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        let response = s.send(Request::new(method, "/rpc").bearer(ADMIN));
        response.assert_error(405, "INVALID_REQUEST");
    }
}

#[test]
fn every_rpc_response_is_application_json_and_bare() {
    let s = TestServer::test_mode();
    let cases = [
        json!(["stream.write", "ct-1", {"type": "T", "data": {}}]),
        json!(["stream.version", "ct-1"]),
        json!(["stream.version", "ct-2"]),
        json!(["stream.get", "ct-1"]),
        json!(["sys.version"]),
        json!(["stream.write", "ct-1", {"type": "T", "data": {}}, {"expectedVersion": 7}]),
        json!(["nope"]),
    ];
    for body in cases {
        let response = s.rpc(ADMIN, &body);
        response.assert_json_content_type();
        let value = response.json();
        if response.status == 200 {
            assert!(
                value.get("error").is_none() && value.get("result").is_none(),
                "bare result: {value}"
            );
        } else {
            assert!(value["error"]["code"].is_string(), "{value}");
        }
        assert!(
            response.header("x-eventodb-token").is_none(),
            "never send X-EventoDB-Token"
        );
    }
    s.send(Request::post("/rpc").body("{"))
        .assert_json_content_type();
}

#[test]
fn two_requests_on_one_kept_alive_connection_both_answer() {
    let s = TestServer::test_mode();
    let conn = connect(s.addr());
    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
    let mut writer = conn;
    let first = Request::post("/rpc")
        .bearer(ADMIN)
        .json(&json!(["stream.write", "ka-1", {"type": "T", "data": {}}]))
        .keep_alive();
    writer
        .write_all(&first.to_bytes(s.addr()))
        .expect("write first");
    let a = Response::read_from(&mut reader).expect("first response");
    assert_eq!(a.ok_json(), json!({"position": 0, "globalPosition": 1}));
    let second = Request::post("/rpc")
        .bearer(ADMIN)
        .json(&json!(["stream.version", "ka-1"]))
        .keep_alive();
    writer
        .write_all(&second.to_bytes(s.addr()))
        .expect("write second");
    let b = Response::read_from(&mut reader).expect("second response on the same connection");
    assert_eq!(b.ok_json(), json!(0));
    // And a third that is an error, then a success again.
    writer
        .write_all(
            &Request::post("/rpc")
                .bearer(ADMIN)
                .body("nope")
                .keep_alive()
                .to_bytes(s.addr()),
        )
        .expect("write third");
    Response::read_from(&mut reader)
        .expect("third")
        .assert_error(400, "INVALID_REQUEST");
    writer
        .write_all(&Request::get("/health").keep_alive().to_bytes(s.addr()))
        .expect("write fourth");
    assert_eq!(
        Response::read_from(&mut reader).expect("fourth").ok_json(),
        json!({"status": "ok"})
    );
}

#[test]
fn a_chunked_request_body_is_accepted() {
    let s = TestServer::test_mode();
    let body = r#"["stream.write","chunk-1",{"type":"T","data":{"via":"chunked"}}]"#;
    let (a, b) = body.split_at(20);
    let raw = format!(
        "POST /rpc HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {ADMIN}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        s.addr(),
        a.len(),
        b.len()
    );
    let conn = connect(s.addr());
    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
    (&conn).write_all(raw.as_bytes()).expect("write");
    let response = Response::read_from(&mut reader).expect("response");
    assert_eq!(
        response.ok_json(),
        json!({"position": 0, "globalPosition": 1})
    );
    assert_eq!(
        s.call(ADMIN, json!(["stream.get", "chunk-1"]))[0][4],
        json!({"via": "chunked"})
    );
}
