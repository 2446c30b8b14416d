//! backup-auditor against moto: seed 003's estate, snapshots taken by the
//! scheduler, copies made by the replicator, then the hourly audit.

use rempart_backup_auditor as backup_auditor;
use rempart_integration::{scheduled_at, Harness};
use rempart_snapshot_replicator as snapshot_replicator;
use rempart_snapshot_scheduler as snapshot_scheduler;
use serde_json::Value;

/// The backup-auditor of the harness's account, with its policy file.
fn auditor(h: &Harness) -> backup_auditor::Deps {
    h.auditor(&h.cfg)
}

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
    let deps = auditor(&h);

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
    let breaches = |kind: &str| {
        h.announcements("/warnings")
            .into_iter()
            .filter(|a| a["kind"] == "audit.breach" && a["resource"]["kind"] == kind)
            .count()
    };
    // 1 (Redis) in the first audit, 4 in the second.
    let resources: usize = [
        "rds-instance",
        "aurora-cluster",
        "ebs-volume",
        "elasticache-redis",
    ]
    .iter()
    .map(|k| breaches(k))
    .sum();
    assert_eq!(resources, 5);
    // The example policy's three replicated buckets do not exist here: each
    // audit reports their replication off.
    assert_eq!(breaches("s3-bucket"), 6);
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
    let deps = h.auditor(&cfg);
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
    let auditor = auditor(&h);
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
    h.deliver(&escalator, "audit.breach", |_| true).await;
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
    h.deliver(&escalator, "audit.passed", |_| true).await;
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

/// The example policy with monitoring thresholds for every kind.
fn with_monitoring(cpu: u32) -> String {
    format!(
        "{}\n[monitoring]\nperiod = \"5min\"\nevaluation_periods = 3\n\n[monitoring.rds]\ncpu_percent = {cpu}\nfreeable_memory_mib = 1229\nfree_storage_gib = 20\nread_latency = \"2s\"\n\n[monitoring.elasticache]\ncpu_percent = 80\nmemory_percent = 85\n\n[monitoring.ebs]\nburst_balance_percent = 20\n",
        rempart_integration::EXAMPLE_POLICY
    )
}

/// The account's alarms (moto), by name: threshold.
async fn alarms(cw: &aws_sdk_cloudwatch::Client) -> std::collections::BTreeMap<String, f64> {
    cw.describe_alarms()
        .send()
        .await
        .expect("alarms")
        .metric_alarms()
        .iter()
        .filter_map(|a| Some((a.alarm_name()?.to_string(), a.threshold()?)))
        .collect()
}

