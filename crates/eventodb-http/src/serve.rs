//! The accept loop and graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use eventodb_store::Store;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};

use crate::app::App;
use crate::deadlines::{Deadlines, InFlightBody, TimedIo};
use crate::router::route;

/// Closes a connection over the `--max-connections` limit at once, after a best-effort
/// `503` (never waiting for the peer: a flood of connections must not slow the accept loop).
fn refuse(stream: TcpStream, max: usize) {
    crate::metrics::limit_hit("max-connections");
    tracing::debug!(
        max,
        "connection refused: too many open connections (--max-connections)"
    );
    let body = format!(
        r#"{{"error":{{"code":"BACKEND_ERROR","message":"Too many open connections (limit {max}, --max-connections)"}}}}"#
    );
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(response.as_bytes());
    drop(stream);
}

/// Serves HTTP on `listener` until `shutdown` completes, then stops accepting, lets in-flight
/// requests finish (up to the configured grace period) and returns.
///
/// Idle keep-alive connections are closed at once, so an idle server stops immediately and
/// its port is free for the next process.
pub async fn serve<S: Store>(
    listener: TcpListener,
    app: Arc<App<S>>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors and the like: back off briefly, keep serving.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let Some(slot) = app.connections.acquire() else {
                    refuse(stream, app.config.max_connections);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let conn_app = app.clone();
                let deadlines =
                    Deadlines::new(app.config.header_read_timeout, app.config.idle_timeout);
                let io = TimedIo::new(stream, deadlines.clone());
                let service = service_fn(move |req| {
                    let in_flight = deadlines.request_started();
                    let response = route(conn_app.clone(), req);
                    async move {
                        let response = response.await?;
                        Ok::<_, Infallible>(response.map(|body| InFlightBody::new(body, in_flight)))
                    }
                });
                let mut builder = hyper::server::conn::http1::Builder::new();
                // Deadlines are ours (see `deadlines`): hyper's header timer would also close
                // idle keep-alive connections.
                builder
                    .timer(TokioTimer::new())
                    .header_read_timeout(None)
                    .keep_alive(true);
                let conn = builder.serve_connection(TokioIo::new(io), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                    drop(slot);
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    // Subscriptions never finish on their own: end them first so draining can complete.
    app.shutdown.cancel();
    let started = std::time::Instant::now();
    let grace = app.config.shutdown_grace;
    tokio::select! {
        _ = graceful.shutdown() => {
            tracing::info!(stage = "drain connections", elapsed_ms = started.elapsed().as_millis() as u64, "shutdown stage done");
        }
        _ = tokio::time::sleep(grace) => {
            tracing::warn!(stage = "drain connections", grace_ms = grace.as_millis() as u64, "in-flight requests did not finish in time");
        }
    }
    Ok(())
}
