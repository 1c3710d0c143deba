//! The wire time format (PROTOCOL §1.6): UTC RFC 3339 ending in `Z`, with the fraction's
//! trailing zeros removed (and no fraction at all when it is zero).
//!
//! Times are carried as microseconds since the Unix epoch ([`Micros`]); both backends store
//! that precision.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Microseconds since the Unix epoch, UTC.
pub type Micros = i64;

/// The current time in microseconds (the clock before the epoch reads as the epoch).
pub fn now_micros() -> Micros {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// Appends `micros` as `YYYY-MM-DDTHH:MM:SS[.f]Z`, fraction trimmed of trailing zeros.
pub fn write_rfc3339(out: &mut String, micros: Micros) {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    write_seconds(out, secs);
    if frac != 0 {
        // Six digits with the trailing zeros trimmed, without formatting machinery: this runs
        // for every message of every page.
        let mut frac = frac as u32;
        let mut width = 6;
        while frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        out.push('.');
        push_padded(out, frac, width);
    }
    out.push('Z');
}

/// `micros` as an RFC 3339 string, fraction trimmed (message `time`, `createdAt`, `deletedAt`).
pub fn rfc3339(micros: Micros) -> String {
    let mut out = String::with_capacity(27);
    write_rfc3339(&mut out, micros);
    out
}

/// `micros` truncated to whole seconds (`ns.streams` `lastActivity`, export records).
pub fn rfc3339_seconds(micros: Micros) -> String {
    let mut out = String::with_capacity(20);
    write_seconds(&mut out, micros.div_euclid(1_000_000));
    out.push('Z');
    out
}

fn write_seconds(out: &mut String, secs: i64) {
    let dt = OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let (year, month, day) = dt.to_calendar_date();
    let (h, m, s) = dt.to_hms();
    match u32::try_from(year) {
        Ok(y) if y <= 9999 => push_padded(out, y, 4),
        _ => {
            let _ = write!(out, "{year:04}");
        }
    }
    for (separator, value) in [
        ('-', u8::from(month)),
        ('-', day),
        ('T', h),
        (':', m),
        (':', s),
    ] {
        out.push(separator);
        push_padded(out, u32::from(value), 2);
    }
}

/// `value` in decimal, left-padded with zeros to `width` digits (wider values are kept
/// whole).
fn push_padded(out: &mut String, value: u32, width: usize) {
    let mut digits = [b'0'; 10];
    let mut n = value;
    let mut len = 0;
    while n > 0 || len == 0 {
        digits[9 - len] = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
    }
    for _ in len..width {
        out.push('0');
    }
    for &d in &digits[10 - len..] {
        out.push(char::from(d));
    }
}

/// Parses an RFC 3339 time with any offset into UTC microseconds (sub-microsecond digits are
/// truncated). `None` when the text is not RFC 3339.
pub fn parse_rfc3339(text: &str) -> Option<Micros> {
    let dt = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(dt.unix_timestamp_nanos().div_euclid(1000)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_740_903_330; // 2025-03-02T08:15:30Z

    #[test]
    fn fraction_is_trimmed() {
        assert_eq!(rfc3339(T * 1_000_000), "2025-03-02T08:15:30Z");
        assert_eq!(rfc3339(T * 1_000_000 + 250_000), "2025-03-02T08:15:30.25Z");
        assert_eq!(
            rfc3339(T * 1_000_000 + 123_456),
            "2025-03-02T08:15:30.123456Z"
        );
        assert_eq!(rfc3339(T * 1_000_000 + 1), "2025-03-02T08:15:30.000001Z");
    }

    #[test]
    fn seconds_truncate() {
        assert_eq!(
            rfc3339_seconds(T * 1_000_000 + 999_999),
            "2025-03-02T08:15:30Z"
        );
    }

    #[test]
    fn parse_accepts_offsets_and_fractions() {
        assert_eq!(parse_rfc3339("2025-03-02T08:15:30Z"), Some(T * 1_000_000));
        assert_eq!(
            parse_rfc3339("2025-03-02T09:15:30.5+01:00"),
            Some(T * 1_000_000 + 500_000)
        );
        assert_eq!(
            parse_rfc3339("2025-03-02T08:15:30.1234567Z"),
            Some(T * 1_000_000 + 123_456)
        );
        assert_eq!(parse_rfc3339("2025-03-02"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn round_trip() {
        for micros in [0, 1, T * 1_000_000 + 10, 4_102_444_800_000_000] {
            assert_eq!(parse_rfc3339(&rfc3339(micros)), Some(micros));
        }
    }
}
