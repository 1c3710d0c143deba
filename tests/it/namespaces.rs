//! `ns.*` methods (§3.6–3.11), namespace authority (§0 item 11, §2.8) and isolation (§1.1).

use serde_json::{json, Value};

use crate::harness::{
    assert_time, check, code, ok, parse_time, token_for, write, TestServer, ADMIN,
};

/// Creates namespace `id` with the admin token; returns its token.
fn create(s: &TestServer, id: &str) -> String {
    let result = s.call(
        ADMIN,
        json!(["ns.create", id, {"description": format!("{id} ns")}]),
    );
    result["token"].as_str().expect("token").to_owned()
}

#[test]
fn ns_create_returns_a_working_token_for_a_fresh_namespace() {
    let s = TestServer::strict();
    let result = s.call(
        ADMIN,
        json!(["ns.create", "acme-prod", {"description": "Acme"}]),
    );
    let keys: Vec<&String> = result.as_object().expect("object").keys().collect();
    assert_eq!(
        keys.len(),
        3,
        "exactly namespace, token, createdAt: {result}"
    );
    assert_eq!(result["namespace"], json!("acme-prod"));
    assert_time(&result["createdAt"]);
    let token = result["token"].as_str().expect("token");
    let secret = token
        .strip_prefix("ns_YWNtZS1wcm9k_")
        .unwrap_or_else(|| panic!("token names acme-prod: {token}"));
    assert_eq!(secret.len(), 64);
    assert!(
        secret
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "{token}"
    );
    // Its own empty storage: positions start at 1 again.
    write(&s, ADMIN, "cart-1", "T", json!({}));
    write(&s, ADMIN, "cart-1", "T", json!({}));
    check(
        &s,
        Some(token),
        json!(["stream.version", "cart-1"]),
        200,
        ok(json!(null)),
    );
    check(
        &s,
        Some(token),
        json!(["stream.write", "cart-1", {"type": "T", "data": {}}]),
        200,
        ok(json!({"position": 0, "globalPosition": 1})),
    );
    // Two creations give two different tokens.
    let other = create(&s, "acme-dev");
    assert_ne!(other, token);
}

#[test]
fn ns_create_refuses_existing_ids_and_bad_arguments() {
    let s = TestServer::strict();
    create(&s, "dup");
    check(
        &s,
        Some(ADMIN),
        json!(["ns.create", "dup"]),
        409,
        code("NAMESPACE_EXISTS"),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["ns.create", "default"]),
        409,
        code("NAMESPACE_EXISTS"),
    );
    for bad in [
        json!(["ns.create"]),
        json!(["ns.create", ""]),
        json!(["ns.create", 5]),
        json!(["ns.create", null]),
        json!(["ns.create", "x1", "opts"]),
        json!(["ns.create", "x1", {"description": 5}]),
        json!(["ns.create", "x1", {"metadata": "m"}]),
        json!(["ns.create", "x1", {"metadata": [1]}]),
        json!(["ns.create", "x1", {"token": 5}]),
        json!(["ns.create", "x1", {"token": "garbage"}]),
    ] {
        check(&s, Some(ADMIN), bad, 400, code("INVALID_REQUEST"));
    }
    check(
        &s,
        Some(ADMIN),
        json!(["ns.info", "x1"]),
        404,
        code("NAMESPACE_NOT_FOUND"),
    );
    // Options null, metadata object: fine.
    s.call(ADMIN, json!(["ns.create", "x2", null]));
    s.call(
        ADMIN,
        json!(["ns.create", "x3", {"metadata": {"k": "v"}, "unknown": 1}]),
    );
}

