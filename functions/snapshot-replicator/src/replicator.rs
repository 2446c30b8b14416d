//! The snapshot-replicator's loop: list Rempart's snapshots and the copies
//! in each DR region, ask the core for the plan (`rempart_core::replication`),
//! check the DR keys, start the copies (Redis: export, then transfer),
//! record and announce.
//!
//! The planned snapshots are carried out [`DEFAULT_CONCURRENCY`] at a time
//! (a sweep over a thousand snapshots makes a registry write and an
//! announcement for each that changed state), every copy or export call
//! waiting for its slot in one [`Pacer`] (12 a second, RDS's sustained rate
//! for mutating calls); the in-flight limit still bounds how many copies a
//! run starts.

use chrono::{DateTime, Utc};
use rempart_core::kind::ResourceKind;
use rempart_core::model::SnapshotInfo;
use rempart_core::policy::{DrTarget, PolicyDocument};
use rempart_core::tags::*;
use rempart_core::time::{human, rfc3339};
use std::collections::BTreeMap;

use rempart_core::replication::*;

use rempart_aws::error::{Error, Result};
use rempart_aws::exports::{tagging, Objects};
use rempart_aws::kms::Kms;
use rempart_aws::pace::{bounded, Pacer};
use rempart_aws::registry::{Registry, ReplicaState};
use rempart_aws::snapshots::Snapshots;
use rempart_aws::topic::Topic;
use rempart_core::announce::{Outcome, RegistryRecord, ResourceSummary, Severity};
use rempart_core::event::ReplicatorInput;
use rempart_core::tags::TAG_MANAGED;
use serde_json::json;
use std::collections::BTreeSet;

/// Environment variable: copies allowed in flight per destination region
/// and family (default 20, AWS's limit).
pub const MAX_IN_FLIGHT_ENV: &str = "REMPART_MAX_COPIES_IN_FLIGHT";
/// How long an EBS copy claim holds (wall-clock).
pub(crate) const CLAIM_LEASE: chrono::TimeDelta = chrono::TimeDelta::seconds(90);
/// Snapshots carried out at once.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// Copy and export calls a second, across the run.
pub const COPIES_PER_SECOND: u32 = 12;

/// The adapters of one destination region.
struct Dest {
    snapshots: Snapshots,
    kms: Kms,
    objects: Objects,
}

/// The snapshot-replicator's use case.
#[derive(Clone, Debug)]
pub struct Replicator {
    /// The configuration destination clients are built from.
    pub cfg: aws_config::SdkConfig,
    /// The primary region (where the function runs).
    pub region: String,
    pub primary: Snapshots,
    pub objects: Objects,
    pub registry: Registry,
    pub topic: Topic,
    pub max_in_flight: usize,
    /// Snapshots carried out at once ([`DEFAULT_CONCURRENCY`]).
    pub concurrency: usize,
    /// Spaces the copy and export calls of every task.
    pub pace: Pacer,
    /// The configurations acting through each vault role (by role and
    /// external id), kept for the container's life: the role is assumed
    /// once, and its credentials renewed by their provider when they near
    /// expiry, instead of one AssumeRole per event.
    pub(crate) vault_cfgs: VaultConfigs,
}

/// See [`Replicator::vault_cfgs`].
pub(crate) type VaultConfigs = std::sync::Arc<
    tokio::sync::Mutex<std::collections::BTreeMap<(String, Option<String>), aws_config::SdkConfig>>,
>;

impl Replicator {
    pub fn new(
        cfg: &aws_config::SdkConfig,
        region: &str,
        registry: Registry,
        topic: Topic,
        max_in_flight: usize,
    ) -> Replicator {
        Replicator {
            cfg: cfg.clone(),
            region: region.to_string(),
            primary: Snapshots::for_region(cfg, region),
            objects: Objects::new(s3_client(cfg, region)),
            registry,
            topic,
            max_in_flight,
            concurrency: DEFAULT_CONCURRENCY,
            pace: Pacer::per_second(COPIES_PER_SECOND),
            vault_cfgs: VaultConfigs::default(),
        }
    }

