//! The read queries, run on any connection of a namespace (a pooled read-only connection in
//! file mode, the writer thread's connection in memory mode).

use eventodb_protocol::message::PageEncoder;
use eventodb_protocol::Message;
use eventodb_store::{
    CategoryRead, CategorySummary, NamespaceStats, StoreError, StoreResult, StreamRead,
    StreamStart, StreamSummary, StreamsQuery,
};
use rusqlite::{params, Connection, OptionalExtension, Row, Rows};

use crate::rows::{message, message_ref, MESSAGE_COLUMNS};

/// `read_stream`: by position or global position, ordered by position.
pub(crate) fn read_stream(conn: &Connection, read: &StreamRead) -> StoreResult<Vec<Message>> {
    let mut messages = Vec::new();
    each_stream_row(conn, read, |row| {
        messages.push(message(row)?);
        Ok(())
    })?;
    Ok(messages)
}

/// [`read_stream`], encoded as the `stream.get` page straight from the rows.
pub(crate) fn read_stream_page(conn: &Connection, read: &StreamRead) -> StoreResult<String> {
    let mut page = PageEncoder::new(false);
    each_stream_row(conn, read, |row| {
        page.push(message_ref(row)?);
        Ok(())
    })?;
    Ok(page.finish())
}

/// `read_category`: category (or everything), global position, correlation and consumer
/// group filters, ordered by global position, limited after filtering.
pub(crate) fn read_category(conn: &Connection, read: &CategoryRead) -> StoreResult<Vec<Message>> {
    let mut messages = Vec::new();
    each_category_row(conn, read, |row| {
        messages.push(message(row)?);
        Ok(())
    })?;
    Ok(messages)
}

/// [`read_category`], encoded as the `category.get` page straight from the rows.
pub(crate) fn read_category_page(conn: &Connection, read: &CategoryRead) -> StoreResult<String> {
    let mut page = PageEncoder::new(true);
    each_category_row(conn, read, |row| {
        page.push(message_ref(row)?);
        Ok(())
    })?;
    Ok(page.finish())
}

/// Calls `f` with each row of a stream read, in order.
fn each_stream_row(
    conn: &Connection,
    read: &StreamRead,
    f: impl FnMut(&Row<'_>) -> rusqlite::Result<()>,
) -> StoreResult<()> {
    if read.limit == Some(0) {
        return Ok(());
    }
    let (sql, start) = match read.start {
        StreamStart::Position(p) => (
            format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE stream_name = ?1 \
                 AND position >= ?2 ORDER BY position"
            ),
            p.max(0),
        ),
        StreamStart::GlobalPosition(g) => (
            format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE stream_name = ?1 \
                 AND global_position >= ?2 ORDER BY position"
            ),
            g,
        ),
    };
    let mut stmt = conn.prepare_cached(&sql).map_err(StoreError::backend)?;
    let rows = stmt
        .query(params![read.stream_name, start])
        .map_err(StoreError::backend)?;
    each_row(rows, read.limit, f)
}

/// Calls `f` with each row of a category read, in order.
fn each_category_row(
    conn: &Connection,
    read: &CategoryRead,
    f: impl FnMut(&Row<'_>) -> rusqlite::Result<()>,
) -> StoreResult<()> {
    if read.limit == Some(0) {
        return Ok(());
    }
    let mut sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE global_position >= ?1");
    if !read.category.is_empty() {
        sql.push_str(" AND category = ?2");
    }
    if read.correlation.is_some() {
        sql.push_str(" AND correlation = ?3");
    }
    if read.consumer_group.is_some() {
        sql.push_str(" AND group_hash IS NOT NULL AND group_hash % ?4 = ?5");
    }
    sql.push_str(" ORDER BY global_position");
    let (size, member) = match read.consumer_group {
        Some(g) => (
            i64::try_from(g.size()).map_err(StoreError::backend)?,
            i64::try_from(g.member()).map_err(StoreError::backend)?,
        ),
        None => (1, 0),
    };
    let mut stmt = conn.prepare_cached(&sql).map_err(StoreError::backend)?;
    // Bind only the parameters this variant mentions (numbered ones may be skipped).
    let mut bind = |index: usize, value: &dyn rusqlite::ToSql| -> StoreResult<()> {
        stmt.raw_bind_parameter(index, value)
            .map_err(StoreError::backend)
    };
    bind(1, &read.start)?;
    if !read.category.is_empty() {
        bind(2, &read.category)?;
    }
    if let Some(correlation) = &read.correlation {
        bind(3, correlation)?;
    }
    if read.consumer_group.is_some() {
        bind(4, &size)?;
        bind(5, &member)?;
    }
    each_row(stmt.raw_query(), read.limit, f)
}

/// Calls `f` with at most `limit` rows.
///
/// The limit is applied here rather than as a bound `LIMIT ?`: SQLite re-plans a statement
/// whose `LIMIT` is a parameter every time it runs (a full re-parse per read), while these
/// statements walk an index in the requested order anyway, so stopping early costs nothing.
fn each_row(
    mut rows: Rows<'_>,
    limit: Option<u64>,
    mut f: impl FnMut(&Row<'_>) -> rusqlite::Result<()>,
) -> StoreResult<()> {
    let mut left = limit.unwrap_or(u64::MAX);
    while left > 0 {
        let Some(row) = rows.next().map_err(StoreError::backend)? else {
            break;
        };
        f(row).map_err(StoreError::backend)?;
        left -= 1;
    }
    Ok(())
}

/// `last_message`: the highest-position message, optionally of one type.
pub(crate) fn last_message(
    conn: &Connection,
    stream_name: &str,
    message_type: Option<&str>,
) -> StoreResult<Option<Message>> {
    let result = match message_type {
        None => conn
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE stream_name = ?1 \
                 ORDER BY position DESC LIMIT 1"
            ))
            .and_then(|mut s| s.query_row([stream_name], message).optional()),
        Some(t) => conn
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE stream_name = ?1 AND type = ?2 \
                 ORDER BY position DESC LIMIT 1"
            ))
            .and_then(|mut s| s.query_row([stream_name, t], message).optional()),
    };
    result.map_err(StoreError::backend)
}

