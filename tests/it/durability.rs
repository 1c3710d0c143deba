//! Durability on file-backed SQLite (§7.4, §0 item 9): acknowledged writes survive crashes.

use serde_json::{json, Value};

use crate::harness::{check, code, ok, positions, write, TestServer, ADMIN};

#[test]
fn acknowledged_writes_survive_kill_9_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut first = TestServer::builder().data_dir(dir.path()).start();
    const N: usize = 60;
    let mut acked: Vec<(String, i64, i64, Value)> = Vec::new();
    for i in 0..N {
        let stream = format!("dur-{}", i % 3);
        let data = json!({"i": i, "text": "ü"});
        let (p, g) = write(&first, ADMIN, &stream, "Written", data.clone());
        acked.push((stream, p, g, data));
    }
    let id = "0191f0c2-0000-7000-8000-0000000000d1";
    let idem = json!(["stream.write", "idem-1", {"type": "Once", "data": {"k": 1}}, {"id": id}]);
    let (ip, ig) = positions(&first.call(ADMIN, idem.clone()));
    first.kill9();

    let second = TestServer::builder().data_dir(dir.path()).start();
    for s in 0..3 {
        let stream = format!("dur-{s}");
        let got = second.call(ADMIN, json!(["stream.get", stream, {"batchSize": -1}]));
        let got: Vec<(String, i64, i64, Value)> = got
            .as_array()
            .expect("array")
            .iter()
            .map(|m| {
                (
                    stream.clone(),
                    m[2].as_i64().expect("pos"),
                    m[3].as_i64().expect("gpos"),
                    m[4].clone(),
                )
            })
            .collect();
        let expected: Vec<_> = acked.iter().filter(|a| a.0 == stream).cloned().collect();
        assert_eq!(got, expected, "{stream} after kill -9");
        check(
            &second,
            Some(ADMIN),
            json!(["stream.version", stream]),
            200,
            ok(json!(expected.len() - 1)),
        );
    }
    let everything = second.call(ADMIN, json!(["category.get", "", {"batchSize": -1}]));
    assert_eq!(everything.as_array().expect("array").len(), N + 1);
    // New writes continue both sequences.
    let max_global = acked.iter().map(|a| a.2).max().unwrap_or(0).max(ig);
    let (p, g) = write(&second, ADMIN, "dur-0", "After", json!({}));
    assert_eq!(p, (N / 3) as i64);
    assert!(
        g > max_global,
        "global position {g} continues after {max_global}"
    );
    // Idempotency rests on stored data, not on a cache.
    check(
        &second,
        Some(ADMIN),
        idem,
        200,
        ok(json!({"position": ip, "globalPosition": ig})),
    );
    check(
        &second,
        Some(ADMIN),
        json!(["stream.write", "idem-1", {"type": "Once", "data": {"k": 2}}, {"id": id}]),
        409,
        code("DUPLICATE_MESSAGE_ID"),
    );
    check(
        &second,
        Some(ADMIN),
        json!(["stream.version", "idem-1"]),
        200,
        ok(json!(0)),
    );
}

#[test]
fn namespaces_and_their_tokens_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut first = TestServer::builder().data_dir(dir.path()).start();
    let created = first.call(
        ADMIN,
        json!(["ns.create", "kept", {"description": "kept ns"}]),
    );
    let token = created["token"].as_str().expect("token").to_owned();
    write(&first, &token, "k-1", "T", json!({"v": 1}));
    write(&first, &token, "k-1", "T", json!({"v": 2}));
    let (_, elapsed) = first.terminate();
    assert!(elapsed.as_secs() < 10);

    let second = TestServer::builder().data_dir(dir.path()).start();
    let info = second.call(ADMIN, json!(["ns.info", "kept"]));
    assert_eq!(info["description"], json!("kept ns"));
    assert_eq!(info["messageCount"], json!(2));
    check(
        &second,
        Some(&token),
        json!(["stream.version", "k-1"]),
        200,
        ok(json!(1)),
    );
    check(
        &second,
        Some(&token),
        json!(["stream.write", "k-1", {"type": "T", "data": {}}, {"expectedVersion": 1}]),
        200,
        ok(json!({"position": 2, "globalPosition": 3})),
    );
}

#[test]
fn restarting_without_a_token_keeps_the_existing_one_valid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut first = TestServer::builder().data_dir(dir.path()).start();
    write(&first, ADMIN, "stay-1", "T", json!({}));
    first.terminate();
    let second = TestServer::builder()
        .data_dir(dir.path())
        .no_token()
        .start();
    check(
        &second,
        Some(ADMIN),
        json!(["stream.version", "stay-1"]),
        200,
        ok(json!(0)),
    );
    assert!(
        !second.output().contains("ns_ZGVmYXVsdA_"),
        "no (non-working) token is printed when default exists:\n{}",
        second.output()
    );
}

#[test]
fn a_deleted_namespace_stays_deleted_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut first = TestServer::builder().data_dir(dir.path()).start();
    let token = first.call(ADMIN, json!(["ns.create", "brief"]))["token"]
        .as_str()
        .expect("token")
        .to_owned();
    write(&first, &token, "b-1", "T", json!({}));
    assert_eq!(
        first.call(ADMIN, json!(["ns.delete", "brief"]))["messagesDeleted"],
        json!(1)
    );
    first.kill9();
    let second = TestServer::builder().data_dir(dir.path()).start();
    check(
        &second,
        Some(ADMIN),
        json!(["ns.info", "brief"]),
        404,
        code("NAMESPACE_NOT_FOUND"),
    );
    check(
        &second,
        Some(&token),
        json!(["stream.get", "b-1"]),
        403,
        code("AUTH_UNAUTHORIZED"),
    );
    let again = second.call(ADMIN, json!(["ns.create", "brief"]))["token"]
        .as_str()
        .expect("token")
        .to_owned();
    check(
        &second,
        Some(&again),
        json!(["stream.version", "b-1"]),
        200,
        ok(json!(null)),
    );
}
