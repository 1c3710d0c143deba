//! `ns.rotateToken` (an addition to EventoDB, from its ADR-004): replace a namespace's token.
//! The new token is returned once; the old one stops working at once (the registry holds only
//! the hash, and every request is checked against it).

use eventodb_protocol::{token, ErrorCode};
use eventodb_store::Store;
use serde_json::json;

use super::args::Args;
use super::ns_create::generate_token;
use super::Ctx;
use crate::error::ApiError;

pub(crate) async fn call<S: Store>(ctx: &Ctx<'_, S>, args: Args<'_>) -> Result<String, ApiError> {
    // Without an id, the caller's own namespace.
    let id = match args.has(0) {
        true => args.non_empty_string(0, "namespaceId")?,
        false => ctx.caller.namespace.clone(),
    };
    ctx.caller.may_manage(&id)?;
    if ctx.app.store.namespace(&id).await?.is_none() {
        return Err(ApiError::new(
            ErrorCode::NamespaceNotFound,
            format!("Namespace not found: {id}"),
        )
        .with_details(json!({ "namespace": id })));
    }
    let new_token = generate_token(&id)?;
    ctx.app
        .store
        .set_token_hash(&id, &token::hash(&new_token))
        .await?;
    tracing::info!(namespace = %id, "namespace token rotated");
    Ok(json!({ "namespace": id, "token": new_token }).to_string())
}
