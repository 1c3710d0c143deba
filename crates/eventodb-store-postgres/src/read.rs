//! Reads that need no fence: by stream (writers of a stream are serialised, so a stream's
//! rows become visible in position order) and the per-stream summary table.

use eventodb_protocol::Message;
use eventodb_store::{
    CategorySummary, NamespaceStats, StreamRead, StreamStart, StreamSummary, StreamsQuery,
};

use crate::conn::Conn;
use crate::queries::Queries;
use crate::rows::{message, Sink};

type PgResult<T> = Result<T, tokio_postgres::Error>;

/// A stream read forward.
pub(crate) async fn stream(
    conn: &Conn<'_>,
    q: &Queries,
    read: &StreamRead,
) -> PgResult<Vec<Message>> {
    let mut out = Vec::new();
    stream_into(conn, q, read, &mut out).await?;
    Ok(out)
}

/// A stream read forward into `out` (a list of messages or a JSON page).
pub(crate) async fn stream_into(
    conn: &Conn<'_>,
    q: &Queries,
    read: &StreamRead,
    out: &mut impl Sink,
) -> PgResult<()> {
    let limit: Option<i64> = match read.limit {
        Some(0) => return Ok(()),
        Some(n) => Some(i64::try_from(n).unwrap_or(i64::MAX)),
        None => None,
    };
    let (sql, start) = match read.start {
        StreamStart::Position(p) => (&q.stream_from_position, p.max(0)),
        StreamStart::GlobalPosition(g) => (&q.stream_from_global, g),
    };
    let (sql, limit_param) = sql.get(limit);
    let rows = if limit_param {
        conn.query(sql, &[&read.stream_name, &start, &limit])
            .await?
    } else {
        conn.query(sql, &[&read.stream_name, &start]).await?
    };
    for row in &rows {
        out.take(row)?;
    }
    Ok(())
}

/// The last message of a stream, optionally of one type.
pub(crate) async fn last(
    conn: &Conn<'_>,
    q: &Queries,
    stream: &str,
    message_type: Option<&str>,
) -> PgResult<Option<Message>> {
    let row = match message_type {
        Some(t) => conn.query_opt(&q.last_of_type, &[&stream, &t]).await?,
        None => conn.query_opt(&q.last, &[&stream]).await?,
    };
    row.as_ref().map(message).transpose()
}

/// The stream's version, `None` when it has no messages.
pub(crate) async fn version(conn: &Conn<'_>, q: &Queries, stream: &str) -> PgResult<Option<i64>> {
    let row = conn.query_opt(&q.version, &[&stream]).await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// The highest committed global position (0 when empty).
pub(crate) async fn head(conn: &Conn<'_>, q: &Queries) -> PgResult<i64> {
    conn.query_one(&q.head, &[]).await?.try_get(0)
}

/// A page of streams by name (byte-wise), literal prefix, strict cursor.
pub(crate) async fn streams(
    conn: &Conn<'_>,
    q: &Queries,
    query: &StreamsQuery,
) -> PgResult<Vec<StreamSummary>> {
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    let rows = conn
        .query(&q.streams, &[&query.prefix, &query.cursor, &limit])
        .await?;
    rows.iter()
        .map(|r| {
            Ok(StreamSummary {
                stream_name: r.try_get(0)?,
                version: r.try_get(1)?,
                last_activity: r.try_get(2)?,
            })
        })
        .collect()
}

/// Categories with their stream and message counts.
pub(crate) async fn categories(conn: &Conn<'_>, q: &Queries) -> PgResult<Vec<CategorySummary>> {
    let rows = conn.query(&q.categories, &[]).await?;
    rows.iter()
        .map(|r| {
            Ok(CategorySummary {
                category: r.try_get(0)?,
                stream_count: count(r.try_get(1)?),
                message_count: count(r.try_get(2)?),
            })
        })
        .collect()
}

/// Message count, stream count and newest time of a namespace.
pub(crate) async fn stats(conn: &Conn<'_>, q: &Queries) -> PgResult<NamespaceStats> {
    let row = conn.query_one(&q.stats, &[]).await?;
    Ok(NamespaceStats {
        message_count: count(row.try_get(0)?),
        stream_count: count(row.try_get(1)?),
        last_activity: row.try_get(2)?,
    })
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
