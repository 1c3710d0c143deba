//! Namespace tokens (PROTOCOL §2.7): `ns_` + base64url(namespace id) + `_` + 64 hex digits.
//!
//! Only the SHA-256 hash of a token is ever stored; comparison is constant-time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Why a token failed to parse (sent as `details.error` with `AUTH_INVALID_TOKEN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// The token does not start with `ns_`.
    MissingPrefix,
    /// The part after `ns_` does not split into exactly two pieces on `_`.
    WrongShape,
    /// The secret is not exactly 64 hex digits.
    BadSecret,
    /// The namespace part is not unpadded base64url.
    BadNamespaceEncoding,
    /// The namespace decodes to nothing.
    EmptyNamespace,
}

impl TokenError {
    /// A short human-readable description.
    pub fn describe(self) -> &'static str {
        match self {
            TokenError::MissingPrefix => "token must start with ns_",
            TokenError::WrongShape => "token must have the form ns_<namespace>_<secret>",
            TokenError::BadSecret => "token secret must be 64 hex digits",
            TokenError::BadNamespaceEncoding => "token namespace is not valid base64url",
            TokenError::EmptyNamespace => "token namespace is empty",
        }
    }
}

/// Parses a token and returns the namespace id it names.
///
/// The decoded id is used as text; bytes that are not UTF-8 are replaced (such an id can
/// never have been created, so it simply names no namespace).
pub fn parse(token: &str) -> Result<String, TokenError> {
    let rest = token.strip_prefix("ns_").ok_or(TokenError::MissingPrefix)?;
    let mut pieces = rest.split('_');
    let (Some(ns_part), Some(secret), None) = (pieces.next(), pieces.next(), pieces.next()) else {
        return Err(TokenError::WrongShape);
    };
    if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(TokenError::BadSecret);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(ns_part)
        .map_err(|_| TokenError::BadNamespaceEncoding)?;
    if bytes.is_empty() {
        return Err(TokenError::EmptyNamespace);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The base64url (unpadded) form of a namespace id, as it appears inside a token.
pub fn encode_namespace(namespace: &str) -> String {
    URL_SAFE_NO_PAD.encode(namespace.as_bytes())
}

/// Builds a token for `namespace` from 32 secret bytes (rendered as lowercase hex).
pub fn format(namespace: &str, secret: &[u8; 32]) -> String {
    let mut token = String::with_capacity(3 + namespace.len() * 2 + 1 + 64);
    token.push_str("ns_");
    token.push_str(&encode_namespace(namespace));
    token.push('_');
    push_hex(&mut token, secret);
    token
}

/// Lowercase hex SHA-256 of the token's UTF-8 bytes: what is stored instead of the token.
pub fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut out = String::with_capacity(64);
    push_hex(&mut out, &digest);
    out
}

/// Compares two hashes in time independent of where they differ.
pub fn hashes_equal(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zeros_token() -> String {
        format!("ns_ZGVmYXVsdA_{}", "0".repeat(64))
    }

    #[test]
    fn parses_the_protocol_examples() {
        assert_eq!(parse(&zeros_token()).as_deref(), Ok("default"));
        let acme = format!("ns_YWNtZS1wcm9k_{}", "5e".repeat(32));
        assert_eq!(parse(&acme).as_deref(), Ok("acme-prod"));
    }

    #[test]
    fn hashes_match_the_protocol_examples() {
        assert_eq!(
            hash(&zeros_token()),
            "6fefedfc989ca8bea8ce1b63672607c06fbd0d8b3c0667164cf4f5a02911fb52"
        );
        let acme = format!("ns_YWNtZS1wcm9k_{}", "5e".repeat(32));
        assert_eq!(
            hash(&acme),
            "43f593142fc0aac11680fc6d9f5c4f3b6e3937eeabdb94fbb5b687cc455b633f"
        );
    }

    #[test]
    fn rejects_malformed_tokens() {
        let hex = "a".repeat(64);
        assert_eq!(parse("abc"), Err(TokenError::MissingPrefix));
        assert_eq!(
            parse(&format!("ns_bnM_Pw_{hex}")),
            Err(TokenError::WrongShape)
        );
        assert_eq!(parse("ns_ZGVmYXVsdA"), Err(TokenError::WrongShape));
        assert_eq!(parse("ns_ZGVmYXVsdA_abc"), Err(TokenError::BadSecret));
        assert_eq!(
            parse(&format!("ns_ZGVmYXVsdA_{}", "g".repeat(64))),
            Err(TokenError::BadSecret)
        );
        assert_eq!(
            parse(&format!("ns_ZGVmYXVsdA==_{hex}")),
            Err(TokenError::BadNamespaceEncoding)
        );
        assert_eq!(
            parse(&format!("ns__{hex}")),
            Err(TokenError::EmptyNamespace)
        );
        // Upper-case hex is accepted.
        assert!(parse(&format!("ns_ZGVmYXVsdA_{}", "AB".repeat(32))).is_ok());
    }

    #[test]
    fn format_round_trips() {
        let token = format("acme-prod", &[0x5e; 32]);
        assert_eq!(token, format!("ns_YWNtZS1wcm9k_{}", "5e".repeat(32)));
        assert_eq!(parse(&token).as_deref(), Ok("acme-prod"));
    }

    #[test]
    fn constant_time_compare() {
        assert!(hashes_equal("abc", "abc"));
        assert!(!hashes_equal("abc", "abd"));
        assert!(!hashes_equal("abc", "abcd"));
    }
}
