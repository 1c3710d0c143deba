-- Namespace schema version 9: every query of the two append functions that reads `messages` or
-- `streams` is an equality on a unique key. {{schema}}, {{schema_literal}} as in 003; signatures,
-- result rows and semantics as in versions 3 (eventodb_append) and 6 (eventodb_append_batch).
--
-- PL/pgSQL keeps a statement's plan for the session. The earlier forms, a join over unnest() of
-- the message arrays and `EXISTS (... WHERE id = ANY (ids))` / `stream_name = ANY (streams)`,
-- could be planned while the namespace was new and nearly empty as scans of the whole table,
-- and kept: every append then read all of `messages` (measured: a fresh namespace written by 16
-- clients ran at 1.0k instead of 4.1k writes/s, and a lone writer slowed as the table grew).
-- A probe of a unique index has one plan whatever the table's size.
--
-- The lone append also got cheaper: it asks "is any id already stored?" with one probe per id
-- (~10 µs) instead of the join (~200 µs, a third of the function), reads and compares the stored
-- messages only on a hit, and inserts one message (the usual append) from VALUES (~18 µs less).
CREATE OR REPLACE FUNCTION {{schema}}.eventodb_append(
    p_stream text, p_ids text[], p_types text[], p_data text[], p_meta text[],
    p_correlations text[], p_expected bigint, p_category text, p_group_hash bigint,
    p_lock_key bigint)
RETURNS TABLE (o_position bigint, o_global_position bigint, o_replayed boolean)
LANGUAGE plpgsql VOLATILE
AS $evfn$
DECLARE
    n integer := cardinality(p_ids);
    found_count integer := 0;
    same_count integer := 0;
    same boolean;
    stored_position bigint;
    stored_global bigint;
    replay_positions bigint[] := '{}';
    replay_globals bigint[] := '{}';
    bad_id text;
    any_stored boolean := false;
    one_id text;
    v bigint;
    r record;
    ts timestamp without time zone := clock_timestamp() AT TIME ZONE 'utc';
BEGIN
    -- 1. An id already stored: an idempotent retry when everything is equal, else a duplicate.
    --    Almost never the case, so first one probe of the id index per id (~10 µs each); only
    --    on a hit are the stored messages read and compared, again one probe per id. (Every
    --    query here is an equality on a unique key: a join over unnest() or `id = ANY (...)`
    --    can be planned as a scan of the whole table while it is small, and PL/pgSQL keeps
    --    that plan for the session.)
    FOREACH one_id IN ARRAY p_ids LOOP
        IF EXISTS (SELECT 1 FROM {{schema}}.messages m WHERE m.id = one_id::uuid) THEN
            any_stored := true;
            EXIT;
        END IF;
    END LOOP;
    IF any_stored THEN
        FOR k IN 1 .. n LOOP
            SELECT coalesce(m.stream_name = p_stream AND m.type = p_types[k]
                            AND m.data::text = p_data[k]::jsonb::text
                            AND m.metadata::text IS NOT DISTINCT FROM p_meta[k]::jsonb::text,
                            false),
                   m.position, m.global_position
            INTO same, stored_position, stored_global
            FROM {{schema}}.messages m WHERE m.id = p_ids[k]::uuid;
            IF FOUND THEN
                found_count := found_count + 1;
                bad_id := coalesce(bad_id, p_ids[k]);
                IF same THEN
                    same_count := same_count + 1;
                    replay_positions := replay_positions || stored_position;
                    replay_globals := replay_globals || stored_global;
                END IF;
            END IF;
        END LOOP;
        IF found_count = n AND same_count = n THEN
            RETURN QUERY SELECT replay_positions[o], replay_globals[o], true
                         FROM generate_series(1, n) AS o;
            RETURN;
        END IF;
        IF found_count > 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'EVDUP', MESSAGE = bad_id;
        END IF;
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
    IF n = 1 THEN
        INSERT INTO {{schema}}.messages
            (id, stream_name, type, position, global_position, data, metadata, time,
             category, group_hash, correlation, xid)
        VALUES (p_ids[1]::uuid, p_stream, p_types[1], v + 1, r.o_first, p_data[1]::jsonb,
                p_meta[1]::jsonb, ts, p_category, p_group_hash, p_correlations[1], r.o_xid);
    ELSE
        INSERT INTO {{schema}}.messages
            (id, stream_name, type, position, global_position, data, metadata, time,
             category, group_hash, correlation, xid)
        SELECT i.id::uuid, p_stream, i.t, v + i.ord, r.o_first + i.ord - 1, i.d::jsonb,
               i.md::jsonb, ts, p_category, p_group_hash, i.c, r.o_xid
        FROM unnest(p_ids, p_types, p_data, p_meta, p_correlations)
             WITH ORDINALITY AS i(id, t, d, md, c, ord);
    END IF;

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

