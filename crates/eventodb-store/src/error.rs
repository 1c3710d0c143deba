//! Storage errors, typed so the HTTP layer can map each to one protocol error code.

/// What can go wrong in a storage operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The namespace does not exist.
    #[error("namespace not found: {0}")]
    NamespaceNotFound(String),
    /// A namespace with this id (or the same storage name) already exists.
    #[error("namespace already exists: {0}")]
    NamespaceExists(String),
    /// `expectedVersion` did not match; versions use -1 for "no stream".
    #[error("expected version {expected}, stream is at version {actual}")]
    VersionConflict {
        /// The version the writer expected.
        expected: i64,
        /// The stream's actual version.
        actual: i64,
    },
    /// A message id already exists in the namespace with different content.
    #[error("message id already exists: {0}")]
    DuplicateMessageId(String),
    /// The request is invalid for this store (for example a namespace id it cannot hold).
    #[error("{0}")]
    Invalid(String),
    /// An imported record's global position is already taken (in the namespace or earlier
    /// in its batch). `index` is the record's index in its batch, when known.
    #[error("global position already exists: {global_position}")]
    PositionExists {
        /// The global position.
        global_position: i64,
        /// Index of the offending record in its batch.
        index: Option<usize>,
    },
    /// An imported record collides otherwise (a message id or stream position already
    /// taken). `index` is the record's index in its batch, when known.
    #[error("{message}")]
    ImportConflict {
        /// Index of the offending record in its batch.
        index: Option<usize>,
        /// What collided.
        message: String,
    },
    /// The store is shutting down and takes no more work.
    #[error("store is closed")]
    Closed,
    /// The database failed.
    #[error("storage failure: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps any backend error.
    pub fn backend(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend(Box::new(err))
    }
}

/// Result of a storage operation.
pub type StoreResult<T> = Result<T, StoreError>;
