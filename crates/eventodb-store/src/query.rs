//! The arguments and results of storage operations.

use eventodb_protocol::time::Micros;
use eventodb_protocol::{ConsumerGroup, NewMessage};

pub use crate::error::StoreResult;

/// A batch of messages appended to one stream atomically.
#[derive(Debug, Clone)]
pub struct Append {
    /// The stream to append to.
    pub stream_name: String,
    /// The messages, in order. Never empty.
    pub messages: Vec<NewMessage>,
    /// When set, the stream's version must equal this before the batch (-1: no stream).
    pub expected_version: Option<i64>,
}

/// Where an appended message landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Position within the stream.
    pub position: i64,
    /// Position within the namespace.
    pub global_position: i64,
}

/// The outcome of an [`Append`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// One entry per message, in order.
    pub written: Vec<Written>,
    /// True when every message already existed with equal content: an idempotent retry that
    /// wrote nothing (and must poke nothing).
    pub replayed: bool,
}

/// Where a stream read starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamStart {
    /// From this stream position (inclusive; negative reads from 0).
    Position(i64),
    /// From this global position (inclusive).
    GlobalPosition(i64),
}

/// A forward read of one stream.
#[derive(Debug, Clone)]
pub struct StreamRead {
    /// The stream.
    pub stream_name: String,
    /// Where to start.
    pub start: StreamStart,
    /// At most this many messages; `None` is unlimited.
    pub limit: Option<u64>,
}

/// A forward read of a category (or of the whole namespace) by global position.
#[derive(Debug, Clone)]
pub struct CategoryRead {
    /// The category; empty means every message of the namespace.
    pub category: String,
    /// First global position (inclusive).
    pub start: i64,
    /// At most this many messages, counted after filtering; `None` is unlimited.
    pub limit: Option<u64>,
    /// Keep messages whose `metadata.correlationStreamName` has this category.
    pub correlation: Option<String>,
    /// Keep messages of streams that belong to this consumer-group member.
    pub consumer_group: Option<ConsumerGroup>,
}

/// A namespace as the registry holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceRecord {
    /// The namespace id.
    pub id: String,
    /// Lowercase hex SHA-256 of its token.
    pub token_hash: String,
    /// Free text.
    pub description: String,
    /// Creation time, whole seconds (in microseconds).
    pub created_at: Micros,
}

/// A namespace to create.
#[derive(Debug, Clone)]
pub struct NewNamespace {
    /// The namespace id (non-empty).
    pub id: String,
    /// Lowercase hex SHA-256 of its token.
    pub token_hash: String,
    /// Free text.
    pub description: String,
    /// Creation time, microseconds; the registry keeps whole seconds.
    pub created_at: Micros,
}

/// Figures about a namespace's content (`ns.info`, `ns.list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NamespaceStats {
    /// Messages stored.
    pub message_count: u64,
    /// Distinct streams.
    pub stream_count: u64,
    /// Time of the newest message, if any.
    pub last_activity: Option<Micros>,
}

/// A page request of `ns.streams`.
#[derive(Debug, Clone)]
pub struct StreamsQuery {
    /// Literal, case-sensitive name prefix.
    pub prefix: String,
    /// Only names strictly greater (byte-wise) than this.
    pub cursor: String,
    /// Page size, 1..=1000.
    pub limit: u64,
}

/// One stream in `ns.streams`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSummary {
    /// The stream name.
    pub stream_name: String,
    /// Its version (last position).
    pub version: i64,
    /// Time of its newest message.
    pub last_activity: Micros,
}

/// One category in `ns.categories`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategorySummary {
    /// The category name.
    pub category: String,
    /// Distinct streams in it.
    pub stream_count: u64,
    /// Messages in it.
    pub message_count: u64,
}

/// What `sys.health` reports about storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// `"sqlite"` or `"postgres"`.
    pub backend: &'static str,
    /// Open database connections.
    pub connections: u64,
    /// The connection pool, for backends that share one (PostgreSQL); `None` otherwise.
    pub pool: Option<PoolStatus>,
}

/// A connection pool's state at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Largest number of connections the pool opens.
    pub max: u64,
    /// Connections lent out to a request right now.
    pub in_use: u64,
    /// Open connections waiting in the pool.
    pub idle: u64,
    /// Requests waiting for a connection.
    pub waiting: u64,
}
