//! One append inside the writer's open transaction (PROTOCOL §3.1 and §0 item 9).
//!
//! An append first checks (idempotent replay, duplicate ids, expected version) without
//! writing, then writes. A refusal ([`AppendError::Refused`]) therefore leaves nothing behind
//! and the group's transaction goes on; a failure while writing ([`AppendError::Broken`]) may
//! leave part of the append in the transaction, so the caller must roll the transaction back.

use std::collections::HashSet;

use eventodb_protocol::consumer_group::group_hash;
use eventodb_protocol::json::{correlation_category, same_value};
use eventodb_protocol::stream_name::category;
use eventodb_protocol::time::now_micros;
use eventodb_protocol::NewMessage;
use eventodb_store::{Append, Appended, StoreError, StoreResult, Written};
use rusqlite::{params, Connection, OptionalExtension};

/// A stored message as the idempotency check compares it.
struct Stored {
    stream_name: String,
    message_type: String,
    data: String,
    metadata: Option<String>,
    written: Written,
}

fn stored(conn: &Connection, id: &str) -> StoreResult<Option<Stored>> {
    conn.prepare_cached(
        "SELECT stream_name, type, data, metadata, position, global_position \
         FROM messages WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.query_row([id], |r| {
            Ok(Stored {
                stream_name: r.get(0)?,
                message_type: r.get(1)?,
                data: r.get(2)?,
                metadata: r.get(3)?,
                written: Written {
                    position: r.get(4)?,
                    global_position: r.get(5)?,
                },
            })
        })
        .optional()
    })
    .map_err(StoreError::backend)
}

fn same_content(stored: &Stored, stream_name: &str, m: &NewMessage) -> bool {
    stored.stream_name == stream_name
        && stored.message_type == m.message_type
        && same_value(&stored.data, &m.data)
        && match (&stored.metadata, &m.metadata) {
            (None, None) => true,
            (Some(a), Some(b)) => same_value(a, b),
            _ => false,
        }
}

/// Why an append did not apply.
pub(crate) enum AppendError {
    /// Refused before anything was written (conflict, duplicate id, invalid, or a failed read).
    Refused(StoreError),
    /// Failed while writing: the transaction may hold part of the append.
    Broken(StoreError),
}

/// Applies one append: idempotent replay, duplicate-id and expected-version checks, then the
/// inserts and the `streams` summary update.
pub(crate) fn append(conn: &Connection, append: &Append) -> Result<Appended, AppendError> {
    let checked = check(conn, append).map_err(AppendError::Refused)?;
    match checked {
        Checked::Replayed(written) => Ok(Appended {
            written,
            replayed: true,
        }),
        Checked::Write { version } => write(conn, append, version).map_err(AppendError::Broken),
    }
}

/// What the checks decided.
enum Checked {
    /// Every message is already stored with the same content: answer with its positions.
    Replayed(Vec<Written>),
    /// Write the messages after stream version `version` (-1 for a new stream).
    Write { version: i64 },
}

/// The checks of an append, with reads only.
fn check(conn: &Connection, append: &Append) -> StoreResult<Checked> {
    if append.messages.is_empty() {
        return Err(StoreError::Invalid(
            "an append needs at least one message".into(),
        ));
    }
    let mut seen = HashSet::with_capacity(append.messages.len());
    for m in &append.messages {
        if !seen.insert(m.id.as_str()) {
            return Err(StoreError::DuplicateMessageId(m.id.clone()));
        }
    }

    // Idempotency comes before the expected-version check.
    let mut replayed = Vec::with_capacity(append.messages.len());
    let mut first_existing: Option<&str> = None;
    for m in &append.messages {
        match stored(conn, &m.id)? {
            Some(s) if same_content(&s, &append.stream_name, m) => {
                replayed.push(s.written);
                first_existing.get_or_insert(&m.id);
            }
            Some(_) => return Err(StoreError::DuplicateMessageId(m.id.clone())),
            None => {}
        }
    }
    if replayed.len() == append.messages.len() {
        return Ok(Checked::Replayed(replayed));
    }
    if let Some(id) = first_existing {
        return Err(StoreError::DuplicateMessageId(id.to_owned()));
    }

    let version: i64 = conn
        .prepare_cached("SELECT version FROM streams WHERE stream_name = ?1")
        .and_then(|mut s| s.query_row([&append.stream_name], |r| r.get(0)).optional())
        .map_err(StoreError::backend)?
        .unwrap_or(-1);
    if let Some(expected) = append.expected_version {
        if expected != version {
            return Err(StoreError::VersionConflict {
                expected,
                actual: version,
            });
        }
    }
    Ok(Checked::Write { version })
}

/// The inserts and the summary update of a checked append.
fn write(conn: &Connection, append: &Append, version: i64) -> StoreResult<Appended> {
    let category = category(&append.stream_name);
    let hash = group_hash(&append.stream_name);
    let time = now_micros();
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO messages (id, stream_name, category, type, position, data, metadata, \
             time, group_hash, correlation) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(StoreError::backend)?;
    let mut written = Vec::with_capacity(append.messages.len());
    let mut position = version;
    for m in &append.messages {
        position += 1;
        let correlation = m.metadata.as_deref().and_then(correlation_category);
        insert
            .execute(params![
                m.id,
                append.stream_name,
                category,
                m.message_type,
                position,
                m.data,
                m.metadata,
                time,
                hash,
                correlation
            ])
            .map_err(|e| match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::ConstraintViolation) => {
                    StoreError::DuplicateMessageId(m.id.clone())
                }
                _ => StoreError::backend(e),
            })?;
        written.push(Written {
            position,
            global_position: conn.last_insert_rowid(),
        });
    }
    let count = i64::try_from(append.messages.len()).map_err(StoreError::backend)?;
    conn.prepare_cached(
        "INSERT INTO streams (stream_name, category, version, message_count, last_time) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (stream_name) DO UPDATE SET \
         version = excluded.version, message_count = message_count + excluded.message_count, \
         last_time = max(last_time, excluded.last_time)",
    )
    .and_then(|mut s| s.execute(params![append.stream_name, category, position, count, time]))
    .map_err(StoreError::backend)?;
    Ok(Appended {
        written,
        replayed: false,
    })
}
