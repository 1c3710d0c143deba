//! JSON-RPC request bodies the scenarios send, and the bits of answers they read back.

use bytes::Bytes;
use serde_json::{json, Value};

/// `stream.write` of a small `Bench` message (`n`, plus `pad` bytes of padding), with
/// `expectedVersion` when given.
pub fn write(stream: &str, n: u64, pad: &str, expected_version: Option<i64>) -> Bytes {
    let mut data = json!({ "n": n });
    if !pad.is_empty() {
        data["pad"] = Value::from(pad);
    }
    let message = json!({ "type": "Bench", "data": data });
    let call = match expected_version {
        Some(v) => json!(["stream.write", stream, message, { "expectedVersion": v }]),
        None => json!(["stream.write", stream, message]),
    };
    Bytes::from(call.to_string())
}

/// `stream.get` from position 0, at most `batch` messages.
pub fn stream_get(stream: &str, batch: u32) -> Bytes {
    Bytes::from(json!(["stream.get", stream, { "position": 0, "batchSize": batch }]).to_string())
}

/// `category.get` from a global position, at most `batch` messages, optionally as member 0
/// of a consumer group of `group` members.
pub fn category_get(category: &str, position: i64, batch: u32, group: Option<u32>) -> Bytes {
    let mut options = json!({ "position": position, "batchSize": batch });
    if let Some(size) = group {
        options["consumerGroup"] = json!({ "member": 0, "size": size });
    }
    Bytes::from(json!(["category.get", category, options]).to_string())
}

/// `(position, globalPosition)` of a `stream.write` answer.
pub fn write_result(body: &[u8]) -> Option<(i64, i64)> {
    let value: Value = serde_json::from_slice(body).ok()?;
    Some((
        value.get("position")?.as_i64()?,
        value.get("globalPosition")?.as_i64()?,
    ))
}

/// `details.actual` of a `STREAM_VERSION_CONFLICT` body (`null` actual means no stream: −1).
pub fn conflict_actual(body: &[u8]) -> Option<i64> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let actual = value.get("error")?.get("details")?.get("actual")?;
    Some(actual.as_i64().unwrap_or(-1))
}

/// `n` bytes of padding.
pub fn padding(n: usize) -> String {
    "x".repeat(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_protocol_calls() {
        let b = write("c-1", 3, "", Some(-1));
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v[0], "stream.write");
        assert_eq!(v[3]["expectedVersion"], -1);
        let b = category_get("c", 5, 100, Some(4));
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v[2]["consumerGroup"]["size"], 4);
        assert_eq!(
            write_result(br#"{"position":0,"globalPosition":41}"#),
            Some((0, 41))
        );
        assert_eq!(
            conflict_actual(br#"{"error":{"code":"X","details":{"expected":1,"actual":4}}}"#),
            Some(4)
        );
    }
}
