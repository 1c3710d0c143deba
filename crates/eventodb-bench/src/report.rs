//! The results of a run: one row per step, printed as a table or as JSON.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Value};

use crate::args::BenchArgs;
use crate::plan::{Plan, StepLoad};
use crate::rss::Rss;
use crate::scenario::subscribe::PokeStats;
use crate::stats::{Percentiles, Recorder};

/// A whole run.
#[derive(Debug)]
pub struct Report {
    /// Scenario name.
    pub scenario: &'static str,
    /// Profile name.
    pub profile: &'static str,
    /// Server URL.
    pub url: String,
    /// Stress target.
    pub p99_target: Duration,
    /// The steps run, in order.
    pub steps: Vec<StepReport>,
    /// Why a stress ramp stopped early.
    pub stopped: Option<String>,
}

/// One step: a fixed load for the measured window.
#[derive(Debug)]
pub struct StepReport {
    /// Connections and rate.
    pub load: StepLoad,
    /// Subscriptions (subscribe only).
    pub subscribers: Option<u32>,
    /// Measured window.
    pub duration: Duration,
    /// Operations (pokes, for subscribe), their latency and the errors.
    pub recorder: Recorder,
    /// Server memory over the step.
    pub rss: Option<Rss>,
    /// Poke delivery (subscribe only).
    pub pokes: Option<PokeStats>,
    /// The writer's own latency (subscribe only).
    pub writes: Option<Recorder>,
    /// Poke latency from the write's request being sent (subscribe only).
    pub from_send: Option<Recorder>,
}

impl StepReport {
    /// Operations per second over the measured window.
    pub fn ops_per_sec(&self) -> f64 {
        self.recorder.ops() as f64 / self.duration.as_secs_f64().max(1e-9)
    }

    /// Errors of any kind, including missed and duplicated pokes.
    pub fn error_count(&self) -> u64 {
        let pokes = self.pokes.map(|p| p.missed + p.duplicated).unwrap_or(0);
        let writes = self.writes.as_ref().map(Recorder::error_count).unwrap_or(0);
        self.recorder.error_count() + pokes + writes
    }

    /// Why this step fails a stress ramp, if it does.
    pub fn failed(&self, p99_target: Duration) -> Option<String> {
        let errors = self.error_count();
        if errors > 0 {
            return Some(format!("{errors} errors"));
        }
        let p99 = self.recorder.percentiles().p99;
        (p99 > p99_target).then(|| {
            format!(
                "p99 {:.3} ms above the target {:.3} ms",
                ms(p99),
                ms(p99_target)
            )
        })
    }

    fn to_json(&self) -> Value {
        let mut step = json!({
            "clients": self.load.clients,
            "rate": self.load.rate,
            "duration_s": self.duration.as_secs_f64(),
            "ops": self.recorder.ops(),
            "ops_per_sec": round(self.ops_per_sec(), 1),
            "errors": self.error_count(),
            "error_kinds": self.recorder.errors(),
            "latency_ms": percentiles_json(&self.recorder.percentiles()),
        });
        if let Some(n) = self.subscribers {
            step["subscribers"] = json!(n);
        }
        if let Some(rss) = &self.rss {
            step["server_rss_kib"] =
                json!({ "start": rss.start_kib, "peak": rss.peak_kib, "end": rss.end_kib });
        }
        if let Some(p) = &self.pokes {
            step["pokes"] = json!({
                "writes": p.writes,
                "expected": p.expected,
                "received": p.received,
                "missed": p.missed,
                "duplicated": p.duplicated,
                "before_ack": p.before_ack,
                "rss_before_subscribing_kib": p.rss_before_kib,
                "rss_idle_subscribed_kib": p.rss_idle_kib,
                "bytes_per_idle_subscriber": self
                    .subscribers
                    .and_then(|n| p.bytes_per_subscriber(n))
                    .map(|b| round(b, 0)),
            });
        }
        if let Some(w) = &self.writes {
            step["write_latency_ms"] = percentiles_json(&w.percentiles());
            step["write_errors"] = json!(w.errors());
        }
        if let Some(f) = &self.from_send {
            step["poke_latency_from_send_ms"] = percentiles_json(&f.percentiles());
        }
        step
    }
}

