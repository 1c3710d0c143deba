//! A streaming body fed through a bounded channel: the import's event stream on the server,
//! and the request body of `eventodb import` on the client side.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame};
use tokio::sync::mpsc;

/// Whatever the sender sends, chunk by chunk; the body ends when the sender is dropped.
pub struct ChannelBody {
    /// In a mutex only so the body is `Sync`; polling uses `get_mut`, never locking.
    rx: Mutex<mpsc::Receiver<Bytes>>,
}

impl ChannelBody {
    /// A body and the sender that feeds it, with room for `capacity` chunks in flight.
    pub fn channel(capacity: usize) -> (mpsc::Sender<Bytes>, ChannelBody) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (tx, ChannelBody { rx: Mutex::new(rx) })
    }
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let rx = match self.get_mut().rx.get_mut() {
            Ok(rx) => rx,
            Err(poisoned) => poisoned.into_inner(),
        };
        rx.poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(Frame::data(b))))
    }
}
