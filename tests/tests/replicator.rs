//! snapshot-replicator against moto, with the DR region (eu-central-1) in
//! the same emulator. Copies are read back with plain SDK calls in the DR
//! region, not through the adapters under test.
//!
//! What moto does not do, said plainly: its copies are `available` at once
//! (no copy is ever "in flight" across invocations here: the in-flight limit
//! across runs is covered in `replicator_http.rs`), and ElastiCache
//! `CopySnapshot` (the export to S3) answers HTTP 500 (covered there too).

use rempart_core::replication::ReplicationReport;
use rempart_integration::{scheduled_at, Harness, EXAMPLE_POLICY};
use rempart_snapshot_replicator as snapshot_replicator;
use rempart_snapshot_scheduler as snapshot_scheduler;
use serde_json::Value;
use std::collections::BTreeMap;

const RDS_EVENT: &str = include_str!("../../events/snapshot-replicator/rds-snapshot-created.json");
const AURORA_EVENT: &str =
    include_str!("../../events/snapshot-replicator/aurora-snapshot-created.json");
const EBS_EVENT: &str =
    include_str!("../../events/snapshot-replicator/ebs-snapshot-completed.json");
const SNS_RDS_EVENT: &str =
    include_str!("../../events/snapshot-replicator/sns-rds-snapshot-created.json");
const SWEEP: &str = include_str!("../../events/snapshot-replicator/sweep.json");
const MALFORMED: &str = include_str!("../../events/snapshot-replicator/malformed.json");

/// A DR-region snapshot as AWS describes it.
#[derive(Debug, Clone)]
struct Copy {
    id: String,
    kms_key: String,
    tags: BTreeMap<String, String>,
}

fn rds_tags(tags: &[aws_sdk_rds::types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().into(),
                t.value().unwrap_or_default().into(),
            )
        })
        .collect()
}

/// Every snapshot in the DR region (RDS, Aurora, EBS).
async fn dr_snapshots(h: &Harness) -> Vec<Copy> {
    let rds = aws_sdk_rds::Client::new(&h.dr_cfg);
    let ec2 = aws_sdk_ec2::Client::new(&h.dr_cfg);
    let mut out = Vec::new();
    let dbs = rds.describe_db_snapshots().send().await.expect("describe");
    out.extend(dbs.db_snapshots().iter().map(|s| Copy {
        id: s.db_snapshot_identifier().unwrap_or_default().into(),
        kms_key: s.kms_key_id().unwrap_or_default().into(),
        tags: rds_tags(s.tag_list()),
    }));
    let cl = rds
        .describe_db_cluster_snapshots()
        .send()
        .await
        .expect("describe");
    out.extend(cl.db_cluster_snapshots().iter().map(|s| {
        Copy {
            id: s
                .db_cluster_snapshot_identifier()
                .unwrap_or_default()
                .into(),
            kms_key: s.kms_key_id().unwrap_or_default().into(),
            tags: rds_tags(s.tag_list()),
        }
    }));
    let ebs = ec2
        .describe_snapshots()
        .owner_ids("self")
        .send()
        .await
        .expect("describe");
    out.extend(ebs.snapshots().iter().map(|s| {
        Copy {
            id: s.snapshot_id().unwrap_or_default().into(),
            kms_key: s.kms_key_id().unwrap_or_default().into(),
            tags: s
                .tags()
                .iter()
                .map(|t| {
                    (
                        t.key().unwrap_or_default().into(),
                        t.value().unwrap_or_default().into(),
                    )
                })
                .collect(),
        }
    }));
    out
}

/// ARNs of the primary region's Rempart snapshots (RDS, Aurora, EBS), by id.
async fn primary_arns(h: &Harness) -> BTreeMap<String, String> {
    let rds = aws_sdk_rds::Client::new(&h.cfg);
    let mut out = BTreeMap::new();
    for s in rds
        .describe_db_snapshots()
        .snapshot_type("manual")
        .send()
        .await
        .expect("describe")
        .db_snapshots()
    {
        if rds_tags(s.tag_list()).contains_key("rempart:managed") {
            out.insert(
                s.db_snapshot_identifier().unwrap_or_default().to_string(),
                s.db_snapshot_arn().unwrap_or_default().to_string(),
            );
        }
    }
    for s in rds
        .describe_db_cluster_snapshots()
        .snapshot_type("manual")
        .send()
        .await
        .expect("describe")
        .db_cluster_snapshots()
    {
        if rds_tags(s.tag_list()).contains_key("rempart:managed") {
            out.insert(
                s.db_cluster_snapshot_identifier()
                    .unwrap_or_default()
                    .to_string(),
                s.db_cluster_snapshot_arn().unwrap_or_default().to_string(),
            );
        }
    }
    for (id, (_, tags)) in h.ebs_snapshots_by_id().await {
        if tags.contains_key("rempart:managed") {
            out.insert(
                id.clone(),
                format!("arn:aws:ec2:eu-west-1:123456789012:snapshot/{id}"),
            );
        }
    }
    out
}