#[test]
fn ns_create_uses_a_custom_token_verbatim_and_rejects_one_for_another_namespace() {
    let s = TestServer::strict();
    let custom = token_for("tenant-a", '7');
    let result = s.call(ADMIN, json!(["ns.create", "tenant-a", {"token": custom}]));
    assert_eq!(result["token"], json!(custom));
    write(&s, &custom, "t-1", "T", json!({}));
    check(
        &s,
        Some(&custom),
        json!(["stream.version", "t-1"]),
        200,
        ok(json!(0)),
    );
    // A different secret for the same namespace is refused.
    check(
        &s,
        Some(&token_for("tenant-a", '8')),
        json!(["stream.version", "t-1"]),
        403,
        code("AUTH_UNAUTHORIZED"),
    );

    check(
        &s,
        Some(ADMIN),
        json!(["ns.create", "tenant-b", {"token": token_for("tenant-c", '1')}]),
        400,
        code("INVALID_REQUEST"),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["ns.info", "tenant-b"]),
        404,
        code("NAMESPACE_NOT_FOUND"),
    );
}

#[test]
fn ns_create_refuses_ids_whose_base64url_contains_an_underscore() {
    let s = TestServer::strict();
    let body = check(
        &s,
        Some(ADMIN),
        json!(["ns.create", "ns?"]),
        400,
        code("INVALID_REQUEST"),
    );
    assert!(!body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .is_empty());
    check(
        &s,
        Some(ADMIN),
        json!(["ns.info", "ns?"]),
        404,
        code("NAMESPACE_NOT_FOUND"),
    );
    // 'ns!' encodes as bnMh: fine.
    create(&s, "ns!");
}

#[test]
fn ns_info_reports_real_counts() {
    let s = TestServer::strict();
    let token = create(&s, "info-ns");
    let info = s.call(ADMIN, json!(["ns.info", "info-ns"]));
    assert_eq!(info["namespace"], json!("info-ns"));
    assert_eq!(info["description"], json!("info-ns ns"));
    assert_eq!(
        (
            info["messageCount"].clone(),
            info["streamCount"].clone(),
            info["lastActivity"].clone()
        ),
        (json!(0), json!(0), Value::Null),
        "{info}"
    );
    let created = assert_time(&info["createdAt"]);
    assert_eq!(created, "", "ns.info createdAt is whole seconds: {info}");
    let keys: Vec<&String> = info.as_object().expect("object").keys().collect();
    assert_eq!(keys.len(), 6, "{info}");

    write(&s, &token, "a-1", "T", json!({}));
    write(&s, &token, "a-1", "T", json!({}));
    write(&s, &token, "b", "T", json!({}));
    let info = s.call(ADMIN, json!(["ns.info", "info-ns"]));
    assert_eq!(
        (info["messageCount"].clone(), info["streamCount"].clone()),
        (json!(3), json!(2)),
        "{info}"
    );
    assert_time(&info["lastActivity"]);
    // Own token may read its own info.
    assert_eq!(
        s.call(&token, json!(["ns.info", "info-ns"]))["messageCount"],
        json!(3)
    );
    check(
        &s,
        Some(ADMIN),
        json!(["ns.info", "missing"]),
        404,
        code("NAMESPACE_NOT_FOUND"),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["ns.info"]),
        400,
        code("INVALID_REQUEST"),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["ns.info", 3]),
        400,
        code("INVALID_REQUEST"),
    );
}

#[test]
fn ns_list_lists_every_namespace_with_counts_and_no_tokens() {
    let s = TestServer::strict();
    let a = create(&s, "list-a");
    create(&s, "list-b");
    write(&s, &a, "x-1", "T", json!({}));
    write(&s, &a, "x-2", "T", json!({}));
    write(&s, ADMIN, "y-1", "T", json!({}));
    let list = s.call(ADMIN, json!(["ns.list"]));
    let entries = list.as_array().expect("array");
    let find = |id: &str| -> Value {
        entries
            .iter()
            .find(|e| e["namespace"] == json!(id))
            .cloned()
            .unwrap_or_else(|| panic!("{id} missing from {list}"))
    };
    assert_eq!(entries.len(), 3, "{list}");
    assert_eq!(find("list-a")["messageCount"], json!(2));
    assert_eq!(find("list-a")["description"], json!("list-a ns"));
    assert_eq!(find("list-b")["messageCount"], json!(0));
    assert_eq!(find("default")["messageCount"], json!(1));
    assert_eq!(find("default")["description"], json!("Default namespace"));
    for e in entries {
        let mut keys: Vec<&str> = e
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["createdAt", "description", "messageCount", "namespace"],
            "{e}"
        );
        assert_eq!(assert_time(&e["createdAt"]), "", "whole seconds: {e}");
    }
    // Newest first by creation second.
    let seconds: Vec<i64> = entries
        .iter()
        .map(|e| {
            parse_time(e["createdAt"].as_str().expect("time"))
                .expect("time")
                .0
        })
        .collect();
    assert!(
        seconds.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {list}"
    );
    assert!(
        !list.to_string().contains("ns_"),
        "tokens are never listed: {list}"
    );
    // Arguments are ignored.
    assert_eq!(
        s.call(ADMIN, json!(["ns.list", "x", {}]))
            .as_array()
            .expect("array")
            .len(),
        3
    );
}

