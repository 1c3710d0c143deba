//! `ns.rotateToken`: a namespace's own token or the default token gets a new token; the old
//! one stops working at once, and nobody else may rotate it.

use serde_json::json;

use crate::harness::{check, code, TestServer, ADMIN};

fn create(s: &TestServer, id: &str) -> String {
    let created = s.call(ADMIN, json!(["ns.create", id]));
    created["token"].as_str().expect("token").to_owned()
}

#[test]
fn a_rotated_token_replaces_the_old_one_at_once() {
    let s = TestServer::strict();
    let old = create(&s, "rot-a");
    s.call(
        &old,
        json!(["stream.write", "r-1", {"type": "A", "data": {}}]),
    );
    let rotated = s.call(&old, json!(["ns.rotateToken"]));
    assert_eq!(rotated["namespace"], json!("rot-a"));
    let new = rotated["token"].as_str().expect("new token").to_owned();
    assert_ne!(new, old);
    assert!(
        new.starts_with("ns_cm90LWE_"),
        "token names the namespace: {new}"
    );
    // The old token is dead, the new one sees the same data.
    check(
        &s,
        Some(&old),
        json!(["stream.version", "r-1"]),
        403,
        code("AUTH_UNAUTHORIZED"),
    );
    assert_eq!(s.call(&new, json!(["stream.version", "r-1"])), json!(0));
}

#[test]
fn the_default_token_may_rotate_any_namespace_and_others_may_not() {
    let dir = tempfile::tempdir().expect("data dir");
    let s = TestServer::builder().data_dir(dir.path()).start();
    let a = create(&s, "rot-b");
    let b = create(&s, "rot-c");
    check(
        &s,
        Some(&b),
        json!(["ns.rotateToken", "rot-b"]),
        403,
        code("AUTH_UNAUTHORIZED"),
    );
    let rotated = s.call(ADMIN, json!(["ns.rotateToken", "rot-b"]));
    let new = rotated["token"].as_str().expect("token").to_owned();
    check(
        &s,
        Some(&a),
        json!(["ns.info", "rot-b"]),
        403,
        code("AUTH_UNAUTHORIZED"),
    );
    assert_eq!(
        s.call(&new, json!(["ns.info", "rot-b"]))["namespace"],
        json!("rot-b")
    );
    check(
        &s,
        Some(ADMIN),
        json!(["ns.rotateToken", "nope"]),
        404,
        code("NAMESPACE_NOT_FOUND"),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["ns.rotateToken", 7]),
        400,
        code("INVALID_REQUEST"),
    );
    // The rotated token survives a restart (only its hash is stored).
    let dir = s.data_dir().map(std::path::Path::to_owned);
    drop(s);
    if let Some(dir) = dir {
        let again = TestServer::builder().data_dir(&dir).start();
        assert_eq!(
            again.call(&new, json!(["ns.info", "rot-b"]))["namespace"],
            json!("rot-b")
        );
    }
}
