//! Resident memory of the server process, read from `/proc/PID/status` (`VmRSS`), sampled
//! while a run is under way.

use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How often the sampler looks.
const PERIOD: Duration = Duration::from_millis(100);

/// The server's resident memory over one run, in KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rss {
    /// At the start of the run.
    pub start_kib: u64,
    /// The largest sample.
    pub peak_kib: u64,
    /// At the end of the run.
    pub end_kib: u64,
}

/// `VmRSS` of a process in KiB, if it can be read.
pub fn read_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vmrss(&status)
}

fn parse_vmrss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A background sampler; [`Sampler::finish`] returns what it saw.
pub struct Sampler {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Option<Rss>>>,
}

impl Sampler {
    /// Starts sampling `pid` (does nothing without a pid).
    pub fn start(pid: Option<u32>) -> Sampler {
        let Some(pid) = pid else {
            return Sampler {
                stop: None,
                task: None,
            };
        };
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let start = read_kib(pid)?;
            let mut rss = Rss {
                start_kib: start,
                peak_kib: start,
                end_kib: start,
            };
            let mut tick = tokio::time::interval(PERIOD);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => {
                        if let Some(now) = read_kib(pid) {
                            rss.peak_kib = rss.peak_kib.max(now);
                        }
                    }
                }
            }
            if let Some(now) = read_kib(pid) {
                rss.peak_kib = rss.peak_kib.max(now);
                rss.end_kib = now;
            }
            Some(rss)
        });
        Sampler {
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops sampling; `None` without a pid or when `/proc` could not be read.
    pub async fn finish(mut self) -> Option<Rss> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.take()?.await.ok().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status() {
        let status = "Name:\teventodb\nVmPeak:\t  9000 kB\nVmRSS:\t   12345 kB\n";
        assert_eq!(parse_vmrss(status), Some(12345));
        assert_eq!(parse_vmrss("Name: x\n"), None);
        assert!(read_kib(std::process::id()).is_some_and(|kib| kib > 0));
    }
}
