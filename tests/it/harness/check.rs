//! Protocol cases as data: `check(server, token, request, status, expected)`.

use serde_json::Value;

use super::server::TestServer;

/// What a protocol case expects in the body.
#[derive(Debug, Clone)]
pub(crate) enum Expected {
    /// A success whose bare JSON result equals this value.
    Result(Value),
    /// A JSON error with this code.
    Code(&'static str),
}

pub(crate) fn ok(result: Value) -> Expected {
    Expected::Result(result)
}

pub(crate) fn code(code: &'static str) -> Expected {
    Expected::Code(code)
}

/// Sends `request` to `/rpc` (with `Authorization: Bearer token` when given), asserts the status,
/// the JSON content type and the expected result or error code. Returns the response body.
#[track_caller]
pub(crate) fn check(
    server: &TestServer,
    token: Option<&str>,
    request: Value,
    status: u16,
    expected: Expected,
) -> Value {
    let response = match token {
        Some(token) => server.rpc(token, &request),
        None => server.rpc_anon(&request),
    };
    let context = || {
        format!(
            "request {request}\nresponse {} {}",
            response.status,
            response.text()
        )
    };
    assert_eq!(response.status, status, "wrong status\n{}", context());
    response.assert_json_content_type();
    let body = response.json();
    match expected {
        Expected::Result(result) => {
            assert_eq!(body, result, "wrong result\n{}", context());
        }
        Expected::Code(code) => {
            assert_eq!(
                body["error"]["code"].as_str(),
                Some(code),
                "wrong error code\n{}",
                context()
            );
            assert!(
                body["error"]["message"].is_string(),
                "error.message must be a string\n{}",
                context()
            );
            let keys: Vec<&String> = body["error"]
                .as_object()
                .map(|o| o.keys().collect())
                .unwrap_or_default();
            assert!(
                keys.iter()
                    .all(|k| ["code", "message", "details"].contains(&k.as_str())),
                "unexpected keys in the error object\n{}",
                context()
            );
        }
    }
    body
}

/// Writes a message `{type, data}` and returns `(position, globalPosition)`.
#[track_caller]
pub(crate) fn write(
    server: &TestServer,
    token: &str,
    stream: &str,
    kind: &str,
    data: Value,
) -> (i64, i64) {
    let result = server.call(
        token,
        serde_json::json!(["stream.write", stream, {"type": kind, "data": data}]),
    );
    positions(&result)
}

/// `(position, globalPosition)` of a `stream.write` result, asserting its exact shape.
#[track_caller]
pub(crate) fn positions(result: &Value) -> (i64, i64) {
    let keys: Vec<&String> = result
        .as_object()
        .unwrap_or_else(|| panic!("stream.write result is not an object: {result}"))
        .keys()
        .collect();
    assert_eq!(
        keys.len(),
        2,
        "stream.write result has exactly two keys: {result}"
    );
    let position = result["position"]
        .as_i64()
        .unwrap_or_else(|| panic!("position is not an integer: {result}"));
    let global = result["globalPosition"]
        .as_i64()
        .unwrap_or_else(|| panic!("globalPosition is not an integer: {result}"));
    (position, global)
}
