//! restore-tester against moto (which makes a restored instance available
//! at once; the "still restoring" path is the slow-restore alert below,
//! driven by the instance's status).

use rempart_core::policy::PolicySource;
use rempart_integration::{scheduled_at, Harness};
use rempart_restore_tester as restore_tester;
use rempart_snapshot_scheduler as snapshot_scheduler;
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
    let (h, deps) = snapshotted().await;
    let rds = aws_sdk_rds::Client::new(&h.cfg);

    let first = restore_tester::handle(&deps, tick("2025-11-23T06:00:00Z"))
        .await
        .expect("started");
    // The example policy's rewapp-postgres also holds the Aurora cluster.
    assert_eq!(
        first.started,
        vec![
            "rempart-rt-rewapp-prod-db-202511230600".to_string(),
            "rempart-rt-rewapp-aurora-202511230600".to_string()
        ]
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
    // The instance's test and the Aurora cluster's.
    assert_eq!(second.finished.len(), 2, "{second:?}");
    assert_eq!(
        second.finished[0]["instance"],
        "rempart-rt-rewapp-prod-db-202511230600"
    );
    assert_eq!(second.finished[0]["rto_s"], 300);
    let names: Vec<&str> = second.finished[0]["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["ok"] == true)
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "available",
            "engine",
            "storage",
            "private",
            "parameter-group"
        ],
        "every check the policy names ran and passed"
    );
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
    let deps = tester(&h);
    let r = restore_tester::handle(&deps, tick("2025-11-23T06:00:00Z"))
        .await
        .expect("run");
    assert_eq!(r.failed, vec![h.estate.db.clone(), h.estate.aurora.clone()]);
    assert!(r.started.is_empty());
    assert!(h
        .announcements("/warnings")
        .iter()
        .any(|a| a["kind"] == "restore.failed"));
}

fn tester(h: &Harness) -> restore_tester::Deps {
    restore_tester::Deps::new(
        &h.cfg,
        rempart_integration::TABLE,
        h.topic.arn(),
        PolicySource::File(h.policy_file.clone()),
    )
    .expect("deps")
}

/// The example estate with the night's Rempart snapshots (2025-11-23
/// 02:00), and the restore-tester against it.
async fn snapshotted() -> (Harness, restore_tester::Deps) {
    let h = Harness::new().await;
    snapshot_scheduler::handle(&h.deps, scheduled_at("2025-11-23T02:00:00Z"))
        .await
        .expect("snapshots");
    let deps = tester(&h);
    (h, deps)
}

fn request(file: &str) -> Value {
    let text = match file {
        "snapshot" => include_str!("../../events/restore-tester/request-snapshot.json"),
        _ => include_str!("../../events/restore-tester/request-point-in-time.json"),
    };
    serde_json::from_str(text).expect("JSON")
}

