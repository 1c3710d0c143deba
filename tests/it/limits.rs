//! Limits that protect the server (docs/OPERATIONS.md#limits): message size, body size,
//! header read timeout, open connections, subscriptions per namespace, request rate. Each is
//! set by a flag or an `EVENTODB_*` variable and answers with a clear error when hit.

use std::io::{BufReader, Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::sse::{send_subscribe, Sse};
use crate::harness::{connect, Request, Response, TestServer, ADMIN};

fn write_with_data(server: &TestServer, data_bytes: usize) -> Response {
    // `{"pad":"…"}` is 10 bytes plus the padding.
    let pad = "x".repeat(data_bytes - 10);
    server.rpc(
        ADMIN,
        &json!(["stream.write", "big-1", {"type": "T", "data": {"pad": pad}}]),
    )
}

#[test]
fn default_message_limit_is_one_mebibyte_of_data_and_metadata() {
    let server = TestServer::strict();
    assert_eq!(write_with_data(&server, 1024 * 1024).status, 200);
    let refused = write_with_data(&server, 1024 * 1024 + 1);
    let error = refused.assert_error(413, "INVALID_REQUEST");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("--max-message-size"), "{message}");
    assert_eq!(error["details"]["limit"], json!(1024 * 1024));
    // Metadata counts too.
    let pad = "x".repeat(600 * 1024);
    server
        .rpc(
            ADMIN,
            &json!(["stream.write", "big-1", {"type": "T", "data": {"p": pad}, "metadata": {"p": pad}}]),
        )
        .assert_error(413, "INVALID_REQUEST");
    // Nothing refused was written.
    assert_eq!(
        server.call(ADMIN, json!(["stream.version", "big-1"])),
        json!(0)
    );
}

#[test]
fn message_limit_is_set_by_flag_or_environment() {
    let by_flag = TestServer::builder()
        .strict()
        .arg("--max-message-size=100")
        .start();
    let by_env = TestServer::builder()
        .strict()
        .env("EVENTODB_MAX_MESSAGE_SIZE", "100")
        .start();
    for server in [&by_flag, &by_env] {
        assert_eq!(write_with_data(server, 100).status, 200);
        write_with_data(server, 101).assert_error(413, "INVALID_REQUEST");
    }
}

#[test]
fn body_limit_is_configurable() {
    let server = TestServer::builder()
        .strict()
        .env("EVENTODB_MAX_BODY_SIZE", "2000")
        .start();
    assert_eq!(write_with_data(&server, 1000).status, 200);
    let error = write_with_data(&server, 3000).assert_error(413, "INVALID_REQUEST");
    assert!(error["message"]
        .as_str()
        .unwrap_or_default()
        .contains("--max-body-size"));
}

/// A client that sends its headers one byte at a time, slower than the limit allows, has its
/// connection closed; a normal client on the same server is served.
#[test]
fn slow_headers_are_cut_off_at_the_header_read_timeout() {
    let server = TestServer::builder()
        .strict()
        .arg("--header-read-timeout=1")
        .start();
    let request = format!(
        "GET /health HTTP/1.1\r\nHost: {}\r\nX-Padding: {}\r\n\r\n",
        server.addr(),
        "p".repeat(40)
    );
    let mut stream = connect(server.addr());
    let mut reader = stream.try_clone().expect("clone");
    let (closed_tx, closed) = mpsc::channel();
    std::thread::spawn(move || {
        let mut answer = Vec::new();
        let _ = reader.read_to_end(&mut answer);
        let _ = closed_tx.send(answer);
    });
    let started = Instant::now();
    let mut sent = 0;
    let answer = loop {
        if sent < request.len() && stream.write_all(&request.as_bytes()[sent..=sent]).is_ok() {
            sent += 1;
        }
        // One byte every 200 ms: the whole head would take over 15 s.
        match closed.recv_timeout(Duration::from_millis(200)) {
            Ok(answer) => break answer,
            Err(_) => assert!(
                started.elapsed() < Duration::from_secs(10),
                "connection still open after {sent} bytes"
            ),
        }
    };
    let elapsed = started.elapsed();
    assert!(sent < request.len(), "the whole head went through");
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(5),
        "closed after {elapsed:?}"
    );
    let text = String::from_utf8_lossy(&answer);
    assert!(!text.contains("200 OK"), "{text}");
    assert_eq!(server.send(Request::get("/health")).status, 200);
}

/// A keep-alive connection may sit idle longer than the header read timeout (clients pool
/// connections and reuse them); it is closed after `--idle-timeout` of silence, and never
/// while a response is still open (an SSE subscription outlives both timeouts).
#[test]
fn idle_keep_alive_connections_last_until_the_idle_timeout() {
    let server = TestServer::builder()
        .strict()
        .arg("--header-read-timeout=1")
        .arg("--idle-timeout=3")
        .arg("--sse-keepalive=60")
        .start();
    let mut pooled = BufReader::new(connect(server.addr()));
    let mut subscription =
        Sse::open(server.addr(), "/subscribe?stream=idle-1", Some(ADMIN)).ready();
    assert_eq!(keep_alive_health(&mut pooled, &server), 200);

    // Idle for twice the header read timeout: still usable.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(keep_alive_health(&mut pooled, &server), 200);
    let answered = Instant::now();

    // Then silent: the server closes it once the idle timeout has passed.
    let mut rest = Vec::new();
    let read = pooled.read_to_end(&mut rest);
    let elapsed = answered.elapsed();
    assert!(read.is_ok() && rest.is_empty(), "{read:?} {rest:?}");
    assert!(
        elapsed >= Duration::from_millis(2900) && elapsed < Duration::from_secs(8),
        "closed after {elapsed:?}"
    );

    // The subscription, silent for longer than both timeouts, still delivers.
    server.call(
        ADMIN,
        json!(["stream.write", "idle-1", {"type": "T", "data": {}}]),
    );
    assert_eq!(subscription.next_poke().position, 0);
}

