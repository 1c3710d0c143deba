//! Small JSON helpers for payloads kept as text.
//!
//! `data` and `metadata` are stored as the client's own JSON text (made compact), never
//! re-encoded through floating point, so numbers round-trip exactly (PROTOCOL §1.7).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::stream_name::category;

/// Removes insignificant white space from valid JSON text; borrows when there is none.
///
/// Works on bytes: every byte it looks at (quote, backslash, white space) is ASCII, and the
/// bytes of a multi-byte UTF-8 character are all >= 0x80, so removing white space keeps the
/// text valid UTF-8. PostgreSQL's `jsonb` text always has spaces, so this runs for every
/// message read there.
pub fn compact(raw: &str) -> Cow<'_, str> {
    let bytes = raw.as_bytes();
    let Some(first) = first_insignificant_space(bytes, 0) else {
        return Cow::Borrowed(raw);
    };
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(&bytes[..first]);
    let mut in_string = false;
    let mut escaped = false;
    for &b in &bytes[first..] {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if is_space(b) {
            continue;
        }
        out.push(b);
    }
    match String::from_utf8(out) {
        Ok(text) => Cow::Owned(text),
        // Unreachable (see above); the input is still correct JSON.
        Err(_) => Cow::Borrowed(raw),
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

/// The index of the first white-space byte outside a string at or after `from` (which must
/// not lie inside a string).
fn first_insignificant_space(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
            }
            b if is_space(b) => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// True when JSON text holds the escape `\u0000` (a NUL character) in a string or key.
/// PostgreSQL can store NUL neither in `text` nor in `jsonb`, so the server refuses it on every
/// backend to keep them interchangeable.
pub fn contains_nul_escape(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(found) = text[from..].find("\\u0000") {
        let at = from + found;
        // The escape is real only when preceded by an even number of backslashes.
        let backslashes = bytes[..at]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        if backslashes % 2 == 0 {
            return true;
        }
        from = at + 1;
    }
    false
}

/// True when the raw JSON value is an object.
pub fn is_object(raw: &RawValue) -> bool {
    raw.get().starts_with('{')
}

/// True when the raw JSON value is `null`.
pub fn is_null(raw: &RawValue) -> bool {
    raw.get() == "null"
}

/// The category of `metadata.correlationStreamName`, when metadata is an object holding that
/// key as a string (PROTOCOL §3.5). Anything else correlates with nothing.
pub fn correlation_category(metadata: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Meta {
        #[serde(rename = "correlationStreamName", default)]
        correlation: Option<serde_json::Value>,
    }
    let meta: Meta = serde_json::from_str(metadata).ok()?;
    match meta.correlation? {
        serde_json::Value::String(name) => Some(category(&name).to_owned()),
        _ => None,
    }
}

/// True when two JSON texts denote equal values: key order and white space are ignored,
/// numbers are compared by their exact text (so `1` and `1.0` differ, and integers beyond
/// 2^64 are not rounded through floating point).
pub fn same_value(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (
        serde_json::from_str::<&RawValue>(a),
        serde_json::from_str::<&RawValue>(b),
    ) {
        (Ok(x), Ok(y)) => same_raw(x, y),
        _ => false,
    }
}

fn same_raw(a: &RawValue, b: &RawValue) -> bool {
    use std::collections::BTreeMap;
    let (ta, tb) = (a.get(), b.get());
    match (ta.as_bytes().first(), tb.as_bytes().first()) {
        (Some(b'{'), Some(b'{')) => {
            let (Ok(x), Ok(y)) = (
                serde_json::from_str::<BTreeMap<String, &RawValue>>(ta),
                serde_json::from_str::<BTreeMap<String, &RawValue>>(tb),
            ) else {
                return false;
            };
            x.len() == y.len()
                && x.iter()
                    .zip(&y)
                    .all(|((ka, va), (kb, vb))| ka == kb && same_raw(va, vb))
        }
        (Some(b'['), Some(b'[')) => {
            let (Ok(x), Ok(y)) = (
                serde_json::from_str::<Vec<&RawValue>>(ta),
                serde_json::from_str::<Vec<&RawValue>>(tb),
            ) else {
                return false;
            };
            x.len() == y.len() && x.iter().zip(&y).all(|(va, vb)| same_raw(va, vb))
        }
        (Some(b'"'), Some(b'"')) => {
            serde_json::from_str::<String>(ta).ok() == serde_json::from_str::<String>(tb).ok()
        }
        // Numbers and literals: the exact token.
        _ => ta == tb,
    }
}

/// For each byte, the escape it needs inside a JSON string: `0` none, `b'u'` the form
/// `\u00XX`, otherwise the letter after the backslash.
static ESCAPES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[b'\n' as usize] = b'n';
    table[b'\r' as usize] = b'r';
    table[b'\t' as usize] = b't';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Appends `s` as a JSON string literal.
pub fn write_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = ESCAPES[usize::from(b)];
        if escape == 0 {
            continue;
        }
        // Escaped bytes are ASCII, so `start..i` is a run of whole characters.
        out.push_str(&s[start..i]);
        out.push('\\');
        if escape == b'u' {
            out.push_str("u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        } else {
            out.push(char::from(escape));
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_keeps_strings_intact() {
        assert_eq!(compact(r#"{"a":1}"#), Cow::Borrowed(r#"{"a":1}"#));
        assert_eq!(
            compact("{ \"a b\" : [ 1 , \"x \\\" y\" ],\n\t\"c\": 12345678901234567890 }"),
            r#"{"a b":[1,"x \" y"],"c":12345678901234567890}"#
        );
        // PostgreSQL's jsonb text; strings with escaped quotes and backslashes before a quote;
        // multi-byte characters next to the cuts.
        assert_eq!(
            compact(r#"{"n": 1, "s": "a, b", "é": ["ü", {"k": "\\"}], "q": "\\\" x"}"#),
            r#"{"n":1,"s":"a, b","é":["ü",{"k":"\\"}],"q":"\\\" x"}"#
        );
        assert_eq!(compact(" [ ] "), "[]");
        assert_eq!(compact("\"é \" "), "\"é \"");
        for text in [r#"{"a": [1, 2.5, "x y", null, true]}"#, r#""é \\""#] {
            let parsed: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(compact(text), parsed.to_string());
        }
    }

    #[test]
    fn correlation_takes_the_category() {
        let meta = r#"{"correlationStreamName":"workflow-123"}"#;
        assert_eq!(correlation_category(meta).as_deref(), Some("workflow"));
        assert_eq!(
            correlation_category(r#"{"correlationStreamName":"workflow"}"#).as_deref(),
            Some("workflow")
        );
        assert_eq!(correlation_category(r#"{"correlationStreamName":7}"#), None);
        assert_eq!(correlation_category(r#"{"other":"x-1"}"#), None);
        assert_eq!(correlation_category("null"), None);
    }

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        write_string(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(out, r#""a\"b\\c\nd\u0001é""#);
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, "a\"b\\c\nd\u{1}é");
        for text in ["", "plain", "\u{7f}\u{1f}\t\r", "ü\"€\\"] {
            let mut out = String::new();
            write_string(&mut out, text);
            assert_eq!(out, serde_json::to_string(text).unwrap());
        }
    }

    #[test]
    fn nul_escapes_are_found_only_when_real() {
        assert!(contains_nul_escape(r#"{"k":"a\u0000b"}"#));
        assert!(contains_nul_escape(r#"{"k\u0000":1}"#));
        assert!(!contains_nul_escape(r#"{"k":"a\\u0000b"}"#));
        assert!(contains_nul_escape(r#"{"k":"a\\\u0000b"}"#));
        assert!(!contains_nul_escape(r#"{"k":"u0000"}"#));
    }

    #[test]
    fn same_value_ignores_key_order() {
        assert!(same_value(r#"{"a":1,"b":2}"#, r#"{"b":2,"a":1}"#));
        assert!(!same_value(r#"{"a":1}"#, r#"{"a":1.0}"#));
        assert!(same_value(
            r#"{"a":[1,{"b":"\u0041"}]}"#,
            r#"{ "a" : [1, {"b":"A"}] }"#
        ));
        assert!(!same_value(
            r#"{"n":123456789012345678901}"#,
            r#"{"n":123456789012345678902}"#
        ));
        assert!(!same_value(r#"{"a":1}"#, r#"{"a":1,"b":2}"#));
    }
}
