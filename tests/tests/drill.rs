//! The restore-tester in drill mode, in the DR region (eu-central-1), against
//! moto: the snapshot-replicator's copies restored there, checked, timed,
//! deleted, and recorded on the protected resources' keys in the primary
//! region's registry.

use rempart_core::policy::PolicySource;
use rempart_integration::{scheduled_at, Harness};
use rempart_restore_tester as restore_tester;
use rempart_snapshot_replicator as snapshot_replicator;
use rempart_snapshot_scheduler as snapshot_scheduler;
use serde_json::Value;

const SWEEP: &str = include_str!("../../events/snapshot-replicator/sweep.json");

fn tick(time: &str) -> Value {
    let mut v: Value =
        serde_json::from_str(include_str!("../../events/restore-tester/scheduled.json"))
            .expect("JSON");
    v["time"] = time.into();
    v
}

/// The example estate's snapshots of Sunday 2025-11-23 (02:00 databases,
/// 03:00 volumes, 04:00 Redis) copied to eu-central-1 by the replicator's
/// sweep, and a drill tester there (its registry, topic and policy in
/// eu-west-1).
async fn copied(policy: &str) -> (Harness, restore_tester::Deps) {
    let h = Harness::with(&[], policy).await;
    for t in [
        "2025-11-23T02:00:00Z",
        "2025-11-23T03:00:00Z",
        "2025-11-23T04:00:00Z",
    ] {
        snapshot_scheduler::handle(&h.deps, scheduled_at(t))
            .await
            .expect("snapshots");
    }
    snapshot_replicator::handle(&h.replicator, serde_json::from_str(SWEEP).expect("JSON"))
        .await
        .expect("copies");
    // The Redis snapshot was exported: ElastiCache writes the file (moto
    // does not export), and the next sweep takes it to the DR bucket.
    let name = format!("rempart-rewapp-redis-{}-20251123-0400", h.estate.redis);
    aws_sdk_s3::Client::new(&h.cfg)
        .put_object()
        .bucket("rewapp-prod-backups")
        .key(format!("{name}.rdb"))
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            b"REDIS0011 test payload",
        ))
        .send()
        .await
        .expect("put export");
    snapshot_replicator::handle(&h.replicator, serde_json::from_str(SWEEP).expect("JSON"))
        .await
        .expect("the export's DR copy");
    let deps = restore_tester::Deps::drills(
        &h.dr_cfg,
        "eu-west-1",
        rempart_integration::TABLE,
        h.topic.arn(),
        PolicySource::File(h.policy_file.clone()),
    )
    .expect("deps");
    (h, deps)
}

async fn dr_instances(h: &Harness) -> Vec<aws_sdk_rds::types::DbInstance> {
    aws_sdk_rds::Client::new(&h.dr_cfg)
        .describe_db_instances()
        .send()
        .await
        .expect("describe")
        .db_instances()
        .to_vec()
}

