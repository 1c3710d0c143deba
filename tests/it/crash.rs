//! Crash safety: concurrent writers (with and without `expectedVersion`) run while the server is
//! killed with `kill -9` several times and restarted on the same data. Afterwards every
//! acknowledged write is present exactly once, stream positions are contiguous, global
//! positions unique and increasing, and nothing unacknowledged is half there.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{Request, Response, TestServer, ADMIN};

const WRITERS: usize = 6;
const ROUNDS: usize = 3;
const ACKS_BEFORE_KILL: usize = 120;

/// Sends one request; `None` on any transport failure (the server died under it).
fn try_rpc(addr: SocketAddr, body: &Value) -> Option<Response> {
    let request = Request::post("/rpc").bearer(ADMIN).json(body);
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    stream.write_all(&request.to_bytes(addr)).ok()?;
    Response::read_from(&mut BufReader::new(stream)).ok()
}

/// What a writer learned: acknowledged writes and writes whose outcome it never heard.
#[derive(Default)]
struct Outcome {
    acked: Vec<(String, String, i64, i64)>, // (stream, id, position, global position)
    uncertain: Vec<(String, String)>,       // (stream, id)
}

/// Writes until the server goes away. Odd writers send `expectedVersion`.
fn writer(addr: SocketAddr, w: usize, round: usize, acks: mpsc::Sender<()>) -> Outcome {
    let stream = format!("crash-{w}");
    let with_expected = w % 2 == 1;
    let mut outcome = Outcome::default();
    let mut version = match try_rpc(addr, &json!(["stream.version", stream])) {
        Some(r) if r.status == 200 => r.json().as_i64().unwrap_or(-1),
        _ => return outcome,
    };
    for i in 0.. {
        let id = format!("00000000-0000-4000-8{w:03}-{round:04}{i:08}");
        let mut options = json!({ "id": id });
        if with_expected {
            options["expectedVersion"] = json!(version);
        }
        let body =
            json!(["stream.write", stream, {"type": "Crash", "data": {"w": w, "i": i}}, options]);
        match try_rpc(addr, &body) {
            Some(r) if r.status == 200 => {
                let result = r.json();
                let position = result["position"].as_i64().expect("position");
                let global = result["globalPosition"].as_i64().expect("globalPosition");
                assert_eq!(
                    position,
                    version + 1,
                    "{stream}: positions follow the version"
                );
                version = position;
                outcome.acked.push((stream.clone(), id, position, global));
                if acks.send(()).is_err() {
                    // Nobody counts any more; keep writing until the server dies.
                }
            }
            Some(r) if r.status >= 500 => {
                // Storage failing as the process dies: the outcome is unknown.
                outcome.uncertain.push((stream.clone(), id));
                return outcome;
            }
            Some(r) => panic!("{stream}: write refused: {} {}", r.status, r.text()),
            None => {
                outcome.uncertain.push((stream.clone(), id));
                return outcome;
            }
        }
    }
    outcome
}

#[test]
fn acknowledged_writes_survive_repeated_kill_9_under_load() {
    let dir = tempfile::tempdir().expect("data dir");
    let mut acked = Vec::new();
    let mut uncertain = Vec::new();
    for round in 0..ROUNDS {
        let mut server = TestServer::builder().data_dir(dir.path()).start();
        let addr = server.addr();
        let (tx, rx) = mpsc::channel();
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let tx = tx.clone();
                thread::spawn(move || writer(addr, w, round, tx))
            })
            .collect();
        drop(tx);
        // Kill once enough writes were acknowledged in this round (a signal, not a timer).
        for _ in 0..ACKS_BEFORE_KILL {
            rx.recv().expect("writers stopped before the kill");
        }
        server.kill9();
        for handle in writers {
            let outcome = handle.join().expect("writer thread");
            acked.extend(outcome.acked);
            uncertain.extend(outcome.uncertain);
        }
    }

    let server = TestServer::builder().data_dir(dir.path()).start();
    let everything = server.call(ADMIN, json!(["category.get", "", {"batchSize": -1}]));
    let messages = everything.as_array().expect("array");
    // Global positions unique and increasing.
    let globals: Vec<i64> = messages.iter().map(|m| m[4].as_i64().unwrap()).collect();
    assert!(
        globals.windows(2).all(|w| w[0] < w[1]),
        "global positions increase"
    );
    // Every message is complete and was either acknowledged or of unknown outcome; ids unique.
    let acked_ids: BTreeMap<&str, (&str, i64, i64)> = acked
        .iter()
        .map(|(s, id, p, g)| (id.as_str(), (s.as_str(), *p, *g)))
        .collect();
    let uncertain_ids: BTreeSet<&str> = uncertain.iter().map(|(_, id)| id.as_str()).collect();
    let mut seen = BTreeSet::new();
    for m in messages {
        let id = m[0].as_str().expect("id");
        assert!(seen.insert(id.to_owned()), "message {id} stored twice");
        assert!(m[5].is_object(), "message {id} has its data: {m}");
        assert!(
            acked_ids.contains_key(id) || uncertain_ids.contains(id),
            "message {id} was neither acknowledged nor attempted"
        );
    }
    // Every acknowledged write is there, at the position and global position acknowledged.
    let by_id: BTreeMap<&str, &Value> = messages
        .iter()
        .map(|m| (m[0].as_str().unwrap(), m))
        .collect();
    for (id, (stream, position, global)) in &acked_ids {
        let m = by_id
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged write {id} is lost"));
        assert_eq!(m[1].as_str(), Some(*stream));
        assert_eq!(m[3].as_i64(), Some(*position), "{id}");
        assert_eq!(m[4].as_i64(), Some(*global), "{id}");
    }
    // Stream positions contiguous, and the summaries agree with the messages.
    for w in 0..WRITERS {
        let stream = format!("crash-{w}");
        let read = server.call(ADMIN, json!(["stream.get", stream, {"batchSize": -1}]));
        let positions: Vec<i64> = read
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m[2].as_i64().unwrap())
            .collect();
        assert_eq!(
            positions,
            (0..positions.len() as i64).collect::<Vec<_>>(),
            "{stream} contiguous"
        );
        let version = server.call(ADMIN, json!(["stream.version", stream]));
        assert_eq!(
            version,
            json!(positions.len() as i64 - 1),
            "{stream} version"
        );
    }
    let info = server.call(ADMIN, json!(["ns.info", "default"]));
    assert_eq!(info["messageCount"], json!(messages.len()));
    assert!(acked.len() >= ROUNDS * ACKS_BEFORE_KILL);
    // And the store still takes writes after all that.
    server.call(
        ADMIN,
        json!(["stream.write", "crash-0", {"type": "After", "data": {}}]),
    );
}
