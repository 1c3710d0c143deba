-- The benchmark baseline (benches/postgres.sh): Message DB's table and functions with their
-- ORIGINAL semantics, in a schema of their own (`message_db`), so they can be measured beside
-- the eventodb server on the same PostgreSQL in the same run. Not used by the server.
--
-- Follows Message DB 1.3 (message-db/database/{tables,functions,indexes}): every write takes an
-- advisory lock on its CATEGORY (hash_64 of the category name), reads the stream version with
-- max(position), then inserts; consumer-group reads hash the cardinal id of every candidate row
-- at query time; reads are built as dynamic SQL. The namespace schemas of the server carry
-- functions of the same names rewritten onto the new columns (sql/postgres/namespace/003) —
-- those are NOT the baseline.

DROP SCHEMA IF EXISTS message_db CASCADE;
CREATE SCHEMA message_db;

CREATE TYPE message_db.message AS (
    id varchar,
    stream_name varchar,
    type varchar,
    position bigint,
    global_position bigint,
    data varchar,
    metadata varchar,
    time timestamp
);

CREATE TABLE message_db.messages (
    global_position bigserial NOT NULL,
    position bigint NOT NULL,
    time timestamp WITHOUT TIME ZONE DEFAULT (now() AT TIME ZONE 'utc') NOT NULL,
    stream_name text NOT NULL,
    type text NOT NULL,
    data jsonb,
    metadata jsonb,
    id uuid NOT NULL DEFAULT gen_random_uuid()
);
ALTER TABLE message_db.messages ADD PRIMARY KEY (global_position) NOT DEFERRABLE INITIALLY IMMEDIATE;

CREATE OR REPLACE FUNCTION message_db.hash_64(value varchar)
RETURNS bigint AS $$
DECLARE
  _hash bigint;
BEGIN
  SELECT left('x' || md5(hash_64.value), 17)::bit(64)::bigint INTO _hash;
  RETURN _hash;
END;
$$ LANGUAGE plpgsql IMMUTABLE;

CREATE OR REPLACE FUNCTION message_db.category(stream_name varchar)
RETURNS varchar AS $$
BEGIN
  RETURN split_part(category.stream_name, '-', 1);
END;
$$ LANGUAGE plpgsql IMMUTABLE;

CREATE OR REPLACE FUNCTION message_db.id(stream_name varchar)
RETURNS varchar AS $$
DECLARE
  _id_separator_position integer;
BEGIN
  _id_separator_position := strpos(id.stream_name, '-');
  IF _id_separator_position = 0 THEN
    RETURN NULL;
  END IF;
  RETURN substring(id.stream_name, _id_separator_position + 1);
END;
$$ LANGUAGE plpgsql IMMUTABLE;

CREATE OR REPLACE FUNCTION message_db.cardinal_id(stream_name varchar)
RETURNS varchar AS $$
DECLARE
  _id varchar;
BEGIN
  _id := message_db.id(cardinal_id.stream_name);
  IF _id IS NULL THEN
    RETURN NULL;
  END IF;
  RETURN split_part(_id, '+', 1);
END;
$$ LANGUAGE plpgsql IMMUTABLE;

CREATE OR REPLACE FUNCTION message_db.is_category(stream_name varchar)
RETURNS boolean AS $$
BEGIN
  IF NOT strpos(is_category.stream_name, '-') = 0 THEN
    RETURN false;
  END IF;
  RETURN true;
END;
$$ LANGUAGE plpgsql IMMUTABLE;

CREATE UNIQUE INDEX messages_id ON message_db.messages (id);
CREATE UNIQUE INDEX messages_stream ON message_db.messages (stream_name, position);
CREATE INDEX messages_category ON message_db.messages (
    message_db.category(stream_name), global_position,
    message_db.category(metadata->>'correlationStreamName'));

CREATE OR REPLACE FUNCTION message_db.acquire_lock(stream_name varchar)
RETURNS bigint AS $$
DECLARE
  _category varchar;
  _category_name_hash bigint;
BEGIN
  _category := message_db.category(acquire_lock.stream_name);
  _category_name_hash := message_db.hash_64(_category);
  PERFORM pg_advisory_xact_lock(_category_name_hash);
  RETURN _category_name_hash;
END;
$$ LANGUAGE plpgsql VOLATILE;

CREATE OR REPLACE FUNCTION message_db.stream_version(stream_name varchar)
RETURNS bigint AS $$
DECLARE
  _stream_version bigint;
BEGIN
  SELECT max(position) INTO _stream_version
  FROM message_db.messages
  WHERE messages.stream_name = stream_version.stream_name;
  RETURN _stream_version;
