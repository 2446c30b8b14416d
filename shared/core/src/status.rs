//! `rempart status` (pure): one look at whether everything is protected and
//! how fresh it is. Built from what the backup-auditor computes (the audit
//! of the protected resources, the coverage classes), each resource's last
//! restore test and DR drill from the registry, and the open incidents;
//! rendered for a terminal (colours optional) or as JSON.

use crate::announce::{Outcome, RegistryRecord};
use crate::audit::Audit;
use crate::coverage::{Class, Covered};
use crate::incident::Incident;
use crate::kind::ResourceKind;
use crate::time::{human, rfc3339};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// A concluded restore test or DR drill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LastTest {
    /// `restore.succeeded`, `restore.failed`, `drill.succeeded`, ...
    pub action: String,
    pub time: DateTime<Utc>,
    pub passed: bool,
    /// The measured restore time, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rto_s: Option<i64>,
    /// Drills: the region the copy was restored in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// The newest concluded test with this action prefix (`restore.` for
/// restore tests, `drill.` for DR drills) among a resource's records.
pub fn last_test(records: &[RegistryRecord], prefix: &str) -> Option<LastTest> {
    records
        .iter()
        .filter(|r| {
            r.action
                .strip_prefix(prefix)
                .is_some_and(|rest| matches!(rest, "succeeded" | "failed"))
        })
        .max_by_key(|r| r.time)
        .map(|r| LastTest {
            action: r.action.clone(),
            time: r.time,
            passed: r.outcome == Outcome::Success,
            rto_s: r.details.get("rto_s").and_then(serde_json::Value::as_i64),
            region: r
                .details
                .get("region")
                .and_then(serde_json::Value::as_str)
                .map(str::to_string),
        })
}

/// One protected resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Protected {
    pub kind: ResourceKind,
    pub id: String,
    pub region: String,
    pub policy: String,
    /// Age of the newest available snapshot (seconds).
    pub snapshot_age_s: Option<i64>,
    pub rpo_s: i64,
    /// Age of the newest DR copy, per DR region (`None`: none yet).
    pub dr_age_s: BTreeMap<String, Option<i64>>,
    pub last_restore_test: Option<LastTest>,
    pub last_drill: Option<LastTest>,
    /// Every check of the audit passed.
    pub ok: bool,
    /// What the audit found wrong.
    pub findings: Vec<String>,
    /// Keys of its open incidents.
    pub incidents: Vec<String>,
}

/// An open incident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OpenIncident {
    pub key: String,
    pub title: String,
    pub impact: String,
    pub level: u8,
    /// The policy's class, when it has its own scale.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub class: String,
    pub opened_at: DateTime<Utc>,
    pub acknowledged: bool,
}

/// The whole status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Status {
    pub time: DateTime<Utc>,
    pub region: String,
    /// All protected and fresh, nothing unprotected, no open incident.
    pub ok: bool,
    /// The one-line verdict.
    pub verdict: String,
    pub protected: Vec<Protected>,
    pub unprotected: Vec<Covered>,
    pub excluded: Vec<Covered>,
    pub incidents: Vec<OpenIncident>,
}

