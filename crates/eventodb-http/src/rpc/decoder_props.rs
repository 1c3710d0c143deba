//! Property tests of the RPC decoder: whatever the body, `handle` answers a result or a protocol
//! error (never a panic), and malformed envelopes are always `INVALID_REQUEST`.

use std::sync::Arc;

use eventodb_protocol::ErrorCode;
use eventodb_store_sqlite::{SqliteConfig, SqliteStore};
use proptest::prelude::*;

use crate::app::{App, ServerConfig};
use crate::auth::Caller;
use crate::subscribe::Hub;

fn app() -> (tokio::runtime::Runtime, App<SqliteStore>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let store = SqliteStore::open(SqliteConfig::memory()).unwrap();
    runtime
        .block_on(eventodb_store::Store::create_namespace(
            &store,
            eventodb_store::NewNamespace {
                id: "default".into(),
                token_hash: "0".repeat(64),
                description: String::new(),
                created_at: 0,
            },
        ))
        .unwrap();
    (
        runtime,
        App::new(store, ServerConfig::new(), Arc::new(Hub::new())),
    )
}

/// Runs the decoder and method on a body.
fn call(
    runtime: &tokio::runtime::Runtime,
    app: &App<SqliteStore>,
    body: &[u8],
) -> Result<String, crate::error::ApiError> {
    let mut called = None;
    runtime.block_on(super::handle(app, &caller(), body, &mut called))
}

fn caller() -> Caller {
    Caller {
        namespace: "default".into(),
        admin: true,
    }
}

const METHODS: &[&str] = &[
    "stream.write",
    "stream.get",
    "stream.last",
    "stream.version",
    "category.get",
    "ns.create",
    "ns.delete",
    "ns.list",
    "ns.info",
    "ns.streams",
    "ns.categories",
    "ns.rotateToken",
    "sys.version",
    "sys.health",
    "no.such",
];

fn arg() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        "\\PC{0,10}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        let keys = prop_oneof![
            Just("type".to_owned()),
            Just("data".to_owned()),
            Just("metadata".to_owned()),
            Just("position".to_owned()),
            Just("globalPosition".to_owned()),
            Just("batchSize".to_owned()),
            Just("expectedVersion".to_owned()),
            Just("consumerGroup".to_owned()),
            Just("member".to_owned()),
            Just("size".to_owned()),
            Just("correlation".to_owned()),
            Just("id".to_owned()),
            Just("limit".to_owned()),
            "\\PC{0,6}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(keys, inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let (runtime, app) = app();
        let outcome = call(&runtime, &app, &body);
        if let Err(err) = outcome {
            prop_assert!(ErrorCode::ALL.contains(&err.code));
        }
    }

    #[test]
    fn malformed_envelopes_are_invalid_requests(value in arg()) {
        // Anything that is not an array starting with a string.
        let is_envelope = value
            .as_array()
            .is_some_and(|a| a.first().is_some_and(serde_json::Value::is_string));
        prop_assume!(!is_envelope);
        let (runtime, app) = app();
        let body = value.to_string();
        let err = call(&runtime, &app, body.as_bytes()).unwrap_err();
        prop_assert_eq!(err.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn arbitrary_calls_answer_a_result_or_a_protocol_error(
        method in proptest::sample::select(METHODS),
        args in proptest::collection::vec(arg(), 0..4),
    ) {
        let (runtime, app) = app();
        let mut envelope = vec![serde_json::Value::from(method)];
        envelope.extend(args);
        let body = serde_json::Value::Array(envelope).to_string();
        match call(&runtime, &app, body.as_bytes()) {
            Ok(result) => {
                prop_assert!(serde_json::from_str::<serde_json::Value>(&result).is_ok(), "{}", result);
            }
            Err(err) => {
                prop_assert!(err.status >= 400 && err.status < 500, "{:?} for {}", err, body);
            }
        }
    }
}