END;
$$ LANGUAGE plpgsql VOLATILE;

CREATE OR REPLACE FUNCTION message_db.write_message(
  id varchar, stream_name varchar, type varchar, data jsonb,
  metadata jsonb DEFAULT NULL, expected_version bigint DEFAULT NULL)
RETURNS bigint AS $$
DECLARE
  _message_id uuid;
  _stream_version bigint;
  _next_position bigint;
BEGIN
  PERFORM message_db.acquire_lock(write_message.stream_name);
  _stream_version := message_db.stream_version(write_message.stream_name);
  IF _stream_version IS NULL THEN
    _stream_version := -1;
  END IF;
  IF write_message.expected_version IS NOT NULL THEN
    IF write_message.expected_version != _stream_version THEN
      RAISE EXCEPTION 'Wrong expected version: % (Stream: %, Stream Version: %)',
        write_message.expected_version, write_message.stream_name, _stream_version;
    END IF;
  END IF;
  _next_position := _stream_version + 1;
  _message_id = uuid(write_message.id);
  INSERT INTO message_db.messages (id, stream_name, position, type, data, metadata)
  VALUES (_message_id, write_message.stream_name, _next_position, write_message.type,
          write_message.data, write_message.metadata);
  RETURN _next_position;
END;
$$ LANGUAGE plpgsql VOLATILE;

CREATE OR REPLACE FUNCTION message_db.get_stream_messages(
  stream_name varchar, "position" bigint DEFAULT 0, batch_size bigint DEFAULT 1000,
  condition varchar DEFAULT NULL)
RETURNS SETOF message_db.message AS $$
DECLARE
  _command text;
BEGIN
  IF message_db.is_category(get_stream_messages.stream_name) THEN
    RAISE EXCEPTION 'Must be a stream name: %', get_stream_messages.stream_name;
  END IF;
  position := coalesce(position, 0);
  batch_size := coalesce(batch_size, 1000);
  _command := '
    SELECT id::varchar, stream_name::varchar, type::varchar, position::bigint,
           global_position::bigint, data::varchar, metadata::varchar, time::timestamp
    FROM message_db.messages
    WHERE stream_name = $1 AND position >= $2';
  IF get_stream_messages.condition IS NOT NULL THEN
    _command := _command || ' AND (' || condition || ')';
  END IF;
  _command := _command || ' ORDER BY position ASC';
  IF get_stream_messages.batch_size != -1 THEN
    _command := _command || ' LIMIT $3';
  END IF;
  RETURN QUERY EXECUTE _command USING
    get_stream_messages.stream_name, get_stream_messages.position, get_stream_messages.batch_size;
END;
$$ LANGUAGE plpgsql VOLATILE;

CREATE OR REPLACE FUNCTION message_db.get_category_messages(
  category varchar, "position" bigint DEFAULT 1, batch_size bigint DEFAULT 1000,
  correlation varchar DEFAULT NULL, consumer_group_member bigint DEFAULT NULL,
  consumer_group_size bigint DEFAULT NULL, condition varchar DEFAULT NULL)
RETURNS SETOF message_db.message AS $$
DECLARE
  _command text;
BEGIN
  IF NOT message_db.is_category(get_category_messages.category) THEN
    RAISE EXCEPTION 'Must be a category: %', get_category_messages.category;
  END IF;
  position := coalesce(position, 1);
  batch_size := coalesce(batch_size, 1000);
  _command := '
    SELECT id::varchar, stream_name::varchar, type::varchar, position::bigint,
           global_position::bigint, data::varchar, metadata::varchar, time::timestamp
    FROM message_db.messages
    WHERE message_db.category(stream_name) = $1 AND global_position >= $2';
  IF get_category_messages.correlation IS NOT NULL THEN
    _command := _command || ' AND message_db.category(metadata->>''correlationStreamName'') = $4';
  END IF;
  IF get_category_messages.consumer_group_member IS NOT NULL THEN
    _command := _command ||
      ' AND MOD(@message_db.hash_64(message_db.cardinal_id(stream_name)), $6) = $5';
  END IF;
  IF get_category_messages.condition IS NOT NULL THEN
    _command := _command || ' AND (' || condition || ')';
  END IF;
  _command := _command || ' ORDER BY global_position ASC';
  IF get_category_messages.batch_size != -1 THEN
    _command := _command || ' LIMIT $3';
  END IF;
  RETURN QUERY EXECUTE _command USING
    get_category_messages.category, get_category_messages.position,
    get_category_messages.batch_size, get_category_messages.correlation,
    get_category_messages.consumer_group_member, get_category_messages.consumer_group_size;
END;
$$ LANGUAGE plpgsql VOLATILE;
