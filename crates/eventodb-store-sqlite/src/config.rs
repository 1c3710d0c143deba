//! Configuration of the SQLite store.

use std::path::PathBuf;

/// Where the databases live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqliteLocation {
    /// Everything in memory, lost on close (test mode): one private in-memory database per
    /// namespace plus an in-memory registry.
    Memory,
    /// Files in a directory: the registry database and one database per namespace.
    Dir {
        /// The data directory; created if missing.
        data_dir: PathBuf,
        /// File name of the registry database inside `data_dir`, e.g. `"metadata.db"`.
        registry_file: String,
    },
}

/// SQLite's `synchronous` setting for the file databases (WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// `FULL`: an acknowledged write survives power loss.
    #[default]
    Full,
    /// `NORMAL`: an acknowledged write survives a process crash, not necessarily power loss.
    Normal,
    /// `OFF`: no syncing at all.
    Off,
}

impl Synchronous {
    /// The pragma value.
    pub(crate) fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
            Synchronous::Off => "OFF",
        }
    }
}

/// How to open a [`crate::SqliteStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteConfig {
    /// Where the databases live.
    pub location: SqliteLocation,
    /// Durability of file databases; ignored in memory.
    pub synchronous: Synchronous,
}

impl SqliteConfig {
    /// In-memory databases (test mode).
    pub fn memory() -> Self {
        Self {
            location: SqliteLocation::Memory,
            synchronous: Synchronous::default(),
        }
    }

    /// File databases in `data_dir`, with the registry in `metadata.db`, `synchronous=FULL`.
    pub fn dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            location: SqliteLocation::Dir {
                data_dir: data_dir.into(),
                registry_file: "metadata.db".into(),
            },
            synchronous: Synchronous::default(),
        }
    }
}
