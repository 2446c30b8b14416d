//! The two duration syntaxes of a policy document.
//!
//! * [`ResticDuration`] is restic's `--keep-within` syntax: `1y2m3d4h`
//!   (years, months, days, hours), calendar-aware: `1m` back from March 31st
//!   is February 28th/29th, as restic computes it.
//! * [`Span`] is an exact length for targets and delays (RPO, RTO, grace
//!   periods): `90s`, `30min`, `26h`, `7d`, `1h30min`. `m` is refused there
//!   because restic reads it as months; write `min`.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use std::fmt;
use std::str::FromStr;

/// `1y2m3d4h`: a calendar duration as restic's `--keep-within` reads it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResticDuration {
    pub years: u32,
    pub months: u32,
    pub days: u32,
    pub hours: u32,
}

impl ResticDuration {
    /// `t` minus this duration, exactly as restic computes it: Go's
    /// `t.AddDate(-years, -months, -days).Add(-hours)` in time zone `tz`.
    /// Go does not clamp a day past the end of a month, it carries it over:
    /// March 31st minus one month is "February 31st", that is March 3rd
    /// (March 2nd in a leap year).
    pub fn before(&self, t: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let local = t.with_timezone(&tz);
        let months = i64::from(local.year()) * 12 + i64::from(local.month0())
            - i64::from(self.years) * 12
            - i64::from(self.months);
        let (year, month0) = (months.div_euclid(12), months.rem_euclid(12));
        let first = i32::try_from(year)
            .ok()
            .and_then(|y| NaiveDate::from_ymd_opt(y, month0 as u32 + 1, 1));
        let Some(first) = first else {
            return DateTime::<Utc>::MIN_UTC;
        };
        let offset_days = i64::from(local.day()) - 1 - i64::from(self.days);
        let Some(date) = first.checked_add_signed(TimeDelta::days(offset_days)) else {
            return DateTime::<Utc>::MIN_UTC;
        };
        let naive = date.and_time(local.time());
        // Go keeps the wall clock and re-reads the offset; a skipped local
        // time (DST gap) moves forward, as Go's Date does.
        let shifted = match tz.from_local_datetime(&naive) {
            chrono::LocalResult::Single(d) => d,
            chrono::LocalResult::Ambiguous(a, _) => a,
            chrono::LocalResult::None => match tz
                .from_local_datetime(&(naive + TimeDelta::hours(1)))
                .earliest()
            {
                Some(d) => d,
                None => return DateTime::<Utc>::MIN_UTC,
            },
        };
        shifted.with_timezone(&Utc) - TimeDelta::hours(i64::from(self.hours))
    }

    pub fn is_zero(&self) -> bool {
        *self == ResticDuration::default()
    }
}

impl FromStr for ResticDuration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut d = ResticDuration::default();
        let mut num = String::new();
        if s.is_empty() {
            return Err("empty duration; expected e.g. `1y2m3d4h`".into());
        }
        for c in s.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let n: u32 = num
                .parse()
                .map_err(|_| format!("duration `{s}`: a number must come before `{c}`"))?;
            num.clear();
            match c {
                'y' => d.years += n,
                'm' => d.months += n,
                'd' => d.days += n,
                'h' => d.hours += n,
                _ => {
                    return Err(format!(
                        "duration `{s}`: unknown unit `{c}`; restic durations use y, m (months), d, h, e.g. `1y2m3d4h`"
                    ))
                }
            }
        }
        if !num.is_empty() {
            return Err(format!(
                "duration `{s}`: `{num}` has no unit (y, m, d or h)"
            ));
        }
        Ok(d)
    }
}

impl fmt::Display for ResticDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0h");
        }
        for (n, u) in [
            (self.years, 'y'),
            (self.months, 'm'),
            (self.days, 'd'),
            (self.hours, 'h'),
        ] {
            if n > 0 {
                write!(f, "{n}{u}")?;
            }
        }
        Ok(())
    }
}

/// An exact length: `90s`, `30min`, `26h`, `7d`, `1h30min`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span(pub TimeDelta);

impl Span {
    pub fn seconds(&self) -> i64 {
        self.0.num_seconds()
    }
}

