//! S3 replication of the policy's `[[buckets]]` against moto: the
//! retention-enforcer writes and corrects it, the backup-auditor reports
//! its status and lag, and a breach opens an incident that a passing audit
//! resolves.
//!
//! moto's gaps, answered at the HTTP level and said where they are used:
//! moto keeps a replication configuration but answers `GetBucketReplication`
//! without its replica key, metrics or source selection
//! ([`rempart_testkit::proxy::s3_replication_as_put`] answers with the
//! document moto accepted, as S3 does); and moto replicates no object, so
//! S3's replication metrics (`AWS/S3` `ReplicationLatency`,
//! `OperationsFailedReplication`) are published by the test, as S3 would.

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    VersioningConfiguration,
};
use rempart_backup_auditor as backup_auditor;
use rempart_core::buckets::{ReplicationAudit, ReplicationStatus};
use rempart_core::policy::PolicySource;
use rempart_incident_escalator as incident_escalator;
use rempart_integration::{Harness, TABLE};
use rempart_retention_enforcer as retention_enforcer;
use serde_json::Value;

const SOURCE: &str = "rewapp-prod-assets";
const REPLICA: &str = "rewapp-prod-assets-dr";
const ROLE: &str = "arn:aws:iam::123456789012:role/rempart-s3-replication";

/// One EBS policy (the estate's volume) and the bucket replicated to
/// eu-central-1 under the DR key's alias, RPO 15 min.
const POLICY: &str = r#"
version = 1
[policies.rewapp-ebs]
kinds = ["ebs-volume"]
rpo = "26h"
[[policies.rewapp-ebs.schedules]]
name = "daily"
cron = "0 4 * * *"
[policies.rewapp-ebs.retention]
keep_last = 2

[[buckets]]
name = "rewapp-prod-assets"
[buckets.lifecycle]
noncurrent_expiration_days = 30
[buckets.replication]
bucket = "rewapp-prod-assets-dr"
region = "eu-central-1"
kms_key = "alias/rempart-dr"
rpo = "15min"
"#;

async fn create_bucket(cfg: &aws_config::SdkConfig, name: &str, region: &str, versioned: bool) {
    let s3 = aws_sdk_s3::Client::new(cfg);
    s3.create_bucket()
        .bucket(name)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        )
        .send()
        .await
        .expect("bucket");
    if versioned {
        s3.put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .expect("versioning");
    }
}

/// Publishes what S3 publishes of Rempart's rule at `at` (moto replicates
/// nothing and publishes no S3 metric).
async fn s3_publishes(
    cfg: &aws_config::SdkConfig,
    at: chrono::DateTime<chrono::Utc>,
    latency_s: f64,
    failed: f64,
) {
    let dims = [
        ("SourceBucket", SOURCE),
        ("DestinationBucket", REPLICA),
        ("RuleId", "rempart-replication"),
    ]
    .map(|(n, v)| Dimension::builder().name(n).value(v).build());
    let datum = |name: &str, v: f64, unit: StandardUnit| {
        MetricDatum::builder()
            .metric_name(name)
            .set_dimensions(Some(dims.to_vec()))
            .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from_secs(
                at.timestamp(),
            ))
            .value(v)
            .unit(unit)
            .build()
    };
    aws_sdk_cloudwatch::Client::new(cfg)
        .put_metric_data()
        .namespace("AWS/S3")
        .metric_data(datum(
            "ReplicationLatency",
            latency_s,
            StandardUnit::Seconds,
        ))
        .metric_data(datum(
            "OperationsFailedReplication",
            failed,
            StandardUnit::Count,
        ))
        .send()
        .await
        .expect("metrics");
}

fn audit_at(time: chrono::DateTime<chrono::Utc>) -> Value {
    let mut v: Value =
        serde_json::from_str(include_str!("../../events/backup-auditor/scheduled.json"))
            .expect("JSON");
    v["time"] = rempart_core::time::rfc3339(time).into();
    v
}

/// The enforcer's run at `time`: what it found and did to the bucket.
async fn enforce(
    d: &retention_enforcer::Deps,
    time: chrono::DateTime<chrono::Utc>,
) -> rempart_core::enforcement::BucketOutcome {
    let event = rempart_integration::scheduled_at(&rempart_core::time::rfc3339(time));
    let r = retention_enforcer::handle(d, event)
        .await
        .expect("enforcer");
    r.buckets
        .into_iter()
        .find(|b| b.bucket == SOURCE)
        .expect("the bucket is enforced")
}

