-- Namespace schema version 3: what the eventodb (Rust) server adds. Applies to namespaces it
-- created and adopts namespaces EventoDB Go created (versions 1-2, no extra columns).
-- {{schema}} is the quoted schema name, {{schema_literal}} the name as a string literal,
-- {{sequence_literal}} the global-position sequence as a string literal.

-- What this script relies on, in case an adopted schema lacks it (same as version 1).
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

CREATE OR REPLACE FUNCTION {{schema}}.cardinal_id(stream_name varchar)
RETURNS varchar LANGUAGE sql IMMUTABLE
AS $evfn$
    SELECT CASE WHEN strpos(stream_name, '-') = 0 THEN NULL
                ELSE split_part(substring(stream_name FROM strpos(stream_name, '-') + 1), '+', 1) END
$evfn$;

-- Per-row facts computed at write time, so reads filter on plain indexed columns:
-- category of the stream, |hash_64(cardinal id)| (NULL: no member), category of
-- metadata.correlationStreamName, and the writing transaction's id (the fence; 0 = old row).
ALTER TABLE {{schema}}.messages
    ADD COLUMN IF NOT EXISTS category text,
    ADD COLUMN IF NOT EXISTS group_hash bigint,
    ADD COLUMN IF NOT EXISTS correlation text,
    ADD COLUMN IF NOT EXISTS xid xid8 NOT NULL DEFAULT '0';

CREATE OR REPLACE FUNCTION {{schema}}.group_hash(stream_name varchar)
RETURNS bigint LANGUAGE sql IMMUTABLE
AS $evfn$
    SELECT CASE WHEN h IS NULL OR h = -9223372036854775808 THEN NULL ELSE abs(h) END
    FROM (SELECT {{schema}}.hash_64({{schema}}.cardinal_id(stream_name)) AS h) x
$evfn$;

CREATE OR REPLACE FUNCTION {{schema}}.correlation_category(metadata jsonb)
RETURNS text LANGUAGE sql IMMUTABLE
AS $evfn$
    SELECT CASE WHEN jsonb_typeof(metadata) = 'object'
                 AND jsonb_typeof(metadata->'correlationStreamName') = 'string'
                THEN split_part(metadata->>'correlationStreamName', '-', 1) END
$evfn$;

UPDATE {{schema}}.messages
SET category = {{schema}}.category(stream_name),
    group_hash = {{schema}}.group_hash(stream_name),
    correlation = {{schema}}.correlation_category(metadata)
WHERE category IS NULL;

CREATE INDEX IF NOT EXISTS messages_category_global
    ON {{schema}}.messages (category, global_position);
-- Replaced by the column index above; keeping it would cost every write three evaluations.
DROP INDEX IF EXISTS {{schema}}.messages_category;

-- One row per stream, maintained by every write in its transaction.
CREATE TABLE IF NOT EXISTS {{schema}}.streams (
    stream_name text COLLATE "C" PRIMARY KEY,
    category text COLLATE "C" NOT NULL,
    version bigint NOT NULL,
    message_count bigint NOT NULL,
    last_time timestamp without time zone NOT NULL
);

INSERT INTO {{schema}}.streams (stream_name, category, version, message_count, last_time)
SELECT stream_name, {{schema}}.category(stream_name), max(position), count(*), max(time)
FROM {{schema}}.messages
GROUP BY stream_name
ON CONFLICT (stream_name) DO NOTHING;

-- Global positions and the transaction id are taken together under a namespace-wide session
-- lock, so that transaction-id order equals global-position order (the fence). Must be the
-- first thing in its transaction that needs a transaction id.
CREATE OR REPLACE FUNCTION {{schema}}.reserve_positions(n bigint, OUT o_xid xid8, OUT o_first bigint)
LANGUAGE plpgsql VOLATILE
AS $evfn$
BEGIN
    PERFORM pg_advisory_lock(1163284047, hashtext({{schema_literal}}));
    BEGIN
        o_xid := pg_current_xact_id();
        o_first := nextval({{sequence_literal}});
        IF n > 1 THEN
            PERFORM setval({{sequence_literal}}, o_first + n - 1);
        END IF;
    EXCEPTION WHEN OTHERS THEN
        PERFORM pg_advisory_unlock(1163284047, hashtext({{schema_literal}}));
        RAISE;
    END;
    PERFORM pg_advisory_unlock(1163284047, hashtext({{schema_literal}}));
END;
$evfn$;

-- The whole append of one batch to one stream (PROTOCOL §3.1, §0 item 9).
-- Errors: SQLSTATE EVDUP (message = the reused id), EVVER (message = the actual version).
CREATE OR REPLACE FUNCTION {{schema}}.eventodb_append(
    p_stream text, p_ids text[], p_types text[], p_data text[], p_meta text[],
    p_correlations text[], p_expected bigint, p_category text, p_group_hash bigint,
    p_lock_key bigint)
RETURNS TABLE (o_position bigint, o_global_position bigint, o_replayed boolean)
LANGUAGE plpgsql VOLATILE
AS $evfn$
DECLARE
    n integer := cardinality(p_ids);
    found_count integer;
    same_count integer;
    bad_id text;
    v bigint;
    r record;
    ts timestamp without time zone := clock_timestamp() AT TIME ZONE 'utc';
