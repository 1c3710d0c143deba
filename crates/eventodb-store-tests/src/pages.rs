//! Reads answered as encoded JSON pages (`read_stream_page`, `read_category_page`) say
//! exactly what encoding the plain reads says, whatever shortcut a backend takes.

use std::sync::Arc;

use eventodb_protocol::consumer_group::ConsumerGroup;
use eventodb_protocol::message::encode_page;
use eventodb_store::{CategoryRead, Store, StreamRead, StreamStart};

use crate::support::*;

/// Every kind of read gives the same page both ways: metadata null and present, escapes and
/// non-ASCII text, limits (including 0), global-position starts, correlation and consumer
/// group filters, and empty results.
pub async fn pages_match_the_messages<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "pages").await;
    write_msg(
        s,
        &ns,
        "page-1",
        msg("Opened", r#"{"note":"a \"quoted\" é ✓"}"#),
    )
    .await;
    write_msg(
        s,
        &ns,
        "page-2",
        msg_meta(
            "Tagged",
            r#"{"n":1}"#,
            r#"{"correlationStreamName":"other-9"}"#,
        ),
    )
    .await;
    write_msg(
        s,
        &ns,
        "page-1",
        msg("Line\nBreak", r#"{"list":[1,2.5,null]}"#),
    )
    .await;
    write(s, &ns, "elsewhere-1").await;

    let stream_reads = [
        ("page-1", StreamStart::Position(0), None),
        ("page-1", StreamStart::Position(1), Some(1)),
        ("page-1", StreamStart::GlobalPosition(2), None),
        ("page-1", StreamStart::Position(0), Some(0)),
        ("missing-1", StreamStart::Position(0), None),
    ];
    for (stream, start, limit) in stream_reads {
        let read = StreamRead {
            stream_name: stream.to_owned(),
            start,
            limit,
        };
        let messages = s.read_stream(&ns, read.clone()).await.expect("read stream");
        let page = s
            .read_stream_page(&ns, read)
            .await
            .expect("read stream page");
        assert_eq!(
            page,
            encode_page(&messages, false),
            "{stream} {start:?} {limit:?}"
        );
    }

    let category_reads = [
        category("page"),
        category(""),
        CategoryRead {
            start: 3,
            limit: Some(1),
            ..category("page")
        },
        CategoryRead {
            correlation: Some("other".into()),
            ..category("page")
        },
        CategoryRead {
            consumer_group: ConsumerGroup::new(1, 2),
            ..category("page")
        },
        CategoryRead {
            limit: Some(0),
            ..category("page")
        },
        category("nothing"),
    ];
    for read in category_reads {
        let messages = s
            .read_category(&ns, read.clone())
            .await
            .expect("read category");
        let page = s
            .read_category_page(&ns, read.clone())
            .await
            .expect("read category page");
        assert_eq!(page, encode_page(&messages, true), "{read:?}");
    }
    // The pages are not trivially empty.
    let all = s
        .read_category_page(&ns, category(""))
        .await
        .expect("read all");
    assert!(
        all.starts_with("[[") && all.contains("elsewhere-1"),
        "{all}"
    );
}
