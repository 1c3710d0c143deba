//! Bulk import (PROTOCOL §6): records carrying their own positions and time, written in
//! batches, and the checks every backend applies to a batch before it touches storage.

use std::collections::HashSet;

use eventodb_protocol::time::Micros;

use crate::error::StoreError;

/// One message as an import gives it: every field, positions and time included, is stored as
/// given (no expected-version logic, no pokes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecord {
    /// The message id (a canonical UUID).
    pub id: String,
    /// The full stream name (non-empty).
    pub stream_name: String,
    /// The message type (non-empty).
    pub message_type: String,
    /// Position within the stream (≥ 0).
    pub position: i64,
    /// Global position within the namespace (≥ 1), kept exactly.
    pub global_position: i64,
    /// The payload as compact JSON text (an object).
    pub data: String,
    /// The metadata as compact JSON text, or `None`.
    pub metadata: Option<String>,
    /// The message time.
    pub time: Micros,
}

/// Refuses a batch whose records collide among themselves: a global position, a message id,
/// or a stream position given twice. The error names the later record (its index).
pub fn check_batch(records: &[ImportRecord]) -> Result<(), StoreError> {
    let mut positions = HashSet::with_capacity(records.len());
    let mut ids = HashSet::with_capacity(records.len());
    let mut stream_positions = HashSet::with_capacity(records.len());
    for (index, r) in records.iter().enumerate() {
        if !positions.insert(r.global_position) {
            return Err(StoreError::PositionExists {
                global_position: r.global_position,
                index: Some(index),
            });
        }
        if !ids.insert(r.id.as_str()) {
            return Err(StoreError::ImportConflict {
                index: Some(index),
                message: format!("message id already exists: {}", r.id),
            });
        }
        if !stream_positions.insert((r.stream_name.as_str(), r.position)) {
            return Err(StoreError::ImportConflict {
                index: Some(index),
                message: stream_position_taken(r),
            });
        }
    }
    Ok(())
}

/// The message of a stream position that is already taken.
pub fn stream_position_taken(r: &ImportRecord) -> String {
    format!(
        "stream {} already has a message at position {}",
        r.stream_name, r.position
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, stream: &str, pos: i64, gpos: i64) -> ImportRecord {
        ImportRecord {
            id: id.into(),
            stream_name: stream.into(),
            message_type: "T".into(),
            position: pos,
            global_position: gpos,
            data: "{}".into(),
            metadata: None,
            time: 0,
        }
    }

    #[test]
    fn collisions_name_the_later_record() {
        assert!(check_batch(&[rec("a", "s", 0, 1), rec("b", "s", 1, 2)]).is_ok());
        assert!(matches!(
            check_batch(&[rec("a", "s", 0, 1), rec("b", "s", 1, 1)]),
            Err(StoreError::PositionExists {
                global_position: 1,
                index: Some(1)
            })
        ));
        assert!(matches!(
            check_batch(&[rec("a", "s", 0, 1), rec("a", "t", 0, 2)]),
            Err(StoreError::ImportConflict { index: Some(1), .. })
        ));
        assert!(matches!(
            check_batch(&[rec("a", "s", 0, 1), rec("b", "s", 0, 2)]),
            Err(StoreError::ImportConflict { index: Some(1), .. })
        ));
    }
}
