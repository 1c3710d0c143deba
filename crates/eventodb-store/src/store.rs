//! The [`Store`] trait.

use std::future::Future;

use eventodb_protocol::message::encode_page;
use eventodb_protocol::Message;

use crate::query::*;
use crate::ImportRecord;

/// A message store holding many namespaces.
///
/// Invariants every backend keeps (checked by `eventodb-store-tests`):
/// - positions within a stream are contiguous from 0;
/// - global positions within a namespace strictly increase in commit order and are never
///   reused;
/// - of concurrent appends with the same `expected_version`, at most one succeeds;
/// - an append either happens whole or not at all, and once acknowledged it survives a crash
///   (in the durable modes).
pub trait Store: Send + Sync + 'static {
    /// Creates a namespace with empty storage. `NamespaceExists` when the id (or its storage
    /// name) is taken.
    fn create_namespace(&self, ns: NewNamespace) -> impl Future<Output = StoreResult<()>> + Send;

    /// Deletes a namespace and all its messages; returns how many messages were deleted.
    fn delete_namespace(&self, id: &str) -> impl Future<Output = StoreResult<u64>> + Send;

    /// The registry entry of a namespace, or `None`.
    fn namespace(
        &self,
        id: &str,
    ) -> impl Future<Output = StoreResult<Option<NamespaceRecord>>> + Send;

    /// All namespaces, newest first by creation second.
    fn namespaces(&self) -> impl Future<Output = StoreResult<Vec<NamespaceRecord>>> + Send;

    /// Replaces a namespace's token hash.
    fn set_token_hash(
        &self,
        id: &str,
        token_hash: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Content figures of a namespace.
    fn namespace_stats(&self, ns: &str)
        -> impl Future<Output = StoreResult<NamespaceStats>> + Send;

    /// Appends a batch to one stream atomically (see [`Append`]).
    ///
    /// Once the future has been polled past its hand-over to the backend's writer, dropping it
    /// does not cut the append short: it is committed and published (or fails) as if awaited.
    /// The server relies on this to run writes in the connection's own task.
    fn append(
        &self,
        ns: &str,
        append: Append,
    ) -> impl Future<Output = StoreResult<Appended>> + Send;

    /// Reads a stream forward, ordered by position.
    fn read_stream(
        &self,
        ns: &str,
        read: StreamRead,
    ) -> impl Future<Output = StoreResult<Vec<Message>>> + Send;

    /// Reads a category (or everything) forward, ordered by global position.
    fn read_category(
        &self,
        ns: &str,
        read: CategoryRead,
    ) -> impl Future<Output = StoreResult<Vec<Message>>> + Send;

    /// [`Store::read_stream`] answered as the JSON page `stream.get` returns (7-element
    /// arrays). Backends may encode straight from their rows; the default encodes the
    /// messages `read_stream` returns.
    fn read_stream_page(
        &self,
        ns: &str,
        read: StreamRead,
    ) -> impl Future<Output = StoreResult<String>> + Send {
        async move { Ok(encode_page(&self.read_stream(ns, read).await?, false)) }
    }

    /// [`Store::read_category`] answered as the JSON page `category.get` returns (8-element
    /// arrays); see [`Store::read_stream_page`].
    fn read_category_page(
        &self,
        ns: &str,
        read: CategoryRead,
    ) -> impl Future<Output = StoreResult<String>> + Send {
        async move { Ok(encode_page(&self.read_category(ns, read).await?, true)) }
    }

    /// The highest-position message of a stream, optionally only among messages of one type.
    fn last_message(
        &self,
        ns: &str,
        stream_name: &str,
        message_type: Option<&str>,
    ) -> impl Future<Output = StoreResult<Option<Message>>> + Send;

    /// The stream's version (last position), `None` when it has no messages.
    fn stream_version(
        &self,
        ns: &str,
        stream_name: &str,
    ) -> impl Future<Output = StoreResult<Option<i64>>> + Send;

    /// The highest global position committed in the namespace (0 when empty). A write
    /// acknowledged before this call has a global position at or below the answer.
    fn head_position(&self, ns: &str) -> impl Future<Output = StoreResult<i64>> + Send;

    /// A page of the namespace's streams, by name.
    fn list_streams(
        &self,
        ns: &str,
        query: StreamsQuery,
    ) -> impl Future<Output = StoreResult<Vec<StreamSummary>>> + Send;

    /// The namespace's categories, by name.
    fn list_categories(
        &self,
        ns: &str,
    ) -> impl Future<Output = StoreResult<Vec<CategorySummary>>> + Send;

    /// Inserts a batch of imported records in one transaction, as given (positions, time),
    /// maintaining the per-stream summary and leaving the namespace's global sequence above
    /// every imported position. Publishes nothing to subscribers. All or nothing:
    /// [`StoreError::PositionExists`] when a global position is taken,
    /// [`StoreError::ImportConflict`] for any other collision.
    fn import_batch(
        &self,
        ns: &str,
        records: Vec<ImportRecord>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Deletes every message and stream summary of a namespace and resets its global
    /// sequence, so positions restart at 1 (`/import?force=true`).
    fn clear_namespace(&self, ns: &str) -> impl Future<Output = StoreResult<()>> + Send;

    /// Backend name and connection figures.
    fn health(&self) -> impl Future<Output = StoreResult<Health>> + Send;

    /// Finishes queued writes and closes the databases. Later calls fail with `Closed`.
    fn close(&self) -> impl Future<Output = ()> + Send;
}