async fn replicate(h: &Harness, event: Value) -> Vec<ReplicationReport> {
    snapshot_replicator::handle(&h.replicator, event)
        .await
        .expect("replicator run")
}

fn event(json: &str, patch: &[(&str, &str)]) -> Value {
    let mut v: Value = serde_json::from_str(json).expect("sample is JSON");
    for (path, value) in patch {
        let ptr = v.pointer_mut(path).expect("path in sample");
        *ptr = Value::String(value.to_string());
    }
    v
}

/// Runs the scheduler at Sunday 02:00, 03:00 and 04:00 (seed 003): RDS,
/// Aurora, EBS and Redis snapshots.
async fn take_snapshots(h: &Harness) {
    for t in [
        "2025-11-23T02:00:00Z",
        "2025-11-23T03:00:00Z",
        "2025-11-23T04:00:00Z",
    ] {
        snapshot_scheduler::handle(&h.deps, scheduled_at(t))
            .await
            .expect("scheduler run");
    }
}

/// Proves: every Rempart snapshot (RDS instance, Aurora cluster, EBS) gets
/// exactly one copy in the DR region, encrypted with the DR key, carrying
/// the source's tags plus `rempart:copy-of=<source ARN>`, however many times
/// its event is delivered (raw and SNS-wrapped) and the sweep runs.
#[tokio::test]
async fn each_managed_snapshot_gets_exactly_one_dr_copy_whatever_the_deliveries() {
    let h = Harness::new().await;
    take_snapshots(&h).await;
    let sources = primary_arns(&h).await;
    // Postgres daily + weekly, Aurora daily + weekly, one EBS.
    assert_eq!(sources.len(), 5, "{sources:?}");
    let ebs_id = sources
        .keys()
        .find(|k| k.starts_with("snap-"))
        .expect("an EBS snapshot")
        .clone();
    let db = format!("rempart-rewapp-postgres-{}-20251123-0200", h.estate.db);
    let aurora = format!("rempart-rewapp-postgres-{}-20251123-0200", h.estate.aurora);
    for _ in 0..3 {
        replicate(&h, event(RDS_EVENT, &[("/detail/SourceIdentifier", &db)])).await;
        replicate(
            &h,
            event(AURORA_EVENT, &[("/detail/SourceIdentifier", &aurora)]),
        )
        .await;
        replicate(
            &h,
            event(
                EBS_EVENT,
                &[(
                    "/detail/snapshot_id",
                    &format!("arn:aws:ec2::eu-west-1:snapshot/{ebs_id}"),
                )],
            ),
        )
        .await;
    }
    let mut wrapped: Value = serde_json::from_str(SNS_RDS_EVENT).expect("JSON");
    let inner = event(RDS_EVENT, &[("/detail/SourceIdentifier", &db)]);
    wrapped["Records"][0]["Sns"]["Message"] = Value::String(inner.to_string());
    replicate(&h, wrapped.clone()).await;
    replicate(&h, wrapped).await;
    for _ in 0..2 {
        replicate(&h, serde_json::from_str(SWEEP).expect("JSON")).await;
    }

    let copies = dr_snapshots(&h).await;
    let dr_key = h.dr_key.clone().expect("DR key");
    let mut by_source: BTreeMap<String, Vec<&Copy>> = BTreeMap::new();
    for c in &copies {
        let of = c.tags.get("rempart:copy-of").expect("copy-of tag").clone();
        by_source.entry(of).or_default().push(c);
    }
    assert_eq!(
        by_source.keys().cloned().collect::<Vec<_>>(),
        sources
            .values()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>(),
        "one copy per source, no other snapshot in the DR region"
    );
    for (of, cs) in &by_source {
        assert_eq!(cs.len(), 1, "exactly one copy of {of}: {cs:?}");
        let c = cs[0];
        assert_eq!(c.kms_key, dr_key, "{} is encrypted with the DR key", c.id);
        assert_eq!(
            c.tags.get("rempart:managed").map(String::as_str),
            Some("true")
        );
        assert!(c.tags.contains_key("rempart:policy"), "{:?}", c.tags);
        assert!(c.tags.contains_key("rempart:source"), "{:?}", c.tags);
        assert!(c.tags.contains_key("rempart:scheduled-at"), "{:?}", c.tags);
    }
    // RDS copies keep the source's identifier.
    assert!(copies.iter().any(|c| c.id == db));
    assert!(copies.iter().any(|c| c.id == aurora));

    // Registry: one copy.started per copy, and the sweep saw them complete.
    let items = h.registry_items().await;
    let started = items.iter().filter(|i| i.1 == "copy.started").count();
    let completed = items.iter().filter(|i| i.1 == "copy.completed").count();
    assert_eq!(started, 5, "{items:?}");
    assert_eq!(completed, 5, "{items:?}");
    let copy_announcements = h
        .announcements("/all")
        .into_iter()
        .filter(|a| a["kind"] == "copy.started")
        .count();
    assert_eq!(copy_announcements, 5);
}

