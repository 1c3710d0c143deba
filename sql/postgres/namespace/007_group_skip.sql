-- Namespace schema version 7: a consumer-group member's read jumps over long runs of other
-- members' messages. {{schema}} as in 003.
--
-- The streams table carries each stream's group hash (the same as its messages'), indexed by
-- category, so a read can list the member's streams and find where the first of them begins
-- (one probe of messages_stream per member stream) instead of walking the category index past
-- every other member's messages. The read only does so when the first rows after its start
-- hold none of the member's (see category_sql in queries.rs).
ALTER TABLE {{schema}}.streams
    ADD COLUMN IF NOT EXISTS group_hash bigint
    GENERATED ALWAYS AS ({{schema}}.group_hash(stream_name)) STORED;
CREATE INDEX IF NOT EXISTS streams_category_group
    ON {{schema}}.streams (category) INCLUDE (group_hash);
