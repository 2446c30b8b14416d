//! retention-enforcer against moto: two-phase deletion, floors, dry run,
//! undo, and the digest.

use rempart_core::policy::PolicySource;
use rempart_core::tags::TAG_DELETE_AFTER;
use rempart_integration::*;
use rempart_retention_enforcer as retention_enforcer;
use rempart_snapshot_scheduler as snapshot_scheduler;
use serde_json::{json, Value};

/// Seed 003's policy names, each keeping the last 2 snapshots, no DR region
/// (so the DR-copy floor does not apply), 24 h grace.
const KEEP_TWO: &str = r#"
version = 1
[policies.rewapp-postgres]
kinds = ["rds-instance", "aurora-cluster"]
rpo = "26h"
[[policies.rewapp-postgres.schedules]]
name = "daily"
cron = "0 2 * * *"
[policies.rewapp-postgres.retention]
keep_last = 2
[policies.rewapp-ebs]
kinds = ["ebs-volume"]
rpo = "26h"
[[policies.rewapp-ebs.schedules]]
name = "daily"
cron = "0 4 * * *"
[policies.rewapp-ebs.retention]
keep_last = 2
grace_period = "24h"
[policies.rewapp-redis]
kinds = ["elasticache-redis"]
rpo = "26h"
[[policies.rewapp-redis.schedules]]
name = "daily"
cron = "0 4 * * *"
[policies.rewapp-redis.retention]
keep_last = 2
"#;

fn enforcer(h: &Harness) -> retention_enforcer::Deps {
    let mut d = retention_enforcer::Deps::new(
        &h.cfg,
        TABLE,
        h.topic.arn(),
        PolicySource::File(h.policy_file.clone()),
    )
    .unwrap();
    d.pace = 0;
    d
}

fn dry_run_at(time: &str) -> Value {
    json!({"version": "0", "id": "dry", "source": "rempart", "detail-type": "Rempart Retention Run",
           "time": time, "region": "eu-west-1", "resources": [], "detail": {"dry_run": true}})
}

/// Four daily 04:00 runs of the scheduler (EBS and Redis snapshots).
async fn four_days(h: &Harness) {
    for day in 1..=4 {
        snapshot_scheduler::handle(&h.deps, scheduled_at(&format!("2025-11-0{day}T04:00:00Z")))
            .await
            .unwrap();
    }
}

fn marked(tags: &std::collections::BTreeMap<String, String>) -> Option<&str> {
    tags.get(TAG_DELETE_AFTER).map(String::as_str)
}

/// Proves: snapshots to remove are first marked with the end of their grace
/// period and deleted only by a run after it, if still to be removed; a
/// legal-hold snapshot and a snapshot Rempart did not create are never
/// touched; deletions are recorded and one digest is announced per run.
#[tokio::test]
async fn two_phase_deletion_respects_grace_legal_hold_and_unmanaged_snapshots() {
    let h = Harness::with(&[], KEEP_TWO).await;
    four_days(&h).await;
    let ec2 = aws_sdk_ec2::Client::new(&h.cfg);
    // Someone's own snapshot of the same volume: no Rempart tags.
    let theirs = ec2
        .create_snapshot()
        .volume_id(&h.estate.volume)
        .send()
        .await
        .unwrap();
    let theirs = theirs.snapshot_id().unwrap().to_string();
    // Day 1's Rempart snapshot goes under legal hold.
    let ebs = h.ebs_snapshots_by_id().await;
    let day1 = ebs
        .iter()
        .find(|(_, (_, t))| {
            t.get("rempart:scheduled-at").map(String::as_str) == Some("2025-11-01T04:00:00Z")
        })
        .unwrap()
        .0
        .clone();
    let hold = aws_sdk_ec2::types::Tag::builder()
        .key("rempart:legal-hold")
        .value("case-17")
        .build();
    ec2.create_tags()
        .resources(&day1)
        .tags(hold)
        .send()
        .await
        .unwrap();

    let e = enforcer(&h);
    let r = retention_enforcer::handle(&e, scheduled_at("2025-11-04T05:00:00Z"))
        .await
        .expect("first run");
    let t = r.totals();
    assert_eq!(
        (t.marked, t.deleted),
        (3, 0),
        "EBS day 2, Redis days 1 and 2: {}",
        r.summary()
    );
    let ebs = h.ebs_snapshots_by_id().await;
    let marks: Vec<_> = ebs
        .iter()
        .filter_map(|(id, (_, tags))| marked(tags).map(|m| (id.clone(), m.to_string())))
        .collect();
    assert_eq!(marks.len(), 1);
    assert_eq!(marks[0].1, "2025-11-05T05:00:00Z");
    assert!(
        marked(&ebs[&day1].1).is_none(),
        "legal hold is not even marked"
    );

    let r = retention_enforcer::handle(&e, scheduled_at("2025-11-05T04:59:00Z"))
        .await
        .unwrap();
    assert_eq!(
        (r.totals().waiting, r.totals().deleted),
        (3, 0),
        "grace not over"
    );
    assert_eq!(h.ebs_snapshots_by_id().await.len(), 5);

    let r = retention_enforcer::handle(&e, scheduled_at("2025-11-05T05:00:00Z"))
        .await
        .unwrap();
    assert_eq!(r.totals().deleted, 3, "{}", r.summary());
    let ebs = h.ebs_snapshots_by_id().await;
    assert_eq!(
        ebs.len(),
        4,
        "days 4, 3, the legal hold, and theirs remain: {ebs:?}"
    );
    assert!(ebs.contains_key(&theirs) && ebs.contains_key(&day1));
    assert_eq!(h.redis_snapshots().await.len(), 2);

    let items = h.registry_items().await;
    assert_eq!(
        items.iter().filter(|i| i.1 == "snapshot.deleted").count(),
        3
    );
    let digests: Vec<_> = h
        .announcements("/all")
        .into_iter()
        .filter(|a| a["kind"] == "retention.digest")
        .collect();
    assert_eq!(
        digests.len(),
        3,
        "one digest per run, not one message per snapshot"
    );
    assert_eq!(digests[2]["details"]["totals"]["deleted"], 3);
}

