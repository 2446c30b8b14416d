//! Test harness: a fresh moto server per test, the registry and topic as
//! Terraform makes them, two recording HTTP subscribers on the topic (all
//! announcements; warnings and worse, through an SNS filter policy on the
//! `severity` message attribute), the example policy, and seed 003's estate.
//!
//! Assertions read the emulator with plain SDK calls, not through the
//! adapters under test.

use aws_config::SdkConfig;
use rempart_aws::registry::Registry;
use rempart_aws::topic::Topic;
use rempart_core::policy::PolicySource;
use rempart_snapshot_scheduler::Deps;
use rempart_testkit::local::{
    create_dr, create_estate, create_plumbing, Estate, LocalAws, DR_REGION, REGION,
};
use rempart_testkit::recorder::Recorder;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

pub const EXAMPLE_POLICY: &str = include_str!("../../examples/rewapp-policy.toml");
pub const SCHEDULED: &str = include_str!("../../events/snapshot-scheduler/scheduled.json");
pub const ON_DEMAND: &str = include_str!("../../events/snapshot-scheduler/on-demand.json");
pub const TABLE: &str = "rempart-registry";

pub struct Harness {
    pub aws: LocalAws,
    pub cfg: SdkConfig,
    /// The same emulator, in the DR region.
    pub dr_cfg: SdkConfig,
    /// The DR region's KMS key (`alias/rempart-dr`), when created.
    pub dr_key: Option<String>,
    /// The replicator, whose AWS calls go through [`Harness::proxy`].
    pub replicator: rempart_snapshot_replicator::Deps,
    /// Between the replicator and moto: answers ElastiCache `CopySnapshot`
    /// (the export to S3), which moto does not implement (HTTP 500), as AWS
    /// documents it, and forwards everything else.
    pub proxy: rempart_testkit::proxy::CountingProxy,
    /// The form bodies of the ElastiCache exports the proxy answered.
    pub exports: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    pub registry: Registry,
    pub topic: Topic,
    pub subscriber: Recorder,
    pub policy_file: PathBuf,
    pub deps: Deps,
    pub estate: Estate,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.policy_file);
    }
}

/// A scheduled event at `time` (RFC 3339), shaped like EventBridge's.
pub fn scheduled_at(time: &str) -> Value {
    let mut v: Value = serde_json::from_str(SCHEDULED).expect("sample is JSON");
    v["time"] = Value::String(time.into());
    v
}

/// An announcement as the SNS delivery a subscribed function (the
/// incident-escalator, the slack-notifier) receives.
pub fn as_sns(announcement: &Value) -> Value {
    let mut e: Value = serde_json::from_str(include_str!(
        "../../events/slack-notifier/sns-announcement.json"
    ))
    .expect("sample is JSON");
    e["Records"][0]["Sns"]["Message"] = announcement.to_string().into();
    e
}

/// A form field of a query-protocol request body.
pub fn form_field(body: &str, name: &str) -> Option<String> {
    body.split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .map(|v| v.replace("%2F", "/").replace("%3A", ":"))
}

/// ElastiCache's answer to an export (`CopySnapshot` with `TargetBucket`),
/// as the API reference shows it: the snapshot, now `exporting`.
fn export_response(body: &str) -> String {
    let name = form_field(body, "SourceSnapshotName").unwrap_or_default();
    format!(
        r#"<CopySnapshotResponse xmlns="http://elasticache.amazonaws.com/doc/2015-02-02/"><CopySnapshotResult><Snapshot><SnapshotName>{name}</SnapshotName><SnapshotStatus>exporting</SnapshotStatus><SnapshotSource>manual</SnapshotSource><Engine>redis</Engine></Snapshot></CopySnapshotResult><ResponseMetadata><RequestId>7f6a2a6e-0b0e-4e43-9a52-7c1d2b7e9f10</RequestId></ResponseMetadata></CopySnapshotResponse>"#
    )
}

impl Harness {
    pub async fn new() -> Harness {
        Self::with(&[], EXAMPLE_POLICY).await
    }

