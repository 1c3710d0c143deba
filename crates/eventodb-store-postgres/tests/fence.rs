//! The fence: a reader following `read_category("")` from its last position, and the change
//! feed, see every message exactly once and in order, although transactions that took low
//! global positions commit after transactions that took higher ones.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::{raw, schema_of, Collect};
use eventodb_pg_cluster::PgCluster;
use eventodb_store::{CategoryRead, ImportRecord, Store};
use eventodb_store_postgres::{PostgresConfig, PostgresStore};
use eventodb_store_tests::support::{message_id, new_namespace, write};
use tokio_postgres::Client;

/// Follows the whole namespace by global position, as a subscriber catching up would.
struct Follower {
    ns: String,
    next: i64,
    seen: Vec<i64>,
}

impl Follower {
    async fn poll(&mut self, store: &PostgresStore) {
        let page = store
            .read_category(
                &self.ns,
                CategoryRead {
                    category: String::new(),
                    start: self.next,
                    limit: Some(7),
                    correlation: None,
                    consumer_group: None,
                },
            )
            .await
            .unwrap();
        for m in page {
            self.seen.push(m.global_position);
            self.next = m.global_position + 1;
        }
    }
}

/// Starts a write of one message in an open transaction, exactly as the store writes
/// (positions and xid are reserved), and returns the connection holding it open.
async fn open_slow_write(url: &str, schema: &str, stream: &str) -> (Client, i64) {
    let client = raw(url).await;
    client.batch_execute("BEGIN").await.unwrap();
    let sql = format!(
        "SELECT o_global_position FROM {schema}.eventodb_append(\
         $1::text, $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
         $7::int8, $8::text, $9::int8, $10::int8)"
    );
    let id = message_id();
    let meta: Option<&str> = None;
    let corr: Option<String> = None;
    let row = client
        .query_one(
            &sql,
            &[
                &stream,
                &vec![id.as_str()],
                &vec!["Slow"],
                &vec!["{}"],
                &vec![meta],
                &vec![corr],
                &None::<i64>,
                &eventodb_protocol::stream_name::category(stream),
                &eventodb_protocol::consumer_group::group_hash(stream),
                &eventodb_protocol::hash_64(stream),
            ],
        )
        .await
        .unwrap();
    (client, row.get(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_and_feed_never_skip_a_held_back_message() {
    let url = PgCluster::shared().fresh_database();
    let sink = Collect::shared();
    let store = Arc::new(
        PostgresStore::connect(PostgresConfig::new(&url).with_changes(sink.clone()))
            .await
            .unwrap(),
    );
    let ns = new_namespace(&*store, "fence").await;
    let admin = raw(&url).await;
    let schema = schema_of(&admin, &ns).await;
    let mut follower = Follower {
        ns: ns.clone(),
        next: 1,
        seen: Vec::new(),
    };
    let mut total = 0usize;
    for round in 0..4 {
        // Two writers take low positions and stay open.
        let (slow_a, ga) = open_slow_write(&url, &schema, &format!("slow-{round}a")).await;
        let (slow_b, gb) = open_slow_write(&url, &schema, &format!("slow-{round}b")).await;
        assert!(gb > ga);
        // Fast writers in other categories commit higher positions meanwhile.
        let mut tasks = Vec::new();
        for i in 0..12 {
            let store = store.clone();
            let ns = ns.clone();
            tasks.push(tokio::spawn(async move {
                write(&*store, &ns, &format!("fast{}-{}", i % 3, i)).await
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap().1 > gb);
        }
        total += 14;
        // The follower must stop below the held-back positions.
        follower.poll(&store).await;
        assert!(
            follower.seen.iter().all(|&g| g < ga),
            "read past held-back position {ga}: {:?}",
            follower.seen
        );
        // Commit out of order: the higher one first.
        slow_b.batch_execute("COMMIT").await.unwrap();
        follower.poll(&store).await;
        assert!(follower.seen.iter().all(|&g| g < ga));
        slow_a.batch_execute("COMMIT").await.unwrap();
        follower.poll(&store).await;
    }
    // Drain.
    for _ in 0..100 {
        if follower.seen.len() >= total {
            break;
        }
        follower.poll(&store).await;
    }
    let all: Vec<i64> = store
        .read_category(&ns, eventodb_store_tests::support::category(""))
        .await
        .unwrap()
        .iter()
        .map(|m| m.global_position)
        .collect();
    assert_eq!(all.len(), total);
    assert_eq!(
        follower.seen, all,
        "the follower saw each message once, in order"
    );
    let published = sink.wait_for(&ns, total).await;
    assert_eq!(
        published, all,
        "the feed published each message once, in order"
    );
    store.close().await;
}

/// True once a session of this database waits for the appends lock an import takes.
async fn import_waits_for_appends(admin: &Client) -> bool {
    admin
        .query_one(
            "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' \
             AND classid = 1163284048 AND NOT granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// Imported rows are settled at once (transaction id 0). An import that committed them above
/// the position of an append still in flight would let a reader following the namespace pass
/// that append for ever; the import therefore waits for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_wait_for_appends_in_flight() {
    let url = PgCluster::shared().fresh_database();
    let store = Arc::new(
        PostgresStore::connect(PostgresConfig::new(&url))
            .await
            .unwrap(),
    );
    let ns = new_namespace(&*store, "fenceimport").await;
    let admin = raw(&url).await;
    let schema = schema_of(&admin, &ns).await;
    let (slow, g) = open_slow_write(&url, &schema, "slow-1").await;

    let records: Vec<ImportRecord> = (0..3)
        .map(|i| ImportRecord {
            id: message_id(),
            stream_name: "imported-1".to_owned(),
            message_type: "Imported".to_owned(),
            position: i,
            global_position: g + 10 + i,
            data: "{}".to_owned(),
            metadata: None,
            time: 1_740_903_330_000_000,
        })
        .collect();
    let import = {
        let (store, ns) = (store.clone(), ns.clone());
        tokio::spawn(async move { store.import_batch(&ns, records).await })
    };
    // Until the import has either committed or is waiting for the append.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !import.is_finished() && !import_waits_for_appends(&admin).await {
        assert!(
            std::time::Instant::now() < deadline,
            "the import neither ran nor waited"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    let mut follower = Follower {
        ns: ns.clone(),
        next: 1,
        seen: Vec::new(),
    };
    follower.poll(&store).await;
    assert!(
        follower.seen.is_empty(),
        "read past the open append at {g}: {:?}",
        follower.seen
    );

    slow.batch_execute("COMMIT").await.unwrap();
    import.await.unwrap().unwrap();
    for _ in 0..20 {
        if follower.seen.len() >= 4 {
            break;
        }
        follower.poll(&store).await;
    }
    assert_eq!(follower.seen, vec![g, g + 10, g + 11, g + 12]);
    store.close().await;
}
