//! Command line and configuration (§7): flag syntax, env vars, exit codes, shutdown, tokens.

use std::time::Duration;

use serde_json::json;

use crate::harness::{check, code, is_semver, ok, run_cli, token_for, Request, TestServer, ADMIN};

#[test]
fn version_prints_the_semver_that_the_server_reports() {
    let server = TestServer::test_mode();
    let reported = server.call(ADMIN, json!(["sys.version"]));
    let reported = reported.as_str().expect("version string");
    for args in [&["version"][..], &["--version"], &["-v"]] {
        let out = run_cli(args, &[]);
        assert_eq!(out.code, Some(0), "{args:?}: {out:?}");
        let printed = out.stdout.trim();
        assert!(is_semver(printed), "{args:?} printed {printed:?}");
        assert!(
            printed.contains(reported),
            "{args:?} printed {printed:?}, server says {reported:?}"
        );
    }
}

#[test]
fn no_arguments_and_help_print_help_and_exit_0() {
    for args in [&[][..], &["help"], &["--help"], &["-h"]] {
        let out = run_cli(args, &[]);
        assert_eq!(out.code, Some(0), "{args:?}: {out:?}");
        let text = format!("{}{}", out.stdout, out.stderr);
        assert!(
            text.contains("serve"),
            "{args:?} prints help mentioning serve: {text}"
        );
    }
}

#[test]
fn unknown_flags_exit_2() {
    for args in [
        &["--no-such-flag"][..],
        &["serve", "--no-such-flag"],
        &["-bogus", "1"],
        &["serve", "--test-mode", "--port", "0", "--frobnicate=1"],
    ] {
        let out = run_cli(args, &[]);
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
    }
}

#[test]
fn a_token_for_another_namespace_or_an_unparseable_one_exits_1() {
    for token in [token_for("other", '0'), "garbage".to_owned()] {
        let out = run_cli(
            &["serve", "--test-mode", "--port", "0", "--token", &token],
            &[],
        );
        assert_eq!(out.code, Some(1), "--token {token}: {out:?}");
    }
}

#[test]
fn storage_urls_are_validated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8 path");
    for args in [
        &[
            "serve",
            "--port",
            "0",
            "--token",
            ADMIN,
            "--db-url",
            "sqlite://metadata.db",
        ][..],
        &[
            "serve",
            "--port",
            "0",
            "--token",
            ADMIN,
            "--db-url",
            "mysql://localhost/x",
            "--data-dir",
            data,
        ],
    ] {
        let out = run_cli(args, &[]);
        assert_eq!(out.code, Some(1), "{args:?}: {out:?}");
    }
}

#[test]
fn go_style_single_dash_flags_start_a_test_mode_server() {
    let s = TestServer::builder()
        .raw_args(&["-test-mode", "-port", "0", "-token", ADMIN])
        .start();
    check(
        &s,
        None,
        json!(["stream.write", "cli-1", {"type": "T", "data": {}}]),
        200,
        ok(json!({"position": 0, "globalPosition": 1})),
    );
}

#[test]
fn equals_form_flags_without_the_serve_subcommand_start_a_server() {
    let s = TestServer::builder()
        .raw_args(&["--test-mode", "--port=0", &format!("--token={ADMIN}")])
        .start();
    check(
        &s,
        None,
        json!(["stream.version", "cli-1"]),
        200,
        ok(json!(null)),
    );
    let s = TestServer::builder()
        .raw_args(&["serve", "--test-mode=true", "-port=0"])
        .start();
    check(
        &s,
        None,
        json!(["stream.version", "cli-1"]),
        200,
        ok(json!(null)),
    );
}

