//! Turning `messages` rows into [`Message`]s.

use eventodb_protocol::Message;
use rusqlite::Row;

/// The columns [`message`] expects, in order.
pub(crate) const MESSAGE_COLUMNS: &str =
    "id, stream_name, type, position, global_position, data, metadata, time";

/// A message from a row selected with [`MESSAGE_COLUMNS`].
pub(crate) fn message(row: &Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: row.get(0)?,
        stream_name: row.get(1)?,
        message_type: row.get(2)?,
        position: row.get(3)?,
        global_position: row.get(4)?,
        data: row.get(5)?,
        metadata: row.get(6)?,
        time: row.get(7)?,
    })
}

/// A `LIMIT` value: SQLite reads a negative limit as "no limit".
pub(crate) fn sql_limit(limit: Option<u64>) -> i64 {
    match limit {
        None => -1,
        Some(n) => i64::try_from(n).unwrap_or(i64::MAX),
    }
}
