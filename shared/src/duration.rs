//! The two duration syntaxes of a policy document.
//!
//! * [`ResticDuration`] is restic's `--keep-within` syntax: `1y2m3d4h`
//!   (years, months, days, hours), calendar-aware: `1m` back from March 31st
//!   is February 28th/29th, as restic computes it.
//! * [`Span`] is an exact length for targets and delays (RPO, RTO, grace
//!   periods): `90s`, `30min`, `26h`, `7d`, `1h30min`. `m` is refused there
//!   because restic reads it as months; write `min`.

use chrono::{DateTime, Months, TimeDelta, Utc};
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
    /// `t` minus this duration, subtracting years, months, days, then hours
    /// (restic's `AddDate(-y, -m, -d)` then `Add(-h)`).
    pub fn before(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let months = self.years.saturating_mul(12).saturating_add(self.months);
        let t = t
            .checked_sub_months(Months::new(months))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        t - TimeDelta::days(i64::from(self.days)) - TimeDelta::hours(i64::from(self.hours))
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

    #[test]
    fn restic_duration_subtracts_calendar_months() {
        let t: DateTime<Utc> = "2025-03-31T12:00:00Z".parse().unwrap();
        let d: ResticDuration = "1m1d2h".parse().unwrap();
        // March 31 - 1 month = Feb 28 (clamped), - 1 day = Feb 27, - 2h.
        assert_eq!(
            d.before(t),
            "2025-02-27T10:00:00Z".parse::<DateTime<Utc>>().unwrap()
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
