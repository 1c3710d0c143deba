//! Every metric the server exports on `GET /metrics` (Prometheus/OpenMetrics text), declared
//! in this one file. Names and meanings are listed in docs/OPERATIONS.md.
//!
//! Metrics live in one process-wide registry. Counters and histograms are updated where the
//! event happens (atomics, plus the label map's read lock for labelled families); gauges that
//! mirror a state elsewhere (open subscriptions, the storage pool) are read when scraped.

use std::sync::atomic::AtomicI64;
use std::sync::LazyLock;
use std::time::Duration;

use eventodb_store::Store;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use crate::app::App;

/// The `Content-Type` of the exposition.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How long a scrape waits for the store's pool status.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcLabels {
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NamespaceLabels {
    namespace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

type IntGauge = Gauge<i64, AtomicI64>;

struct Metrics {
    registry: Registry,
    rpc_requests: Family<RpcLabels, Counter>,
    rpc_duration: Family<RpcLabels, Histogram>,
    writes: Family<NamespaceLabels, Counter>,
    version_conflicts: Family<NamespaceLabels, Counter>,
    commit_batch: Histogram,
    imported: Family<NamespaceLabels, Counter>,
    http_connections: IntGauge,
    limited: Family<LimitLabels, Counter>,
    subscriptions: IntGauge,
    pokes: Counter,
    coalesced: Counter,
    storage_connections: IntGauge,
    pool_max: IntGauge,
    pool_in_use: IntGauge,
    pool_idle: IntGauge,
    pool_waiting: IntGauge,
}

fn latency_histogram() -> Histogram {
    // 100 µs .. ~3.3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::default();
    let rpc_requests = Family::<RpcLabels, Counter>::default();
    registry.register(
        "eventodb_rpc_requests",
        "RPC requests answered, by method and HTTP status",
        rpc_requests.clone(),
    );
    let rpc_duration =
        Family::<RpcLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> _);
    registry.register_with_unit(
        "eventodb_rpc_duration",
        "Time from receiving an RPC request to its answer, by method and HTTP status",
        Unit::Seconds,
        rpc_duration.clone(),
    );
    let writes = Family::<NamespaceLabels, Counter>::default();
    registry.register(
        "eventodb_writes",
        "Messages written by stream.write and answered, by namespace (a write whose client hung up first is committed but not counted)",
        writes.clone(),
    );
    let version_conflicts = Family::<NamespaceLabels, Counter>::default();
    registry.register(
        "eventodb_version_conflicts",
        "stream.write calls refused with STREAM_VERSION_CONFLICT, by namespace",
        version_conflicts.clone(),
    );
    let commit_batch = Histogram::new(exponential_buckets(1.0, 2.0, 12));
    registry.register(
        "eventodb_commit_batch_size",
        "Messages per published commit group (SQLite: one group commit; PostgreSQL: one change-feed read)",
        commit_batch.clone(),
    );
    let imported = Family::<NamespaceLabels, Counter>::default();
    registry.register(
        "eventodb_import_records",
        "Records committed by POST /import, by namespace",
        imported.clone(),
    );
    let http_connections = IntGauge::default();
    registry.register(
        "eventodb_http_connections",
        "Open HTTP connections (SSE included)",
        http_connections.clone(),
    );
    let limited = Family::<LimitLabels, Counter>::default();
    registry.register(
        "eventodb_limit_refusals",
        "Requests or connections refused by a server limit, by limit",
        limited.clone(),
    );
    let subscriptions = IntGauge::default();
    registry.register(
        "eventodb_sse_subscriptions",
        "Open SSE subscriptions",
        subscriptions.clone(),
    );
    let pokes = Counter::default();
    registry.register(
        "eventodb_sse_pokes",
        "Poke events sent to subscribers (catch-up, live and coalesced)",
        pokes.clone(),
    );
    let coalesced = Counter::default();
    registry.register(
        "eventodb_sse_coalesced_pokes",
        "Coalesced pokes sent to slow subscribers, each standing for changes they missed",
        coalesced.clone(),
    );
    let storage_connections = IntGauge::default();
    registry.register(
        "eventodb_storage_connections",
        "Open database connections",
        storage_connections.clone(),
    );
    let pool_max = IntGauge::default();
    registry.register(
        "eventodb_storage_pool_max",
        "Largest size of the storage connection pool (PostgreSQL)",
        pool_max.clone(),
    );
    let pool_in_use = IntGauge::default();
    registry.register(
        "eventodb_storage_pool_in_use",
        "Pooled connections lent out to a request (PostgreSQL)",
        pool_in_use.clone(),
    );
    let pool_idle = IntGauge::default();
    registry.register(
        "eventodb_storage_pool_idle",
        "Pooled connections idle (PostgreSQL)",
        pool_idle.clone(),
    );
    let pool_waiting = IntGauge::default();
    registry.register(
        "eventodb_storage_pool_waiting",
        "Requests waiting for a pooled connection (PostgreSQL)",
        pool_waiting.clone(),
    );
    Metrics {
        registry,
        rpc_requests,
        rpc_duration,
        writes,
        version_conflicts,
        commit_batch,
        imported,
        http_connections,
        limited,
        subscriptions,
        pokes,
        coalesced,
        storage_connections,
        pool_max,
        pool_in_use,
        pool_idle,
        pool_waiting,
    }
});

