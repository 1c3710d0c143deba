//! The bare fan-out baseline for poke latency: what loopback TCP and tokio alone do when one
//! event must reach N open connections, with no HTTP, no SSE parsing and no database, so that
//! `eventodb bench subscribe` figures can be quoted as ratios against a floor measured in the
//! same sitting (issue 3's goal: p99 under 2 ms at 1,000 subscribers).
//!
//! ```text
//! cargo bench --bench bare_fanout -- --seconds 5 --json out.json
//! ```
//!
//! Two tokio runtimes of two workers each stand for the two processes of the real measurement
//! (server and generator), on the same two cores. The "server" holds N accepted connections,
//! each served by its own task (as hyper serves each connection); 20 times a second a ticker
//! stamps the time and wakes every task through a `watch` channel, and each task writes one
//! 64-byte event to its socket. The "client" reads every connection in its own task and
//! records, per event and connection, arrival minus the stamp. Without `--bench` (as under
//! `cargo test --all-targets`) it runs 0.3 s for 1 and 100 connections: a smoke run that keeps
//! it working. 1,000 connections need `ulimit -n` above 2,000 (benches/run.sh raises it).

#![allow(clippy::expect_used, missing_docs)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Bytes of one event, about an SSE poke with its chunk framing.
const EVENT_LEN: usize = 64;
/// Events per second, as `eventodb bench subscribe` writes by default.
const RATE: u64 = 20;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Latencies in microseconds of every (event, connection) pair, for `n` connections.
fn measure(n: usize, duration: Duration) -> Vec<u64> {
    let server = runtime();
    let client = runtime();
    let base = Instant::now();
    let listener = server
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tick_tx, tick_rx) = watch::channel(0u64);

    // Server: accept n connections, one writer task each.
    let accept = server.spawn(async move {
        for _ in 0..n {
            let (mut socket, _) = listener.accept().await.expect("accept");
            socket.set_nodelay(true).expect("nodelay");
            let mut ticks = tick_rx.clone();
            tokio::spawn(async move {
                let mut event = [b' '; EVENT_LEN];
                event[EVENT_LEN - 1] = b'\n';
                while ticks.changed().await.is_ok() {
                    let stamp = *ticks.borrow_and_update();
                    event[..8].copy_from_slice(&stamp.to_le_bytes());
                    if socket.write_all(&event).await.is_err() {
                        return;
                    }
                }
            });
        }
    });

    // Client: n connections, one reader task each.
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let expected = duration.as_secs_f64() * RATE as f64;
    let readers: Vec<_> = (0..n)
        .map(|_| {
            let latencies = latencies.clone();
            client.spawn(async move {
                let mut socket = TcpStream::connect(addr).await.expect("connect");
                socket.set_nodelay(true).expect("nodelay");
                let mut mine = Vec::with_capacity(expected as usize + 1);
                let mut event = [0u8; EVENT_LEN];
                while socket.read_exact(&mut event).await.is_ok() {
                    let now = base.elapsed().as_micros() as u64;
                    let mut stamp = [0u8; 8];
                    stamp.copy_from_slice(&event[..8]);
                    mine.push(now.saturating_sub(u64::from_le_bytes(stamp)));
                }
                latencies.lock().expect("latencies").extend(mine);
            })
        })
        .collect();
    server.block_on(accept).expect("accepted");

    // The ticker, on its own thread (a fixed timetable; tokio's timer ticks in milliseconds).
    let period = Duration::from_micros(1_000_000 / RATE);
    let started = Instant::now();
    let mut next = started + period;
    while next < started + duration {
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        let stamp = base.elapsed().as_micros() as u64;
        tick_tx.send_replace(stamp);
        next += period;
    }
    // Let the last event arrive, then close the server side so every reader ends.
    std::thread::sleep(Duration::from_millis(200));
    drop(tick_tx);
    server.shutdown_timeout(Duration::from_secs(1));
    for reader in readers {
        client.block_on(reader).expect("reader");
    }
    let mut all = std::mem::take(&mut *latencies.lock().expect("latencies"));
    all.sort_unstable();
    all
}

fn quantile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1000.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench");
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seconds: f64 = value("--seconds")
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let duration = if bench {
        Duration::from_secs_f64(seconds)
    } else {
        Duration::from_millis(300)
    };
    let mut json = Vec::new();
    println!(
        "{:<12} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "connections", "events", "p50 ms", "p99 ms", "p99.9 ms", "max ms"
    );
    // 1,000 connections need ~2,000 descriptors; the smoke run stays under the usual 1,024.
    let sizes: &[usize] = if bench { &[1, 100, 1000] } else { &[1, 100] };
    for &n in sizes {
        let lat = measure(n, duration);
        let (p50, p99, p999, max) = (
            quantile(&lat, 0.5),
            quantile(&lat, 0.99),
            quantile(&lat, 0.999),
            quantile(&lat, 1.0),
        );
        println!(
            "{n:<12} {:>9} {p50:>9.3} {p99:>9.3} {p999:>9.3} {max:>9.3}",
            lat.len()
        );
        json.push(format!(
            r#"{{"connections":{n},"events":{},"p50_ms":{p50:.3},"p99_ms":{p99:.3},"p999_ms":{p999:.3},"max_ms":{max:.3}}}"#,
            lat.len()
        ));
    }
    if let Some(path) = value("--json") {
        let mut file = std::fs::File::create(&path).expect("json file");
        writeln!(file, "[{}]", json.join(",")).expect("json write");
    }
}
