//! Group commit: appends that arrive together share one transaction.
//!
//! Appends go through a queue served by a few writer tasks (half the pool). A writer takes
//! the next append and whatever else is already waiting (up to [`MAX_BATCH`]); nothing waits
//! for company, so a lone append is applied at once through `eventodb_append`. Appends waiting
//! together for the same namespace are applied by one call of its `eventodb_append_batch`
//! (`sql/postgres/namespace/004`): one round trip, one commit (one WAL flush), one
//! notification, while each append keeps its own outcome — a version conflict or reused id
//! fails that append alone. Every caller is answered only after the statement holding its
//! append has returned, i.e. after the commit. Should the batch call fail as a whole (bad
//! input in one append, a concurrent duplicate), every append of it is applied again alone,
//! so one bad append cannot fail the others.

use std::collections::HashSet;
use std::sync::Arc;

use deadpool_postgres::Pool;
use eventodb_protocol::json::correlation_category;
use eventodb_protocol::stream_name::category;
use eventodb_protocol::{consumer_group::group_hash, hash_64};
use eventodb_store::{Append, Appended, StoreError, Written};
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::append;
use crate::conn::Conn;
use crate::error::{pool_error, DbError};
use crate::queries::Queries;

/// The most appends one transaction takes.
const MAX_BATCH: usize = 64;

/// One queued append and where its outcome goes.
struct Job {
    queries: Arc<Queries>,
    append: Arc<Append>,
    reply: oneshot::Sender<Result<Appended, DbError>>,
}

/// The append queue and its writer tasks (which end when the batcher is dropped).
pub(crate) struct Batcher {
    tx: mpsc::UnboundedSender<Job>,
}

impl Batcher {
    /// Starts `writers` writer tasks on `pool`.
    pub(crate) fn start(pool: Pool, cache: bool, writers: usize) -> Batcher {
        let (tx, rx) = mpsc::unbounded_channel();
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..writers.max(1) {
            tokio::spawn(writer(pool.clone(), cache, rx.clone()));
        }
        Batcher { tx }
    }

    /// Applies `append` to the namespace of `queries`, alone or with others; answers after
    /// the commit.
    pub(crate) async fn append(
        &self,
        queries: Arc<Queries>,
        append: Arc<Append>,
    ) -> Result<Appended, DbError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job {
                queries,
                append,
                reply,
            })
            .map_err(|_| DbError::Store(StoreError::Closed))?;
        answer
            .await
            .unwrap_or(Err(DbError::Store(StoreError::Closed)))
    }
}

async fn writer(pool: Pool, cache: bool, rx: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>) {
    loop {
        let mut jobs = Vec::new();
        {
            let mut rx = rx.lock().await;
            match rx.recv().await {
                Some(job) => jobs.push(job),
                None => return,
            }
            while jobs.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
        }
        let client = match pool.get().await {
            Ok(client) => client,
            Err(e) => {
                let e = pool_error(e);
                for job in jobs {
                    let _ = job.reply.send(Err(DbError::Store(clone_error(&e))));
                }
                continue;
            }
        };
        let conn = Conn::new(&client, cache);
        // Group by namespace, keeping arrival order within each.
        while !jobs.is_empty() {
            let table = jobs[0].queries.messages_table.clone();
            let (group, rest): (Vec<Job>, Vec<Job>) = jobs
                .into_iter()
                .partition(|j| j.queries.messages_table == table);
            jobs = rest;
            if group.len() == 1 {
                for job in group {
                    let result = append::append(&conn, &job.queries, &job.append).await;
                    let _ = job.reply.send(result);
                }
            } else {
                apply_batch(&conn, group).await;
            }
        }
    }
}

/// A pool failure for every waiting caller.
fn clone_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Closed => StoreError::Closed,
        other => crate::error::failure(other.to_string()),
    }
}

/// What the batch function said about one append.
enum Outcome {
    Written(Vec<Written>, bool),
    Version(i64),
    Duplicate(String),
    Alone,
}

