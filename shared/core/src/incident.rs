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
//! 30 min / 2 h / 4 h / 24 h by default), or the policy's own classes
//! (`[[incidents.classes]]`: Critical / High / Medium / Low, say). A level or
//! class names the on-call tiers paged at once when an incident opens; the
//! next tier of the chain is paged each `escalate_every` nobody
//! acknowledges: never back, never skipping a tier, never after an
//! acknowledgement.

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

    /// `minor`, `major`, `critical` (as the policy writes them).
    pub fn parse(s: &str) -> Option<Impact> {
        match s {
            "minor" => Some(Impact::Minor),
            "major" => Some(Impact::Major),
            "critical" => Some(Impact::Critical),
            _ => None,
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
    /// One of the policy's `[[incidents.classes]]`; or `impact` and `level`.
    #[serde(default)]
    pub class: Option<String>,
    #[serde(default)]
    pub impact: Option<Impact>,
    /// 1 to 4: one of the policy's `[[incidents.levels]]`.
    #[serde(default)]
    pub level: Option<u8>,
}

/// A level's response deadline, and whom it pages.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Level {
    pub level: u8,
    pub respond_within: Span,
    /// On-call tiers (Terraform's `oncall_tiers`) paged at once when an
    /// incident of this level opens. Empty: the first tier.
    #[serde(default)]
    pub page: Vec<String>,
    /// Unacknowledged this long, the next tier of the chain is paged.
    /// Default: `respond_within`.
    #[serde(default)]
    pub escalate_every: Option<Span>,
}

/// A class of the policy's own scale (`[[incidents.classes]]`), instead of
/// impact and level.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Class {
    /// As rules and messages name it: `Critical`.
    pub name: String,
    /// What it means for severity and the client notice (majors and
    /// criticals get one).
    pub impact: Impact,
    /// Acknowledged within this long, or the report says late.
    pub respond_within: Span,
    /// On-call tiers paged at once when it opens. Empty: the first tier.
    #[serde(default)]
    pub page: Vec<String>,
    /// Unacknowledged this long, the next tier of the chain is paged.
    /// Default: `respond_within`.
    #[serde(default)]
    pub escalate_every: Option<Span>,
}

/// Whom an incident pages: `page` at once, then the next tier of the chain
/// every `every` until acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paging {
    pub page: Vec<String>,
    pub every: TimeDelta,
}

/// The chain indices `page` names: the first tier when it names none. Every
/// name must be a tier of the chain, and the tiers must follow each other in
/// it (escalation goes on from the last one and never skips a tier).
pub fn tiers_to_page(page: &[String], chain: &[String]) -> Result<Vec<usize>, String> {
    if page.is_empty() {
        return Ok(vec![0]);
    }
    if chain.is_empty() {
        return Err(format!(
            "pages {} but no on-call tiers are deployed (Terraform's oncall_tiers is empty)",
            page.join(", ")
        ));
    }
    let mut idx = Vec::new();
    for name in page {
        let Some(i) = chain.iter().position(|t| t == name) else {
            return Err(format!(
                "`{name}` is not an on-call tier (oncall_tiers: {})",
                chain.join(", ")
            ));
        };
        idx.push(i);
    }
    idx.sort_unstable();
    idx.dedup();
    if let Some(w) = idx.windows(2).find(|w| w[1] != w[0] + 1) {
        return Err(format!(
            "pages `{}` and `{}` but not `{}` between them in oncall_tiers ({}): escalation would skip it; page it too or reorder oncall_tiers",
            chain[w[0]],
            chain[w[1]],
            chain[w[0] + 1],
            chain.join(", ")
        ));
    }
    Ok(idx)
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
    /// The policy's own class scale; rules then name a class.
    #[serde(default)]
    pub classes: Vec<Class>,
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Who else must hear, and by when (direction, partners, the
    /// authority).
    #[serde(default)]
    pub audiences: Vec<crate::audience::Audience>,
    /// What an alarm that matches no rule gets: never silence.
    #[serde(default = "d_default")]
    pub default: Default,
}

/// The classification of what matches no rule: a class, or impact and
/// level.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Default {
    #[serde(default)]
    pub class: Option<String>,
    #[serde(default)]
    pub impact: Option<Impact>,
    #[serde(default)]
    pub level: Option<u8>,
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
            page: Vec::new(),
            escalate_every: None,
        })
        .collect()
}
fn d_default() -> Default {
    Default {
        class: None,
        impact: Some(Impact::Major),
        level: Some(2),
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
            classes: Vec::new(),
            rules: Vec::new(),
            audiences: Vec::new(),
            default: d_default(),
        }
    }
}

