//! SQLite backend (stub).
