//! Several `eventodb` processes in front of one PostgreSQL database: a subscriber on one
//! process is poked, in order and without gaps, for writes handled by another — through
//! LISTEN/NOTIFY, and through the polling fallback. These run against PostgreSQL whatever the
//! suite's backend (a missing server fails them).

use serde_json::json;

use crate::harness::sse::Sse;
use crate::harness::{write, Request, TestServer, ADMIN};

fn server_on(database: &str, extra: &[&str]) -> TestServer {
    let mut args = vec![
        "serve", "--port", "0", "--db-url", database, "--token", ADMIN,
    ];
    args.extend_from_slice(extra);
    TestServer::builder().raw_args(&args).start()
}

fn pokes_cross_processes(extra_b: &[&str]) {
    let database = eventodb_pg_cluster::PgCluster::shared().fresh_database();
    let a = server_on(&database, &[]);
    let b = server_on(&database, extra_b);
    let mut on_b = Sse::open(b.addr(), "/subscribe?category=two", Some(ADMIN)).ready();
    let mut all_on_a = Sse::open(a.addr(), "/subscribe?all=true", Some(ADMIN)).ready();
    let mut written = Vec::new();
    for i in 0..30 {
        // Alternate the process that takes the write.
        let via = if i % 2 == 0 { &a } else { &b };
        let (_, global) = write(
            via,
            ADMIN,
            &format!("two-{}", i % 4),
            "A",
            json!({ "i": i }),
        );
        written.push(global);
    }
    let on_b: Vec<i64> = (0..30).map(|_| on_b.next_poke().global_position).collect();
    let on_a: Vec<i64> = (0..30)
        .map(|_| all_on_a.next_poke().global_position)
        .collect();
    assert_eq!(on_b, written, "subscriber on B, category");
    assert_eq!(on_a, written, "subscriber on A, all=true");
    // Both processes read the same data.
    let version = b.call(ADMIN, json!(["stream.version", "two-0"]));
    assert_eq!(version, a.call(ADMIN, json!(["stream.version", "two-0"])));
    assert_eq!(version, json!(7));
}

#[test]
fn pokes_cross_processes_through_listen_notify() {
    pokes_cross_processes(&[]);
}

#[test]
fn pokes_cross_processes_through_polling() {
    pokes_cross_processes(&["--pg-notify", "poll", "--pg-poll-interval", "20"]);
}

/// Each process caches namespace records for authentication; a registry change notifies the
/// others. A token rotated through A stops working on B, which had just used (and cached)
/// it, as soon as the notification arrives (asynchronous, so the test waits for the refusal
/// with a deadline); on A it stops at once; in poll mode B does not cache and refuses at
/// once. A namespace deleted through A is gone for B's token as well.
#[test]
fn a_token_rotated_through_one_process_stops_working_on_the_others() {
    let database = eventodb_pg_cluster::PgCluster::shared().fresh_database();
    let a = server_on(&database, &[]);
    let b = server_on(&database, &[]);
    let c = server_on(
        &database,
        &["--pg-notify", "poll", "--pg-poll-interval", "20"],
    );
    let created = a.call(ADMIN, json!(["ns.create", "rot-x"]));
    let old = created["token"].as_str().expect("token").to_owned();
    let version = json!(["stream.version", "r-1"]);
    for server in [&a, &b, &c] {
        assert_eq!(server.rpc(&old, &version).status, 200, "the token works");
    }
    let rotated = a.call(&old, json!(["ns.rotateToken"]));
    let new = rotated["token"].as_str().expect("new token").to_owned();
    assert_eq!(a.rpc(&old, &version).status, 403, "refused at once on A");
    assert_eq!(
        c.rpc(&old, &version).status,
        403,
        "refused at once without a cache"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let status = b.rpc(&old, &version).status;
        if status == 403 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            std::time::Instant::now() < deadline,
            "B still accepts the rotated token after 2 s"
        );
        std::thread::yield_now();
    }
    for server in [&a, &b, &c] {
        assert_eq!(
            server.rpc(&new, &version).status,
            200,
            "the new token works"
        );
        assert_eq!(
            server.rpc(&old, &version).status,
            403,
            "and the old one stays dead"
        );
    }
    a.call(ADMIN, json!(["ns.delete", "rot-x"]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while b.rpc(&new, &version).status == 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "B still accepts a deleted namespace's token after 2 s"
        );
    }
    assert_eq!(b.rpc(&new, &version).status, 403);
}

#[test]
fn an_unreachable_database_is_a_clear_start_up_error() {
    let failure = TestServer::builder()
        .raw_args(&[
            "serve",
            "--port",
            "0",
            "--db-url",
            "postgres://nobody@127.0.0.1:1/none",
            "--pg-connect-timeout",
            "2",
        ])
        .try_start()
        .err()
        .expect("the server must not start");
    assert_eq!(
        failure.status.and_then(|s| s.code()),
        Some(1),
        "{}",
        failure.output
    );
    assert!(
        failure.output.contains("PostgreSQL"),
        "the error names the storage: {}",
        failure.output
    );
}

/// The database goes away mid-load: writes fail with `BACKEND_ERROR` (never a hang, never a
/// half write), `/ready` says 503, and when the database is back the server recovers by itself:
/// ready again, writes succeed, every acknowledged write is there exactly once.
#[test]
fn the_server_rides_out_a_database_restart() {
    let cluster = eventodb_pg_cluster::PgCluster::start();
    let database = cluster.fresh_database();
    let args = [
        "serve",
        "--port",
        "0",
        "--db-url",
        &database,
        "--token",
        ADMIN,
        "--pg-connect-timeout",
        "1",
    ];
    // The failed writes are logged at ERROR: expected here.
    let server = TestServer::builder().raw_args(&args).allow_errors().start();
    let mut acked = Vec::new();
    for i in 0..20 {
        acked.push(write(&server, ADMIN, "ride-1", "A", json!({ "i": i })).1);
    }
    assert_eq!(server.send(Request::get("/ready")).status, 200);

    cluster.stop();
    let body = json!(["stream.write", "ride-1", {"type": "A", "data": {}}]);
    let refused = server.rpc(ADMIN, &body);
    assert_eq!(refused.status, 500, "{}", refused.text());
    assert_eq!(refused.error_code().as_deref(), Some("BACKEND_ERROR"));
    assert_eq!(server.send(Request::get("/ready")).status, 503);
    assert_eq!(
        server.send(Request::get("/health")).status,
        200,
        "liveness stays up"
    );

    cluster.resume();
    // Recovery is the server's own doing: wait (bounded) until it reports ready again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while server.send(Request::get("/ready")).status != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not recover"
        );
        std::thread::yield_now();
    }
    for i in 20..30 {
        acked.push(write(&server, ADMIN, "ride-1", "A", json!({ "i": i })).1);
    }
    let read = server.call(ADMIN, json!(["stream.get", "ride-1", {"batchSize": -1}]));
    let globals: Vec<i64> = read
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m[3].as_i64().unwrap())
        .collect();
    let positions: Vec<i64> = read
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m[2].as_i64().unwrap())
        .collect();
    assert_eq!(positions, (0..positions.len() as i64).collect::<Vec<_>>());
    for g in &acked {
        assert_eq!(
            globals.iter().filter(|x| *x == g).count(),
            1,
            "acknowledged write {g}"
        );
    }
}
