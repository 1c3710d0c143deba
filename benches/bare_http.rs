//! The HTTP floor: the thinnest JSON-RPC server over the same SQLite, so that `eventodb bench`
//! figures of our server can be quoted against what HTTP, JSON and SQLite alone cost on this
//! machine, measured with the same generator in the same sitting (`benches/run.sh`).
//!
//! ```text
//! cargo bench --bench bare_http -- --bench --mode durable --seconds 120
//! # prints "listening on 127.0.0.1:PORT"; then, for example:
//! eventodb bench --url http://127.0.0.1:PORT write --clients 1
//! ```
//!
//! It answers two methods, as the `write` and `mixed` scenarios send them: `stream.write`
//! (one message, `{"position":…,"globalPosition":…}`) and `stream.get` (up to 100 messages
//! from a position, encoded as our server encodes a page). Everything else our server does is
//! left out on purpose: no authentication, no validation beyond what parsing needs, no
//! idempotency or expected-version checks, no per-stream summary, no metrics or logs, no group
//! commit, no writer thread. Each request runs to the end on the tokio worker that read it,
//! holding the one connection (hyper 1 on a multi-threaded tokio runtime, rusqlite,
//! serde_json: the crates our server uses). Stream versions are kept in memory.
//!
//! `--mode durable` is a WAL database with `synchronous=FULL` (one sync per write, like the
//! server's durable default); `--mode memory` an in-memory database (like `--test-mode`). It
//! stops by itself after `--seconds` (default 60). Without `--bench` (as under `cargo test
//! --all-targets`) it is a smoke run: each mode serves one write and one read sent over a raw
//! socket, checks the answers, and exits.

#![allow(clippy::expect_used, missing_docs)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rusqlite::{params, Connection};
use serde_json::Value;

/// The server's namespace schema (`messages` with its indexes; the `streams` summary is there
/// but unused here).
const SCHEMA: &str = include_str!("../sql/sqlite/namespace/001_init.sql");

const INSERT: &str = "INSERT INTO messages (id, stream_name, category, type, position, data, \
    metadata, time) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
const READ_STREAM: &str = "SELECT id, type, position, global_position, data, metadata, time \
    FROM messages WHERE stream_name = ?1 AND position >= ?2 ORDER BY position LIMIT 100";

/// The one connection and the streams' versions.
struct Db {
    conn: Connection,
    versions: HashMap<String, i64>,
    written: u64,
}

type Shared = Arc<Mutex<Db>>;

fn open(mode: &str, dir: &std::path::Path) -> Db {
    let conn = match mode {
        "durable" => {
            let conn = Connection::open(dir.join("floor.db")).expect("open database file");
            conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
                .expect("pragmas");
            conn
        }
        "memory" => Connection::open_in_memory().expect("open in-memory database"),
        other => panic!("--mode is durable or memory, not {other}"),
    };
    conn.execute_batch(SCHEMA).expect("create schema");
    Db {
        conn,
        versions: HashMap::new(),
        written: 0,
    }
}

/// One message written in its own transaction; the answer's body.
fn write(db: &mut Db, stream: &str, message: &Value) -> rusqlite::Result<String> {
    db.written += 1;
    let n = db.written;
    let position = db.versions.get(stream).map_or(0, |v| v + 1);
    let category = stream.split_once('-').map_or(stream, |(c, _)| c);
    let kind = message.get("type").and_then(Value::as_str).unwrap_or("");
    let data = message.get("data").map_or("{}".into(), Value::to_string);
    let metadata = message.get("metadata").map(Value::to_string);
    let time = eventodb_protocol::time::now_micros();
    // Time-ordered like the server's v7 ids; the counter keeps them unique.
    let id = format!(
        "{:08x}-{:04x}-7000-8000-{:012x}",
        (time >> 32) & 0xffff_ffff,
        (time >> 16) & 0xffff,
        n
    );
    let conn = &db.conn;
    conn.prepare_cached("BEGIN")?.execute([])?;
    let committed = conn
        .prepare_cached(INSERT)
        .and_then(|mut insert| {
            insert.execute(params![
                id, stream, category, kind, position, data, metadata, time
            ])
        })
        .and_then(|_| conn.prepare_cached("COMMIT")?.execute([]));
    if let Err(e) = committed {
        // Leave no transaction open, or every later write would fail on its BEGIN.
        let _ = conn.execute_batch("ROLLBACK");
        return Err(e);
    }
    let global = conn.last_insert_rowid();
    db.versions.insert(stream.to_owned(), position);
    Ok(format!(
        "{{\"position\":{position},\"globalPosition\":{global}}}"
    ))
}

