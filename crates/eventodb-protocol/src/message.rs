//! Messages: what a writer supplies and what a reader gets back, and their wire encoding as
//! positional arrays (PROTOCOL §1.3): 7 elements for stream reads, 8 for category reads.

use crate::json::write_string;
use crate::time::{write_rfc3339, Micros};

/// A message to append, already validated: the id is a canonical lowercase UUID, `data` is the
/// compact JSON text of an object and `metadata` the compact text of an object, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// Canonical lowercase hyphenated UUID.
    pub id: String,
    /// Message type, non-empty.
    pub message_type: String,
    /// Compact JSON text of the payload object.
    pub data: String,
    /// Compact JSON text of the metadata object, or `None` for null.
    pub metadata: Option<String>,
}

/// A stored message as readers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Canonical lowercase hyphenated UUID.
    pub id: String,
    /// The stream the message belongs to.
    pub stream_name: String,
    /// Message type.
    pub message_type: String,
    /// Position within its stream, from 0.
    pub position: i64,
    /// Position within the namespace, from 1.
    pub global_position: i64,
    /// Compact JSON text of the payload.
    pub data: String,
    /// Compact JSON text of the metadata, or `None` for null.
    pub metadata: Option<String>,
    /// Write time, microseconds since the epoch (UTC).
    pub time: Micros,
}

impl Message {
    /// Appends `[id, type, position, globalPosition, data, metadata, time]`.
    pub fn write_stream_array(&self, out: &mut String) {
        out.push('[');
        write_string(out, &self.id);
        out.push(',');
        self.write_tail(out);
    }

    /// Appends `[id, streamName, type, position, globalPosition, data, metadata, time]`.
    pub fn write_category_array(&self, out: &mut String) {
        out.push('[');
        write_string(out, &self.id);
        out.push(',');
        write_string(out, &self.stream_name);
        out.push(',');
        self.write_tail(out);
    }

    fn write_tail(&self, out: &mut String) {
        use std::fmt::Write as _;
        write_string(out, &self.message_type);
        let _ = write!(out, ",{},{},", self.position, self.global_position);
        out.push_str(&self.data);
        out.push(',');
        out.push_str(self.metadata.as_deref().unwrap_or("null"));
        out.push_str(",\"");
        write_rfc3339(out, self.time);
        out.push_str("\"]");
    }
}

/// Encodes a page of messages as a JSON array, 7-element (`category == false`) or 8-element.
pub fn encode_page(messages: &[Message], category: bool) -> String {
    let estimate: usize = messages
        .iter()
        .map(|m| 120 + m.data.len() + m.metadata.as_ref().map_or(4, String::len))
        .sum();
    let mut out = String::with_capacity(2 + estimate);
    out.push('[');
    for (i, m) in messages.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if category {
            m.write_category_array(&mut out);
        } else {
            m.write_stream_array(&mut out);
        }
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Message {
        Message {
            id: "0191f0c2-8d1e-7b3a-9c44-5a0e6b1d2f10".into(),
            stream_name: "cart-7f3a".into(),
            message_type: "ItemRemoved".into(),
            position: 1,
            global_position: 57,
            data: r#"{"sku":"B-12","n":12345678901234567890}"#.into(),
            metadata: None,
            time: 1_740_903_331_500_000,
        }
    }

    #[test]
    fn stream_array_has_seven_elements() {
        let mut out = String::new();
        sample().write_stream_array(&mut out);
        assert_eq!(
            out,
            r#"["0191f0c2-8d1e-7b3a-9c44-5a0e6b1d2f10","ItemRemoved",1,57,{"sku":"B-12","n":12345678901234567890},null,"2025-03-02T08:15:31.5Z"]"#
        );
        let v: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        assert_eq!(v.len(), 7);
    }

    #[test]
    fn category_array_has_eight_elements() {
        let page = encode_page(&[sample(), sample()], true);
        let v: Vec<Vec<serde_json::Value>> = serde_json::from_str(&page).unwrap();
        assert_eq!(v.len(), 2);
        assert!(v.iter().all(|m| m.len() == 8));
        assert_eq!(v[0][1], "cart-7f3a");
        assert_eq!(encode_page(&[], false), "[]");
    }
}
