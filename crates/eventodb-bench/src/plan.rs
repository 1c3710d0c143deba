//! Turns the flags and the profile into the settings of each step of a run.

use std::time::Duration;

use crate::args::{BenchArgs, Profile, Scenario};
use crate::error::{Error, Result};

/// Subscribe's default writes per second.
const SUBSCRIBE_RATE: f64 = 20.0;

/// The load of one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepLoad {
    /// Connections.
    pub clients: u32,
    /// Open-loop rate (writes per second for subscribe).
    pub rate: Option<f64>,
}

/// Everything a run needs, after the profile has been applied.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Lead-in of each step.
    pub warmup: Duration,
    /// Measured window of each step.
    pub duration: Duration,
    /// Data set size for read-*.
    pub messages: u32,
    /// Streams of the data set (mixed, read-*).
    pub stream_count: u32,
    /// Subscriptions (subscribe).
    pub subscribers: u32,
    /// The load of each step, in order (one step unless stressing).
    pub steps: Vec<StepLoad>,
    /// Stress: p99 above which the ramp stops.
    pub p99_target: Duration,
}

/// Validates the flags and applies the profile.
pub fn plan(args: &BenchArgs) -> Result<Plan> {
    if let Some(rate) = args.rate {
        if !rate.is_finite() || rate <= 0.0 || rate > 10_000_000.0 {
            return Err(Error::new(
                "--rate must be a number of requests per second > 0",
            ));
        }
    }
    if args.clients == Some(0) {
        return Err(Error::new("--clients must be at least 1"));
    }
    if args.consumer_group == Some(0) {
        return Err(Error::new("--consumer-group must be at least 1"));
    }
    if args.stream_count == 0 || args.subscribers == 0 {
        return Err(Error::new(
            "--stream-count and --subscribers must be at least 1",
        ));
    }
    if args.duration.is_zero() {
        return Err(Error::new("--duration must be more than 0"));
    }
    if !args.p99_target_ms.is_finite() || args.p99_target_ms <= 0.0 {
        return Err(Error::new(
            "--p99-target must be a positive number of milliseconds",
        ));
    }
    let rate = match (args.rate, args.scenario) {
        (None, Scenario::Subscribe) => Some(SUBSCRIBE_RATE),
        (rate, _) => rate,
    };
    let clients = args.clients.unwrap_or(match (args.scenario, rate) {
        (Scenario::Mixed, _) => 10,
        (Scenario::Subscribe, _) => 1,
        (_, Some(_)) => 16,
        _ => 1,
    });
    let mut plan = Plan {
        warmup: args.warmup,
        duration: args.duration,
        messages: args.messages,
        stream_count: args.stream_count,
        subscribers: args.subscribers,
        steps: vec![StepLoad { clients, rate }],
        p99_target: Duration::from_secs_f64(args.p99_target_ms / 1000.0),
    };
    match args.profile {
        Profile::Load => {}
        Profile::Smoke => {
            plan.warmup = plan.warmup.min(Duration::from_millis(200));
            plan.duration = plan.duration.min(Duration::from_secs(1));
            plan.messages = plan.messages.min(1000);
            plan.stream_count = plan.stream_count.min(10);
            plan.subscribers = plan.subscribers.min(10);
            plan.steps = vec![StepLoad {
                clients: clients.min(4),
                rate: rate.map(|r| r.min(200.0)),
            }];
        }
        Profile::Stress => plan.steps = ramp(args, clients, rate),
    }
    Ok(plan)
}

/// Stress steps: the rate doubles from its start when there is one, else the client count
/// doubles from 1 to `--max-clients`.
fn ramp(args: &BenchArgs, clients: u32, rate: Option<f64>) -> Vec<StepLoad> {
    let steps = args.max_steps.max(1);
    match rate {
        Some(start) => (0..steps)
            .map(|i| StepLoad {
                clients,
                rate: Some(start * f64::from(1u32 << i.min(30))),
            })
            .collect(),
        None => {
            let mut out = Vec::new();
            let mut n = 1u32;
            while out.len() < steps as usize && n <= args.max_clients.max(1) {
                out.push(StepLoad {
                    clients: n,
                    rate: None,
                });
                n = n.saturating_mul(2);
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn plan_of(args: &[&str]) -> Result<Plan> {
        plan(
            &BenchArgs::try_parse_from(std::iter::once("bench").chain(args.iter().copied()))
                .unwrap(),
        )
    }

    #[test]
    fn profiles() {
        let p = plan_of(&["mixed"]).unwrap();
        assert_eq!(
            p.steps,
            vec![StepLoad {
                clients: 10,
                rate: None
            }]
        );
        let p = plan_of(&["write", "--profile", "smoke", "--clients", "64"]).unwrap();
        assert_eq!(p.steps[0].clients, 4);
        assert!(p.duration + p.warmup <= Duration::from_millis(1200));
        let p = plan_of(&["write", "--profile", "stress", "--max-clients", "8"]).unwrap();
        let clients: Vec<u32> = p.steps.iter().map(|s| s.clients).collect();
        assert_eq!(clients, vec![1, 2, 4, 8]);
        let p = plan_of(&["subscribe", "--profile", "stress", "--max-steps", "3"]).unwrap();
        let rates: Vec<_> = p.steps.iter().map(|s| s.rate).collect();
        assert_eq!(rates, vec![Some(20.0), Some(40.0), Some(80.0)]);
    }

    #[test]
    fn refuses_nonsense() {
        assert!(plan_of(&["write", "--rate", "0"]).is_err());
        assert!(plan_of(&["write", "--clients", "0"]).is_err());
        assert!(plan_of(&["write", "--duration", "0"]).is_err());
        assert!(plan_of(&["read-category", "--consumer-group", "0"]).is_err());
    }
}
