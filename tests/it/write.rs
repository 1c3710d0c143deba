//! `stream.write` (§3.1): positions, expectedVersion, ids, validation, payload exactness.

use serde_json::{json, Value};

use crate::harness::{
    assert_lower_uuid, assert_time, check, code, ok, positions, write, TestServer, ADMIN,
};

#[test]
fn first_writes_get_positions_from_zero_and_global_positions_from_one() {
    let s = TestServer::test_mode();
    check(
        &s,
        Some(ADMIN),
        json!(["stream.write", "cart-1", {"type": "ItemAdded", "data": {"sku": "A"}}]),
        200,
        ok(json!({"position": 0, "globalPosition": 1})),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["stream.write", "cart-1", {"type": "ItemAdded", "data": {"sku": "B"}}]),
        200,
        ok(json!({"position": 1, "globalPosition": 2})),
    );
    // Another stream has its own positions but shares the namespace's global sequence.
    check(
        &s,
        Some(ADMIN),
        json!(["stream.write", "cart-2", {"type": "ItemAdded", "data": {}}]),
        200,
        ok(json!({"position": 0, "globalPosition": 3})),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["stream.version", "cart-1"]),
        200,
        ok(json!(1)),
    );
}

#[test]
fn expected_version_minus_one_means_the_stream_must_not_exist() {
    let s = TestServer::test_mode();
    let msg = json!({"type": "Opened", "data": {}});
    check(
        &s,
        Some(ADMIN),
        json!(["stream.write", "acct-1", msg, {"expectedVersion": -1}]),
        200,
        ok(json!({"position": 0, "globalPosition": 1})),
    );
    let body = check(
        &s,
        Some(ADMIN),
        json!(["stream.write", "acct-1", msg, {"expectedVersion": -1}]),
        409,
        code("STREAM_VERSION_CONFLICT"),
    );
    assert_eq!(
        body["error"]["details"],
        json!({"expected": -1, "actual": 0})
    );
    check(
        &s,
        Some(ADMIN),
        json!(["stream.version", "acct-1"]),
        200,
        ok(json!(0)),
    );
}

#[test]
fn expected_version_zero_on_a_new_stream_conflicts_and_writes_nothing() {
    let s = TestServer::test_mode();
    let body = check(
        &s,
        Some(ADMIN),
        json!(["stream.write", "acct-2", {"type": "Opened", "data": {}}, {"expectedVersion": 0}]),
        409,
        code("STREAM_VERSION_CONFLICT"),
    );
    assert_eq!(
        body["error"]["details"],
        json!({"expected": 0, "actual": -1})
    );
    check(
        &s,
        Some(ADMIN),
        json!(["stream.version", "acct-2"]),
        200,
        ok(json!(null)),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["stream.get", "acct-2"]),
        200,
        ok(json!([])),
    );
}

#[test]
fn expected_version_matching_appends_and_mismatch_reports_both_versions() {
    let s = TestServer::test_mode();
    write(&s, ADMIN, "acct-3", "A", json!({}));
    write(&s, ADMIN, "acct-3", "B", json!({}));
    let result = check(
        &s,
        Some(ADMIN),
        json!(["stream.write", "acct-3", {"type": "C", "data": {}}, {"expectedVersion": 1}]),
        200,
        ok(json!({"position": 2, "globalPosition": 3})),
    );
    assert_eq!(positions(&result), (2, 3));
    for stale in [0, 1, 5, -1, -2] {
        let body = check(
            &s,
            Some(ADMIN),
            json!(["stream.write", "acct-3", {"type": "D", "data": {}}, {"expectedVersion": stale}]),
            409,
            code("STREAM_VERSION_CONFLICT"),
        );
        assert_eq!(
            body["error"]["details"],
            json!({"expected": stale, "actual": 2}),
            "details for expectedVersion {stale}"
        );
    }
    check(
        &s,
        Some(ADMIN),
        json!(["stream.version", "acct-3"]),
        200,
        ok(json!(2)),
    );
}

