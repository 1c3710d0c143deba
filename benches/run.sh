#!/usr/bin/env bash
# The benchmark set of ../shared/docs/BENCHMARKING.md against our own server, with our own
# load generator (`eventodb bench`). Used by `make bench`; figures go to docs/BENCHMARKS.md.
#
#   benches/run.sh                 # durable SQLite files, then test mode (in-memory)
#   MODES=durable DURATION=5 benches/run.sh
#
# Environment: MODES (durable and/or test), DURATION and WARMUP (seconds per run),
# OUT (directory for the JSON reports; default target/bench-results/<time>), COMMIT (label).
#
# The server and the generator share the machine's cores. Runs are unpinned, except the
# single-connection write and the bare SQLite baseline it is compared with. Those run on the
# CPU that takes the disk's interrupts (DISK_CPU, found in /proc/interrupts): an fsync's
# completion wakes the syncing thread there, and a writer on the other CPU pays a cross-CPU
# wake-up per commit (measured here: bare SQLite 1 per transaction 3,150/s on that CPU,
# 2,450/s on the other, p99 0.65 vs 1.45 ms). The single-connection write runs twice: server
# and generator on that CPU (`write-1`, the figure compared with the bare database pinned the
# same way), and split, server there and generator on another CPU (`write-1-split`, a
# cross-core round trip every time). Set PIN=0 to never pin.
#
# Two floors are measured with the same generator before our server: the bare databases and
# fan-out above, and the HTTP floor (benches/bare_http.rs: hyper, serde_json and rusqlite with
# each request done inline, nothing else), for the single durable client (pinned like ours) and
# for the in-memory mixed profile. The report ends with our figures as ratios to both.
set -euo pipefail
cd "$(dirname "$0")/.."

MODES=${MODES:-"durable test"}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-1}
PIN=${PIN:-1}
# The CPU with the most block-device interrupts (virtio, NVMe, AHCI, SCSI); 0 when none is found.
disk_cpu() {
    awk 'NR == 1 { n = NF; next }
         /-req|nvme|ahci|blkif|scsi|ata_/ { for (i = 2; i <= n + 1; i++) s[i - 2] += $i }
         END { best = 0; for (c in s) if (s[c] > s[best]) best = c; print best }' /proc/interrupts 2>/dev/null || echo 0
}
OUT=${OUT:-target/bench-results/$(date +%Y%m%d-%H%M%S)}
TOKEN=ns_ZGVmYXVsdA_0000000000000000000000000000000000000000000000000000000000000000
BIN=${CARGO_TARGET_DIR:-target}/release/eventodb

cargo build --release -p eventodb
cargo bench -q --no-run --bench bare_sqlite --bench bare_fanout
# The HTTP floor is a server of its own (benches/bare_http.rs), started below like ours.
FLOOR_BIN=$(cargo bench --no-run --bench bare_http 2>&1 | sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -1)
if [ ! -x "${FLOOR_BIN:-}" ]; then echo "cannot find the bare_http bench executable" >&2; exit 1; fi
mkdir -p "$OUT"
CPUS=$(nproc)
if [ "$PIN" = 1 ] && [ "$CPUS" -ge 2 ] && command -v taskset >/dev/null; then CAN_PIN=1; else CAN_PIN=0; fi
DISK_CPU=${DISK_CPU:-$(disk_cpu)}
# A CPU this process may not use (a cgroup or affinity limit) falls back to 0.
if [ "$DISK_CPU" -ge "$CPUS" ]; then DISK_CPU=0; fi
OTHER_CPU=$(( (DISK_CPU + 1) % CPUS ))
BARE_PREFIX=
if [ "$CAN_PIN" = 1 ]; then BARE_PREFIX="taskset -c $DISK_CPU"; fi
# The bare database doing the same work first, in the same sitting (benches/bare_sqlite.rs).
echo "== bare SQLite (rusqlite, no server), ${DURATION} s per measurement${BARE_PREFIX:+, pinned to CPU $DISK_CPU}"
$BARE_PREFIX cargo bench -q --bench bare_sqlite -- --seconds "$DURATION" --json "$OUT/bare.json"
# 1,000 subscribers need 1,000 sockets on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# The floor of poke latency: loopback TCP and tokio alone fanning one event out to N
# connections (benches/bare_fanout.rs).
echo "== bare fan-out (tokio + loopback TCP, no server), ${DURATION} s per size"
cargo bench -q --bench bare_fanout -- --seconds "$DURATION" --json "$OUT/bare-fanout.json"

SERVER_PID=
GEN_PREFIX=
SCRATCH=$(mktemp -d)
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$SCRATCH"
}
trap cleanup EXIT

