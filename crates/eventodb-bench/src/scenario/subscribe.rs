//! The `subscribe` scenario: poke latency. Opens the subscriptions, waits for each `: ready`,
//! then one writer writes on a fixed timetable; every poke's latency is the time from the
//! write's acknowledgement (its HTTP answer) to the subscriber receiving it, per subscriber
//! per poke. Pokes that never come (within a grace period) or come twice are counted.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::Instant;

use crate::body;
use crate::client::{Client, Reply};
use crate::error::{Error, Result};
use crate::progress::{Live, Progress};
use crate::rss::{self, Rss};
use crate::sse::{self, Event};
use crate::stats::Recorder;
use crate::target::Target;

/// Subscriptions being opened at once.
const OPENING: usize = 64;
/// How long all subscriptions together may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long pokes may still arrive after the last write.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Streams of the category the writer spreads its writes over.
const STREAMS: u64 = 10;

/// Settings of one subscribe run.
#[derive(Debug, Clone)]
pub struct SubscribeSpec {
    /// Category written and subscribed to (new per run).
    pub category: String,
    /// Number of subscriptions.
    pub subscribers: u32,
    /// Subscribe with `all=true` instead of `category=`.
    pub all: bool,
    /// Writes per second.
    pub rate: f64,
    /// Unmeasured lead-in (writes whose pokes are checked but not timed).
    pub warmup: Duration,
    /// Measured window.
    pub duration: Duration,
    /// Padding in each message.
    pub pad: String,
    /// Server process to sample.
    pub server_pid: Option<u32>,
}

/// Delivery of the pokes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PokeStats {
    /// Writes acknowledged.
    pub writes: u64,
    /// Pokes owed: writes × subscribers.
    pub expected: u64,
    /// Distinct pokes received for those writes.
    pub received: u64,
    /// Pokes owed but never received.
    pub missed: u64,
    /// Pokes received more than once (extra copies).
    pub duplicated: u64,
    /// Measured pokes that arrived before the writer had read its acknowledgement (the
    /// server publishes before it answers); their latency is recorded as 0.
    pub before_ack: u64,
    /// Server RSS before opening the subscriptions (KiB).
    pub rss_before_kib: Option<u64>,
    /// Server RSS once all subscriptions were ready and idle (KiB).
    pub rss_idle_kib: Option<u64>,
}

impl PokeStats {
    /// Server memory per idle subscription in bytes, when both samples exist.
    pub fn bytes_per_subscriber(&self, subscribers: u32) -> Option<f64> {
        let before = self.rss_before_kib?;
        let idle = self.rss_idle_kib?;
        Some((idle as f64 - before as f64) * 1024.0 / f64::from(subscribers.max(1)))
    }
}

/// What one subscribe run measured.
#[derive(Debug)]
pub struct SubscribeOutcome {
    /// Poke latencies (measured window) and errors (writes, subscriptions).
    pub pokes: Recorder,
    /// The writer's own write latency, from the scheduled start.
    pub writes: Recorder,
    /// Poke latency from the moment the write request was sent (an upper bound that
    /// includes the write itself; useful because most pokes beat the acknowledgement).
    pub from_send: Recorder,
    /// Delivery counts and memory.
    pub stats: PokeStats,
    /// Server RSS over the writing phase.
    pub rss: Option<Rss>,
}

/// One acknowledged write.
struct Written {
    global: i64,
    sent: Instant,
    acked: Instant,
    measured: bool,
}

/// What a subscription received, in order.
struct Received {
    pokes: Vec<(i64, Instant)>,
    error: Option<String>,
}

