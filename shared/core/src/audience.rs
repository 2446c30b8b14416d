//! Who else must hear of an incident, and by when (pure): the policy's
//! `[[incidents.audiences]]` (direction within 30 min, premium partners
//! within 1 h, the public status page within 4 h, the data-protection
//! authority within 72 h of a personal-data breach), each incident's clocks,
//! their reminders, and the record of each notice.
//!
//! A clock starts when the incident opens, or, for an audience whose clock
//! the law starts at awareness (`starts = "declared"`: GDPR art. 33), when a
//! human declares that it applies. Reminders fall at half the time, at
//! `remind_every` before the deadline, at the deadline, then every
//! `remind_every` until the notice is recorded; never after.

use crate::duration::Span;
use crate::time::{human, rfc3339};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One `[[incidents.audiences]]` entry.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    /// As `rempart incident notified --audience` names it: `direction`.
    pub name: String,
    /// The incidents it concerns: impacts (`minor`, `major`, `critical`)
    /// and/or class names of `[[incidents.classes]]`.
    pub classes: Vec<String>,
    /// Notified within this long of the clock's start.
    pub within: Span,
    /// When the clock starts: `opened` (default) or `declared`.
    #[serde(default)]
    pub starts: Starts,
    /// A Slack channel its reminders are posted to as well (`#direction`).
    #[serde(default)]
    pub channel: Option<String>,
    /// An on-call tier (Terraform's `oncall_tiers`) whose topic gets its
    /// reminders too, by e-mail or SMS.
    #[serde(default)]
    pub topic: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Starts {
    /// When the incident opens.
    #[default]
    Opened,
    /// When a human declares that the audience must hear (`rempart incident
    /// declare --audience`): the law's clock runs from awareness.
    Declared,
}

/// One audience's clock on one incident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    pub audience: String,
    pub started_at: DateTime<Utc>,
    /// Frozen when the clock starts: a policy edited mid-incident does not
    /// move a deadline already running.
    pub due_at: DateTime<Utc>,
    #[serde(default)]
    pub notified_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notified_by: String,
    #[serde(default)]
    pub last_reminder_at: Option<DateTime<Utc>>,
}

impl Clock {
    pub fn in_time(&self) -> Option<bool> {
        self.notified_at.map(|n| n <= self.due_at)
    }

    /// When the next reminder falls, after the last one (or the start):
    /// half-time, `remind_every` before the deadline, the deadline, then
    /// every `remind_every`. None once notified.
    pub fn next_reminder(&self, remind_every: Span) -> Option<DateTime<Utc>> {
        if self.notified_at.is_some() {
            return None;
        }
        let every = remind_every.0.max(chrono::TimeDelta::minutes(1));
        let half = self.started_at + (self.due_at - self.started_at) / 2;
        let after = self.last_reminder_at;
        let fits = |t: &DateTime<Utc>| *t >= self.started_at && after.is_none_or(|a| *t > a);
        if let Some(t) = [half, self.due_at - every, self.due_at]
            .into_iter()
            .filter(fits)
            .min()
        {
            return Some(t);
        }
        // Overdue: every `remind_every` after the deadline.
        let last = after.unwrap_or(self.due_at).max(self.due_at);
        Some(last + every)
    }
}

/// The impacts an audience may name (those of `[incidents]`).
const IMPACTS: [&str; 3] = ["minor", "major", "critical"];

/// What the policy says of audiences: validation and matching.
pub fn validate(audiences: &[Audience], classes: &[String]) -> Result<(), String> {
    let mut names = std::collections::BTreeSet::new();
    for (i, a) in audiences.iter().enumerate() {
        let field = format!("incidents.audiences[{i}]");
        if a.name.trim().is_empty() || !names.insert(a.name.as_str()) {
            return Err(format!(
                "{field}.name: `{}` is not an audience name listed once",
                a.name
            ));
        }
        if a.classes.is_empty() {
            return Err(format!(
                "{field}.classes: name the incidents `{}` must hear of (impacts minor, major, critical, or the policy's classes)",
                a.name
            ));
        }
        for c in &a.classes {
            let known = IMPACTS.contains(&c.as_str()) || classes.iter().any(|k| k == c);
            if !known {
                return Err(format!(
                    "{field}.classes: `{c}` is neither an impact (minor, major, critical) nor a class of incidents.classes ({})",
                    if classes.is_empty() { "none".to_string() } else { classes.join(", ") }
                ));
            }
        }
        if a.within.0 <= chrono::TimeDelta::zero() {
            return Err(format!("{field}.within: must be longer than zero"));
        }
        if let Some(ch) = &a.channel {
            if !ch.starts_with('#') || ch.len() < 2 {
                return Err(format!(
                    "{field}.channel: `{ch}` is not a Slack channel (`#name`)"
                ));
            }
        }
        if a.topic.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(format!(
                "{field}.topic: name an on-call tier of Terraform's oncall_tiers"
            ));
        }
    }
    Ok(())
}