    fn dest(&self, region: &str) -> Dest {
        let cfg = self
            .cfg
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build();
        Dest {
            snapshots: Snapshots::for_region(&self.cfg, region),
            kms: Kms::new(aws_sdk_kms::Client::new(&cfg)),
            objects: Objects::new(s3_client(&self.cfg, region)),
        }
    }

    /// Handles one input.
    pub async fn run(&self, doc: &PolicyDocument, input: &ReplicatorInput) -> ReplicationReport {
        let now = input.time();
        let mut report = ReplicationReport {
            function: FUNCTION.into(),
            time: Some(now),
            ..Default::default()
        };
        let (sources, only) = match input {
            ReplicatorInput::Nothing { reason, .. } => {
                report.mode = "nothing".into();
                report.note = Some(reason.clone());
                return report;
            }
            ReplicatorInput::Snapshot {
                kind, id, region, ..
            } => {
                report.mode = "snapshot".into();
                if let Some(r) = region.as_deref().filter(|r| *r != self.region) {
                    report.note = Some(format!(
                        "event from {r}: Rempart copies snapshots of its primary region {}",
                        self.region
                    ));
                    return report;
                }
                match self.source_by_id(*kind, id).await {
                    // A vault stage's completion: its source's turn.
                    Ok(Some(s)) if rempart_core::vault::is_stage(&s) => {
                        let of = s.tags.get(rempart_core::tags::TAG_VAULT_STAGE_OF);
                        let source = of.and_then(|a| a.rsplit([':', '/']).next());
                        match source {
                            Some(sid) => match self.source_by_id(*kind, sid).await {
                                Ok(Some(s)) => (vec![s], Some(*kind)),
                                Ok(None) => {
                                    report.note =
                                        Some(format!("the source of stage {id} no longer exists"));
                                    return report;
                                }
                                Err(e) => {
                                    report.errors.push((&e).into());
                                    return report;
                                }
                            },
                            None => return report,
                        }
                    }
                    Ok(Some(s)) => (vec![s], Some(*kind)),
                    Ok(None) => {
                        report.note = Some(format!("{kind} snapshot {id} no longer exists"));
                        return report;
                    }
                    Err(e) => {
                        report.errors.push((&e).into());
                        return report;
                    }
                }
            }
            ReplicatorInput::Sweep { only, .. } => {
                report.mode = "sweep".into();
                let listed = match only {
                    Some(ResourceKind::ElasticacheRedis) => {
                        self.primary.elasticache.managed_snapshots().await
                    }
                    _ => self.primary.list_managed().await,
                };
                match listed {
                    Ok(mut all) => {
                        all.retain(|s| only.is_none_or(|k| s.kind == k));
                        (all, *only)
                    }
                    Err(e) => {
                        report.errors.push((&e).into());
                        return report;
                    }
                }
            }
        };

        // Destination regions and keys that these sources need.
        let mut targets: BTreeMap<String, BTreeMap<String, (String, DrTarget)>> = BTreeMap::new();
        for s in &sources {
            if let Ok((pname, policy)) = ignore_reason(doc, s) {
                for t in &policy.dr {
                    targets
                        .entry(t.region.0.clone())
                        .or_default()
                        .entry(t.kms_key.clone())
                        .or_insert_with(|| (pname.to_string(), t.clone()));
                }
            }
        }
        let families: BTreeSet<Family> =
            sources.iter().filter_map(|s| Family::of(s.kind)).collect();
        let mut dests = BTreeMap::new();
        let mut dr: BTreeMap<String, Vec<SnapshotInfo>> = BTreeMap::new();
        let mut keys = BTreeMap::new();
        let mut stored: BTreeMap<String, BTreeMap<String, ReplicaState>> = BTreeMap::new();
        for (region, wanted) in &targets {
            let d = self.dest(region);
            let listed = async {
                let mut out = Vec::new();
                if families.contains(&Family::Rds) {
                    out.extend(d.snapshots.rds.managed_snapshots().await?);
                }
                if families.contains(&Family::Ebs) {
                    out.extend(d.snapshots.ec2.managed_snapshots().await?);
                }
                for (key, (pname, target)) in wanted {
                    let facts = d.kms.describe(key).await?;
                    keys.insert(
                        (region.clone(), key.clone()),
                        check_key(pname, target, facts.as_ref()),
                    );
                }
                Ok::<_, Error>(out)
            }
            .await;
            match listed {
                Ok(l) => {
                    dr.insert(region.clone(), l);
                }
                Err(e) => {
                    // Without the destination's listing a copy could be made twice.
                    report.errors.push((&e).into());
                    return report;
                }
            }
            match self.registry.replicas(region).await {
                Ok(r) => {
                    stored.insert(region.clone(), r);
                }
                Err(e) => report.bookkeeping_errors.push(e.to_string()),
            }
            dests.insert(region.clone(), d);
        }
        // Redis exports are recorded under the primary region.
        if sources
            .iter()
            .any(|s| s.kind == ResourceKind::ElasticacheRedis)
            && !stored.contains_key(&self.region)
        {
            match self.registry.replicas(&self.region).await {
                Ok(r) => {
                    stored.insert(self.region.clone(), r);
                }
                Err(e) => report.bookkeeping_errors.push(e.to_string()),
            }
        }

        let (planned, ignored) = plan(doc, &sources, &dr, &keys, self.max_in_flight);
        report.ignored = ignored;
        let mut slots = in_flight(&dr);
        let (cause, to, states) = (input.cause(), &dests, &stored);
        let done = bounded(&planned, self.concurrency, |p| async move {
            let item = self.act(p, cause, to.get(&p.region)).await;
            let prior = states.get(&p.region).and_then(|m| m.get(&p.source.arn));
            let errors = self.bookkeep(p, &item, prior, now, cause).await;
            (item, errors)
        })
        .await;
        for (p, (item, mut errors)) in planned.iter().zip(done) {
            if item.state == "started" {
                if let Some(f) = Family::of(p.source.kind) {
                    *slots.entry((p.region.clone(), f)).or_insert(0) += 1;
                }
            }
            report.bookkeeping_errors.append(&mut errors);
            report.items.push(item);
        }
        report.in_flight = slots
            .into_iter()
            .map(|((r, f), n)| {
                (
                    format!(
                        "{r}/{}",
                        serde_json::to_value(f)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default()
                    ),
                    n,
                )
            })
            .collect();

        if only != Some(ResourceKind::ElasticacheRedis) {
            let vault_states = self
                .vaults(doc, &sources, now, input.cause(), &mut report)
                .await;
            stored.extend(vault_states);
        }

        if matches!(input, ReplicatorInput::Sweep { .. }) {
            if only.is_none() {
                self.forget_gone(&sources, &stored, &mut report).await;
            }
            self.lag_digest(doc, &mut report, now, input.cause()).await;
        }
        report
    }

