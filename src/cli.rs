//! Command-line parsing (PROTOCOL §7.1–7.2).
//!
//! Flags follow Go's `flag` package so existing EventoDB harnesses can start us unchanged:
//! one or two leading dashes (`-port 6789` ≡ `--port 6789`), values by `=` or as the next
//! argument, booleans as `--test-mode` or `--test-mode=true|false` (a bare `false` after a
//! boolean is not consumed). Unknown flags are refused loudly (exit 2): for a CLI-first
//! server a typo should not silently start a differently configured server.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;

/// What the command line asks for.
#[derive(Debug)]
pub(crate) enum Command {
    /// Print the banner and help.
    Help,
    /// Print the version (`full`: banner, version and build facts).
    Version {
        /// `--full` / `-f` was given.
        full: bool,
    },
    /// Start the server.
    Serve(Box<ServeArgs>),
    /// Export a namespace as NDJSON (`eventodb export`); the arguments after the command.
    Export(Vec<String>),
    /// Import NDJSON into a namespace (`eventodb import`); the arguments after the command.
    Import(Vec<String>),
    /// Run the load generator (`eventodb bench`).
    Bench(Box<eventodb_bench::BenchArgs>),
}

/// Flags of `eventodb serve`. Each falls back to its `EVENTODB_*` environment variable
/// (see `config.rs`), then to the default.
#[derive(Debug, Default, Parser)]
#[command(
    name = "eventodb serve",
    about = "Start the eventodb server",
    disable_version_flag = true
)]
pub(crate) struct ServeArgs {
    /// Port to listen on [env: EVENTODB_PORT] [default: 8080; 0 picks a free port]
    #[arg(long)]
    pub(crate) port: Option<u16>,
    /// Address to listen on [env: EVENTODB_HOST] [default: 0.0.0.0, all interfaces]
    #[arg(long)]
    pub(crate) host: Option<String>,
    /// Storage URL: sqlite://FILE (with --data-dir) or postgres://… [env: EVENTODB_DB_URL]
    #[arg(long = "db-url")]
    pub(crate) db_url: Option<String>,
    /// Directory of the SQLite databases, created if missing [env: EVENTODB_DATA_DIR]
    /// [default without --db-url: ./eventodb-data]
    #[arg(long = "data-dir")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Database type; only the default is supported [env: EVENTODB_DB_TYPE]
    #[arg(long = "db-type")]
    pub(crate) db_type: Option<String>,
    /// Token of the `default` namespace [env: EVENTODB_TOKEN] [default: generated once]
    #[arg(long)]
    pub(crate) token: Option<String>,
    /// In-memory storage and relaxed authentication, for tests [env: EVENTODB_TEST_MODE]
    #[arg(
        long = "test-mode",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = parse_go_bool
    )]
    pub(crate) test_mode: Option<bool>,
    /// PostgreSQL pool size [env: EVENTODB_PG_POOL_SIZE] [default: 8]
    #[arg(long = "pg-pool-size")]
    pub(crate) pg_pool_size: Option<usize>,
    /// Seconds to wait for a PostgreSQL connection [env: EVENTODB_PG_CONNECT_TIMEOUT] [default: 5]
    #[arg(long = "pg-connect-timeout")]
    pub(crate) pg_connect_timeout: Option<u64>,
    /// Cache prepared statements per connection; turn off behind transaction-pooling proxies
    /// [env: EVENTODB_PG_STATEMENT_CACHE] [default: true]
    #[arg(long = "pg-statement-cache", value_parser = parse_go_bool)]
    pub(crate) pg_statement_cache: Option<bool>,
    /// How other processes' writes are noticed: `listen` (LISTEN/NOTIFY) or `poll`
    /// [env: EVENTODB_PG_NOTIFY] [default: listen]
    #[arg(long = "pg-notify")]
    pub(crate) pg_notify: Option<String>,
    /// Polling interval in milliseconds with --pg-notify=poll [env: EVENTODB_PG_POLL_INTERVAL]
    /// [default: 100]
    #[arg(long = "pg-poll-interval")]
    pub(crate) pg_poll_interval: Option<u64>,
    /// Seconds between SSE keepalive comments [env: EVENTODB_SSE_KEEPALIVE] [default: 15]
    #[arg(long = "sse-keepalive")]
    pub(crate) sse_keepalive: Option<u64>,
    /// Largest data plus metadata of one stream.write, in bytes of JSON as sent
    /// [env: EVENTODB_MAX_MESSAGE_SIZE] [default: 1048576 (1 MiB)]
    #[arg(long = "max-message-size")]
    pub(crate) max_message_size: Option<u64>,
    /// Largest request body on /rpc, in bytes [env: EVENTODB_MAX_BODY_SIZE]
    /// [default: 104857600 (100 MiB)]
    #[arg(long = "max-body-size")]
    pub(crate) max_body_size: Option<u64>,
    /// Seconds a client may take to send a request's headers [env: EVENTODB_HEADER_READ_TIMEOUT]
    /// [default: 30]
    #[arg(long = "header-read-timeout")]
    pub(crate) header_read_timeout: Option<u64>,
    /// Seconds a keep-alive connection with no request in flight stays open
    /// [env: EVENTODB_IDLE_TIMEOUT] [default: 120]
    #[arg(long = "idle-timeout")]
    pub(crate) idle_timeout: Option<u64>,
    /// Most open connections; further ones are closed at once [env: EVENTODB_MAX_CONNECTIONS]
    /// [default: 10000]
    #[arg(long = "max-connections")]
    pub(crate) max_connections: Option<u64>,
    /// Most open SSE subscriptions in one namespace
    /// [env: EVENTODB_MAX_SUBSCRIPTIONS_PER_NAMESPACE] [default: 10000]
    #[arg(long = "max-subscriptions-per-namespace")]
    pub(crate) max_subscriptions_per_namespace: Option<u64>,
    /// Requests per second allowed per namespace, 0 for no limit [env: EVENTODB_RATE_LIMIT]
    /// [default: 0]
    #[arg(long = "rate-limit")]
    pub(crate) rate_limit: Option<f64>,
    /// Requests a namespace may send at once under --rate-limit [env: EVENTODB_RATE_LIMIT_BURST]
    /// [default: the rate, at least 1]
    #[arg(long = "rate-limit-burst")]
    pub(crate) rate_limit_burst: Option<f64>,
    /// debug, info, warn or error [env: EVENTODB_LOG_LEVEL] [default: info]
    #[arg(long = "log-level")]
    pub(crate) log_level: Option<String>,
    /// console, or anything else for JSON lines [env: EVENTODB_LOG_FORMAT] [default: console]
    #[arg(long = "log-format")]
    pub(crate) log_format: Option<String>,
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_go_bool(text: &str) -> Result<bool, String> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        other => Err(format!("invalid boolean {other:?}")),
    }
}

