//! `ns.list` (PROTOCOL §3.8): every namespace, newest first, with message counts.

use eventodb_protocol::time::rfc3339;
use eventodb_store::Store;
use serde_json::json;

use super::args::Args;
use super::Ctx;
use crate::error::ApiError;

pub(crate) async fn call<S: Store>(ctx: &Ctx<'_, S>, _args: Args<'_>) -> Result<String, ApiError> {
    ctx.caller.must_be_admin()?;
    let records = ctx.app.store.namespaces().await?;
    let mut list = Vec::with_capacity(records.len());
    for record in records {
        // A namespace deleted between listing and counting simply drops out.
        let stats = match ctx.app.store.namespace_stats(&record.id).await {
            Ok(stats) => stats,
            Err(eventodb_store::StoreError::NamespaceNotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        list.push(json!({
            "namespace": record.id,
            "description": record.description,
            "createdAt": rfc3339(record.created_at),
            "messageCount": stats.message_count,
        }));
    }
    Ok(serde_json::Value::Array(list).to_string())
}
