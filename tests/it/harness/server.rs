//! `TestServer`: the eventodb binary on an ephemeral port, with its output captured.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::client::{Request, Response};

/// The admin token used by tests: namespace `default`, secret all zeros.
pub(crate) const ADMIN: &str =
    "ns_ZGVmYXVsdA_0000000000000000000000000000000000000000000000000000000000000000";

/// How long a server may take to print its `listening on` line.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a process may take to exit after being asked to.
const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

/// Every environment variable the binary reads; cleared so the host cannot leak in.
const ENV_VARS: &[&str] = &[
    "EVENTODB_PORT",
    "EVENTODB_DB_URL",
    "EVENTODB_DATA_DIR",
    "EVENTODB_DB_TYPE",
    "EVENTODB_TOKEN",
    "EVENTODB_TEST_MODE",
    "EVENTODB_LOG_LEVEL",
    "EVENTODB_LOG_FORMAT",
    "RUST_LOG",
];

/// The child's output, appended by the reader threads.
#[derive(Default)]
struct Captured {
    stdout: Vec<String>,
    stderr: Vec<String>,
    /// Both streams, interleaved in arrival order, each line prefixed with its stream.
    combined: String,
    open_streams: u8,
}

#[derive(Default)]
struct Shared {
    captured: Mutex<Captured>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Captured> {
        self.captured.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Removes ANSI escape sequences (console logs may be coloured).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn spawn_reader<R: Read + Send + 'static>(
    source: R,
    shared: Arc<Shared>,
    is_stdout: bool,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(source);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line =
                        strip_ansi(String::from_utf8_lossy(&buf).trim_end_matches(['\r', '\n']));
                    let mut captured = shared.lock();
                    captured
                        .combined
                        .push_str(if is_stdout { "[stdout] " } else { "[stderr] " });
                    captured.combined.push_str(&line);
                    captured.combined.push('\n');
                    if is_stdout {
                        captured.stdout.push(line);
                    } else {
                        captured.stderr.push(line);
                    }
                    drop(captured);
                    shared.changed.notify_all();
                }
            }
        }
        shared.lock().open_streams -= 1;
        shared.changed.notify_all();
    })
}

/// The port announced in a `listening on <addr>` line.
fn listening_port(line: &str) -> Option<u16> {
    let (_, rest) = line.split_once("listening on ")?;
    // The address ends at whitespace or at whatever encloses it (a JSON quote, a comma, ...).
    let addr: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '[' | ']'))
        .collect();
    let (_, port) = addr.rsplit_once(':')?;
    let digits: String = port.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// An ERROR-level log line (console or JSON format).
fn is_error_line(line: &str) -> bool {
    line.split_whitespace().take(4).any(|w| w == "ERROR")
        || line.contains("\"level\":\"ERROR\"")
        || line.contains("\"level\":\"error\"")
}

/// A server process that failed to start.
#[derive(Debug)]
pub(crate) struct StartFailure {
    pub(crate) status: Option<ExitStatus>,
    pub(crate) output: String,
}

/// How to start a server.
#[derive(Debug, Clone)]
pub(crate) struct Builder {
    strict: bool,
    data_dir: Option<PathBuf>,
    token: Option<String>,
    port: u16,
    extra_args: Vec<String>,
    raw_args: Option<Vec<String>>,
    envs: Vec<(String, String)>,
    allow_errors: bool,
    relaxed: bool,
}

/// The storage backend the suite runs on: `EVENTODB_TEST_BACKEND=postgres` runs every server on
/// a fresh database of the harness's PostgreSQL cluster; anything else (the default) on SQLite.
pub(crate) fn on_postgres() -> bool {
    std::env::var("EVENTODB_TEST_BACKEND").is_ok_and(|v| v == "postgres")
}

/// The PostgreSQL database standing for a data directory, so a test that restarts a server
/// "on the same data" gets the same database.
fn database_for(dir: Option<&Path>) -> String {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static DATABASES: OnceLock<Mutex<HashMap<PathBuf, String>>> = OnceLock::new();
    let cluster = eventodb_pg_cluster::PgCluster::shared();
    let Some(dir) = dir else {
        return cluster.fresh_database();
    };
    let mut map = DATABASES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    map.entry(dir.to_owned())
        .or_insert_with(|| cluster.fresh_database())
        .clone()
}

