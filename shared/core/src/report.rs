//! The auditor's report (pure): for a period, every backup, copy, deletion,
//! restore test and incident found in the registry, and the RPO/RTO
//! measured from them against the policies' targets. Rendered as a text
//! table, as JSON (the serde form of [`Report`]) and as one self-contained
//! HTML page with a timeline chart (inline CSS and SVG, no script, no URL).
//!
//! Honesty rule: what cannot be measured reads "not measured", never 0.

use crate::announce::{Outcome, RegistryRecord};
use crate::incident::{Impact, Incident};
use crate::time::{human, rfc3339};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A policy's targets, as its policy document states them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Targets {
    /// Recovery point objective: the longest acceptable time without a backup.
    pub rpo: TimeDelta,
    /// Recovery time objective, when the policy states one.
    pub rto: Option<TimeDelta>,
    /// Point-in-time recovery: the most `LatestRestorableTime` may lag
    /// (the policy's `pitr.target`), when it states one.
    pub pitr: Option<TimeDelta>,
}

/// Registry actions that summarise a run rather than act on a snapshot:
/// counted in [`Summary::digests_not_listed`], not listed as events.
pub const DIGESTS: &[&str] = &[
    "copy.lag",
    "retention.digest",
    "retention.applied",
    "coverage.audit",
];

/// What kind of action an event is, for counting and for the chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Backup,
    Copy,
    Deletion,
    Restore,
    Audit,
    Other,
}

impl Category {
    /// The category of a registry action.
    pub fn of(action: &str) -> Category {
        match action {
            "snapshot.created" | "snapshot.failed" => Category::Backup,
            "snapshot.deleted" => Category::Deletion,
            a if a.starts_with("retention.") => Category::Deletion,
            a if a.starts_with("copy.") => Category::Copy,
            a if a.starts_with("restore.") => Category::Restore,
            a if a.starts_with("audit.") || a.starts_with("coverage.") => Category::Audit,
            _ => Category::Other,
        }
    }

    /// Lowercase name, as in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            Category::Backup => "backup",
            Category::Copy => "copy",
            Category::Deletion => "deletion",
            Category::Restore => "restore",
            Category::Audit => "audit",
            Category::Other => "other",
        }
    }

    /// Okabe-Ito colours (readable by the colour-blind); red is kept for failures.
    fn colour(&self) -> &'static str {
        match self {
            Category::Backup => "#0072B2",
            Category::Copy => "#56B4E9",
            Category::Deletion => "#CC79A7",
            Category::Restore => "#009E73",
            Category::Audit => "#E69F00",
            Category::Other => "#999999",
        }
    }
}

/// A measure compared to its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Met,
    Breached,
    /// Nothing to measure in the period (no restore): no number is given.
    NotMeasured,
    /// Measured, but the policy is unknown or states no such target.
    NoTarget,
}

impl Verdict {
    /// What the table and the page show.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Breached => "BREACHED",
            Verdict::NotMeasured => "not measured",
            Verdict::NoTarget => "no target",
        }
    }

    fn of(measured: i64, target: Option<i64>) -> Verdict {
        match target {
            None => Verdict::NoTarget,
            Some(t) if measured <= t => Verdict::Met,
            Some(_) => Verdict::Breached,
        }
    }
}

/// The restore tests' objectives, from the policy's `[restore_tests]`:
/// restore time against `time_objective` (met) and `alert_after` (alert);
/// success rate and integrity against 100 % (met) and their alert
/// thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Objectives {
    pub time_s: Option<i64>,
    pub time_alert_s: i64,
    pub success_alert_pct: f64,
    pub integrity_alert_pct: f64,
}

impl Objectives {
    pub fn of(t: &crate::restore::RestoreTests) -> Objectives {
        Objectives {
            time_s: t.time_objective.map(|s| s.0.num_seconds()),
            time_alert_s: t.alert_after.0.num_seconds(),
            success_alert_pct: t.success_rate_alert,
            integrity_alert_pct: t.integrity_alert,
        }
    }
}

/// A figure against an objective and an alert threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Standing {
    /// The objective is met.
    Met,
    /// Short of the objective, not past the alert threshold.
    BelowObjective,
    /// Past the alert threshold.
    Alert,
    /// Nothing to measure in the period.
    NotMeasured,
    /// Measured, but the policy states no objective for it.
    NoObjective,
}

impl Standing {
    pub fn label(&self) -> &'static str {
        match self {
            Standing::Met => "met",
            Standing::BelowObjective => "below objective",
            Standing::Alert => "ALERT",
            Standing::NotMeasured => "not measured",
            Standing::NoObjective => "no objective",
        }
    }

    /// A share in percent whose objective is 100 %.
    fn of_share(pct: Option<f64>, alert_below: Option<f64>) -> Standing {
        match (pct, alert_below) {
            (None, _) => Standing::NotMeasured,
            (_, None) => Standing::NoObjective,
            (Some(p), _) if p >= 100.0 => Standing::Met,
            (Some(p), Some(a)) if p < a => Standing::Alert,
            _ => Standing::BelowObjective,
        }
    }

    /// A duration against its objective and alert threshold.
    fn of_time(measured: Option<i64>, o: Option<&Objectives>) -> Standing {
        match (measured, o) {
            (None, _) => Standing::NotMeasured,
            (_, None) => Standing::NoObjective,
            (Some(m), Some(o)) if m > o.time_alert_s => Standing::Alert,
            (Some(m), Some(o)) => match o.time_s {
                Some(t) if m > t => Standing::BelowObjective,
                _ => Standing::Met,
            },
        }
    }
}

/// Section: the restore tests of one kind of resource concluded in the
/// period (`restore.succeeded` and `restore.failed`), against the
/// objectives.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RestoreTestsRow {
    pub kind: String,
    pub tests: usize,
    pub passed: usize,
    /// Passed / tests, in percent.
    pub success_rate_pct: Option<f64>,
    pub success: Standing,
    /// Checks run on the restored copies, and those that passed (data
    /// integrity): a test that restored nothing runs none.
    pub checks_run: usize,
    pub checks_passed: usize,
    pub integrity_pct: Option<f64>,
    pub integrity: Standing,
    /// The restore time of every test that measured one, passed or not.
    pub rto_max_s: Option<i64>,
    pub rto_median_s: Option<i64>,
    pub rto: Option<String>,
    pub time: Standing,
}

/// Median in whole seconds (mean of the two middle values, rounded down)
/// of sorted values.
fn median_of(sorted: &[i64]) -> Option<i64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}

/// The restore tests per kind (the first part of the resource key).
fn restore_tests(recs: &[&RegistryRecord], o: Option<&Objectives>) -> Vec<RestoreTestsRow> {
    #[derive(Default)]
    struct Acc {
        tests: usize,
        passed: usize,
        run: usize,
        ok: usize,
        rtos: Vec<i64>,
    }
    let mut per: BTreeMap<&str, Acc> = BTreeMap::new();
    for r in recs {
        let passed = match r.action.as_str() {
            "restore.succeeded" => r.outcome == Outcome::Success,
            "restore.failed" => false,
            _ => continue,
        };
        let Some((kind, _)) = r.resource.split_once('#') else {
            continue;
        };
        let a = per.entry(kind).or_default();
        a.tests += 1;
        a.passed += usize::from(passed);
        for c in r.details["checks"].as_array().into_iter().flatten() {
            a.run += 1;
            a.ok += usize::from(c["ok"] == Value::Bool(true));
        }
        if let Some(s) = r.details.get("rto_s").and_then(secs) {
            a.rtos.push(s);
        }
    }
    per.into_iter()
        .map(|(kind, mut a)| {
            let pct = |n: usize, of: usize| (of > 0).then(|| 100.0 * n as f64 / of as f64);
            let (success, integrity) = (pct(a.passed, a.tests), pct(a.ok, a.run));
            a.rtos.sort_unstable();
            let (max, median) = (a.rtos.last().copied(), median_of(&a.rtos));
            RestoreTestsRow {
                kind: kind.to_string(),
                tests: a.tests,
                passed: a.passed,
                success_rate_pct: success,
                success: Standing::of_share(success, o.map(|o| o.success_alert_pct)),
                checks_run: a.run,
                checks_passed: a.ok,
                integrity_pct: integrity,
                integrity: Standing::of_share(integrity, o.map(|o| o.integrity_alert_pct)),
                rto_max_s: max,
                rto_median_s: median,
                rto: max
                    .zip(median)
                    .map(|(m, d)| format!("{} / {}", human(m), human(d))),
                time: Standing::of_time(max, o),
            }
        })
        .collect()
}

/// Section: the last DR drill of each resource up to the end of the period,
/// of each sort: cross-region (`drill.succeeded` / `drill.failed`, twice a
/// year) and Multi-AZ failover (`failover.succeeded` / `failover.failed`,
/// quarterly), so the last one may precede the period; its measured time
/// against the target and alert threshold the drill recorded.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DrillRow {
    pub resource: String,
    /// `cross-region` (a DR copy restored in the DR region) or `multi-az`
    /// (a failover to the standby).
    pub drill: String,
    pub time: DateTime<Utc>,
    pub in_period: bool,
    pub passed: bool,
    /// The DR region it was restored in.
    pub region: String,
    pub rto_s: Option<i64>,
    pub rto: Option<String>,
    pub target_s: Option<i64>,
    pub alert_s: Option<i64>,
    pub time_standing: Standing,
}

/// The last drill of each resource among `recs` (sorted by time).
fn last_drills(recs: &[&RegistryRecord], from: DateTime<Utc>) -> Vec<DrillRow> {
    let mut last: BTreeMap<(&str, &str), &RegistryRecord> = BTreeMap::new();
    for r in recs {
        let drill = match r.action.as_str() {
            "drill.succeeded" | "drill.failed" => "cross-region",
            "failover.succeeded" | "failover.failed" => "multi-az",
            _ => continue,
        };
        last.insert((r.resource.as_str(), drill), r);
    }
    last.into_iter()
        .map(|((resource, drill), r)| {
            let d = &r.details;
            let rto = d.get("rto_s").and_then(secs);
            let target = d.get("target_s").and_then(secs);
            let alert = d.get("alert_after_s").and_then(secs);
            let time_standing = match (rto, target, alert) {
                (None, _, _) => Standing::NotMeasured,
                (Some(m), _, Some(a)) if m > a => Standing::Alert,
                (Some(m), Some(t), _) if m > t => Standing::BelowObjective,
                (Some(_), None, None) => Standing::NoObjective,
                _ => Standing::Met,
            };
            DrillRow {
                resource: resource.to_string(),
                drill: drill.to_string(),
                time: r.time,
                in_period: r.time >= from,
                passed: r.action.ends_with(".succeeded") && r.outcome == Outcome::Success,
                region: d
                    .get("region")
                    .and_then(Value::as_str)
                    .unwrap_or(&r.region)
                    .to_string(),
                rto_s: rto,
                rto: rto.map(human),
                target_s: target,
                alert_s: alert,
                time_standing,
            }
        })
        .collect()
}

/// Counts of actions, for the whole report or one resource.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub backups_ok: usize,
    pub backups_failed: usize,
    /// `copy.completed`.
    pub copies_ok: usize,
    /// `copy.failed` and `copy.blocked`.
    pub copies_failed: usize,
    /// `snapshot.deleted`.
    pub deletions: usize,
    pub deletions_failed: usize,
    /// `restore.succeeded` (restore tests).
    pub restore_tests_passed: usize,
    /// `restore.failed` (restore tests).
    pub restore_tests_failed: usize,
    /// Restores on request: `restore.requested`, `restore.completed`
    /// (failed when its outcome is a failure), `restore.refused`.
    pub restores_requested: usize,
    pub restores_completed: usize,
    pub restores_failed: usize,
    pub restores_refused: usize,
    pub audits_passed: usize,
    pub audit_breaches: usize,
    pub audit_findings: usize,
    /// Actions outside the known vocabulary.
    pub other: usize,
}

impl Counts {
    fn add(&mut self, r: &RegistryRecord) {
        let ok = r.outcome == Outcome::Success;
        let field = match (r.action.as_str(), ok) {
            ("snapshot.created", true) => &mut self.backups_ok,
            ("snapshot.created" | "snapshot.failed", _) => &mut self.backups_failed,
            ("copy.completed", true) => &mut self.copies_ok,
            ("copy.completed" | "copy.failed" | "copy.blocked", _) => &mut self.copies_failed,
            ("snapshot.deleted", true) => &mut self.deletions,
            ("snapshot.deleted", false) => &mut self.deletions_failed,
            ("restore.succeeded", _) => &mut self.restore_tests_passed,
            ("restore.failed", _) => &mut self.restore_tests_failed,
            ("restore.requested", _) => &mut self.restores_requested,
            ("restore.completed", true) => &mut self.restores_completed,
            ("restore.completed", false) => &mut self.restores_failed,
            ("restore.refused", _) => &mut self.restores_refused,
            ("audit.passed", _) => &mut self.audits_passed,
            ("audit.breach", _) => &mut self.audit_breaches,
            ("audit.finding", _) => &mut self.audit_findings,
            (a, _) if Category::of(a) == Category::Other => &mut self.other,
            _ => return,
        };
        *field += 1;
    }
}

