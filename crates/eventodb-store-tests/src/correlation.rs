//! The correlation filter of category reads (PROTOCOL §3.5).

use std::sync::Arc;

use eventodb_store::{CategoryRead, Store};

use crate::support::*;

/// `workflow` matches correlation streams `workflow-123` and `workflow`, not `workflows-1`,
/// other categories, non-string values, other keys or missing metadata.
pub async fn correlation_filter<S: Store>(store: &Arc<S>) {
    let s = &**store;
    let ns = new_namespace(s, "correlation").await;
    let cases = [
        (Some(r#"{"correlationStreamName":"workflow-123"}"#), true),
        (Some(r#"{"correlationStreamName":"workflow"}"#), true),
        (Some(r#"{"correlationStreamName":"workflows-1"}"#), false),
        (Some(r#"{"correlationStreamName":"other-1"}"#), false),
        (Some(r#"{"correlationStreamName":"Workflow-1"}"#), false),
        (Some(r#"{"correlationStreamName":7}"#), false),
        (Some(r#"{"other":"workflow-1"}"#), false),
        (
            Some(r#"{"x":1,"correlationStreamName":"workflow-9+a","y":[]}"#),
            true,
        ),
        (None, false),
    ];
    let mut expected = Vec::new();
    for (i, (meta, matches)) in cases.iter().enumerate() {
        let m = match meta {
            Some(meta) => msg_meta("Event", "{}", meta),
            None => msg("Event", "{}"),
        };
        let (_, g) = write_msg(s, &ns, &format!("task-{i}"), m).await;
        // Same correlation in another category, to check the filters combine.
        if let Some(meta) = meta {
            write_msg(s, &ns, &format!("chore-{i}"), msg_meta("Event", "{}", meta)).await;
        }
        if *matches {
            expected.push(g);
        }
    }
    let read = |correlation: &str| CategoryRead {
        correlation: Some(correlation.to_owned()),
        ..category("task")
    };
    let found = read_category(s, &ns, read("workflow")).await;
    assert_eq!(globals(&found), expected);
    assert!(found.iter().all(|m| m.stream_name.starts_with("task-")));
    assert!(read_category(s, &ns, read("workflows")).await.len() == 1);
    assert!(read_category(s, &ns, read("work")).await.is_empty());
    assert!(read_category(s, &ns, read("workflow-123")).await.is_empty());
    // With the empty category: both categories.
    let everywhere = read_category(
        s,
        &ns,
        CategoryRead {
            correlation: Some("workflow".into()),
            ..category("")
        },
    )
    .await;
    assert_eq!(everywhere.len(), expected.len() * 2);
    // The limit applies after filtering.
    let limited = read_category(
        s,
        &ns,
        CategoryRead {
            limit: Some(2),
            ..read("workflow")
        },
    )
    .await;
    assert_eq!(globals(&limited), expected[..2]);
    let from = read_category(
        s,
        &ns,
        CategoryRead {
            start: expected[1],
            ..read("workflow")
        },
    )
    .await;
    assert_eq!(globals(&from), expected[1..]);
}