/// One RPC request answered: `method` is its wire name, or `unknown` when the request never
/// reached a method (authentication, envelope or limit refusals).
pub(crate) fn rpc_answered(method: &'static str, status: u16, elapsed: Duration) {
    let labels = RpcLabels { method, status };
    METRICS.rpc_requests.get_or_create(&labels).inc();
    METRICS
        .rpc_duration
        .get_or_create(&labels)
        .observe(elapsed.as_secs_f64());
}

/// A `stream.write` wrote a message in `namespace`.
pub(crate) fn message_written(namespace: &str) {
    METRICS
        .writes
        .get_or_create(&NamespaceLabels {
            namespace: namespace.to_owned(),
        })
        .inc();
}

/// A `stream.write` in `namespace` failed its `expectedVersion` check.
pub(crate) fn version_conflict(namespace: &str) {
    METRICS
        .version_conflicts
        .get_or_create(&NamespaceLabels {
            namespace: namespace.to_owned(),
        })
        .inc();
}

/// A backend published a group of `size` committed messages.
pub(crate) fn commit_published(size: usize) {
    METRICS.commit_batch.observe(size as f64);
}

/// `POST /import` committed `records` more records into `namespace`. The import route calls
/// this after every committed batch, so the counter shows a running import's progress.
pub fn records_imported(namespace: &str, records: u64) {
    METRICS
        .imported
        .get_or_create(&NamespaceLabels {
            namespace: namespace.to_owned(),
        })
        .inc_by(records);
}

/// An HTTP connection opened (`+1`) or closed (`-1`).
pub(crate) fn connections_changed(delta: i64) {
    METRICS.http_connections.inc_by(delta);
}

/// A request or connection was refused by the limit named `limit` (the flag's name without
/// dashes, e.g. `max-connections`).
pub(crate) fn limit_hit(limit: &'static str) {
    METRICS.limited.get_or_create(&LimitLabels { limit }).inc();
}

/// `count` pokes went out to one subscriber.
pub(crate) fn pokes_sent(count: u64) {
    METRICS.pokes.inc_by(count);
}

/// A coalesced poke went out to a slow subscriber.
pub(crate) fn coalesced_poke() {
    METRICS.coalesced.inc();
}

/// The exposition text, with the state gauges refreshed first.
pub(crate) async fn render<S: Store>(app: &App<S>) -> String {
    let m = &*METRICS;
    m.subscriptions
        .set(i64::try_from(app.hub.subscriptions()).unwrap_or(i64::MAX));
    if let Ok(Ok(health)) = tokio::time::timeout(HEALTH_TIMEOUT, app.store.health()).await {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        m.storage_connections.set(n(health.connections));
        if let Some(pool) = health.pool {
            m.pool_max.set(n(pool.max));
            m.pool_in_use.set(n(pool.in_use));
            m.pool_idle.set(n(pool.idle));
            m.pool_waiting.set(n(pool.waiting));
        }
    }
    let mut out = String::with_capacity(8 * 1024);
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &m.registry) {
        tracing::warn!(error = %e, "encoding metrics failed");
    }
    out
}
