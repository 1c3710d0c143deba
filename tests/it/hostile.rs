//! Hostile input: SQL metacharacters, quotes, LIKE wildcards, NUL, 10 KB names and odd
//! Unicode in stream names, categories, types, namespace ids and tokens are stored verbatim or
//! refused cleanly, and never change what a query means.

use serde_json::json;

use crate::harness::{check, code, on_postgres, TestServer, ADMIN};

const NASTY: &[&str] = &[
    "x'; DROP TABLE messages; --",
    "a\"b\\c",
    "50%_off-1",
    "line\nbreak-2",
    "tab\there-3",
    "emoji🙂-4",
    "rtl\u{202e}txt-5",
    "$1::text-6",
    "eventodb_store.namespaces-7",
    "' OR '1'='1",
];

#[test]
fn nasty_stream_names_and_types_round_trip_and_stay_apart() {
    let s = TestServer::test_mode();
    for (i, name) in NASTY.iter().enumerate() {
        let kind = format!("{name}-type");
        let written = s.call(
            ADMIN,
            json!(["stream.write", name, {"type": kind, "data": {"v": name}}]),
        );
        assert_eq!(written["position"], json!(0), "{name:?}");
        let read = s.call(ADMIN, json!(["stream.get", name]));
        assert_eq!(read.as_array().map(Vec::len), Some(1), "{name:?}");
        assert_eq!(read[0][1], json!(kind));
        assert_eq!(read[0][4], json!({ "v": name }));
        assert_eq!(s.call(ADMIN, json!(["stream.version", name])), json!(0));
        let last = s.call(ADMIN, json!(["stream.last", name, {"type": kind}]));
        assert_eq!(last[2], json!(0), "{name:?}");
        let _ = i;
    }
    // Nothing leaked between streams: each category holds exactly its own messages.
    let all = s.call(ADMIN, json!(["category.get", ""]));
    assert_eq!(all.as_array().map(Vec::len), Some(NASTY.len()));
    // LIKE wildcards in a prefix are literal.
    let page = s.call(ADMIN, json!(["ns.streams", {"prefix": "50%_"}]));
    assert_eq!(page.as_array().map(Vec::len), Some(1), "{page}");
    assert_eq!(
        s.call(ADMIN, json!(["ns.streams", {"prefix": "%"}])),
        json!([])
    );
    assert_eq!(
        s.call(ADMIN, json!(["ns.streams", {"prefix": "_"}])),
        json!([])
    );
    // Injection-shaped categories and correlations match nothing and break nothing.
    for category in ["' OR 'a'='a", "x'; DROP TABLE streams; --", "%", "_", "\\"] {
        assert_eq!(
            s.call(ADMIN, json!(["category.get", category])),
            json!([]),
            "{category:?}"
        );
        let correlated = s.call(
            ADMIN,
            json!(["category.get", "", {"correlation": category}]),
        );
        assert_eq!(correlated, json!([]), "{category:?}");
    }
    assert_eq!(
        s.call(ADMIN, json!(["category.get", ""]))
            .as_array()
            .map(Vec::len),
        Some(NASTY.len())
    );
}

