//! Times and durations as Rempart writes them: RFC 3339 to the second in
//! tags, records and announcements; one human form for people.

use chrono::{DateTime, SecondsFormat, Utc};

/// `2025-11-24T02:00:00Z`: the form of every time in tags, records and
/// announcements (second precision, `Z`).
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `2d 3h`, `45min`, `1min 30s`: every non-zero unit, so that a value just
/// over its target never reads as equal to it. Negative values keep their
/// sign (`-5min`: five minutes early).
pub fn human(seconds: i64) -> String {
    if seconds == 0 {
        return "0s".into();
    }
    let sign = if seconds < 0 { "-" } else { "" };
    let mut s = seconds.unsigned_abs();
    let mut parts = Vec::new();
    for (unit, len) in [("d", 86_400), ("h", 3600), ("min", 60), ("s", 1)] {
        if s >= len {
            parts.push(format!("{}{unit}", s / len));
            s %= len;
        }
    }
    format!("{sign}{}", parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_names_every_non_zero_unit() {
        assert_eq!(human(0), "0s");
        assert_eq!(human(40), "40s");
        assert_eq!(human(90), "1min 30s");
        assert_eq!(human(2 * 86_400 + 3 * 3600), "2d 3h");
        assert_eq!(human(4 * 3600 + 1), "4h 1s");
        assert_eq!(human(-300), "-5min");
    }

    #[test]
    fn rfc3339_is_second_precision_utc() {
        let t: DateTime<Utc> = "2025-11-24T02:00:00.123456Z".parse().expect("time");
        assert_eq!(rfc3339(t), "2025-11-24T02:00:00Z");
    }
}
