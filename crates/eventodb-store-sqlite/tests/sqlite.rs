//! SQLite-specific behaviour: durability across reopen, safe file names for hostile ids,
//! schema versions, exact payload text, change publication and group commit.

// Test helpers panic on set-up failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};
use std::task::Poll;

use eventodb_protocol::NewMessage;
use eventodb_store::{
    Append, Appended, Change, ChangeSink, NewNamespace, Store, StoreError, StoreResult, StreamRead,
    StreamStart,
};
use eventodb_store_sqlite::{SqliteConfig, SqliteStore};
use eventodb_store_tests::support::{message_id, msg, token_hash};
use rusqlite::Connection;

fn new_ns(id: &str, created_secs: i64) -> NewNamespace {
    NewNamespace {
        id: id.to_owned(),
        token_hash: token_hash(),
        description: format!("about {id}"),
        created_at: created_secs * 1_000_000 + 777,
    }
}

fn one(stream: &str, m: NewMessage, expected_version: Option<i64>) -> Append {
    Append {
        stream_name: stream.to_owned(),
        messages: vec![m],
        expected_version,
    }
}

async fn read_all(store: &SqliteStore, ns: &str, stream: &str) -> Vec<eventodb_protocol::Message> {
    store
        .read_stream(
            ns,
            StreamRead {
                stream_name: stream.to_owned(),
                start: StreamStart::Position(0),
                limit: None,
            },
        )
        .await
        .unwrap()
}

