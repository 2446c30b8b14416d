//! The snapshot-scheduler's loop: list the protected resources, ask the core
//! for the plan (`rempart_core::scheduling`), create the snapshots through
//! the adapters, record and announce each result, then announce the run's
//! digest.
//!
//! Snapshots are taken `concurrency` at a time (a thousand resources one by
//! one would take a thousand times three round trips), with every
//! `Create*Snapshot` call spaced by one shared [`Pacer`] so the run stays
//! within the services' sustained API rates (RDS: about 12 mutating calls a
//! second). Registry writes stay one conditional write per snapshot: the
//! condition is what makes a second delivery announce nothing twice, and
//! DynamoDB's batch write has none.

use chrono::{DateTime, TimeDelta, Utc};
use rempart_aws::ec2::Ec2;
use rempart_aws::elasticache::ElastiCache;
use rempart_aws::error::Result;
use rempart_aws::pace::{bounded, Pacer};
use rempart_aws::rds::Rds;
use rempart_aws::registry::Registry;
use rempart_aws::topic::Topic;
use rempart_aws::Created;
use rempart_core::announce::{Outcome, RegistryRecord, ResourceSummary, Severity};
use rempart_core::error::ErrorInfo;
use rempart_core::event::{ResourceRef, SchedulerInput};
use rempart_core::kind::ResourceKind;
use rempart_core::model::*;
use rempart_core::policy::PolicyDocument;
use rempart_core::scheduling::*;
use serde_json::json;

/// The scheduler with its adapters, for one region.
#[derive(Clone, Debug)]
pub struct Scheduler {
    pub region: String,
    pub rds: Rds,
    pub ec2: Ec2,
    pub elasticache: ElastiCache,
    pub registry: Registry,
    pub topic: Topic,
    /// Snapshots in progress at once ([`DEFAULT_CONCURRENCY`]).
    pub concurrency: usize,
    /// Spaces the `Create*Snapshot` calls of every task.
    pub pace: Pacer,
}

/// Snapshots in progress at once: enough to hide the round trips of one
/// snapshot (create, registry write, announcement), few enough that the
/// pacer, not the task count, sets the rate.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// `Create*Snapshot` calls a second, across the run: RDS's sustained rate
/// for mutating calls (EC2 and ElastiCache are paced the same).
pub const CREATES_PER_SECOND: u32 = 12;

/// How long an EBS claim holds (wall-clock): far longer than the one
/// `CreateSnapshot` call it covers, shorter than Lambda's second retry of a
/// failed asynchronous invocation (about three minutes after the first try).
pub const CLAIM_LEASE: TimeDelta = TimeDelta::seconds(90);

impl Scheduler {
    /// Carries out one event. Never stops at the first failure.
    pub async fn run(&self, doc: &PolicyDocument, input: &SchedulerInput) -> RunReport {
        let mut report = RunReport {
            function: FUNCTION.into(),
            time: Some(input.time()),
            event_id: input.event_id().map(str::to_string),
            ..Default::default()
        };
        let decisions = match input {
            SchedulerInput::Scheduled { time, .. } => {
                report.trigger = "schedule".into();
                let due = due_schedules(doc, *time);
                report.due = due
                    .iter()
                    .flat_map(|(p, ss)| ss.iter().map(move |s| format!("{p}/{s}")))
                    .collect();
                if due.is_empty() {
                    return report;
                }
                let resources = self.discover(&mut report).await;
                plan_scheduled(doc, resources, *time)
            }
            SchedulerInput::OnDemand { time, request, .. } => {
                report.trigger = "on-demand".into();
                let resources = self.resolve(&request.resources, &mut report).await;
                plan_on_demand(doc, resources, request, *time)
            }
        };
        // At most `concurrency` decisions in progress; each writes its own
        // part of the report, merged in the plan's order.
        let parts = bounded(decisions, self.concurrency, |d| async move {
            let mut part = RunReport::default();
            self.decide(d, input, &mut part).await;
            part
        })
        .await;
        for part in parts {
            report.created.extend(part.created);
            report.skipped.extend(part.skipped);
            report.failed.extend(part.failed);
            report.not_due.extend(part.not_due);
            report.bookkeeping_errors.extend(part.bookkeeping_errors);
            report.new_records += part.new_records;
        }
        self.digest(input, &mut report).await;
        report
    }

    async fn decide(&self, d: Decision, input: &SchedulerInput, report: &mut RunReport) {
        match d {
            Decision::NotDue { resource, .. } => report
                .not_due
                .push(format!("{}/{}", resource.kind, resource.id)),
            Decision::Refused {
                resource,
                policy,
                reason,
            } => self.refused(&resource, policy, reason, input, report).await,
            Decision::Snapshot(p) => self.snapshot(&p, input, report).await,
        }
    }

