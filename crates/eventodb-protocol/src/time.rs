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
///
/// This runs for every message of every page, so the common case (years 0000–9999) is
/// written from a stack buffer in one step, without calendar types or formatting machinery.
pub fn write_rfc3339(out: &mut String, micros: Micros) {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000) as u32;
    let mut buf = [0u8; 27];
    let Some(mut len) = fill_seconds(&mut buf, secs) else {
        write_seconds_slow(out, secs);
        push_fraction(out, frac);
        out.push('Z');
        return;
    };
    if frac != 0 {
        let (digits, width) = trimmed_fraction(frac);
        buf[len] = b'.';
        fill_digits(&mut buf[len + 1..len + 1 + width], digits);
        len += 1 + width;
    }
    buf[len] = b'Z';
    push_ascii(out, &buf[..=len]);
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
    let secs = micros.div_euclid(1_000_000);
    let mut buf = [0u8; 20];
    match fill_seconds(&mut buf, secs) {
        Some(len) => {
            buf[len] = b'Z';
            push_ascii(&mut out, &buf[..=len]);
        }
        None => {
            write_seconds_slow(&mut out, secs);
            out.push('Z');
        }
    }
    out
}

/// Seconds from 0000-01-01T00:00:00Z to the Unix epoch, and to 10000-01-01.
const YEAR_0: i64 = -62_167_219_200;
const YEAR_10000: i64 = 253_402_300_800;

/// Writes `YYYY-MM-DDTHH:MM:SS` (19 bytes) into `buf` when the year has four digits.
fn fill_seconds(buf: &mut [u8], secs: i64) -> Option<usize> {
    if !(YEAR_0..YEAR_10000).contains(&secs) {
        return None;
    }
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400) as u32;
    let (year, month, day) = civil_from_days(days);
    fill_digits(&mut buf[0..4], year);
    buf[4] = b'-';
    fill_digits(&mut buf[5..7], month);
    buf[7] = b'-';
    fill_digits(&mut buf[8..10], day);
    buf[10] = b'T';
    fill_digits(&mut buf[11..13], of_day / 3600);
    buf[13] = b':';
    fill_digits(&mut buf[14..16], of_day / 60 % 60);
    buf[16] = b':';
    fill_digits(&mut buf[17..19], of_day % 60);
    Some(19)
}

/// The proleptic Gregorian date of `days` since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`), for dates in years 0–9999.
fn civil_from_days(days: i64) -> (u32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097) as u32; // day of the 400-year era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = era * 400 + i64::from(yoe) + i64::from(month <= 2);
    (u32::try_from(year).unwrap_or(0), month, day)
}

/// The fraction's digits with trailing zeros removed, and how many remain (1–6).
fn trimmed_fraction(mut frac: u32) -> (u32, usize) {
    let mut width = 6;
    while frac % 10 == 0 && width > 1 {
        frac /= 10;
        width -= 1;
    }
    (frac, width)
}

/// Writes `value` into `buf` in decimal, zero-padded to the buffer's width.
fn fill_digits(buf: &mut [u8], mut value: u32) {
    for slot in buf.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Appends bytes this module wrote (ASCII digits and separators).
fn push_ascii(out: &mut String, bytes: &[u8]) {
    out.push_str(std::str::from_utf8(bytes).unwrap_or_default());
}

/// `.digits` of a nonzero fraction of a second, trailing zeros trimmed.
fn push_fraction(out: &mut String, frac: u32) {
    if frac != 0 {
        let (digits, width) = trimmed_fraction(frac);
        let mut buf = [b'.'; 7];
        fill_digits(&mut buf[1..=width], digits);
        push_ascii(out, &buf[..=width]);
    }
}

/// Years outside 0000–9999: through the calendar types (the epoch when out of their range).
fn write_seconds_slow(out: &mut String, secs: i64) {
    let dt = OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let (h, m, s) = dt.to_hms();
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{h:02}:{m:02}:{s:02}",
        dt.year(),
        u8::from(dt.month()),
        dt.day()
    );
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

    /// The fast path agrees with the calendar types on dates across the four-digit years,
    /// leap days, month ends and fractions.
    #[test]
    fn matches_the_calendar_types() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut samples = vec![YEAR_0 * 1_000_000, YEAR_10000 * 1_000_000 - 1, 0, -1];
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let span = (YEAR_10000 - YEAR_0) as u64 * 1_000_000;
            samples.push(YEAR_0 * 1_000_000 + (seed % span) as i64);
        }
        for micros in samples {
            let secs = micros.div_euclid(1_000_000);
            let frac = micros.rem_euclid(1_000_000) as u32;
            let mut expected = String::new();
            write_seconds_slow(&mut expected, secs);
            push_fraction(&mut expected, frac);
            expected.push('Z');
            assert_eq!(rfc3339(micros), expected, "{micros}");
        }
    }

    #[test]
    fn years_beyond_four_digits_do_not_panic() {
        assert_eq!(rfc3339(i64::MAX), "1970-01-01T00:00:00.775807Z");
        assert_eq!(rfc3339_seconds(i64::MIN), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(YEAR_10000 * 1_000_000), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(YEAR_0 * 1_000_000 - 1_000_000),
            "-001-12-31T23:59:59Z"
        );
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
