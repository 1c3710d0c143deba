//! Malformed `/rpc` bodies (§2.2, §2.10, §2.11): right code and status, server keeps serving.

use std::io::{BufReader, Write};
use std::time::Duration;

use serde_json::json;

use crate::harness::{check, code, Request, Response, TestServer, ADMIN};

#[track_caller]
fn still_serving(s: &TestServer) {
    assert_eq!(s.call(ADMIN, json!(["sys.health"]))["status"], json!("ok"));
}

fn raw(s: &TestServer, body: &[u8]) -> Response {
    s.send(Request::post("/rpc").bearer(ADMIN).body(body.to_vec()))
}

#[test]
fn bodies_that_are_not_json_arrays_are_invalid_requests_with_parser_details() {
    let s = TestServer::test_mode();
    for body in [
        &b"not json"[..],
        b"{",
        b"[\"sys.health\"",
        b"",
        b"   ",
        b"[1,]",
        b"{}",
        b"\"stream.get\"",
        b"42",
        b"null",
        b"true",
    ] {
        let response = raw(&s, body);
        let error = response.assert_error(400, "INVALID_REQUEST");
        let text = String::from_utf8_lossy(body);
        assert!(
            error["details"]["error"].is_string(),
            "details.error carries the parser message for {text:?}: {error}"
        );
        still_serving(&s);
    }
}

#[test]
fn empty_arrays_and_non_string_methods_are_invalid_requests() {
    let s = TestServer::test_mode();
    for body in [
        json!([]),
        json!([1]),
        json!([null]),
        json!([["sys.health"]]),
        json!([{"method": "sys.health"}]),
        json!([true, "x"]),
    ] {
        check(&s, Some(ADMIN), body, 400, code("INVALID_REQUEST"));
    }
    still_serving(&s);
}

#[test]
fn unknown_methods_are_method_not_found_naming_the_method() {
    let s = TestServer::test_mode();
    for method in [
        "no.such.method",
        "Stream.Get",
        "stream.get ",
        "ns.rotatetoken",
        "stream",
        "",
    ] {
        let body = check(
            &s,
            Some(ADMIN),
            json!([method, "x-1"]),
            404,
            code("METHOD_NOT_FOUND"),
        );
        if !method.is_empty() {
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(method.trim()),
                "message names {method:?}: {body}"
            );
        }
    }
    still_serving(&s);
}

#[test]
fn wrong_argument_types_are_invalid_requests_for_every_method() {
    let s = TestServer::test_mode();
    for body in [
        json!(["stream.write", {"type": "T"}, "x-1"]),
        json!(["stream.get", 1]),
        json!(["stream.get", "x-1", [1]]),
        json!(["stream.last", "x-1", {"type": []}]),
        json!(["stream.version", false]),
        json!(["category.get", {}]),
        json!(["category.get", "x", {"consumerGroup": []}]),
        json!(["ns.create", {}]),
        json!(["ns.info", []]),
        json!(["ns.delete", null]),
        json!(["ns.streams", {"limit": {}}]),
        json!(["ns.streams", 5]),
    ] {
        check(&s, Some(ADMIN), body, 400, code("INVALID_REQUEST"));
    }
    still_serving(&s);
}

#[test]
fn invalid_utf8_is_an_invalid_request() {
    let s = TestServer::test_mode();
    for body in [
        &b"\xff\xfe\xfd"[..],
        b"[\"stream.write\",\"x-1\",{\"type\":\"T\",\"data\":{\"s\":\"\xc3\x28\"}}]",
        b"[\"sys.health\xff\"]",
    ] {
        raw(&s, body).assert_error(400, "INVALID_REQUEST");
        still_serving(&s);
    }
    check(
        &s,
        Some(ADMIN),
        json!(["stream.version", "x-1"]),
        200,
        crate::harness::ok(json!(null)),
    );
}

#[test]
fn the_request_content_type_is_not_checked() {
    let s = TestServer::test_mode();
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
    ] {
        let response = s.send(
            Request::post("/rpc")
                .bearer(ADMIN)
                .header("Content-Type", ct)
                .body(r#"["sys.health"]"#),
        );
        assert_eq!(response.ok_json()["status"], json!("ok"));
    }
    let response = s.send(
        Request::post("/rpc")
            .bearer(ADMIN)
            .body(" \n[\"sys.version\"]\n "),
    );
    assert!(response.ok_json().is_string());
}

#[test]
fn a_body_over_100_mib_is_refused_with_413() {
    let s = TestServer::test_mode();
    const LIMIT: usize = 100 * 1024 * 1024;
    let prefix = br#"["sys.health"]"#;
    let total = LIMIT + 1024;
    let stream = crate::harness::connect(s.addr());
    let head = format!(
        "POST /rpc HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {ADMIN}\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n",
        s.addr()
    );
    let mut writer = stream.try_clone().expect("clone");
    writer
        .set_write_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let feeder = std::thread::spawn(move || {
        // Valid JSON padded with whitespace: only the size makes it invalid.
        let mut sent = 0usize;
        let _ = writer.write_all(head.as_bytes());
        if writer.write_all(prefix).is_err() {
            return;
        }
        sent += prefix.len();
        let chunk = vec![b' '; 1 << 20];
        while sent < total {
            let n = chunk.len().min(total - sent);
            if writer.write_all(&chunk[..n]).is_err() {
                return;
            }
            sent += n;
        }
    });
    let response = Response::read_from(&mut BufReader::new(stream.try_clone().expect("clone")))
        .unwrap_or_else(|e| panic!("no response to an oversize body: {e}"));
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = feeder.join();
    assert_eq!(response.status, 413, "body: {}", response.text());
    // Like every JSON error: application/json and {"error":{code, message}}.
    response.assert_json_content_type();
    let error = &response.json()["error"];
    assert!(
        error["code"].is_string() && error["message"].is_string(),
        "JSON error body: {}",
        response.text()
    );
    still_serving(&s);
}