/// Applies `group` (appends to one namespace) in one call; falls back to one call per append
/// when the batch fails as a whole or an append cannot go into a batch.
async fn apply_batch(conn: &Conn<'_>, group: Vec<Job>) {
    let (batchable, alone): (Vec<Job>, Vec<Job>) =
        group.into_iter().partition(|j| fits_batch(&j.append));
    let mut alone = alone;
    if batchable.len() < 2 {
        alone.extend(batchable);
    } else {
        match call_batch(conn, &batchable).await {
            Ok(outcomes) => {
                for (job, outcome) in batchable.into_iter().zip(outcomes) {
                    let result = match outcome {
                        Some(Outcome::Written(written, replayed)) => {
                            Ok(Appended { written, replayed })
                        }
                        Some(Outcome::Version(actual)) => {
                            Err(DbError::Store(StoreError::VersionConflict {
                                expected: job.append.expected_version.unwrap_or(actual),
                                actual,
                            }))
                        }
                        Some(Outcome::Duplicate(id)) => {
                            Err(DbError::Store(StoreError::DuplicateMessageId(id)))
                        }
                        Some(Outcome::Alone) | None => {
                            alone.push(job);
                            continue;
                        }
                    };
                    let _ = job.reply.send(result);
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "batched append failed; applying one by one");
                alone.extend(batchable);
            }
        }
    }
    for job in alone {
        let result = append::append(conn, &job.queries, &job.append).await;
        let _ = job.reply.send(result);
    }
}

/// Stream names longer than this go alone (an index may refuse them, failing the batch).
const LONG_NAME: usize = 1000;

/// True when the single-append checks (non-empty, ids distinct) pass and nothing in it looks
/// like input the database refuses (a NUL character, a very long stream name), which would
/// fail the whole batch and send every append of it the slow way.
fn fits_batch(append: &Append) -> bool {
    let mut seen = HashSet::with_capacity(append.messages.len());
    !append.messages.is_empty()
        && append.stream_name.len() <= LONG_NAME
        && append.messages.iter().all(|m| {
            seen.insert(m.id.as_str())
                && !m.data.contains("\\u0000")
                && !m.metadata.as_deref().is_some_and(|t| t.contains("\\u0000"))
        })
}

/// One call of `eventodb_append_batch` for `jobs`; the outcome of each, in order.
async fn call_batch(
    conn: &Conn<'_>,
    jobs: &[Job],
) -> Result<Vec<Option<Outcome>>, tokio_postgres::Error> {
    let n: usize = jobs.iter().map(|j| j.append.messages.len()).sum();
    let mut streams = Vec::with_capacity(jobs.len());
    let mut counts = Vec::with_capacity(jobs.len());
    let mut expected = Vec::with_capacity(jobs.len());
    let mut categories = Vec::with_capacity(jobs.len());
    let mut groups = Vec::with_capacity(jobs.len());
    let mut locks = Vec::with_capacity(jobs.len());
    let mut ids = Vec::with_capacity(n);
    let mut types = Vec::with_capacity(n);
    let mut data = Vec::with_capacity(n);
    let mut meta = Vec::with_capacity(n);
    let mut correlations = Vec::with_capacity(n);
    for job in jobs {
        let a = &job.append;
        let stream = a.stream_name.as_str();
        streams.push(stream);
        counts.push(i32::try_from(a.messages.len()).unwrap_or(i32::MAX));
        expected.push(a.expected_version);
        categories.push(category(stream));
        groups.push(group_hash(stream));
        locks.push(hash_64(stream));
        for m in &a.messages {
            ids.push(m.id.as_str());
            types.push(m.message_type.as_str());
            data.push(m.data.as_str());
            meta.push(m.metadata.as_deref());
            correlations.push(m.metadata.as_deref().and_then(correlation_category));
        }
    }
    let rows = conn
        .query(
            &jobs[0].queries.append_batch,
            &[
                &streams,
                &counts,
                &ids,
                &types,
                &data,
                &meta,
                &correlations,
                &expected,
                &categories,
                &groups,
                &locks,
            ],
        )
        .await?;
    let mut outcomes: Vec<Option<Outcome>> = (0..jobs.len()).map(|_| None).collect();
    for row in &rows {
        let k: i32 = row.try_get(0)?;
        let Some(slot) = usize::try_from(k)
            .ok()
            .and_then(|k| k.checked_sub(1))
            .and_then(|i| outcomes.get_mut(i))
        else {
            continue;
        };
        let error: Option<String> = row.try_get(4)?;
        let detail: Option<String> = row.try_get(5)?;
        match error.as_deref() {
            None => {
                let written = Written {
                    position: row.try_get(1)?,
                    global_position: row.try_get(2)?,
                };
                let replayed: bool = row.try_get(3)?;
                match slot {
                    Some(Outcome::Written(w, r)) => {
                        w.push(written);
                        *r = replayed;
                    }
                    _ => *slot = Some(Outcome::Written(vec![written], replayed)),
                }
            }
            Some("EVVER") => {
                *slot = match detail.as_deref().map(str::parse) {
                    Some(Ok(actual)) => Some(Outcome::Version(actual)),
                    _ => Some(Outcome::Alone),
                }
            }
            Some("EVDUP") => *slot = Some(Outcome::Duplicate(detail.unwrap_or_default())),
            Some(_) => *slot = Some(Outcome::Alone),
        }
    }
    Ok(outcomes)
}
