//! [`PostgresConfig`]: where the database is and how the store talks to it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use eventodb_store::{ChangeSink, NoSubscribers};

/// How the store learns of committed writes (its own and other processes') for the change
/// feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyMode {
    /// One dedicated connection runs `LISTEN eventodb_changes`; every write notifies it.
    Listen,
    /// No `LISTEN` (for transaction-pooling proxies): every namespace is read for new
    /// messages on this interval.
    Poll(Duration),
}

/// Configuration of a [`crate::PostgresStore`].
#[derive(Clone)]
pub struct PostgresConfig {
    /// A libpq-style URL or key/value string, e.g. `postgres://user@host:5432/db`.
    pub url: String,
    /// Pooled connections for reads and writes (4–8 is the throughput peak on 2 cores).
    pub pool_size: usize,
    /// How long opening one connection may take.
    pub connect_timeout: Duration,
    /// Keep prepared statements per connection (turn off behind transaction-pooling proxies).
    pub statement_cache: bool,
    /// Receives every committed message, in order per namespace.
    pub changes: Arc<dyn ChangeSink>,
    /// How committed writes are noticed.
    pub notify: NotifyMode,
}

impl PostgresConfig {
    /// Defaults for `url`: 8 connections, 5 s connect timeout, statement cache on, no
    /// subscribers, `LISTEN`.
    pub fn new(url: impl Into<String>) -> Self {
        PostgresConfig {
            url: url.into(),
            pool_size: 8,
            connect_timeout: Duration::from_secs(5),
            statement_cache: true,
            changes: Arc::new(NoSubscribers),
            notify: NotifyMode::Listen,
        }
    }

    /// The same configuration publishing to `changes`.
    pub fn with_changes(mut self, changes: Arc<dyn ChangeSink>) -> Self {
        self.changes = changes;
        self
    }

    /// The same configuration with another notify mode.
    pub fn with_notify(mut self, notify: NotifyMode) -> Self {
        self.notify = notify;
        self
    }
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &redact(&self.url))
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("statement_cache", &self.statement_cache)
            .field("notify", &self.notify)
            .finish_non_exhaustive()
    }
}

/// The URL without a password (`user:secret@` becomes `user:***@`).
pub(crate) fn redact(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        if let Some(at) = rest.find('@') {
            let userinfo = &rest[..at];
            if let Some(colon) = userinfo.find(':') {
                return format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &rest[at..]
                );
            }
        }
    }
    url.to_owned()
}