BEGIN
    -- 1. An id already stored: an idempotent retry when everything is equal, else a duplicate.
    SELECT count(*),
           count(*) FILTER (WHERE m.stream_name = p_stream AND m.type = i.t
                            AND m.data::text = i.d::jsonb::text
                            AND m.metadata::text IS NOT DISTINCT FROM i.md::jsonb::text)
    INTO found_count, same_count
    FROM unnest(p_ids, p_types, p_data, p_meta) AS i(id, t, d, md)
    JOIN {{schema}}.messages m ON m.id = i.id::uuid;
    IF found_count > 0 THEN
        IF found_count = n AND same_count = n THEN
            RETURN QUERY
                SELECT m.position, m.global_position, true
                FROM unnest(p_ids) WITH ORDINALITY AS i(id, ord)
                JOIN {{schema}}.messages m ON m.id = i.id::uuid
                ORDER BY i.ord;
            RETURN;
        END IF;
        SELECT i.id INTO bad_id
        FROM unnest(p_ids) WITH ORDINALITY AS i(id, ord)
        JOIN {{schema}}.messages m ON m.id = i.id::uuid
        ORDER BY i.ord LIMIT 1;
        RAISE EXCEPTION USING ERRCODE = 'EVDUP', MESSAGE = bad_id;
    END IF;

    -- 2. Lock the stream (not the category), read its version, check the expectation.
    PERFORM pg_advisory_xact_lock(p_lock_key);
    SELECT s.version INTO v FROM {{schema}}.streams s WHERE s.stream_name = p_stream;
    v := coalesce(v, -1);
    IF p_expected IS NOT NULL AND p_expected <> v THEN
        RAISE EXCEPTION USING ERRCODE = 'EVVER', MESSAGE = v::text;
    END IF;

    -- 3. Positions and transaction id together (the fence), then the rows.
    SELECT * INTO r FROM {{schema}}.reserve_positions(n);
    INSERT INTO {{schema}}.messages
        (id, stream_name, type, position, global_position, data, metadata, time,
         category, group_hash, correlation, xid)
    SELECT i.id::uuid, p_stream, i.t, v + i.ord, r.o_first + i.ord - 1, i.d::jsonb,
           i.md::jsonb, ts, p_category, p_group_hash, i.c, r.o_xid
    FROM unnest(p_ids, p_types, p_data, p_meta, p_correlations)
         WITH ORDINALITY AS i(id, t, d, md, c, ord);

    INSERT INTO {{schema}}.streams AS s (stream_name, category, version, message_count, last_time)
    VALUES (p_stream, p_category, v + n, n, ts)
    ON CONFLICT (stream_name) DO UPDATE
    SET version = excluded.version,
        message_count = s.message_count + excluded.message_count,
        last_time = excluded.last_time;

    PERFORM pg_notify('eventodb_changes', {{schema_literal}});

    RETURN QUERY SELECT v + o, r.o_first + o - 1, false FROM generate_series(1, n) AS o;
END;
$evfn$;

-- Message DB's write_message, now on the same path as the server's writes.
DROP FUNCTION IF EXISTS {{schema}}.write_message(varchar, varchar, varchar, jsonb, jsonb, bigint);
CREATE FUNCTION {{schema}}.write_message(
    id varchar, stream_name varchar, type varchar, data jsonb,
    metadata jsonb DEFAULT NULL, expected_version bigint DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql VOLATILE
AS $evfn$
DECLARE
    _position bigint;
BEGIN
    SELECT a.o_position INTO _position
    FROM {{schema}}.eventodb_append(
        write_message.stream_name, ARRAY[write_message.id], ARRAY[write_message.type],
        ARRAY[write_message.data::text], ARRAY[write_message.metadata::text],
        ARRAY[{{schema}}.correlation_category(write_message.metadata)],
        write_message.expected_version, {{schema}}.category(write_message.stream_name),
        {{schema}}.group_hash(write_message.stream_name),
        {{schema}}.hash_64(write_message.stream_name)) a;
    RETURN _position;
EXCEPTION WHEN SQLSTATE 'EVVER' THEN
    RAISE EXCEPTION 'Wrong expected version: % (Stream: %, Stream Version: %)',
        write_message.expected_version, write_message.stream_name, SQLERRM;
END;
$evfn$;

-- Message DB's category reader on the new columns, behind the fence.
DROP FUNCTION IF EXISTS {{schema}}.get_category_messages(
    varchar, bigint, bigint, varchar, bigint, bigint, varchar);
CREATE FUNCTION {{schema}}.get_category_messages(
    category varchar, "position" bigint DEFAULT 1, batch_size bigint DEFAULT 1000,
    correlation varchar DEFAULT NULL, consumer_group_member bigint DEFAULT NULL,
    consumer_group_size bigint DEFAULT NULL, condition varchar DEFAULT NULL)
RETURNS SETOF {{schema}}.message LANGUAGE sql STABLE
AS $evfn$
    SELECT m.id::varchar, m.stream_name, m.type, m.position, m.global_position,
           m.data::varchar, m.metadata::varchar, m.time
    FROM {{schema}}.messages m
    WHERE ($1 IS NULL OR $1 = '' OR m.category = $1)
      AND m.global_position >= coalesce($2, 1)
      AND ($4 IS NULL OR m.correlation = $4)
      AND ($5 IS NULL OR $6 IS NULL OR m.group_hash % $6 = $5)
      AND m.xid < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY m.global_position
    LIMIT CASE WHEN $3 = -1 THEN NULL ELSE coalesce($3, 1000) END
$evfn$;

DROP FUNCTION IF EXISTS {{schema}}.stream_version(varchar);
CREATE FUNCTION {{schema}}.stream_version(stream_name varchar)
RETURNS bigint LANGUAGE sql STABLE
AS $evfn$
    SELECT coalesce((SELECT s.version FROM {{schema}}.streams s
                     WHERE s.stream_name = stream_version.stream_name), -1)
$evfn$;
