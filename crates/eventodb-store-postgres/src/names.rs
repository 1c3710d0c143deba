//! SQL quoting and the mapping of namespace ids to schema names (PROTOCOL §8.1).

/// PostgreSQL's identifier limit in bytes (longer names are silently truncated).
pub(crate) const MAX_IDENTIFIER: usize = 63;

/// `name` as a quoted identifier: `"…"` with `"` doubled.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` as a string literal: `'…'` with `'` doubled (standard-conforming strings).
pub(crate) fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The schema EventoDB Go uses: `eventodb_` + the id with every character outside
/// `[A-Za-z0-9_]` replaced by `_`.
pub(crate) fn sanitized_schema(id: &str) -> String {
    let mut out = String::with_capacity(9 + id.len());
    out.push_str("eventodb_");
    out.extend(id.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        }
    }));
    out
}

/// A name for `id` that does not depend on how other ids sanitise:
/// `eventodb_<sanitised prefix>_<16 hex digits of hash_64(id)>`, at most 63 bytes.
pub(crate) fn hashed_schema(id: &str) -> String {
    let sanitized = sanitized_schema(id);
    let hash = format!("{:016x}", eventodb_protocol::hash_64(id) as u64);
    // Sanitised names are ASCII, so any byte index is a char boundary.
    let keep = MAX_IDENTIFIER - hash.len() - 1;
    let prefix = &sanitized[..sanitized.len().min(keep)];
    format!("{prefix}_{hash}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_the_quote() {
        assert_eq!(quote_ident(r#"a"b"#), r#""a""b""#);
        assert_eq!(quote_literal("it's"), "'it''s'");
    }

    #[test]
    fn schema_names() {
        assert_eq!(sanitized_schema("acme-prod"), "eventodb_acme_prod");
        assert_eq!(sanitized_schema("é/x"), "eventodb___x");
        let long = "x".repeat(100);
        let hashed = hashed_schema(&long);
        assert_eq!(hashed.len(), MAX_IDENTIFIER);
        assert_ne!(hashed_schema("acme-prod"), hashed_schema("acme_prod"));
        assert!(hashed_schema("a").starts_with("eventodb_a_"));
    }
}
