//! The change feed across processes: writes through store A are published, in order and
//! exactly once, by store B's feed on the same database (LISTEN and poll modes), also after
//! the database restarts under it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Collect;
use eventodb_pg_cluster::PgCluster;
use eventodb_store::{ImportRecord, NewNamespace, Store, StoreError};
use eventodb_store_postgres::{NotifyMode, PostgresConfig, PostgresStore};
use eventodb_store_tests::support::{
    append, category, message_id, msg, new_namespace, token_hash, write,
};

async fn all_globals(store: &PostgresStore, ns: &str) -> Vec<i64> {
    store
        .read_category(ns, category(""))
        .await
        .unwrap()
        .iter()
        .map(|m| m.global_position)
        .collect()
}

/// A store on `url` whose change feed (in `notify` mode) publishes into a fresh sink.
async fn follower(url: &str, notify: NotifyMode) -> (Arc<Collect>, PostgresStore) {
    let sink = Collect::shared();
    let store = PostgresStore::connect(
        PostgresConfig::new(url)
            .with_changes(sink.clone())
            .with_notify(notify),
    )
    .await
    .unwrap();
    (sink, store)
}

/// Writes `n` messages through `a` (some concurrently, some batched) into `ns`.
async fn write_some(a: &Arc<PostgresStore>, ns: &str, n: usize) {
    let mut tasks = Vec::new();
    for i in 0..n {
        let a = a.clone();
        let ns = ns.to_owned();
        tasks.push(tokio::spawn(async move {
            write(&*a, &ns, &format!("cat{}-{}", i % 3, i % 5)).await
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

async fn published_in_order_by_the_other_store(notify: NotifyMode) {
    let url = PgCluster::shared().fresh_database();
    let a = Arc::new(
        PostgresStore::connect(PostgresConfig::new(&url))
            .await
            .unwrap(),
    );
    let (sink, b) = follower(&url, notify).await;
    // The namespace is created by A after B started.
    let ns = new_namespace(&*a, "feed").await;
    write_some(&a, &ns, 30).await;
    append(
        &*a,
        &ns,
        "batch-1",
        vec![msg("A", "{}"), msg("B", "{}"), msg("C", "{}")],
        None,
    )
    .await
    .unwrap();
    let all = all_globals(&a, &ns).await;
    assert_eq!(all.len(), 33);
    assert_eq!(sink.wait_for(&ns, 33).await, all);
    // A replayed write publishes nothing; one more write publishes exactly one.
    let m = msg("Once", "{}");
    append(&*a, &ns, "once-1", vec![m.clone()], None)
        .await
        .unwrap();
    assert!(
        append(&*a, &ns, "once-1", vec![m], None)
            .await
            .unwrap()
            .replayed
    );
    let (_, g) = write(&*a, &ns, "once-1").await;
    let published = sink.wait_for(&ns, 35).await;
    assert_eq!(published, all_globals(&a, &ns).await);
    assert_eq!(published.last(), Some(&g));
    // Nothing else arrives later.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(sink.globals(&ns).len(), 35);
    // History of a namespace is not re-published by a store started later.
    let (late_sink, c) = follower(&url, notify).await;
    let (_, g2) = write(&*a, &ns, "late-1").await;
    assert_eq!(late_sink.wait_for(&ns, 1).await, [g2]);
    // B publishes it too. (Wait for that before deleting: rows of a deleted namespace are
    // gone, and a polling B that had not read them yet never could.)
    assert_eq!(sink.wait_for(&ns, 36).await.last(), Some(&g2));
    // A namespace deleted and created again starts publishing from its new first message.
    assert_eq!(a.delete_namespace(&ns).await.unwrap(), 36);
    recreate(&a, &ns).await;
    assert_eq!(write(&*a, &ns, "again-1").await, (0, 1));
    let published = sink.wait_for(&ns, 37).await;
    assert_eq!(published.len(), 37, "{published:?}");
    assert_eq!(published.last(), Some(&1));
    c.close().await;
    b.close().await;
    a.close().await;
}

async fn recreate(a: &PostgresStore, ns: &str) {
    a.create_namespace(NewNamespace {
        id: ns.to_owned(),
        token_hash: token_hash(),
        description: String::new(),
        created_at: eventodb_protocol::time::now_micros(),
    })
    .await
    .unwrap();
}

/// Deletes and re-creates one namespace `rounds` times, writing between; every round's
/// messages (starting again from global position 1) reach the other store's feed.
async fn recreated_namespace_is_published_again(notify: NotifyMode, rounds: usize) {
    let url = PgCluster::shared().fresh_database();
    let a = Arc::new(
        PostgresStore::connect(PostgresConfig::new(&url))
            .await
            .unwrap(),
    );
    let (sink, b) = follower(&url, notify).await;
    let ns = new_namespace(&*a, "again").await;
    let mut expected = Vec::new();
    for round in 0..rounds {
        // Rounds write 1, 2 or 3 messages, so the old cursor is sometimes ahead of the new
        // namespace's positions and sometimes level with them.
        for i in 0..=(round % 3) {
            let (_, g) = write(&*a, &ns, &format!("again-{round}x{i}")).await;
            expected.push(g);
        }
        let published = sink.wait_for(&ns, expected.len()).await;
        assert_eq!(published, expected, "round {round}");
        a.delete_namespace(&ns).await.unwrap();
        recreate(&a, &ns).await;
    }
    b.close().await;
    a.close().await;
}

/// A store whose feed started while the namespace existed (so its cursor starts at the
/// namespace's last position, not 0) publishes the re-created namespace from its first message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_started_before_a_recreation_publishes_the_new_namespace_from_its_start() {
    let url = PgCluster::shared().fresh_database();
    let a = PostgresStore::connect(PostgresConfig::new(&url))
        .await
        .unwrap();
    let ns = new_namespace(&a, "before").await;
    for i in 0..5 {
        write(&a, &ns, &format!("old-{i}")).await;
    }
    let sink = Collect::shared();
    let b = PostgresStore::connect(PostgresConfig::new(&url).with_changes(sink.clone()))
        .await
        .unwrap();
    // B has not read the namespace since it started: nothing was written. Now the namespace
    // is replaced before B's first read of it.
    assert_eq!(a.delete_namespace(&ns).await.unwrap(), 5);
    recreate(&a, &ns).await;
    let mut expected = Vec::new();
    for i in 0..3 {
        expected.push(write(&a, &ns, &format!("new-{i}")).await.1);
    }
    assert_eq!(expected, [1, 2, 3]);
    assert_eq!(sink.wait_for(&ns, 3).await, expected);
    b.close().await;
    a.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_mode_publishes_a_recreated_namespace_again() {
    recreated_namespace_is_published_again(NotifyMode::Listen, 30).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_mode_publishes_a_recreated_namespace_again() {
    recreated_namespace_is_published_again(NotifyMode::Poll(Duration::from_millis(2)), 30).await;
}

/// An import into a namespace another store follows publishes nothing (more rows than one
/// feed page), and the next write is published after it.
async fn imported_rows_are_passed_over(notify: NotifyMode) {
    let url = PgCluster::shared().fresh_database();
    let a = PostgresStore::connect(PostgresConfig::new(&url))
        .await
        .unwrap();
    let (sink, b) = follower(&url, notify).await;
    let ns = new_namespace(&a, "feedimport").await;
    let (_, g1) = write(&a, &ns, "before-1").await;
    assert_eq!(sink.wait_for(&ns, 1).await, [g1]);
    let records = (0..1200)
        .map(|i| ImportRecord {
            id: message_id(),
            stream_name: format!("imported-{}", i % 7),
            message_type: "Imported".to_owned(),
            position: i / 7,
            global_position: g1 + 1 + i,
            data: "{}".to_owned(),
            metadata: None,
            time: 1_740_903_330_000_000,
        })
        .collect();
    a.import_batch(&ns, records).await.unwrap();
    let (_, g2) = write(&a, &ns, "after-1").await;
    assert_eq!(g2, g1 + 1201);
    assert_eq!(sink.wait_for(&ns, 2).await, [g1, g2]);
    b.close().await;
    a.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_mode_passes_over_imported_rows() {
    imported_rows_are_passed_over(NotifyMode::Listen).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_mode_passes_over_imported_rows() {
    imported_rows_are_passed_over(NotifyMode::Poll(Duration::from_millis(50))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_mode_publishes_other_processes_writes() {
    published_in_order_by_the_other_store(NotifyMode::Listen).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_mode_publishes_other_processes_writes() {
    published_in_order_by_the_other_store(NotifyMode::Poll(Duration::from_millis(20))).await;
}

/// Retries a write while the pool still holds connections cut by the restart.
async fn write_after_restart(a: &PostgresStore, ns: &str, stream: &str) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match append(a, ns, stream, vec![msg("After", "{}")], None).await {
            Ok(w) => return w.written[0].global_position,
            Err(StoreError::Backend(e)) if Instant::now() < deadline => {
                eprintln!("write after restart failed, retrying: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("write after restart: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_reconnects_after_a_restart() {
    let cluster = PgCluster::start();
    let url = cluster.fresh_database();
    let a = Arc::new(
        PostgresStore::connect(PostgresConfig::new(&url))
            .await
            .unwrap(),
    );
    let sink = Collect::shared();
    let b = PostgresStore::connect(PostgresConfig::new(&url).with_changes(sink.clone()))
        .await
        .unwrap();
    let ns = new_namespace(&*a, "restart").await;
    write_some(&a, &ns, 5).await;
    assert_eq!(sink.wait_for(&ns, 5).await.len(), 5);

    cluster.restart();

    let mut after = Vec::new();
    for i in 0..5 {
        after.push(write_after_restart(&a, &ns, &format!("after-{i}")).await);
    }
    let all = all_globals(&a, &ns).await;
    assert_eq!(all.len(), 10);
    assert_eq!(sink.wait_for(&ns, 10).await, all);
    assert!(all.ends_with(&after));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(sink.globals(&ns).len(), 10, "nothing published twice");
    b.close().await;
    a.close().await;
}