/// Proves: a dry run reports what a run would do and changes nothing; undo
/// clears the marks so that a new grace period starts; a snapshot marked
/// and then kept (the policy changed) is unmarked.
#[tokio::test]
async fn dry_run_changes_nothing_and_undo_and_policy_changes_clear_marks() {
    let h = Harness::with(&[], KEEP_TWO).await;
    four_days(&h).await;
    let e = enforcer(&h);
    let before = h.state().await;
    let tags_before = h.ebs_snapshots_by_id().await;
    let r = retention_enforcer::handle(&e, dry_run_at("2025-11-04T05:00:00Z"))
        .await
        .unwrap();
    assert!(r.dry_run);
    assert_eq!(r.totals().marked, 4, "EBS and Redis days 1 and 2");
    assert_eq!(
        h.state().await,
        before,
        "no snapshot, registry record or announcement changed"
    );
    assert_eq!(h.ebs_snapshots_by_id().await, tags_before, "no tag set");

    retention_enforcer::handle(&e, scheduled_at("2025-11-04T05:00:00Z"))
        .await
        .unwrap();
    let regions = vec![rempart_aws::snapshots::Snapshots::for_region(
        &h.cfg,
        "eu-west-1",
    )];
    let cleared = rempart_retention_enforcer::enforcer::undo(&regions)
        .await
        .unwrap();
    assert_eq!(cleared.len(), 4, "{cleared:?}");
    assert!(h
        .ebs_snapshots_by_id()
        .await
        .values()
        .all(|(_, t)| marked(t).is_none()));
    // After undo, a run past the old grace end marks again instead of deleting.
    let r = retention_enforcer::handle(&e, scheduled_at("2025-11-06T05:00:00Z"))
        .await
        .unwrap();
    assert_eq!(
        (r.totals().marked, r.totals().deleted),
        (4, 0),
        "{}",
        r.summary()
    );

    // The policy now keeps 10: the marks are cleared, nothing is deleted.
    std::fs::write(
        &h.policy_file,
        KEEP_TWO.replace("keep_last = 2", "keep_last = 10"),
    )
    .unwrap();
    let r = retention_enforcer::handle(&e, scheduled_at("2025-11-08T05:00:00Z"))
        .await
        .unwrap();
    assert_eq!(
        (r.totals().unmarked, r.totals().deleted),
        (4, 0),
        "{}",
        r.summary()
    );
    assert_eq!(h.ebs_snapshots_by_id().await.len(), 4);
}

/// Proves: the newest snapshot of a resource is kept even by a policy that
/// keeps nothing else, and a primary snapshot whose DR copy is not available
/// is kept until one is: then it may go.
#[tokio::test]
async fn newest_and_dr_copy_floors_hold() {
    let only_tagged = KEEP_TWO.replace(
        "keep_last = 2\ngrace_period",
        "keep_tags = [[\"never-set\"]]\ngrace_period",
    );
    let with_dr = format!("{only_tagged}\n[[policies.rewapp-ebs.dr]]\nregion = \"eu-central-1\"\nkms_key = \"alias/rempart-dr\"\n");
    let h = Harness::with(&[], &with_dr).await;
    four_days(&h).await;
    let e = enforcer(&h);
    let r = retention_enforcer::handle(&e, scheduled_at("2025-11-04T05:00:00Z"))
        .await
        .unwrap();
    let g = r.groups.iter().find(|g| g.kind == "ebs-volume").unwrap();
    assert_eq!(
        (g.kept, g.kept_by_floor, g.marked),
        (4, 4, 0),
        "no DR copy yet: every snapshot is held"
    );
    assert!(r.regions.contains(&"eu-central-1".to_string()));

    // A DR copy of day 1's snapshot appears in eu-central-1, made as the replicator makes it.
    let ebs = h.ebs_snapshots_by_id().await;
    let (day1, _) = ebs
        .iter()
        .find(|(_, (_, t))| t["rempart:scheduled-at"] == "2025-11-01T04:00:00Z")
        .unwrap();
    let dr_cfg = h.aws.sdk_config("eu-central-1").await;
    let dr = aws_sdk_ec2::Client::new(&dr_cfg);
    let source_arn = format!("arn:aws:ec2:eu-west-1:123456789012:snapshot/{day1}");
    // Copies carry the source's tags; EBS gives a copy a placeholder volume id.
    let source_volume = format!("arn:aws:ec2:eu-west-1::volume/{}", h.estate.volume);
    let tags = [
        ("rempart:managed", "true"),
        ("rempart:policy", "rewapp-ebs"),
        ("rempart:copy-of", source_arn.as_str()),
        ("rempart:source", source_volume.as_str()),
        ("rempart:scheduled-at", "2025-11-01T04:00:00Z"),
    ];
    let spec = aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(aws_sdk_ec2::types::ResourceType::Snapshot)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(*k).value(*v).build())
                .collect(),
        ))
        .build();
    dr.copy_snapshot()
        .source_region("eu-west-1")
        .source_snapshot_id(day1)
        .tag_specifications(spec)
        .send()
        .await
        .unwrap();

    let r = retention_enforcer::handle(&e, scheduled_at("2025-11-04T06:00:00Z"))
        .await
        .unwrap();
    let g = r
        .groups
        .iter()
        .find(|g| g.kind == "ebs-volume" && g.region == "eu-west-1")
        .unwrap();
    assert_eq!(g.marked, 1, "day 1 has its DR copy now: {g:?}");
    let copy = r
        .groups
        .iter()
        .find(|g| g.region == "eu-central-1")
        .unwrap();
    assert_eq!(
        (copy.kept, copy.marked),
        (1, 0),
        "the newest DR copy is kept: {copy:?}"
    );
}