#[test]
fn environment_variables_configure_the_server() {
    let s = TestServer::builder()
        .raw_args(&["serve"])
        .env("EVENTODB_PORT", "0")
        .env("EVENTODB_TEST_MODE", "true")
        .env("EVENTODB_TOKEN", ADMIN)
        .start();
    check(
        &s,
        None,
        json!(["stream.version", "env-1"]),
        200,
        ok(json!(null)),
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let custom = token_for("default", 'c');
    let strict = TestServer::builder()
        .raw_args(&["serve"])
        .env("EVENTODB_PORT", "0")
        .env("EVENTODB_TEST_MODE", "0")
        .env("EVENTODB_DATA_DIR", dir.path().to_str().expect("utf-8"))
        .env("EVENTODB_TOKEN", &custom)
        .start();
    check(
        &strict,
        None,
        json!(["stream.version", "env-1"]),
        401,
        code("AUTH_REQUIRED"),
    );
    check(
        &strict,
        Some(&custom),
        json!(["stream.version", "env-1"]),
        200,
        ok(json!(null)),
    );
    check(
        &strict,
        Some(ADMIN),
        json!(["stream.version", "env-1"]),
        403,
        code("AUTH_UNAUTHORIZED"),
    );
}

#[test]
fn flags_win_over_environment_variables() {
    // The env port is taken, so the server only starts if the flag (0) wins.
    let taken = std::net::TcpListener::bind("0.0.0.0:0").expect("bind");
    let taken_port = taken.local_addr().expect("addr").port().to_string();
    let s = TestServer::builder()
        .env("EVENTODB_PORT", &taken_port)
        .env("EVENTODB_TEST_MODE", "false")
        .env("EVENTODB_TOKEN", &token_for("default", 'e'))
        .relaxed()
        .start();
    assert_ne!(s.port().to_string(), taken_port);
    // --test-mode on the command line beats EVENTODB_TEST_MODE=false; --token beats EVENTODB_TOKEN.
    check(
        &s,
        None,
        json!(["stream.version", "f-1"]),
        200,
        ok(json!(null)),
    );
    drop(taken);
}

#[test]
fn test_mode_with_an_explicit_db_url_keeps_strict_auth() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::builder()
        .raw_args(&[
            "serve",
            "--test-mode",
            "--port",
            "0",
            "--token",
            ADMIN,
            "--db-url",
            "sqlite://metadata.db",
            "--data-dir",
            dir.path().to_str().expect("utf-8"),
        ])
        .start();
    check(
        &s,
        None,
        json!(["stream.version", "x-1"]),
        401,
        code("AUTH_REQUIRED"),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["stream.version", "x-1"]),
        200,
        ok(json!(null)),
    );
    assert!(
        dir.path().join("metadata.db").exists(),
        "registry file created in the data dir"
    );
}

#[test]
fn without_storage_flags_the_server_uses_file_backed_sqlite_in_eventodb_data() {
    let s = TestServer::builder()
        .raw_args(&["serve", "--port", "0", "--token", ADMIN])
        .start();
    check(
        &s,
        None,
        json!(["stream.version", "x-1"]),
        401,
        code("AUTH_REQUIRED"),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["stream.write", "x-1", {"type": "T", "data": {}}]),
        200,
        ok(json!({"position": 0, "globalPosition": 1})),
    );
    // The harness runs every server in a fresh working directory.
    assert!(
        s.work_dir().join("eventodb-data").is_dir(),
        "./eventodb-data created"
    );
    let out = s.output();
    assert!(
        out.contains("eventodb-data"),
        "prints where the data lives:\n{out}"
    );
}

#[test]
fn a_generated_default_token_is_printed_and_works() {
    let s = TestServer::builder().strict().no_token().start();
    let out = s.output();
    let token = out
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .find(|w| w.starts_with("ns_ZGVmYXVsdA_") && w.len() == "ns_ZGVmYXVsdA_".len() + 64)
        .unwrap_or_else(|| panic!("no default token printed:\n{out}"))
        .to_owned();
    assert_ne!(token, ADMIN);
    check(
        &s,
        Some(&token),
        json!(["stream.version", "gen-1"]),
        200,
        ok(json!(null)),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["stream.version", "gen-1"]),
        403,
        code("AUTH_UNAUTHORIZED"),
    );
}

#[test]
fn json_log_format_prints_json_lines() {
    let s = TestServer::builder()
        .arg("--log-format")
        .arg("json")
        .start();
    s.call(ADMIN, json!(["sys.health"]));
    let lines = s.stdout_lines();
    let listening = lines
        .iter()
        .find(|l| l.contains("listening on "))
        .expect("listening line");
    serde_json::from_str::<serde_json::Value>(listening)
        .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {listening}"));
}

#[test]
fn sigterm_on_an_idle_server_exits_promptly_and_frees_the_port() {
    let mut first = TestServer::test_mode();
    let port = first.port();
    first.call(ADMIN, json!(["sys.health"]));
    let (status, elapsed) = first.terminate();
    assert!(
        status.success(),
        "graceful shutdown exits 0: {status:?}\n{}",
        first.output()
    );
    assert!(
        elapsed < Duration::from_millis(250),
        "an idle server must exit promptly on SIGTERM, took {elapsed:?}"
    );
    let second = TestServer::builder().port(port).start();
    assert_eq!(second.port(), port);
    let health = second.send(Request::get("/health"));
    assert_eq!(health.ok_json(), json!({"status": "ok"}));
}

