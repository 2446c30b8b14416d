//! S3 backup buckets: the versioning, lifecycle and replication rules a
//! policy demands, the drift between them and what a bucket has, and the
//! audit of its replication (status and lag, the bucket's RPO).
//! Rempart corrects the configuration; it never deletes objects itself.

use crate::duration::Span;
use serde::{Deserialize, Serialize};

/// The ID of the lifecycle rule Rempart writes.
pub const RULE_ID: &str = "rempart-backup-policy";
/// The ID of the replication rule Rempart writes.
pub const REPLICATION_RULE_ID: &str = "rempart-replication";
/// The environment variable naming the role S3 replicates with (the
/// retention-enforcer writes it into each replication rule).
pub const REPLICATION_ROLE_ENV: &str = "REMPART_REPLICATION_ROLE_ARN";
/// How far back an audit reads the replication metrics: the auditor's own
/// period, so that every hour is seen once.
pub const REPLICATION_WINDOW_S: i64 = 3600;

/// A backup bucket declared in the policy document (`[[buckets]]`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BucketRule {
    pub name: String,
    /// The bucket's region (default: the function's region).
    #[serde(default)]
    pub region: Option<crate::model::Region>,
    /// Versioning must be on (the only accepted value is `true`: Rempart
    /// never suspends versioning).
    #[serde(default = "yes")]
    pub versioning: bool,
    #[serde(default)]
    pub lifecycle: Lifecycle,
    /// S3 replication of the whole bucket to another region (none: the
    /// bucket's replication is neither written nor audited).
    #[serde(default)]
    pub replication: Option<Replication>,
}

fn yes() -> bool {
    true
}

/// `[buckets.replication]`: every new object version replicated by S3 to a
/// bucket of another region, re-encrypted there under that region's key.
/// Delete markers are not replicated: a deletion in production does not
/// reach the DR copy.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Replication {
    /// The destination bucket (versioning on), in `region`.
    pub bucket: String,
    /// The destination's region (the DR region).
    pub region: crate::model::Region,
    /// The KMS key of `region` the replicas are encrypted with: an alias
    /// (`alias/rempart-dr`), a key id, or an ARN.
    pub kms_key: String,
    /// The replication lag beyond which an audit reports a breach (default
    /// 15min, the target of S3 Replication Time Control).
    #[serde(default = "default_rpo")]
    pub rpo: Span,
    /// Storage class of the replicas (default: the source object's).
    #[serde(default)]
    pub storage_class: Option<String>,
}

fn default_rpo() -> Span {
    Span(chrono::TimeDelta::minutes(15))
}

impl Replication {
    /// Checks what can be checked without AWS.
    pub fn validate(&self, source: &str) -> Result<(), String> {
        let at = |m: String| format!("buckets `{source}`: replication.{m}");
        if self.bucket == source {
            return Err(at(
                "bucket is the bucket itself; name a bucket of the DR region".into(),
            ));
        }
        if !valid_bucket_name(&self.bucket) {
            return Err(at(format!(
                "bucket `{}` is not a valid S3 bucket name",
                self.bucket
            )));
        }
        if self.kms_key.trim().is_empty() {
            return Err(at(
                "kms_key is empty; name the DR region's key (e.g. `alias/rempart-dr`)".into(),
            ));
        }
        if let Some(r) = self.kms_key.strip_prefix("arn:") {
            if r.split(':').nth(2) != Some(self.region.0.as_str()) {
                return Err(at(format!(
                    "kms_key `{}` is not a key of {} (replicas are encrypted in the destination's region)",
                    self.kms_key, self.region
                )));
            }
        }
        if self.rpo.seconds() <= 0 {
            return Err(at("rpo must be longer than zero".into()));
        }
        Ok(())
    }
}

fn valid_bucket_name(n: &str) -> bool {
    (3..=63).contains(&n.len())
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && !n.starts_with(['.', '-'])
        && !n.ends_with(['.', '-'])
}

/// One replication rule of a bucket, as Rempart reads and writes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReplicationRule {
    pub id: String,
    pub enabled: bool,
    /// Applies to every object (no prefix, tag or size filter).
    pub whole_bucket: bool,
    /// The destination bucket's ARN.
    pub destination: String,
    /// The key replicas are encrypted with (an ARN).
    pub replica_kms_key: Option<String>,
    /// Objects under SSE-KMS are replicated (S3 skips them otherwise).
    pub kms_objects: bool,
    /// S3 publishes the rule's replication metrics (latency, failures),
    /// which the audit reads.
    pub metrics: bool,
    /// Delete markers are replicated (Rempart's rule: no).
    pub delete_markers: bool,
    pub storage_class: Option<String>,
}

