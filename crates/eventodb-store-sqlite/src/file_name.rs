//! Safe, collision-free database file names for namespace ids (PROTOCOL §8.2).
//!
//! A namespace id is any non-empty string, so it is never used as a path. The file name is
//! `ns-<prefix>-<hash>.db`: a readable prefix of at most 32 characters of `[a-z0-9_]` (every
//! other character becomes `_`, letters are lowered) and the first 32 hex digits of the
//! SHA-256 of the id, which alone tells ids apart (ids differing only in case or punctuation
//! share a prefix but not a hash).

use sha2::{Digest, Sha256};

/// Longest readable prefix taken from the id.
const PREFIX_CHARS: usize = 32;

/// The database file name of a new namespace with this id.
pub(crate) fn namespace_file_name(id: &str) -> String {
    let prefix: String = id
        .chars()
        .take(PREFIX_CHARS)
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let digest = Sha256::digest(id.as_bytes());
    let mut hash = String::with_capacity(32);
    for b in &digest[..16] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        hash.push(HEX[usize::from(b >> 4)] as char);
        hash.push(HEX[usize::from(b & 15)] as char);
    }
    format!("ns-{prefix}-{hash}.db")
}

/// True when a stored `db_path` is a plain file name that stays inside the data directory.
pub(crate) fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0', ':'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_and_distinct() {
        let long = "x".repeat(10_000);
        let ids = [
            "../x",
            "a/b",
            "..",
            ".",
            "CON",
            "con",
            "Acme",
            "acme",
            "acme-prod",
            "acme_prod",
            "acme.prod",
            "a\\b",
            "é",
            "e",
            &long,
        ];
        let names: Vec<String> = ids.iter().map(|id| namespace_file_name(id)).collect();
        for name in &names {
            assert!(is_plain_file_name(name), "{name}");
            assert!(name.len() <= 3 + 32 + 1 + 32 + 3, "{name}");
            assert!(name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.".contains(c)));
        }
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        assert_eq!(namespace_file_name("acme"), namespace_file_name("acme"));
        assert!(namespace_file_name("Acme-Prod").starts_with("ns-acme_prod-"));
    }

    #[test]
    fn stored_paths_are_checked() {
        assert!(is_plain_file_name("default.db"));
        assert!(!is_plain_file_name("../x.db"));
        assert!(!is_plain_file_name("a/b.db"));
        assert!(!is_plain_file_name(".."));
        assert!(!is_plain_file_name(""));
    }
}