# Waits until the server started as $SERVER_PID prints "listening on ADDR" to log $1; sets URL.
wait_listening() {
    local tries=0
    until grep -q "listening on" "$1"; do
        tries=$((tries + 1))
        if [ "$tries" -gt 300 ] || ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "server did not start:" >&2; cat "$1" >&2; exit 1
        fi
        sleep 0.1
    done
    URL="http://$(grep -o "listening on [^ \"]*" "$1" | head -1 | sed 's/listening on //')"
}

start_server() { # $1 = durable | test
    local log="$SCRATCH/server-$1.log"
    local flags=(--host 127.0.0.1 --port 0 --token "$TOKEN" --log-level info)
    if [ "$1" = durable ]; then
        flags+=(--data-dir "$SCRATCH/data")
    else
        flags+=(--test-mode)
    fi
    "$BIN" serve "${flags[@]}" >"$log" 2>&1 &
    SERVER_PID=$!
    wait_listening "$log"
    IDLE_RSS=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
    echo "== $1: server pid $SERVER_PID at $URL, idle RSS ${IDLE_RSS} KiB"
    echo "{\"mode\":\"$1\",\"idle_rss_kib\":$IDLE_RSS}" >"$OUT/$1-idle.json"
}

# The HTTP floor (benches/bare_http.rs): the thinnest JSON-RPC server over the same SQLite,
# each request run inline on the tokio worker that read it. $1 = durable | memory.
start_floor() {
    local log="$SCRATCH/floor-$1.log"
    "$FLOOR_BIN" --bench --mode "$1" --seconds $((4 * (DURATION + WARMUP) + 30)) >"$log" 2>&1 &
    SERVER_PID=$!
    wait_listening "$log"
    echo "== HTTP floor ($1): pid $SERVER_PID at $URL"
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

bench() { # $1 = mode, $2 = run name, rest = bench arguments
    local mode=$1 name=$2; shift 2
    echo "-- $mode / $name: eventodb bench $*"
    $GEN_PREFIX "$BIN" bench --url "$URL" --token "$TOKEN" --server-pid "$SERVER_PID" \
        --duration "$DURATION" --warmup "$WARMUP" --quiet --json "$@" >"$OUT/$mode-$name.json"
    python3 - "$OUT/$mode-$name.json" <<'PY' 2>/dev/null || cat "$OUT/$mode-$name.json"
import json, sys
r = json.load(open(sys.argv[1]))
for s in r["steps"]:
    l = s["latency_ms"]
    line = (f'   {s["ops_per_sec"]:>10.1f} ops/s  p50 {l["p50"]:.3f}  p95 {l["p95"]:.3f}  '
            f'p99 {l["p99"]:.3f}  p99.9 {l["p99_9"]:.3f}  max {l["max"]:.3f} ms  errors {s["errors"]}')
    if "server_rss_kib" in s:
        line += f'  rss peak {s["server_rss_kib"]["peak"]} KiB'
    print(line)
    if "pokes" in s:
        p = s["pokes"]
        print(f'   pokes expected {p["expected"]} received {p["received"]} missed {p["missed"]} '
              f'duplicated {p["duplicated"]} before-ack {p["before_ack"]}; '
              f'RSS {p["rss_before_subscribing_kib"]} -> {p["rss_idle_subscribed_kib"]} KiB, '
              f'{p["bytes_per_idle_subscriber"]} B per idle subscriber')
        f = s["poke_latency_from_send_ms"]
        print(f'   poke latency from the write request: p50 {f["p50"]:.3f} p99 {f["p99"]:.3f} '
              f'p99.9 {f["p99_9"]:.3f} max {f["max"]:.3f} ms')
PY
}

pinned_bench() { # $1 = mode, $2 = run name, $3 = generator CPU, rest = bench arguments
    local mode=$1 name=$2 gen_cpu=$3; shift 3
    if [ "$CAN_PIN" = 1 ]; then
        taskset -a -p -c "$DISK_CPU" "$SERVER_PID" >/dev/null
        echo "   (pinned: server on CPU $DISK_CPU, which takes the disk's interrupts; generator on CPU $gen_cpu)"
        GEN_PREFIX="taskset -c $gen_cpu"
        bench "$mode" "$name" "$@"
        GEN_PREFIX=
        taskset -a -p -c "0-$((CPUS - 1))" "$SERVER_PID" >/dev/null
    else
        bench "$mode" "$name" "$@"
    fi
}

echo "machine: $CPUS CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB, kernel $(uname -r)"
echo "commit: ${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}; generator and server share the CPUs; disk interrupts on CPU $DISK_CPU"
# The floor with the same generator, pinned the same way: 1 durable client, and the mixed
# profile in memory.
for mode in $MODES; do
    case $mode in
        durable)
            start_floor durable
            pinned_bench floor-durable write-1 "$DISK_CPU" write --clients 1
            stop_server ;;
        test)
            start_floor memory
            bench floor-memory mixed mixed
            stop_server ;;
    esac