impl IncidentPolicy {
    /// Checks levels, classes and rules; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for (i, l) in self.levels.iter().enumerate() {
            if !(1..=4).contains(&l.level) || !seen.insert(l.level) {
                return Err(format!(
                    "incidents.levels[{i}].level: {} is not a level 1 to 4 listed once",
                    l.level
                ));
            }
            check_paging(
                &format!("incidents.levels[{i}]"),
                &l.page,
                &l.escalate_every,
            )?;
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, c) in self.classes.iter().enumerate() {
            if c.name.trim().is_empty() || !names.insert(c.name.as_str()) {
                return Err(format!(
                    "incidents.classes[{i}].name: `{}` is not a class name listed once",
                    c.name
                ));
            }
            check_paging(
                &format!("incidents.classes[{i}]"),
                &c.page,
                &c.escalate_every,
            )?;
        }
        for (i, r) in self.rules.iter().enumerate() {
            self.resolve(
                &format!("incidents.rules[{i}]"),
                &r.class,
                r.impact,
                r.level,
            )?;
        }
        let d = &self.default;
        self.resolve("incidents.default", &d.class, d.impact, d.level)?;
        let classes: Vec<String> = self.classes.iter().map(|c| c.name.clone()).collect();
        crate::audience::validate(&self.audiences, &classes)?;
        Ok(())
    }

    /// Whether every level and class pages tiers of `chain` (Terraform's
    /// `oncall_tiers`, in order) that follow each other.
    pub fn check_tiers(&self, chain: &[String]) -> Result<(), String> {
        for l in &self.levels {
            tiers_to_page(&l.page, chain)
                .map_err(|e| format!("incidents.levels (level {}): {e}", l.level))?;
        }
        for c in &self.classes {
            tiers_to_page(&c.page, chain)
                .map_err(|e| format!("incidents.classes (`{}`): {e}", c.name))?;
        }
        for a in &self.audiences {
            if let Some(t) = &a.topic {
                tiers_to_page(std::slice::from_ref(t), chain)
                    .map_err(|e| format!("incidents.audiences (`{}`).topic: {e}", a.name))?;
            }
        }
        Ok(())
    }

    /// A rule's (or the default's) classification, or what is wrong with it.
    fn resolve(
        &self,
        field: &str,
        class: &Option<String>,
        impact: Option<Impact>,
        level: Option<u8>,
    ) -> Result<(Impact, u8, String), String> {
        match (class, impact, level) {
            (Some(name), None, None) => self
                .classes
                .iter()
                .find(|c| &c.name == name)
                .map(|c| (c.impact, 0, c.name.clone()))
                .ok_or_else(|| {
                    format!(
                        "{field}.class: `{name}` is not one of incidents.classes ({})",
                        self.classes
                            .iter()
                            .map(|c| c.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }),
            (None, Some(impact), Some(level)) => {
                if self.levels.iter().any(|x| x.level == level) {
                    Ok((impact, level, String::new()))
                } else {
                    Err(format!(
                        "{field}.level: level {level} has no deadline in incidents.levels"
                    ))
                }
            }
            _ => Err(format!(
                "{field}: give either `class` (one of incidents.classes) or both `impact` and `level`"
            )),
        }
    }

    fn class_named(&self, name: &str) -> Option<&Class> {
        self.classes.iter().find(|c| c.name == name)
    }

    /// The response deadline of a level.
    pub fn deadline(&self, level: u8) -> TimeDelta {
        self.levels
            .iter()
            .find(|l| l.level == level)
            .map(|l| l.respond_within.0)
            .unwrap_or(TimeDelta::hours(2))
    }

    /// The response deadline of a classification: its class's, else its
    /// level's.
    pub fn respond_within(&self, c: &Classification) -> TimeDelta {
        match self.class_named(&c.class) {
            Some(k) => k.respond_within.0,
            None => self.deadline(c.level),
        }
    }

    /// Whom a classification pages, and how often it escalates. A class
    /// since removed from the policy pages the first tier at its level's
    /// pace: never silence.
    pub fn paging(&self, c: &Classification) -> Paging {
        if let Some(k) = self.class_named(&c.class) {
            return Paging {
                page: k.page.clone(),
                every: k.escalate_every.as_ref().unwrap_or(&k.respond_within).0,
            };
        }
        match self.levels.iter().find(|l| l.level == c.level) {
            Some(l) => Paging {
                page: l.page.clone(),
                every: l.escalate_every.as_ref().unwrap_or(&l.respond_within).0,
            },
            None => Paging {
                page: Vec::new(),
                every: self.deadline(c.level),
            },
        }
    }

    /// The first rule that matches, else the default; and which rule.
    pub fn classify(&self, s: &Subject) -> Classification {
        let pick = |field: String, class: &Option<String>, impact, level| {
            let (impact, level, class) = self
                .resolve(&field, class, impact, level)
                // Validation refuses this; should a stored policy hold it,
                // the incident is still opened, as a major.
                .unwrap_or((Impact::Major, 2, String::new()));
            Classification {
                impact,
                level,
                class,
                rule: field,
            }
        };
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
                return pick(format!("incidents.rules[{i}]"), &r.class, r.impact, r.level);
            }
        }
        let d = &self.default;
        pick(
            "incidents.default (no rule matched)".into(),
            &d.class,
            d.impact,
            d.level,
        )
    }
}

