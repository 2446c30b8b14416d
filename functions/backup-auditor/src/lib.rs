//! backup-auditor: the hourly check of every protected resource against
//! its policy (decisions in `rempart_core::audit`). Metrics go to the log in the
//! embedded metric format (no API call); findings to the events topic, where
//! the incident-escalator opens an incident for a breach (`audit.breach`)
//! and resolves it when a later audit passes (`audit.passed`).
//!
//! Coverage (decisions in `rempart_core::coverage`): every resource of the
//! kinds the policy's `[coverage]` requires, in the regions it searches, is
//! classed protected, excluded or unprotected; a resource that becomes
//! unprotected is announced once (`coverage.unprotected`, an incident) and
//! again when it is tagged, excluded or gone (`coverage.cleared`).
//!
//! Monitoring (decisions in `rempart_core::monitoring`): with the policy's
//! `[monitoring]`, the CloudWatch alarms of the protected resources are
//! created, updated and deleted to match the thresholds (Rempart's alarms,
//! `rempart-monitor-*`, only).
//!
//! Replication (decisions in `rempart_core::buckets`): each `[[buckets]]`
//! bucket with `[buckets.replication]` is audited from its replication
//! configuration and the replication metrics S3 publishes (status, and the
//! hour's highest lag as its RPO); a breach opens an incident like any
//! other (`audit.breach` on `s3-bucket/<name>`).

use aws_config::SdkConfig;
use rempart_aws::alarms::Alarms;
use rempart_aws::envelope::{envelope, event_time};
use rempart_aws::error::{Error, Result};
use rempart_aws::registry::{Registry, REGISTRY_TABLE_ENV};
use rempart_aws::runtime::{env_var, load_policy, region_of};
use rempart_aws::snapshots::Snapshots;
use rempart_aws::topic::{Topic, EVENTS_TOPIC_ENV};
use rempart_core::announce::{Outcome, RegistryRecord, ResourceSummary, Severity};
use rempart_core::audit::{audit, emf_lines, Audit};
use rempart_core::buckets::{self, ReplicationAudit, ReplicationStatus, REPLICATION_WINDOW_S};
use rempart_core::coverage::{self, Covered, PolicyKinds};
use rempart_core::event::SCHEDULED_EVENT;
use rempart_core::kind::ResourceKind;
use rempart_core::model::Resource;
use rempart_core::monitoring;
use rempart_core::policy::{PolicyDocument, PolicySource};
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
    pub alarms: Alarms,
    /// Rempart's S3 replication role (`REMPART_REPLICATION_ROLE_ARN`, set
    /// by Terraform with `bucket_replicas`): a bucket replicating with
    /// another is misconfigured. `None`: the configuration's own is taken.
    pub replication_role: Option<String>,
}

impl Deps {
    pub fn from_env(cfg: &SdkConfig) -> Result<Deps> {
        let mut d = Deps::new(
            cfg,
            &env_var(REGISTRY_TABLE_ENV)?,
            &env_var(EVENTS_TOPIC_ENV)?,
            PolicySource::from_env()?,
        )?;
        d.replication_role = std::env::var(rempart_core::buckets::REPLICATION_ROLE_ENV)
            .ok()
            .filter(|r| !r.is_empty());
        Ok(d)
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
            alarms: Alarms::new(aws_sdk_cloudwatch::Client::new(cfg)),
            replication_role: None,
        })
    }
}

/// What one audit found.
#[derive(Clone, Debug, Serialize)]
pub struct AuditReport {
    pub time: chrono::DateTime<chrono::Utc>,
    pub audit: Audit,
    /// Every resource of a required kind in the searched regions, classed.
    pub coverage: Vec<Covered>,
    /// What changed since the previous audit.
    pub coverage_changes: CoverageChanges,
    pub bookkeeping_errors: Vec<String>,
    /// The monitoring alarms brought in step (`[monitoring]`).
    pub monitoring: MonitoringChanges,
    /// The replication of each `[[buckets]]` bucket that asks for it.
    pub replication: Vec<ReplicationAudit>,
}

