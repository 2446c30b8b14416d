//! Incidents (pure): the policy's `[incidents]` section, classification of
//! alarms and Rempart failures, and the incident state machine: open,
//! re-alarm (flapping folds into one incident), acknowledge, client
//! notified, OK then resolved once the flap window has passed, escalation
//! along the on-call chain when nobody acknowledges within the level's
//! deadline, reminders (client notice for majors, status updates), and the
//! closing report. The store (conditional writes) and the handler act on
//! what these functions decide.
//!
//! Rules: impacts minor / major / critical (majors: client notified within
//! 4 h; every incident gets a post-mortem), levels 1-4 (response within
//! 30 min / 2 h / 4 h / 24 h by default), escalation when nobody answers in
//! time.

use crate::duration::Span;
use crate::time::human;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// Impact classes: minor, major, critical.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    Minor,
    Major,
    Critical,
}

impl Impact {
    pub fn as_str(&self) -> &'static str {
        match self {
            Impact::Minor => "minor",
            Impact::Major => "major",
            Impact::Critical => "critical",
        }
    }

    /// The announcement severity of an incident of this impact.
    pub fn severity(&self) -> crate::announce::Severity {
        match self {
            Impact::Minor => crate::announce::Severity::Warning,
            Impact::Major | Impact::Critical => crate::announce::Severity::Critical,
        }
    }
}

/// A classification rule: every condition given must hold.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Alarm name (or Rempart failure kind) starts with this.
    #[serde(default)]
    pub name_prefix: Option<String>,
    /// The alarm's metric namespace (`AWS/RDS`).
    #[serde(default)]
    pub namespace: Option<String>,
    /// The alarm's description contains this (case-insensitive).
    #[serde(default)]
    pub description_contains: Option<String>,
    pub impact: Impact,
    /// 1 to 4: one of the policy's `[[incidents.levels]]`.
    pub level: u8,
}

/// A level's response deadline.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Level {
    pub level: u8,
    pub respond_within: Span,
}

/// The `[incidents]` section.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IncidentPolicy {
    /// An alarm back to OK resolves its incident only after this long
    /// without a new ALARM (flapping folds into one incident).
    #[serde(default = "d_flap")]
    pub flap_window: Span,
    /// How often to ask for a status update until resolution.
    #[serde(default = "d_update")]
    pub update_every: Span,
    /// Majors: the client is notified within this long (default 4 h).
    #[serde(default = "d_client")]
    pub client_notice_within: Span,
    /// Reminders (client notice) repeat this often until recorded.
    #[serde(default = "d_remind")]
    pub remind_every: Span,
    /// A key that opened this many incidents within `recurring_within` is
    /// flagged as recurring.
    #[serde(default = "d_recurring_count")]
    pub recurring_count: usize,
    #[serde(default = "d_recurring_within")]
    pub recurring_within: Span,
    /// When true, OK does not resolve: a human closes the incident.
    #[serde(default)]
    pub require_human_close: bool,
    #[serde(default = "d_levels")]
    pub levels: Vec<Level>,
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// What an alarm that matches no rule gets: never silence.
    #[serde(default = "d_default")]
    pub default: Default,
}

/// The classification of what matches no rule.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Default {
    pub impact: Impact,
    pub level: u8,
}

fn span(s: &str) -> Span {
    s.parse().expect("constant span")
}
fn d_flap() -> Span {
    span("10min")
}
fn d_update() -> Span {
    span("1h")
}
fn d_client() -> Span {
    span("4h")
}
fn d_remind() -> Span {
    span("30min")
}
fn d_recurring_count() -> usize {
    3
}
fn d_recurring_within() -> Span {
    span("7d")
}
fn d_levels() -> Vec<Level> {
    [(1, "30min"), (2, "2h"), (3, "4h"), (4, "24h")]
        .into_iter()
        .map(|(level, s)| Level {
            level,
            respond_within: span(s),
        })
        .collect()
}
fn d_default() -> Default {
    Default {
        impact: Impact::Major,
        level: 2,
    }
}

impl std::default::Default for IncidentPolicy {
    fn default() -> Self {
        IncidentPolicy {
            flap_window: d_flap(),
            update_every: d_update(),
            client_notice_within: d_client(),
            remind_every: d_remind(),
            recurring_count: d_recurring_count(),
            recurring_within: d_recurring_within(),
            require_human_close: false,
            levels: d_levels(),
            rules: Vec::new(),
            default: d_default(),
        }
    }
}

