//! A detached shell that stops the server and removes its directory once the test process
//! is gone, however it ended.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::command::{bin_dir, is_root};

/// Starts the watchdog for the cluster in `dir` (data directory `dir/data`).
pub(crate) fn spawn(dir: &Path) -> Result<(), String> {
    let pg_ctl = bin_dir().join("pg_ctl");
    let data = dir.join("data");
    let as_postgres = if is_root() {
        "runuser -u postgres -- "
    } else {
        ""
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
         {as_postgres}'{pg_ctl}' -D '{data}' stop -m immediate >/dev/null 2>&1; \
         rm -rf '{dir}'",
        pid = std::process::id(),
        pg_ctl = pg_ctl.display(),
        data = data.display(),
        dir = dir.display(),
    );
    Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(|_| ())
        .map_err(|e| format!("cannot start the clean-up watchdog: {e}"))
}
