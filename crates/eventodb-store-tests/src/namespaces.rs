//! Namespaces: registry records, isolation, deletion, stats and listings.

use std::sync::Arc;

use eventodb_store::{
    CategoryRead, CategorySummary, NewNamespace, Store, StoreError, StreamRead, StreamStart,
    StreamsQuery,
};

use crate::support::*;

fn not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    assert!(
        matches!(result, Err(StoreError::NamespaceNotFound(_))),
        "{what}: expected NamespaceNotFound, got {result:?}"
    );
}

/// Create, look up, list (newest first by second), change the token, refuse a second create.
pub async fn registry_records<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let base = 1_700_000_000_000_000i64;
    let older = unique("reg-old");
    let newer = unique("reg-new");
    let hash = token_hash();
    s.create_namespace(NewNamespace {
        id: older.clone(),
        token_hash: hash.clone(),
        description: "the older one".into(),
        created_at: base + 123_456,
    })
    .await
    .unwrap();
    s.create_namespace(NewNamespace {
        id: newer.clone(),
        token_hash: token_hash(),
        description: String::new(),
        created_at: base + 5_000_000,
    })
    .await
    .unwrap();
    let record = s.namespace(&older).await.unwrap().expect("record");
    assert_eq!(record.id, older);
    assert_eq!(record.token_hash, hash);
    assert_eq!(record.description, "the older one");
    assert_eq!(
        record.created_at, base,
        "created_at is kept in whole seconds"
    );
    assert_eq!(s.namespace(&unique("missing")).await.unwrap(), None);

    let list = s.namespaces().await.unwrap();
    let pos = |id: &str| list.iter().position(|r| r.id == id).expect("listed");
    assert!(pos(&newer) < pos(&older), "newest first");
    assert!(list.windows(2).all(|w| w[0].created_at >= w[1].created_at));

    let again = s
        .create_namespace(NewNamespace {
            id: older.clone(),
            token_hash: token_hash(),
            description: String::new(),
            created_at: base,
        })
        .await;
    assert!(
        matches!(again, Err(StoreError::NamespaceExists(_))),
        "{again:?}"
    );

    let new_hash = token_hash();
    s.set_token_hash(&older, &new_hash).await.unwrap();
    assert_eq!(
        s.namespace(&older).await.unwrap().unwrap().token_hash,
        new_hash
    );
    not_found(
        s.set_token_hash(&unique("missing"), &token_hash()).await,
        "set_token_hash",
    );
}

/// A write in one namespace is invisible in another; each has its own global sequence from 1.
pub async fn namespaces_are_isolated<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let a = new_namespace(s, "iso-a").await;
    let b = new_namespace(s, "iso-b").await;
    assert_eq!(write(s, &a, "cart-1").await, (0, 1));
    assert_eq!(write(s, &a, "cart-1").await, (1, 2));
    assert_eq!(
        write(s, &b, "cart-1").await,
        (0, 1),
        "b starts its own sequence"
    );
    assert_eq!(read_stream_all(s, &a, "cart-1").await.len(), 2);
    assert_eq!(read_stream_all(s, &b, "cart-1").await.len(), 1);
    assert_eq!(read_category(s, &b, category("")).await.len(), 1);
    assert_eq!(s.stream_version(&b, "cart-1").await.unwrap(), Some(0));
    write(s, &a, "only-a").await;
    assert_eq!(s.stream_version(&b, "only-a").await.unwrap(), None);
    assert_eq!(s.last_message(&b, "only-a", None).await.unwrap(), None);
    assert_eq!(s.namespace_stats(&b).await.unwrap().message_count, 1);
    assert_eq!(s.list_categories(&b).await.unwrap().len(), 1);
    let streams_b = s
        .list_streams(
            &b,
            StreamsQuery {
                prefix: String::new(),
                cursor: String::new(),
                limit: 100,
            },
        )
        .await
        .unwrap();
    assert_eq!(streams_b.len(), 1);
}

