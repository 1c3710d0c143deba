//! The SQL texts of one namespace, rendered once per schema name.

use crate::names::quote_ident;

/// Message columns in the order [`crate::rows::message`] reads them. `id` and `time` come in
/// their binary form ([`crate::columns`]): turning them into text (or the time into epoch
/// microseconds through `numeric`) for every row was a tenth of PostgreSQL's work on a read.
const MESSAGE_COLUMNS: &str = "id, stream_name::text, type::text, position, \
     global_position, data::text, metadata::text, time";

/// The fence column after the message columns (see [`crate::fence`]): NULL when the row is
/// below the snapshot's xmin, else its transaction id as text (only the first such row is
/// looked at, so no other row pays for the text).
const FENCE_COLUMN: &str = "CASE WHEN xid < (SELECT pg_snapshot_xmin(pg_current_snapshot())) \
     THEN NULL ELSE xid::text END";

/// Statements of one namespace schema.
#[derive(Debug)]
pub(crate) struct Queries {
    /// `eventodb_append(...)`: positions of a batch (see `sql/postgres/namespace/003`).
    pub(crate) append: String,
    /// `eventodb_append_batch(...)`: several appends (see `sql/postgres/namespace/004`).
    pub(crate) append_batch: String,
    /// A stream from a position: `$1` stream, `$2` position, `$3` limit (NULL: none).
    pub(crate) stream_from_position: ByLimit,
    /// A stream from a global position: `$1` stream, `$2` global position, `$3` limit.
    pub(crate) stream_from_global: ByLimit,
    /// The last message of `$1`.
    pub(crate) last: String,
    /// The last message of `$1` with type `$2`.
    pub(crate) last_of_type: String,
    /// The highest committed global position.
    pub(crate) head: String,
    /// The version of stream `$1`.
    pub(crate) version: String,
    /// Streams with prefix `$1` after cursor `$2`, at most `$3`.
    pub(crate) streams: String,
    /// Categories with stream and message counts.
    pub(crate) categories: String,
    /// Message count, stream count, newest time.
    pub(crate) stats: String,
    /// Category reads, indexed by [`category_variant`]: `$1` start, then the category,
    /// correlation and group size/member parameters of the filters present, then the limit.
    pub(crate) category: [ByLimit; 8],
    /// Change feed page: `$1` after this global position, `$2` limit, `$3` the messages
    /// table's name. Column 0 is the table's OID (a re-created namespace has a new one), then
    /// stream, position, global position, the fence column and whether the row has
    /// transaction id 0 (imported, or history of an adopted namespace: passed over, never
    /// published); one row with NULL message columns when there is nothing new.
    pub(crate) feed: String,
    /// The quoted name of the messages table.
    pub(crate) messages_table: String,
    /// The messages table's OID and the highest global position below the fence, read
    /// together (`$1` the messages table's name).
    pub(crate) fenced_max: String,
}

/// Limits written into statements as literals. With `LIMIT $n` PostgreSQL costs the generic
/// plan as if a tenth of the table were read, never settles on it, and plans every call
/// afresh (a third of a read's database time); with a literal it keeps the generic plan after
/// five calls. Other limits are bound as the last parameter.
const LITERAL_LIMITS: [i64; 5] = [1, 10, 100, 500, 1000];

/// One statement in two forms: the limit as the last parameter, or as one of
/// [`LITERAL_LIMITS`] written in.
#[derive(Debug)]
pub(crate) struct ByLimit {
    param: String,
    literal: [String; LITERAL_LIMITS.len()],
}

impl ByLimit {
    /// `render` gets the LIMIT operand: the parameter (`$n::int8`) or a literal.
    fn new(param: &str, render: impl Fn(&str) -> String) -> Self {
        ByLimit {
            param: render(param),
            literal: LITERAL_LIMITS.map(|l| render(&l.to_string())),
        }
    }

    /// The statement for `limit` (`None`: no limit), and whether it takes the limit as its
    /// last parameter.
    pub(crate) fn get(&self, limit: Option<i64>) -> (&str, bool) {
        match limit.and_then(|l| LITERAL_LIMITS.iter().position(|&x| x == l)) {
            Some(i) => (&self.literal[i], false),
            None => (&self.param, true),
        }
    }
}

