-- Namespace schema version 9: both append functions ask "is any id already stored?" with one
-- probe of the id index per id. {{schema}}, {{schema_literal}} as in 003; signatures, result
-- rows and semantics as in versions 3 (eventodb_append) and 6 (eventodb_append_batch).
--
-- eventodb_append (the lone append) asked it with a join over unnest() of the four message
-- arrays: ~200 µs per call, a third of the function, for a question whose answer is almost
-- always no; it now probes (~10 µs per id) and runs the join only on a hit. One message (the
-- usual append) is inserted from VALUES rather than from unnest() (~18 µs less).
--
-- eventodb_append_batch asked it with EXISTS (... WHERE id = ANY (ids)). PL/pgSQL keeps a
-- statement's plan for the session; one planned while the table was nearly empty is a
-- sequential scan, which EXISTS expects to end at an early match, and the usual answer is no
-- match: every batch then read the whole table (measured: a fresh namespace written by 16
-- clients ran at a quarter of its speed, 1.0k instead of 4.1k writes/s, until something made
-- PostgreSQL plan again). An equality on the unique id has one plan whatever the table's size.
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
    any_stored boolean := false;
    one_id text;
    v bigint;
    r record;
    ts timestamp without time zone := clock_timestamp() AT TIME ZONE 'utc';
BEGIN
    -- 1. An id already stored: an idempotent retry when everything is equal, else a duplicate.
    --    Almost never the case, so first one probe of the id index per id (~10 µs each); the
    --    join below, which tells retry from duplicate, costs ~200 µs and runs only on a hit.
    --    (One probe per id, not `id = ANY (...)`: under EXISTS the planner may prefer a
    --    sequential scan that expects an early match, and the usual answer is no match.)
    FOREACH one_id IN ARRAY p_ids LOOP
        IF EXISTS (SELECT 1 FROM {{schema}}.messages m WHERE m.id = one_id::uuid) THEN
            any_stored := true;
            EXIT;
        END IF;
    END LOOP;
    IF any_stored THEN
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
BEGIN
    -- Every stream's lock, in key order (no deadlock between batches or with single appends).
    FOR lock_key IN SELECT DISTINCT x FROM unnest(p_lock_keys) AS x ORDER BY x LOOP
        PERFORM pg_advisory_xact_lock(lock_key);
    END LOOP;

    -- Under the locks: whether any id is already stored, and every stream's stored version.
    -- One probe of the id index per id (see eventodb_append above for why not `= ANY`).
    FOREACH one_id IN ARRAY p_ids LOOP
        IF EXISTS (SELECT 1 FROM {{schema}}.messages m WHERE m.id = one_id::uuid) THEN
            any_stored := true;
            EXIT;
        END IF;
    END LOOP;
    SELECT coalesce(array_agg(s.stream_name), '{}'), coalesce(array_agg(s.version), '{}')
    INTO seen_streams, seen_versions
    FROM {{schema}}.streams s
    WHERE s.stream_name = ANY (p_streams);

    FOR k IN 1 .. n_appends LOOP
        cnt := p_counts[k];
        -- An id used twice within the batch: that append goes alone, after the batch.
        IF batch_ids && p_ids[lo : lo + cnt - 1] THEN
            RETURN QUERY SELECT k, NULL::bigint, NULL::bigint, false, 'ALONE'::text, NULL::text;
            lo := lo + cnt;
            CONTINUE;
        END IF;
        -- An id already stored: an idempotent retry when everything is equal, else a duplicate.
        found_count := 0;
        IF any_stored THEN
        SELECT count(*),
               count(*) FILTER (WHERE m.stream_name = p_streams[k] AND m.type = i.t
                                AND m.data::text = i.d::jsonb::text
                                AND m.metadata::text IS NOT DISTINCT FROM i.md::jsonb::text)
        INTO found_count, same_count
        FROM unnest(p_ids[lo : lo + cnt - 1], p_types[lo : lo + cnt - 1],
                    p_data[lo : lo + cnt - 1], p_meta[lo : lo + cnt - 1]) AS i(id, t, d, md)
        JOIN {{schema}}.messages m ON m.id = i.id::uuid;
        END IF;
        IF found_count > 0 THEN
            IF found_count = cnt AND same_count = cnt THEN
                RETURN QUERY
                    SELECT k, m.position, m.global_position, true, NULL::text, NULL::text
                    FROM unnest(p_ids[lo : lo + cnt - 1]) WITH ORDINALITY AS i(id, ord)
                    JOIN {{schema}}.messages m ON m.id = i.id::uuid
                    ORDER BY i.ord;
            ELSE
                SELECT i.id INTO bad_id
                FROM unnest(p_ids[lo : lo + cnt - 1]) WITH ORDINALITY AS i(id, ord)
                JOIN {{schema}}.messages m ON m.id = i.id::uuid
                ORDER BY i.ord LIMIT 1;
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
