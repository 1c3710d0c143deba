//! Appends: positions, global positions, expected versions, atomicity, payload round-trips.

use std::sync::Arc;

use eventodb_store::{Store, StoreError, StreamStart};

use crate::support::*;

/// Positions within a stream are contiguous from 0, across single and batch appends.
pub async fn positions_are_contiguous<S: Store>(store: &Arc<S>) {
    let ns = new_namespace(&**store, "contiguous").await;
    for expected in 0..5 {
        let (p, _) = write(&**store, &ns, "cart-1").await;
        assert_eq!(p, expected);
    }
    let batch = append(
        &**store,
        &ns,
        "cart-1",
        vec![msg("A", "{}"), msg("B", "{}"), msg("C", "{}")],
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        batch.written.iter().map(|w| w.position).collect::<Vec<_>>(),
        vec![5, 6, 7]
    );
    let all = read_stream_all(&**store, &ns, "cart-1").await;
    assert_eq!(positions(&all), (0..8).collect::<Vec<_>>());
    assert_eq!(
        all[5..]
            .iter()
            .map(|m| m.message_type.as_str())
            .collect::<Vec<_>>(),
        ["A", "B", "C"]
    );
    assert_eq!(store.stream_version(&ns, "cart-1").await.unwrap(), Some(7));
    // Another stream starts at 0 again.
    assert_eq!(write(&**store, &ns, "cart-2").await.0, 0);
}

/// Global positions start at 1 and strictly increase across streams, in write order.
pub async fn global_positions_increase<S: Store>(store: &Arc<S>) {
    let ns = new_namespace(&**store, "globals").await;
    let mut last = 0;
    for i in 0..12 {
        let stream = format!("s{}-{}", i % 3, i % 4);
        let (_, g) = write(&**store, &ns, &stream).await;
        if i == 0 {
            assert_eq!(g, 1, "the first global position of a namespace is 1");
        }
        assert!(g > last, "global position {g} after {last}");
        last = g;
    }
    let all = read_category(&**store, &ns, category("")).await;
    assert_eq!(all.len(), 12);
    assert!(globals(&all).windows(2).all(|w| w[0] < w[1]));
    // A batch gets increasing global positions too.
    let batch = append(
        &**store,
        &ns,
        "x-1",
        vec![msg("A", "{}"), msg("B", "{}")],
        None,
    )
    .await
    .unwrap();
    assert!(batch.written[0].global_position > last);
    assert!(batch.written[1].global_position > batch.written[0].global_position);
}

/// `expected_version` mismatches conflict with the right figures and write nothing.
pub async fn expected_version_conflicts<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "expected").await;
    let conflict = |r: Result<_, StoreError>, e: i64, a: i64| match r {
        Err(StoreError::VersionConflict { expected, actual }) => {
            assert_eq!((expected, actual), (e, a));
        }
        other => panic!("expected a version conflict {e}/{a}, got {other:?}"),
    };
    // 0 against a new stream conflicts; so does anything below -1.
    conflict(
        append(s, &ns, "acct-1", vec![msg("A", "{}")], Some(0)).await,
        0,
        -1,
    );
    conflict(
        append(s, &ns, "acct-1", vec![msg("A", "{}")], Some(-2)).await,
        -2,
        -1,
    );
    assert_eq!(s.stream_version(&ns, "acct-1").await.unwrap(), None);
    // -1 creates.
    let first = append(s, &ns, "acct-1", vec![msg("A", "{}")], Some(-1))
        .await
        .unwrap();
    assert_eq!(first.written[0].position, 0);
    // -1 against an existing stream conflicts.
    conflict(
        append(s, &ns, "acct-1", vec![msg("A", "{}")], Some(-1)).await,
        -1,
        0,
    );
    conflict(
        append(s, &ns, "acct-1", vec![msg("A", "{}")], Some(1)).await,
        1,
        0,
    );
    conflict(
        append(s, &ns, "acct-1", vec![msg("A", "{}")], Some(-7)).await,
        -7,
        0,
    );
    // The right version succeeds.
    let second = append(s, &ns, "acct-1", vec![msg("B", "{}")], Some(0))
        .await
        .unwrap();
    assert_eq!(second.written[0].position, 1);
    // A conflicting batch writes none of its messages.
    conflict(
        append(
            s,
            &ns,
            "acct-1",
            vec![msg("C", "{}"), msg("D", "{}")],
            Some(0),
        )
        .await,
        0,
        1,
    );
    let all = read_stream_all(s, &ns, "acct-1").await;
    assert_eq!(positions(&all), [0, 1]);
    assert_eq!(count_all(s, &ns).await, 2);
    assert_eq!(s.namespace_stats(&ns).await.unwrap().message_count, 2);
}

/// Payload and metadata round-trip as equal JSON values with every number exact (big
/// integers beyond 64 bits, unicode, nesting, null members); key order may change.
pub async fn payloads_round_trip<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "payloads").await;
    let data = r#"{"big":12345678901234567890,"neg":-98765432109876543210,"f":1.5,"i":42,"s":"héllo \"wörld\" 🎉","e":"","t":true,"n":null,"a":[1,"x",{"k":[]}],"o":{"z":1,"a":2}}"#;
    let meta = r#"{"correlationStreamName":"workflow-1","trace":"é"}"#;
    let before = eventodb_protocol::time::now_micros();
    let (_, g1) = write_msg(s, &ns, "blob-1", msg_meta("Typé", data, meta)).await;
    let (_, g2) = write_msg(s, &ns, "blob-1", msg("Plain", "{}")).await;
    let after = eventodb_protocol::time::now_micros();
    let all = read_stream_all(s, &ns, "blob-1").await;
    assert_eq!(all.len(), 2);
    assert_same_json(&all[0].data, data);
    assert_same_json(all[0].metadata.as_deref().unwrap_or("null"), meta);
    assert_eq!(all[0].message_type, "Typé");
    assert_eq!(all[0].stream_name, "blob-1");
    assert_eq!(all[0].global_position, g1);
    assert_eq!(all[1].data, "{}");
    assert_eq!(all[1].metadata, None);
    assert_eq!(all[1].global_position, g2);
    for m in &all {
        assert!(
            m.time >= before - 1_000_000 && m.time <= after + 1_000_000,
            "time {} outside [{before}, {after}]",
            m.time
        );
    }
    let by_category = read_category(s, &ns, category("blob")).await;
    assert_eq!(by_category, all);
    let last = s.last_message(&ns, "blob-1", Some("Typé")).await.unwrap();
    assert_eq!(last.as_ref(), Some(&all[0]));
    let page = read_stream(s, &ns, "blob-1", StreamStart::Position(0), Some(1)).await;
    assert_same_json(&page[0].data, data);
}

/// An empty stream name category and odd stream names are ordinary streams.
pub async fn odd_stream_names_are_streams<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "oddnames").await;
    let names = [
        "ledger",
        "cart-",
        "user-a-b",
        "billing:cmd-5",
        "é-1",
        "with space-1",
        "x%_-1",
    ];
    for name in names {
        assert_eq!(write(s, &ns, name).await.0, 0, "{name}");
        assert_eq!(write(s, &ns, name).await.0, 1, "{name}");
    }
    for name in names {
        let all = read_stream_all(s, &ns, name).await;
        assert_eq!(positions(&all), [0, 1], "{name}");
        assert!(all.iter().all(|m| m.stream_name == name));
        assert_eq!(s.stream_version(&ns, name).await.unwrap(), Some(1));
    }
    assert_eq!(count_all(s, &ns).await, names.len() * 2);
}
