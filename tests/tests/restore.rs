//! restore-tester against moto (which makes a restored instance available
//! at once; the "still restoring" path is the slow-restore alert below,
//! driven by the instance's status).

use rempart_integration::{scheduled_at, Harness};
use rempart_shared::functions::{restore_tester, snapshot_scheduler};
use rempart_shared::policy::PolicySource;
use serde_json::Value;

fn tick(time: &str) -> Value {
    let mut v: Value =
        serde_json::from_str(include_str!("../../events/restore-tester/scheduled.json"))
            .expect("JSON");
    v["time"] = time.into();
    v
}

/// Proves: the month's test restores a Rempart snapshot younger than 7
/// days into a private, tagged throw-away instance; the next tick finds it
/// available, checks it, measures the RTO, deletes it, records and announces
/// `restore.succeeded`, and tags the snapshot `rempart:verified`; a later
/// tick in the same month starts nothing.
#[tokio::test]
async fn a_monthly_restore_test_restores_checks_times_and_cleans_up() {
    let h = Harness::new().await;
    snapshot_scheduler::handle(&h.deps, scheduled_at("2025-11-23T02:00:00Z"))
        .await
        .expect("snapshots");
    let deps = restore_tester::Deps::new(
        &h.cfg,
        rempart_integration::TABLE,
        h.topic.arn(),
        PolicySource::File(h.policy_file.clone()),
    )
    .expect("deps");
    let rds = aws_sdk_rds::Client::new(&h.cfg);

    let first = restore_tester::handle(&deps, tick("2025-11-23T06:00:00Z"))
        .await
        .expect("started");
    assert_eq!(
        first.started,
        vec!["rempart-rt-rewapp-prod-db-202511230600".to_string()]
    );
    let out = rds
        .describe_db_instances()
        .db_instance_identifier("rempart-rt-rewapp-prod-db-202511230600")
        .send()
        .await
        .expect("restored");
    let i = &out.db_instances()[0];
    // moto does not return PubliclyAccessible for a restored instance (None);
    // Rempart asks for false, and the check refuses a public one.
    assert_ne!(i.publicly_accessible(), Some(true));
    assert!(i.tag_list().iter().any(
        |t| t.key() == Some("rempart:restore-test") && t.value() == Some(h.estate.db.as_str())
    ));
    assert_eq!(i.db_instance_class(), Some("db.t4g.micro"));

    let second = restore_tester::handle(&deps, tick("2025-11-23T06:05:00Z"))
        .await
        .expect("followed");
    assert_eq!(second.finished.len(), 1, "{second:?}");
    assert_eq!(second.finished[0]["rto_s"], 300);
    let gone = rds
        .describe_db_instances()
        .db_instance_identifier("rempart-rt-rewapp-prod-db-202511230600")
        .send()
        .await;
    assert!(
        gone.is_err()
            || gone.as_ref().is_ok_and(|o| o
                .db_instances()
                .iter()
                .all(|i| i.db_instance_status() == Some("deleting"))),
        "deleted"
    );
    let verified = h
        .rds_snapshot_tags("rempart-rewapp-postgres-rewapp-prod-db-20251123-0200")
        .await;
    assert_eq!(
        verified.get("rempart:verified").map(String::as_str),
        Some("2025-11-23T06:05:00Z")
    );
    assert!(h
        .announcements("/all")
        .iter()
        .any(|a| a["kind"] == "restore.succeeded"));

    let third = restore_tester::handle(&deps, tick("2025-11-24T06:00:00Z"))
        .await
        .expect("tick");
    assert!(
        third.started.is_empty() && third.not_due.contains(&h.estate.db),
        "{third:?}"
    );
}

/// Proves: with no Rempart snapshot younger than 7 days, the test fails
/// (recorded and announced as a warning) instead of testing an old one.
#[tokio::test]
async fn no_recent_snapshot_fails_the_test() {
    let h = Harness::new().await;
    snapshot_scheduler::handle(&h.deps, scheduled_at("2025-11-01T02:00:00Z"))
        .await
        .expect("snapshots");
    let deps = restore_tester::Deps::new(
        &h.cfg,
        rempart_integration::TABLE,
        h.topic.arn(),
        PolicySource::File(h.policy_file.clone()),
    )
    .expect("deps");
    let r = restore_tester::handle(&deps, tick("2025-11-23T06:00:00Z"))
        .await
        .expect("run");
    assert_eq!(r.failed, vec![h.estate.db.clone()]);
    assert!(r.started.is_empty());
    assert!(h
        .announcements("/warnings")
        .iter()
        .any(|a| a["kind"] == "restore.failed"));
}
