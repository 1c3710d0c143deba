//! `POST /import[?force=true]` (PROTOCOL §6.2): NDJSON in, streamed line by line in constant
//! memory; batches of [`BATCH`] records each committed in one transaction; Server-Sent
//! `data:` events out as batches commit.
//!
//! `lines.rs` splits the body, `record.rs` validates a line, `events.rs` frames the answer.
//! The request body limit of `/rpc` does not apply: the body is never held whole.

mod events;
mod lines;
mod record;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use eventodb_protocol::ErrorCode;
use eventodb_store::{ImportRecord, Store, StoreError};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Method, Request, Response};
use serde_json::json;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::app::App;
use crate::auth::authenticate;
use crate::channel_body::ChannelBody;
use crate::error::ApiError;
use crate::response::{self, Body};
use lines::{Line, Lines};
use record::Refused;

/// Records committed per transaction.
pub(crate) const BATCH: usize = 1000;

/// Answers `POST /import`.
pub(crate) async fn route<S: Store>(app: Arc<App<S>>, req: Request<Incoming>) -> Response<Body> {
    use http_body_util::BodyExt;

    if req.method() != Method::POST {
        let err =
            ApiError::invalid("Method not allowed: /import accepts POST only").with_status(405);
        return response::error(&err);
    }
    let (parts, body) = req.into_parts();
    let caller = match authenticate(&app.store, &parts, app.config.relaxed_auth).await {
        Ok(caller) => caller,
        Err(err) => return response::error(&err),
    };
    let namespace = caller.namespace;
    tracing::Span::current().record("namespace", namespace.as_str());
    if let Some(response) = crate::router::rate_limited(&app, &namespace) {
        return response;
    }
    match app.store.namespace(&namespace).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            let err = ApiError::new(
                ErrorCode::NamespaceNotFound,
                format!("Namespace not found: {namespace}"),
            )
            .with_details(json!({ "namespace": namespace }));
            return response::error(&err);
        }
        Err(e) => return response::error(&e.into()),
    }
    let force = parts.uri.query().is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "force" && v == "true")
    });
    if force {
        if let Err(e) = app.store.clear_namespace(&namespace).await {
            let err = ApiError::new(
                ErrorCode::ClearFailed,
                format!("Could not clear namespace {namespace}: {e}"),
            );
            return response::error(&err);
        }
        tracing::info!(namespace = %namespace, "namespace cleared for import");
    }

    let (tx, events) = ChannelBody::channel(8);
    let span = tracing::Span::current();
    tokio::spawn(
        async move { run(&app.store, &namespace, Lines::new(body), tx).await }.instrument(span),
    );
    let mut response = Response::new(events.boxed());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// A batch being filled: the records and the line each came from.
#[derive(Default)]
struct Batch {
    records: Vec<ImportRecord>,
    lines: Vec<u64>,
}

/// Reads, validates and commits the body; every outcome goes out as an event. A send
/// failure (the client left) does not stop a commit already started.
async fn run<S: Store>(store: &S, ns: &str, mut lines: Lines, tx: mpsc::Sender<Bytes>) {
    let started = Instant::now();
    let mut imported: u64 = 0;
    let mut batch = Batch::default();
    loop {
        let (number, text) = match lines.next().await {
            Line::Text(number, text) => (number, text),
            Line::End => break,
            Line::Failed { line, message } => {
                let _ = tx.send(events::error("READ_ERROR", &message, line)).await;
                return;
            }
        };
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match record::parse(&text) {
            Ok(r) => {
                batch.records.push(r);
                batch.lines.push(number);
            }
            Err(refused) => {
                let (code, message) = match refused {
                    Refused::InvalidJson(m) => ("INVALID_JSON", m),
                    Refused::InvalidRecord(m) => ("INVALID_RECORD", m),
                };
                let message = format!("line {number}: {message}");
                let _ = tx.send(events::error(code, &message, number)).await;
                return;
            }
        }
        if batch.records.len() == BATCH {
            match commit(store, ns, std::mem::take(&mut batch)).await {
                Ok((n, gpos)) => {
                    imported += n;
                    let _ = tx.send(events::progress(imported, gpos)).await;
                }
                Err(event) => {
                    let _ = tx.send(event).await;
                    return;
                }
            }
        }
    }
    if !batch.records.is_empty() {
        match commit(store, ns, batch).await {
            Ok((n, _)) => imported += n,
            Err(event) => {
                let _ = tx.send(event).await;
                return;
            }
        }
    }
    tracing::info!(namespace = ns, imported, "import finished");
    let _ = tx.send(events::done(imported, started.elapsed())).await;
}

/// Commits one batch: how many records and the last one's global position, or the error
/// event naming the offending line.
async fn commit<S: Store>(store: &S, ns: &str, batch: Batch) -> Result<(u64, i64), Bytes> {
    let count = batch.records.len() as u64;
    let last_gpos = batch.records.last().map_or(0, |r| r.global_position);
    let last_line = batch.lines.last().copied().unwrap_or(0);
    let line_of = |index: Option<usize>| {
        index
            .and_then(|i| batch.lines.get(i).copied())
            .unwrap_or(last_line)
    };
    let positions: Vec<i64> = batch.records.iter().map(|r| r.global_position).collect();
    match store.import_batch(ns, batch.records).await {
        Ok(()) => {
            crate::metrics::records_imported(ns, count);
            Ok((count, last_gpos))
        }
        Err(StoreError::PositionExists {
            global_position,
            index,
        }) => {
            let index = index.or_else(|| positions.iter().position(|&g| g == global_position));
            let message = format!("global position already exists: {global_position}");
            Err(events::error("POSITION_EXISTS", &message, line_of(index)))
        }
        Err(StoreError::ImportConflict { index, message }) => {
            Err(events::error("IMPORT_FAILED", &message, line_of(index)))
        }
        Err(e) => {
            tracing::warn!(namespace = ns, error = %e, "import batch failed");
            Err(events::error("IMPORT_FAILED", &e.to_string(), last_line))
        }
    }
}
