//! Start-up and shutdown in order (PROTOCOL §7.4–7.5): open storage and apply migrations,
//! make sure `default` exists with the configured token, bind, serve, drain, close storage.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use eventodb_http::{App, Hub, RateLimit, ServerConfig, DEFAULT_NAMESPACE};
use eventodb_protocol::{time::now_micros, token};
use eventodb_store::{NewNamespace, Store};
use eventodb_store_postgres::{NotifyMode, PostgresConfig, PostgresStore};
use eventodb_store_sqlite::{SqliteConfig, SqliteLocation, SqliteStore, Synchronous};
use tokio::net::{TcpListener, TcpSocket};

use crate::config::{ServeConfig, Storage};

/// Runs the server until a shutdown signal.
pub(crate) async fn run(config: ServeConfig) -> Result<()> {
    if let Some(given) = &config.token {
        match token::parse(given) {
            Ok(ns) if ns == DEFAULT_NAMESPACE => {}
            Ok(ns) => bail!("--token names namespace {ns:?}; it must name \"default\""),
            Err(e) => bail!("--token is not a valid token: {}", e.describe()),
        }
    }
    // The hub exists before the store: the store publishes every commit into it.
    let hub = Arc::new(Hub::new());
    match &config.storage {
        Storage::SqliteMemory => {
            let store = open_sqlite(SqliteLocation::Memory, hub.clone())?;
            tracing::info!("storage: in-memory SQLite (test mode): data is lost at exit");
            serve_with(store, hub, &config).await
        }
        Storage::SqliteFiles {
            data_dir,
            registry_file,
        } => {
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
            let location = SqliteLocation::Dir {
                data_dir: data_dir.clone(),
                registry_file: registry_file.clone(),
            };
            let store = open_sqlite(location, hub.clone())?;
            let shown = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.clone());
            tracing::info!(data_dir = %shown.display(), "storage: SQLite files");
            println!("eventodb: data is stored in {}", shown.display());
            serve_with(store, hub, &config).await
        }
        Storage::Postgres(pg) => {
            let mut settings = PostgresConfig::new(pg.url.clone()).with_changes(hub.clone());
            settings.pool_size = pg.pool_size;
            settings.connect_timeout = pg.connect_timeout;
            settings.statement_cache = pg.statement_cache;
            if let Some(interval) = pg.poll {
                settings = settings.with_notify(NotifyMode::Poll(interval));
            }
            let store = PostgresStore::connect(settings)
                .await
                .context("cannot open PostgreSQL storage")?;
            tracing::info!(
                pool_size = pg.pool_size,
                notify = if pg.poll.is_some() { "poll" } else { "listen" },
                "storage: PostgreSQL"
            );
            serve_with(store, hub, &config).await
        }
    }
}

fn open_sqlite(location: SqliteLocation, hub: Arc<Hub>) -> Result<SqliteStore> {
    let config = SqliteConfig {
        location,
        synchronous: Synchronous::Full,
    };
    SqliteStore::open_with_sink(config, hub).context("cannot open storage")
}

/// Connections the kernel may hold for us before we accept them (it caps this at
/// `net.core.somaxconn`). tokio's and std's default is 128: a burst of clients connecting at
/// once (subscribers reconnecting after a restart) would overflow it, and a connection the
/// kernel then drops after a SYN cookie can be lost for good. Go (EventoDB) uses somaxconn.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds the first address `host` resolves to that accepts us, with [`LISTEN_BACKLOG`].
async fn listen(host: &str, port: u16) -> std::io::Result<TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host((host, port)).await? {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        // As std does on Unix (a restart may bind while old connections linger); on Windows
        // the option would let another process take the port.
        #[cfg(unix)]
        socket.set_reuseaddr(true)?;
        match socket
            .bind(addr)
            .and_then(|()| socket.listen(LISTEN_BACKLOG))
        {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address to listen on")
    }))
}

/// Serves on an opened store: default namespace, listener, serve, drain, close.
async fn serve_with<S: Store>(store: S, hub: Arc<Hub>, config: &ServeConfig) -> Result<()> {
    ensure_default_namespace(&store, config.token.as_deref()).await?;

    let shutdown = crate::shutdown::install().context("cannot install signal handlers")?;
    let listener = listen(&config.host, config.port)
        .await
        .with_context(|| format!("cannot listen on {}:{}", config.host, config.port))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, relaxed_auth = config.relaxed_auth, "listening on {addr}");

    let mut http = ServerConfig::new();
    http.relaxed_auth = config.relaxed_auth;
    http.sse_keepalive = config.sse_keepalive;
    let limits = &config.limits;
    http.max_message_bytes = limits.max_message_bytes;
    http.max_body_bytes = limits.max_body_bytes;
    http.header_read_timeout = limits.header_read_timeout;
    http.idle_timeout = limits.idle_timeout;
    http.max_connections = limits.max_connections;
    http.max_subscriptions_per_namespace = limits.max_subscriptions_per_namespace;
    http.rate_limit = limits
        .rate_limit
        .map(|(per_second, burst)| RateLimit { per_second, burst });
    let app = Arc::new(App::new(store, http, hub));
    eventodb_http::serve(listener, app.clone(), shutdown).await?;

    let started = Instant::now();
    app.store.close().await;
    tracing::info!(
        stage = "close storage",
        elapsed_ms = started.elapsed().as_millis() as u64,
        "stopped"
    );
    Ok(())
}

/// PROTOCOL §7.4: the configured token is authoritative; a generated one is printed once.
async fn ensure_default_namespace<S: Store>(store: &S, configured: Option<&str>) -> Result<()> {
    match store.namespace(DEFAULT_NAMESPACE).await? {
        Some(existing) => match configured {
            Some(given) => {
                let hash = token::hash(given);
                if !token::hashes_equal(&hash, &existing.token_hash) {
                    store.set_token_hash(DEFAULT_NAMESPACE, &hash).await?;
                    tracing::info!("default namespace token replaced by the configured one");
                }
            }
            None => {
                println!("eventodb: the default namespace exists; its token remains valid");
            }
        },
        None => {
            let (token, generated) = match configured {
                Some(given) => (given.to_owned(), false),
                None => (generate_default_token()?, true),
            };
            store
                .create_namespace(NewNamespace {
                    id: DEFAULT_NAMESPACE.into(),
                    token_hash: token::hash(&token),
                    description: "Default namespace".into(),
                    created_at: now_micros(),
                })
                .await?;
            if generated {
                println!();
                println!("  default namespace token (shown once, keep it):");
                println!("  {token}");
                println!();
            } else {
                println!("eventodb: default namespace created with the configured token");
            }
        }
    }
    Ok(())
}

fn generate_default_token() -> Result<String> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("cannot generate a token: {e}"))?;
    Ok(token::format(DEFAULT_NAMESPACE, &secret))
}
