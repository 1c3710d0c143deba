//! Category reads (and whole-namespace reads with the empty category).

use std::sync::Arc;

use eventodb_store::{CategoryRead, Store};

use crate::support::*;

async fn fixture<S: Store>(s: &S, label: &str) -> (String, Vec<(String, i64)>) {
    let ns = new_namespace(s, label).await;
    let order = [
        "cart-1",
        "carts-1",
        "cart-2",
        "cart",
        "other-1",
        "cart-1+gift",
        "Cart-3",
        "cart-1",
    ];
    let mut written = Vec::new();
    for name in order {
        let (_, g) = write(s, &ns, name).await;
        written.push((name.to_owned(), g));
    }
    (ns, written)
}

/// A category read returns exactly the category's streams (dash-less name included, exact
/// and case-sensitive match), in global-position order.
pub async fn category_membership<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let (ns, written) = fixture(s, "catread").await;
    let cart = read_category(s, &ns, category("cart")).await;
    assert_eq!(
        streams(&cart),
        ["cart-1", "cart-2", "cart", "cart-1+gift", "cart-1"]
    );
    let expected: Vec<i64> = written
        .iter()
        .filter(|(n, _)| eventodb_protocol::stream_name::category(n) == "cart")
        .map(|(_, g)| *g)
        .collect();
    assert_eq!(globals(&cart), expected);
    assert_eq!(
        streams(&read_category(s, &ns, category("carts")).await),
        ["carts-1"]
    );
    assert_eq!(
        streams(&read_category(s, &ns, category("Cart")).await),
        ["Cart-3"]
    );
    assert!(read_category(s, &ns, category("car")).await.is_empty());
    assert!(read_category(s, &ns, category("nothing")).await.is_empty());
    // Positions are stream positions.
    assert_eq!(positions(&cart), [0, 0, 0, 0, 1]);
}

/// A category name containing `-` matches nothing (no error).
pub async fn dashed_category_matches_nothing<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let (ns, _) = fixture(s, "catdash").await;
    assert!(read_category(s, &ns, category("cart-1")).await.is_empty());
    assert!(read_category(s, &ns, category("cart-")).await.is_empty());
}

/// The empty category is every message of the namespace, in global-position order.
pub async fn empty_category_reads_everything<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let (ns, written) = fixture(s, "catall").await;
    let all = read_category(s, &ns, category("")).await;
    assert_eq!(
        all.iter()
            .map(|m| (m.stream_name.clone(), m.global_position))
            .collect::<Vec<_>>(),
        written
    );
    let from = read_category(
        s,
        &ns,
        CategoryRead {
            start: written[3].1,
            limit: Some(2),
            ..category("")
        },
    )
    .await;
    assert_eq!(globals(&from), [written[3].1, written[4].1]);
}

/// Start position is inclusive (0 and 1 both read from the beginning); limits apply.
pub async fn category_start_and_limit<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let (ns, written) = fixture(s, "catlimit").await;
    let cart: Vec<i64> = read_category(s, &ns, category("cart"))
        .await
        .iter()
        .map(|m| m.global_position)
        .collect();
    for start in [0, 1] {
        let r = read_category(
            s,
            &ns,
            CategoryRead {
                start,
                ..category("cart")
            },
        )
        .await;
        assert_eq!(globals(&r), cart);
    }
    let from = read_category(
        s,
        &ns,
        CategoryRead {
            start: cart[2],
            ..category("cart")
        },
    )
    .await;
    assert_eq!(globals(&from), cart[2..]);
    let between = read_category(
        s,
        &ns,
        CategoryRead {
            start: cart[1] + 1,
            ..category("cart")
        },
    )
    .await;
    assert_eq!(globals(&between), cart[2..]);
    let limited = read_category(
        s,
        &ns,
        CategoryRead {
            limit: Some(2),
            ..category("cart")
        },
    )
    .await;
    assert_eq!(globals(&limited), cart[..2]);
    let none = read_category(
        s,
        &ns,
        CategoryRead {
            limit: Some(0),
            ..category("cart")
        },
    )
    .await;
    assert!(none.is_empty());
    let beyond = written.last().map_or(0, |w| w.1) + 1;
    let past = read_category(
        s,
        &ns,
        CategoryRead {
            start: beyond,
            ..category("cart")
        },
    )
    .await;
    assert!(past.is_empty());
}
