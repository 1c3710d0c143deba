-- Namespace schema version 6: eventodb_append_batch without per-append queries in the common
-- case. {{schema}}, {{schema_literal}} as in 003; same signature, result rows and semantics as
-- version 4, which this replaces.
--
-- Version 4 ran two queries per append (is any id already stored? what is the stream's
-- version?). Here one query asks whether any id of the whole batch is stored (the per-append
-- check runs only if so: retries are rare), and one reads the versions of all the batch's
-- streams up front; both happen after every stream lock is held, so nothing can change them.
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
    any_stored boolean;
BEGIN
    -- Every stream's lock, in key order (no deadlock between batches or with single appends).
    FOR lock_key IN SELECT DISTINCT x FROM unnest(p_lock_keys) AS x ORDER BY x LOOP
        PERFORM pg_advisory_xact_lock(lock_key);
    END LOOP;

    -- Under the locks: whether any id is already stored, and every stream's stored version.
    any_stored := EXISTS (SELECT 1 FROM {{schema}}.messages m WHERE m.id = ANY (p_ids::uuid[]));
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
