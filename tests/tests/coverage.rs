//! The backup-auditor's coverage audit against moto: every RDS instance,
//! Aurora cluster, EBS volume and Redis group of the primary and DR regions,
//! classed protected, excluded or unprotected; unprotected resources
//! announced once and turned into incidents by the incident-escalator, and
//! cleared when they are tagged, excluded or deleted.

use rempart_backup_auditor as backup_auditor;
use rempart_core::coverage::Class;
use rempart_incident_escalator as incident_escalator;
use rempart_integration::{as_sns, Harness, EXAMPLE_POLICY};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn audit_at(time: &str) -> Value {
    let mut v: Value =
        serde_json::from_str(include_str!("../../events/backup-auditor/scheduled.json"))
            .expect("JSON");
    v["time"] = time.into();
    v
}

fn rds_tag(k: &str, v: &str) -> aws_sdk_rds::types::Tag {
    aws_sdk_rds::types::Tag::builder().key(k).value(v).build()
}

fn ec_tag(k: &str, v: &str) -> aws_sdk_elasticache::types::Tag {
    aws_sdk_elasticache::types::Tag::builder()
        .key(k)
        .value(v)
        .build()
}

/// An RDS instance with these tags, in the region of `cfg`.
async fn instance(cfg: &aws_config::SdkConfig, id: &str, tags: &[(&str, &str)]) {
    aws_sdk_rds::Client::new(cfg)
        .create_db_instance()
        .db_instance_identifier(id)
        .engine("postgres")
        .db_instance_class("db.t4g.micro")
        .allocated_storage(20)
        .master_username("app")
        .master_user_password("not-a-real-password")
        .set_tags(Some(tags.iter().map(|(k, v)| rds_tag(k, v)).collect()))
        .send()
        .await
        .expect("CreateDBInstance");
}

/// The coverage announcements of a kind, by resource id.
fn announced(h: &Harness, kind: &str) -> Vec<Value> {
    h.announcements("/all")
        .into_iter()
        .filter(|a| a["kind"] == kind)
        .collect()
}