impl ReplicationRule {
    /// The rule the policy wants, with the account and partition of the
    /// replication role (S3 takes ARNs only).
    pub fn wanted(r: &Replication, role: &str) -> Result<ReplicationRule, String> {
        let mut parts = role.split(':');
        let (Some("arn"), Some(partition), Some("iam"), _, Some(account)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(format!("`{role}` is not an IAM role ARN"));
        };
        let key = if r.kms_key.starts_with("arn:") {
            r.kms_key.clone()
        } else if r.kms_key.starts_with("alias/") {
            format!("arn:{partition}:kms:{}:{account}:{}", r.region, r.kms_key)
        } else {
            format!(
                "arn:{partition}:kms:{}:{account}:key/{}",
                r.region, r.kms_key
            )
        };
        Ok(ReplicationRule {
            id: REPLICATION_RULE_ID.into(),
            enabled: true,
            whole_bucket: true,
            destination: format!("arn:{partition}:s3:::{}", r.bucket),
            replica_kms_key: Some(key),
            kms_objects: true,
            metrics: true,
            delete_markers: false,
            storage_class: r.storage_class.clone(),
        })
    }

    /// Replicates every object to `bucket`.
    fn copies_all_to(&self, bucket: &str) -> bool {
        self.enabled && self.whole_bucket && self.destination.rsplit(":::").next() == Some(bucket)
    }
}

/// A bucket's replication configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReplicationConfig {
    /// The role S3 replicates with.
    pub role: String,
    pub rules: Vec<ReplicationRule>,
}

