//! The command line of `eventodb bench`, parsed by clap.

use std::time::Duration;

use clap::{Parser, ValueEnum};

const LONG_ABOUT: &str = "\
Load generator for any server speaking the EventoDB protocol (eventodb, EventoDB Go).

Traffic goes only to --url. Every run is bounded: --warmup, then --duration of measurement,
then the generator stops by itself and prints ops/s, latency percentiles (HDR histograms) and
the error count, as a table or, with --json, as JSON on stdout. A progress line goes to stderr
once per second.

Scenarios:
  write          stream.write; --streams own (one stream per client) or shared (one stream for
                 all); --expected-version sends expectedVersion from the writer's own counter
                 (with shared streams the losers of each race count as conflicts/errors).
  mixed          EventoDB's own profile: 10 clients, 90 % stream.write / 10 % stream.get
                 (batch 100) over --stream-count streams (default 100).
  read-stream    setup writes --messages messages (default 10,000) in --stream-count streams
                 (default 100), then stream.get of a random stream, batch 100.
  read-category  same setup, then category.get from a random global position, batch 100;
                 --consumer-group N reads as member 0 of a group of N.
  subscribe      poke latency: opens --subscribers SSE subscriptions (GET /subscribe?category=…,
                 or all=true with --all), waits for each `: ready`, then one writer writes at
                 --rate per second (default 20). Latency = from the write's HTTP response to each
                 subscriber receiving that poke, recorded per subscriber per poke. Missed and
                 duplicated pokes are counted (there must be none).

Load models:
  closed loop    --clients N connections, each sends its next request when the last answered.
  open loop      --rate R requests per second on a fixed timetable (over --clients connections);
                 latency counts from the scheduled start, so a stalled server shows up as latency
                 (no coordinated omission).

Profiles:
  smoke          ~2 s in total, light (≤ 4 clients, ≤ 10 subscribers, 1,000 setup messages);
                 for CI.
  load           the given settings (default).
  stress         ramps the client count (doubling from 1 to --max-clients) or, with --rate or for
                 subscribe, the rate (doubling from --rate), each step lasting --duration, until
                 errors appear or p99 exceeds --p99-target; reports each step.

--server-pid PID samples the server's VmRSS (from /proc/PID/status) at the start, peak and end;
for subscribe also before opening the subscriptions and once all are idle, giving the memory per
idle subscriber.

Example:
  eventodb bench --url http://127.0.0.1:8080 --token $TOKEN write --clients 16 --duration 10";

