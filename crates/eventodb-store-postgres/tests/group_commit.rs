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