/// Section 1: what the report was generated from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    #[serde(flatten)]
    pub counts: Counts,
    /// Incidents opened within the period.
    pub incidents_opened: usize,
    /// Incidents resolved within the period.
    pub incidents_resolved: usize,
    /// Incidents of the report still open at the end of the period.
    pub incidents_open_at_end: usize,
    /// Events listed.
    pub events: usize,
    /// Digest records in the period (see [`DIGESTS`]), not listed.
    pub digests_not_listed: usize,
}

/// Measured RPO: the longest interval without a successful backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rpo {
    /// `None` for a key without backups of its own, ever (the DR region's
    /// copies, a bucket): their freshness is the primary's copy lag.
    pub measured_s: Option<i64>,
    pub measured: String,
    /// Where the longest gap lies (the period's bounds at its edges).
    pub gap_from: Option<DateTime<Utc>>,
    pub gap_to: Option<DateTime<Utc>>,
    pub target_s: Option<i64>,
    pub target: Option<String>,
    pub verdict: Verdict,
}

/// Measured RTO over the successful restores of the period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rto {
    /// Successful restores with a measured `rto_s`.
    pub restores_measured: usize,
    /// Successful restores whose record carries no `rto_s`.
    pub restores_unmeasured: usize,
    pub max_s: Option<i64>,
    pub max: Option<String>,
    /// Median in whole seconds (mean of the two middle values, rounded down).
    pub median_s: Option<i64>,
    pub median: Option<String>,
    pub target_s: Option<i64>,
    pub target: Option<String>,
    pub verdict: Verdict,
}

/// Point-in-time recovery lag (`LatestRestorableTime`'s age) as the
/// period's audits measured it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PitrLag {
    /// Audits of the period that measured it.
    pub audits: usize,
    pub worst_s: i64,
    pub worst: String,
    /// The last audit's.
    pub latest_s: i64,
    pub latest: String,
    pub target_s: Option<i64>,
    pub target: Option<String>,
    /// The worst against the target.
    pub verdict: Verdict,
}

/// Section 2: one resource (registry key `<kind>#<region>#<id>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResourceReport {
    pub resource: String,
    /// The policy of its latest record up to the end of the period.
    pub policy: Option<String>,
    #[serde(flatten)]
    pub counts: Counts,
    pub rpo: Rpo,
    pub rto: Rto,
    /// RDS instances and Aurora clusters under a policy with `pitr`: what
    /// the audits measured; None when no audit of the period did.
    pub pitr: Option<PitrLag>,
}

/// Section 3: an incident open at some time in the period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IncidentRow {
    pub id: String,
    pub key: String,
    pub title: String,
    pub impact: Impact,
    pub level: u8,
    /// The policy's class, when it has its own scale (`level` is then 0).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub class: String,
    pub opened_at: DateTime<Utc>,
    /// `None`: still open when the report was built.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Opened to resolved; `None` while open.
    pub duration_s: Option<i64>,
    /// Human duration, or `open (>= …)` up to the end of the period.
    pub duration: String,
    pub time_to_ack_s: Option<i64>,
    pub time_to_ack: Option<String>,
    pub recurring: bool,
    /// Each audience's notice: `direction in time, partners late`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub audiences: String,
}

impl IncidentRow {
    /// `level 2`, or the policy's class: `High`.
    pub fn grade(&self) -> String {
        if self.class.is_empty() {
            format!("level {}", self.level)
        } else {
            self.class.clone()
        }
    }
}

/// Section 4: one registry record of the period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventRow {
    pub time: DateTime<Utc>,
    pub resource: String,
    pub category: Category,
    pub action: String,
    pub subject: String,
    pub outcome: Outcome,
    /// One line drawn from the record's details.
    pub detail: String,
}

/// The auditor's report. Its serde form is the JSON format.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub period_s: i64,
    pub period: String,
    pub resource_filter: Option<String>,
    pub summary: Summary,
    pub resources: Vec<ResourceReport>,
    /// The objectives the restore tests are judged against (None: the
    /// policy has no `[restore_tests]`).
    pub objectives: Option<Objectives>,
    pub restore_tests: Vec<RestoreTestsRow>,
    /// The last DR drill of each resource.
    pub drills: Vec<DrillRow>,
    /// The coverage audit: what was unprotected or excluded at the end of
    /// the period, and what was unprotected during it.
    pub coverage: Option<CoverageReport>,
    pub incidents: Vec<IncidentRow>,
    pub events: Vec<EventRow>,
    /// How each figure is measured.
    pub notes: Vec<String>,
}

/// The backup-auditor's coverage audit as the report shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CoverageReport {
    /// The newest coverage audit recorded up to the end of the period (the
    /// auditor records one on every change and once a day).
    pub as_of: DateTime<Utc>,
    pub regions: Vec<String>,
    pub protected: usize,
    pub excluded: usize,
    pub unprotected: usize,
    /// The unprotected resources, then the excluded ones, at `as_of`.
    pub resources: Vec<CoverageRow>,
    /// Excluded resources counted but not listed (a very large estate).
    pub excluded_not_listed: usize,
    /// Every stretch of time a resource was unprotected that overlaps the
    /// period.
    pub unprotected_during: Vec<UnprotectedStretch>,
}

/// An unprotected or excluded resource.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CoverageRow {
    pub kind: String,
    pub id: String,
    pub region: String,
    pub arn: String,
    /// `unprotected` or `excluded`.
    pub class: String,
    /// Why it is unprotected, or the reason given for its exclusion.
    pub why: String,
    /// Excluded: the tag or the `[[coverage.ignore]]` rule.
    pub by: Option<String>,
    /// Unprotected: when an audit first saw it so.
    pub since: Option<DateTime<Utc>>,
    pub created: Option<DateTime<Utc>>,
    pub creator: Option<String>,
}

/// A resource unprotected from `since` until `cleared_at` (or still).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnprotectedStretch {
    pub resource: String,
    pub since: DateTime<Utc>,
    pub cleared_at: Option<DateTime<Utc>>,
    /// How it was cleared: `protected by <policy>`, `excluded: <reason>`,
    /// `gone`.
    pub how: Option<String>,
}

fn coverage_report(
    recs: &[&RegistryRecord],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Option<CoverageReport> {
    use crate::coverage::{listed, Class};
    let mut stretches: BTreeMap<&str, Vec<UnprotectedStretch>> = BTreeMap::new();
    for r in recs.iter().filter(|r| r.time <= to) {
        match r.action.as_str() {
            "coverage.unprotected" => {
                let v = stretches.entry(r.resource.as_str()).or_default();
                if v.last().is_none_or(|s| s.cleared_at.is_some()) {
                    v.push(UnprotectedStretch {
                        resource: r.resource.clone(),
                        since: r.time,
                        cleared_at: None,
                        how: None,
                    });
                }
            }
            "coverage.cleared" => {
                if let Some(open) = stretches
                    .get_mut(r.resource.as_str())
                    .and_then(|v| v.last_mut())
                    .filter(|s| s.cleared_at.is_none())
                {
                    open.cleared_at = Some(r.time);
                    let class: Option<Class> = serde_json::from_value(
                        r.details.get("now").cloned().unwrap_or(Value::Null),
                    )
                    .ok();
                    open.how = Some(match class {
                        Some(Class::Protected { policy }) => format!("protected by {policy}"),
                        Some(Class::Excluded { reason, .. }) => format!("excluded: {reason}"),
                        _ => "gone".into(),
                    });
                }
            }
            _ => {}
        }
    }
    let unprotected_during: Vec<UnprotectedStretch> = stretches
        .into_values()
        .flatten()
        .filter(|s| s.cleared_at.is_none_or(|c| c >= from))
        .collect();
    let latest = recs
        .iter()
        .filter(|r| r.action == "coverage.audit" && r.time <= to)
        .max_by_key(|r| r.time);
    let Some(latest) = latest else {
        return (!unprotected_during.is_empty()).then(|| CoverageReport {
            as_of: to,
            regions: vec![],
            protected: 0,
            excluded: 0,
            unprotected: 0,
            resources: vec![],
            excluded_not_listed: 0,
            unprotected_during,
        });
    };
    let d = &latest.details;
    let count = |field: &str| -> usize {
        d.get("counts")
            .and_then(Value::as_object)
            .map(|m| {
                m.values()
                    .filter_map(|c| c.get(field).and_then(Value::as_u64))
                    .sum::<u64>() as usize
            })
            .unwrap_or(0)
    };
    let since: BTreeMap<String, DateTime<Utc>> = crate::coverage::state_of(d);
    let mut resources = Vec::new();
    for (field, class) in [("unprotected", "unprotected"), ("excluded", "excluded")] {
        for c in listed(d, field) {
            let (why, by) = match &c.class {
                Class::Unprotected { reason } => (reason.clone(), None),
                Class::Excluded { reason, by } => (reason.clone(), Some(by.clone())),
                Class::Protected { policy } => (format!("protected by {policy}"), None),
            };
            resources.push(CoverageRow {
                kind: c.kind.to_string(),
                id: c.id.clone(),
                region: c.region.clone(),
                arn: c.arn.clone(),
                class: class.into(),
                why,
                by,
                since: since.get(&c.key()).copied(),
                created: c.created,
                creator: c.creator.clone(),
            });
        }
    }
    Some(CoverageReport {
        as_of: latest.time,
        regions: d
            .get("regions")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        protected: count("protected"),
        excluded: count("excluded"),
        unprotected: count("unprotected"),
        resources,
        excluded_not_listed: d
            .get("excluded_not_listed")
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize,
        unprotected_during,
    })
}

/// A `<kind>#<region>#<id>` key, not a bookkeeping key.
fn is_resource_key(key: &str) -> bool {
    key.matches('#').count() >= 2 && !key.starts_with("replica#") && !key.starts_with("claim#")
}

/// Seconds from a JSON number (integer, or float rounded), never negative.
fn secs(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| {
            v.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.round() as i64)
        })
        .filter(|s| *s >= 0)
}

/// The longest interval in [from, to] without a time of `backups` (sorted).
fn longest_gap(
    backups: &[DateTime<Utc>],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> (i64, DateTime<Utc>, DateTime<Utc>) {
    let mut points = vec![from];
    points.extend(backups.iter().copied());
    points.push(to);
    let mut best = (0, from, from.max(to));
    for w in points.windows(2) {
        let gap = (w[1] - w[0]).num_seconds();
        if gap > best.0 {
            best = (gap, w[0], w[1]);
        }
    }
    best
}

#[derive(Default)]
struct Acc<'a> {
    policy: Option<&'a str>,
    counts: Counts,
    backups: Vec<DateTime<Utc>>,
    /// Whether it ever had a backup of its own (before the period too).
    own_backups: bool,
    rtos: Vec<i64>,
    unmeasured: usize,
    /// PITR lags the audits measured, in time order.
    pitr_lags: Vec<i64>,
}

