//! `GET /subscribe` (PROTOCOL §5): catch-up, live pokes, the subscribe/write race, position
//! semantics, consumer groups, refusals, fan-out at 1,000 subscribers and slow subscribers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::sse::{send_subscribe, Event, Poke, Sse};
use crate::harness::{token_for, write, Request, TestServer, ADMIN};

fn poke(stream: &str, position: i64, global_position: i64) -> Poke {
    Poke {
        stream: stream.into(),
        position,
        global_position,
    }
}

#[test]
fn stream_subscription_catches_up_from_its_position_then_pokes_live() {
    let server = TestServer::test_mode();
    for i in 0..3 {
        write(&server, ADMIN, "cart-1", "Added", json!({ "i": i }));
    }
    write(&server, ADMIN, "cart-2", "Added", json!({}));
    let mut sse = Sse::open(
        server.addr(),
        "/subscribe?stream=cart-1&position=1",
        Some(ADMIN),
    )
    .ready();
    // Catch-up: stream positions 1 and 2 (stream positions, not global ones).
    assert_eq!(sse.next_poke(), poke("cart-1", 1, 2));
    assert_eq!(sse.next_poke(), poke("cart-1", 2, 3));
    // Live: another stream is not poked; this one is.
    write(&server, ADMIN, "cart-2", "Added", json!({}));
    write(&server, ADMIN, "cart-1", "Added", json!({}));
    assert_eq!(sse.next_poke(), poke("cart-1", 3, 6));
}

#[test]
fn category_subscription_uses_global_positions() {
    let server = TestServer::test_mode();
    write(&server, ADMIN, "cart-1", "A", json!({}));
    write(&server, ADMIN, "order-1", "A", json!({}));
    write(&server, ADMIN, "cart-2", "A", json!({}));
    let mut sse = Sse::open(
        server.addr(),
        "/subscribe?category=cart&position=2",
        Some(ADMIN),
    )
    .ready();
    assert_eq!(sse.next_poke(), poke("cart-2", 0, 3));
    write(&server, ADMIN, "order-2", "A", json!({}));
    write(&server, ADMIN, "cart-1", "A", json!({}));
    assert_eq!(sse.next_poke(), poke("cart-1", 1, 5));
}

#[test]
fn all_never_replays_history_and_filters_by_global_position() {
    let server = TestServer::test_mode();
    for i in 0..3 {
        write(&server, ADMIN, &format!("a-{i}"), "A", json!({}));
    }
    // Position 1 is behind existing messages: still, the first poke is the next new write.
    let mut sse = Sse::open(server.addr(), "/subscribe?all=true&position=1", Some(ADMIN)).ready();
    write(&server, ADMIN, "b-1", "A", json!({}));
    assert_eq!(sse.next_poke(), poke("b-1", 0, 4));
    // A position ahead of the log holds pokes back until writes reach it.
    let mut ahead = Sse::open(server.addr(), "/subscribe?all=true&position=6", Some(ADMIN)).ready();
    write(&server, ADMIN, "b-1", "A", json!({}));
    write(&server, ADMIN, "b-2", "A", json!({}));
    assert_eq!(ahead.next_poke(), poke("b-2", 0, 6));
    assert_eq!(sse.next_poke(), poke("b-1", 1, 5));
    assert_eq!(sse.next_poke(), poke("b-2", 0, 6));
}

#[test]
fn a_write_racing_the_subscription_is_poked_exactly_once_in_order() {
    let server = TestServer::test_mode();
    for round in 0..5 {
        let stream = format!("race-{round}");
        write(&server, ADMIN, &stream, "A", json!({}));
        // Send the subscription and write at once, before reading anything back.
        let socket = send_subscribe(
            server.addr(),
            &format!("/subscribe?stream={stream}"),
            Some(ADMIN),
        );
        let writer = {
            let addr = server.addr();
            let stream = stream.clone();
            thread::spawn(move || {
                for _ in 0..20 {
                    let body = json!(["stream.write", stream, {"type": "A", "data": {}}]);
                    let r = Request::post("/rpc").bearer(ADMIN).json(&body).send(addr);
                    assert_eq!(r.status, 200, "{}", r.text());
                }
            })
        };
        let mut sse = Sse::from_stream(socket).ready();
        let positions: Vec<i64> = (0..21).map(|_| sse.next_poke().position).collect();
        assert_eq!(positions, (0..21).collect::<Vec<_>>(), "round {round}");
        writer.join().unwrap();
    }
}