impl IncidentPolicy {
    /// Checks levels and rules; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for (i, l) in self.levels.iter().enumerate() {
            if !(1..=4).contains(&l.level) || !seen.insert(l.level) {
                return Err(format!(
                    "incidents.levels[{i}].level: {} is not a level 1 to 4 listed once",
                    l.level
                ));
            }
        }
        let known = |l: u8| self.levels.iter().any(|x| x.level == l);
        for (i, r) in self.rules.iter().enumerate() {
            if !known(r.level) {
                return Err(format!(
                    "incidents.rules[{i}].level: level {} has no deadline in incidents.levels",
                    r.level
                ));
            }
        }
        if !known(self.default.level) {
            return Err(format!(
                "incidents.default.level: level {} has no deadline in incidents.levels",
                self.default.level
            ));
        }
        Ok(())
    }

    /// The response deadline of a level.
    pub fn deadline(&self, level: u8) -> TimeDelta {
        self.levels
            .iter()
            .find(|l| l.level == level)
            .map(|l| l.respond_within.0)
            .unwrap_or(TimeDelta::hours(2))
    }

    /// The first rule that matches, else the default; and which rule.
    pub fn classify(&self, s: &Subject) -> Classification {
        for (i, r) in self.rules.iter().enumerate() {
            let ok = r
                .name_prefix
                .as_ref()
                .is_none_or(|p| s.name.starts_with(p.as_str()))
                && r.namespace.as_ref().is_none_or(|n| s.namespace == *n)
                && r.description_contains
                    .as_ref()
                    .is_none_or(|d| s.description.to_lowercase().contains(&d.to_lowercase()));
            if ok {
                return Classification {
                    impact: r.impact,
                    level: r.level,
                    rule: format!("incidents.rules[{i}]"),
                };
            }
        }
        Classification {
            impact: self.default.impact,
            level: self.default.level,
            rule: "incidents.default (no rule matched)".into(),
        }
    }
}

/// What classification looks at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subject {
    pub name: String,
    pub namespace: String,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    pub impact: Impact,
    pub level: u8,
    /// Which rule decided: shown in messages, so nobody wonders why.
    pub rule: String,
}

/// Something that happened to an incident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub at: DateTime<Utc>,
    /// `opened`, `re-alarmed`, `escalated`, `acknowledged`, `client-notified`,
    /// `status-update`, `ok`, `resolved`, `closed`.
    pub what: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub by: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// One incident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// `<key>@<opened_at>`.
    pub id: String,
    /// Dedup key: the alarm ARN, or `<job>#<resource>`.
    pub key: String,
    pub title: String,
    pub class: Classification,
    pub opened_at: DateTime<Utc>,
    /// The time of the last ALARM (or failure) seen: a redelivery of the same
    /// state change changes nothing.
    pub last_alarm_at: DateTime<Utc>,
    #[serde(default)]
    pub acked_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub client_notified_at: Option<DateTime<Utc>>,
    /// Index in the on-call chain paged last (0 = first tier). Never goes back.
    pub escalation: usize,
    pub last_paged_at: DateTime<Utc>,
    #[serde(default)]
    pub last_reminder_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_update_at: DateTime<Utc>,
    /// Back to OK since then (resolution waits for the flap window).
    #[serde(default)]
    pub ok_since: Option<DateTime<Utc>>,
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub recurring: bool,
    pub timeline: Vec<Entry>,
}

/// What the handler must do after a decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "effect")]
pub enum Effect {
    /// Announce on the events topic (`incident.opened`, …).
    Announce { kind: String, summary: String },
    /// Page on-call tier `tier` (index in the chain).
    Page { tier: usize },
}

fn entry(at: DateTime<Utc>, what: &str, by: &str, detail: &str) -> Entry {
    Entry {
        at,
        what: what.into(),
        by: by.into(),
        detail: detail.into(),
    }
}

