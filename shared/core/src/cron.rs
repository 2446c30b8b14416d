//! Five-field cron expressions (`minute hour day-of-month month day-of-week`),
//! evaluated in a time zone.
//!
//! Only what a backup schedule needs: lists (`1,15`), ranges (`1-5`), steps
//! (`*/15`, `0-30/10`), month and weekday names (`JAN`, `SUN`), `?` as `*`, and
//! 0 or 7 for Sunday. When both day fields are restricted, a day matches if
//! either does (Vixie cron semantics).
//!
//! The scheduler uses [`Cron::matches`] to know which schedules an event
//! fires, and [`Cron::previous_before`] to know whether a run is the first of
//! its day, ISO week, month or year (which decides its retention tiers).

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use std::fmt;
use std::str::FromStr;

#[derive(Clone, PartialEq, Eq)]
pub struct Cron {
    source: String,
    minutes: u64, // bits 0..=59
    hours: u32,   // bits 0..=23
    days: u32,    // bits 1..=31
    months: u16,  // bits 1..=12
    weekdays: u8, // bits 0..=6, 0 = Sunday
    dom_star: bool,
    dow_star: bool,
}

impl fmt::Debug for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cron({:?})", self.source)
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn parse_value(s: &str, names: &[&str], name_base: u32) -> Option<u32> {
    if let Ok(n) = s.parse::<u32>() {
        return Some(n);
    }
    let upper = s.to_ascii_uppercase();
    names
        .iter()
        .position(|n| *n == upper)
        .map(|i| i as u32 + name_base)
}

/// Parses one field into a bit set over `min..=max`.
fn parse_field(
    field: &str,
    what: &str,
    min: u32,
    max: u32,
    names: &[&str],
    name_base: u32,
) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    let star = field == "*" || field == "?";
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("{what}: step `{s}` is not a positive number"))?;
                (r, step)
            }
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" || range == "?" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            let a = parse_value(a, names, name_base)
                .ok_or_else(|| format!("{what}: `{a}` is not a valid value"))?;
            let b = parse_value(b, names, name_base)
                .ok_or_else(|| format!("{what}: `{b}` is not a valid value"))?;
            (a, b)
        } else {
            let v = parse_value(range, names, name_base)
                .ok_or_else(|| format!("{what}: `{range}` is not a valid value"))?;
            // `5/15` means from 5 to the end, every 15.
            (v, if step > 1 { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return Err(format!(
                "{what}: `{part}` is outside {min}-{max} or an empty range"
            ));
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok((bits, star))
}

impl FromStr for Cron {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fields: Vec<&str> = s.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "cron `{s}` has {} fields; expected 5: minute hour day-of-month month day-of-week (e.g. `0 2 * * *`)",
                fields.len()
            ));
        }
        let (minutes, _) = parse_field(fields[0], "minute", 0, 59, &[], 0)?;
        let (hours, _) = parse_field(fields[1], "hour", 0, 23, &[], 0)?;
        let (days, dom_star) = parse_field(fields[2], "day-of-month", 1, 31, &[], 0)?;
        let (months, _) = parse_field(fields[3], "month", 1, 12, &MONTHS, 1)?;
        let (mut weekdays, dow_star) = parse_field(fields[4], "day-of-week", 0, 7, &WEEKDAYS, 0)?;
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays | 1) & 0x7f;
        }
        Ok(Cron {
            source: fields.join(" "),
            minutes,
            hours: hours as u32,
            days: days as u32,
            months: months as u16,
            weekdays: weekdays as u8,
            dom_star,
            dow_star,
        })
    }
}

impl Cron {
    fn day_matches(&self, date: NaiveDate) -> bool {
        if self.months & (1 << date.month()) == 0 {
            return false;
        }
        let dom = self.days & (1 << date.day()) != 0;
        let dow = self.weekdays & (1 << date.weekday().num_days_from_sunday()) != 0;
        match (self.dom_star, self.dow_star) {
            (true, true) => true,
            (false, true) => dom,
            (true, false) => dow,
            (false, false) => dom || dow,
        }
    }

    /// Whether the schedule fires at `t`'s minute, in time zone `tz`.
    pub fn matches(&self, t: DateTime<Utc>, tz: Tz) -> bool {
        let local = t.with_timezone(&tz);
        self.day_matches(local.date_naive())
            && self.hours & (1 << local.hour()) != 0
            && self.minutes & (1 << local.minute()) != 0
    }

