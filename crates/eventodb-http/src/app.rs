//! Application state shared by every connection.

use std::time::Duration;

use eventodb_protocol::limits::DEFAULT_MAX_BODY_BYTES;
use std::sync::Arc;

use eventodb_store::Store;
use tokio_util::sync::CancellationToken;

use crate::limits::{Connections, RateLimit, RateLimiter};
use crate::subscribe::Hub;

/// How the HTTP layer behaves. Built by the binary from flags and environment; every field
/// is set explicitly there (no hidden defaults beyond [`ServerConfig::new`]).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Relaxed authentication (PROTOCOL §2.9): only with `--test-mode` and no `--db-url`.
    pub relaxed_auth: bool,
    /// Largest request body accepted on `/rpc` (PROTOCOL §2.10: 100 MiB).
    pub max_body_bytes: usize,
    /// Largest `data` plus `metadata` of one `stream.write`, in bytes of JSON as sent.
    pub max_message_bytes: usize,
    /// Most connections open at once; further ones are closed at once.
    pub max_connections: usize,
    /// Most SSE subscriptions open at once in one namespace.
    pub max_subscriptions_per_namespace: usize,
    /// Per-namespace request rate; `None`: unlimited.
    pub rate_limit: Option<RateLimit>,
    /// How long a client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// How long a keep-alive connection with no request in flight stays open.
    pub idle_timeout: Duration,
    /// How long in-flight requests may take to finish at shutdown.
    pub shutdown_grace: Duration,
    /// Period of the SSE keepalive comment.
    pub sse_keepalive: Duration,
}

/// Default largest message (`data` + `metadata`): 1 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Default most open connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Default most SSE subscriptions per namespace.
pub const DEFAULT_MAX_SUBSCRIPTIONS_PER_NAMESPACE: usize = 10_000;

impl ServerConfig {
    /// The protocol's defaults, strict authentication.
    pub fn new() -> Self {
        Self {
            relaxed_auth: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_subscriptions_per_namespace: DEFAULT_MAX_SUBSCRIPTIONS_PER_NAMESPACE,
            rate_limit: None,
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
            shutdown_grace: Duration::from_secs(10),
            sse_keepalive: Duration::from_secs(15),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// Everything a request handler needs.
pub struct App<S> {
    /// The message store.
    pub store: S,
    /// HTTP behaviour.
    pub config: ServerConfig,
    /// The subscription fan-out; the store publishes committed changes into it.
    pub hub: Arc<Hub>,
    /// Cancelled when the server begins to stop: ends every subscription.
    pub shutdown: CancellationToken,
    /// Per-namespace token buckets, when a rate limit is configured.
    pub(crate) rate_limiter: Option<RateLimiter>,
    /// Open connections, bounded by `config.max_connections`.
    pub(crate) connections: Arc<Connections>,
}

impl<S: Store> App<S> {
    /// Builds the application around a store that publishes its changes into `hub`.
    pub fn new(store: S, config: ServerConfig, hub: Arc<Hub>) -> Self {
        Self {
            store,
            rate_limiter: config.rate_limit.map(RateLimiter::new),
            connections: Connections::new(config.max_connections),
            config,
            hub,
            shutdown: CancellationToken::new(),
        }
    }
}
