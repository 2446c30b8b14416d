//! The backup audit (pure): for every protected resource, the age of its
//! newest snapshot against the policy's RPO, the presence and age of its
//! newest DR copy (3-2-1), encryption, the tiers its retention promises, and
//! per region the manual RDS snapshot quota headroom; resources that
//! disappeared are flagged (their last snapshots are kept, never aged out
//! silently). The backup-auditor function (not built yet) lists, calls this,
//! publishes the findings and the metrics.
//!
//! Rules checked: each resource's RPO, the 3-2-1 rule (one copy in another
//! region), and a daily verification of the backups.

use crate::announce::Severity;
use crate::kind::ResourceKind;
use crate::model::is_available;
use crate::model::{Resource, SnapshotInfo, Tier};
use crate::policy::PolicyDocument;
use crate::tags::*;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// AWS's default quota of manual RDS snapshots per region.
pub const RDS_MANUAL_QUOTA: usize = 100;
/// Warn when this share of the quota is used.
pub const QUOTA_WARN_PERCENT: usize = 80;

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `rpo-breach`, `no-snapshot`, `dr-missing`, `dr-stale`,
    /// `vault-missing`, `vault-stale`, `unencrypted`, `tier-missing`,
    /// `quota`, `resource-gone`.
    pub check: String,
    pub severity: Severity,
    /// `<kind>/<id>`, or the region for `quota`.
    pub subject: String,
    pub message: String,
}

/// Per resource: the numbers the metrics carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResourceAudit {
    pub kind: ResourceKind,
    pub id: String,
    pub policy: String,
    /// Age of the newest available snapshot (seconds), if any.
    pub rpo_age_s: Option<i64>,
    pub rpo_s: i64,
    /// Age of the newest available DR copy, per DR region.
    pub dr_age_s: BTreeMap<String, Option<i64>>,
    /// Age of the newest snapshot copied to each backup account of the
    /// policy (its isolated RPO), by account.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub vault_age_s: BTreeMap<String, Option<i64>>,
    /// RDS and Aurora under a policy with `pitr`: how far the newest
    /// restorable point (`LatestRestorableTime`) lags the audit (seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pitr_lag_s: Option<i64>,
    /// Whether every check passed.
    pub compliant: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Audit {
    pub resources: Vec<ResourceAudit>,
    pub findings: Vec<Finding>,
    /// Manual RDS snapshots per region (all of them, Rempart's or not).
    pub rds_manual: BTreeMap<String, usize>,
}

fn finding(check: &str, severity: Severity, subject: String, message: String) -> Finding {
    Finding {
        check: check.into(),
        severity,
        subject,
        message,
    }
}

fn hours(s: i64) -> String {
    format!("{}h{:02}m", s / 3600, s % 3600 / 60)
}

