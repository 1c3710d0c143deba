//! Application state shared by every connection.

use std::time::Duration;

use eventodb_protocol::limits::DEFAULT_MAX_BODY_BYTES;
use std::sync::Arc;

use eventodb_store::Store;
use tokio_util::sync::CancellationToken;

use crate::subscribe::Hub;

/// How the HTTP layer behaves. Built by the binary from flags and environment; every field
/// is set explicitly there (no hidden defaults beyond [`ServerConfig::new`]).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Relaxed authentication (PROTOCOL §2.9): only with `--test-mode` and no `--db-url`.
    pub relaxed_auth: bool,
    /// Largest request body accepted on `/rpc` (PROTOCOL §2.10: 100 MiB).
    pub max_body_bytes: usize,
    /// How long a client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// How long in-flight requests may take to finish at shutdown.
    pub shutdown_grace: Duration,
    /// Period of the SSE keepalive comment.
    pub sse_keepalive: Duration,
}

impl ServerConfig {
    /// The protocol's defaults, strict authentication.
    pub fn new() -> Self {
        Self {
            relaxed_auth: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            header_read_timeout: Duration::from_secs(30),
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
}

impl<S: Store> App<S> {
    /// Builds the application around a store that publishes its changes into `hub`.
    pub fn new(store: S, config: ServerConfig, hub: Arc<Hub>) -> Self {
        Self {
            store,
            config,
            hub,
            shutdown: CancellationToken::new(),
        }
    }
}
