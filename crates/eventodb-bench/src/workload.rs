//! What a request-driving worker sends: a [`Generator`] per worker, made by a [`Workload`].

use std::sync::Arc;

use bytes::Bytes;

use crate::client::Reply;

/// Produces one worker's requests and learns from their answers.
pub trait Generator: Send {
    /// The body of the next `POST /rpc`.
    fn next(&mut self) -> Bytes;
    /// Sees the answer to the last request (e.g. to advance an expected version).
    fn observe(&mut self, _reply: &Reply) {}
}

/// Makes the generator of worker number `n` (0-based).
pub type Workload = Arc<dyn Fn(u32) -> Box<dyn Generator> + Send + Sync>;