/// Point-in-time recovery of an RDS instance or Aurora cluster against the
/// policy's `pitr` (e.g. 35 days of automated backups, a 5-minute
/// PostgreSQL RPO): automated backups on, kept long enough, in the asked
/// window, and the newest restorable point recent enough. Returns the lag
/// (seconds, never negative) and the findings.
fn pitr_findings(
    r: &Resource,
    want: &crate::policy::Pitr,
    b: &crate::model::AutomatedBackups,
    now: DateTime<Utc>,
) -> (Option<i64>, Vec<Finding>) {
    use crate::time::human;
    let subject = format!("{}/{}", r.kind, r.id);
    let mut found = Vec::new();
    if b.retention_days <= 0 {
        found.push(finding(
            "pitr-off",
            Severity::Critical,
            subject,
            format!(
                "automated backups of {} are off: no point-in-time recovery, the policy's PITR target of {} cannot be met",
                r.id, want.target
            ),
        ));
        return (None, found);
    }
    if (b.retention_days as u32) < want.retention_days {
        found.push(finding(
            "pitr-retention",
            Severity::Warning,
            subject.clone(),
            format!(
                "{} keeps {} day(s) of automated backups; the policy asks {}",
                r.id, b.retention_days, want.retention_days
            ),
        ));
    }
    if let Some(w) = &want.backup_window {
        if b.window.as_deref() != Some(w.as_str()) {
            found.push(finding(
                "pitr-window",
                Severity::Warning,
                subject.clone(),
                format!(
                    "{} backs up in {} (UTC); the policy's window is {w}",
                    r.id,
                    b.window.as_deref().unwrap_or("no window")
                ),
            ));
        }
    }
    let lag = b.latest_restorable.map(|t| (now - t).num_seconds().max(0));
    match lag {
        None => found.push(finding(
            "pitr-lag",
            Severity::Critical,
            subject,
            format!(
                "RDS reports no latest restorable time for {}: point-in-time recovery is not available",
                r.id
            ),
        )),
        Some(l) if l > want.target.seconds() => found.push(finding(
            "pitr-lag",
            Severity::Critical,
            subject,
            format!(
                "the newest restorable point of {} is {} old, over the PITR target of {}",
                r.id,
                human(l),
                want.target
            ),
        )),
        _ => {}
    }
    (lag, found)
}

