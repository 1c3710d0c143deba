//! [`PostgresStore`]: the pool, the namespace cache, the change feed, and the
//! [`Store`] implementation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use eventodb_protocol::Message;
use eventodb_store::{
    Append, Appended, CategoryRead, CategorySummary, Health, ImportRecord, NamespaceRecord,
    NamespaceStats, NewNamespace, PoolStatus, Store, StoreError, StoreResult, StreamRead,
    StreamSummary, StreamsQuery,
};
use tokio_postgres::NoTls;

use crate::batch::Batcher;
use crate::config::{redact, PostgresConfig};
use crate::conn::Conn;
use crate::error::{classify, failure, pool_error, DbError, Kind};
use crate::feed::Feed;
use crate::queries::Queries;
use crate::records::Records;
use crate::rows::Page;
use crate::schema::{latest_version, migrate_namespace, migrate_registry, version};
use crate::{fence, read, registry};

/// How long a caller waits for a free pooled connection.
const POOL_WAIT: Duration = Duration::from_secs(30);

/// A namespace's schema and statements.
struct Handle {
    queries: Arc<Queries>,
}

struct Inner {
    pool: Pool,
    statement_cache: bool,
    closed: AtomicBool,
    /// Namespace id → handle; filled on first use, dropped when the schema turns out gone.
    handles: RwLock<HashMap<String, Arc<Handle>>>,
    /// Namespace records for authentication (see [`crate::records`]).
    records: Arc<Records>,
    feed: tokio::sync::Mutex<Option<Feed>>,
    /// Group commit of appends (see [`crate::batch`]).
    batcher: Batcher,
}

/// The PostgreSQL store. Cheap to clone; clones share the pool and the change feed.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("pool", &self.inner.pool.status())
            .finish_non_exhaustive()
    }
}

/// Runs `$body` (a future using `$conn: Conn` and `$q: &Queries`) on namespace `$ns`. When the
/// namespace's schema turns out gone, the cached handle is dropped and the call is tried once
/// more against the registry (another process may have deleted or re-created it).
macro_rules! in_namespace {
    ($store:expr, $ns:expr, |$conn:ident, $q:ident| $body:expr) => {{
        let mut retried = false;
        loop {
            let handle = $store.handle($ns).await?;
            let client = $store.client().await?;
            let $conn = Conn::new(&client, $store.inner.statement_cache);
            let $q = &handle.queries;
            let result: Result<_, DbError> = $body.await.map_err(DbError::from);
            match result {
                Ok(value) => break Ok(value),
                Err(e) => match $store.failure($ns, e) {
                    Err(err) => break Err(err),
                    Ok(()) if !retried => retried = true,
                    Ok(()) => break Err(StoreError::NamespaceNotFound($ns.to_owned())),
                },
            }
        }
    }};
}

impl PostgresStore {
    /// Connects, brings the registry and every namespace schema to the latest version, and
    /// starts the change feed. A bad URL or an unreachable database is an error at once.
    pub async fn connect(config: PostgresConfig) -> Result<PostgresStore, StoreError> {
        let mut pg: tokio_postgres::Config = config.url.parse().map_err(|e| {
            failure(format!(
                "invalid PostgreSQL URL {}: {e}",
                redact(&config.url)
            ))
        })?;
        pg.connect_timeout(config.connect_timeout);
        pg.application_name("eventodb");
        let manager = Manager::from_config(
            pg.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(config.connect_timeout))
            .build()
            .map_err(|e| failure(format!("cannot build the connection pool: {e}")))?;
        let unreachable = |e: &dyn std::fmt::Display| {
            failure(format!(
                "cannot connect to PostgreSQL at {}: {e}",
                redact(&config.url)
            ))
        };
        let mut client = pool.get().await.map_err(|e| unreachable(&e))?;
        let setup = |e: tokio_postgres::Error| failure(format!("cannot set up the schema: {e}"));
        let pg_client: &mut tokio_postgres::Client = &mut client;
        let tx = pg_client.transaction().await.map_err(setup)?;
        migrate_registry(&tx).await.map_err(setup)?;
        tx.commit().await.map_err(setup)?;
        for entry in registry::list(&**client).await.map_err(setup)? {
            if version(&**client, &entry.schema).await.map_err(setup)? >= latest_version() {
                continue;
            }
            let pg_client: &mut tokio_postgres::Client = &mut client;
            let tx = pg_client.transaction().await.map_err(setup)?;
            migrate_namespace(&tx, &entry.schema).await.map_err(setup)?;
            tx.commit().await.map_err(setup)?;
        }
        drop(client);
        let records = Arc::new(Records::default());
        let feed = Feed::start(
            pool.clone(),
            pg,
            config.changes.clone(),
            config.notify,
            config.statement_cache,
            Arc::clone(&records),
        )
        .await?;
        let batcher = Batcher::start(pool.clone(), config.statement_cache, config.pool_size / 2);
        Ok(PostgresStore {
            inner: Arc::new(Inner {
                pool,
                statement_cache: config.statement_cache,
                closed: AtomicBool::new(false),
                handles: RwLock::new(HashMap::new()),
                records,
                batcher,
                feed: tokio::sync::Mutex::new(Some(feed)),
            }),
        })
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Client> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        self.inner.pool.get().await.map_err(pool_error)
    }