CREATE OR REPLACE FUNCTION {{schema}}.eventodb_append_batch(
    p_streams text[], p_counts int[], p_ids text[], p_types text[], p_data text[],
    p_meta text[], p_correlations text[], p_expected bigint[], p_categories text[],
    p_group_hashes bigint[], p_lock_keys bigint[])
RETURNS TABLE (o_append int, o_position bigint, o_global_position bigint,
               o_replayed boolean, o_error text, o_detail text)
LANGUAGE plpgsql VOLATILE
AS $evfn$
DECLARE
    n_appends integer := cardinality(p_streams);
    k integer;
    lo integer := 1;
    cnt integer;
    lock_key bigint;
    found_count integer;
    same_count integer;
    bad_id text;
    v bigint;
    slot integer;
    seen_streams text[] := '{}';
    seen_versions bigint[] := '{}';
    batch_ids text[] := '{}';
    -- Per written message: its index in the flattened arrays, its position, its append.
    w_msg integer[] := '{}';
    w_pos bigint[] := '{}';
    w_app integer[] := '{}';
    total integer := 0;
    r record;
    ts timestamp without time zone := clock_timestamp() AT TIME ZONE 'utc';
    any_stored boolean := false;
    one_id text;
    one_stream text;
    same boolean;
    stored_position bigint;
    stored_global bigint;
    replay_positions bigint[];
    replay_globals bigint[];