#[test]
fn consumer_group_members_split_a_category_and_catch_up_agrees_with_live() {
    let server = TestServer::test_mode();
    let streams: Vec<String> = (1..=9)
        .map(|i| format!("grp-{i}"))
        .chain(["grp-1+retry".into(), "grp-5+x".into(), "grp".into()])
        .collect();
    // Half before subscribing (catch-up), half after (live).
    for s in &streams {
        write(&server, ADMIN, s, "Before", json!({}));
    }
    let mut members: Vec<Sse> = (0..3)
        .map(|m| {
            let path = format!("/subscribe?category=grp&consumer={m}&size=3");
            Sse::open(server.addr(), &path, Some(ADMIN)).ready()
        })
        .collect();
    for s in &streams {
        write(&server, ADMIN, s, "After", json!({}));
    }
    let mut owner: BTreeMap<String, usize> = BTreeMap::new();
    for (m, sse) in members.iter_mut().enumerate() {
        // What category.get says this member owns: the pokes must be exactly those messages.
        let expected = server.call(
            ADMIN,
            json!(["category.get", "grp", {"consumerGroup": {"member": m, "size": 3}}]),
        );
        let expected: Vec<Poke> = expected
            .as_array()
            .unwrap()
            .iter()
            .map(|msg| {
                poke(
                    msg[1].as_str().unwrap(),
                    msg[3].as_i64().unwrap(),
                    msg[4].as_i64().unwrap(),
                )
            })
            .collect();
        let got: Vec<Poke> = (0..expected.len()).map(|_| sse.next_poke()).collect();
        assert_eq!(got, expected, "member {m}");
        for p in got {
            let previous = owner.insert(p.stream.clone(), m);
            assert!(
                previous.is_none() || previous == Some(m),
                "{} reached two members",
                p.stream
            );
        }
    }
    // Every stream with an id reached exactly one member; the dash-less one reached none.
    let reached: BTreeSet<&str> = owner.keys().map(String::as_str).collect();
    let with_id: BTreeSet<&str> = streams
        .iter()
        .map(String::as_str)
        .filter(|s| s.contains('-'))
        .collect();
    assert_eq!(reached, with_id);
    assert_eq!(
        owner["grp-1+retry"], owner["grp-1"],
        "compound ids follow their cardinal id"
    );
    assert_eq!(owner["grp-5+x"], owner["grp-5"]);
    let used: BTreeSet<usize> = owner.values().copied().collect();
    assert!(
        used.len() >= 2,
        "9 cardinal ids over 3 members used only {used:?}"
    );
}

#[test]
fn bad_parameters_are_plain_text_400s() {
    let server = TestServer::test_mode();
    for query in [
        "",
        "?all=yes",
        "?all=true&stream=a-1",
        "?all=true&category=a",
        "?stream=a-1&category=a",
        "?stream=a-1&position=abc",
        "?category=a&consumer=x&size=2",
        "?category=a&consumer=1&size=y",
        "?category=a&consumer=3&size=3",
        "?category=a&consumer=-1&size=3",
        "?category=a&consumer=1",
    ] {
        let response = server.send(Request::get(&format!("/subscribe{query}")).bearer(ADMIN));
        assert_eq!(response.status, 400, "{query}: {}", response.text());
        let content_type = response.content_type().unwrap_or_default();
        assert!(
            content_type.starts_with("text/plain"),
            "{query}: {content_type}"
        );
        assert!(!response.text().trim().is_empty(), "{query}: empty reason");
    }
    // The server keeps serving.
    Sse::open(server.addr(), "/subscribe?all=true", Some(ADMIN)).ready();
}