#[test]
fn very_long_names_are_stored_or_refused_cleanly() {
    let s = TestServer::test_mode();
    let long = format!("long-{}", "x".repeat(10 * 1024));
    let written = s.call(
        ADMIN,
        json!(["stream.write", long, {"type": "t".repeat(10 * 1024), "data": {}}]),
    );
    assert_eq!(written["position"], json!(0));
    assert_eq!(s.call(ADMIN, json!(["stream.version", long])), json!(0));
    let id = format!("tenant-{}", "y".repeat(10 * 1024));
    let created = s.call(ADMIN, json!(["ns.create", id]));
    let token = created["token"].as_str().expect("token");
    s.call(
        token,
        json!(["stream.write", "a-1", {"type": "A", "data": {}}]),
    );
    assert_eq!(
        s.call(token, json!(["category.get", ""]))
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    // Its data is its own.
    assert_eq!(s.call(ADMIN, json!(["stream.version", "a-1"])), json!(null));
}

#[test]
fn nul_characters_are_refused_cleanly_on_every_backend() {
    let s = TestServer::test_mode();
    for body in [
        json!(["stream.write", "nul\u{0}-1", {"type": "A", "data": {}}]),
        json!(["stream.write", "nul-1", {"type": "A\u{0}", "data": {}}]),
        json!(["stream.write", "nul-1", {"type": "A", "data": {"k": "v\u{0}"}}]),
        json!(["stream.write", "nul-1", {"type": "A", "data": {}, "metadata": {"k\u{0}": 1}}]),
        json!(["ns.create", "nul\u{0}ns"]),
    ] {
        check(&s, Some(ADMIN), body, 400, code("INVALID_REQUEST"));
    }
    // Reads with NUL are refused the same way (PostgreSQL could not even compare them).
    check(
        &s,
        Some(ADMIN),
        json!(["stream.get", "nul\u{0}-1"]),
        400,
        code("INVALID_REQUEST"),
    );
    check(
        &s,
        Some(ADMIN),
        json!(["category.get", "nul\u{0}"]),
        400,
        code("INVALID_REQUEST"),
    );
    s.call(
        ADMIN,
        json!(["stream.write", "nul-1", {"type": "A", "data": {}}]),
    );
}

#[test]
fn hostile_namespace_ids_stay_isolated() {
    let s = TestServer::strict();
    let mut tokens = Vec::new();
    for id in [
        "a'b",
        "a\"b",
        "a;b",
        "eventodb_store",
        "default2",
        "DEFAULT",
        "a b",
    ] {
        let created = s.call(ADMIN, json!(["ns.create", id]));
        let token = created["token"].as_str().expect("token").to_owned();
        s.call(
            &token,
            json!(["stream.write", "own-1", {"type": "A", "data": {"ns": id}}]),
        );
        tokens.push((id, token));
    }
    for (id, token) in &tokens {
        let mine = s.call(token, json!(["category.get", ""]));
        assert_eq!(mine.as_array().map(Vec::len), Some(1), "{id}");
        assert_eq!(mine[0][5], json!({ "ns": id }));
    }
    assert_eq!(
        s.call(ADMIN, json!(["stream.version", "own-1"])),
        json!(null)
    );
}

#[test]
fn tokens_are_stored_only_as_hashes() {
    let s = TestServer::strict();
    let created = s.call(ADMIN, json!(["ns.create", "secretive"]));
    let token = created["token"].as_str().expect("token").to_owned();
    s.call(
        &token,
        json!(["stream.write", "s-1", {"type": "A", "data": {}}]),
    );
    let secret = token.rsplit('_').next().expect("secret part");
    let admin_secret = ADMIN.rsplit('_').next().expect("secret part");
    if on_postgres() {
        // Read the whole registry table back with psql.
        let url = s.database_url().expect("database of the server");
        let out = std::process::Command::new("psql")
            .args([
                url.as_str(),
                "-Atc",
                "SELECT * FROM eventodb_store.namespaces",
            ])
            .output()
            .expect("running psql");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let registry = String::from_utf8_lossy(&out.stdout);
        assert!(
            registry.contains("secretive"),
            "the registry was read: {registry}"
        );
        assert!(
            registry.contains(&eventodb_protocol::token::hash(&token)),
            "hashes are stored"
        );
        assert!(!registry.contains(secret), "the registry holds a token");
        assert!(
            !registry.contains(admin_secret),
            "the registry holds the admin token"
        );
        return;
    }
    let dir = s.data_dir().expect("file-backed");
    for entry in std::fs::read_dir(dir).expect("data dir") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(secret), "{} holds a token", path.display());
        assert!(
            !text.contains(admin_secret),
            "{} holds the admin token",
            path.display()
        );
    }
}