/// Proves: a snapshot Rempart did not create, and a Rempart snapshot whose
/// policy names no DR region, are never copied, by event or by sweep.
#[tokio::test]
async fn unmanaged_and_no_dr_snapshots_are_never_copied() {
    let no_dr = EXAMPLE_POLICY.replace(
        "[[policies.rewapp-postgres.dr]]\nregion = \"eu-central-1\"\nkms_key = \"alias/rempart-dr\"\n",
        "",
    );
    assert_ne!(
        no_dr, EXAMPLE_POLICY,
        "the example policy's postgres DR block"
    );
    let h = Harness::with(&[], &no_dr).await;
    // A Rempart snapshot of a policy without DR.
    snapshot_scheduler::handle(&h.deps, scheduled_at("2025-11-23T02:00:00Z"))
        .await
        .expect("scheduler");
    // A manual snapshot somebody else took.
    aws_sdk_rds::Client::new(&h.cfg)
        .create_db_snapshot()
        .db_instance_identifier(&h.estate.untagged_db)
        .db_snapshot_identifier("someone-elses-snapshot")
        .send()
        .await
        .expect("snapshot");
    let db = format!("rempart-rewapp-postgres-{}-20251123-0200", h.estate.db);
    let reports = replicate(&h, event(RDS_EVENT, &[("/detail/SourceIdentifier", &db)])).await;
    assert!(
        reports[0]
            .ignored
            .iter()
            .any(|r| r.reason.contains("names no DR region")),
        "{reports:?}"
    );
    let reports = replicate(
        &h,
        event(
            RDS_EVENT,
            &[("/detail/SourceIdentifier", "someone-elses-snapshot")],
        ),
    )
    .await;
    assert!(
        reports[0]
            .ignored
            .iter()
            .any(|r| r.reason.contains("not created by Rempart")),
        "{reports:?}"
    );
    replicate(&h, serde_json::from_str(SWEEP).expect("JSON")).await;
    assert!(
        dr_snapshots(&h).await.is_empty(),
        "nothing reaches the DR region"
    );
}

