-- Namespace database, version 1: the messages and the per-stream summary.
--
-- One database per namespace. `global_position` is AUTOINCREMENT so numbers are never reused
-- after deletes. `time` is microseconds since the Unix epoch (UTC). `group_hash` is
-- |hash_64(cardinal id)| (NULL when the stream has no cardinal id: it belongs to no consumer
-- group member); `correlation` is the category of metadata.correlationStreamName, if any.
CREATE TABLE IF NOT EXISTS messages (
  global_position INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,
  stream_name TEXT NOT NULL,
  category TEXT NOT NULL,
  type TEXT NOT NULL,
  position INTEGER NOT NULL,
  data TEXT NOT NULL,
  metadata TEXT,
  time INTEGER NOT NULL,
  group_hash INTEGER,
  correlation TEXT
);

CREATE UNIQUE INDEX IF NOT EXISTS messages_id ON messages(id);
CREATE UNIQUE INDEX IF NOT EXISTS messages_stream ON messages(stream_name, position);
CREATE INDEX IF NOT EXISTS messages_category ON messages(category, global_position);

-- One row per stream, maintained by the write transaction, so versions, listings and
-- namespace figures never scan `messages`.
CREATE TABLE IF NOT EXISTS streams (
  stream_name TEXT PRIMARY KEY,
  category TEXT NOT NULL,
  version INTEGER NOT NULL,
  message_count INTEGER NOT NULL,
  last_time INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS streams_category ON streams(category);
