//! A throw-away PostgreSQL server for eventodb's tests (dev-only).
//!
//! [`PgCluster::shared`] starts one server per test process on a free port of 127.0.0.1
//! (durability off, trust authentication) and [`PgCluster::fresh_database`] hands each test
//! an empty database of its own. The server never outlives the test process: a watchdog
//! stops it and removes its directory once the process is gone. When no server can be
//! started this crate panics with the reason; a PostgreSQL test never silently skips.
//!
//! The server programs come from `EVENTODB_PG_BIN` or `/usr/lib/postgresql/15/bin`. Run as
//! root, they run as the `postgres` user (PostgreSQL refuses to run as root).

mod cluster;
mod command;
mod watchdog;

pub use cluster::PgCluster;
