//! backup-auditor against moto: seed 003's estate, snapshots taken by the
//! scheduler, copies made by the replicator, then the hourly audit.

use rempart_backup_auditor as backup_auditor;
use rempart_core::policy::PolicySource;
use rempart_integration::{as_sns, scheduled_at, Harness};
use rempart_snapshot_replicator as snapshot_replicator;
use rempart_snapshot_scheduler as snapshot_scheduler;
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
    backed_up(&h).await;
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

/// The night's snapshots (02:00 daily, 03:00 weekly, 04:00 Redis) and their
/// DR copies.
async fn backed_up(h: &Harness) {
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
}

/// Proves: the PostgreSQL databases' point-in-time recovery is audited
/// against the policy's `pitr` (35 days, 5 min): an instance whose
/// automated backups are kept 7 days, and a newest restorable point 20
/// minutes behind the audit on the instance and the Aurora cluster, are
/// each a finding and a breach, announced, with the lag in the report (the
/// `PitrLagSeconds` metric) and in the breach's record, where `rempart
/// report` reads it. moto reports the wall clock as
/// `LatestRestorableTime` (not the event's time the audit runs at): a proxy
/// rewrites it in the `DescribeDBInstances` and `DescribeDBClusters`
/// answers to what RDS would say of a log shipping 20 minutes late.
#[tokio::test]
async fn point_in_time_recovery_behind_its_target_is_a_breach() {
    let h = Harness::new().await;
    backed_up(&h).await;
    aws_sdk_rds::Client::new(&h.cfg)
        .modify_db_instance()
        .db_instance_identifier(&h.estate.db)
        .backup_retention_period(7)
        .apply_immediately(true)
        .send()
        .await
        .expect("7 days");
    let proxy = rempart_testkit::proxy::CountingProxy::with_hooks(
        &h.aws.endpoint,
        None,
        Some(std::sync::Arc::new(
            |r: &rempart_testkit::http::Request, body: &str| {
                let op = rempart_testkit::proxy::operation(r);
                if op != "rds:DescribeDBInstances" && op != "rds:DescribeDBClusters" {
                    return None;
                }
                let mut out = String::new();
                let mut rest = body;
                while let Some(i) = rest.find("<LatestRestorableTime>") {
                    let j = rest[i..].find("</LatestRestorableTime>")? + i;
                    out.push_str(&rest[..i]);
                    out.push_str("<LatestRestorableTime>2025-11-23T05:40:00Z");
                    rest = &rest[j..];
                }
                out.push_str(rest);
                Some(out)
            },
        )),
    )
    .await
    .expect("proxy");
    let cfg = rempart_testkit::local::sdk_config_for(&proxy.url(), "eu-west-1").await;
    let deps = backup_auditor::Deps::new(
        &cfg,
        rempart_integration::TABLE,
        h.topic.arn(),
        PolicySource::File(h.policy_file.clone()),
    )
    .expect("deps");
    let report = backup_auditor::handle(&deps, audit_at("2025-11-23T06:00:00Z"))
        .await
        .expect("audit");
    let found = |id: &str, check: &str| {
        report
            .audit
            .findings
            .iter()
            .any(|f| f.subject.ends_with(&format!("/{id}")) && f.check == check)
    };
    assert!(
        found(&h.estate.db, "pitr-retention"),
        "{:?}",
        report.audit.findings
    );
    assert!(found(&h.estate.db, "pitr-lag"));
    assert!(found(&h.estate.aurora, "pitr-lag"));
    assert!(!found(&h.estate.aurora, "pitr-retention"));
    for id in [&h.estate.db, &h.estate.aurora] {
        let r = report
            .audit
            .resources
            .iter()
            .find(|r| &r.id == id)
            .expect("audited");
        assert_eq!(r.pitr_lag_s, Some(1200), "{id}");
        assert!(!r.compliant, "{id}");
    }
    let volume = report
        .audit
        .resources
        .iter()
        .find(|r| r.id == h.estate.volume)
        .expect("volume");
    assert_eq!(volume.pitr_lag_s, None, "EBS has no point-in-time recovery");
    // The record (and its announcement) carries the lag `rempart report` reads.
    let breach = h
        .announcements("/warnings")
        .into_iter()
        .find(|a| a["kind"] == "audit.breach" && a["resource"]["id"] == h.estate.db.as_str())
        .expect("the database's breach");
    assert_eq!(breach["details"]["pitr_lag_s"], 1200, "{breach}");
    let warned: Vec<String> = h
        .announcements("/warnings")
        .iter()
        .filter(|a| a["kind"] == "audit.breach")
        .map(Value::to_string)
        .collect();
    assert!(
        warned
            .iter()
            .any(|a| a.contains(&h.estate.db)
                && a.contains("20min old, over the PITR target of 5min")),
        "{warned:?}"
    );
}

