//! Store operations on the SQLite backend beside the bare database doing the same work in the
//! same run (rusqlite, same file layout, same durability mode), so figures read as ratios.

// criterion_group! generates undocumented functions, and a benchmark that cannot set up
// its fixture has nothing better to do than stop.
#![allow(missing_docs, clippy::expect_used)]

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use eventodb_protocol::NewMessage;
use eventodb_store::{Append, NewNamespace, Store, StreamRead, StreamStart};
use eventodb_store_sqlite::{SqliteConfig, SqliteStore};
use rusqlite::{params, Connection};

fn message(i: u64) -> NewMessage {
    NewMessage {
        id: format!("0191f0c2-8d1e-7b3a-9c44-{i:012x}"),
        message_type: "ItemAdded".into(),
        data: r#"{"sku":"B-12","qty":2}"#.into(),
        metadata: None,
    }
}

fn bare_connection(dir: &std::path::Path) -> Connection {
    let conn = Connection::open(dir.join("bare.db")).expect("open bare database");
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
         CREATE TABLE IF NOT EXISTS messages (
           global_position INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL,
           stream_name TEXT NOT NULL, type TEXT NOT NULL, position INTEGER NOT NULL,
           data TEXT NOT NULL, metadata TEXT, time INTEGER NOT NULL);
         CREATE UNIQUE INDEX IF NOT EXISTS messages_id ON messages(id);
         CREATE UNIQUE INDEX IF NOT EXISTS messages_stream ON messages(stream_name, position);",
    )
    .expect("bare schema");
    conn
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(SqliteConfig::dir(dir.path())).expect("open store"));
    runtime
        .block_on(store.create_namespace(NewNamespace {
            id: "bench".into(),
            token_hash: "0".repeat(64),
            description: String::new(),
            created_at: 0,
        }))
        .expect("namespace");
    let bare = bare_connection(dir.path());

    let mut n = 0u64;
    let mut group = c.benchmark_group("append one message, durable (synchronous=FULL)");
    group.bench_function("bare rusqlite: one INSERT per transaction", |b| {
        b.iter(|| {
            n += 1;
            let tx = bare.unchecked_transaction().expect("begin");
            tx.execute(
                "INSERT INTO messages (id, stream_name, type, position, data, metadata, time)
                 VALUES (?1, 'cart-1', 'ItemAdded', ?2, '{}', NULL, 0)",
                params![format!("bare-{n}"), n as i64],
            )
            .expect("insert");
            tx.commit().expect("commit");
        })
    });
    group.bench_function("SqliteStore::append", |b| {
        b.iter_batched(
            || {
                n += 1;
                message(n)
            },
            |m| {
                runtime
                    .block_on(store.append(
                        "bench",
                        Append {
                            stream_name: "cart-1".into(),
                            messages: vec![m],
                            expected_version: None,
                        },
                    ))
                    .expect("append")
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("read 100 messages of a stream");
    group.bench_function("bare rusqlite", |b| {
        b.iter(|| {
            let mut stmt = bare
                .prepare_cached(
                    "SELECT id, type, position, global_position, data, metadata, time
                     FROM messages WHERE stream_name = 'cart-1' AND position >= 0
                     ORDER BY position LIMIT 100",
                )
                .expect("prepare");
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, i64>(6)?,
                    ))
                })
                .expect("query");
            rows.count()
        })
    });
    group.bench_function("SqliteStore::read_stream", |b| {
        b.iter(|| {
            runtime
                .block_on(store.read_stream(
                    "bench",
                    StreamRead {
                        stream_name: "cart-1".into(),
                        start: StreamStart::Position(0),
                        limit: Some(100),
                    },
                ))
                .expect("read")
                .len()
        })
    });
    group.finish();
    runtime.block_on(store.close());
}

criterion_group!(store, benches);
criterion_main!(store);
