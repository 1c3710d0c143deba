//! Schema migrations of the registry and of every namespace database (PROTOCOL §8.4).
//!
//! Migrations are SQL files under `sql/sqlite/`, compiled in. Each is idempotent
//! (`IF NOT EXISTS`) and forward-only; applying one and recording its version happen in one
//! transaction, so a crash leaves either both or neither.

use rusqlite::{params, Connection};

use eventodb_store::{StoreError, StoreResult};

/// Namespace migrations, in order: (version, SQL).
const NAMESPACE: &[(i64, &str)] = &[(
    1,
    include_str!("../../../sql/sqlite/namespace/001_init.sql"),
)];

/// Registry migrations, in order: (name recorded in `schema_migrations`, SQL).
const REGISTRY: &[(&str, &str)] = &[(
    "001_init.sql",
    include_str!("../../../sql/sqlite/registry/001_init.sql"),
)];

/// The newest namespace schema version.
#[cfg(test)]
pub(crate) fn latest_namespace_version() -> i64 {
    NAMESPACE.last().map_or(0, |(v, _)| *v)
}

fn now_secs() -> i64 {
    eventodb_protocol::time::now_micros().div_euclid(1_000_000)
}

/// Brings a namespace database to the latest version, recording each applied version in
/// `_schema_version` (a missing table means version 0).
pub(crate) fn migrate_namespace(conn: &mut Connection) -> StoreResult<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS _schema_version \
         (version INTEGER PRIMARY KEY, applied_at INTEGER)",
    )
    .map_err(StoreError::backend)?;
    let current: i64 = conn
        .query_row(
            "SELECT coalesce(max(version), 0) FROM _schema_version",
            [],
            |r| r.get(0),
        )
        .map_err(StoreError::backend)?;
    for (version, sql) in NAMESPACE.iter().filter(|(v, _)| *v > current) {
        let tx = conn.transaction().map_err(StoreError::backend)?;
        tx.execute_batch(sql).map_err(StoreError::backend)?;
        tx.execute(
            "INSERT OR IGNORE INTO _schema_version (version, applied_at) VALUES (?1, ?2)",
            params![version, now_secs()],
        )
        .map_err(StoreError::backend)?;
        tx.commit().map_err(StoreError::backend)?;
    }
    Ok(())
}

/// Brings the registry database to the latest version, recording each applied file name in
/// `schema_migrations`.
pub(crate) fn migrate_registry(conn: &mut Connection) -> StoreResult<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations \
         (version TEXT PRIMARY KEY, applied_at INTEGER)",
    )
    .map_err(StoreError::backend)?;
    for (name, sql) in REGISTRY {
        let tx = conn.transaction().map_err(StoreError::backend)?;
        let applied: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
                [name],
                |r| r.get(0),
            )
            .map_err(StoreError::backend)?;
        if !applied {
            tx.execute_batch(sql).map_err(StoreError::backend)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                params![name, now_secs()],
            )
            .map_err(StoreError::backend)?;
        }
        tx.commit().map_err(StoreError::backend)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_migrations_are_recorded_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_namespace(&mut conn).unwrap();
        migrate_namespace(&mut conn).unwrap();
        let versions: Vec<i64> = conn
            .prepare("SELECT version FROM _schema_version ORDER BY version")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            versions,
            (1..=latest_namespace_version()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn registry_migrations_are_recorded_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_registry(&mut conn).unwrap();
        migrate_registry(&mut conn).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, REGISTRY.len() as i64);
    }
}
