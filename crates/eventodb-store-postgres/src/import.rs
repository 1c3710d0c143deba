//! Bulk import and clearing (PROTOCOL §6.2).
//!
//! A batch is one transaction that first takes the namespace's position lock (the one
//! `reserve_positions` takes, see [`crate::fence`]) for its whole duration, so no append can
//! draw a global position from the sequence while imported rows take theirs, and then the
//! appends lock exclusively, so it waits for every append still in flight (schema version 8:
//! otherwise its settled rows could sit above an open append's and readers would pass it).
//! Before the commit the sequence is moved to at least the largest imported position (never
//! backwards). Imported rows get transaction id 0, like rows of adopted namespaces: below
//! every snapshot's xmin, so fenced reads see them as soon as they commit. The change feed
//! passes over rows with transaction id 0 without publishing them, so an import pokes nobody,
//! in any process.
//!
//! Clearing drops the namespace's schema and builds it again in one transaction: a new
//! messages table (the feed notices the new table and starts that namespace from 0) and a
//! new sequence starting at 1.

use std::collections::HashMap;

use eventodb_protocol::consumer_group::group_hash;
use eventodb_protocol::json::correlation_category;
use eventodb_protocol::stream_name::category;
use eventodb_store::{check_batch, stream_position_taken, ImportRecord, StoreError, StoreResult};

use crate::error::{classify, Kind};
use crate::names::{quote_ident, quote_literal};
use crate::registry;
use crate::schema::migrate_namespace;

/// The schema of namespace `ns`, or `NamespaceNotFound`.
async fn schema_of(client: &tokio_postgres::Client, ns: &str) -> StoreResult<String> {
    registry::get(client, ns)
        .await
        .map_err(StoreError::backend)?
        .map(|e| e.schema)
        .ok_or_else(|| StoreError::NamespaceNotFound(ns.to_owned()))
}

/// A database error of an import as a store error.
fn failed(ns: &str, e: tokio_postgres::Error) -> StoreError {
    match classify(&e) {
        Kind::Gone => StoreError::NamespaceNotFound(ns.to_owned()),
        Kind::Unique(Some(c)) if c == "messages_pkey" => {
            let position = e
                .as_db_error()
                .and_then(|d| d.detail())
                .and_then(|d| d.split("=(").nth(1))
                .and_then(|d| d.split(')').next())
                .and_then(|d| d.parse().ok())
                .unwrap_or(0);
            StoreError::PositionExists {
                global_position: position,
                index: None,
            }
        }
        Kind::Unique(_) => StoreError::ImportConflict {
            index: None,
            message: e
                .as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_owned()),
        },
        _ => StoreError::backend(e),
    }
}

