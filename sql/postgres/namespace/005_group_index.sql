-- Namespace schema version 5: consumer-group reads at index speed. {{schema}} as in 003.
--
-- The category index also carries group_hash, so a member's read finds its next rows by an
-- index-only scan: the other members' messages are skipped inside the index, no table row is
-- visited for them and no hash is computed (Message DB hashes every candidate row). The
-- index has the same key as messages_category_global, which it replaces.
--
-- Building it locks the namespace's writes while it runs: instant for a new namespace, a
-- one-time pause on start-up for a large adopted one.
CREATE INDEX IF NOT EXISTS messages_category_group
    ON {{schema}}.messages (category, global_position) INCLUDE (group_hash);
DROP INDEX IF EXISTS {{schema}}.messages_category_global;
