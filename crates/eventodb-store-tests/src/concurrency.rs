//! Concurrent appends: the expected-version race, contiguous positions, group commit.

use std::sync::Arc;

use eventodb_store::{Appended, Store, StoreError, StoreResult};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::support::*;

const WRITERS: usize = 32;

/// Runs `WRITERS` appends released together by a barrier; results in task order.
async fn burst<S, F>(store: &Arc<S>, ns: &str, make: F) -> Vec<StoreResult<Appended>>
where
    S: Store,
    F: Fn(usize) -> (String, Option<i64>, eventodb_protocol::NewMessage),
{
    let barrier = Arc::new(Barrier::new(WRITERS));
    let mut tasks = JoinSet::new();
    for i in 0..WRITERS {
        let (stream, expected, m) = make(i);
        let store = Arc::clone(store);
        let barrier = Arc::clone(&barrier);
        let ns = ns.to_owned();
        tasks.spawn(async move {
            barrier.wait().await;
            (i, append(&*store, &ns, &stream, vec![m], expected).await)
        });
    }
    let mut results: Vec<Option<StoreResult<Appended>>> = (0..WRITERS).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        let (i, r) = joined.expect("writer task");
        results[i] = Some(r);
    }
    results
        .into_iter()
        .map(|r| r.expect("every writer reported"))
        .collect()
}

/// 32 concurrent appends with the same expected version: exactly one wins, the rest conflict.
pub async fn one_winner_per_expected_version<S: Store>(store: &Arc<S>) {
    let ns = new_namespace(&**store, "race").await;
    write(&**store, &ns, "acct-1").await;
    let results = burst(store, &ns, |_| {
        ("acct-1".into(), Some(0), msg("Race", "{}"))
    })
    .await;
    let wins: Vec<&Appended> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(wins.len(), 1, "exactly one writer wins");
    assert_eq!(wins[0].written[0].position, 1);
    for r in &results {
        match r {
            Ok(_) => {}
            Err(StoreError::VersionConflict { expected, actual }) => {
                assert_eq!((*expected, *actual), (0, 1));
            }
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(
        positions(&read_stream_all(&**store, &ns, "acct-1").await),
        [0, 1]
    );
    // Same race on a new stream with -1.
    let results = burst(store, &ns, |_| {
        ("acct-2".into(), Some(-1), msg("Race", "{}"))
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert_eq!(read_stream_all(&**store, &ns, "acct-2").await.len(), 1);
}

/// 32 concurrent appends without an expected version all succeed at positions 0..31.
pub async fn concurrent_appends_are_contiguous<S: Store>(store: &Arc<S>) {
    let ns = new_namespace(&**store, "contig").await;
    let results = burst(store, &ns, |_| ("log-1".into(), None, msg("Line", "{}"))).await;
    let mut got: Vec<(i64, i64)> = results
        .iter()
        .map(|r| {
            let w = r.as_ref().expect("append succeeds").written[0];
            (w.position, w.global_position)
        })
        .collect();
    got.sort();
    assert_eq!(
        got.iter().map(|w| w.0).collect::<Vec<_>>(),
        (0..WRITERS as i64).collect::<Vec<_>>()
    );
    // Positions and global positions agree in order.
    assert!(got.windows(2).all(|w| w[0].1 < w[1].1));
    let stored = read_stream_all(&**store, &ns, "log-1").await;
    assert_eq!(positions(&stored), (0..WRITERS as i64).collect::<Vec<_>>());
    assert_eq!(
        globals(&stored),
        got.iter().map(|w| w.1).collect::<Vec<_>>()
    );
    assert_eq!(
        store.stream_version(&ns, "log-1").await.unwrap(),
        Some(WRITERS as i64 - 1)
    );
}

/// In one burst, a conflicting append and a duplicate id fail alone; every other append
/// commits and is readable.
pub async fn failures_in_a_burst_fail_alone<S: Store>(store: &Arc<S>) {
    let ns = new_namespace(&**store, "burst").await;
    let taken = msg("Taken", "{}");
    write_msg(&**store, &ns, "dup-0", taken.clone()).await;
    let taken_id = taken.id.clone();
    let results = burst(store, &ns, |i| match i {
        5 => ("bad-5".into(), Some(3), msg("Conflict", "{}")),
        9 => (
            "dup-9".into(),
            None,
            eventodb_protocol::NewMessage {
                data: r#"{"other":true}"#.into(),
                ..taken.clone()
            },
        ),
        i if i % 2 == 0 => (format!("good-{i}"), Some(-1), msg("Good", "{}")),
        i => (format!("good-{i}"), None, msg("Good", "{}")),
    })
    .await;
    for (i, r) in results.iter().enumerate() {
        match i {
            5 => assert!(
                matches!(
                    r,
                    Err(StoreError::VersionConflict {
                        expected: 3,
                        actual: -1
                    })
                ),
                "{r:?}"
            ),
            9 => assert!(
                matches!(r, Err(StoreError::DuplicateMessageId(id)) if *id == taken_id),
                "{r:?}"
            ),
            _ => {
                let w = r
                    .as_ref()
                    .unwrap_or_else(|e| panic!("writer {i}: {e}"))
                    .written[0];
                assert_eq!(w.position, 0);
                let stored = read_stream_all(&**store, &ns, &format!("good-{i}")).await;
                assert_eq!(globals(&stored), [w.global_position]);
            }
        }
    }
    assert!(read_stream_all(&**store, &ns, "bad-5").await.is_empty());
    assert!(read_stream_all(&**store, &ns, "dup-9").await.is_empty());
    assert_eq!(count_all(&**store, &ns).await, 1 + WRITERS - 2);
    let all = read_category(&**store, &ns, category("")).await;
    assert!(globals(&all).windows(2).all(|w| w[0] < w[1]));
}

/// Writers of different namespaces and readers run concurrently without errors.
pub async fn namespaces_write_concurrently<S: Store>(store: &Arc<S>) {
    let a = new_namespace(&**store, "conc-a").await;
    let b = new_namespace(&**store, "conc-b").await;
    let mut tasks = JoinSet::new();
    for i in 0..8 {
        let store = Arc::clone(store);
        let ns = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.spawn(async move {
            for _ in 0..10 {
                write(&*store, &ns, "feed-1").await;
                let _ = read_category(&*store, &ns, category("feed")).await;
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("task");
    }
    for ns in [&a, &b] {
        let stored = read_stream_all(&**store, ns, "feed-1").await;
        assert_eq!(positions(&stored), (0..40).collect::<Vec<_>>());
        assert!(globals(&stored).windows(2).all(|w| w[0] < w[1]));
    }
}
