//! restore-tester: an EventBridge schedule (every 5 minutes) that follows
//! the restore tests in progress (throw-away instances tagged
//! `rempart:restore-test`) and starts the month's test of each database that
//! is due. A finished test is checked, timed (the real RTO, to the polling
//! period), deleted, recorded and announced; its snapshot is tagged
//! `rempart:verified`.

use crate::announce::{rfc3339, Outcome, RegistryRecord, ResourceSummary, Severity};
use crate::aws::rds::{Rds, RestoredInstance};
use crate::aws::registry::{Registry, REGISTRY_TABLE_ENV};
use crate::aws::snapshots::Snapshots;
use crate::aws::topic::{Topic, EVENTS_TOPIC_ENV};
use crate::error::{Error, Result};
use crate::event::{envelope, event_time, SCHEDULED_EVENT};
use crate::model::{ResourceKind, TAG_MANAGED, TAG_POLICY};
use crate::policy::PolicySource;
use crate::replicator::TAG_VERIFIED;
use crate::restore::{
    checks, due, instance_id, pick, seed, RestoreTests, TAG_RESTORE_SNAPSHOT, TAG_RESTORE_STARTED,
    TAG_RESTORE_TEST,
};
use crate::runtime::{env_var, load_policy, region_of};
use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

pub const NAME: &str = "restore-tester";

#[derive(Clone, Debug)]
pub struct Deps {
    pub rds: Rds,
    pub snapshots: Snapshots,
    pub registry: Registry,
    pub topic: Topic,
    pub policy: PolicySource,
    pub ssm: aws_sdk_ssm::Client,
    pub region: String,
}

impl Deps {
    pub fn from_env(cfg: &SdkConfig) -> Result<Deps> {
        Deps::new(
            cfg,
            &env_var(REGISTRY_TABLE_ENV)?,
            &env_var(EVENTS_TOPIC_ENV)?,
            PolicySource::from_env()?,
        )
    }

    pub fn new(cfg: &SdkConfig, table: &str, topic: &str, policy: PolicySource) -> Result<Deps> {
        let region = region_of(cfg)?;
        Ok(Deps {
            rds: Rds::new(aws_sdk_rds::Client::new(cfg), &region),
            snapshots: Snapshots::for_region(cfg, &region),
            registry: Registry::new(aws_sdk_dynamodb::Client::new(cfg), table),
            topic: Topic::new(aws_sdk_sns::Client::new(cfg), topic),
            policy,
            ssm: aws_sdk_ssm::Client::new(cfg),
            region,
        })
    }
}

/// What one run did, per database.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TesterReport {
    pub started: Vec<String>,
    pub finished: Vec<Value>,
    pub running: Vec<String>,
    pub not_due: Vec<String>,
    pub failed: Vec<String>,
}

pub async fn handle(deps: &Deps, event: Value) -> Result<TesterReport> {
    let ev = envelope(&event)?;
    if ev.detail_type != SCHEDULED_EVENT {
        return Err(Error::Event(format!(
            "restore-tester takes `{SCHEDULED_EVENT}` (its 5-minute schedule), not `{}`",
            ev.detail_type
        )));
    }
    let now = event_time(&ev)?;
    let doc = load_policy(&deps.policy, &deps.ssm).await?;
    let Some(cfg) = doc.restore_tests.clone() else {
        return Ok(TesterReport::default());
    };
    let mut report = TesterReport::default();
    let in_progress = deps.rds.instances_tagged(TAG_RESTORE_TEST).await?;
    for i in &in_progress {
        follow(deps, &cfg, i, now, &mut report).await?;
    }
    let dbs = deps.rds.tagged_instances().await?;
    let snaps = deps.snapshots.rds.managed_snapshots().await?;
    for db in dbs.iter().filter(|d| {
        d.aurora_cluster.is_none()
            && d.policy_tag()
                .is_some_and(|p| cfg.policies.iter().any(|x| x == p))
    }) {
        if in_progress
            .iter()
            .any(|i| i.tags.get(TAG_RESTORE_TEST) == Some(&db.id))
        {
            continue;
        }
        let history = deps.registry.history(&db.registry_key()).await?;
        let finished: Vec<DateTime<Utc>> = history
            .iter()
            .filter(|i| {
                i.get("action")
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|a| a == "restore.succeeded" || a == "restore.failed")
            })
            .filter_map(|i| i.get("time").and_then(|v| v.as_s().ok()))
            .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
            .collect();
        if !due(&finished, now) {
            report.not_due.push(db.id.clone());
            continue;
        }
        let mine: Vec<_> = snaps
            .iter()
            .filter(|s| s.kind == ResourceKind::RdsInstance && s.source_id() == db.id)
            .cloned()
            .collect();
        let summary = ResourceSummary::from(db);
        let base = |action: &str, subject: String, ok: bool, details: Value| RegistryRecord {
            resource: db.registry_key(),
            time: now,
            action: action.into(),
            subject,
            outcome: if ok {
                Outcome::Success
            } else {
                Outcome::Failure
            },
            policy: db.policy_tag().map(str::to_string),
            region: deps.region.clone(),
            function: NAME.into(),
            details,
            cause: ev.id.clone(),
        };
        let Some(s) = pick(
            &mine,
            cfg.max_snapshot_age.0,
            now,
            seed(&[ev.id.as_deref().unwrap_or(""), &db.id]),
        ) else {
            let r = base(
                "restore.failed",
                "no-snapshot".into(),
                false,
                json!({"reason": format!("no available Rempart snapshot younger than {}", cfg.max_snapshot_age)}),
            );
            announce(
                deps,
                &r,
                Severity::Warning,
                summary,
                format!(
                    "Restore test of {}: no Rempart snapshot younger than {} to test",
                    db.id, cfg.max_snapshot_age
                ),
            )
            .await?;
            report.failed.push(db.id.clone());
            continue;
        };
        let instance = instance_id(&db.id, now);
        let tags = vec![
            (TAG_MANAGED.to_string(), "true".to_string()),
            (TAG_RESTORE_TEST.to_string(), db.id.clone()),
            (TAG_RESTORE_SNAPSHOT.to_string(), s.id.clone()),
            (TAG_RESTORE_STARTED.to_string(), rfc3339(now)),
            (
                TAG_POLICY.to_string(),
                db.policy_tag().unwrap_or_default().to_string(),
            ),
        ];
        deps.rds
            .restore_instance(
                &s.id,
                &instance,
                &cfg.instance_class,
                cfg.subnet_group.as_deref(),
                &tags,
            )
            .await?;
        let r = base(
            "restore.started",
            instance.clone(),
            true,
            json!({"snapshot": s.id, "instance": instance, "class": cfg.instance_class}),
        );
        announce(
            deps,
            &r,
            Severity::Info,
            summary,
            format!(
                "Restore test of {} started from {} into {instance}",
                db.id, s.id
            ),
        )
        .await?;
        report.started.push(instance);
    }
    Ok(report)
}