/// Builds the report of [from, to] from registry records and incidents (any
/// order; what lies outside the period or the `resource` filter is left out).
pub fn build(
    records: &[RegistryRecord],
    incidents: &[Incident],
    targets: &BTreeMap<String, Targets>,
    objectives: Option<&Objectives>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    resource: Option<&str>,
) -> Report {
    let wanted = |key: &str| {
        resource.is_none_or(|r| key == r || key.strip_suffix(r).is_some_and(|k| k.ends_with('#')))
    };
    let mut recs: Vec<&RegistryRecord> = records
        .iter()
        .filter(|r| r.time <= to && wanted(&r.resource))
        .collect();
    recs.sort_by(|a, b| {
        (a.time, &a.resource, &a.action, &a.subject).cmp(&(
            b.time,
            &b.resource,
            &b.action,
            &b.subject,
        ))
    });
    let in_period: Vec<&RegistryRecord> = recs.iter().copied().filter(|r| r.time >= from).collect();
    let tests = restore_tests(&in_period, objectives);
    let drills = last_drills(&recs, from);
    let coverage = coverage_report(&recs, from, to);
    let mut summary = Summary::default();
    let mut per: BTreeMap<&str, Acc> = BTreeMap::new();
    let mut events = Vec::new();
    for r in recs {
        // Resources seen before the period are reported too: one whose
        // backups stopped must show its gap, not vanish.
        let mut acc =
            is_resource_key(&r.resource).then(|| per.entry(r.resource.as_str()).or_default());
        if let (Some(a), Some(p)) = (acc.as_mut(), r.policy.as_deref()) {
            a.policy = Some(p);
        }
        if let Some(a) = acc.as_mut() {
            a.own_backups |= matches!(r.action.as_str(), "snapshot.created" | "snapshot.failed");
        }
        if r.time < from {
            continue;
        }
        if DIGESTS.contains(&r.action.as_str()) {
            summary.digests_not_listed += 1;
            continue;
        }
        summary.counts.add(r);
        if let Some(a) = acc {
            a.counts.add(r);
            let ok = r.outcome == Outcome::Success;
            match r.action.as_str() {
                "snapshot.created" if ok => a.backups.push(r.time),
                "restore.succeeded" | "restore.completed" if ok => {
                    match r.details.get("rto_s").and_then(secs) {
                        Some(s) => a.rtos.push(s),
                        None => a.unmeasured += 1,
                    }
                }
                "audit.passed" | "audit.breach" => {
                    a.pitr_lags
                        .extend(r.details.get("pitr_lag_s").and_then(secs));
                }
                _ => {}
            }
        }
        events.push(EventRow {
            time: r.time,
            resource: r.resource.clone(),
            category: Category::of(&r.action),
            action: r.action.clone(),
            subject: r.subject.clone(),
            outcome: r.outcome,
            detail: detail(r),
        });
    }
    let resources = per
        .into_iter()
        .map(|(key, mut a)| {
            let t = a.policy.and_then(|p| targets.get(p));
            let (gap, gap_from, gap_to) = longest_gap(&a.backups, from, to);
            let rpo_target = t.map(|t| t.rpo.num_seconds());
            let rpo = if a.own_backups {
                Rpo {
                    measured_s: Some(gap),
                    measured: human(gap),
                    gap_from: Some(gap_from),
                    gap_to: Some(gap_to),
                    target_s: rpo_target,
                    target: rpo_target.map(human),
                    verdict: Verdict::of(gap, rpo_target),
                }
            } else {
                Rpo {
                    measured_s: None,
                    measured: "not measured (no backups of its own)".into(),
                    gap_from: None,
                    gap_to: None,
                    target_s: rpo_target,
                    target: rpo_target.map(human),
                    verdict: Verdict::NotMeasured,
                }
            };
            a.rtos.sort_unstable();
            let n = a.rtos.len();
            let max = a.rtos.last().copied();
            let median = median_of(&a.rtos);
            let rto_target = t.and_then(|t| t.rto).map(|d| d.num_seconds());
            let pitr_target = t.and_then(|t| t.pitr).map(|d| d.num_seconds());
            let pitr = match (a.pitr_lags.iter().max(), a.pitr_lags.last()) {
                (Some(&worst), Some(&latest)) => Some(PitrLag {
                    audits: a.pitr_lags.len(),
                    worst_s: worst,
                    worst: human(worst),
                    latest_s: latest,
                    latest: human(latest),
                    target_s: pitr_target,
                    target: pitr_target.map(human),
                    verdict: Verdict::of(worst, pitr_target),
                }),
                _ => None,
            };
            ResourceReport {
                resource: key.to_string(),
                policy: a.policy.map(str::to_string),
                counts: a.counts,
                rpo,
                rto: Rto {
                    restores_measured: n,
                    restores_unmeasured: a.unmeasured,
                    max_s: max,
                    max: max.map(human),
                    median_s: median,
                    median: median.map(human),
                    target_s: rto_target,
                    target: rto_target.map(human),
                    verdict: max.map_or(Verdict::NotMeasured, |m| Verdict::of(m, rto_target)),
                },
                pitr,
            }
        })
        .collect();
    let mut inc: Vec<&Incident> = incidents
        .iter()
        .filter(|i| i.opened_at <= to && i.resolved_at.is_none_or(|r| r >= from))
        .filter(|i| resource.is_none_or(|r| i.key.contains(r)))
        .collect();
    inc.sort_by(|a, b| (a.opened_at, &a.id).cmp(&(b.opened_at, &b.id)));
    let within = |t: DateTime<Utc>| from <= t && t <= to;
    summary.incidents_opened = inc.iter().filter(|i| within(i.opened_at)).count();
    summary.incidents_resolved = inc
        .iter()
        .filter(|i| i.resolved_at.is_some_and(within))
        .count();
    summary.incidents_open_at_end = inc
        .iter()
        .filter(|i| i.resolved_at.is_none_or(|r| r > to))
        .count();
    let incidents = inc
        .into_iter()
        .map(|i| {
            let duration_s = i.resolved_at.map(|r| (r - i.opened_at).num_seconds());
            let ack = i.acked_at.map(|a| (a - i.opened_at).num_seconds());
            IncidentRow {
                id: i.id.clone(),
                key: i.key.clone(),
                title: i.title.clone(),
                impact: i.class.impact,
                level: i.class.level,
                class: i.class.class.clone(),
                opened_at: i.opened_at,
                resolved_at: i.resolved_at,
                duration_s,
                duration: duration_s.map(human).unwrap_or_else(|| {
                    format!(
                        "open (>= {} at end of period)",
                        human((to - i.opened_at).num_seconds())
                    )
                }),
                time_to_ack_s: ack,
                time_to_ack: ack.map(human),
                recurring: i.recurring,
                audiences: crate::audience::grade(&i.audiences),
            }
        })
        .collect();
    summary.events = events.len();
    let period_s = (to - from).num_seconds().max(0);
    Report {
        from,
        to,
        period_s,
        period: human(period_s),
        resource_filter: resource.map(str::to_string),
        summary,
        resources,
        objectives: objectives.copied(),
        restore_tests: tests,
        drills,
        coverage,
        incidents,
        events,
        notes: notes(),
    }
}

fn notes() -> Vec<String> {
    [
        "Resources: every registry key <kind>#<region>#<id> with a record up to the end of the period (including before it), so that a resource whose backups stopped still shows.",
        "Measured RPO: the longest interval within the period without a successful snapshot.created, counting from the start of the period to the first backup and from the last backup to the end of the period; no backup in the period means the whole period.",
        "Measured RTO: rto_s of successful restore.succeeded (restore tests, measured to the restore tester's polling) and restore.completed (restores on request) records; no such restore in the period reads 'not measured'. Breached when the longest exceeds the target.",
        "Targets come from the policy named on the resource's latest record; 'no target' when that policy is unknown or states none.",
        "PITR lag: the age of LatestRestorableTime (how much a point-in-time restore would lose) that the backup-auditor's audits of the period measured, worst and latest, against the policy's pitr.target; breached when the worst exceeds it.",
        "Restore tests per kind: the restore.succeeded and restore.failed records of the period; success rate = passed / tests, integrity = checks passed / checks run on the restored copies (a test that restored nothing runs none), restore time = the longest rto_s (passed or not); each met at 100 % (restore time: at most time_objective), an ALERT under the policy's success_rate_alert and integrity_alert (restore time: beyond alert_after), 'below objective' between.",
        "DR drills: the last drill.succeeded or drill.failed (cross-region, twice a year) and failover.succeeded or failover.failed (Multi-AZ, quarterly) of each resource up to the end of the period (it may precede the period); failover time = its rto_s: for a cross-region drill, from its start to its copy restored and checked in the DR region, measured to the polling period; for a Multi-AZ failover, from the reboot to RDS's failover-completed event; met at most its target, an ALERT beyond its alert threshold, 'below objective' between.",
        "Coverage: the backup-auditor's newest coverage audit up to the end of the period (recorded on every change and once a day): every resource of the kinds the policy's [coverage] requires, in the regions it searches, classed protected (under a policy), excluded (rempart:policy=none with a rempart:exclude-reason, or a [[coverage.ignore]] rule, with its reason) or unprotected; and every stretch of the period a resource was unprotected (coverage.unprotected to coverage.cleared).",
        "Incidents: every incident open at some time in the period.",
        "Deletions count snapshot.deleted records (one per snapshot). Digest records (copy.lag, retention.digest, retention.applied: one per resource and enforcer run, and coverage.audit: the coverage audit's classes) are counted, not listed.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn strings(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Array(a) if !a.is_empty() => Some(
            a.iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        _ => None,
    }
}

/// One line from a record's details: the facts an auditor looks for.
fn detail(r: &RegistryRecord) -> String {
    let d = &r.details;
    let text = |k: &str| d.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let mut parts: Vec<String> = Vec::new();
    if let Some(t) = strings(d.get("tiers")) {
        parts.push(format!("tiers: {t}"));
    }
    if r.action.starts_with("copy.") {
        parts.push(format!("to {}", text("region").unwrap_or(&r.region)));
        if let Some(l) = d.get("lag_s").or(d.get("lag_seconds")).and_then(secs) {
            parts.push(format!("lag {}", human(l)));
        }
    }
    if let Some(x) = strings(d.get("reasons")) {
        parts.push(format!("reasons: {x}"));
    }
    if let Some(Value::Object(c)) = d.get("counts") {
        let kv: Vec<String> = c
            .iter()
            .filter(|(_, v)| v.is_number())
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        parts.push(kv.join(", "));
    }
    if let Some(s) = d.get("rto_s").and_then(secs) {
        parts.push(format!("RTO {}", human(s)));
    }
    if let Some(Value::Array(checks)) = d.get("checks") {
        let failed: Vec<&str> = checks
            .iter()
            .filter(|c| c.get("ok").and_then(Value::as_bool) != Some(true))
            .map(|c| c.get("name").and_then(Value::as_str).unwrap_or("?"))
            .collect();
        let mut s = format!("checks {}/{} ok", checks.len() - failed.len(), checks.len());
        if !failed.is_empty() {
            let _ = write!(s, " (failed: {})", failed.join(", "));
        }
        parts.push(s);
    }
    for (k, label) in [
        ("snapshot", "snapshot"),
        ("requested_by", "requested by"),
        ("approved_by", "approved by"),
        ("reason", "reason:"),
    ] {
        if let Some(v) = text(k) {
            parts.push(format!("{label} {v}"));
        }
    }
    match d.get("error") {
        Some(Value::String(e)) => parts.push(format!("error: {e}")),
        Some(e @ Value::Object(_)) => {
            let f = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("");
            let both = [f("code"), f("message")]
                .into_iter()
                .filter(|s| !s.is_empty());
            parts.push(format!("error: {}", both.collect::<Vec<_>>().join(": ")));
        }
        _ => {}
    }
    let messages = |v: &Value| v.get("message").and_then(Value::as_str).map(str::to_string);
    if let Some(Value::Array(f)) = d.get("findings") {
        parts.extend(f.iter().filter_map(messages));
    }
    parts.extend(d.get("finding").and_then(messages));
    if parts.is_empty() {
        if let Value::Object(m) = d {
            let kv = m
                .iter()
                .filter(|(_, v)| !v.is_object() && !v.is_array() && !v.is_null());
            parts.extend(kv.take(4).map(|(k, v)| {
                format!(
                    "{k}={}",
                    v.as_str().map_or_else(|| v.to_string(), str::to_string)
                )
            }));
        }
    }
    let line = parts
        .join("; ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if line.chars().count() > 160 {
        format!("{}...", line.chars().take(157).collect::<String>())
    } else {
        line
    }
}

/// Aligned columns under a dashed header; trailing spaces trimmed.
fn table(out: &mut String, head: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let dashes: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    let head: Vec<String> = head.iter().map(|h| h.to_string()).collect();
    for row in [&head, &dashes].into_iter().chain(rows) {
        let mut s = String::new();
        for (c, &w) in row.iter().zip(&widths) {
            let _ = write!(s, "{c:<w$}  ");
        }
        out.push_str(s.trim_end());
        out.push('\n');
    }
}

/// A heading and its table, the same in both renderings.
struct Section {
    title: &'static str,
    /// Column names, separated by `|`.
    head: &'static str,
    rows: Vec<Vec<String>>,
    /// Columns holding a verdict or an outcome: coloured in the page.
    marked: &'static [usize],
    /// What to say when there is no row.
    empty: &'static str,
    /// A line under the title (what the verdicts are judged against).
    note: Option<String>,
}

