//! The retention-enforcer's loop: in every region a policy covers, list
//! Rempart's snapshots, ask the core for the plan
//! (`rempart_core::enforcement`), and carry out the two-phase deletion
//! (mark with the time a snapshot becomes deletable, delete on a later run
//! if it is still to be removed); check the backup buckets; record and
//! announce.
//!
//! The tag and delete calls of every group run [`DEFAULT_CONCURRENCY`] at a
//! time, each waiting for its slot in its region's [`Pacer`] (12 a second:
//! RDS's sustained rate for mutating calls), so that thousands of deletions
//! fit in one invocation without being throttled; the groups' registry
//! writes run the same number at a time.

use chrono::{DateTime, Utc};
use rempart_aws::error::{Error, Result};
use rempart_aws::pace::{bounded, Pacer};
use rempart_aws::registry::Registry;
use rempart_aws::s3::Buckets;
use rempart_aws::snapshots::Snapshots;
use rempart_aws::topic::Topic;
use rempart_core::announce::Announcement;
use rempart_core::announce::{Outcome, RegistryRecord, Severity, SCHEMA};
use rempart_core::buckets::{drift, BucketRule, Drift, ReplicationRule, REPLICATION_ROLE_ENV};
use rempart_core::policy::PolicyDocument;
use rempart_core::tags::*;
use rempart_core::time::rfc3339;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

use rempart_core::enforcement::*;

/// The enforcer with its adapters: one [`Snapshots`] per region.
#[derive(Clone, Debug)]
pub struct Enforcer {
    pub primary: String,
    pub regions: Vec<Snapshots>,
    pub registry: Registry,
    pub topic: Topic,
    /// The policy's backup buckets, each with the S3 adapter of its region.
    pub buckets: Vec<(BucketRule, Buckets)>,
    /// The role S3 replicates with, named in each replication rule written.
    pub replication_role: Option<String>,
    /// In a backup account: the production account whose vault copies are
    /// managed ([`vault_scope`]); everything else there is left untouched.
    pub vault_of: Option<String>,
    /// Mutating calls a second in each region ([`DEFAULT_PACE`]; 0: not
    /// paced, for the emulator).
    pub pace: u32,
    /// Calls in progress at once ([`DEFAULT_CONCURRENCY`]).
    pub concurrency: usize,
}

/// The RDS API budget Rempart stays within: 12 mutating requests a second
/// per region.
pub const DEFAULT_PACE: u32 = 12;
/// Tag and delete calls in progress at once: enough to hide a call's round
/// trip behind the others, few enough that the pacer sets the rate.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// What one group's tag and delete calls came to, before the bookkeeping.
struct Applied {
    counts: GroupCounts,
    deletions: Vec<RegistryRecord>,
    failed: Vec<Failure>,
}