/// Up to 100 messages of a stream from `from`, as a page of our server is encoded.
fn read(db: &Db, stream: &str, from: i64) -> rusqlite::Result<String> {
    let mut statement = db.conn.prepare_cached(READ_STREAM)?;
    let mut rows = statement.query(params![stream, from])?;
    let mut out = String::from("[");
    while let Some(row) = rows.next()? {
        if out.len() > 1 {
            out.push(',');
        }
        out.push('[');
        eventodb_protocol::json::write_string(&mut out, row.get_ref(0)?.as_str()?);
        out.push(',');
        eventodb_protocol::json::write_string(&mut out, row.get_ref(1)?.as_str()?);
        // Writing into a String cannot fail.
        let _ = write!(out, ",{},{},", row.get::<_, i64>(2)?, row.get::<_, i64>(3)?);
        out.push_str(row.get_ref(4)?.as_str()?);
        out.push(',');
        out.push_str(row.get_ref(5)?.as_str_or_null()?.unwrap_or("null"));
        out.push_str(",\"");
        eventodb_protocol::time::write_rfc3339(&mut out, row.get(6)?);
        out.push_str("\"]");
    }
    out.push(']');
    Ok(out)
}

/// Parses the call and runs it; `None` for anything this floor does not answer.
fn call(db: &Shared, body: &[u8]) -> Option<String> {
    let call: Value = serde_json::from_slice(body).ok()?;
    let method = call.get(0)?.as_str()?;
    let stream = call.get(1)?.as_str()?;
    let mut db = db.lock().ok()?;
    match method {
        "stream.write" => write(&mut db, stream, call.get(2)?).ok(),
        "stream.get" => {
            let from = call
                .get(2)
                .and_then(|o| o.get("position"))
                .and_then(Value::as_i64)
                .unwrap_or(0);
            read(&db, stream, from).ok()
        }
        _ => None,
    }
}

async fn serve_request(
    db: Shared,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let (status, answer) = match call(&db, &body) {
        Some(answer) => (StatusCode::OK, answer),
        None => (
            StatusCode::BAD_REQUEST,
            "{\"error\":{\"code\":\"FLOOR\"}}".to_owned(),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(answer)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// Serves on `listener` until `limit` has passed.
async fn serve(listener: tokio::net::TcpListener, db: Shared, limit: Duration) {
    let deadline = tokio::time::sleep(limit);
    tokio::pin!(deadline);
    loop {
        let accepted = tokio::select! {
            _ = &mut deadline => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let db = db.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |r| serve_request(db.clone(), r));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// One request over a raw socket; the answer's body.
fn post(addr: std::net::SocketAddr, body: &str) -> String {
    let mut socket = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        socket,
        "POST /rpc HTTP/1.1\r\nhost: floor\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    socket.read_to_string(&mut answer).expect("read answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer.split("\r\n\r\n").nth(1).unwrap_or("").to_owned()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let bench = args.iter().any(|a| a == "--bench");
    let seconds: f64 = value("--seconds")
        .and_then(|s| s.parse().ok())
        .unwrap_or(60.0);
    let dir = tempfile::tempdir().expect("create temp dir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if bench {
        let mode = value("--mode").unwrap_or_else(|| "durable".into());
        let db = Arc::new(Mutex::new(open(&mode, dir.path())));
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("address");
            println!("bare HTTP floor ({mode}) listening on {addr}");
            std::io::stdout().flush().expect("flush stdout");
            serve(listener, db, Duration::from_secs_f64(seconds)).await;
        });
        return;
    }
    // Smoke run: each mode answers a write and a read, and the read returns the write.
    for mode in ["durable", "memory"] {
        let db = Arc::new(Mutex::new(open(mode, dir.path())));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let server = runtime.spawn(serve(listener, db, Duration::from_secs(30)));
        let written = post(
            addr,
            r#"["stream.write","floor-1",{"type":"T","data":{"n":1}}]"#,
        );
        assert_eq!(written, r#"{"position":0,"globalPosition":1}"#, "{mode}");
        let page = post(
            addr,
            r#"["stream.get","floor-1",{"position":0,"batchSize":100}]"#,
        );
        assert!(
            page.starts_with("[[\"") && page.contains(r#""T",0,1,{"n":1},null,""#),
            "{mode}: {page}"
        );
        server.abort();
        println!("bare HTTP floor ({mode}): smoke run answered a write and a read");
    }
}
