//! The PostgreSQL backend of eventodb: a [`PostgresStore`] implementing
//! [`eventodb_store::Store`] with one schema per namespace, in EventoDB Go's layout
//! (PROTOCOL §8.1), so existing EventoDB databases are adopted as they are.
//!
//! - The registry is `eventodb_store.namespaces`; each namespace has its own schema with the
//!   `messages` table, Message DB-style SQL functions and a per-stream `streams` summary.
//!   Migrations live in `sql/postgres` and are applied at start-up (module `schema`).
//! - A write is one call of the namespace's `eventodb_append` function: idempotent-retry
//!   check by message id, an advisory lock per **stream** (not per category), version check,
//!   positions reserved behind the fence, insert, summary update, notification. Writes that
//!   arrive together share one call of `eventodb_append_batch` (group commit, module `batch`).
//! - Reads by global position never skip a message (module `fence` explains why).
//! - A change feed (module `feed`) publishes every committed message, whichever process
//!   wrote it, to the configured [`eventodb_store::ChangeSink`].

mod append;
mod batch;
mod columns;
mod config;
mod conn;
mod error;
mod feed;
mod fence;
mod import;
mod names;
mod queries;
mod read;
mod records;
mod registry;
mod rows;
mod schema;
mod store;

pub use config::{NotifyMode, PostgresConfig};
pub use store::PostgresStore;