/// Audits at `now`. `resources`: the protected resources found (tagged with
/// a policy); `snapshots`: every Rempart snapshot in the primary and DR
/// regions; `rds_manual`: the count of all manual RDS snapshots per region.
pub fn audit(
    doc: &PolicyDocument,
    resources: &[Resource],
    snapshots: &[SnapshotInfo],
    rds_manual: &BTreeMap<String, usize>,
    now: DateTime<Utc>,
) -> Audit {
    let mut out = Audit {
        rds_manual: rds_manual.clone(),
        ..Default::default()
    };
    let copy_of = crate::tags::TAG_COPY_OF;
    for r in resources {
        let subject = format!("{}/{}", r.kind, r.id);
        let Some(pname) = r.policy_tag() else {
            continue;
        };
        let Some(policy) = doc.policy(pname) else {
            out.findings.push(finding(
                "unknown-policy",
                Severity::Warning,
                subject,
                format!("tagged rempart:policy={pname}, which the policy document does not define: it is not protected"),
            ));
            continue;
        };
        let mine: Vec<&SnapshotInfo> = snapshots
            .iter()
            .filter(|s| s.kind == r.kind && s.source_id() == r.id && is_available(s))
            .collect();
        let primary: Vec<&&SnapshotInfo> = mine
            .iter()
            .filter(|s| s.region == r.region && !s.tags.contains_key(copy_of))
            .collect();
        let newest = primary.iter().filter_map(|s| s.taken_at()).max();
        let rpo = policy.rpo.seconds();
        let mut ok = true;
        let age = newest.map(|t| (now - t).num_seconds());
        match age {
            None => {
                ok = false;
                out.findings.push(finding(
                    "no-snapshot",
                    Severity::Critical,
                    subject.clone(),
                    format!(
                        "{} has no available Rempart snapshot: its RPO of {} cannot be met",
                        r.id,
                        hours(rpo)
                    ),
                ));
            }
            Some(a) if a > rpo => {
                ok = false;
                out.findings.push(finding(
                    "rpo-breach",
                    Severity::Critical,
                    subject.clone(),
                    format!(
                        "newest snapshot of {} is {} old, over its RPO of {}",
                        r.id,
                        hours(a),
                        hours(rpo)
                    ),
                ));
            }
            _ => {}
        }
        if let Some(unenc) = primary
            .iter()
            .find(|s| !s.encrypted && r.kind != ResourceKind::ElasticacheRedis)
        {
            ok = false;
            out.findings.push(finding(
                "unencrypted",
                Severity::Warning,
                subject.clone(),
                format!("snapshot {} of {} is not encrypted at rest", unenc.id, r.id),
            ));
        }
        // Tiers the retention promises: a scheduled tier with a keep count
        // must have at least one snapshot once the resource has history.
        let present: BTreeSet<String> = primary
            .iter()
            .filter_map(|s| s.tags.get(TAG_TIERS))
            .flat_map(|t| t.split('+').map(str::to_string).collect::<Vec<_>>())
            .collect();
        let scheduled: BTreeSet<Tier> = policy
            .schedules
            .iter()
            .flat_map(|s| s.tiers.iter().copied())
            .collect();
        let ret = &policy.retention;
        for (tier, count) in [
            (Tier::Daily, ret.keep_daily),
            (Tier::Weekly, ret.keep_weekly),
            (Tier::Monthly, ret.keep_monthly),
            (Tier::Yearly, ret.keep_yearly),
        ] {
            let promised = count.is_some_and(|c| c.0 != 0) && scheduled.contains(&tier);
            if promised && !primary.is_empty() && !present.contains(tier.as_str()) {
                let history = primary.iter().filter_map(|s| s.taken_at()).min();
                let long_enough = history.is_some_and(|h| {
                    (now - h).num_days()
                        >= match tier {
                            Tier::Daily => 2,
                            Tier::Weekly => 8,
                            Tier::Monthly => 32,
                            _ => 367,
                        }
                });
                if long_enough {
                    ok = false;
                    out.findings.push(finding(
                        "tier-missing",
                        Severity::Warning,
                        subject.clone(),
                        format!("no {tier} snapshot of {} although the retention keeps {tier} snapshots", r.id),
                    ));
                }
            }
        }
        let mut dr_age = BTreeMap::new();
        for t in &policy.dr {
            let region = t.region.0.clone();
            let newest_copy = if r.kind == ResourceKind::ElasticacheRedis {
                let tag = crate::tags::dr_copy_tag(&region);
                primary
                    .iter()
                    .filter(|s| s.tags.contains_key(&tag))
                    .filter_map(|s| s.taken_at())
                    .max()
            } else {
                mine.iter()
                    .filter(|s| s.region == region && s.tags.contains_key(copy_of))
                    .filter_map(|s| s.taken_at())
                    .max()
            };
            let a = newest_copy.map(|c| (now - c).num_seconds());
            match a {
                None if !primary.is_empty() => {
                    ok = false;
                    out.findings.push(finding(
                        "dr-missing",
                        Severity::Critical,
                        subject.clone(),
                        format!("{} has no DR copy in {region} (rule 3-2-1)", r.id),
                    ));
                }
                Some(a) if a > rpo => {
                    ok = false;
                    out.findings.push(finding(
                        "dr-stale",
                        Severity::Warning,
                        subject.clone(),
                        format!(
                            "newest DR copy of {} in {region} is {} old, over the RPO of {}",
                            r.id,
                            hours(a),
                            hours(rpo)
                        ),
                    ));
                }
                _ => {}
            }
            dr_age.insert(region, a);
        }
        // The isolated RPO: the newest snapshot whose copy each backup
        // account holds, as the replicator's mark on the source says.
        let mut vault_age = BTreeMap::new();
        for v in &policy.vault {
            let tag = crate::tags::vault_copy_tag(&v.account);
            let newest_copy = primary
                .iter()
                .filter(|s| s.tags.contains_key(&tag))
                .filter_map(|s| s.taken_at())
                .max();
            let a = newest_copy.map(|c| (now - c).num_seconds());
            match a {
                None if !primary.is_empty() => {
                    ok = false;
                    out.findings.push(finding(
                        "vault-missing",
                        Severity::Critical,
                        subject.clone(),
                        format!(
                            "{} has no copy in backup account {} (air-gapped copies)",
                            r.id, v.account
                        ),
                    ));
                }
                Some(a) if a > rpo => {
                    ok = false;
                    out.findings.push(finding(
                        "vault-stale",
                        Severity::Warning,
                        subject.clone(),
                        format!(
                            "newest copy of {} in backup account {} is {} old, over the RPO of {}",
                            r.id,
                            v.account,
                            hours(a),
                            hours(rpo)
                        ),
                    ));
                }
                _ => {}
            }
            vault_age.insert(v.account.clone(), a);
        }
        let mut pitr_lag = None;
        if let (Some(want), Some(b)) = (&policy.pitr, &r.backups) {
            let found = pitr_findings(r, want, b, now);
            ok &= found.1.is_empty();
            pitr_lag = found.0;
            out.findings.extend(found.1);
        }
        out.resources.push(ResourceAudit {
            kind: r.kind,
            id: r.id.clone(),
            policy: pname.to_string(),
            rpo_age_s: age,
            rpo_s: rpo,
            dr_age_s: dr_age,
            vault_age_s: vault_age,
            pitr_lag_s: pitr_lag,
            compliant: ok,
        });
    }
    // Resources that disappeared: Rempart snapshots of a source no longer found.
    let alive: BTreeSet<(ResourceKind, String)> =
        resources.iter().map(|r| (r.kind, r.id.clone())).collect();
    let gone: BTreeSet<(ResourceKind, String)> = snapshots
        .iter()
        .filter(|s| s.is_managed() && !s.tags.contains_key(copy_of))
        .map(|s| (s.kind, s.source_id()))
        .filter(|k| !alive.contains(k))
        .collect();
    for (kind, id) in gone {
        let n = snapshots
            .iter()
            .filter(|s| s.kind == kind && s.source_id() == id)
            .count();
        out.findings.push(finding(
            "resource-gone",
            Severity::Warning,
            format!("{kind}/{id}"),
            format!("{id} no longer exists or lost its rempart:policy tag; its {n} Rempart snapshot(s) are kept until someone decides"),
        ));
    }
    for (region, n) in rds_manual {
        if n * 100 >= RDS_MANUAL_QUOTA * QUOTA_WARN_PERCENT {
            out.findings.push(finding(
                "quota",
                if *n >= RDS_MANUAL_QUOTA { Severity::Critical } else { Severity::Warning },
                region.clone(),
                format!("{n} of the {RDS_MANUAL_QUOTA} manual RDS snapshots allowed in {region}: snapshots will fail with SnapshotQuotaExceeded; shorten retention or ask AWS for a quota increase"),
            ));
        }
    }
    out
}

