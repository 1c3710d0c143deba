//! Small wire-format helpers: tokens, UUIDs, timestamps, versions.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unpadded base64url (RFC 4648 §5), as used in namespace tokens.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let emit = chunk.len() + 1;
        for i in 0..emit {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// A well-formed token for `namespace` whose 64-digit secret repeats `secret_digit`.
pub(crate) fn token_for(namespace: &str, secret_digit: char) -> String {
    let secret: String = std::iter::repeat_n(secret_digit, 64).collect();
    format!("ns_{}_{}", b64url(namespace.as_bytes()), secret)
}

/// Asserts `id` is a canonical lowercase UUID (8-4-4-4-12 hex digits).
pub(crate) fn assert_lower_uuid(id: &str) {
    let groups: Vec<&str> = id.split('-').collect();
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    assert_eq!(lens, [8, 4, 4, 4, 12], "not a canonical UUID: {id:?}");
    assert!(
        id.chars()
            .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "not a lowercase UUID: {id:?}"
    );
}

/// Seconds since the Unix epoch, now.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Parses the wire time format (§1.6): `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`, fraction without
/// trailing zeros. Returns (Unix seconds, fraction digits) or `None` when malformed.
pub(crate) fn parse_time(s: &str) -> Option<(i64, String)> {
    let b = s.as_bytes();
    if b.len() < 20 || *b.last()? != b'Z' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let rest = &s[19..s.len() - 1];
    let fraction = if rest.is_empty() {
        String::new()
    } else {
        let f = rest.strip_prefix('.')?;
        if f.is_empty() || f.len() > 9 || !f.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        if f.ends_with('0') {
            return None;
        }
        f.to_owned()
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hour * 3600 + minute * 60 + second, fraction))
}

/// Asserts `value` is a wire timestamp (§1.6) within a minute of now; returns its fraction.
pub(crate) fn assert_time(value: &serde_json::Value) -> String {
    let s = value
        .as_str()
        .unwrap_or_else(|| panic!("time is not a string: {value}"));
    let (secs, fraction) = parse_time(s).unwrap_or_else(|| panic!("bad wire time: {s:?}"));
    let now = unix_now();
    assert!(
        (secs - now).abs() <= 60,
        "time {s:?} is not the current UTC time (now = {now} Unix seconds)"
    );
    fraction
}

/// True when `v` begins with three dot-separated integers (semver core).
pub(crate) fn is_semver(v: &str) -> bool {
    let mut parts = v.splitn(3, '.');
    let numeric = |p: &str| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit());
    let (Some(major), Some(minor), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let patch_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let tail = &rest[patch_len..];
    numeric(major)
        && numeric(minor)
        && patch_len > 0
        && (tail.is_empty() || tail.starts_with('-') || tail.starts_with('+'))
}

#[test]
fn harness_base64url_matches_the_protocol_examples() {
    assert_eq!(b64url(b"default"), "ZGVmYXVsdA");
    assert_eq!(b64url(b"acme-prod"), "YWNtZS1wcm9k");
    assert_eq!(b64url(b"ns?"), "bnM_");
}

#[test]
fn harness_time_parser_follows_the_wire_format() {
    assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some((0, String::new())));
    assert_eq!(
        parse_time("2025-03-02T08:15:30.25Z"),
        Some((1_740_903_330, "25".to_owned()))
    );
    assert!(parse_time("2025-03-02T08:15:30.250Z").is_none());
    assert!(parse_time("2025-03-02T08:15:30+00:00").is_none());
    assert!(parse_time("2025-03-02T08:15:30.Z").is_none());
    assert!(is_semver("0.1.0") && is_semver("1.2.3-rc.1") && !is_semver("dev"));
}