fn sections(r: &Report) -> Vec<Section> {
    let (s, c) = (&r.summary, &r.summary.counts);
    let summary = [
        (
            "Backups",
            vec![(c.backups_ok, "ok"), (c.backups_failed, "failed")],
        ),
        (
            "Copies",
            vec![(c.copies_ok, "ok"), (c.copies_failed, "failed or blocked")],
        ),
        (
            "Deletions",
            vec![(c.deletions, "done"), (c.deletions_failed, "failed")],
        ),
        (
            "Restore tests",
            vec![
                (c.restore_tests_passed, "passed"),
                (c.restore_tests_failed, "failed"),
            ],
        ),
        (
            "Restores on request",
            vec![
                (c.restores_requested, "requested"),
                (c.restores_completed, "completed"),
                (c.restores_failed, "failed"),
                (c.restores_refused, "refused"),
            ],
        ),
        (
            "Audits",
            vec![
                (c.audits_passed, "passed"),
                (c.audit_breaches, "breaches"),
                (c.audit_findings, "findings"),
            ],
        ),
        (
            "Incidents",
            vec![
                (s.incidents_opened, "opened"),
                (s.incidents_resolved, "resolved"),
                (s.incidents_open_at_end, "open at end of period"),
            ],
        ),
        (
            "Events",
            vec![
                (s.events, "listed"),
                (c.other, "with an unknown action"),
                (s.digests_not_listed, "digest records not listed"),
            ],
        ),
    ];
    let summary = summary.into_iter().map(|(what, counts)| {
        let counts: Vec<String> = counts.iter().map(|(n, w)| format!("{n} {w}")).collect();
        vec![what.to_string(), counts.join(", ")]
    });
    let none = |o: &Option<String>| o.clone().unwrap_or_else(|| "none".into());
    let rpo = r.resources.iter().map(|x| {
        let rto = match (&x.rto.max, &x.rto.median) {
            (Some(m), Some(d)) => format!("{m} / {d} ({})", x.rto.restores_measured),
            _ => "not measured".into(),
        };
        vec![
            x.resource.clone(),
            x.policy.clone().unwrap_or_else(|| "unknown".into()),
            format!("{}/{}", x.counts.backups_ok, x.counts.backups_failed),
            match x.rpo.gap_from {
                Some(g) => format!("{} (from {})", x.rpo.measured, rfc3339(g)),
                None => x.rpo.measured.clone(),
            },
            none(&x.rpo.target),
            x.rpo.verdict.label().into(),
            rto,
            none(&x.rto.target),
            x.rto.verdict.label().into(),
        ]
    });
    let activity = r.resources.iter().map(|x| {
        let c = &x.counts;
        vec![
            x.resource.clone(),
            format!("{}/{}", c.copies_ok, c.copies_failed),
            c.deletions.to_string(),
            format!("{}/{}", c.restore_tests_passed, c.restore_tests_failed),
            c.restores_completed.to_string(),
            x.rto.restores_unmeasured.to_string(),
        ]
    });
    let pitr = r.resources.iter().filter_map(|x| {
        let p = x.pitr.as_ref()?;
        Some(vec![
            x.resource.clone(),
            p.audits.to_string(),
            p.worst.clone(),
            p.latest.clone(),
            none(&p.target),
            p.verdict.label().into(),
        ])
    });
    let pct = |p: Option<f64>| p.map_or_else(|| "not measured".into(), |p| format!("{p:.1} %"));
    let restore_tests = r.restore_tests.iter().map(|t| {
        vec![
            t.kind.clone(),
            format!("{}/{}", t.passed, t.tests),
            pct(t.success_rate_pct),
            t.success.label().into(),
            format!("{}/{}", t.checks_passed, t.checks_run),
            pct(t.integrity_pct),
            t.integrity.label().into(),
            t.rto.clone().unwrap_or_else(|| "not measured".into()),
            t.time.label().into(),
        ]
    });
    let objectives = match &r.objectives {
        Some(o) => format!(
            "Objectives: success 100 % (alert under {} %), integrity 100 % (alert under {} %), restore time {}(alert beyond {}).",
            o.success_alert_pct,
            o.integrity_alert_pct,
            o.time_s.map_or_else(String::new, |t| format!("at most {} ", human(t))),
            human(o.time_alert_s)
        ),
        None => "No [restore_tests] in the policy: no objectives.".into(),
    };
    let drills = r.drills.iter().map(|d| {
        vec![
            d.resource.clone(),
            d.drill.clone(),
            rfc3339(d.time),
            if d.in_period { "yes" } else { "before" }.into(),
            d.region.clone(),
            if d.passed { "passed" } else { "FAILED" }.into(),
            d.rto.clone().unwrap_or_else(|| "not measured".into()),
            format!(
                "{} / {}",
                d.target_s.map_or_else(|| "none".into(), human),
                d.alert_s.map_or_else(|| "none".into(), human)
            ),
            d.time_standing.label().into(),
        ]
    });
    let opt_time = |t: Option<DateTime<Utc>>| t.map_or_else(|| "-".into(), rfc3339);
    let coverage_rows = r.coverage.iter().flat_map(|c| {
        c.resources.iter().map(|x| {
            vec![
                format!("{}#{}#{}", x.kind, x.region, x.id),
                if x.class == "unprotected" {
                    "UNPROTECTED".to_string()
                } else {
                    "excluded".to_string()
                },
                x.why.clone(),
                x.by.clone().unwrap_or_else(|| "-".into()),
                opt_time(x.since),
                opt_time(x.created),
                x.creator.clone().unwrap_or_else(|| "-".into()),
            ]
        })
    });
    let coverage_note = r.coverage.as_ref().map(|c| {
        let more = if c.excluded_not_listed > 0 {
            format!(" ({} more excluded, not listed)", c.excluded_not_listed)
        } else {
            String::new()
        };
        format!(
            "As of the audit of {} in {}: {} protected, {} excluded on purpose, {} unprotected{more}.",
            rfc3339(c.as_of),
            if c.regions.is_empty() { "-".to_string() } else { c.regions.join(", ") },
            c.protected,
            c.excluded,
            c.unprotected
        )
    });
    let stretches = r.coverage.iter().flat_map(|c| {
        c.unprotected_during.iter().map(|s| {
            vec![
                s.resource.clone(),
                rfc3339(s.since),
                s.cleared_at
                    .map_or_else(|| "still unprotected".into(), rfc3339),
                s.how.clone().unwrap_or_else(|| "-".into()),
            ]
        })
    });
    let incidents = r.incidents.iter().map(|i| {
        vec![
            i.id.clone(),
            i.title.clone(),
            i.impact.as_str().into(),
            i.grade(),
            rfc3339(i.opened_at),
            i.resolved_at.map_or_else(|| "open".into(), rfc3339),
            i.duration.clone(),
            i.time_to_ack
                .clone()
                .unwrap_or_else(|| "not acknowledged".into()),
            if i.audiences.is_empty() {
                "-".into()
            } else {
                i.audiences.clone()
            },
        ]
    });
    let events = r.events.iter().map(|e| {
        let o = e.outcome.as_str().to_string();
        vec![
            rfc3339(e.time),
            e.resource.clone(),
            e.action.clone(),
            e.subject.clone(),
            o,
            e.detail.clone(),
        ]
    });
    let no_resource = "No resource in the registry for this period.";
    vec![
        Section {
            title: "Summary",
            head: "WHAT|COUNT",
            rows: summary.collect(),
            marked: &[],
            empty: "",
            note: None,
        },
        Section {
            title: "RPO / RTO per resource",
            head: "RESOURCE|POLICY|BACKUPS OK/FAILED|RPO MEASURED (LONGEST GAP)|RPO TARGET|RPO|\
                   RTO MAX / MEDIAN (N)|RTO TARGET|RTO",
            rows: rpo.collect(),
            marked: &[5, 8],
            empty: no_resource,
            note: None,
        },
        Section {
            title: "Activity per resource",
            head:
                "RESOURCE|COPIES OK/FAILED|DELETIONS|RESTORE TESTS OK/FAILED|RESTORES ON REQUEST|\
                   RESTORES WITHOUT RTO",
            rows: activity.collect(),
            marked: &[],
            empty: no_resource,
            note: None,
        },
        Section {
            title: "Point-in-time recovery (PITR lag, from the audits)",
            head: "RESOURCE|AUDITS|WORST LAG|LATEST LAG|TARGET|PITR",
            rows: pitr.collect(),
            marked: &[5],
            empty:
                "No audit of the period measured a PITR lag (no policy with [pitr], or no audit).",
            note: None,
        },
        Section {
            title: "Restore tests per kind",
            head: "KIND|PASSED/TESTS|SUCCESS RATE|JUDGED|CHECKS PASSED/RUN|INTEGRITY|JUDGED|\
                   RESTORE TIME MAX / MEDIAN|JUDGED",
            rows: restore_tests.collect(),
            marked: &[3, 6, 8],
            empty: "No restore test concluded in the period.",
            note: Some(objectives),
        },
        Section {
            title: "DR drills (last per resource)",
            head: "RESOURCE|DRILL|LAST DRILL|IN PERIOD|REGION|OUTCOME|FAILOVER TIME|TARGET / ALERT|JUDGED",
            rows: drills.collect(),
            marked: &[5, 8],
            empty: "No DR drill recorded.",
            note: None,
        },
        Section {
            title: "Coverage: unprotected and excluded resources",
            head: "RESOURCE|CLASS|WHY|EXCLUDED BY|UNPROTECTED SINCE|CREATED|CREATOR",
            rows: coverage_rows.collect(),
            marked: &[1],
            empty: if r.coverage.is_some() {
                "Every resource found is under a policy: nothing unprotected, nothing excluded."
            } else {
                "No coverage audit recorded up to the end of the period."
            },
            note: coverage_note,
        },
        Section {
            title: "Unprotected during the period",
            head: "RESOURCE|UNPROTECTED SINCE|CLEARED|HOW",
            rows: stretches.collect(),
            marked: &[],
            empty: "No resource was unprotected during the period.",
            note: None,
        },
        Section {
            title: "Incidents",
            head: "ID|TITLE|IMPACT|CLASS|OPENED|RESOLVED|DURATION|TIME TO ACK|AUDIENCES",
            rows: incidents.collect(),
            marked: &[],
            empty: "No incident in the period.",
            note: None,
        },
        Section {
            title: "Events",
            head: "TIME|RESOURCE|ACTION|SUBJECT|OUTCOME|DETAIL",
            rows: events.collect(),
            marked: &[4],
            empty: "No event in the period.",
            note: None,
        },
    ]
}

/// Plain text for a terminal: headed sections, aligned columns.
pub fn render_table(r: &Report) -> String {
    let mut out = String::from("REMPART BACKUP REPORT\n");
    let (from, to) = (rfc3339(r.from), rfc3339(r.to));
    let _ = writeln!(out, "Period: {from} to {to} ({})", r.period);
    if let Some(f) = &r.resource_filter {
        let _ = writeln!(out, "Resource filter: {f}");
    }
    for s in sections(r) {
        let _ = writeln!(out, "\n== {} ==", s.title);
        if let Some(n) = &s.note {
            let _ = writeln!(out, "{n}");
        }
        if s.rows.is_empty() {
            let _ = writeln!(out, "{}", s.empty);
        } else {
            table(&mut out, &s.head.split('|').collect::<Vec<_>>(), &s.rows);
        }
    }
    out.push_str("\n== Notes ==\n");
    for n in &r.notes {
        let _ = writeln!(out, "- {n}");
    }
    out
}

/// `& < > " '` as HTML entities.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn impact_colour(i: Impact) -> &'static str {
    match i {
        Impact::Minor => "#f4a582",
        Impact::Major => "#d6604d",
        Impact::Critical => "#b2182b",
    }
}

const FAIL: &str = "#c00000";
const LABEL_W: f64 = 270.0;
const PLOT_W: f64 = 690.0;
const ROW_H: f64 = 22.0;
const TOP: f64 = 28.0;

/// A mark on the timeline's time axis: `label` names `at` exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tick {
    pub(crate) at: DateTime<Utc>,
    pub(crate) label: String,
}

/// The most ticks the timeline's axis holds (its labels must not overlap).
const MAX_TICKS: usize = 10;

/// A spacing of the axis's ticks, on calendar boundaries (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Every `len` seconds counted from the Unix epoch plus `offset`:
    /// minutes, hours and days (whose lengths divide or are whole days, so
    /// that they fall on 00:00 of a day) and weeks (`offset` 4 days: the
    /// epoch was a Thursday, the week starts on Monday).
    Fixed { len: i64, offset: i64 },
    /// The 1st at 00:00 of every `n`th month counted from January of year 0:
    /// months, quarters (January, April, July, October), half-years and, for
    /// `n` a multiple of 12, years (1 January of years divisible by `n / 12`).
    Months(i64),
}

const MINUTE: i64 = 60;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// The steps the axis chooses from, finest first. From one to the next the
/// step grows at most about 4.4 times (a week to a month of 31 days): a
/// period holding more than [`MAX_TICKS`] of one step is at least twice the
/// next, so the first step that fits gives at least 2 ticks on any period of
/// 2 minutes or more.
fn ladder() -> Vec<Step> {
    let fixed = |len| Step::Fixed { len, offset: 0 };
    let mut steps: Vec<Step> = [1, 2, 5, 10, 15, 30]
        .map(|m| fixed(m * MINUTE))
        .into_iter()
        .chain([1, 2, 3, 6, 12].map(|h| fixed(h * HOUR)))
        .chain([fixed(DAY), fixed(2 * DAY)])
        .chain([Step::Fixed {
            len: 7 * DAY,
            offset: 4 * DAY,
        }])
        .chain([1, 3, 6].map(Step::Months))
        .collect();
    // Years: 1, 2, 5, 10, 20, 50… up to longer than chrono's whole range, so
    // that some step always fits.
    for p in [1, 10, 100, 1000, 10_000, 100_000] {
        steps.extend([1, 2, 5].map(|y| Step::Months(12 * y * p)));
    }
    steps
}

/// The month count of `t`'s month since January of year 0, and whether `t`
/// is the very start of that month (the 1st, 00:00:00).
fn month_index(t: DateTime<Utc>) -> (i64, bool) {
    use chrono::{Datelike, Timelike};
    let idx = i64::from(t.year()) * 12 + i64::from(t.month0());
    let start = t.day() == 1 && t.num_seconds_from_midnight() == 0 && t.nanosecond() == 0;
    (idx, start)
}

/// The 1st, 00:00 UTC, of month `idx` (see [`month_index`]); None out of
/// chrono's range.
fn month_start(idx: i64) -> Option<DateTime<Utc>> {
    let year = i32::try_from(idx.div_euclid(12)).ok()?;
    let month = u32::try_from(idx.rem_euclid(12)).ok()? + 1;
    let day = chrono::NaiveDate::from_ymd_opt(year, month, 1)?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc())
}

/// The smallest multiple of `n` (> 0) at or above `v`.
fn ceil_to(v: i64, n: i64) -> i64 {
    let down = v.div_euclid(n) * n;
    if down < v {
        down + n
    } else {
        down
    }
}

