//! `stream.version` (PROTOCOL §3.4): the last position, or `null` for an empty stream.

use eventodb_store::Store;

use super::args::Args;
use super::Ctx;
use crate::error::ApiError;

pub(crate) async fn call<S: Store>(ctx: &Ctx<'_, S>, args: Args<'_>) -> Result<String, ApiError> {
    let stream_name = args.non_empty_string(0, "streamName")?;
    let version = ctx
        .app
        .store
        .stream_version(&ctx.caller.namespace, &stream_name)
        .await?;
    Ok(match version {
        Some(v) => v.to_string(),
        None => "null".into(),
    })
}