/// The CloudWatch embedded metric format lines (one per resource), written
/// to the log: CloudWatch extracts the metrics with no API call.
pub fn emf_lines(a: &Audit, now: DateTime<Utc>) -> Vec<Value> {
    use crate::metrics::{emf, COVERAGE, DR_COPY_LAG, RPO_AGE, VAULT_COPY_AGE};
    a.resources
        .iter()
        .map(|r| {
            let lag = r.dr_age_s.values().filter_map(|v| *v).max();
            let mut values = Vec::new();
            if let Some(age) = r.rpo_age_s {
                values.push((RPO_AGE, age as f64));
            }
            if let Some(l) = lag {
                values.push((DR_COPY_LAG, l as f64));
            }
            if let Some(l) = r.pitr_lag_s {
                values.push((crate::metrics::PITR_LAG, l as f64));
            }
            if let Some(v) = r.vault_age_s.values().filter_map(|v| *v).max() {
                values.push((VAULT_COPY_AGE, v as f64));
            }
            values.push((COVERAGE, if r.compliant { 1.0 } else { 0.0 }));
            emf(&format!("{}/{}", r.kind, r.id), now, &values)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../examples/rewapp-policy.toml");

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    fn db() -> Resource {
        Resource {
            kind: ResourceKind::RdsInstance,
            id: "rewapp-prod-db".into(),
            arn: "arn:aws:rds:eu-west-1:1:db:rewapp-prod-db".into(),
            region: "eu-west-1".into(),
            tags: BTreeMap::from([(TAG_POLICY.to_string(), "rewapp-postgres".to_string())]),
            aurora_cluster: None,
            redis: None,
            backups: None,
            created: None,
        }
    }

    fn snap(id: &str, region: &str, at: &str, tiers: &str, copy: bool) -> SnapshotInfo {
        let mut tags = BTreeMap::from([
            (TAG_MANAGED.to_string(), "true".to_string()),
            (TAG_POLICY.to_string(), "rewapp-postgres".to_string()),
            (TAG_SCHEDULED_AT.to_string(), at.to_string()),
            (
                TAG_SOURCE.to_string(),
                "arn:aws:rds:eu-west-1:1:db:rewapp-prod-db".to_string(),
            ),
            (TAG_TIERS.to_string(), tiers.to_string()),
        ]);
        if copy {
            tags.insert(crate::tags::TAG_COPY_OF.into(), format!("arn:src:{id}"));
        }
        SnapshotInfo {
            kind: ResourceKind::RdsInstance,
            id: id.into(),
            arn: format!("arn:aws:rds:{region}:1:snapshot:{id}"),
            region: region.into(),
            source: "rewapp-prod-db".into(),
            status: "available".into(),
            created: None,
            tags,
            encrypted: true,
            kms_key: None,
        }
    }

    fn doc() -> PolicyDocument {
        PolicyDocument::from_toml(EXAMPLE, "example").expect("parses")
    }

    /// Proves: a fresh snapshot and a fresh DR copy pass; the same history a
    /// day and a half later breaches the 26 h RPO in both places.
    #[test]
    fn rpo_and_dr_ages_are_measured_against_the_policy() {
        let snaps = vec![
            snap(
                "a",
                "eu-west-1",
                "2025-11-23T02:00:00Z",
                "daily+weekly+monthly+yearly",
                false,
            ),
            snap(
                "a",
                "eu-central-1",
                "2025-11-23T02:00:00Z",
                "daily+weekly+monthly+yearly",
                true,
            ),
        ];
        let ok = audit(
            &doc(),
            &[db()],
            &snaps,
            &BTreeMap::new(),
            t("2025-11-23T05:00:00Z"),
        );
        assert!(ok.findings.is_empty(), "{:?}", ok.findings);
        assert_eq!(ok.resources[0].rpo_age_s, Some(3 * 3600));
        assert!(ok.resources[0].compliant);
        let late = audit(
            &doc(),
            &[db()],
            &snaps,
            &BTreeMap::new(),
            t("2025-11-24T14:00:00Z"),
        );
        let checks: Vec<&str> = late.findings.iter().map(|f| f.check.as_str()).collect();
        assert_eq!(checks, vec!["rpo-breach", "dr-stale"]);
        assert!(!late.resources[0].compliant);
        let emf = emf_lines(&late, t("2025-11-24T14:00:00Z"));
        assert_eq!(emf[0]["Coverage"], 0);
        assert_eq!(emf[0]["RpoAgeSeconds"], 36 * 3600);
        assert_eq!(
            emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "Rempart"
        );
    }

    /// Proves the isolated RPO: with a backup account in the policy, a
    /// resource whose snapshots carry no vault mark has a critical
    /// `vault-missing`; the newest marked snapshot's age is the metric
    /// `VaultCopyAgeSeconds`; older than the RPO it is `vault-stale`, and
    /// a newer unmarked snapshot does not hide that.
    #[test]
    fn the_newest_vault_copy_is_measured_against_the_rpo() {
        let text = EXAMPLE.replace(
            "[policies.rewapp-postgres.retention]",
            "[[policies.rewapp-postgres.vault]]\naccount = \"210987654321\"\nrole = \"arn:aws:iam::210987654321:role/rempart-vault-replicator\"\nkms_key = \"arn:aws:kms:eu-west-1:210987654321:alias/rempart-vault\"\n\n[policies.rewapp-postgres.retention]",
        );
        let d = PolicyDocument::from_toml(&text, "vaulted").expect("parses");
        let dr = |id: &str, at: &str| snap(id, "eu-central-1", at, "daily", true);
        let mut old = snap("a", "eu-west-1", "2025-11-22T02:00:00Z", "daily", false);
        let new = snap("b", "eu-west-1", "2025-11-23T02:00:00Z", "daily", false);
        let copies = [
            dr("a", "2025-11-22T02:00:00Z"),
            dr("b", "2025-11-23T02:00:00Z"),
        ];
        let run = |snaps: Vec<SnapshotInfo>, at: &str| {
            audit(&d, &[db()], &snaps, &BTreeMap::new(), t(at))
        };
        let none = run(
            [old.clone(), new.clone()]
                .into_iter()
                .chain(copies.clone())
                .collect(),
            "2025-11-23T05:00:00Z",
        );
        let checks: Vec<(&str, Severity)> = none
            .findings
            .iter()
            .map(|f| (f.check.as_str(), f.severity))
            .collect();
        assert_eq!(checks, vec![("vault-missing", Severity::Critical)]);
        assert!(none.findings[0].message.contains("210987654321"));
        assert_eq!(none.resources[0].vault_age_s["210987654321"], None);

        old.tags.insert(
            crate::tags::vault_copy_tag("210987654321"),
            "rempart-a".into(),
        );
        let stale = run(
            [old, new].into_iter().chain(copies).collect(),
            "2025-11-23T05:00:00Z",
        );
        let checks: Vec<&str> = stale.findings.iter().map(|f| f.check.as_str()).collect();
        assert_eq!(checks, vec!["vault-stale"], "27 h over a 26 h RPO");
        assert_eq!(
            stale.resources[0].vault_age_s["210987654321"],
            Some(27 * 3600)
        );
        let emf = emf_lines(&stale, t("2025-11-23T05:00:00Z"));
        assert_eq!(emf[0]["VaultCopyAgeSeconds"], 27 * 3600);
        assert_eq!(emf[0]["Coverage"], 0);
    }

    /// Proves: point-in-time recovery is checked against the policy's
    /// `pitr`: in order it passes and gives the lag (never negative: RDS's
    /// clock may be ahead of the event); off, kept too briefly, in another
    /// window, or lagging beyond the target, each is a finding that breaks
    /// the resource's coverage; the lag is a metric.
    #[test]
    fn point_in_time_recovery_is_checked() {
        let now = t("2025-11-24T14:00:00Z");
        let want = crate::policy::Pitr {
            retention_days: 35,
            target: "5min".parse().expect("span"),
            backup_window: Some("01:00-01:30".into()),
        };
        let b = |days: i32, window: &str, latest: Option<&str>| crate::model::AutomatedBackups {
            retention_days: days,
            window: Some(window.into()),
            latest_restorable: latest.map(t),
        };
        let checks = |b: crate::model::AutomatedBackups| {
            let (lag, f) = pitr_findings(&db(), &want, &b, now);
            (lag, f.into_iter().map(|f| f.check).collect::<Vec<_>>())
        };
        assert_eq!(
            checks(b(35, "01:00-01:30", Some("2025-11-24T13:57:00Z"))),
            (Some(180), vec![])
        );
        assert_eq!(
            checks(b(35, "01:00-01:30", Some("2025-11-24T14:00:09Z"))),
            (Some(0), vec![])
        );
        assert_eq!(
            checks(b(0, "01:00-01:30", None)),
            (None, vec!["pitr-off".to_string()])
        );
        assert_eq!(
            checks(b(7, "03:00-03:30", Some("2025-11-24T13:59:00Z"))).1,
            ["pitr-retention", "pitr-window"]
        );
        let (lag, late) = checks(b(35, "01:00-01:30", Some("2025-11-24T13:40:00Z")));
        assert_eq!((lag, late), (Some(1200), vec!["pitr-lag".to_string()]));
        assert_eq!(checks(b(35, "01:00-01:30", None)).1, ["pitr-lag"]);

        let mut doc = PolicyDocument::from_toml(EXAMPLE, "example").expect("example");
        let p = doc
            .policies
            .values_mut()
            .find(|p| p.pitr.is_some())
            .expect("a PITR policy");
        p.pitr = Some(want.clone());
        let mut r = db();
        r.backups = Some(b(35, "01:00-01:30", Some("2025-11-24T13:40:00Z")));
        let a = audit(&doc, &[r], &[], &BTreeMap::new(), now);
        assert!(!a.resources[0].compliant);
        assert!(
            a.findings
                .iter()
                .any(|f| f.check == "pitr-lag" && f.message.contains("20min")),
            "{:?}",
            a.findings
        );
        assert_eq!(emf_lines(&a, now)[0]["PitrLagSeconds"], 1200);
    }

    /// Proves: no snapshot at all, no DR copy, unencrypted snapshots, the
    /// quota near its limit and a vanished resource are each reported.
    #[test]
    fn gaps_are_reported() {
        let none = audit(
            &doc(),
            &[db()],
            &[],
            &BTreeMap::new(),
            t("2025-11-23T05:00:00Z"),
        );
        assert_eq!(none.findings[0].check, "no-snapshot");
        let mut s = snap(
            "a",
            "eu-west-1",
            "2025-11-23T02:00:00Z",
            "daily+weekly+monthly+yearly",
            false,
        );
        s.encrypted = false;
        let quota = BTreeMap::from([
            ("eu-west-1".to_string(), 85usize),
            ("eu-central-1".to_string(), 10),
        ]);
        let a = audit(
            &doc(),
            &[db()],
            &[s.clone()],
            &quota,
            t("2025-11-23T05:00:00Z"),
        );
        let checks: BTreeSet<&str> = a.findings.iter().map(|f| f.check.as_str()).collect();
        assert_eq!(
            checks,
            BTreeSet::from(["unencrypted", "dr-missing", "quota"])
        );
        assert!(a
            .findings
            .iter()
            .any(|f| f.check == "quota" && f.subject == "eu-west-1"));
        let gone = audit(
            &doc(),
            &[],
            &[s],
            &BTreeMap::new(),
            t("2025-11-23T05:00:00Z"),
        );
        assert_eq!(gone.findings[0].check, "resource-gone");
        assert!(gone.findings[0].message.contains("kept"));
    }

    /// Proves: a tier the retention keeps but that has no snapshot after
    /// long enough a history is reported; a young history is not.
    #[test]
    fn missing_tiers_are_reported_once_history_allows() {
        let daily = |day: u32| {
            snap(
                &format!("d{day}"),
                "eu-west-1",
                &format!("2025-11-{day:02}T02:00:00Z"),
                "daily",
                false,
            )
        };
        let copies = |day: u32| {
            snap(
                &format!("d{day}"),
                "eu-central-1",
                &format!("2025-11-{day:02}T02:00:00Z"),
                "daily",
                true,
            )
        };
        let young: Vec<_> = (20..=23).flat_map(|d| [daily(d), copies(d)]).collect();
        let a = audit(
            &doc(),
            &[db()],
            &young,
            &BTreeMap::new(),
            t("2025-11-23T05:00:00Z"),
        );
        assert!(a.findings.is_empty(), "{:?}", a.findings);
        let old: Vec<_> = (1..=23).flat_map(|d| [daily(d), copies(d)]).collect();
        let a = audit(
            &doc(),
            &[db()],
            &old,
            &BTreeMap::new(),
            t("2025-11-23T05:00:00Z"),
        );
        assert_eq!(
            a.findings
                .iter()
                .map(|f| f.message.as_str())
                .filter(|m| m.contains("weekly"))
                .count(),
            1
        );
    }
}
