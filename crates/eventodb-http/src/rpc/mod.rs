//! `POST /rpc`: the envelope (PROTOCOL §2.2), method lookup and dispatch. One file per method.

mod args;
mod category_get;
mod ns_categories;
mod ns_create;
mod ns_delete;
mod ns_info;
mod ns_list;
mod ns_rotate_token;
mod ns_streams;
mod stream_get;
mod stream_last;
mod stream_version;
mod stream_write;
mod sys_health;
mod sys_version;

use eventodb_protocol::ErrorCode;
use eventodb_store::Store;
use serde_json::json;
use serde_json::value::RawValue;

use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use args::Args;

/// Every RPC method the server dispatches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `stream.write`
    StreamWrite,
    /// `stream.get`
    StreamGet,
    /// `stream.last`
    StreamLast,
    /// `stream.version`
    StreamVersion,
    /// `category.get`
    CategoryGet,
    /// `ns.create`
    NsCreate,
    /// `ns.delete`
    NsDelete,
    /// `ns.list`
    NsList,
    /// `ns.info`
    NsInfo,
    /// `ns.streams`
    NsStreams,
    /// `ns.rotateToken` (our addition)
    NsRotateToken,
    /// `ns.categories`
    NsCategories,
    /// `sys.version`
    SysVersion,
    /// `sys.health`
    SysHealth,
}

impl Method {
    /// Looks a method up by its wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "stream.write" => Method::StreamWrite,
            "stream.get" => Method::StreamGet,
            "stream.last" => Method::StreamLast,
            "stream.version" => Method::StreamVersion,
            "category.get" => Method::CategoryGet,
            "ns.create" => Method::NsCreate,
            "ns.delete" => Method::NsDelete,
            "ns.list" => Method::NsList,
            "ns.info" => Method::NsInfo,
            "ns.streams" => Method::NsStreams,
            "ns.rotateToken" => Method::NsRotateToken,
            "ns.categories" => Method::NsCategories,
            "sys.version" => Method::SysVersion,
            "sys.health" => Method::SysHealth,
            _ => return None,
        })
    }

    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Method::StreamWrite => "stream.write",
            Method::StreamGet => "stream.get",
            Method::StreamLast => "stream.last",
            Method::StreamVersion => "stream.version",
            Method::CategoryGet => "category.get",
            Method::NsCreate => "ns.create",
            Method::NsDelete => "ns.delete",
            Method::NsList => "ns.list",
            Method::NsInfo => "ns.info",
            Method::NsStreams => "ns.streams",
            Method::NsRotateToken => "ns.rotateToken",
            Method::NsCategories => "ns.categories",
            Method::SysVersion => "sys.version",
            Method::SysHealth => "sys.health",
        }
    }
}

impl Method {
    /// Whether the call must run to its end even if its client hangs up, so it runs in a task
    /// of its own: the namespace methods take several steps that must not stop half-way.
    /// Every other method may be dropped with its connection: reads change nothing, and
    /// `stream.write` hands its append to the store's writer, which commits and publishes it
    /// whether or not anyone still waits (see `Store::append`).
    pub fn must_finish(self) -> bool {
        matches!(
            self,
            Method::NsCreate | Method::NsDelete | Method::NsRotateToken
        )
    }
}

/// What a method needs: the application and the authenticated caller.
pub(crate) struct Ctx<'a, S> {
    pub(crate) app: &'a App<S>,
    pub(crate) caller: &'a Caller,
}

/// A decoded envelope: the method and its raw arguments, borrowed from the request body.
pub(crate) struct Call<'a> {
    /// The method called.
    pub(crate) method: Method,
    /// The whole envelope; the arguments follow the method name.
    envelope: Vec<&'a RawValue>,
}