fn db_path_of(data_dir: &Path, id: &str) -> String {
    let registry = Connection::open(data_dir.join("metadata.db")).unwrap();
    registry
        .query_row("SELECT db_path FROM namespaces WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_finds_namespaces_and_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let retried = msg("Paid", r#"{"amount":12345678901234567890}"#);
    {
        let store = SqliteStore::open(SqliteConfig::dir(&data)).unwrap();
        store
            .create_namespace(new_ns("alpha", 1_700_000_000))
            .await
            .unwrap();
        store
            .create_namespace(new_ns("beta", 1_700_000_100))
            .await
            .unwrap();
        store
            .create_namespace(new_ns("gone", 1_700_000_200))
            .await
            .unwrap();
        for i in 0..5 {
            store
                .append(
                    "alpha",
                    one("cart-1", msg("Added", &format!(r#"{{"i":{i}}}"#)), None),
                )
                .await
                .unwrap();
        }
        store
            .append("beta", one("pay-1", retried.clone(), None))
            .await
            .unwrap();
        store
            .append("gone", one("x-1", msg("X", "{}"), None))
            .await
            .unwrap();
        assert_eq!(store.delete_namespace("gone").await.unwrap(), 1);
        store.close().await;
    }
    let store = SqliteStore::open(SqliteConfig::dir(&data)).unwrap();
    let ids: Vec<String> = store
        .namespaces()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["beta", "alpha"]);
    let alpha = store.namespace("alpha").await.unwrap().unwrap();
    assert_eq!(alpha.created_at, 1_700_000_000 * 1_000_000);
    assert_eq!(alpha.description, "about alpha");
    let messages = read_all(&store, "alpha", "cart-1").await;
    assert_eq!(messages.len(), 5);
    assert_eq!(messages[4].data, r#"{"i":4}"#);
    assert_eq!(
        store.stream_version("alpha", "cart-1").await.unwrap(),
        Some(4)
    );
    let next = store
        .append("alpha", one("cart-1", msg("Added", "{}"), Some(4)))
        .await
        .unwrap();
    assert_eq!(
        (next.written[0].position, next.written[0].global_position),
        (5, 6)
    );
    // The idempotent retry survives the restart.
    let again = store
        .append("beta", one("pay-1", retried, None))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.written[0].global_position, 1);
    assert_eq!(store.namespace("gone").await.unwrap(), None);
    assert_eq!(
        store.namespace_stats("alpha").await.unwrap().message_count,
        6
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_ids_stay_inside_the_data_dir_and_never_collide() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let long = "a/../".repeat(2_000);
    let ids = [
        "../x",
        "a/b",
        "..",
        ".",
        "CON",
        "con",
        "nul",
        "Acme",
        "acme",
        "acme-prod",
        "acme_prod",
        "acme.prod",
        "acme prod",
        "a\\b",
        "/etc/passwd",
        "x\0y",
        "é",
        "e",
        "metadata",
        &long,
    ];
    let store = SqliteStore::open(SqliteConfig::dir(&data)).unwrap();
    for (i, id) in ids.iter().enumerate() {
        store
            .create_namespace(new_ns(id, 1_700_000_000 + i as i64))
            .await
            .unwrap();
        store
            .append(
                id,
                one("who-1", msg("Me", &format!(r#"{{"i":{i}}}"#)), None),
            )
            .await
            .unwrap();
    }
    for (i, id) in ids.iter().enumerate() {
        let messages = read_all(&store, id, "who-1").await;
        assert_eq!(messages.len(), 1, "{id:?}");
        assert_eq!(messages[0].data, format!(r#"{{"i":{i}}}"#), "{id:?}");
        assert_eq!(messages[0].global_position, 1);
    }
    // Nothing was written outside the data directory.
    let outside: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(outside, ["data"]);
    let inside: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            assert!(e.file_type().unwrap().is_file());
            e.file_name().into_string().unwrap()
        })
        .collect();
    let databases: Vec<&String> = inside
        .iter()
        .filter(|n| n.starts_with("ns-") && n.ends_with(".db"))
        .collect();
    assert_eq!(databases.len(), ids.len());
    for name in &inside {
        assert!(name.len() < 100, "{name}");
        assert!(
            name.starts_with("ns-") || name.starts_with("metadata.db"),
            "{name}"
        );
    }
    for id in ids {
        assert_eq!(store.delete_namespace(id).await.unwrap(), 1);
    }
    let left: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("ns-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_versions_are_recorded_and_brought_up_to_date() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    {
        let store = SqliteStore::open(SqliteConfig::dir(&data)).unwrap();
        store
            .create_namespace(new_ns("acme", 1_700_000_000))
            .await
            .unwrap();
        store
            .append("acme", one("a-1", msg("A", "{}"), None))
            .await
            .unwrap();
        store.close().await;
    }
    let file = data.join(db_path_of(&data, "acme"));
    let versions = |conn: &Connection| -> Vec<i64> {
        conn.prepare("SELECT version FROM _schema_version ORDER BY version")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    {
        let conn = Connection::open(&file).unwrap();
        assert_eq!(versions(&conn), [1]);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        // Pretend the database predates versioning: no `_schema_version` means version 0.
        conn.execute_batch("DROP TABLE _schema_version").unwrap();
    }
    {
        let registry = Connection::open(data.join("metadata.db")).unwrap();
        let applied: Vec<String> = registry
            .prepare("SELECT version FROM schema_migrations")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(applied, ["001_init.sql"]);
    }
    let store = SqliteStore::open(SqliteConfig::dir(&data)).unwrap();
    assert_eq!(read_all(&store, "acme", "a-1").await.len(), 1);
    store.close().await;
    let conn = Connection::open(&file).unwrap();
    assert_eq!(versions(&conn), [1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_stored_paths_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    SqliteStore::open(SqliteConfig::dir(&data))
        .unwrap()
        .close()
        .await;
    let registry = Connection::open(data.join("metadata.db")).unwrap();
    registry
        .execute(
            "INSERT INTO namespaces (id, token_hash, db_path, created_at) \
             VALUES ('evil', 'h', '../evil.db', 0)",
            [],
        )
        .unwrap();
    drop(registry);
    let opened = SqliteStore::open(SqliteConfig::dir(&data));
    assert!(matches!(opened, Err(StoreError::Invalid(_))), "{opened:?}");
    assert!(!tmp.path().join("evil.db").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_text_is_kept_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    for config in [SqliteConfig::memory(), SqliteConfig::dir(tmp.path())] {
        let store = SqliteStore::open(config.clone()).unwrap();
        store.create_namespace(new_ns("exact", 1)).await.unwrap();
        let data = r#"{"z":1,"a":12345678901234567890,"f":1.50,"e":1e400,"s":"é\u00e9\n"}"#;
        let meta = r#"{"correlationStreamName":"wf-1","n":-0}"#;
        let m = NewMessage {
            id: message_id(),
            message_type: "T".into(),
            data: data.into(),
            metadata: Some(meta.into()),
        };
        store.append("exact", one("x-1", m, None)).await.unwrap();
        let got = read_all(&store, "exact", "x-1").await;
        assert_eq!(got[0].data, data);
        assert_eq!(got[0].metadata.as_deref(), Some(meta));
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_sqlite_connections() {
    let tmp = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(SqliteConfig::dir(tmp.path())).unwrap();
    store.create_namespace(new_ns("h", 1)).await.unwrap();
    store
        .append("h", one("a-1", msg("A", "{}"), None))
        .await
        .unwrap();
    read_all(&store, "h", "a-1").await;
    let health = store.health().await.unwrap();
    assert_eq!(health.backend, "sqlite");
    // Registry, writer and at least one reader.
    assert!(health.connections >= 3, "{health:?}");
    store.close().await;
    assert!(matches!(store.health().await, Err(StoreError::Closed)));
}

/// Records publications; the first one blocks until released, holding the writer thread.
struct GateSink {
    calls: Mutex<Vec<(String, Vec<Change>)>>,
    entered: tokio::sync::mpsc::UnboundedSender<()>,
    release: Mutex<Option<mpsc::Receiver<()>>>,
}

impl ChangeSink for GateSink {
    fn publish(&self, namespace: &str, changes: &[Change]) {
        self.calls
            .lock()
            .unwrap()
            .push((namespace.to_owned(), changes.to_vec()));
        // Every publication is announced; the first one also waits to be released.
        let _ = self.entered.send(());
        let gate = self.release.lock().unwrap().take();
        if let Some(release) = gate {
            let _ = release.recv();
        }
    }
}

/// Polls a future once (so an append is queued to the writer) and keeps it for later.
async fn poll_once<F: Future + Unpin>(fut: &mut F) {
    std::future::poll_fn(|cx| {
        let _ = std::pin::Pin::new(&mut *fut).poll(cx);
        Poll::Ready(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_appends_commit_as_one_group_and_failures_stay_alone() {
    let (entered_tx, mut entered) = tokio::sync::mpsc::unbounded_channel();
    let (release_tx, release_rx) = mpsc::channel();
    let sink = Arc::new(GateSink {
        calls: Mutex::new(Vec::new()),
        entered: entered_tx,
        release: Mutex::new(Some(release_rx)),
    });
    let store = Arc::new(
        SqliteStore::open_with_sink(SqliteConfig::memory(), sink.clone() as Arc<dyn ChangeSink>)
            .unwrap(),
    );
    store.create_namespace(new_ns("g", 1)).await.unwrap();
    let taken = msg("Taken", "{}");
    // The first commit's publication holds the writer thread.
    let first = {
        let store = Arc::clone(&store);
        let taken = taken.clone();
        tokio::spawn(async move { store.append("g", one("first-1", taken, None)).await })
    };
    entered.recv().await.unwrap();

    // Queue ten appends behind it: one conflicts, one reuses an id, one is a replay.
    let mut pending: Vec<std::pin::Pin<Box<dyn Future<Output = StoreResult<Appended>> + Send>>> =
        Vec::new();
    for i in 0..10 {
        let store = Arc::clone(&store);
        let append = match i {
            3 => one("s-3", msg("Bad", "{}"), Some(7)),
            6 => one(
                "first-1",
                NewMessage {
                    data: r#"{"x":1}"#.into(),
                    ..taken.clone()
                },
                None,
            ),
            8 => one("first-1", taken.clone(), None),
            _ => one(&format!("s-{i}"), msg("Good", "{}"), Some(-1)),
        };
        pending.push(Box::pin(async move { store.append("g", append).await }));
    }
    for fut in &mut pending {
        poll_once(fut).await;
    }
    release_tx.send(()).unwrap();
    assert_eq!(first.await.unwrap().unwrap().written[0].global_position, 1);

    let mut results = Vec::new();
    for fut in pending {
        results.push(fut.await);
    }
    for (i, r) in results.iter().enumerate() {
        match i {
            3 => assert!(matches!(
                r,
                Err(StoreError::VersionConflict {
                    expected: 7,
                    actual: -1
                })
            )),
            6 => assert!(matches!(r, Err(StoreError::DuplicateMessageId(_)))),
            8 => assert!(r.as_ref().unwrap().replayed),
            _ => assert!(!r.as_ref().unwrap().replayed),
        }
    }
    // Writers are answered before their changes are published: wait for the group's.
    entered.recv().await.unwrap();
    let calls = sink.calls.lock().unwrap().clone();
    assert_eq!(
        calls.len(),
        2,
        "one commit for the first append, one for the queued group"
    );
    assert_eq!(calls[0].1.len(), 1);
    let group = &calls[1].1;
    assert_eq!(calls[1].0, "g");
    assert_eq!(
        group.len(),
        7,
        "seven new messages; failures and the replay publish nothing"
    );
    let globals: Vec<i64> = group.iter().map(|c| c.global_position).collect();
    assert_eq!(globals, (2..=8).collect::<Vec<_>>());
    assert!(group
        .iter()
        .all(|c| c.position == 0 && c.stream_name.starts_with("s-")));
    assert_eq!(store.namespace_stats("g").await.unwrap().message_count, 8);
    store.close().await;
}

/// Writes that arrive back to back never leave the writer a moment with the WAL fully copied,
/// so only the checkpointer's restart keeps the log from growing with everything ever
/// written: ~6,000 appends of 2 KB (about 100 MB of WAL pages unchecked) leave a WAL file of
/// a bounded size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_under_continuous_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let config = SqliteConfig {
        synchronous: eventodb_store_sqlite::Synchronous::Off,
        ..SqliteConfig::dir(&data)
    };
    let store = Arc::new(SqliteStore::open(config).unwrap());
    store
        .create_namespace(new_ns("wal", 1_700_000_000))
        .await
        .unwrap();
    let payload = format!(r#"{{"pad":"{}"}}"#, "x".repeat(2048));
    let mut writers = Vec::new();
    for w in 0..8 {
        let store = Arc::clone(&store);
        let payload = payload.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..750 {
                let stream = format!("wal-{w}x{}", i % 50);
                store
                    .append("wal", one(&stream, msg("Padded", &payload), None))
                    .await
                    .unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let db = data.join(db_path_of(&data, "wal"));
    let wal = std::fs::metadata(format!("{}-wal", db.display()))
        .map(|m| m.len())
        .unwrap_or(0);
    let db_size = std::fs::metadata(&db).unwrap().len();
    assert!(
        db_size > 12 << 20,
        "the messages reached the database file: {db_size} bytes"
    );
    assert!(wal < 48 << 20, "WAL file of {wal} bytes");
    store.close().await;
}
