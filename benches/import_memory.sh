#!/usr/bin/env bash
# Import memory and namespace-figure timings (issue 5): generates 1,000,000 NDJSON records
# (about 200 MB) in 10,000 streams, imports them with `eventodb import` into a release server
# on file-backed SQLite while sampling the server's RSS (VmRSS) every 100 ms, then times
# ns.info, ns.categories and one page of ns.streams on that namespace.
#
#   benches/import_memory.sh            # RECORDS=1000000 STREAMS=10000 by default
#
# Figures go to docs/BENCHMARKS.md ("Import memory").
set -euo pipefail
cd "$(dirname "$0")/.."

RECORDS=${RECORDS:-1000000}
STREAMS=${STREAMS:-10000}
PORT=${PORT:-18090}
TOKEN=ns_ZGVmYXVsdA_0000000000000000000000000000000000000000000000000000000000000000
BIN=${CARGO_TARGET_DIR:-target}/release/eventodb

cargo build --release -p eventodb
SCRATCH=$(mktemp -d)
SERVER_PID=
SAMPLER_PID=
cleanup() {
    if [ -n "$SAMPLER_PID" ]; then kill "$SAMPLER_PID" 2>/dev/null || true; fi
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$SCRATCH"
}
trap cleanup EXIT

echo "generating $RECORDS records in $STREAMS streams..."
awk -v n="$RECORDS" -v s="$STREAMS" 'BEGIN {
    for (g = 1; g <= n; g++) {
        k = g % s; p = int((g - 1) / s);
        printf "{\"id\":\"0191f0c2-7777-7e00-8000-%012x\",\"stream\":\"cat%d-%d\",\"type\":\"Happened\",\"pos\":%d,\"gpos\":%d,\"data\":{\"n\":%d,\"sku\":\"SKU-%d\",\"note\":\"some payload text to make the record about 200 bytes\"},\"meta\":null,\"time\":\"2025-03-02T08:15:30Z\"}\n", g, k % 20, k, p, g, g, k
    }
}' > "$SCRATCH/in.ndjson"
SIZE=$(stat -c %s "$SCRATCH/in.ndjson")
echo "input: $SIZE bytes"

"$BIN" serve --port "$PORT" --data-dir "$SCRATCH/data" --token "$TOKEN" --log-level warn > "$SCRATCH/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do curl -sf "localhost:$PORT/health" >/dev/null && break; sleep 0.1; done

rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
echo "server RSS before: $(rss) kB"
( while kill -0 "$SERVER_PID" 2>/dev/null; do rss >> "$SCRATCH/rss"; sleep 0.1; done ) &
SAMPLER_PID=$!

START=$(date +%s.%N)
"$BIN" import --url "http://127.0.0.1:$PORT" --token "$TOKEN" --input "$SCRATCH/in.ndjson" 2> "$SCRATCH/import.log"
END=$(date +%s.%N)
kill "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=
tr '\r' '\n' < "$SCRATCH/import.log" | tail -1
echo "import wall time: $(echo "$END - $START" | bc) s"
echo "server RSS peak during import: $(sort -n "$SCRATCH/rss" | tail -1) kB; after: $(rss) kB"

rpc() { curl -s -o /dev/null -w '%{time_total}' "localhost:$PORT/rpc" -H "Authorization: Bearer $TOKEN" -d "$1"; }
for call in '["ns.info","default"]' '["ns.categories"]' '["ns.streams",{"limit":100}]' '["ns.streams",{"prefix":"cat7-","cursor":"cat7-5007","limit":100}]'; do
    rpc "$call" >/dev/null # warm
    best=
    for _ in 1 2 3 4 5; do t=$(rpc "$call"); if [ -z "$best" ] || (( $(echo "$t < $best" | bc) )); then best=$t; fi; done
    echo "$call: best of 5 $(echo "$best * 1000" | bc) ms (curl total, including connection)"
done
curl -s "localhost:$PORT/rpc" -H "Authorization: Bearer $TOKEN" -d '["ns.info","default"]'; echo
