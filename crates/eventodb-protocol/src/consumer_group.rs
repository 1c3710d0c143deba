//! Consumer-group membership (PROTOCOL §4): Message DB's `hash_64` of the cardinal id.

use md5::{Digest, Md5};

use crate::stream_name::cardinal_id;

/// Message DB's `hash_64`: the first 8 bytes of MD5 over the UTF-8 text, read big-endian and
/// reinterpreted as a signed 64-bit integer.
pub fn hash_64(text: &str) -> i64 {
    let digest = Md5::digest(text.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// The non-negative value a stream is grouped by: `|hash_64(cardinal id)|`.
///
/// `None` when the stream has no cardinal id (no `-`: it belongs to no member), and for the
/// single hash value `i64::MIN`, whose absolute value PostgreSQL cannot represent; both
/// backends then place the stream in no member (PROTOCOL §4 allows this). Backends store this
/// value with each message so a member's read is an indexed comparison, not a per-row hash.
pub fn group_hash(stream_name: &str) -> Option<i64> {
    let id = cardinal_id(stream_name)?;
    hash_64(id).checked_abs()
}

/// A consumer group member: `member` of `size`, with `0 <= member < size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerGroup {
    member: u64,
    size: u64,
}

impl ConsumerGroup {
    /// A validated group member; `None` unless `size > 0` and `0 <= member < size`.
    pub fn new(member: i64, size: i64) -> Option<Self> {
        if size <= 0 || member < 0 || member >= size {
            return None;
        }
        Some(Self {
            member: member as u64,
            size: size as u64,
        })
    }

    /// The member index.
    pub fn member(&self) -> u64 {
        self.member
    }

    /// The group size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// True when a message with this stored [`group_hash`] belongs to this member.
    pub fn contains_hash(&self, group_hash: Option<i64>) -> bool {
        match group_hash {
            Some(h) => (h as u64) % self.size == self.member,
            None => false,
        }
    }

    /// True when messages of `stream_name` belong to this member.
    pub fn contains(&self, stream_name: &str) -> bool {
        self.contains_hash(group_hash(stream_name))
    }
}

#[cfg(test)]
mod tests;
