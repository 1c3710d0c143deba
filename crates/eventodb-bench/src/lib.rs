//! `eventodb bench`: a load generator for any server speaking the EventoDB protocol.
//!
//! It drives JSON-RPC scenarios (`write`, `mixed`, `read-stream`, `read-category`) in a closed
//! loop or on an open-loop timetable, and measures SSE poke latency (`subscribe`), recording
//! latencies in HDR histograms and reporting ops/s, percentiles and errors as a table or JSON.
//! Traffic goes only to the `--url` given, over one keep-alive HTTP/1.1 connection per worker,
//! and every run is bounded in time.
//!
//! The binary parses [`BenchArgs`] and calls [`main`].

pub mod args;
pub mod body;
pub mod client;
pub mod driver;
pub mod error;
pub mod plan;
pub mod progress;
pub mod report;
pub mod rng;
pub mod rss;
pub mod scenario;
pub mod sse;
pub mod stats;
pub mod target;
pub mod workload;

use std::process::ExitCode;
use std::sync::Arc;

pub use args::BenchArgs;
pub use error::{Error, Result};
pub use report::Report;

/// Runs a benchmark and returns its report (needs a tokio runtime).
pub async fn run(args: &BenchArgs) -> Result<Report> {
    let plan = plan::plan(args)?;
    let target = Arc::new(target::Target::resolve(&args.url, args.token.as_deref()).await?);
    scenario::execute(&target, args, &plan).await
}

/// Runs a benchmark on its own runtime and prints the report; the exit code of
/// `eventodb bench` (1 when the run could not be carried out).
pub fn main(args: BenchArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("Error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(report) => {
            if args.json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_table());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}