fn keep_alive_health(reader: &mut BufReader<std::net::TcpStream>, server: &TestServer) -> u16 {
    let bytes = Request::get("/health").keep_alive().to_bytes(server.addr());
    reader.get_mut().write_all(&bytes).expect("send");
    Response::read_from(reader).expect("answer").status
}

/// Over `--max-connections`, a new connection is closed at once (after a best-effort 503),
/// while the open ones keep working; a freed slot is reused.
#[test]
fn connections_over_the_limit_are_closed_without_hurting_open_ones() {
    let server = TestServer::builder()
        .strict()
        .arg("--max-connections=2")
        .start();
    let mut first = BufReader::new(connect(server.addr()));
    let mut second = BufReader::new(connect(server.addr()));
    assert_eq!(keep_alive_health(&mut first, &server), 200);
    assert_eq!(keep_alive_health(&mut second, &server), 200);

    let mut third = connect(server.addr());
    let _ = third.write_all(&Request::get("/health").to_bytes(server.addr()));
    let mut answer = Vec::new();
    let started = Instant::now();
    let _ = third.read_to_end(&mut answer);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "not closed promptly"
    );
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 503"),
        "over the limit: {text}"
    );
    assert!(!text.contains(r#""status":"ok""#), "{text}");

    assert_eq!(keep_alive_health(&mut first, &server), 200);
    drop(second);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut stream = connect(server.addr());
        let _ = stream.write_all(&Request::get("/health").to_bytes(server.addr()));
        let mut reader = BufReader::new(stream);
        if let Ok(response) = Response::read_from(&mut reader) {
            if response.status == 200 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the freed slot was never reused");
        std::thread::yield_now();
    }
}

#[test]
fn subscriptions_per_namespace_are_bounded() {
    let server = TestServer::builder()
        .strict()
        .arg("--max-subscriptions-per-namespace=2")
        .arg("--sse-keepalive=1")
        .start();
    let other = server.call(ADMIN, json!(["ns.create", "other"]))["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let first = Sse::open(server.addr(), "/subscribe?stream=s-1", Some(ADMIN)).ready();
    let _second = Sse::open(server.addr(), "/subscribe?category=s", Some(ADMIN)).ready();

    let refused = |token: &str| {
        let stream = send_subscribe(server.addr(), "/subscribe?all=true", Some(token));
        Response::read_from(&mut BufReader::new(stream)).expect("answer")
    };
    let error = refused(ADMIN).assert_error(429, "RATE_LIMITED");
    assert_eq!(error["details"]["limit"], json!(2));
    assert!(error["message"]
        .as_str()
        .unwrap_or_default()
        .contains("--max-subscriptions-per-namespace"));
    // Another namespace has its own allowance.
    let _other = Sse::open(server.addr(), "/subscribe?all=true", Some(&other)).ready();

    // Closing one frees its place (the server notices the close when it next writes or
    // polls, so allow a bounded wait).
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stream = send_subscribe(server.addr(), "/subscribe?all=true", Some(ADMIN));
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        std::io::BufRead::read_line(&mut reader, &mut status_line).expect("status line");
        if status_line.contains(" 200 ") {
            break;
        }
        assert!(status_line.contains(" 429 "), "{status_line}");
        assert!(
            Instant::now() < deadline,
            "the closed subscription kept its place"
        );
        std::thread::yield_now();
    }
}

#[test]
fn request_rate_per_namespace_answers_429_rate_limited() {
    // 3 at once, then one per 100 s: the test never sees a refill.
    let server = TestServer::builder()
        .strict()
        .arg("--rate-limit=0.01")
        .arg("--rate-limit-burst=3")
        .start();
    let other = server.call(ADMIN, json!(["ns.create", "calm"]))["token"]
        .as_str()
        .expect("token")
        .to_owned();
    // ns.create used one of the default namespace's three.
    for _ in 0..2 {
        server.call(ADMIN, json!(["sys.version"]));
    }
    let response = server.rpc(ADMIN, &json!(["sys.version"]));
    let error = response.assert_error(429, "RATE_LIMITED");
    assert!(error["message"]
        .as_str()
        .unwrap_or_default()
        .contains("--rate-limit"));
    let retry_after: u64 = response
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=100).contains(&retry_after), "{retry_after}");
    // Subscriptions draw on the same budget.
    let stream = send_subscribe(server.addr(), "/subscribe?all=true", Some(ADMIN));
    Response::read_from(&mut BufReader::new(stream))
        .expect("answer")
        .assert_error(429, "RATE_LIMITED");
    // Other namespaces and unauthenticated endpoints are not affected.
    server.call(&other, json!(["sys.version"]));
    assert_eq!(server.send(Request::get("/health")).status, 200);
    assert_eq!(server.send(Request::get("/metrics")).status, 200);
}