impl Enforcer {
    /// One run at `now` (event time). `dry_run` decides and reports only.
    pub async fn run(
        &self,
        doc: &PolicyDocument,
        now: DateTime<Utc>,
        dry_run: bool,
        cause: Option<&str>,
    ) -> EnforcerReport {
        let mut report = EnforcerReport {
            function: FUNCTION.into(),
            time: Some(now),
            dry_run,
            regions: self.regions.iter().map(|r| r.region.clone()).collect(),
            ..Default::default()
        };
        let mut all = Vec::new();
        for r in &self.regions {
            match r.list_managed().await {
                Ok(mut s) => all.append(&mut s),
                Err(e) => report.failed.push(Failure {
                    region: r.region.clone(),
                    snapshot: "*".into(),
                    step: "list".into(),
                    retryable: e.is_retryable(),
                    error: e.to_string(),
                }),
            }
        }
        if let Some(production) = &self.vault_of {
            let (ours, mut others) = vault_scope(std::mem::take(&mut all), production);
            all = ours;
            report.untouched.append(&mut others);
        }
        let copies: BTreeSet<(String, String)> = all
            .iter()
            .filter(|s| rempart_core::model::is_available(s))
            .filter_map(|s| Some((s.tags.get(TAG_COPY_OF)?.clone(), s.region.clone())))
            .collect();
        let (plans, mut untouched) = decide(doc, all, &copies, now);
        report.untouched.append(&mut untouched);
        let applied = self.apply(&plans, dry_run, now, cause).await;
        let bookkept = bounded(plans.iter().zip(applied), self.concurrency, |(g, a)| {
            self.bookkeep(g, a, now, dry_run, cause)
        })
        .await;
        for (counts, mut failed, mut errors) in bookkept {
            report.groups.push(counts);
            report.failed.append(&mut failed);
            report.bookkeeping_errors.append(&mut errors);
        }
        if self.vault_of.is_some() {
            // The isolated RPO as this backup account sees it, from what it
            // holds (not from production's word); announced in the digest
            // and measured for the vault module's alarm. Not measured when
            // a listing failed: a partial view would clear the alarm.
            report.held = held_copies(doc, &plans, now);
            for h in report.held.iter().filter(|h| h.stale) {
                tracing::warn!(
                    resource = %h.source,
                    kind = %h.kind,
                    newest_copy = %h.newest_copy,
                    age_s = h.age_s,
                    rpo_s = h.rpo_s,
                    "the newest copy held here is older than the policy's RPO"
                );
            }
            if report.failed.iter().all(|f| f.step != "list") {
                rempart_aws::metrics::emit(&held_emf_lines(&report.held, &self.primary, now));
            }
        }
        report.decisions = plans;
        for (rule, s3) in &self.buckets {
            let outcome = self
                .bucket(rule, s3, now, dry_run, cause, &mut report)
                .await;
            report.buckets.push(outcome);
        }
        if !dry_run {
            self.digest(&report, now, cause).await;
            rempart_aws::metrics::emit(&emf_lines(&report.groups, &self.primary, now));
        }
        report
    }

