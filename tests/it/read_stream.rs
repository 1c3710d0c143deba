//! `stream.get`, `stream.last`, `stream.version` (§3.2–3.4).

use serde_json::{json, Value};

use crate::harness::{assert_lower_uuid, assert_time, check, code, ok, write, TestServer, ADMIN};

/// Positions of a list of 7-element stream messages.
fn stream_positions(messages: &Value) -> Vec<i64> {
    messages
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {messages}"))
        .iter()
        .map(|m| {
            m[2].as_i64()
                .unwrap_or_else(|| panic!("position not an integer: {m}"))
        })
        .collect()
}

fn seeded(n: usize) -> TestServer {
    let s = TestServer::test_mode();
    for i in 0..n {
        write(&s, ADMIN, "read-1", &format!("T{}", i % 2), json!({"i": i}));
    }
    s
}

#[test]
fn missing_streams_read_as_empty_and_null() {
    let s = TestServer::test_mode();
    check(
        &s,
        Some(ADMIN),
        json!(["stream.get", "nope-1"]),
        200,
        ok(json!([])),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["stream.version", "nope-1"]),
        200,
        ok(json!(null)),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["stream.last", "nope-1"]),
        200,
        ok(json!(null)),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["stream.last", "nope-1", {"type": "T"}]),
        200,
        ok(json!(null)),
    );
}

#[test]
fn stream_messages_are_seven_element_arrays_in_position_order() {
    let s = TestServer::test_mode();
    write(&s, ADMIN, "other-1", "Noise", json!({}));
    s.call(
        ADMIN,
        json!(["stream.write", "shape-1", {"type": "First", "data": {"a": 1},
               "metadata": {"correlationStreamName": "wf-1"}}]),
    );
    write(&s, ADMIN, "shape-1", "Second", json!({"b": 2}));
    let messages = s.call(ADMIN, json!(["stream.get", "shape-1"]));
    let list = messages.as_array().expect("array");
    assert_eq!(list.len(), 2);
    let expected = [
        (
            "First",
            0,
            2,
            json!({"a": 1}),
            json!({"correlationStreamName": "wf-1"}),
        ),
        ("Second", 1, 3, json!({"b": 2}), Value::Null),
    ];
    for (m, (kind, pos, gpos, data, meta)) in list.iter().zip(expected) {
        let m = m.as_array().expect("message is an array");
        assert_eq!(m.len(), 7, "stream messages have 7 elements: {m:?}");
        assert_lower_uuid(m[0].as_str().expect("id"));
        assert_eq!(m[1], json!(kind));
        assert!(
            m[2].is_i64() && m[3].is_i64(),
            "positions are integers: {m:?}"
        );
        assert_eq!((m[2].as_i64(), m[3].as_i64()), (Some(pos), Some(gpos)));
        assert_eq!(m[4], data);
        assert_eq!(m[5], meta);
        assert_time(&m[6]);
    }
    let raw = s.rpc(ADMIN, &json!(["stream.get", "shape-1"])).text();
    assert!(!raw.contains(".0,"), "positions must not be floats: {raw}");
}

#[test]
fn position_and_batch_size_select_a_window() {
    let s = seeded(6);
    let get = |opts: Value| stream_positions(&s.call(ADMIN, json!(["stream.get", "read-1", opts])));
    assert_eq!(get(json!({})), [0, 1, 2, 3, 4, 5]);
    assert_eq!(get(json!({"position": 2})), [2, 3, 4, 5]);
    assert_eq!(get(json!({"position": 1, "batchSize": 2})), [1, 2]);
    assert_eq!(get(json!({"position": 5})), [5]);
    assert_eq!(get(json!({"position": 6})), Vec::<i64>::new());
    assert_eq!(get(json!({"position": 1000})), Vec::<i64>::new());
    assert_eq!(get(json!({"position": -3})), [0, 1, 2, 3, 4, 5]);
    assert_eq!(get(json!({"batchSize": 0})), Vec::<i64>::new());
    assert_eq!(get(json!({"batchSize": -1})), [0, 1, 2, 3, 4, 5]);
    assert_eq!(get(json!({"batchSize": 10000})), [0, 1, 2, 3, 4, 5]);
    assert_eq!(get(json!({"batchSize": 1})), [0]);
    assert_eq!(
        get(json!({"position": 2, "unknownOption": "x", "condition": "1=1"})),
        [2, 3, 4, 5]
    );
}

