//! The fence: reads by global position never skip a message.
//!
//! A sequence alone is not enough: transaction A takes global position 10, transaction B
//! takes 11 and commits first; a reader that sees 11 and continues from 12 misses 10 for
//! ever once A commits. Message DB only avoids this within one category (its writers of a
//! category serialise on an advisory lock).
//!
//! Here every write calls `reserve_positions(n)` (see `sql/postgres/namespace/003`) before
//! anything else in its transaction needs a transaction id. Under a session-level advisory
//! lock on the namespace it assigns the transaction id (`pg_current_xact_id()`) and takes its
//! n global positions, then releases the lock (also on error). Transaction ids are handed out
//! in increasing order, so within a namespace **xid order equals global-position order**:
//! if row p has xid x and row q < p has xid y, then y < x. Each row stores its xid.
//!
//! Every read by global position keeps only rows with `xid < pg_snapshot_xmin(snapshot)`.
//! Every transaction with an id below the snapshot's xmin has finished (committed, so its
//! rows are visible in the snapshot, or aborted, so its rows never exist). Take a returned
//! row p with xid x < xmin and any row q < p with xid y: y < x < xmin, so q's transaction has
//! finished, so q is either visible (and returned, if it matches the filters) or never will
//! be. Hence the result is always a gap-free prefix of what will ever exist, and a reader
//! that continues after its last returned position misses nothing. Rows of adopted
//! namespaces (written by EventoDB Go) and imported rows have xid 0 and are always settled;
//! an import therefore waits for the appends in flight before it writes (see
//! [`crate::import`]), so its rows never sit above an open append's.
//!
//! Readers select the comparison as a column (NULL when settled, else the xid) rather than
//! filter on it, and stop at the first unsettled row: the same prefix, but they learn that
//! rows are held back.
//! xmin is cluster-wide: any transaction that holds a transaction id (even in another
//! database) holds back rows committed after it started, until it ends. Category reads
//! therefore wait (server-side, bounded by [`FENCE_WAIT`]) for the blocking transactions to
//! finish, so a writer reads its own write; past the bound they return the prefix. The change
//! feed never waits: it re-checks later.

use std::time::{Duration, Instant};

use eventodb_protocol::Message;
use eventodb_store::CategoryRead;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::conn::Conn;
use crate::queries::{category_variant, Queries};
use crate::rows::Sink;

/// How long a category read waits for transactions holding rows back.
pub(crate) const FENCE_WAIT: Duration = Duration::from_millis(500);

/// Index of the fence column after the eight message columns.
const HELD_BACK: usize = 8;

/// What a page of fenced rows holds: the settled prefix and, when a row was held back, the
/// transaction id (as text) to wait for.
pub(crate) struct Split<T> {
    /// Rows below the fence, in order.
    pub(crate) settled: Vec<T>,
    /// The first row above the fence: its xid.
    pub(crate) held_back: Option<String>,
}

/// Splits `rows` at the first unsettled one; `fence_col` locates the fence column (NULL when
/// settled, else the row's xid).
pub(crate) fn split<'r, T>(
    rows: impl IntoIterator<Item = &'r Row>,
    fence_col: usize,
    mut convert: impl FnMut(&Row) -> Result<T, tokio_postgres::Error>,
) -> Result<Split<T>, tokio_postgres::Error> {
    let mut settled = Vec::new();
    let held_back = take_settled(rows, fence_col, |row| {
        settled.push(convert(row)?);
        Ok(())
    })?;
    Ok(Split { settled, held_back })
}

/// Hands `take` each row of `rows` up to the first unsettled one; returns that row's xid, if
/// one was held back.
fn take_settled<'r>(
    rows: impl IntoIterator<Item = &'r Row>,
    fence_col: usize,
    mut take: impl FnMut(&Row) -> Result<(), tokio_postgres::Error>,
) -> Result<Option<String>, tokio_postgres::Error> {
    for row in rows {
        if let Some(xid) = row.try_get::<_, Option<String>>(fence_col)? {
            return Ok(Some(xid));
        }
        take(row)?;
    }
    Ok(None)
}

/// A fenced category read (see the module documentation).
pub(crate) async fn read_category(
    conn: &Conn<'_>,
    queries: &Queries,
    read: &CategoryRead,
) -> Result<Vec<Message>, tokio_postgres::Error> {
    let mut out = Vec::new();
    read_category_into(conn, queries, read, &mut out).await?;
    Ok(out)
}

/// A fenced category read into `out` (a list of messages or a JSON page).
pub(crate) async fn read_category_into(
    conn: &Conn<'_>,
    queries: &Queries,
    read: &CategoryRead,
    out: &mut impl Sink,
) -> Result<(), tokio_postgres::Error> {
    let limit = match read.limit {
        Some(0) => return Ok(()),
        Some(n) => Some(i64::try_from(n).unwrap_or(i64::MAX)),
        None => None,
    };
    let by_category = !read.category.is_empty();
    let correlation = read.correlation.as_deref().filter(|c| !c.is_empty());
    let group = read
        .consumer_group
        .map(|g| (g.size() as i64, g.member() as i64));
    let statements =
        &queries.category[category_variant(by_category, correlation.is_some(), group.is_some())];
    let deadline = Instant::now() + FENCE_WAIT;
    let mut start = read.start;
    loop {
        let remaining = limit.map(|l| l - out.count() as i64);
        let (sql, limit_param) = statements.get(remaining);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&start];
        if by_category {
            params.push(&read.category);
        }
        if let Some(c) = &correlation {
            params.push(c);
        }
        if let Some((size, member)) = &group {
            params.push(size);
            params.push(member);
        }
        if limit_param {
            params.push(&remaining);
        }
        let rows = conn.query(sql, &params).await?;
        let mut last = None;
        let held_back = take_settled(&rows, HELD_BACK, |row| {
            last = Some(out.take(row)?);
            Ok(())
        })?;
        let Some(xid) = held_back else {
            return Ok(());
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        if let Some(last) = last {
            start = last + 1;
        }
        let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
        let passed: bool = conn
            .query_one(
                "SELECT eventodb_store.await_xmin($1::text::xid8, $2::int4)",
                &[&xid, &ms],
            )
            .await?
            .try_get(0)?;
        if !passed {
            return Ok(());
        }
    }
}
