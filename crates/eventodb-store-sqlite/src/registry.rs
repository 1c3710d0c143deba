//! The registry database: one row per namespace (PROTOCOL §8.2).
//!
//! Registry operations are rare (start-up, create, delete, token change), so one connection
//! behind a mutex is enough; callers run them on the blocking pool. Per-request lookups use the
//! store's in-memory map instead.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use eventodb_store::{NamespaceRecord, NewNamespace, StoreError, StoreResult};
use rusqlite::{params, Connection};

use crate::config::Synchronous;
use crate::schema::migrate_registry;
use crate::writer::backend_error;

/// A namespace row: its record and its database file name.
pub(crate) struct Row {
    /// The record.
    pub(crate) record: NamespaceRecord,
    /// The database file name, relative to the data directory.
    pub(crate) db_path: String,
}

/// The registry connection; `None` once closed.
pub(crate) struct Registry {
    conn: Mutex<Option<Connection>>,
}

impl Registry {
    /// Opens (creating) and migrates the registry file.
    pub(crate) fn open_file(path: &Path, synchronous: Synchronous) -> StoreResult<Self> {
        let conn = Connection::open(path).map_err(StoreError::backend)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(StoreError::backend)?;
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(StoreError::backend)?;
        conn.execute_batch(&format!("PRAGMA synchronous = {}", synchronous.pragma()))
            .map_err(StoreError::backend)?;
        Self::migrated(conn)
    }

    /// An in-memory registry.
    pub(crate) fn open_memory() -> StoreResult<Self> {
        Self::migrated(Connection::open_in_memory().map_err(StoreError::backend)?)
    }

    fn migrated(mut conn: Connection) -> StoreResult<Self> {
        migrate_registry(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(Some(conn)),
        })
    }

    /// Runs `f` with the registry locked (so registry changes are serialised). Blocking.
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| backend_error("registry lock poisoned"))?;
        match guard.as_mut() {
            Some(conn) => f(conn),
            None => Err(StoreError::Closed),
        }
    }

    /// True while the connection is open.
    pub(crate) fn is_open(&self) -> bool {
        self.conn.lock().map(|c| c.is_some()).unwrap_or(false)
    }

    /// Closes the connection; later calls fail with `Closed`. Blocking.
    pub(crate) fn close(&self) {
        if let Ok(mut guard) = self.conn.lock() {
            if let Some(conn) = guard.take() {
                if let Err((_, e)) = conn.close() {
                    tracing::warn!(error = %e, "closing the sqlite registry failed");
                }
            }
        }
    }
}

/// Every namespace row.
pub(crate) fn load(conn: &Connection) -> StoreResult<Vec<Row>> {
    let mut stmt = conn
        .prepare("SELECT id, token_hash, description, created_at, db_path FROM namespaces")
        .map_err(StoreError::backend)?;
    let rows = stmt
        .query_map([], |r| {
            let secs: i64 = r.get(3)?;
            Ok(Row {
                record: NamespaceRecord {
                    id: r.get(0)?,
                    token_hash: r.get(1)?,
                    description: r.get(2)?,
                    created_at: secs.saturating_mul(1_000_000),
                },
                db_path: r.get(4)?,
            })
        })
        .map_err(StoreError::backend)?;
    rows.collect::<Result<_, _>>().map_err(StoreError::backend)
}

/// Inserts a namespace row; `NamespaceExists` when the id or the file name is taken.
pub(crate) fn insert(conn: &Connection, ns: &NewNamespace, db_path: &str) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO namespaces (id, token_hash, db_path, description, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            ns.id,
            ns.token_hash,
            db_path,
            ns.description,
            ns.created_at.div_euclid(1_000_000)
        ],
    )
    .map_err(|e| constraint_error(e, &ns.id))?;
    Ok(())
}

/// Maps a unique-constraint failure to the error a caller can act on.
fn constraint_error(e: rusqlite::Error, id: &str) -> StoreError {
    if e.sqlite_error_code() != Some(rusqlite::ErrorCode::ConstraintViolation) {
        return StoreError::backend(e);
    }
    if e.to_string().contains("token_hash") {
        StoreError::Invalid("token hash already belongs to another namespace".into())
    } else {
        StoreError::NamespaceExists(id.to_owned())
    }
}

/// Deletes a namespace row; false when there was none.
pub(crate) fn delete(conn: &Connection, id: &str) -> StoreResult<bool> {
    conn.execute("DELETE FROM namespaces WHERE id = ?1", [id])
        .map(|n| n > 0)
        .map_err(StoreError::backend)
}

/// Replaces a namespace's token hash; false when there is no such namespace.
pub(crate) fn set_token_hash(conn: &Connection, id: &str, token_hash: &str) -> StoreResult<bool> {
    conn.execute(
        "UPDATE namespaces SET token_hash = ?2 WHERE id = ?1",
        params![id, token_hash],
    )
    .map(|n| n > 0)
    .map_err(|e| constraint_error(e, id))
}
