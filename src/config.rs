//! Resolving flags and environment into one explicit [`ServeConfig`] (PROTOCOL §7.2–7.3).
//!
//! Precedence: flag, then `EVENTODB_*` variable, then default. An empty variable counts as
//! unset; a variable that does not parse (a port, a boolean) is ignored with a warning, as Go
//! does, while a flag that does not parse is a usage error (clap, exit 2).

use std::path::PathBuf;

use anyhow::{bail, Result};

use crate::cli::{parse_go_bool, ServeArgs};

/// Where messages are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Storage {
    /// In-memory SQLite (test mode): everything is lost at exit.
    SqliteMemory,
    /// File-backed SQLite: a registry file plus one database per namespace in `data_dir`.
    SqliteFiles {
        /// Directory of all database files, created if missing.
        data_dir: PathBuf,
        /// File name of the registry database inside `data_dir`.
        registry_file: String,
    },
    /// PostgreSQL, a schema per namespace.
    Postgres(PgSettings),
}

/// PostgreSQL settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PgSettings {
    /// Connection URL (`postgres://…`).
    pub(crate) url: String,
    /// Pool size.
    pub(crate) pool_size: usize,
    /// How long to wait for a connection.
    pub(crate) connect_timeout: std::time::Duration,
    /// Prepared-statement caching.
    pub(crate) statement_cache: bool,
    /// `None`: LISTEN/NOTIFY; `Some(interval)`: polling.
    pub(crate) poll: Option<std::time::Duration>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Console,
    /// One JSON object per line.
    Json,
}

/// Everything `serve` needs, resolved.
#[derive(Debug, Clone)]
pub(crate) struct ServeConfig {
    /// Listen address (host part).
    pub(crate) host: String,
    /// Listen port; 0 picks a free one.
    pub(crate) port: u16,
    /// Storage backend and location.
    pub(crate) storage: Storage,
    /// Token of the `default` namespace, when configured.
    pub(crate) token: Option<String>,
    /// Relaxed authentication: only with test mode and no `--db-url` (PROTOCOL §2.9).
    pub(crate) relaxed_auth: bool,
    /// Period of SSE keepalive comments.
    pub(crate) sse_keepalive: std::time::Duration,
    /// Limits that protect the server (`--max-*`, `--header-read-timeout`, `--rate-limit*`).
    pub(crate) limits: Limits,
    /// Maximum log level.
    pub(crate) log_level: tracing::Level,
    /// Log format.
    pub(crate) log_format: LogFormat,
    /// Warnings found while resolving, logged once logging is up.
    pub(crate) warnings: Vec<String>,
}

/// Limits that protect the server; see docs/OPERATIONS.md.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Limits {
    /// Largest `data` + `metadata` of one message, in bytes.
    pub(crate) max_message_bytes: usize,
    /// Largest `/rpc` request body, in bytes.
    pub(crate) max_body_bytes: usize,
    /// Time allowed for a request's headers.
    pub(crate) header_read_timeout: std::time::Duration,
    /// Time an idle keep-alive connection stays open.
    pub(crate) idle_timeout: std::time::Duration,
    /// Most open connections.
    pub(crate) max_connections: usize,
    /// Most open subscriptions per namespace.
    pub(crate) max_subscriptions_per_namespace: usize,
    /// Requests per second per namespace and burst; `None`: no limit.
    pub(crate) rate_limit: Option<(f64, f64)>,
}

