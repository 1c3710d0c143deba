//! Runs a [`Workload`] against the server in a closed loop (`clients` connections, each
//! sending as soon as it has an answer) or an open loop (a fixed timetable of `rate` requests
//! per second, latency measured from the scheduled start), for a warm-up and then a measured
//! window, and stops by itself.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::client::{Client, Reply};
use crate::error::{Error, Result};
use crate::progress::{Live, Progress};
use crate::stats::Recorder;
use crate::target::Target;
use crate::workload::{Generator, Workload};

/// How long an answer may still take after the run's end before the worker gives up on it.
const GRACE: Duration = Duration::from_secs(5);
/// Pause after a transport failure, so a dead server is not hammered with reconnects.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);

/// How much load, for how long.
#[derive(Debug, Clone, Copy)]
pub struct LoadSpec {
    /// Connections.
    pub clients: u32,
    /// Open loop: requests per second; closed loop when `None`.
    pub rate: Option<f64>,
    /// Unmeasured lead-in.
    pub warmup: Duration,
    /// Measured window.
    pub duration: Duration,
}

/// The timing of one run, shared by its workers.
#[derive(Debug, Clone, Copy)]
struct Clock {
    t0: Instant,
    measure_from: Instant,
    end: Instant,
}

/// Runs the workload; the recorder holds only operations started in the measured window.
pub async fn run(
    target: &Arc<Target>,
    spec: &LoadSpec,
    workload: &Workload,
    label: &str,
    quiet: bool,
) -> Result<Recorder> {
    let clients = spec.clients.max(1);
    let mut connected = Vec::with_capacity(clients as usize);
    for _ in 0..clients {
        let mut client = Client::new(target.clone());
        client
            .connect()
            .await
            .map_err(|e| Error::new(format!("cannot connect to the server: {e}")))?;
        connected.push(client);
    }
    let t0 = Instant::now();
    let clock = Clock {
        t0,
        measure_from: t0 + spec.warmup,
        end: t0 + spec.warmup + spec.duration,
    };
    let live = Arc::new(Live::default());
    let progress = Progress::start(label.to_owned(), live.clone(), clock.measure_from, quiet);
    let slots = match spec.rate {
        Some(rate) => Some(timetable(clock, rate)?),
        None => None,
    };
    let mut tasks = Vec::with_capacity(connected.len());
    for (n, client) in connected.into_iter().enumerate() {
        let generator = workload(n as u32);
        let live = live.clone();
        let task = match &slots {
            Some(slots) => tokio::spawn(open_loop(client, generator, clock, slots.clone(), live)),
            None => tokio::spawn(closed_loop(client, generator, clock, live)),
        };
        tasks.push(task);
    }
    let mut total = Recorder::new();
    for task in tasks {
        match task.await {
            Ok(recorder) => total.merge(&recorder),
            Err(e) => total.error(format!("worker failed: {e}")),
        }
    }
    progress.stop().await;
    Ok(total)
}

/// Sends, waits for the answer, repeats, until the end.
async fn closed_loop(
    mut client: Client,
    mut generator: Box<dyn Generator>,
    clock: Clock,
    live: Arc<Live>,
) -> Recorder {
    let mut recorder = Recorder::new();
    loop {
        let start = Instant::now();
        if start >= clock.end {
            break;
        }
        if !call(
            &mut client,
            &mut *generator,
            start,
            clock,
            &mut recorder,
            &live,
        )
        .await
        {
            break;
        }
    }
    recorder
}

/// The open loop's timetable: slot times released on time by an OS thread, taken by
/// whichever connection is free. Tokio's timer ticks in whole milliseconds, which would add up
/// to 1 ms of lateness to every latency counted from a slot; a thread in `std::thread::sleep`
/// wakes within tens of microseconds.
type Slots = Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Instant>>>;

/// Starts the timetable thread; it stops at the end of the run.
fn timetable(clock: Clock, rate: f64) -> Result<Slots> {
    let (sender, receiver) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("timetable".into())
        .spawn(move || {
            for n in 0.. {
                let Some(due) = slot_time(clock.t0, n, rate) else {
                    break;
                };
                if due >= clock.end {
                    break;
                }
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                if sender.send(due).is_err() {
                    break;
                }
            }
        })
        .map_err(|e| Error::new(format!("cannot start the timetable thread: {e}")))?;
    Ok(Arc::new(tokio::sync::Mutex::new(receiver)))
}

/// Takes the next due slot of the shared timetable and sends; latency counts from the slot's
/// time, so waiting for a busy connection is latency too.
async fn open_loop(
    mut client: Client,
    mut generator: Box<dyn Generator>,
    clock: Clock,
    slots: Slots,
    live: Arc<Live>,
) -> Recorder {
    let mut recorder = Recorder::new();
    loop {
        let next = slots.lock().await.recv().await;
        let Some(scheduled) = next else {
            break;
        };
        if !call(
            &mut client,
            &mut *generator,
            scheduled,
            clock,
            &mut recorder,
            &live,
        )
        .await
        {
            break;
        }
    }
    recorder
}

/// When slot `n` of a timetable of `rate` per second starting at `t0` is due.
fn slot_time(t0: Instant, n: u64, rate: f64) -> Option<Instant> {
    let offset = n as f64 / rate;
    if !offset.is_finite() || !(0.0..=1e9).contains(&offset) {
        return None;
    }
    Some(t0 + Duration::from_secs_f64(offset))
}

/// One request; false when the worker should stop (an answer that came too late).
async fn call(
    client: &mut Client,
    generator: &mut dyn Generator,
    start: Instant,
    clock: Clock,
    recorder: &mut Recorder,
    live: &Live,
) -> bool {
    let body = generator.next();
    let reply = tokio::time::timeout_at(clock.end + GRACE, client.rpc(body)).await;
    let measured = start >= clock.measure_from;
    let Ok(reply) = reply else {
        live.error();
        if measured {
            recorder.error("timeout".to_owned());
        }
        return false;
    };
    let latency = Instant::now() - start;
    generator.observe(&reply);
    match reply.error_label() {
        None => {
            live.ok();
            if measured {
                recorder.ok(latency);
            }
        }
        Some(label) => {
            live.error();
            if measured {
                recorder.error(label);
            }
            if matches!(reply, Reply::Transport(_)) {
                tokio::time::sleep(RECONNECT_PAUSE).await;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timetable_is_even() {
        let t0 = Instant::now();
        assert_eq!(slot_time(t0, 0, 100.0), Some(t0));
        assert_eq!(
            slot_time(t0, 50, 100.0),
            Some(t0 + Duration::from_millis(500))
        );
        assert_eq!(slot_time(t0, 1, 0.0), None);
    }
}