#[test]
fn generated_ids_are_lowercase_uuids_and_unique() {
    let s = TestServer::test_mode();
    write(&s, ADMIN, "ids-1", "A", json!({}));
    // `id: ""` means "generate one".
    s.call(
        ADMIN,
        json!(["stream.write", "ids-1", {"type": "B", "data": {}}, {"id": ""}]),
    );
    let messages = s.call(ADMIN, json!(["stream.get", "ids-1"]));
    let ids: Vec<&str> = messages
        .as_array()
        .expect("array")
        .iter()
        .map(|m| m[0].as_str().expect("id string"))
        .collect();
    assert_eq!(ids.len(), 2);
    for id in &ids {
        assert_lower_uuid(id);
    }
    assert_ne!(ids[0], ids[1]);
}

#[test]
fn a_supplied_uppercase_uuid_is_stored_and_returned_lowercase() {
    let s = TestServer::test_mode();
    s.call(
        ADMIN,
        json!(["stream.write", "ids-2", {"type": "A", "data": {}},
               {"id": "0191F0C2-8D1E-7B3A-9C44-5A0E6B1D2F10"}]),
    );
    let messages = s.call(ADMIN, json!(["stream.get", "ids-2"]));
    assert_eq!(
        messages[0][0],
        json!("0191f0c2-8d1e-7b3a-9c44-5a0e6b1d2f10")
    );
    let last = s.call(ADMIN, json!(["stream.last", "ids-2"]));
    assert_eq!(last[0], json!("0191f0c2-8d1e-7b3a-9c44-5a0e6b1d2f10"));
}

#[test]
fn a_non_uuid_id_is_an_invalid_request_and_writes_nothing() {
    let s = TestServer::test_mode();
    for bad in [
        "not-a-uuid",
        "1234",
        "0191f0c2-8d1e-7b3a-9c44-5a0e6b1d2f1",
        "zz91f0c2-8d1e-7b3a-9c44-5a0e6b1d2f10",
    ] {
        check(
            &s,
            Some(ADMIN),
            json!(["stream.write", "ids-3", {"type": "A", "data": {}}, {"id": bad}]),
            400,
            code("INVALID_REQUEST"),
        );
    }
    check(
        &s,
        Some(ADMIN),
        json!(["stream.write", "ids-3", {"type": "A", "data": {}}, {"id": 7}]),
        400,
        code("INVALID_REQUEST"),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["stream.version", "ids-3"]),
        200,
        ok(json!(null)),
    );
}

#[test]
fn an_identical_retry_with_the_same_id_returns_the_original_positions_and_writes_nothing() {
    let s = TestServer::test_mode();
    let id = "0191f0c2-0000-7000-8000-00000000abcd";
    let request = json!(["stream.write", "pay-1",
        {"type": "Charged", "data": {"amount": 5}, "metadata": {"by": "me"}},
        {"id": id, "expectedVersion": -1}]);
    check(
        &s,
        Some(ADMIN),
        request.clone(),
        200,
        ok(json!({"position": 0, "globalPosition": 1})),
    );
    write(&s, ADMIN, "pay-2", "Other", json!({}));
    // Same message again: the idempotency check comes before the expectedVersion check.
    check(
        &s,
        Some(ADMIN),
        request,
        200,
        ok(json!({"position": 0, "globalPosition": 1})),
    );
    // Uppercase spelling of the same id is the same id.
    check(
        &s,
        Some(ADMIN),
        json!(["stream.write", "pay-1",
            {"type": "Charged", "data": {"amount": 5}, "metadata": {"by": "me"}},
            {"id": id.to_uppercase()}]),
        200,
        ok(json!({"position": 0, "globalPosition": 1})),
    );
    let messages = s.call(ADMIN, json!(["stream.get", "pay-1"]));
    assert_eq!(messages.as_array().expect("array").len(), 1, "{messages}");
    assert_eq!(
        s.call(ADMIN, json!(["category.get", ""]))
            .as_array()
            .expect("array")
            .len(),
        2
    );
}

