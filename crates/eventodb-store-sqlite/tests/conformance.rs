//! The shared conformance suite on both SQLite modes.

// Test helpers panic on set-up failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod memory {
    use eventodb_store_sqlite::{SqliteConfig, SqliteStore};

    eventodb_store_tests::conformance_tests!(SqliteStore::open(SqliteConfig::memory()).unwrap());
}

mod file {
    use eventodb_store_sqlite::{SqliteConfig, SqliteStore, Synchronous};

    /// A store in a fresh temporary directory, which outlives the store.
    fn file_store() -> (SqliteStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let config = SqliteConfig {
            synchronous: Synchronous::Normal,
            ..SqliteConfig::dir(dir.path().join("data"))
        };
        (SqliteStore::open(config).unwrap(), dir)
    }

    eventodb_store_tests::conformance_tests!(fixture = file_store());
}
