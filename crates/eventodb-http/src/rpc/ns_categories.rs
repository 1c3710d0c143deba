//! `ns.categories` (PROTOCOL §3.11): the caller's categories with counts.

use eventodb_store::Store;
use serde_json::json;

use super::args::Args;
use super::Ctx;
use crate::error::ApiError;

pub(crate) async fn call<S: Store>(ctx: &Ctx<'_, S>, _args: Args<'_>) -> Result<String, ApiError> {
    let categories = ctx.app.store.list_categories(&ctx.caller.namespace).await?;
    let list: Vec<_> = categories
        .into_iter()
        .map(|c| {
            json!({
                "category": c.category,
                "streamCount": c.stream_count,
                "messageCount": c.message_count,
            })
        })
        .collect();
    Ok(serde_json::Value::Array(list).to_string())
}