impl Limits {
    fn resolve(args: &ServeArgs, warnings: &mut Vec<String>) -> Self {
        let mut number = |flag: Option<u64>, var: &str, default: u64| -> u64 {
            flag.or_else(|| {
                let v = env(var)?;
                v.parse().ok().or_else(|| {
                    warnings.push(format!("ignoring {var}={v:?}: not a number"));
                    None
                })
            })
            .unwrap_or(default)
        };
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX).max(1);
        let max_message_bytes = size(number(
            args.max_message_size,
            "EVENTODB_MAX_MESSAGE_SIZE",
            eventodb_http::DEFAULT_MAX_MESSAGE_BYTES as u64,
        ));
        let max_body_bytes = size(number(
            args.max_body_size,
            "EVENTODB_MAX_BODY_SIZE",
            eventodb_protocol::limits::DEFAULT_MAX_BODY_BYTES as u64,
        ));
        let header_read_timeout = std::time::Duration::from_secs(
            number(args.header_read_timeout, "EVENTODB_HEADER_READ_TIMEOUT", 30).max(1),
        );
        let idle_timeout = std::time::Duration::from_secs(
            number(args.idle_timeout, "EVENTODB_IDLE_TIMEOUT", 120).max(1),
        );
        let max_connections = size(number(
            args.max_connections,
            "EVENTODB_MAX_CONNECTIONS",
            eventodb_http::DEFAULT_MAX_CONNECTIONS as u64,
        ));
        let max_subscriptions_per_namespace = size(number(
            args.max_subscriptions_per_namespace,
            "EVENTODB_MAX_SUBSCRIPTIONS_PER_NAMESPACE",
            eventodb_http::DEFAULT_MAX_SUBSCRIPTIONS_PER_NAMESPACE as u64,
        ));
        let mut float = |flag: Option<f64>, var: &str| -> Option<f64> {
            flag.or_else(|| {
                let v = env(var)?;
                match v.parse::<f64>() {
                    Ok(n) if n.is_finite() && n >= 0.0 => Some(n),
                    _ => {
                        warnings.push(format!("ignoring {var}={v:?}: not a number"));
                        None
                    }
                }
            })
            .filter(|n| n.is_finite() && *n > 0.0)
        };
        let rate = float(args.rate_limit, "EVENTODB_RATE_LIMIT");
        let burst = float(args.rate_limit_burst, "EVENTODB_RATE_LIMIT_BURST");
        let rate_limit = rate.map(|r| (r, burst.unwrap_or(r).max(1.0)));
        Self {
            max_message_bytes,
            max_body_bytes,
            header_read_timeout,
            idle_timeout,
            max_connections,
            max_subscriptions_per_namespace,
            rate_limit,
        }
    }
}

/// Default directory of file-backed SQLite when no `--db-url` is given.
pub(crate) const DEFAULT_DATA_DIR: &str = "eventodb-data";
/// Default registry file name.
pub(crate) const DEFAULT_REGISTRY_FILE: &str = "metadata.db";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl ServeConfig {
    /// Resolves flags against the environment.
    pub(crate) fn resolve(args: ServeArgs) -> Result<Self> {
        let mut warnings = Vec::new();
        let port = match args.port {
            Some(p) => p,
            None => match env("EVENTODB_PORT") {
                Some(v) => v.parse().unwrap_or_else(|_| {
                    warnings.push(format!("ignoring EVENTODB_PORT={v:?}: not a port"));
                    8080
                }),
                None => 8080,
            },
        };
        let test_mode = match args.test_mode {
            Some(b) => b,
            None => match env("EVENTODB_TEST_MODE") {
                Some(v) => parse_go_bool(&v).unwrap_or_else(|_| {
                    warnings.push(format!("ignoring EVENTODB_TEST_MODE={v:?}: not a boolean"));
                    false
                }),
                None => false,
            },
        };
        let keepalive_secs = match args.sse_keepalive {
            Some(s) => s,
            None => match env("EVENTODB_SSE_KEEPALIVE") {
                Some(v) => v.parse().unwrap_or_else(|_| {
                    warnings.push(format!(
                        "ignoring EVENTODB_SSE_KEEPALIVE={v:?}: not a number"
                    ));
                    15
                }),
                None => 15,
            },
        }
        .max(1);
        let limits = Limits::resolve(&args, &mut warnings);
        let db_url = args.db_url.or_else(|| env("EVENTODB_DB_URL"));
        let data_dir = args
            .data_dir
            .or_else(|| env("EVENTODB_DATA_DIR").map(PathBuf::from));
        if let Some(db_type) = args.db_type.or_else(|| env("EVENTODB_DB_TYPE")) {
            bail!("--db-type {db_type:?} is not supported (only the default storage types are)");
        }
        let mut storage = storage(db_url.as_deref(), data_dir, test_mode)?;
        if let Storage::Postgres(pg) = &mut storage {
            let number =
                |flag: Option<u64>, var: &str, default: u64, warnings: &mut Vec<String>| {
                    flag.or_else(|| {
                        let v = env(var)?;
                        v.parse().ok().or_else(|| {
                            warnings.push(format!("ignoring {var}={v:?}: not a number"));
                            None
                        })
                    })
                    .unwrap_or(default)
                };
            pg.pool_size = number(
                args.pg_pool_size.map(|n| n as u64),
                "EVENTODB_PG_POOL_SIZE",
                8,
                &mut warnings,
            )
            .max(1) as usize;
            pg.connect_timeout = std::time::Duration::from_secs(number(
                args.pg_connect_timeout,
                "EVENTODB_PG_CONNECT_TIMEOUT",
                5,
                &mut warnings,
            ));
            pg.statement_cache = match args.pg_statement_cache {
                Some(b) => b,
                None => env("EVENTODB_PG_STATEMENT_CACHE")
                    .and_then(|v| parse_go_bool(&v).ok())
                    .unwrap_or(true),
            };
            let interval = number(
                args.pg_poll_interval,
                "EVENTODB_PG_POLL_INTERVAL",
                100,
                &mut warnings,
            )
            .max(1);
            pg.poll = match args
                .pg_notify
                .or_else(|| env("EVENTODB_PG_NOTIFY"))
                .as_deref()
            {
                None | Some("listen") => None,
                Some("poll") => Some(std::time::Duration::from_millis(interval)),
                Some(other) => bail!("--pg-notify must be listen or poll, not {other:?}"),
            };
        }
        let log_level = match args
            .log_level
            .or_else(|| env("EVENTODB_LOG_LEVEL"))
            .as_deref()
        {
            Some("debug") => tracing::Level::DEBUG,
            Some("warn") => tracing::Level::WARN,
            Some("error") => tracing::Level::ERROR,
            _ => tracing::Level::INFO,
        };
        let log_format = match args
            .log_format
            .or_else(|| env("EVENTODB_LOG_FORMAT"))
            .as_deref()
        {
            None | Some("console") => LogFormat::Console,
            Some(_) => LogFormat::Json,
        };
        Ok(Self {
            host: args
                .host
                .or_else(|| env("EVENTODB_HOST"))
                .unwrap_or_else(|| "0.0.0.0".into()),
            port,
            relaxed_auth: test_mode && db_url.is_none(),
            storage,
            token: args.token.or_else(|| env("EVENTODB_TOKEN")),
            sse_keepalive: std::time::Duration::from_secs(keepalive_secs),
            limits,
            log_level,
            log_format,
            warnings,
        })
    }
}