/// An alarm in ALARM, or a Rempart failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signal {
    /// Dedup key: the alarm ARN, or `<job>#<resource>`.
    pub key: String,
    pub title: String,
    pub class: Classification,
    /// When the state changed (event time).
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// An alarm (or a Rempart failure). `current` is the incident open for its
/// key, if any; `recent_openings` how many incidents the key opened within
/// the policy's recurring window.
pub fn on_alarm(
    current: Option<&Incident>,
    signal: &Signal,
    recent_openings: usize,
    policy: &IncidentPolicy,
) -> (Option<Incident>, Vec<Effect>) {
    let Signal {
        key,
        title,
        class,
        at,
        reason,
    } = signal;
    let (at, class) = (*at, class.clone());
    match current {
        Some(i) if at <= i.last_alarm_at => (None, vec![]), // a redelivery
        Some(i) => {
            let mut n = i.clone();
            n.last_alarm_at = at;
            let flapped = n.ok_since.take().is_some();
            n.timeline.push(entry(
                at,
                "re-alarmed",
                "",
                if flapped {
                    "back in ALARM within the flap window: same incident"
                } else {
                    reason
                },
            ));
            (Some(n), vec![])
        }
        None => {
            let recurring = recent_openings + 1 >= policy.recurring_count;
            let n = Incident {
                id: format!("{key}@{}", crate::time::rfc3339(at)),
                key: key.clone(),
                title: title.clone(),
                class: class.clone(),
                opened_at: at,
                last_alarm_at: at,
                acked_at: None,
                client_notified_at: None,
                escalation: 0,
                last_paged_at: at,
                last_reminder_at: None,
                last_update_at: at,
                ok_since: None,
                resolved_at: None,
                recurring,
                timeline: vec![entry(at, "opened", "", reason)],
            };
            let summary = format!(
                "Incident opened: {title} ({}, level {}, respond within {}){}",
                class.impact.as_str(),
                class.level,
                human(policy.deadline(class.level).num_seconds()),
                if recurring {
                    format!(
                        "; recurring: {} incidents for this key within {}",
                        recent_openings + 1,
                        human(policy.recurring_within.0.num_seconds())
                    )
                } else {
                    String::new()
                }
            );
            (
                Some(n),
                vec![
                    Effect::Announce {
                        kind: "incident.opened".into(),
                        summary,
                    },
                    Effect::Page { tier: 0 },
                ],
            )
        }
    }
}

/// Back to OK (or the job succeeded again).
pub fn on_ok(i: &Incident, at: DateTime<Utc>, policy: &IncidentPolicy) -> Option<Incident> {
    if i.ok_since.is_some() || at < i.last_alarm_at || policy.require_human_close {
        return None;
    }
    let mut n = i.clone();
    n.ok_since = Some(at);
    n.timeline.push(entry(
        at,
        "ok",
        "",
        "back to OK; resolved once the flap window passes",
    ));
    Some(n)
}

/// A human acknowledges: escalation stops.
pub fn on_ack(i: &Incident, at: DateTime<Utc>, by: &str) -> Option<(Incident, Vec<Effect>)> {
    if i.acked_at.is_some() {
        return None;
    }
    let mut n = i.clone();
    n.acked_at = Some(at);
    n.timeline.push(entry(at, "acknowledged", by, ""));
    Some((
        n,
        vec![Effect::Announce {
            kind: "incident.acknowledged".into(),
            summary: format!("Incident acknowledged by {by}: {}", i.title),
        }],
    ))
}

/// The client notification was sent.
pub fn on_client_notified(i: &Incident, at: DateTime<Utc>, by: &str) -> Option<Incident> {
    if i.client_notified_at.is_some() {
        return None;
    }
    let mut n = i.clone();
    n.client_notified_at = Some(at);
    n.timeline.push(entry(at, "client-notified", by, ""));
    Some(n)
}

/// A status update was posted.
pub fn on_status_update(i: &Incident, at: DateTime<Utc>, by: &str, note: &str) -> Incident {
    let mut n = i.clone();
    n.last_update_at = at;
    n.timeline.push(entry(at, "status-update", by, note));
    n
}