#[test]
fn global_position_option_filters_by_global_position_and_overrides_position() {
    let s = TestServer::test_mode();
    // Interleave two streams so stream and global positions differ.
    for i in 0..4 {
        write(&s, ADMIN, "gp-1", "A", json!({"i": i}));
        write(&s, ADMIN, "gp-2", "B", json!({"i": i}));
    }
    // gp-1 holds global positions 1, 3, 5, 7.
    let get = |opts: Value| s.call(ADMIN, json!(["stream.get", "gp-1", opts]));
    let from_four = get(json!({"globalPosition": 4}));
    assert_eq!(stream_positions(&from_four), [2, 3]);
    assert_eq!(from_four[0][3], json!(5));
    assert_eq!(
        stream_positions(&get(json!({"globalPosition": 4, "position": 0}))),
        [2, 3]
    );
    assert_eq!(
        stream_positions(&get(json!({"globalPosition": 3, "batchSize": 1}))),
        [1]
    );
    assert_eq!(
        stream_positions(&get(json!({"globalPosition": 8}))),
        Vec::<i64>::new()
    );
}

#[test]
fn batch_size_default_is_1000_and_minus_one_means_unlimited() {
    let s = seeded(1001);
    assert_eq!(
        stream_positions(&s.call(ADMIN, json!(["stream.get", "read-1"]))).len(),
        1000
    );
    let all = stream_positions(&s.call(ADMIN, json!(["stream.get", "read-1", {"batchSize": -1}])));
    assert_eq!(all, (0..1001).collect::<Vec<i64>>());
    let max =
        stream_positions(&s.call(ADMIN, json!(["stream.get", "read-1", {"batchSize": 10000}])));
    assert_eq!(max.len(), 1001);
    let cat = s.call(ADMIN, json!(["category.get", "read"]));
    assert_eq!(cat.as_array().expect("array").len(), 1000);
    let cat_all = s.call(ADMIN, json!(["category.get", "read", {"batchSize": -1}]));
    assert_eq!(cat_all.as_array().expect("array").len(), 1001);
}

#[test]
fn batch_size_out_of_range_is_an_invalid_request_naming_batch_size() {
    let s = seeded(2);
    for bad in [json!(10001), json!(100000), json!(-2), json!(-100)] {
        for method in ["stream.get", "category.get"] {
            let target = if method == "stream.get" {
                "read-1"
            } else {
                "read"
            };
            let body = check(
                &s,
                Some(ADMIN),
                json!([method, target, {"batchSize": bad}]),
                400,
                code("INVALID_REQUEST"),
            );
            if bad == json!(10001) || bad == json!(100000) {
                let message = body["error"]["message"].as_str().unwrap_or_default();
                assert!(
                    message.to_lowercase().contains("batchsize"),
                    "message must mention batchSize: {body}"
                );
            }
        }
    }
    for bad in [json!("10"), json!(true), json!({}), json!([1])] {
        check(
            &s,
            Some(ADMIN),
            json!(["stream.get", "read-1", {"batchSize": bad}]),
            400,
            code("INVALID_REQUEST"),
        );
        check(
            &s,
            Some(ADMIN),
            json!(["stream.get", "read-1", {"position": bad}]),
            400,
            code("INVALID_REQUEST"),
        );
    }
}

#[test]
fn null_options_are_absent_and_extra_arguments_ignored() {
    let s = seeded(3);
    let all = json!([0, 1, 2]);
    let positions = |req: Value| json!(stream_positions(&s.call(ADMIN, req)));
    assert_eq!(positions(json!(["stream.get", "read-1", null])), all);
    assert_eq!(
        positions(json!(["stream.get", "read-1", {}, "extra", 1, null])),
        all
    );
    assert_eq!(
        s.call(ADMIN, json!(["stream.last", "read-1", null]))[2],
        json!(2)
    );
    assert_eq!(
        s.call(ADMIN, json!(["stream.version", "read-1", "extra"])),
        json!(2)
    );
    assert_eq!(
        s.call(ADMIN, json!(["category.get", "read", null]))
            .as_array()
            .expect("array")
            .len(),
        3
    );
}