/// Proves: a backup bucket whose versioning was never set and that has no
/// lifecycle rule is reported by a dry run without being touched, then
/// corrected by a run to exactly the policy's rule; a second run finds no
/// drift; suspending versioning by hand is corrected again; no object is
/// ever deleted.
#[tokio::test]
async fn backup_buckets_are_brought_to_their_rules_and_objects_are_kept() {
    use aws_sdk_s3::types::{
        BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
        VersioningConfiguration,
    };
    let policy = format!(
        "{KEEP_TWO}\n[[buckets]]\nname = \"rewapp-prod-backups\"\n[buckets.lifecycle]\ntransition_days = 30\nexpiration_days = 1825\nnoncurrent_expiration_days = 365\n"
    );
    let h = Harness::with(&[], &policy).await;
    let s3 = aws_sdk_s3::Client::new(&h.cfg);
    let bucket = "rewapp-prod-backups";
    // The harness made it already (the Redis export bucket), never versioned.
    let created = s3
        .create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await;
    if let Err(e) = created {
        assert!(
            e.as_service_error()
                .is_some_and(|se| se.is_bucket_already_owned_by_you()),
            "{e:?}"
        );
    }
    let suspend = || {
        s3.put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Suspended)
                    .build(),
            )
            .send()
    };
    s3.put_object()
        .bucket(bucket)
        .key("pg/dump-2025-11-24.sql.gz")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"backup"))
        .send()
        .await
        .unwrap();
    let e = enforcer(&h);

    let r = retention_enforcer::handle(&e, dry_run_at("2025-11-24T05:00:00Z"))
        .await
        .unwrap();
    let b = &r.buckets[0];
    assert!(
        b.drift.enable_versioning && b.drift.lifecycle.is_some() && !b.corrected,
        "{b:?}"
    );
    let v = s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(v.status(), None, "the dry run touched nothing");

    let r = retention_enforcer::handle(&e, scheduled_at("2025-11-24T05:00:00Z"))
        .await
        .unwrap();
    assert!(r.buckets[0].corrected, "{:?}", r.buckets);
    let v = s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(v.status(), Some(&BucketVersioningStatus::Enabled));
    let lc = s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let rule = &lc.rules()[0];
    assert_eq!(lc.rules().len(), 1);
    assert_eq!(rule.id(), Some("rempart-backup-policy"));
    assert_eq!(rule.transitions()[0].days(), Some(30));
    assert_eq!(
        rule.transitions()[0].storage_class().map(|c| c.as_str()),
        Some("GLACIER")
    );
    assert_eq!(rule.expiration().and_then(|x| x.days()), Some(1825));
    assert_eq!(
        rule.noncurrent_version_expiration()
            .and_then(|x| x.noncurrent_days()),
        Some(365)
    );
    assert!(h
        .registry_items()
        .await
        .iter()
        .any(|i| i.1 == "bucket.corrected"));

    let r = retention_enforcer::handle(&e, scheduled_at("2025-11-25T05:00:00Z"))
        .await
        .unwrap();
    assert!(
        r.buckets[0].drift.is_none() && !r.buckets[0].corrected,
        "{:?}",
        r.buckets
    );

    suspend().await.unwrap();
    let r = retention_enforcer::handle(&e, scheduled_at("2025-11-26T05:00:00Z"))
        .await
        .unwrap();
    assert!(r.buckets[0].drift.enable_versioning && r.buckets[0].corrected);
    let listed = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
    assert_eq!(listed.contents().len(), 1, "the object is still there");
}
