//! The registry and namespace schemas (`sql/postgres`), versioned and applied at start-up
//! (PROTOCOL §8.4): idempotent, forward-only, under an advisory lock so that several
//! processes starting together do not race.

use tokio_postgres::GenericClient;

use crate::names::{quote_ident, quote_literal};

/// Registry scripts, applied in order at every start-up (each is idempotent).
const REGISTRY: &[&str] = &[
    include_str!("../../../sql/postgres/registry/001_init.sql"),
    include_str!("../../../sql/postgres/registry/002_await_xmin.sql"),
    include_str!("../../../sql/postgres/registry/003_notify.sql"),
];

/// Namespace migrations; entry `i` is version `i + 1`. Versions 1–2 are EventoDB Go's layout.
const NAMESPACE: &[&str] = &[
    include_str!("../../../sql/postgres/namespace/001_init.sql"),
    include_str!("../../../sql/postgres/namespace/002_empty_category.sql"),
    include_str!("../../../sql/postgres/namespace/003_eventodb.sql"),
    include_str!("../../../sql/postgres/namespace/004_append_batch.sql"),
    include_str!("../../../sql/postgres/namespace/005_group_index.sql"),
    include_str!("../../../sql/postgres/namespace/006_append_batch_fewer_queries.sql"),
    include_str!("../../../sql/postgres/namespace/007_group_skip.sql"),
    include_str!("../../../sql/postgres/namespace/008_imports_wait_for_appends.sql"),
    include_str!("../../../sql/postgres/namespace/009_lone_append_probe.sql"),
];

/// Advisory lock key (two-int form) serialising schema changes across processes.
const MIGRATION_LOCK: &str = "SELECT pg_advisory_xact_lock(1163284047, 1)";

/// The latest namespace schema version.
pub(crate) fn latest_version() -> i32 {
    NAMESPACE.len() as i32
}

/// Creates or updates the registry. Run inside a transaction.
pub(crate) async fn migrate_registry(tx: &impl GenericClient) -> Result<(), tokio_postgres::Error> {
    tx.batch_execute(MIGRATION_LOCK).await?;
    for script in REGISTRY {
        tx.batch_execute(script).await?;
    }
    Ok(())
}

/// Brings namespace schema `schema` to the latest version (creating it when missing).
/// Run inside a transaction.
pub(crate) async fn migrate_namespace(
    tx: &impl GenericClient,
    schema: &str,
) -> Result<(), tokio_postgres::Error> {
    tx.batch_execute(MIGRATION_LOCK).await?;
    let current = version(tx, schema).await?;
    for (i, script) in NAMESPACE.iter().enumerate() {
        let v = i as i32 + 1;
        if v <= current {
            continue;
        }
        tx.batch_execute(&render(script, schema)).await?;
        tx.batch_execute(&format!(
            "INSERT INTO {}._schema_version (version) VALUES ({v}) ON CONFLICT DO NOTHING",
            quote_ident(schema)
        ))
        .await?;
    }
    Ok(())
}

/// The namespace's schema version; 0 when `_schema_version` is missing.
pub(crate) async fn version(
    tx: &impl GenericClient,
    schema: &str,
) -> Result<i32, tokio_postgres::Error> {
    let table = format!("{}._schema_version", quote_ident(schema));
    let row = tx
        .query_one("SELECT to_regclass($1::text) IS NOT NULL", &[&table])
        .await?;
    if !row.try_get::<_, bool>(0)? {
        return Ok(0);
    }
    let row = tx
        .query_one(
            &format!("SELECT coalesce(max(version), 0)::int4 FROM {table}"),
            &[],
        )
        .await?;
    row.try_get(0)
}

/// A namespace script with its placeholders filled in for `schema`.
fn render(script: &str, schema: &str) -> String {
    let quoted = quote_ident(schema);
    script
        .replace("{{schema_literal}}", &quote_literal(schema))
        .replace(
            "{{sequence_literal}}",
            &quote_literal(&format!("{quoted}.messages_global_position_seq")),
        )
        .replace("{{schema}}", &quoted)
}
