//! snapshot-scheduler against a real AWS wire-protocol implementation (moto
//! server): resources, snapshots, registry and topic are all in the emulator.

use rempart_integration::*;
use rempart_snapshot_scheduler::handle;
use serde_json::{json, Value};

const PROD_DB_0200: &str = "rempart-rewapp-postgres-rewapp-prod-db-20251124-0200";
const AURORA_0200: &str = "rempart-rewapp-postgres-rewapp-aurora-20251124-0200";
const REDIS_0400: &str = "rempart-rewapp-redis-rewapp-sessions-20251124-0400";

/// Proves: at 02:00 and 04:00 every tagged resource of every kind gets
/// exactly one snapshot, tagged as the contract says; untagged resources get
/// none; the registry and the topic hold one record per action, with the
/// `kind`/`severity` attributes that a filter policy can use.
#[tokio::test]
async fn every_tagged_resource_gets_exactly_one_snapshot_per_scheduled_time() {
    let h = Harness::new().await;
    let r2 = handle(&h.deps, scheduled_at("2025-11-24T02:00:00Z"))
        .await
        .expect("02:00 run");
    assert_eq!(r2.created.len(), 2, "{r2:?}");
    assert!(r2.failed.is_empty(), "{r2:?}");
    let r4 = handle(&h.deps, scheduled_at("2025-11-24T04:00:00Z"))
        .await
        .expect("04:00 run");
    assert_eq!(r4.created.len(), 2, "{r4:?}");

    let rds = h.rds_snapshots().await;
    assert_eq!(
        rds,
        [AURORA_0200, PROD_DB_0200]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    let tags = h.rds_snapshot_tags(PROD_DB_0200).await;
    assert_eq!(tags["rempart:managed"], "true");
    assert_eq!(tags["rempart:policy"], "rewapp-postgres");
    assert_eq!(tags["rempart:tiers"], "daily");
    assert_eq!(tags["rempart:scheduled-at"], "2025-11-24T02:00:00Z");
    assert!(
        tags["rempart:source"].ends_with(":db:rewapp-prod-db"),
        "{tags:?}"
    );

    let ebs = h.ebs_snapshots().await;
    assert_eq!(ebs.len(), 1, "{ebs:?}");
    assert_eq!(ebs[0].0, h.estate.volume);
    assert_eq!(ebs[0].1["rempart:policy"], "rewapp-ebs");
    assert!(ebs.iter().all(|(vol, _)| *vol != h.estate.untagged_volume));
    assert_eq!(h.redis_snapshots().await, [REDIS_0400.to_string()].into());

    let items = h.registry_items().await;
    assert_eq!(items.len(), 4, "{items:?}");
    assert!(items
        .iter()
        .all(|(_, action, _, outcome, _)| action == "snapshot.created" && outcome == "success"));
    let all = h.announcements("/all");
    assert_eq!(
        all.len(),
        6,
        "four snapshots and each run's digest: {all:?}"
    );
    for a in &all {
        assert_eq!(a["schema"], "rempart.announcement/v1");
        assert_eq!(a["severity"], "info");
    }
    let of = |kind: &str| all.iter().filter(|a| a["kind"] == kind).collect::<Vec<_>>();
    assert_eq!(of("snapshot.created").len(), 4);
    let digests = of("snapshot.digest");
    assert_eq!(digests.len(), 2);
    assert!(
        digests.iter().all(|d| d["details"]["created"] == 2),
        "{digests:?}"
    );
    assert!(
        h.announcements("/warnings").is_empty(),
        "info is filtered out by the severity attribute"
    );
}

/// Proves: the same events delivered three times leave the emulator, the
/// registry and the topic exactly as one delivery did.
#[tokio::test]
async fn the_same_event_three_times_leaves_the_same_state() {
    let h = Harness::new().await;
    let events = [
        scheduled_at("2025-11-24T02:00:00Z"),
        scheduled_at("2025-11-24T04:00:00Z"),
    ];
    for e in &events {
        handle(&h.deps, e.clone()).await.expect("first delivery");
    }
    let once = h.state().await;
    assert_eq!(once.0.len() + once.1 + once.2.len(), 4, "{once:?}");
    for _ in 0..2 {
        for e in &events {
            let r = handle(&h.deps, e.clone()).await.expect("redelivery");
            assert!(r.created.is_empty(), "{r:?}");
            assert_eq!(r.skipped.len(), 2, "{r:?}");
        }
    }
    assert_eq!(h.state().await, once);
}

/// Proves: a resource whose snapshot call fails (the RDS manual-snapshot
/// quota is exhausted) is reported as failed with the AWS error, while the
/// other resources are snapshotted; the failure is recorded and announced
/// as a warning; the invocation does not fail (a retry would not help).
#[tokio::test]
async fn a_failing_resource_is_reported_while_the_others_succeed() {
    // moto counts the automated snapshots made at instance creation (two
    // instances in the estate) against this quota.
    let h = Harness::with(&[("MOTO_RDS_SNAPSHOT_LIMIT", "2")], EXAMPLE_POLICY).await;
    let r = handle(&h.deps, scheduled_at("2025-11-24T02:00:00Z"))
        .await
        .expect("not retryable");
    assert_eq!(r.failed.len(), 1, "{r:?}");
    let f = &r.failed[0];
    assert_eq!(
        (f.kind.as_str(), f.resource.as_str()),
        ("rds-instance", "rewapp-prod-db")
    );
    let err = f.error.as_ref().expect("AWS error");
    assert_eq!(err.code, "SnapshotQuotaExceeded");
    assert!(!err.retryable);
    assert_eq!(r.created.len(), 1);
    assert_eq!(r.created[0].resource, "rewapp-aurora");
    assert_eq!(h.rds_snapshots().await, [AURORA_0200.to_string()].into());

    let items = h.registry_items().await;
    assert!(items.contains(&(
        "rds-instance#eu-west-1#rewapp-prod-db".into(),
        "snapshot.failed".into(),
        PROD_DB_0200.into(),
        "failure".into(),
        "1".into()
    )));
    let warnings = h.announcements("/warnings");
    assert_eq!(
        warnings.len(),
        2,
        "the failure and the run's digest: {warnings:?}"
    );
    assert_eq!(warnings[0]["kind"], "snapshot.failed");
    assert_eq!(warnings[1]["kind"], "snapshot.digest");
    assert_eq!(warnings[1]["details"]["failed"], 1);
    assert_eq!(
        warnings[0]["details"]["error"]["code"],
        "SnapshotQuotaExceeded"
    );

    // A redelivery counts a second attempt on the same record, announced once.
    handle(&h.deps, scheduled_at("2025-11-24T02:00:00Z"))
        .await
        .expect("redelivery");
    let items = h.registry_items().await;
    assert!(
        items.iter().any(|i| i.1 == "snapshot.failed" && i.4 == "2"),
        "{items:?}"
    );
    assert_eq!(
        h.announcements("/warnings").len(),
        2,
        "nothing new: neither the failure nor a digest is announced again"
    );
}

/// Proves: an on-demand request (before a risky change) snapshots what it
/// names with its own tier and records who asked and why; a resource that
/// does not exist (deleted since) fails alone with the AWS error.
#[tokio::test]
async fn on_demand_request_snapshots_named_resources_and_reports_a_missing_one() {
    let h = Harness::new().await;
    let mut ev: Value = serde_json::from_str(ON_DEMAND).unwrap();
    ev["detail"]["resources"] = json!([
        "rds-instance/rewapp-prod-db",
        "rds-instance/ghost-db",
        h.estate.volume
    ]);
    let r = handle(&h.deps, ev).await.expect("on-demand run");
    assert_eq!(r.trigger, "on-demand");
    assert_eq!(r.created.len(), 2, "{r:?}");
    assert_eq!(r.failed.len(), 1, "{r:?}");
    assert_eq!(r.failed[0].resource, "ghost-db");
    assert_eq!(
        r.failed[0].error.as_ref().unwrap().code,
        "DBInstanceNotFound"
    );

    let id = "rempart-rewapp-postgres-rewapp-prod-db-20251124-142500-od";
    assert!(h.rds_snapshots().await.contains(id));
    let tags = h.rds_snapshot_tags(id).await;
    assert_eq!(tags["rempart:tiers"], "on-demand");
    assert_eq!(tags["rempart:requested-by"], "ops@rewapp.fr");
    assert_eq!(tags["rempart:change-ref"], "CHG-2025-118");
    let all = h.announcements("/all");
    let created = all
        .iter()
        .find(|a| a["details"]["snapshot_id"] == id)
        .expect("announced");
    assert_eq!(
        created["details"]["reason"],
        "Migration V42: add merchant_id index on transactions"
    );
}

/// Proves: a malformed event, an unknown detail-type and a policy with a
/// typo are each rejected with a message naming the problem, and create
/// nothing: no snapshot, no registry record, no announcement.
#[tokio::test]
async fn bad_input_is_rejected_clearly_and_changes_nothing() {
    let h = Harness::new().await;
    let before = h.state().await;

    let malformed: Value = serde_json::from_str(include_str!(
        "../../events/snapshot-scheduler/malformed.json"
    ))
    .unwrap();
    let err = handle(&h.deps, malformed).await.unwrap_err().to_string();
    assert!(err.contains("no `time`"), "{err}");

    let unknown: Value = serde_json::from_str(include_str!(
        "../../events/snapshot-scheduler/unknown-detail-type.json"
    ))
    .unwrap();
    let err = handle(&h.deps, unknown).await.unwrap_err().to_string();
    assert!(
        err.contains("EC2 Instance State-change Notification"),
        "{err}"
    );

    std::fs::write(
        &h.policy_file,
        EXAMPLE_POLICY.replacen("keep_daily = 7", "keep_dayly = 7", 1),
    )
    .unwrap();
    let err = handle(&h.deps, scheduled_at("2025-11-24T02:00:00Z"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unknown field `keep_dayly`") && err.contains("line "),
        "{err}"
    );

    assert_eq!(h.state().await, before);
    assert!(h.registry_items().await.is_empty());
}

/// Proves: a resource tagged with a policy the document does not have is
/// not silently ignored: it is reported, recorded and announced as a
/// warning, and nothing is created for it.
#[tokio::test]
async fn a_resource_tagged_with_an_unknown_policy_is_reported() {
    let h = Harness::new().await;
    let rds = aws_sdk_rds::Client::new(&h.cfg);
    rds.create_db_instance()
        .db_instance_identifier("billing-db")
        .engine("postgres")
        .db_instance_class("db.t4g.micro")
        .allocated_storage(20)
        .master_username("u")
        .master_user_password("not-a-real-password")
        .tags(
            aws_sdk_rds::types::Tag::builder()
                .key("rempart:policy")
                .value("billing-postgres")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let r = handle(&h.deps, scheduled_at("2025-11-24T02:00:00Z"))
        .await
        .expect("run");
    let f = r
        .failed
        .iter()
        .find(|f| f.resource == "billing-db")
        .expect("reported");
    assert!(
        f.reason
            .as_deref()
            .unwrap()
            .contains("no policy `billing-postgres`"),
        "{f:?}"
    );
    assert!(!h
        .rds_snapshots()
        .await
        .iter()
        .any(|s| s.contains("billing")));
    let warnings: Vec<_> = h
        .announcements("/warnings")
        .into_iter()
        .map(|a| a["kind"].clone())
        .collect();
    assert_eq!(
        warnings,
        ["snapshot.failed", "snapshot.digest"],
        "the refusal, and the run's digest (a warning: something failed)"
    );
}

/// Proves: when another delivery holds the claim on an EBS snapshot that
/// does not exist yet (it is creating it, or died), the volume is reported
/// as a retryable failure and the invocation fails so that Lambda retries
/// later, instead of silently skipping; the other resources are done.
#[tokio::test]
async fn a_held_ebs_claim_makes_the_invocation_retry() {
    let h = Harness::new().await;
    let key = format!("ebs#rempart-rewapp-ebs-{}-20251124-0400", h.estate.volume);
    let now = chrono::Utc::now();
    assert!(h
        .registry
        .claim(
            &key,
            "another-delivery",
            now,
            now + chrono::TimeDelta::minutes(1)
        )
        .await
        .unwrap());
    let err = handle(&h.deps, scheduled_at("2025-11-24T04:00:00Z"))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("ClaimHeld"), "{err}");
    assert!(
        h.ebs_snapshots().await.is_empty(),
        "nothing created for the claimed volume"
    );
    assert_eq!(
        h.redis_snapshots().await.len(),
        1,
        "Redis was done all the same"
    );
}