#[test]
fn credentials_are_checked_like_rpc() {
    let server = TestServer::strict();
    let get = |path: &str, token: Option<&str>| {
        let request = Request::get(path);
        server.send(match token {
            Some(t) => request.bearer(t),
            None => request,
        })
    };
    get("/subscribe?all=true", None).assert_error(401, "AUTH_REQUIRED");
    get("/subscribe?all=true", Some("nonsense")).assert_error(401, "AUTH_INVALID_TOKEN");
    get("/subscribe?all=true", Some(&token_for("ghost", '1')))
        .assert_error(403, "AUTH_UNAUTHORIZED");
    get("/subscribe?all=true", Some(&token_for("default", '7')))
        .assert_error(403, "AUTH_UNAUTHORIZED");
    // The token query parameter wins over the header, as on /rpc.
    let mut sse = Sse::open(
        server.addr(),
        &format!("/subscribe?all=true&token={ADMIN}"),
        Some("nonsense"),
    )
    .ready();
    write(&server, ADMIN, "q-1", "A", json!({}));
    assert_eq!(sse.next_poke(), poke("q-1", 0, 1));
}

#[test]
fn an_unknown_namespace_in_test_mode_is_404() {
    let server = TestServer::builder().relaxed().start();
    let response =
        server.send(Request::get("/subscribe?all=true").bearer(&token_for("ghost", '1')));
    response.assert_error(404, "NAMESPACE_NOT_FOUND");
}

#[test]
fn namespaces_do_not_hear_each_other() {
    let server = TestServer::test_mode();
    let created = server.call(ADMIN, json!(["ns.create", "tenant-a"]));
    let tenant = created["token"].as_str().unwrap().to_owned();
    let mut admin = Sse::open(server.addr(), "/subscribe?all=true", Some(ADMIN)).ready();
    let mut other = Sse::open(server.addr(), "/subscribe?all=true", Some(&tenant)).ready();
    write(&server, &tenant, "t-1", "A", json!({}));
    write(&server, ADMIN, "d-1", "A", json!({}));
    assert_eq!(other.next_poke(), poke("t-1", 0, 1));
    assert_eq!(admin.next_poke(), poke("d-1", 0, 1));
}

#[test]
fn idle_subscriptions_get_keepalive_comments() {
    let server = TestServer::builder().arg("--sse-keepalive=1").start();
    let mut sse = Sse::open(server.addr(), "/subscribe?all=true", Some(ADMIN)).ready();
    assert_eq!(sse.next_event(), Some(Event::Comment("keepalive".into())));
}

#[test]
fn shutdown_ends_open_subscriptions_promptly() {
    let mut server = TestServer::test_mode();
    let mut subs: Vec<Sse> = (0..50)
        .map(|i| {
            Sse::open(
                server.addr(),
                &format!("/subscribe?stream=s-{i}"),
                Some(ADMIN),
            )
            .ready()
        })
        .collect();
    let (status, took) = server.terminate();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        took < Duration::from_secs(2),
        "shutdown took {took:?} with open subscriptions"
    );
    for sse in &mut subs {
        assert_eq!(sse.next_event(), None, "the event stream ends at shutdown");
    }
}

