//! Timestamps: RFC 3339 in UTC with nanoseconds (`2024-05-01T12:00:00.123456789Z`), the one
//! form used in metadata, execs and the file-system diff; and the compact form used in file
//! names (`20240501T120000Z`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The current time, RFC 3339 with nanoseconds.
pub fn now_rfc3339() -> String {
    format_rfc3339(SystemTime::now())
}

/// `t` as RFC 3339 UTC with 9 fractional digits.
pub fn format_rfc3339(t: SystemTime) -> String {
    let ns = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(i128::MAX),
        Err(e) => -i128::try_from(e.duration().as_nanos()).unwrap_or(i128::MAX),
    };
    format_unix_ns(ns)
}

/// Nanoseconds since the epoch as RFC 3339 UTC with 9 fractional digits.
pub fn format_unix_ns(ns: i128) -> String {
    match OffsetDateTime::from_unix_timestamp_nanos(ns) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.nanosecond()
        ),
        Err(_) => "1970-01-01T00:00:00.000000000Z".to_owned(),
    }
}

/// Parses an RFC 3339 timestamp into nanoseconds since the epoch.
pub fn parse_rfc3339_ns(s: &str) -> Option<i128> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp_nanos)
}

/// Parses an RFC 3339 timestamp.
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let ns = parse_rfc3339_ns(s)?;
    let secs = u64::try_from(ns.div_euclid(1_000_000_000)).ok()?;
    let sub = u32::try_from(ns.rem_euclid(1_000_000_000)).ok()?;
    UNIX_EPOCH.checked_add(Duration::new(secs, sub))
}

/// Compact UTC form for file names: `20240501T120000Z` (no `:`).
pub(crate) fn compact(rfc3339: &str) -> String {
    match OffsetDateTime::parse(rfc3339, &Rfc3339) {
        Ok(t) => {
            let t = t.to_offset(time::UtcOffset::UTC);
            format!(
                "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        }
        Err(_) => "unknown-time".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_nanoseconds_and_parses_back() {
        let s = format_unix_ns(1_714_564_800_123_456_789);
        assert_eq!(s, "2024-05-01T12:00:00.123456789Z");
        assert_eq!(parse_rfc3339_ns(&s), Some(1_714_564_800_123_456_789));
        assert_eq!(compact(&s), "20240501T120000Z");
        assert_eq!(compact("garbage"), "unknown-time");
        let t = parse_rfc3339(&s).map(format_rfc3339);
        assert_eq!(t.as_deref(), Some(s.as_str()));
    }
}