#[test]
fn ns_delete_removes_everything_and_invalidates_the_token() {
    let s = TestServer::strict();
    let token = create(&s, "gone");
    for i in 0..3 {
        write(&s, &token, "g-1", "T", json!({"i": i}));
    }
    write(&s, &token, "g-2", "T", json!({}));
    let result = s.call(ADMIN, json!(["ns.delete", "gone"]));
    assert_eq!(result["namespace"], json!("gone"));
    assert_eq!(result["messagesDeleted"], json!(4));
    assert_time(&result["deletedAt"]);
    check(
        &s,
        Some(&token),
        json!(["stream.get", "g-1"]),
        403,
        code("AUTH_UNAUTHORIZED"),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["ns.info", "gone"]),
        404,
        code("NAMESPACE_NOT_FOUND"),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["ns.delete", "gone"]),
        404,
        code("NAMESPACE_NOT_FOUND"),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["ns.delete", ""]),
        400,
        code("INVALID_REQUEST"),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["ns.delete", 1]),
        400,
        code("INVALID_REQUEST"),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["ns.delete"]),
        400,
        code("INVALID_REQUEST"),
    );
    let list = s.call(ADMIN, json!(["ns.list"]));
    assert!(!list.to_string().contains("\"gone\""), "{list}");
    // Re-creating the id gives fresh, empty storage.
    let again = create(&s, "gone");
    check(
        &s,
        Some(&again),
        json!(["stream.version", "g-1"]),
        200,
        ok(json!(null)),
    );
    check(
        &s,
        Some(&again),
        json!(["stream.write", "g-1", {"type": "T", "data": {}}]),
        200,
        ok(json!({"position": 0, "globalPosition": 1})),
    );
    check(
        &s,
        Some(&token),
        json!(["stream.version", "g-1"]),
        403,
        code("AUTH_UNAUTHORIZED"),
    );
}

#[test]
fn deleting_default_is_refused() {
    let s = TestServer::strict();
    write(&s, ADMIN, "keep-1", "T", json!({}));
    check(
        &s,
        Some(ADMIN),
        json!(["ns.delete", "default"]),
        400,
        code("INVALID_REQUEST"),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["stream.version", "keep-1"]),
        200,
        ok(json!(0)),
    );
    assert_eq!(
        s.call(ADMIN, json!(["ns.info", "default"]))["messageCount"],
        json!(1)
    );
}

