//! Routing by path, the per-request span, and the `/rpc` transport steps (method check,
//! authentication, body limit) before the envelope is decoded.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use eventodb_protocol::ErrorCode;
use eventodb_store::Store;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::CONTENT_LENGTH;
use hyper::{Method, Request, Response};
use tracing::{field, Instrument};

use crate::app::App;
use crate::auth::authenticate;
use crate::error::ApiError;
use crate::response::{self, Body};
use crate::{rpc, VERSION};

static REQUEST_IDS: AtomicU64 = AtomicU64::new(1);

/// Answers one HTTP request.
pub(crate) async fn route<S: Store>(
    app: Arc<App<S>>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    let span = tracing::info_span!(
        "request",
        id = REQUEST_IDS.fetch_add(1, Ordering::Relaxed),
        method = %req.method(),
        path = req.uri().path(),
        rpc = field::Empty,
        namespace = field::Empty,
    );
    async move {
        let response = match req.uri().path() {
            "/rpc" => rpc_route(app, req).await,
            "/subscribe" => crate::subscribe::route(app, req).await,
            "/import" => crate::import::route(app, req).await,
            "/health" => response::json(r#"{"status":"ok"}"#),
            "/version" => response::json(format!(r#"{{"version":"{VERSION}"}}"#)),
            path => {
                let err = ApiError::new(ErrorCode::NotFound, format!("Not found: {path}"));
                response::error(&err)
            }
        };
        tracing::debug!(
            status = response.status().as_u16(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "answered"
        );
        Ok(response)
    }
    .instrument(span)
    .await
}

async fn rpc_route<S: Store>(app: Arc<App<S>>, req: Request<Incoming>) -> Response<Body> {
    if req.method() != Method::POST {
        let err = ApiError::invalid("Method not allowed: /rpc accepts POST only").with_status(405);
        return response::error(&err);
    }
    let (parts, body) = req.into_parts();
    let caller = match authenticate(&app.store, &parts, app.config.relaxed_auth).await {
        Ok(caller) => caller,
        Err(err) => return response::error(&err),
    };
    tracing::Span::current().record("namespace", caller.namespace.as_str());

    let limit = app.config.max_body_bytes;
    let too_large = || {
        ApiError::invalid(format!("Request body exceeds the limit of {limit} bytes"))
            .with_status(413)
    };
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return response::error(&too_large());
    }
    let bytes: Bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return response::error(&too_large())
        }
        Err(e) => {
            let err = ApiError::invalid(format!("Could not read the request body: {e}"));
            return response::error(&err);
        }
    };

    // The call runs in its own task so that a client hanging up cannot cut it short: a write
    // that reached the store is finished and published even if nobody waits for the answer.
    let span = tracing::Span::current();
    let task =
        tokio::spawn(async move { rpc::handle(&app, &caller, &bytes).await }.instrument(span));
    match task.await {
        Ok(Ok(body)) => response::json(body),
        Ok(Err(err)) => response::error(&err),
        Err(join) => {
            let err = ApiError::new(ErrorCode::InternalError, format!("request failed: {join}"));
            response::error(&err)
        }
    }
}
