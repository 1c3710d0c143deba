#!/usr/bin/env bash
# eventodb on PostgreSQL against Message DB's own functions, on the same throw-away PostgreSQL
# in the same run (issue 4, "Benchmarks"). Used by `make bench-postgres` (and `make bench`);
# figures go to docs/BENCHMARKS.md ("PostgreSQL").
#
#   benches/postgres.sh
#   DURATION=5 MESSAGES=200000 benches/postgres.sh
#
# What it does:
#   1. starts PostgreSQL 15 in a temporary directory (as the `postgres` user when run as root),
#      Unix socket only, durable (fsync on, synchronous_commit on), sized for the box;
#   2. starts `eventodb serve --db-url` on it (namespace `default`) and installs the baseline,
#      Message DB's original functions (sql/postgres/bench/message_db.sql, schema message_db);
#   3. loads MESSAGES messages (default 1,000,000) into category `big` (streams big-s0 …
#      big-s<STREAMS-1>, round-robin) of both schemas with INSERT … SELECT generate_series —
#      in ours with every column the server would write (category, group_hash through the
#      schema's own function, xid 0) and the streams summary;
#   4. measures, each for DURATION seconds (pgbench for the baseline, `eventodb bench` over
#      HTTP for the server): (a) 64 clients writing their own streams of one category;
#      (b) consumer-group read (member 0 of 4) of 100 from the start of `big`; (c) stream read
#      of 100 and category read of 100 from a random position. For (c) the server's own SQL
#      statements run directly (pgbench) are a second baseline.
#
# Environment: DURATION, WARMUP (seconds), MESSAGES, STREAMS, SPARSE_STREAMS and SPARSE_PER
# (category blocks: 20 streams of 10,000, member 0 last), READ_CLIENTS (default 16),
# WRITE_CLIENTS (default 64), OUT (JSON/text results), PG_BIN, COMMIT (label), SERVER_ARGS
# (extra `eventodb serve` flags, e.g. "--pg-pool-size 4"), KEEP (non-empty: leave the database
# running at the end, to look at plans), ONLY (measurement groups to run, e.g. "a c").
# Generator, server and database share the machine's cores; nothing is pinned.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-1}
MESSAGES=${MESSAGES:-1000000}
STREAMS=${STREAMS:-10000}
SPARSE_STREAMS=${SPARSE_STREAMS:-20}
SPARSE_PER=${SPARSE_PER:-10000}
READ_CLIENTS=${READ_CLIENTS:-16}
WRITE_CLIENTS=${WRITE_CLIENTS:-64}
PG_BIN=${PG_BIN:-${EVENTODB_PG_BIN:-/usr/lib/postgresql/15/bin}}
OUT=${OUT:-target/bench-results/postgres-$(date +%Y%m%d-%H%M%S)}
TOKEN=ns_ZGVmYXVsdA_0000000000000000000000000000000000000000000000000000000000000000
BIN=${CARGO_TARGET_DIR:-target}/release/eventodb
PGBENCH=$PG_BIN/pgbench
[ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench || true)
if [ -z "$PGBENCH" ] || [ ! -x "$PG_BIN/initdb" ]; then
    echo "needs PostgreSQL 15 server programs and pgbench in $PG_BIN (apt-get install postgresql-15 postgresql-contrib)" >&2
    exit 1
fi

cargo build --release -p eventodb
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

SCRATCH=$(mktemp -d /tmp/eventodb-pgbench.XXXXXX)
chmod 755 "$SCRATCH"
PGDATA=$SCRATCH/data
SOCK=$SCRATCH/sock
mkdir -p "$SOCK" "$SCRATCH/sql"
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = 0 ]; then chown -R postgres "$SCRATCH"; fi

SERVER_PID=
PG_STARTED=0
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    if [ -n "${KEEP:-}" ] && [ "$PG_STARTED" = 1 ]; then
        echo "KEEP: PostgreSQL left running: psql -h $SOCK -U postgres bench; stop with: pg_ctl -D $PGDATA stop (as postgres), then rm -rf $SCRATCH"
        return
    fi
    if [ "$PG_STARTED" = 1 ]; then as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$SCRATCH"
}
trap cleanup EXIT

# -- 1. PostgreSQL, durable, tuned for this box ---------------------------------------------
MEM_MB=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
SHARED_MB=$((MEM_MB / 8)); [ "$SHARED_MB" -gt 4096 ] && SHARED_MB=4096
CACHE_MB=$((MEM_MB / 2))
as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C >"$SCRATCH/initdb.log"
cat >>"$PGDATA/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$SOCK'
max_connections = 200
shared_buffers = ${SHARED_MB}MB
effective_cache_size = ${CACHE_MB}MB
work_mem = 16MB
maintenance_work_mem = 512MB
fsync = on
synchronous_commit = on
full_page_writes = on
wal_level = replica
wal_buffers = 16MB
max_wal_size = 4GB
checkpoint_timeout = 15min
random_page_cost = 1.1
jit = off
EOF
as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$SCRATCH/postgres.log" -w start >/dev/null
PG_STARTED=1
PSQL=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -U postgres)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE bench"
URL="postgres:///bench?host=$SOCK&user=postgres"