/// What one audit did to the monitoring alarms: alarm names.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MonitoringChanges {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub deleted: Vec<String>,
    pub unchanged: usize,
    /// What failed (each with its alarm and AWS's reason); the rest stands.
    pub failed: Vec<String>,
}

/// The coverage announcements of one audit: resource keys.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CoverageChanges {
    pub unprotected: Vec<String>,
    pub cleared: Vec<String>,
}

/// What an audit sees, read-only: the audit of the protected resources and
/// the coverage classes (`rempart status` shows the same).
#[derive(Clone, Debug, Serialize)]
pub struct Survey {
    pub audit: Audit,
    pub coverage: Vec<Covered>,
    /// The regions searched for coverage (none when it is off).
    pub coverage_regions: Vec<String>,
    /// The protected resources of the primary region (Aurora members
    /// through their cluster).
    pub protected: Vec<Resource>,
}

/// Lists the resources (the primary region's tagged ones, and every
/// resource of a kind `[coverage]` requires in the regions it searches),
/// Rempart's snapshots and the manual RDS snapshot counts of the policy's
/// regions, and decides. Reads only. A listing that fails fails the
/// survey (an audit on partial data would report false breaches).
pub async fn survey(
    cfg: &SdkConfig,
    region: &str,
    doc: &PolicyDocument,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Survey> {
    let regions = rempart_core::enforcement::regions_of(doc, region);
    let cov = &doc.coverage;
    let (cov_kinds, cov_regions): (&[ResourceKind], Vec<String>) = if cov.enabled {
        (&cov.kinds, cov.regions(region, &regions[1..]))
    } else {
        (&[], Vec::new())
    };
    // The primary region: every resource of a kind coverage needs, and the
    // tagged ones of the others; the other searched regions: coverage only.
    let mut listed = Snapshots::for_region(cfg, region)
        .resources(cov_kinds, true)
        .await?;
    for other in cov_regions.iter().filter(|r| *r != region) {
        listed.extend(
            Snapshots::for_region(cfg, other)
                .resources(cov_kinds, false)
                .await?,
        );
    }
    // Aurora members are protected through their cluster.
    let resources: Vec<Resource> = listed
        .iter()
        .filter(|r| r.region == region && r.policy_tag().is_some())
        .filter(|r| r.aurora_cluster.is_none())
        .cloned()
        .collect();
    let mut snapshots = Vec::new();
    let mut rds_manual = BTreeMap::new();
    for r in &regions {
        let s = Snapshots::for_region(cfg, r);
        snapshots.extend(s.list_managed().await?);
        rds_manual.insert(r.clone(), s.rds.manual_snapshot_count().await?);
    }
    let coverage = if cov.enabled {
        let policy_kinds: PolicyKinds = doc
            .policies
            .iter()
            .map(|(n, p)| (n.as_str(), p.kinds.as_slice()))
            .collect();
        coverage::classify(cov, &policy_kinds, region, &listed)
    } else {
        Vec::new()
    };
    Ok(Survey {
        audit: audit(doc, &resources, &snapshots, &rds_manual, now),
        coverage,
        coverage_regions: cov_regions,
        protected: resources,
    })
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
    let Survey {
        audit: result,
        coverage: classes,
        coverage_regions: cov_regions,
        protected,
    } = survey(&deps.cfg, &deps.region, &doc, now).await?;
    rempart_aws::metrics::emit(&emf_lines(&result, now));
    let cov = &doc.coverage;
    if cov.enabled {
        rempart_aws::metrics::emit(&coverage::emf_lines(
            &classes,
            &cov_regions,
            &deps.region,
            now,
        ));
    }
    let mut report = AuditReport {
        time: now,
        audit: result,
        coverage: classes,
        coverage_changes: CoverageChanges::default(),
        bookkeeping_errors: Vec::new(),
        monitoring: MonitoringChanges::default(),
        replication: Vec::new(),
    };
    report.monitoring = monitor(deps, &doc, &protected).await;
    report.replication = replication(deps, &doc, now, &mut report.bookkeeping_errors).await;
    rempart_aws::metrics::emit(&buckets::emf_lines(&report.replication, &deps.region, now));
    publish_replication(
        deps,
        &report.replication,
        now,
        ev.id.as_deref(),
        &mut report.bookkeeping_errors,
    )
    .await;
    report.bookkeeping_errors.extend(
        report
            .monitoring
            .failed
            .iter()
            .map(|f| format!("monitoring: {f}")),
    );
    publish(
        deps,
        &report.audit,
        now,
        ev.id.as_deref(),
        &mut report.bookkeeping_errors,
    )
    .await;
    // Off, coverage still ends the incidents of what it announced before.
    report.coverage_changes = publish_coverage(
        deps,
        cov.enabled,
        &report.coverage,
        &cov_regions,
        now,
        ev.id.as_deref(),
        &mut report.bookkeeping_errors,
    )
    .await;
    tracing::info!(
        resources = report.audit.resources.len(),
        unprotected = report
            .coverage
            .iter()
            .filter(|c| c.is_unprotected())
            .count(),
        findings = report.audit.findings.len(),
        buckets_replicating = report.replication.iter().filter(|r| r.compliant()).count(),
        buckets_in_breach = report.replication.iter().filter(|r| !r.compliant()).count(),
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

/// Brings the monitoring alarms in step with `[monitoring]` and the
/// protected resources (`rempart_core::monitoring`): creates, updates and
/// deletes Rempart's alarms only. A listing that fails changes nothing;
/// each write that fails is reported with its alarm, the others stand.
async fn monitor(deps: &Deps, doc: &PolicyDocument, protected: &[Resource]) -> MonitoringChanges {
    let mut out = MonitoringChanges::default();
    let m = doc.monitoring.clone().unwrap_or_default();
    let wanted = doc.monitoring.is_some();
    let want = if wanted {
        monitoring::desired(&m, protected)
    } else {
        Vec::new()
    };
    let existing = match deps.alarms.list().await {
        Ok(e) => e,
        Err(e) => {
            out.failed.push(format!("listing Rempart's alarms: {e}"));
            return out;
        }
    };
    let plan = monitoring::plan(&want, &existing);
    out.unchanged = plan.unchanged;
    for (a, created) in plan
        .create
        .iter()
        .map(|a| (a, true))
        .chain(plan.update.iter().map(|a| (a, false)))
    {
        match deps.alarms.put(a).await {
            Ok(()) if created => out.created.push(a.name.clone()),
            Ok(()) => out.updated.push(a.name.clone()),
            Err(e) => out.failed.push(format!("{}: {e}", a.name)),
        }
    }
    for name in &plan.delete {
        match deps.alarms.delete(std::slice::from_ref(name)).await {
            Ok(()) => out.deleted.push(name.clone()),
            Err(e) => out.failed.push(format!("{name}: {e}")),
        }
    }
    if !(out.created.is_empty() && out.updated.is_empty() && out.deleted.is_empty()) {
        tracing::info!(created = ?out.created, updated = ?out.updated, deleted = ?out.deleted, "{NAME}: monitoring alarms in step");
    }
    out
}

/// Audits the replication of every `[[buckets]]` bucket that asks for it:
/// its configuration and the metrics S3 published over the last hour, read
/// in the bucket's region. A bucket whose reading fails is left out of the
/// audit (no false breach) and named in `errors`.
async fn replication(
    deps: &Deps,
    doc: &PolicyDocument,
    now: chrono::DateTime<chrono::Utc>,
    errors: &mut Vec<String>,
) -> Vec<ReplicationAudit> {
    let mut out = Vec::new();
    for b in &doc.buckets {
        let Some(want) = &b.replication else {
            continue;
        };
        let region = b
            .region
            .as_ref()
            .map_or(deps.region.as_str(), |r| r.0.as_str());
        let cfg = deps
            .cfg
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build();
        let have = match rempart_aws::s3::Buckets::new(aws_sdk_s3::Client::new(&cfg))
            .replication(&b.name)
            .await
        {
            Ok(h) => h,
            Err(Error::Aws { code, .. }) if code == "NoSuchBucket" => {
                out.push(buckets::missing_bucket(&b.name, region, want));
                continue;
            }
            Err(e) => {
                errors.push(format!("replication of {}: {e}", b.name));
                continue;
            }
        };
        // The metrics of the rule that copies to the destination, if any.
        let rule = have.as_ref().and_then(|c| {
            c.rules
                .iter()
                .find(|r| r.destination.rsplit(":::").next() == Some(want.bucket.as_str()))
        });
        let metrics = match rule {
            Some(r) => match Alarms::new(aws_sdk_cloudwatch::Client::new(&cfg))
                .replication_metrics(
                    &b.name,
                    &want.bucket,
                    &r.id,
                    now - chrono::TimeDelta::seconds(REPLICATION_WINDOW_S),
                    now,
                )
                .await
            {
                Ok(m) => Some(m),
                Err(e) => {
                    errors.push(format!("replication metrics of {}: {e}", b.name));
                    continue;
                }
            },
            None => None,
        };
        out.push(buckets::audit_replication(
            &b.name,
            region,
            want,
            have.as_ref(),
            metrics.as_ref(),
            deps.replication_role.as_deref(),
        ));
    }
    out
}

/// Records and announces each bucket's replication audit (`audit.passed`
/// or `audit.breach` on `s3-bucket/<name>`, which the incident-escalator
/// opens and resolves like any resource's).
async fn publish_replication(
    deps: &Deps,
    audits: &[ReplicationAudit],
    now: chrono::DateTime<chrono::Utc>,
    cause: Option<&str>,
    errors: &mut Vec<String>,
) {
    for a in audits {
        let (action, severity) = match a.status {
            ReplicationStatus::Ok => ("audit.passed", Severity::Info),
            ReplicationStatus::Late | ReplicationStatus::Misconfigured => {
                ("audit.breach", Severity::Warning)
            }
            ReplicationStatus::Failing | ReplicationStatus::Off => {
                ("audit.breach", Severity::Critical)
            }
        };
        let mut rec = new_record(
            deps,
            now,
            cause,
            format!("s3-bucket#{}#{}", a.region, a.bucket),
            action,
            "replication".into(),
            a.compliant(),
            json!({ "replication": a, "rpo_age_s": a.lag_s, "rpo_s": a.rpo_s }),
        );
        rec.region = a.region.clone();
        let resource = ResourceSummary {
            kind: "s3-bucket".into(),
            id: a.bucket.clone(),
            arn: format!(
                "arn:{}:s3:::{}",
                rempart_core::naming::partition_of(&a.region),
                a.bucket
            ),
        };
        if let Err(e) = deps.registry.record_once(&rec).await {
            errors.push(e.to_string());
        }
        if let Err(e) = deps
            .topic
            .publish(&rec.announcement(severity, Some(resource), a.message.clone()))
            .await
        {
            errors.push(e.to_string());
        }
    }
}

/// A record of this audit, by this function in its region.
#[allow(clippy::too_many_arguments)]
fn new_record(
    deps: &Deps,
    now: chrono::DateTime<chrono::Utc>,
    cause: Option<&str>,
    resource: String,
    action: &str,
    subject: String,
    ok: bool,
    details: Value,
) -> RegistryRecord {
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
}

async fn publish(
    deps: &Deps,
    a: &Audit,
    now: chrono::DateTime<chrono::Utc>,
    cause: Option<&str>,
    errors: &mut Vec<String>,
) {
    let record = |resource: String, action: &str, subject: String, ok: bool, details: Value| {
        new_record(deps, now, cause, resource, action, subject, ok, details)
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

/// The registry key of the coverage state (the newest `coverage.audit`
/// record under it is the previous audit's).
pub fn coverage_key(region: &str) -> String {
    format!("coverage#{region}")
}

/// Announces what changed since the previous audit: a resource newly
/// unprotected (`coverage.unprotected`, which opens an incident) and one
/// no longer so (`coverage.cleared`, which resolves it), each recorded in
/// the resource's history; then keeps this audit's classes as the
/// `coverage.audit` record (on a change, and once a day for the report).
/// The state is written last: an announcement that fails is made again by
/// the next audit.
#[allow(clippy::too_many_arguments)]
async fn publish_coverage(
    deps: &Deps,
    enabled: bool,
    classes: &[Covered],
    regions: &[String],
    now: chrono::DateTime<chrono::Utc>,
    cause: Option<&str>,
    errors: &mut Vec<String>,
) -> CoverageChanges {
    let key = coverage_key(&deps.region);
    let previous = match deps.registry.latest(&key).await {
        Ok(p) => p,
        Err(e) => {
            errors.push(format!("reading the previous coverage state: {e}"));
            return CoverageChanges::default();
        }
    };
    let state = previous
        .as_ref()
        .map(|r| coverage::state_of(&r.details))
        .unwrap_or_default();
    if !enabled && state.is_empty() {
        return CoverageChanges::default();
    }
    let ch = if enabled {
        coverage::changes(&state, classes, regions, now)
    } else {
        coverage::switched_off(&state)
    };
    let mut out = CoverageChanges::default();
    let record = |resource: String, action: &str, ok: bool, details: Value| {
        new_record(
            deps,
            now,
            cause,
            resource,
            action,
            "coverage".into(),
            ok,
            details,
        )
    };
    let before = errors.len();
    for key in &ch.newly_unprotected {
        let Some(c) = classes.iter().find(|c| c.key() == *key) else {
            continue;
        };
        let rec = record(
            key.clone(),
            "coverage.unprotected",
            false,
            json!({"resource": c, "age_s": c.age_s(now)}),
        );
        let summary = ResourceSummary {
            kind: c.kind.to_string(),
            id: c.id.clone(),
            arn: c.arn.clone(),
        };
        let msg = coverage::unprotected_message(c, now);
        match deps.registry.record_once(&rec).await {
            Err(e) => errors.push(e.to_string()),
            Ok(_) => match deps
                .topic
                .publish(&rec.announcement(Severity::Warning, Some(summary), msg))
                .await
            {
                Ok(()) => out.unprotected.push(key.clone()),
                Err(e) => errors.push(e.to_string()),
            },
        }
    }
    for (key, class) in &ch.cleared {
        let mut parts = key.splitn(3, '#');
        let (kind, _region, id) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        let rec = record(key.clone(), "coverage.cleared", true, json!({"now": class}));
        let arn = classes
            .iter()
            .find(|c| c.key() == *key)
            .map(|c| c.arn.clone())
            .unwrap_or_default();
        let summary = ResourceSummary {
            kind: kind.to_string(),
            id: id.to_string(),
            arn,
        };
        let msg = if enabled {
            coverage::cleared_message(key, class.as_ref())
        } else {
            coverage::off_message(key)
        };
        match deps.registry.record_once(&rec).await {
            Err(e) => errors.push(e.to_string()),
            Ok(_) => match deps
                .topic
                .publish(&rec.announcement(Severity::Info, Some(summary), msg))
                .await
            {
                Ok(()) => out.cleared.push(key.clone()),
                Err(e) => errors.push(e.to_string()),
            },
        }
    }
    if errors.len() > before {
        // The state stays as it was: the next audit announces again what
        // could not be announced now.
        return out;
    }
    let changed = !ch.newly_unprotected.is_empty() || !ch.cleared.is_empty();
    // Off, the state is written once, empty, when it changes.
    let new_day = enabled
        && previous
            .as_ref()
            .is_none_or(|p| p.time.date_naive() != now.date_naive());
    if changed || new_day {
        let rec = record(
            key,
            "coverage.audit",
            true,
            coverage::record_details(classes, regions, &ch.unprotected),
        );
        if let Err(e) = deps.registry.record_once(&rec).await {
            errors.push(e.to_string());
        }
    }
    out
}
