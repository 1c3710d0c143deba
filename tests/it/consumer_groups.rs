//! Consumer groups in `category.get` (§3.5, §4): bit-exact MD5 membership and validation.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::harness::{check, code, ok, write, TestServer, ADMIN};

/// Streams of category `cg`, with their expected member for sizes 2, 3 and 4 (§4 table).
const CASES: &[(&str, [u64; 3])] = &[
    ("cg-123", [1, 1, 3]),
    ("cg-123+retry", [1, 1, 3]),
    ("cg-abc", [0, 2, 0]),
    ("cg-stream0", [0, 1, 0]),
    ("cg-00000000-0000-0000-0000-000000000001", [0, 0, 0]),
    ("cg-é", [0, 2, 2]),
    ("cg-", [0, 2, 0]),
    ("cg-+y", [0, 2, 0]),
];

fn streams_of(messages: &Value) -> Vec<String> {
    messages
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {messages}"))
        .iter()
        .map(|m| m[1].as_str().expect("stream name").to_owned())
        .collect()
}

fn seeded() -> TestServer {
    let s = TestServer::test_mode();
    for (stream, _) in CASES {
        write(&s, ADMIN, stream, "T", json!({}));
    }
    // A stream without '-' belongs to no member.
    write(&s, ADMIN, "cg", "T", json!({}));
    s
}

#[test]
fn membership_follows_the_worked_examples_and_partitions_the_category() {
    let s = seeded();
    for (size_index, size) in [2u64, 3, 4].into_iter().enumerate() {
        let mut seen: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for member in 0..size {
            let got = s.call(
                ADMIN,
                json!(["category.get", "cg", {"consumerGroup": {"member": member, "size": size}}]),
            );
            for stream in streams_of(&got) {
                seen.entry(stream).or_default().push(member);
            }
        }
        for (stream, members) in CASES {
            assert_eq!(
                seen.get(*stream).cloned().unwrap_or_default(),
                vec![members[size_index]],
                "{stream} with group size {size}"
            );
        }
        assert!(
            !seen.contains_key("cg"),
            "dash-less stream must belong to no member: {seen:?}"
        );
        assert_eq!(seen.len(), CASES.len());
    }
    // Without a group the dash-less stream is in its own category as usual.
    assert_eq!(
        streams_of(&s.call(ADMIN, json!(["category.get", "cg"]))).len(),
        CASES.len() + 1
    );
}

#[test]
fn cardinal_ids_one_to_four_alternate_between_two_members() {
    let s = TestServer::test_mode();
    for i in 1..=4 {
        write(&s, ADMIN, &format!("sdk-{i}"), "T", json!({"i": i}));
    }
    let member = |m: u64| {
        streams_of(&s.call(
            ADMIN,
            json!(["category.get", "sdk", {"consumerGroup": {"member": m, "size": 2}}]),
        ))
    };
    assert_eq!(member(0), ["sdk-1", "sdk-3"]);
    assert_eq!(member(1), ["sdk-2", "sdk-4"]);
    // Combined with position and batchSize (applied after filtering).
    let page = s.call(
        ADMIN,
        json!(["category.get", "sdk", {"position": 2, "batchSize": 1,
        "consumerGroup": {"member": 0, "size": 2}}]),
    );
    assert_eq!(streams_of(&page), ["sdk-3"]);
    // Size 1 puts everything in member 0.
    assert_eq!(
        streams_of(&s.call(
            ADMIN,
            json!(["category.get", "sdk", {"consumerGroup": {"member": 0, "size": 1}}])
        ))
        .len(),
        4
    );
    // An empty object means no grouping.
    assert_eq!(
        streams_of(&s.call(ADMIN, json!(["category.get", "sdk", {"consumerGroup": {}}]))).len(),
        4
    );
}

#[test]
fn consumer_groups_combine_with_correlation_and_the_empty_category() {
    let s = TestServer::test_mode();
    for (stream, corr) in [
        ("job-1", "wf-1"),
        ("job-2", "wf-2"),
        ("job-3", "other-1"),
        ("job-4", "wf-3"),
    ] {
        s.call(
            ADMIN,
            json!(["stream.write", stream, {"type": "T", "data": {},
            "metadata": {"correlationStreamName": corr}}]),
        );
    }
    let got = s.call(
        ADMIN,
        json!(["category.get", "job", {"correlation": "wf",
        "consumerGroup": {"member": 1, "size": 2}}]),
    );
    assert_eq!(streams_of(&got), ["job-2", "job-4"]);
    let all = s.call(
        ADMIN,
        json!(["category.get", "", {"consumerGroup": {"member": 0, "size": 2}}]),
    );
    assert_eq!(streams_of(&all), ["job-1", "job-3"]);
}

#[test]
fn invalid_consumer_groups_are_rejected() {
    let s = seeded();
    for group in [
        json!("group"),
        json!(5),
        json!([0, 2]),
        json!({"member": "0", "size": 2}),
        json!({"member": 0, "size": "2"}),
        json!({"member": null, "size": 2}),
        json!({"member": 0}),
        json!({"size": 2}),
        json!({"member": -1, "size": 2}),
        json!({"member": 0, "size": 0}),
        json!({"member": 0, "size": -2}),
        json!({"member": 2, "size": 2}),
        json!({"member": 5, "size": 2}),
    ] {
        check(
            &s,
            Some(ADMIN),
            json!(["category.get", "cg", {"consumerGroup": group}]),
            400,
            code("INVALID_REQUEST"),
        );
    }
    check(
        &s,
        Some(ADMIN),
        json!(["category.get", "nothing", {"consumerGroup": {"member": 1, "size": 2}}]),
        200,
        ok(json!([])),
    );
}