fn check_paging(field: &str, page: &[String], every: &Option<Span>) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    if let Some(t) = page
        .iter()
        .find(|t| t.trim().is_empty() || !seen.insert(*t))
    {
        return Err(format!(
            "{field}.page: `{t}` is empty or listed twice; name on-call tiers of oncall_tiers once each"
        ));
    }
    if every.as_ref().is_some_and(|e| e.0 <= TimeDelta::zero()) {
        return Err(format!("{field}.escalate_every: must be longer than zero"));
    }
    Ok(())
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
    /// 1 to 4; 0 for a class of the policy's own scale.
    pub level: u8,
    /// The policy's class (`[[incidents.classes]]`); empty with levels.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub class: String,
    /// Which rule decided: shown in messages, so nobody wonders why.
    pub rule: String,
}

impl Classification {
    /// As messages say it: `class High (major)` or `critical, level 3`.
    pub fn label(&self) -> String {
        if self.class.is_empty() {
            format!("{}, level {}", self.impact.as_str(), self.level)
        } else {
            format!("class {} ({})", self.class, self.impact.as_str())
        }
    }
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
    /// The lowest tier paged when it opened: tiers `first_tier..=escalation`
    /// have been paged.
    #[serde(default)]
    pub first_tier: usize,
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
    /// The audiences' clocks (`[[incidents.audiences]]`).
    #[serde(default)]
    pub audiences: Vec<crate::audience::Clock>,
    pub timeline: Vec<Entry>,
}

impl Incident {
    /// The chain indices paged so far, each once.
    pub fn paged(&self) -> Vec<usize> {
        (self.first_tier.min(self.escalation)..=self.escalation).collect()
    }
}

/// What the handler must do after a decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "effect")]
pub enum Effect {
    /// Announce on the events topic (`incident.opened`, …).
    Announce { kind: String, summary: String },
    /// Page on-call tier `tier` (index in the chain).
    Page { tier: usize },
    /// Remind that `audience` must be notified (`incident.audience-due`).
    Remind {
        audience: String,
        due_at: DateTime<Utc>,
        overdue: bool,
        summary: String,
    },
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
/// the policy's recurring window; `chain` the on-call tiers in escalation
/// order. A new incident pages its level's or class's tiers at once; should
/// they not fit the chain, it pages the first tier and says why.
pub fn on_alarm(
    current: Option<&Incident>,
    signal: &Signal,
    recent_openings: usize,
    policy: &IncidentPolicy,
    chain: &[String],
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
            let paging = policy.paging(&class);
            let (tiers, problem) = match tiers_to_page(&paging.page, chain) {
                Ok(t) => (t, None),
                Err(e) => (vec![0], Some(e)),
            };
            let paged = tier_names(&tiers, chain);
            let mut timeline = vec![entry(at, "opened", "", reason)];
            timeline.push(entry(
                at,
                "paged",
                "",
                &match &problem {
                    None => paged.clone(),
                    Some(e) => format!("{paged}: the policy's paging {e}"),
                },
            ));
            let n = Incident {
                id: format!("{key}@{}", crate::time::rfc3339(at)),
                key: key.clone(),
                title: title.clone(),
                class: class.clone(),
                opened_at: at,
                last_alarm_at: at,
                acked_at: None,
                client_notified_at: None,
                escalation: tiers.iter().copied().max().unwrap_or(0),
                first_tier: tiers.iter().copied().min().unwrap_or(0),
                last_paged_at: at,
                last_reminder_at: None,
                last_update_at: at,
                ok_since: None,
                resolved_at: None,
                recurring,
                audiences: crate::audience::clocks_at_opening(
                    &policy.audiences,
                    class.impact.as_str(),
                    &class.class,
                    at,
                ),
                timeline,
            };
            let notify = n
                .audiences
                .iter()
                .map(|c| format!("{} by {}", c.audience, crate::time::rfc3339(c.due_at)))
                .collect::<Vec<_>>();
            let summary = format!(
                "Incident opened: {title} ({}, respond within {}; paged {paged}){}{}{}",
                class.label(),
                human(policy.respond_within(&class).num_seconds()),
                if notify.is_empty() {
                    String::new()
                } else {
                    format!("; notify {}", notify.join(", "))
                },
                if recurring {
                    format!(
                        "; recurring: {} incidents for this key within {}",
                        recent_openings + 1,
                        human(policy.recurring_within.0.num_seconds())
                    )
                } else {
                    String::new()
                },
                problem
                    .map(|e| format!("; fix the policy: its paging {e}"))
                    .unwrap_or_default()
            );
            let mut fx = vec![Effect::Announce {
                kind: "incident.opened".into(),
                summary,
            }];
            fx.extend(tiers.into_iter().map(|tier| Effect::Page { tier }));
            (Some(n), fx)
        }
    }
}

