//! [`SqliteStore`]: the namespace map, the registry and the `Store` implementation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use eventodb_protocol::Message;
use eventodb_store::{
    Append, Appended, CategoryRead, CategorySummary, ChangeSink, Health, ImportRecord,
    NamespaceRecord, NamespaceStats, NewNamespace, NoSubscribers, Store, StoreError, StoreResult,
    StreamRead, StreamSummary, StreamsQuery,
};

use crate::config::{SqliteConfig, SqliteLocation, Synchronous};
use crate::file_name::{is_plain_file_name, namespace_file_name};
use crate::namespace::{Gone, Namespace};
use crate::queries;
use crate::registry::{self, Registry};
use crate::writer::backend_error;

/// The SQLite store. Cheap to share behind an `Arc`; every method is safe to call
/// concurrently.
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// The data directory, in file mode.
    data_dir: Option<PathBuf>,
    synchronous: Synchronous,
    sink: Arc<dyn ChangeSink>,
    registry: Registry,
    namespaces: RwLock<HashMap<String, Arc<Namespace>>>,
    closed: AtomicBool,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("data_dir", &self.inner.data_dir)
            .finish_non_exhaustive()
    }
}

/// The files a namespace database may have on disk.
fn database_files(path: &Path) -> Vec<PathBuf> {
    let mut files = vec![path.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        files.push(PathBuf::from(name));
    }
    files
}

fn remove_database_files(path: &Path) -> StoreResult<()> {
    for file in database_files(path) {
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::backend(e)),
        }
    }
    Ok(())
}

impl SqliteStore {
    /// Opens the store: creates the data directory and registry if missing, brings every
    /// existing namespace database to the latest schema and starts its writer thread.
    /// Commits are announced to nobody (see [`SqliteStore::open_with_sink`]).
    /// Blocking; call at start-up.
    pub fn open(config: SqliteConfig) -> Result<SqliteStore, StoreError> {
        Self::open_with_sink(config, Arc::new(NoSubscribers))
    }

    /// Like [`SqliteStore::open`], and every commit's new messages are published to `sink`
    /// (per namespace, in global-position order, after the commit and before the writers
    /// are answered; idempotent replays publish nothing).
    pub fn open_with_sink(
        config: SqliteConfig,
        sink: Arc<dyn ChangeSink>,
    ) -> Result<SqliteStore, StoreError> {
        let (registry, data_dir) = match &config.location {
            SqliteLocation::Memory => (Registry::open_memory()?, None),
            SqliteLocation::Dir {
                data_dir,
                registry_file,
            } => {
                if !is_plain_file_name(registry_file) {
                    return Err(StoreError::Invalid(format!(
                        "registry file name {registry_file:?} must be a plain file name"
                    )));
                }
                std::fs::create_dir_all(data_dir).map_err(StoreError::backend)?;
                let registry =
                    Registry::open_file(&data_dir.join(registry_file), config.synchronous)?;
                (registry, Some(data_dir.clone()))
            }
        };
        let rows = registry.with(|conn| registry::load(conn))?;
        let mut namespaces = HashMap::with_capacity(rows.len());
        for row in rows {
            let id = row.record.id.clone();
            let ns = match &data_dir {
                None => Namespace::open_memory(row.record, Arc::clone(&sink))?,
                Some(dir) => {
                    if !is_plain_file_name(&row.db_path) {
                        return Err(StoreError::Invalid(format!(
                            "namespace {id:?} has an unsafe db_path {:?}",
                            row.db_path
                        )));
                    }
                    Namespace::open_file(
                        row.record,
                        dir.join(&row.db_path),
                        config.synchronous,
                        Arc::clone(&sink),
                    )?
                }
            };
            namespaces.insert(id, Arc::new(ns));
        }
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                data_dir,
                synchronous: config.synchronous,
                sink,
                registry,
                namespaces: RwLock::new(namespaces),
                closed: AtomicBool::new(false),
            }),
        })
    }

    fn check_open(&self) -> StoreResult<()> {
        if self.inner.closed.load(Ordering::Acquire) {
            Err(StoreError::Closed)
        } else {
            Ok(())
        }
    }

    /// The live handle of a namespace.
    fn handle(&self, id: &str) -> StoreResult<Arc<Namespace>> {
        self.check_open()?;
        let map = self
            .inner
            .namespaces
            .read()
            .map_err(|_| backend_error("namespace map lock poisoned"))?;
        map.get(id)
            .cloned()
            .ok_or_else(|| StoreError::NamespaceNotFound(id.to_owned()))
    }

    /// Runs registry work on the blocking pool.
    async fn blocking<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> StoreResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .unwrap_or_else(|e| Err(backend_error(format!("registry task failed: {e}"))))
    }
}