impl Step {
    /// The first boundary of this step at or after `t` (None past chrono's
    /// range).
    fn first_from(self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Step::Fixed { len, offset } => {
                let s = t.timestamp() + i64::from(t.timestamp_subsec_nanos() > 0);
                DateTime::from_timestamp(ceil_to(s - offset, len) + offset, 0)
            }
            Step::Months(n) => {
                let (idx, start) = month_index(t);
                month_start(ceil_to(idx + i64::from(!start), n))
            }
        }
    }

    /// The boundary after boundary `b` (None past chrono's range).
    fn after(self, b: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Step::Fixed { len, .. } => b.checked_add_signed(TimeDelta::seconds(len)),
            Step::Months(n) => month_start(month_index(b).0 + n),
        }
    }

    /// Its boundaries in [from, to], or None when there are more than `max`.
    fn within(
        self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        max: usize,
    ) -> Option<Vec<DateTime<Utc>>> {
        let mut out = Vec::new();
        let mut t = self.first_from(from);
        while let Some(at) = t.filter(|at| *at <= to) {
            if out.len() == max {
                return None;
            }
            out.push(at);
            t = self.after(at);
        }
        Some(out)
    }

    /// The label of boundary `at`, naming that instant exactly: the minute
    /// for steps under a day (`06:00`, with the date, `11-20 00:00`, on the
    /// first tick and where a day starts; the year is in the page's title),
    /// the date for days and weeks (`2025-11-24`, a Monday), the month for
    /// months, quarters and half-years (`2025-10`), the year for years.
    fn label(self, at: DateTime<Utc>, first: bool) -> String {
        use chrono::Timelike;
        let fmt = match self {
            Step::Fixed { len, .. } if len < DAY => {
                if first || at.num_seconds_from_midnight() == 0 {
                    "%m-%d %H:%M"
                } else {
                    "%H:%M"
                }
            }
            Step::Fixed { .. } => "%Y-%m-%d",
            Step::Months(n) if n % 12 == 0 => "%Y",
            Step::Months(_) => "%Y-%m",
        };
        at.format(fmt).to_string()
    }
}