/// Proves, against moto: with `[monitoring]`, the audit gives every
/// protected resource the alarms of its kind's thresholds (the database,
/// the Aurora cluster, each node of the Redis group, the volume), tagged as
/// Rempart's, in the metric's unit; a second audit changes nothing; a
/// changed threshold updates the alarms; a volume untagged loses its alarm
/// and a Rempart alarm of a resource gone is deleted, while an alarm of
/// another name stays; an alarm's state change reaches the
/// incident-escalator and is classified by the policy's rule for
/// monitoring alarms (minor, level 1).
#[tokio::test]
async fn protected_resources_get_their_alarms_and_lose_them_when_they_go() {
    use rempart_incident_escalator as incident_escalator;
    let h = Harness::with(&[], &with_monitoring(80)).await;
    let cw = aws_sdk_cloudwatch::Client::new(&h.cfg);
    // Someone else's alarm, and a Rempart alarm of a database deleted since.
    for name in ["team-db-cpu", "rempart-monitor-rds-deleted-db-cpu"] {
        cw.put_metric_alarm()
            .alarm_name(name)
            .namespace("AWS/RDS")
            .metric_name("CPUUtilization")
            .statistic(aws_sdk_cloudwatch::types::Statistic::Average)
            .period(300)
            .evaluation_periods(1)
            .threshold(90.0)
            .comparison_operator(
                aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold,
            )
            .send()
            .await
            .expect("alarm");
    }
    let deps = auditor(&h);
    let first = backup_auditor::handle(&deps, audit_at("2025-11-23T06:00:00Z"))
        .await
        .expect("audit");
    assert!(first.monitoring.failed.is_empty(), "{:?}", first.monitoring);
    assert_eq!(
        first.monitoring.deleted,
        ["rempart-monitor-rds-deleted-db-cpu"]
    );
    let now = alarms(&cw).await;
    let db = |m: &str| format!("rempart-monitor-rds-{}-{m}", h.estate.db);
    assert_eq!(now.get(&db("cpu")), Some(&80.0));
    assert_eq!(
        now.get(&db("freeable-memory")),
        Some(&(1229.0 * 1024.0 * 1024.0))
    );
    assert_eq!(now.get(&db("read-latency")), Some(&2.0));
    assert!(now.contains_key(&format!("rempart-monitor-aurora-{}-cpu", h.estate.aurora)));
    assert!(!now.contains_key(&format!(
        "rempart-monitor-aurora-{}-free-storage",
        h.estate.aurora
    )));
    let vol = format!("rempart-monitor-ebs-{}-burst-balance", h.estate.volume);
    assert!(now.contains_key(&vol), "{now:?}");
    let redis: Vec<&String> = now
        .keys()
        .filter(|n| n.starts_with("rempart-monitor-redis-") && n.ends_with("-memory"))
        .collect();
    assert!(!redis.is_empty(), "a memory alarm per Redis node: {now:?}");
    assert!(now.contains_key("team-db-cpu"), "another's alarm stays");
    assert!(
        !now.keys().any(|n| n.contains(&h.estate.untagged_db)),
        "untagged: no alarm"
    );
    let arn = cw
        .describe_alarms()
        .alarm_names(db("cpu"))
        .send()
        .await
        .expect("alarm")
        .metric_alarms()[0]
        .alarm_arn()
        .expect("arn")
        .to_string();
    let tags = cw
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .expect("tags");
    assert!(tags
        .tags()
        .iter()
        .any(|t| t.key() == Some("rempart:monitors")
            && t.value() == Some(format!("rds-instance/{}", h.estate.db).as_str())));

    let again = backup_auditor::handle(&deps, audit_at("2025-11-23T07:00:00Z"))
        .await
        .expect("audit");
    assert!(
        again.monitoring.created.is_empty()
            && again.monitoring.updated.is_empty()
            && again.monitoring.deleted.is_empty(),
        "a second audit changes nothing: {:?}",
        again.monitoring
    );
    assert_eq!(again.monitoring.unchanged, now.len() - 1);

    std::fs::write(&h.policy_file, with_monitoring(90)).expect("policy");
    rempart_testkit::local::ec2_client(&h.cfg)
        .delete_tags()
        .resources(&h.estate.volume)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("rempart:policy")
                .build(),
        )
        .send()
        .await
        .expect("untag");
    let third = backup_auditor::handle(&deps, audit_at("2025-11-23T08:00:00Z"))
        .await
        .expect("audit");
    // The RDS thresholds are the Aurora cluster's too.
    assert_eq!(
        third.monitoring.updated,
        [
            format!("rempart-monitor-aurora-{}-cpu", h.estate.aurora),
            db("cpu")
        ]
    );
    assert_eq!(third.monitoring.deleted, std::slice::from_ref(&vol));
    let now = alarms(&cw).await;
    assert_eq!(now.get(&db("cpu")), Some(&90.0));
    assert!(!now.contains_key(&vol) && now.contains_key("team-db-cpu"));

    // The alarm's state change, as EventBridge delivers it, opens a minor,
    // level-1 incident (the policy's rule for `rempart-monitor-`).
    let (incidents, escalator) = h.escalator().await;
    let mut ev: Value = serde_json::from_str(include_str!(
        "../../events/incident-escalator/alarm-state-change.json"
    ))
    .expect("JSON");
    ev["resources"] = serde_json::json!([arn]);
    ev["detail"]["alarmName"] = db("cpu").into();
    ev["detail"]["configuration"]["description"] = "Rempart monitoring".into();
    incident_escalator::handle(&escalator, ev)
        .await
        .expect("opened");
    let open = incidents.all_open().await.expect("open");
    assert_eq!(open.len(), 1);
    let class = &open[0].incident.class;
    assert_eq!(
        (class.impact.as_str(), class.level),
        ("minor", 1),
        "{class:?}"
    );
}
