//! Message-id reuse (PROTOCOL §0 item 9): idempotent retries and duplicate ids.

use std::sync::Arc;

use eventodb_protocol::NewMessage;
use eventodb_store::{Store, StoreError};

use crate::support::*;

fn assert_duplicate<T: std::fmt::Debug>(result: Result<T, StoreError>, id: &str) {
    match result {
        Err(StoreError::DuplicateMessageId(got)) => assert_eq!(got, id),
        other => panic!("expected DuplicateMessageId({id}), got {other:?}"),
    }
}

/// A retry with equal content returns the original positions, writes nothing, and wins over
/// a now-wrong expected version; key order and spacing of the JSON do not matter.
pub async fn retry_returns_original_positions<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "retry").await;
    let original = msg_meta("Paid", r#"{"a":1,"b":[1,2]}"#, r#"{"k":"v","n":null}"#);
    let first = append(s, &ns, "pay-1", vec![original.clone()], Some(-1))
        .await
        .unwrap();
    assert!(!first.replayed);
    write(s, &ns, "pay-1").await;
    write(s, &ns, "pay-2").await;
    let before = count_all(s, &ns).await;

    let again = append(s, &ns, "pay-1", vec![original.clone()], Some(-1))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.written, first.written);

    let reordered = NewMessage {
        data: r#"{"b":[1,2],"a":1}"#.into(),
        metadata: Some(r#"{"n":null,"k":"v"}"#.into()),
        ..original.clone()
    };
    let third = append(s, &ns, "pay-1", vec![reordered], None)
        .await
        .unwrap();
    assert!(third.replayed);
    assert_eq!(third.written, first.written);

    assert_eq!(count_all(s, &ns).await, before);
    assert_eq!(s.stream_version(&ns, "pay-1").await.unwrap(), Some(1));
    assert_eq!(
        s.namespace_stats(&ns).await.unwrap().message_count,
        before as u64
    );
}

/// A whole batch retried replays with every original position.
pub async fn batch_retry_replays<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "batchretry").await;
    let batch = vec![
        msg("A", r#"{"i":1}"#),
        msg("B", r#"{"i":2}"#),
        msg("C", "{}"),
    ];
    let first = append(s, &ns, "ord-1", batch.clone(), None).await.unwrap();
    write(s, &ns, "ord-1").await;
    let again = append(s, &ns, "ord-1", batch, Some(0)).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.written, first.written);
    assert_eq!(count_all(s, &ns).await, 4);
}

/// Reusing an id with different stream, type, data or metadata is a duplicate: nothing is
/// written, and the stored message is unchanged.
pub async fn id_reuse_with_other_content_fails<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "dupid").await;
    let original = msg_meta("Paid", r#"{"a":1}"#, r#"{"k":"v"}"#);
    write_msg(s, &ns, "pay-1", original.clone()).await;
    let variants = [
        ("pay-2", original.clone()),
        (
            "pay-1",
            NewMessage {
                message_type: "Refunded".into(),
                ..original.clone()
            },
        ),
        (
            "pay-1",
            NewMessage {
                data: r#"{"a":2}"#.into(),
                ..original.clone()
            },
        ),
        (
            "pay-1",
            NewMessage {
                data: r#"{"a":1.0}"#.into(),
                ..original.clone()
            },
        ),
        (
            "pay-1",
            NewMessage {
                metadata: None,
                ..original.clone()
            },
        ),
        (
            "pay-1",
            NewMessage {
                metadata: Some(r#"{"k":"w"}"#.into()),
                ..original.clone()
            },
        ),
    ];
    for (stream, m) in variants {
        assert_duplicate(
            append(s, &ns, stream, vec![m.clone()], None).await,
            &original.id,
        );
        assert_duplicate(
            append(s, &ns, stream, vec![m], Some(-1)).await,
            &original.id,
        );
    }
    assert_eq!(count_all(s, &ns).await, 1);
    assert!(read_stream_all(s, &ns, "pay-2").await.is_empty());
    let stored = read_stream_all(s, &ns, "pay-1").await;
    assert_eq!(stored[0].message_type, "Paid");
    assert_same_json(&stored[0].data, r#"{"a":1}"#);
    // The same id in another namespace is a different message.
    let other = new_namespace(s, "dupid-other").await;
    write_msg(s, &other, "pay-2", original).await;
}

/// A batch mixing a stored id with new ones is a duplicate and writes none of the new ones;
/// two equal ids inside one batch are refused as well.
pub async fn mixed_batch_fails_whole<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "mixed").await;
    let existing = msg("A", "{}");
    write_msg(s, &ns, "inv-1", existing.clone()).await;
    let fresh = msg("B", "{}");
    assert_duplicate(
        append(s, &ns, "inv-1", vec![fresh.clone(), existing.clone()], None).await,
        &existing.id,
    );
    assert_duplicate(
        append(s, &ns, "inv-1", vec![existing.clone(), fresh.clone()], None).await,
        &existing.id,
    );
    let twice = msg("C", "{}");
    let result = append(s, &ns, "inv-2", vec![twice.clone(), twice.clone()], None).await;
    assert_duplicate(result, &twice.id);
    assert_eq!(count_all(s, &ns).await, 1);
    assert!(read_stream_all(s, &ns, "inv-2").await.is_empty());
    // The fresh message can still be written afterwards.
    assert_eq!(write_msg(s, &ns, "inv-1", fresh).await.0, 1);
}
