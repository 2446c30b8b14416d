//! The metrics Rempart's functions measure, as CloudWatch embedded metric
//! format (EMF) lines: one JSON object per line on a Lambda's stdout, from
//! which CloudWatch Logs extracts the metrics with no API call. Namespace
//! `Rempart`, one dimension `Resource` (`<kind>/<id>`, `@<region>` outside
//! the primary region): the dashboard draws one line per resource.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

pub const NAMESPACE: &str = "Rempart";

/// backup-auditor: seconds since the newest available snapshot.
pub const RPO_AGE: &str = "RpoAgeSeconds";
/// backup-auditor: seconds the newest snapshot has waited for its DR copy.
pub const DR_COPY_LAG: &str = "DrCopyLagSeconds";
/// backup-auditor: the age of a resource's newest copy in its backup
/// accounts (the isolated RPO; the oldest of its accounts), as the
/// production sources' `rempart:vault-copy:<account>` marks say.
pub const VAULT_COPY_AGE: &str = "VaultCopyAgeSeconds";
/// retention-enforcer in a backup account: the age of the newest copy
/// that account holds of a resource, by the time it made it (the isolated
/// RPO as the backup account itself sees it).
pub const VAULT_HELD_AGE: &str = "VaultHeldCopyAgeSeconds";
/// retention-enforcer in a backup account: the resources whose newest copy
/// there is older than their policy's RPO (resource `vault`; 0 when none).
pub const VAULT_STALE: &str = "VaultStaleResources";
/// backup-auditor: how far an RDS or Aurora database's newest restorable
/// point lags the audit (the point-in-time RPO).
pub const PITR_LAG: &str = "PitrLagSeconds";
/// backup-auditor: the highest S3 replication lag of a `[[buckets]]`
/// bucket over the last hour (resource `s3-bucket/<name>`).
pub const BUCKET_REPLICATION_LAG: &str = "BucketReplicationLagSeconds";
/// backup-auditor: 1 when every check of the resource passed, 0 on a breach.
pub const COVERAGE: &str = "Coverage";
/// backup-auditor: resources of a required kind that no policy covers and
/// no exclusion explains, per searched region (resource `coverage`).
pub const UNPROTECTED: &str = "UnprotectedResources";
/// retention-enforcer: snapshots of the resource kept by its run.
pub const SNAPSHOTS_KEPT: &str = "SnapshotsKept";
/// retention-enforcer: snapshots of the resource deleted by its run.
pub const SNAPSHOTS_DELETED: &str = "SnapshotsDeleted";
/// restore-tester: a concluded test's measured RTO, start to checked.
pub const RESTORE_TEST_RTO: &str = "RestoreTestRtoSeconds";
/// restore-tester: 1 when a concluded test passed, 0 when it failed.
pub const RESTORE_TEST_SUCCESS: &str = "RestoreTestSuccess";
/// restore-tester: checks passed of checks run, in percent (integrity).
pub const RESTORE_INTEGRITY: &str = "RestoreIntegrityPercent";
/// incident-escalator: incidents open after its tick (resource `incidents`).
/// restore-tester (drills, in the DR region): a concluded drill's measured
/// region-failover time, start to checked, per drilled resource.
pub const DRILL_RTO: &str = "DrillRtoSeconds";
pub const OPEN_INCIDENTS: &str = "OpenIncidents";

/// The unit CloudWatch records for a metric of this module.
fn unit(name: &str) -> &'static str {
    match name {
        // Every duration is named `…Seconds`, by construction of the names.
        n if n.ends_with("Seconds") => "Seconds",
        RESTORE_INTEGRITY => "Percent",
        _ => "Count",
    }
}

/// The `Resource` dimension of a resource in a region (`primary`: the
/// functions' region, named without suffix).
pub fn resource(kind: &str, id: &str, region: &str, primary: &str) -> String {
    if region == primary || region.is_empty() {
        format!("{kind}/{id}")
    } else {
        format!("{kind}/{id}@{region}")
    }
}

/// One EMF line: `values` of one resource at `now`.
pub fn emf(resource: &str, now: DateTime<Utc>, values: &[(&str, f64)]) -> Value {
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": now.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Resource"]],
                "Metrics": values
                    .iter()
                    .map(|(n, _)| json!({"Name": n, "Unit": unit(n)}))
                    .collect::<Vec<_>>(),
            }]
        }),
    );
    line.insert("Resource".into(), Value::String(resource.into()));
    for (n, v) in values {
        // Whole numbers as integers (counts, seconds), as they are.
        let v = if v.fract() == 0.0 && v.abs() < 9e15 {
            json!(*v as i64)
        } else {
            json!(v)
        };
        line.insert((*n).to_string(), v);
    }
    Value::Object(line)
}