/// Proves: the end-to-end path of a stale backup: an audit two days after
/// the last snapshots reports the database's RPO breach, and its
/// `audit.breach` announcement, delivered to the incident-escalator as the
/// events topic delivers it, opens an incident; after fresh snapshots the
/// next audit announces `audit.passed`, which resolves it (after the flap
/// window). Alongside, the manual-snapshot quota headroom is computed from
/// what moto holds: 85 manual snapshots of the region (Rempart's and
/// others') make a `quota` finding with the count.
#[tokio::test]
async fn a_stale_backup_opens_an_incident_that_a_fresh_one_resolves() {
    use rempart_incident_escalator as incident_escalator;
    let h = Harness::new().await;
    let (incidents, escalator) = h.escalator().await;
    let auditor = backup_auditor::Deps::new(
        &h.cfg,
        rempart_integration::TABLE,
        h.topic.arn(),
        PolicySource::File(h.policy_file.clone()),
    )
    .expect("auditor");
    // Someone else's manual snapshots: 85 with Rempart's (2 RDS).
    let rds = aws_sdk_rds::Client::new(&h.cfg);
    for n in 0..83 {
        rds.create_db_snapshot()
            .db_instance_identifier(&h.estate.untagged_db)
            .db_snapshot_identifier(format!("manual-{n}"))
            .send()
            .await
            .expect("manual snapshot");
    }
    h.night("2025-11-23").await;
    let deliver = |kind: &'static str| {
        let all = h.announcements("/all");
        let escalator = &escalator;
        async move {
            for a in all.iter().filter(|a| a["kind"] == kind) {
                incident_escalator::handle(escalator, as_sns(a))
                    .await
                    .expect("escalator");
            }
        }
    };

    let stale = backup_auditor::handle(&auditor, audit_at("2025-11-25T06:00:00Z"))
        .await
        .expect("audit");
    let db = stale
        .audit
        .resources
        .iter()
        .find(|r| r.id == h.estate.db)
        .expect("db");
    assert!(!db.compliant && db.rpo_age_s > Some(db.rpo_s), "{db:?}");
    assert_eq!(stale.audit.rds_manual.get("eu-west-1"), Some(&85));
    let quota = stale
        .audit
        .findings
        .iter()
        .find(|f| f.check == "quota")
        .expect("quota finding");
    assert!(quota.message.starts_with("85 of the 100"), "{quota:?}");
    deliver("audit.breach").await;
    let open: Vec<String> = incidents
        .all_open()
        .await
        .expect("open")
        .into_iter()
        .map(|s| s.incident.key)
        .collect();
    let key = format!("audit#rds-instance#{}", h.estate.db);
    assert!(open.contains(&key), "{open:?}");

    h.night("2025-11-26").await;
    let fresh = backup_auditor::handle(&auditor, audit_at("2025-11-26T06:00:00Z"))
        .await
        .expect("audit");
    assert!(fresh
        .audit
        .resources
        .iter()
        .any(|r| r.id == h.estate.db && r.compliant));
    deliver("audit.passed").await;
    let mut tick: Value =
        serde_json::from_str(include_str!("../../events/incident-escalator/tick.json"))
            .expect("JSON");
    tick["time"] = "2025-11-26T06:20:00Z".into();
    incident_escalator::handle(&escalator, tick)
        .await
        .expect("tick");
    let still: Vec<String> = incidents
        .all_open()
        .await
        .expect("open")
        .into_iter()
        .map(|s| s.incident.key)
        .collect();
    assert!(!still.contains(&key), "resolved: {still:?}");
    assert!(incidents
        .all()
        .await
        .expect("all")
        .iter()
        .any(|i| i.key == key && i.resolved_at.is_some()));
}