BEGIN
    -- Every stream's lock, in key order (no deadlock between batches or with single appends).
    FOR lock_key IN SELECT DISTINCT x FROM unnest(p_lock_keys) AS x ORDER BY x LOOP
        PERFORM pg_advisory_xact_lock(lock_key);
    END LOOP;

    -- Under the locks: whether any id is already stored, and every stream's stored version,
    -- each with one probe of a unique index per id or stream (see eventodb_append above).
    FOREACH one_id IN ARRAY p_ids LOOP
        IF EXISTS (SELECT 1 FROM {{schema}}.messages m WHERE m.id = one_id::uuid) THEN
            any_stored := true;
            EXIT;
        END IF;
    END LOOP;
    FOR one_stream IN SELECT DISTINCT x FROM unnest(p_streams) AS x LOOP
        SELECT s.version INTO v FROM {{schema}}.streams s WHERE s.stream_name = one_stream;
        IF FOUND THEN
            seen_streams := seen_streams || one_stream;
            seen_versions := seen_versions || v;
        END IF;
    END LOOP;

    FOR k IN 1 .. n_appends LOOP
        cnt := p_counts[k];
        -- An id used twice within the batch: that append goes alone, after the batch.
        IF batch_ids && p_ids[lo : lo + cnt - 1] THEN
            RETURN QUERY SELECT k, NULL::bigint, NULL::bigint, false, 'ALONE'::text, NULL::text;
            lo := lo + cnt;
            CONTINUE;
        END IF;
        -- An id already stored: an idempotent retry when everything is equal, else a duplicate
        -- (one probe per id, as in eventodb_append).
        found_count := 0;
        same_count := 0;
        bad_id := NULL;
        replay_positions := '{}';
        replay_globals := '{}';
        IF any_stored THEN
            FOR q IN lo .. lo + cnt - 1 LOOP
                SELECT coalesce(m.stream_name = p_streams[k] AND m.type = p_types[q]
                                AND m.data::text = p_data[q]::jsonb::text
                                AND m.metadata::text IS NOT DISTINCT FROM p_meta[q]::jsonb::text,
                                false),
                       m.position, m.global_position
                INTO same, stored_position, stored_global
                FROM {{schema}}.messages m WHERE m.id = p_ids[q]::uuid;
                IF FOUND THEN
                    found_count := found_count + 1;
                    bad_id := coalesce(bad_id, p_ids[q]);
                    IF same THEN
                        same_count := same_count + 1;
                        replay_positions := replay_positions || stored_position;
                        replay_globals := replay_globals || stored_global;
                    END IF;
                END IF;
            END LOOP;
        END IF;
        IF found_count > 0 THEN
            IF found_count = cnt AND same_count = cnt THEN
                RETURN QUERY SELECT k, replay_positions[o], replay_globals[o], true, NULL::text,
                                    NULL::text
                             FROM generate_series(1, cnt) AS o;
            ELSE
                RETURN QUERY SELECT k, NULL::bigint, NULL::bigint, false, 'EVDUP'::text, bad_id;
            END IF;
            lo := lo + cnt;
            CONTINUE;
        END IF;

        -- The stream's version: as left by an earlier append of this batch, else as stored
        -- (read above; a stream without a row is new).
        slot := array_position(seen_streams, p_streams[k]);
        IF slot IS NULL THEN
            v := -1;
            seen_streams := seen_streams || p_streams[k];
            seen_versions := seen_versions || v;
            slot := cardinality(seen_streams);
        ELSE
            v := seen_versions[slot];
        END IF;
        IF p_expected[k] IS NOT NULL AND p_expected[k] <> v THEN
            RETURN QUERY SELECT k, NULL::bigint, NULL::bigint, false, 'EVVER'::text, v::text;
            lo := lo + cnt;
            CONTINUE;
        END IF;

        FOR j IN 0 .. cnt - 1 LOOP
            w_msg := w_msg || (lo + j);
            w_pos := w_pos || (v + 1 + j);
            w_app := w_app || k;
        END LOOP;
        seen_versions[slot] := v + cnt;
        batch_ids := batch_ids || p_ids[lo : lo + cnt - 1];
        total := total + cnt;
        lo := lo + cnt;
    END LOOP;

    IF total = 0 THEN
        RETURN;
    END IF;

    -- Positions and transaction id together (the fence), once for the batch; then the rows.
    SELECT * INTO r FROM {{schema}}.reserve_positions(total);
    INSERT INTO {{schema}}.messages
        (id, stream_name, type, position, global_position, data, metadata, time,
         category, group_hash, correlation, xid)
    SELECT p_ids[w.m]::uuid, p_streams[w.a], p_types[w.m], w.p, r.o_first + w.ord - 1,
           p_data[w.m]::jsonb, p_meta[w.m]::jsonb, ts, p_categories[w.a],
           p_group_hashes[w.a], p_correlations[w.m], r.o_xid
    FROM unnest(w_msg, w_pos, w_app) WITH ORDINALITY AS w(m, p, a, ord);

    INSERT INTO {{schema}}.streams AS s (stream_name, category, version, message_count, last_time)
    SELECT p_streams[w.a], p_categories[w.a], max(w.p), count(*), ts
    FROM unnest(w_pos, w_app) AS w(p, a)
    GROUP BY p_streams[w.a], p_categories[w.a]
    ON CONFLICT (stream_name) DO UPDATE
    SET version = excluded.version,
        message_count = s.message_count + excluded.message_count,
        last_time = excluded.last_time;

    PERFORM pg_notify('eventodb_changes', {{schema_literal}});

    RETURN QUERY
        SELECT w.a, w.p, r.o_first + w.ord - 1, false, NULL::text, NULL::text
        FROM unnest(w_pos, w_app) WITH ORDINALITY AS w(p, a, ord);
END;
$evfn$;