/// Proves: with 21 snapshots to copy and the limit at 20, one run starts 20
/// copies and defers the 21st (recorded and announced, not failed); the next
/// sweep copies it. Nothing is copied twice.
#[tokio::test]
async fn the_21st_copy_is_deferred_and_made_by_the_next_sweep() {
    let h = Harness::new().await;
    let rds = rempart_testkit::local::rds_client(&h.cfg);
    for day in 1..=21 {
        let at = format!("2025-11-{day:02}T02:00:00Z");
        rempart_testkit::local::put_rds_snapshot(
            &rds,
            &h.estate.db,
            &format!("rempart-rewapp-postgres-rewapp-prod-db-202511{day:02}-0200"),
            "rewapp-postgres",
            &at,
        )
        .await
        .expect("snapshot");
    }
    let first = replicate(&h, serde_json::from_str(SWEEP).expect("JSON")).await;
    assert_eq!(first[0].count("started"), 20, "{first:?}");
    assert_eq!(first[0].count("deferred"), 1, "{first:?}");
    assert_eq!(dr_snapshots(&h).await.len(), 20);
    // The oldest go first: the deferred one is the newest.
    assert_eq!(
        first[0].ids("deferred"),
        vec!["rempart-rewapp-postgres-rewapp-prod-db-20251121-0200".to_string()]
    );
    let items = h.registry_items().await;
    assert_eq!(items.iter().filter(|i| i.1 == "copy.deferred").count(), 1);

    let mut later: Value = serde_json::from_str(SWEEP).expect("JSON");
    later["time"] = Value::String("2025-11-23T04:45:00Z".into());
    let second = replicate(&h, later).await;
    assert_eq!(second[0].count("started"), 1, "{second:?}");
    assert_eq!(second[0].count("available"), 20, "{second:?}");
    assert_eq!(dr_snapshots(&h).await.len(), 21);
}

/// Proves: when the DR region has no key `alias/rempart-dr`, nothing is
/// copied and the report, registry and a warning announcement say how to
/// fix it.
#[tokio::test]
async fn a_missing_dr_key_gives_the_fix_and_no_copy() {
    let h = Harness::build(&[], EXAMPLE_POLICY, false, 20).await;
    take_snapshots(&h).await;
    let reports = replicate(&h, serde_json::from_str(SWEEP).expect("JSON")).await;
    let blocked = reports[0].reasons("blocked");
    assert_eq!(blocked.len(), 5, "{reports:?}");
    for reason in &blocked {
        assert!(
            reason.contains("does not exist in eu-central-1")
                && reason.contains("create a customer-managed key in eu-central-1")
                && reason.contains("kms_key"),
            "{reason}"
        );
    }
    assert!(dr_snapshots(&h).await.is_empty());
    assert!(h
        .registry_items()
        .await
        .iter()
        .any(|i| i.1 == "copy.blocked" && i.3 == "failure"));
    assert!(h
        .announcements("/warnings")
        .iter()
        .any(|a| a["kind"] == "copy.blocked"));
}

/// Proves: snapshots whose completion events were lost are copied by the
/// next sweep.
#[tokio::test]
async fn the_sweep_repairs_lost_events() {
    let h = Harness::new().await;
    take_snapshots(&h).await;
    assert!(dr_snapshots(&h).await.is_empty());
    let reports = replicate(&h, serde_json::from_str(SWEEP).expect("JSON")).await;
    // Four RDS/Aurora copies, one EBS copy, one Redis export.
    assert_eq!(reports[0].count("started"), 6, "{reports:?}");
    assert_eq!(dr_snapshots(&h).await.len(), 5);
    // The registry answers "which snapshots have no DR copy, since when":
    // started copies are lag until a sweep sees them available.
    let lag = h.registry.copy_lag("eu-central-1").await.expect("lag");
    assert_eq!(lag.len(), 5);
    let mut later: Value = serde_json::from_str(SWEEP).expect("JSON");
    later["time"] = Value::String("2025-11-23T04:45:00Z".into());
    replicate(&h, later).await;
    // Only the Redis snapshot still lacks its DR copy: ElastiCache has not
    // written its export (nobody plays ElastiCache in this test).
    let lag = h.registry.copy_lag("eu-central-1").await.expect("lag");
    assert_eq!(
        lag.iter()
            .map(|l| (l.kind.as_str(), l.state.as_str()))
            .collect::<Vec<_>>(),
        vec![("elasticache-redis", "waiting")],
        "{lag:?}"
    );
}

/// Proves: a malformed event is rejected with a clear error and changes
/// nothing.
#[tokio::test]
async fn a_malformed_event_is_rejected_and_changes_nothing() {
    let h = Harness::new().await;
    take_snapshots(&h).await;
    let before = h.registry_items().await.len();
    let err = snapshot_replicator::handle(
        &h.replicator,
        serde_json::from_str(MALFORMED).expect("JSON"),
    )
    .await
    .expect_err("rejected");
    assert!(err.to_string().contains("detail.SourceIdentifier"), "{err}");
    let err = snapshot_replicator::handle(&h.replicator, serde_json::json!({"hello": "world"}))
        .await
        .expect_err("rejected");
    assert!(err.to_string().contains("EventBridge"), "{err}");
    assert!(dr_snapshots(&h).await.is_empty());
    assert_eq!(h.registry_items().await.len(), before);
}

