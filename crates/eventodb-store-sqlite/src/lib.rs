//! The SQLite backend of eventodb: a [`SqliteStore`] implementing
//! [`eventodb_store::Store`] with one database per namespace (PROTOCOL §8.2).
//!
//! A registry database lists the namespaces; each namespace has its own database file (or
//! private in-memory database) with a `messages` table and a per-stream `streams` summary.
//! All writes of a namespace go through one writer thread that commits them in groups; in
//! file mode reads use a small pool of read-only WAL connections and never wait for writes.

mod append;
mod checkpoint;
mod config;
mod file_name;
mod import;
mod namespace;
mod queries;
mod reader;
mod registry;
mod rows;
mod schema;
mod store;
mod writer;

pub use config::{SqliteConfig, SqliteLocation, Synchronous};
pub use store::SqliteStore;
