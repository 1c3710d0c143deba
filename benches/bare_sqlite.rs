//! The bare-database baseline: what SQLite itself does (rusqlite, the server's `messages` table,
//! WAL and `synchronous=FULL`) with no HTTP/JSON server in front, so the figures of
//! `benches/run.sh` can be quoted as ratios against a baseline measured in the same sitting.
//!
//! ```text
//! cargo bench --bench bare_sqlite -- --seconds 5 --json out.json
//! ```
//!
//! Every measurement is single-threaded and runs for `--seconds` (default 5) on a 10,000-message
//! data set. Latencies are per call: one transaction (for `write-100-per-tx-full`, one of 100
//! rows) or one query. `open-loop-2000-full` is the exception: writes fall due on a fixed
//! timetable of 2,000 per second (as `eventodb bench write --rate 2000` sends them), the thread
//! commits everything due in one transaction (ideal group commit, no HTTP, no queues, no
//! threads) and sleeps until the next is due; a write's latency runs from when it fell due to
//! the end of the commit that made it durable. `mixed-memory` is EventoDB's mixed profile on
//! the in-memory database: 90 % one-message transactions, 10 % reads of a stream's first 100. Without `--bench` (as under `cargo test --all-targets`) each measurement
//! runs for about 0.1 s on 1,000 messages: a smoke run that keeps this program working.

#![allow(clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection};

/// Streams written round-robin: `bench-s0` … `bench-s99`, all in category `bench`.
const STREAMS: u64 = 100;
/// Rows per read query.
const LIMIT: u64 = 100;

/// The server's namespace schema (`messages` with its indexes; the `streams` summary is there
/// but unused here).
const SCHEMA: &str = include_str!("../sql/sqlite/namespace/001_init.sql");

const INSERT: &str = "INSERT INTO messages (id, stream_name, category, type, position, data, \
    metadata, time) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
const READ_STREAM: &str = "SELECT id, stream_name, type, position, global_position, data, \
    metadata, time FROM messages WHERE stream_name = ?1 AND position >= 0 ORDER BY position LIMIT 100";
const READ_CATEGORY: &str = "SELECT id, stream_name, type, position, global_position, data, \
    metadata, time FROM messages WHERE category = ?1 AND global_position >= ?2 \
    ORDER BY global_position LIMIT 100";

/// One message read back, every column owned.
type Row = (
    String,
    String,
    String,
    i64,
    i64,
    String,
    Option<String>,
    i64,
);

/// xorshift64: plenty for picking streams and start positions.
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
        Rng(micros() as u64 | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn micros() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    since.as_micros() as i64
}

/// Writes messages to the streams round-robin, with increasing positions per stream.
struct Writer {
    rng: Rng,
    written: u64,
    positions: Vec<i64>,
}

impl Writer {
    fn new() -> Self {
        Writer {
            rng: Rng::seeded(),
            written: 0,
            positions: vec![0; STREAMS as usize],
        }
    }

    fn insert(&mut self, conn: &Connection) {
        let i = self.written;
        self.written += 1;
        let s = (i % STREAMS) as usize;
        let position = self.positions[s];
        self.positions[s] += 1;
        let now = micros();
        // UUID v7 layout like the server's ids: time first, then random bits; the counter in the
        // last group keeps ids unique.
        let ms = (now / 1000) as u64;
        let r = self.rng.next();
        let id = format!(
            "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
            (ms >> 16) & 0xffff_ffff,
            ms & 0xffff,
            r & 0xfff,
            0x8000 | ((r >> 12) & 0x3fff),
            i & 0xffff_ffff_ffff
        );
        let stream = format!("bench-s{s}");
        let data = format!("{{\"n\":{i}}}");
        conn.prepare_cached(INSERT)
            .expect("prepare insert")
            .execute(params![
                id,
                stream,
                "bench",
                "Bench",
                position,
                data,
                None::<String>,
                now
            ])
            .expect("insert message");
    }