#[test]
fn ns_streams_lists_streams_by_name_with_prefix_cursor_and_limit() {
    let s = TestServer::test_mode();
    for stream in ["b-1", "a-2", "a-1", "a-1", "A-9", "ab", "a_x", "c"] {
        write(&s, ADMIN, stream, "T", json!({}));
    }
    let names = |opts: Value| -> Vec<String> {
        s.call(ADMIN, json!(["ns.streams", opts]))
            .as_array()
            .expect("array")
            .iter()
            .map(|e| e["stream"].as_str().expect("stream").to_owned())
            .collect()
    };
    assert_eq!(
        names(json!({})),
        ["A-9", "a-1", "a-2", "a_x", "ab", "b-1", "c"]
    );
    assert_eq!(names(json!({"prefix": "a-"})), ["a-1", "a-2"]);
    assert_eq!(names(json!({"prefix": "a_"})), ["a_x"]);
    assert_eq!(names(json!({"prefix": "A"})), ["A-9"]);
    assert_eq!(names(json!({"prefix": "zzz"})), Vec::<String>::new());
    assert_eq!(names(json!({"limit": 2})), ["A-9", "a-1"]);
    assert_eq!(names(json!({"limit": 2, "cursor": "a-1"})), ["a-2", "a_x"]);
    assert_eq!(
        names(json!({"limit": 3, "cursor": "a_x"})),
        ["ab", "b-1", "c"]
    );
    assert_eq!(names(json!({"cursor": "c"})), Vec::<String>::new());
    assert_eq!(names(json!({"limit": 1000})).len(), 7);
    assert_eq!(
        s.call(ADMIN, json!(["ns.streams"]))
            .as_array()
            .expect("array")
            .len(),
        7
    );
    assert_eq!(
        s.call(ADMIN, json!(["ns.streams", null]))
            .as_array()
            .expect("array")
            .len(),
        7
    );

    let entries = s.call(ADMIN, json!(["ns.streams", {"prefix": "a-1"}]));
    let entry = &entries[0];
    let mut keys: Vec<&str> = entry
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["lastActivity", "stream", "version"]);
    assert_eq!(entry["version"], json!(1));
    assert_eq!(
        assert_time(&entry["lastActivity"]),
        "",
        "lastActivity is whole seconds: {entry}"
    );

    for bad in [
        json!({"limit": 0}),
        json!({"limit": 1001}),
        json!({"limit": -1}),
        json!({"limit": "5"}),
        json!({"prefix": 1}),
        json!({"cursor": false}),
        json!("opts"),
    ] {
        check(
            &s,
            Some(ADMIN),
            json!(["ns.streams", bad]),
            400,
            code("INVALID_REQUEST"),
        );
    }
}

#[test]
fn ns_categories_counts_streams_and_messages_per_category() {
    let s = TestServer::test_mode();
    check(
        &s,
        Some(ADMIN),
        json!(["ns.categories"]),
        200,
        ok(json!([])),
    );
    for stream in [
        "ledger", "ledger-1", "ledger-1", "cart-1", "cart-2", "cart-2", "cart-2", "Cart-1",
    ] {
        write(&s, ADMIN, stream, "T", json!({}));
    }
    check(
        &s,
        Some(ADMIN),
        json!(["ns.categories"]),
        200,
        ok(json!([
            {"category": "Cart", "streamCount": 1, "messageCount": 1},
            {"category": "cart", "streamCount": 2, "messageCount": 4},
            {"category": "ledger", "streamCount": 2, "messageCount": 3},
        ])),
    );
}

#[test]
fn namespaces_are_isolated() {
    let s = TestServer::strict();
    let a = create(&s, "iso-a");
    let b = create(&s, "iso-b");
    check(
        &s,
        Some(&a),
        json!(["stream.write", "shared-1", {"type": "A", "data": {"ns": "a"}}]),
        200,
        ok(json!({"position": 0, "globalPosition": 1})),
    );
    check(
        &s,
        Some(&a),
        json!(["stream.write", "shared-1", {"type": "A", "data": {"ns": "a"}}]),
        200,
        ok(json!({"position": 1, "globalPosition": 2})),
    );
    check(
        &s,
        Some(&b),
        json!(["stream.version", "shared-1"]),
        200,
        ok(json!(null)),
    );
    check(
        &s,
        Some(&b),
        json!(["stream.get", "shared-1"]),
        200,
        ok(json!([])),
    );
    check(
        &s,
        Some(&b),
        json!(["stream.last", "shared-1"]),
        200,
        ok(json!(null)),
    );
    check(
        &s,
        Some(&b),
        json!(["category.get", ""]),
        200,
        ok(json!([])),
    );
    check(
        &s,
        Some(&b),
        json!(["category.get", "shared"]),
        200,
        ok(json!([])),
    );
    check(&s, Some(&b), json!(["ns.streams"]), 200, ok(json!([])));
    check(&s, Some(&b), json!(["ns.categories"]), 200, ok(json!([])));
    check(
        &s,
        Some(ADMIN),
        json!(["stream.version", "shared-1"]),
        200,
        ok(json!(null)),
    );
    // B's own sequence starts at 1, and B's write does not show up in A.
    check(
        &s,
        Some(&b),
        json!(["stream.write", "shared-1", {"type": "B", "data": {"ns": "b"}}, {"expectedVersion": -1}]),
        200,
        ok(json!({"position": 0, "globalPosition": 1})),
    );
    let in_a = s.call(&a, json!(["stream.get", "shared-1"]));
    assert_eq!(in_a.as_array().expect("array").len(), 2);
    assert!(in_a
        .as_array()
        .expect("array")
        .iter()
        .all(|m| m[4] == json!({"ns": "a"})));
    // A message id is unique per namespace, not globally.
    let id = "0191f0c2-0000-7000-8000-000000000123";
    s.call(
        &a,
        json!(["stream.write", "ids-1", {"type": "T", "data": {}}, {"id": id}]),
    );
    s.call(
        &b,
        json!(["stream.write", "ids-1", {"type": "T", "data": {}}, {"id": id}]),
    );
}