/// The ticks of the timeline of [from, to]: the boundaries of the finest
/// step of [`ladder`] that puts at most [`MAX_TICKS`] of them within the
/// period (bounds included), each labelled with the instant it stands at.
/// An empty or reversed period has none; a period of a few minutes may have
/// only one or none (no boundary of a minute falls inside it).
pub(crate) fn ticks(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Tick> {
    if to <= from {
        return Vec::new();
    }
    ladder()
        .into_iter()
        .find_map(|step| {
            let at = step.within(from, to, MAX_TICKS)?;
            let ticks = at.iter().enumerate().map(|(i, &at)| Tick {
                at,
                label: step.label(at, i == 0),
            });
            Some(ticks.collect())
        })
        .unwrap_or_default()
}

/// Where time `t` is drawn on the timeline of [from, to]: left of the plot
/// at `from`, right of it at `to`, in proportion between (to the second),
/// and on the nearer edge when outside the period.
fn x_at(from: DateTime<Utc>, to: DateTime<Utc>, t: DateTime<Utc>) -> f64 {
    let len = (to - from).num_seconds().max(1) as f64;
    LABEL_W + ((t - from).num_seconds() as f64 / len).clamp(0.0, 1.0) * PLOT_W
}

/// The timeline: a row per resource with a mark per event (a failure is a
/// red cross, readable in black and white), then a bar per incident, then
/// the legend. Each mark has a `<title>`: hovering shows the event.
fn svg(r: &Report) -> String {
    let x = |t: DateTime<Utc>| x_at(r.from, r.to, t);
    let y = |row: usize| TOP + row as f64 * ROW_H;
    let mut rows: Vec<&str> = r.events.iter().map(|e| e.resource.as_str()).collect();
    rows.sort_unstable();
    rows.dedup();
    let mut labels: Vec<String> = rows.iter().map(|s| s.to_string()).collect();
    labels.extend(r.incidents.iter().map(|i| format!("incident: {}", i.title)));
    let ly = y(labels.len()) + 20.0;
    let mut s = format!(
        r#"<svg class="timeline" viewBox="0 0 1000 {h}" width="100%" role="img" aria-label="Timeline"><style>text{{font:11px sans-serif;fill:#222}}</style>"#,
        h = ly + 20.0
    );
    for (i, l) in labels.iter().enumerate() {
        let (fill, ty) = (["#f3f3f3", "#ffffff"][i % 2], y(i) + 15.0);
        let short: String = l.chars().take(40).collect();
        let more = if short.len() < l.len() { "..." } else { "" };
        let _ = write!(
            s,
            r#"<rect x="0" y="{:.1}" width="1000" height="{ROW_H}" fill="{fill}"/><text x="4" y="{ty:.1}">{}{more}<title>{}</title></text>"#,
            y(i),
            escape(&short),
            escape(l)
        );
    }
    // Ticks on calendar boundaries, placed like the events: a backup at
    // 02:00 stands right of its day's tick.
    for tick in ticks(r.from, r.to) {
        let (tx, y1, label) = (x(tick.at), ly - 12.0, escape(&tick.label));
        let _ = write!(
            s,
            r##"<line class="tick" x1="{tx:.1}" y1="22" x2="{tx:.1}" y2="{y1:.1}" stroke="#bbb" stroke-dasharray="2,3"/><text class="tick" x="{tx:.1}" y="16" text-anchor="middle">{label}</text>"##
        );
    }
    for e in &r.events {
        let row = rows.binary_search(&e.resource.as_str()).unwrap_or(0);
        let (cx, cy, c) = (x(e.time), y(row) + ROW_H / 2.0, e.category.colour());
        let (at, o) = (rfc3339(e.time), e.outcome.as_str());
        let title = escape(&format!("{at} {} {} {o} {}", e.action, e.subject, e.detail));
        let _ = if e.outcome == Outcome::Failure {
            let (px, py) = (cx - 6.0, cy - 6.0);
            write!(
                s,
                r#"<g class="mark fail"><circle cx="{cx:.1}" cy="{cy:.1}" r="5" fill="{c}"/><path d="M{px:.1} {py:.1}l12 12m0 -12l-12 12" stroke="{FAIL}" stroke-width="2.5"/><title>{title}</title></g>"#
            )
        } else {
            write!(
                s,
                r##"<circle class="mark ok" cx="{cx:.1}" cy="{cy:.1}" r="4.5" fill="{c}" stroke="#333" stroke-width="0.5"><title>{title}</title></circle>"##
            )
        };
    }
    for (j, i) in r.incidents.iter().enumerate() {
        let (x0, by) = (x(i.opened_at), y(rows.len() + j) + 5.0);
        let w = (x(i.resolved_at.unwrap_or(r.to)) - x0).max(3.0);
        let end = i.resolved_at.map_or_else(|| "open".into(), rfc3339);
        // Still open: a dashed outline says the bar goes on past the period.
        let dash = if i.resolved_at.is_none() {
            r#" stroke-dasharray="4,2""#
        } else {
            ""
        };
        let title = format!(
            "{} ({}, {}): {} to {end}",
            i.title,
            i.impact.as_str(),
            i.grade(),
            rfc3339(i.opened_at)
        );
        let _ = write!(
            s,
            r#"<rect class="incident-bar" x="{x0:.1}" y="{by:.1}" width="{w:.1}" height="12" fill="{}" stroke="{FAIL}"{dash}><title>{}</title></rect>"#,
            impact_colour(i.impact),
            escape(&title)
        );
    }
    let cats = [
        Category::Backup,
        Category::Copy,
        Category::Deletion,
        Category::Restore,
        Category::Audit,
        Category::Other,
    ];
    let mut legend: Vec<(String, String)> = cats
        .iter()
        .map(|c| {
            (
                format!(r#"<circle cx="6" cy="0" r="4.5" fill="{}"/>"#, c.colour()),
                c.as_str().into(),
            )
        })
        .collect();
    legend.push((
        format!(r#"<path d="M1 -5l10 10m0 -10l-10 10" stroke="{FAIL}" stroke-width="2.5"/>"#),
        "failure".into(),
    ));
    for i in [Impact::Minor, Impact::Major, Impact::Critical] {
        let sw = format!(
            r#"<rect x="0" y="-5" width="12" height="10" fill="{}"/>"#,
            impact_colour(i)
        );
        legend.push((sw, format!("{} incident", i.as_str())));
    }
    let mut lx = 8.0;
    for (swatch, text) in &legend {
        let _ = write!(
            s,
            r#"<g transform="translate({lx} {ly})">{swatch}<text x="16" y="4">{text}</text></g>"#
        );
        lx += 30.0 + 6.5 * text.len() as f64;
    }
    s.push_str("</svg>");
    s
}

const CSS: &str = "body{font-family:sans-serif;font-size:13px;color:#222;margin:24px}\
h1{font-size:20px}h2{font-size:16px;border-bottom:1px solid #999;margin-top:28px}\
table{border-collapse:collapse;width:100%}th{background:#eee}\
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}\
td.met{color:#006400;font-weight:bold}td.breached{color:#c00000;font-weight:bold}\
td.none{color:#666;font-style:italic}svg{border:1px solid #ccc}\
@media print{body{margin:0;font-size:10px}thead{display:table-header-group}\
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}tr,svg{page-break-inside:avoid}}";

/// One self-contained HTML page: inline CSS and SVG, no script, no URL.
pub fn render_html(r: &Report) -> String {
    let t = escape(&format!(
        "Rempart backup report: {} to {}",
        rfc3339(r.from),
        rfc3339(r.to)
    ));
    let mut out = String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    let _ = writeln!(
        out,
        "<title>{t}</title><style>{CSS}</style></head><body>\n<h1>{t}</h1>"
    );
    let _ = write!(out, "<p>Period length: {}.", escape(&r.period));
    if let Some(f) = &r.resource_filter {
        let _ = write!(out, " Resource filter: <code>{}</code>.", escape(f));
    }
    let _ = writeln!(out, "</p>\n<h2>Timeline</h2>\n{}", svg(r));
    for s in sections(r) {
        let _ = writeln!(out, "<h2>{}</h2>", s.title);
        if let Some(n) = &s.note {
            let _ = writeln!(out, "<p>{}</p>", escape(n));
        }
        out.push_str("<table><thead><tr>");
        for h in s.head.split('|') {
            let _ = write!(out, "<th>{}</th>", escape(h));
        }
        out.push_str("</tr></thead><tbody>\n");
        if s.rows.is_empty() {
            let _ = write!(out, "<tr><td colspan=\"9\">{}</td></tr>", escape(s.empty));
        }
        for row in &s.rows {
            out.push_str("<tr>");
            for (i, c) in row.iter().enumerate() {
                let class = match c.as_str() {
                    _ if !s.marked.contains(&i) => "",
                    "met" | "passed" => " class=\"met\"",
                    "success" => "",
                    "BREACHED" | "failure" | "ALERT" | "FAILED" | "UNPROTECTED" => {
                        " class=\"breached\""
                    }
                    _ => " class=\"none\"",
                };
                let _ = write!(out, "<td{class}>{}</td>", escape(c));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("<h2>Notes</h2>\n<ul>\n");
    for n in &r.notes {
        let _ = writeln!(out, "<li>{}</li>", escape(n));
    }
    out.push_str("</ul>\n</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Classification;
    use proptest::prelude::*;
    use serde_json::json;

    const DB: &str = "rds-instance#eu-west-1#rewapp-prod-db";
    const VOL: &str = "ebs-volume#eu-west-1#vol-0abc";

    /// A time of 2025: `11-05T02` (on the hour) or `11-05T02:30:15`.
    fn at(s: &str) -> DateTime<Utc> {
        let tail = if s.len() == 8 { ":00:00Z" } else { "Z" };
        format!("2025-{s}{tail}").parse().unwrap()
    }

    fn rec(res: &str, time: &str, action: &str, subject: &str, details: Value) -> RegistryRecord {
        let ok = !action.ends_with("failed") && !action.ends_with("blocked");
        RegistryRecord {
            resource: res.into(),
            time: at(time),
            action: action.into(),
            subject: subject.into(),
            outcome: if ok {
                Outcome::Success
            } else {
                Outcome::Failure
            },
            policy: Some("rewapp-postgres".into()),
            region: "eu-west-1".into(),
            function: "test".into(),
            details,
            cause: None,
        }
    }

    fn targets(rpo_h: i64, rto_min: Option<i64>) -> BTreeMap<String, Targets> {
        let t = Targets {
            rpo: TimeDelta::hours(rpo_h),
            rto: rto_min.map(TimeDelta::minutes),
            pitr: Some(TimeDelta::minutes(5)),
        };
        BTreeMap::from([("rewapp-postgres".to_string(), t)])
    }

    fn incident(key: &str, opened: &str, acked: Option<&str>, resolved: Option<&str>) -> Incident {
        let class = Classification {
            impact: Impact::Major,
            level: 2,
            class: String::new(),
            rule: "default".into(),
        };
        Incident {
            id: format!("{key}@{}", rfc3339(at(opened))),
            key: key.into(),
            title: format!("alarm {key}"),
            class,
            opened_at: at(opened),
            last_alarm_at: at(opened),
            acked_at: acked.map(at),
            client_notified_at: None,
            escalation: 0,
            first_tier: 0,
            last_paged_at: at(opened),
            last_reminder_at: None,
            last_update_at: at(opened),
            ok_since: None,
            resolved_at: resolved.map(at),
            recurring: false,
            audiences: vec![],
            timeline: vec![],
        }
    }

    /// Daily 02:00 backups of DB on the November days given.
    fn daily(days: impl Iterator<Item = u32>) -> Vec<RegistryRecord> {
        let snap = |d| {
            rec(
                DB,
                &format!("11-{d:02}T02"),
                "snapshot.created",
                "s",
                json!({}),
            )
        };
        days.map(snap).collect()
    }

    /// The report of November 2025.
    fn nov(recs: &[RegistryRecord], incs: &[Incident], tg: &BTreeMap<String, Targets>) -> Report {
        build(recs, incs, tg, None, at("11-01T00"), at("12-01T00"), None)
    }

    /// Proves: the coverage section shows, from the auditor's newest
    /// coverage record up to the end of the period (as
    /// `coverage::record_details` writes it), the unprotected resources with
    /// their first sighting and the excluded ones with their reason and
    /// rule, the counts in the note; every stretch of unprotection that
    /// overlaps the period, with how it was cleared (one before the period
    /// is left out); in the JSON, the table and the page.
    #[test]
    fn coverage_lists_unprotected_and_excluded_resources() {
        use crate::coverage::{record_details, Class, Covered};
        use crate::kind::ResourceKind;
        let covered = |id: &str, class: Class| Covered {
            kind: ResourceKind::RdsInstance,
            id: id.into(),
            arn: format!("arn:aws:rds:eu-west-1:1:db:{id}"),
            region: "eu-west-1".into(),
            created: Some(at("10-20T09")),
            creator: Some("owner=bob".into()),
            class,
        };
        let classes = vec![
            covered(
                "billing-db",
                Class::Unprotected {
                    reason: "no rempart:policy tag: no policy backs it up".into(),
                },
            ),
            covered(
                "dev-db",
                Class::Excluded {
                    reason: "fixtures only".into(),
                    by: "coverage.ignore: tag env=dev".into(),
                },
            ),
            covered(
                "prod",
                Class::Protected {
                    policy: "rewapp-postgres".into(),
                },
            ),
        ];
        let regions = vec!["eu-west-1".to_string()];
        let state = BTreeMap::from([(
            "rds-instance#eu-west-1#billing-db".to_string(),
            at("11-20T06"),
        )]);
        let audit = |time: &str| RegistryRecord {
            policy: None,
            ..rec(
                "coverage#eu-west-1",
                time,
                "coverage.audit",
                "coverage",
                record_details(&classes, &regions, &state),
            )
        };
        let recs = vec![
            // Unprotected and cleared in October: before the period.
            rec(
                "rds-instance#eu-west-1#old",
                "10-02T06",
                "coverage.unprotected",
                "coverage",
                json!({}),
            ),
            rec(
                "rds-instance#eu-west-1#old",
                "10-03T06",
                "coverage.cleared",
                "coverage",
                json!({"now": null}),
            ),
            rec(
                "rds-instance#eu-west-1#stg",
                "10-28T06",
                "coverage.unprotected",
                "coverage",
                json!({}),
            ),
            rec(
                "rds-instance#eu-west-1#stg",
                "11-03T06",
                "coverage.cleared",
                "coverage",
                json!({"now": {"class": "protected", "policy": "rewapp-postgres"}}),
            ),
            rec(
                "rds-instance#eu-west-1#billing-db",
                "11-20T06",
                "coverage.unprotected",
                "coverage",
                json!({}),
            ),
            audit("11-20T06"),
            // After the period: not the one shown.
            audit("12-05T06"),
        ];
        let r = nov(&recs, &[], &targets(26, None));
        let c = r.coverage.as_ref().expect("coverage");
        assert_eq!(c.as_of, at("11-20T06"));
        assert_eq!((c.protected, c.excluded, c.unprotected), (1, 1, 1));
        let rows: Vec<(&str, &str, &str)> = c
            .resources
            .iter()
            .map(|x| (x.id.as_str(), x.class.as_str(), x.why.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                (
                    "billing-db",
                    "unprotected",
                    "no rempart:policy tag: no policy backs it up"
                ),
                ("dev-db", "excluded", "fixtures only"),
            ]
        );
        assert_eq!(c.resources[0].since, Some(at("11-20T06")));
        assert_eq!(
            c.resources[1].by.as_deref(),
            Some("coverage.ignore: tag env=dev")
        );
        let during: Vec<(&str, Option<&str>)> = c
            .unprotected_during
            .iter()
            .map(|s| (s.resource.as_str(), s.how.as_deref()))
            .collect();
        assert_eq!(
            during,
            [
                ("rds-instance#eu-west-1#billing-db", None),
                (
                    "rds-instance#eu-west-1#stg",
                    Some("protected by rewapp-postgres")
                ),
            ]
        );
        let table = render_table(&r);
        for want in [
            "== Coverage: unprotected and excluded resources ==",
            "As of the audit of 2025-11-20T06:00:00Z in eu-west-1: 1 protected, 1 excluded on purpose, 1 unprotected.",
            "UNPROTECTED",
            "coverage.ignore: tag env=dev",
            "== Unprotected during the period ==",
            "still unprotected",
        ] {
            assert!(table.contains(want), "missing `{want}`:\n{table}");
        }
        let html = render_html(&r);
        assert!(html.contains("<td class=\"breached\">UNPROTECTED</td>"));
        assert!(html.contains("Coverage: unprotected and excluded resources"));
        let json = serde_json::to_value(&r).expect("json");
        assert_eq!(json["coverage"]["resources"][0]["id"], "billing-db");
        // The daily coverage record is bookkeeping, not an event.
        assert!(r.events.iter().all(|e| e.action != "coverage.audit"));
    }

    /// Proves: measured RPO is the longest gap without a successful backup:
    /// one missing day of daily backups gives 48 h, breached against 24 h and
    /// met against 72 h; the gaps at both edges of the period count; no
    /// backup at all (even for a resource only seen before the period) is
    /// the whole period; an unknown policy gives "no target"; a key that
    /// never had a backup of its own (DR copies) is "not measured".
    #[test]
    fn measured_rpo() {
        // A key with no backup of its own, ever (the DR region's copies):
        // not measured, never a made-up breach.
        let dr = vec![rec(
            "rds-instance#eu-central-1#rewapp-prod-db",
            "11-03T05",
            "snapshot.deleted",
            "copy-1",
            json!({}),
        )];
        let r = nov(&dr, &[], &targets(24, None));
        assert_eq!(
            (r.resources[0].rpo.measured_s, r.resources[0].rpo.verdict),
            (None, Verdict::NotMeasured)
        );
        let month = daily((1..=30).filter(|d| *d != 15));
        let r = nov(&month, &[], &targets(24, None));
        let rpo = &r.resources[0].rpo;
        assert_eq!(
            (rpo.measured_s, rpo.verdict),
            (Some(48 * 3600), Verdict::Breached)
        );
        assert_eq!(
            (rpo.gap_from, rpo.gap_to),
            (Some(at("11-14T02")), Some(at("11-16T02")))
        );
        assert_eq!(r.resources[0].counts.backups_ok, 29);
        assert_eq!(
            nov(&month, &[], &targets(72, None)).resources[0]
                .rpo
                .verdict,
            Verdict::Met
        );
        let start = &nov(&daily(10..=30), &[], &targets(24, None)).resources[0].rpo;
        assert_eq!(
            (start.measured_s, start.gap_from),
            (Some(9 * 86_400 + 2 * 3600), Some(at("11-01T00")))
        );
        let end = &nov(&daily(1..=5), &[], &targets(24, None)).resources[0].rpo;
        assert_eq!(
            (end.measured_s, end.gap_to),
            (Some(25 * 86_400 + 22 * 3600), Some(at("12-01T00")))
        );
        let none = vec![
            rec(
                DB,
                "11-03T02",
                "snapshot.failed",
                "s",
                json!({"error": "quota"}),
            ),
            rec(VOL, "10-30T02", "snapshot.created", "s", json!({})),
        ];
        let r = nov(&none, &[], &targets(24, None));
        assert_eq!(r.resources.len(), 2);
        for x in &r.resources {
            assert_eq!(
                (x.rpo.measured_s, x.rpo.verdict),
                (Some(30 * 86_400), Verdict::Breached)
            );
        }
        assert_eq!(
            r.events.len(),
            1,
            "the October backup is no event of November"
        );
        let unknown = nov(&none, &[], &BTreeMap::new());
        assert_eq!(unknown.resources[0].rpo.verdict, Verdict::NoTarget);
    }

    /// Proves: the PITR lag of a database is what the period's audits
    /// measured: the worst (15 min) and the latest (2 min) of three, the
    /// worst BREACHED against a 5-minute target; an audit before the period
    /// does not count; a resource whose audits measured none has no PITR
    /// row, and the section says so when none has.
    #[test]
    fn pitr_lag_from_the_audits() {
        let audit = |time: &str, lag: Option<i64>| {
            rec(
                DB,
                time,
                "audit.passed",
                "audit",
                json!({"pitr_lag_s": lag}),
            )
        };
        let mut recs = vec![
            audit("10-31T23", Some(99999)),
            audit("11-02T00", Some(60)),
            audit("11-02T01", Some(900)),
            audit("11-02T02", Some(120)),
        ];
        recs.push(rec(
            "ebs-volume#eu-west-1#vol-0abc",
            "11-02T00",
            "audit.passed",
            "audit",
            json!({"pitr_lag_s": null}),
        ));
        let r = nov(&recs, &[], &targets(26, None));
        let db = r.resources.iter().find(|x| x.resource == DB).expect("db");
        let p = db.pitr.as_ref().expect("measured");
        assert_eq!((p.audits, p.worst_s, p.latest_s), (3, 900, 120));
        assert_eq!((p.target_s, p.verdict), (Some(300), Verdict::Breached));
        let vol = r
            .resources
            .iter()
            .find(|x| x.resource.starts_with("ebs-volume"))
            .expect("volume");
        assert_eq!(vol.pitr, None);
        let table = render_table(&r);
        assert!(
            table.contains("15min") && table.contains("BREACHED"),
            "{table}"
        );
        let quiet = nov(&[audit("11-02T00", None)], &[], &targets(26, None));
        assert!(render_table(&quiet).contains("No audit of the period measured a PITR lag"));
    }

    /// Proves: the DR drills section shows the last drill of each resource
    /// and sort (cross-region, Multi-AZ failover) up to the end of the
    /// period, even one before it: a drill within its
    /// target is met, one beyond its alert threshold an ALERT, a failed one
    /// FAILED; an earlier drill of the same resource is superseded, one
    /// after the period ignored, and the table and page carry the section.
    #[test]
    fn dr_drills_show_the_last_drill_per_resource() {
        const VOL: &str = "ebs-volume#eu-west-1#vol-0abc";
        let drill = |res: &str, time: &str, ok: bool, rto_h: i64| {
            let action = if ok {
                "drill.succeeded"
            } else {
                "drill.failed"
            };
            rec(
                res,
                time,
                action,
                "rempart-rt-x",
                json!({"rto_s": rto_h * 3600, "target_s": 4 * 3600, "alert_after_s": 6 * 3600, "region": "eu-central-1"}),
            )
        };
        let recs = vec![
            drill(DB, "05-10T06", false, 9),
            drill(DB, "07-10T06", true, 3),
            drill(VOL, "11-15T06", false, 7),
            drill(VOL, "12-15T06", true, 1),
            rec(
                DB,
                "11-09T03",
                "failover.succeeded",
                "rewapp-prod-db",
                json!({"rto_s": 150, "target_s": 300, "alert_after_s": 600}),
            ),
        ];
        let r = nov(&recs, &[], &targets(26, None));
        let [vol, db, failover] = &r.drills[..] else {
            panic!("two resources, one with a failover drill: {:?}", r.drills)
        };
        assert_eq!(
            (db.drill.as_str(), failover.drill.as_str()),
            ("cross-region", "multi-az")
        );
        assert!(failover.passed && failover.in_period, "{failover:?}");
        assert_eq!(failover.time_standing, Standing::Met);
        assert_eq!(failover.region, "eu-west-1");
        assert_eq!(db.resource, DB);
        assert!(db.passed && !db.in_period, "{db:?}");
        assert_eq!(db.time_standing, Standing::Met);
        assert_eq!(db.region, "eu-central-1");
        assert!(!vol.passed && vol.in_period, "{vol:?}");
        assert_eq!(vol.time_standing, Standing::Alert);
        assert_eq!(vol.rto_s, Some(7 * 3600));
        let table = render_table(&r);
        assert!(
            table.contains("== DR drills (last per resource) =="),
            "{table}"
        );
        assert!(
            table.contains("FAILED") && table.contains("4h / 6h"),
            "{table}"
        );
        assert!(render_html(&r).contains("DR drills (last per resource)"));
        let none = nov(&[], &[], &targets(26, None));
        assert!(render_table(&none).contains("No DR drill recorded."));
    }

    /// Proves: the restore tests of the period are judged per kind against
    /// the objectives: 19 of 20 passed is 95 % (below the 100 % objective,
    /// not under a 95 % alert), 18 of 20 an ALERT; integrity counts the
    /// checks of every test (a test that restored nothing runs none); the
    /// restore time is the longest of all tests, met within the objective,
    /// below it up to `alert_after`, an ALERT beyond; records before the
    /// period and restores on request do not count; without objectives
    /// every figure reads "no objective", and a kind without tests is not
    /// listed.
    #[test]
    fn restore_tests_against_their_objectives() {
        const AURORA: &str = "aurora-cluster#eu-west-1#rewapp-aurora";
        let test = |res: &str, day: u32, ok: bool, checks: &[bool], rto: i64| {
            let checks: Vec<Value> = checks
                .iter()
                .map(|c| json!({"name": "x", "ok": c}))
                .collect();
            let action = if ok {
                "restore.succeeded"
            } else {
                "restore.failed"
            };
            rec(
                res,
                &format!("11-{day:02}T06"),
                action,
                "rt",
                json!({"checks": checks, "rto_s": rto}),
            )
        };
        let mut recs: Vec<RegistryRecord> = (1..=20)
            .map(|d| test(DB, d, d != 7, &[true, d != 7], 1200))
            .collect();
        // Before the period: not counted.
        recs.push(rec(DB, "10-30T06", "restore.failed", "rt", json!({})));
        // A restore on request: not a test.
        recs.push(rec(
            DB,
            "11-21T06",
            "restore.completed",
            "r",
            json!({"rto_s": 99999}),
        ));
        // Aurora: one test that restored nothing, one slow pass.
        recs.push(rec(
            AURORA,
            "11-02T06",
            "restore.failed",
            "no-snapshot",
            json!({"reason": "none"}),
        ));
        recs.push(test(AURORA, 3, true, &[true, true, true], 3000));
        recs.push(test(AURORA, 4, false, &[true], 600));
        let month = |recs: &[RegistryRecord], o: Option<&Objectives>| {
            build(
                recs,
                &[],
                &BTreeMap::new(),
                o,
                at("11-01T00"),
                at("12-01T00"),
                None,
            )
        };
        let o = Objectives {
            time_s: Some(1800),
            time_alert_s: 2700,
            success_alert_pct: 95.0,
            integrity_alert_pct: 99.9,
        };
        let r = month(&recs, Some(&o));
        let [aurora, db] = &r.restore_tests[..] else {
            panic!("two kinds: {:?}", r.restore_tests)
        };
        assert_eq!(
            (db.kind.as_str(), db.passed, db.tests),
            ("rds-instance", 19, 20)
        );
        assert_eq!(db.success_rate_pct, Some(95.0));
        assert_eq!(db.success, Standing::BelowObjective);
        assert_eq!((db.checks_passed, db.checks_run), (39, 40));
        assert_eq!(db.integrity, Standing::Alert, "97.5 % < 99.9 %");
        assert_eq!((db.rto_max_s, db.time), (Some(1200), Standing::Met));
        assert_eq!((aurora.passed, aurora.tests), (1, 3));
        assert_eq!((aurora.checks_passed, aurora.checks_run), (4, 4));
        assert_eq!(aurora.integrity, Standing::Met);
        assert_eq!(aurora.success, Standing::Alert);
        assert_eq!(
            (aurora.rto_max_s, aurora.time),
            (Some(3000), Standing::Alert)
        );
        assert_eq!(aurora.rto_median_s, Some(1800));
        let slower = Objectives {
            time_alert_s: 3600,
            ..o
        };
        let r2 = month(&recs, Some(&slower));
        assert_eq!(r2.restore_tests[0].time, Standing::BelowObjective);
        // 18 of 20: under the 95 % alert.
        recs[0] = test(DB, 1, false, &[true], 1200);
        let r3 = month(&recs, Some(&o));
        assert_eq!(r3.restore_tests[1].success, Standing::Alert);
        let none = month(&recs, None);
        assert!(none
            .restore_tests
            .iter()
            .all(|t| t.success == Standing::NoObjective
                && t.integrity == Standing::NoObjective
                && t.time == Standing::NoObjective));
        let table = render_table(&r);
        assert!(table.contains("== Restore tests per kind =="), "{table}");
        assert!(table.contains("alert under 95 %"), "{table}");
        let quiet = month(&[], Some(&o));
        assert!(quiet.restore_tests.is_empty());
        assert!(render_table(&quiet).contains("No restore test concluded in the period."));
    }

    /// Proves: measured RTO is the max and median of `rto_s` over successful
    /// restore tests and restores on request (a failed restore is left out,
    /// one without `rto_s` is counted as unmeasured); breached when the
    /// longest exceeds the target; with no restore it is "not measured",
    /// never 0.
    #[test]
    fn measured_rto() {
        let mut recs = daily(1..=30);
        for (d, action, rto) in [
            (3, "restore.succeeded", 600),
            (10, "restore.succeeded", 1200),
            (17, "restore.completed", 300),
            (24, "restore.succeeded", 900),
            (25, "restore.failed", 9000),
        ] {
            let time = format!("11-{d:02}T05");
            recs.push(rec(DB, &time, action, "s", json!({"rto_s": rto})));
        }
        recs.push(rec(DB, "11-26T05", "restore.succeeded", "s", json!({})));
        let rto = nov(&recs, &[], &targets(24, Some(60))).resources[0]
            .rto
            .clone();
        assert_eq!(
            (rto.max_s, rto.median_s, rto.verdict),
            (Some(1200), Some(750), Verdict::Met)
        );
        assert_eq!((rto.restores_measured, rto.restores_unmeasured), (4, 1));
        let verdict = |tg| nov(&recs, &[], &tg).resources[0].rto.verdict;
        assert_eq!(verdict(targets(24, Some(15))), Verdict::Breached);
        assert_eq!(verdict(targets(24, None)), Verdict::NoTarget);
        let r = nov(&daily(1..=30), &[], &targets(24, Some(60)));
        let rto = &r.resources[0].rto;
        assert_eq!(
            (rto.max_s, rto.median_s, rto.verdict),
            (None, None, Verdict::NotMeasured)
        );
        assert!(render_table(&r).contains("not measured"));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["resources"][0]["rto"]["max_s"], Value::Null);
    }

    /// Proves: records outside [from, to] and, with a resource filter, other
    /// resources are left out (the filter matches the id or the whole key,
    /// not a suffix of the id); digests are counted, not listed;
    /// bookkeeping keys are no resource; incidents are kept when they
    /// overlap the period and their key contains the filter.
    #[test]
    fn filters() {
        let recs = vec![
            rec(
                DB,
                "10-31T23:59:59",
                "snapshot.created",
                "before",
                json!({}),
            ),
            rec(DB, "11-05T02", "snapshot.created", "in", json!({})),
            rec(DB, "12-01T00:00:01", "snapshot.created", "after", json!({})),
            rec(VOL, "11-05T03", "snapshot.created", "vol", json!({})),
            rec(
                "replicator#eu-west-1",
                "11-05T04",
                "copy.lag",
                "sweep",
                json!({}),
            ),
            rec(DB, "11-05T04", "retention.digest", "run", json!({})),
            rec(
                "claim#eu-west-1#x",
                "11-05T05",
                "claim.taken",
                "x",
                json!({}),
            ),
        ];
        let subjects = |r: &Report| {
            r.events
                .iter()
                .map(|e| e.subject.clone())
                .collect::<Vec<_>>()
        };
        let all = nov(&recs, &[], &targets(24, None));
        assert_eq!(subjects(&all), ["in", "vol", "x"]);
        let c = &all.summary;
        assert_eq!(
            (c.digests_not_listed, c.counts.other, c.counts.backups_ok),
            (2, 1, 2)
        );
        let keys: Vec<&str> = all.resources.iter().map(|x| x.resource.as_str()).collect();
        assert_eq!(keys, [VOL, DB]);
        let tg = targets(24, None);
        let only = |f| {
            build(
                &recs,
                &[],
                &tg,
                None,
                at("11-01T00"),
                at("12-01T00"),
                Some(f),
            )
        };
        for f in ["rewapp-prod-db", DB] {
            assert_eq!(
                (subjects(&only(f)), only(f).resources.len()),
                (vec!["in".into()], 1)
            );
        }
        assert!(
            only("prod-db").events.is_empty(),
            "an id's suffix is not the id"
        );
        let incs = vec![
            incident("rewapp-prod-db-cpu", "10-20T00", None, Some("10-31T00")),
            incident("rewapp-prod-db-cpu", "10-30T00", None, None),
            incident(
                "rewapp-prod-db-io",
                "11-10T00",
                Some("11-10T00:09:00"),
                Some("11-10T01"),
            ),
            incident("vol-0abc-full", "11-20T00", None, Some("12-02T00")),
            incident("rewapp-prod-db-io", "12-01T00:00:01", None, None),
        ];
        let r = nov(&[], &incs, &BTreeMap::new());
        let opened: Vec<_> = r.incidents.iter().map(|i| i.opened_at).collect();
        assert_eq!(opened, [at("10-30T00"), at("11-10T00"), at("11-20T00")]);
        let s = &r.summary;
        let counts = (
            s.incidents_opened,
            s.incidents_resolved,
            s.incidents_open_at_end,
        );
        assert_eq!(counts, (2, 1, 2));
        assert_eq!(r.incidents[1].time_to_ack.as_deref(), Some("9min"));
        assert_eq!(r.incidents[0].duration, "open (>= 32d at end of period)");
        let tg = BTreeMap::new();
        let db = build(
            &[],
            &incs,
            &tg,
            None,
            at("11-01T00"),
            at("12-01T00"),
            Some("rewapp-prod-db"),
        );
        assert_eq!(db.incidents.len(), 2);
    }

    /// Proves: the page is self-contained (no URL, no script, no external
    /// resource), escapes what data contains, draws an SVG with exactly one
    /// mark per event (the failure marked as such) and a bar per incident,
    /// and marks a breached target visibly.
    #[test]
    fn html_is_self_contained_and_escaped() {
        let mut recs = daily(1..=3);
        let nasty = "<script>alert(1)</script> & co";
        recs.push(rec(
            DB,
            "11-04T02",
            "snapshot.failed",
            nasty,
            json!({"error": "it's \"bad\""}),
        ));
        let copy = json!({"region": "eu-central-1", "lag_s": 3600});
        recs.push(rec(
            VOL,
            "11-04T03",
            "copy.completed",
            "eu-central-1/s",
            copy,
        ));
        let inc = [incident("rewapp-prod-db-io", "11-10T00", None, None)];
        let r = nov(&recs, &inc, &targets(24, Some(60)));
        let h = render_html(&r);
        for bad in [
            "http://", "https://", "<script", "<link", "<img", "@import", "url(",
        ] {
            assert!(!h.contains(bad), "{bad}");
        }
        assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
        assert!(h.contains("it&#39;s &quot;bad&quot;"));
        assert!(h.contains("<svg"));
        assert_eq!(h.matches("class=\"mark ").count(), r.events.len());
        assert_eq!(h.matches("class=\"mark fail\"").count(), 1);
        assert_eq!(h.matches("class=\"incident-bar\"").count(), 1);
        assert!(h.contains("<td class=\"breached\">BREACHED</td>"));
    }

    /// Two resources over three days: every verdict (met, breached, no
    /// target, not measured), a failure, a digest and an incident.
    fn fixed() -> Report {
        let tiers = json!({"tiers": ["daily", "monthly"]});
        let copy = json!({"region": "eu-central-1", "lag_s": 2400});
        let error = json!({"error": {"code": "SnapshotQuotaExceeded", "message": "quota"}});
        let checks = json!({"rto_s": 1260, "checks": [{"name": "tables", "ok": true}]});
        let asked = json!({"rto_s": 420, "requested_by": "alice", "approved_by": "bob"});
        let refused = json!({"requested_by": "carol", "reason": "not approved"});
        let mut recs = vec![
            rec(DB, "11-01T02", "snapshot.created", "rempart-db-1101", tiers),
            rec(
                DB,
                "11-01T02:40:00",
                "copy.completed",
                "eu-central-1/rempart-db-1101",
                copy,
            ),
            rec(DB, "11-02T02", "snapshot.failed", "rempart-db-1102", error),
            rec(
                DB,
                "11-02T03",
                "audit.passed",
                "audit",
                json!({"pitr_lag_s": 240}),
            ),
            rec(
                DB,
                "11-02T04",
                "snapshot.deleted",
                "rempart-db-1002",
                json!({"reasons": ["30d"]}),
            ),
            rec(
                DB,
                "11-02T05",
                "restore.succeeded",
                "rempart-db-1101",
                checks,
            ),
            rec(
                DB,
                "11-03T02",
                "snapshot.created",
                "rempart-db-1103",
                json!({"tiers": ["daily"]}),
            ),
            rec(
                DB,
                "11-03T06",
                "restore.completed",
                "rempart-db-1103",
                asked,
            ),
            rec(VOL, "11-01T12", "snapshot.created", "snap-0v", json!({})),
            rec(VOL, "11-03T09", "restore.refused", "snap-0v", refused),
            rec(
                "replicator#eu-west-1",
                "11-03T07",
                "copy.lag",
                "sweep",
                json!({}),
            ),
        ];
        for r in recs.iter_mut().filter(|r| r.resource == VOL) {
            r.policy = Some("ebs-daily".into());
        }
        let (opened, acked, ok) = ("11-02T02:05:00", "11-02T02:20:00", "11-02T03:35:00");
        let mut inc = incident("rewapp-prod-db-io", opened, Some(acked), Some(ok));
        inc.class.impact = Impact::Critical;
        let tg = targets(24, Some(60));
        let objectives = Objectives {
            time_s: Some(1800),
            time_alert_s: 2700,
            success_alert_pct: 95.0,
            integrity_alert_pct: 99.9,
        };
        build(
            &recs,
            &[inc],
            &tg,
            Some(&objectives),
            at("11-01T00"),
            at("11-04T00"),
            None,
        )
    }

    /// Proves: the terminal table's layout and wording, as reviewed in its
    /// snapshot (a change shows up as a diff).
    #[test]
    fn table_snapshot() {
        insta::assert_snapshot!("table", render_table(&fixed()));
    }

    /// Proves: the JSON format (field names, seconds next to human text,
    /// nulls where nothing was measured), as reviewed in its snapshot.
    #[test]
    fn json_snapshot() {
        insta::assert_json_snapshot!("json", fixed());
    }

    /// A time of any year, RFC 3339.
    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// The ticks of [from, to] as (RFC 3339 instant, label) pairs.
    fn tick_list(from: &str, to: &str) -> Vec<(String, String)> {
        ticks(utc(from), utc(to))
            .into_iter()
            .map(|t| (rfc3339(t.at), t.label))
            .collect()
    }

    /// The (instant, label) pairs expected.
    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, l)| (a.to_string(), l.to_string()))
            .collect()
    }

    /// Checks what every axis must satisfy: sorted, within [from, to], each
    /// label naming its instant exactly (so each tick is on the calendar
    /// boundary of the unit its label names), all on the boundaries of one
    /// step, and 2 to MAX_TICKS of them. A failure says which.
    fn check_axis(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Tick>, String> {
        use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
        let ts = ticks(from, to);
        let ctx = format!("{} to {}: {ts:?}", rfc3339(from), rfc3339(to));
        if !(2..=MAX_TICKS).contains(&ts.len()) {
            return Err(format!("count {} out of 2..=10, {ctx}", ts.len()));
        }
        if ts.windows(2).any(|w| w[0].at >= w[1].at) {
            return Err(format!("not sorted, {ctx}"));
        }
        if ts.iter().any(|t| t.at < from || t.at > to) {
            return Err(format!("outside the period, {ctx}"));
        }
        // Read each label back to the instant it names; a bare `HH:MM` takes
        // the date of the last label that had one.
        let mut day: Option<NaiveDate> = None;
        for t in &ts {
            let l = &t.label;
            let named = match l.len() {
                4 => NaiveDate::from_ymd_opt(l.parse().unwrap(), 1, 1)
                    .map(|d| d.and_time(NaiveTime::MIN)),
                7 => NaiveDate::parse_from_str(&format!("{l}-01"), "%Y-%m-%d")
                    .ok()
                    .map(|d| d.and_time(NaiveTime::MIN)),
                10 => NaiveDate::parse_from_str(l, "%Y-%m-%d")
                    .ok()
                    .map(|d| d.and_time(NaiveTime::MIN)),
                11 => {
                    NaiveDateTime::parse_from_str(&format!("{}-{l}", t.at.year()), "%Y-%m-%d %H:%M")
                        .ok()
                }
                5 => {
                    day.and_then(|d| Some(d.and_time(NaiveTime::parse_from_str(l, "%H:%M").ok()?)))
                }
                _ => None,
            };
            if named.map(|n| n.and_utc()) != Some(t.at) {
                return Err(format!(
                    "label {l:?} does not name {}, {ctx}",
                    rfc3339(t.at)
                ));
            }
            day = Some(t.at.date_naive());
        }
        // One step: equal gaps (in seconds, or in months for month labels),
        // and each tick a multiple of the gap (weeks: Mondays).
        let month = |t: &Tick| i64::from(t.at.year()) * 12 + i64::from(t.at.month0());
        let monthly = ts[0].label.len() <= 7;
        let gaps: Vec<i64> = ts
            .windows(2)
            .map(|w| match monthly {
                true => month(&w[1]) - month(&w[0]),
                false => (w[1].at - w[0].at).num_seconds(),
            })
            .collect();
        let g = gaps[0];
        if gaps.iter().any(|x| *x != g) {
            return Err(format!("uneven gaps {gaps:?}, {ctx}"));
        }
        let aligned = |t: &Tick| match monthly {
            true => month(t) % g == 0,
            false if g == 7 * DAY => {
                t.at.weekday() == chrono::Weekday::Mon && t.at.num_seconds_from_midnight() == 0
            }
            false => t.at.timestamp() % g == 0,
        };
        if !ts.iter().all(aligned) {
            return Err(format!("not on the boundaries of a {g} step, {ctx}"));
        }
        Ok(ts)
    }

    /// Proves: a 6-hour period across midnight gets hourly ticks on the hour,
    /// the first and the one at midnight labelled with their date.
    #[test]
    fn ticks_of_six_hours_are_hours() {
        let expected = pairs(&[
            ("2025-11-19T22:00:00Z", "11-19 22:00"),
            ("2025-11-19T23:00:00Z", "23:00"),
            ("2025-11-20T00:00:00Z", "11-20 00:00"),
            ("2025-11-20T01:00:00Z", "01:00"),
            ("2025-11-20T02:00:00Z", "02:00"),
            ("2025-11-20T03:00:00Z", "03:00"),
        ]);
        let (from, to) = ("2025-11-19T21:48:00Z", "2025-11-20T03:48:00Z");
        assert_eq!(tick_list(from, to), expected);
        check_axis(utc(from), utc(to)).unwrap();
    }

    /// Proves: a 6-day period gets a tick at 00:00 of each day inside it,
    /// labelled with that day's date.
    #[test]
    fn ticks_of_six_days_are_midnights() {
        let (from, to) = ("2025-11-18T04:48:00Z", "2025-11-24T04:48:00Z");
        let expected = pairs(&[
            ("2025-11-19T00:00:00Z", "2025-11-19"),
            ("2025-11-20T00:00:00Z", "2025-11-20"),
            ("2025-11-21T00:00:00Z", "2025-11-21"),
            ("2025-11-22T00:00:00Z", "2025-11-22"),
            ("2025-11-23T00:00:00Z", "2025-11-23"),
            ("2025-11-24T00:00:00Z", "2025-11-24"),
        ]);
        assert_eq!(tick_list(from, to), expected);
        check_axis(utc(from), utc(to)).unwrap();
    }

    /// Proves: a 40-day period gets a tick on each Monday 00:00 inside it.
    #[test]
    fn ticks_of_forty_days_are_mondays() {
        let (from, to) = ("2025-11-18T04:48:00Z", "2025-12-28T04:48:00Z");
        let expected = pairs(&[
            ("2025-11-24T00:00:00Z", "2025-11-24"),
            ("2025-12-01T00:00:00Z", "2025-12-01"),
            ("2025-12-08T00:00:00Z", "2025-12-08"),
            ("2025-12-15T00:00:00Z", "2025-12-15"),
            ("2025-12-22T00:00:00Z", "2025-12-22"),
        ]);
        assert_eq!(tick_list(from, to), expected);
        check_axis(utc(from), utc(to)).unwrap();
    }

    /// Proves: a 13-month period (13 month starts: too many) gets a tick on
    /// each quarter's first day, labelled with its month.
    #[test]
    fn ticks_of_thirteen_months_are_quarters() {
        let (from, to) = ("2025-11-18T04:48:00Z", "2026-12-18T04:48:00Z");
        let expected = pairs(&[
            ("2026-01-01T00:00:00Z", "2026-01"),
            ("2026-04-01T00:00:00Z", "2026-04"),
            ("2026-07-01T00:00:00Z", "2026-07"),
            ("2026-10-01T00:00:00Z", "2026-10"),
        ]);
        assert_eq!(tick_list(from, to), expected);
        check_axis(utc(from), utc(to)).unwrap();
    }

    /// Proves: bounds that are themselves boundaries carry ticks (the
    /// period is closed), e.g. the whole of November has its Mondays, and a
    /// decade has its years.
    #[test]
    fn ticks_include_the_bounds() {
        let t = tick_list("2025-11-01T00:00:00Z", "2025-11-03T00:00:00Z");
        assert_eq!(t.first().unwrap().0, "2025-11-01T00:00:00Z");
        assert_eq!(t.last().unwrap().0, "2025-11-03T00:00:00Z");
        let y = tick_list("2020-01-01T00:00:00Z", "2030-01-01T00:00:00Z");
        let labels: Vec<&str> = y.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["2020", "2022", "2024", "2026", "2028", "2030"]);
    }

    /// Proves: degenerate periods neither panic nor invent ticks: an empty
    /// or reversed period has none, 30 seconds without a minute boundary
    /// none, 30 seconds across one just that minute, and chrono's whole
    /// range a few ticks.
    #[test]
    fn ticks_of_degenerate_periods() {
        let t = utc("2025-11-20T04:48:10Z");
        assert!(ticks(t, t).is_empty());
        assert!(ticks(t, t - TimeDelta::hours(1)).is_empty());
        assert!(ticks(t, t + TimeDelta::seconds(30)).is_empty());
        let one = ticks(t + TimeDelta::seconds(40), t + TimeDelta::seconds(70));
        assert_eq!(one.len(), 1);
        assert_eq!(rfc3339(one[0].at), "2025-11-20T04:49:00Z");
        let all = ticks(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        assert!((2..=MAX_TICKS).contains(&all.len()), "{all:?}");
    }

    /// The number in attribute `attr` of the last element opened by
    /// `element_start` before `marker` (the element that carries it).
    fn x_of(svg: &str, element_start: &str, marker: &str, attr: &str) -> f64 {
        let end = svg
            .find(marker)
            .unwrap_or_else(|| panic!("{marker} not in the SVG"));
        let start = svg[..end].rfind(element_start).unwrap();
        let tail = &svg[start..end];
        let from = tail.find(&format!("{attr}=\"")).unwrap() + attr.len() + 2;
        let len = tail[from..].find('"').unwrap();
        tail[from..from + len].parse().unwrap()
    }

    /// Proves: on the 6-day report's timeline each day's 02:00 backup is
    /// drawn right of its day's tick and left of the next day's, in the
    /// rendered SVG as in the x mapping, and every tick drawn is one of
    /// `ticks`.
    #[test]
    fn backups_stand_between_their_days_ticks() {
        let (from, to) = (at("11-18T04:48:00"), at("11-24T04:48:00"));
        let r = build(
            &daily(18..=24),
            &[],
            &targets(24, None),
            None,
            from,
            to,
            None,
        );
        let s = svg(&r);
        let axis = ticks(from, to);
        assert_eq!(s.matches("<text class=\"tick\"").count(), axis.len());
        for day in 20..=23 {
            let tick = |d: u32| format!(">2025-11-{d:02}</text>");
            let (this, next) = (
                x_of(&s, "<text", &tick(day), "x"),
                x_of(&s, "<text", &tick(day + 1), "x"),
            );
            let backup = x_of(
                &s,
                "<circle",
                &format!("<title>2025-11-{day:02}T02:00:00Z"),
                "cx",
            );
            assert!(
                this < backup && backup < next,
                "{day}: {this} {backup} {next}"
            );
            let (t0, b) = (
                at(&format!("11-{day:02}T00")),
                at(&format!("11-{day:02}T02")),
            );
            let t1 = t0 + TimeDelta::days(1);
            assert!(
                x_at(from, to, t0) < x_at(from, to, b) && x_at(from, to, b) < x_at(from, to, t1)
            );
            assert_eq!(format!("{:.1}", x_at(from, to, t0)), format!("{this:.1}"));
        }
    }

    proptest! {
        /// Proves: for any backups in a period, the measured RPO is at least
        /// every gap between consecutive backups and each edge gap, is one
        /// of them, and never exceeds the period.
        #[test]
        fn rpo_is_the_largest_gap(mut offsets in prop::collection::vec(0i64..2_592_000, 0..40)) {
            let from = at("11-01T00");
            offsets.sort_unstable();
            let times: Vec<_> = offsets.iter().map(|o| from + TimeDelta::seconds(*o)).collect();
            let backup = |t: &DateTime<Utc>| RegistryRecord {
                time: *t,
                ..rec(DB, "11-01T00", "snapshot.created", "s", json!({}))
            };
            let recs: Vec<_> = times.iter().map(backup).collect();
            let r = nov(&recs, &[], &targets(24, None));
            let rpo = r.resources.first().and_then(|x| x.rpo.measured_s);
            let mut points = vec![from];
            points.extend(&times);
            points.push(at("12-01T00"));
            let gaps: Vec<i64> = points.windows(2).map(|w| (w[1] - w[0]).num_seconds()).collect();
            match rpo {
                Some(m) => {
                    prop_assert!(gaps.iter().all(|g| m >= *g) && gaps.contains(&m));
                    prop_assert!(m <= 30 * 86_400);
                }
                None => prop_assert!(times.is_empty()),
            }
        }

        /// Proves: for any period from 1 hour to 3 years (starting anywhere
        /// from 1990 to 2060, to the second), the ticks are sorted, within the
        /// period, on the boundaries of one step of the ladder, labelled with
        /// their exact instant, and from 2 to MAX_TICKS in number.
        #[test]
        fn ticks_fit_any_period(start in 631_152_000i64..2_871_763_200, len in 3600i64..=3 * 366 * 86_400) {
            let from = DateTime::from_timestamp(start, 0).unwrap();
            let to = from + TimeDelta::seconds(len);
            if let Err(e) = check_axis(from, to) {
                prop_assert!(false, "{}", e);
            }
        }
    }
}
