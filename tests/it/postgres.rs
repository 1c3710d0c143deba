//! Several `eventodb` processes in front of one PostgreSQL database: a subscriber on one
//! process is poked, in order and without gaps, for writes handled by another — through
//! LISTEN/NOTIFY, and through the polling fallback. These run against PostgreSQL whatever the
//! suite's backend (a missing server fails them).

use serde_json::json;

use crate::harness::sse::Sse;
use crate::harness::{write, TestServer, ADMIN};

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
