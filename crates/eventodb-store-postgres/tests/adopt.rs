//! A namespace created by EventoDB Go (plain PROTOCOL §8.1 layout, Message DB-style rows,
//! no extra columns) is adopted: reads, versions and consumer groups work, and new writes
//! continue its sequences.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::raw;
use eventodb_pg_cluster::PgCluster;
use eventodb_protocol::ConsumerGroup;
use eventodb_store::{CategoryRead, Store, StreamsQuery};
use eventodb_store_postgres::{PostgresConfig, PostgresStore};
use eventodb_store_tests::support::{
    assert_same_json, category, globals, msg, read_category, read_stream_all, streams, write,
};

/// The layout and rows EventoDB Go leaves behind (registry, schema version 2).
const GO_LAYOUT: &str = r#"
CREATE SCHEMA eventodb_store;
CREATE TABLE eventodb_store.namespaces (
    id text PRIMARY KEY,
    token_hash text NOT NULL UNIQUE,
    schema_name text NOT NULL UNIQUE,
    description text,
    created_at bigint NOT NULL,
    metadata jsonb DEFAULT '{}'
);
CREATE INDEX idx_namespaces_token_hash ON eventodb_store.namespaces (token_hash);

CREATE SCHEMA "eventodb_legacy_app";
CREATE TABLE "eventodb_legacy_app".messages (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    stream_name varchar NOT NULL,
    type varchar NOT NULL,
    position bigint NOT NULL,
    global_position bigserial NOT NULL,
    data jsonb,
    metadata jsonb,
    time timestamp without time zone NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    CONSTRAINT messages_pkey PRIMARY KEY (global_position)
);
CREATE FUNCTION "eventodb_legacy_app".category(stream_name varchar) RETURNS varchar
    LANGUAGE sql IMMUTABLE AS $$ SELECT split_part(stream_name, '-', 1) $$;
CREATE FUNCTION "eventodb_legacy_app".hash_64(value varchar) RETURNS bigint
    LANGUAGE sql IMMUTABLE AS $$ SELECT left('x' || md5(value), 17)::bit(64)::bigint $$;
CREATE UNIQUE INDEX messages_id ON "eventodb_legacy_app".messages (id);
CREATE UNIQUE INDEX messages_stream ON "eventodb_legacy_app".messages (stream_name, position);
CREATE INDEX messages_category ON "eventodb_legacy_app".messages (
    "eventodb_legacy_app".category(stream_name), global_position,
    "eventodb_legacy_app".category(metadata->>'correlationStreamName'));
CREATE TABLE "eventodb_legacy_app"._schema_version (
    version integer PRIMARY KEY,
    applied_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);
INSERT INTO "eventodb_legacy_app"._schema_version (version) VALUES (1), (2);

INSERT INTO eventodb_store.namespaces (id, token_hash, schema_name, description, created_at)
VALUES ('legacy-app', 'aaaa', 'eventodb_legacy_app', 'from Go', 1700000000);

