-- Namespace schema version 2 (as EventoDB Go): an empty category reads every message.
CREATE OR REPLACE FUNCTION {{schema}}.get_category_messages(
    category varchar, "position" bigint DEFAULT 1, batch_size bigint DEFAULT 1000,
    correlation varchar DEFAULT NULL, consumer_group_member bigint DEFAULT NULL,
    consumer_group_size bigint DEFAULT NULL, condition varchar DEFAULT NULL)
RETURNS SETOF {{schema}}.message LANGUAGE sql STABLE
AS $evfn$
    SELECT m.id::varchar, m.stream_name, m.type, m.position, m.global_position,
           m.data::varchar, m.metadata::varchar, m.time
    FROM {{schema}}.messages m
    WHERE ($1 IS NULL OR $1 = '' OR {{schema}}.category(m.stream_name) = $1)
      AND m.global_position >= coalesce($2, 1)
      AND ($4 IS NULL OR {{schema}}.category(m.metadata->>'correlationStreamName') = $4)
      AND ($5 IS NULL OR $6 IS NULL
           OR @{{schema}}.hash_64({{schema}}.cardinal_id(m.stream_name)) % $6 = $5)
    ORDER BY m.global_position
    LIMIT CASE WHEN $3 = -1 THEN NULL ELSE coalesce($3, 1000) END
$evfn$;