/// Which of [`Queries::category`] serves a read with these filters.
pub(crate) fn category_variant(by_category: bool, correlation: bool, group: bool) -> usize {
    usize::from(by_category) | usize::from(correlation) << 1 | usize::from(group) << 2
}

impl Queries {
    /// The statements of schema `schema` (the raw name; quoted here).
    pub(crate) fn new(schema: &str) -> Self {
        let s = quote_ident(schema);
        let micros = |e: &str| format!("(extract(epoch FROM {e}) * 1000000)::int8");
        let category =
            std::array::from_fn(|v| category_sql(&s, v & 1 != 0, v & 2 != 0, v & 4 != 0));
        // A stream read has one good plan whatever the parameters (the stream index).
        let stream = |from: &str, order: &str| {
            ByLimit::new("$3::int8", |limit| {
                format!(
                    "SELECT {MESSAGE_COLUMNS} FROM {s}.messages \
                     WHERE stream_name = $1::text AND {from} >= $2::int8 \
                     ORDER BY {order} LIMIT {limit}"
                )
            })
        };
        Queries {
            append: format!(
                "SELECT o_position, o_global_position, o_replayed FROM {s}.eventodb_append(\
                 $1::text, $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
                 $7::int8, $8::text, $9::int8, $10::int8)"
            ),
            append_batch: format!(
                "SELECT o_append, o_position, o_global_position, o_replayed, o_error, o_detail \
                 FROM {s}.eventodb_append_batch($1::text[], $2::int4[], $3::text[], $4::text[], \
                 $5::text[], $6::text[], $7::text[], $8::int8[], $9::text[], $10::int8[], \
                 $11::int8[])"
            ),
            stream_from_position: stream("position", "position"),
            stream_from_global: stream("global_position", "position"),
            last: format!(
                "SELECT {MESSAGE_COLUMNS} FROM {s}.messages WHERE stream_name = $1::text \
                 ORDER BY position DESC LIMIT 1"
            ),
            last_of_type: format!(
                "SELECT {MESSAGE_COLUMNS} FROM {s}.messages \
                 WHERE stream_name = $1::text AND type = $2::text \
                 ORDER BY position DESC LIMIT 1"
            ),
            head: format!("SELECT coalesce(max(global_position), 0)::int8 FROM {s}.messages"),
            version: format!("SELECT version FROM {s}.streams WHERE stream_name = $1::text"),
            streams: format!(
                "SELECT stream_name, version, {} FROM {s}.streams \
                 WHERE stream_name >= $1::text COLLATE \"C\" \
                   AND starts_with(stream_name, $1::text) \
                   AND stream_name > $2::text COLLATE \"C\" \
                 ORDER BY stream_name COLLATE \"C\" LIMIT $3::int8",
                micros("last_time")
            ),
            categories: format!(
                "SELECT category, count(*)::int8, sum(message_count)::int8 FROM {s}.streams \
                 GROUP BY category ORDER BY category COLLATE \"C\""
            ),
            stats: format!(
                "SELECT coalesce(sum(message_count), 0)::int8, count(*)::int8, {} \
                 FROM {s}.streams",
                micros("max(last_time)")
            ),
            category,
            feed: format!(
                "SELECT t.oid, m.* FROM (SELECT to_regclass($3::text)::oid::int8 AS oid) t \
                 LEFT JOIN LATERAL (SELECT stream_name::text, position, global_position, \
                 {FENCE_COLUMN}, xid = '0'::xid8 FROM {s}.messages \
                 WHERE global_position > $1::int8 ORDER BY global_position LIMIT $2::int8) m \
                 ON true"
            ),
            messages_table: format!("{s}.messages"),
            fenced_max: format!(
                "SELECT to_regclass($1::text)::oid::int8, \
                 coalesce(max(global_position), 0)::int8 FROM {s}.messages \
                 WHERE xid < pg_snapshot_xmin(pg_current_snapshot())"
            ),
        }
    }
}

