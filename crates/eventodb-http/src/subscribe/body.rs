//! The response body of one subscription (PROTOCOL §5.3–5.5): `: ready`, the catch-up pokes,
//! then live pokes taken straight from the hub's queue, each position at most once and in
//! ascending order, until the client leaves or the server stops.
//!
//! There is no task per subscription: hyper polls this body, and the hub wakes it when a
//! change arrives. Everything a poll finds queued goes out as one chunk.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use eventodb_store::{Change, StoreError};
use hyper::body::{Body, Frame};
use tokio::time::{Instant, Sleep};
use tokio_util::sync::WaitForCancellationFutureOwned;

use super::hub::{Hub, Registration};
use super::sse;

/// The existing messages to poke about: `(stream, position, global position)`.
pub(crate) type CatchUp =
    Pin<Box<dyn Future<Output = Result<Vec<(String, i64, i64)>, StoreError>> + Send>>;

/// A live subscription's body. The state sits in a mutex only so the body is `Sync`; polling
/// reaches it through `get_mut`, without locking.
pub(crate) struct SubscriptionBody {
    state: Mutex<State>,
}

struct State {
    registration: Registration,
    hub: Arc<Hub>,
    /// Stream subscriptions count stream positions; the others global positions.
    by_stream_position: bool,
    /// The lowest position still owed a poke.
    next: i64,
    ready_sent: bool,
    catch_up: Option<CatchUp>,
    keepalive: Pin<Box<Sleep>>,
    period: Duration,
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    done: bool,
}

impl SubscriptionBody {
    /// A body for a registered subscription.
    pub(crate) fn new(
        registration: Registration,
        hub: Arc<Hub>,
        by_stream_position: bool,
        next: i64,
        catch_up: Option<CatchUp>,
        period: Duration,
        shutdown: WaitForCancellationFutureOwned,
    ) -> Self {
        let state = State {
            registration,
            hub,
            by_stream_position,
            next,
            ready_sent: false,
            catch_up,
            keepalive: Box::pin(tokio::time::sleep(period)),
            period,
            shutdown: Box::pin(shutdown),
            done: false,
        };
        Self {
            state: Mutex::new(state),
        }
    }
}

/// Appends a poke for `(stream, position, global)` unless its position is already behind.
fn poke_into(
    out: &mut Vec<u8>,
    next: &mut i64,
    by_stream_position: bool,
    (stream, position, global): (&str, i64, i64),
) {
    let pos = if by_stream_position { position } else { global };
    if pos < *next {
        return;
    }
    *next = pos + 1;
    out.extend_from_slice(&sse::poke(stream, position, global));
    crate::metrics::pokes_sent(1);
}

fn change_parts(change: &Change) -> (&str, i64, i64) {
    (&change.stream_name, change.position, change.global_position)
}

impl State {
    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if self.done || self.shutdown.as_mut().poll(cx).is_ready() {
            self.done = true;
            return Poll::Ready(None);
        }
        if !self.ready_sent {
            self.ready_sent = true;
            return Poll::Ready(Some(Bytes::from_static(sse::READY)));
        }
        let mut out = Vec::new();
        if let Some(catch_up) = self.catch_up.as_mut() {
            match catch_up.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(pokes)) => {
                    self.catch_up = None;
                    for (stream, position, global) in &pokes {
                        let parts = (stream.as_str(), *position, *global);
                        poke_into(&mut out, &mut self.next, self.by_stream_position, parts);
                    }
                }
                Poll::Ready(Err(e)) => {
                    tracing::warn!(error = %e, "subscription catch-up failed; closing it");
                    self.done = true;
                    return Poll::Ready(None);
                }
            }
        }
        let (next, by_stream) = (&mut self.next, self.by_stream_position);
        let drained = self.registration.subscriber.drain(cx.waker(), |queue| {
            for change in queue.changes.drain(..) {
                poke_into(&mut out, next, by_stream, change_parts(&change));
            }
            // Everything queued is older than the coalesced change, so it goes last.
            queue.overflow.take().map(|change| {
                poke_into(&mut out, next, by_stream, change_parts(&change));
            })
        });
        match drained {
            None => {
                self.done = true;
                return Poll::Ready(None);
            }
            Some(Some(())) => {
                self.hub.count_coalesced();
                tracing::debug!("slow subscriber: sent a coalesced poke");
            }
            Some(None) => {}
        }
        if !out.is_empty() {
            return Poll::Ready(Some(Bytes::from(out)));
        }
        if self.keepalive.as_mut().poll(cx).is_ready() {
            let deadline = Instant::now() + self.period;
            self.keepalive.as_mut().reset(deadline);
            return Poll::Ready(Some(Bytes::from_static(sse::KEEPALIVE)));
        }
        Poll::Pending
    }
}

impl Body for SubscriptionBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let Ok(state) = self.get_mut().state.get_mut() else {
            return Poll::Ready(None);
        };
        state
            .poll_frame(cx)
            .map(|frame| frame.map(|bytes| Ok(Frame::data(bytes))))
    }
}