    /// The latest firing strictly before `t`'s minute, looking back at most
    /// `max_days` days. `None` if the schedule did not fire in that window.
    pub fn previous_before(
        &self,
        t: DateTime<Utc>,
        tz: Tz,
        max_days: u32,
    ) -> Option<DateTime<Utc>> {
        let start = t.with_timezone(&tz);
        let start_minute = start.hour() * 60 + start.minute();
        let mut date = start.date_naive();
        for back in 0..=max_days {
            if back > 0 {
                date = date.checked_sub_days(Days::new(1))?;
            }
            if !self.day_matches(date) {
                continue;
            }
            let limit = if back == 0 { start_minute } else { 24 * 60 };
            for m in (0..limit).rev() {
                let (h, mi) = (m / 60, m % 60);
                if self.hours & (1 << h) == 0 || self.minutes & (1 << mi) == 0 {
                    continue;
                }
                let naive = date.and_hms_opt(h, mi, 0)?;
                // A local time skipped by a DST change does not exist; an
                // ambiguous one fires at its earlier instant.
                if let Some(local) = tz.from_local_datetime(&naive).earliest() {
                    return Some(local.with_timezone(&Utc));
                }
            }
        }
        None
    }
}

impl Cron {
    /// The same schedule as an EventBridge rule expression
    /// (`cron(0 3 ? * SUN *)`): six fields, one of the day fields `?`,
    /// days of the week numbered 1 (Sunday) to 7. EventBridge rules run in
    /// UTC. Fails when both day fields are restricted (EventBridge cannot).
    pub fn to_eventbridge(&self) -> Result<String, String> {
        let f: Vec<&str> = self.source.split_whitespace().collect();
        let (dom_star, dow_star) = (matches!(f[2], "*" | "?"), matches!(f[4], "*" | "?"));
        let (dom, dow) = match (dom_star, dow_star) {
            (true, true) => ("*".to_string(), "?".to_string()),
            (false, true) => (f[2].to_string(), "?".to_string()),
            (true, false) => ("?".to_string(), eventbridge_weekdays(f[4])),
            (false, false) => {
                return Err(format!(
                    "`{}` restricts both day-of-month and day-of-week, which an EventBridge rule cannot express; split it into two schedules",
                    self.source
                ))
            }
        };
        Ok(format!("cron({} {} {dom} {} {dow} *)", f[0], f[1], f[3]))
    }
}