/// `tier 1 (devops), tier 2 (lead-dev)`: tiers by position and name.
pub fn tier_names(tiers: &[usize], chain: &[String]) -> String {
    tiers
        .iter()
        .map(|&t| tier_name(t, chain))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `tier 2 (lead-dev)`, or `tier 2` when the chain has no such tier.
pub fn tier_name(tier: usize, chain: &[String]) -> String {
    match chain.get(tier) {
        Some(n) => format!("tier {} ({n})", tier + 1),
        None => format!("tier {}", tier + 1),
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

/// An audience (`[[incidents.audiences]]`) was notified: its reminders
/// stop. Unknown audience: an error and nothing changes; already recorded:
/// None.
pub fn on_audience_notified(
    i: &Incident,
    policy: &IncidentPolicy,
    audience: &str,
    at: DateTime<Utc>,
    by: &str,
) -> Result<Option<Incident>, String> {
    let mut n = i.clone();
    let line = crate::audience::notified(
        &mut n.audiences,
        &policy.audiences,
        audience,
        i.opened_at,
        at,
        by,
    )?;
    Ok(line.map(|l| {
        n.timeline.push(entry(at, "audience-notified", by, &l));
        n
    }))
}

/// An audience's clock starts now (`starts = "declared"`). Unknown
/// audience: an error; a clock already running: None.
pub fn on_audience_declared(
    i: &Incident,
    policy: &IncidentPolicy,
    audience: &str,
    at: DateTime<Utc>,
    by: &str,
) -> Result<Option<Incident>, String> {
    let mut n = i.clone();
    let line = crate::audience::declared(&mut n.audiences, &policy.audiences, audience, at)?;
    Ok(line.map(|l| {
        n.timeline.push(entry(at, "audience-clock-started", by, &l));
        n
    }))
}

/// A status update was posted.
pub fn on_status_update(i: &Incident, at: DateTime<Utc>, by: &str, note: &str) -> Incident {
    let mut n = i.clone();
    n.last_update_at = at;
    n.timeline.push(entry(at, "status-update", by, note));
    n
}

/// The minute tick: escalate what nobody acknowledged in time (one more
/// tier of `chain`, the on-call tiers in order, each `escalate_every`),
/// remind the client notice of majors, ask for status updates, resolve what
/// stayed OK through the flap window. Returns the new state if anything
/// changed.
pub fn on_tick(
    i: &Incident,
    now: DateTime<Utc>,
    chain: &[String],
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
    let every = policy.paging(&i.class).every;
    if i.acked_at.is_none() && now - i.last_paged_at >= every && i.escalation + 1 < chain.len() {
        n.escalation += 1;
        n.last_paged_at = now;
        let tier = tier_name(n.escalation, chain);
        n.timeline.push(entry(
            now,
            "escalated",
            "",
            &format!(
                "not acknowledged within {}: {tier}",
                human(every.num_seconds()),
            ),
        ));
        fx.push(Effect::Announce {
            kind: "incident.escalated".into(),
            summary: format!(
                "Incident not acknowledged within {}: escalated to on-call {tier}: {}",
                human(every.num_seconds()),
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
    for r in crate::audience::remind(&mut n.audiences, &i.title, now, policy.remind_every) {
        fx.push(Effect::Remind {
            audience: r.audience,
            due_at: r.due_at,
            overdue: r.overdue,
            summary: r.summary,
        });
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
    /// The policy's class, when it has its own scale.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub class: String,
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
    /// Each audience's deadline and notice.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<crate::audience::AudienceReport>,
    pub timeline: Vec<Entry>,
    /// A post-mortem skeleton to fill (every incident gets one).
    pub post_mortem: String,
}

pub fn report(i: &Incident, policy: &IncidentPolicy) -> Report {
    let deadline = policy.respond_within(&i.class);
    let tta = i.acked_at.map(|a| (a - i.opened_at).num_seconds());
    Report {
        id: i.id.clone(),
        title: i.title.clone(),
        impact: i.class.impact,
        level: i.class.level,
        class: i.class.class.clone(),
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
        audiences: crate::audience::report(&i.audiences),
        timeline: i.timeline.clone(),
        post_mortem: format!(
            "# Post-mortem: {}\n\n- Incident: {}\n- Class: {}\n- Opened: {}\n- Resolved: {}\n- Audiences: {}\n\n## Summary\n\n## Timeline\n{}\n\n## Root cause\n\n## What went well\n\n## What went wrong\n\n## Actions (owner, due date)\n",
            i.title,
            i.id,
            i.class.label(),
            crate::time::rfc3339(i.opened_at),
            i.resolved_at.map(crate::time::rfc3339).unwrap_or_else(|| "-".into()),
            match crate::audience::grade(&i.audiences) {
                g if g.is_empty() => "-".to_string(),
                g => g,
            },
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
            class: None,
            impact: Some(Impact::Major),
            level: Some(2),
        });
        p.rules.push(Rule {
            name_prefix: None,
            namespace: Some("AWS/RDS".into()),
            description_contains: Some("critical".into()),
            class: None,
            impact: Some(Impact::Critical),
            level: Some(3),
        });
        p
    }

    fn chain() -> Vec<String> {
        ["devops", "lead-dev", "cto"].map(String::from).to_vec()
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
            class: String::new(),
            rule: "test".into(),
        };
        let signal = Signal {
            key: "arn:alarm".into(),
            title: "DB down".into(),
            class,
            at: t(at),
            reason: "threshold crossed".into(),
        };
        on_alarm(None, &signal, 0, p, &chain()).0.expect("opened")
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
                &p,
                &chain()
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
            &chain(),
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
        assert!(
            on_tick(&again, t("2025-11-23T02:20:00Z"), &chain()[..3], &p)
                .is_none_or(|(n, _)| n.resolved_at.is_none())
        );
    }

    /// Proves: the tick escalates after the level's deadline and not before,
    /// one tier per deadline, never back, never past the chain; an ack stops it.
    #[test]
    fn escalation_follows_the_deadline_until_acknowledged() {
        let p = policy();
        let i = open(&p, Impact::Major, 2, "2025-11-23T02:00:00Z");
        let before = on_tick(&i, t("2025-11-23T03:59:00Z"), &chain()[..3], &p);
        assert!(before.as_ref().is_none_or(|(n, _)| n.escalation == 0));
        let (e1, fx) =
            on_tick(&i, t("2025-11-23T04:00:00Z"), &chain()[..3], &p).expect("escalated");
        assert_eq!(e1.escalation, 1);
        assert!(fx.contains(&Effect::Page { tier: 1 }));
        let (e2, _) =
            on_tick(&e1, t("2025-11-23T06:00:00Z"), &chain()[..3], &p).expect("escalated");
        assert_eq!(e2.escalation, 2);
        let last = on_tick(&e2, t("2025-11-23T08:00:00Z"), &chain()[..3], &p);
        assert!(
            last.is_none_or(|(n, _)| n.escalation == 2),
            "the chain has 3 tiers"
        );
        let (acked, _) = on_ack(&i, t("2025-11-23T02:10:00Z"), "alice").expect("acked");
        let after = on_tick(&acked, t("2025-11-23T05:00:00Z"), &chain()[..3], &p);
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
            on_tick(i, t(at), &chain()[..1], &p).is_some_and(|(_, fx)| {
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
        assert!(on_tick(&ok, t("2025-11-23T02:15:00Z"), &chain()[..3], &p)
            .is_none_or(|(n, _)| n.resolved_at.is_none()));
        let (done, fx) =
            on_tick(&ok, t("2025-11-23T02:20:00Z"), &chain()[..3], &p).expect("resolved");
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
            class: String::new(),
            rule: "r".into(),
        };
        let (i, fx) = on_alarm(
            None,
            &sig("k", class, "2025-11-23T02:00:00Z"),
            2,
            &p,
            &chain(),
        );
        assert!(i.expect("opened").recurring);
        assert!(fx.iter().any(
            |f| matches!(f, Effect::Announce { summary, .. } if summary.contains("recurring"))
        ));
    }

    /// The example scale of a four-class policy: Critical pages DevOps,
    /// the lead developer and the CTO at once; Low the support desk.
    fn classes() -> IncidentPolicy {
        let class = |name: &str, impact, within: &str, page: &[&str], every: Option<&str>| Class {
            name: name.into(),
            impact,
            respond_within: span(within),
            page: page.iter().map(|t| t.to_string()).collect(),
            escalate_every: every.map(span),
        };
        let mut p = IncidentPolicy {
            classes: vec![
                class(
                    "Critical",
                    Impact::Critical,
                    "15min",
                    &["cto", "lead-dev", "devops"],
                    Some("15min"),
                ),
                class(
                    "High",
                    Impact::Major,
                    "1h",
                    &["lead-dev", "devops"],
                    Some("30min"),
                ),
                class("Medium", Impact::Minor, "4h", &["devops"], Some("1h")),
                class("Low", Impact::Minor, "24h", &["support"], None),
            ],
            default: Default {
                class: Some("Medium".into()),
                impact: None,
                level: None,
            },
            ..IncidentPolicy::default()
        };
        p.rules.push(Rule {
            name_prefix: None,
            namespace: Some("AWS/RDS".into()),
            description_contains: Some("critical".into()),
            class: Some("Critical".into()),
            impact: None,
            level: None,
        });
        p
    }

    fn four() -> Vec<String> {
        ["support", "devops", "lead-dev", "cto"]
            .map(String::from)
            .to_vec()
    }

    fn pages(fx: &[Effect]) -> Vec<usize> {
        fx.iter()
            .filter_map(|f| match f {
                Effect::Page { tier } => Some(*tier),
                Effect::Announce { .. } | Effect::Remind { .. } => None,
            })
            .collect()
    }

    /// Proves: a class-scale rule classifies by class (its impact, no
    /// level), a Critical incident pages its three tiers at once, each once,
    /// says whom it paged, and has nobody left to escalate to; a Medium one
    /// pages DevOps, then the lead developer and the CTO one interval apart,
    /// never going back and never again after an acknowledgement.
    #[test]
    fn a_class_pages_its_tiers_at_once_then_climbs_the_chain() {
        let p = classes();
        p.validate().expect("valid");
        p.check_tiers(&four()).expect("fits the chain");
        let c = p.classify(&Subject {
            name: "db".into(),
            namespace: "AWS/RDS".into(),
            description: "Critical: primary down".into(),
        });
        assert_eq!(
            (c.class.as_str(), c.impact, c.level),
            ("Critical", Impact::Critical, 0)
        );
        assert_eq!(c.label(), "class Critical (critical)");
        let (i, fx) = on_alarm(None, &sig("k", c, "2025-11-23T02:00:00Z"), 0, &p, &four());
        let i = i.expect("opened");
        assert_eq!(pages(&fx), vec![1, 2, 3]);
        assert_eq!(i.escalation, 3);
        assert!(fx
            .iter()
            .any(|f| matches!(f, Effect::Announce { summary, .. }
            if summary.contains("paged tier 2 (devops), tier 3 (lead-dev), tier 4 (cto)")
                && summary.contains("respond within 15min"))));
        assert!(
            on_tick(&i, t("2025-11-23T05:00:00Z"), &four(), &p)
                .is_none_or(|(_, fx)| pages(&fx).is_empty()),
            "the top of the chain: no tier paged twice"
        );

        let medium = p.classify(&Subject::default());
        assert_eq!(medium.class, "Medium");
        let (i, fx) = on_alarm(
            None,
            &sig("m", medium, "2025-11-23T02:00:00Z"),
            0,
            &p,
            &four(),
        );
        let i = i.expect("opened");
        assert_eq!(pages(&fx), vec![1]);
        assert!(on_tick(&i, t("2025-11-23T02:59:00Z"), &four(), &p)
            .is_none_or(|(_, fx)| pages(&fx).is_empty()));
        let (i2, fx) = on_tick(&i, t("2025-11-23T03:00:00Z"), &four(), &p).expect("escalated");
        assert_eq!(pages(&fx), vec![2]);
        let (i3, fx) = on_tick(&i2, t("2025-11-23T04:00:00Z"), &four(), &p).expect("escalated");
        assert_eq!(pages(&fx), vec![3]);
        assert!(i3
            .timeline
            .iter()
            .any(|e| e.detail.ends_with("tier 4 (cto)")));
        let (acked, _) = on_ack(&i2, t("2025-11-23T03:10:00Z"), "dev").expect("acked");
        assert!(on_tick(&acked, t("2025-11-23T09:00:00Z"), &four(), &p)
            .is_none_or(|(_, fx)| pages(&fx).is_empty()));
        let r = report(&i, &p);
        assert_eq!(
            (r.class.as_str(), r.response_deadline_s),
            ("Medium", 4 * 3600)
        );
    }

    /// Proves: paging that names an unknown tier, skips one, or names tiers
    /// when none are deployed is refused with the reason; an incident
    /// classified so still opens and pages the first tier, saying why.
    #[test]
    fn paging_that_does_not_fit_the_chain_pages_the_first_tier_and_says_why() {
        let names = |v: &[&str]| v.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        assert_eq!(tiers_to_page(&[], &four()), Ok(vec![0]));
        assert_eq!(
            tiers_to_page(&names(&["cto", "lead-dev"]), &four()),
            Ok(vec![2, 3])
        );
        let e = tiers_to_page(&names(&["sre"]), &four()).expect_err("unknown");
        assert!(
            e.contains(
                "`sre` is not an on-call tier (oncall_tiers: support, devops, lead-dev, cto)"
            ),
            "{e}"
        );
        let e = tiers_to_page(&names(&["devops", "cto"]), &four()).expect_err("skips");
        assert!(e.contains("not `lead-dev` between them"), "{e}");
        let e = tiers_to_page(&names(&["devops"]), &[]).expect_err("no chain");
        assert!(e.contains("oncall_tiers is empty"), "{e}");

        let p = classes();
        let short = names(&["support", "devops"]);
        assert!(p
            .check_tiers(&short)
            .expect_err("cto missing")
            .contains("`Critical`"));
        let c = p.classify(&Subject {
            namespace: "AWS/RDS".into(),
            description: "critical".into(),
            ..Subject::default()
        });
        let (i, fx) = on_alarm(None, &sig("k", c, "2025-11-23T02:00:00Z"), 0, &p, &short);
        assert_eq!(pages(&fx), vec![0]);
        assert!(i
            .expect("opened")
            .timeline
            .iter()
            .any(|e| e.what == "paged" && e.detail.contains("`cto` is not an on-call tier")));
        assert!(fx.iter().any(
            |f| matches!(f, Effect::Announce { summary, .. } if summary.contains("fix the policy"))
        ));
    }

    /// Proves: a rule gives a class or impact and level, not both nor
    /// neither; a class a rule names must exist; class names and paged tiers
    /// are listed once.
    #[test]
    fn class_rules_are_validated() {
        let mut p = classes();
        p.rules[0].impact = Some(Impact::Major);
        assert!(p
            .validate()
            .expect_err("both")
            .contains("incidents.rules[0]"));
        let mut p = classes();
        p.rules[0].class = Some("Urgent".into());
        let e = p.validate().expect_err("unknown");
        assert!(
            e.contains("`Urgent` is not one of incidents.classes (Critical, High, Medium, Low)"),
            "{e}"
        );
        let mut p = classes();
        p.default = Default {
            class: None,
            impact: None,
            level: Some(2),
        };
        assert!(p
            .validate()
            .expect_err("neither")
            .contains("incidents.default"));
        let mut p = classes();
        p.classes[1].name = "Critical".into();
        assert!(p
            .validate()
            .expect_err("twice")
            .contains("incidents.classes[1].name"));
        let mut p = classes();
        p.classes[0].page.push("devops".into());
        assert!(p
            .validate()
            .expect_err("twice")
            .contains("incidents.classes[0].page"));
        let mut p = IncidentPolicy::default();
        p.levels[0].escalate_every = Some(Span(TimeDelta::zero()));
        assert!(p
            .validate()
            .expect_err("zero")
            .contains("incidents.levels[0].escalate_every"));
    }

    proptest::proptest! {
        /// Proves: whatever the class's tiers (a run of the chain) and
        /// whenever the ticks come, escalation never goes back, never skips
        /// a tier, pages no tier twice, never passes the chain's end, and
        /// pages nobody after the acknowledgement.
        #[test]
        fn escalation_never_goes_back_skips_or_repeats(
            len in 1usize..6,
            first in 0usize..6,
            width in 1usize..4,
            every_min in 1i64..120,
            gaps in proptest::collection::vec(0i64..300, 1..40),
            ack_after in proptest::option::of(0usize..40),
        ) {
            let chain: Vec<String> = (0..len).map(|n| format!("t{n}")).collect();
            let first = first.min(len - 1);
            let last = (first + width - 1).min(len - 1);
            let p = IncidentPolicy {
                classes: vec![Class {
                    name: "C".into(),
                    impact: Impact::Major,
                    respond_within: Span(TimeDelta::minutes(every_min)),
                    page: chain[first..=last].to_vec(),
                    escalate_every: None,
                }],
                default: Default { class: Some("C".into()), impact: None, level: None },
                ..IncidentPolicy::default()
            };
            let c = p.classify(&Subject::default());
            let at = t("2025-11-23T02:00:00Z");
            let (i, fx) = on_alarm(None, &sig("k", c, "2025-11-23T02:00:00Z"), 0, &p, &chain);
            let mut i = i.expect("opened");
            let mut paged = pages(&fx);
            proptest::prop_assert_eq!(&paged, &(first..=last).collect::<Vec<_>>());
            let mut now = at;
            for (n, g) in gaps.iter().enumerate() {
                now += TimeDelta::minutes(*g);
                if ack_after == Some(n) {
                    if let Some((a, _)) = on_ack(&i, now, "x") { i = a; }
                }
                let before = i.escalation;
                if let Some((next, fx)) = on_tick(&i, now, &chain, &p) {
                    let new = pages(&fx);
                    proptest::prop_assert!(new.len() <= 1);
                    for t in &new {
                        proptest::prop_assert!(i.acked_at.is_none(), "paged after the ack");
                        proptest::prop_assert_eq!(*t, before + 1, "skipped or went back");
                        proptest::prop_assert!(!paged.contains(t), "paged twice");
                        paged.push(*t);
                    }
                    proptest::prop_assert!(next.escalation >= before);
                    i = next;
                }
                proptest::prop_assert!(i.escalation < len);
            }
        }
    }

    /// The `oncall_tiers = [...]` list in a text (Terraform, or the policy's
    /// comment naming it).
    fn tiers_in(text: &str) -> Vec<String> {
        let (_, rest) = text.split_once("oncall_tiers = [").expect("oncall_tiers");
        let (list, _) = rest.split_once(']').expect("]");
        list.split(',')
            .map(|t| t.trim().trim_matches('"').to_string())
            .filter(|t| !t.is_empty())
            .collect()
    }

    /// Proves: both example policies are valid, and their levels and
    /// classes page tiers that Terraform deploys in that order: REWAPP's
    /// against infra/examples/rewapp's `oncall_tiers`, Profitum's against
    /// the list its comment asks for. A critical database alarm pages
    /// DevOps, the lead developer and the CTO under either.
    #[test]
    fn the_example_policies_page_tiers_their_deployments_have() {
        let rewapp = crate::policy::PolicyDocument::from_toml(
            include_str!("../../../examples/rewapp-policy.toml"),
            "rewapp",
        )
        .expect("rewapp");
        let chain = tiers_in(include_str!("../../../infra/examples/rewapp/main.tf"));
        assert_eq!(chain, ["devops", "lead-dev", "cto", "direction"]);
        rewapp.incidents.check_tiers(&chain).expect("rewapp fits");
        let text = include_str!("../../../examples/profitum-policy.toml");
        let profitum =
            crate::policy::PolicyDocument::from_toml(text, "profitum").expect("profitum");
        let pchain = tiers_in(text);
        assert_eq!(
            pchain,
            ["support", "devops", "lead-dev", "cto", "direction"]
        );
        profitum
            .incidents
            .check_tiers(&pchain)
            .expect("profitum fits");
        let critical = Subject {
            name: "db-connections".into(),
            namespace: "AWS/RDS".into(),
            description: "Critical: primary refuses connections".into(),
        };
        for (doc, chain) in [(&rewapp, &chain), (&profitum, &pchain)] {
            let c = doc.incidents.classify(&critical);
            let page = tiers_to_page(&doc.incidents.paging(&c).page, chain).expect("fits");
            let names: Vec<&str> = page.iter().map(|&i| chain[i].as_str()).collect();
            assert_eq!(names, ["devops", "lead-dev", "cto"]);
        }
        let low = profitum.incidents.classify(&Subject {
            name: "coverage.unprotected".into(),
            ..Subject::default()
        });
        assert_eq!(low.class, "Low");
        assert_eq!(
            tiers_to_page(&profitum.incidents.paging(&low).page, &pchain),
            Ok(vec![0])
        );
    }
}