/// Category rows a member's read looks at before it considers jumping ahead by its streams.
const GROUP_PROBE: u32 = 256;

/// A category read: `$1` start, then the category, correlation and group size/member
/// parameters of the filters present, in that order, then the limit (NULL: none).
///
/// Every form has one good plan whatever the parameters, so each also comes with literal
/// limits (see [`LITERAL_LIMITS`]) and PostgreSQL keeps its generic plan. That needs care for
/// a category: with `category = $c AND global_position >= $1` the generic plan (which does not
/// know the category) filters the primary key by category when the namespace has few
/// categories, and walks the whole table for a small one (measured: 314 ms for a read of 100
/// that takes 0.3 ms on the category index). Written as the row comparison
/// `(category, global_position) >= ($c, $1) AND category <= $c` (the same rows) only the
/// category index can serve it, positioned at `($c, $1)`, in every plan.
fn category_sql(s: &str, by_category: bool, correlation: bool, group: bool) -> ByLimit {
    let mut n = 1;
    let mut next = || {
        n += 1;
        n
    };
    let category = by_category.then(&mut next);
    let correlation_param = correlation.then(&mut next);
    let group_params = group.then(|| (next(), next()));
    let limit_param = format!("${}::int8", next());

    match (category, group_params) {
        (Some(c), Some((size, member))) if !correlation => {
            ByLimit::new(&limit_param, |limit| member_sql(s, c, size, member, limit))
        }
        _ => ByLimit::new(&limit_param, |limit| {
            let mut sql = format!("SELECT {MESSAGE_COLUMNS}, {FENCE_COLUMN} FROM {s}.messages");
            let order = match category {
                // `category = $c AND global_position >= $1`, written so that only the category
                // index can serve it (see above).
                Some(c) => {
                    sql.push_str(&format!(
                        " WHERE (category, global_position) >= (${c}::text, $1::int8) \
                         AND category <= ${c}::text"
                    ));
                    "category, global_position"
                }
                None => {
                    sql.push_str(" WHERE global_position >= $1::int8");
                    "global_position"
                }
            };
            if let Some(c) = correlation_param {
                sql.push_str(&format!(" AND correlation = ${c}::text"));
            }
            if let Some((size, member)) = group_params {
                sql.push_str(&format!(" AND {}", member_filter("", size, member)));
            }
            sql.push_str(&format!(" ORDER BY {order} LIMIT {limit}"));
            sql
        }),
    }
}

/// A consumer-group member's read of category `$c` (parameter numbers given; `$1` is the
/// start).
///
/// Its next positions come from an index-only scan of (category, global_position) INCLUDE
/// (group_hash) (migration 005), which skips the other members' rows inside the index; only
/// the rows returned are read from the table. The category conditions are row comparisons
/// for the generic plan's sake (see [`category_sql`]).
///
/// When the first GROUP_PROBE rows after the start hold none of the member's, the scan begins
/// instead where the member's first stream begins, unless one of its streams began before the
/// start: the category's streams come from `streams` (indexed by category, migration 007), each
/// one's first message from one messages_stream probe, and that message's stored group_hash
/// says whether the stream is the member's (the same column the scan filters on, so the two
/// cannot disagree). Everything is one statement, so one snapshot: a stream whose messages are
/// visible has its streams row visible, and the jump cannot pass a message the fence would
/// otherwise return. (streams.stream_name is COLLATE "C", messages.stream_name is not: without
/// the cast the probe cannot use messages_stream and becomes a scan of the whole table per
/// member stream.)
fn member_sql(s: &str, c: usize, size: usize, member: usize, limit: &str) -> String {
    let mine = member_filter("", size, member);
    let mine_p = member_filter("p.", size, member);
    let mine_f = member_filter("f.", size, member);
    format!(
        "SELECT {MESSAGE_COLUMNS}, {FENCE_COLUMN} FROM {s}.messages \
         WHERE global_position = ANY (ARRAY(\
           SELECT global_position FROM {s}.messages \
           WHERE (category, global_position) >= (${c}::text, CASE \
             WHEN (SELECT count(*) = {GROUP_PROBE} AND count(*) FILTER (WHERE {mine_p}) = 0 \
                   FROM (SELECT group_hash FROM {s}.messages \
                         WHERE (category, global_position) >= (${c}::text, $1::int8) \
                         AND category <= ${c}::text \
                         ORDER BY category, global_position LIMIT {GROUP_PROBE}) p) \
             THEN greatest($1::int8, coalesce((\
               SELECT min(f.first) FROM {s}.streams st CROSS JOIN LATERAL (\
                 SELECT m.global_position AS first, m.group_hash FROM {s}.messages m \
                 WHERE m.stream_name = st.stream_name::varchar COLLATE \"default\" \
                 ORDER BY m.position LIMIT 1) f \
               WHERE st.category = ${c}::text AND {mine_f}), \
               9223372036854775807)) \
             ELSE $1::int8 END) \
           AND category <= ${c}::text AND {mine} \
           ORDER BY category, global_position LIMIT {limit})) \
         ORDER BY global_position"
    )
}