impl Inner {
    fn check_open(&self) -> StoreResult<()> {
        if self.closed.load(Ordering::Acquire) {
            Err(StoreError::Closed)
        } else {
            Ok(())
        }
    }

    fn map_write(
        &self,
    ) -> StoreResult<std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Namespace>>>> {
        self.namespaces
            .write()
            .map_err(|_| backend_error("namespace map lock poisoned"))
    }

    fn create(&self, ns: NewNamespace) -> StoreResult<()> {
        if ns.id.is_empty() {
            return Err(StoreError::Invalid("namespace id must not be empty".into()));
        }
        self.registry.with(|conn| {
            self.check_open()?;
            if self
                .namespaces
                .read()
                .map_err(|_| backend_error("namespace map lock poisoned"))?
                .contains_key(&ns.id)
            {
                return Err(StoreError::NamespaceExists(ns.id.clone()));
            }
            let db_path = namespace_file_name(&ns.id);
            let tx = conn.transaction().map_err(StoreError::backend)?;
            registry::insert(&tx, &ns, &db_path)?;
            let record = NamespaceRecord {
                id: ns.id.clone(),
                token_hash: ns.token_hash.clone(),
                description: ns.description.clone(),
                created_at: ns
                    .created_at
                    .div_euclid(1_000_000)
                    .saturating_mul(1_000_000),
            };
            let handle = match &self.data_dir {
                None => Namespace::open_memory(record, Arc::clone(&self.sink))?,
                Some(dir) => {
                    let path = dir.join(&db_path);
                    // Not in the registry, so any file there is a leftover of an interrupted
                    // delete: the new namespace starts empty.
                    remove_database_files(&path)?;
                    match Namespace::open_file(
                        record,
                        path.clone(),
                        self.synchronous,
                        Arc::clone(&self.sink),
                    ) {
                        Ok(h) => h,
                        Err(e) => {
                            let _ = remove_database_files(&path);
                            return Err(e);
                        }
                    }
                }
            };
            if let Err(e) = tx.commit() {
                let _ = handle.shut_down(Gone::Deleted);
                if let Some(path) = handle.path() {
                    let _ = remove_database_files(path);
                }
                return Err(StoreError::backend(e));
            }
            self.map_write()?.insert(ns.id, Arc::new(handle));
            Ok(())
        })
    }

    fn delete(&self, id: &str) -> StoreResult<u64> {
        self.registry.with(|conn| {
            self.check_open()?;
            let handle = {
                let map = self
                    .namespaces
                    .read()
                    .map_err(|_| backend_error("namespace map lock poisoned"))?;
                map.get(id).cloned()
            };
            let Some(handle) = handle else {
                return Err(StoreError::NamespaceNotFound(id.to_owned()));
            };
            registry::delete(conn, id)?;
            self.map_write()?.remove(id);
            let count = handle.shut_down(Gone::Deleted);
            if let Some(path) = handle.path() {
                remove_database_files(path)?;
            }
            count
        })
    }

    fn set_token_hash(&self, id: &str, token_hash: &str) -> StoreResult<()> {
        self.registry.with(|conn| {
            self.check_open()?;
            let handle = self
                .namespaces
                .read()
                .map_err(|_| backend_error("namespace map lock poisoned"))?
                .get(id)
                .cloned()
                .ok_or_else(|| StoreError::NamespaceNotFound(id.to_owned()))?;
            if !registry::set_token_hash(conn, id, token_hash)? {
                return Err(StoreError::NamespaceNotFound(id.to_owned()));
            }
            handle.set_token_hash(token_hash)
        })
    }

    fn close(&self) {
        let handles: Vec<Arc<Namespace>> = match self.registry.with(|_| {
            let mut map = self.map_write()?;
            Ok(map.drain().map(|(_, h)| h).collect())
        }) {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "closing the sqlite store");
                return;
            }
        };
        for handle in handles {
            if let Err(e) = handle.shut_down(Gone::Closed) {
                tracing::warn!(error = %e, "stopping a sqlite writer thread failed");
            }
        }
        self.registry.close();
    }
}

impl Store for SqliteStore {
    async fn create_namespace(&self, ns: NewNamespace) -> StoreResult<()> {
        self.check_open()?;
        self.blocking(move |inner| inner.create(ns)).await
    }