/// Flags of `eventodb bench`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "eventodb bench",
    about = "Load generator for EventoDB-protocol servers",
    long_about = LONG_ABOUT,
    disable_version_flag = true
)]
pub struct BenchArgs {
    /// What to measure (see above)
    #[arg(value_enum)]
    pub scenario: Scenario,
    /// Base URL of the server (http only); nothing else is contacted
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Namespace token, sent as `Authorization: Bearer` (optional against a test-mode server)
    #[arg(long)]
    pub token: Option<String>,
    /// smoke (~2 s, light), load (the given settings) or stress (ramp until it breaks)
    #[arg(long, value_enum, default_value = "load")]
    pub profile: Profile,
    /// Seconds of measurement (fractions allowed)
    #[arg(long, default_value = "10", value_parser = parse_seconds)]
    pub duration: Duration,
    /// Seconds of unmeasured load before the measurement
    #[arg(long, default_value = "1", value_parser = parse_seconds)]
    pub warmup: Duration,
    /// Connections (closed loop: concurrent clients; open loop: connections serving the
    /// timetable) [default: 10 for mixed, 16 with --rate, else 1]
    #[arg(long)]
    pub clients: Option<u32>,
    /// Open loop: requests per second on a fixed timetable; for subscribe, writes per second
    /// [subscribe default: 20]
    #[arg(long)]
    pub rate: Option<f64>,
    /// write: one stream per client (own) or one stream for all (shared)
    #[arg(long, value_enum, default_value = "own")]
    pub streams: StreamMode,
    /// write: send expectedVersion, taken from the writer's own counter
    #[arg(long = "expected-version")]
    pub expected_version: bool,
    /// mixed, read-*: number of streams of the data set
    #[arg(long = "stream-count", default_value = "100")]
    pub stream_count: u32,
    /// read-*: messages the setup writes before measuring
    #[arg(long, default_value = "10000")]
    pub messages: u32,
    /// read-category: read as member 0 of a consumer group of this size
    #[arg(long = "consumer-group")]
    pub consumer_group: Option<u32>,
    /// read-*: read this existing category instead of writing a set-up (its streams are
    /// CATEGORY-s0 … up to --stream-count, its global positions 1 … --messages)
    #[arg(long)]
    pub dataset: Option<String>,
    /// read-category: every read starts at the category's first global position
    #[arg(long = "from-start")]
    pub from_start: bool,
    /// Bytes of padding in each written message's data
    #[arg(long = "payload-bytes", default_value = "0")]
    pub payload_bytes: usize,
    /// subscribe: number of SSE subscriptions
    #[arg(long, default_value = "1")]
    pub subscribers: u32,
    /// subscribe: subscribe to the whole namespace (all=true) instead of the category
    #[arg(long)]
    pub all: bool,
    /// stress: the p99 latency (milliseconds) above which the ramp stops
    #[arg(long = "p99-target", default_value = "10")]
    pub p99_target_ms: f64,
    /// stress: the largest client count tried
    #[arg(long = "max-clients", default_value = "256")]
    pub max_clients: u32,
    /// stress: the most steps tried
    #[arg(long = "max-steps", default_value = "10")]
    pub max_steps: u32,
    /// Server process id: report its resident memory (VmRSS)
    #[arg(long = "server-pid")]
    pub server_pid: Option<u32>,
    /// Print the report as JSON on stdout instead of a table
    #[arg(long)]
    pub json: bool,
    /// No progress line on stderr
    #[arg(long)]
    pub quiet: bool,
}

/// The workloads `eventodb bench` can generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// stream.write, one stream per client or one shared stream
    Write,
    /// 90 % stream.write / 10 % stream.get over 100 streams, 10 clients
    Mixed,
    /// stream.get, batch 100, over pre-written streams
    ReadStream,
    /// category.get, batch 100, over a pre-written category (optionally as a group member)
    ReadCategory,
    /// SSE poke latency from write acknowledgement to each subscriber
    Subscribe,
}

impl Scenario {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Write => "write",
            Scenario::Mixed => "mixed",
            Scenario::ReadStream => "read-stream",
            Scenario::ReadCategory => "read-category",
            Scenario::Subscribe => "subscribe",
        }
    }
}

/// How hard and how long to push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    /// Short and light, for CI (~2 s)
    Smoke,
    /// The given settings
    Load,
    /// Ramp the load step by step until errors or the p99 target
    Stress,
}

impl Profile {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Smoke => "smoke",
            Profile::Load => "load",
            Profile::Stress => "stress",
        }
    }
}

/// Which streams the `write` scenario's clients write to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StreamMode {
    /// Each client writes its own stream
    Own,
    /// All clients write one stream
    Shared,
}

/// Parses a non-negative number of seconds, fractions allowed.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim_end_matches('s')
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !secs.is_finite() || !(0.0..=86_400.0).contains(&secs) {
        return Err(format!("{text:?} must be between 0 and 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scenario_and_options_in_any_order() {
        let a = BenchArgs::try_parse_from([
            "bench",
            "--url",
            "http://h:1",
            "write",
            "--clients",
            "16",
            "--duration",
            "0.5",
        ])
        .unwrap();
        assert_eq!(a.scenario, Scenario::Write);
        assert_eq!(a.clients, Some(16));
        assert_eq!(a.duration, Duration::from_millis(500));
        assert_eq!(a.url, "http://h:1");
    }

    #[test]
    fn refuses_bad_seconds() {
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("abc").is_err());
        assert_eq!(parse_seconds("2s"), Ok(Duration::from_secs(2)));
    }
}
