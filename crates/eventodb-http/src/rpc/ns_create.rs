//! `ns.create` (PROTOCOL §3.6): create a namespace and return its token, once.

use eventodb_protocol::time::{now_micros, rfc3339};
use eventodb_protocol::{token, ErrorCode};
use eventodb_store::{NewNamespace, Store};
use serde_json::json;

use super::args::Args;
use super::Ctx;
use crate::error::ApiError;

pub(crate) async fn call<S: Store>(ctx: &Ctx<'_, S>, args: Args<'_>) -> Result<String, ApiError> {
    let id = args.non_empty_string(0, "namespaceId")?;
    let options = args.options(1)?;
    ctx.caller.must_be_admin()?;
    let description = options.string("description")?.unwrap_or_default();
    if let Some(raw) = options.raw("metadata") {
        if !raw.get().starts_with('{') && raw.get() != "null" {
            return Err(ApiError::invalid("options.metadata must be an object"));
        }
    }
    // A token is split on '_', so an id whose base64url form holds '_' could never
    // authenticate (PROTOCOL §0, item 18).
    if token::encode_namespace(&id).contains('_') {
        return Err(ApiError::invalid(format!(
            "namespaceId {id:?} cannot be used: its base64url form contains '_', which tokens cannot carry"
        )));
    }
    let token = match options.string("token")? {
        Some(given) => match token::parse(&given) {
            Ok(named) if named == id => given,
            Ok(named) => {
                return Err(ApiError::invalid(format!(
                    "options.token names namespace {named:?}, not {id:?}"
                )))
            }
            Err(e) => {
                return Err(ApiError::invalid(format!(
                    "options.token is not a valid token: {}",
                    e.describe()
                )))
            }
        },
        None => generate_token(&id)?,
    };
    let created_at = now_micros();
    ctx.app
        .store
        .create_namespace(NewNamespace {
            id: id.clone(),
            token_hash: token::hash(&token),
            description,
            created_at,
        })
        .await?;
    tracing::info!(namespace = %id, "namespace created");
    Ok(json!({ "namespace": id, "token": token, "createdAt": rfc3339(created_at) }).to_string())
}

/// A fresh token for `namespace` with 32 bytes from the operating system's CSPRNG.
pub(crate) fn generate_token(namespace: &str) -> Result<String, ApiError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| {
        ApiError::new(
            ErrorCode::InternalError,
            format!("could not generate a token: {e}"),
        )
    })?;
    Ok(token::format(namespace, &secret))
}