/// Inserts one batch, all or nothing.
pub(crate) async fn import_batch(
    client: &mut tokio_postgres::Client,
    ns: &str,
    records: &[ImportRecord],
) -> StoreResult<()> {
    check_batch(records)?;
    if records.is_empty() {
        return Ok(());
    }
    let schema = schema_of(client, ns).await?;
    let s = quote_ident(&schema);
    let err = |e| failed(ns, e);
    let tx = client.transaction().await.map_err(err)?;
    // The position lock, then the appends lock exclusively: every append that reserved
    // positions before this batch has ended before its rows (settled at once, transaction id
    // 0) can sit above theirs (schema version 8).
    tx.batch_execute(&format!(
        "SELECT pg_advisory_xact_lock(1163284047, hashtext({schema})); \
         SELECT pg_advisory_xact_lock(1163284048, hashtext({schema}))",
        schema = quote_literal(&schema)
    ))
    .await
    .map_err(err)?;

    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    let streams: Vec<&str> = records.iter().map(|r| r.stream_name.as_str()).collect();
    let types: Vec<&str> = records.iter().map(|r| r.message_type.as_str()).collect();
    let positions: Vec<i64> = records.iter().map(|r| r.position).collect();
    let globals: Vec<i64> = records.iter().map(|r| r.global_position).collect();
    let data: Vec<&str> = records.iter().map(|r| r.data.as_str()).collect();
    let meta: Vec<Option<&str>> = records.iter().map(|r| r.metadata.as_deref()).collect();
    let times: Vec<i64> = records.iter().map(|r| r.time).collect();
    let categories: Vec<&str> = streams.iter().map(|s| category(s)).collect();
    let hashes: Vec<Option<i64>> = streams.iter().map(|s| group_hash(s)).collect();
    let correlations: Vec<Option<String>> = records
        .iter()
        .map(|r| r.metadata.as_deref().and_then(correlation_category))
        .collect();

    // The first record that collides with a stored message, and how.
    let clash = tx
        .query_opt(
            &format!(
                "SELECT i.ord::int8, CASE \
                   WHEN EXISTS (SELECT 1 FROM {s}.messages m WHERE m.global_position = i.g) THEN 1 \
                   WHEN EXISTS (SELECT 1 FROM {s}.messages m WHERE m.id = i.id::uuid) THEN 2 \
                   ELSE 3 END::int4 \
                 FROM unnest($1::int8[], $2::text[], $3::text[], $4::int8[]) \
                      WITH ORDINALITY AS i(g, id, st, p, ord) \
                 WHERE EXISTS (SELECT 1 FROM {s}.messages m WHERE m.global_position = i.g) \
                    OR EXISTS (SELECT 1 FROM {s}.messages m WHERE m.id = i.id::uuid) \
                    OR EXISTS (SELECT 1 FROM {s}.messages m \
                               WHERE m.stream_name = i.st AND m.position = i.p) \
                 ORDER BY i.ord LIMIT 1"
            ),
            &[&globals, &ids, &streams, &positions],
        )
        .await
        .map_err(err)?;
    if let Some(row) = clash {
        let ord: i64 = row.try_get(0).map_err(err)?;
        let how: i32 = row.try_get(1).map_err(err)?;
        let index = usize::try_from(ord - 1).unwrap_or(0);
        let Some(r) = records.get(index) else {
            return Err(StoreError::Invalid("import conflict out of range".into()));
        };
        return Err(match how {
            1 => StoreError::PositionExists {
                global_position: r.global_position,
                index: Some(index),
            },
            2 => StoreError::ImportConflict {
                index: Some(index),
                message: format!("message id already exists: {}", r.id),
            },
            _ => StoreError::ImportConflict {
                index: Some(index),
                message: stream_position_taken(r),
            },
        });
    }

    tx.execute(
        &format!(
            "INSERT INTO {s}.messages (id, stream_name, type, position, global_position, data, \
             metadata, time, category, group_hash, correlation, xid) \
             SELECT i.id::uuid, i.st, i.t, i.p, i.g, i.d::jsonb, i.md::jsonb, \
                    timestamp '1970-01-01' + (i.tm / 1000000) * interval '1 second' \
                      + (i.tm % 1000000) * interval '1 microsecond', \
                    i.c, i.gh, i.co, '0'::xid8 \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], \
                         $6::text[], $7::text[], $8::int8[], $9::text[], $10::int8[], \
                         $11::text[]) AS i(id, st, t, p, g, d, md, tm, c, gh, co)"
        ),
        &[
            &ids,
            &streams,
            &types,
            &positions,
            &globals,
            &data,
            &meta,
            &times,
            &categories,
            &hashes,
            &correlations,
        ],
    )
    .await
    .map_err(err)?;

    // Per-stream gains: version = largest position, count, newest time.
    let mut gains: HashMap<&str, (&str, i64, i64, i64)> = HashMap::new();
    for (r, c) in records.iter().zip(&categories) {
        let g = gains
            .entry(&r.stream_name)
            .or_insert((c, r.position, 0, r.time));
        g.1 = g.1.max(r.position);
        g.2 += 1;
        g.3 = g.3.max(r.time);
    }
    let (mut g_streams, mut g_categories, mut g_versions, mut g_counts, mut g_times) =
        (vec![], vec![], vec![], vec![], vec![]);
    for (stream, (c, version, count, time)) in gains {
        g_streams.push(stream);
        g_categories.push(c);
        g_versions.push(version);
        g_counts.push(count);
        g_times.push(time);
    }
    tx.execute(
        &format!(
            "INSERT INTO {s}.streams AS x (stream_name, category, version, message_count, last_time) \
             SELECT i.st, i.c, i.v, i.n, timestamp '1970-01-01' + (i.tm / 1000000) * interval '1 second' \
                      + (i.tm % 1000000) * interval '1 microsecond' \
             FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int8[]) \
                  AS i(st, c, v, n, tm) \
             ON CONFLICT (stream_name) DO UPDATE \
             SET version = greatest(x.version, excluded.version), \
                 message_count = x.message_count + excluded.message_count, \
                 last_time = greatest(x.last_time, excluded.last_time)"
        ),
        &[&g_streams, &g_categories, &g_versions, &g_counts, &g_times],
    )
    .await
    .map_err(err)?;

    let max = globals.iter().copied().max().unwrap_or(1);
    tx.execute(
        &format!(
            "SELECT setval($1::text::regclass, greatest(\
             (SELECT last_value FROM {s}.messages_global_position_seq), $2::int8))"
        ),
        &[&format!("{s}.messages_global_position_seq"), &max],
    )
    .await
    .map_err(err)?;
    tx.commit().await.map_err(err)
}

/// Deletes every message and summary of namespace `ns` and restarts its sequence at 1, by
/// building its schema again.
pub(crate) async fn clear(client: &mut tokio_postgres::Client, ns: &str) -> StoreResult<()> {
    let schema = schema_of(client, ns).await?;
    let tx = client.transaction().await.map_err(StoreError::backend)?;
    let s = quote_ident(&schema);
    tx.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {s} CASCADE; CREATE SCHEMA {s};"
    ))
    .await
    .map_err(StoreError::backend)?;
    migrate_namespace(&tx, &schema)
        .await
        .map_err(StoreError::backend)?;
    tx.commit().await.map_err(|e| failed(ns, e))
}