INSERT INTO "eventodb_legacy_app".messages (id, stream_name, type, position, data, metadata, time)
VALUES
 ('00000000-0000-4000-8000-000000000001', 'account-1', 'Opened', 0, '{"n": 1}', NULL, '2024-01-02 03:04:05.123456'),
 ('00000000-0000-4000-8000-000000000002', 'account-2', 'Opened', 0, '{"n": 2}', '{"correlationStreamName": "workflow-9"}', '2024-01-02 03:04:06'),
 ('00000000-0000-4000-8000-000000000003', 'account-1', 'Deposited', 1, '{"amount": 12345678901234567890}', NULL, '2024-01-02 03:04:07'),
 ('00000000-0000-4000-8000-000000000004', 'account-3', 'Opened', 0, '{}', NULL, '2024-01-02 03:04:08'),
 ('00000000-0000-4000-8000-000000000005', 'account-4', 'Opened', 0, '{}', NULL, '2024-01-02 03:04:09'),
 ('00000000-0000-4000-8000-000000000006', 'ledger', 'Posted', 0, '{}', NULL, '2024-01-02 03:04:10');
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_namespace_is_adopted() {
    let url = PgCluster::shared().fresh_database();
    raw(&url).await.batch_execute(GO_LAYOUT).await.unwrap();
    let store = PostgresStore::connect(PostgresConfig::new(&url))
        .await
        .unwrap();
    let s = &store;
    let ns = "legacy-app";

    let record = s.namespace(ns).await.unwrap().unwrap();
    assert_eq!(record.description, "from Go");
    assert_eq!(record.created_at, 1_700_000_000_000_000);

    // Reads and versions.
    let acct = read_stream_all(s, ns, "account-1").await;
    assert_eq!(acct.len(), 2);
    assert_eq!(globals(&acct), [1, 3]);
    assert_same_json(&acct[1].data, r#"{"amount":12345678901234567890}"#);
    assert_eq!(acct[0].time, 1_704_164_645_123_456);
    assert_eq!(s.stream_version(ns, "account-1").await.unwrap(), Some(1));
    assert_eq!(s.stream_version(ns, "ledger").await.unwrap(), Some(0));
    assert_eq!(
        s.last_message(ns, "account-1", None)
            .await
            .unwrap()
            .unwrap()
            .message_type,
        "Deposited"
    );
    let everything = read_category(s, ns, category("")).await;
    assert_eq!(globals(&everything), [1, 2, 3, 4, 5, 6]);
    assert_eq!(read_category(s, ns, category("account")).await.len(), 5);

    // Consumer groups: cardinal ids 1, 2, 3, 4 map to members 0, 1, 0, 1 of 2.
    let member = |m| CategoryRead {
        consumer_group: ConsumerGroup::new(m, 2),
        ..category("account")
    };
    let m0 = read_category(s, ns, member(0)).await;
    let m1 = read_category(s, ns, member(1)).await;
    assert_eq!(streams(&m0), ["account-1", "account-1", "account-3"]);
    assert_eq!(streams(&m1), ["account-2", "account-4"]);

    // Correlation, backfilled from metadata.
    let correlated = read_category(
        s,
        ns,
        CategoryRead {
            correlation: Some("workflow".into()),
            ..category("account")
        },
    )
    .await;
    assert_eq!(streams(&correlated), ["account-2"]);

    // Summaries.
    let stats = s.namespace_stats(ns).await.unwrap();
    assert_eq!((stats.message_count, stats.stream_count), (6, 5));
    let listed = s
        .list_streams(
            ns,
            StreamsQuery {
                prefix: "account-".into(),
                cursor: String::new(),
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), 4);
    assert_eq!(listed[0].version, 1);

    // New writes continue both sequences.
    assert_eq!(write(s, ns, "account-1").await, (2, 7));
    assert_eq!(write(s, ns, "account-9").await, (0, 8));
    let appended = eventodb_store_tests::support::append(
        s,
        ns,
        "ledger",
        vec![msg("A", "{}"), msg("B", "{}")],
        Some(0),
    )
    .await
    .unwrap();
    assert_eq!(appended.written[1].position, 2);
    assert_eq!(
        globals(&read_category(s, ns, category("")).await),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(s.namespace_stats(ns).await.unwrap().message_count, 10);

    // The schema is at the latest version, and Message DB's SQL functions still answer.
    let admin = raw(&url).await;
    let version: i32 = admin
        .query_one(
            "SELECT max(version) FROM \"eventodb_legacy_app\"._schema_version",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, 9);
    let sql_version: i64 = admin
        .query_one(
            "SELECT \"eventodb_legacy_app\".stream_version('account-1')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(sql_version, 2);
    let via_sql: i64 = admin
        .query_one(
            "SELECT count(*) FROM \"eventodb_legacy_app\".get_category_messages('account', 1, -1, NULL, 0, 2)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        via_sql as usize,
        m0.len()
            + 1
            + usize::from(
                eventodb_protocol::ConsumerGroup::new(0, 2)
                    .unwrap()
                    .contains("account-9")
            )
    );
    let position: i64 = admin
        .query_one(
            "SELECT \"eventodb_legacy_app\".write_message(\
             '00000000-0000-4000-8000-0000000000aa', 'account-1', 'ViaSql', '{}'::jsonb)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(position, 3);
    assert_eq!(s.stream_version(ns, "account-1").await.unwrap(), Some(3));
    store.close().await;
}
