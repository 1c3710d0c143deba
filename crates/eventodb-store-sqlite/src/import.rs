//! Bulk import and clearing (PROTOCOL §6.2, §8.2), run on the writer thread's connection.
//!
//! A batch is one `BEGIN IMMEDIATE` transaction: rows are inserted with their own global
//! positions (AUTOINCREMENT then keeps the sequence above the largest one), the per-stream
//! summary is updated, and nothing is published to subscribers.

use std::collections::HashMap;

use eventodb_protocol::consumer_group::group_hash;
use eventodb_protocol::json::correlation_category;
use eventodb_protocol::stream_name::category;
use eventodb_store::{check_batch, stream_position_taken, ImportRecord, StoreError, StoreResult};
use rusqlite::{params, Connection, ErrorCode};

/// SQLite's extended result code for a PRIMARY KEY violation (the global position).
const CONSTRAINT_PRIMARYKEY: i32 = 1555;

/// Runs `f` inside `BEGIN IMMEDIATE … COMMIT`, rolling back on any error.
fn in_transaction<T>(conn: &Connection, f: impl FnOnce() -> StoreResult<T>) -> StoreResult<T> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(StoreError::backend)?;
    let result = f().and_then(|value| {
        conn.execute_batch("COMMIT")
            .map_err(StoreError::backend)
            .map(|()| value)
    });
    if result.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    result
}

/// What one stream's summary gains from a batch.
struct StreamGain<'a> {
    category: &'a str,
    version: i64,
    count: i64,
    last_time: i64,
}

/// Inserts one batch of imported records, all or nothing.
pub(crate) fn import_batch(conn: &Connection, records: &[ImportRecord]) -> StoreResult<()> {
    check_batch(records)?;
    in_transaction(conn, || {
        let mut insert = conn
            .prepare_cached(
                "INSERT INTO messages (global_position, id, stream_name, category, type, \
                 position, data, metadata, time, group_hash, correlation) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .map_err(StoreError::backend)?;
        let mut gains: HashMap<&str, StreamGain<'_>> = HashMap::new();
        for (index, r) in records.iter().enumerate() {
            let stream_category = category(&r.stream_name);
            let correlation = r.metadata.as_deref().and_then(correlation_category);
            insert
                .execute(params![
                    r.global_position,
                    r.id,
                    r.stream_name,
                    stream_category,
                    r.message_type,
                    r.position,
                    r.data,
                    r.metadata,
                    r.time,
                    group_hash(&r.stream_name),
                    correlation
                ])
                .map_err(|e| conflict(e, r, index))?;
            let gain = gains.entry(&r.stream_name).or_insert(StreamGain {
                category: stream_category,
                version: r.position,
                count: 0,
                last_time: r.time,
            });
            gain.version = gain.version.max(r.position);
            gain.count += 1;
            gain.last_time = gain.last_time.max(r.time);
        }
        let mut upsert = conn
            .prepare_cached(
                "INSERT INTO streams (stream_name, category, version, message_count, last_time) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (stream_name) DO UPDATE SET \
                 version = max(version, excluded.version), \
                 message_count = message_count + excluded.message_count, \
                 last_time = max(last_time, excluded.last_time)",
            )
            .map_err(StoreError::backend)?;
        for (stream, gain) in gains {
            upsert
                .execute(params![
                    stream,
                    gain.category,
                    gain.version,
                    gain.count,
                    gain.last_time
                ])
                .map_err(StoreError::backend)?;
        }
        Ok(())
    })
}

/// Classifies a failed insert of record `r` (at `index` in its batch).
fn conflict(e: rusqlite::Error, r: &ImportRecord, index: usize) -> StoreError {
    let rusqlite::Error::SqliteFailure(failure, message) = &e else {
        return StoreError::backend(e);
    };
    if failure.code != ErrorCode::ConstraintViolation {
        return StoreError::backend(e);
    }
    if failure.extended_code == CONSTRAINT_PRIMARYKEY {
        return StoreError::PositionExists {
            global_position: r.global_position,
            index: Some(index),
        };
    }
    let message = message.as_deref().unwrap_or_default();
    let message = if message.contains("messages.id") {
        format!("message id already exists: {}", r.id)
    } else if message.contains("messages.position") {
        stream_position_taken(r)
    } else {
        return StoreError::backend(e);
    };
    StoreError::ImportConflict {
        index: Some(index),
        message,
    }
}

/// Deletes every message and stream summary and resets the global sequence.
pub(crate) fn clear(conn: &Connection) -> StoreResult<()> {
    in_transaction(conn, || {
        conn.execute_batch(
            "DELETE FROM messages; DELETE FROM streams; \
             DELETE FROM sqlite_sequence WHERE name = 'messages';",
        )
        .map_err(StoreError::backend)
    })
}
