//! The bare fan-out baseline for poke latency: what loopback TCP and tokio alone do when one
//! event must reach N open connections, with no HTTP, no SSE parsing and no database, so that
//! `eventodb bench subscribe` figures can be quoted as ratios against a floor measured in the
//! same sitting (issue 3's goal: p99 under 2 ms at 1,000 subscribers).
//!
//! ```text
//! cargo bench --bench bare_fanout -- --seconds 5 --json out.json
//! ```
//!
//! The "client" (a tokio runtime of two workers, standing for the generator) reads N
//! connections, each in its own task, and records per event and connection its arrival. The
//! "server" sends a stamped 64-byte event 20 times a second: first an acknowledgement on one
//! more connection (standing for the write's response, which a server can send before any
//! poke), then the event to every connection. Latency is measured two ways, as `eventodb bench
//! subscribe` does: from the stamp (the send) and from the acknowledgement's arrival at the
//! client (0 when the event came first). The fan-out is sent two ways: `task-per-conn`, a second runtime of two workers with one task per
//! connection woken through a `watch` channel (as hyper serves each connection), and
//! `one-loop`, one OS thread writing to every socket in turn (the cheapest way to send it).
//! Both sides share the machine's cores, as in the real measurement. Without `--bench` (as under
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
/// Readers connecting at once.
const OPENING: usize = 64;
/// How long the readers may take to connect before the run fails instead of waiting on.
const CONNECT_DEADLINE: Duration = Duration::from_secs(20);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// (stamp, arrival) pairs in microseconds since the run's base.
type Arrivals = Arc<Mutex<Vec<(u64, u64)>>>;

/// The readers: `n` connections to `addr`, each read by its own task, recording each event's
/// stamp and arrival; `ack` is read the same way. Returns the tasks and where the event and
/// acknowledgement arrivals land when they end.
fn spawn_readers(
    client: &tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
    ack: std::net::SocketAddr,
    n: usize,
    base: Instant,
    duration: Duration,
) -> (Vec<tokio::task::JoinHandle<()>>, Arrivals, Arrivals) {
    let arrivals: Arrivals = Arc::default();
    let acks: Arrivals = Arc::default();
    let expected = duration.as_secs_f64() * RATE as f64;
    // Connections being opened at once, as `eventodb bench subscribe` opens them: a thousand
    // handshakes at once fill the listener's SYN queue, and the kernel answers with cookies.
    let opening = Arc::new(tokio::sync::Semaphore::new(OPENING));
    let read = move |addr, into: Arrivals| {
        let opening = Arc::clone(&opening);
        async move {
            let permit = opening.acquire().await.expect("opening");
            let mut socket = TcpStream::connect(addr).await.expect("connect");
            drop(permit);
            socket.set_nodelay(true).expect("nodelay");
            let mut mine = Vec::with_capacity(expected as usize + 1);
            let mut event = [0u8; EVENT_LEN];
            while socket.read_exact(&mut event).await.is_ok() {
                let now = base.elapsed().as_micros() as u64;
                let mut stamp = [0u8; 8];
                stamp.copy_from_slice(&event[..8]);
                mine.push((u64::from_le_bytes(stamp), now));
            }
            into.lock().expect("arrivals").extend(mine);
        }
    };
    let mut readers = vec![client.spawn(read(ack, acks.clone()))];
    readers.extend((0..n).map(|_| client.spawn(read(addr, arrivals.clone()))));
    (readers, arrivals, acks)
}

/// The acknowledgement's side of the server: a listener and, once connected, its socket.
fn ack_listener() -> (std::net::TcpListener, std::net::SocketAddr) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind ack");
    let addr = listener.local_addr().expect("ack addr");
    (listener, addr)
}

/// A listener (registered with `rt`) whose accept queue has room for all `n` readers. A
/// reader's connect completes before the server accepts it, so gating the connects does not
/// bound the queue; with std's and tokio's default of 128 it overflowed here, and a
/// connection dropped from a full queue after a SYN cookie is lost for good (it only reads).
fn fan_out_listener(rt: &tokio::runtime::Runtime, n: usize) -> TcpListener {
    let _context = rt.enter();
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .expect("bind");
    socket
        .listen(u32::try_from(n + 1).unwrap_or(u32::MAX))
        .expect("listen")
}