/// Whether `a` concerns an incident of impact `impact` (`major`) and class
/// `class` (the policy's own scale; empty when it has none).
pub fn concerns(a: &Audience, impact: &str, class: &str) -> bool {
    a.classes
        .iter()
        .any(|k| (!class.is_empty() && k == class) || k == impact)
}

/// The clocks that start when such an incident opens at `at`.
pub fn clocks_at_opening(
    audiences: &[Audience],
    impact: &str,
    class: &str,
    at: DateTime<Utc>,
) -> Vec<Clock> {
    audiences
        .iter()
        .filter(|a| a.starts == Starts::Opened && concerns(a, impact, class))
        .map(|a| start(a, at))
        .collect()
}

fn start(a: &Audience, at: DateTime<Utc>) -> Clock {
    Clock {
        audience: a.name.clone(),
        started_at: at,
        due_at: at + a.within.0,
        notified_at: None,
        notified_by: String::new(),
        last_reminder_at: None,
    }
}

fn find<'a>(audiences: &'a [Audience], name: &str) -> Result<&'a Audience, String> {
    audiences.iter().find(|a| a.name == name).ok_or_else(|| {
        format!(
            "no audience `{name}` in the policy's incidents.audiences ({})",
            if audiences.is_empty() {
                "none".to_string()
            } else {
                audiences
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        )
    })
}

/// Checks that `name` is an audience of the policy (before anything changes).
pub fn known(audiences: &[Audience], name: &str) -> Result<(), String> {
    find(audiences, name).map(|_| ())
}

/// `name` was notified at `at`: the timeline line to add, or None when
/// already recorded. A notice for an audience the incident's class does not
/// concern is recorded too (on a clock from `opened_at`). Unknown audience:
/// an error, nothing changes.
pub fn notified(
    clocks: &mut Vec<Clock>,
    audiences: &[Audience],
    name: &str,
    opened_at: DateTime<Utc>,
    at: DateTime<Utc>,
    by: &str,
) -> Result<Option<String>, String> {
    let a = find(audiences, name)?;
    let idx = match clocks.iter().position(|c| c.audience == name) {
        Some(k) => k,
        None => {
            clocks.push(start(a, opened_at));
            clocks.len() - 1
        }
    };
    let clock = &mut clocks[idx];
    if clock.notified_at.is_some() {
        return Ok(None);
    }
    clock.notified_at = Some(at);
    clock.notified_by = by.to_string();
    Ok(Some(format!(
        "{name} ({}; due {})",
        if at <= clock.due_at {
            "in time"
        } else {
            "late"
        },
        rfc3339(clock.due_at)
    )))
}

/// A human declares that `name`'s clock runs from `at` (a personal-data
/// breach confirmed: the authority within 72 h): the timeline line, or None
/// when its clock already runs. Unknown audience: an error.
pub fn declared(
    clocks: &mut Vec<Clock>,
    audiences: &[Audience],
    name: &str,
    at: DateTime<Utc>,
) -> Result<Option<String>, String> {
    let a = find(audiences, name)?;
    if clocks.iter().any(|c| c.audience == name) {
        return Ok(None);
    }
    let clock = start(a, at);
    let line = format!("{name}: notify by {}", rfc3339(clock.due_at));
    clocks.push(clock);
    Ok(Some(line))
}

/// A reminder the tick decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reminder {
    pub audience: String,
    pub due_at: DateTime<Utc>,
    pub overdue: bool,
    pub summary: String,
}

/// The reminders due at `now` (at most one per audience, however many
/// checkpoints a late tick crossed); updates the clocks' last reminder.
pub fn remind(
    clocks: &mut [Clock],
    title: &str,
    now: DateTime<Utc>,
    remind_every: Span,
) -> Vec<Reminder> {
    let mut out = Vec::new();
    for c in clocks.iter_mut() {
        if c.next_reminder(remind_every).is_none_or(|t| now < t) {
            continue;
        }
        c.last_reminder_at = Some(now);
        let overdue = now >= c.due_at;
        let left = (c.due_at - now).num_seconds();
        out.push(Reminder {
            audience: c.audience.clone(),
            due_at: c.due_at,
            overdue,
            summary: if overdue {
                format!(
                    "Notify {} now: due {} ({} overdue), then record it: {title}",
                    c.audience,
                    rfc3339(c.due_at),
                    human(-left)
                )
            } else {
                format!(
                    "Notify {} by {} ({} left): {title}",
                    c.audience,
                    rfc3339(c.due_at),
                    human(left)
                )
            },
        });
    }
    out
}

