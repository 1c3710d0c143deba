//! Consumer-group filtering of category reads (PROTOCOL §4).

use std::collections::HashMap;
use std::sync::Arc;

use eventodb_protocol::ConsumerGroup;
use eventodb_store::{CategoryRead, Store};

use crate::support::*;

fn member_read(category_name: &str, member: i64, size: i64) -> CategoryRead {
    CategoryRead {
        consumer_group: ConsumerGroup::new(member, size),
        ..category(category_name)
    }
}

/// Every stream with an id lands in exactly one member of 3; compound ids stay with their
/// cardinal id; dash-less streams belong to no member.
pub async fn members_partition_the_category<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "group").await;
    let mut names: Vec<String> = (0..30).map(|i| format!("x-{i}")).collect();
    names.extend(["x-1+a", "x-1+b", "x-7+z", "x-", "x-+y", "x-é"].map(String::from));
    for name in &names {
        write(s, &ns, name).await;
    }
    write(s, &ns, "x").await; // no id: no member
    write(s, &ns, "y-1").await; // other category

    let mut owner: HashMap<String, i64> = HashMap::new();
    let mut total = 0;
    for member in 0..3 {
        let got = read_category(s, &ns, member_read("x", member, 3)).await;
        assert!(globals(&got).windows(2).all(|w| w[0] < w[1]));
        for m in &got {
            assert_ne!(
                m.stream_name, "x",
                "a dash-less stream belongs to no member"
            );
            assert!(m.stream_name.starts_with("x-"));
            if let Some(previous) = owner.insert(m.stream_name.clone(), member) {
                assert_eq!(previous, member, "{} in two members", m.stream_name);
            }
        }
        total += got.len();
    }
    assert_eq!(
        total,
        names.len(),
        "every message with an id is in exactly one member"
    );
    for name in &names {
        assert!(owner.contains_key(name), "{name} is in no member");
    }
    assert_eq!(owner["x-1+a"], owner["x-1"]);
    assert_eq!(owner["x-1+b"], owner["x-1"]);
    assert_eq!(owner["x-7+z"], owner["x-7"]);
    assert_eq!(owner["x-+y"], owner["x-"]);
    // Bit-exact with Message DB's hash (PROTOCOL §4 table): empty cardinal id → member 2 of 3,
    // `é` → 2 of 3.
    assert_eq!(owner["x-"], 2);
    assert_eq!(owner["x-é"], 2);
    // Size 1: everything with an id.
    assert_eq!(
        read_category(s, &ns, member_read("x", 0, 1)).await.len(),
        names.len()
    );
}

/// Assignments agree with the worked examples of PROTOCOL §4 (signed hash, absolute value).
pub async fn members_match_message_db<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "grouphash").await;
    // (stream, member of 2, member of 3, member of 4)
    let table: [(&str, i64, i64, i64); 7] = [
        ("account-123", 1, 1, 3),
        ("account-123+retry", 1, 1, 3),
        ("account-abc", 0, 2, 0),
        ("account-stream0", 0, 1, 0),
        ("account-00000000-0000-0000-0000-000000000001", 0, 0, 0),
        ("account-1", 0, 0, 2),
        ("account-2", 1, 1, 1),
    ];
    for (name, ..) in &table {
        write(s, &ns, name).await;
    }
    for (size, pick) in [(2, 1usize), (3, 2), (4, 3)] {
        for member in 0..size {
            let got = read_category(s, &ns, member_read("account", member, size)).await;
            let expected: Vec<&str> = table
                .iter()
                .filter(|row| {
                    let m = match pick {
                        1 => row.1,
                        2 => row.2,
                        _ => row.3,
                    };
                    m == member
                })
                .map(|row| row.0)
                .collect();
            assert_eq!(streams(&got), expected, "member {member} of {size}");
        }
    }
}

