//! `ns.delete` (PROTOCOL §3.7): remove a namespace and all its data.

use eventodb_protocol::time::{now_micros, rfc3339};
use eventodb_store::Store;
use serde_json::json;

use super::args::Args;
use super::Ctx;
use crate::auth::DEFAULT_NAMESPACE;
use crate::error::ApiError;

pub(crate) async fn call<S: Store>(ctx: &Ctx<'_, S>, args: Args<'_>) -> Result<String, ApiError> {
    let id = args.non_empty_string(0, "namespaceId")?;
    ctx.caller.may_manage(&id)?;
    if id == DEFAULT_NAMESPACE {
        return Err(ApiError::invalid("the default namespace cannot be deleted"));
    }
    let deleted = ctx.app.store.delete_namespace(&id).await?;
    tracing::info!(namespace = %id, messages = deleted, "namespace deleted");
    Ok(json!({
        "namespace": id,
        "deletedAt": rfc3339(now_micros()),
        "messagesDeleted": deleted,
    })
    .to_string())
}
