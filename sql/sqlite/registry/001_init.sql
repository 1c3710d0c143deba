-- Registry database, version 1: one row per namespace.
--
-- `db_path` is the namespace database's file name relative to the data directory.
-- `created_at` is whole Unix seconds.
CREATE TABLE IF NOT EXISTS namespaces (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  db_path TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}'
);
