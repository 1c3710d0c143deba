//! `stream.write` (PROTOCOL §3.1): append one message, optionally at an expected version.

use eventodb_protocol::json::{compact, contains_nul_escape, is_object};
use eventodb_protocol::NewMessage;
use eventodb_store::{Append, Store};
use serde_json::json;
use serde_json::value::RawValue;
use uuid::Uuid;

use super::args::Args;
use super::Ctx;
use crate::error::ApiError;

pub(crate) async fn call<S: Store>(ctx: &Ctx<'_, S>, args: Args<'_>) -> Result<String, ApiError> {
    let stream_name = args.non_empty_string(0, "streamName")?;
    let message = args.object(1, "message")?;
    let options = args.options(2)?;

    let message_type = message
        .string("type")?
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::invalid("message.type is required and must be a non-empty string")
        })?;
    let data = message
        .raw("data")
        .filter(|raw| is_object(raw))
        .ok_or_else(|| ApiError::invalid("message.data is required and must be an object"))?;
    if contains_nul_escape(data.get()) {
        return Err(ApiError::invalid(
            "message.data must not contain NUL characters (\\u0000)",
        ));
    }
    let metadata_len = message.raw("metadata").map_or(0, |raw| raw.get().len());
    let metadata = match message.raw("metadata") {
        // Absent and explicit null both mean "no metadata" (PROTOCOL §3.1).
        None => None,
        Some(raw) if raw.get() == "null" => None,
        Some(raw) if contains_nul_escape(raw.get()) => {
            return Err(ApiError::invalid(
                "message.metadata must not contain NUL characters (\\u0000)",
            ))
        }
        Some(raw) if is_object(raw) => Some(compact_text(raw)),
        Some(_) => {
            return Err(ApiError::invalid(
                "message.metadata must be an object or null",
            ))
        }
    };
    let size = data.get().len() + metadata_len;
    let limit = ctx.app.config.max_message_bytes;
    if size > limit {
        crate::metrics::limit_hit("max-message-size");
        return Err(ApiError::invalid(format!(
            "message.data and message.metadata are {size} bytes together, over the limit of \
             {limit} bytes (--max-message-size)"
        ))
        .with_status(413)
        .with_details(json!({ "limit": limit, "size": size })));
    }
    let id = match options.string("id")?.as_deref() {
        None | Some("") => Uuid::now_v7(),
        Some(text) => Uuid::parse_str(text)
            .map_err(|_| ApiError::invalid(format!("options.id must be a UUID (got {text:?})")))?,
    };
    let expected_version = options.integer("expectedVersion")?;

    let append = Append {
        stream_name,
        messages: vec![NewMessage {
            id: id.hyphenated().to_string(),
            message_type,
            data: compact_text(data),
            metadata,
        }],
        expected_version,
    };
    let appended = ctx.app.store.append(&ctx.caller.namespace, append).await?;
    let written = appended
        .written
        .first()
        .copied()
        .ok_or_else(|| ApiError::invalid("nothing was written"))?;
    Ok(format!(
        r#"{{"position":{},"globalPosition":{}}}"#,
        written.position, written.global_position
    ))
}

fn compact_text(raw: &RawValue) -> String {
    compact(raw.get()).into_owned()
}
