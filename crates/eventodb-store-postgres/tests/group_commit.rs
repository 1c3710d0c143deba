//! Group commit: appends arriving together share one transaction, yet each keeps its own
//! outcome (a conflicting or invalid append fails alone, the others are written).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::{raw, schema_of};
use eventodb_pg_cluster::PgCluster;
use eventodb_store::{Append, Store, StoreError};
use eventodb_store_postgres::{PostgresConfig, PostgresStore};
use eventodb_store_tests::support::{msg, new_namespace, read_stream_all};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_arriving_together_keep_their_own_outcomes() {
    let url = PgCluster::shared().fresh_database();
    // One writer task: while it applies the first append, the others queue up behind it.
    let mut config = PostgresConfig::new(&url);
    config.pool_size = 2;
    let store = Arc::new(PostgresStore::connect(config).await.unwrap());
    let ns = new_namespace(&*store, "group").await;

    let mut tasks = Vec::new();
    for i in 0..48 {
        let store = store.clone();
        let ns = ns.clone();
        tasks.push(tokio::spawn(async move {
            let append = match i % 4 {
                // Everyone expects the shared stream to be new: exactly one wins.
                0 => Append {
                    stream_name: "shared-1".into(),
                    messages: vec![msg("Race", &format!("{{\"i\":{i}}}"))],
                    expected_version: Some(-1),
                },
                // Invalid: a NUL character cannot be stored; fails alone.
                1 if i == 5 => Append {
                    stream_name: format!("own-{i}"),
                    messages: vec![msg("Bad", "{\"s\":\"\\u0000\"}")],
                    expected_version: None,
                },
                // Two messages each to streams of their own.
                _ => Append {
                    stream_name: format!("own-{i}"),
                    messages: vec![msg("A", "{}"), msg("B", "{}")],
                    expected_version: Some(-1),
                },
            };
            (i, store.append(&ns, append).await)
        }));
    }
    let mut winners = 0;
    for task in tasks {
        let (i, result) = task.await.unwrap();
        match (i % 4, result) {
            (0, Ok(a)) => {
                winners += 1;
                assert_eq!(a.written[0].position, 0);
            }
            (0, Err(StoreError::VersionConflict { actual, .. })) => assert_eq!(actual, 0),
            (_, Err(StoreError::Invalid(_))) if i == 5 => {}
            (_, Ok(a)) if i != 5 => {
                assert_eq!(a.written.len(), 2);
                assert_eq!(a.written[0].position, 0);
                assert_eq!(a.written[1].position, 1);
                assert_eq!(
                    a.written[1].global_position,
                    a.written[0].global_position + 1
                );
                let read = read_stream_all(&*store, &ns, &format!("own-{i}")).await;
                assert_eq!(read.len(), 2);
            }
            (_, other) => panic!("append {i}: unexpected {other:?}"),
        }
    }
    assert_eq!(winners, 1);
    assert!(read_stream_all(&*store, &ns, "own-5").await.is_empty());

    // Some appends really shared a transaction.
    let admin = raw(&url).await;
    let schema = schema_of(&admin, &ns).await;
    let shared: i64 = admin
        .query_one(
            &format!(
                "SELECT count(*) FROM (SELECT xid FROM {schema}.messages GROUP BY xid \
                 HAVING count(DISTINCT stream_name) > 1) x"
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(shared > 0, "no two appends were committed together");
    store.close().await;
}

/// In one batch: idempotent retries of stored messages (answered with their original
/// positions), an id reused with other content (a duplicate), appends to streams that already
/// exist (versions read with the batch: right and wrong expectations) and new streams.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_duplicates_and_existing_streams_in_one_batch() {
    let url = PgCluster::shared().fresh_database();
    let mut config = PostgresConfig::new(&url);
    config.pool_size = 2;
    let store = Arc::new(PostgresStore::connect(config).await.unwrap());
    let ns = new_namespace(&*store, "group2").await;

    // Stored beforehand: one message in each of old-0 … old-7.
    let mut stored = Vec::new();
    for s in 0..8 {
        let m = msg("Old", &format!("{{\"s\":{s}}}"));
        let append = Append {
            stream_name: format!("old-{s}"),
            messages: vec![m.clone()],
            expected_version: None,
        };
        let written = store.append(&ns, append).await.unwrap().written[0];
        stored.push((m, written));
    }

    let mut tasks = Vec::new();
    for i in 0..40usize {
        let store = store.clone();
        let ns = ns.clone();
        let (old, old_written) = stored[i % 8].clone();
        tasks.push(tokio::spawn(async move {
            let append = match i % 5 {
                // A retry of a stored message: same id, same content.
                0 => Append {
                    stream_name: format!("old-{}", i % 8),
                    messages: vec![old],
                    expected_version: None,
                },
                // The stored id with other content.
                1 => Append {
                    stream_name: format!("old-{}", i % 8),
                    messages: vec![eventodb_protocol::NewMessage {
                        data: "{\"other\":true}".into(),
                        ..old
                    }],
                    expected_version: None,
                },
                // An existing stream, expecting a version it does not have.
                2 => Append {
                    stream_name: format!("old-{}", i % 8),
                    messages: vec![msg("Late", "{}")],
                    expected_version: Some(7),
                },
                // A new stream of its own.
                _ => Append {
                    stream_name: format!("new-{i}"),
                    messages: vec![msg("New", "{}")],
                    expected_version: Some(-1),
                },
            };
            (i, old_written, store.append(&ns, append).await)
        }));
    }
    for task in tasks {
        let (i, old_written, result) = task.await.unwrap();
        match (i % 5, result) {
            (0, Ok(a)) => {
                assert!(a.replayed, "append {i} is a retry");
                assert_eq!(a.written[0], old_written);
            }
            (1, Err(StoreError::DuplicateMessageId(_))) => {}
            (2, Err(StoreError::VersionConflict { expected: 7, .. })) => {}
            (3 | 4, Ok(a)) => {
                assert!(!a.replayed);
                assert_eq!(a.written[0].position, 0);
            }
            (_, other) => panic!("append {i}: unexpected {other:?}"),
        }
    }
    for s in 0..8 {
        let read = read_stream_all(&*store, &ns, &format!("old-{s}")).await;
        assert_eq!(read.len(), 1, "old-{s} holds only its first message");
    }
    store.close().await;
}
