//! `ns.info` (PROTOCOL §3.9): one namespace with real counts.

use eventodb_protocol::time::rfc3339;
use eventodb_protocol::ErrorCode;
use eventodb_store::Store;
use serde_json::json;

use super::args::Args;
use super::Ctx;
use crate::error::ApiError;

pub(crate) async fn call<S: Store>(ctx: &Ctx<'_, S>, args: Args<'_>) -> Result<String, ApiError> {
    let id = args.non_empty_string(0, "namespaceId")?;
    ctx.caller.may_manage(&id)?;
    let record = ctx.app.store.namespace(&id).await?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NamespaceNotFound,
            format!("Namespace not found: {id}"),
        )
        .with_details(json!({ "namespace": id }))
    })?;
    let stats = ctx.app.store.namespace_stats(&id).await?;
    Ok(json!({
        "namespace": record.id,
        "description": record.description,
        "createdAt": rfc3339(record.created_at),
        "messageCount": stats.message_count,
        "streamCount": stats.stream_count,
        "lastActivity": stats.last_activity.map(rfc3339),
    })
    .to_string())
}