/// Runs the scenario.
pub async fn run(
    target: &Arc<Target>,
    spec: &SubscribeSpec,
    quiet: bool,
) -> Result<SubscribeOutcome> {
    let mut writer = Client::new(target.clone());
    // A first write outside the category opens the namespace's storage before memory is read.
    let warm = body::write(&format!("{}warm-0", spec.category), 0, "", None);
    if let Some(e) = writer.rpc(warm).await.error_label() {
        return Err(Error::new(format!("cannot write to the server: {e}")));
    }
    let rss_before = spec.server_pid.and_then(rss::read_kib);

    let (stop_tx, stop_rx) = watch::channel(false);
    let (ready_tx, mut ready_rx) = mpsc::channel::<std::result::Result<(), String>>(1024);
    let opening = Arc::new(Semaphore::new(OPENING));
    let query = if spec.all {
        "all=true".to_owned()
    } else {
        format!("category={}", spec.category)
    };
    let mut subscribers = Vec::with_capacity(spec.subscribers as usize);
    for _ in 0..spec.subscribers.max(1) {
        let (seen_tx, seen_rx) = watch::channel(i64::MIN);
        let task = tokio::spawn(subscriber(
            target.clone(),
            query.clone(),
            opening.clone(),
            ready_tx.clone(),
            seen_tx,
            stop_rx.clone(),
        ));
        subscribers.push((task, seen_rx));
    }
    drop(ready_tx);
    let deadline = Instant::now() + READY_TIMEOUT;
    for _ in 0..subscribers.len() {
        let outcome = tokio::time::timeout_at(deadline, ready_rx.recv()).await;
        let failure = match outcome {
            Ok(Some(Ok(()))) => continue,
            Ok(Some(Err(e))) => e,
            Ok(None) => "a subscription ended before it was ready".to_owned(),
            Err(_) => "subscriptions not ready within 60 s".to_owned(),
        };
        let _ = stop_tx.send(true);
        return Err(Error::new(format!("cannot subscribe: {failure}")));
    }
    let rss_idle = spec.server_pid.and_then(rss::read_kib);

    let sampler = rss::Sampler::start(spec.server_pid);
    let (written, writes) = write_on_timetable(&mut writer, spec, quiet).await;
    let rss = sampler.finish().await;

    // Wait (bounded) until every subscription has seen the last write, then stop them.
    if let Some(last) = written.iter().map(|w| w.global).max() {
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        for (_, seen) in &mut subscribers {
            let _ = tokio::time::timeout_at(deadline, seen.wait_for(|&s| s >= last)).await;
        }
    }
    let _ = stop_tx.send(true);
    let mut received = Vec::with_capacity(subscribers.len());
    for (task, _) in subscribers {
        received.push(task.await.unwrap_or_else(|e| Received {
            pokes: Vec::new(),
            error: Some(format!("subscriber task failed: {e}")),
        }));
    }

    let (pokes, from_send, mut stats) = tally(&written, &received);
    stats.rss_before_kib = rss_before;
    stats.rss_idle_kib = rss_idle;
    Ok(SubscribeOutcome {
        pokes,
        writes,
        from_send,
        stats,
        rss,
    })
}

/// The writer: one write per slot of the timetable, over one connection.
async fn write_on_timetable(
    writer: &mut Client,
    spec: &SubscribeSpec,
    quiet: bool,
) -> (Vec<Written>, Recorder) {
    let t0 = Instant::now();
    let measure_from = t0 + spec.warmup;
    let end = measure_from + spec.duration;
    let live = Arc::new(Live::default());
    let progress = Progress::start(
        "subscribe (writes)".to_owned(),
        live.clone(),
        measure_from,
        quiet,
    );
    let mut written = Vec::new();
    let mut recorder = Recorder::new();
    let rate = if spec.rate > 0.0 { spec.rate } else { 1.0 };
    for slot in 0u64.. {
        let scheduled = t0 + Duration::from_secs_f64(slot as f64 / rate);
        if scheduled >= end {
            break;
        }
        tokio::time::sleep_until(scheduled).await;
        let stream = format!("{}-s{}", spec.category, slot % STREAMS);
        let sent = Instant::now();
        let call = writer.rpc(body::write(&stream, slot, &spec.pad, None));
        let reply = match tokio::time::timeout_at(end + DRAIN_TIMEOUT, call).await {
            Ok(reply) => reply,
            Err(_) => {
                recorder.error("timeout".to_owned());
                break;
            }
        };
        let acked = Instant::now();
        let measured = scheduled >= measure_from;
        match &reply {
            Reply::Ok(answer) => match body::write_result(answer) {
                Some((_, global)) => {
                    live.ok();
                    written.push(Written {
                        global,
                        sent,
                        acked,
                        measured,
                    });
                    if measured {
                        recorder.ok(acked - scheduled);
                    }
                }
                None => {
                    live.error();
                    recorder.error("unreadable write answer".to_owned());
                }
            },
            other => {
                live.error();
                recorder.error(other.error_label().unwrap_or_default());
            }
        }
    }
    progress.stop().await;
    (written, recorder)
}