#[test]
fn the_same_id_with_different_content_is_a_duplicate_message_id() {
    let s = TestServer::test_mode();
    let id = "0191f0c2-0000-7000-8000-00000000beef";
    s.call(
        ADMIN,
        json!(["stream.write", "dup-1", {"type": "A", "data": {"n": 1}}, {"id": id}]),
    );
    let variants = [
        json!(["stream.write", "dup-1", {"type": "A", "data": {"n": 2}}, {"id": id}]),
        json!(["stream.write", "dup-1", {"type": "B", "data": {"n": 1}}, {"id": id}]),
        json!(["stream.write", "dup-1", {"type": "A", "data": {"n": 1}, "metadata": {"x": 1}}, {"id": id}]),
        json!(["stream.write", "dup-2", {"type": "A", "data": {"n": 1}}, {"id": id}]),
    ];
    for request in variants {
        check(&s, Some(ADMIN), request, 409, code("DUPLICATE_MESSAGE_ID"));
    }
    check(
        &s,
        Some(ADMIN),
        json!(["stream.version", "dup-1"]),
        200,
        ok(json!(0)),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["stream.version", "dup-2"]),
        200,
        ok(json!(null)),
    );
    assert_eq!(
        s.call(ADMIN, json!(["category.get", ""]))
            .as_array()
            .expect("array")
            .len(),
        1
    );
}

#[test]
fn invalid_arguments_are_rejected_and_write_nothing() {
    let s = TestServer::test_mode();
    let cases = [
        json!(["stream.write"]),
        json!(["stream.write", "bad-1"]),
        json!(["stream.write", "", {"type": "A", "data": {}}]),
        json!(["stream.write", 42, {"type": "A", "data": {}}]),
        json!(["stream.write", null, {"type": "A", "data": {}}]),
        json!(["stream.write", "bad-1", "message"]),
        json!(["stream.write", "bad-1", [{"type": "A", "data": {}}]]),
        json!(["stream.write", "bad-1", null]),
        json!(["stream.write", "bad-1", {"data": {}}]),
        json!(["stream.write", "bad-1", {"type": "", "data": {}}]),
        json!(["stream.write", "bad-1", {"type": 5, "data": {}}]),
        json!(["stream.write", "bad-1", {"type": "A"}]),
        json!(["stream.write", "bad-1", {"type": "A", "data": null}]),
        json!(["stream.write", "bad-1", {"type": "A", "data": [1, 2]}]),
        json!(["stream.write", "bad-1", {"type": "A", "data": "text"}]),
        json!(["stream.write", "bad-1", {"type": "A", "data": 1}]),
        json!(["stream.write", "bad-1", {"type": "A", "data": {}, "metadata": "m"}]),
        json!(["stream.write", "bad-1", {"type": "A", "data": {}, "metadata": [1]}]),
        json!(["stream.write", "bad-1", {"type": "A", "data": {}}, "options"]),
        json!(["stream.write", "bad-1", {"type": "A", "data": {}}, {"expectedVersion": "0"}]),
        json!(["stream.write", "bad-1", {"type": "A", "data": {}}, {"expectedVersion": true}]),
    ];
    for request in cases {
        check(&s, Some(ADMIN), request, 400, code("INVALID_REQUEST"));
    }
    check(
        &s,
        Some(ADMIN),
        json!(["stream.version", "bad-1"]),
        200,
        ok(json!(null)),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["category.get", ""]),
        200,
        ok(json!([])),
    );
}

#[test]
fn null_metadata_and_null_options_are_treated_as_absent_and_extra_args_ignored() {
    let s = TestServer::test_mode();
    check(
        &s,
        Some(ADMIN),
        json!(["stream.write", "nul-1", {"type": "A", "data": {}, "metadata": null}, null]),
        200,
        ok(json!({"position": 0, "globalPosition": 1})),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["stream.write", "nul-1", {"type": "B", "data": {}, "extra": 1},
               {"condition": "x", "unknown": true}, "extra", 5]),
        200,
        ok(json!({"position": 1, "globalPosition": 2})),
    );
    let messages = s.call(ADMIN, json!(["stream.get", "nul-1"]));
    assert_eq!(
        messages[0][5],
        Value::Null,
        "metadata stored as null: {messages}"
    );
    assert_eq!(
        messages[1][5],
        Value::Null,
        "absent metadata stored as null: {messages}"
    );
}

