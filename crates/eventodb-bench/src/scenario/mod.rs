//! The scenarios, and running a plan of steps through them.

pub mod mixed;
pub mod read;
pub mod subscribe;
pub mod write;

use std::sync::Arc;

use crate::args::{BenchArgs, Scenario};
use crate::driver::{self, LoadSpec};
use crate::error::Result;
use crate::plan::{Plan, StepLoad};
use crate::report::{Report, StepReport};
use crate::rss;
use crate::target::Target;
use crate::workload::Workload;

/// Runs every step of the plan (stopping a stress ramp at the first failing step).
pub async fn execute(target: &Arc<Target>, args: &BenchArgs, plan: &Plan) -> Result<Report> {
    let run = crate::rng::run_id();
    let base = format!("bench{run}");
    let pad = crate::body::padding(args.payload_bytes);
    let data = match args.scenario {
        Scenario::ReadStream | Scenario::ReadCategory if args.dataset.is_some() => {
            Some(read::DataSet {
                category: args.dataset.clone().unwrap_or_default(),
                streams: plan.stream_count.max(1),
                first: 1,
                last: i64::from(plan.messages.max(1)),
            })
        }
        Scenario::ReadStream | Scenario::ReadCategory => {
            if !args.quiet {
                eprintln!(
                    "set-up: writing {} messages in {} streams of category {base}",
                    plan.messages, plan.stream_count
                );
            }
            Some(read::setup(target, &base, plan.stream_count, plan.messages, &pad).await?)
        }
        _ => None,
    };
    let mut report = Report::new(args, plan);
    for (i, load) in plan.steps.iter().enumerate() {
        // Each step writes to a category of its own, so counters and versions start afresh.
        let category = format!("{base}x{i}");
        let step = match args.scenario {
            Scenario::Subscribe => {
                let spec = subscribe::SubscribeSpec {
                    category,
                    subscribers: plan.subscribers,
                    all: args.all,
                    rate: load.rate.unwrap_or(1.0),
                    warmup: plan.warmup,
                    duration: plan.duration,
                    pad: pad.clone(),
                    server_pid: args.server_pid,
                };
                let outcome = subscribe::run(target, &spec, args.quiet).await?;
                StepReport {
                    load: *load,
                    subscribers: Some(plan.subscribers),
                    duration: plan.duration,
                    recorder: outcome.pokes,
                    rss: outcome.rss,
                    pokes: Some(outcome.stats),
                    writes: Some(outcome.writes),
                    from_send: Some(outcome.from_send),
                }
            }
            scenario => {
                let workload: Workload = match (scenario, &data) {
                    (Scenario::ReadStream, Some(data)) => read::stream_workload(data.clone()),
                    (Scenario::ReadCategory, Some(data)) => {
                        read::category_workload(data.clone(), args.consumer_group, args.from_start)
                    }
                    (Scenario::Mixed, _) => mixed::workload(&category, plan.stream_count, &pad),
                    _ => write::workload(write::WriteSpec {
                        category,
                        streams: args.streams,
                        expected_version: args.expected_version,
                        pad: pad.clone(),
                    }),
                };
                run_requests(target, args, plan, load, &workload).await?
            }
        };
        let failed = step.failed(plan.p99_target);
        report.steps.push(step);
        if plan.steps.len() > 1 {
            if let Some(reason) = failed {
                report.stopped = Some(reason);
                break;
            }
        }
    }
    Ok(report)
}

/// One request-driven step (write, mixed, read-*), with memory sampling.
async fn run_requests(
    target: &Arc<Target>,
    args: &BenchArgs,
    plan: &Plan,
    load: &StepLoad,
    workload: &Workload,
) -> Result<StepReport> {
    let spec = LoadSpec {
        clients: load.clients,
        rate: load.rate,
        warmup: plan.warmup,
        duration: plan.duration,
    };
    let label = match load.rate {
        Some(rate) => format!("{} rate={rate}/s", args.scenario.name()),
        None => format!("{} clients={}", args.scenario.name(), load.clients),
    };
    let sampler = rss::Sampler::start(args.server_pid);
    let recorder = driver::run(target, &spec, workload, &label, args.quiet).await?;
    Ok(StepReport {
        load: *load,
        subscribers: None,
        duration: plan.duration,
        recorder,
        rss: sampler.finish().await,
        pokes: None,
        writes: None,
        from_send: None,
    })
}
