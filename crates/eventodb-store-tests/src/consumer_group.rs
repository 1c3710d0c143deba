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