    /// One transaction of `rows` inserts.
    fn transaction(&mut self, conn: &Connection, rows: u64) {
        let statement = |sql| conn.prepare_cached(sql).expect(sql).execute([]).expect(sql);
        statement("BEGIN");
        for _ in 0..rows {
            self.insert(conn);
        }
        statement("COMMIT");
    }
}

fn file_db(dir: &tempfile::TempDir, name: &str) -> Connection {
    let conn = Connection::open(dir.path().join(name)).expect("open database file");
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
        .expect("pragmas");
    conn.execute_batch(SCHEMA).expect("create schema");
    conn
}

fn memory_db() -> Connection {
    let conn = Connection::open_in_memory().expect("open in-memory database");
    conn.execute_batch(SCHEMA).expect("create schema");
    conn
}

/// A database holding `messages` messages, checkpointed so reads find them in the main file.
fn loaded(conn: Connection, messages: u64) -> Connection {
    Writer::new().transaction(&conn, messages);
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .expect("checkpoint");
    conn
}

fn read(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> usize {
    let mut stmt = conn.prepare_cached(sql).expect("prepare read");
    let rows: Vec<Row> = stmt
        .query_map(params, |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })
        .expect("run read")
        .collect::<Result<_, _>>()
        .expect("read row");
    black_box(&rows).len()
}

struct Outcome {
    ops_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    p99_9_ms: f64,
}

impl Outcome {
    /// From latencies (sorted here) and the operations done in `elapsed`.
    fn new(mut latencies: Vec<Duration>, ops: u64, elapsed: Duration) -> Self {
        latencies.sort_unstable();
        let at = |p: f64| {
            let index = ((latencies.len() - 1) as f64 * p).round() as usize;
            latencies[index].as_secs_f64() * 1e3
        };
        Outcome {
            ops_per_sec: ops as f64 / elapsed.as_secs_f64(),
            p50_ms: at(0.5),
            p99_ms: at(0.99),
            p99_9_ms: at(0.999),
        }
    }
}

/// Calls `op` for `seconds`; each call counts as `per_call` operations.
fn measure(seconds: f64, per_call: u64, mut op: impl FnMut()) -> Outcome {
    let limit = Duration::from_secs_f64(seconds);
    let mut latencies = Vec::new();
    let start = Instant::now();
    let mut last = start;
    loop {
        op();
        let now = Instant::now();
        latencies.push(now - last);
        last = now;
        if last - start >= limit {
            break;
        }
    }
    let ops = latencies.len() as u64 * per_call;
    Outcome::new(latencies, ops, last - start)
}

/// Writes falling due `rate` times a second for `seconds`, each group of due writes committed
/// in one transaction; latency from due time to the end of its commit.
fn open_loop(seconds: f64, rate: f64, conn: &Connection, writer: &mut Writer) -> Outcome {
    let limit = Duration::from_secs_f64(seconds);
    let due = |n: u64| Duration::from_secs_f64(n as f64 / rate);
    let mut latencies = Vec::new();
    let start = Instant::now();
    let mut next = 0u64;
    while due(next) < limit {
        let now = start.elapsed();
        if due(next) > now {
            std::thread::sleep(due(next) - now);
            continue;
        }
        let mut group = next;
        while due(group) <= now && due(group) < limit {
            group += 1;
        }
        writer.transaction(conn, group - next);
        let done = start.elapsed();
        latencies.extend((next..group).map(|n| done - due(n)));
        next = group;
    }
    let ops = latencies.len() as u64;
    Outcome::new(latencies, ops, start.elapsed())
}

fn machine() -> serde_json::Value {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1));
    serde_json::json!({
        "cpus": cpus,
        "kernel": kernel.trim(),
        "cpu_model": model.unwrap_or("unknown").trim(),
        "sqlite": rusqlite::version(),
    })
}

