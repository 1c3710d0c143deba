//! A small pool of read-only connections to one namespace database (file mode).
//!
//! In WAL mode readers never wait for the writer. Reads run on tokio's blocking pool; a
//! semaphore bounds how many run at once (and so how many connections exist).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventodb_store::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

use crate::writer::backend_error;

/// Most connections (and concurrent reads) per namespace.
const POOL_SIZE: usize = 4;

/// The pool was closed (its namespace was deleted or the store closed).
#[derive(Debug)]
pub(crate) struct PoolClosed;

/// Read-only connections to one database file.
pub(crate) struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
    open: AtomicU64,
}

impl ReaderPool {
    /// A pool over the database at `path`; connections open on first use.
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(POOL_SIZE)),
            open: AtomicU64::new(0),
        }
    }

    /// Open connections.
    pub(crate) fn open_connections(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    /// Refuses further reads and closes idle connections (busy ones close when returned).
    pub(crate) fn close(&self) {
        self.permits.close();
        if let Ok(mut idle) = self.idle.lock() {
            let n = idle.len() as u64;
            idle.clear();
            self.open.fetch_sub(n, Ordering::Relaxed);
        }
    }

    /// Runs `f` on a pooled connection on the blocking pool.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<StoreResult<T>, PoolClosed>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PoolClosed)?;
        let pool = Arc::clone(self);
        let joined = tokio::task::spawn_blocking(move || {
            let conn = match pool.take() {
                Ok(c) => c,
                Err(e) => return Err(e),
            };
            let result = f(&conn);
            pool.give_back(conn);
            drop(permit);
            result
        })
        .await;
        Ok(joined.unwrap_or_else(|e| Err(backend_error(format!("read task failed: {e}")))))
    }

    fn take(&self) -> StoreResult<Connection> {
        let reused = match self.idle.lock() {
            Ok(mut idle) => idle.pop(),
            Err(_) => return Err(backend_error("reader pool lock poisoned")),
        };
        if let Some(conn) = reused {
            return Ok(conn);
        }
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(StoreError::backend)?;
        conn.set_prepared_statement_cache_capacity(crate::namespace::STATEMENT_CACHE);
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(StoreError::backend)?;
        self.open.fetch_add(1, Ordering::Relaxed);
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        // Checked under the lock: `close` closes the semaphore before it empties `idle`.
        if let Ok(mut idle) = self.idle.lock() {
            if !self.permits.is_closed() {
                idle.push(conn);
                return;
            }
        }
        drop(conn);
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}
