//! `rempart report` over a simulated month against moto: the real
//! scheduler, replicator, retention-enforcer, restore-tester and
//! incident-escalator write the registry and the incidents table for
//! November 2025 (event times advance, the clock does not), then the report
//! is read back from them.

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use rempart_aws::incidents::Incidents;
use rempart_cli::report::{gather, render, Format};
use rempart_core::policy::{PolicyDocument, PolicySource};
use rempart_core::report::Verdict;
use rempart_core::time::rfc3339;
use rempart_incident_escalator as incident_escalator;
use rempart_integration::{scheduled_at, Harness};
use rempart_restore_tester as restore_tester;
use rempart_retention_enforcer as retention_enforcer;
use rempart_snapshot_replicator as snapshot_replicator;
use rempart_snapshot_scheduler as snapshot_scheduler;
use serde_json::Value;

fn at(json: &str, time: &str) -> Value {
    let mut v: Value = serde_json::from_str(json).expect("JSON");
    v["time"] = time.into();
    v
}

/// Proves: over a simulated month with one day of missed backups (Nov 15),
/// a restore test and an incident, the report lists every action of the
/// month: the backups of each day, the DR copies, the retention deletions,
/// the restore test with its measured RTO (met against the policy's 1 h),
/// the DR drill of the database's copy in eu-central-1 (5 min, met against
/// the 4 h target),
/// and the incident with its times; the measured RPO of the database is the
/// 48 h gap of the missed day, BREACHED against the policy's 26 h; the
/// table, JSON and HTML renderings carry it; the DR region's copies are
/// listed with their deletions but no RPO of their own; the restore tests
/// are judged per kind against the policy's objectives; `--resource`
/// narrows it to one database and its DR copies.
#[tokio::test]
async fn the_report_covers_a_simulated_month() {
    let h = Harness::new().await;
    let tester = restore_tester::Deps::new(
        &h.cfg,
        rempart_integration::TABLE,
        h.topic.arn(),
        PolicySource::File(h.policy_file.clone()),
    )
    .expect("tester");
    // The drill tester in the DR region (eu-central-1).
    let drills = restore_tester::Deps::drills(
        &h.dr_cfg,
        "eu-west-1",
        rempart_integration::TABLE,
        h.topic.arn(),
        PolicySource::File(h.policy_file.clone()),
    )
    .expect("drill tester");
    let mut enforcer = retention_enforcer::Deps::new(
        &h.cfg,
        rempart_integration::TABLE,
        h.topic.arn(),
        PolicySource::File(h.policy_file.clone()),
    )
    .expect("enforcer");
    enforcer.pace = 0;
    let incidents = Incidents::new(aws_sdk_dynamodb::Client::new(&h.cfg), "rempart-incidents");
    incidents.create_table().await.expect("incidents table");
    let escalator = incident_escalator::Deps::new(
        &h.cfg,
        "rempart-incidents",
        h.topic.arn(),
        &[],
        PolicySource::File(h.policy_file.clone()),
    )
    .expect("escalator");

    let from: DateTime<Utc> = "2025-11-01T00:00:00Z".parse().expect("time");
    let to: DateTime<Utc> = "2025-12-01T00:00:00Z".parse().expect("time");
    let mut day = from;
    while day < to {
        if day.day() != 15 {
            for hour in [2, 3, 4] {
                let t = rfc3339(day + TimeDelta::hours(hour));
                snapshot_scheduler::handle(&h.deps, scheduled_at(&t))
                    .await
                    .expect("scheduler");
            }
        }
        let t = rfc3339(day + TimeDelta::minutes(5 * 60 + 30));
        snapshot_replicator::handle(&h.replicator, scheduled_at(&t))
            .await
            .expect("replicator");
        retention_enforcer::handle(&enforcer, scheduled_at(&t))
            .await
            .expect("enforcer");
        if day.day() == 23 {
            for t in ["2025-11-23T06:00:00Z", "2025-11-23T06:05:00Z"] {
                let mut tick: Value = serde_json::from_str(include_str!(
                    "../../events/restore-tester/scheduled.json"
                ))
                .expect("JSON");
                tick["time"] = t.into();
                restore_tester::handle(&tester, tick.clone())
                    .await
                    .expect("tester");
                restore_tester::handle(&drills, tick).await.expect("drills");
            }
            for (event, time) in [
                (
                    include_str!("../../events/incident-escalator/alarm-state-change.json"),
                    None,
                ),
                (
                    include_str!("../../events/incident-escalator/alarm-ok.json"),
                    None,
                ),
                (
                    include_str!("../../events/incident-escalator/tick.json"),
                    Some("2025-11-23T03:11:00Z"),
                ),
            ] {
                let v = match time {
                    Some(t) => at(event, t),
                    None => serde_json::from_str(event).expect("JSON"),
                };
                incident_escalator::handle(&escalator, v)
                    .await
                    .expect("escalator");
            }
        }
        day += TimeDelta::days(1);
    }

    let doc =
        PolicyDocument::from_toml(rempart_integration::EXAMPLE_POLICY, "example").expect("policy");
    let report = gather(&h.registry, Some(&incidents), &doc, from, to, None)
        .await
        .expect("report");
    let db = report
        .resources
        .iter()
        .find(|r| r.resource == "rds-instance#eu-west-1#rewapp-prod-db")
        .expect("the database is in the report");
    // 29 days of the 02:00 daily, plus the Sunday 03:00 weekly (4 Sundays
    // taken; the 16th's is taken too).
    assert!(db.counts.backups_ok >= 29, "{:?}", db.counts);
    assert_eq!(db.counts.backups_failed, 0);
    assert_eq!(db.rpo.measured_s, Some(48 * 3600), "{:?}", db.rpo);
    assert_eq!(
        db.rpo.gap_from.map(rfc3339).as_deref(),
        Some("2025-11-14T02:00:00Z")
    );
    assert_eq!(db.rpo.verdict, Verdict::Breached);
    assert!(db.counts.copies_ok > 0, "{:?}", db.counts);
    assert!(db.counts.deletions > 0, "{:?}", db.counts);
    assert_eq!(db.counts.restore_tests_passed, 1);
    assert_eq!(db.rto.max_s, Some(300));
    assert_eq!(db.rto.verdict, Verdict::Met);
    // The restore tests per kind, against the example policy's objectives
    // (30 min, alert beyond 45 min, 100 %): the month's one passed test.
    use rempart_core::report::Standing;
    let rds = report
        .restore_tests
        .iter()
        .find(|t| t.kind == "rds-instance")
        .expect("the instance's restore test is judged");
    assert_eq!((rds.passed, rds.tests), (1, 1));
    assert!(
        rds.checks_run > 0 && rds.checks_passed == rds.checks_run,
        "{rds:?}"
    );
    assert_eq!(
        (rds.success, rds.integrity, rds.time),
        (Standing::Met, Standing::Met, Standing::Met)
    );
    assert_eq!(report.objectives.map(|o| o.time_s), Some(Some(1800)));
    let volume = report
        .resources
        .iter()
        .find(|r| r.resource.starts_with("ebs-volume#eu-west-1#"))
        .expect("the volume is in the report");
    assert_eq!(volume.rpo.measured_s, Some(48 * 3600), "{:?}", volume.rpo);
    // The DR region's copies have no backups of their own: not measured.
    let dr = report
        .resources
        .iter()
        .find(|r| r.resource == "rds-instance#eu-central-1#rewapp-prod-db")
        .expect("the DR copies are in the report");
    assert_eq!(dr.rpo.verdict, Verdict::NotMeasured);
    // The database's cross-region drill of the 23rd (its DR copy restored
    // in eu-central-1), against seed 003 §10.4's 4 h.
    let drill = report
        .drills
        .iter()
        .find(|d| {
            d.resource == "rds-instance#eu-west-1#rewapp-prod-db" && d.drill == "cross-region"
        })
        .unwrap_or_else(|| panic!("the database's last drill: {:?}", report.drills));
    assert!(drill.passed && drill.in_period, "{drill:?}");
    assert_eq!(drill.region, "eu-central-1");
    assert_eq!((drill.rto_s, drill.target_s), (Some(300), Some(4 * 3600)));
    assert_eq!(drill.time_standing, Standing::Met);
    assert_eq!(report.incidents.len(), 1, "{:?}", report.incidents);
    assert!(report.incidents[0].resolved_at.is_some());
    assert!(report.events.iter().all(|e| e.time >= from && e.time <= to));
    assert!(report.events.windows(2).all(|w| w[0].time <= w[1].time));
    assert_eq!(report.summary.counts.backups_failed, 0);

    let table = render(&report, Format::Table).expect("table");
    assert!(
        table.contains("rewapp-prod-db") && table.contains("BREACHED"),
        "{table}"
    );
    assert!(
        table.contains("== DR drills (last per resource) ==") && table.contains("cross-region"),
        "{table}"
    );
    let json: Value =
        serde_json::from_str(&render(&report, Format::Json).expect("json")).expect("valid JSON");
    assert_eq!(
        json["resources"].as_array().map(Vec::len),
        Some(report.resources.len())
    );
    let html = render(&report, Format::Html).expect("html");
    assert!(html.contains("<svg") && html.contains("rewapp-prod-db") && !html.contains("<script"));

    let one = gather(
        &h.registry,
        Some(&incidents),
        &doc,
        from,
        to,
        Some("rewapp-prod-db"),
    )
    .await
    .expect("report");
    // The database and its DR copies (the same id in the DR region).
    let keys: Vec<&str> = one.resources.iter().map(|r| r.resource.as_str()).collect();
    assert_eq!(
        keys,
        [
            "rds-instance#eu-central-1#rewapp-prod-db",
            "rds-instance#eu-west-1#rewapp-prod-db"
        ]
    );
    assert!(one
        .events
        .iter()
        .all(|e| keys.contains(&e.resource.as_str())));
}
