-- eventodb (Rust) addition: every change to a registry row (a token rotated, a namespace
-- deleted, also by hand with SQL) notifies `eventodb_registry` with the namespace id, at
-- commit. Each server process caches namespace records for authentication and drops an
-- entry when its id is notified (see the store's `records` module).
CREATE OR REPLACE FUNCTION eventodb_store.notify_registry_change()
RETURNS trigger
LANGUAGE plpgsql
AS $evfn$
BEGIN
    PERFORM pg_notify('eventodb_registry', OLD.id);
    IF TG_OP = 'UPDATE' AND NEW.id IS DISTINCT FROM OLD.id THEN
        PERFORM pg_notify('eventodb_registry', NEW.id);
    END IF;
    RETURN NULL;
END;
$evfn$;

DROP TRIGGER IF EXISTS namespaces_notify ON eventodb_store.namespaces;
CREATE TRIGGER namespaces_notify
    AFTER UPDATE OR DELETE ON eventodb_store.namespaces
    FOR EACH ROW EXECUTE FUNCTION eventodb_store.notify_registry_change();
