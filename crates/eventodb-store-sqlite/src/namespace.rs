//! The live handle of one namespace: its registry record, writer thread and readers.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use eventodb_store::{Append, Appended, ChangeSink, NamespaceRecord, StoreError, StoreResult};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::checkpoint::Checkpointer;
use crate::config::Synchronous;
use crate::reader::ReaderPool;
use crate::schema::migrate_namespace;
use crate::writer::{backend_error, Command, Writer};

/// Why a namespace handle stopped working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gone {
    /// The namespace was deleted.
    Deleted,
    /// The store was closed.
    Closed,
}

/// One open namespace.
pub(crate) struct Namespace {
    record: RwLock<NamespaceRecord>,
    writer: Writer,
    /// Copies the WAL into the database file off the write path (file mode).
    checkpointer: Option<Checkpointer>,
    /// Read-only connections (file mode); in memory mode reads go to the writer thread.
    readers: Option<Arc<ReaderPool>>,
    /// The database file (file mode).
    path: Option<PathBuf>,
    gone: OnceLock<Gone>,
}

/// Prepared statements kept per connection: more than the distinct statements a namespace
/// runs (the read variants, the append's, the transaction control), so none is re-parsed.
pub(crate) const STATEMENT_CACHE: usize = 64;

/// Opens (creating if missing) and migrates a namespace database file for writing.
fn open_file(path: &Path, synchronous: Synchronous) -> StoreResult<Connection> {
    let mut conn = Connection::open(path).map_err(StoreError::backend)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(StoreError::backend)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(StoreError::backend)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(backend_error(format!(
            "{}: journal mode {mode}, expected wal",
            path.display()
        )));
    }
    conn.execute_batch(&format!("PRAGMA synchronous = {}", synchronous.pragma()))
        .map_err(StoreError::backend)?;
    // The checkpointer thread copies the WAL back; no commit does it inline.
    conn.execute_batch("PRAGMA wal_autocheckpoint = 0")
        .map_err(StoreError::backend)?;
    migrate_namespace(&mut conn)?;
    Ok(conn)
}

impl Namespace {
    /// Opens the namespace's database file and starts its writer, which publishes commits
    /// to `sink`.
    pub(crate) fn open_file(
        record: NamespaceRecord,
        path: PathBuf,
        synchronous: Synchronous,
        sink: Arc<dyn ChangeSink>,
    ) -> StoreResult<Self> {
        let conn = open_file(&path, synchronous)?;
        let checkpointer = Checkpointer::spawn(&path, synchronous)?;
        Ok(Self {
            writer: Writer::spawn(conn, record.id.clone(), sink, Some(checkpointer.nudge()))?,
            checkpointer: Some(checkpointer),
            record: RwLock::new(record),
            readers: Some(Arc::new(ReaderPool::new(path.clone()))),
            path: Some(path),
            gone: OnceLock::new(),
        })
    }

    /// Creates a private in-memory database and starts its thread, which publishes commits
    /// to `sink`.
    pub(crate) fn open_memory(
        record: NamespaceRecord,
        sink: Arc<dyn ChangeSink>,
    ) -> StoreResult<Self> {
        let mut conn = Connection::open_in_memory().map_err(StoreError::backend)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        migrate_namespace(&mut conn)?;
        Ok(Self {
            writer: Writer::spawn(conn, record.id.clone(), sink, None)?,
            checkpointer: None,
            record: RwLock::new(record),
            readers: None,
            path: None,
            gone: OnceLock::new(),
        })
    }

    /// The registry record.
    pub(crate) fn record(&self) -> StoreResult<NamespaceRecord> {
        self.record
            .read()
            .map(|r| r.clone())
            .map_err(|_| backend_error("namespace record lock poisoned"))
    }

    /// Replaces the token hash in the cached record.
    pub(crate) fn set_token_hash(&self, token_hash: &str) -> StoreResult<()> {
        let mut record = self
            .record
            .write()
            .map_err(|_| backend_error("namespace record lock poisoned"))?;
        record.token_hash = token_hash.to_owned();
        Ok(())
    }

    /// The database file, in file mode.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Open connections: the writer's and the pooled readers.
    pub(crate) fn connections(&self) -> u64 {
        1 + self.readers.as_ref().map_or(0, |r| r.open_connections())
    }

    fn gone_error(&self) -> StoreError {
        match self.gone.get() {
            Some(Gone::Closed) => StoreError::Closed,
            Some(Gone::Deleted) => match self.record.read() {
                Ok(r) => StoreError::NamespaceNotFound(r.id.clone()),
                Err(_) => StoreError::NamespaceNotFound(String::new()),
            },
            None => backend_error("namespace writer thread stopped"),
        }
    }

    /// Appends through the writer thread; resolves once committed (or failed).
    pub(crate) async fn append(&self, append: Append) -> StoreResult<Appended> {
        let (reply, result) = oneshot::channel();
        if !self.writer.send(Command::Append { append, reply }) {
            return Err(self.gone_error());
        }
        match result.await {
            Ok(r) => r,
            Err(_) => Err(self.gone_error()),
        }
    }

    /// Runs a read: on a pooled connection in file mode, on the writer thread in memory mode.
    pub(crate) async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        if self.gone.get().is_some() {
            return Err(self.gone_error());
        }
        if let Some(readers) = &self.readers {
            return match readers.run(f).await {
                Ok(r) => r,
                Err(_) => Err(self.gone_error()),
            };
        }
        let (reply, result) = oneshot::channel();
        let job = Box::new(move |conn: &Connection| {
            let _ = reply.send(f(conn));
        });
        if !self.writer.send(Command::Read(job)) {
            return Err(self.gone_error());
        }
        match result.await {
            Ok(r) => r,
            Err(_) => Err(self.gone_error()),
        }
    }

    /// Runs `f` on the writer thread's connection, between append groups (so it is the only
    /// writer while it runs); `f` manages its own transaction.
    pub(crate) async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        let job = Box::new(move |conn: &Connection| {
            let _ = reply.send(f(conn));
        });
        if !self.writer.send(Command::Write(job)) {
            return Err(self.gone_error());
        }
        match result.await {
            Ok(r) => r,
            Err(_) => Err(self.gone_error()),
        }
    }

    /// Stops the namespace: later calls fail as `gone` says, queued writes finish first.
    /// Returns how many messages it held. Blocking.
    pub(crate) fn shut_down(&self, gone: Gone) -> StoreResult<u64> {
        let _ = self.gone.set(gone);
        if let Some(readers) = &self.readers {
            readers.close();
        }
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.stop();
        }
        self.writer.stop()
    }
}