    async fn source_by_id(&self, kind: ResourceKind, id: &str) -> Result<Option<SnapshotInfo>> {
        match kind {
            ResourceKind::RdsInstance => self.primary.rds.instance_snapshot_by_id(id).await,
            ResourceKind::AuroraCluster => self.primary.rds.cluster_snapshot_by_id(id).await,
            ResourceKind::EbsVolume => self.primary.ec2.snapshot_by_id(id).await,
            ResourceKind::ElasticacheRedis => Ok(self
                .primary
                .elasticache
                .managed_snapshots()
                .await?
                .into_iter()
                .find(|s| s.id == id)),
        }
    }

    /// Carries out one verdict.
    async fn act(&self, p: &Planned, cause: Option<&str>, dest: Option<&Dest>) -> Item {
        let s = &p.source;
        let mut item = Item::of(s, &p.policy, &p.region, p.verdict.state());
        let outcome: Result<()> = match &p.verdict {
            Verdict::Available { copy } | Verdict::InFlight { copy } => {
                item.copy = copy.clone();
                Ok(())
            }
            Verdict::Deferred { reason }
            | Verdict::Blocked { reason }
            | Verdict::Waiting { reason } => {
                item.reason = reason.clone();
                Ok(())
            }
            Verdict::Copy { target, kms_key } => match dest {
                None => Err(Error::Config(format!("no adapters for {}", p.region))),
                Some(d) => {
                    self.copy(s, &p.region, target, kms_key, cause, d, &mut item)
                        .await
                }
            },
            Verdict::Export { bucket, prefix } => {
                let url = format!("s3://{bucket}/{prefix}");
                item.copy = url.clone();
                item.reason = "export to the primary region's bucket started".into();
                self.pace.wait().await;
                match self.primary.elasticache.export(&s.id, prefix, bucket).await {
                    Ok(()) => {
                        self.primary
                            .elasticache
                            .tag_snapshot(&s.arn, TAG_EXPORT, &url)
                            .await
                    }
                    Err(e) => Err(e),
                }
            }
            Verdict::Transfer {
                from_bucket,
                prefix,
                to_bucket,
                kms_key,
            } => match dest {
                None => Err(Error::Config(format!("no adapters for {}", p.region))),
                Some(d) => {
                    self.transfer(
                        s,
                        &p.region,
                        from_bucket,
                        prefix,
                        to_bucket,
                        kms_key,
                        d,
                        &mut item,
                    )
                    .await
                }
            },
        };
        settle(&mut item, outcome);
        item
    }