#[test]
fn sigterm_finishes_a_server_with_an_open_idle_connection() {
    let mut s = TestServer::test_mode();
    // A kept-alive connection that has finished its request must not block shutdown.
    let conn = crate::harness::connect(s.addr());
    let mut reader = std::io::BufReader::new(conn.try_clone().expect("clone"));
    std::io::Write::write_all(
        &mut &conn,
        &Request::get("/health").keep_alive().to_bytes(s.addr()),
    )
    .expect("write");
    let response = crate::harness::Response::read_from(&mut reader).expect("response");
    assert_eq!(response.status, 200);
    let (status, elapsed) = s.terminate();
    assert!(status.success(), "{status:?}");
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[test]
fn restarting_with_a_different_token_makes_the_new_one_authoritative() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut first = TestServer::builder().data_dir(dir.path()).start();
    first.call(
        ADMIN,
        json!(["stream.write", "tok-1", {"type": "T", "data": {}}]),
    );
    first.terminate();
    let new_token = token_for("default", 'b');
    let second = TestServer::builder()
        .data_dir(dir.path())
        .token(&new_token)
        .start();
    check(
        &second,
        Some(&new_token),
        json!(["stream.version", "tok-1"]),
        200,
        ok(json!(0)),
    );
    check(
        &second,
        Some(ADMIN),
        json!(["stream.version", "tok-1"]),
        403,
        code("AUTH_UNAUTHORIZED"),
    );
}

#[test]
fn empty_or_unparsable_env_values_fall_back_to_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::builder()
        .data_dir(dir.path())
        .no_token()
        .env("EVENTODB_TEST_MODE", "maybe")
        .env("EVENTODB_TOKEN", "")
        .start();
    // Not test mode: credentials are required.
    check(
        &s,
        None,
        json!(["stream.version", "e-1"]),
        401,
        code("AUTH_REQUIRED"),
    );
    // An empty EVENTODB_TOKEN is unset, so a token was generated and printed.
    let out = s.output();
    assert!(
        out.contains("ns_ZGVmYXVsdA_"),
        "generated default token printed:\n{out}"
    );
}

#[test]
fn sigint_also_shuts_down_gracefully() {
    let mut s = TestServer::test_mode();
    s.call(ADMIN, json!(["sys.health"]));
    let (status, elapsed) = s.signal("INT");
    assert!(status.success(), "{status:?}\n{}", s.output());
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[test]
fn version_full_prints_the_banner_and_version() {
    let short = run_cli(&["version"], &[]);
    for args in [&["version", "--full"][..], &["version", "-f"]] {
        let out = run_cli(args, &[]);
        assert_eq!(out.code, Some(0), "{args:?}: {out:?}");
        assert!(
            out.stdout.contains(short.stdout.trim()),
            "{args:?}: {out:?}"
        );
    }
}

#[test]
fn an_explicit_false_test_mode_flag_keeps_strict_auth() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::builder()
        .raw_args(&[
            "serve",
            "--test-mode=false",
            "--port",
            "0",
            "--token",
            ADMIN,
            "--data-dir",
            dir.path().to_str().expect("utf-8"),
        ])
        .start();
    check(
        &s,
        None,
        json!(["stream.version", "x-1"]),
        401,
        code("AUTH_REQUIRED"),
    );
}

#[test]
fn an_empty_sqlite_url_name_means_metadata_db() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = TestServer::builder()
        .raw_args(&[
            "serve",
            "--port",
            "0",
            "--token",
            ADMIN,
            "--db-url",
            "sqlite://",
            "--data-dir",
            dir.path().to_str().expect("utf-8"),
        ])
        .start();
    check(
        &s,
        Some(ADMIN),
        json!(["stream.version", "x-1"]),
        200,
        ok(json!(null)),
    );
    assert!(dir.path().join("metadata.db").exists());
}

#[test]
fn out_of_scope_storage_backends_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8 path");
    let out = run_cli(
        &[
            "serve",
            "--port",
            "0",
            "--token",
            ADMIN,
            "--db-url",
            "pebble://x",
            "--data-dir",
            data,
        ],
        &[],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        format!("{}{}", out.stdout, out.stderr)
            .to_lowercase()
            .contains("pebble"),
        "a clear message naming the backend: {out:?}"
    );
}