const HELP: &str = "\
eventodb: an event store that speaks the EventoDB protocol

Usage:
  eventodb serve [flags]     start the server (flags: eventodb serve --help)
  eventodb [flags]           same as serve
  eventodb export --url U --token T [--categories a,b] [--since D] [--until D]
                  [--gzip] [--output FILE]     write a namespace as NDJSON
  eventodb import --url U --token T [--input FILE] [--gzip] [--force]
                                               load NDJSON into a namespace
  eventodb bench <scenario>  load-test a server (eventodb bench --help)
  eventodb version [--full]  print the version
  eventodb help              print this help

With no flags, `eventodb serve` stores data in ./eventodb-data (SQLite) on port 8080.
";

/// Prints the banner and the help text.
pub(crate) fn print_help() {
    println!("{HELP}");
}

/// Turns Go-style single-dash long flags (`-port`) into clap's `--port`.
fn normalise(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut rest_verbatim = false;
    for arg in args {
        match arg.to_str() {
            Some("--") => {
                rest_verbatim = true;
                out.push(arg);
            }
            Some(s)
                if !rest_verbatim
                    && s.len() > 2
                    && s.starts_with('-')
                    && s.as_bytes()[1].is_ascii_alphabetic() =>
            {
                out.push(OsString::from(format!("-{s}")));
            }
            _ => out.push(arg),
        }
    }
    out
}

/// Arguments as text (non-UTF-8 bytes replaced).
fn strings(args: &[OsString]) -> Vec<String> {
    args.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

/// Parses the process arguments (without the program name). Usage errors exit with 2.
pub(crate) fn parse(args: Vec<OsString>) -> Command {
    let first = args.first().and_then(|a| a.to_str()).map(str::to_owned);
    let serve = |rest: Vec<OsString>| {
        let argv = std::iter::once(OsString::from("eventodb serve")).chain(normalise(rest));
        match ServeArgs::try_parse_from(argv) {
            Ok(parsed) => Command::Serve(Box::new(parsed)),
            Err(e) => e.exit(),
        }
    };
    match first.as_deref() {
        None => Command::Help,
        Some("serve") => serve(args[1..].to_vec()),
        Some("bench") => {
            let argv = std::iter::once(OsString::from("eventodb bench")).chain(args[1..].to_vec());
            match eventodb_bench::BenchArgs::try_parse_from(argv) {
                Ok(parsed) => Command::Bench(Box::new(parsed)),
                Err(e) => e.exit(),
            }
        }
        Some("export") => Command::Export(strings(&args[1..])),
        Some("import") => Command::Import(strings(&args[1..])),
        Some("version" | "--version" | "-version" | "-v") => Command::Version {
            full: args[1..]
                .iter()
                .any(|a| matches!(a.to_str(), Some("--full" | "-full" | "-f"))),
        },
        Some("help" | "--help" | "-help" | "-h") => Command::Help,
        Some(flag) if flag.starts_with('-') => serve(args),
        Some(other) => {
            eprintln!("eventodb: unknown command {other:?}\n\n{HELP}");
            std::process::exit(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve_args(args: &[&str]) -> ServeArgs {
        match parse(args.iter().map(OsString::from).collect()) {
            Command::Serve(a) => *a,
            other => panic!("not serve: {other:?}"),
        }
    }

    #[test]
    fn go_style_flags() {
        let a = serve_args(&[
            "-port",
            "6789",
            "-token",
            "t",
            "-db-url",
            "sqlite://:memory:",
        ]);
        assert_eq!(a.port, Some(6789));
        assert_eq!(a.token.as_deref(), Some("t"));
        assert_eq!(a.db_url.as_deref(), Some("sqlite://:memory:"));
        let a = serve_args(&["--test-mode", "--port=6789", "--token=t"]);
        assert_eq!(a.test_mode, Some(true));
        assert_eq!(a.port, Some(6789));
    }

    #[test]
    fn booleans_do_not_swallow_the_next_argument() {
        let a = serve_args(&["serve", "--test-mode", "--port", "1"]);
        assert_eq!(a.test_mode, Some(true));
        let a = serve_args(&["serve", "-test-mode=false", "-port", "1"]);
        assert_eq!(a.test_mode, Some(false));
    }

    #[test]
    fn version_and_help() {
        assert!(matches!(parse(vec![]), Command::Help));
        assert!(matches!(
            parse(vec!["version".into(), "--full".into()]),
            Command::Version { full: true }
        ));
        assert!(matches!(
            parse(vec!["-v".into()]),
            Command::Version { full: false }
        ));
    }
}