#[test]
fn payloads_round_trip_exactly() {
    let s = TestServer::test_mode();
    let data_text = r#"{"big":12345678901234567890,"neg":-9007199254740993,"int":42,"zero":0,
        "float":1.5,"negf":-0.25,"text":"héllo 👋 日本 \"quoted\" \\ \n tab\t","empty":"",
        "t":true,"f":false,"nothing":null,"nested":{"a":{"b":[1,"two",3.5,null,{"c":[]}]}},
        "emptyObj":{},"emptyArr":[],"mixed":[1,"x",false,null,{"k":"v"},[2]]}"#;
    let meta_text = r#"{"correlationStreamName":"workflow-1","n":42,"s":"","u":"ü","nul":null}"#;
    let body = format!(
        r#"["stream.write","json-1",{{"type":"Exact","data":{data_text},"metadata":{meta_text}}}]"#
    );
    let response = s.send(
        crate::harness::Request::post("/rpc")
            .bearer(ADMIN)
            .body(body),
    );
    positions(&response.ok_json());
    let data: Value = serde_json::from_str(data_text).expect("data");
    let meta: Value = serde_json::from_str(meta_text).expect("meta");

    let read = s.send(
        crate::harness::Request::post("/rpc")
            .bearer(ADMIN)
            .json(&json!(["stream.get", "json-1"])),
    );
    let messages = read.ok_json();
    assert_eq!(
        messages[0][4], data,
        "data must round-trip as an equal JSON value"
    );
    assert_eq!(
        messages[0][5], meta,
        "metadata must round-trip as an equal JSON value"
    );
    let raw = read.text();
    assert!(
        raw.contains("12345678901234567890"),
        "big integer kept exactly: {raw}"
    );
    assert!(
        raw.contains("-9007199254740993"),
        "integer beyond 2^53 kept exactly: {raw}"
    );
    assert!(!raw.contains("42.0"), "integers stay integers: {raw}");
    // serde_json keeps integer and float numbers apart, so this also checks 42 is not 42.0.
    assert!(messages[0][4]["int"].is_u64());
    assert!(messages[0][5]["n"].is_u64());

    let last = s.call(ADMIN, json!(["stream.last", "json-1"]));
    assert_eq!(last[4], data);
    let category = s.call(ADMIN, json!(["category.get", "json"]));
    assert_eq!(category[0][5], data);
    assert_eq!(category[0][6], meta);
}

#[test]
fn message_time_is_current_utc_in_wire_format() {
    let s = TestServer::test_mode();
    write(&s, ADMIN, "time-1", "A", json!({}));
    write(&s, ADMIN, "time-1", "B", json!({}));
    let messages = s.call(ADMIN, json!(["stream.get", "time-1"]));
    for m in messages.as_array().expect("array") {
        assert_time(&m[6]);
    }
    let category = s.call(ADMIN, json!(["category.get", "time"]));
    assert_time(&category[0][7]);
}

#[test]
fn stream_names_without_a_dash_or_with_many_dashes_are_ordinary_streams() {
    let s = TestServer::test_mode();
    for (stream, expected_gp) in [
        ("ledger", 1),
        ("user-a-b", 2),
        ("order-9+refund", 3),
        ("billing:cmd-5", 4),
        ("cart-", 5),
    ] {
        check(
            &s,
            Some(ADMIN),
            json!(["stream.write", stream, {"type": "T", "data": {"s": stream}}]),
            200,
            ok(json!({"position": 0, "globalPosition": expected_gp})),
        );
        check(
            &s,
            Some(ADMIN),
            json!(["stream.version", stream]),
            200,
            ok(json!(0)),
        );
        let messages = s.call(ADMIN, json!(["stream.get", stream]));
        assert_eq!(messages[0][4], json!({"s": stream}));
    }
}