async fn instance_ids(rds: &aws_sdk_rds::Client) -> Vec<String> {
    let out = rds.describe_db_instances().send().await.expect("describe");
    let mut ids: Vec<String> = out
        .db_instances()
        .iter()
        .filter_map(|i| i.db_instance_identifier().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

/// Proves: a restore request whose point in time lies outside the
/// database's point-in-time window is refused with the window and the
/// snapshots' span in the message (recorded as `restore.refused`, announced
/// as a warning), and changes nothing: no instance is created. A request
/// approved by its own requester is refused too, and so is one naming no
/// database of the region.
#[tokio::test]
async fn a_restore_request_outside_the_window_is_refused_with_the_window() {
    let (h, deps) = snapshotted().await;
    let rds = aws_sdk_rds::Client::new(&h.cfg);
    let before = instance_ids(&rds).await;

    let mut old = request("point-in-time");
    old["detail"]["point_in_time"] = "2020-01-01T00:00:00Z".into();
    let r = restore_tester::handle(&deps, old).await.expect("handled");
    assert_eq!(r.requests.len(), 1, "{r:?}");
    assert_eq!(r.requests[0]["state"], "refused");
    let why = r.requests[0]["reason"].as_str().expect("reason");
    assert!(
        why.starts_with(
            "2020-01-01T00:00:00Z is outside the window: the point-in-time window of rewapp-prod-db is "
        ) && why.contains("available snapshot(s) cover"),
        "{why}"
    );
    assert_eq!(instance_ids(&rds).await, before, "nothing restored");
    assert!(h
        .registry_items()
        .await
        .iter()
        .any(|(res, action, subject, outcome, _)| {
            res == "rds-instance#eu-west-1#rewapp-prod-db"
                && action == "restore.refused"
                && subject == "8b2c3d4e-7777-4f60-9bac-1d2e3f4a5b6c"
                && outcome == "failure"
        }));
    let warned = h.announcements("/warnings");
    let refused = warned
        .iter()
        .find(|a| a["kind"] == "restore.refused")
        .expect("announced");
    assert!(
        refused["summary"]
            .as_str()
            .is_some_and(|s| s.contains("point-in-time window of rewapp-prod-db is")),
        "{refused}"
    );

    let mut own = request("snapshot");
    own["id"] = "self-approved".into();
    own["detail"]["approved_by"] = "Alice@rewapp.io".into();
    let r = restore_tester::handle(&deps, own).await.expect("handled");
    assert_eq!(r.requests[0]["state"], "refused");
    assert!(r.requests[0]["reason"]
        .as_str()
        .is_some_and(|s| s.contains("cannot approve their own")));
    assert_eq!(instance_ids(&rds).await, before, "nothing restored");

    let mut nothing = request("snapshot");
    nothing["id"] = "nothing".into();
    nothing["detail"]["database"] = "no-such-db".into();
    let r = restore_tester::handle(&deps, nothing)
        .await
        .expect("handled");
    assert_eq!(
        r.requests[0]["reason"],
        "there is no DB instance nor Aurora cluster no-such-db in this region"
    );
}

/// Proves: a restore request naming an Aurora cluster restores its cluster
/// snapshot into a new cluster with one private instance, tagged with the
/// request; the next tick finds cluster and instance available, runs the
/// checks and records `restore.completed` under the cluster, keeping both.
#[tokio::test]
async fn an_aurora_restore_request_restores_a_new_cluster() {
    let (h, deps) = snapshotted().await;
    let rds = aws_sdk_rds::Client::new(&h.cfg);
    let mut req = request("snapshot");
    req["detail"]["database"] = "rewapp-aurora".into();
    req["detail"]["snapshot"] = "rempart-rewapp-postgres-rewapp-aurora-20251123-0200".into();
    req["detail"]["target"] = "rewapp-aurora-restored".into();
    let r = restore_tester::handle(&deps, req).await.expect("handled");
    assert_eq!(r.requests[0]["state"], "started", "{r:?}");
    let c = rds
        .describe_db_clusters()
        .db_cluster_identifier("rewapp-aurora-restored")
        .send()
        .await
        .expect("restored cluster");
    assert!(c.db_clusters()[0]
        .tag_list()
        .iter()
        .any(|t| t.key() == Some("rempart:restore-request")));
    let member = rds
        .describe_db_instances()
        .db_instance_identifier("rewapp-aurora-restored")
        .send()
        .await
        .expect("its instance");
    assert_eq!(
        member.db_instances()[0].db_cluster_identifier(),
        Some("rewapp-aurora-restored")
    );

    let done = restore_tester::handle(&deps, tick("2025-11-24T15:15:00Z"))
        .await
        .expect("followed");
    let d = done
        .requests
        .iter()
        .find(|d| d["target"] == "rewapp-aurora-restored")
        .unwrap_or_else(|| panic!("reported: {done:?}"));
    assert_eq!(d["rto_s"], 300);
    assert!(
        d["checks"]
            .as_array()
            .is_some_and(|c| !c.is_empty() && c.iter().all(|c| c["ok"] == true)),
        "{d}"
    );
    assert!(h
        .registry_items()
        .await
        .iter()
        .any(|(res, action, _, outcome, _)| {
            res == "aurora-cluster#eu-west-1#rewapp-aurora"
                && action == "restore.completed"
                && outcome == "success"
        }));
    assert!(
        rds.describe_db_clusters()
            .db_cluster_identifier("rewapp-aurora-restored")
            .send()
            .await
            .is_ok(),
        "kept"
    );
}

/// Proves: a restore request from a Rempart snapshot starts a new private
/// instance tagged with the request (a redelivery starts nothing more); the
/// next tick finds it available, runs the checks and records
/// `restore.completed` with the requester, the approver and the timestamps
/// (requested, available, RTO), and the instance is kept (it is the
/// requester's); later ticks report it no more.
#[tokio::test]
async fn a_restore_request_from_a_snapshot_is_started_followed_checked_and_kept() {
    let (h, deps) = snapshotted().await;
    let rds = aws_sdk_rds::Client::new(&h.cfg);

    let r = restore_tester::handle(&deps, request("snapshot"))
        .await
        .expect("started");
    assert_eq!(r.requests[0]["state"], "started", "{r:?}");
    assert_eq!(r.requests[0]["target"], "rewapp-prod-db-restored");
    let again = restore_tester::handle(&deps, request("snapshot"))
        .await
        .expect("redelivered");
    assert_eq!(again.requests[0]["state"], "already-started", "{again:?}");
    let out = rds
        .describe_db_instances()
        .db_instance_identifier("rewapp-prod-db-restored")
        .send()
        .await
        .expect("restored");
    let i = &out.db_instances()[0];
    let tag = |k: &str| {
        i.tag_list()
            .iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    assert_eq!(
        tag("rempart:restore-request").as_deref(),
        Some("7a1b2c3d-6666-4e5f-8a9b-0c1d2e3f4a5b")
    );
    assert_eq!(tag("rempart:approved-by").as_deref(), Some("bob@rewapp.io"));
    assert_eq!(tag("rempart:policy"), None, "not put under a policy");

    let done = restore_tester::handle(&deps, tick("2025-11-24T15:15:00Z"))
        .await
        .expect("followed");
    let d = done
        .requests
        .iter()
        .find(|d| d["target"] == "rewapp-prod-db-restored")
        .expect("reported");
    assert_eq!(d["rto_s"], 300);
    assert_eq!(d["requested_at"], "2025-11-24T15:10:00Z");
    assert_eq!(d["available_at"], "2025-11-24T15:15:00Z");
    assert_eq!(d["requested_by"], "alice@rewapp.io");
    assert!(d["checks"]
        .as_array()
        .is_some_and(|c| !c.is_empty() && c.iter().all(|c| c["ok"] == true)));
    assert!(instance_ids(&rds)
        .await
        .contains(&"rewapp-prod-db-restored".to_string()));
    let kinds: Vec<Value> = h
        .announcements("/all")
        .iter()
        .map(|a| a["kind"].clone())
        .collect();
    assert!(
        kinds.contains(&"restore.requested".into()) && kinds.contains(&"restore.completed".into())
    );

    let later = restore_tester::handle(&deps, tick("2025-11-24T15:20:00Z"))
        .await
        .expect("tick");
    assert!(later.requests.is_empty(), "{later:?}");
}

/// Proves: a point-in-time request inside the window (moto's window ends at
/// its wall clock) restores to a new instance with the default name
/// `rempart-rr-<db>-<yyyymmddhhmm>` of the request's time.
#[tokio::test]
async fn a_point_in_time_request_inside_the_window_is_started() {
    let h = Harness::new().await;
    let deps = tester(&h);
    let rds = aws_sdk_rds::Client::new(&h.cfg);
    let out = rds
        .describe_db_instances()
        .db_instance_identifier(&h.estate.db)
        .send()
        .await
        .expect("db");
    let latest = out.db_instances()[0]
        .latest_restorable_time()
        .map(|t| t.to_string())
        .expect("moto gives LatestRestorableTime");
    let mut req = request("point-in-time");
    req["detail"]["point_in_time"] = latest.into();
    req["time"] = "2026-01-02T03:04:00Z".into();
    let r = restore_tester::handle(&deps, req).await.expect("handled");
    assert_eq!(r.requests[0]["state"], "started", "{r:?}");
    assert!(instance_ids(&rds)
        .await
        .contains(&"rempart-rr-rewapp-prod-db-202601020304".to_string()));
}

/// Proves: a restore test whose restored instance fails a check (here it
/// was made publicly accessible) is recorded and announced as
/// `restore.failed`, its instance is still deleted, and its snapshot is not
/// tagged verified.
#[tokio::test]
async fn a_failed_restore_test_is_reported_and_cleaned_up() {
    let (h, deps) = snapshotted().await;
    let rds = aws_sdk_rds::Client::new(&h.cfg);
    restore_tester::handle(&deps, tick("2025-11-23T06:00:00Z"))
        .await
        .expect("started");
    rds.modify_db_instance()
        .db_instance_identifier("rempart-rt-rewapp-prod-db-202511230600")
        .publicly_accessible(true)
        .apply_immediately(true)
        .send()
        .await
        .expect("made public");
    let r = restore_tester::handle(&deps, tick("2025-11-23T06:05:00Z"))
        .await
        .expect("followed");
    let failed = r
        .finished
        .iter()
        .find(|d| d["instance"] == "rempart-rt-rewapp-prod-db-202511230600")
        .unwrap_or_else(|| panic!("concluded: {r:?}"));
    let checks = failed["checks"].as_array().expect("checks");
    assert!(checks
        .iter()
        .any(|c| c["name"] == "private" && c["ok"] == false));
    let left: Vec<String> = instance_ids(&rds)
        .await
        .into_iter()
        .filter(|i| i.starts_with("rempart-rt-"))
        .collect();
    for id in &left {
        let out = rds
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .expect("describe");
        assert_eq!(out.db_instances()[0].db_instance_status(), Some("deleting"));
    }
    assert!(h
        .announcements("/warnings")
        .iter()
        .any(|a| a["kind"] == "restore.failed"));
    let tags = h
        .rds_snapshot_tags("rempart-rewapp-postgres-rewapp-prod-db-20251123-0200")
        .await;
    assert!(!tags.contains_key("rempart:verified"), "{tags:?}");
}

/// A policy whose restore tests run a SQL check on the Aurora cluster.
fn with_sql_check(min_value: i64) -> String {
    format!(
        "{}\n[[restore_tests.sql_checks]]\ncluster = \"rewapp-aurora\"\nsecret_arn = \"arn:aws:secretsmanager:eu-west-1:123456789012:secret:rewapp-aurora-master-AbCdEf\"\ndatabase = \"rewapp\"\nsql = \"SELECT count(*) FROM users\"\nmin_value = {min_value}\n",
        include_str!("../../examples/rewapp-policy.toml")
    )
}

/// Proves: an Aurora cluster's restore test restores its Rempart cluster
/// snapshot into a throw-away cluster with one private instance; the next
/// tick turns on the cluster's Data API, runs the policy's SQL check through
/// it, deletes instance and cluster, records `restore.succeeded` with the
/// `sql` check and the RTO, and tags the cluster snapshot verified. A SQL
/// answer below `min_value` fails the test. moto has no
/// `EnableHttpEndpoint`: a proxy answers it as AWS does (the test checks it
/// was called with the restored cluster's ARN); `ExecuteStatement` is
/// moto's own RDS Data API, answering the result queued through moto's API.
#[tokio::test]
async fn an_aurora_restore_test_runs_the_sql_check_through_the_data_api() {
    for (min_value, passes) in [(1, true), (5000, false)] {
        let h = Harness::with(&[], &with_sql_check(min_value)).await;
        snapshot_scheduler::handle(&h.deps, scheduled_at("2025-11-23T02:00:00Z"))
            .await
            .expect("snapshots");
        let enabled = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let seen = enabled.clone();
        let proxy = rempart_testkit::proxy::CountingProxy::with_hooks(
            &h.aws.endpoint,
            Some(std::sync::Arc::new(move |r: &rempart_testkit::http::Request| {
                if rempart_testkit::proxy::operation(r) != "rds:EnableHttpEndpoint" {
                    return None;
                }
                let body = String::from_utf8_lossy(&r.body).to_string();
                let arn = rempart_integration::form_field(&body, "ResourceArn").unwrap_or_default();
                seen.lock().expect("lock").push(arn.clone());
                Some((
                    "200 OK".to_string(),
                    format!("<EnableHttpEndpointResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><EnableHttpEndpointResult><ResourceArn>{arn}</ResourceArn><HttpEndpointEnabled>true</HttpEndpointEnabled></EnableHttpEndpointResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></EnableHttpEndpointResponse>"),
                ))
            })),
            None,
        )
        .await
        .expect("proxy");
        let cfg = rempart_testkit::local::sdk_config_for(&proxy.url(), "eu-west-1").await;
        let deps = restore_tester::Deps::new(
            &cfg,
            rempart_integration::TABLE,
            h.topic.arn(),
            PolicySource::File(h.policy_file.clone()),
        )
        .expect("deps");
        h.aws
            .moto_api_post(
                "/moto-api/static/rds-data/statement-results",
                r#"{"region": "eu-west-1", "results": [{"records": [[{"longValue": 1200}]]}]}"#,
            )
            .await
            .expect("queued");

        let first = restore_tester::handle(&deps, tick("2025-11-23T06:00:00Z"))
            .await
            .expect("started");
        assert!(
            first
                .started
                .contains(&"rempart-rt-rewapp-aurora-202511230600".to_string()),
            "{first:?}"
        );
        let rds = aws_sdk_rds::Client::new(&h.cfg);
        let c = rds
            .describe_db_clusters()
            .db_cluster_identifier("rempart-rt-rewapp-aurora-202511230600")
            .send()
            .await
            .expect("restored cluster");
        let cluster_arn = c.db_clusters()[0]
            .db_cluster_arn()
            .expect("arn")
            .to_string();
        let member = rds
            .describe_db_instances()
            .db_instance_identifier("rempart-rt-rewapp-aurora-202511230600")
            .send()
            .await
            .expect("member");
        assert_eq!(
            member.db_instances()[0].db_cluster_identifier(),
            Some("rempart-rt-rewapp-aurora-202511230600")
        );
        assert_eq!(
            member.db_instances()[0].db_instance_class(),
            Some("db.t4g.medium")
        );

        let second = restore_tester::handle(&deps, tick("2025-11-23T06:05:00Z"))
            .await
            .expect("followed");
        let d = second
            .finished
            .iter()
            .find(|d| d["kind"] == "aurora-cluster")
            .unwrap_or_else(|| panic!("concluded: {second:?}"));
        let sql = d["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] == "sql"))
            .expect("sql check ran");
        assert_eq!(sql["ok"], passes, "{sql}");
        assert!(
            sql["detail"].as_str().is_some_and(|s| s.contains("1200")),
            "{sql}"
        );
        assert_eq!(d["rto_s"], 300);
        assert_eq!(*enabled.lock().expect("lock"), vec![cluster_arn]);
        let gone = rds
            .describe_db_clusters()
            .db_cluster_identifier("rempart-rt-rewapp-aurora-202511230600")
            .send()
            .await;
        assert!(
            gone.is_err()
                || gone.as_ref().is_ok_and(|o| o
                    .db_clusters()
                    .iter()
                    .all(|c| c.status() == Some("deleting"))),
            "cluster deleted: {gone:?}"
        );
        let verified = h.registry_items().await.iter().any(|(res, action, ..)| {
            res == "aurora-cluster#eu-west-1#rewapp-aurora"
                && action
                    == if passes {
                        "restore.succeeded"
                    } else {
                        "restore.failed"
                    }
        });
        assert!(verified, "recorded under the cluster");
        let snaps = rds
            .describe_db_cluster_snapshots()
            .db_cluster_identifier("rewapp-aurora")
            .send()
            .await
            .expect("snapshots");
        let tagged = snaps.db_cluster_snapshots().iter().any(|s| {
            s.tag_list()
                .iter()
                .any(|t| t.key() == Some("rempart:verified"))
        });
        assert_eq!(tagged, passes, "verified only when the test passed");
    }
}

/// The night's snapshots, and a restore-tester whose `DescribeDBInstances`
/// answers say `creating` while the returned flag is set: moto makes a
/// restored instance available at once, so a proxy rewrites its answers
/// until the test lets the restore finish.
async fn restores_held_creating(
    h: &Harness,
) -> (
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    restore_tester::Deps,
    rempart_testkit::proxy::CountingProxy,
) {
    snapshot_scheduler::handle(&h.deps, scheduled_at("2025-11-23T02:00:00Z"))
        .await
        .expect("snapshots");
    let (restoring, proxy) = h.holding_instances_creating().await;
    let deps = h.restore_tester_through(&proxy.url()).await;
    (restoring, deps, proxy)
}

/// Proves: a restore still not available after the policy's `alert_after`
/// (45 min) is announced once as `restore.slow` (a warning, recorded at the
/// alert instant), later ticks do not repeat it, and when the instance
/// becomes available the measured RTO (1 h) is recorded and the success is
/// announced as a warning, beyond the threshold (the instance held
/// `creating` at the HTTP level: [`restores_held_creating`]).
#[tokio::test]
async fn a_slow_restore_is_reported_once_past_the_alert_threshold() {
    use std::sync::atomic::Ordering;
    let h = Harness::new().await;
    let (restoring, deps, _proxy) = restores_held_creating(&h).await;
    let instance = "rempart-rt-rewapp-prod-db-202511230600";
    let run = |t: &'static str| restore_tester::handle(&deps, tick(t));
    run("2025-11-23T06:00:00Z").await.expect("started");
    for t in [
        "2025-11-23T06:05:00Z",
        "2025-11-23T06:50:00Z",
        "2025-11-23T06:55:00Z",
    ] {
        let r = run(t).await.expect("tick");
        assert!(r.running.contains(&instance.to_string()), "{t}: {r:?}");
    }
    let slow: Vec<Value> = h
        .announcements("/warnings")
        .into_iter()
        .filter(|a| a["kind"] == "restore.slow")
        .collect();
    // One for the instance (the Aurora cluster's member is "creating" too).
    let mine: Vec<&Value> = slow
        .iter()
        .filter(|a| {
            a["details"]["elapsed_s"].as_i64().is_some() && a["resource"]["id"] == "rewapp-prod-db"
        })
        .collect();
    assert_eq!(mine.len(), 1, "{slow:?}");
    assert_eq!(mine[0]["time"], "2025-11-23T06:45:00Z");

    restoring.store(false, Ordering::SeqCst);
    let done = run("2025-11-23T07:00:00Z").await.expect("tick");
    let d = done
        .finished
        .iter()
        .find(|d| d["instance"] == instance)
        .unwrap_or_else(|| panic!("concluded: {done:?}"));
    assert_eq!(d["rto_s"], 3600);
    assert!(h
        .announcements("/warnings")
        .iter()
        .any(|a| a["kind"] == "restore.succeeded" && a["resource"]["id"] == "rewapp-prod-db"));
}

/// Proves: a restore that never becomes available is not left running (and
/// costing) for ever after its one `restore.slow`: at the policy's
/// `give_up_after` (6 h by default), and not before, the test concludes as
/// `restore.failed` (a warning) with the `available` check failed, and the
/// copy is deleted. The instance is held `creating` at the HTTP level
/// ([`restores_held_creating`]).
#[tokio::test]
async fn a_restore_that_never_becomes_available_is_given_up_and_deleted() {
    let h = Harness::new().await;
    let (_restoring, deps, _proxy) = restores_held_creating(&h).await;
    let instance = "rempart-rt-rewapp-prod-db-202511230600";
    let run = |t: &'static str| restore_tester::handle(&deps, tick(t));
    run("2025-11-23T06:00:00Z").await.expect("started");
    let r = run("2025-11-23T11:55:00Z").await.expect("tick");
    assert!(r.running.contains(&instance.to_string()), "{r:?}");
    let r = run("2025-11-23T12:00:00Z").await.expect("tick");
    let d = r
        .finished
        .iter()
        .find(|d| d["instance"] == instance)
        .unwrap_or_else(|| panic!("given up at 6 h: {r:?}"));
    let available = d["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "available"))
        .expect("the available check");
    assert_eq!(available["ok"], false, "{d}");
    assert_eq!(d["rto_s"], 6 * 3600);
    assert!(h
        .announcements("/warnings")
        .iter()
        .any(|a| a["kind"] == "restore.failed" && a["resource"]["id"] == "rewapp-prod-db"));
    let gone = aws_sdk_rds::Client::new(&h.cfg)
        .describe_db_instances()
        .db_instance_identifier(instance)
        .send()
        .await;
    assert!(gone.is_err(), "the copy was deleted: {gone:?}");
}

/// Proves: with the EBS policy under `[restore_tests]`, the month's test of
/// the volume creates a volume from one of its Rempart snapshots in the
/// volume's own Availability Zone, tagged as the tests' throw-away (never
/// under a policy itself: the scheduler does not snapshot it); the next
/// tick finds it available, checks state, size and encryption, deletes it,
/// records and announces `restore.succeeded` with the measured restore
/// time, and tags the snapshot `rempart:verified`; a later tick in the
/// week starts nothing, and with volumes tested weekly
/// (`frequency_by_kind`) the next ISO week starts the volume's next test
/// but not the monthly database's. The production volume is never touched.
#[tokio::test]
async fn an_ebs_volume_is_restore_tested_in_its_zone_and_deleted() {
    let policy = rempart_integration::EXAMPLE_POLICY
        .replace(
            "policies = [\"rewapp-postgres\"]",
            "policies = [\"rewapp-postgres\", \"rewapp-ebs\"]",
        )
        .replace(
            "frequency = \"month\"\n",
            "frequency = \"month\"\nfrequency_by_kind = { ebs-volume = \"week\" }\n",
        );
    assert_ne!(policy, rempart_integration::EXAMPLE_POLICY);
    let h = Harness::with(&[], &policy).await;
    snapshot_scheduler::handle(&h.deps, scheduled_at("2025-11-23T04:00:00Z"))
        .await
        .expect("snapshots");
    let deps = tester(&h);
    let ec2 = aws_sdk_ec2::Client::new(&h.cfg);
    let restored = |ec2: aws_sdk_ec2::Client| async move {
        ec2.describe_volumes()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("tag-key")
                    .values("rempart:restore-test")
                    .build(),
            )
            .send()
            .await
            .expect("describe")
            .volumes()
            .to_vec()
    };
    let first = restore_tester::handle(&deps, tick("2025-11-23T06:00:00Z"))
        .await
        .expect("started");
    let volumes = restored(ec2.clone()).await;
    assert_eq!(volumes.len(), 1, "{volumes:?}");
    let v = &volumes[0];
    let id = v.volume_id().expect("id").to_string();
    assert!(first.started.contains(&id), "{first:?}");
    assert_eq!(v.availability_zone(), Some("eu-west-1a"));
    let tag = |k: &str| {
        v.tags()
            .iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    assert_eq!(tag("rempart:restore-test"), Some(h.estate.volume.clone()));
    assert_eq!(
        tag("Name").as_deref(),
        Some(format!("rempart-rt-{}-202511230600", h.estate.volume).as_str())
    );
    let snapshot = tag("rempart:restore-snapshot").expect("the snapshot restored");
    assert_eq!(v.snapshot_id(), Some(snapshot.as_str()));
    // The scheduler does not take the throw-away volume for a protected one.
    let night = snapshot_scheduler::handle(&h.deps, scheduled_at("2025-11-24T04:00:00Z"))
        .await
        .expect("next night");
    assert!(
        night
            .created
            .iter()
            .chain(&night.failed)
            .all(|c| c.resource != id),
        "{night:?}"
    );

    let second = restore_tester::handle(&deps, tick("2025-11-23T06:05:00Z"))
        .await
        .expect("followed");
    let d = second
        .finished
        .iter()
        .find(|d| d["instance"] == id.as_str())
        .unwrap_or_else(|| panic!("the volume's test concluded: {second:?}"));
    assert_eq!(d["rto_s"], 300);
    let passed: Vec<&str> = d["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["ok"] == true)
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(passed, ["available", "storage", "encryption"], "{d}");
    assert!(
        restored(ec2.clone())
            .await
            .iter()
            .all(|v| v.state().map(|s| s.as_str()) != Some("available")),
        "the test volume is deleted"
    );
    let production = ec2
        .describe_volumes()
        .volume_ids(&h.estate.volume)
        .send()
        .await
        .expect("the production volume is still there");
    assert_eq!(production.volumes().len(), 1);
    let snap = ec2
        .describe_snapshots()
        .snapshot_ids(&snapshot)
        .send()
        .await
        .expect("snapshot");
    assert!(snap.snapshots()[0]
        .tags()
        .iter()
        .any(|t| t.key() == Some("rempart:verified")));
    assert!(h.announcements("/all").iter().any(
        |a| a["kind"] == "restore.succeeded" && a["resource"]["id"] == h.estate.volume.as_str()
    ));
    let later = restore_tester::handle(&deps, tick("2025-11-23T07:00:00Z"))
        .await
        .expect("later");
    assert!(
        !later.started.iter().any(|s| s.starts_with("vol-")),
        "{later:?}"
    );
    // Volumes are tested weekly here, databases monthly: Monday (a new ISO
    // week) starts the volume's next test and not the database's.
    let monday = restore_tester::handle(&deps, tick("2025-11-24T06:00:00Z"))
        .await
        .expect("monday");
    assert_eq!(monday.started.len(), 1, "{monday:?}");
    assert!(monday.started[0].starts_with("vol-"), "{monday:?}");
    assert!(monday.not_due.contains(&h.estate.db), "{monday:?}");
}

/// Proves: a restore request with `not_before` (the agreed window) is
/// checked at once and recorded and announced as `restore.scheduled`,
/// restoring nothing; a redelivery schedules nothing twice; ticks before
/// the window start nothing; the first tick from `not_before` on checks it
/// again and starts it (the same tagged instance as an immediate request),
/// once: a later tick does not start it again.
#[tokio::test]
async fn a_restore_request_waits_for_its_window() {
    let (h, deps) = snapshotted().await;
    let rds = aws_sdk_rds::Client::new(&h.cfg);
    let mut req = request("snapshot");
    req["detail"]["not_before"] = "2025-11-24T22:00:00Z".into();
    let r = restore_tester::handle(&deps, req.clone())
        .await
        .expect("scheduled");
    assert_eq!(r.requests[0]["state"], "scheduled", "{r:?}");
    assert_eq!(r.requests[0]["not_before"], "2025-11-24T22:00:00Z");
    restore_tester::handle(&deps, req)
        .await
        .expect("redelivered");
    let scheduled: Vec<Value> = h
        .announcements("/all")
        .into_iter()
        .filter(|a| a["kind"] == "restore.scheduled")
        .collect();
    assert_eq!(scheduled.len(), 1, "{scheduled:?}");
    assert!(scheduled[0]["summary"]
        .as_str()
        .is_some_and(|s| s.contains("scheduled for 2025-11-24T22:00:00Z")));
    let restored = || async {
        instance_ids(&rds)
            .await
            .contains(&"rewapp-prod-db-restored".to_string())
    };
    assert!(!restored().await, "nothing restored before the window");
    let before = restore_tester::handle(&deps, tick("2025-11-24T21:55:00Z"))
        .await
        .expect("tick");
    assert!(before.requests.is_empty(), "{before:?}");
    assert!(!restored().await);
    let at = restore_tester::handle(&deps, tick("2025-11-24T22:00:00Z"))
        .await
        .expect("tick");
    assert_eq!(at.requests[0]["state"], "started", "{at:?}");
    assert!(restored().await, "started at the window");
    let after = restore_tester::handle(&deps, tick("2025-11-24T22:05:00Z"))
        .await
        .expect("tick");
    assert!(
        after.requests.iter().all(|r| r["state"] != "started"),
        "{after:?}"
    );
}

/// Proves: a Redis replication group under a tested policy is restore
/// tested: the tick after its snapshot creates `rempart-rt-<group>-<stamp>`
/// from a Rempart ElastiCache snapshot (one node, encrypted at rest, tagged
/// as a test), which the scheduler does not take for a protected group;
/// the next tick finds it available, checks it (state, engine, shards as
/// the snapshot's, encryption), measures the RTO, deletes it, records and
/// announces `restore.succeeded` and tags the snapshot `rempart:verified`;
/// the production group is untouched.
#[tokio::test]
async fn a_redis_group_is_restore_tested_from_its_snapshot_and_deleted() {
    let policy = rempart_integration::EXAMPLE_POLICY.replace(
        "policies = [\"rewapp-postgres\"]",
        "policies = [\"rewapp-postgres\", \"rewapp-redis\"]",
    );
    assert_ne!(policy, rempart_integration::EXAMPLE_POLICY);
    let h = Harness::with(&[], &policy).await;
    snapshot_scheduler::handle(&h.deps, scheduled_at("2025-11-23T04:00:00Z"))
        .await
        .expect("snapshots");
    let deps = tester(&h);
    let ec = aws_sdk_elasticache::Client::new(&h.cfg);
    let groups = |ec: aws_sdk_elasticache::Client| async move {
        ec.describe_replication_groups()
            .send()
            .await
            .expect("describe")
            .replication_groups()
            .to_vec()
    };
    let first = restore_tester::handle(&deps, tick("2025-11-23T06:00:00Z"))
        .await
        .expect("started");
    let id = format!("rempart-rt-{}-202511230600", h.estate.redis);
    assert!(first.started.contains(&id), "{first:?}");
    let all = groups(ec.clone()).await;
    let g = all
        .iter()
        .find(|g| g.replication_group_id() == Some(id.as_str()))
        .unwrap_or_else(|| panic!("the test group: {all:?}"));
    assert_eq!(g.at_rest_encryption_enabled(), Some(true));
    assert_eq!(g.member_clusters().len(), 1, "one node: {g:?}");
    let arn = g.arn().expect("arn").to_string();
    let tags: std::collections::BTreeMap<String, String> = ec
        .list_tags_for_resource()
        .resource_name(&arn)
        .send()
        .await
        .expect("tags")
        .tag_list()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        tags.get("rempart:restore-test"),
        Some(&h.estate.redis),
        "{tags:?}"
    );
    let snapshot = tags
        .get("rempart:restore-snapshot")
        .expect("the snapshot restored")
        .clone();
    assert!(snapshot.starts_with("rempart-rewapp-redis-"), "{snapshot}");
    // The scheduler does not take the throw-away group for a protected one.
    let night = snapshot_scheduler::handle(&h.deps, scheduled_at("2025-11-24T04:00:00Z"))
        .await
        .expect("next night");
    assert!(
        night
            .created
            .iter()
            .chain(&night.failed)
            .all(|c| c.resource != id),
        "{night:?}"
    );

    let second = restore_tester::handle(&deps, tick("2025-11-23T06:05:00Z"))
        .await
        .expect("followed");
    let d = second
        .finished
        .iter()
        .find(|d| d["instance"] == id.as_str())
        .unwrap_or_else(|| panic!("the group's test concluded: {second:?}"));
    assert_eq!(d["rto_s"], 300);
    assert_eq!(d["kind"], "elasticache-redis");
    let passed: Vec<&str> = d["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["ok"] == true)
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        passed,
        ["available", "engine", "storage", "encryption"],
        "{d}"
    );
    let after = groups(ec.clone()).await;
    let status = |id: &str| {
        after
            .iter()
            .find(|g| g.replication_group_id() == Some(id))
            .and_then(|g| g.status())
            .map(str::to_string)
    };
    assert_eq!(
        status(&id).as_deref(),
        Some("deleting"),
        "the test group is deleted"
    );
    assert_eq!(
        status(&h.estate.redis).as_deref(),
        Some("available"),
        "the production group is untouched"
    );
    let snap = ec
        .describe_snapshots()
        .snapshot_name(&snapshot)
        .send()
        .await
        .expect("snapshot");
    let snap_arn = snap.snapshots()[0].arn().expect("arn").to_string();
    let snap_tags = ec
        .list_tags_for_resource()
        .resource_name(&snap_arn)
        .send()
        .await
        .expect("tags");
    assert!(snap_tags
        .tag_list()
        .iter()
        .any(|t| t.key() == Some("rempart:verified")));
    assert!(h.announcements("/all").iter().any(
        |a| a["kind"] == "restore.succeeded" && a["resource"]["id"] == h.estate.redis.as_str()
    ));
    // Once a month: a later tick starts no second test of the group, and
    // the deleting group is not followed again.
    let later = restore_tester::handle(&deps, tick("2025-11-23T07:00:00Z"))
        .await
        .expect("later");
    assert!(later.started.is_empty(), "{later:?}");
    assert!(later.finished.is_empty(), "{later:?}");
    assert!(later.not_due.contains(&h.estate.redis), "{later:?}");
}
