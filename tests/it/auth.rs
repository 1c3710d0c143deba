//! Authentication (§2.6–2.9): where the token comes from, parsing, verification, test mode.

use serde_json::json;

use crate::harness::{token_for, Request, Response, TestServer, ADMIN};

fn version_call() -> Request {
    Request::post("/rpc").json(&json!(["stream.version", "auth-1"]))
}

#[track_caller]
fn assert_ok(response: &Response) {
    assert_eq!(
        response.status,
        200,
        "expected 200, got {}",
        response.text()
    );
    response.assert_json_content_type();
}

#[test]
fn missing_or_non_bearer_credentials_are_auth_required() {
    let s = TestServer::strict();
    let valid = format!("Bearer {ADMIN}");
    assert_ok(&s.send(version_call().header("Authorization", &valid)));
    for header in [
        None,
        Some(format!("Basic {ADMIN}")),
        Some(format!("bearer {ADMIN}")),
        Some(format!("BEARER {ADMIN}")),
        Some(format!("Bearer{ADMIN}")),
        Some("Bearer ".to_owned()),
        Some(String::new()),
        Some(ADMIN.to_owned()),
    ] {
        let mut request = version_call();
        if let Some(h) = &header {
            request = request.header("Authorization", h);
        }
        let response = s.send(request);
        assert_eq!(
            response.error_code().as_deref(),
            Some("AUTH_REQUIRED"),
            "Authorization {header:?}: {} {}",
            response.status,
            response.text()
        );
        response.assert_error(401, "AUTH_REQUIRED");
    }
}

#[test]
fn unparseable_tokens_are_auth_invalid_token() {
    let s = TestServer::strict();
    let zeros = "0".repeat(64);
    let bad = [
        "garbage".to_owned(),
        format!("xx_ZGVmYXVsdA_{zeros}"),
        "ns_ZGVmYXVsdA".to_owned(),
        format!("ns_ZGVmYXVsdA_{}", "0".repeat(63)),
        format!("ns_ZGVmYXVsdA_{}", "0".repeat(65)),
        format!("ns_ZGVmYXVsdA_{}g", "0".repeat(63)),
        format!("ns_ZGVm_YXVsdA_{zeros}"),
        format!("ns_ZGVmYXVsdA=_{zeros}"),
        format!("ns_!!!_{zeros}"),
        format!("ns__{zeros}"),
        format!(" {ADMIN}"),
        // 'ns?' encodes as bnM_, which can never be parsed.
        format!("ns_bnM__{zeros}"),
    ];
    for token in &bad {
        let response = s.send(version_call().bearer(token));
        let error = response.assert_error(401, "AUTH_INVALID_TOKEN");
        assert!(
            error["details"]["error"].is_string(),
            "details.error describes the failure for {token:?}: {error}"
        );
    }
}

#[test]
fn unknown_namespaces_and_wrong_secrets_are_unauthorized() {
    let s = TestServer::strict();
    let unknown = s.send(version_call().bearer(&token_for("nope", '0')));
    let error = unknown.assert_error(403, "AUTH_UNAUTHORIZED");
    assert_eq!(error["details"]["namespace"], json!("nope"));
    for wrong in [
        token_for("default", '1'),
        format!("ns_ZGVmYXVsdA_{}", "A".repeat(64)),
    ] {
        let response = s.send(version_call().bearer(&wrong));
        let error = response.assert_error(403, "AUTH_UNAUTHORIZED");
        assert_eq!(error["details"]["namespace"], json!("default"));
    }
    // Hex in the secret may be either case, but the hash is over the exact text.
    assert_ok(&s.send(version_call().bearer(ADMIN)));
}

#[test]
fn the_query_token_beats_the_authorization_header() {
    let s = TestServer::strict();
    let wrong = token_for("default", '9');
    let q =
        |t: &str| Request::post(&format!("/rpc?token={t}")).json(&json!(["stream.version", "q-1"]));
    assert_ok(&s.send(q(ADMIN)));
    assert_ok(&s.send(q(ADMIN).bearer(&wrong)));
    assert_ok(&s.send(q(ADMIN).header("Authorization", "Basic abc")));
    s.send(q(&wrong).bearer(ADMIN))
        .assert_error(403, "AUTH_UNAUTHORIZED");
    s.send(q("garbage").bearer(ADMIN))
        .assert_error(401, "AUTH_INVALID_TOKEN");
    // An empty query token falls back to the header.
    assert_ok(&s.send(q("").bearer(ADMIN)));
    s.send(q("")).assert_error(401, "AUTH_REQUIRED");
    // Query values are form-decoded.
    let encoded = format!("{}%30", &ADMIN[..ADMIN.len() - 1]);
    assert_ok(&s.send(q(&encoded)));
    // Other query parameters are fine.
    let mixed = Request::post(&format!("/rpc?x=1&token={ADMIN}&y=2")).json(&json!(["sys.health"]));
    assert_ok(&s.send(mixed));
}

#[test]
fn authentication_comes_before_envelope_parsing_and_method_lookup() {
    let s = TestServer::strict();
    let wrong = token_for("default", '5');
    for body in [
        &b"not json"[..],
        b"{}",
        b"[]",
        b"[1]",
        br#"["no.such.method"]"#,
        br#"["stream.write"]"#,
        b"\xff\xfe",
    ] {
        let anon = s.send(Request::post("/rpc").body(body.to_vec()));
        anon.assert_error(401, "AUTH_REQUIRED");
        let garbage = s.send(Request::post("/rpc").bearer("garbage").body(body.to_vec()));
        garbage.assert_error(401, "AUTH_INVALID_TOKEN");
        let unauthorized = s.send(Request::post("/rpc").bearer(&wrong).body(body.to_vec()));
        unauthorized.assert_error(403, "AUTH_UNAUTHORIZED");
    }
}

#[test]
fn sys_methods_require_authentication_outside_test_mode() {
    let s = TestServer::strict();
    s.rpc_anon(&json!(["sys.version"]))
        .assert_error(401, "AUTH_REQUIRED");
    s.rpc_anon(&json!(["sys.health"]))
        .assert_error(401, "AUTH_REQUIRED");
    s.rpc(&token_for("default", '3'), &json!(["sys.health"]))
        .assert_error(403, "AUTH_UNAUTHORIZED");
    assert_eq!(s.call(ADMIN, json!(["sys.health"]))["status"], json!("ok"));
}

#[test]
fn test_mode_lets_unusable_credentials_through_as_default() {
    let s = TestServer::builder().relaxed().start();
    let write = |request: Request| {
        let response =
            s.send(request.json(&json!(["stream.write", "tm-1", {"type": "T", "data": {}}])));
        assert_ok(&response);
        response.json()["position"].as_i64().expect("position")
    };
    let positions = [
        write(Request::post("/rpc")),
        write(Request::post("/rpc").header("Authorization", "Basic xyz")),
        write(Request::post("/rpc").header("Authorization", "Bearer ")),
        write(Request::post("/rpc").bearer("garbage")),
        // Hash is not checked in test mode.
        write(Request::post("/rpc").bearer(&token_for("default", 'f'))),
        write(Request::post("/rpc?token=garbage")),
        write(Request::post("/rpc").bearer(ADMIN)),
    ];
    assert_eq!(
        positions,
        [0, 1, 2, 3, 4, 5, 6],
        "all in the default namespace"
    );
    s.rpc_anon(&json!(["sys.version"])).ok_json();
}