fn ids(v: &[Value]) -> BTreeSet<String> {
    v.iter()
        .map(|a| a["resource"]["id"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Proves, against moto, the coverage audit end to end:
/// - an untagged RDS instance, EBS volume, Aurora cluster and Redis
///   replication group in the primary region, and an untagged instance in
///   the DR region, each become exactly one unprotected finding, one
///   `coverage.unprotected` announcement (ARN, age, creator, reason) and,
///   delivered to the incident-escalator, one incident;
/// - a database tagged `env=dev` is kept out by the example policy's
///   `[[coverage.ignore]]` rule, and one tagged `rempart:policy=none` with a
///   `rempart:exclude-reason` is excluded with that reason;
/// - a second audit announces nothing again, and each audit makes one
///   describe call per kind and region (one page each here, with several
///   resources per page: never one per resource);
/// - tagging the instance and the Redis group with a policy, excluding the
///   volume with a reason, giving the cluster the dev tag and deleting the
///   DR instance clear all five (`coverage.cleared`), which resolves the
///   incidents.
#[tokio::test]
async fn unprotected_resources_become_incidents_until_fixed() {
    let h = Harness::new().await;
    let rds = aws_sdk_rds::Client::new(&h.cfg);
    let ec = aws_sdk_elasticache::Client::new(&h.cfg);
    rds.create_db_cluster()
        .db_cluster_identifier("billing-aurora")
        .engine("aurora-postgresql")
        .master_username("app")
        .master_user_password("not-a-real-password")
        .tags(rds_tag("Owner", "billing-team"))
        .send()
        .await
        .expect("CreateDBCluster");
    ec.create_replication_group()
        .replication_group_id("billing-cache")
        .replication_group_description("billing sessions")
        .engine("redis")
        .cache_node_type("cache.t4g.micro")
        .num_cache_clusters(1)
        .send()
        .await
        .expect("CreateReplicationGroup");
    instance(&h.cfg, "dev-db", &[("env", "dev")]).await;
    instance(
        &h.cfg,
        "legacy-reports",
        &[
            ("rempart:policy", "none"),
            (
                "rempart:exclude-reason",
                "read-only copy of the 2019 archive, kept on S3",
            ),
        ],
    )
    .await;
    instance(&h.dr_cfg, "analytics-db", &[]).await;

    let (incidents, escalator) = h.escalator().await;
    let proxy = rempart_testkit::proxy::CountingProxy::start(&h.aws.endpoint)
        .await
        .expect("proxy");
    let cfg = rempart_testkit::local::sdk_config_for(&proxy.url(), "eu-west-1").await;
    let auditor = h.auditor(&cfg);

    let first = backup_auditor::handle(&auditor, audit_at("2025-11-23T06:00:00Z"))
        .await
        .expect("audit");
    let calls = proxy.take();
    let classes: BTreeMap<String, Class> = first
        .coverage
        .iter()
        .map(|c| (format!("{}@{}", c.id, c.region), c.class.clone()))
        .collect();
    let unprotected: BTreeSet<&str> = first
        .coverage
        .iter()
        .filter(|c| c.is_unprotected())
        .map(|c| c.id.as_str())
        .collect();
    let expected: BTreeSet<&str> = [
        h.estate.untagged_db.as_str(),
        h.estate.untagged_volume.as_str(),
        "billing-aurora",
        "billing-cache",
        "analytics-db",
    ]
    .into();
    assert_eq!(unprotected, expected, "{classes:#?}");
    assert!(matches!(
        &classes["dev-db@eu-west-1"],
        Class::Excluded { by, .. } if by == "coverage.ignore: tag env=dev"
    ));
    assert_eq!(
        classes["legacy-reports@eu-west-1"],
        Class::Excluded {
            reason: "read-only copy of the 2019 archive, kept on S3".into(),
            by: "tag rempart:policy=none".into()
        }
    );
    for id in [&h.estate.db, &h.estate.aurora, &h.estate.redis] {
        assert!(
            matches!(classes[&format!("{id}@eu-west-1")], Class::Protected { .. }),
            "{id}"
        );
    }
    // One describe per kind and region, whatever the number of resources
    // (each listing holds several here).
    for op in [
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
        "ec2:DescribeVolumes",
        "elasticache:DescribeReplicationGroups",
        "elasticache:DescribeCacheClusters",
    ] {
        assert_eq!(calls.get(op), Some(&2), "{op}: {calls:?}");
    }

    let first_announced = announced(&h, "coverage.unprotected");
    assert_eq!(
        ids(&first_announced),
        expected.iter().map(|s| s.to_string()).collect(),
        "one announcement each"
    );
    assert_eq!(first_announced.len(), 5);
    let cluster = first_announced
        .iter()
        .find(|a| a["resource"]["id"] == "billing-aurora")
        .expect("cluster announced");
    assert!(cluster["resource"]["arn"]
        .as_str()
        .is_some_and(|a| a.contains(":cluster:billing-aurora")));
    assert_eq!(cluster["severity"], "warning");
    let summary = cluster["summary"].as_str().unwrap_or("");
    assert!(
        summary.contains("aurora-cluster billing-aurora in eu-west-1 is not backed up")
            && summary.contains("Owner=billing-team")
            && summary.contains("created "),
        "{summary}"
    );
    assert!(cluster["details"]["age_s"].is_i64(), "{cluster}");
    for a in &first_announced {
        incident_escalator::handle(&escalator, as_sns(a))
            .await
            .expect("escalator");
    }
    let open = || async {
        incidents
            .all_open()
            .await
            .expect("open")
            .into_iter()
            .map(|s| s.incident.key)
            .filter(|k| k.starts_with("coverage#"))
            .collect::<BTreeSet<String>>()
    };
    let keys: BTreeSet<String> = [
        format!("coverage#rds-instance#{}", h.estate.untagged_db),
        format!("coverage#ebs-volume#{}", h.estate.untagged_volume),
        "coverage#aurora-cluster#billing-aurora".into(),
        "coverage#elasticache-redis#billing-cache".into(),
        "coverage#rds-instance#analytics-db".into(),
    ]
    .into();
    assert_eq!(open().await, keys, "one incident each");

    // The next hour: nothing new to say.
    let again = backup_auditor::handle(&auditor, audit_at("2025-11-23T07:00:00Z"))
        .await
        .expect("audit");
    assert_eq!(
        again.coverage.iter().filter(|c| c.is_unprotected()).count(),
        5
    );
    assert!(again.coverage_changes.unprotected.is_empty());
    assert_eq!(announced(&h, "coverage.unprotected").len(), 5);

    // The fixes: a policy tag, an exclusion with a reason, the dev tag, a
    // deletion.
    let account_arn =
        |kind: &str, id: &str| format!("arn:aws:rds:eu-west-1:123456789012:{kind}:{id}");
    rds.add_tags_to_resource()
        .resource_name(account_arn("db", &h.estate.untagged_db))
        .tags(rds_tag("rempart:policy", "rewapp-postgres"))
        .send()
        .await
        .expect("tag instance");
    rds.add_tags_to_resource()
        .resource_name(account_arn("cluster", "billing-aurora"))
        .tags(rds_tag("env", "dev"))
        .send()
        .await
        .expect("tag cluster");
    let group_arn = first
        .coverage
        .iter()
        .find(|c| c.id == "billing-cache")
        .map(|c| c.arn.clone())
        .expect("group arn");
    ec.add_tags_to_resource()
        .resource_name(&group_arn)
        .tags(ec_tag("rempart:policy", "rewapp-redis"))
        .send()
        .await
        .expect("tag group");
    aws_sdk_ec2::Client::new(&h.cfg)
        .create_tags()
        .resources(&h.estate.untagged_volume)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("rempart:policy")
                .value("none")
                .build(),
        )
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("rempart:exclude-reason")
                .value("build cache, rebuilt by CI")
                .build(),
        )
        .send()
        .await
        .expect("tag volume");
    aws_sdk_rds::Client::new(&h.dr_cfg)
        .delete_db_instance()
        .db_instance_identifier("analytics-db")
        .skip_final_snapshot(true)
        .send()
        .await
        .expect("delete DR instance");

    let fixed = backup_auditor::handle(&auditor, audit_at("2025-11-23T08:00:00Z"))
        .await
        .expect("audit");
    assert_eq!(
        fixed.coverage.iter().filter(|c| c.is_unprotected()).count(),
        0,
        "{:#?}",
        fixed.coverage
    );
    let cleared = announced(&h, "coverage.cleared");
    assert_eq!(cleared.len(), 5, "{cleared:#?}");
    let says = |id: &str| {
        cleared
            .iter()
            .find(|a| a["resource"]["id"] == id)
            .and_then(|a| a["summary"].as_str().map(str::to_string))
            .unwrap_or_default()
    };
    assert!(says(&h.estate.untagged_db).ends_with("is now under policy `rewapp-postgres`"));
    assert!(says(&h.estate.untagged_volume)
        .ends_with("excluded on purpose: build cache, rebuilt by CI"));
    assert!(says("analytics-db").ends_with("is gone (no longer listed)"));
    for a in &cleared {
        incident_escalator::handle(&escalator, as_sns(a))
            .await
            .expect("escalator");
    }
    let mut tick: Value =
        serde_json::from_str(include_str!("../../events/incident-escalator/tick.json"))
            .expect("JSON");
    tick["time"] = "2025-11-23T08:30:00Z".into();
    incident_escalator::handle(&escalator, tick)
        .await
        .expect("tick");
    assert_eq!(
        open().await,
        BTreeSet::new(),
        "every coverage incident resolved"
    );

    // `rempart report` over the morning: the five stretches, cleared, and
    // the coverage as of the last change (nothing unprotected, the
    // exclusions with their reasons).
    let doc =
        rempart_core::policy::PolicyDocument::from_toml(EXAMPLE_POLICY, "example").expect("policy");
    let report = rempart_cli::report::gather(
        &h.registry,
        Some(&incidents),
        &doc,
        "2025-11-23T00:00:00Z".parse().expect("time"),
        "2025-11-23T09:00:00Z".parse().expect("time"),
        None,
    )
    .await
    .expect("report");
    let cov = report.coverage.as_ref().expect("a coverage section");
    let eight: chrono::DateTime<chrono::Utc> = "2025-11-23T08:00:00Z".parse().expect("time");
    assert_eq!(cov.as_of, eight);
    assert_eq!(cov.unprotected, 0);
    assert_eq!(
        cov.unprotected_during.len(),
        5,
        "{:#?}",
        cov.unprotected_during
    );
    assert!(cov
        .unprotected_during
        .iter()
        .all(|s| s.cleared_at.is_some()));
    let excluded: BTreeSet<&str> = cov
        .resources
        .iter()
        .filter(|r| r.class == "excluded")
        .map(|r| r.why.as_str())
        .collect();
    assert!(
        excluded.contains("build cache, rebuilt by CI"),
        "{excluded:?}"
    );
    let table =
        rempart_cli::report::render(&report, rempart_cli::report::Format::Table).expect("table");
    assert!(
        table.contains("== Unprotected during the period =="),
        "{table}"
    );
    assert!(table.contains("protected by rewapp-postgres"), "{table}");
}

/// Proves: with `[coverage] enabled = false` the audit classes no untagged
/// resource as unprotected and announces nothing new about coverage, while
/// the tagged resources are still audited; and turning coverage off ends
/// what it announced before: each resource announced unprotected is
/// cleared once (`coverage.cleared`, saying coverage is off), which
/// resolves its incident, and the next audit says nothing more.
#[tokio::test]
async fn coverage_can_be_limited_or_turned_off() {
    let off = EXAMPLE_POLICY.replace("[coverage]\n", "[coverage]\nenabled = false\n");
    assert!(
        off.contains("enabled = false"),
        "the example has a [coverage] section"
    );
    let h = Harness::new().await;
    let auditor = h.auditor(&h.cfg);
    let on = backup_auditor::handle(&auditor, audit_at("2025-11-23T06:00:00Z"))
        .await
        .expect("audit");
    let unprotected = on.coverage.iter().filter(|c| c.is_unprotected()).count();
    assert!(unprotected > 0, "the estate has untagged resources");
    assert_eq!(announced(&h, "coverage.unprotected").len(), unprotected);

    std::fs::write(&h.policy_file, &off).expect("policy turned off");
    let report = backup_auditor::handle(&auditor, audit_at("2025-11-23T07:00:00Z"))
        .await
        .expect("audit");
    assert!(report.coverage.iter().all(|c| !c.is_unprotected()));
    assert_eq!(
        report.audit.resources.len(),
        4,
        "the tagged resources are audited"
    );
    assert_eq!(report.coverage_changes.cleared.len(), unprotected);
    let cleared = h
        .announcements("/all")
        .into_iter()
        .filter(|a| a["kind"] == "coverage.cleared")
        .collect::<Vec<_>>();
    assert_eq!(cleared.len(), unprotected);
    assert!(cleared.iter().all(|a| a["summary"]
        .as_str()
        .is_some_and(|s| s.ends_with("[coverage] is off in the policy"))));
    assert_eq!(announced(&h, "coverage.unprotected").len(), unprotected);

    let again = backup_auditor::handle(&auditor, audit_at("2025-11-23T08:00:00Z"))
        .await
        .expect("audit");
    assert!(again.coverage_changes.cleared.is_empty());
    assert_eq!(
        h.announcements("/all")
            .iter()
            .filter(|a| a["kind"] == "coverage.cleared")
            .count(),
        unprotected
    );
}

/// Proves: `rempart status --json` against the demo estate in moto shows
/// each class correctly: the night's backed-up resources protected and
/// fresh (the database with its DR copy's age and its last restore test),
/// a database tagged after the night protected but failing (no snapshot),
/// the untagged instance and volume unprotected, a database excluded with
/// its reason, the open coverage incident; the verdict says NOT OK and
/// names them; and gathering it changes nothing (registry, snapshots,
/// incidents as before). A missing table is a clear error.
#[tokio::test]
async fn status_shows_protected_stale_unprotected_and_excluded() {
    use rempart_aws::registry::Registry;
    use rempart_cli::status::{gather, render};
    let h = Harness::new().await;
    h.night("2025-11-23").await;
    instance(
        &h.cfg,
        "orders-db",
        &[("rempart:policy", "rewapp-postgres")],
    )
    .await;
    instance(
        &h.cfg,
        "legacy-reports",
        &[
            ("rempart:policy", "none"),
            ("rempart:exclude-reason", "read-only archive, kept on S3"),
        ],
    )
    .await;
    // A concluded restore test of the database, as the restore-tester
    // records it.
    let tested = rempart_core::announce::RegistryRecord {
        resource: format!("rds-instance#eu-west-1#{}", h.estate.db),
        time: "2025-11-20T10:00:00Z".parse().expect("time"),
        action: "restore.succeeded".into(),
        subject: "rempart-rt-rewapp-prod-db-20251120t1000".into(),
        outcome: rempart_core::announce::Outcome::Success,
        policy: Some("rewapp-postgres".into()),
        region: "eu-west-1".into(),
        function: "restore-tester".into(),
        details: serde_json::json!({"rto_s": 1260}),
        cause: None,
    };
    h.registry.record_once(&tested).await.expect("record");
    let (incidents, escalator) = h.escalator().await;
    let auditor = h.auditor(&h.cfg);
    backup_auditor::handle(&auditor, audit_at("2025-11-23T06:00:00Z"))
        .await
        .expect("audit");
    for a in announced(&h, "coverage.unprotected")
        .iter()
        .filter(|a| a["resource"]["id"] == h.estate.untagged_db.as_str())
    {
        incident_escalator::handle(&escalator, as_sns(a))
            .await
            .expect("escalator");
    }

    let doc =
        rempart_core::policy::PolicyDocument::from_toml(EXAMPLE_POLICY, "example").expect("policy");
    let before = (
        h.registry_items().await,
        h.state().await,
        incidents.all().await.expect("all").len(),
    );
    let now = "2025-11-23T06:30:00Z".parse().expect("time");
    let status = gather(&h.cfg, &doc, &h.registry, &incidents, now)
        .await
        .expect("status");
    let after = (
        h.registry_items().await,
        h.state().await,
        incidents.all().await.expect("all").len(),
    );
    assert!(before == after, "rempart status wrote nothing");

    let json: Value =
        serde_json::from_str(&render(&status, true, false).expect("json")).expect("JSON");
    assert_eq!(json["ok"], false);
    let verdict = json["verdict"].as_str().unwrap_or("");
    assert!(verdict.starts_with("NOT OK: "), "{verdict}");
    for name in [
        "orders-db",
        h.estate.untagged_db.as_str(),
        "1 open incident",
    ] {
        assert!(verdict.contains(name), "{verdict}");
    }
    let protected = |id: &str| {
        json["protected"]
            .as_array()
            .and_then(|a| a.iter().find(|p| p["id"] == id).cloned())
            .unwrap_or_else(|| panic!("{id} not protected: {json:#}"))
    };
    let db = protected(&h.estate.db);
    assert_eq!(db["ok"], true, "{db:#}");
    assert_eq!(db["policy"], "rewapp-postgres");
    assert_eq!(
        db["snapshot_age_s"],
        3 * 3600 + 1800,
        "the 03:00 snapshot at 06:30"
    );
    assert!(db["dr_age_s"]["eu-central-1"].is_i64(), "{db:#}");
    assert_eq!(db["last_restore_test"]["action"], "restore.succeeded");
    assert_eq!(db["last_restore_test"]["rto_s"], 1260);
    assert_eq!(protected(&h.estate.aurora)["ok"], true);
    assert_eq!(protected(&h.estate.volume)["ok"], true);
    let orders = protected("orders-db");
    assert_eq!(orders["ok"], false);
    assert_eq!(orders["snapshot_age_s"], Value::Null);
    assert!(
        !orders["findings"].as_array().is_some_and(Vec::is_empty),
        "{orders:#}"
    );
    let ids_of = |field: &str| -> BTreeSet<String> {
        json[field]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| c["id"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        ids_of("unprotected"),
        [
            h.estate.untagged_db.clone(),
            h.estate.untagged_volume.clone()
        ]
        .into()
    );
    assert_eq!(ids_of("excluded"), ["legacy-reports".to_string()].into());
    assert_eq!(
        json["excluded"][0]["reason"],
        "read-only archive, kept on S3"
    );
    let open: Vec<&str> = json["incidents"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["key"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        open,
        [format!("coverage#rds-instance#{}", h.estate.untagged_db)]
    );
    let text = render(&status, false, false).expect("text");
    assert!(text.starts_with("NOT OK: "), "{text}");
    assert!(!text.contains('\x1b'));

    let missing = Registry::new(aws_sdk_dynamodb::Client::new(&h.cfg), "no-such-table");
    let err = gather(&h.cfg, &doc, &missing, &incidents, now)
        .await
        .expect_err("a missing table is an error")
        .to_string();
    assert!(
        err.contains("reading the registry table `no-such-table`")
            && err.contains("the table does not exist in this region"),
        "{err}"
    );
}