# -- 2. the server and the baseline ---------------------------------------------------------
LOG=$SCRATCH/server.log
"$BIN" serve --host 127.0.0.1 --port 0 --token "$TOKEN" --log-level info --db-url "$URL" ${SERVER_ARGS:-} >"$LOG" 2>&1 &
SERVER_PID=$!
tries=0
until grep -q "listening on" "$LOG"; do
    tries=$((tries + 1))
    if [ "$tries" -gt 300 ] || ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "server did not start:" >&2; cat "$LOG" >&2; exit 1
    fi
    sleep 0.1
done
ADDR=$(grep -o "listening on [^ \"]*" "$LOG" | head -1 | sed 's/listening on //')
HTTP="http://$ADDR"
"${PSQL[@]}" -d bench -f sql/postgres/bench/message_db.sql
SCHEMA=$("${PSQL[@]}" -d bench -At -c "SELECT schema_name FROM eventodb_store.namespaces WHERE id = 'default'")
[ -n "$SCHEMA" ] || { echo "namespace default not found" >&2; exit 1; }

# -- 3. the data set --------------------------------------------------------------------------
echo "== loading $MESSAGES messages into category big ($STREAMS streams) of $SCHEMA and message_db"
T0=$(date +%s)
"${PSQL[@]}" -d bench <<SQL
INSERT INTO message_db.messages (global_position, position, time, stream_name, type, data, metadata, id)
SELECT g + 1, g / $STREAMS, now() AT TIME ZONE 'utc', 'big-s' || (g % $STREAMS), 'Loaded',
       jsonb_build_object('n', g), NULL, gen_random_uuid()
FROM generate_series(0, $MESSAGES - 1) AS g;
SELECT setval('message_db.messages_global_position_seq', $MESSAGES);

-- Category blocks: SPARSE_STREAMS streams of SPARSE_PER messages each, written one stream after
-- another, consumer-group member 0's streams last, so a member-0 read from the start must pass
-- over every other member's messages first (the shape where hashing per row hurts).
CREATE TEMP TABLE block_order AS
SELECT s, row_number() OVER (ORDER BY ("$SCHEMA".group_hash('blocks-s' || s) % 4 = 0), s) - 1 AS slot
FROM generate_series(0, $SPARSE_STREAMS - 1) AS s;
INSERT INTO message_db.messages (global_position, position, time, stream_name, type, data, metadata, id)
SELECT $MESSAGES + b.slot * $SPARSE_PER + i + 1, i, now() AT TIME ZONE 'utc', 'blocks-s' || b.s,
       'Loaded', jsonb_build_object('n', i), NULL, gen_random_uuid()
FROM block_order b, generate_series(0, $SPARSE_PER - 1) AS i;
SELECT setval('message_db.messages_global_position_seq', $MESSAGES + $SPARSE_STREAMS * $SPARSE_PER);
SELECT 'member 0 of 4 starts at row ' || min(global_position) - $MESSAGES AS blocks
FROM message_db.messages
WHERE stream_name LIKE 'blocks-%' AND "$SCHEMA".group_hash(stream_name) % 4 = 0;

INSERT INTO "$SCHEMA".messages
    (id, stream_name, type, position, global_position, data, metadata, time,
     category, group_hash, correlation, xid)
SELECT id, stream_name, type, position, global_position, data, metadata, time,
       "$SCHEMA".category(stream_name), "$SCHEMA".group_hash(stream_name), NULL, '0'
FROM message_db.messages ORDER BY global_position;
SELECT setval('"$SCHEMA".messages_global_position_seq', $MESSAGES + $SPARSE_STREAMS * $SPARSE_PER);
INSERT INTO "$SCHEMA".streams (stream_name, category, version, message_count, last_time)
SELECT stream_name, "$SCHEMA".category(stream_name), max(position), count(*), max(time)
FROM "$SCHEMA".messages GROUP BY stream_name;
SQL
"${PSQL[@]}" -d bench -c "VACUUM ANALYZE"
echo "   loaded in $(( $(date +%s) - T0 )) s"

# -- 4. measurements ---------------------------------------------------------------------------
RESULTS=$OUT/results.txt
: >"$RESULTS"

# ONLY: a space-separated subset of the measurement groups a b b' c (default: all).
want() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]; }

pgb() { # $1 = name, $2 = clients, $3 = script text
    local name=$1 clients=$2 file=$SCRATCH/sql/$1.sql
    printf '%s\n' "$3" >"$file"
    echo "-- pgbench $name: $clients clients, ${DURATION} s"
    "$PGBENCH" -n -h "$SOCK" -U postgres -M prepared -c "$clients" -j 2 -T "$DURATION" \
        -f "$file" bench >"$OUT/$name.txt" 2>&1 || { cat "$OUT/$name.txt" >&2; exit 1; }
    local tps lat
    tps=$(awk '/^tps = / {print $3; exit}' "$OUT/$name.txt")
    lat=$(awk '/^latency average/ {print $4; exit}' "$OUT/$name.txt")
    echo "   $tps per s, latency average $lat ms"
    echo "$name $tps $lat" >>"$RESULTS"
}

