//! The HTTP face of eventodb: JSON-RPC on `POST /rpc`, Server-Sent Event pokes on
//! `GET /subscribe`, `/health`, `/ready`, `/metrics`, `/version`, and the JSON 404 for
//! everything else, served by hyper 1.x on tokio.
//!
//! This is the only crate that knows HTTP, the RPC envelope and status codes. It is generic
//! over [`eventodb_store::Store`] once, at [`serve`], and never names a backend.

mod app;
mod auth;
mod channel_body;
mod deadlines;
mod error;
mod import;
mod limits;
pub mod metrics;
mod response;
mod router;
mod rpc;
mod serve;
mod subscribe;

pub use app::{
    App, ServerConfig, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_MESSAGE_BYTES,
    DEFAULT_MAX_SUBSCRIPTIONS_PER_NAMESPACE,
};
pub use auth::DEFAULT_NAMESPACE;
pub use channel_body::ChannelBody;
pub use error::ApiError;
pub use limits::RateLimit;
pub use rpc::Method;
pub use serve::serve;
pub use subscribe::Hub;

/// The server's version, reported by `sys.version` and `/version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
