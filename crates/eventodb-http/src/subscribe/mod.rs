//! `GET /subscribe`: Server-Sent Event pokes (PROTOCOL §5).
//!
//! `hub.rs` is the fan-out (who hears of a change), `body.rs` the response body that turns a
//! subscriber's queue into pokes, `sse.rs` the framing, `params.rs` the query parameters.

mod body;
mod hub;
mod params;
mod sse;

use std::sync::Arc;

use bytes::Bytes;
use eventodb_protocol::limits::CATCH_UP_LIMIT;
use eventodb_protocol::ErrorCode;
use eventodb_store::{CategoryRead, Store, StreamRead, StreamStart};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONNECTION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;

pub use hub::Hub;
use params::Target;

use crate::app::App;
use crate::auth::authenticate;
use crate::error::ApiError;
use crate::response::{self, Body};

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
    if let Some(response) = crate::router::rate_limited(&app, &caller.namespace) {
        return response;
    }
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
    let namespace = caller.namespace;
    let max = app.config.max_subscriptions_per_namespace;
    let Some(registration) = app
        .hub
        .register_at_most(&namespace, params.target.clone(), max)
    else {
        crate::metrics::limit_hit("max-subscriptions-per-namespace");
        let err = ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "Namespace {namespace} already has {max} open subscriptions, the limit \
                 (--max-subscriptions-per-namespace)"
            ),
        )
        .with_details(json!({ "namespace": namespace, "limit": max }));
        return response::error(&err);
    };
    let mut next = params.position;
    let limit = Some(CATCH_UP_LIMIT as u64);
    let catch_up: Option<body::CatchUp> = match params.target {
        Target::All => {
            // No replay: a write acknowledged before this subscription is never poked, even
            // when a backend publishes it a moment after the acknowledgement (PostgreSQL).
            match app.store.head_position(&namespace).await {
                Ok(head) => next = next.max(head + 1),
                Err(e) => return response::error(&e.into()),
            }
            None
        }
        Target::Stream(ref stream_name) => {
            let read = StreamRead {
                stream_name: stream_name.clone(),
                start: StreamStart::Position(params.position.max(0)),
                limit,
            };
            let app = app.clone();
            let namespace = namespace.clone();
            Some(Box::pin(async move {
                let messages = app.store.read_stream(&namespace, read).await?;
                Ok(pokes(messages))
            }))
        }
        Target::Category(ref category, consumer_group) => {
            let read = CategoryRead {
                category: category.clone(),
                start: params.position.max(1),
                limit,
                correlation: None,
                consumer_group,
            };
            let app = app.clone();
            let namespace = namespace.clone();
            Some(Box::pin(async move {
                let messages = app.store.read_category(&namespace, read).await?;
                Ok(pokes(messages))
            }))
        }
    };
    let body = body::SubscriptionBody::new(
        registration,
        app.hub.clone(),
        matches!(params.target, Target::Stream(_)),
        next,
        catch_up,
        app.config.sse_keepalive,
        app.shutdown.clone().cancelled_owned(),
    );
    let mut response = Response::new(body.boxed());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(CONNECTION, HeaderValue::from_static("keep-alive"));
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    response
}

fn pokes(messages: Vec<eventodb_protocol::Message>) -> Vec<(String, i64, i64)> {
    messages
        .into_iter()
        .map(|m| (m.stream_name, m.position, m.global_position))
        .collect()
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