#[test]
fn namespace_tokens_manage_only_themselves_in_strict_mode() {
    let s = TestServer::strict();
    let a = create(&s, "own-a");
    create(&s, "own-b");
    check(
        &s,
        Some(&a),
        json!(["ns.list"]),
        403,
        code("AUTH_UNAUTHORIZED"),
    );
    check(
        &s,
        Some(&a),
        json!(["ns.create", "own-c"]),
        403,
        code("AUTH_UNAUTHORIZED"),
    );
    check(
        &s,
        Some(&a),
        json!(["ns.info", "own-b"]),
        403,
        code("AUTH_UNAUTHORIZED"),
    );
    check(
        &s,
        Some(&a),
        json!(["ns.info", "default"]),
        403,
        code("AUTH_UNAUTHORIZED"),
    );
    check(
        &s,
        Some(&a),
        json!(["ns.delete", "own-b"]),
        403,
        code("AUTH_UNAUTHORIZED"),
    );
    check(
        &s,
        Some(&a),
        json!(["ns.delete", "default"]),
        403,
        code("AUTH_UNAUTHORIZED"),
    );
    // Nothing happened to the others.
    check(
        &s,
        Some(ADMIN),
        json!(["ns.info", "own-c"]),
        404,
        code("NAMESPACE_NOT_FOUND"),
    );
    assert_eq!(
        s.call(ADMIN, json!(["ns.info", "own-b"]))["namespace"],
        json!("own-b")
    );
    // Namespace-scoped listings work with its own token.
    write(&s, &a, "mine-1", "T", json!({}));
    assert_eq!(
        s.call(&a, json!(["ns.streams"]))[0]["stream"],
        json!("mine-1")
    );
    assert_eq!(
        s.call(&a, json!(["ns.categories"]))[0]["category"],
        json!("mine")
    );
    // It may inspect and delete itself.
    assert_eq!(
        s.call(&a, json!(["ns.info", "own-a"]))["messageCount"],
        json!(1)
    );
    assert_eq!(
        s.call(&a, json!(["ns.delete", "own-a"]))["messagesDeleted"],
        json!(1)
    );
    check(
        &s,
        Some(&a),
        json!(["ns.info", "own-a"]),
        403,
        code("AUTH_UNAUTHORIZED"),
    );
    // The default token may do everything.
    s.call(ADMIN, json!(["ns.create", "own-c"]));
    s.call(ADMIN, json!(["ns.info", "own-c"]));
    assert_eq!(
        s.call(ADMIN, json!(["ns.list"]))
            .as_array()
            .expect("array")
            .len(),
        3
    );
    s.call(ADMIN, json!(["ns.delete", "own-c"]));
}