/// The minute tick: escalate what nobody acknowledged in time, remind the
/// client notice of majors, ask for status updates, resolve what stayed OK
/// through the flap window. `tiers` is the length of the on-call chain.
/// Returns the new state if anything changed.
pub fn on_tick(
    i: &Incident,
    now: DateTime<Utc>,
    tiers: usize,
    policy: &IncidentPolicy,
) -> Option<(Incident, Vec<Effect>)> {
    let mut n = i.clone();
    let mut fx = Vec::new();
    if let Some(ok) = i.ok_since {
        if now - ok >= policy.flap_window.0 {
            n.resolved_at = Some(now);
            n.timeline
                .push(entry(now, "resolved", "", "OK for the whole flap window"));
            fx.push(Effect::Announce {
                kind: "incident.resolved".into(),
                summary: format!("Incident resolved: {}", i.title),
            });
            return Some((n, fx));
        }
    }
    let deadline = policy.deadline(i.class.level);
    if i.acked_at.is_none() && now - i.last_paged_at >= deadline && i.escalation + 1 < tiers {
        n.escalation += 1;
        n.last_paged_at = now;
        n.timeline.push(entry(
            now,
            "escalated",
            "",
            &format!(
                "not acknowledged within {}: tier {}",
                human(deadline.num_seconds()),
                n.escalation + 1
            ),
        ));
        fx.push(Effect::Announce {
            kind: "incident.escalated".into(),
            summary: format!(
                "Incident not acknowledged within {}: escalated to on-call tier {}: {}",
                human(deadline.num_seconds()),
                n.escalation + 1,
                i.title
            ),
        });
        fx.push(Effect::Page { tier: n.escalation });
    }
    if i.class.impact >= Impact::Major && i.client_notified_at.is_none() {
        let due = i.opened_at + policy.client_notice_within.0;
        let last = i.last_reminder_at.unwrap_or(i.opened_at);
        if now - last >= policy.remind_every.0 || (i.last_reminder_at.is_none() && now >= due) {
            n.last_reminder_at = Some(now);
            fx.push(Effect::Announce {
                kind: "incident.client-notice-due".into(),
                summary: format!(
                    "Client notification for this major incident is due by {} ({}): {}",
                    crate::time::rfc3339(due),
                    if now >= due {
                        "overdue"
                    } else {
                        "not yet recorded"
                    },
                    i.title
                ),
            });
        }
    }
    if now - i.last_update_at >= policy.update_every.0 {
        n.last_update_at = now;
        fx.push(Effect::Announce {
            kind: "incident.update-due".into(),
            summary: format!(
                "Status update due (every {}): {}",
                human(policy.update_every.0.num_seconds()),
                i.title
            ),
        });
    }
    (n != *i).then_some((n, fx))
}

/// The closing report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub id: String,
    pub title: String,
    pub impact: Impact,
    pub level: u8,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub time_to_acknowledge_s: Option<i64>,
    pub time_to_resolve_s: Option<i64>,
    pub response_deadline_s: i64,
    pub acknowledged_in_time: Option<bool>,
    /// Majors only.
    pub client_notified_in_time: Option<bool>,
    pub escalations: usize,
    pub recurring: bool,
    pub timeline: Vec<Entry>,
    /// A post-mortem skeleton to fill (every incident gets one).
    pub post_mortem: String,
}

