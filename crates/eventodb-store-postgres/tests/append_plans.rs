//! The append functions' "is this id already stored?" checks keep reading the id index however
//! small the table was when a session planned them. PL/pgSQL keeps a statement's plan for the
//! session: before schema version 9 the batch function's check, planned on a nearly empty
//! table, stayed a sequential scan, and every batch then read the whole table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::schema_of;
use eventodb_pg_cluster::PgCluster;
use eventodb_store_postgres::{PostgresConfig, PostgresStore};
use eventodb_store_tests::support::{append, message_id, msg, new_namespace};
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client, NoTls};

/// A connection whose server notices (here: auto_explain's plans) arrive on a channel.
async fn explaining(url: &str) -> (Client, mpsc::UnboundedReceiver<String>) {
    let (client, mut connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            if let Ok(AsyncMessage::Notice(notice)) = message {
                let _ = tx.send(notice.message().to_owned());
            }
        }
    });
    client
        .batch_execute(
            "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; \
             SET auto_explain.log_nested_statements = on; \
             SET auto_explain.log_level = notice; SET client_min_messages = notice",
        )
        .await
        .unwrap();
    (client, rx)
}

/// Each append function called on `client` with new ids and with a retry of the stored message
/// `seed` (stream `seed-1`, type `Seed`, data `{}`), in a transaction rolled back afterwards.
async fn call_both(client: &Client, schema: &str, seed: &str) {
    let id = |_| message_id();
    let lone = format!(
        "SELECT * FROM {schema}.eventodb_append('plan-1', ARRAY['{}'], ARRAY['T'], \
         ARRAY['{{}}'], ARRAY[NULL], ARRAY[NULL], NULL, 'plan', NULL, 1)",
        id(0)
    );
    let batch = format!(
        "SELECT * FROM {schema}.eventodb_append_batch(ARRAY['plan-2', 'plan-3'], ARRAY[1, 1], \
         ARRAY['{}', '{}'], ARRAY['T', 'T'], ARRAY['{{}}', '{{}}'], ARRAY[NULL, NULL], \
         ARRAY[NULL, NULL], ARRAY[NULL, NULL]::int8[], ARRAY['plan', 'plan'], \
         ARRAY[NULL, NULL]::int8[], ARRAY[2, 3]::int8[])",
        id(1),
        id(2)
    );
    let lone_retry = format!(
        "SELECT * FROM {schema}.eventodb_append('seed-1', ARRAY['{seed}'], ARRAY['Seed'], \
         ARRAY['{{}}'], ARRAY[NULL], ARRAY[NULL], NULL, 'seed', NULL, 9)"
    );
    let batch_retry = format!(
        "SELECT * FROM {schema}.eventodb_append_batch(ARRAY['seed-1'], ARRAY[1], \
         ARRAY['{seed}'], ARRAY['Seed'], ARRAY['{{}}'], ARRAY[NULL], ARRAY[NULL], \
         ARRAY[NULL]::int8[], ARRAY['seed'], ARRAY[NULL]::int8[], ARRAY[9]::int8[])"
    );
    client
        .batch_execute(&format!(
            "BEGIN; {lone}; {batch}; {lone_retry}; {batch_retry}; ROLLBACK"
        ))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_checks_read_the_id_index_whatever_the_table_size_at_planning() {
    let url = PgCluster::shared().fresh_database();
    let store = PostgresStore::connect(PostgresConfig::new(&url))
        .await
        .unwrap();
    let ns = new_namespace(&store, "plans").await;
    let (client, mut notices) = explaining(&url).await;
    let schema = schema_of(&client, &ns).await;

    // One stored message, then every statement (the retry path too) planned, and kept as a
    // generic plan, while the table is nearly empty.
    let seed = message_id();
    client
        .batch_execute(&format!(
            "SELECT * FROM {schema}.eventodb_append('seed-1', ARRAY['{seed}'], ARRAY['Seed'], \
             ARRAY['{{}}'], ARRAY[NULL], ARRAY[NULL], NULL, 'seed', NULL, 9)"
        ))
        .await
        .unwrap();
    for _ in 0..8 {
        call_both(&client, &schema, &seed).await;
    }
    // Then the table grows.
    for i in 0..50 {
        let batch = (0..100).map(|_| msg("Big", "{}")).collect();
        append(&store, &ns, &format!("big-{i}"), batch, None)
            .await
            .unwrap();
    }
    while notices.try_recv().is_ok() {}

    call_both(&client, &schema, &seed).await;
    let mut plans = Vec::new();
    while let Ok(plan) = notices.try_recv() {
        plans.push(plan);
    }
    // The probes and the reads of stored messages for the retries were all explained.
    let id_checks = plans.iter().filter(|p| p.contains("m.id =")).count();
    let retry_reads = plans.iter().filter(|p| p.contains("m.position")).count();
    assert!(
        id_checks >= 4 && retry_reads >= 2,
        "auto_explain showed {id_checks} id checks and {retry_reads} retry reads: {plans:#?}"
    );
    for plan in &plans {
        assert!(
            !plan.contains("Seq Scan on messages"),
            "a statement of the append functions scans the whole table: {plan}"
        );
    }
}
