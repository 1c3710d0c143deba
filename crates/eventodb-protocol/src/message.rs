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

/// A stored message borrowed from wherever it lives (a database row), so a page can be encoded
/// without copying each field into a [`Message`] first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageRef<'a> {
    /// Canonical lowercase hyphenated UUID.
    pub id: &'a str,
    /// The stream the message belongs to.
    pub stream_name: &'a str,
    /// Message type.
    pub message_type: &'a str,
    /// Position within its stream, from 0.
    pub position: i64,
    /// Position within the namespace, from 1.
    pub global_position: i64,
    /// Compact JSON text of the payload.
    pub data: &'a str,
    /// Compact JSON text of the metadata, or `None` for null.
    pub metadata: Option<&'a str>,
    /// Write time, microseconds since the epoch (UTC).
    pub time: Micros,
}

impl Message {
    /// The message as a [`MessageRef`].
    pub fn as_ref(&self) -> MessageRef<'_> {
        MessageRef {
            id: &self.id,
            stream_name: &self.stream_name,
            message_type: &self.message_type,
            position: self.position,
            global_position: self.global_position,
            data: &self.data,
            metadata: self.metadata.as_deref(),
            time: self.time,
        }
    }

    /// Appends `[id, type, position, globalPosition, data, metadata, time]`.
    pub fn write_stream_array(&self, out: &mut String) {
        self.as_ref().write_stream_array(out);
    }

    /// Appends `[id, streamName, type, position, globalPosition, data, metadata, time]`.
    pub fn write_category_array(&self, out: &mut String) {
        self.as_ref().write_category_array(out);
    }
}

impl MessageRef<'_> {
    /// Appends `[id, type, position, globalPosition, data, metadata, time]`.
    pub fn write_stream_array(&self, out: &mut String) {
        out.push('[');
        write_string(out, self.id);
        out.push(',');
        self.write_tail(out);
    }

    /// Appends `[id, streamName, type, position, globalPosition, data, metadata, time]`.
    pub fn write_category_array(&self, out: &mut String) {
        out.push('[');
        write_string(out, self.id);
        out.push(',');
        write_string(out, self.stream_name);
        out.push(',');
        self.write_tail(out);
    }

    /// Bytes this message is likely to take encoded (for reserving buffer space).
    fn size_hint(&self) -> usize {
        120 + self.stream_name.len() + self.data.len() + self.metadata.map_or(4, str::len)
    }

    fn write_tail(&self, out: &mut String) {
        write_string(out, self.message_type);
        out.push(',');
        out.push_str(itoa::Buffer::new().format(self.position));
        out.push(',');
        out.push_str(itoa::Buffer::new().format(self.global_position));
        out.push(',');
        out.push_str(self.data);
        out.push(',');
        out.push_str(self.metadata.unwrap_or("null"));
        out.push_str(",\"");
        write_rfc3339(out, self.time);
        out.push_str("\"]");
    }
}

/// Encodes a page of messages as a JSON array, one message at a time, straight into the
/// response text: 7-element arrays for stream reads, 8-element ones for category reads.
#[derive(Debug)]
pub struct PageEncoder {
    out: String,
    category: bool,
    count: usize,
}

impl PageEncoder {
    /// An empty page; `category` chooses the 8-element arrays.
    pub fn new(category: bool) -> Self {
        let mut out = String::with_capacity(1024);
        out.push('[');
        Self {
            out,
            category,
            count: 0,
        }
    }

    /// Appends one message.
    pub fn push(&mut self, message: MessageRef<'_>) {
        if self.count > 0 {
            self.out.push(',');
        }
        self.out.reserve(message.size_hint());
        if self.category {
            message.write_category_array(&mut self.out);
        } else {
            message.write_stream_array(&mut self.out);
        }
        self.count += 1;
    }

    /// The finished JSON array.
    pub fn finish(mut self) -> String {
        self.out.push(']');
        self.out
    }
}

/// Encodes a page of messages as a JSON array, 7-element (`category == false`) or 8-element.
pub fn encode_page(messages: &[Message], category: bool) -> String {
    let mut page = PageEncoder::new(category);
    for m in messages {
        page.push(m.as_ref());
    }
    page.finish()
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
