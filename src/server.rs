//! Start-up and shutdown in order (PROTOCOL §7.4–7.5): open storage and apply migrations,
//! make sure `default` exists with the configured token, bind, serve, drain, close storage.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use eventodb_http::{App, Hub, ServerConfig, DEFAULT_NAMESPACE};
use eventodb_protocol::{time::now_micros, token};
use eventodb_store::{NewNamespace, Store};
use eventodb_store_sqlite::{SqliteConfig, SqliteLocation, SqliteStore, Synchronous};
use tokio::net::TcpListener;

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
    let location = match &config.storage {
        Storage::SqliteMemory => SqliteLocation::Memory,
        Storage::SqliteFiles {
            data_dir,
            registry_file,
        } => {
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
            SqliteLocation::Dir {
                data_dir: data_dir.clone(),
                registry_file: registry_file.clone(),
            }
        }
    };
    // The hub exists before the store: the store publishes every commit into it.
    let hub = Arc::new(Hub::new());
    let store = SqliteStore::open_with_sink(
        SqliteConfig {
            location,
            synchronous: Synchronous::Full,
        },
        hub.clone(),
    )
    .context("cannot open storage")?;
    match &config.storage {
        Storage::SqliteMemory => {
            tracing::info!("storage: in-memory SQLite (test mode): data is lost at exit")
        }
        Storage::SqliteFiles { data_dir, .. } => {
            let shown = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.clone());
            tracing::info!(data_dir = %shown.display(), "storage: SQLite files");
            println!("eventodb: data is stored in {}", shown.display());
        }
    }
    ensure_default_namespace(&store, config.token.as_deref()).await?;

    let shutdown = crate::shutdown::install().context("cannot install signal handlers")?;
    let listener = TcpListener::bind((config.host.as_str(), config.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", config.host, config.port))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, relaxed_auth = config.relaxed_auth, "listening on {addr}");

    let mut http = ServerConfig::new();
    http.relaxed_auth = config.relaxed_auth;
    http.sse_keepalive = config.sse_keepalive;
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
