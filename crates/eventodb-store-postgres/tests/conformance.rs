//! The shared conformance suite against a throw-away PostgreSQL server, one fresh database
//! per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eventodb_pg_cluster::PgCluster;
use eventodb_store_postgres::{PostgresConfig, PostgresStore};

/// A store on a new empty database of the shared test server.
async fn fresh_store() -> PostgresStore {
    let url = PgCluster::shared().fresh_database();
    PostgresStore::connect(PostgresConfig::new(url))
        .await
        .unwrap()
}

eventodb_store_tests::conformance_tests!(fresh_store().await);
