-- Namespace schema version 8: an import waits for appends that are in flight. {{schema}} as in 003.
--
-- The fence (crates/eventodb-store-postgres/src/fence.rs) rests on "xid order equals global
-- position order". Imported rows break it on purpose: they carry transaction id 0 so that they
-- are settled at once and poke nobody. An append that had reserved position p and was still
-- open while an import committed rows above p would then leave a settled row above an
-- unsettled one, and a reader following the namespace would move past p before p committed,
-- and never see it. So every append now holds a shared transaction-level lock on the namespace
-- from the moment it reserves positions until it ends, and an import takes that lock
-- exclusively after the position lock (see import.rs): it starts once every append that
-- reserved before it has ended, and appends after it wait for it (on the position lock).
-- An append calls reserve_positions once per transaction, so it never waits for the position
-- lock while holding the shared one (no deadlock with an import holding one and waiting for
-- the other).
CREATE OR REPLACE FUNCTION {{schema}}.reserve_positions(n bigint, OUT o_xid xid8, OUT o_first bigint)
LANGUAGE plpgsql VOLATILE
AS $evfn$
BEGIN
    PERFORM pg_advisory_lock(1163284047, hashtext({{schema_literal}}));
    BEGIN
        PERFORM pg_advisory_xact_lock_shared(1163284048, hashtext({{schema_literal}}));
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