/// The lines with their metrics in `namespace` (Terraform's
/// `metrics_namespace`, through `REMPART_METRICS_NAMESPACE`) instead of
/// [`NAMESPACE`]; `None` or empty: as they are.
pub fn with_namespace(lines: &[Value], namespace: Option<&str>) -> Vec<Value> {
    let mut out = lines.to_vec();
    if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
        for line in &mut out {
            if let Some(Value::Array(ms)) = line
                .get_mut("_aws")
                .and_then(|a| a.get_mut("CloudWatchMetrics"))
            {
                for m in ms {
                    m["Namespace"] = Value::String(ns.to_string());
                }
            }
        }
    }
    out
}

/// The metric names an EMF line declares.
pub fn names(line: &Value) -> Vec<String> {
    line["_aws"]["CloudWatchMetrics"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|d| d["Metrics"].as_array().cloned().unwrap_or_default())
        .filter_map(|m| m["Name"].as_str().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves: durations are declared in seconds (the isolated RPO's two
    /// ages were once declared as counts), percentages in percent, the
    /// rest as counts.
    #[test]
    fn each_metric_declares_its_unit() {
        for n in [
            RPO_AGE,
            DR_COPY_LAG,
            VAULT_COPY_AGE,
            VAULT_HELD_AGE,
            PITR_LAG,
            BUCKET_REPLICATION_LAG,
            RESTORE_TEST_RTO,
            DRILL_RTO,
        ] {
            assert_eq!(unit(n), "Seconds", "{n}");
        }
        assert_eq!(unit(RESTORE_INTEGRITY), "Percent");
        for n in [
            COVERAGE,
            UNPROTECTED,
            SNAPSHOTS_KEPT,
            VAULT_STALE,
            RESTORE_TEST_SUCCESS,
        ] {
            assert_eq!(unit(n), "Count", "{n}");
        }
    }

    /// Proves: the namespace a deployment chose replaces Rempart's in
    /// every line, values and dimensions untouched; none (or empty) leaves
    /// the lines as they are.
    #[test]
    fn lines_go_to_the_namespace_the_deployment_chose() {
        let now: DateTime<Utc> = "2026-12-04T06:00:00Z".parse().expect("time");
        let lines = vec![emf("ebs-volume/vol-1", now, &[(RPO_AGE, 60.0)])];
        let moved = with_namespace(&lines, Some("Acme/Backups"));
        assert_eq!(
            moved[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "Acme/Backups"
        );
        assert_eq!(moved[0]["Resource"], "ebs-volume/vol-1");
        assert_eq!(moved[0][RPO_AGE], 60);
        assert_eq!(
            moved[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            lines[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
        );
        assert_eq!(with_namespace(&lines, None), lines);
        assert_eq!(with_namespace(&lines, Some("")), lines);
        assert_eq!(
            lines[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            NAMESPACE
        );
    }

    /// Proves: an EMF line carries the namespace, the one `Resource`
    /// dimension, each metric's name and unit in the declaration and its
    /// value at the top level (the format CloudWatch extracts), and the
    /// event's time.
    #[test]
    fn an_emf_line_declares_and_carries_each_value() {
        let now: DateTime<Utc> = "2025-11-24T05:30:00Z".parse().expect("time");
        let l = emf(
            "rds-instance/rewapp-prod-db",
            now,
            &[(SNAPSHOTS_KEPT, 12.0), (RESTORE_TEST_RTO, 300.0)],
        );
        let d = &l["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(d["Namespace"], "Rempart");
        assert_eq!(d["Dimensions"], json!([["Resource"]]));
        assert_eq!(
            d["Metrics"],
            json!([{"Name": "SnapshotsKept", "Unit": "Count"}, {"Name": "RestoreTestRtoSeconds", "Unit": "Seconds"}])
        );
        assert_eq!(l["SnapshotsKept"], 12);
        assert_eq!(l["RestoreTestRtoSeconds"], 300);
        let pct = emf("r", now, &[(RESTORE_INTEGRITY, 87.5)]);
        assert_eq!(pct["RestoreIntegrityPercent"], 87.5);
        assert_eq!(l["Resource"], "rds-instance/rewapp-prod-db");
        assert_eq!(l["_aws"]["Timestamp"], now.timestamp_millis());
        assert_eq!(names(&l), ["SnapshotsKept", "RestoreTestRtoSeconds"]);
    }

    /// Proves: a resource outside the primary region is its own series.
    #[test]
    fn dr_copies_are_their_own_series() {
        assert_eq!(
            resource("ebs-volume", "vol-1", "eu-west-1", "eu-west-1"),
            "ebs-volume/vol-1"
        );
        assert_eq!(
            resource("ebs-volume", "vol-1", "eu-central-1", "eu-west-1"),
            "ebs-volume/vol-1@eu-central-1"
        );
    }
}
