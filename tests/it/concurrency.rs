//! Concurrent writers (§3.1 concurrency contract, §1.4, §1.5).

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};

use serde_json::{json, Value};

use crate::harness::{positions, write, Response, TestServer, ADMIN};

const WRITERS: usize = 32;

/// Sends `WRITERS` requests at once (released together by a barrier).
fn concurrently(
    s: &Arc<TestServer>,
    request: impl Fn(usize) -> Value + Send + Sync + 'static,
) -> Vec<Response> {
    let barrier = Arc::new(Barrier::new(WRITERS));
    let request = Arc::new(request);
    let handles: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (s, barrier, request) = (s.clone(), barrier.clone(), request.clone());
            std::thread::spawn(move || {
                let body = request(i);
                barrier.wait();
                s.rpc(ADMIN, &body)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("writer thread"))
        .collect()
}

#[test]
fn concurrent_writes_with_the_same_expected_version_have_exactly_one_winner() {
    let s = Arc::new(TestServer::test_mode());
    write(&s, ADMIN, "race-1", "Opened", json!({}));
    let responses = concurrently(
        &s,
        |i| json!(["stream.write", "race-1", {"type": "Raced", "data": {"i": i}}, {"expectedVersion": 0}]),
    );
    let winners: Vec<&Response> = responses.iter().filter(|r| r.status == 200).collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one winner: {:?}",
        responses.iter().map(Response::text).collect::<Vec<_>>()
    );
    assert_eq!(positions(&winners[0].json()).0, 1);
    for loser in responses.iter().filter(|r| r.status != 200) {
        let error = loser.assert_error(409, "STREAM_VERSION_CONFLICT");
        assert_eq!(error["details"], json!({"expected": 0, "actual": 1}));
    }
    assert_eq!(s.call(ADMIN, json!(["stream.version", "race-1"])), json!(1));
    assert_eq!(
        s.call(ADMIN, json!(["stream.get", "race-1"]))
            .as_array()
            .expect("array")
            .len(),
        2
    );
}

#[test]
fn concurrent_creations_with_expected_version_minus_one_have_exactly_one_winner() {
    let s = Arc::new(TestServer::test_mode());
    let responses = concurrently(
        &s,
        |i| json!(["stream.write", "race-2", {"type": "Created", "data": {"i": i}}, {"expectedVersion": -1}]),
    );
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    for loser in responses.iter().filter(|r| r.status != 200) {
        loser.assert_error(409, "STREAM_VERSION_CONFLICT");
    }
    assert_eq!(s.call(ADMIN, json!(["stream.version", "race-2"])), json!(0));
}

#[test]
fn concurrent_writes_without_expected_version_get_contiguous_positions() {
    let s = Arc::new(TestServer::test_mode());
    let responses = concurrently(
        &s,
        |i| json!(["stream.write", "many-1", {"type": "T", "data": {"i": i}}]),
    );
    let mut pos = BTreeSet::new();
    let mut global = BTreeSet::new();
    for r in &responses {
        let (p, g) = positions(&r.ok_json());
        pos.insert(p);
        global.insert(g);
    }
    assert_eq!(
        pos,
        (0..WRITERS as i64).collect::<BTreeSet<_>>(),
        "positions 0..31 without gaps or repeats"
    );
    assert_eq!(global.len(), WRITERS, "distinct global positions");
    let messages = s.call(ADMIN, json!(["stream.get", "many-1", {"batchSize": -1}]));
    let list = messages.as_array().expect("array");
    let read_pos: Vec<i64> = list.iter().map(|m| m[2].as_i64().expect("pos")).collect();
    assert_eq!(read_pos, (0..WRITERS as i64).collect::<Vec<_>>());
    let read_global: Vec<i64> = list.iter().map(|m| m[3].as_i64().expect("gpos")).collect();
    assert!(
        read_global.windows(2).all(|w| w[0] < w[1]),
        "global positions increase with position: {read_global:?}"
    );
    let data: BTreeSet<i64> = list
        .iter()
        .map(|m| m[4]["i"].as_i64().expect("i"))
        .collect();
    assert_eq!(data.len(), WRITERS, "every write stored once");
    assert_eq!(
        s.call(ADMIN, json!(["stream.version", "many-1"])),
        json!(WRITERS - 1)
    );
}

#[test]
fn concurrent_writes_across_streams_get_strictly_increasing_global_positions() {
    let s = Arc::new(TestServer::test_mode());
    let responses = concurrently(
        &s,
        |i| json!(["stream.write", format!("multi-{}", i % 8), {"type": "T", "data": {"i": i}}]),
    );
    let mut acked: Vec<i64> = responses
        .iter()
        .map(|r| positions(&r.ok_json()).1)
        .collect();
    acked.sort_unstable();
    acked.dedup();
    assert_eq!(acked.len(), WRITERS);
    let all = s.call(ADMIN, json!(["category.get", "multi", {"batchSize": -1}]));
    let read: Vec<i64> = all
        .as_array()
        .expect("array")
        .iter()
        .map(|m| m[4].as_i64().expect("gpos"))
        .collect();
    assert!(
        read.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing: {read:?}"
    );
    assert_eq!(
        read, acked,
        "category.get returns exactly the acknowledged writes"
    );
    for stream in 0..8 {
        let msgs = s.call(ADMIN, json!(["stream.get", format!("multi-{stream}")]));
        let p: Vec<i64> = msgs
            .as_array()
            .expect("array")
            .iter()
            .map(|m| m[2].as_i64().expect("pos"))
            .collect();
        assert_eq!(p, [0, 1, 2, 3], "multi-{stream}");
    }
}

#[test]
fn concurrent_creations_of_one_namespace_have_exactly_one_winner() {
    let s = Arc::new(TestServer::strict());
    let responses = concurrently(&s, |_| json!(["ns.create", "contested"]));
    let winners: Vec<&Response> = responses.iter().filter(|r| r.status == 200).collect();
    assert_eq!(
        winners.len(),
        1,
        "{:?}",
        responses.iter().map(Response::text).collect::<Vec<_>>()
    );
    for loser in responses.iter().filter(|r| r.status != 200) {
        loser.assert_error(409, "NAMESPACE_EXISTS");
    }
    let token = winners[0].json()["token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(
        positions(&s.call(
            &token,
            json!(["stream.write", "c-1", {"type": "T", "data": {}}])
        )),
        (0, 1)
    );
}
