//! Rows to [`Message`]s.

use eventodb_protocol::json::compact;
use eventodb_protocol::Message;
use tokio_postgres::Row;

/// Reads a message from columns 0..8 (see `queries::MESSAGE_COLUMNS`); JSON is made compact.
pub(crate) fn message(row: &Row) -> Result<Message, tokio_postgres::Error> {
    let data: Option<String> = row.try_get(5)?;
    let metadata: Option<String> = row.try_get(6)?;
    Ok(Message {
        id: row.try_get(0)?,
        stream_name: row.try_get(1)?,
        message_type: row.try_get(2)?,
        position: row.try_get(3)?,
        global_position: row.try_get(4)?,
        data: data.map_or_else(|| "null".to_owned(), compact_owned),
        metadata: metadata.map(compact_owned),
        time: row.try_get(7)?,
    })
}

fn compact_owned(text: String) -> String {
    match compact(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(c) => c,
    }
}