/// One subscription: open (at most [`OPENING`] at a time), report ready, then log pokes.
async fn subscriber(
    target: Arc<Target>,
    query: String,
    opening: Arc<Semaphore>,
    ready: mpsc::Sender<std::result::Result<(), String>>,
    seen: watch::Sender<i64>,
    mut stop: watch::Receiver<bool>,
) -> Received {
    let mut log = Received {
        pokes: Vec::new(),
        error: None,
    };
    let mut permit = opening.acquire_owned().await.ok();
    let mut body = match sse::open(&target, &query).await {
        Ok(body) => body,
        Err(e) => {
            let _ = ready.send(Err(e.clone())).await;
            log.error = Some(e);
            return log;
        }
    };
    let mut parser = sse::Parser::default();
    let mut events = Vec::new();
    let mut is_ready = false;
    loop {
        let chunk = tokio::select! {
            _ = stop.wait_for(|&s| s) => break,
            chunk = sse::next_chunk(&mut body) => chunk,
        };
        let now = Instant::now();
        let chunk = match chunk {
            Ok(Some(chunk)) => chunk,
            Ok(None) => {
                log.error = Some("subscription closed by the server".to_owned());
                break;
            }
            Err(e) => {
                log.error = Some(e);
                break;
            }
        };
        parser.push(&chunk, &mut events);
        for event in events.drain(..) {
            match event {
                Event::Ready if !is_ready => {
                    is_ready = true;
                    drop(permit.take());
                    let _ = ready.send(Ok(())).await;
                }
                Event::Ready => {}
                Event::Poke(global) => {
                    log.pokes.push((global, now));
                    seen.send_modify(|s| *s = (*s).max(global));
                }
                Event::Malformed => {
                    log.error.get_or_insert_with(|| "malformed poke".to_owned());
                }
            }
        }
    }
    if !is_ready {
        let _ = ready
            .send(Err(log
                .error
                .clone()
                .unwrap_or_else(|| "stopped before ready".to_owned())))
            .await;
    }
    log
}

/// Joins the writes with what each subscription received.
fn tally(written: &[Written], received: &[Received]) -> (Recorder, Recorder, PokeStats) {
    let mut recorder = Recorder::new();
    let mut from_send = Recorder::new();
    let mut stats = PokeStats {
        writes: written.len() as u64,
        expected: written.len() as u64 * received.len() as u64,
        ..PokeStats::default()
    };
    for log in received {
        if let Some(e) = &log.error {
            recorder.error(e.clone());
        }
        let mut first: HashMap<i64, (Instant, u64)> = HashMap::with_capacity(log.pokes.len());
        for &(global, at) in &log.pokes {
            first
                .entry(global)
                .and_modify(|(_, n)| *n += 1)
                .or_insert((at, 1));
        }
        for write in written {
            match first.get(&write.global) {
                Some(&(at, copies)) => {
                    stats.received += 1;
                    stats.duplicated += copies - 1;
                    if write.measured {
                        if at < write.acked {
                            stats.before_ack += 1;
                        }
                        recorder.ok(at.saturating_duration_since(write.acked));
                        from_send.ok(at.saturating_duration_since(write.sent));
                    }
                }
                None => stats.missed += 1,
            }
        }
    }
    (recorder, from_send, stats)
}
