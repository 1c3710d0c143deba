//! `category.get` (§3.5): 8-element messages by global position, filters and correlation.

use serde_json::{json, Value};

use crate::harness::{assert_lower_uuid, assert_time, check, code, ok, write, TestServer, ADMIN};

/// `(streamName, globalPosition)` pairs of 8-element category messages.
fn streams_and_globals(messages: &Value) -> Vec<(String, i64)> {
    messages
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {messages}"))
        .iter()
        .map(|m| {
            let m = m
                .as_array()
                .unwrap_or_else(|| panic!("message not an array: {m}"));
            assert_eq!(m.len(), 8, "category messages have 8 elements: {m:?}");
            (
                m[1].as_str().expect("stream name").to_owned(),
                m[4].as_i64().expect("global position integer"),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter().map(|(s, g)| ((*s).to_owned(), *g)).collect()
}

/// cart-1 (g1), carts-1 (g2), cart-2 (g3), Cart-1 (g4), cart-1 (g5), other (g6), cart (g7)
fn seeded() -> TestServer {
    let s = TestServer::test_mode();
    for stream in [
        "cart-1", "carts-1", "cart-2", "Cart-1", "cart-1", "other", "cart",
    ] {
        write(&s, ADMIN, stream, "T", json!({"s": stream}));
    }
    s
}

#[test]
fn category_messages_are_eight_element_arrays_in_global_order() {
    let s = TestServer::test_mode();
    s.call(
        ADMIN,
        json!(["stream.write", "shop-7", {"type": "Added", "data": {"x": 1},
               "metadata": {"correlationStreamName": "wf-1"}}]),
    );
    write(&s, ADMIN, "shop-8", "Removed", json!({"y": 2}));
    let messages = s.call(ADMIN, json!(["category.get", "shop"]));
    let list = messages.as_array().expect("array");
    assert_eq!(list.len(), 2);
    let m = list[0].as_array().expect("array message");
    assert_eq!(m.len(), 8);
    assert_lower_uuid(m[0].as_str().expect("id"));
    assert_eq!(
        &m[1..7],
        &[
            json!("shop-7"),
            json!("Added"),
            json!(0),
            json!(1),
            json!({"x": 1}),
            json!({"correlationStreamName": "wf-1"})
        ]
    );
    assert_time(&m[7]);
    let m = list[1].as_array().expect("array message");
    assert_eq!(
        &m[1..7],
        &[
            json!("shop-8"),
            json!("Removed"),
            json!(0),
            json!(2),
            json!({"y": 2}),
            Value::Null
        ]
    );
    // The id matches the one stream.get reports.
    assert_eq!(
        s.call(ADMIN, json!(["stream.get", "shop-7"]))[0][0],
        list[0][0]
    );
}

#[test]
fn category_matching_is_exact_and_case_sensitive_and_dashless_streams_are_their_own_category() {
    let s = seeded();
    let get = |cat: &str| streams_and_globals(&s.call(ADMIN, json!(["category.get", cat])));
    assert_eq!(
        get("cart"),
        pairs(&[("cart-1", 1), ("cart-2", 3), ("cart-1", 5), ("cart", 7)])
    );
    assert_eq!(get("carts"), pairs(&[("carts-1", 2)]));
    assert_eq!(get("Cart"), pairs(&[("Cart-1", 4)]));
    assert_eq!(get("other"), pairs(&[("other", 6)]));
    assert_eq!(get("car"), vec![]);
    assert_eq!(get("unknown"), vec![]);
    // A name containing '-' is never a category, even if such a stream exists.
    assert_eq!(get("cart-1"), vec![]);
    assert_eq!(get("cart-"), vec![]);
}

#[test]
fn empty_category_means_every_message_in_the_namespace() {
    let s = seeded();
    let all = streams_and_globals(&s.call(ADMIN, json!(["category.get", ""])));
    assert_eq!(
        all.iter().map(|(_, g)| *g).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6, 7]
    );
    let page = streams_and_globals(&s.call(
        ADMIN,
        json!(["category.get", "", {"position": 3, "batchSize": 2}]),
    ));
    assert_eq!(page, pairs(&[("cart-2", 3), ("Cart-1", 4)]));
}

#[test]
fn positions_are_global_and_batch_size_applies_after_filtering() {
    let s = seeded();
    let get = |opts: Value| {
        streams_and_globals(&s.call(ADMIN, json!(["category.get", "cart", opts])))
            .into_iter()
            .map(|(_, g)| g)
            .collect::<Vec<_>>()
    };
    assert_eq!(get(json!({})), [1, 3, 5, 7]);
    assert_eq!(get(json!({"position": 0})), [1, 3, 5, 7]);
    assert_eq!(get(json!({"position": 1})), [1, 3, 5, 7]);
    assert_eq!(get(json!({"position": 2})), [3, 5, 7]);
    assert_eq!(get(json!({"position": 3, "batchSize": 2})), [3, 5]);
    assert_eq!(get(json!({"globalPosition": 5})), [5, 7]);
    assert_eq!(get(json!({"globalPosition": 5, "position": 1})), [5, 7]);
    assert_eq!(get(json!({"position": 8})), Vec::<i64>::new());
    assert_eq!(get(json!({"batchSize": 0})), Vec::<i64>::new());
    assert_eq!(get(json!({"batchSize": -1})), [1, 3, 5, 7]);
    assert_eq!(get(json!({"batchSize": 10000})), [1, 3, 5, 7]);
    assert_eq!(get(json!({"batchSize": 1, "position": 4})), [5]);
}

#[test]
fn correlation_keeps_messages_whose_correlation_stream_has_exactly_that_category() {
    let s = TestServer::test_mode();
    let corr = [
        "workflow-123",
        "workflow",
        "workflows-1",
        "other-1",
        "Workflow-9",
        "workflow-7-x",
    ];
    for c in corr {
        s.call(
            ADMIN,
            json!(["stream.write", "task-1", {"type": "T", "data": {"c": c},
                   "metadata": {"correlationStreamName": c}}]),
        );
    }
    s.call(
        ADMIN,
        json!(["stream.write", "task-1", {"type": "T", "data": {"c": null}}]),
    );
    s.call(ADMIN, json!(["stream.write", "task-1", {"type": "T", "data": {"c": "none"}, "metadata": {"x": 1}}]));
    s.call(
        ADMIN,
        json!(["stream.write", "task-1", {"type": "T", "data": {"c": "num"},
        "metadata": {"correlationStreamName": 5}}]),
    );
    let correlated = |opts: Value| -> Vec<Value> {
        s.call(ADMIN, json!(["category.get", "task", opts]))
            .as_array()
            .expect("array")
            .iter()
            .map(|m| m[5]["c"].clone())
            .collect()
    };
    assert_eq!(
        correlated(json!({"correlation": "workflow"})),
        [
            json!("workflow-123"),
            json!("workflow"),
            json!("workflow-7-x")
        ]
    );
    assert_eq!(
        correlated(json!({"correlation": "Workflow"})),
        [json!("Workflow-9")]
    );
    assert_eq!(
        correlated(json!({"correlation": "workflows"})),
        [json!("workflows-1")]
    );
    assert_eq!(
        correlated(json!({"correlation": "work"})),
        Vec::<Value>::new()
    );
    assert_eq!(
        correlated(json!({"correlation": "workflow", "batchSize": 2})),
        [json!("workflow-123"), json!("workflow")]
    );
    assert_eq!(
        correlated(json!({"correlation": "workflow", "position": 3})),
        [json!("workflow-7-x")]
    );
    // "" is no filter.
    assert_eq!(correlated(json!({"correlation": ""})).len(), 9);
    // The empty category works too.
    let all = s.call(ADMIN, json!(["category.get", "", {"correlation": "other"}]));
    assert_eq!(all.as_array().expect("array").len(), 1);
    check(
        &s,
        Some(ADMIN),
        json!(["category.get", "task", {"correlation": 5}]),
        400,
        code("INVALID_REQUEST"),
    );
}

#[test]
fn category_arguments_are_validated() {
    let s = seeded();
    for bad in [
        json!(["category.get"]),
        json!(["category.get", 5]),
        json!(["category.get", null]),
        json!(["category.get", ["cart"]]),
        json!(["category.get", "cart", "opts"]),
        json!(["category.get", "cart", {"position": "1"}]),
        json!(["category.get", "cart", {"globalPosition": true}]),
        json!(["category.get", "cart", {"batchSize": 10001}]),
    ] {
        check(&s, Some(ADMIN), bad, 400, code("INVALID_REQUEST"));
    }
    check(
        &s,
        Some(ADMIN),
        json!(["category.get", "cart", {"position": 100}]),
        200,
        ok(json!([])),
    );
}
