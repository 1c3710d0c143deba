//! Helpers shared by the checks: unique names, message builders and short-hand calls.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use eventodb_protocol::{Message, NewMessage};
use eventodb_store::{
    Append, Appended, CategoryRead, NewNamespace, Store, StoreResult, StreamRead, StreamStart,
};

static COUNTER: AtomicU64 = AtomicU64::new(1);
static RUN: OnceLock<u64> = OnceLock::new();

/// A number distinguishing this test process from others sharing a database.
fn run() -> u64 {
    *RUN.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        nanos ^ (u64::from(std::process::id()) << 40)
    })
}

fn next() -> u64 {
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// A name unique within this process and (very likely) across processes.
pub fn unique(label: &str) -> String {
    format!("{label}-{:x}-{}", run(), next())
}

/// A fresh canonical lowercase UUID-shaped message id.
pub fn message_id() -> String {
    let hi = run();
    let lo = next();
    format!(
        "{:08x}-{:04x}-7{:03x}-8{:03x}-{:012x}",
        (hi >> 32) as u32,
        (hi >> 16) & 0xffff,
        hi & 0xfff,
        (lo >> 48) & 0xfff,
        lo & 0xffff_ffff_ffff
    )
}

/// A fresh unique 64-hex-digit token hash.
pub fn token_hash() -> String {
    format!("{:032x}{:032x}", run(), next())
}

/// Creates a namespace with a unique id starting with `label` and returns the id.
pub async fn new_namespace<S: Store>(store: &S, label: &str) -> String {
    let id = unique(label);
    store
        .create_namespace(NewNamespace {
            id: id.clone(),
            token_hash: token_hash(),
            description: format!("conformance: {label}"),
            created_at: eventodb_protocol::time::now_micros(),
        })
        .await
        .expect("create namespace");
    id
}

/// A message with a fresh id, no metadata.
pub fn msg(message_type: &str, data: &str) -> NewMessage {
    NewMessage {
        id: message_id(),
        message_type: message_type.to_owned(),
        data: data.to_owned(),
        metadata: None,
    }
}

/// A message with a fresh id and metadata.
pub fn msg_meta(message_type: &str, data: &str, metadata: &str) -> NewMessage {
    NewMessage {
        metadata: Some(metadata.to_owned()),
        ..msg(message_type, data)
    }
}

/// Appends `messages` to `stream`.
pub async fn append<S: Store>(
    store: &S,
    ns: &str,
    stream: &str,
    messages: Vec<NewMessage>,
    expected_version: Option<i64>,
) -> StoreResult<Appended> {
    store
        .append(
            ns,
            Append {
                stream_name: stream.to_owned(),
                messages,
                expected_version,
            },
        )
        .await
}

/// Appends one `Event` message to `stream`, panicking on failure; returns (position, global).
pub async fn write<S: Store>(store: &S, ns: &str, stream: &str) -> (i64, i64) {
    write_msg(store, ns, stream, msg("Event", r#"{"n":1}"#)).await
}

/// Appends one given message, panicking on failure; returns (position, global).
pub async fn write_msg<S: Store>(store: &S, ns: &str, stream: &str, m: NewMessage) -> (i64, i64) {
    let appended = append(store, ns, stream, vec![m], None)
        .await
        .unwrap_or_else(|e| panic!("append to {stream}: {e}"));
    assert!(!appended.replayed);
    assert_eq!(appended.written.len(), 1);
    let w = appended.written[0];
    (w.position, w.global_position)
}

/// Every message of a stream.
pub async fn read_stream_all<S: Store>(store: &S, ns: &str, stream: &str) -> Vec<Message> {
    read_stream(store, ns, stream, StreamStart::Position(0), None).await
}

/// A stream read, panicking on failure.
pub async fn read_stream<S: Store>(
    store: &S,
    ns: &str,
    stream: &str,
    start: StreamStart,
    limit: Option<u64>,
) -> Vec<Message> {
    store
        .read_stream(
            ns,
            StreamRead {
                stream_name: stream.to_owned(),
                start,
                limit,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("read stream {stream}: {e}"))
}

/// A category read with no filters, from global position 1, unlimited.
pub fn category(name: &str) -> CategoryRead {
    CategoryRead {
        category: name.to_owned(),
        start: 1,
        limit: None,
        correlation: None,
        consumer_group: None,
    }
}

/// A category read, panicking on failure.
pub async fn read_category<S: Store>(store: &S, ns: &str, read: CategoryRead) -> Vec<Message> {
    store
        .read_category(ns, read)
        .await
        .unwrap_or_else(|e| panic!("read category: {e}"))
}

/// The stream names of messages, in order.
pub fn streams(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.stream_name.as_str()).collect()
}

/// The global positions of messages, in order.
pub fn globals(messages: &[Message]) -> Vec<i64> {
    messages.iter().map(|m| m.global_position).collect()
}

/// The stream positions of messages, in order.
pub fn positions(messages: &[Message]) -> Vec<i64> {
    messages.iter().map(|m| m.position).collect()
}

/// The number of messages in a namespace, by reading them all.
pub async fn count_all<S: Store>(store: &S, ns: &str) -> usize {
    read_category(store, ns, category("")).await.len()
}

/// JSON text in a canonical form: no white space, object keys sorted, strings re-escaped,
/// number tokens kept verbatim (so `42` and `42.0` differ, and big integers stay exact).
pub fn canonical_json(text: &str) -> String {
    use std::collections::BTreeMap;

    use serde_json::value::RawValue;

    let t = text.trim();
    match t.as_bytes().first() {
        Some(b'{') => {
            let members: BTreeMap<String, Box<RawValue>> =
                serde_json::from_str(t).unwrap_or_else(|e| panic!("bad JSON {t}: {e}"));
            let inner: Vec<String> = members
                .iter()
                .map(|(k, v)| format!("{}:{}", canonical_string(k), canonical_json(v.get())))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Some(b'[') => {
            let items: Vec<Box<RawValue>> =
                serde_json::from_str(t).unwrap_or_else(|e| panic!("bad JSON {t}: {e}"));
            let inner: Vec<String> = items.iter().map(|v| canonical_json(v.get())).collect();
            format!("[{}]", inner.join(","))
        }
        Some(b'"') => {
            let s: String = serde_json::from_str(t).unwrap_or_else(|e| panic!("bad JSON {t}: {e}"));
            canonical_string(&s)
        }
        _ => t.to_owned(),
    }
}

fn canonical_string(s: &str) -> String {
    let mut out = String::new();
    eventodb_protocol::json::write_string(&mut out, s);
    out
}

/// Asserts two JSON texts denote the same value, numbers compared by their text.
pub fn assert_same_json(actual: &str, expected: &str) {
    assert_eq!(
        canonical_json(actual),
        canonical_json(expected),
        "JSON differs:\n  actual:   {actual}\n  expected: {expected}"
    );
}
