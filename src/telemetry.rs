//! Logging: tracing to stdout, human-readable or JSON lines.

use std::io::IsTerminal;

use crate::config::LogFormat;

/// Installs the global subscriber.
pub(crate) fn init(level: tracing::Level, format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stdout)
        .with_target(false);
    let installed = match format {
        LogFormat::Console => builder
            .with_ansi(std::io::stdout().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
    };
    if let Err(e) = installed {
        eprintln!("eventodb: could not install the logger: {e}");
    }
}