    /// With MOTO_* settings for the emulator and a policy document.
    pub async fn with(moto_env: &[(&str, &str)], policy: &str) -> Harness {
        Self::build(moto_env, policy, true, 20).await
    }

    /// With or without the DR region's KMS key, and a copy limit.
    pub async fn build(
        moto_env: &[(&str, &str)],
        policy: &str,
        with_dr_key: bool,
        max_in_flight: usize,
    ) -> Harness {
        let aws = LocalAws::start(moto_env).expect("moto starts");
        let cfg = aws.sdk_config(REGION).await;
        let (registry, topic) = create_plumbing(&cfg, TABLE, "rempart-events")
            .await
            .expect("plumbing");
        let subscriber = Recorder::start().await.expect("recorder");
        let sns = aws_sdk_sns::Client::new(&cfg);
        sns.subscribe()
            .topic_arn(topic.arn())
            .protocol("http")
            .endpoint(subscriber.url("/all"))
            .send()
            .await
            .expect("subscribe all");
        sns.subscribe()
            .topic_arn(topic.arn())
            .protocol("http")
            .endpoint(subscriber.url("/warnings"))
            .attributes("FilterPolicy", r#"{"severity": ["warning", "critical"]}"#)
            .send()
            .await
            .expect("subscribe warnings");
        let policy_file = std::env::temp_dir().join(format!(
            "rempart-test-{}-{}.toml",
            std::process::id(),
            aws.pid
        ));
        std::fs::write(&policy_file, policy).expect("policy file");
        let deps = Deps::new(
            &cfg,
            TABLE,
            topic.arn(),
            PolicySource::File(policy_file.clone()),
        )
        .expect("deps");
        let estate = create_estate(&cfg).await.expect("estate");
        let dr_key = create_dr(&cfg, with_dr_key)
            .await
            .expect("DR key and buckets");
        let dr_cfg = aws.sdk_config(DR_REGION).await;
        let exports = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = exports.clone();
        let proxy = rempart_testkit::proxy::CountingProxy::with_hooks(
            &aws.endpoint,
            Some(std::sync::Arc::new(
                move |r: &rempart_testkit::http::Request| {
                    if rempart_testkit::proxy::operation(r) != "elasticache:CopySnapshot" {
                        return None;
                    }
                    let body = String::from_utf8_lossy(&r.body).to_string();
                    seen.lock().expect("lock").push(body.clone());
                    Some(("200 OK".to_string(), export_response(&body)))
                },
            )),
            None,
        )
        .await
        .expect("proxy");
        let proxied = rempart_testkit::local::sdk_config_for(&proxy.url(), REGION).await;
        let replicator = rempart_snapshot_replicator::Deps::new(
            &proxied,
            TABLE,
            topic.arn(),
            PolicySource::File(policy_file.clone()),
            max_in_flight,
        )
        .expect("replicator deps");
        Harness {
            aws,
            cfg,
            dr_cfg,
            dr_key,
            replicator,
            proxy,
            exports,
            registry,
            topic,
            subscriber,
            policy_file,
            deps,
            estate,
        }
    }

    /// The incidents table, as Terraform creates it, and the
    /// incident-escalator on it (no on-call tiers).
    pub async fn escalator(
        &self,
    ) -> (
        rempart_aws::incidents::Incidents,
        rempart_incident_escalator::Deps,
    ) {
        let incidents = rempart_aws::incidents::Incidents::new(
            aws_sdk_dynamodb::Client::new(&self.cfg),
            "rempart-incidents",
        );
        incidents.create_table().await.expect("incidents table");
        let deps = rempart_incident_escalator::Deps::new(
            &self.cfg,
            "rempart-incidents",
            self.topic.arn(),
            &[],
            PolicySource::File(self.policy_file.clone()),
        )
        .expect("escalator");
        (incidents, deps)
    }

    /// Manual RDS DB and cluster snapshot identifiers.
    pub async fn rds_snapshots(&self) -> BTreeSet<String> {
        let rds = aws_sdk_rds::Client::new(&self.cfg);
        let mut out = BTreeSet::new();
        let dbs = rds
            .describe_db_snapshots()
            .snapshot_type("manual")
            .send()
            .await
            .expect("describe");
        out.extend(
            dbs.db_snapshots()
                .iter()
                .filter_map(|s| s.db_snapshot_identifier().map(str::to_string)),
        );
        let cl = rds
            .describe_db_cluster_snapshots()
            .snapshot_type("manual")
            .send()
            .await
            .expect("describe");
        out.extend(
            cl.db_cluster_snapshots()
                .iter()
                .filter_map(|s| s.db_cluster_snapshot_identifier().map(str::to_string)),
        );
        out
    }

    /// Tags of one manual DB snapshot.
    pub async fn rds_snapshot_tags(&self, id: &str) -> BTreeMap<String, String> {
        let rds = aws_sdk_rds::Client::new(&self.cfg);
        let out = rds
            .describe_db_snapshots()
            .db_snapshot_identifier(id)
            .send()
            .await
            .expect("describe");
        out.db_snapshots()[0]
            .tag_list()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// EBS snapshots of this account: volume id and tags of each.
    pub async fn ebs_snapshots(&self) -> Vec<(String, BTreeMap<String, String>)> {
        self.ebs_snapshots_by_id().await.into_values().collect()
    }

    /// EBS snapshots of this account by snapshot id: (volume id, tags).
    pub async fn ebs_snapshots_by_id(
        &self,
    ) -> BTreeMap<String, (String, BTreeMap<String, String>)> {
        let ec2 = aws_sdk_ec2::Client::new(&self.cfg);
        let out = ec2
            .describe_snapshots()
            .owner_ids("self")
            .send()
            .await
            .expect("describe");
        out.snapshots()
            .iter()
            .map(|s| {
                let tags = s
                    .tags()
                    .iter()
                    .map(|t| {
                        (
                            t.key().unwrap_or_default().to_string(),
                            t.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                let id = s.snapshot_id().unwrap_or_default().to_string();
                (id, (s.volume_id().unwrap_or_default().to_string(), tags))
            })
            .collect()
    }

    /// ElastiCache snapshot names.
    pub async fn redis_snapshots(&self) -> BTreeSet<String> {
        let ec = aws_sdk_elasticache::Client::new(&self.cfg);
        let out = ec.describe_snapshots().send().await.expect("describe");
        out.snapshots()
            .iter()
            .filter_map(|s| s.snapshot_name().map(str::to_string))
            .collect()
    }

    /// Every registry item, as (resource, action, subject, outcome, attempts).
    pub async fn registry_items(&self) -> BTreeSet<(String, String, String, String, String)> {
        let ddb = aws_sdk_dynamodb::Client::new(&self.cfg);
        let out = ddb.scan().table_name(TABLE).send().await.expect("scan");
        let s =
            |item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
             k: &str| {
                item.get(k)
                    .map(|v| {
                        v.as_s()
                            .cloned()
                            .or_else(|_| v.as_n().cloned())
                            .unwrap_or_default()
                    })
                    .unwrap_or_default()
            };
        out.items()
            .iter()
            .filter(|i| !s(i, "resource").starts_with("claim#"))
            .map(|i| {
                (
                    s(i, "resource"),
                    s(i, "action"),
                    s(i, "subject"),
                    s(i, "outcome"),
                    s(i, "attempts"),
                )
            })
            .collect()
    }

    /// A proxy in front of the emulator that reports every RDS instance
    /// `creating` instead of `available` while the returned flag is set:
    /// moto makes a restored instance available at once, so a restore that
    /// takes long is held at the HTTP level (a moto gap).
    pub async fn holding_instances_creating(
        &self,
    ) -> (
        std::sync::Arc<std::sync::atomic::AtomicBool>,
        rempart_testkit::proxy::CountingProxy,
    ) {
        use std::sync::atomic::{AtomicBool, Ordering};
        let restoring = std::sync::Arc::new(AtomicBool::new(true));
        let flag = restoring.clone();
        let proxy = rempart_testkit::proxy::CountingProxy::with_hooks(
            &self.aws.endpoint,
            None,
            Some(std::sync::Arc::new(
                move |r: &rempart_testkit::http::Request, body: &str| {
                    (flag.load(Ordering::SeqCst)
                        && rempart_testkit::proxy::operation(r) == "rds:DescribeDBInstances")
                        .then(|| {
                            body.replace(
                                "<DBInstanceStatus>available</DBInstanceStatus>",
                                "<DBInstanceStatus>creating</DBInstanceStatus>",
                            )
                        })
                },
            )),
        )
        .await
        .expect("proxy");
        (restoring, proxy)
    }

    /// The restore-tester of the primary region, its AWS calls through
    /// `proxy` (a [`rempart_testkit::proxy::CountingProxy`]'s URL).
    pub async fn restore_tester_through(&self, proxy: &str) -> rempart_restore_tester::Deps {
        let cfg = rempart_testkit::local::sdk_config_for(proxy, "eu-west-1").await;
        rempart_restore_tester::Deps::new(
            &cfg,
            TABLE,
            self.topic.arn(),
            PolicySource::File(self.policy_file.clone()),
        )
        .expect("restore-tester deps")
    }

    /// A night of the example policy: the scheduler at 02:00 (daily),
    /// 03:00 (weekly) and 04:00 (Redis) of `day` (`2025-11-23`), then a
    /// replicator sweep at 04:45 that copies them to the DR region.
    pub async fn night(&self, day: &str) {
        for hour in ["02", "03", "04"] {
            rempart_snapshot_scheduler::handle(
                &self.deps,
                scheduled_at(&format!("{day}T{hour}:00:00Z")),
            )
            .await
            .expect("scheduler");
        }
        let mut sweep: Value =
            serde_json::from_str(include_str!("../../events/snapshot-replicator/sweep.json"))
                .expect("JSON");
        sweep["time"] = format!("{day}T04:45:00Z").into();
        rempart_snapshot_replicator::handle(&self.replicator, sweep)
            .await
            .expect("sweep");
    }

    /// The backup-auditor on the harness's table, topic and policy file,
    /// its AWS calls made with `cfg` (the emulator's, or a proxy's).
    pub fn auditor(&self, cfg: &SdkConfig) -> rempart_backup_auditor::Deps {
        rempart_backup_auditor::Deps::new(
            cfg,
            TABLE,
            self.topic.arn(),
            PolicySource::File(self.policy_file.clone()),
        )
        .expect("auditor")
    }

    /// Delivers to the incident-escalator, as the events topic does, every
    /// announcement of `kind` received so far on `/all` that `only` accepts.
    pub async fn deliver(
        &self,
        escalator: &rempart_incident_escalator::Deps,
        kind: &str,
        only: impl Fn(&Value) -> bool,
    ) {
        for a in self
            .announcements("/all")
            .iter()
            .filter(|a| a["kind"] == kind && only(a))
        {
            rempart_incident_escalator::handle(escalator, as_sns(a))
                .await
                .expect("escalator");
        }
    }

    /// Announcements delivered to a subscriber path (`/all`, `/warnings`).
    pub fn announcements(&self, path: &str) -> Vec<Value> {
        self.subscriber
            .received(path)
            .iter()
            .map(|r| {
                let envelope: Value = serde_json::from_slice(&r.body).expect("SNS posts JSON");
                serde_json::from_str(envelope["Message"].as_str().expect("Message"))
                    .expect("announcement JSON")
            })
            .collect()
    }

    /// Everything the tests compare to say "same state".
    pub async fn state(&self) -> (BTreeSet<String>, usize, BTreeSet<String>, usize, usize) {
        (
            self.rds_snapshots().await,
            self.ebs_snapshots().await.len(),
            self.redis_snapshots().await,
            self.registry_items().await.len(),
            self.subscriber.all().len(),
        )
    }
}
