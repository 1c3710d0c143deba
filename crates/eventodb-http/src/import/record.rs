//! One NDJSON line to an [`ImportRecord`] (PROTOCOL §6.1–6.2): `INVALID_JSON` when it is not
//! an object of the record's shape, `INVALID_RECORD` when it is but cannot be stored.

use eventodb_protocol::json::{compact, contains_nul_escape};
use eventodb_protocol::time::parse_rfc3339;
use eventodb_store::ImportRecord;
use serde::Deserialize;
use serde_json::value::RawValue;

/// Why a line was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Bad syntax, not an object, or a key of the wrong JSON type.
    InvalidJson(String),
    /// Well-formed but unusable.
    InvalidRecord(String),
}

/// The record as it appears on the line; absent keys take their zero values (as EventoDB Go
/// reads them) and are then refused by validation.
#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(default)]
    id: String,
    #[serde(default)]
    stream: String,
    #[serde(default, rename = "type")]
    message_type: String,
    #[serde(default)]
    pos: i64,
    #[serde(default)]
    gpos: i64,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
    #[serde(default, borrow)]
    meta: Option<&'a RawValue>,
    #[serde(default)]
    time: String,
}

/// Parses and validates one non-blank line.
pub(crate) fn parse(line: &[u8]) -> Result<ImportRecord, Refused> {
    let text = std::str::from_utf8(line)
        .map_err(|e| Refused::InvalidJson(format!("line is not UTF-8: {e}")))?;
    if !text.trim_start().starts_with('{') {
        return Err(Refused::InvalidJson("line is not a JSON object".into()));
    }
    let wire: Wire<'_> =
        serde_json::from_str(text).map_err(|e| Refused::InvalidJson(e.to_string()))?;
    let object = |raw: Option<&RawValue>, key: &str| -> Result<Option<String>, Refused> {
        match raw {
            None => Ok(None),
            Some(r) if r.get().starts_with('{') => Ok(Some(compact(r.get()).into_owned())),
            Some(_) => Err(Refused::InvalidJson(format!(
                "{key} must be an object or null"
            ))),
        }
    };
    let data = object(wire.data, "data")?;
    let metadata = object(wire.meta, "meta")?;
    let invalid = |m: String| Err(Refused::InvalidRecord(m));
    let id = match uuid::Uuid::parse_str(&wire.id) {
        Ok(id) => id.hyphenated().to_string(),
        Err(_) => return invalid(format!("id is not a UUID: {:?}", wire.id)),
    };
    if wire.stream.is_empty() {
        return invalid("stream must not be empty".into());
    }
    if wire.message_type.is_empty() {
        return invalid("type must not be empty".into());
    }
    // NUL is refused as on the write path: PostgreSQL can store it neither in text nor in
    // jsonb, and a backup must restore on either backend.
    let has_nul = |s: &str| s.contains('\0');
    let raw_has_nul = |raw: &Option<String>| raw.as_deref().is_some_and(contains_nul_escape);
    if has_nul(&wire.stream) || has_nul(&wire.message_type) {
        return invalid("stream and type must not contain NUL characters".into());
    }
    if raw_has_nul(&data) || raw_has_nul(&metadata) {
        return invalid("data and meta must not contain NUL characters (\\u0000)".into());
    }
    if wire.pos < 0 {
        return invalid(format!("pos must be at least 0, got {}", wire.pos));
    }
    if wire.gpos < 1 {
        return invalid(format!("gpos must be at least 1, got {}", wire.gpos));
    }
    let Some(data) = data else {
        return invalid("data must be an object, not null".into());
    };
    let Some(time) = parse_rfc3339(&wire.time) else {
        return invalid(format!("time is not RFC 3339: {:?}", wire.time));
    };
    Ok(ImportRecord {
        id,
        stream_name: wire.stream,
        message_type: wire.message_type,
        position: wire.pos,
        global_position: wire.gpos,
        data,
        metadata,
        time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"id":"0191f0c2-7777-7e00-8000-000000000001","stream":"cart-42","type":"ItemAdded","pos":0,"gpos":44,"data":{ "sku" : "A-1" },"meta":null,"time":"2025-03-02T09:15:30+01:00"}"#;

    fn with(key: &str, value: &str) -> String {
        let mut v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(GOOD).unwrap();
        v.insert(key.into(), serde_json::from_str(value).unwrap());
        serde_json::to_string(&v).unwrap()
    }

    fn kind(line: &str) -> &'static str {
        match parse(line.as_bytes()) {
            Ok(_) => "ok",
            Err(Refused::InvalidJson(_)) => "json",
            Err(Refused::InvalidRecord(_)) => "record",
        }
    }

    #[test]
    fn good_record() {
        let r = parse(GOOD.as_bytes()).unwrap();
        assert_eq!(r.data, r#"{"sku":"A-1"}"#);
        assert_eq!(r.metadata, None);
        assert_eq!(r.global_position, 44);
        assert_eq!(r.time, 1_740_903_330 * 1_000_000);
    }

    #[test]
    fn shapes_and_types() {
        assert_eq!(kind("{"), "json");
        assert_eq!(kind("[1]"), "json");
        assert_eq!(kind("42"), "json");
        assert_eq!(kind(&with("pos", "\"1\"")), "json");
        assert_eq!(kind(&with("pos", "1.5")), "json");
        assert_eq!(kind(&with("data", "[1]")), "json");
        assert_eq!(kind(&with("meta", "\"x\"")), "json");
        assert_eq!(kind(&with("id", "7")), "json");
    }

    #[test]
    fn unusable_records() {
        assert_eq!(kind(&with("id", "\"not-a-uuid\"")), "record");
        assert_eq!(kind(&with("stream", "\"\"")), "record");
        assert_eq!(kind(&with("type", "\"\"")), "record");
        assert_eq!(kind(&with("stream", r#""a\u0000-1""#)), "record");
        assert_eq!(kind(&with("type", r#""T\u0000""#)), "record");
        assert_eq!(kind(&with("data", r#"{"k":"\u0000"}"#)), "record");
        assert_eq!(kind(&with("meta", r#"{"k\u0000":1}"#)), "record");
        assert_eq!(kind(&with("pos", "-1")), "record");
        assert_eq!(kind(&with("gpos", "0")), "record");
        assert_eq!(kind(&with("time", "\"2025-03-02\"")), "record");
        assert_eq!(kind(&with("data", "null")), "record");
        assert_eq!(kind(r#"{"stream":"a"}"#), "record");
    }
}
