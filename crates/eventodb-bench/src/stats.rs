//! Latency histograms (HDR, nanoseconds) and error counts, one per worker, merged at the end.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Largest latency a histogram holds; longer ones are clamped to it.
const MAX_NANOS: u64 = 3_600_000_000_000;

/// What one worker (or a whole run, once merged) measured.
#[derive(Debug, Clone)]
pub struct Recorder {
    latency: Histogram<u64>,
    /// Failed requests by kind (`409 STREAM_VERSION_CONFLICT`, `transport`, …).
    errors: BTreeMap<String, u64>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Recorder {
    /// An empty recorder.
    #[allow(clippy::expect_used)] // constant, valid bounds: no input reaches this
    pub fn new() -> Recorder {
        let latency = Histogram::new_with_bounds(1, MAX_NANOS, 3)
            .expect("1 ns to 1 h at 3 significant digits is a valid histogram");
        Recorder {
            latency,
            errors: BTreeMap::new(),
        }
    }

    /// Records one successful operation and its latency.
    pub fn ok(&mut self, latency: Duration) {
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(MAX_NANOS);
        self.latency.saturating_record(nanos.clamp(1, MAX_NANOS));
    }

    /// Records one failed operation.
    pub fn error(&mut self, kind: String) {
        *self.errors.entry(kind).or_insert(0) += 1;
    }

    /// Adds another recorder's measurements to this one.
    pub fn merge(&mut self, other: &Recorder) {
        // Both histograms have the same bounds, so adding cannot fail; if it ever did,
        // losing the other half is better than aborting the report.
        let _ = self.latency.add(&other.latency);
        for (kind, n) in &other.errors {
            *self.errors.entry(kind.clone()).or_insert(0) += n;
        }
    }

    /// Successful operations recorded.
    pub fn ops(&self) -> u64 {
        self.latency.len()
    }

    /// Failed operations recorded.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Failed operations by kind.
    pub fn errors(&self) -> &BTreeMap<String, u64> {
        &self.errors
    }

    /// The latency percentiles of the successful operations.
    pub fn percentiles(&self) -> Percentiles {
        let at = |q: f64| Duration::from_nanos(self.latency.value_at_quantile(q));
        Percentiles {
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            p999: at(0.999),
            max: Duration::from_nanos(self.latency.max()),
        }
    }
}

/// Latency summary of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: Duration,
    /// 95th percentile.
    pub p95: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// 99.9th percentile.
    pub p999: Duration,
    /// Largest latency seen.
    pub max: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_merges_and_summarises() {
        let mut a = Recorder::new();
        let mut b = Recorder::new();
        for ms in 1..=100 {
            a.ok(Duration::from_millis(ms));
        }
        b.ok(Duration::from_secs(1));
        b.error("transport".into());
        a.merge(&b);
        assert_eq!(a.ops(), 101);
        assert_eq!(a.error_count(), 1);
        let p = a.percentiles();
        assert!(p.p50 >= Duration::from_millis(50) && p.p50 <= Duration::from_millis(52));
        assert!(p.max >= Duration::from_millis(999));
    }
}