impl FromStr for Span {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut total = 0i64;
        let mut rest = s.trim();
        if rest.is_empty() {
            return Err("empty duration; expected e.g. `30min`, `26h`, `7d`".into());
        }
        while !rest.is_empty() {
            let digits = rest.chars().take_while(char::is_ascii_digit).count();
            if digits == 0 {
                return Err(format!("duration `{s}`: expected a number at `{rest}`"));
            }
            let n: i64 = rest[..digits]
                .parse()
                .map_err(|_| format!("duration `{s}`: number too large"))?;
            rest = &rest[digits..];
            let unit_len = rest.chars().take_while(char::is_ascii_alphabetic).count();
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let secs = match unit {
                "s" => 1,
                "min" => 60,
                "h" => 3600,
                "d" => 86_400,
                "w" => 7 * 86_400,
                "m" => {
                    return Err(format!(
                        "duration `{s}`: `m` is ambiguous here (restic reads months); write `min` for minutes"
                    ))
                }
                "" => return Err(format!("duration `{s}`: `{n}` has no unit (s, min, h, d, w)")),
                other => {
                    return Err(format!(
                        "duration `{s}`: unknown unit `{other}`; use s, min, h, d or w"
                    ))
                }
            };
            total = n
                .checked_mul(secs)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| format!("duration `{s}` is too large"))?;
        }
        Ok(Span(TimeDelta::seconds(total)))
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.0.num_seconds();
        if s == 0 {
            return f.write_str("0s");
        }
        for (unit, len) in [("d", 86_400), ("h", 3600), ("min", 60), ("s", 1)] {
            if s >= len {
                write!(f, "{}{unit}", s / len)?;
                s %= len;
            }
        }
        Ok(())
    }
}

macro_rules! serde_via_str {
    ($t:ty) => {
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}
pub(crate) use serde_via_str;
serde_via_str!(ResticDuration);
serde_via_str!(Span);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restic_duration_parses_all_units() {
        let d: ResticDuration = "1y2m3d4h".parse().unwrap();
        assert_eq!(
            d,
            ResticDuration {
                years: 1,
                months: 2,
                days: 3,
                hours: 4
            }
        );
        assert_eq!(d.to_string(), "1y2m3d4h");
        assert!("3w"
            .parse::<ResticDuration>()
            .unwrap_err()
            .contains("unknown unit"));
        assert!("12"
            .parse::<ResticDuration>()
            .unwrap_err()
            .contains("no unit"));
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn restic_duration_carries_month_overflow_like_go() {
        let d: ResticDuration = "1m".parse().unwrap();
        // Go: 2023-03-31 AddDate(0,-1,0) = "2023-02-31" = 2023-03-03.
        assert_eq!(
            d.before(t("2023-03-31T12:00:00Z"), Tz::UTC),
            t("2023-03-03T12:00:00Z")
        );
        // Leap year: "2024-02-31" = 2024-03-02.
        assert_eq!(
            d.before(t("2024-03-31T12:00:00Z"), Tz::UTC),
            t("2024-03-02T12:00:00Z")
        );
        let d: ResticDuration = "1m1d2h".parse().unwrap();
        // "2025-02-30" = 2025-03-02, then minus 2 hours.
        assert_eq!(
            d.before(t("2025-03-31T12:00:00Z"), Tz::UTC),
            t("2025-03-02T10:00:00Z")
        );
        let d: ResticDuration = "1y".parse().unwrap();
        // Go: 2024-02-29 minus a year = "2023-02-29" = 2023-03-01.
        assert_eq!(
            d.before(t("2024-02-29T00:00:00Z"), Tz::UTC),
            t("2023-03-01T00:00:00Z")
        );
        let d: ResticDuration = "14m".parse().unwrap();
        assert_eq!(
            d.before(t("2025-01-15T00:00:00Z"), Tz::UTC),
            t("2023-11-15T00:00:00Z")
        );
    }

    #[test]
    fn restic_duration_days_cross_month_and_year_boundaries() {
        let d: ResticDuration = "7d".parse().unwrap();
        assert_eq!(
            d.before(t("2025-01-03T05:00:00Z"), Tz::UTC),
            t("2024-12-27T05:00:00Z")
        );
        let d: ResticDuration = "24h".parse().unwrap();
        assert_eq!(
            d.before(t("2025-01-01T00:30:00Z"), Tz::UTC),
            t("2024-12-31T00:30:00Z")
        );
    }

    #[test]
    fn span_parses_and_prints() {
        assert_eq!("30min".parse::<Span>().unwrap().seconds(), 1800);
        assert_eq!("1h30min".parse::<Span>().unwrap().seconds(), 5400);
        assert_eq!("26h".parse::<Span>().unwrap().to_string(), "1d2h");
        assert!("5m".parse::<Span>().unwrap_err().contains("min"));
        assert!("5 parsecs".parse::<Span>().is_err());
    }
}
