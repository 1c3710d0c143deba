//! Bulk import (PROTOCOL §6.2): records stored as given, summaries maintained, the sequence
//! left above the largest imported position, collisions refused whole, and clearing.

use std::sync::Arc;

use eventodb_protocol::ConsumerGroup;
use eventodb_store::{CategoryRead, ImportRecord, Store, StoreError, StreamsQuery};

use crate::support::*;

/// A record with a fresh id.
fn record(stream: &str, position: i64, global_position: i64) -> ImportRecord {
    ImportRecord {
        id: message_id(),
        stream_name: stream.to_owned(),
        message_type: "Imported".to_owned(),
        position,
        global_position,
        data: format!(r#"{{"n":{global_position}}}"#),
        metadata: None,
        // 2025-03-02T08:15:30Z plus the global position in seconds and some microseconds.
        time: (1_740_903_330 + global_position) * 1_000_000 + 250_000,
    }
}

/// Records keep their positions, payloads and times; versions, figures, category reads and
/// consumer groups see them; the next append lands above the largest imported position.
pub async fn import_keeps_positions<S: Store>(store: &Arc<S>) {
    let store: &S = store;
    let ns = new_namespace(store, "import").await;
    let mut with_meta = record("order-1+refund", 0, 7);
    with_meta.metadata = Some(r#"{"correlationStreamName":"flow-9"}"#.to_owned());
    let batch = vec![
        record("order-1", 0, 3),
        record("order-1", 1, 5),
        with_meta,
        record("ledger", 4, 40),
    ];
    store.import_batch(&ns, batch.clone()).await.unwrap();

    let stream = read_stream_all(store, &ns, "order-1").await;
    assert_eq!(positions(&stream), [0, 1]);
    assert_eq!(globals(&stream), [3, 5]);
    assert_eq!(stream[1].data, r#"{"n":5}"#);
    assert_eq!(stream[1].time, batch[1].time);
    assert_eq!(stream[0].id, batch[0].id);
    assert_eq!(store.stream_version(&ns, "ledger").await.unwrap(), Some(4));
    assert_eq!(store.head_position(&ns).await.unwrap(), 40);

    let all = read_category(store, &ns, category("")).await;
    assert_eq!(globals(&all), [3, 5, 7, 40]);
    let order = read_category(store, &ns, category("order")).await;
    assert_eq!(globals(&order), [3, 5, 7]);
    let correlated = read_category(
        store,
        &ns,
        CategoryRead {
            correlation: Some("flow".into()),
            ..category("order")
        },
    )
    .await;
    assert_eq!(globals(&correlated), [7]);
    // Compound ids stay with their cardinal id's member.
    let mut members = Vec::new();
    for member in 0..2 {
        let read = CategoryRead {
            consumer_group: ConsumerGroup::new(member, 2),
            ..category("order")
        };
        members.push(globals(&read_category(store, &ns, read).await));
    }
    assert!(members.contains(&vec![3, 5, 7]) && members.contains(&vec![]));

    let stats = store.namespace_stats(&ns).await.unwrap();
    assert_eq!((stats.message_count, stats.stream_count), (4, 3));
    assert_eq!(stats.last_activity, Some(batch[3].time));
    let streams = store
        .list_streams(
            &ns,
            StreamsQuery {
                prefix: String::new(),
                cursor: String::new(),
                limit: 10,
            },
        )
        .await
        .unwrap();
    let versions: Vec<(&str, i64)> = streams
        .iter()
        .map(|s| (s.stream_name.as_str(), s.version))
        .collect();
    assert_eq!(
        versions,
        [("ledger", 4), ("order-1", 1), ("order-1+refund", 0)]
    );
    let categories = store.list_categories(&ns).await.unwrap();
    let counts: Vec<(&str, u64, u64)> = categories
        .iter()
        .map(|c| (c.category.as_str(), c.stream_count, c.message_count))
        .collect();
    assert_eq!(counts, [("ledger", 1, 1), ("order", 2, 3)]);

    // Writes continue after the import: the stream's version, the sequence above 40.
    let (position, global) = write(store, &ns, "order-1").await;
    assert_eq!(position, 2);
    assert!(global > 40, "global position {global} must be above 40");

    // A later batch below the head and into existing streams is fine too.
    store
        .import_batch(
            &ns,
            vec![record("order-1", 3, 41 + global), record("new", 0, 1)],
        )
        .await
        .unwrap();
    assert_eq!(store.stream_version(&ns, "order-1").await.unwrap(), Some(3));
    let (_, after) = write(store, &ns, "other").await;
    assert!(after > 41 + global);
    assert_eq!(count_all(store, &ns).await, 8);
}

/// A taken global position refuses the whole batch, naming the record; so do a reused id
/// and a taken stream position; earlier batches stay.
pub async fn import_collisions_refuse_the_batch<S: Store>(store: &Arc<S>) {
    let store: &S = store;
    let ns = new_namespace(store, "import-clash").await;
    let first = record("a-1", 0, 1);
    store.import_batch(&ns, vec![first.clone()]).await.unwrap();

    let clash = store
        .import_batch(&ns, vec![record("a-2", 0, 2), record("a-3", 0, 1)])
        .await;
    assert!(
        matches!(
            clash,
            Err(StoreError::PositionExists {
                global_position: 1,
                index: Some(1)
            })
        ),
        "{clash:?}"
    );
    let within = store
        .import_batch(&ns, vec![record("a-2", 0, 2), record("a-3", 0, 2)])
        .await;
    assert!(
        matches!(
            within,
            Err(StoreError::PositionExists {
                global_position: 2,
                index: Some(1)
            })
        ),
        "{within:?}"
    );
    let mut reused = record("a-4", 0, 4);
    reused.id = first.id.clone();
    let id_clash = store
        .import_batch(&ns, vec![record("a-2", 0, 2), reused])
        .await;
    assert!(
        matches!(
            id_clash,
            Err(StoreError::ImportConflict { index: Some(1), .. })
        ),
        "{id_clash:?}"
    );
    let stream_clash = store
        .import_batch(&ns, vec![record("a-2", 0, 2), record("a-1", 0, 9)])
        .await;
    assert!(
        matches!(
            stream_clash,
            Err(StoreError::ImportConflict { index: Some(1), .. })
        ),
        "{stream_clash:?}"
    );
    assert_eq!(count_all(store, &ns).await, 1);
    assert_eq!(store.stream_version(&ns, "a-2").await.unwrap(), None);
    let stats = store.namespace_stats(&ns).await.unwrap();
    assert_eq!((stats.message_count, stats.stream_count), (1, 1));
}

/// Clearing removes messages and summaries and restarts global positions at 1.
pub async fn clear_restarts_positions<S: Store>(store: &Arc<S>) {
    let store: &S = store;
    let ns = new_namespace(store, "clear").await;
    for _ in 0..3 {
        write(store, &ns, "cart-1").await;
    }
    store.clear_namespace(&ns).await.unwrap();
    assert_eq!(count_all(store, &ns).await, 0);
    assert_eq!(store.stream_version(&ns, "cart-1").await.unwrap(), None);
    let stats = store.namespace_stats(&ns).await.unwrap();
    assert_eq!((stats.message_count, stats.stream_count), (0, 0));
    assert!(store.list_categories(&ns).await.unwrap().is_empty());
    assert_eq!(write(store, &ns, "cart-1").await, (0, 1));
    store.clear_namespace(&ns).await.unwrap();
    store
        .import_batch(&ns, vec![record("cart-1", 0, 2)])
        .await
        .unwrap();
    assert_eq!(write(store, &ns, "cart-1").await, (1, 3));
    assert!(matches!(
        store.clear_namespace("no-such-namespace").await,
        Err(StoreError::NamespaceNotFound(_))
    ));
}