/// One line of the closing report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AudienceReport {
    pub audience: String,
    pub due_at: DateTime<Utc>,
    pub notified_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub notified_by: String,
    pub in_time: bool,
}

pub fn report(clocks: &[Clock]) -> Vec<AudienceReport> {
    clocks
        .iter()
        .map(|c| AudienceReport {
            audience: c.audience.clone(),
            due_at: c.due_at,
            notified_at: c.notified_at,
            notified_by: c.notified_by.clone(),
            in_time: c.in_time() == Some(true),
        })
        .collect()
}

/// `direction in time, partners late, users not notified`.
pub fn grade(clocks: &[Clock]) -> String {
    clocks
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c.audience,
                match c.in_time() {
                    Some(true) => "in time",
                    Some(false) => "late",
                    None => "not notified",
                }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    fn aud(name: &str, classes: &[&str], within: &str, starts: Starts) -> Audience {
        Audience {
            name: name.into(),
            classes: classes.iter().map(|s| s.to_string()).collect(),
            within: within.parse().expect("span"),
            starts,
            channel: None,
            topic: None,
        }
    }

    fn audiences() -> Vec<Audience> {
        vec![
            aud("direction", &["critical"], "30min", Starts::Opened),
            aud("partners", &["critical", "major"], "1h", Starts::Opened),
            aud("users", &["High"], "2h", Starts::Opened),
            aud("cnil", &["critical"], "72h", Starts::Declared),
        ]
    }

    const OPENED: &str = "2026-01-01T00:00:00Z";

    fn names(c: &[Clock]) -> Vec<&str> {
        c.iter().map(|c| c.audience.as_str()).collect()
    }

    /// Proves: an audience concerns an incident by impact or by class name;
    /// a declared clock (the authority's) does not start at opening.
    #[test]
    fn clocks_start_for_the_audiences_the_class_concerns() {
        let c = clocks_at_opening(&audiences(), "critical", "", t(OPENED));
        assert_eq!(names(&c), ["direction", "partners"]);
        assert_eq!(c[0].due_at, t("2026-01-01T00:30:00Z"));
        let high = clocks_at_opening(&audiences(), "major", "High", t(OPENED));
        assert_eq!(names(&high), ["partners", "users"]);
        assert!(clocks_at_opening(&audiences(), "minor", "Low", t(OPENED)).is_empty());
    }

    /// Proves: reminders fall at half-time, `remind_every` before the
    /// deadline, at the deadline, then every `remind_every`; a notice stops
    /// them and records whether it was in time.
    #[test]
    fn reminders_fall_at_their_checkpoints_and_stop_at_the_notice() {
        let every: Span = "30min".parse().expect("span");
        let mut c = clocks_at_opening(&audiences(), "critical", "", t(OPENED));
        let at = |c: &mut Vec<Clock>, now: &str| {
            remind(c, "DB down", t(now), every)
                .into_iter()
                .map(|r| (r.audience, r.overdue))
                .collect::<Vec<_>>()
        };
        let d = |n: &str, overdue: bool| (n.to_string(), overdue);
        // 00:00: direction's deadline minus 30 min; partners' first is 00:30.
        assert_eq!(at(&mut c, "2026-01-01T00:00:00Z"), [d("direction", false)]);
        assert!(at(&mut c, "2026-01-01T00:10:00Z").is_empty());
        assert_eq!(at(&mut c, "2026-01-01T00:15:00Z"), [d("direction", false)]);
        assert_eq!(
            at(&mut c, "2026-01-01T00:30:00Z"),
            [d("direction", true), d("partners", false)]
        );
        let line = notified(
            &mut c,
            &audiences(),
            "direction",
            t(OPENED),
            t("2026-01-01T00:40:00Z"),
            "ana",
        )
        .expect("known")
        .expect("recorded");
        assert!(line.contains("late"), "{line}");
        assert_eq!(at(&mut c, "2026-01-01T01:00:00Z"), [d("partners", true)]);
        assert!(
            at(&mut c, "2026-01-01T01:20:00Z").is_empty(),
            "overdue reminders every 30 min, not sooner"
        );
        assert_eq!(at(&mut c, "2026-01-01T01:30:00Z"), [d("partners", true)]);
        let rep = report(&c);
        assert_eq!(
            (rep[0].in_time, rep[0].notified_by.as_str()),
            (false, "ana")
        );
        assert_eq!(grade(&c), "direction late, partners not notified");
        assert!(
            notified(
                &mut c,
                &audiences(),
                "direction",
                t(OPENED),
                t("2026-01-01T02:00:00Z"),
                "bob"
            )
            .expect("known")
            .is_none(),
            "a second notice changes nothing"
        );
        let summary = &remind(&mut c, "DB down", t("2026-01-01T02:00:00Z"), every)[0].summary;
        assert!(
            summary.contains("Notify partners now") && summary.contains("overdue"),
            "{summary}"
        );
    }

    /// Proves: the authority's 72 h clock runs from the declaration, not the
    /// opening; declaring twice changes nothing; an unknown audience is an
    /// error naming the policy's audiences, and changes nothing.
    #[test]
    fn a_declared_clock_runs_from_the_declaration() {
        let mut c = clocks_at_opening(&audiences(), "critical", "", t(OPENED));
        declared(&mut c, &audiences(), "cnil", t("2026-01-01T06:00:00Z"))
            .expect("known")
            .expect("started");
        let cnil = c.iter().find(|c| c.audience == "cnil").expect("clock");
        assert_eq!(cnil.due_at, t("2026-01-04T06:00:00Z"));
        assert!(
            declared(&mut c, &audiences(), "cnil", t("2026-01-01T07:00:00Z"))
                .expect("known")
                .is_none()
        );
        let before = c.clone();
        let e = notified(
            &mut c,
            &audiences(),
            "press",
            t(OPENED),
            t("2026-01-01T07:00:00Z"),
            "x",
        )
        .expect_err("unknown");
        assert!(
            e.contains("no audience `press`") && e.contains("direction, partners, users, cnil")
        );
        assert_eq!(c, before);
    }

    /// Proves: a notice for an audience the class does not concern is still
    /// recorded, on a clock from the opening.
    #[test]
    fn a_notice_outside_the_classes_is_recorded() {
        let mut c = clocks_at_opening(&audiences(), "minor", "Low", t(OPENED));
        notified(
            &mut c,
            &audiences(),
            "partners",
            t(OPENED),
            t("2026-01-01T00:20:00Z"),
            "ana",
        )
        .expect("known")
        .expect("recorded");
        assert_eq!(c[0].in_time(), Some(true));
    }

    /// Proves: bad audiences are refused with the field named.
    #[test]
    fn bad_audiences_are_refused() {
        let classes = vec!["High".to_string()];
        let mut a = audiences();
        assert!(validate(&a, &classes).is_ok());
        a[1].name = "direction".into();
        assert!(validate(&a, &classes)
            .unwrap_err()
            .contains("audiences[1].name"));
        let mut a = audiences();
        a[2].classes = vec!["Urgent".into()];
        assert!(validate(&a, &classes)
            .unwrap_err()
            .contains("`Urgent` is neither"));
        let mut a = audiences();
        a[0].channel = Some("direction".into());
        assert!(validate(&a, &classes)
            .unwrap_err()
            .contains("not a Slack channel"));
        let mut a = audiences();
        a[0].classes.clear();
        assert!(validate(&a, &classes)
            .unwrap_err()
            .contains("audiences[0].classes"));
        let mut a = audiences();
        a[0].within = Span(chrono::TimeDelta::zero());
        assert!(validate(&a, &classes)
            .unwrap_err()
            .contains("audiences[0].within"));
    }

    proptest! {
        /// Proves: whatever the tick times, at most one reminder per tick,
        /// none before the first checkpoint, one at or after the deadline
        /// when nobody notified, and none after the notice.
        #[test]
        fn reminders_are_ordered_and_stop(
            within_min in 1i64..5000,
            every_min in 1i64..600,
            ticks in proptest::collection::vec(1i64..200, 1..80),
            notify_at in proptest::option::of(0usize..80),
        ) {
            let start = t(OPENED);
            let every = Span(chrono::TimeDelta::minutes(every_min));
            let mut c = vec![Clock {
                audience: "direction".into(),
                started_at: start,
                due_at: start + chrono::TimeDelta::minutes(within_min),
                notified_at: None,
                notified_by: String::new(),
                last_reminder_at: None,
            }];
            let due = c[0].due_at;
            let first = [start + (due - start) / 2, due - every.0, due]
                .into_iter()
                .filter(|x| *x >= start)
                .min()
                .expect("a checkpoint");
            let mut now = start;
            let mut after_due = false;
            let mut was_notified = false;
            for (k, step) in ticks.iter().enumerate() {
                now += chrono::TimeDelta::minutes(*step);
                if notify_at == Some(k) {
                    notified(&mut c, &audiences(), "direction", start, now, "x").expect("known");
                    was_notified = true;
                }
                let r = remind(&mut c, "t", now, every);
                prop_assert!(r.len() <= 1);
                if let Some(r) = r.first() {
                    prop_assert!(!was_notified, "a reminder after the notice");
                    prop_assert!(now >= first);
                    after_due |= r.overdue;
                }
            }
            if !was_notified && now >= due {
                prop_assert!(after_due, "no reminder at or after the deadline");
            }
        }
    }
}
