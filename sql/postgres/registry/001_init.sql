-- The namespace registry (PROTOCOL §8.1), laid out as EventoDB Go lays it out.
-- Idempotent: applied at every start-up under an advisory lock.
CREATE SCHEMA IF NOT EXISTS eventodb_store;

CREATE TABLE IF NOT EXISTS eventodb_store.namespaces (
    id text PRIMARY KEY,
    token_hash text NOT NULL UNIQUE,
    schema_name text NOT NULL UNIQUE,
    description text,
    created_at bigint NOT NULL,
    metadata jsonb DEFAULT '{}'
);

CREATE INDEX IF NOT EXISTS namespaces_token_hash ON eventodb_store.namespaces (token_hash);
