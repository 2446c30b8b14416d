//! backup-auditor: the hourly check of every protected resource against
//! its policy (decisions in `rempart_core::audit`). Metrics go to the log in the
//! embedded metric format (no API call); findings to the events topic, where
//! the incident-escalator opens an incident for a breach (`audit.breach`)
//! and resolves it when a later audit passes (`audit.passed`).

use aws_config::SdkConfig;
use rempart_aws::envelope::{envelope, event_time};
use rempart_aws::error::{Error, Result};
use rempart_aws::registry::{Registry, REGISTRY_TABLE_ENV};
use rempart_aws::runtime::{env_var, load_policy, region_of};
use rempart_aws::snapshots::Snapshots;
use rempart_aws::topic::{Topic, EVENTS_TOPIC_ENV};
use rempart_core::announce::{Outcome, RegistryRecord, ResourceSummary, Severity};
use rempart_core::audit::{audit, emf_lines, Audit};
use rempart_core::event::SCHEDULED_EVENT;
use rempart_core::model::Resource;
use rempart_core::policy::PolicySource;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const NAME: &str = "backup-auditor";

#[derive(Clone, Debug)]
pub struct Deps {
    pub cfg: SdkConfig,
    pub region: String,
    pub registry: Registry,
    pub topic: Topic,
    pub policy: PolicySource,
    pub ssm: aws_sdk_ssm::Client,
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
        let cfg = &rempart_aws::runtime::function_config(cfg, "backup-auditor");
        Ok(Deps {
            cfg: cfg.clone(),
            region: region_of(cfg)?,
            registry: Registry::new(aws_sdk_dynamodb::Client::new(cfg), table),
            topic: Topic::new(aws_sdk_sns::Client::new(cfg), topic),
            policy,
            ssm: aws_sdk_ssm::Client::new(cfg),
        })
    }
}

/// What one audit found.
#[derive(Clone, Debug, Serialize)]
pub struct AuditReport {
    pub time: chrono::DateTime<chrono::Utc>,
    pub audit: Audit,
    pub bookkeeping_errors: Vec<String>,
}

/// Handles the schedule's event. A listing that fails fails the run (an
/// audit on partial data would report false breaches).
pub async fn handle(deps: &Deps, event: Value) -> Result<AuditReport> {
    let ev = envelope(&event)?;
    if ev.detail_type != SCHEDULED_EVENT {
        return Err(Error::Event(format!(
            "backup-auditor takes `{SCHEDULED_EVENT}` (its schedule), not `{}`",
            ev.detail_type
        )));
    }
    let now = event_time(&ev)?;
    let doc = load_policy(&deps.policy, &deps.ssm).await?;
    let regions = rempart_core::enforcement::regions_of(&doc, &deps.region);
    let primary = Snapshots::for_region(&deps.cfg, &deps.region);
    let (a, b, c, d) = tokio::join!(
        primary.rds.tagged_instances(),
        primary.rds.tagged_clusters(),
        primary.ec2.tagged_volumes(),
        primary.elasticache.tagged_redis()
    );
    let mut resources: Vec<Resource> = Vec::new();
    for r in [a, b, c, d] {
        resources.extend(r?);
    }
    // Aurora members are protected through their cluster.
    resources.retain(|r| r.aurora_cluster.is_none());
    let mut snapshots = Vec::new();
    let mut rds_manual = BTreeMap::new();
    for region in &regions {
        let s = Snapshots::for_region(&deps.cfg, region);
        snapshots.extend(s.list_managed().await?);
        rds_manual.insert(region.clone(), s.rds.manual_snapshot_count().await?);
    }
    let result = audit(&doc, &resources, &snapshots, &rds_manual, now);
    rempart_aws::metrics::emit(&emf_lines(&result, now));
    let mut report = AuditReport {
        time: now,
        audit: result,
        bookkeeping_errors: Vec::new(),
    };
    publish(
        deps,
        &report.audit,
        now,
        ev.id.as_deref(),
        &mut report.bookkeeping_errors,
    )
    .await;
    tracing::info!(
        resources = report.audit.resources.len(),
        findings = report.audit.findings.len(),
        "{NAME}: audit done"
    );
    if !report.bookkeeping_errors.is_empty() {
        return Err(Error::Retry(format!(
            "{NAME}: findings could not all be recorded: {}",
            report.bookkeeping_errors.join("; ")
        )));
    }
    Ok(report)
}

async fn publish(
    deps: &Deps,
    a: &Audit,
    now: chrono::DateTime<chrono::Utc>,
    cause: Option<&str>,
    errors: &mut Vec<String>,
) {
    let record = |resource: String, action: &str, subject: String, ok: bool, details: Value| {
        RegistryRecord {
            resource,
            time: now,
            action: action.into(),
            subject,
            outcome: if ok {
                Outcome::Success
            } else {
                Outcome::Failure
            },
            policy: None,
            region: deps.region.clone(),
            function: NAME.into(),
            details,
            cause: cause.map(str::to_string),
        }
    };
    for r in &a.resources {
        let subject = format!("{}/{}", r.kind, r.id);
        let findings: Vec<_> = a.findings.iter().filter(|f| f.subject == subject).collect();
        let severity = findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Info);
        let (kind, summary) = if r.compliant {
            ("audit.passed", format!("Audit of {} passed", r.id))
        } else {
            (
                "audit.breach",
                format!(
                    "Audit of {}: {}",
                    r.id,
                    findings
                        .iter()
                        .map(|f| f.message.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            )
        };
        let mut rec = record(
            format!("{}#{}#{}", r.kind, deps.region, r.id),
            kind,
            "audit".into(),
            r.compliant,
            json!({"rpo_age_s": r.rpo_age_s, "rpo_s": r.rpo_s, "dr_age_s": r.dr_age_s, "pitr_lag_s": r.pitr_lag_s, "findings": findings}),
        );
        rec.policy = Some(r.policy.clone());
        let resource = ResourceSummary {
            kind: r.kind.to_string(),
            id: r.id.clone(),
            arn: String::new(),
        };
        if let Err(e) = deps.registry.record_once(&rec).await {
            errors.push(e.to_string());
        }
        if let Err(e) = deps
            .topic
            .publish(&rec.announcement(severity, Some(resource), summary))
            .await
        {
            errors.push(e.to_string());
        }
    }
    for f in a.findings.iter().filter(|f| {
        matches!(
            f.check.as_str(),
            "quota" | "resource-gone" | "unknown-policy"
        )
    }) {
        let rec = record(
            format!("{NAME}#{}", deps.region),
            "audit.finding",
            format!("{}/{}", f.check, f.subject),
            false,
            json!({"finding": f}),
        );
        if let Err(e) = deps.registry.record_once(&rec).await {
            errors.push(e.to_string());
        }
        if let Err(e) = deps
            .topic
            .publish(&rec.announcement(f.severity, None, f.message.clone()))
            .await
        {
            errors.push(e.to_string());
        }
    }
}