impl Builder {
    /// Relaxed authentication, which only exists on in-memory SQLite (PROTOCOL §2.9): the
    /// server runs there whatever the suite's backend.
    pub(crate) fn relaxed(mut self) -> Builder {
        self.relaxed = true;
        self.strict = false;
        self
    }

    /// Strict auth on file-backed SQLite (a fresh tempdir unless `data_dir` is given).
    pub(crate) fn strict(mut self) -> Builder {
        self.strict = true;
        self
    }

    /// Strict mode on this data directory (so a test can restart on the same data).
    pub(crate) fn data_dir(mut self, dir: &Path) -> Builder {
        self.strict = true;
        self.data_dir = Some(dir.to_owned());
        self
    }

    pub(crate) fn token(mut self, token: &str) -> Builder {
        self.token = Some(token.to_owned());
        self
    }

    pub(crate) fn no_token(mut self) -> Builder {
        self.token = None;
        self
    }

    pub(crate) fn port(mut self, port: u16) -> Builder {
        self.port = port;
        self
    }

    pub(crate) fn arg(mut self, arg: &str) -> Builder {
        self.extra_args.push(arg.to_owned());
        self
    }

    /// Replaces the generated command line entirely.
    pub(crate) fn raw_args(mut self, args: &[&str]) -> Builder {
        self.raw_args = Some(args.iter().map(|a| (*a).to_owned()).collect());
        self
    }