/// Deleting returns the message count; afterwards every operation is `NamespaceNotFound`.
pub async fn delete_namespace<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "del").await;
    let keep = new_namespace(s, "del-keep").await;
    for i in 0..7 {
        write(s, &ns, &format!("cart-{}", i % 3)).await;
    }
    write(s, &keep, "cart-1").await;
    assert_eq!(s.delete_namespace(&ns).await.unwrap(), 7);
    assert_eq!(s.namespace(&ns).await.unwrap(), None);
    assert!(s.namespaces().await.unwrap().iter().all(|r| r.id != ns));
    not_found(
        append(s, &ns, "cart-1", vec![msg("A", "{}")], None).await,
        "append",
    );
    not_found(
        s.read_stream(
            &ns,
            StreamRead {
                stream_name: "cart-1".into(),
                start: StreamStart::Position(0),
                limit: None,
            },
        )
        .await,
        "read_stream",
    );
    not_found(
        s.read_category(&ns, category("cart")).await,
        "read_category",
    );
    not_found(s.last_message(&ns, "cart-1", None).await, "last_message");
    not_found(s.stream_version(&ns, "cart-1").await, "stream_version");
    not_found(s.namespace_stats(&ns).await, "namespace_stats");
    not_found(s.list_categories(&ns).await, "list_categories");
    not_found(
        s.list_streams(
            &ns,
            StreamsQuery {
                prefix: String::new(),
                cursor: String::new(),
                limit: 10,
            },
        )
        .await,
        "list_streams",
    );
    not_found(s.delete_namespace(&ns).await, "delete again");
    not_found(s.set_token_hash(&ns, &token_hash()).await, "set_token_hash");
    // Others are untouched.
    assert_eq!(read_stream_all(s, &keep, "cart-1").await.len(), 1);
    // The id can be created again, empty.
    s.create_namespace(NewNamespace {
        id: ns.clone(),
        token_hash: token_hash(),
        description: String::new(),
        created_at: eventodb_protocol::time::now_micros(),
    })
    .await
    .unwrap();
    assert_eq!(s.namespace_stats(&ns).await.unwrap().message_count, 0);
    assert_eq!(write(s, &ns, "cart-1").await.0, 0);
    assert_eq!(s.delete_namespace(&ns).await.unwrap(), 1);
    assert_eq!(s.delete_namespace(&keep).await.unwrap(), 1);
}

/// Operations on a namespace that never existed are `NamespaceNotFound`.
pub async fn unknown_namespace<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = unique("never");
    not_found(
        append(s, &ns, "a-1", vec![msg("A", "{}")], None).await,
        "append",
    );
    not_found(s.read_category(&ns, category("")).await, "read_category");
    not_found(s.stream_version(&ns, "a-1").await, "stream_version");
    not_found(s.namespace_stats(&ns).await, "namespace_stats");
    not_found(s.delete_namespace(&ns).await, "delete");
}

/// Stats: empty namespace is zeros and no activity; then exact counts and the newest time.
pub async fn namespace_stats<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "stats").await;
    let empty = s.namespace_stats(&ns).await.unwrap();
    assert_eq!(
        (empty.message_count, empty.stream_count, empty.last_activity),
        (0, 0, None)
    );
    for i in 0..9 {
        write(s, &ns, &format!("cart-{}", i % 4)).await;
    }
    append(s, &ns, "ledger", vec![msg("A", "{}"), msg("B", "{}")], None)
        .await
        .unwrap();
    let stats = s.namespace_stats(&ns).await.unwrap();
    assert_eq!(stats.message_count, 11);
    assert_eq!(stats.stream_count, 5);
    let newest = read_category(s, &ns, category(""))
        .await
        .iter()
        .map(|m| m.time)
        .max();
    assert_eq!(stats.last_activity, newest);
    // Failed appends change nothing.
    let _ = append(s, &ns, "ledger", vec![msg("A", "{}")], Some(0)).await;
    assert_eq!(s.namespace_stats(&ns).await.unwrap(), stats);
}