/// Why a bucket's replication configuration is not the policy's (`role`:
/// Rempart's replication role; `None` takes the configuration's own, as
/// the auditor does, which does not know it).
pub fn replication_drift(
    want: &Replication,
    have: Option<&ReplicationConfig>,
    role: Option<&str>,
) -> Option<String> {
    let Some(cfg) = have else {
        return Some("no replication configuration".into());
    };
    let role = role.unwrap_or(&cfg.role);
    if cfg.role != role {
        return Some(format!(
            "replicates with role {}, Rempart's is {role}",
            cfg.role
        ));
    }
    let wanted = match ReplicationRule::wanted(want, role) {
        Ok(w) => w,
        Err(e) => return Some(e),
    };
    match &cfg.rules[..] {
        [have] if *have == wanted => None,
        [have] if have.id == REPLICATION_RULE_ID => Some(format!(
            "rule differs: has {have:?}, policy wants {wanted:?}"
        )),
        rules => Some(format!(
            "{} rule(s) ({}) instead of Rempart's single rule",
            rules.len(),
            rules
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// One lifecycle rule over the whole bucket.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    /// Days after creation when current versions move to `storage_class`.
    pub transition_days: Option<i32>,
    /// Storage class of the transition (default GLACIER).
    pub storage_class: Option<String>,
    /// Days after creation when current versions expire (none: never).
    pub expiration_days: Option<i32>,
    /// Days a version stays once it becomes noncurrent.
    pub noncurrent_expiration_days: Option<i32>,
    /// Days after which incomplete multipart uploads are aborted.
    pub abort_incomplete_multipart_days: Option<i32>,
}

impl Lifecycle {
    /// With defaults filled in, as it is written to and read from S3.
    pub fn normalized(&self) -> Lifecycle {
        Lifecycle {
            storage_class: self.transition_days.map(|_| {
                self.storage_class
                    .clone()
                    .unwrap_or_else(|| "GLACIER".into())
            }),
            ..self.clone()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.transition_days.is_none()
            && self.expiration_days.is_none()
            && self.noncurrent_expiration_days.is_none()
            && self.abort_incomplete_multipart_days.is_none()
    }

    /// Checks the numbers (positive days, expiration after transition).
    pub fn validate(&self, bucket: &str) -> Result<(), String> {
        for (field, v) in [
            ("transition_days", self.transition_days),
            ("expiration_days", self.expiration_days),
            (
                "noncurrent_expiration_days",
                self.noncurrent_expiration_days,
            ),
            (
                "abort_incomplete_multipart_days",
                self.abort_incomplete_multipart_days,
            ),
        ] {
            if v.is_some_and(|d| d <= 0) {
                return Err(format!(
                    "buckets `{bucket}`: lifecycle.{field} must be a positive number of days"
                ));
            }
        }
        if let (Some(t), Some(e)) = (self.transition_days, self.expiration_days) {
            if e <= t {
                return Err(format!(
                    "buckets `{bucket}`: lifecycle.expiration_days ({e}) must come after transition_days ({t})"
                ));
            }
        }
        Ok(())
    }
}

/// What a bucket has now.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BucketState {
    /// `Enabled`, `Suspended`, or `None` when versioning was never set.
    pub versioning: Option<String>,
    /// Its lifecycle rules: (rule id, the rule read as a [`Lifecycle`] when it
    /// is a whole-bucket rule Rempart can read, else `None`).
    pub rules: Vec<(String, Option<Lifecycle>)>,
    /// Its replication configuration (read only when the policy sets one).
    pub replication: Option<ReplicationConfig>,
}

/// What must change for a bucket to match its rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub enable_versioning: bool,
    /// The lifecycle configuration must be rewritten; why.
    pub lifecycle: Option<String>,
    /// The replication configuration must be rewritten; why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication: Option<String>,
}

impl Drift {
    pub fn is_none(&self) -> bool {
        !self.enable_versioning && self.lifecycle.is_none() && self.replication.is_none()
    }
}

/// Compares a bucket's state with its rule (pure). `replication_role`:
/// the role Rempart's replication rule names (see [`replication_drift`]).
pub fn drift(rule: &BucketRule, state: &BucketState, replication_role: Option<&str>) -> Drift {
    let want = rule.lifecycle.normalized();
    let lifecycle = if want.is_empty() {
        None
    } else {
        match &state.rules[..] {
            [] => Some("no lifecycle rule".to_string()),
            [(id, Some(have))] if id == RULE_ID && *have == want => None,
            [(id, Some(have))] if id == RULE_ID => {
                Some(format!("rule differs: has {have:?}, policy wants {want:?}"))
            }
            rules => Some(format!(
                "{} rule(s) ({}) instead of Rempart's single rule",
                rules.len(),
                rules
                    .iter()
                    .map(|(id, _)| id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    };
    Drift {
        enable_versioning: rule.versioning && state.versioning.as_deref() != Some("Enabled"),
        lifecycle,
        replication: rule
            .replication
            .as_ref()
            .and_then(|r| replication_drift(r, state.replication.as_ref(), replication_role)),
    }
}

/// What S3 publishes of a replication rule over the audit's window
/// (CloudWatch `AWS/S3`, per source, destination and rule).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReplicationMetrics {
    /// The highest `ReplicationLatency` (seconds); none when no object
    /// was replicated in the window.
    pub max_latency_s: Option<f64>,
    /// The sum of `OperationsFailedReplication`.
    pub failed_operations: f64,
}

/// A bucket's replication, as the audit sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplicationStatus {
    /// Replicating as the policy says, within its RPO.
    Ok,
    /// Replicating, but slower than the RPO.
    Late,
    /// Replicating, not as the policy says (key, metrics, storage class,
    /// delete markers): the retention-enforcer rewrites it.
    Misconfigured,
    /// Objects failed to replicate in the window.
    Failing,
    /// No enabled rule copies the whole bucket to its destination.
    Off,
}

/// The audit of one bucket's replication.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReplicationAudit {
    pub bucket: String,
    pub region: String,
    pub destination: String,
    pub status: ReplicationStatus,
    /// The highest lag of the window (seconds): the bucket's RPO.
    pub lag_s: Option<i64>,
    pub rpo_s: i64,
    pub failed_operations: u64,
    pub message: String,
}

impl ReplicationAudit {
    pub fn compliant(&self) -> bool {
        self.status == ReplicationStatus::Ok
    }
}

/// The embedded-metric lines of the replication audits: the lag (when S3
/// published one) and 1 or 0 for compliance, per bucket
/// (`s3-bucket/<name>`, with `@region` outside `primary`).
pub fn emf_lines(
    audits: &[ReplicationAudit],
    primary: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<serde_json::Value> {
    use crate::metrics::{emf, resource, BUCKET_REPLICATION_LAG, COVERAGE};
    audits
        .iter()
        .map(|a| {
            let mut values = Vec::new();
            if let Some(l) = a.lag_s {
                values.push((BUCKET_REPLICATION_LAG, l as f64));
            }
            values.push((COVERAGE, if a.compliant() { 1.0 } else { 0.0 }));
            emf(
                &resource("s3-bucket", &a.bucket, &a.region, primary),
                now,
                &values,
            )
        })
        .collect()
}

/// The audit of a `[[buckets]]` bucket that does not exist (S3's
/// `NoSuchBucket`): nothing of it is replicated.
pub fn missing_bucket(bucket: &str, region: &str, want: &Replication) -> ReplicationAudit {
    ReplicationAudit {
        bucket: bucket.into(),
        region: region.into(),
        destination: format!("{}/{}", want.region, want.bucket),
        status: ReplicationStatus::Off,
        lag_s: None,
        rpo_s: want.rpo.seconds(),
        failed_operations: 0,
        message: format!(
            "replication of {bucket} is off: the bucket does not exist in {region} (the policy's [[buckets]] names it)"
        ),
    }
}

/// Audits a bucket's replication (pure): off, misconfigured, failing,
/// late, or ok, in that order of gravity; `metrics` as S3 published them
/// over the last [`REPLICATION_WINDOW_S`]; `role`: Rempart's replication
/// role (a configuration replicating with another is misconfigured;
/// `None`: the configuration's own is taken, see [`replication_drift`]).
pub fn audit_replication(
    bucket: &str,
    region: &str,
    want: &Replication,
    have: Option<&ReplicationConfig>,
    metrics: Option<&ReplicationMetrics>,
    role: Option<&str>,
) -> ReplicationAudit {
    let dest = &want.bucket;
    let rpo_s = want.rpo.seconds();
    let lag_s = metrics
        .and_then(|m| m.max_latency_s)
        .map(|s| s.ceil() as i64);
    let failed = metrics.map_or(0, |m| m.failed_operations.max(0.0).round() as u64);
    let window = crate::time::human(REPLICATION_WINDOW_S);
    let on = have.is_some_and(|c| c.rules.iter().any(|r| r.copies_all_to(dest)));
    let (status, message) = if !on {
        (
            ReplicationStatus::Off,
            format!(
                "replication of {bucket} is off: no enabled rule copies the whole bucket to {dest} ({})",
                have.map_or("no replication configuration".to_string(), |c| format!(
                    "{} rule(s)",
                    c.rules.len()
                ))
            ),
        )
    } else if failed > 0 {
        (
            ReplicationStatus::Failing,
            format!("{failed} object(s) of {bucket} failed to replicate to {dest} in the last {window} (OperationsFailedReplication)"),
        )
    } else if let Some(why) = replication_drift(want, have, role) {
        (
            ReplicationStatus::Misconfigured,
            format!("replication of {bucket} to {dest} is not the policy's: {why}"),
        )
    } else {
        match lag_s {
            Some(l) if l > rpo_s => (
                ReplicationStatus::Late,
                format!(
                    "replication of {bucket} to {dest} lagged {} in the last {window}, above its RPO of {}",
                    crate::time::human(l),
                    crate::time::human(rpo_s)
                ),
            ),
            Some(l) => (
                ReplicationStatus::Ok,
                format!(
                    "{bucket} replicated to {dest}, lag at most {} in the last {window}",
                    crate::time::human(l)
                ),
            ),
            None => (
                ReplicationStatus::Ok,
                format!("{bucket} replicates to {dest}; no object replicated in the last {window}"),
            ),
        }
    };
    ReplicationAudit {
        bucket: bucket.into(),
        region: region.into(),
        destination: format!("{}/{dest}", want.region),
        status,
        lag_s,
        rpo_s,
        failed_operations: failed,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> BucketRule {
        BucketRule {
            name: "b".into(),
            region: None,
            versioning: true,
            lifecycle: Lifecycle {
                transition_days: Some(30),
                expiration_days: Some(1825),
                noncurrent_expiration_days: Some(365),
                ..Default::default()
            },
            replication: None,
        }
    }

    const ROLE: &str = "arn:aws:iam::123456789012:role/rempart-s3-replication";

    fn replication() -> Replication {
        Replication {
            bucket: "b-dr".into(),
            region: crate::model::Region("eu-central-1".into()),
            kms_key: "alias/rempart-dr".into(),
            rpo: default_rpo(),
            storage_class: None,
        }
    }

    /// The configuration Rempart writes for [`replication`].
    fn written() -> ReplicationConfig {
        ReplicationConfig {
            role: ROLE.into(),
            rules: vec![ReplicationRule::wanted(&replication(), ROLE).expect("role ARN")],
        }
    }

    #[test]
    fn a_bucket_matching_its_rule_has_no_drift() {
        let state = BucketState {
            versioning: Some("Enabled".into()),
            rules: vec![(RULE_ID.into(), Some(rule().lifecycle.normalized()))],
            replication: None,
        };
        assert!(drift(&rule(), &state, None).is_none());
    }

    #[test]
    fn versioning_off_or_suspended_is_drift() {
        for v in [None, Some("Suspended".to_string())] {
            let state = BucketState {
                versioning: v,
                rules: vec![(RULE_ID.into(), Some(rule().lifecycle.normalized()))],
                replication: None,
            };
            let d = drift(&rule(), &state, None);
            assert!(d.enable_versioning && d.lifecycle.is_none());
        }
    }

    #[test]
    fn missing_different_or_foreign_rules_are_drift() {
        let mut other = rule().lifecycle.normalized();
        other.expiration_days = Some(30 + 1);
        for (rules, needle) in [
            (vec![], "no lifecycle rule"),
            (vec![(RULE_ID.to_string(), Some(other))], "rule differs"),
            (vec![("theirs".to_string(), None)], "theirs"),
        ] {
            let state = BucketState {
                versioning: Some("Enabled".into()),
                rules,
                replication: None,
            };
            let d = drift(&rule(), &state, None);
            assert!(
                d.lifecycle.as_deref().unwrap_or("").contains(needle),
                "{d:?}"
            );
        }
    }

    #[test]
    fn the_written_rule_names_arns_in_the_roles_account_and_the_destinations_region() {
        let w = &written().rules[0];
        assert_eq!(w.destination, "arn:aws:s3:::b-dr");
        assert_eq!(
            w.replica_kms_key.as_deref(),
            Some("arn:aws:kms:eu-central-1:123456789012:alias/rempart-dr")
        );
        assert!(w.enabled && w.whole_bucket && w.kms_objects && w.metrics && !w.delete_markers);
        let mut by_id = replication();
        by_id.kms_key = "1234abcd-12ab".into();
        assert_eq!(
            ReplicationRule::wanted(&by_id, "arn:aws-cn:iam::1:role/r")
                .expect("ARN")
                .replica_kms_key
                .as_deref(),
            Some("arn:aws-cn:kms:eu-central-1:1:key/1234abcd-12ab")
        );
        assert!(ReplicationRule::wanted(&by_id, "rempart-role").is_err());
    }

    #[test]
    fn replication_drift_is_missing_differing_or_foreign_configuration() {
        let mut r = rule();
        r.replication = Some(replication());
        let state = |replication| BucketState {
            versioning: Some("Enabled".into()),
            rules: vec![(RULE_ID.into(), Some(rule().lifecycle.normalized()))],
            replication,
        };
        assert_eq!(
            drift(&r, &state(Some(written())), Some(ROLE)),
            Drift::default()
        );
        let mut keyed = written();
        keyed.rules[0].replica_kms_key = None;
        let mut theirs = written();
        theirs.rules[0].id = "theirs".into();
        let mut other_role = written();
        other_role.role = "arn:aws:iam::123456789012:role/theirs".into();
        for (have, needle) in [
            (None, "no replication configuration"),
            (Some(keyed), "rule differs"),
            (Some(theirs), "theirs"),
            (Some(other_role), "role/theirs"),
        ] {
            let d = drift(&r, &state(have), Some(ROLE));
            assert!(
                d.replication.as_deref().unwrap_or("").contains(needle) && !d.is_none(),
                "{d:?}"
            );
        }
        // A bucket whose policy sets no replication keeps whatever it has.
        assert!(drift(&rule(), &state(None), Some(ROLE)).is_none());
    }

    #[test]
    fn replication_is_audited_off_failing_misconfigured_late_or_ok() {
        let want = replication();
        let m = |lag: Option<f64>, failed: f64| ReplicationMetrics {
            max_latency_s: lag,
            failed_operations: failed,
        };
        let mut disabled = written();
        disabled.rules[0].enabled = false;
        let mut elsewhere = written();
        elsewhere.rules[0].destination = "arn:aws:s3:::other".into();
        let mut unencrypted = written();
        unencrypted.rules[0].replica_kms_key = None;
        let cases = [
            (
                None,
                None,
                ReplicationStatus::Off,
                "no replication configuration",
            ),
            (Some(disabled), None, ReplicationStatus::Off, "off"),
            (Some(elsewhere), None, ReplicationStatus::Off, "off"),
            (
                Some(written()),
                Some(m(Some(3.0), 2.0)),
                ReplicationStatus::Failing,
                "2 object(s)",
            ),
            (
                Some(unencrypted),
                Some(m(Some(3.0), 0.0)),
                ReplicationStatus::Misconfigured,
                "rule differs",
            ),
            (
                Some(written()),
                Some(m(Some(901.0), 0.0)),
                ReplicationStatus::Late,
                "lagged 15min 1s in the last 1h, above its RPO of 15min",
            ),
            (
                Some(written()),
                Some(m(Some(900.0), 0.0)),
                ReplicationStatus::Ok,
                "at most 15min",
            ),
            (
                Some(written()),
                Some(m(None, 0.0)),
                ReplicationStatus::Ok,
                "no object replicated",
            ),
        ];
        for (have, metrics, status, needle) in cases {
            let a = audit_replication(
                "b",
                "eu-west-1",
                &want,
                have.as_ref(),
                metrics.as_ref(),
                Some(ROLE),
            );
            assert_eq!(a.status, status, "{a:?}");
            assert!(a.message.contains(needle), "{a:?}");
            assert_eq!(a.compliant(), status == ReplicationStatus::Ok);
            assert_eq!(a.destination, "eu-central-1/b-dr");
        }
        // Rempart's rule written with another role: misconfigured when the
        // auditor knows Rempart's role, not when it must take the
        // configuration's own.
        let mut theirs = written();
        theirs.role = "arn:aws:iam::123456789012:role/theirs".into();
        let ok = Some(m(Some(3.0), 0.0));
        let a = audit_replication(
            "b",
            "eu-west-1",
            &want,
            Some(&theirs),
            ok.as_ref(),
            Some(ROLE),
        );
        assert_eq!(a.status, ReplicationStatus::Misconfigured, "{a:?}");
        assert!(a.message.contains("role/theirs"), "{a:?}");
        let a = audit_replication("b", "eu-west-1", &want, Some(&theirs), ok.as_ref(), None);
        assert_eq!(a.status, ReplicationStatus::Ok, "{a:?}");
        let gone = missing_bucket("b", "eu-west-1", &want);
        assert_eq!(gone.status, ReplicationStatus::Off);
        assert!(
            gone.message.contains("does not exist in eu-west-1"),
            "{gone:?}"
        );
    }

    #[test]
    fn the_lag_and_compliance_go_to_the_metrics() {
        let a = audit_replication(
            "b",
            "eu-west-1",
            &replication(),
            Some(&written()),
            Some(&ReplicationMetrics {
                max_latency_s: Some(42.2),
                failed_operations: 0.0,
            }),
            Some(ROLE),
        );
        let now = "2026-12-03T10:00:00Z".parse().expect("time");
        let line = &emf_lines(&[a], "eu-west-1", now)[0];
        assert_eq!(line["BucketReplicationLagSeconds"], 43);
        assert_eq!(line["Coverage"], 1);
        assert_eq!(line["Resource"], "s3-bucket/b");
    }

    #[test]
    fn replication_settings_are_checked() {
        let mut r = replication();
        r.bucket = "b".into();
        assert!(r.validate("b").unwrap_err().contains("the bucket itself"));
        let mut r = replication();
        r.kms_key = "arn:aws:kms:eu-west-1:1:key/k".into();
        assert!(r
            .validate("b")
            .unwrap_err()
            .contains("not a key of eu-central-1"));
        let mut r = replication();
        r.bucket = "B_DR".into();
        assert!(r
            .validate("b")
            .unwrap_err()
            .contains("not a valid S3 bucket name"));
        assert!(replication().validate("b").is_ok());
    }

    #[test]
    fn validation_names_the_bucket_and_field() {
        let mut l = rule().lifecycle;
        l.expiration_days = Some(10);
        assert!(l
            .validate("b")
            .unwrap_err()
            .contains("expiration_days (10)"));
        l.expiration_days = Some(0);
        assert!(l.validate("b").unwrap_err().contains("positive"));
    }
}