/// Builds the status. `tests` holds each protected resource's registry
/// records (key `<kind>#<region>#<id>`), from which its last restore test
/// and drill are read.
pub fn build(
    now: DateTime<Utc>,
    region: &str,
    audit: &Audit,
    coverage: &[Covered],
    tests: &BTreeMap<String, Vec<RegistryRecord>>,
    incidents: &[Incident],
) -> Status {
    let open: Vec<&Incident> = incidents
        .iter()
        .filter(|i| i.resolved_at.is_none())
        .collect();
    let protected: Vec<Protected> = audit
        .resources
        .iter()
        .map(|r| {
            let subject = format!("{}/{}", r.kind, r.id);
            let key = format!("{}#{}#{}", r.kind, region, r.id);
            let records = tests.get(&key).map(Vec::as_slice).unwrap_or(&[]);
            let suffix = format!("#{}#{}", r.kind, r.id);
            Protected {
                kind: r.kind,
                id: r.id.clone(),
                region: region.to_string(),
                policy: r.policy.clone(),
                snapshot_age_s: r.rpo_age_s,
                rpo_s: r.rpo_s,
                dr_age_s: r.dr_age_s.clone(),
                last_restore_test: last_test(records, "restore."),
                last_drill: last_test(records, "drill."),
                ok: r.compliant,
                findings: audit
                    .findings
                    .iter()
                    .filter(|f| f.subject == subject)
                    .map(|f| f.message.clone())
                    .collect(),
                incidents: open
                    .iter()
                    .filter(|i| i.key.ends_with(&suffix))
                    .map(|i| i.key.clone())
                    .collect(),
            }
        })
        .collect();
    let unprotected: Vec<Covered> = coverage
        .iter()
        .filter(|c| c.is_unprotected())
        .cloned()
        .collect();
    let excluded: Vec<Covered> = coverage
        .iter()
        .filter(|c| matches!(c.class, Class::Excluded { .. }))
        .cloned()
        .collect();
    let incidents: Vec<OpenIncident> = open
        .iter()
        .map(|i| OpenIncident {
            key: i.key.clone(),
            title: i.title.clone(),
            impact: i.class.impact.as_str().to_string(),
            level: i.class.level,
            class: i.class.class.clone(),
            opened_at: i.opened_at,
            acknowledged: i.acked_at.is_some(),
        })
        .collect();
    let stale: Vec<&Protected> = protected.iter().filter(|p| !p.ok).collect();
    let mut wrong = Vec::new();
    if !stale.is_empty() {
        let names: Vec<&str> = stale.iter().map(|p| p.id.as_str()).collect();
        wrong.push(format!(
            "{} of {} protected resources failing their checks ({})",
            stale.len(),
            protected.len(),
            names.join(", ")
        ));
    }
    if !unprotected.is_empty() {
        let names: Vec<&str> = unprotected.iter().map(|c| c.id.as_str()).collect();
        wrong.push(format!(
            "{} unprotected ({})",
            unprotected.len(),
            names.join(", ")
        ));
    }
    if !incidents.is_empty() {
        wrong.push(format!("{} open incident(s)", incidents.len()));
    }
    let ok = wrong.is_empty();
    let verdict = if ok {
        format!(
            "OK: all {} protected resources are fresh, nothing is unprotected{}, no open incident",
            protected.len(),
            if excluded.is_empty() {
                String::new()
            } else {
                format!(" ({} excluded on purpose)", excluded.len())
            }
        )
    } else {
        format!("NOT OK: {}", wrong.join("; "))
    };
    Status {
        time: now,
        region: region.to_string(),
        ok,
        verdict,
        protected,
        unprotected,
        excluded,
        incidents,
    }
}

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

fn age(s: Option<i64>) -> String {
    s.map_or_else(|| "none".into(), |s| format!("{} ago", human(s)))
}