/// Renumbers a day-of-week field from cron's 0-7 (0 and 7 = Sunday) to
/// EventBridge's 1-7 (1 = Sunday); names are kept.
fn eventbridge_weekdays(field: &str) -> String {
    let renumber = |t: &str| match t.parse::<u32>() {
        Ok(n) => ((n % 7) + 1).to_string(),
        Err(_) => t.to_string(),
    };
    field
        .split(',')
        .map(|part| {
            let (range, step) = match part.split_once('/') {
                Some((r, s)) => (r, Some(s)),
                None => (part, None),
            };
            let range = match range.split_once('-') {
                // 5-7 (Friday to Sunday) would wrap to 6-1: spell it out.
                Some((a, b)) if b.parse::<u32>() == Ok(7) => match a.parse::<u32>() {
                    Ok(a) if a > 0 => format!("{}-7,1", a + 1),
                    _ => format!("{}-{}", renumber(a), renumber(b)),
                },
                Some((a, b)) => format!("{}-{}", renumber(a), renumber(b)),
                None => renumber(range),
            };
            match step {
                Some(s) => format!("{range}/{s}"),
                None => range,
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl<'de> serde::Deserialize<'de> for Cron {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Cron {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn daily_at_two_matches_only_two_oclock() {
        let c: Cron = "0 2 * * *".parse().unwrap();
        assert!(c.matches(t("2025-11-24T02:00:00Z"), Tz::UTC));
        assert!(c.matches(t("2025-11-24T02:00:59Z"), Tz::UTC));
        assert!(!c.matches(t("2025-11-24T02:01:00Z"), Tz::UTC));
        assert!(!c.matches(t("2025-11-24T03:00:00Z"), Tz::UTC));
    }

    #[test]
    fn weekday_names_and_seven_mean_sunday() {
        for expr in ["0 3 * * SUN", "0 3 * * 0", "0 3 * * 7", "0 3 ? * sun"] {
            let c: Cron = expr.parse().unwrap();
            assert!(c.matches(t("2025-11-23T03:00:00Z"), Tz::UTC), "{expr}"); // a Sunday
            assert!(!c.matches(t("2025-11-24T03:00:00Z"), Tz::UTC), "{expr}");
        }
    }

    #[test]
    fn steps_ranges_and_lists() {
        let c: Cron = "*/15 8-10 1,15 JAN-MAR *".parse().unwrap();
        assert!(c.matches(t("2025-02-15T09:45:00Z"), Tz::UTC));
        assert!(!c.matches(t("2025-02-15T09:40:00Z"), Tz::UTC));
        assert!(!c.matches(t("2025-04-15T09:45:00Z"), Tz::UTC));
        assert!(!c.matches(t("2025-02-14T09:45:00Z"), Tz::UTC));
    }

    #[test]
    fn both_day_fields_restricted_means_either() {
        let c: Cron = "0 0 1 * MON".parse().unwrap();
        assert!(c.matches(t("2025-11-01T00:00:00Z"), Tz::UTC)); // Saturday the 1st
        assert!(c.matches(t("2025-11-03T00:00:00Z"), Tz::UTC)); // a Monday
        assert!(!c.matches(t("2025-11-04T00:00:00Z"), Tz::UTC));
    }

    #[test]
    fn rejects_bad_expressions_with_reason() {
        for (expr, needle) in [
            ("0 2 * *", "4 fields"),
            ("60 2 * * *", "minute"),
            ("0 24 * * *", "hour"),
            ("0 2 * * FUNDAY", "day-of-week"),
            ("*/0 2 * * *", "step"),
            ("0 2 31-1 * *", "day-of-month"),
        ] {
            let err = expr.parse::<Cron>().unwrap_err();
            assert!(err.contains(needle), "{expr}: {err}");
        }
    }

    #[test]
    fn previous_firing_of_a_weekly_schedule() {
        let c: Cron = "0 3 * * SUN".parse().unwrap();
        let prev = c.previous_before(t("2025-11-23T03:00:00Z"), Tz::UTC, 400);
        assert_eq!(prev, Some(t("2025-11-16T03:00:00Z")));
        let prev = c.previous_before(t("2025-11-23T03:30:00Z"), Tz::UTC, 400);
        assert_eq!(prev, Some(t("2025-11-23T03:00:00Z")));
    }

    #[test]
    fn previous_firing_respects_the_time_zone() {
        let c: Cron = "0 2 * * *".parse().unwrap();
        let paris: Tz = "Europe/Paris".parse().unwrap();
        // 02:00 Paris in winter is 01:00 UTC.
        assert!(c.matches(t("2025-11-24T01:00:00Z"), paris));
        let prev = c.previous_before(t("2025-11-24T01:00:00Z"), paris, 10);
        assert_eq!(prev, Some(t("2025-11-23T01:00:00Z")));
    }

    #[test]
    fn eventbridge_expressions() {
        let eb = |s: &str| s.parse::<Cron>().unwrap().to_eventbridge();
        assert_eq!(eb("0 2 * * *").unwrap(), "cron(0 2 * * ? *)");
        assert_eq!(eb("0 3 * * SUN").unwrap(), "cron(0 3 ? * SUN *)");
        assert_eq!(eb("0 3 * * 0").unwrap(), "cron(0 3 ? * 1 *)");
        assert_eq!(eb("30 1 * * 1-5").unwrap(), "cron(30 1 ? * 2-6 *)");
        assert_eq!(eb("0 0 1 * *").unwrap(), "cron(0 0 1 * ? *)");
        assert!(eb("0 0 1 * MON").unwrap_err().contains("both"));
    }

    #[test]
    fn previous_is_none_when_nothing_fired_in_window() {
        let c: Cron = "0 0 29 2 *".parse().unwrap();
        assert_eq!(
            c.previous_before(t("2025-03-01T00:00:00Z"), Tz::UTC, 300),
            None
        );
        assert_eq!(
            c.previous_before(t("2025-03-01T00:00:00Z"), Tz::UTC, 400),
            Some(t("2024-02-29T00:00:00Z"))
        );
    }
}