    /// The cached handle of namespace `id`, or the registry's.
    async fn handle(&self, id: &str) -> StoreResult<Arc<Handle>> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        let cached = self
            .inner
            .handles
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned();
        if let Some(handle) = cached {
            return Ok(handle);
        }
        let client = self.client().await?;
        let entry = registry::get(&**client, id)
            .await
            .map_err(StoreError::backend)?
            .ok_or_else(|| StoreError::NamespaceNotFound(id.to_owned()))?;
        let handle = Arc::new(Handle {
            queries: Arc::new(Queries::new(&entry.schema)),
        });
        self.inner
            .handles
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_owned(), handle.clone());
        Ok(handle)
    }

    fn forget(&self, id: &str) {
        self.inner.records.forget(id);
        self.inner
            .handles
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }

    /// Classifies a failed operation on namespace `id`: `Ok(())` when its schema is gone
    /// (the handle is dropped), else the error to report.
    fn failure(&self, id: &str, err: DbError) -> Result<(), StoreError> {
        let err = match err {
            DbError::Store(e) => return Err(e),
            DbError::Pg(e) => e,
        };
        match classify(&err) {
            Kind::Gone => {
                self.forget(id);
                Ok(())
            }
            Kind::Invalid(why) => Err(StoreError::Invalid(why)),
            Kind::Version(actual) => Err(StoreError::VersionConflict {
                expected: actual,
                actual,
            }),
            Kind::Duplicate(id) => Err(StoreError::DuplicateMessageId(id)),
            Kind::Unique(_) | Kind::Other => Err(if err.is_closed() && self.is_closed() {
                StoreError::Closed
            } else {
                StoreError::backend(err)
            }),
        }
    }

    fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }
}

impl Store for PostgresStore {
    async fn create_namespace(&self, ns: NewNamespace) -> StoreResult<()> {
        let mut client = self.client().await?;
        let pg_client: &mut tokio_postgres::Client = &mut client;
        let tx = pg_client.transaction().await.map_err(StoreError::backend)?;
        match registry::create(&tx, &ns).await {
            Ok(()) => {}
            Err(DbError::Store(e)) => return Err(e),
            Err(DbError::Pg(e)) => {
                return Err(match classify(&e) {
                    Kind::Unique(_) => StoreError::NamespaceExists(ns.id.clone()),
                    _ => StoreError::backend(e),
                })
            }
        }
        tx.commit().await.map_err(|e| match classify(&e) {
            Kind::Unique(_) => StoreError::NamespaceExists(ns.id.clone()),
            _ => StoreError::backend(e),
        })?;
        self.forget(&ns.id);
        Ok(())
    }

    async fn delete_namespace(&self, id: &str) -> StoreResult<u64> {
        let mut client = self.client().await?;
        let pg_client: &mut tokio_postgres::Client = &mut client;
        let tx = pg_client.transaction().await.map_err(StoreError::backend)?;
        let count = registry::delete(&tx, id)
            .await
            .map_err(StoreError::backend)?
            .ok_or_else(|| StoreError::NamespaceNotFound(id.to_owned()))?;
        tx.commit().await.map_err(StoreError::backend)?;
        self.forget(id);
        Ok(count)
    }

    async fn namespace(&self, id: &str) -> StoreResult<Option<NamespaceRecord>> {
        if let Some(record) = self.inner.records.get(id) {
            return Ok(Some(record));
        }
        let generation = self.inner.records.generation();
        let client = self.client().await?;
        let entry = registry::get(&**client, id)
            .await
            .map_err(StoreError::backend)?;
        if let Some(entry) = &entry {
            self.inner.records.put(&entry.record, generation);
        }
        Ok(entry.map(|e| e.record))
    }

    async fn namespaces(&self) -> StoreResult<Vec<NamespaceRecord>> {
        let client = self.client().await?;
        let entries = registry::list(&**client)
            .await
            .map_err(StoreError::backend)?;
        Ok(entries.into_iter().map(|e| e.record).collect())
    }

