//! `GET /subscribe`: Server-Sent Event pokes (PROTOCOL §5).
//!
//! `hub.rs` is the fan-out (who hears of a change), `pump.rs` the task behind one
//! subscription, `sse.rs` the framing, `params.rs` the query parameters.

mod hub;
mod params;
mod pump;
mod sse;

use std::sync::Arc;

use bytes::Bytes;
use eventodb_protocol::ErrorCode;
use eventodb_store::Store;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONNECTION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;
use tokio::sync::mpsc;
use tracing::Instrument;

pub use hub::Hub;

use crate::app::App;
use crate::auth::authenticate;
use crate::error::ApiError;
use crate::response::{self, Body};

/// Frames buffered between a subscription's task and the socket.
const FRAME_BUFFER: usize = 16;

/// Opens a subscription.
pub(crate) async fn route<S: Store>(app: Arc<App<S>>, req: Request<Incoming>) -> Response<Body> {
    if req.method() != Method::GET {
        let err =
            ApiError::invalid("Method not allowed: /subscribe accepts GET only").with_status(405);
        return response::error(&err);
    }
    let (parts, _body) = req.into_parts();
    let caller = match authenticate(&app.store, &parts, app.config.relaxed_auth).await {
        Ok(caller) => caller,
        Err(err) => return response::error(&err),
    };
    tracing::Span::current().record("namespace", caller.namespace.as_str());
    let params = match params::parse(parts.uri.query()) {
        Ok(params) => params,
        Err(reason) => return plain_bad_request(reason),
    };
    match app.store.namespace(&caller.namespace).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            let err = ApiError::new(
                ErrorCode::NamespaceNotFound,
                format!("Namespace not found: {}", caller.namespace),
            )
            .with_details(json!({ "namespace": caller.namespace }));
            return response::error(&err);
        }
        Err(e) => return response::error(&e.into()),
    }

    // Register before anything is read, so a write racing the catch-up is still heard.
    let registration = app.hub.register(&caller.namespace, params.target.clone());
    let (frames, body) = mpsc::channel(FRAME_BUFFER);
    let span = tracing::Span::current();
    tokio::spawn(
        pump::run(app.clone(), caller.namespace, params, registration, frames).instrument(span),
    );

    let mut response = Response::new(sse::SseBody::new(body).boxed());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(CONNECTION, HeaderValue::from_static("keep-alive"));
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    response
}

fn plain_bad_request(reason: String) -> Response<Body> {
    tracing::debug!(%reason, "subscription refused");
    let mut response = Response::new(Full::new(Bytes::from(reason + "\n")).boxed());
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