async fn follow(
    deps: &Deps,
    cfg: &RestoreTests,
    i: &RestoredInstance,
    now: DateTime<Utc>,
    report: &mut TesterReport,
) -> Result<()> {
    let db = i.tags.get(TAG_RESTORE_TEST).cloned().unwrap_or_default();
    let snapshot = i
        .tags
        .get(TAG_RESTORE_SNAPSHOT)
        .cloned()
        .unwrap_or_default();
    let started = i
        .tags
        .get(TAG_RESTORE_STARTED)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now);
    let elapsed = now - started;
    let resource = format!("{}#{}#{db}", ResourceKind::RdsInstance, deps.region);
    let summary = ResourceSummary {
        kind: ResourceKind::RdsInstance.to_string(),
        id: db.clone(),
        arn: String::new(),
    };
    let record = |action: &str, time: DateTime<Utc>, ok: bool, details: Value| RegistryRecord {
        resource: resource.clone(),
        time,
        action: action.into(),
        subject: i.id.clone(),
        outcome: if ok {
            Outcome::Success
        } else {
            Outcome::Failure
        },
        policy: i.tags.get(TAG_POLICY).cloned(),
        region: deps.region.clone(),
        function: NAME.into(),
        details,
        cause: None,
    };
    let failed_state = matches!(
        i.status.as_str(),
        "failed"
            | "incompatible-restore"
            | "incompatible-parameters"
            | "incompatible-network"
            | "storage-full"
    );
    if i.status != "available" && !failed_state {
        if elapsed >= cfg.alert_after.0 {
            // Once per test: the record's time is the alert instant.
            let r = record(
                "restore.slow",
                started + cfg.alert_after.0,
                false,
                json!({"snapshot": snapshot, "status": i.status, "elapsed_s": elapsed.num_seconds()}),
            );
            if deps.registry.record_once(&r).await? {
                deps.topic
                    .publish(&r.announcement(
                        Severity::Warning,
                        Some(summary),
                        format!(
                            "Restore test of {db} still not available after {} min (alert at {})",
                            elapsed.num_minutes(),
                            cfg.alert_after
                        ),
                    ))
                    .await?;
            }
        }
        report.running.push(i.id.clone());
        return Ok(());
    }
    let results = checks(i);
    let ok = !failed_state && results.iter().all(|c| c.ok);
    let rto_s = elapsed.num_seconds();
    deps.rds.delete_restored(i, TAG_RESTORE_TEST).await?;
    let action = if ok {
        "restore.succeeded"
    } else {
        "restore.failed"
    };
    let details = json!({"snapshot": snapshot, "instance": i.id, "rto_s": rto_s, "alert_after_s": cfg.alert_after.seconds(), "checks": results, "measured_to": "the polling period"});
    let r = record(action, now, ok, details.clone());
    let severity = if !ok || elapsed >= cfg.alert_after.0 {
        Severity::Warning
    } else {
        Severity::Info
    };
    let text = if ok {
        format!("Restore test of {db} passed: {snapshot} restored in {} min (RTO measured to the 5-minute polling)", elapsed.num_minutes())
    } else {
        format!(
            "Restore test of {db} FAILED: {}",
            results
                .iter()
                .filter(|c| !c.ok)
                .map(|c| format!("{} ({})", c.name, c.detail))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    announce(deps, &r, severity, summary, text).await?;
    if ok {
        if let Some(s) = deps
            .snapshots
            .rds
            .instance_snapshot_by_id(&snapshot)
            .await?
        {
            deps.snapshots.tag(&s, TAG_VERIFIED, &rfc3339(now)).await?;
        }
    }
    report.finished.push(details);
    Ok(())
}

async fn announce(
    deps: &Deps,
    r: &RegistryRecord,
    severity: Severity,
    resource: ResourceSummary,
    summary: String,
) -> Result<()> {
    if deps.registry.record_once(r).await? {
        deps.topic
            .publish(&r.announcement(severity, Some(resource), summary))
            .await?;
    }
    Ok(())
}
