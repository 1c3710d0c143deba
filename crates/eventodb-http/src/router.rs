//! Routing by path, the per-request span, and the `/rpc` transport steps (method check,
//! authentication, body limit) before the envelope is decoded.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use eventodb_protocol::ErrorCode;
use eventodb_store::Store;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, Request, Response};
use tracing::{field, Instrument};

use crate::app::App;
use crate::auth::{authenticate, DEFAULT_NAMESPACE};
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
            "/ready" => ready(&app).await,
            "/metrics" => {
                let text = crate::metrics::render(&app).await;
                let mut response = response::json(text);
                response.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
                );
                response
            }
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

/// How long `/ready` waits for storage to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /ready`: `200` while storage answers a registry read in time and the server is not
/// stopping; otherwise `503 BACKEND_ERROR`.
async fn ready<S: Store>(app: &App<S>) -> Response<Body> {
    let reason = if app.shutdown.is_cancelled() {
        "Server is shutting down".to_owned()
    } else {
        match tokio::time::timeout(READY_TIMEOUT, app.store.namespace(DEFAULT_NAMESPACE)).await {
            Ok(Ok(_)) => return response::json(r#"{"status":"ready"}"#),
            Ok(Err(e)) => format!("Storage is not reachable: {e}"),
            Err(_) => format!(
                "Storage did not answer within {} ms",
                READY_TIMEOUT.as_millis()
            ),
        }
    };
    response::error(&ApiError::new(ErrorCode::BackendError, reason).with_status(503))
}

/// Takes one request from `namespace`'s rate budget; the `429 RATE_LIMITED` response when
/// it is spent.
pub(crate) fn rate_limited<S: Store>(app: &App<S>, namespace: &str) -> Option<Response<Body>> {
    let limiter = app.rate_limiter.as_ref()?;
    let wait = limiter.check(namespace).err()?;
    crate::metrics::limit_hit("rate-limit");
    let retry_after = wait.as_secs_f64().ceil().max(1.0) as u64;
    let per_second = app.config.rate_limit.map_or(0.0, |r| r.per_second);
    let err = ApiError::new(
        ErrorCode::RateLimited,
        format!(
            "Namespace {namespace} is over its request rate limit of {per_second} per second \
             (--rate-limit); retry after {retry_after} s"
        ),
    )
    .with_details(serde_json::json!({
        "namespace": namespace,
        "limit": per_second,
        "retryAfter": retry_after,
    }));
    let mut response = response::error(&err);
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(retry_after));
    Some(response)
}

async fn rpc_route<S: Store>(app: Arc<App<S>>, req: Request<Incoming>) -> Response<Body> {
    let started = Instant::now();
    let mut method = None;
    let response = rpc_call(app, req, &mut method).await;
    let name = method.map_or("unknown", rpc::Method::name);
    crate::metrics::rpc_answered(name, response.status().as_u16(), started.elapsed());
    response
}

async fn rpc_call<S: Store>(
    app: Arc<App<S>>,
    req: Request<Incoming>,
    method: &mut Option<rpc::Method>,
) -> Response<Body> {
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
    if let Some(response) = rate_limited(&app, &caller.namespace) {
        return response;
    }

    let limit = app.config.max_body_bytes;
    let too_large = || {
        crate::metrics::limit_hit("max-body-size");
        ApiError::invalid(format!(
            "Request body exceeds the limit of {limit} bytes (--max-body-size)"
        ))
        .with_status(413)
        .with_details(serde_json::json!({ "limit": limit }))
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

    let call = match rpc::decode(&bytes) {
        Ok(call) => call,
        Err(err) => return response::error(&err),
    };
    *method = Some(call.method);
    if !call.method.must_finish() {
        // In this task: dropped with the connection if the client hangs up (see
        // `Method::must_finish`). A task per call cost a hand-over between worker threads.
        return match rpc::dispatch(&app, &caller, &call).await {
            Ok(body) => response::json(body),
            Err(err) => response::error(&err),
        };
    }
    drop(call);
    // A task of its own, so that a client hanging up cannot stop it half-way.
    let span = tracing::Span::current();
    let task = tokio::spawn(
        async move {
            let call = rpc::decode(&bytes)?;
            rpc::dispatch(&app, &caller, &call).await
        }
        .instrument(span),
    );
    match task.await {
        Ok(Ok(body)) => response::json(body),
        Ok(Err(err)) => response::error(&err),
        Err(join) => {
            let err = ApiError::new(ErrorCode::InternalError, format!("request failed: {join}"));
            response::error(&err)
        }
    }
}
