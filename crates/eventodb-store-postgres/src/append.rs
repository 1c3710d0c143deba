//! Appends (PROTOCOL §3.1, §0 item 9): one call of the namespace's `eventodb_append`, which
//! checks ids, locks the stream, checks the version, reserves positions behind the fence,
//! inserts, updates the stream summary and notifies, in one transaction.

use std::collections::HashSet;

use eventodb_protocol::json::correlation_category;
use eventodb_protocol::stream_name::category;
use eventodb_protocol::{consumer_group::group_hash, hash_64};
use eventodb_store::{Append, Appended, StoreError, Written};

use crate::conn::Conn;
use crate::error::{classify, DbError, Kind};
use crate::queries::Queries;

/// Attempts when a unique index refuses a row written concurrently (the retry then replays
/// or reports the duplicate).
const ATTEMPTS: usize = 3;

/// Appends a batch to one stream.
pub(crate) async fn append(
    conn: &Conn<'_>,
    queries: &Queries,
    append: &Append,
) -> Result<Appended, DbError> {
    if append.messages.is_empty() {
        return Err(StoreError::Invalid("an append needs at least one message".into()).into());
    }
    let mut seen = HashSet::with_capacity(append.messages.len());
    if let Some(m) = append.messages.iter().find(|m| !seen.insert(m.id.as_str())) {
        return Err(StoreError::DuplicateMessageId(m.id.clone()).into());
    }
    let stream = append.stream_name.as_str();
    let ids: Vec<&str> = append.messages.iter().map(|m| m.id.as_str()).collect();
    let types: Vec<&str> = append
        .messages
        .iter()
        .map(|m| m.message_type.as_str())
        .collect();
    let data: Vec<&str> = append.messages.iter().map(|m| m.data.as_str()).collect();
    let meta: Vec<Option<&str>> = append
        .messages
        .iter()
        .map(|m| m.metadata.as_deref())
        .collect();
    let correlations: Vec<Option<String>> = append
        .messages
        .iter()
        .map(|m| m.metadata.as_deref().and_then(correlation_category))
        .collect();
    let category = category(stream);
    let group = group_hash(stream);
    let lock_key = hash_64(stream);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = conn
            .query(
                &queries.append,
                &[
                    &stream,
                    &ids,
                    &types,
                    &data,
                    &meta,
                    &correlations,
                    &append.expected_version,
                    &category,
                    &group,
                    &lock_key,
                ],
            )
            .await;
        let rows = match result {
            Ok(rows) => rows,
            Err(e) => match classify(&e) {
                Kind::Unique(_) if attempt < ATTEMPTS => continue,
                Kind::Version(actual) => {
                    return Err(StoreError::VersionConflict {
                        expected: append.expected_version.unwrap_or(actual),
                        actual,
                    }
                    .into())
                }
                Kind::Duplicate(id) => return Err(StoreError::DuplicateMessageId(id).into()),
                Kind::Invalid(why) => return Err(StoreError::Invalid(why).into()),
                _ => return Err(e.into()),
            },
        };
        let mut written = Vec::with_capacity(rows.len());
        let mut replayed = false;
        for row in &rows {
            written.push(Written {
                position: row.try_get(0)?,
                global_position: row.try_get(1)?,
            });
            replayed = row.try_get(2)?;
        }
        return Ok(Appended { written, replayed });
    }
}