/// Decodes the envelope of an authenticated request body (PROTOCOL §2.2) and looks the method
/// up, without copying any argument.
pub(crate) fn decode(body: &[u8]) -> Result<Call<'_>, ApiError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        ApiError::invalid("Request body is not valid UTF-8")
            .with_details(json!({ "error": e.to_string() }))
    })?;
    let envelope: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| {
        ApiError::invalid("Request body must be a JSON array [method, args...]")
            .with_details(json!({ "error": e.to_string() }))
    })?;
    let name = envelope
        .first()
        .ok_or_else(|| ApiError::invalid("Request array is empty: expected [method, args...]"))?;
    let name: String = serde_json::from_str(name.get())
        .map_err(|_| ApiError::invalid("First element must be the method name as a string"))?;
    let method = Method::from_name(&name).ok_or_else(|| {
        ApiError::new(
            ErrorCode::MethodNotFound,
            format!("Method not found: {name}"),
        )
        .with_details(json!({ "method": name }))
    })?;
    tracing::Span::current().record("rpc", method.name());
    Ok(Call { method, envelope })
}

/// Runs a decoded call and returns the JSON result text.
pub(crate) async fn dispatch<S: Store>(
    app: &App<S>,
    caller: &Caller,
    call: &Call<'_>,
) -> Result<String, ApiError> {
    let ctx = Ctx { app, caller };
    let args = Args::new(&call.envelope[1..]);
    match call.method {
        Method::StreamWrite => {
            let result = stream_write::call(&ctx, args).await;
            match &result {
                Ok(_) => crate::metrics::message_written(&caller.namespace),
                Err(e) if e.code == ErrorCode::StreamVersionConflict => {
                    crate::metrics::version_conflict(&caller.namespace)
                }
                Err(_) => {}
            }
            result
        }
        Method::StreamGet => stream_get::call(&ctx, args).await,
        Method::StreamLast => stream_last::call(&ctx, args).await,
        Method::StreamVersion => stream_version::call(&ctx, args).await,
        Method::CategoryGet => category_get::call(&ctx, args).await,
        Method::NsCreate => ns_create::call(&ctx, args).await,
        Method::NsDelete => ns_delete::call(&ctx, args).await,
        Method::NsList => ns_list::call(&ctx, args).await,
        Method::NsInfo => ns_info::call(&ctx, args).await,
        Method::NsStreams => ns_streams::call(&ctx, args).await,
        Method::NsRotateToken => ns_rotate_token::call(&ctx, args).await,
        Method::NsCategories => ns_categories::call(&ctx, args).await,
        Method::SysVersion => sys_version::call(&ctx, args).await,
        Method::SysHealth => sys_health::call(&ctx, args).await,
    }
}

/// Decodes and runs a request body in the calling task (the decoder's property tests).
#[cfg(test)]
pub(crate) async fn handle<S: Store>(
    app: &App<S>,
    caller: &Caller,
    body: &[u8],
    called: &mut Option<Method>,
) -> Result<String, ApiError> {
    let call = decode(body)?;
    *called = Some(call.method);
    dispatch(app, caller, &call).await
}

#[cfg(test)]
mod decoder_props;

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[Method] = &[
        Method::StreamWrite,
        Method::StreamGet,
        Method::StreamLast,
        Method::StreamVersion,
        Method::CategoryGet,
        Method::NsCreate,
        Method::NsDelete,
        Method::NsList,
        Method::NsInfo,
        Method::NsStreams,
        Method::NsRotateToken,
        Method::NsCategories,
        Method::SysVersion,
        Method::SysHealth,
    ];

    /// Only the namespace methods, which take several steps, are kept from being dropped
    /// half-way; writes are owned by the store's writer once handed over.
    #[test]
    fn only_namespace_changes_must_finish() {
        let detached: Vec<_> = ALL.iter().filter(|m| m.must_finish()).collect();
        assert_eq!(
            detached,
            [&Method::NsCreate, &Method::NsDelete, &Method::NsRotateToken]
        );
    }

    #[test]
    fn names_round_trip() {
        for m in ALL {
            assert_eq!(Method::from_name(m.name()), Some(*m));
        }
        assert_eq!(Method::from_name("stream.delete"), None);
        assert_eq!(Method::from_name("ns.rotatetoken"), None);
    }
}
