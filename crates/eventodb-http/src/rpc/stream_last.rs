//! `stream.last` (PROTOCOL §3.3): the last message of a stream, optionally of one type.

use eventodb_store::Store;

use super::args::Args;
use super::Ctx;
use crate::error::ApiError;

pub(crate) async fn call<S: Store>(ctx: &Ctx<'_, S>, args: Args<'_>) -> Result<String, ApiError> {
    let stream_name = args.non_empty_string(0, "streamName")?;
    let options = args.options(1)?;
    // An empty type is no filter (Go/SQLite behaviour, PROTOCOL §10.7).
    let message_type = options.string("type")?.filter(|t| !t.is_empty());
    let last = ctx
        .app
        .store
        .last_message(&ctx.caller.namespace, &stream_name, message_type.as_deref())
        .await?;
    Ok(match last {
        Some(message) => {
            let mut out = String::with_capacity(128 + message.data.len());
            message.write_stream_array(&mut out);
            out
        }
        None => "null".into(),
    })
}