pub fn report(i: &Incident, policy: &IncidentPolicy) -> Report {
    let deadline = policy.deadline(i.class.level);
    let tta = i.acked_at.map(|a| (a - i.opened_at).num_seconds());
    Report {
        id: i.id.clone(),
        title: i.title.clone(),
        impact: i.class.impact,
        level: i.class.level,
        opened_at: i.opened_at,
        resolved_at: i.resolved_at,
        time_to_acknowledge_s: tta,
        time_to_resolve_s: i.resolved_at.map(|r| (r - i.opened_at).num_seconds()),
        response_deadline_s: deadline.num_seconds(),
        acknowledged_in_time: Some(tta.is_some_and(|t| t <= deadline.num_seconds())),
        client_notified_in_time: (i.class.impact >= Impact::Major).then(|| {
            i.client_notified_at
                .is_some_and(|c| c - i.opened_at <= policy.client_notice_within.0)
        }),
        escalations: i.escalation,
        recurring: i.recurring,
        timeline: i.timeline.clone(),
        post_mortem: format!(
            "# Post-mortem: {}\n\n- Incident: {}\n- Impact: {} (level {})\n- Opened: {}\n- Resolved: {}\n\n## Summary\n\n## Timeline\n{}\n\n## Root cause\n\n## What went well\n\n## What went wrong\n\n## Actions (owner, due date)\n",
            i.title,
            i.id,
            i.class.impact.as_str(),
            i.class.level,
            crate::time::rfc3339(i.opened_at),
            i.resolved_at.map(crate::time::rfc3339).unwrap_or_else(|| "-".into()),
            i.timeline
                .iter()
                .map(|e| format!("- {} {}{}{}", crate::time::rfc3339(e.at), e.what,
                    if e.by.is_empty() { String::new() } else { format!(" by {}", e.by) },
                    if e.detail.is_empty() { String::new() } else { format!(": {}", e.detail) }))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    fn policy() -> IncidentPolicy {
        let mut p = IncidentPolicy::default();
        p.rules.push(Rule {
            name_prefix: Some("rempart-".into()),
            namespace: None,
            description_contains: None,
            impact: Impact::Major,
            level: 2,
        });
        p.rules.push(Rule {
            name_prefix: None,
            namespace: Some("AWS/RDS".into()),
            description_contains: Some("critical".into()),
            impact: Impact::Critical,
            level: 3,
        });
        p
    }

    fn sig(key: &str, class: Classification, at: &str) -> Signal {
        Signal {
            key: key.into(),
            title: "DB down".into(),
            class,
            at: t(at),
            reason: "threshold crossed".into(),
        }
    }

    fn open(p: &IncidentPolicy, impact: Impact, level: u8, at: &str) -> Incident {
        let class = Classification {
            impact,
            level,
            rule: "test".into(),
        };
        let signal = Signal {
            key: "arn:alarm".into(),
            title: "DB down".into(),
            class,
            at: t(at),
            reason: "threshold crossed".into(),
        };
        on_alarm(None, &signal, 0, p).0.expect("opened")
    }

    /// Proves: rules match in order on name, namespace and description; an
    /// alarm matching none gets the stated default, never silence.
    #[test]
    fn classification_follows_the_rules_then_the_default() {
        let p = policy();
        let s = |name: &str, ns: &str, d: &str| Subject {
            name: name.into(),
            namespace: ns.into(),
            description: d.into(),
        };
        assert_eq!(
            p.classify(&s("rempart-snapshot-scheduler-errors", "AWS/Lambda", ""))
                .level,
            2
        );
        let c = p.classify(&s("db-cpu", "AWS/RDS", "CRITICAL: primary down"));
        assert_eq!((c.impact, c.level), (Impact::Critical, 3));
        let c = p.classify(&s("db-cpu", "AWS/RDS", "slow"));
        assert_eq!((c.impact, c.level), (Impact::Major, 2));
        assert!(c.rule.contains("default"));
        assert_eq!(p.deadline(1), TimeDelta::minutes(30));
        assert_eq!(p.deadline(4), TimeDelta::hours(24));
    }

    /// Proves: the same state change delivered again changes nothing; a new
    /// ALARM after OK within the flap window is the same incident.
    #[test]
    fn redeliveries_and_flapping_keep_one_incident() {
        let p = policy();
        let i = open(&p, Impact::Major, 2, "2025-11-23T02:00:00Z");
        let class = i.class.clone();
        assert_eq!(
            on_alarm(
                Some(&i),
                &Signal {
                    key: i.key.clone(),
                    title: "DB down".into(),
                    class: class.clone(),
                    at: t("2025-11-23T02:00:00Z"),
                    reason: "".into()
                },
                0,
                &p
            ),
            (None, vec![])
        );
        let ok = on_ok(&i, t("2025-11-23T02:03:00Z"), &p).expect("ok");
        let (again, fx) = on_alarm(
            Some(&ok),
            &Signal {
                key: i.key.clone(),
                title: "DB down".into(),
                class,
                at: t("2025-11-23T02:05:00Z"),
                reason: "".into(),
            },
            0,
            &p,
        );
        let again = again.expect("updated");
        assert!(fx.is_empty(), "no second opening");
        assert_eq!(again.id, i.id);
        assert!(again.ok_since.is_none());
        assert_eq!(
            again.timeline.last().map(|e| e.what.as_str()),
            Some("re-alarmed")
        );
        // Flapping never resolves: the tick sees no ok_since.
        assert!(on_tick(&again, t("2025-11-23T02:20:00Z"), 3, &p)
            .is_none_or(|(n, _)| n.resolved_at.is_none()));
    }

    /// Proves: the tick escalates after the level's deadline and not before,
    /// one tier per deadline, never back, never past the chain; an ack stops it.
    #[test]
    fn escalation_follows_the_deadline_until_acknowledged() {
        let p = policy();
        let i = open(&p, Impact::Major, 2, "2025-11-23T02:00:00Z");
        let before = on_tick(&i, t("2025-11-23T03:59:00Z"), 3, &p);
        assert!(before.as_ref().is_none_or(|(n, _)| n.escalation == 0));
        let (e1, fx) = on_tick(&i, t("2025-11-23T04:00:00Z"), 3, &p).expect("escalated");
        assert_eq!(e1.escalation, 1);
        assert!(fx.contains(&Effect::Page { tier: 1 }));
        let (e2, _) = on_tick(&e1, t("2025-11-23T06:00:00Z"), 3, &p).expect("escalated");
        assert_eq!(e2.escalation, 2);
        let last = on_tick(&e2, t("2025-11-23T08:00:00Z"), 3, &p);
        assert!(
            last.is_none_or(|(n, _)| n.escalation == 2),
            "the chain has 3 tiers"
        );
        let (acked, _) = on_ack(&i, t("2025-11-23T02:10:00Z"), "alice").expect("acked");
        let after = on_tick(&acked, t("2025-11-23T05:00:00Z"), 3, &p);
        assert!(after.is_none_or(
            |(n, fx)| n.escalation == 0 && !fx.iter().any(|f| matches!(f, Effect::Page { .. }))
        ));
        assert!(
            on_ack(&acked, t("2025-11-23T02:11:00Z"), "bob").is_none(),
            "acknowledged once"
        );
    }

    /// Proves: the client-notification reminder fires for majors only, stops
    /// once the notice is recorded, and the report tells whether it was in time.
    #[test]
    fn client_notice_reminders_are_for_majors_only() {
        let p = policy();
        let reminds = |i: &Incident, at: &str| {
            on_tick(i, t(at), 1, &p).is_some_and(|(_, fx)| {
                fx.iter().any(|f| matches!(f, Effect::Announce { kind, .. } if kind == "incident.client-notice-due"))
            })
        };
        let major = open(&p, Impact::Major, 2, "2025-11-23T02:00:00Z");
        let minor = open(&p, Impact::Minor, 1, "2025-11-23T02:00:00Z");
        assert!(reminds(&major, "2025-11-23T02:30:00Z"));
        assert!(!reminds(&minor, "2025-11-23T02:30:00Z"));
        assert!(!reminds(&minor, "2025-11-23T06:30:00Z"));
        let sent =
            on_client_notified(&major, t("2025-11-23T03:00:00Z"), "carol").expect("recorded");
        assert!(!reminds(&sent, "2025-11-23T06:30:00Z"));
        let mut closed = sent.clone();
        closed.resolved_at = Some(t("2025-11-23T07:00:00Z"));
        let r = report(&closed, &p);
        assert_eq!(r.client_notified_in_time, Some(true));
        assert_eq!(r.acknowledged_in_time, Some(false));
        assert_eq!(r.time_to_resolve_s, Some(5 * 3600));
        assert!(r.post_mortem.contains("## Root cause"));
        assert_eq!(report(&minor, &p).client_notified_in_time, None);
    }

    /// Proves: OK resolves only after the flap window; with
    /// `require_human_close`, OK does not resolve at all.
    #[test]
    fn ok_resolves_after_the_flap_window() {
        let p = policy();
        let i = open(&p, Impact::Minor, 1, "2025-11-23T02:00:00Z");
        let ok = on_ok(&i, t("2025-11-23T02:10:00Z"), &p).expect("ok");
        assert!(on_tick(&ok, t("2025-11-23T02:15:00Z"), 3, &p)
            .is_none_or(|(n, _)| n.resolved_at.is_none()));
        let (done, fx) = on_tick(&ok, t("2025-11-23T02:20:00Z"), 3, &p).expect("resolved");
        assert_eq!(done.resolved_at, Some(t("2025-11-23T02:20:00Z")));
        assert!(fx
            .iter()
            .any(|f| matches!(f, Effect::Announce { kind, .. } if kind == "incident.resolved")));
        let human = IncidentPolicy {
            require_human_close: true,
            ..policy()
        };
        assert!(on_ok(&i, t("2025-11-23T02:10:00Z"), &human).is_none());
    }

    /// Proves: the Nth opening of a key within the window is flagged recurring.
    #[test]
    fn recurring_keys_are_flagged() {
        let p = policy();
        let class = Classification {
            impact: Impact::Minor,
            level: 1,
            rule: "r".into(),
        };
        let (i, fx) = on_alarm(None, &sig("k", class, "2025-11-23T02:00:00Z"), 2, &p);
        assert!(i.expect("opened").recurring);
        assert!(fx.iter().any(
            |f| matches!(f, Effect::Announce { summary, .. } if summary.contains("recurring"))
        ));
    }
}
