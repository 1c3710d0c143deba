-- Namespace schema version 1: the EventoDB Go / Message DB layout (PROTOCOL §8.1, §8.3).
-- {{schema}} is the quoted schema name.
CREATE SCHEMA IF NOT EXISTS {{schema}};

CREATE TABLE IF NOT EXISTS {{schema}}.messages (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    stream_name varchar NOT NULL,
    type varchar NOT NULL,
    position bigint NOT NULL,
    global_position bigserial NOT NULL,
    data jsonb,
    metadata jsonb,
    time timestamp without time zone NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    CONSTRAINT messages_pkey PRIMARY KEY (global_position)
);

DO $evfn$
BEGIN
    CREATE TYPE {{schema}}.message AS (
        id varchar,
        stream_name varchar,
        type varchar,
        position bigint,
        global_position bigint,
        data varchar,
        metadata varchar,
        time timestamp
    );
EXCEPTION WHEN duplicate_object THEN NULL;
END
$evfn$;

CREATE OR REPLACE FUNCTION {{schema}}.hash_64(value varchar)
RETURNS bigint LANGUAGE sql IMMUTABLE
AS $evfn$ SELECT left('x' || md5(value), 17)::bit(64)::bigint $evfn$;

CREATE OR REPLACE FUNCTION {{schema}}.category(stream_name varchar)
RETURNS varchar LANGUAGE sql IMMUTABLE
AS $evfn$ SELECT split_part(stream_name, '-', 1) $evfn$;

CREATE OR REPLACE FUNCTION {{schema}}.id(stream_name varchar)
RETURNS varchar LANGUAGE sql IMMUTABLE
AS $evfn$
    SELECT CASE WHEN strpos(stream_name, '-') = 0 THEN NULL
                ELSE substring(stream_name FROM strpos(stream_name, '-') + 1) END
$evfn$;

CREATE OR REPLACE FUNCTION {{schema}}.cardinal_id(stream_name varchar)
RETURNS varchar LANGUAGE sql IMMUTABLE
AS $evfn$
    SELECT CASE WHEN strpos(stream_name, '-') = 0 THEN NULL
                ELSE split_part(substring(stream_name FROM strpos(stream_name, '-') + 1), '+', 1) END
$evfn$;

CREATE OR REPLACE FUNCTION {{schema}}.is_category(stream_name varchar)
RETURNS boolean LANGUAGE sql IMMUTABLE
AS $evfn$ SELECT strpos(stream_name, '-') = 0 $evfn$;

CREATE OR REPLACE FUNCTION {{schema}}.acquire_lock(stream_name varchar)
RETURNS bigint LANGUAGE plpgsql VOLATILE
AS $evfn$
DECLARE
    _key bigint := {{schema}}.hash_64({{schema}}.category(stream_name));
BEGIN
    PERFORM pg_advisory_xact_lock(_key);
    RETURN _key;
END;
$evfn$;

CREATE OR REPLACE FUNCTION {{schema}}.stream_version(stream_name varchar)
RETURNS bigint LANGUAGE sql STABLE
AS $evfn$
    SELECT coalesce(max(m.position), -1) FROM {{schema}}.messages m
    WHERE m.stream_name = stream_version.stream_name
$evfn$;

CREATE OR REPLACE FUNCTION {{schema}}.write_message(
    id varchar, stream_name varchar, type varchar, data jsonb,
    metadata jsonb DEFAULT NULL, expected_version bigint DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql VOLATILE
AS $evfn$
DECLARE
    _version bigint;
    _position bigint;
BEGIN
    PERFORM {{schema}}.acquire_lock(write_message.stream_name);
    _version := {{schema}}.stream_version(write_message.stream_name);
    IF write_message.expected_version IS NOT NULL
       AND write_message.expected_version <> _version THEN
        RAISE EXCEPTION 'Wrong expected version: % (Stream: %, Stream Version: %)',
            write_message.expected_version, write_message.stream_name, _version;
    END IF;
    _position := _version + 1;
    INSERT INTO {{schema}}.messages (id, stream_name, position, type, data, metadata)
    VALUES (write_message.id::uuid, write_message.stream_name, _position,
            write_message.type, write_message.data, write_message.metadata);
    RETURN _position;
END;
$evfn$;

CREATE OR REPLACE FUNCTION {{schema}}.get_stream_messages(
    stream_name varchar, "position" bigint DEFAULT 0, batch_size bigint DEFAULT 1000,
    condition varchar DEFAULT NULL)
RETURNS SETOF {{schema}}.message LANGUAGE sql STABLE
AS $evfn$
    SELECT m.id::varchar, m.stream_name, m.type, m.position, m.global_position,
           m.data::varchar, m.metadata::varchar, m.time
    FROM {{schema}}.messages m
    WHERE m.stream_name = $1 AND m.position >= coalesce($2, 0)
    ORDER BY m.position
    LIMIT CASE WHEN $3 = -1 THEN NULL ELSE coalesce($3, 1000) END
$evfn$;

CREATE OR REPLACE FUNCTION {{schema}}.get_category_messages(
    category varchar, "position" bigint DEFAULT 1, batch_size bigint DEFAULT 1000,
    correlation varchar DEFAULT NULL, consumer_group_member bigint DEFAULT NULL,
    consumer_group_size bigint DEFAULT NULL, condition varchar DEFAULT NULL)
RETURNS SETOF {{schema}}.message LANGUAGE sql STABLE
AS $evfn$
    SELECT m.id::varchar, m.stream_name, m.type, m.position, m.global_position,
           m.data::varchar, m.metadata::varchar, m.time
    FROM {{schema}}.messages m
    WHERE {{schema}}.category(m.stream_name) = $1
      AND m.global_position >= coalesce($2, 1)
      AND ($4 IS NULL OR {{schema}}.category(m.metadata->>'correlationStreamName') = $4)
      AND ($5 IS NULL OR $6 IS NULL
           OR @{{schema}}.hash_64({{schema}}.cardinal_id(m.stream_name)) % $6 = $5)
    ORDER BY m.global_position
    LIMIT CASE WHEN $3 = -1 THEN NULL ELSE coalesce($3, 1000) END
$evfn$;

CREATE OR REPLACE FUNCTION {{schema}}.get_last_stream_message(
    stream_name varchar, type varchar DEFAULT NULL)
RETURNS SETOF {{schema}}.message LANGUAGE sql STABLE
AS $evfn$
    SELECT m.id::varchar, m.stream_name, m.type, m.position, m.global_position,
           m.data::varchar, m.metadata::varchar, m.time
    FROM {{schema}}.messages m
    WHERE m.stream_name = $1 AND ($2 IS NULL OR m.type = $2)
    ORDER BY m.position DESC
    LIMIT 1
$evfn$;

CREATE UNIQUE INDEX IF NOT EXISTS messages_id ON {{schema}}.messages (id);
CREATE UNIQUE INDEX IF NOT EXISTS messages_stream ON {{schema}}.messages (stream_name, position);
CREATE INDEX IF NOT EXISTS messages_category ON {{schema}}.messages (
    {{schema}}.category(stream_name), global_position,
    {{schema}}.category(metadata->>'correlationStreamName'));

CREATE TABLE IF NOT EXISTS {{schema}}._schema_version (
    version integer PRIMARY KEY,
    applied_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);
