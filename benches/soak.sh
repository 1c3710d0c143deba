#!/usr/bin/env bash
# Soak: mixed reads and writes (EventoDB's profile) plus SUBSCRIBERS category subscriptions
# against one durable SQLite server for DURATION seconds, sampling the server's RSS every
# SAMPLE seconds. Bounded in time, loopback only. Prints errors, missed/duplicated pokes and
# memory after warm-up against the end and the peak (issue 6: no growth beyond 10 %).
#
#   benches/soak.sh                         # 900 s, 500 subscribers, 300 s warm-up
#   DURATION=60 WARMUP=20 SUBSCRIBERS=100 benches/soak.sh
#
# Warm-up: the server's memory grows for the first few minutes as the SQLite page caches (the
# writer's, the checkpointer's and up to four readers', 2 MB each by default) fill while the
# database grows; growth is judged after that, over the following 10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-900}
SUBSCRIBERS=${SUBSCRIBERS:-500}
WARMUP=${WARMUP:-300}
SAMPLE=${SAMPLE:-10}
TOKEN=ns_ZGVmYXVsdA_$(printf '0%.0s' $(seq 64))

cargo build --release -q -p eventodb
BIN=target/release/eventodb
WORK=$(mktemp -d)
SERVER=
cleanup() {
  [ -n "$SERVER" ] && kill -TERM "$SERVER" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ulimit -n 8192 2>/dev/null || true

"$BIN" serve --host 127.0.0.1 --port 0 --data-dir "$WORK/data" --token "$TOKEN" >"$WORK/server.log" 2>&1 &
SERVER=$!
PORT=
for _ in $(seq 100); do
  PORT=$(grep -o 'listening on [0-9.]*:[0-9]*' "$WORK/server.log" | head -1 | sed 's/.*://') || true
  [ -n "$PORT" ] && break
  sleep 0.1
done
[ -n "$PORT" ] || { cat "$WORK/server.log"; echo "server did not start" >&2; exit 1; }
URL=http://127.0.0.1:$PORT
echo "soak: server pid $SERVER on $URL, $DURATION s, $SUBSCRIBERS subscribers, RSS every $SAMPLE s"

"$BIN" bench --url "$URL" --token "$TOKEN" subscribe --subscribers "$SUBSCRIBERS" --rate 20 \
  --duration "$DURATION" --warmup 1 --json >"$WORK/subscribe.json" 2>"$WORK/subscribe.err" &
SUB=$!
"$BIN" bench --url "$URL" --token "$TOKEN" mixed \
  --duration "$DURATION" --warmup 1 --json >"$WORK/mixed.json" 2>"$WORK/mixed.err" &
MIX=$!

START=$(date +%s)
: >"$WORK/rss.csv"
while kill -0 "$SUB" 2>/dev/null || kill -0 "$MIX" 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status")
  echo "$(( $(date +%s) - START )),$rss" >>"$WORK/rss.csv"
  sleep "$SAMPLE"
done
wait "$SUB" || { cat "$WORK/subscribe.err" >&2; exit 1; }
wait "$MIX" || { cat "$WORK/mixed.err" >&2; exit 1; }

python3 - "$WORK" "$WARMUP" <<'PY'
import json, sys
work, warmup = sys.argv[1], int(sys.argv[2])
def report(name):
    with open(f"{work}/{name}.json") as f:
        d = json.load(f)
    for step in d["steps"]:
        extra = {k: v for k, v in step.items() if k in ("pokes", "missed", "duplicated")}
        print(f"{name}: {step['ops_per_sec']:.0f} ops/s, errors {step['errors']}, "
              f"p99 {step['latency_ms']['p99']:.2f} ms {extra if extra else ''}")
        for k in ("subscribe",):
            if k in step:
                print(f"  {step[k]}")
report("mixed")
report("subscribe")
rows = [tuple(map(int, l.split(","))) for l in open(f"{work}/rss.csv") if l.strip()]
after = [r for r in rows if r[0] >= warmup] or rows
base, peak, end = after[0][1], max(r[1] for r in after), after[-1][1]
print(f"RSS KiB: first after {warmup} s warm-up {base}, peak {peak}, end {end}; "
      f"growth to peak {100.0 * (peak - base) / base:+.1f} %, to end {100.0 * (end - base) / base:+.1f} %")
print("samples (s,KiB):", " ".join(f"{t}:{k}" for t, k in rows))
PY