    /// One announcement for the run (`snapshot.digest`), beside the
    /// per-snapshot ones: counts per outcome and the failures, for a
    /// channel that wants one message for a thousand snapshots. None when
    /// the run recorded nothing new (nothing was due, or a second delivery
    /// found everything done or already failed), so that a repeated event
    /// announces nothing new.
    async fn digest(&self, input: &SchedulerInput, report: &mut RunReport) {
        if report.new_records == 0 {
            return;
        }
        let a = digest_announcement(report, &self.region, input.time());
        if let Err(e) = self.topic.publish(&a).await {
            tracing::error!(error = %e, "snapshot digest not announced");
            report
                .bookkeeping_errors
                .push(format!("announce snapshot.digest: {e}"));
        }
    }

    /// Every tagged resource of every kind in the region. A kind whose listing
    /// fails is reported, and the others go on.
    async fn discover(&self, report: &mut RunReport) -> Vec<Resource> {
        let (a, b, c, d) = tokio::join!(
            self.rds.tagged_instances(),
            self.rds.tagged_clusters(),
            self.ec2.tagged_volumes(),
            self.elasticache.tagged_redis()
        );
        let mut out = Vec::new();
        for (kind, res) in [
            (ResourceKind::RdsInstance, a),
            (ResourceKind::AuroraCluster, b),
            (ResourceKind::EbsVolume, c),
            (ResourceKind::ElasticacheRedis, d),
        ] {
            match res {
                Ok(mut r) => out.append(&mut r),
                Err(e) => report.failed.push(Item {
                    kind: kind.to_string(),
                    resource: "*".into(),
                    policy: None,
                    snapshot_id: None,
                    aws_id: None,
                    tiers: vec![],
                    reason: Some(format!(
                        "could not list {kind} resources in {}",
                        self.region
                    )),
                    error: Some((&e).into()),
                }),
            }
        }
        out
    }

    async fn resolve(&self, refs: &[ResourceRef], report: &mut RunReport) -> Vec<Resource> {
        let mut out = Vec::new();
        for r in refs {
            let res = match r.kind {
                ResourceKind::RdsInstance => self.rds.instance_by_id(&r.id).await,
                ResourceKind::AuroraCluster => self.rds.cluster_by_id(&r.id).await,
                ResourceKind::EbsVolume => self.ec2.volume_by_id(&r.id).await,
                ResourceKind::ElasticacheRedis => {
                    self.elasticache
                        .redis_by_id(&r.id, r.redis_standalone)
                        .await
                }
            };
            match res {
                Ok(resource) => out.push(resource),
                Err(e) => report.failed.push(Item {
                    kind: r.kind.to_string(),
                    resource: r.id.clone(),
                    policy: None,
                    snapshot_id: None,
                    aws_id: None,
                    tiers: vec![],
                    reason: Some("resource not found or not readable".into()),
                    error: Some((&e).into()),
                }),
            }
        }
        out
    }

    async fn create(&self, p: &Planned, holder: &str) -> Result<Option<Created>> {
        let r = &p.resource;
        if r.kind != ResourceKind::EbsVolume {
            self.pace.wait().await;
        }
        let created = match r.kind {
            ResourceKind::RdsInstance => {
                self.rds
                    .snapshot_instance(&r.id, &p.snapshot_id, &p.tags)
                    .await?
            }
            ResourceKind::AuroraCluster => {
                self.rds
                    .snapshot_cluster(&r.id, &p.snapshot_id, &p.tags)
                    .await?
            }
            ResourceKind::ElasticacheRedis => {
                self.elasticache
                    .snapshot(r, &p.snapshot_id, &p.tags)
                    .await?
            }
            ResourceKind::EbsVolume => {
                if let Some(existing) = self.ec2.snapshot_by_key(&p.snapshot_id).await? {
                    return Ok(Some(Created::AlreadyThere(existing)));
                }
                let now = Utc::now();
                let claim = format!("ebs#{}", p.snapshot_id);
                if !self
                    .registry
                    .claim(&claim, holder, now, now + CLAIM_LEASE)
                    .await?
                {
                    return Ok(None);
                }
                let description = format!(
                    "Rempart {} snapshot of {} ({})",
                    tiers_tag_value(&p.tiers),
                    r.id,
                    p.policy
                );
                self.pace.wait().await;
                match self.ec2.snapshot_volume(&r.id, &description, &p.tags).await {
                    Ok(created) => created,
                    Err(e) => {
                        // Let a retry of the event try again at once.
                        if let Err(release) = self.registry.release(&claim, holder).await {
                            tracing::warn!(error = %release, "could not release the EBS claim");
                        }
                        return Err(e);
                    }
                }
            }
        };
        Ok(Some(created))
    }

    /// A registry record of this run about `resource`, with the action's
    /// own fields left for the caller to fill.
    fn record(
        &self,
        resource: &Resource,
        input: &SchedulerInput,
        at: DateTime<Utc>,
        policy: Option<String>,
    ) -> RegistryRecord {
        RegistryRecord {
            resource: resource.registry_key(),
            time: at,
            action: String::new(),
            subject: String::new(),
            outcome: Outcome::Success,
            policy,
            region: self.region.clone(),
            function: FUNCTION.into(),
            details: serde_json::Value::Null,
            cause: input.event_id().map(str::to_string),
        }
    }

