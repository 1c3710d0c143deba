//! `sys.health` (PROTOCOL §3.13): status, backend name and connection count.

use eventodb_store::Store;
use serde_json::json;

use super::args::Args;
use super::Ctx;
use crate::error::ApiError;

pub(crate) async fn call<S: Store>(ctx: &Ctx<'_, S>, _args: Args<'_>) -> Result<String, ApiError> {
    let health = ctx.app.store.health().await?;
    Ok(json!({
        "status": "ok",
        "backend": health.backend,
        "connections": health.connections,
    })
    .to_string())
}
