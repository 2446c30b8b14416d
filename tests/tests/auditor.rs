//! backup-auditor against moto: seed 003's estate, snapshots taken by the
//! scheduler, copies made by the replicator, then the hourly audit.

use rempart_integration::{scheduled_at, Harness};
use rempart_shared::functions::{backup_auditor, snapshot_replicator, snapshot_scheduler};
use rempart_shared::policy::PolicySource;
use serde_json::Value;

fn audit_at(time: &str) -> Value {
    let mut v: Value =
        serde_json::from_str(include_str!("../../events/backup-auditor/scheduled.json"))
            .expect("JSON");
    v["time"] = time.into();
    v
}

/// Proves: right after the night's snapshots and their DR copies, the
/// PostgreSQL, Aurora and EBS resources pass (Redis lacks its DR files: the
/// export was never written by ElastiCache here, and the audit says so);
/// two days later without snapshots every resource breaches its 26 h RPO,
/// each breach is announced as a warning or worse and recorded, and the
/// metrics' numbers are in the report.
#[tokio::test]
async fn the_audit_passes_fresh_backups_and_flags_stale_ones() {
    let h = Harness::new().await;
    for t in [
        "2025-11-23T02:00:00Z",
        "2025-11-23T03:00:00Z",
        "2025-11-23T04:00:00Z",
    ] {
        snapshot_scheduler::handle(&h.deps, scheduled_at(t))
            .await
            .expect("scheduler");
    }
    let mut sweep: Value =
        serde_json::from_str(include_str!("../../events/snapshot-replicator/sweep.json"))
            .expect("JSON");
    snapshot_replicator::handle(&h.replicator, sweep.clone())
        .await
        .expect("sweep");
    sweep["time"] = "2025-11-23T04:45:00Z".into();
    snapshot_replicator::handle(&h.replicator, sweep)
        .await
        .expect("sweep");
    let deps = backup_auditor::Deps::new(
        &h.cfg,
        rempart_integration::TABLE,
        h.topic.arn(),
        PolicySource::File(h.policy_file.clone()),
    )
    .expect("deps");

    let fresh = backup_auditor::handle(&deps, audit_at("2025-11-23T06:00:00Z"))
        .await
        .expect("audit");
    let compliant: Vec<(String, bool)> = fresh
        .audit
        .resources
        .iter()
        .map(|r| (r.id.clone(), r.compliant))
        .collect();
    assert_eq!(compliant.len(), 4, "{compliant:?}");
    for (id, ok) in &compliant {
        assert_eq!(
            *ok,
            id != &h.estate.redis,
            "{id}: {:?}",
            fresh.audit.findings
        );
    }
    let redis = fresh
        .audit
        .findings
        .iter()
        .find(|f| f.subject.ends_with(&h.estate.redis))
        .expect("redis finding");
    assert_eq!(redis.check, "dr-missing");
    let db = fresh
        .audit
        .resources
        .iter()
        .find(|r| r.id == h.estate.db)
        .expect("db");
    assert_eq!(
        db.rpo_age_s,
        Some(3 * 3600),
        "the 03:00 weekly snapshot is the newest"
    );

    let stale = backup_auditor::handle(&deps, audit_at("2025-11-25T06:00:00Z"))
        .await
        .expect("audit");
    assert!(stale.audit.resources.iter().all(|r| !r.compliant));
    assert_eq!(
        stale
            .audit
            .findings
            .iter()
            .filter(|f| f.check == "rpo-breach")
            .count(),
        4
    );
    let breaches = h
        .announcements("/warnings")
        .into_iter()
        .filter(|a| a["kind"] == "audit.breach")
        .count();
    // 1 (Redis) in the first audit, 4 in the second.
    assert_eq!(breaches, 5);
    // Redis breached in both audits: two records in its history.
    let history = h
        .registry
        .history(&format!("elasticache-redis#eu-west-1#{}", h.estate.redis))
        .await
        .expect("history");
    let redis_breaches = history
        .iter()
        .filter(|i| {
            i.get("action")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|a| a == "audit.breach")
        })
        .count();
    assert_eq!(redis_breaches, 2);
}