/// `list_streams`: literal case-sensitive prefix (no LIKE wildcards), byte-wise order, strict
/// cursor, limit; versions and last activity per stream.
pub async fn list_streams<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "liststreams").await;
    let names = [
        "b-1", "a-2", "a_x", "aB", "ab", "a%", "é-1", "a-1", "A-1", "a", "a-10", "ab-1", "z",
    ];
    for name in names {
        write(s, &ns, name).await;
    }
    write(s, &ns, "a-1").await;
    let query = |prefix: &str, cursor: &str, limit: u64| StreamsQuery {
        prefix: prefix.into(),
        cursor: cursor.into(),
        limit,
    };
    let nsr = ns.as_str();
    let list = |q: StreamsQuery| async move {
        s.list_streams(nsr, q)
            .await
            .unwrap()
            .into_iter()
            .map(|x| x.stream_name)
            .collect::<Vec<_>>()
    };
    let mut sorted: Vec<&str> = names.to_vec();
    sorted.sort(); // byte-wise
    assert_eq!(list(query("", "", 1000)).await, sorted);
    assert_eq!(
        list(query("", "", 1000)).await,
        ["A-1", "a", "a%", "a-1", "a-10", "a-2", "aB", "a_x", "ab", "ab-1", "b-1", "z", "é-1"]
    );
    assert_eq!(list(query("a-", "", 100)).await, ["a-1", "a-10", "a-2"]);
    assert_eq!(list(query("a_", "", 100)).await, ["a_x"]);
    assert_eq!(list(query("a%", "", 100)).await, ["a%"]);
    assert_eq!(list(query("A", "", 100)).await, ["A-1"]);
    assert_eq!(list(query("ab", "", 100)).await, ["ab", "ab-1"]);
    assert_eq!(list(query("é", "", 100)).await, ["é-1"]);
    assert!(list(query("q", "", 100)).await.is_empty());
    assert_eq!(list(query("a-", "a-1", 100)).await, ["a-10", "a-2"]);
    assert_eq!(list(query("", "z", 100)).await, ["é-1"]);
    assert_eq!(list(query("a", "", 2)).await, ["a", "a%"]);
    // Paging with the last name as cursor walks everything once, in order.
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = list(query("", &cursor, 3)).await;
        assert!(page.len() <= 3);
        match page.last() {
            Some(last) => cursor = last.clone(),
            None => break,
        }
        paged.extend(page);
    }
    assert_eq!(paged, sorted);
    let a1 = s
        .list_streams(&ns, query("a-1", "", 1))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(a1.version, 1);
    let last = s.last_message(&ns, "a-1", None).await.unwrap().unwrap();
    assert_eq!(a1.last_activity, last.time);
}

/// `list_categories`: by name, with stream and message counts; a dash-less stream counts
/// under its own name.
pub async fn list_categories<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "listcats").await;
    assert!(s.list_categories(&ns).await.unwrap().is_empty());
    write(s, &ns, "ledger").await;
    write(s, &ns, "ledger-1").await;
    write(s, &ns, "ledger-1").await;
    write(s, &ns, "cart-1").await;
    write(s, &ns, "cart-1").await;
    write(s, &ns, "cart-2").await;
    write(s, &ns, "Cart-1").await;
    write(s, &ns, "cart-1+x").await;
    let cats = s.list_categories(&ns).await.unwrap();
    let cat = |category: &str, stream_count: u64, message_count: u64| CategorySummary {
        category: category.into(),
        stream_count,
        message_count,
    };
    assert_eq!(
        cats,
        [cat("Cart", 1, 1), cat("cart", 3, 4), cat("ledger", 2, 3)]
    );
    // Category reads agree with the counts.
    let read = read_category(
        s,
        &ns,
        CategoryRead {
            ..category("ledger")
        },
    )
    .await;
    assert_eq!(read.len(), 3);
}

/// After `close`, calls fail with `Closed`; closing twice is harmless.
pub async fn close_refuses_later_calls<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "close").await;
    write(s, &ns, "a-1").await;
    s.close().await;
    s.close().await;
    let r = append(s, &ns, "a-1", vec![msg("A", "{}")], None).await;
    assert!(matches!(r, Err(StoreError::Closed)), "{r:?}");
    let r = s.stream_version(&ns, "a-1").await;
    assert!(matches!(r, Err(StoreError::Closed)), "{r:?}");
    let r = s
        .create_namespace(NewNamespace {
            id: unique("after-close"),
            token_hash: token_hash(),
            description: String::new(),
            created_at: 0,
        })
        .await;
    assert!(matches!(r, Err(StoreError::Closed)), "{r:?}");
}
