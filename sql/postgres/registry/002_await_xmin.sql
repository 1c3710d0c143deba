-- eventodb (Rust) addition: lets a reader wait, server-side, until every transaction below
-- `target` has finished (the global-position fence, see the store's `fence` module).
-- Returns false when `timeout_ms` passed first.
CREATE OR REPLACE FUNCTION eventodb_store.await_xmin(target xid8, timeout_ms integer)
RETURNS boolean
LANGUAGE plpgsql
AS $evfn$
DECLARE
    deadline timestamptz := clock_timestamp() + timeout_ms * interval '1 millisecond';
BEGIN
    LOOP
        IF pg_snapshot_xmin(pg_current_snapshot()) > target THEN
            RETURN true;
        END IF;
        IF clock_timestamp() > deadline THEN
            RETURN false;
        END IF;
        PERFORM pg_sleep(0.0002);
    END LOOP;
END;
$evfn$;