    pub(crate) fn env(mut self, key: &str, value: &str) -> Builder {
        self.envs.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The test expects the server to log at ERROR level.
    #[allow(
        dead_code,
        reason = "opt-out kept for tests that provoke server faults"
    )]
    pub(crate) fn allow_errors(mut self) -> Builder {
        self.allow_errors = true;
        self
    }

    pub(crate) fn start(self) -> TestServer {
        match self.try_start() {
            Ok(server) => server,
            Err(failure) => panic!(
                "server did not start (exit status {:?}); output:\n{}",
                failure.status, failure.output
            ),
        }
    }

    pub(crate) fn try_start(self) -> Result<TestServer, StartFailure> {
        let cwd = tempfile::tempdir().expect("tempdir for the server's working directory");
        let mut owned_data = None;
        let data_dir = match (&self.data_dir, self.strict) {
            (Some(dir), _) => Some(dir.clone()),
            (None, true) => {
                let dir = tempfile::tempdir().expect("tempdir for the data directory");
                let path = dir.path().to_owned();
                owned_data = Some(dir);
                Some(path)
            }
            (None, false) => None,
        };
        let args: Vec<OsString> = match &self.raw_args {
            Some(raw) => raw.iter().map(OsString::from).collect(),
            None => {
                let mut args: Vec<OsString> = vec![
                    "serve".into(),
                    "--port".into(),
                    self.port.to_string().into(),
                ];
                if on_postgres() && !self.relaxed {
                    // Test mode with a --db-url keeps strict auth, as in Go (PROTOCOL §2.9).
                    if !self.strict {
                        args.push("--test-mode".into());
                    }
                    args.push("--db-url".into());
                    args.push(database_for(data_dir.as_deref()).into());
                } else if let Some(dir) = &data_dir {
                    args.push("--data-dir".into());
                    args.push(dir.clone().into());
                } else {
                    args.push("--test-mode".into());
                }
                if let Some(token) = &self.token {
                    args.push("--token".into());
                    args.push(token.into());
                }
                args.extend(self.extra_args.iter().map(OsString::from));
                args
            }
        };
        let mut command = Command::new(env!("CARGO_BIN_EXE_eventodb"));
        command
            .args(&args)
            .current_dir(cwd.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in ENV_VARS {
            command.env_remove(var);
        }
        for (k, v) in &self.envs {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawning the eventodb binary");
        let shared = Arc::new(Shared::default());
        shared.lock().open_streams = 2;
        let readers = vec![
            spawn_reader(child.stdout.take().expect("stdout"), shared.clone(), true),
            spawn_reader(child.stderr.take().expect("stderr"), shared.clone(), false),
        ];
        let mut server = TestServer {
            child,
            port: 0,
            shared,
            readers,
            allow_errors: self.allow_errors,
            exit: None,
            data_dir: data_dir.clone(),
            _cwd: cwd,
            _owned_data: owned_data,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let port = {
            let mut captured = server.shared.lock();
            loop {
                if let Some(port) = captured.stdout.iter().find_map(|l| listening_port(l)) {
                    break Some(port);
                }
                let now = Instant::now();
                if captured.open_streams == 0 || now >= deadline {
                    break None;
                }
                captured = server
                    .shared
                    .changed
                    .wait_timeout(captured, deadline - now)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        };
        match port {
            Some(port) => {
                server.port = port;
                Ok(server)
            }
            None => {
                let status = server.stop_with_kill();
                server.allow_errors = true;
                Err(StartFailure {
                    status: Some(status),
                    output: server.output(),
                })
            }
        }
    }
}

/// A running eventodb process. Killed on drop; fails the test on unexpected ERROR logs.
pub(crate) struct TestServer {
    child: Child,
    port: u16,
    shared: Arc<Shared>,
    readers: Vec<JoinHandle<()>>,
    allow_errors: bool,
    exit: Option<ExitStatus>,
    data_dir: Option<PathBuf>,
    _cwd: tempfile::TempDir,
    _owned_data: Option<tempfile::TempDir>,
}

impl TestServer {
    pub(crate) fn builder() -> Builder {
        Builder {
            strict: false,
            data_dir: None,
            token: Some(ADMIN.to_owned()),
            port: 0,
            extra_args: Vec::new(),
            raw_args: None,
            envs: Vec::new(),
            allow_errors: false,
            relaxed: false,
        }
    }

    /// Test mode (relaxed auth, in-memory SQLite) with the admin token.
    pub(crate) fn test_mode() -> TestServer {
        TestServer::builder().start()
    }

    /// Strict auth on file-backed SQLite in a fresh tempdir, admin token configured.
    pub(crate) fn strict() -> TestServer {
        TestServer::builder().strict().start()
    }

    /// The PostgreSQL database a strict server runs on (suite on PostgreSQL only).
    pub(crate) fn database_url(&self) -> Option<String> {
        if !on_postgres() {
            return None;
        }
        self.data_dir.as_deref().map(|dir| database_for(Some(dir)))
    }

    /// The data directory of a strict (file-backed) server.
    pub(crate) fn data_dir(&self) -> Option<&Path> {
        self.data_dir.as_deref()
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The server's working directory (a fresh tempdir).
    pub(crate) fn work_dir(&self) -> &Path {
        self._cwd.path()
    }

    /// Everything the server printed so far (stdout and stderr, interleaved, tagged).
    pub(crate) fn output(&self) -> String {
        self.shared.lock().combined.clone()
    }

    pub(crate) fn stdout_lines(&self) -> Vec<String> {
        self.shared.lock().stdout.clone()
    }

    pub(crate) fn send(&self, request: Request) -> Response {
        request.send(self.addr())
    }

    /// `POST /rpc` with `Authorization: Bearer <token>`.
    pub(crate) fn rpc(&self, token: &str, body: &Value) -> Response {
        self.send(Request::post("/rpc").bearer(token).json(body))
    }

    /// `POST /rpc` without credentials.
    pub(crate) fn rpc_anon(&self, body: &Value) -> Response {
        self.send(Request::post("/rpc").json(body))
    }

    /// `POST /rpc` expecting `200`; returns the result.
    #[track_caller]
    pub(crate) fn call(&self, token: &str, body: Value) -> Value {
        let response = self.rpc(token, &body);
        assert_eq!(
            response.status,
            200,
            "{body} answered {} {}",
            response.status,
            response.text()
        );
        response.assert_json_content_type();
        response.json()
    }

    /// Sends SIGTERM and waits for the exit; returns the status and how long the exit took.
    pub(crate) fn terminate(&mut self) -> (ExitStatus, Duration) {
        self.signal("TERM")
    }

    /// Sends a signal (`TERM`, `INT`, ...) with `kill` and waits for the exit.
    pub(crate) fn signal(&mut self, name: &str) -> (ExitStatus, Duration) {
        let started = Instant::now();
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -{name} failed");
        let exit = self.wait_exit();
        (exit, started.elapsed())
    }

    /// Crashes the server with SIGKILL and waits for it to die.
    pub(crate) fn kill9(&mut self) -> ExitStatus {
        self.stop_with_kill()
    }

    fn stop_with_kill(&mut self) -> ExitStatus {
        if let Some(status) = self.exit {
            return status;
        }
        let _ = self.child.kill();
        self.wait_exit()
    }

    /// Waits (with a deadline) for the child to exit, then for its output to drain.
    fn wait_exit(&mut self) -> ExitStatus {
        if let Some(status) = self.exit {
            return status;
        }
        let status = wait_with_deadline(&mut self.child, EXIT_TIMEOUT).unwrap_or_else(|| {
            let _ = self.child.kill();
            let _ = self.child.wait();
            panic!(
                "server did not exit within {EXIT_TIMEOUT:?}; output:\n{}",
                self.output()
            )
        });
        self.exit = Some(status);
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        status
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if self.exit.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
            for reader in self.readers.drain(..) {
                let _ = reader.join();
            }
        }
        if self.allow_errors || std::thread::panicking() {
            return;
        }
        let captured = self.shared.lock();
        let errors: Vec<&String> = captured
            .stdout
            .iter()
            .chain(captured.stderr.iter())
            .filter(|l| is_error_line(l))
            .collect();
        if !errors.is_empty() {
            panic!(
                "the server logged unexpected ERROR lines: {errors:#?}\nfull output:\n{}",
                captured.combined
            );
        }
    }
}

/// Polls a child for its exit until the deadline (the only polling the suite does).
pub(crate) fn wait_with_deadline(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The result of a one-shot CLI invocation.
#[derive(Debug)]
pub(crate) struct CliOutput {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs the binary with these arguments to completion (killed after a deadline).
pub(crate) fn run_cli(args: &[&str], envs: &[(&str, &str)]) -> CliOutput {
    let cwd = tempfile::tempdir().expect("tempdir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_eventodb"));
    command
        .args(args)
        .current_dir(cwd.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in ENV_VARS {
        command.env_remove(var);
    }
    for (k, v) in envs {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("spawning the eventodb binary");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let status = wait_with_deadline(&mut child, EXIT_TIMEOUT);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    let Some(status) = status else {
        panic!(
            "`eventodb {}` did not exit within {EXIT_TIMEOUT:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            args.join(" ")
        );
    };
    CliOutput {
        code: status.code(),
        stdout,
        stderr,
    }
}

#[test]
fn harness_reads_listening_lines() {
    assert_eq!(
        listening_port("2025-01-01T00:00:00Z  INFO eventodb: listening on 0.0.0.0:41234 mode=test"),
        Some(41234)
    );
    assert_eq!(listening_port("listening on [::]:80"), Some(80));
    assert_eq!(
        listening_port(r#"{"level":"INFO","fields":{"message":"listening on 0.0.0.0:5"}}"#),
        Some(5)
    );
    assert_eq!(
        listening_port(r#"{"fields":{"message":"listening on 0.0.0.0:44433","addr":"x:1"}}"#),
        Some(44433)
    );
    assert_eq!(
        strip_ansi("\u{1b}[2m2025\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m x"),
        "2025  INFO x"
    );
    assert!(is_error_line(
        "2025-01-01T00:00:00Z ERROR eventodb_http: boom"
    ));
    assert!(!is_error_line(
        "2025-01-01T00:00:00Z  INFO eventodb_http: code=BACKEND_ERROR"
    ));
}