/// 1,000 concurrent subscribers while 4 writers append: each receives every poke it should,
/// in order, exactly once.
#[test]
fn fan_out_to_a_thousand_subscribers() {
    const SUBSCRIBERS: usize = 1000;
    const WRITERS: usize = 4;
    const PER_WRITER: i64 = 25;
    let server = TestServer::test_mode();
    let addr = server.addr();
    let ready = Arc::new(Barrier::new(SUBSCRIBERS + 1));
    let (results, collected) = mpsc::channel::<(usize, Vec<Poke>)>();
    let mut handles = Vec::new();
    for i in 0..SUBSCRIBERS {
        let ready = ready.clone();
        let results = results.clone();
        let handle = thread::Builder::new()
            .stack_size(128 * 1024)
            .spawn(move || {
                let (path, expected) = match i % 3 {
                    0 => (
                        "/subscribe?all=true".to_owned(),
                        WRITERS as i64 * PER_WRITER,
                    ),
                    1 => (
                        "/subscribe?category=fan".to_owned(),
                        WRITERS as i64 * PER_WRITER,
                    ),
                    _ => (
                        format!("/subscribe?stream=fan-w{}", i % WRITERS),
                        PER_WRITER,
                    ),
                };
                let mut sse = Sse::open(addr, &path, Some(ADMIN)).ready();
                ready.wait();
                let pokes: Vec<Poke> = (0..expected).map(|_| sse.next_poke()).collect();
                results.send((i, pokes)).unwrap();
            })
            .unwrap();
        handles.push(handle);
    }
    ready.wait();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            thread::spawn(move || {
                for _ in 0..PER_WRITER {
                    let body =
                        json!(["stream.write", format!("fan-w{w}"), {"type": "A", "data": {}}]);
                    let r = Request::post("/rpc").bearer(ADMIN).json(&body).send(addr);
                    assert_eq!(r.status, 200, "{}", r.text());
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    drop(results);
    let mut seen = 0;
    for (i, pokes) in collected {
        seen += 1;
        match i % 3 {
            0 | 1 => {
                let globals: Vec<i64> = pokes.iter().map(|p| p.global_position).collect();
                let want: Vec<i64> = (1..=WRITERS as i64 * PER_WRITER).collect();
                assert_eq!(globals, want, "subscriber {i}");
            }
            _ => {
                let stream = format!("fan-w{}", i % WRITERS);
                assert!(pokes.iter().all(|p| p.stream == stream), "subscriber {i}");
                let positions: Vec<i64> = pokes.iter().map(|p| p.position).collect();
                assert_eq!(
                    positions,
                    (0..PER_WRITER).collect::<Vec<_>>(),
                    "subscriber {i}"
                );
            }
        }
    }
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(seen, SUBSCRIBERS);
}

/// A client that stops reading does not slow writers or other subscribers; when it resumes it
/// receives what was buffered and then one coalesced poke with the newest position.
#[test]
fn a_stuck_subscriber_is_coalesced_not_dropped_silently() {
    const WRITES: i64 = 3000;
    let server = TestServer::test_mode();
    let addr = server.addr();
    // Long stream names make each poke ~4 KB, so socket buffers fill after a few thousand.
    let padding = "x".repeat(4000);
    let mut stuck = Sse::open(addr, "/subscribe?all=true", Some(ADMIN)).ready();
    let fast = Sse::open(addr, "/subscribe?all=true", Some(ADMIN)).ready();
    let reader = thread::spawn(move || {
        let mut fast = fast;
        (0..WRITES)
            .map(|_| fast.next_poke().global_position)
            .collect::<Vec<i64>>()
    });
    let mut last = 0;
    for i in 0..WRITES {
        let body = json!(["stream.write", format!("slow-{i}{padding}"), {"type": "A", "data": {}}]);
        let response = server.rpc(ADMIN, &body);
        assert_eq!(response.status, 200, "{}", response.text());
        last = response.json()["globalPosition"].as_i64().unwrap();
    }
    assert_eq!(reader.join().unwrap(), (1..=WRITES).collect::<Vec<i64>>());

    let mut globals = Vec::new();
    loop {
        let p = stuck.next_poke();
        globals.push(p.global_position);
        if p.global_position == last {
            break;
        }
    }
    assert!(
        globals.windows(2).all(|w| w[0] < w[1]),
        "pokes out of order"
    );
    assert!(
        (globals.len() as i64) < WRITES,
        "expected coalescing, but all {} pokes were delivered",
        globals.len()
    );
    // Still live afterwards.
    write(
        &server,
        ADMIN,
        "after-1",
        "A",
        Value::Object(Default::default()),
    );
    assert_eq!(stuck.next_poke(), poke("after-1", 0, last + 1));
}
