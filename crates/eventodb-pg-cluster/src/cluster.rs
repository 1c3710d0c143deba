//! [`PgCluster`]: one throw-away server, its databases, and stopping/starting it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::command::{bin_dir, give_to_postgres, run, server_command};
use crate::watchdog;

/// Settings for a test server: no durability, enough connections for parallel tests.
const SETTINGS: &str = "
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 128MB
listen_addresses = '127.0.0.1'
log_min_messages = warning
";

/// A running PostgreSQL server in a temporary directory, owned by this test process.
#[derive(Debug)]
pub struct PgCluster {
    dir: PathBuf,
    port: u16,
    databases: AtomicU64,
}

impl PgCluster {
    /// The server of this test process, started on first use. Panics when none can start.
    pub fn shared() -> &'static PgCluster {
        static SHARED: OnceLock<PgCluster> = OnceLock::new();
        SHARED.get_or_init(PgCluster::start)
    }

    /// Starts a new server of its own (for tests that stop and restart it). Panics when no
    /// server can be started. The server is stopped when the value is dropped, and in any
    /// case once the test process is gone.
    pub fn start() -> PgCluster {
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start() {
                Ok(cluster) => return cluster,
                Err(e) => last = e,
            }
        }
        panic!(
            "cannot start a PostgreSQL server for the tests (programs from {}; set \
             EVENTODB_PG_BIN to another directory of PostgreSQL server programs): {last}",
            bin_dir().display()
        )
    }

    fn try_start() -> Result<PgCluster, String> {
        let dir = make_dir()?;
        let cluster = PgCluster {
            dir,
            port: free_port()?,
            databases: AtomicU64::new(0),
        };
        give_to_postgres(&cluster.dir)?;
        watchdog::spawn(&cluster.dir)?;
        let mut initdb = server_command("initdb");
        initdb
            .arg("-D")
            .arg(cluster.data_dir())
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C"])
            .arg("--no-sync");
        run(initdb, "initdb")?;
        let conf = cluster.data_dir().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf)
            .map_err(|e| format!("cannot read {}: {e}", conf.display()))?;
        text.push_str(SETTINGS);
        text.push_str(&format!(
            "port = {}\nunix_socket_directories = '{}'\n",
            cluster.port,
            cluster.dir.display()
        ));
        std::fs::write(&conf, text).map_err(|e| format!("cannot write {}: {e}", conf.display()))?;
        cluster.start_server()?;
        Ok(cluster)
    }

    /// The URL of the `postgres` database (TCP on 127.0.0.1).
    pub fn url(&self) -> String {
        self.database_url("postgres")
    }

    /// The URL of database `name` on this server.
    pub fn database_url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The TCP port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding the server's Unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    /// Creates a new empty database with a unique name and returns its URL. Panics on failure.
    pub fn fresh_database(&self) -> String {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("test_{}_{n}", std::process::id());
        let mut cmd = Command::new(bin_dir().join("createdb"));
        cmd.args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
            .arg(self.port.to_string())
            .arg(&name);
        if let Err(e) = run(cmd, "createdb") {
            panic!("cannot create a test database: {e}");
        }
        self.database_url(&name)
    }

    /// Stops the server (fast shutdown: connections are closed). Panics on failure.
    pub fn stop(&self) {
        let mut cmd = server_command("pg_ctl");
        cmd.arg("-D")
            .arg(self.data_dir())
            .args(["stop", "-m", "fast", "-w"]);
        if let Err(e) = run(cmd, "pg_ctl stop") {
            panic!("cannot stop the test PostgreSQL server: {e}");
        }
    }

    /// Starts the server again after [`PgCluster::stop`], same port and data. Panics on failure.
    pub fn resume(&self) {
        if let Err(e) = self.start_server() {
            panic!("cannot start the test PostgreSQL server again: {e}");
        }
    }

    /// Stops and starts the server; every open connection is cut.
    pub fn restart(&self) {
        self.stop();
        self.resume();
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn start_server(&self) -> Result<(), String> {
        let mut cmd = server_command("pg_ctl");
        cmd.arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["start", "-w", "-t", "60"]);
        run(cmd, "pg_ctl start").map(|_| ()).map_err(|e| {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            format!("{e}\nserver log:\n{log}")
        })
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // Statics are never dropped; owned clusters stop here (the watchdog removes the files).
        let mut cmd = server_command("pg_ctl");
        cmd.arg("-D")
            .arg(self.data_dir())
            .args(["stop", "-m", "immediate"]);
        let _ = run(cmd, "pg_ctl stop");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh directory under the system temp dir.
fn make_dir() -> Result<PathBuf, String> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "eventodb-pg-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}
