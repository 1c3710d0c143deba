//! Connection deadlines, as Go's server has them (PROTOCOL §12): a client gets
//! `header_read_timeout` to send a request's head, counted from the connection's accept or
//! from the first byte of the next request, and a keep-alive connection with no request in
//! flight is closed after `idle_timeout` of silence.
//!
//! hyper's own header-read timeout starts as soon as it waits for the next head, so it also
//! closes idle keep-alive connections after 30 s, and clients that pool connections (every
//! SDK) then race the close when they reuse one. hyper cannot tell "idle" from "trickling a
//! head", so the socket is wrapped here ([`TimedIo`]) and every request holds an
//! [`InFlight`] guard (moved into its response body) that tells the socket when the
//! connection is between requests. While a request is in flight nothing is timed: an SSE
//! response is open for as long as its client wants.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// What the connection is waiting for between requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// A request's head has begun (or the connection is new): the header timeout runs.
    Head,
    /// Nothing of the next request has arrived: the idle timeout runs.
    Idle,
}

#[derive(Debug)]
struct State {
    /// Requests whose responses are not finished yet.
    in_flight: u32,
    phase: Phase,
    /// When the connection is closed if nothing changes; meaningful when `in_flight == 0`.
    deadline: Instant,
    /// The socket's reader, parked while a request was in flight: woken when the last
    /// response finishes so that it starts the idle timer (hyper may already be waiting on
    /// the socket for the next request and would not otherwise look again).
    parked: Option<Waker>,
}

/// The deadlines of one connection, shared by its socket and its requests.
#[derive(Debug)]
pub(crate) struct Deadlines {
    header: Duration,
    idle: Duration,
    state: Mutex<State>,
}

impl Deadlines {
    /// A new connection: its first head must arrive within `header`.
    pub(crate) fn new(header: Duration, idle: Duration) -> Arc<Self> {
        Arc::new(Self {
            header,
            idle,
            state: Mutex::new(State {
                in_flight: 0,
                phase: Phase::Head,
                deadline: Instant::now() + header,
                parked: None,
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is a few plain fields updated in one step; a panic elsewhere cannot leave
        // it half-written, so a poisoned lock is still good.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A request's head was parsed: no deadline until its response is finished.
    pub(crate) fn request_started(self: &Arc<Self>) -> InFlight {
        self.state().in_flight += 1;
        InFlight(self.clone())
    }

    /// Bytes arrived: between requests, they begin the next head.
    fn bytes_arrived(&self) {
        let mut state = self.state();
        if state.in_flight == 0 && state.phase == Phase::Idle {
            state.phase = Phase::Head;
            state.deadline = Instant::now() + self.header;
        }
    }

    /// The deadline the socket should wait for, or `None` while a request is in flight (then
    /// `waker` is woken when the last response finishes).
    fn current(&self, waker: Option<&Waker>) -> Option<(Instant, Phase)> {
        let mut state = self.state();
        if state.in_flight == 0 {
            return Some((state.deadline, state.phase));
        }
        if let Some(waker) = waker {
            match &mut state.parked {
                Some(parked) => parked.clone_from(waker),
                None => state.parked = Some(waker.clone()),
            }
        }
        None
    }
}

/// Held by a request until its response body is finished or dropped.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Deadlines>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let deadlines = &self.0;
        let parked = {
            let mut state = deadlines.state();
            state.in_flight = state.in_flight.saturating_sub(1);
            if state.in_flight != 0 {
                return;
            }
            state.phase = Phase::Idle;
            state.deadline = Instant::now() + deadlines.idle;
            state.parked.take()
        };
        if let Some(waker) = parked {
            waker.wake();
        }
    }
}

/// A response body that keeps its request [`InFlight`] until hyper has sent it all.
pub(crate) struct InFlightBody<B> {
    inner: B,
    _in_flight: InFlight,
}

impl<B> InFlightBody<B> {
    /// Wraps `inner`, holding `in_flight` for as long as the body lives.
    pub(crate) fn new(inner: B, in_flight: InFlight) -> Self {
        Self {
            inner,
            _in_flight: in_flight,
        }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for InFlightBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A connection's socket that fails its reads once the connection's deadline passes while
/// hyper waits for bytes between requests (hyper then closes the connection).
pub(crate) struct TimedIo {
    stream: TcpStream,
    deadlines: Arc<Deadlines>,
    sleep: Pin<Box<Sleep>>,
}

impl TimedIo {
    /// Wraps an accepted connection.
    pub(crate) fn new(stream: TcpStream, deadlines: Arc<Deadlines>) -> Self {
        let first = deadlines
            .current(None)
            .map_or_else(Instant::now, |(deadline, _)| deadline);
        Self {
            stream,
            deadlines,
            sleep: Box::pin(tokio::time::sleep_until(first)),
        }
    }
}

impl AsyncRead for TimedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Pending => {}
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.deadlines.bytes_arrived();
                }
                return Poll::Ready(Ok(()));
            }
            ready => return ready,
        }
        let Some((deadline, phase)) = this.deadlines.current(Some(cx.waker())) else {
            return Poll::Pending;
        };
        if this.sleep.deadline() != deadline {
            this.sleep.as_mut().reset(deadline);
        }
        if this.sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let why = match phase {
            Phase::Head => "request head not received within --header-read-timeout",
            Phase::Idle => "keep-alive connection idle for --idle-timeout",
        };
        if phase == Phase::Head {
            crate::metrics::limit_hit("header-read-timeout");
        }
        tracing::debug!(reason = why, "closing connection");
        Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, why)))
    }
}

impl AsyncWrite for TimedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::Wake;

    struct Flag(AtomicBool);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// hyper may wait on the socket while a response is still being written and not look
    /// again once it is done; the last finished response must wake that reader so that it
    /// starts the idle timer (a lost wake-up kept idle connections open for ever).
    #[tokio::test]
    async fn the_last_finished_response_wakes_a_parked_reader() {
        let deadlines = Deadlines::new(Duration::from_secs(1), Duration::from_secs(3));
        let first = deadlines.request_started();
        let second = deadlines.request_started();
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        assert!(deadlines.current(Some(&waker)).is_none());

        drop(first);
        assert!(!flag.0.load(Ordering::SeqCst), "a response is still open");
        drop(second);
        assert!(flag.0.load(Ordering::SeqCst), "the reader was not woken");
        let (deadline, phase) = deadlines.current(None).expect("idle");
        assert_eq!(phase, Phase::Idle);
        assert!(deadline > Instant::now() + Duration::from_secs(2));
    }
}