fn main() {
    let (mut bench, mut seconds, mut json) = (false, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => bench = true,
            "--seconds" => {
                let value = args.next().and_then(|s| s.parse::<f64>().ok());
                seconds = Some(value.expect("--seconds takes a number"));
            }
            "--json" => json = Some(args.next().expect("--json takes a path")),
            _ => {}
        }
    }
    // Without --bench this is a smoke run: short, on a small data set.
    let seconds = seconds.unwrap_or(if bench { 5.0 } else { 0.1 });
    let messages: u64 = if bench { 10_000 } else { 1_000 };
    let dir = tempfile::tempdir().expect("create temp dir");
    let mut rng = Rng::seeded();
    let mut results = serde_json::Map::new();
    println!(
        "{seconds} s per measurement, {messages} messages to read from, SQLite {}",
        rusqlite::version()
    );
    println!(
        "{:<26} {:>12} {:>9} {:>9} {:>9}",
        "measurement", "ops/s", "p50 ms", "p99 ms", "p99.9 ms"
    );
    let mut report = |name: &str, outcome: Outcome| {
        println!(
            "{name:<26} {:>12.0} {:>9.3} {:>9.3} {:>9.3}",
            outcome.ops_per_sec, outcome.p50_ms, outcome.p99_ms, outcome.p99_9_ms
        );
        std::io::stdout().flush().expect("flush stdout");
        let value = serde_json::json!({
            "ops_per_sec": outcome.ops_per_sec, "p50_ms": outcome.p50_ms, "p99_ms": outcome.p99_ms,
            "p99_9_ms": outcome.p99_9_ms,
        });
        results.insert(name.to_owned(), value);
    };

    for (name, conn, rows) in [
        ("write-1-per-tx-full", file_db(&dir, "write-1.db"), 1),
        ("write-100-per-tx-full", file_db(&dir, "write-100.db"), 100),
        ("write-1-per-tx-memory", memory_db(), 1),
    ] {
        let mut writer = Writer::new();
        report(
            name,
            measure(seconds, rows, || writer.transaction(&conn, rows)),
        );
    }

    let conn = file_db(&dir, "open-loop.db");
    let mut writer = Writer::new();
    report(
        "open-loop-2000-full",
        open_loop(seconds, 2000.0, &conn, &mut writer),
    );

    // EventoDB's mixed profile in memory: 90 % one-message transactions, 10 % reads of up to
    // 100 messages of one of the streams, all on one connection (as in test mode).
    let conn = memory_db();
    let mut writer = Writer::new();
    let outcome = measure(seconds, 1, || {
        if rng.below(10) == 0 {
            let stream = format!("bench-s{}", rng.below(STREAMS));
            read(&conn, READ_STREAM, [stream]);
        } else {
            writer.transaction(&conn, 1);
        }
    });
    report("mixed-memory", outcome);

    let per_stream = (messages / STREAMS).min(LIMIT) as usize;
    for (suffix, conn) in [
        ("", loaded(file_db(&dir, "read.db"), messages)),
        ("-memory", loaded(memory_db(), messages)),
    ] {
        let outcome = measure(seconds, 1, || {
            let stream = format!("bench-s{}", rng.below(STREAMS));
            assert_eq!(read(&conn, READ_STREAM, [stream]), per_stream);
        });
        report(&format!("read-stream-100{suffix}"), outcome);
        let outcome = measure(seconds, 1, || {
            let start = 1 + rng.below(messages - LIMIT) as i64;
            assert_eq!(
                read(&conn, READ_CATEGORY, params!["bench", start]),
                LIMIT as usize
            );
        });
        report(&format!("read-category-100{suffix}"), outcome);
    }

    if let Some(path) = json {
        let out = serde_json::json!({ "machine": machine(), "results": results });
        let text = serde_json::to_string_pretty(&out).expect("serialize results");
        std::fs::write(&path, text + "\n").expect("write --json file");
        println!("wrote {path}");
    }
}