/// `stream_version`: the stream's last position, `None` when it has no messages.
pub(crate) fn stream_version(conn: &Connection, stream_name: &str) -> StoreResult<Option<i64>> {
    conn.prepare_cached("SELECT version FROM streams WHERE stream_name = ?1")
        .and_then(|mut s| s.query_row([stream_name], |r| r.get(0)).optional())
        .map_err(StoreError::backend)
}

/// The highest global position ever assigned in the namespace (0 when none).
pub(crate) fn head_position(conn: &Connection) -> StoreResult<i64> {
    conn.prepare_cached("SELECT coalesce(max(global_position), 0) FROM messages")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(StoreError::backend)
}

/// The smallest string greater than every string that starts with `prefix` (byte-wise, which
/// for UTF-8 is code-point order); `None` when there is none.
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = u32::from(last) + 1;
        if (0xD800..=0xDFFF).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// `list_streams`: a page of stream summaries by name, literal byte-wise prefix, keyset cursor.
pub(crate) fn list_streams(
    conn: &Connection,
    query: &StreamsQuery,
) -> StoreResult<Vec<StreamSummary>> {
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    let map = |r: &rusqlite::Row<'_>| {
        Ok(StreamSummary {
            stream_name: r.get(0)?,
            version: r.get(1)?,
            last_activity: r.get(2)?,
        })
    };
    let result = match prefix_upper_bound(&query.prefix) {
        Some(upper) => conn
            .prepare_cached(
                "SELECT stream_name, version, last_time FROM streams \
                 WHERE stream_name > ?1 AND stream_name >= ?2 AND stream_name < ?3 \
                 ORDER BY stream_name LIMIT ?4",
            )
            .and_then(|mut s| {
                s.query_map(params![query.cursor, query.prefix, upper, limit], map)?
                    .collect::<Result<Vec<_>, _>>()
            }),
        None => conn
            .prepare_cached(
                "SELECT stream_name, version, last_time FROM streams \
                 WHERE stream_name > ?1 AND stream_name >= ?2 \
                 ORDER BY stream_name LIMIT ?3",
            )
            .and_then(|mut s| {
                s.query_map(params![query.cursor, query.prefix, limit], map)?
                    .collect::<Result<Vec<_>, _>>()
            }),
    };
    result.map_err(StoreError::backend)
}

/// `list_categories`: categories by name with their stream and message counts.
pub(crate) fn list_categories(conn: &Connection) -> StoreResult<Vec<CategorySummary>> {
    conn.prepare_cached(
        "SELECT category, count(*), sum(message_count) FROM streams \
         GROUP BY category ORDER BY category",
    )
    .and_then(|mut s| {
        s.query_map([], |r| {
            Ok(CategorySummary {
                category: r.get(0)?,
                stream_count: r.get::<_, i64>(1)?.max(0) as u64,
                message_count: r.get::<_, i64>(2)?.max(0) as u64,
            })
        })?
        .collect::<Result<Vec<_>, _>>()
    })
    .map_err(StoreError::backend)
}

/// `namespace_stats`: message and stream counts and the newest message time.
pub(crate) fn namespace_stats(conn: &Connection) -> StoreResult<NamespaceStats> {
    conn.prepare_cached(
        "SELECT count(*), coalesce(sum(message_count), 0), max(last_time) FROM streams",
    )
    .and_then(|mut s| {
        s.query_row([], |r| {
            Ok(NamespaceStats {
                stream_count: r.get::<_, i64>(0)?.max(0) as u64,
                message_count: r.get::<_, i64>(1)?.max(0) as u64,
                last_activity: r.get(2)?,
            })
        })
    })
    .map_err(StoreError::backend)
}

#[cfg(test)]
mod tests {
    use super::prefix_upper_bound;

    #[test]
    fn upper_bounds() {
        assert_eq!(prefix_upper_bound(""), None);
        assert_eq!(prefix_upper_bound("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
        assert_eq!(
            prefix_upper_bound("a\u{D7FF}").as_deref(),
            Some("a\u{E000}")
        );
    }
}