/// The limit counts messages after the group filter; start and group combine.
pub async fn group_limit_after_filtering<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "grouplimit").await;
    // Cardinal ids 1, 2, 3, 4 map to members 0, 1, 0, 1 of 2.
    let mut member0 = Vec::new();
    for round in 0..3 {
        for id in 1..=4 {
            let (_, g) = write(s, &ns, &format!("pay-{id}")).await;
            if id % 2 == 1 {
                member0.push(g);
            }
        }
        let _ = round;
    }
    let all = read_category(s, &ns, member_read("pay", 0, 2)).await;
    assert_eq!(globals(&all), member0);
    assert_eq!(
        read_category(s, &ns, member_read("pay", 1, 2)).await.len(),
        6
    );
    let limited = read_category(
        s,
        &ns,
        CategoryRead {
            limit: Some(4),
            ..member_read("pay", 0, 2)
        },
    )
    .await;
    assert_eq!(globals(&limited), member0[..4]);
    let from = read_category(
        s,
        &ns,
        CategoryRead {
            start: member0[2],
            limit: Some(2),
            ..member_read("pay", 0, 2)
        },
    )
    .await;
    assert_eq!(globals(&from), member0[2..4]);
    // Group over the whole namespace (empty category).
    let everywhere = read_category(s, &ns, member_read("", 0, 2)).await;
    assert_eq!(globals(&everywhere), member0);
}

/// Appends `n` messages to `stream` in one append.
async fn fill<S: Store>(s: &S, ns: &str, stream: &str, n: usize) {
    let messages = (0..n).map(|_| msg("Filler", "{}")).collect();
    append(s, ns, stream, messages, None)
        .await
        .unwrap_or_else(|e| panic!("append to {stream}: {e}"));
}

/// A member whose messages lie behind long runs of other members' messages gets exactly its
/// own, from any start: a backend may jump over the runs (PostgreSQL does, by the member's
/// streams), but never over a member stream that began before the start and goes on after it.
pub async fn members_read_across_long_gaps<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "groupgap").await;
    // Cardinal ids 1 and 3 are member 0 of 2; 2 and 4 are member 1.
    let (_, a) = write(s, &ns, "gap-1").await;
    fill(s, &ns, "gap-2", 300).await;
    let (_, b) = write(s, &ns, "gap-1").await;
    fill(s, &ns, "gap-4", 300).await;
    let (_, c) = write(s, &ns, "gap-3").await;
    let (_, d) = write(s, &ns, "gap-1").await;
    fill(s, &ns, "gap-2", 300).await;

    let from = |start: i64, limit: Option<u64>| CategoryRead {
        start,
        limit,
        ..member_read("gap", 0, 2)
    };
    let ns = ns.as_str();
    let read = |r: CategoryRead| async move { globals(&read_category(s, ns, r).await) };
    assert_eq!(read(from(1, None)).await, [a, b, c, d]);
    // Limits a backend may write into its statement (1, 10, 100, …) and others agree.
    assert_eq!(read(from(1, Some(10))).await, [a, b, c, d]);
    assert_eq!(read(from(1, Some(3))).await, [a, b, c]);
    assert_eq!(read(from(1, Some(1))).await, [a]);
    let plain = |limit| CategoryRead {
        start: 2,
        limit: Some(limit),
        ..category("gap")
    };
    let hundred = read(plain(100)).await;
    let more = read(plain(101)).await;
    assert_eq!(hundred.len(), 100);
    assert_eq!(hundred[..], more[..100]);
    assert_eq!(hundred[0], 2);
    assert_eq!(read(from(a + 1, Some(1))).await, [b]);
    assert_eq!(read(from(a + 1, None)).await, [b, c, d]);
    assert_eq!(read(from(b + 1, Some(2))).await, [c, d]);
    assert_eq!(read(from(d + 1, None)).await, Vec::<i64>::new());
    // The other member: its 900 messages, and from just after `c`, the last 300.
    let member1 = read_category(s, ns, member_read("gap", 1, 2)).await;
    assert_eq!(member1.len(), 900);
    let tail = read_category(
        s,
        ns,
        CategoryRead {
            start: c,
            ..member_read("gap", 1, 2)
        },
    )
    .await;
    assert_eq!(tail.len(), 300);
    assert!(tail.iter().all(|m| m.global_position > d));
}
