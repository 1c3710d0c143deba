//! `ns.streams` (PROTOCOL §3.10): a page of the caller's streams by name.

use eventodb_protocol::limits::{DEFAULT_STREAMS_LIMIT, MAX_STREAMS_LIMIT};
use eventodb_protocol::time::rfc3339_seconds;
use eventodb_store::{Store, StreamsQuery};
use serde_json::json;

use super::args::Args;
use super::Ctx;
use crate::error::ApiError;

pub(crate) async fn call<S: Store>(ctx: &Ctx<'_, S>, args: Args<'_>) -> Result<String, ApiError> {
    // The options object is the first argument here.
    let options = args.options(0)?;
    let prefix = options.string("prefix")?.unwrap_or_default();
    let cursor = options.string("cursor")?.unwrap_or_default();
    let limit = options.integer("limit")?.unwrap_or(DEFAULT_STREAMS_LIMIT);
    if !(1..=MAX_STREAMS_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "options.limit must be between 1 and {MAX_STREAMS_LIMIT} (got {limit})"
        )));
    }
    let query = StreamsQuery {
        prefix,
        cursor,
        limit: limit as u64,
    };
    let streams = ctx
        .app
        .store
        .list_streams(&ctx.caller.namespace, query)
        .await?;
    let list: Vec<_> = streams
        .into_iter()
        .map(|s| {
            json!({
                "stream": s.stream_name,
                "version": s.version,
                "lastActivity": rfc3339_seconds(s.last_activity),
            })
        })
        .collect();
    Ok(serde_json::Value::Array(list).to_string())
}