/// Proves: a Redis snapshot reaches the DR bucket. The first sweep exports
/// it to the primary region's bucket (ElastiCache `CopySnapshot` with
/// `TargetBucket`; moto does not implement it, so the harness's proxy
/// answers as AWS does, and the test then writes the `.rdb` file as
/// ElastiCache would); the next sweep copies the file to the DR bucket,
/// encrypted with the DR key and tagged, and tags the snapshot with where
/// its DR copy is. The SNS ElastiCache notification triggers a Redis sweep.
#[tokio::test]
async fn a_redis_snapshot_reaches_the_dr_bucket() {
    let h = Harness::new().await;
    snapshot_scheduler::handle(&h.deps, scheduled_at("2025-11-23T04:00:00Z"))
        .await
        .expect("scheduler");
    let name = format!("rempart-rewapp-redis-{}-20251123-0400", h.estate.redis);
    let notification: Value = serde_json::from_str(include_str!(
        "../../events/snapshot-replicator/sns-elasticache-snapshot-complete.json"
    ))
    .expect("JSON");
    let first = replicate(&h, notification.clone()).await;
    assert_eq!(first[0].ids("started"), vec![name.clone()], "{first:?}");
    let exports = h.exports.lock().expect("lock").clone();
    assert_eq!(exports.len(), 1);
    assert_eq!(
        rempart_integration::form_field(&exports[0], "TargetBucket").as_deref(),
        Some("rewapp-prod-backups")
    );
    assert_eq!(
        rempart_integration::form_field(&exports[0], "SourceSnapshotName").as_deref(),
        Some(name.as_str())
    );
    // A second delivery before the files exist exports nothing more.
    let again = replicate(&h, notification.clone()).await;
    assert_eq!(again[0].count("waiting"), 1, "{again:?}");
    assert_eq!(h.exports.lock().expect("lock").len(), 1);

    // ElastiCache writes the export.
    let s3 = aws_sdk_s3::Client::new(&h.cfg);
    s3.put_object()
        .bucket("rewapp-prod-backups")
        .key(format!("{name}.rdb"))
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            b"REDIS0011 test payload",
        ))
        .send()
        .await
        .expect("put export");

    let second = replicate(&h, notification).await;
    assert_eq!(second[0].count("available"), 1, "{second:?}");
    let dr_s3 = aws_sdk_s3::Client::new(&h.dr_cfg);
    let head = dr_s3
        .head_object()
        .bucket("rewapp-dr-backups")
        .key(format!("{name}.rdb"))
        .send()
        .await
        .expect("the file is in the DR bucket");
    assert_eq!(
        head.server_side_encryption().map(|e| e.as_str()),
        Some("aws:kms")
    );
    let dr_key = h.dr_key.clone().expect("key");
    assert!(
        head.ssekms_key_id()
            .is_some_and(|k| dr_key.ends_with(k.rsplit('/').next().unwrap_or(k))),
        "{:?} vs {dr_key}",
        head.ssekms_key_id()
    );
    let tags = dr_s3
        .get_object_tagging()
        .bucket("rewapp-dr-backups")
        .key(format!("{name}.rdb"))
        .send()
        .await
        .expect("tags");
    assert!(tags
        .tag_set()
        .iter()
        .any(|t| t.key() == "rempart:copy-of" && t.value().contains(&name)));
    // The snapshot says where its DR copy is (the retention floor reads it).
    let ec = aws_sdk_elasticache::Client::new(&h.cfg);
    let arn = format!("arn:aws:elasticache:eu-west-1:123456789012:snapshot:{name}");
    let snapshot_tags = ec
        .list_tags_for_resource()
        .resource_name(&arn)
        .send()
        .await
        .expect("tags");
    assert!(snapshot_tags.tag_list().iter().any(|t| {
        t.key() == Some("rempart:dr-copy:eu-central-1")
            && t.value() == Some(format!("s3://rewapp-dr-backups/{name}").as_str())
    }));
    let items = h.registry_items().await;
    assert!(
        items.iter().any(|i| i.1 == "copy.export-started"),
        "{items:?}"
    );
    assert!(items.iter().any(|i| i.1 == "copy.completed"), "{items:?}");
}
