//! End to end: `eventodb bench` with the smoke profile against a real test-mode server, one
//! scenario at a time, checking the JSON report (work done, no errors, every poke delivered
//! exactly once). No timing assertions: the machines are noisy.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed expectation is a test failure, and helpers outside #[test] fns count too"
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

const TOKEN: &str =
    "ns_ZGVmYXVsdA_0000000000000000000000000000000000000000000000000000000000000000";
const BIN: &str = env!("CARGO_BIN_EXE_eventodb");

/// A test-mode server on a free port, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--test-mode", "--port", "0", "--host", "127.0.0.1"])
            .args(["--token", TOKEN, "--log-level", "info"])
            .env_remove("EVENTODB_DB_URL")
            .env_remove("EVENTODB_DATA_DIR")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the server");
        let stdout = child.stdout.take().expect("server stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .expect("read server output");
            if let Some((_, rest)) = line.split_once("listening on ") {
                let addr: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '[' | ']'))
                    .collect();
                break addr;
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            url: format!("http://{addr}"),
        }
    }

    fn bench(&self, scenario: &str, extra: &[&str]) -> Value {
        let pid = self.child.id().to_string();
        let output = Command::new(BIN)
            .args(["bench", "--url", &self.url, "--token", TOKEN, scenario])
            .args([
                "--profile",
                "smoke",
                "--json",
                "--quiet",
                "--server-pid",
                &pid,
            ])
            .args(extra)
            .output()
            .expect("run eventodb bench");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "bench {scenario} failed: {}\n{stdout}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report: Value = serde_json::from_str(stdout.trim()).expect("JSON report");
        assert_eq!(report["scenario"], scenario);
        let step = &report["steps"][0];
        assert!(step["ops"].as_u64().unwrap() > 0, "no ops: {report}");
        assert_eq!(step["errors"], 0, "errors: {report}");
        assert!(
            step["server_rss_kib"]["peak"].as_u64().unwrap() > 0,
            "{report}"
        );
        step.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn every_scenario_runs_clean_with_the_smoke_profile() {
    let server = Server::start();
    server.bench("write", &["--clients", "2"]);
    server.bench("write", &["--streams", "own", "--expected-version"]);
    server.bench("write", &["--rate", "200"]);
    server.bench("mixed", &[]);
    server.bench("read-stream", &[]);
    server.bench("read-category", &[]);
    server.bench("read-category", &["--consumer-group", "2"]);
    for extra in [
        &["--subscribers", "5"][..],
        &["--subscribers", "3", "--all"][..],
    ] {
        let step = server.bench("subscribe", extra);
        let pokes = &step["pokes"];
        assert!(pokes["writes"].as_u64().unwrap() > 0, "{step}");
        assert_eq!(pokes["missed"], 0, "{step}");
        assert_eq!(pokes["duplicated"], 0, "{step}");
        assert_eq!(pokes["received"], pokes["expected"], "{step}");
        assert!(
            pokes["rss_idle_subscribed_kib"].as_u64().is_some(),
            "{step}"
        );
    }
}

#[test]
fn help_documents_every_scenario() {
    let output = Command::new(BIN)
        .args(["bench", "--help"])
        .output()
        .expect("run eventodb bench --help");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for word in [
        "write",
        "mixed",
        "read-stream",
        "read-category",
        "subscribe",
        "--rate",
        "--clients",
        "--profile",
        "--server-pid",
        "--json",
        "--consumer-group",
        "--p99-target",
    ] {
        assert!(help.contains(word), "help lacks {word}:\n{help}");
    }
}

#[test]
fn an_unreachable_server_is_an_error_not_a_hang() {
    let output = Command::new(BIN)
        .args([
            "bench",
            "--url",
            "http://127.0.0.1:1",
            "write",
            "--profile",
            "smoke",
        ])
        .output()
        .expect("run eventodb bench");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot connect"));
}
