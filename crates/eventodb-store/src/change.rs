//! The seam between "a change happened" and "who hears of it".
//!
//! A backend publishes every committed message to a [`ChangeSink`], in commit order per
//! namespace, right after the commit and before the writer is answered. The subscription hub
//! is the sink; it never reaches back into the store from `publish`.

/// A committed message, as subscribers learn of it (a poke carries exactly these facts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The stream written to.
    pub stream_name: String,
    /// Its position in the stream.
    pub position: i64,
    /// Its position in the namespace.
    pub global_position: i64,
}

/// Receives committed changes. `publish` must not block: it runs on the write path.
pub trait ChangeSink: Send + Sync + 'static {
    /// Called with the changes of one commit for one namespace, in global-position order.
    fn publish(&self, namespace: &str, changes: &[Change]);
}

/// A sink that drops everything (for stores nobody subscribes to, e.g. in tools and tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSubscribers;

impl ChangeSink for NoSubscribers {
    fn publish(&self, _namespace: &str, _changes: &[Change]) {}
}