    async fn snapshot(&self, p: &Planned, input: &SchedulerInput, report: &mut RunReport) {
        let r = &p.resource;
        let item =
            |aws_id: Option<String>, reason: Option<String>, error: Option<ErrorInfo>| Item {
                kind: r.kind.to_string(),
                resource: r.id.clone(),
                policy: Some(p.policy.clone()),
                snapshot_id: Some(p.snapshot_id.clone()),
                aws_id: aws_id.filter(|a| *a != p.snapshot_id),
                tiers: p.tiers.clone(),
                reason,
                error,
            };
        let holder = input.event_id().unwrap_or("unknown-event").to_string();
        let mut details = json!({
            "snapshot_id": p.snapshot_id,
            "tiers": p.tiers,
            "schedules": p.schedules,
        });
        if let SchedulerInput::OnDemand { request, .. } = input {
            details["reason"] = json!(request.reason);
            details["requested_by"] = json!(request.requested_by);
            details["change_ref"] = json!(request.change_ref);
        }
        match self.create(p, &holder).await {
            Ok(Some(created)) => {
                let (aws_id, fresh) = match created {
                    Created::New(id) => (id, true),
                    Created::AlreadyThere(id) => (id, false),
                };
                details["aws_id"] = json!(aws_id);
                let rec = RegistryRecord {
                    action: "snapshot.created".into(),
                    subject: p.snapshot_id.clone(),
                    outcome: Outcome::Success,
                    details,
                    ..self.record(r, input, p.at, Some(p.policy.clone()))
                };
                let summary = format!(
                    "{} snapshot {} of {} {} created ({})",
                    tiers_tag_value(&p.tiers),
                    p.snapshot_id,
                    r.kind,
                    r.id,
                    p.policy
                );
                self.bookkeep(&rec, Severity::Info, r, summary, true, report)
                    .await;
                if fresh {
                    report.created.push(item(Some(aws_id), None, None));
                } else {
                    report.skipped.push(item(
                        Some(aws_id),
                        Some("already there (event delivered again)".into()),
                        None,
                    ));
                }
            }
            // Another delivery holds the claim and its snapshot is not there
            // yet: it may be creating it, or it may have died. Failing this
            // invocation as retryable makes Lambda come back once the claim
            // has either produced a snapshot (then: skipped) or expired.
            Ok(None) => report.failed.push(item(
                None,
                Some("another delivery of this event holds the claim on this snapshot".into()),
                Some(ErrorInfo {
                    code: "ClaimHeld".into(),
                    message: format!("claim ebs#{} is held; retry later", p.snapshot_id),
                    retryable: true,
                }),
            )),
            Err(e) => {
                let info = ErrorInfo::from(&e);
                details["error"] = json!(info);
                let rec = RegistryRecord {
                    action: "snapshot.failed".into(),
                    subject: p.snapshot_id.clone(),
                    outcome: Outcome::Failure,
                    details,
                    ..self.record(r, input, p.at, Some(p.policy.clone()))
                };
                let summary = format!(
                    "snapshot {} of {} {} failed: {}",
                    p.snapshot_id, r.kind, r.id, e
                );
                self.bookkeep(&rec, Severity::Warning, r, summary, false, report)
                    .await;
                report.failed.push(item(None, None, Some(info)));
            }
        }
    }

    async fn refused(
        &self,
        r: &Resource,
        policy: Option<String>,
        reason: String,
        input: &SchedulerInput,
        report: &mut RunReport,
    ) {
        let at = minute(input.time());
        let rec = RegistryRecord {
            action: "snapshot.failed".into(),
            subject: "misconfiguration".into(),
            outcome: Outcome::Failure,
            details: json!({ "reason": reason }),
            ..self.record(r, input, at, policy.clone())
        };
        let summary = format!("{} {} is not protected: {reason}", r.kind, r.id);
        self.bookkeep(&rec, Severity::Warning, r, summary, false, report)
            .await;
        report.failed.push(Item {
            kind: r.kind.to_string(),
            resource: r.id.clone(),
            policy,
            snapshot_id: None,
            aws_id: None,
            tiers: vec![],
            reason: Some(reason),
            error: None,
        });
    }

    /// Writes the registry record, and announces it if it is new.
    async fn bookkeep(
        &self,
        rec: &RegistryRecord,
        severity: Severity,
        r: &Resource,
        summary: String,
        once: bool,
        report: &mut RunReport,
    ) {
        let written = if once {
            self.registry.record_once(rec).await
        } else {
            self.registry.record_attempt(rec).await
        };
        match written {
            Ok(true) => {
                report.new_records += 1;
                let a = rec.announcement(severity, Some(ResourceSummary::from(r)), summary);
                if let Err(e) = self.topic.publish(&a).await {
                    tracing::error!(error = %e, kind = %a.kind, "announcement failed");
                    report
                        .bookkeeping_errors
                        .push(format!("announce {} {}: {e}", rec.action, rec.subject));
                }
            }
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %e, action = %rec.action, "registry write failed");
                report
                    .bookkeeping_errors
                    .push(format!("registry {} {}: {e}", rec.action, rec.subject));
            }
        }
    }
}