/// The consumer-group condition "the row's `group_hash` belongs to member `$member` of
/// `$size`", on the columns of table alias `prefix` (`""`, `"p."`, `"f."`).
///
/// It means `group_hash % size = member` (a NULL hash, a stream without a cardinal id, belongs
/// to no member), written as `abs(group_hash % size - member) < 1` on purpose. PostgreSQL has
/// no statistics for the expression and guesses an equality to hold for 0.5 % of rows (a pair
/// of inequalities forming a range, just as narrowly), so a page of 100 looked like it needed
/// the whole rest of the category, and was planned as a scan of all of it plus a sort (a
/// sequential scan in custom plans, a bitmap scan before the visibility map is set): 7–10 ms
/// on 16,000 messages instead of about 1, and growing with the category. A lone inequality is
/// guessed at a third of the rows, so the planner expects to stop early and walks the
/// category index in order, which is the right plan for a page whatever the group size.
fn member_filter(prefix: &str, size: usize, member: usize) -> String {
    format!("abs({prefix}group_hash % ${size}::int8 - ${member}::int8) < 1")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use eventodb_pg_cluster::PgCluster;
    use eventodb_store_tests::support::{append, msg, new_namespace, write};
    use tokio_postgres::NoTls;

    use super::*;
    use crate::{PostgresConfig, PostgresStore};

    /// A plain connection to `url`, and the schema of namespace `ns`.
    async fn client_and_schema(url: &str, ns: &str) -> (tokio_postgres::Client, String) {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
        tokio::spawn(connection);
        let schema: String = client
            .query_one(
                "SELECT schema_name FROM eventodb_store.namespaces WHERE id = $1",
                &[&ns],
            )
            .await
            .unwrap()
            .get(0);
        (client, schema)
    }

    /// The plan of `sql` (prepared, then explained with `args`) as text: the generic plan or a
    /// custom one, as the session's `plan_cache_mode` says.
    async fn prepared_plan(client: &tokio_postgres::Client, sql: &str, args: &[String]) -> String {
        client
            .batch_execute(&format!("DEALLOCATE ALL; PREPARE p AS {sql}"))
            .await
            .unwrap();
        let rows = client
            .query(&format!("EXPLAIN EXECUTE p({})", args.join(", ")), &[])
            .await
            .unwrap();
        rows.iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// PostgreSQL keeps generic plans for statements with literal limits; those plans do not
    /// know the category, and must still read a small category through the category index
    /// (never by filtering the primary key, which walks the whole table), and a stream
    /// through the stream index.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn generic_plans_read_through_the_right_index() {
        let url = PgCluster::shared().fresh_database();
        let store = PostgresStore::connect(PostgresConfig::new(&url))
            .await
            .unwrap();
        let ns = new_namespace(&store, "plans").await;
        for i in 0..20 {
            let batch = (0..100).map(|_| msg("Big", "{}")).collect();
            append(&store, &ns, &format!("big-{i}"), batch, None)
                .await
                .unwrap();
        }
        for _ in 0..3 {
            write(&store, &ns, "small-1").await;
        }
        let (client, schema) = client_and_schema(&url, &ns).await;
        client
            .batch_execute(&format!(
                "ANALYZE {}.messages; SET plan_cache_mode = force_generic_plan",
                quote_ident(&schema)
            ))
            .await
            .unwrap();
        let q = Queries::new(&schema);

        for variant in 0..8 {
            let (by_category, correlation, group) =
                (variant & 1 != 0, variant & 2 != 0, variant & 4 != 0);
            for limit in [Some(100), Some(7), None] {
                let (sql, limit_param) = q.category[variant].get(limit);
                let mut args = vec!["1".to_owned()];
                if by_category {
                    args.push("'small'".into());
                }
                if correlation {
                    args.push("'other'".into());
                }
                if group {
                    args.extend(["4".into(), "0".into()]);
                }
                if limit_param {
                    args.push(limit.map_or("NULL".into(), |l| l.to_string()));
                }
                let plan = prepared_plan(&client, sql, &args).await;
                if by_category {
                    assert!(
                        plan.contains("messages_category_group")
                            && !plan.contains("Filter: (category"),
                        "variant {variant}, limit {limit:?}: {plan}"
                    );
                }
            }
        }
        for statement in [&q.stream_from_position, &q.stream_from_global] {
            let (sql, _) = statement.get(Some(100));
            let plan = prepared_plan(&client, sql, &["'small-1'".into(), "0".into()]).await;
            assert!(plan.contains("messages_stream"), "{plan}");
        }
    }

    /// A consumer-group member's page of 100 from a category of 16,000 messages walks the
    /// category index in order and stops, in custom and generic plans, before the visibility
    /// map is set (analyzed, not yet vacuumed) and after: never a scan of the whole rest of
    /// the category plus a sort (what an equality on `group_hash % size` was planned as).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn member_reads_walk_the_category_index_and_stop() {
        let url = PgCluster::shared().fresh_database();
        let store = PostgresStore::connect(PostgresConfig::new(&url))
            .await
            .unwrap();
        let ns = new_namespace(&store, "members").await;
        let (client, schema) = client_and_schema(&url, &ns).await;
        let messages = format!("{}.messages", quote_ident(&schema));
        // No autovacuum may set the visibility map behind the test's back.
        client
            .batch_execute(&format!(
                "ALTER TABLE {messages} SET (autovacuum_enabled = false)"
            ))
            .await
            .unwrap();
        for round in 0..16 {
            for stream in 0..100 {
                let batch = (0..10).map(|_| msg("Big", "{}")).collect();
                append(&store, &ns, &format!("big-{stream}"), batch, None)
                    .await
                    .unwrap_or_else(|e| panic!("round {round}: {e}"));
            }
        }
        let q = Queries::new(&schema);
        let (sql, _) = q.category[category_variant(true, false, true)].get(Some(100));
        // Analyzed but not vacuumed is the state of a table after a burst of inserts: the
        // statistics are refreshed after a tenth of the table changes, the visibility map
        // only after a fifth.
        for (state, maintenance) in [("analyzed", "ANALYZE"), ("vacuumed", "VACUUM ANALYZE")] {
            client
                .batch_execute(&format!("{maintenance} {messages}"))
                .await
                .unwrap();
            for mode in ["force_custom_plan", "force_generic_plan"] {
                client
                    .batch_execute(&format!("SET plan_cache_mode = {mode}"))
                    .await
                    .unwrap();
                for start in ["1", "8000"] {
                    let args = [start.into(), "'big'".into(), "4".into(), "1".into()];
                    let plan = prepared_plan(&client, sql, &args).await;
                    assert!(
                        plan.contains("messages_category_group")
                            && !plan.contains("Seq Scan on messages")
                            && !plan.contains("Bitmap Heap Scan on messages messages")
                            && !plan
                                .lines()
                                .any(|l| l.contains("Sort Key") && l.contains("category")),
                        "{state}, {mode}, from {start}: {plan}"
                    );
                }
            }
        }
    }
}