#[test]
fn stream_last_returns_the_highest_position_optionally_of_one_type() {
    let s = seeded(5); // types T0, T1, T0, T1, T0
    let last = s.call(ADMIN, json!(["stream.last", "read-1"]));
    let m = last
        .as_array()
        .expect("stream.last returns one message array");
    assert_eq!(m.len(), 7);
    assert_eq!(
        (m[1].clone(), m[2].clone(), m[4].clone()),
        (json!("T0"), json!(4), json!({"i": 4}))
    );
    assert_time(&m[6]);
    let t1 = s.call(ADMIN, json!(["stream.last", "read-1", {"type": "T1"}]));
    assert_eq!((t1[1].clone(), t1[2].clone()), (json!("T1"), json!(3)));
    // An empty type is no filter.
    let any = s.call(ADMIN, json!(["stream.last", "read-1", {"type": ""}]));
    assert_eq!(any[2], json!(4));
    check(
        &s,
        Some(ADMIN),
        json!(["stream.last", "read-1", {"type": "Missing"}]),
        200,
        ok(json!(null)),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["stream.last", "read-1", {"type": "t0"}]),
        200,
        ok(json!(null)),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["stream.last", "read-1", {"type": 5}]),
        400,
        code("INVALID_REQUEST"),
    );
}

#[test]
fn stream_version_is_the_last_position_as_an_integer() {
    let s = seeded(3);
    let response = s.rpc(ADMIN, &json!(["stream.version", "read-1"]));
    assert_eq!(response.ok_json(), json!(2));
    assert_eq!(response.text().trim(), "2", "bare integer result");
}

#[test]
fn read_methods_validate_the_stream_name() {
    let s = TestServer::test_mode();
    for method in ["stream.get", "stream.last", "stream.version"] {
        for bad in [
            json!([method]),
            json!([method, 5]),
            json!([method, null]),
            json!([method, {"s": 1}]),
            json!([method, ["x"]]),
        ] {
            check(&s, Some(ADMIN), bad, 400, code("INVALID_REQUEST"));
        }
        check(
            &s,
            Some(ADMIN),
            json!([method, "ok-1", "not-an-object"]),
            if method == "stream.version" { 200 } else { 400 },
            if method == "stream.version" {
                ok(json!(null))
            } else {
                code("INVALID_REQUEST")
            },
        );
    }
}

#[test]
fn integer_options_given_as_fractions_are_truncated_toward_zero() {
    let s = seeded(4);
    let get = |opts: Value| stream_positions(&s.call(ADMIN, json!(["stream.get", "read-1", opts])));
    assert_eq!(get(json!({"position": 2.0})), [2, 3]);
    assert_eq!(get(json!({"position": 1.9, "batchSize": 2.7})), [1, 2]);
    let written = s.call(
        ADMIN,
        json!(["stream.write", "read-1", {"type": "T", "data": {}}, {"expectedVersion": 3.0}]),
    );
    assert_eq!(written["position"], json!(4));
}

#[test]
fn null_integer_options_are_invalid_requests() {
    // §2.11: integer arguments reject strings, booleans, null and objects. (Only a whole
    // options object that is null counts as absent, §2.2.)
    let s = seeded(2);
    for request in [
        json!(["stream.get", "read-1", {"batchSize": null}]),
        json!(["stream.get", "read-1", {"position": null}]),
        json!(["category.get", "read", {"position": null}]),
        json!(["stream.write", "read-1", {"type": "T", "data": {}}, {"expectedVersion": null}]),
    ] {
        check(&s, Some(ADMIN), request, 400, code("INVALID_REQUEST"));
    }
    check(
        &s,
        Some(ADMIN),
        json!(["stream.version", "read-1"]),
        200,
        ok(json!(1)),
    );
}
