//! Every hot store operation on both backends, through the `Store` trait the server calls:
//! SQLite durable (a file, WAL, `synchronous=FULL`), SQLite in memory (test mode), and
//! PostgreSQL on a throw-away server started for the run (`eventodb-pg-cluster`: fsync off, so
//! its figures are our path and PostgreSQL's CPU, not the disk).
//!
//! ```text
//! cargo bench --bench store_ops                      # all three backends
//! cargo bench --bench store_ops -- postgres          # one (criterion's name filter)
//! ```
//!
//! The bare database doing the same work is measured beside these in `store_sqlite.rs` and
//! `bare_sqlite.rs` (SQLite) and `postgres.sh` (PostgreSQL, under load). Under `cargo test
//! --all-targets` every benchmark runs once: a smoke run that keeps this program working,
//! including against a real PostgreSQL server.

// criterion_group! generates undocumented functions, and a benchmark that cannot set up
// its fixture has nothing better to do than stop.
#![allow(missing_docs, clippy::expect_used)]

use std::cell::Cell;

use criterion::{criterion_group, criterion_main, Criterion};
use eventodb_pg_cluster::PgCluster;
use eventodb_protocol::{ConsumerGroup, NewMessage};
use eventodb_store::{Append, CategoryRead, NewNamespace, Store, StreamRead, StreamStart};
use eventodb_store_postgres::{PostgresConfig, PostgresStore};
use eventodb_store_sqlite::{SqliteConfig, SqliteStore};
use tokio::runtime::Runtime;

/// The namespace every benchmark works in.
const NS: &str = "bench";
/// Streams `cart-0` … `cart-9` of category `cart`, loaded before measuring.
const STREAMS: u64 = 10;
/// Messages per loaded stream, so a read of 100 is always full.
const PER_STREAM: u64 = 100;

/// Unique message ids (UUID-shaped: PostgreSQL stores them as `uuid`).
struct Ids(Cell<u64>);

impl Ids {
    fn message(&self) -> NewMessage {
        let n = self.0.get() + 1;
        self.0.set(n);
        NewMessage {
            id: format!("0191f0c2-8d1e-7b3a-9c44-{n:012x}"),
            message_type: "ItemAdded".into(),
            data: r#"{"sku":"B-12","qty":2}"#.into(),
            metadata: Some(r#"{"correlationStreamName":"order-7"}"#.into()),
        }
    }
}

fn append(stream: &str, messages: Vec<NewMessage>) -> Append {
    Append {
        stream_name: stream.into(),
        messages,
        expected_version: None,
    }
}

fn category_read(group: Option<ConsumerGroup>) -> CategoryRead {
    CategoryRead {
        category: "cart".into(),
        start: 1,
        limit: Some(100),
        correlation: None,
        consumer_group: group,
    }
}

/// Creates the namespace and loads the streams the reads use.
fn load<S: Store>(rt: &Runtime, store: &S, ids: &Ids) {
    rt.block_on(store.create_namespace(NewNamespace {
        id: NS.into(),
        token_hash: "0".repeat(64),
        description: String::new(),
        created_at: 0,
    }))
    .expect("create the namespace");
    for s in 0..STREAMS {
        let batch = (0..PER_STREAM).map(|_| ids.message()).collect();
        rt.block_on(store.append(NS, append(&format!("cart-{s}"), batch)))
            .expect("load a stream");
    }
}

/// One benchmark group per backend, one benchmark per operation.
fn operations<S: Store>(c: &mut Criterion, rt: &Runtime, backend: &str, store: &S) {
    let ids = Ids(Cell::new(0));
    load(rt, store, &ids);
    let mut group = c.benchmark_group(format!("store {backend}"));
    group.bench_function("append 1 message", |b| {
        b.iter(|| {
            rt.block_on(store.append(NS, append("cart-new", vec![ids.message()])))
                .expect("append")
        })
    });
    group.bench_function("append 10 messages", |b| {
        b.iter(|| {
            let batch = (0..10).map(|_| ids.message()).collect();
            rt.block_on(store.append(NS, append("cart-batch", batch)))
                .expect("append")
        })
    });
    group.bench_function("stream.get page of 100", |b| {
        b.iter(|| {
            let read = StreamRead {
                stream_name: "cart-3".into(),
                start: StreamStart::Position(0),
                limit: Some(100),
            };
            rt.block_on(store.read_stream_page(NS, read))
                .expect("read")
                .len()
        })
    });
    group.bench_function("category.get page of 100", |b| {
        b.iter(|| {
            rt.block_on(store.read_category_page(NS, category_read(None)))
                .expect("read")
                .len()
        })
    });
    let member = ConsumerGroup::new(0, 4).expect("a valid group");
    group.bench_function("category.get page of 100, consumer group 0 of 4", |b| {
        b.iter(|| {
            rt.block_on(store.read_category_page(NS, category_read(Some(member))))
                .expect("read")
                .len()
        })
    });
    group.bench_function("stream.version", |b| {
        b.iter(|| {
            rt.block_on(store.stream_version(NS, "cart-3"))
                .expect("version")
        })
    });
    group.bench_function("stream.last", |b| {
        b.iter(|| {
            rt.block_on(store.last_message(NS, "cart-3", None))
                .expect("last")
        })
    });
    group.bench_function("head position", |b| {
        b.iter(|| rt.block_on(store.head_position(NS)).expect("head"))
    });
    group.bench_function("ns.info figures", |b| {
        b.iter(|| rt.block_on(store.namespace_stats(NS)).expect("stats"))
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");

    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(SqliteConfig::dir(dir.path())).expect("open SQLite files");
    operations(c, &rt, "sqlite durable", &store);
    rt.block_on(store.close());

    let store = SqliteStore::open(SqliteConfig::memory()).expect("open SQLite in memory");
    operations(c, &rt, "sqlite memory", &store);
    rt.block_on(store.close());

    let cluster = PgCluster::start();
    let url = cluster.fresh_database();
    let store = rt
        .block_on(PostgresStore::connect(PostgresConfig::new(&url)))
        .expect("connect to PostgreSQL");
    operations(c, &rt, "postgres", &store);
    rt.block_on(store.close());
    drop(cluster);
}

criterion_group!(store, benches);
criterion_main!(store);
