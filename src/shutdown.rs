//! The shutdown signal: SIGINT or SIGTERM.

use std::future::Future;

/// Installs the signal handlers now and returns a future that completes when the process is
/// asked to stop.
///
/// The handlers must exist before the server announces that it listens: a harness may send
/// SIGTERM the moment it reads that line, and a handler installed lazily (on first poll) would
/// leave the default action — an abrupt exit — in place until then.
pub(crate) fn install() -> std::io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::info!("shutdown requested");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutdown requested");
        })
    }
}