    async fn set_token_hash(&self, id: &str, token_hash: &str) -> StoreResult<()> {
        let client = self.client().await?;
        let result = registry::set_token_hash(&**client, id, token_hash).await;
        // The old record must not authenticate here once this returns (other processes drop
        // it when the registry trigger's notification arrives).
        self.inner.records.forget(id);
        match result {
            Ok(true) => Ok(()),
            Ok(false) => Err(StoreError::NamespaceNotFound(id.to_owned())),
            Err(e) => Err(match classify(&e) {
                Kind::Unique(_) => StoreError::Invalid("token hash already in use".into()),
                _ => StoreError::backend(e),
            }),
        }
    }

    async fn namespace_stats(&self, ns: &str) -> StoreResult<NamespaceStats> {
        in_namespace!(self, ns, |conn, q| read::stats(&conn, q))
    }

    async fn append(&self, ns: &str, append: Append) -> StoreResult<Appended> {
        let append = Arc::new(append);
        let mut retried = false;
        loop {
            let handle = self.handle(ns).await?;
            let result = self
                .inner
                .batcher
                .append(handle.queries.clone(), append.clone())
                .await;
            match result {
                Ok(appended) => return Ok(appended),
                Err(e) => match self.failure(ns, e) {
                    Err(err) => return Err(err),
                    Ok(()) if !retried => retried = true,
                    Ok(()) => return Err(StoreError::NamespaceNotFound(ns.to_owned())),
                },
            }
        }
    }

    async fn read_stream(&self, ns: &str, read: StreamRead) -> StoreResult<Vec<Message>> {
        in_namespace!(self, ns, |conn, q| read::stream(&conn, q, &read))
    }

    async fn read_category(&self, ns: &str, read: CategoryRead) -> StoreResult<Vec<Message>> {
        in_namespace!(self, ns, |conn, q| fence::read_category(&conn, q, &read))
    }

    async fn read_stream_page(&self, ns: &str, read: StreamRead) -> StoreResult<String> {
        in_namespace!(self, ns, |conn, q| async {
            let mut page = Page::new(false);
            read::stream_into(&conn, q, &read, &mut page).await?;
            Ok::<_, tokio_postgres::Error>(page.finish())
        })
    }

    async fn read_category_page(&self, ns: &str, read: CategoryRead) -> StoreResult<String> {
        in_namespace!(self, ns, |conn, q| async {
            let mut page = Page::new(true);
            fence::read_category_into(&conn, q, &read, &mut page).await?;
            Ok::<_, tokio_postgres::Error>(page.finish())
        })
    }

    async fn last_message(
        &self,
        ns: &str,
        stream_name: &str,
        message_type: Option<&str>,
    ) -> StoreResult<Option<Message>> {
        in_namespace!(self, ns, |conn, q| read::last(
            &conn,
            q,
            stream_name,
            message_type
        ))
    }

    async fn stream_version(&self, ns: &str, stream_name: &str) -> StoreResult<Option<i64>> {
        in_namespace!(self, ns, |conn, q| read::version(&conn, q, stream_name))
    }

    async fn head_position(&self, ns: &str) -> StoreResult<i64> {
        in_namespace!(self, ns, |conn, q| read::head(&conn, q))
    }

    async fn list_streams(&self, ns: &str, query: StreamsQuery) -> StoreResult<Vec<StreamSummary>> {
        in_namespace!(self, ns, |conn, q| read::streams(&conn, q, &query))
    }

    async fn list_categories(&self, ns: &str) -> StoreResult<Vec<CategorySummary>> {
        in_namespace!(self, ns, |conn, q| read::categories(&conn, q))
    }

    async fn import_batch(&self, ns: &str, records: Vec<ImportRecord>) -> StoreResult<()> {
        let mut client = self.client().await?;
        crate::import::import_batch(&mut client, ns, &records).await
    }

    async fn clear_namespace(&self, ns: &str) -> StoreResult<()> {
        let mut client = self.client().await?;
        crate::import::clear(&mut client, ns).await
    }

    async fn health(&self) -> StoreResult<Health> {
        if self.is_closed() {
            return Err(StoreError::Closed);
        }
        let status = self.inner.pool.status();
        Ok(Health {
            backend: "postgres",
            connections: status.size as u64,
            pool: Some(PoolStatus {
                max: status.max_size as u64,
                in_use: status.size.saturating_sub(status.available) as u64,
                idle: status.available as u64,
                waiting: status.waiting as u64,
            }),
        })
    }

    async fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        if let Some(feed) = self.inner.feed.lock().await.take() {
            feed.stop().await;
        }
        self.inner.pool.close();
    }
}
