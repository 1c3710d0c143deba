//! The task behind one subscription (PROTOCOL §5.3–5.5): `: ready`, catch-up, then live pokes,
//! each position at most once and in ascending order, until the client leaves or the server
//! stops.

use std::sync::Arc;

use bytes::Bytes;
use eventodb_protocol::limits::CATCH_UP_LIMIT;
use eventodb_store::{CategoryRead, Change, Store, StreamRead, StreamStart};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::hub::Registration;
use super::params::{Params, Target};
use super::sse;
use crate::app::App;

/// Where the subscription's frames go, and when to give up on sending them.
struct Out {
    frames: mpsc::Sender<Bytes>,
    shutdown: CancellationToken,
}

impl Out {
    /// Sends a frame; false when the client is gone or the server is stopping.
    async fn send(&self, frame: Bytes) -> bool {
        tokio::select! {
            sent = self.frames.send(frame) => sent.is_ok(),
            _ = self.shutdown.cancelled() => false,
        }
    }
}

/// Runs a registered subscription to its end.
pub(crate) async fn run<S: Store>(
    app: Arc<App<S>>,
    namespace: String,
    params: Params,
    mut registration: Registration,
    frames: mpsc::Sender<Bytes>,
) {
    let out = Out {
        frames,
        shutdown: app.shutdown.clone(),
    };
    let by_stream_position = matches!(params.target, Target::Stream(_));
    let mut next = params.position;
    if params.target == Target::All {
        // No replay: a write acknowledged before this subscription must not be poked, even
        // when a backend publishes it a moment after the acknowledgement (PostgreSQL's feed).
        match app.store.head_position(&namespace).await {
            Ok(head) => next = next.max(head + 1),
            Err(e) => {
                tracing::warn!(error = %e, "subscription could not read the head; closing it");
                return;
            }
        }
    }
    if !out.send(Bytes::from_static(sse::READY)).await {
        return;
    }
    match catch_up(&app, &namespace, &params).await {
        Ok(pokes) => {
            for (stream_name, position, global_position) in pokes {
                let pos = if by_stream_position {
                    position
                } else {
                    global_position
                };
                if !out
                    .send(sse::poke(&stream_name, position, global_position))
                    .await
                {
                    return;
                }
                next = pos + 1;
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "subscription catch-up failed; closing it");
            return;
        }
    }

    let poke = |change: &Change, next: &mut i64| -> Option<Bytes> {
        let pos = if by_stream_position {
            change.position
        } else {
            change.global_position
        };
        if pos < *next {
            return None;
        }
        *next = pos + 1;
        Some(sse::poke(
            &change.stream_name,
            change.position,
            change.global_position,
        ))
    };

    let period = app.config.sse_keepalive;
    let mut keepalive = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            biased;
            _ = out.shutdown.cancelled() => break,
            _ = out.frames.closed() => break,
            change = registration.changes.recv() => {
                let Some(change) = change else { break };
                if let Some(frame) = poke(&change, &mut next) {
                    if !out.send(frame).await {
                        break;
                    }
                }
            }
            _ = registration.subscriber.overflowed.notified() => {
                // Everything still queued is older than the coalesced change: send it first.
                let mut ok = true;
                while let Ok(change) = registration.changes.try_recv() {
                    if let Some(frame) = poke(&change, &mut next) {
                        ok = out.send(frame).await;
                        if !ok {
                            break;
                        }
                    }
                }
                if let Some(change) = registration.subscriber.take_overflow() {
                    app.hub.count_coalesced();
                    tracing::debug!(global_position = change.global_position, "slow subscriber: coalesced poke");
                    if let Some(frame) = poke(&change, &mut next) {
                        ok = ok && out.send(frame).await;
                    }
                }
                if !ok {
                    break;
                }
            }
            _ = keepalive.tick() => {
                if !out.send(Bytes::from_static(sse::KEEPALIVE)).await {
                    break;
                }
            }
        }
    }
}

/// The existing messages to poke about: `(stream, position, global position)`.
async fn catch_up<S: Store>(
    app: &App<S>,
    namespace: &str,
    params: &Params,
) -> Result<Vec<(String, i64, i64)>, eventodb_store::StoreError> {
    let limit = Some(CATCH_UP_LIMIT as u64);
    let messages = match &params.target {
        Target::All => return Ok(Vec::new()),
        Target::Stream(stream_name) => {
            let read = StreamRead {
                stream_name: stream_name.clone(),
                start: StreamStart::Position(params.position.max(0)),
                limit,
            };
            app.store.read_stream(namespace, read).await?
        }
        Target::Category(category, consumer_group) => {
            let read = CategoryRead {
                category: category.clone(),
                start: params.position.max(1),
                limit,
                correlation: None,
                consumer_group: *consumer_group,
            };
            app.store.read_category(namespace, read).await?
        }
    };
    Ok(messages
        .into_iter()
        .map(|m| (m.stream_name, m.position, m.global_position))
        .collect())
}
