//! Hot paths of the protocol layer: the consumer-group hash, encoding a page of 100 messages,
//! making payload text compact.

// criterion_group! generates undocumented functions, and a benchmark that cannot set up
// its fixture has nothing better to do than stop.
#![allow(missing_docs, clippy::expect_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use eventodb_protocol::consumer_group::{group_hash, ConsumerGroup};
use eventodb_protocol::json::compact;
use eventodb_protocol::message::encode_page;
use eventodb_protocol::time::write_rfc3339;
use eventodb_protocol::Message;

fn page(n: usize) -> Vec<Message> {
    (0..n)
        .map(|i| Message {
            id: format!("0191f0c2-8d1e-7b3a-9c44-{i:012x}"),
            stream_name: format!("cart-{}", i % 10),
            message_type: "ItemAdded".into(),
            position: i as i64,
            global_position: i as i64 + 1,
            data: r#"{"sku":"B-12","qty":2,"price":1999,"note":"gift wrap, \"red\""}"#.into(),
            metadata: Some(r#"{"correlationStreamName":"checkout-88"}"#.into()),
            time: 1_740_903_331_512_345 + i as i64,
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    c.bench_function("group_hash of a stream name", |b| {
        b.iter(|| group_hash(black_box("account-123+retry")))
    });
    let group = ConsumerGroup::new(1, 4);
    c.bench_function("consumer group membership", |b| {
        b.iter(|| group.map(|g| g.contains(black_box("account-123"))))
    });
    let messages = page(100);
    c.bench_function("encode a page of 100 (stream arrays)", |b| {
        b.iter(|| encode_page(black_box(&messages), false))
    });
    c.bench_function("encode a page of 100 (category arrays)", |b| {
        b.iter(|| encode_page(black_box(&messages), true))
    });
    let spaced =
        r#"{ "sku" : "B-12", "qty" : 2, "tags" : [ "a", "b" ], "nested" : { "x" : 1.5 } }"#;
    c.bench_function("compact a payload with white space", |b| {
        b.iter(|| compact(black_box(spaced)).len())
    });
    c.bench_function("format 100 message times", |b| {
        b.iter(|| {
            let mut out = String::with_capacity(2800);
            for i in 0..100 {
                write_rfc3339(&mut out, black_box(1_740_903_331_512_345 + i * 7_000_013));
            }
            out
        })
    });
    c.bench_function("compact an already compact payload", |b| {
        b.iter(|| compact(black_box(r#"{"sku":"B-12","qty":2}"#)).len())
    });
}

criterion_group!(protocol, benches);
criterion_main!(protocol);