/// Storage selection (PROTOCOL §7.3 with §0 item 25).
fn storage(db_url: Option<&str>, data_dir: Option<PathBuf>, test_mode: bool) -> Result<Storage> {
    let Some(url) = db_url else {
        if test_mode {
            return Ok(Storage::SqliteMemory);
        }
        return Ok(Storage::SqliteFiles {
            data_dir: data_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            registry_file: DEFAULT_REGISTRY_FILE.into(),
        });
    };
    if let Some(name) = url.strip_prefix("sqlite://") {
        let Some(data_dir) = data_dir else {
            bail!("--data-dir is required with --db-url {url}");
        };
        // Go joins the text onto the data dir; we keep only its last component so the
        // registry can never land outside the data directory.
        let registry_file = std::path::Path::new(name)
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty())
            .unwrap_or(DEFAULT_REGISTRY_FILE)
            .to_owned();
        return Ok(Storage::SqliteFiles {
            data_dir,
            registry_file,
        });
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Storage::Postgres(PgSettings {
            url: url.to_owned(),
            pool_size: 8,
            connect_timeout: std::time::Duration::from_secs(5),
            statement_cache: true,
            poll: None,
        }));
    }
    if url.starts_with("pebble://") {
        bail!("the Pebble backend is not supported; use SQLite (no --db-url) or PostgreSQL");
    }
    bail!("unsupported --db-url {url:?}: expected sqlite://FILE or postgres://…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_selection() {
        assert_eq!(storage(None, None, true).unwrap(), Storage::SqliteMemory);
        assert_eq!(
            storage(None, None, false).unwrap(),
            Storage::SqliteFiles {
                data_dir: PathBuf::from("eventodb-data"),
                registry_file: "metadata.db".into()
            }
        );
        assert_eq!(
            storage(Some("sqlite://:memory:"), Some("/d".into()), true).unwrap(),
            Storage::SqliteFiles {
                data_dir: PathBuf::from("/d"),
                registry_file: ":memory:".into()
            }
        );
        assert_eq!(
            storage(Some("sqlite://"), Some("/d".into()), false).unwrap(),
            Storage::SqliteFiles {
                data_dir: PathBuf::from("/d"),
                registry_file: "metadata.db".into()
            }
        );
        assert!(storage(Some("sqlite://x.db"), None, false).is_err());
        assert!(matches!(
            storage(Some("postgres://u@localhost/db"), None, true).unwrap(),
            Storage::Postgres(PgSettings { pool_size: 8, .. })
        ));
        assert!(storage(Some("pebble://x"), None, false).is_err());
        assert!(storage(Some("mysql://x"), None, false).is_err());
    }
}