/// The audit at `time`: the bucket's replication.
async fn audit(d: &backup_auditor::Deps, time: chrono::DateTime<chrono::Utc>) -> ReplicationAudit {
    let r = backup_auditor::handle(d, audit_at(time))
        .await
        .expect("audit");
    r.replication
        .into_iter()
        .find(|a| a.bucket == SOURCE)
        .expect("the bucket is audited")
}

/// Proves, end to end against moto:
/// - an audit of a bucket whose policy asks for replication, while it has
///   none, is a critical `audit.breach` on `s3-bucket/rewapp-prod-assets`,
///   which opens an incident;
/// - the retention-enforcer without the replication role refuses with a
///   message naming `REMPART_REPLICATION_ROLE_ARN` and changes nothing
///   (versioning stays off);
/// - with the role it turns versioning on and writes Rempart's rule (the
///   DR bucket, the DR key's alias ARN in the role's account, metrics on,
///   delete markers not replicated), which moto itself keeps (destination
///   and role); a second run finds no drift;
/// - with S3's metrics at 42 s of lag the audit passes with that lag as the
///   bucket's RPO, and its `audit.passed` resolves the incident;
/// - 20 min of lag is `late`, failed operations are `failing`;
/// - a rule rewritten by hand without the DR key is `misconfigured`, and
///   the enforcer's next run puts Rempart's rule back.
#[tokio::test]
async fn a_bucket_without_replication_is_a_breach_until_the_enforcer_writes_it() {
    let h = Harness::with(&[], POLICY).await;
    let (incidents, escalator) = h.escalator().await;
    create_bucket(&h.cfg, SOURCE, "eu-west-1", false).await;
    create_bucket(&h.dr_cfg, REPLICA, "eu-central-1", true).await;
    let rewrite = rempart_testkit::proxy::s3_replication_as_put();
    let proxy =
        rempart_testkit::proxy::CountingProxy::with_hooks(&h.aws.endpoint, None, Some(rewrite))
            .await
            .expect("proxy");
    let proxied = rempart_testkit::local::sdk_config_for(&proxy.url(), "eu-west-1").await;
    // As Terraform deploys it with bucket_replicas: it knows Rempart's role.
    let mut auditor = h.auditor(&proxied);
    auditor.replication_role = Some(ROLE.into());
    let mut enforcer = retention_enforcer::Deps::new(
        &proxied,
        TABLE,
        h.topic.arn(),
        PolicySource::File(h.policy_file.clone()),
    )
    .expect("enforcer");
    enforcer.pace = 0;
    let s3 = aws_sdk_s3::Client::new(&h.cfg);
    let bucket = |a: &Value| a["resource"]["kind"] == "s3-bucket";
    let open_keys = || async {
        incidents
            .all_open()
            .await
            .expect("open")
            .into_iter()
            .map(|s| s.incident.key)
            .collect::<Vec<_>>()
    };
    let key = format!("audit#s3-bucket#{SOURCE}");
    // Recent times: CloudWatch keeps metrics by their timestamp.
    let t0 = chrono::Utc::now() - chrono::TimeDelta::hours(7);
    let hour = |n: i64| t0 + chrono::TimeDelta::hours(n);

    // No replication: a critical breach, and an incident.
    let a = audit(&auditor, t0).await;
    assert_eq!(a.status, ReplicationStatus::Off, "{a:?}");
    let breach = h
        .announcements("/all")
        .into_iter()
        .find(|a| a["kind"] == "audit.breach" && a["resource"]["id"] == SOURCE)
        .expect("breach announced");
    assert_eq!(breach["severity"], "critical", "{breach}");
    h.deliver(&escalator, "audit.breach", bucket).await;
    assert!(open_keys().await.contains(&key));

    // Without the replication role: refused, nothing changed.
    let b = enforce(&enforcer, t0).await;
    assert!(
        !b.corrected
            && b.error
                .as_deref()
                .is_some_and(|e| e.contains("REMPART_REPLICATION_ROLE_ARN")),
        "{b:?}"
    );
    let v = s3
        .get_bucket_versioning()
        .bucket(SOURCE)
        .send()
        .await
        .expect("versioning");
    assert_eq!(v.status(), None, "nothing changed");

    // With it: versioning, lifecycle and replication written.
    enforcer.replication_role = Some(ROLE.into());
    let b = enforce(&enforcer, hour(1)).await;
    assert!(b.corrected && b.drift.replication.is_some(), "{b:?}");
    let seen = aws_sdk_s3::Client::new(&proxied)
        .get_bucket_replication()
        .bucket(SOURCE)
        .send()
        .await
        .expect("replication");
    let cfg = seen.replication_configuration().expect("configuration");
    assert_eq!(cfg.role(), ROLE);
    let rule = &cfg.rules()[0];
    let dest = rule.destination().expect("destination");
    assert_eq!(rule.id(), Some("rempart-replication"));
    assert_eq!(dest.bucket(), format!("arn:aws:s3:::{REPLICA}"));
    assert_eq!(
        dest.encryption_configuration()
            .and_then(|e| e.replica_kms_key_id()),
        Some("arn:aws:kms:eu-central-1:123456789012:alias/rempart-dr")
    );
    assert!(dest.metrics().is_some());
    // What moto itself kept of it (no proxy): the destination and the role.
    let kept = s3
        .get_bucket_replication()
        .bucket(SOURCE)
        .send()
        .await
        .expect("moto's replication");
    let kept = kept.replication_configuration().expect("configuration");
    assert_eq!(
        (
            kept.role(),
            kept.rules()[0].destination().map(|d| d.bucket())
        ),
        (ROLE, Some(format!("arn:aws:s3:::{REPLICA}").as_str()))
    );
    let b = enforce(&enforcer, hour(2)).await;
    assert!(b.drift.is_none() && !b.corrected, "no drift left: {b:?}");

    // S3 reports 42 s of lag: the audit passes and resolves the incident.
    s3_publishes(&h.cfg, hour(2) + chrono::TimeDelta::minutes(50), 42.0, 0.0).await;
    let a = audit(&auditor, hour(3)).await;
    assert!(a.compliant() && a.lag_s == Some(42), "{a:?}");
    h.deliver(&escalator, "audit.passed", bucket).await;
    let mut tick: Value =
        serde_json::from_str(include_str!("../../events/incident-escalator/tick.json"))
            .expect("JSON");
    tick["time"] = rempart_core::time::rfc3339(hour(3) + chrono::TimeDelta::minutes(20)).into();
    incident_escalator::handle(&escalator, tick)
        .await
        .expect("tick");
    assert!(!open_keys().await.contains(&key), "resolved");

    // 20 min of lag: late; failed operations: failing.
    s3_publishes(
        &h.cfg,
        hour(3) + chrono::TimeDelta::minutes(30),
        1200.0,
        0.0,
    )
    .await;
    let a = audit(&auditor, hour(4)).await;
    assert_eq!(a.status, ReplicationStatus::Late, "{a:?}");
    assert!(a.message.contains("above its RPO of 15min"), "{a:?}");
    s3_publishes(&h.cfg, hour(4) + chrono::TimeDelta::minutes(30), 5.0, 3.0).await;
    let a = audit(&auditor, hour(5)).await;
    assert_eq!(a.status, ReplicationStatus::Failing, "{a:?}");
    assert_eq!(a.failed_operations, 3);

    // Someone rewrites the rule without the DR key: misconfigured, then
    // put back by the enforcer.
    let rule = rempart_core::buckets::ReplicationRule::wanted(
        &rempart_core::policy::PolicyDocument::from_toml(POLICY, "test")
            .expect("policy")
            .buckets[0]
            .replication
            .clone()
            .expect("replication"),
        ROLE,
    )
    .expect("rule");
    let mut unencrypted = rule.clone();
    unencrypted.replica_kms_key = None;
    rempart_aws::s3::Buckets::new(aws_sdk_s3::Client::new(&proxied))
        .put_replication(SOURCE, ROLE, &unencrypted)
        .await
        .expect("rewritten by hand");
    // An hour after the failures, which no longer count.
    let later = hour(5) + chrono::TimeDelta::minutes(40);
    let a = audit(&auditor, later).await;
    assert_eq!(a.status, ReplicationStatus::Misconfigured, "{a:?}");
    let b = enforce(&enforcer, later).await;
    assert!(
        b.corrected
            && b.drift
                .replication
                .as_deref()
                .is_some_and(|d| d.contains("rule differs")),
        "{b:?}"
    );

    // Someone points Rempart's own rule at a role of theirs: the auditor,
    // which knows Rempart's role, reports it; the enforcer puts it back.
    let theirs = "arn:aws:iam::123456789012:role/theirs";
    rempart_aws::s3::Buckets::new(aws_sdk_s3::Client::new(&proxied))
        .put_replication(SOURCE, theirs, &rule)
        .await
        .expect("another role, by hand");
    let a = audit(&auditor, later).await;
    assert_eq!(a.status, ReplicationStatus::Misconfigured, "{a:?}");
    assert!(a.message.contains(theirs), "{a:?}");
    let b = enforce(&enforcer, later).await;
    assert!(b.corrected, "{b:?}");
    assert_eq!(audit(&auditor, later).await.status, ReplicationStatus::Ok);
}
