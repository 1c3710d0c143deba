//! The progress line on stderr, once per second while a run is under way.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Counters the workers bump as answers come in, read by the progress line.
#[derive(Debug, Default)]
pub struct Live {
    ok: AtomicU64,
    errors: AtomicU64,
}

impl Live {
    /// Counts one success.
    pub fn ok(&self) {
        self.ok.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one failure.
    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// A running progress printer; stop it with [`Progress::stop`].
pub struct Progress {
    stop: Arc<Notify>,
    task: Option<JoinHandle<()>>,
}

impl Progress {
    /// Prints `label` with the rate of the last second and the errors so far, every second,
    /// marking the time before `measure_from` as warm-up. Prints nothing when `quiet`.
    pub fn start(label: String, live: Arc<Live>, measure_from: Instant, quiet: bool) -> Progress {
        let stop = Arc::new(Notify::new());
        let task = (!quiet).then(|| {
            let stop = stop.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let mut tick = tokio::time::interval_at(
                    started + Duration::from_secs(1),
                    Duration::from_secs(1),
                );
                let mut last = 0;
                loop {
                    tokio::select! {
                        _ = stop.notified() => break,
                        now = tick.tick() => {
                            let ok = live.ok.load(Ordering::Relaxed);
                            let errors = live.errors.load(Ordering::Relaxed);
                            let phase = if now < measure_from { " (warm-up)" } else { "" };
                            eprintln!(
                                "[{:>5.1}s] {label}: {} ops/s, {errors} errors{phase}",
                                (now - started).as_secs_f64(),
                                ok - last,
                            );
                            last = ok;
                        }
                    }
                }
            })
        });
        Progress { stop, task }
    }

    /// Stops printing.
    pub async fn stop(mut self) {
        self.stop.notify_one();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}