#[test]
fn test_mode_uses_default_without_a_token_and_404s_unknown_namespaces() {
    let s = TestServer::builder().relaxed().start();
    check(
        &s,
        None,
        json!(["stream.write", "anon-1", {"type": "T", "data": {}}]),
        200,
        ok(json!({"position": 0, "globalPosition": 1})),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["stream.version", "anon-1"]),
        200,
        ok(json!(0)),
    );
    let ghost = token_for("ghost", 'a');
    for request in [
        json!(["stream.write", "x-1", {"type": "T", "data": {}}]),
        json!(["stream.get", "x-1"]),
        json!(["stream.last", "x-1"]),
        json!(["stream.version", "x-1"]),
        json!(["category.get", "x"]),
        json!(["ns.streams"]),
        json!(["ns.categories"]),
    ] {
        check(&s, Some(&ghost), request, 404, code("NAMESPACE_NOT_FOUND"));
    }
    // Never auto-created.
    check(
        &s,
        Some(ADMIN),
        json!(["ns.info", "ghost"]),
        404,
        code("NAMESPACE_NOT_FOUND"),
    );

    // A deleted namespace's token fails the same way.
    let token = create(&s, "temp");
    write(&s, &token, "t-1", "T", json!({}));
    s.call(ADMIN, json!(["ns.delete", "temp"]));
    check(
        &s,
        Some(&token),
        json!(["stream.get", "t-1"]),
        404,
        code("NAMESPACE_NOT_FOUND"),
    );
    check(
        &s,
        Some(&token),
        json!(["stream.write", "t-1", {"type": "T", "data": {}}]),
        404,
        code("NAMESPACE_NOT_FOUND"),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["ns.info", "temp"]),
        404,
        code("NAMESPACE_NOT_FOUND"),
    );
}

#[test]
fn test_mode_grants_namespace_tokens_go_s_authority() {
    let s = TestServer::builder().relaxed().start();
    let a = create(&s, "go-a");
    create(&s, "go-b");
    // Relaxed auth behaves like Go: any caller may manage any namespace.
    assert_eq!(
        s.call(&a, json!(["ns.list"]))
            .as_array()
            .expect("array")
            .len(),
        3
    );
    assert_eq!(
        s.call(&a, json!(["ns.info", "go-b"]))["namespace"],
        json!("go-b")
    );
    s.call(&a, json!(["ns.create", "go-c"]));
    assert_eq!(
        s.call(&a, json!(["ns.delete", "go-c"]))["namespace"],
        json!("go-c")
    );
    check(
        &s,
        None,
        json!(["ns.info", "go-c"]),
        404,
        code("NAMESPACE_NOT_FOUND"),
    );
}

#[test]
fn hostile_and_look_alike_ids_get_separate_storage_inside_the_data_dir() {
    let s = TestServer::strict();
    let data_dir = s
        .data_dir()
        .expect("strict server has a data dir")
        .to_owned();
    let marker = data_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("tempdir name")
        .to_owned();
    let escape = format!("../escape-{marker}");
    let ids = [
        escape.as_str(),
        "a/b",
        "a_b",
        "acme-prod",
        "acme_prod",
        "acme.prod",
        "ümlaut",
    ];
    let tokens: Vec<String> = ids.iter().map(|id| create(&s, id)).collect();
    for (i, token) in tokens.iter().enumerate() {
        write(&s, token, "who-1", "T", json!({"ns": ids[i]}));
    }
    for (i, token) in tokens.iter().enumerate() {
        let messages = s.call(token, json!(["stream.get", "who-1"]));
        assert_eq!(
            messages.as_array().expect("array").len(),
            1,
            "{}: {messages}",
            ids[i]
        );
        assert_eq!(messages[0][4], json!({"ns": ids[i]}));
    }
    let parent = data_dir.parent().expect("parent");
    let leaked: Vec<_> = std::fs::read_dir(parent)
        .expect("read parent")
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .contains(&format!("escape-{marker}"))
        })
        .map(|e| e.path())
        .collect();
    assert!(
        leaked.is_empty(),
        "files written outside the data dir: {leaked:?}"
    );
}