    #[allow(clippy::too_many_arguments)]
    async fn copy(
        &self,
        s: &SnapshotInfo,
        region: &str,
        target: &str,
        kms_key: &str,
        cause: Option<&str>,
        d: &Dest,
        item: &mut Item,
    ) -> Result<()> {
        let tags = copy_tags(s);
        match Family::of(s.kind) {
            Some(Family::Rds) => {
                self.pace.wait().await;
                let created = d
                    .snapshots
                    .rds
                    .copy_snapshot(s.kind, &s.arn, target, Some(kms_key), &tags)
                    .await?;
                item.copy = target.to_string();
                if let rempart_aws::Created::AlreadyThere(_) = created {
                    item.state = "in-flight".into();
                    item.reason = "the copy already exists (a second delivery)".into();
                }
                Ok(())
            }
            Some(Family::Ebs) => {
                let claim = format!("copy#{region}#{}", s.id);
                let Some(holder) = self.claim(&claim, cause).await? else {
                    item.state = "waiting".into();
                    item.reason = "another delivery is copying it".into();
                    return Ok(());
                };
                let description = format!(
                    "Rempart DR copy of {} ({}) taken {}",
                    s.id,
                    self.region,
                    s.taken_at().map(rfc3339).unwrap_or_default()
                );
                self.pace.wait().await;
                match d
                    .snapshots
                    .ec2
                    .copy_snapshot(&self.region, &s.id, kms_key, &description, &tags)
                    .await
                {
                    Ok(id) => {
                        item.copy = id;
                        Ok(())
                    }
                    Err(e) => {
                        self.release(&claim, &holder).await;
                        Err(e)
                    }
                }
            }
            None => Err(Error::Config(format!("{} is not copied this way", s.kind))),
        }
    }

    /// Takes a copy claim (a second delivery of the same event must not
    /// copy again: EBS names its copies, a stage or an upload is made once).
    /// `None`: another delivery holds it.
    pub(crate) async fn claim(&self, claim: &str, cause: Option<&str>) -> Result<Option<String>> {
        let holder = cause.unwrap_or("unknown-event").to_string();
        let wall = Utc::now();
        let got = self
            .registry
            .claim(claim, &holder, wall, wall + CLAIM_LEASE)
            .await?;
        Ok(got.then_some(holder))
    }