impl Report {
    /// An empty report for these flags.
    pub fn new(args: &BenchArgs, plan: &Plan) -> Report {
        Report {
            scenario: args.scenario.name(),
            profile: args.profile.name(),
            url: args.url.clone(),
            p99_target: plan.p99_target,
            steps: Vec::new(),
            stopped: None,
        }
    }

    /// The report as one JSON object (`steps` holds one entry per step).
    pub fn to_json(&self) -> Value {
        json!({
            "scenario": self.scenario,
            "profile": self.profile,
            "url": self.url,
            "p99_target_ms": ms(self.p99_target),
            "steps": self.steps.iter().map(StepReport::to_json).collect::<Vec<_>>(),
            "stopped": self.stopped,
        })
    }

    /// The report as a text table.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "scenario {}  profile {}  server {}",
            self.scenario, self.profile, self.url
        );
        let unit = if self.scenario == "subscribe" {
            "pokes/s"
        } else {
            "ops/s"
        };
        let _ = writeln!(
            out,
            "{:>7} {:>9} {:>11} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
            "clients", "rate/s", unit, "p50 ms", "p95 ms", "p99 ms", "p99.9 ms", "max ms", "errors"
        );
        for step in &self.steps {
            let p = step.recorder.percentiles();
            let rate = step.load.rate.map(|r| format!("{r}")).unwrap_or("-".into());
            let _ = writeln!(
                out,
                "{:>7} {:>9} {:>11.1} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>7}",
                step.load.clients,
                rate,
                step.ops_per_sec(),
                ms(p.p50),
                ms(p.p95),
                ms(p.p99),
                ms(p.p999),
                ms(p.max),
                step.error_count()
            );
            for (kind, n) in step.recorder.errors() {
                let _ = writeln!(out, "        error {kind}: {n}");
            }
            step_details(&mut out, step);
        }
        if let Some(reason) = &self.stopped {
            let _ = writeln!(out, "stress ramp stopped: {reason}");
        }
        out
    }
}

/// The lines under a step's row: pokes, writer latency, memory.
fn step_details(out: &mut String, step: &StepReport) {
    if let (Some(p), Some(n)) = (&step.pokes, step.subscribers) {
        let _ = writeln!(
            out,
            "        {n} subscribers: {} writes, pokes expected {} received {} missed {} duplicated {} (before the ack: {})",
            p.writes, p.expected, p.received, p.missed, p.duplicated, p.before_ack
        );
        if let (Some(before), Some(idle)) = (p.rss_before_kib, p.rss_idle_kib) {
            let per = p.bytes_per_subscriber(n).unwrap_or(0.0);
            let _ = writeln!(
                out,
                "        server RSS before subscribing {before} KiB, all idle {idle} KiB: {:.1} KiB per idle subscriber",
                per / 1024.0
            );
        }
    }
    if let Some(w) = &step.writes {
        let p = w.percentiles();
        let _ = writeln!(
            out,
            "        writer latency ms: p50 {:.3} p99 {:.3} max {:.3}, {} write errors",
            ms(p.p50),
            ms(p.p99),
            ms(p.max),
            w.error_count()
        );
    }
    if let Some(f) = &step.from_send {
        let p = f.percentiles();
        let _ = writeln!(
            out,
            "        poke latency from the write's request ms: p50 {:.3} p99 {:.3} p99.9 {:.3} max {:.3}",
            ms(p.p50),
            ms(p.p99),
            ms(p.p999),
            ms(p.max)
        );
    }
    if let Some(rss) = &step.rss {
        let _ = writeln!(
            out,
            "        server RSS KiB: start {} peak {} end {}",
            rss.start_kib, rss.peak_kib, rss.end_kib
        );
    }
}

fn percentiles_json(p: &Percentiles) -> Value {
    json!({
        "p50": round(ms(p.p50), 4),
        "p95": round(ms(p.p95), 4),
        "p99": round(ms(p.p99), 4),
        "p99_9": round(ms(p.p999), 4),
        "max": round(ms(p.max), 4),
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}
