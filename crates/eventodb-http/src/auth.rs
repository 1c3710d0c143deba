//! Authentication (PROTOCOL §2.7–2.9) and namespace authority (§2.8 with §0's hardening).

use eventodb_protocol::{token, ErrorCode};
use eventodb_store::Store;
use hyper::header::AUTHORIZATION;
use hyper::http::request::Parts;
use serde_json::json;

use crate::error::ApiError;

/// The namespace every relaxed (test-mode) request without a usable token lands in.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Who is calling, once authenticated.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// The namespace the request is scoped to.
    pub(crate) namespace: String,
    /// True when the caller holds authority over every namespace: the verified `default`
    /// token in strict mode, anyone in test mode (which behaves like Go).
    pub(crate) admin: bool,
}

impl Caller {
    /// Refuses unless the caller may manage namespace `id` (`ns.info`, `ns.delete`).
    pub(crate) fn may_manage(&self, id: &str) -> Result<(), ApiError> {
        if self.admin || self.namespace == id {
            Ok(())
        } else {
            Err(unauthorized(
                &self.namespace,
                "token may only manage its own namespace",
            ))
        }
    }

    /// Refuses unless the caller holds admin authority (`ns.create`, `ns.list`).
    pub(crate) fn must_be_admin(&self) -> Result<(), ApiError> {
        if self.admin {
            Ok(())
        } else {
            Err(unauthorized(
                &self.namespace,
                "only the default namespace's token may do this",
            ))
        }
    }
}

fn unauthorized(namespace: &str, message: &str) -> ApiError {
    ApiError::new(ErrorCode::AuthUnauthorized, message)
        .with_details(json!({ "namespace": namespace }))
}

/// The token a request presents: a non-empty `token` query parameter wins, otherwise the
/// `Authorization: Bearer` header.
fn presented_token(parts: &Parts) -> Result<String, ApiError> {
    if let Some(query) = parts.uri.query() {
        let from_query = form_urlencoded::parse(query.as_bytes())
            .find(|(k, v)| k == "token" && !v.is_empty())
            .map(|(_, v)| v.into_owned());
        if let Some(token) = from_query {
            return Ok(token);
        }
    }
    let required = |m: &str| ApiError::new(ErrorCode::AuthRequired, m.to_owned());
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| required("Authorization required"))?;
    let bearer = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| required("Authorization header must use the Bearer scheme"))?;
    if bearer.is_empty() {
        return Err(required("Bearer token is empty"));
    }
    Ok(bearer.to_owned())
}

/// Authenticates a request.
///
/// Strict mode: the token must parse, name an existing namespace and match its stored hash.
/// Relaxed (test) mode: an unusable token means `default`; a well-formed one is trusted
/// without a hash check, even for a namespace that does not exist (namespace-scoped calls
/// then fail with `NAMESPACE_NOT_FOUND`).
pub(crate) async fn authenticate<S: Store>(
    store: &S,
    parts: &Parts,
    relaxed: bool,
) -> Result<Caller, ApiError> {
    let presented = presented_token(parts);
    if relaxed {
        let namespace = presented
            .ok()
            .and_then(|t| token::parse(&t).ok())
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        return Ok(Caller {
            namespace,
            admin: true,
        });
    }
    let presented = presented?;
    let namespace = token::parse(&presented).map_err(|e| {
        ApiError::new(ErrorCode::AuthInvalidToken, "Invalid token")
            .with_details(json!({ "error": e.describe() }))
    })?;
    let record = store.namespace(&namespace).await?;
    let Some(record) = record else {
        return Err(unauthorized(&namespace, "Namespace does not exist"));
    };
    if !token::hashes_equal(&token::hash(&presented), &record.token_hash) {
        return Err(unauthorized(&namespace, "Invalid token for namespace"));
    }
    Ok(Caller {
        admin: namespace == DEFAULT_NAMESPACE,
        namespace,
    })
}