/// Accepts `n` connections from `listener` (non-blocking), failing with a clear message
/// rather than hanging when they do not all arrive within CONNECT_DEADLINE.
fn accept_all(listener: &std::net::TcpListener, n: usize) -> Vec<std::net::TcpStream> {
    let deadline = Instant::now() + CONNECT_DEADLINE;
    let mut sockets = Vec::with_capacity(n);
    while sockets.len() < n {
        match listener.accept() {
            Ok((socket, _)) => {
                socket.set_nonblocking(false).expect("blocking");
                socket.set_nodelay(true).expect("nodelay");
                sockets.push(socket);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(
                    Instant::now() < deadline,
                    "only {} of {n} connections arrived in {CONNECT_DEADLINE:?}",
                    sockets.len()
                );
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
    sockets
}

fn accept_ack(listener: &std::net::TcpListener) -> std::net::TcpStream {
    let (socket, _) = listener.accept().expect("accept ack");
    socket.set_nodelay(true).expect("nodelay");
    socket
}

/// Calls `send(stamp)` on a fixed timetable, RATE times a second for `duration`, from this OS
/// thread (tokio's timer ticks in milliseconds).
fn timetable(base: Instant, duration: Duration, mut send: impl FnMut(u64)) {
    let period = Duration::from_micros(1_000_000 / RATE);
    let started = Instant::now();
    let mut next = started + period;
    while next < started + duration {
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        send(base.elapsed().as_micros() as u64);
        next += period;
    }
    // Let the last event arrive before the caller closes the server side.
    std::thread::sleep(Duration::from_millis(200));
}

/// One event, stamped.
fn event(stamp: u64) -> [u8; EVENT_LEN] {
    let mut event = [b' '; EVENT_LEN];
    event[EVENT_LEN - 1] = b'\n';
    event[..8].copy_from_slice(&stamp.to_le_bytes());
    event
}

/// Sorted latencies in microseconds of every (event, connection) pair: from the send, and
/// from the acknowledgement's arrival.
struct Latencies {
    from_send: Vec<u64>,
    from_ack: Vec<u64>,
}

/// Waits for the readers (they end when the server side closes) and sorts their latencies.
fn collect(
    client: &tokio::runtime::Runtime,
    readers: Vec<tokio::task::JoinHandle<()>>,
    arrivals: &Mutex<Vec<(u64, u64)>>,
    acks: &Mutex<Vec<(u64, u64)>>,
) -> Latencies {
    for reader in readers {
        client.block_on(reader).expect("reader");
    }
    let acked: std::collections::HashMap<u64, u64> =
        acks.lock().expect("acks").iter().copied().collect();
    let arrivals = std::mem::take(&mut *arrivals.lock().expect("arrivals"));
    let mut from_send: Vec<u64> = arrivals
        .iter()
        .map(|&(stamp, at)| at.saturating_sub(stamp))
        .collect();
    let mut from_ack: Vec<u64> = arrivals
        .iter()
        .filter_map(|&(stamp, at)| acked.get(&stamp).map(|&ack| at.saturating_sub(ack)))
        .collect();
    from_send.sort_unstable();
    from_ack.sort_unstable();
    Latencies {
        from_send,
        from_ack,
    }
}

/// Latencies of every (event, connection) pair, for `n` connections each served by its own
/// task (as hyper serves each connection), woken through a `watch` channel after the
/// acknowledgement is written.
fn measure_tasks(n: usize, duration: Duration) -> Latencies {
    let server = runtime();
    let client = runtime();
    let base = Instant::now();
    let listener = fan_out_listener(&server, n);
    let addr = listener.local_addr().expect("addr");
    let (tick_tx, tick_rx) = watch::channel(0u64);
    let accept = server.spawn(async move {
        for _ in 0..n {
            let (mut socket, _) = listener.accept().await.expect("accept");
            socket.set_nodelay(true).expect("nodelay");
            let mut ticks = tick_rx.clone();
            tokio::spawn(async move {
                while ticks.changed().await.is_ok() {
                    let stamp = *ticks.borrow_and_update();
                    if socket.write_all(&event(stamp)).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let (ack_listener, ack_addr) = ack_listener();
    let (readers, arrivals, acks) = spawn_readers(&client, addr, ack_addr, n, base, duration);
    server
        .block_on(async { tokio::time::timeout(CONNECT_DEADLINE, accept).await })
        .unwrap_or_else(|_| panic!("the {n} readers did not connect in {CONNECT_DEADLINE:?}"))
        .expect("accepted");
    let mut ack = accept_ack(&ack_listener);
    timetable(base, duration, |stamp| {
        ack.write_all(&event(stamp)).expect("ack");
        tick_tx.send_replace(stamp);
    });
    drop(tick_tx);
    drop(ack);
    server.shutdown_timeout(Duration::from_secs(1));
    collect(&client, readers, &arrivals, &acks)
}

/// The same with no task per connection: one OS thread writes the acknowledgement and then the
/// event to every socket in turn (blocking writes), the cheapest way to send it.
fn measure_one_loop(n: usize, duration: Duration) -> Latencies {
    let client = runtime();
    let base = Instant::now();
    let listener = fan_out_listener(&client, n)
        .into_std()
        .expect("std listener");
    let addr = listener.local_addr().expect("addr");
    let (ack_listener, ack_addr) = ack_listener();
    let (readers, arrivals, acks) = spawn_readers(&client, addr, ack_addr, n, base, duration);
    // Accept the readers first, so none waits on the accept queue while the events go out.
    let mut sockets = accept_all(&listener, n);
    let mut ack = accept_ack(&ack_listener);
    timetable(base, duration, |stamp| {
        let event = event(stamp);
        ack.write_all(&event).expect("ack");
        for socket in &mut sockets {
            socket.write_all(&event).expect("write");
        }
    });
    drop(sockets);
    drop(ack);
    collect(&client, readers, &arrivals, &acks)
}

/// One way of sending: connections and duration in, sorted latencies out.
type Measure = fn(usize, Duration) -> Latencies;

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
        "{:<16} {:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>13} {:>13}",
        "sender",
        "connections",
        "events",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "ack: p50 ms",
        "ack: p99 ms"
    );
    // 1,000 connections need ~2,000 descriptors; the smoke run stays under the usual 1,024.
    let sizes: &[usize] = if bench { &[1, 100, 1000] } else { &[1, 100] };
    let senders: [(&str, Measure); 2] = [
        ("task-per-conn", measure_tasks),
        ("one-loop", measure_one_loop),
    ];
    for (sender, measure) in senders {
        for &n in sizes {
            let Latencies {
                from_send,
                from_ack,
            } = measure(n, duration);
            let lat = from_send;
            let (ack50, ack99) = (quantile(&from_ack, 0.5), quantile(&from_ack, 0.99));
            let (p50, p99, p999, max) = (
                quantile(&lat, 0.5),
                quantile(&lat, 0.99),
                quantile(&lat, 0.999),
                quantile(&lat, 1.0),
            );
            println!(
                "{sender:<16} {n:<12} {:>9} {p50:>9.3} {p99:>9.3} {p999:>9.3} {max:>9.3} {ack50:>13.3} {ack99:>13.3}",
                lat.len()
            );
            json.push(format!(
                r#"{{"sender":"{sender}","connections":{n},"events":{},"p50_ms":{p50:.3},"p99_ms":{p99:.3},"p999_ms":{p999:.3},"max_ms":{max:.3},"from_ack_p50_ms":{ack50:.3},"from_ack_p99_ms":{ack99:.3}}}"#,
                lat.len()
            ));
        }
    }
    if let Some(path) = value("--json") {
        let mut file = std::fs::File::create(&path).expect("json file");
        writeln!(file, "[{}]", json.join(",")).expect("json write");
    }
}
