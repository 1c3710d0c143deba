//! Turning `messages` rows into [`Message`]s.

use eventodb_protocol::message::MessageRef;
use eventodb_protocol::Message;
use rusqlite::types::ValueRef;
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

/// A message borrowed from a row selected with [`MESSAGE_COLUMNS`] (no copies: pages are
/// encoded from these).
pub(crate) fn message_ref<'r>(row: &'r Row<'_>) -> rusqlite::Result<MessageRef<'r>> {
    let text = |i: usize| -> rusqlite::Result<&'r str> {
        let value = row.get_ref(i)?;
        value.as_str().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, value.data_type(), Box::new(e))
        })
    };
    let metadata = match row.get_ref(6)? {
        ValueRef::Null => None,
        _ => Some(text(6)?),
    };
    Ok(MessageRef {
        id: text(0)?,
        stream_name: text(1)?,
        message_type: text(2)?,
        position: row.get(3)?,
        global_position: row.get(4)?,
        data: text(5)?,
        metadata,
        time: row.get(7)?,
    })
}