http() { # $1 = name, rest = eventodb bench arguments
    local name=$1; shift
    echo "-- eventodb bench $*"
    "$BIN" bench --url "$HTTP" --token "$TOKEN" --duration "$DURATION" --warmup "$WARMUP" \
        --quiet --json "$@" >"$OUT/$name.json"
    python3 - "$OUT/$name.json" "$name" "$RESULTS" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["steps"][0]
l = s["latency_ms"]
print(f'   {s["ops_per_sec"]:.1f} per s, p50 {l["p50"]:.3f} p99 {l["p99"]:.3f} ms, errors {s["errors"]}')
with open(sys.argv[3], "a") as f:
    f.write(f'{sys.argv[2]} {s["ops_per_sec"]:.1f} {l["p50"]:.3f} {s["errors"]}\n')
PY
}

SET=(--dataset big --stream-count "$STREAMS" --messages "$MESSAGES" --clients "$READ_CLIENTS")
# The server's own columns (crates/eventodb-store-postgres/src/queries.rs); pgbench asks for
# text, the server for the binary form of id and time.
COLS="id, stream_name::text, type::text, position, global_position, data::text, metadata::text, time"

echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB, kernel $(uname -r)"
echo "commit: ${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}; PostgreSQL $("${PSQL[@]}" -d bench -At -c 'SHOW server_version'), shared_buffers ${SHARED_MB}MB, fsync on, synchronous_commit on; generator, server and database share the CPUs"

# (a) writes: 64 clients, each its own stream of one category
if want a; then
pgb mdb-write "$WRITE_CLIENTS" "SELECT message_db.write_message(gen_random_uuid()::text, 'mdbw-' || :client_id, 'Bench', '{\"n\":1}'::jsonb);"
http our-write write --clients "$WRITE_CLIENTS" --streams own
fi

# (b) consumer group, member 0 of 4, 100 from the start of the category
if want b; then
pgb mdb-group "$READ_CLIENTS" "SELECT * FROM message_db.get_category_messages('big', 1, 100, NULL, 0, 4);"
http our-group read-category "${SET[@]}" --consumer-group 4 --from-start
fi

# (b') the same on category blocks, where member 0's first message lies deep in the category
if want "b'"; then
pgb mdb-group-sparse "$READ_CLIENTS" "SELECT * FROM message_db.get_category_messages('blocks', 1, 100, NULL, 0, 4);"
http our-group-sparse read-category --dataset blocks --stream-count "$SPARSE_STREAMS" \
    --messages "$((SPARSE_STREAMS * SPARSE_PER))" --clients "$READ_CLIENTS" --consumer-group 4 --from-start
fi

# (c) stream read of 100; category read of 100 from a random position
if want c; then
pgb mdb-stream "$READ_CLIENTS" "\\set s random(0, $((STREAMS - 1)))
SELECT * FROM message_db.get_stream_messages('big-s' || :s, 0, 100);"
pgb sql-stream "$READ_CLIENTS" "\\set s random(0, $((STREAMS - 1)))
SELECT $COLS FROM \"$SCHEMA\".messages WHERE stream_name = 'big-s' || :s AND position >= 0 ORDER BY position LIMIT 100;"
http our-stream read-stream "${SET[@]}"
pgb mdb-category "$READ_CLIENTS" "\\set p random(1, $((MESSAGES - 100)))
SELECT * FROM message_db.get_category_messages('big', :p, 100);"
pgb sql-category "$READ_CLIENTS" "\\set p random(1, $((MESSAGES - 100)))
SELECT $COLS, CASE WHEN xid < (SELECT pg_snapshot_xmin(pg_current_snapshot())) THEN NULL ELSE xid::text END FROM \"$SCHEMA\".messages WHERE global_position >= :p AND category = 'big' ORDER BY global_position LIMIT 100;"
http our-category read-category "${SET[@]}"
fi

python3 - "$RESULTS" <<'PY'
import sys
r = {l.split()[0]: float(l.split()[1]) for l in open(sys.argv[1]) if l.strip()}
def row(label, ours, base, target):
    if ours not in r or base not in r:
        return
    ratio = r[ours] / r[base]
    print(f'{label:<44} {r[ours]:>10.1f} {r[base]:>10.1f} {ratio:>8.2f}x  (target >= {target}x)')
print(f'{"":<44} {"ours/s":>10} {"base/s":>10} {"ratio":>9}')
row("(a) write, own streams, one category", "our-write", "mdb-write", 3)
row("(b) consumer group 0/4, 100 from start", "our-group", "mdb-group", 100)
row("(b') same, member 0 deep in category blocks", "our-group-sparse", "mdb-group-sparse", 100)
row("(c) stream.get 100 vs Message DB function", "our-stream", "mdb-stream", 0.7)
row("(c) stream.get 100 vs our SQL direct", "our-stream", "sql-stream", 0.7)
row("(c) category.get 100 vs Message DB function", "our-category", "mdb-category", 0.7)
row("(c) category.get 100 vs our SQL direct", "our-category", "sql-category", 0.7)
PY
echo "results in $OUT"
