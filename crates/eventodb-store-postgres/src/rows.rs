//! Rows to [`Message`]s, or straight into a JSON page.

use eventodb_protocol::json::compact;
use eventodb_protocol::message::{MessageRef, PageEncoder};
use eventodb_protocol::Message;
use tokio_postgres::Row;

use crate::columns::{IdColumn, TimeColumn};

/// Where the rows of a read go: a list of [`Message`]s, or a JSON page written from the
/// row's own text (no copy of each field first).
pub(crate) trait Sink {
    /// Takes the message of columns 0..8; returns its global position.
    fn take(&mut self, row: &Row) -> Result<i64, tokio_postgres::Error>;
    /// Messages taken so far.
    fn count(&self) -> usize;
}

impl Sink for Vec<Message> {
    fn take(&mut self, row: &Row) -> Result<i64, tokio_postgres::Error> {
        let m = message(row)?;
        let global = m.global_position;
        self.push(m);
        Ok(global)
    }

    fn count(&self) -> usize {
        self.len()
    }
}

/// A JSON page being written, and how many messages it holds.
pub(crate) struct Page {
    encoder: PageEncoder,
    count: usize,
}

impl Page {
    /// An empty page; `category` chooses the 8-element arrays.
    pub(crate) fn new(category: bool) -> Self {
        Self {
            encoder: PageEncoder::new(category),
            count: 0,
        }
    }

    /// The finished JSON array.
    pub(crate) fn finish(self) -> String {
        self.encoder.finish()
    }
}

impl Sink for Page {
    fn take(&mut self, row: &Row) -> Result<i64, tokio_postgres::Error> {
        let data: Option<&str> = row.try_get(5)?;
        let metadata: Option<&str> = row.try_get(6)?;
        let data = data.map(compact);
        let metadata = metadata.map(compact);
        let global_position = row.try_get(4)?;
        let id: IdColumn = row.try_get(0)?;
        let mut id_text = [0u8; 36];
        self.encoder.push(MessageRef {
            id: id.as_str(&mut id_text),
            stream_name: row.try_get(1)?,
            message_type: row.try_get(2)?,
            position: row.try_get(3)?,
            global_position,
            data: data.as_deref().unwrap_or("null"),
            metadata: metadata.as_deref(),
            time: row.try_get::<_, TimeColumn>(7)?.0,
        });
        self.count += 1;
        Ok(global_position)
    }

    fn count(&self) -> usize {
        self.count
    }
}

/// Reads a message from columns 0..8 (see `queries::MESSAGE_COLUMNS`); JSON is made compact.
pub(crate) fn message(row: &Row) -> Result<Message, tokio_postgres::Error> {
    let data: Option<String> = row.try_get(5)?;
    let metadata: Option<String> = row.try_get(6)?;
    Ok(Message {
        id: row.try_get::<_, IdColumn>(0)?.into_string(),
        stream_name: row.try_get(1)?,
        message_type: row.try_get(2)?,
        position: row.try_get(3)?,
        global_position: row.try_get(4)?,
        data: data.map_or_else(|| "null".to_owned(), compact_owned),
        metadata: metadata.map(compact_owned),
        time: row.try_get::<_, TimeColumn>(7)?.0,
    })
}

fn compact_owned(text: String) -> String {
    match compact(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(c) => c,
    }
}