done
for mode in $MODES; do
    start_server "$mode"
    pinned_bench "$mode" write-1 "$DISK_CPU" write --clients 1
    pinned_bench "$mode" write-1-split "$OTHER_CPU" write --clients 1
    bench "$mode" write-16 write --clients 16
    bench "$mode" write-64 write --clients 64
    bench "$mode" mixed mixed
    bench "$mode" read-stream read-stream --clients 16
    bench "$mode" read-category read-category --clients 16
    bench "$mode" consumer-group read-category --clients 16 --consumer-group 4
    bench "$mode" subscribe-1 subscribe --subscribers 1
    bench "$mode" subscribe-100 subscribe --subscribers 100
    bench "$mode" subscribe-1000 subscribe --subscribers 1000
    bench "$mode" open-loop-2000 write --rate 2000 --clients 16
    stop_server
done
python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
def load(name):
    path = os.path.join(out, name + ".json")
    return json.load(open(path)) if os.path.exists(path) else None
bare = load("bare")["results"]
print("\n== ratios against the bare database (same sitting)")
rows = [
    ("durable write, 1 client / bare 1 per tx", "durable-write-1", "write-1-per-tx-full"),
    ("durable write, 1 client split / bare 1 per tx", "durable-write-1-split", "write-1-per-tx-full"),
    ("durable write, 64 clients / bare 1 per tx", "durable-write-64", "write-1-per-tx-full"),
    ("durable read-stream 100 / bare", "durable-read-stream", "read-stream-100"),
    ("durable read-category 100 / bare", "durable-read-category", "read-category-100"),
    ("test-mode read-stream 100 / bare in memory", "test-read-stream", "read-stream-100-memory"),
    ("test-mode read-category 100 / bare in memory", "test-read-category", "read-category-100-memory"),
    ("test-mode mixed / bare mixed in memory", "test-mixed", "mixed-memory"),
]
for label, ours, base in rows:
    r = load(ours)
    if r is None or base not in bare:
        continue
    s = r["steps"][0]
    b = bare[base]["ops_per_sec"]
    print(f'   {label:<48} {s["ops_per_sec"]:>9.0f} / {b:>7.0f} = {s["ops_per_sec"] / b:5.2f}x'
          f'  (p99 {s["latency_ms"]["p99"]:.3f} ms)')
print("\n== against the HTTP floor (benches/bare_http.rs, same generator, same sitting)")
for label, ours, floor, base in [
    ("durable write, 1 client", "durable-write-1", "floor-durable-write-1", "write-1-per-tx-full"),
    ("test-mode mixed (floor: inline, one lock)", "test-mixed", "floor-memory-mixed", "mixed-memory"),
]:
    r, f = load(ours), load(floor)
    if r is None or f is None:
        continue
    o, fl = r["steps"][0]["ops_per_sec"], f["steps"][0]["ops_per_sec"]
    vs_bare = f' (floor / bare {fl / bare[base]["ops_per_sec"]:4.2f}x)' if base in bare else ""
    print(f'   {label:<48} {o:>9.0f} / {fl:>7.0f} = {o / fl:5.2f}x{vs_bare}')
print("\n== open loop, 2,000 writes/s, durable: ours against the bare database's group commit (ms)")
r, b = load("durable-open-loop-2000"), bare.get("open-loop-2000-full")
if r is not None and b is not None:
    l = r["steps"][0]["latency_ms"]
    print(f'   ours p50 {l["p50"]:.3f} p99 {l["p99"]:.3f} p99.9 {l["p99_9"]:.3f}; '
          f'bare p50 {b["p50_ms"]:.3f} p99 {b["p99_ms"]:.3f} p99.9 {b["p99_9_ms"]:.3f}; '
          f'p99 ratio {l["p99"] / b["p99_ms"]:.2f}x')
fanout = {f["connections"]: f for f in (load("bare-fanout") or []) if f["sender"] == "task-per-conn"}
print("\n== poke latency against the bare fan-out (same sitting; p99 ms)")
for mode in ("durable", "test"):
    for n in (1, 100, 1000):
        r = load(f"{mode}-subscribe-{n}")
        if r is None or n not in fanout:
            continue
        s = r["steps"][0]
        ack, send, floor = s["latency_ms"]["p99"], s["poke_latency_from_send_ms"]["p99"], fanout[n]["p99_ms"]
        floor_ack = fanout[n].get("from_ack_p99_ms", float("nan"))
        print(f'   {mode:<8} {n:>5} subscribers: from ack {ack:7.3f}, from request {send:7.3f}; '
              f'bare from ack {floor_ack:7.3f}, from send {floor:7.3f} -> from request / bare = {send / floor:5.2f}x')
PY
echo "JSON reports in $OUT"
