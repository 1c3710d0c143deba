//! Numeric limits of the protocol (PROTOCOL §2.10, §3).

/// Largest accepted `batchSize`; `-1` means unlimited.
pub const MAX_BATCH_SIZE: i64 = 10_000;
/// `batchSize` when none is given.
pub const DEFAULT_BATCH_SIZE: i64 = 1_000;
/// Default `ns.streams` page size.
pub const DEFAULT_STREAMS_LIMIT: i64 = 100;
/// Largest `ns.streams` page size.
pub const MAX_STREAMS_LIMIT: i64 = 1_000;
/// Default request body limit for `/rpc` and `/import`: 100 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 100 * 1024 * 1024;
/// Longest NDJSON line accepted by `/import`: 1 MiB.
pub const MAX_IMPORT_LINE_BYTES: usize = 1024 * 1024;
/// SSE catch-up pokes per subscription (PROTOCOL §0, item 3).
pub const CATCH_UP_LIMIT: i64 = 1_000;