/// Proves: a due drill restores the newest DR copy of the database, the
/// Aurora cluster and the volume in the DR region, and seeds a Redis group
/// there with the `.rdb` export the replicator took to the DR bucket (tagged as throw-away copies with
/// `rempart:drill=eu-west-1`, recorded `drill.started` on the resource's
/// primary-region key); the next tick finds them available, runs the
/// checks, measures the region-failover time against the 4 h target,
/// deletes them, records and announces `drill.succeeded` with the DR
/// region and the target, and emits nothing on the restore tests' keys;
/// a later tick of the same half-year starts nothing; the primary region
/// gets no throw-away copy at all.
#[tokio::test]
async fn a_drill_restores_the_dr_copies_in_the_dr_region_and_times_them() {
    let (h, deps) = copied(rempart_integration::EXAMPLE_POLICY).await;
    let first = restore_tester::handle(&deps, tick("2025-11-23T06:00:00Z"))
        .await
        .expect("started");
    let db_copy = format!("rempart-rt-{}-202511230600", h.estate.db);
    assert!(first.started.contains(&db_copy), "{first:?}");
    assert!(
        first.started.iter().any(|s| s.starts_with("vol-")),
        "the volume's copy too: {first:?}"
    );
    assert!(
        first
            .started
            .contains(&format!("rempart-rt-{}-202511230600", h.estate.aurora)),
        "the Aurora cluster's copy too: {first:?}"
    );
    let redis_copy = format!("rempart-rt-{}-202511230600", h.estate.redis);
    assert!(first.started.contains(&redis_copy), "{first:?}");
    assert_eq!(
        first.started.len(),
        4,
        "the database, the cluster, the volume and the Redis group: {first:?}"
    );
    // The Redis group is seeded with the .rdb file of the DR bucket.
    let seeded = aws_sdk_elasticache::Client::new(&h.dr_cfg)
        .describe_replication_groups()
        .replication_group_id(&redis_copy)
        .send()
        .await
        .expect("the Redis drill's group in eu-central-1");
    assert_eq!(
        seeded.replication_groups()[0].at_rest_encryption_enabled(),
        Some(true)
    );
    let instances = dr_instances(&h).await;
    let i = instances
        .iter()
        .find(|i| i.db_instance_identifier() == Some(db_copy.as_str()))
        .unwrap_or_else(|| panic!("the drill's copy in eu-central-1: {instances:?}"));
    let tag = |k: &str| {
        i.tag_list()
            .iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    assert_eq!(tag("rempart:drill").as_deref(), Some("eu-west-1"));
    assert_eq!(tag("rempart:restore-test"), Some(h.estate.db.clone()));
    let copy = tag("rempart:restore-snapshot").expect("the copy restored");
    assert!(copy.starts_with("rempart-rewapp-postgres-"), "{copy}");
    let key = format!("rds-instance#eu-west-1#{}", h.estate.db);
    let records = h.registry.records(&key).await.expect("records");
    assert!(
        records.iter().any(|r| r.action == "drill.started"),
        "{records:?}"
    );

    let second = restore_tester::handle(&deps, tick("2025-11-23T06:05:00Z"))
        .await
        .expect("followed");
    assert_eq!(second.finished.len(), 4, "{second:?}");
    let r = second
        .finished
        .iter()
        .find(|d| d["instance"] == redis_copy.as_str())
        .unwrap_or_else(|| panic!("the Redis drill concluded: {second:?}"));
    assert_eq!(r["kind"], "elasticache-redis");
    assert!(
        r["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .all(|c| c["ok"] == true),
        "{r}"
    );
    let d = second
        .finished
        .iter()
        .find(|d| d["instance"] == db_copy.as_str())
        .unwrap_or_else(|| panic!("the database's drill concluded: {second:?}"));
    assert_eq!(d["rto_s"], 300);
    assert_eq!(d["region"], "eu-central-1");
    assert_eq!(d["source_region"], "eu-west-1");
    assert_eq!(d["target_s"], 4 * 3600);
    assert!(
        d["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .all(|c| c["ok"] == true),
        "{d}"
    );
    let left: Vec<_> = dr_instances(&h)
        .await
        .into_iter()
        .filter(|i| i.db_instance_identifier() == Some(db_copy.as_str()))
        .collect();
    assert!(left.is_empty(), "the drill's copy is deleted: {left:?}");
    let records = h.registry.records(&key).await.expect("records");
    let done = records
        .iter()
        .find(|r| r.action == "drill.succeeded")
        .unwrap_or_else(|| panic!("{records:?}"));
    assert_eq!(done.region, "eu-west-1");
    assert!(
        !records.iter().any(|r| r.action.starts_with("restore.")),
        "a drill is not a restore test: {records:?}"
    );
    let announced = h.announcements("/all");
    let a = announced
        .iter()
        .find(|a| a["kind"] == "drill.succeeded" && a["resource"]["id"] == h.estate.db.as_str())
        .unwrap_or_else(|| panic!("{announced:?}"));
    assert!(
        a["summary"]
            .as_str()
            .is_some_and(|s| s.contains("eu-central-1") && s.contains("target 4h")),
        "{a}"
    );
    // Twice a year: nothing more this half-year.
    let later = restore_tester::handle(&deps, tick("2025-12-20T06:00:00Z"))
        .await
        .expect("later");
    assert!(later.started.is_empty(), "{later:?}");
    assert!(later.not_due.contains(&h.estate.db), "{later:?}");
    // Nothing was restored in the primary region.
    let primary = aws_sdk_rds::Client::new(&h.cfg)
        .describe_db_instances()
        .send()
        .await
        .expect("describe");
    assert!(primary.db_instances().iter().all(|i| !i
        .db_instance_identifier()
        .unwrap_or("")
        .starts_with("rempart-rt-")));
}

/// Proves: a drill still restoring past the drills' alert threshold (6 h)
/// is recorded and announced once as `drill.slow` (a warning, at the alert
/// instant, with the DR region), and a drill unfinished past
/// `give_up_after` (12 h) is concluded `drill.failed` with its copy
/// deleted; the incident-escalator takes both as failures of the `drill`
/// job (the copy held `creating` at the HTTP level: moto makes restores
/// available at once).
#[tokio::test]
async fn a_slow_drill_is_reported_then_given_up() {
    use std::sync::atomic::Ordering;
    let policy = rempart_integration::EXAMPLE_POLICY.replace(
        "policies = [\"rewapp-postgres\", \"rewapp-ebs\", \"rewapp-redis\"]\nfrequency = \"half-year\"",
        "policies = [\"rewapp-postgres\"]\nfrequency = \"half-year\"",
    );
    assert_ne!(policy, rempart_integration::EXAMPLE_POLICY);
    let (h, _) = copied(&policy).await;
    let (restoring, proxy) = h.holding_instances_creating().await;
    let dr = rempart_testkit::local::sdk_config_for(&proxy.url(), "eu-central-1").await;
    let deps = restore_tester::Deps::drills(
        &dr,
        "eu-west-1",
        rempart_integration::TABLE,
        h.topic.arn(),
        PolicySource::File(h.policy_file.clone()),
    )
    .expect("deps");
    let first = restore_tester::handle(&deps, tick("2025-11-23T06:00:00Z"))
        .await
        .expect("started");
    // The database and the Aurora cluster (its member held creating too).
    assert_eq!(first.started.len(), 2, "{first:?}");
    for t in [
        "2025-11-23T09:00:00Z",
        "2025-11-23T12:05:00Z",
        "2025-11-23T15:00:00Z",
    ] {
        let r = restore_tester::handle(&deps, tick(t)).await.expect("tick");
        assert_eq!(r.running.len(), 2, "{t}: {r:?}");
    }
    let key = format!("rds-instance#eu-west-1#{}", h.estate.db);
    let records = h.registry.records(&key).await.expect("records");
    let slow: Vec<_> = records
        .iter()
        .filter(|r| r.action == "drill.slow")
        .collect();
    assert_eq!(slow.len(), 1, "once: {records:?}");
    assert_eq!(slow[0].time.to_rfc3339(), "2025-11-23T12:00:00+00:00");
    assert_eq!(slow[0].details["region"], "eu-central-1");
    let announced = h.announcements("/all");
    assert!(announced
        .iter()
        .any(|a| a["kind"] == "drill.slow" && a["severity"] == "warning"));
    let end = restore_tester::handle(&deps, tick("2025-11-23T18:05:00Z"))
        .await
        .expect("given up");
    assert_eq!(end.finished.len(), 2, "{end:?}");
    let records = h.registry.records(&key).await.expect("records");
    let failed = records
        .iter()
        .find(|r| r.action == "drill.failed")
        .unwrap_or_else(|| panic!("{records:?}"));
    assert_eq!(failed.details["rto_s"], 12 * 3600 + 300);
    assert!(dr_instances(&h).await.iter().all(|i| !i
        .db_instance_identifier()
        .unwrap_or("")
        .starts_with("rempart-rt-")));
    // The escalator opens incidents for both.
    for kind in ["drill.slow", "drill.failed"] {
        let a = announced
            .iter()
            .chain(h.announcements("/all").iter())
            .find(|a| a["kind"] == kind)
            .cloned()
            .unwrap_or_else(|| panic!("{kind} announced"));
        let sns = serde_json::json!({"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": "arn:aws:sns:eu-west-1:123456789012:rempart-events:sub", "Sns": {"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:eu-west-1:123456789012:rempart-events", "Subject": null, "Message": a.to_string(), "Timestamp": "2025-11-23T18:05:00.000Z", "SignatureVersion": "1", "Signature": "x", "SigningCertUrl": "https://example", "UnsubscribeUrl": "https://example", "MessageAttributes": {}}}]});
        let inputs = rempart_incident_escalator::parse(&sns).expect("parsed");
        assert!(
            matches!(&inputs[0], rempart_incident_escalator::Input::Job { ok: false, key, .. } if key.starts_with("drill#")),
            "{kind}: {inputs:?}"
        );
    }
    restoring.store(false, Ordering::SeqCst);
}

/// RDS's answer to DescribeEvents with one "failover completed" event of
/// `db` at `at` (moto's reboot makes no failover and records no event: the
/// answer is given at the HTTP level).
fn failover_events(db: &str, at: &str) -> String {
    format!(
        r#"<DescribeEventsResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><DescribeEventsResult><Events><Event><SourceIdentifier>{db}</SourceIdentifier><SourceType>db-instance</SourceType><Message>Multi-AZ instance failover completed.</Message><EventCategories><EventCategory>failover</EventCategory></EventCategories><Date>{at}</Date><SourceArn>arn:aws:rds:eu-west-1:123456789012:db:{db}</SourceArn></Event></Events></DescribeEventsResult><ResponseMetadata><RequestId>5b1e9c34-2d6f-4c1e-9d2a-1f0e7a3b8c41</RequestId></ResponseMetadata></DescribeEventsResponse>"#
    )
}

/// The restore-tester (primary region) behind a proxy that answers
/// DescribeEvents with `completed` when set, and counts the calls.
async fn failover_tester(
    h: &Harness,
) -> (
    std::sync::Arc<std::sync::Mutex<Option<String>>>,
    restore_tester::Deps,
    rempart_testkit::proxy::CountingProxy,
) {
    let completed = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let event = completed.clone();
    let db = h.estate.db.clone();
    let proxy = rempart_testkit::proxy::CountingProxy::with_hooks(
        &h.aws.endpoint,
        None,
        Some(std::sync::Arc::new(
            move |r: &rempart_testkit::http::Request, _body: &str| {
                if rempart_testkit::proxy::operation(r) != "rds:DescribeEvents" {
                    return None;
                }
                let at = event.lock().expect("lock").clone()?;
                Some(failover_events(&db, &at))
            },
        )),
    )
    .await
    .expect("proxy");
    let deps = h.restore_tester_through(&proxy.url()).await;
    (completed, deps, proxy)
}

/// Proves: the quarterly Multi-AZ failover drill of the example policy
/// waits for its window (Sunday 03:00-05:00 UTC), then reboots the
/// Multi-AZ instance with failover once (`failover.started`), follows it
/// while RDS reports no "failover completed" event, and concludes
/// `failover.succeeded` with the time from the reboot to that event (150 s
/// against the 5 min target), after which nothing more happens this
/// quarter; the report shows it as the instance's last Multi-AZ drill.
#[tokio::test]
async fn a_failover_drill_reboots_inside_its_window_and_times_the_failover() {
    let h = Harness::new().await;
    let (completed, deps, proxy) = failover_tester(&h).await;
    let key = format!("rds-instance#eu-west-1#{}", h.estate.db);
    let before = restore_tester::handle(&deps, tick("2025-11-23T02:55:00Z"))
        .await
        .expect("before the window");
    assert!(!before.started.contains(&h.estate.db), "{before:?}");
    proxy.take();
    let first = restore_tester::handle(&deps, tick("2025-11-23T03:00:00Z"))
        .await
        .expect("in the window");
    assert!(first.started.contains(&h.estate.db), "{first:?}");
    assert_eq!(proxy.take().get("rds:RebootDBInstance"), Some(&1));
    let running = restore_tester::handle(&deps, tick("2025-11-23T03:05:00Z"))
        .await
        .expect("running");
    assert!(running.running.contains(&h.estate.db), "{running:?}");
    *completed.lock().expect("lock") = Some("2025-11-23T03:02:30Z".into());
    let done = restore_tester::handle(&deps, tick("2025-11-23T03:10:00Z"))
        .await
        .expect("completed");
    let d = done
        .finished
        .iter()
        .find(|d| d["instance"] == h.estate.db.as_str())
        .unwrap_or_else(|| panic!("{done:?}"));
    assert_eq!(d["rto_s"], 150);
    assert_eq!(d["target_s"], 300);
    let later = restore_tester::handle(&deps, tick("2025-11-23T03:15:00Z"))
        .await
        .expect("later");
    assert!(later.not_due.contains(&h.estate.db), "{later:?}");
    assert_eq!(
        proxy.take().get("rds:RebootDBInstance"),
        None,
        "once a quarter"
    );
    let records = h.registry.records(&key).await.expect("records");
    let actions: Vec<&str> = records
        .iter()
        .filter(|r| r.action.starts_with("failover."))
        .map(|r| r.action.as_str())
        .collect();
    assert_eq!(actions, ["failover.started", "failover.succeeded"]);
    // The drills section reads the targets the records carry.
    let report = rempart_core::report::build(
        &records,
        &[],
        &std::collections::BTreeMap::new(),
        None,
        "2025-11-01T00:00:00Z".parse().expect("time"),
        "2025-12-01T00:00:00Z".parse().expect("time"),
        None,
    );
    let row = report
        .drills
        .iter()
        .find(|r| r.drill == "multi-az")
        .unwrap_or_else(|| panic!("{:?}", report.drills));
    assert!(row.passed && row.time_standing == rempart_core::report::Standing::Met);
}

/// Proves: a failover drill of a single-AZ instance is refused inside its
/// window, recorded and announced once (`failover.refused`, a warning the
/// escalator takes for a failure), and the instance is never rebooted.
#[tokio::test]
async fn a_single_az_instance_is_refused_and_never_rebooted() {
    let policy = rempart_integration::EXAMPLE_POLICY.replace(
        "[failover_drills]\ninstances = [\"rewapp-prod-db\"]",
        "[failover_drills]\ninstances = [\"scratch-db\"]",
    );
    assert_ne!(policy, rempart_integration::EXAMPLE_POLICY);
    let h = Harness::with(&[], &policy).await;
    let (_, deps, proxy) = failover_tester(&h).await;
    for t in ["2025-11-23T03:00:00Z", "2025-11-23T03:05:00Z"] {
        let r = restore_tester::handle(&deps, tick(t)).await.expect("tick");
        assert!(r.failed.contains(&h.estate.untagged_db), "{t}: {r:?}");
    }
    assert_eq!(proxy.take().get("rds:RebootDBInstance"), None);
    let key = format!("rds-instance#eu-west-1#{}", h.estate.untagged_db);
    let records = h.registry.records(&key).await.expect("records");
    let refused: Vec<_> = records
        .iter()
        .filter(|r| r.action == "failover.refused")
        .collect();
    assert_eq!(refused.len(), 1, "once: {records:?}");
    assert!(refused[0].details["reason"]
        .as_str()
        .is_some_and(|r| r.contains("single-AZ")));
    let a = h
        .announcements("/all")
        .into_iter()
        .find(|a| a["kind"] == "failover.refused")
        .expect("announced");
    assert_eq!(a["severity"], "warning");
}