    async fn delete_namespace(&self, id: &str) -> StoreResult<u64> {
        self.handle(id)?;
        let id = id.to_owned();
        self.blocking(move |inner| inner.delete(&id)).await
    }

    async fn namespace(&self, id: &str) -> StoreResult<Option<NamespaceRecord>> {
        match self.handle(id) {
            Ok(h) => h.record().map(Some),
            Err(StoreError::NamespaceNotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn namespaces(&self) -> StoreResult<Vec<NamespaceRecord>> {
        self.check_open()?;
        let handles: Vec<Arc<Namespace>> = self
            .inner
            .namespaces
            .read()
            .map_err(|_| backend_error("namespace map lock poisoned"))?
            .values()
            .cloned()
            .collect();
        let mut records = handles
            .iter()
            .map(|h| h.record())
            .collect::<StoreResult<Vec<_>>>()?;
        records.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(records)
    }

    async fn set_token_hash(&self, id: &str, token_hash: &str) -> StoreResult<()> {
        self.handle(id)?;
        let id = id.to_owned();
        let token_hash = token_hash.to_owned();
        self.blocking(move |inner| inner.set_token_hash(&id, &token_hash))
            .await
    }

    async fn namespace_stats(&self, ns: &str) -> StoreResult<NamespaceStats> {
        self.handle(ns)?.read(queries::namespace_stats).await
    }

    async fn append(&self, ns: &str, append: Append) -> StoreResult<Appended> {
        self.handle(ns)?.append(append).await
    }

    async fn read_stream(&self, ns: &str, read: StreamRead) -> StoreResult<Vec<Message>> {
        self.handle(ns)?
            .read(move |conn| queries::read_stream(conn, &read))
            .await
    }

    async fn read_category(&self, ns: &str, read: CategoryRead) -> StoreResult<Vec<Message>> {
        self.handle(ns)?
            .read(move |conn| queries::read_category(conn, &read))
            .await
    }

    async fn read_stream_page(&self, ns: &str, read: StreamRead) -> StoreResult<String> {
        self.handle(ns)?
            .read(move |conn| queries::read_stream_page(conn, &read))
            .await
    }

    async fn read_category_page(&self, ns: &str, read: CategoryRead) -> StoreResult<String> {
        self.handle(ns)?
            .read(move |conn| queries::read_category_page(conn, &read))
            .await
    }

    async fn last_message(
        &self,
        ns: &str,
        stream_name: &str,
        message_type: Option<&str>,
    ) -> StoreResult<Option<Message>> {
        let stream_name = stream_name.to_owned();
        let message_type = message_type.map(str::to_owned);
        self.handle(ns)?
            .read(move |conn| queries::last_message(conn, &stream_name, message_type.as_deref()))
            .await
    }

    async fn stream_version(&self, ns: &str, stream_name: &str) -> StoreResult<Option<i64>> {
        let stream_name = stream_name.to_owned();
        self.handle(ns)?
            .read(move |conn| queries::stream_version(conn, &stream_name))
            .await
    }

    async fn head_position(&self, ns: &str) -> StoreResult<i64> {
        self.handle(ns)?.read(queries::head_position).await
    }

    async fn list_streams(&self, ns: &str, query: StreamsQuery) -> StoreResult<Vec<StreamSummary>> {
        self.handle(ns)?
            .read(move |conn| queries::list_streams(conn, &query))
            .await
    }

    async fn list_categories(&self, ns: &str) -> StoreResult<Vec<CategorySummary>> {
        self.handle(ns)?.read(queries::list_categories).await
    }

    async fn import_batch(&self, ns: &str, records: Vec<ImportRecord>) -> StoreResult<()> {
        self.handle(ns)?
            .write(move |conn| crate::import::import_batch(conn, &records))
            .await
    }

    async fn clear_namespace(&self, ns: &str) -> StoreResult<()> {
        self.handle(ns)?.write(crate::import::clear).await
    }

    async fn health(&self) -> StoreResult<Health> {
        self.check_open()?;
        let namespaces: u64 = self
            .inner
            .namespaces
            .read()
            .map_err(|_| backend_error("namespace map lock poisoned"))?
            .values()
            .map(|h| h.connections())
            .sum();
        let registry = u64::from(self.inner.registry.is_open());
        Ok(Health {
            backend: "sqlite",
            connections: registry + namespaces,
            pool: None,
        })
    }

    async fn close(&self) {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = Arc::clone(&self.inner);
        if let Err(e) = tokio::task::spawn_blocking(move || inner.close()).await {
            tracing::warn!(error = %e, "closing the sqlite store failed");
        }
    }
}
