//! Stream reads, `last_message` and `stream_version`.

use std::sync::Arc;

use eventodb_store::{Store, StreamStart};

use crate::support::*;

/// Reads from a position: inclusive start, negative means 0, beyond the end and missing
/// streams are empty, and other streams (even with a shared prefix) never leak in.
pub async fn read_from_position<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "readpos").await;
    for _ in 0..10 {
        write(s, &ns, "cart-1").await;
        write(s, &ns, "cart-10").await;
    }
    write(s, &ns, "cart-1+gift").await;
    let from3 = read_stream(s, &ns, "cart-1", StreamStart::Position(3), None).await;
    assert_eq!(positions(&from3), (3..10).collect::<Vec<_>>());
    assert!(from3.iter().all(|m| m.stream_name == "cart-1"));
    let negative = read_stream(s, &ns, "cart-1", StreamStart::Position(-5), None).await;
    assert_eq!(positions(&negative), (0..10).collect::<Vec<_>>());
    assert!(
        read_stream(s, &ns, "cart-1", StreamStart::Position(10), None)
            .await
            .is_empty()
    );
    assert!(
        read_stream(s, &ns, "cart-1", StreamStart::Position(i64::MAX), None)
            .await
            .is_empty()
    );
    assert!(read_stream_all(s, &ns, "cart-2").await.is_empty());
    assert!(read_stream_all(s, &ns, "cart").await.is_empty());
    assert_eq!(read_stream_all(s, &ns, "cart-1+gift").await.len(), 1);
}

/// Limits: `Some(0)` is empty, `None` is everything, a big limit returns what there is.
pub async fn read_limits<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "readlimit").await;
    for _ in 0..5 {
        write(s, &ns, "order-1").await;
    }
    let start = StreamStart::Position(0);
    assert!(read_stream(s, &ns, "order-1", start, Some(0))
        .await
        .is_empty());
    assert_eq!(
        positions(&read_stream(s, &ns, "order-1", start, Some(2)).await),
        [0, 1]
    );
    assert_eq!(
        positions(&read_stream(s, &ns, "order-1", StreamStart::Position(1), Some(2)).await),
        [1, 2]
    );
    assert_eq!(read_stream(s, &ns, "order-1", start, None).await.len(), 5);
    assert_eq!(
        read_stream(s, &ns, "order-1", start, Some(10_000))
            .await
            .len(),
        5
    );
    assert_eq!(
        read_stream(s, &ns, "order-1", start, Some(u64::MAX))
            .await
            .len(),
        5
    );
}

/// Reads from a global position keep the stream's messages at or after it, by position.
pub async fn read_from_global_position<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "readglobal").await;
    let mut mine = Vec::new();
    for _ in 0..6 {
        mine.push(write(s, &ns, "acct-1").await);
        write(s, &ns, "acct-2").await;
    }
    let (_, g3) = mine[3];
    let from = read_stream(s, &ns, "acct-1", StreamStart::GlobalPosition(g3), None).await;
    assert_eq!(positions(&from), [3, 4, 5]);
    assert_eq!(
        globals(&from),
        mine[3..].iter().map(|w| w.1).collect::<Vec<_>>()
    );
    // A global position between two of the stream's messages starts at the next one.
    let between = read_stream(s, &ns, "acct-1", StreamStart::GlobalPosition(g3 - 1), None).await;
    assert_eq!(positions(&between), [3, 4, 5]);
    let limited = read_stream(s, &ns, "acct-1", StreamStart::GlobalPosition(g3), Some(2)).await;
    assert_eq!(positions(&limited), [3, 4]);
    let all = read_stream(s, &ns, "acct-1", StreamStart::GlobalPosition(0), None).await;
    assert_eq!(all.len(), 6);
    assert!(read_stream(
        s,
        &ns,
        "acct-1",
        StreamStart::GlobalPosition(mine[5].1 + 1),
        None
    )
    .await
    .is_empty());
}

/// `last_message` returns the highest position, optionally among one type; `None` otherwise.
pub async fn last_message<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "last").await;
    assert_eq!(s.last_message(&ns, "cart-1", None).await.unwrap(), None);
    write_msg(s, &ns, "cart-1", msg("Added", r#"{"i":0}"#)).await;
    write_msg(s, &ns, "cart-1", msg("Removed", r#"{"i":1}"#)).await;
    write_msg(s, &ns, "cart-1", msg("Added", r#"{"i":2}"#)).await;
    write_msg(s, &ns, "cart-1", msg("Checked", r#"{"i":3}"#)).await;
    write_msg(s, &ns, "cart-2", msg("Added", r#"{"i":9}"#)).await;
    let last = s.last_message(&ns, "cart-1", None).await.unwrap().unwrap();
    assert_eq!((last.position, last.message_type.as_str()), (3, "Checked"));
    assert_eq!(last.stream_name, "cart-1");
    let added = s
        .last_message(&ns, "cart-1", Some("Added"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(added.position, 2);
    assert_same_json(&added.data, r#"{"i":2}"#);
    let removed = s
        .last_message(&ns, "cart-1", Some("Removed"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(removed.position, 1);
    assert_eq!(
        s.last_message(&ns, "cart-1", Some("Nope")).await.unwrap(),
        None
    );
    assert_eq!(
        s.last_message(&ns, "cart-1", Some("added")).await.unwrap(),
        None
    );
    assert_eq!(s.last_message(&ns, "cart-3", None).await.unwrap(), None);
    let whole = read_stream_all(s, &ns, "cart-1").await;
    assert_eq!(Some(&last), whole.last());
}

/// `head_position` is 0 for an empty namespace and the highest global position after writes.
pub async fn head_position<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "head").await;
    assert_eq!(s.head_position(&ns).await.unwrap(), 0);
    write(s, &ns, "acct-1").await;
    let (_, g) = write(s, &ns, "acct-2").await;
    assert_eq!(s.head_position(&ns).await.unwrap(), g);
    assert!(matches!(
        s.head_position("no-such-namespace").await,
        Err(eventodb_store::StoreError::NamespaceNotFound(_))
    ));
}

/// `stream_version` is `None` for a missing stream and the last position otherwise.
pub async fn stream_version<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "version").await;
    assert_eq!(s.stream_version(&ns, "acct-1").await.unwrap(), None);
    write(s, &ns, "acct-1").await;
    assert_eq!(s.stream_version(&ns, "acct-1").await.unwrap(), Some(0));
    append(s, &ns, "acct-1", vec![msg("A", "{}"), msg("B", "{}")], None)
        .await
        .unwrap();
    assert_eq!(s.stream_version(&ns, "acct-1").await.unwrap(), Some(2));
    assert_eq!(s.stream_version(&ns, "acct").await.unwrap(), None);
    assert_eq!(s.stream_version(&ns, "acct-10").await.unwrap(), None);
}