    /// Carries out every group's tag and delete calls, a bounded number at
    /// a time across groups, each paced in its region; counts each group's
    /// decisions in the plan's order.
    async fn apply(
        &self,
        plans: &[GroupPlan],
        dry_run: bool,
        now: DateTime<Utc>,
        cause: Option<&str>,
    ) -> Vec<Applied> {
        let paces: BTreeMap<&str, Pacer> = self
            .regions
            .iter()
            .map(|r| (r.region.as_str(), Pacer::per_second(self.pace)))
            .collect();
        // The calls to make, as (group, decision); none in a dry run.
        let calls: Vec<(usize, usize)> = plans
            .iter()
            .enumerate()
            .flat_map(|(gi, g)| {
                g.decisions
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| !matches!(d.step, Step::Keep | Step::Wait { .. }))
                    .map(move |(di, _)| (gi, di))
            })
            .filter(|_| !dry_run)
            .collect();
        let results = bounded(calls, self.concurrency, |(gi, di)| {
            let (g, paces) = (&plans[gi], &paces);
            async move {
                let d = &g.decisions[di];
                let res = match (
                    self.regions.iter().find(|r| r.region == g.region),
                    paces.get(g.region.as_str()),
                ) {
                    (Some(adapters), Some(pace)) => {
                        pace.wait().await;
                        match &d.step {
                            Step::Mark { delete_after } => {
                                adapters
                                    .tag(&d.snapshot, TAG_DELETE_AFTER, &rfc3339(*delete_after))
                                    .await
                            }
                            Step::Unmark => adapters.untag(&d.snapshot, TAG_DELETE_AFTER).await,
                            _ => adapters.delete(&d.snapshot).await,
                        }
                    }
                    _ => Err(Error::Config(format!("no adapters for {}", g.region))),
                };
                ((gi, di), res)
            }
        })
        .await;
        let mut results: BTreeMap<(usize, usize), Result<()>> = results.into_iter().collect();
        plans
            .iter()
            .enumerate()
            .map(|(gi, g)| {
                let mut a = Applied {
                    counts: GroupCounts {
                        region: g.region.clone(),
                        kind: g.kind.to_string(),
                        source: g.source.clone(),
                        policy: g.policy.clone(),
                        ..Default::default()
                    },
                    deletions: Vec::new(),
                    failed: Vec::new(),
                };
                let c = &mut a.counts;
                for (di, d) in g.decisions.iter().enumerate() {
                    let by_floor =
                        d.reasons.iter().all(|r| r.starts_with("floor:")) && !d.reasons.is_empty();
                    match (&d.step, results.remove(&(gi, di))) {
                        (Step::Keep, _) => {
                            c.kept += 1;
                            c.kept_by_floor += usize::from(by_floor);
                        }
                        (Step::Wait { .. }, _) => c.waiting += 1,
                        (Step::Mark { .. }, None | Some(Ok(()))) => c.marked += 1,
                        (Step::Delete, None) => c.deleted += 1,
                        (Step::Unmark, None) => c.unmarked += 1,
                        (Step::Unmark, Some(Ok(()))) => {
                            c.unmarked += 1;
                            c.kept += 1;
                        }
                        (Step::Delete, Some(Ok(()))) => {
                            c.deleted += 1;
                            a.deletions.push(Self::deletion_record(g, d, now, cause));
                        }
                        (step, Some(Err(e))) => {
                            c.failed += 1;
                            a.failed.push(Failure {
                                region: g.region.clone(),
                                snapshot: d.id.clone(),
                                step: format!("{step:?}")
                                    .split_whitespace()
                                    .next()
                                    .unwrap_or("")
                                    .to_lowercase(),
                                retryable: e.is_retryable(),
                                error: e.to_string(),
                            });
                        }
                    }
                }
                a
            })
            .collect()
    }

    /// One group's registry writes: the `snapshot.deleted` records and (not
    /// in a dry run) its `retention.applied` record. Returns its counts,
    /// failures and the writes that failed.
    async fn bookkeep(
        &self,
        g: &GroupPlan,
        a: Applied,
        now: DateTime<Utc>,
        dry_run: bool,
        cause: Option<&str>,
    ) -> (GroupCounts, Vec<Failure>, Vec<String>) {
        let Applied {
            counts: c,
            deletions,
            failed,
        } = a;
        let mut errors = Vec::new();
        if let Err(e) = self.registry.record_many(&deletions).await {
            errors.push(format!(
                "registry snapshot.deleted ({} records): {e}",
                deletions.len()
            ));
        }
        if !dry_run {
            let rec = RegistryRecord {
                resource: format!("{}#{}#{}", g.kind, g.region, g.source),
                time: now,
                action: "retention.applied".into(),
                subject: g.place.into(),
                outcome: if c.failed == 0 {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
                policy: Some(g.policy.clone()),
                region: g.region.clone(),
                function: FUNCTION.into(),
                details: applied_details(&c, &g.decisions),
                cause: cause.map(str::to_string),
            };
            if let Err(e) = self.registry.record_once(&rec).await {
                errors.push(format!("registry retention.applied {}: {e}", g.source));
            }
        }
        (c, failed, errors)
    }

    async fn bucket(
        &self,
        rule: &BucketRule,
        s3: &Buckets,
        now: DateTime<Utc>,
        dry_run: bool,
        cause: Option<&str>,
        report: &mut EnforcerReport,
    ) -> BucketOutcome {
        let region = rule
            .region
            .as_ref()
            .map(|r| r.0.clone())
            .unwrap_or_else(|| self.primary.clone());
        let mut out = BucketOutcome {
            bucket: rule.name.clone(),
            region,
            drift: Drift::default(),
            corrected: false,
            error: None,
            retryable: false,
        };
        let mut state = match s3.state(&rule.name).await {
            Ok(s) => s,
            Err(e) => {
                out.retryable = e.is_retryable();
                out.error = Some(e.to_string());
                return out;
            }
        };
        if rule.replication.is_some() {
            match s3.replication(&rule.name).await {
                Ok(r) => state.replication = r,
                Err(e) => {
                    out.retryable = e.is_retryable();
                    out.error = Some(e.to_string());
                    return out;
                }
            }
        }
        let role = self.replication_role.as_deref();
        out.drift = drift(rule, &state, role);
        if dry_run || out.drift.is_none() {
            return out;
        }
        // The replication rule to write, checked before anything changes:
        // without a usable role nothing is written and the bucket says why.
        let replication = match (&out.drift.replication, &rule.replication) {
            (Some(_), Some(want)) => {
                let rule = match role {
                    None => Err(format!(
                        "replication of {} to {} is wanted but {REPLICATION_ROLE_ENV} is not set (Terraform sets it when bucket_replicas is)",
                        rule.name, want.bucket
                    )),
                    Some(r) => ReplicationRule::wanted(want, r)
                        .map(|w| (r, w))
                        .map_err(|e| format!("{REPLICATION_ROLE_ENV}: {e}")),
                };
                match rule {
                    Ok(w) => Some(w),
                    Err(e) => {
                        out.error = Some(e);
                        return out;
                    }
                }
            }
            _ => None,
        };
        // Versioning first: S3 refuses replication from a bucket without it.
        let mut res = Ok(());
        if out.drift.enable_versioning {
            res = s3.enable_versioning(&rule.name).await;
        }
        if res.is_ok() && out.drift.lifecycle.is_some() {
            res = s3.put_lifecycle(&rule.name, &rule.lifecycle).await;
        }
        if let (true, Some((r, w))) = (res.is_ok(), &replication) {
            res = s3.put_replication(&rule.name, r, w).await;
        }
        match res {
            Ok(()) => {
                out.corrected = true;
                let rec = RegistryRecord {
                    resource: format!("s3-bucket#{}#{}", out.region, rule.name),
                    time: now,
                    action: "bucket.corrected".into(),
                    subject: rfc3339(now),
                    outcome: Outcome::Success,
                    policy: None,
                    region: out.region.clone(),
                    function: FUNCTION.into(),
                    details: json!({ "drift": out.drift, "before": state }),
                    cause: cause.map(str::to_string),
                };
                if let Err(e) = self.registry.record_once(&rec).await {
                    report
                        .bookkeeping_errors
                        .push(format!("registry bucket.corrected {}: {e}", rule.name));
                }
            }
            Err(e) => {
                out.retryable = e.is_retryable();
                out.error = Some(e.to_string());
            }
        }
        out
    }

    fn deletion_record(
        g: &GroupPlan,
        d: &SnapshotDecision,
        now: DateTime<Utc>,
        cause: Option<&str>,
    ) -> RegistryRecord {
        RegistryRecord {
            resource: format!("{}#{}#{}", g.kind, g.region, g.source),
            time: now,
            action: "snapshot.deleted".into(),
            subject: d.id.clone(),
            outcome: Outcome::Success,
            policy: Some(g.policy.clone()),
            region: g.region.clone(),
            function: FUNCTION.into(),
            details: json!({ "taken_at": rfc3339(d.time), "marked_until": d.snapshot.tags.get(TAG_DELETE_AFTER) }),
            cause: cause.map(str::to_string),
        }
    }

    /// One announcement for the whole run.
    async fn digest(&self, report: &EnforcerReport, now: DateTime<Utc>, cause: Option<&str>) {
        let t = report.totals();
        let severity = if report.failed.is_empty()
            && report.untouched.is_empty()
            && report.held.iter().all(|h| !h.stale)
            && report
                .buckets
                .iter()
                .all(|b| b.drift.is_none() && b.error.is_none())
        {
            Severity::Info
        } else {
            Severity::Warning
        };
        let a = Announcement {
            schema: SCHEMA.into(),
            kind: "retention.digest".into(),
            severity,
            time: now,
            function: FUNCTION.into(),
            region: self.primary.clone(),
            resource: None,
            policy: None,
            summary: report.summary(),
            details: json!({
                "totals": t,
                "groups": report.groups,
                "untouched": report.untouched,
                "failed": report.failed,
                "buckets": report.buckets.iter().filter(|b| !b.drift.is_none() || b.error.is_some()).collect::<Vec<_>>(),
                "stale": report.held.iter().filter(|h| h.stale).collect::<Vec<_>>(),
            }),
            cause: cause.map(str::to_string),
        };
        if let Err(e) = self.topic.publish(&a).await {
            tracing::error!(error = %e, "retention digest not announced");
        }
    }
}

/// Clears every deletion mark in the given regions (`rempart retention
/// undo`). Returns the snapshots unmarked.
pub async fn undo(regions: &[Snapshots]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for r in regions {
        for s in r.list_managed().await? {
            if s.tags.contains_key(TAG_DELETE_AFTER) {
                match r.untag(&s, TAG_DELETE_AFTER).await {
                    Ok(()) => out.push(format!("{} {} {}", r.region, s.kind, s.id)),
                    Err(e) => errors.push(format!("{} {}: {e}", r.region, s.id)),
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Error::Retry(format!(
            "unmarked {}; failed: {}",
            out.join(", "),
            errors.join("; ")
        )))
    }
}
