//! `stream.get` (PROTOCOL §3.2): read a stream forward.

use eventodb_store::{Store, StreamRead, StreamStart};

use super::args::Args;
use super::Ctx;
use crate::error::ApiError;

pub(crate) async fn call<S: Store>(ctx: &Ctx<'_, S>, args: Args<'_>) -> Result<String, ApiError> {
    let stream_name = args.non_empty_string(0, "streamName")?;
    let options = args.options(1)?;
    let position = options.integer("position")?;
    let global_position = options.integer("globalPosition")?;
    let limit = options.batch_size()?;
    if limit == Some(0) {
        return Ok("[]".into());
    }
    let start = match global_position {
        Some(g) => StreamStart::GlobalPosition(g),
        None => StreamStart::Position(position.unwrap_or(0).max(0)),
    };
    let read = StreamRead {
        stream_name,
        start,
        limit,
    };
    ctx.app
        .store
        .read_stream_page(&ctx.caller.namespace, read)
        .await
        .map_err(Into::into)
}