    /// Releases a claim taken by [`Replicator::claim`] (after a failure: the
    /// next delivery may try again).
    pub(crate) async fn release(&self, claim: &str, holder: &str) {
        if let Err(r) = self.registry.release(claim, holder).await {
            tracing::warn!(error = %r, "could not release the copy claim {claim}");
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn transfer(
        &self,
        s: &SnapshotInfo,
        region: &str,
        from_bucket: &str,
        prefix: &str,
        to_bucket: &str,
        kms_key: &str,
        d: &Dest,
        item: &mut Item,
    ) -> Result<()> {
        let objects = self.objects.list(from_bucket, prefix).await?;
        if objects.is_empty() {
            item.state = "waiting".into();
            item.reason = format!("ElastiCache has not written s3://{from_bucket}/{prefix}* yet");
            return Ok(());
        }
        let tags = tagging(&[(TAG_MANAGED, "true"), (TAG_COPY_OF, &s.arn)]);
        for o in &objects {
            d.objects
                .copy_in(from_bucket, o, to_bucket, kms_key, &tags)
                .await?;
        }
        let url = format!("s3://{to_bucket}/{prefix}");
        self.primary
            .elasticache
            .tag_snapshot(&s.arn, &dr_copy_tag(region), &url)
            .await?;
        item.state = "available".into();
        item.copy = url;
        item.reason = format!("{} file(s) copied", objects.len());
        Ok(())
    }

    /// Writes the state change (if any) to the registry and announces it.
    /// Returns the writes that failed.
    pub(crate) async fn bookkeep(
        &self,
        p: &Planned,
        item: &Item,
        prior: Option<&ReplicaState>,
        now: DateTime<Utc>,
        cause: Option<&str>,
    ) -> Vec<String> {
        let mut errors = Vec::new();
        let unchanged = prior.is_some_and(|r| {
            r.state == item.state && (item.copy.is_empty() || r.copy == item.copy)
        });
        if unchanged {
            return errors;
        }
        let s = &p.source;
        let since = s.taken_at();
        let resource = format!("{}#{}#{}", s.kind, self.region, s.source_id());
        let state = ReplicaState {
            region: p.region.clone(),
            source_arn: s.arn.clone(),
            snapshot: s.id.clone(),
            kind: s.kind.to_string(),
            resource: resource.clone(),
            policy: p.policy.clone(),
            state: item.state.clone(),
            copy: item.copy.clone(),
            reason: item
                .error
                .as_ref()
                .map(|e| format!("{}: {}", e.code, e.message))
                .unwrap_or_else(|| item.reason.clone()),
            since,
            updated: Some(now),
        };
        if let Err(e) = self.registry.put_replica(&state).await {
            errors.push(e.to_string());
        }
        let is_export = matches!(p.verdict, Verdict::Export { .. });
        let (action, severity) = match item.state.as_str() {
            "started" if is_export => ("copy.export-started", Severity::Info),
            "started" => ("copy.started", Severity::Info),
            "available" => ("copy.completed", Severity::Info),
            "deferred" => ("copy.deferred", Severity::Info),
            "blocked" => ("copy.blocked", Severity::Warning),
            "failed" => ("copy.failed", Severity::Warning),
            // in-flight and waiting: state only, nothing to announce.
            _ => return errors,
        };
        let record = RegistryRecord {
            resource,
            time: now,
            action: action.into(),
            subject: format!("{}/{}", p.region, s.id),
            outcome: if item.state == "failed" || item.state == "blocked" {
                Outcome::Failure
            } else {
                Outcome::Success
            },
            policy: Some(p.policy.clone()),
            region: p.region.clone(),
            function: FUNCTION.into(),
            details: json!({
                "source": s.id,
                "source_arn": s.arn,
                "source_region": self.region,
                "copy": item.copy,
                "reason": state.reason,
                "taken_at": since.map(rfc3339),
                "lag_seconds": lag(s, now).map(|d| d.num_seconds()),
            }),
            cause: cause.map(str::to_string),
        };
        match self.registry.record_once(&record).await {
            Ok(true) => {
                let summary = match item.state.as_str() {
                    "started" if is_export => {
                        format!("Export of {} to {} started", s.id, item.copy)
                    }
                    "started" => {
                        format!("Copy of {} to {} started ({})", s.id, p.region, item.copy)
                    }
                    "available" => format!(
                        "DR copy of {} is available in {} ({})",
                        s.id, p.region, item.copy
                    ),
                    "deferred" => {
                        format!("Copy of {} to {} deferred: {}", s.id, p.region, item.reason)
                    }
                    _ => format!(
                        "Copy of {} to {} {}: {}",
                        s.id, p.region, item.state, state.reason
                    ),
                };
                let resource = ResourceSummary {
                    kind: s.kind.to_string(),
                    id: s.source_id(),
                    arn: s
                        .tags
                        .get(rempart_core::tags::TAG_SOURCE)
                        .cloned()
                        .unwrap_or_default(),
                };
                let a = record.announcement(severity, Some(resource), summary);
                if let Err(e) = self.topic.publish(&a).await {
                    errors.push(e.to_string());
                }
            }
            Ok(false) => {}
            Err(e) => errors.push(e.to_string()),
        }
        errors
    }

    /// Removes the DR state of source snapshots that are gone (deleted by
    /// retention): the registry keeps their history, not their state.
    async fn forget_gone(
        &self,
        sources: &[SnapshotInfo],
        stored: &BTreeMap<String, BTreeMap<String, ReplicaState>>,
        report: &mut ReplicationReport,
    ) {
        let live: BTreeSet<&str> = sources.iter().map(|s| s.arn.as_str()).collect();
        let gone = stored.iter().flat_map(|(region, states)| {
            states
                .keys()
                .filter(|a| !live.contains(a.as_str()))
                .map(move |arn| (region, arn))
        });
        let results = bounded(gone, self.concurrency, |(region, arn)| {
            self.registry.delete_replica(region, arn)
        })
        .await;
        for e in results.into_iter().filter_map(|r| r.err()) {
            report.bookkeeping_errors.push(e.to_string());
        }
    }

    /// One `copy.lag` announcement per sweep: per DR region, how many
    /// snapshots have an available copy, how many do not and the oldest of
    /// those; a warning when one is missing for longer than its policy's
    /// RPO, or blocked, or failed.
    async fn lag_digest(
        &self,
        doc: &PolicyDocument,
        report: &mut ReplicationReport,
        now: DateTime<Utc>,
        cause: Option<&str>,
    ) {
        let lags = lag_by_region(doc, &report.items, now);
        let warn = lags
            .values()
            .any(|l| l.over_rpo > 0 || l.blocked > 0 || l.failed > 0);
        let summary = if lags.is_empty() {
            "DR copies: nothing to copy".to_string()
        } else {
            format!(
                "DR copies: {}",
                lags.iter()
                    .map(|(r, l)| format!(
                        "{r}: {} available, {} missing{}",
                        l.available,
                        l.missing,
                        l.oldest_missing_seconds
                            .map(|s| format!(" (oldest {})", human(s)))
                            .unwrap_or_default()
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        };
        let record = RegistryRecord {
            resource: format!("{FUNCTION}#{}", self.region),
            time: now,
            action: "copy.lag".into(),
            subject: "sweep".into(),
            outcome: if warn {
                Outcome::Failure
            } else {
                Outcome::Success
            },
            policy: None,
            region: self.region.clone(),
            function: FUNCTION.into(),
            details: json!({ "regions": lags, "in_flight": report.in_flight }),
            cause: cause.map(str::to_string),
        };
        match self.registry.record_once(&record).await {
            Ok(true) => {
                let a = record.announcement(
                    if warn {
                        Severity::Warning
                    } else {
                        Severity::Info
                    },
                    None,
                    summary,
                );
                if let Err(e) = self.topic.publish(&a).await {
                    report.bookkeeping_errors.push(e.to_string());
                }
            }
            Ok(false) => {}
            Err(e) => report.bookkeeping_errors.push(e.to_string()),
        }
    }
}

/// Records in `item` how carrying out its verdict ended: AWS's copy limit
/// (`ResourceLimitExceeded`) defers it to the next sweep, any other error
/// fails it.
pub(crate) fn settle(item: &mut Item, outcome: Result<()>) {
    if let Err(e) = outcome {
        if matches!(&e, Error::Aws { code, .. } if code == "ResourceLimitExceeded") {
            item.state = "deferred".into();
            item.reason = format!("AWS refused the copy for now ({e}); the next sweep copies it");
        } else {
            item.state = "failed".into();
            item.error = Some((&e).into());
        }
    }
}

fn s3_client(cfg: &aws_config::SdkConfig, region: &str) -> aws_sdk_s3::Client {
    let cfg = cfg
        .to_builder()
        .region(aws_config::Region::new(region.to_string()))
        .build();
    aws_sdk_s3::Client::new(&cfg)
}
