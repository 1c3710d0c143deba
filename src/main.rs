//! The `eventodb` binary: parses the command line, opens storage, makes sure the `default`
//! namespace exists, and serves HTTP until SIGINT/SIGTERM.
//!
//! Only this crate reads flags and environment variables, installs the tracing subscriber
//! and uses `anyhow`.

mod cli;
mod config;
mod export;
mod import;
mod server;
mod shutdown;
mod telemetry;
mod transfer;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    match cli::parse(args) {
        cli::Command::Help => {
            cli::print_help();
            ExitCode::SUCCESS
        }
        cli::Command::Version { full } => {
            if full {
                println!(
                    "eventodb: an event store that speaks the EventoDB protocol\nversion {}\ncommit {}\nbuilt with rustc for {}",
                    eventodb_http::VERSION,
                    option_env!("EVENTODB_COMMIT").unwrap_or("unknown"),
                    std::env::consts::ARCH,
                );
            } else {
                println!("{}", eventodb_http::VERSION);
            }
            ExitCode::SUCCESS
        }
        cli::Command::Bench(args) => eventodb_bench::main(*args),
        cli::Command::Export(args) => export::main(args),
        cli::Command::Import(args) => import::main(args),
        cli::Command::Serve(args) => match run(*args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("Error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn run(args: cli::ServeArgs) -> anyhow::Result<()> {
    let config = config::ServeConfig::resolve(args)?;
    telemetry::init(config.log_level, config.log_format);
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(server::run(config))
}