/// The status for a terminal: the verdict first, then the protected
/// resources (snapshot age against the RPO, DR copies, last test and
/// drill), the unprotected and excluded ones, the open incidents. With
/// `colour`, ANSI colours (green ok, red not, yellow attention).
pub fn render_text(s: &Status, colour: bool) -> String {
    let paint = |c: &str, t: &str| {
        if colour {
            format!("{c}{t}{RESET}")
        } else {
            t.to_string()
        }
    };
    let mark = |ok: bool| {
        if ok {
            paint(GREEN, "ok  ")
        } else {
            paint(RED, "FAIL")
        }
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}", paint(if s.ok { GREEN } else { RED }, &s.verdict));
    let _ = writeln!(out, "as of {} (region {})", rfc3339(s.time), s.region);
    let _ = writeln!(
        out,
        "\n{}",
        paint(BOLD, &format!("Protected ({})", s.protected.len()))
    );
    for p in &s.protected {
        let _ = writeln!(
            out,
            "  {} {} {} [{}]  snapshot {} (RPO {})",
            mark(p.ok),
            p.kind,
            p.id,
            p.policy,
            age(p.snapshot_age_s),
            human(p.rpo_s)
        );
        for (region, a) in &p.dr_age_s {
            let _ = writeln!(out, "         DR copy in {region}: {}", age(*a));
        }
        for (what, t) in [
            ("restore test", &p.last_restore_test),
            ("DR drill", &p.last_drill),
        ] {
            if let Some(t) = t {
                let verdict = if t.passed {
                    paint(GREEN, "passed")
                } else {
                    paint(RED, "failed")
                };
                let rto = t
                    .rto_s
                    .map(|r| format!(" in {}", human(r)))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "         last {what}: {verdict}{rto}, {} ago",
                    human((s.time - t.time).num_seconds().max(0))
                );
            }
        }
        for f in &p.findings {
            let _ = writeln!(out, "         {}", paint(RED, f));
        }
        for i in &p.incidents {
            let _ = writeln!(
                out,
                "         {}",
                paint(YELLOW, &format!("open incident {i}"))
            );
        }
    }
    let _ = writeln!(
        out,
        "\n{}",
        paint(BOLD, &format!("Unprotected ({})", s.unprotected.len()))
    );
    for c in &s.unprotected {
        let reason = match &c.class {
            Class::Unprotected { reason } => reason.as_str(),
            _ => "",
        };
        let created = c
            .created
            .map(|t| format!(", created {}", t.format("%Y-%m-%d")))
            .unwrap_or_default();
        let by = c
            .creator
            .as_deref()
            .map(|w| format!(", {w}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {} {} in {}{created}{by}: {reason}",
            paint(RED, "!!  "),
            c.kind,
            c.id,
            c.region
        );
    }
    let _ = writeln!(
        out,
        "\n{}",
        paint(BOLD, &format!("Excluded on purpose ({})", s.excluded.len()))
    );
    for c in &s.excluded {
        if let Class::Excluded { reason, by } = &c.class {
            let _ = writeln!(
                out,
                "  --   {} {} in {}: {reason} ({by})",
                c.kind, c.id, c.region
            );
        }
    }
    let _ = writeln!(
        out,
        "\n{}",
        paint(BOLD, &format!("Open incidents ({})", s.incidents.len()))
    );
    for i in &s.incidents {
        let ack = if i.acknowledged {
            "acknowledged".to_string()
        } else {
            paint(YELLOW, "not acknowledged")
        };
        let _ = writeln!(
            out,
            "  {} {} {}, since {}, {ack}: {}",
            i.key,
            i.impact,
            if i.class.is_empty() {
                format!("level {}", i.level)
            } else {
                format!("class {}", i.class)
            },
            rfc3339(i.opened_at),
            i.title
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::announce::Severity;
    use crate::audit::{Finding, ResourceAudit};
    use crate::incident::Classification;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    fn resource(id: &str, ok: bool, age: i64) -> ResourceAudit {
        ResourceAudit {
            kind: ResourceKind::RdsInstance,
            id: id.into(),
            policy: "pg".into(),
            rpo_age_s: Some(age),
            rpo_s: 26 * 3600,
            dr_age_s: BTreeMap::from([("eu-central-1".to_string(), Some(age + 600))]),
            vault_age_s: BTreeMap::new(),
            pitr_lag_s: None,
            compliant: ok,
        }
    }

    fn record(action: &str, at: &str, ok: bool) -> RegistryRecord {
        RegistryRecord {
            resource: "rds-instance#eu-west-1#prod".into(),
            time: t(at),
            action: action.into(),
            subject: "x".into(),
            outcome: if ok {
                Outcome::Success
            } else {
                Outcome::Failure
            },
            policy: None,
            region: "eu-west-1".into(),
            function: "restore-tester".into(),
            details: serde_json::json!({"rto_s": 1500}),
            cause: None,
        }
    }

    fn covered(id: &str, class: Class) -> Covered {
        Covered {
            kind: ResourceKind::RdsInstance,
            id: id.into(),
            arn: format!("arn:aws:rds:eu-west-1:1:db:{id}"),
            region: "eu-west-1".into(),
            created: Some(t("2025-11-20T00:00:00Z")),
            creator: None,
            class,
        }
    }

    /// Proves: the newest concluded test is picked per kind (restore tests
    /// and drills apart), in-progress records are ignored, and the verdict
    /// and RTO come from the record.
    #[test]
    fn last_test_is_the_newest_conclusion() {
        let records = [
            record("restore.succeeded", "2025-10-01T00:00:00Z", true),
            record("restore.failed", "2025-11-01T00:00:00Z", false),
            record("restore.started", "2025-11-20T00:00:00Z", true),
            record("drill.succeeded", "2025-09-01T00:00:00Z", true),
            record("drill.slow", "2025-11-21T00:00:00Z", false),
        ];
        let r = last_test(&records, "restore.").expect("test");
        assert_eq!(
            (r.action.as_str(), r.passed, r.rto_s),
            ("restore.failed", false, Some(1500))
        );
        let d = last_test(&records, "drill.").expect("drill");
        assert_eq!(d.action, "drill.succeeded");
        assert_eq!(last_test(&records[2..3], "restore."), None);
    }

    /// Proves: everything fresh, nothing unprotected and no incident gives
    /// an OK verdict; a failing resource, an unprotected one and an open
    /// incident each appear in the NOT OK line, and the incident is tied
    /// to its resource.
    #[test]
    fn the_verdict_names_what_is_wrong() {
        let now = t("2025-11-23T06:00:00Z");
        let good = Audit {
            resources: vec![resource("prod", true, 3600)],
            ..Audit::default()
        };
        let excluded = covered(
            "legacy",
            Class::Excluded {
                reason: "archive".into(),
                by: "tag rempart:policy=none".into(),
            },
        );
        let s = build(
            now,
            "eu-west-1",
            &good,
            std::slice::from_ref(&excluded),
            &BTreeMap::new(),
            &[],
        );
        assert!(s.ok);
        assert_eq!(
            s.verdict,
            "OK: all 1 protected resources are fresh, nothing is unprotected (1 excluded on purpose), no open incident"
        );

        let bad = Audit {
            resources: vec![
                resource("prod", true, 3600),
                resource("stale", false, 40 * 3600),
            ],
            findings: vec![Finding {
                check: "rpo-breach".into(),
                severity: Severity::Warning,
                subject: "rds-instance/stale".into(),
                message: "newest snapshot 40h00m old, over the RPO of 26h00m".into(),
            }],
            ..Audit::default()
        };
        let unprotected = covered(
            "billing-db",
            Class::Unprotected {
                reason: "no rempart:policy tag: no policy backs it up".into(),
            },
        );
        let incident = Incident {
            id: "audit#rds-instance#stale@x".into(),
            key: "audit#rds-instance#stale".into(),
            title: "Audit of stale".into(),
            class: Classification {
                impact: crate::incident::Impact::Minor,
                level: 3,
                class: String::new(),
                rule: "r".into(),
            },
            opened_at: t("2025-11-23T05:00:00Z"),
            last_alarm_at: t("2025-11-23T05:00:00Z"),
            acked_at: None,
            client_notified_at: None,
            escalation: 0,
            first_tier: 0,
            last_paged_at: t("2025-11-23T05:00:00Z"),
            last_reminder_at: None,
            last_update_at: t("2025-11-23T05:00:00Z"),
            ok_since: None,
            resolved_at: None,
            recurring: false,
            audiences: vec![],
            timeline: vec![],
        };
        let tests = BTreeMap::from([(
            "rds-instance#eu-west-1#prod".to_string(),
            vec![record("restore.succeeded", "2025-11-10T00:00:00Z", true)],
        )]);
        let s = build(
            now,
            "eu-west-1",
            &bad,
            &[unprotected, excluded],
            &tests,
            &[incident],
        );
        assert!(!s.ok);
        assert_eq!(
            s.verdict,
            "NOT OK: 1 of 2 protected resources failing their checks (stale); 1 unprotected (billing-db); 1 open incident(s)"
        );
        let stale = s.protected.iter().find(|p| p.id == "stale").expect("stale");
        assert_eq!(stale.incidents, ["audit#rds-instance#stale"]);
        assert_eq!(stale.findings.len(), 1);
        let prod = s.protected.iter().find(|p| p.id == "prod").expect("prod");
        assert!(prod.last_restore_test.as_ref().is_some_and(|t| t.passed));

        let plain = render_text(&s, false);
        assert!(!plain.contains('\x1b'), "no colour when asked for none");
        for want in [
            "NOT OK: 1 of 2",
            "FAIL rds-instance stale [pg]  snapshot 1d 16h ago (RPO 1d 2h)",
            "DR copy in eu-central-1: 1h 10min ago",
            "last restore test: passed in 25min, 13d 6h ago",
            "!!   rds-instance billing-db in eu-west-1, created 2025-11-20: no rempart:policy tag",
            "--   rds-instance legacy in eu-west-1: archive (tag rempart:policy=none)",
            "audit#rds-instance#stale minor level 3, since 2025-11-23T05:00:00Z, not acknowledged: Audit of stale",
        ] {
            assert!(plain.contains(want), "missing `{want}` in:\n{plain}");
        }
        let coloured = render_text(&s, true);
        assert!(
            coloured.contains("\x1b[31mNOT OK"),
            "the verdict in red on a terminal"
        );
    }
}
