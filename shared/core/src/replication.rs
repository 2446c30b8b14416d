//! The snapshot-replicator's decisions (pure): which Rempart snapshots of
//! the primary region need a copy in which DR region, which copies are done
//! or in flight, which must wait for a free copy slot, and which cannot be
//! made until a human fixes something.
//!
//! Copies of RDS and Aurora snapshots keep the source's identifier (it is
//! unique per region, so a second delivery finds the copy there). EBS names
//! copies itself: a copy is found by its `rempart:copy-of` tag. ElastiCache
//! cannot copy across regions: a Redis snapshot is exported to the policy's
//! `export_bucket` (step 1), and its `.rdb` files are copied to each DR
//! region's bucket (step 2); tags on the snapshot record both steps.

use crate::error::ErrorInfo;
use crate::kind::ResourceKind;
use crate::model::{is_available, SnapshotInfo};
use crate::naming::parse_s3_url;
use crate::policy::{DrTarget, Policy, PolicyDocument};
use crate::tags::*;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

pub const FUNCTION: &str = "snapshot-replicator";

/// What KMS says about a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyFacts {
    pub arn: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, …
    pub state: String,
    /// `AWS` for an AWS-managed key (`aws/rds`, `aws/ebs`), `CUSTOMER` otherwise.
    pub manager: String,
}

/// AWS's limit of copies in flight per destination region and account,
/// for RDS and for EBS alike.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 20;

/// Which AWS copy limit a kind counts against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Rds,
    Ebs,
}

impl Family {
    pub fn of(kind: ResourceKind) -> Option<Family> {
        match kind {
            ResourceKind::RdsInstance | ResourceKind::AuroraCluster => Some(Family::Rds),
            ResourceKind::EbsVolume => Some(Family::Ebs),
            ResourceKind::ElasticacheRedis => None,
        }
    }
}

/// A snapshot AWS will never make available (failed, being deleted).
pub fn is_broken(s: &SnapshotInfo) -> bool {
    matches!(
        s.status.as_str(),
        "failed" | "error" | "incompatible-restore" | "deleting"
    )
}

/// The pre-flight verdict on one DR key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyCheck {
    /// Exists, enabled, customer-managed: its ARN.
    Usable(String),
    /// Cannot be used; the message says what to do.
    Problem(String),
}

/// Judges what KMS says about a DR key (`None`: no such key or alias).
pub fn check_key(policy: &str, target: &DrTarget, facts: Option<&KeyFacts>) -> KeyCheck {
    let region = &target.region;
    let key = &target.kms_key;
    let set_it = format!("set it as `kms_key` of the [[policies.{policy}.dr]] entry for {region}");
    match facts {
        None => KeyCheck::Problem(format!(
            "KMS key `{key}` does not exist in {region}: create a customer-managed key in {region} \
             (the Terraform module creates one; by hand: `aws kms create-key --region {region}`, then \
             `aws kms create-alias --region {region} --alias-name alias/rempart-dr --target-key-id <key id>`) \
             and {set_it}"
        )),
        Some(f) if f.state != "Enabled" => KeyCheck::Problem(format!(
            "KMS key `{key}` in {region} is {}: enable it (`aws kms enable-key --region {region} --key-id {}`; \
             a key pending deletion needs `aws kms cancel-key-deletion` first), or create another key and {set_it}",
            f.state, f.arn
        )),
        Some(f) if f.manager == "AWS" => KeyCheck::Problem(format!(
            "KMS key `{key}` in {region} is AWS-managed: its key policy cannot be restricted nor its \
             rotation controlled, so Rempart does not encrypt DR copies with it; create a customer-managed \
             key in {region} and {set_it}"
        )),
        Some(f) => KeyCheck::Usable(f.arn.clone()),
    }
}

/// What to do about one source snapshot and one destination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum Verdict {
    /// Start a copy (RDS, Aurora: `target` is the copy's identifier; EBS:
    /// empty, AWS names it).
    Copy { target: String, kms_key: String },
    /// Redis step 1: export to the primary region's bucket.
    Export { bucket: String, prefix: String },
    /// Redis step 2: copy the exported files to the DR bucket.
    Transfer {
        from_bucket: String,
        prefix: String,
        to_bucket: String,
        kms_key: String,
    },
    /// The copy exists and is available.
    Available { copy: String },
    /// The copy exists and AWS is still making it.
    InFlight { copy: String },
    /// No free copy slot in the destination region now; the next sweep
    /// (or event) copies it.
    Deferred { reason: String },
    /// Cannot be copied until a human acts; `reason` says what to do.
    Blocked { reason: String },
    /// Not ready yet (the source is being created or exported).
    Waiting { reason: String },
}

impl Verdict {
    /// The state name recorded in the registry.
    pub fn state(&self) -> &'static str {
        match self {
            Verdict::Copy { .. } | Verdict::Export { .. } | Verdict::Transfer { .. } => "started",
            Verdict::Available { .. } => "available",
            Verdict::InFlight { .. } => "in-flight",
            Verdict::Deferred { .. } => "deferred",
            Verdict::Blocked { .. } => "blocked",
            Verdict::Waiting { .. } => "waiting",
        }
    }
}

/// One source snapshot and one destination region, with the verdict. For a
/// Redis export the destination is the primary region itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Planned {
    pub source: SnapshotInfo,
    pub policy: String,
    pub region: String,
    pub verdict: Verdict,
}

/// A snapshot the replicator leaves alone, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ignored {
    pub snapshot: String,
    pub kind: ResourceKind,
    pub reason: String,
}

/// The tags a copy carries: the source's, without Rempart's per-snapshot
/// state (retention marks, verification, export bookkeeping) or AWS's
/// reserved `aws:` tags, plus `rempart:copy-of=<source ARN>`. At most the 50
/// tags AWS allows on a resource: when the source has that many, Rempart's
/// own `rempart:` tags are kept and the others (the instance's, which RDS
/// copies to its snapshots) dropped in key order.
pub fn copy_tags(source: &SnapshotInfo) -> Vec<(String, String)> {
    type Tags = Vec<(String, String)>;
    let (mut tags, others): (Tags, Tags) = source
        .tags
        .iter()
        .filter(|(k, _)| {
            !k.to_ascii_lowercase().starts_with("aws:")
                && k.as_str() != TAG_DELETE_AFTER
                && k.as_str() != TAG_VERIFIED
                && k.as_str() != TAG_EXPORT
                && k.as_str() != TAG_COPY_OF
                && !k.starts_with(TAG_DR_COPY_PREFIX)
                && !k.starts_with(TAG_VAULT_COPY_PREFIX)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .partition(|(k, _)| k.starts_with("rempart:"));
    tags.extend(others);
    tags.truncate(crate::naming::TAGS_PER_RESOURCE_MAX - 1);
    tags.push((TAG_COPY_OF.to_string(), source.arn.clone()));
    tags
}

/// Why `s` cannot be copied under its own name, if it cannot: the copy
/// keeps the source's identifier (valid for the kind's service) and carries
/// [`copy_tags`] (valid tags; the source ARN is one of them).
fn copy_problem(s: &SnapshotInfo) -> Option<String> {
    let id_ok = match s.kind {
        ResourceKind::RdsInstance => crate::naming::valid_rds_snapshot_id(&s.id),
        ResourceKind::AuroraCluster => crate::naming::valid_rds_cluster_snapshot_id(&s.id),
        _ => true,
    };
    if !id_ok {
        return Some(format!(
            "`{}` is not a valid {} snapshot identifier in the DR region (letters, digits and single hyphens, a letter first, at most {}): it was not named by Rempart; copy it by hand under another name",
            s.id,
            s.kind,
            if s.kind == ResourceKind::AuroraCluster { 63 } else { 255 }
        ));
    }
    crate::naming::check_tags(&copy_tags(s))
        .err()
        .map(|why| format!("its copy cannot carry its tags ({why}); copy it by hand"))
}

/// Copies in flight per (destination region, family), counted from the
/// destination regions' listings.
pub fn in_flight(dr: &BTreeMap<String, Vec<SnapshotInfo>>) -> BTreeMap<(String, Family), usize> {
    let mut out = BTreeMap::new();
    for (region, snaps) in dr {
        for s in snaps {
            if !s.tags.contains_key(TAG_COPY_OF) || is_available(s) || is_broken(s) {
                continue;
            }
            if let Some(f) = Family::of(s.kind) {
                *out.entry((region.clone(), f)).or_insert(0) += 1;
            }
        }
    }
    out
}

/// Why a source is not copied at all, if it is not.
pub fn ignore_reason<'a>(
    doc: &'a PolicyDocument,
    s: &SnapshotInfo,
) -> Result<(&'a str, &'a Policy), String> {
    if !s.is_managed() {
        return Err("not created by Rempart (no rempart:managed=true): never copied".into());
    }
    if s.tags.contains_key(TAG_COPY_OF) {
        return Err("it is itself a DR copy".into());
    }
    let Some(name) = s.tags.get(TAG_POLICY) else {
        return Err("it carries no rempart:policy tag".into());
    };
    let Some((pname, policy)) = doc.policies.iter().find(|(n, _)| n.as_str() == name) else {
        return Err(format!("policy `{name}` is not in the policy document"));
    };
    // A Redis snapshot of a policy with vaults is exported even without DR
    // regions: the vault copies its exported files.
    let exported_for_vaults = s.kind == ResourceKind::ElasticacheRedis && !policy.vault.is_empty();
    if policy.dr.is_empty() && !exported_for_vaults {
        return Err(format!("policy `{name}` names no DR region"));
    }
    if is_broken(s) {
        return Err(format!(
            "its status is `{}`: there is nothing to copy",
            s.status
        ));
    }
    Ok((pname.as_str(), policy))
}

/// Decides, for every source snapshot of the primary region and every DR
/// region of its policy, what to do. `dr` holds the Rempart snapshots of
/// each DR region (copies included); `keys` the pre-flight verdict per
/// (region, key as the policy names it); `limit` the copies allowed in
/// flight per destination region and family. Sources are taken oldest
/// first (EBS copies are incremental from the previous copy), and the
/// copies started here count against the limit.
pub fn plan(
    doc: &PolicyDocument,
    sources: &[SnapshotInfo],
    dr: &BTreeMap<String, Vec<SnapshotInfo>>,
    keys: &BTreeMap<(String, String), KeyCheck>,
    limit: usize,
) -> (Vec<Planned>, Vec<Ignored>) {
    let mut slots = in_flight(dr);
    let mut copies: BTreeMap<(&str, &str), &SnapshotInfo> = BTreeMap::new();
    for (region, snaps) in dr {
        for s in snaps {
            if let Some(of) = s.tags.get(TAG_COPY_OF) {
                let e = copies.entry((region.as_str(), of.as_str())).or_insert(s);
                // Several copies of one source (one broken): the best one counts.
                if is_broken(e) || (!is_available(e) && is_available(s)) {
                    *e = s;
                }
            }
        }
    }
    let mut order: Vec<&SnapshotInfo> = sources.iter().collect();
    order.sort_by(|a, b| (a.taken_at(), &a.id).cmp(&(b.taken_at(), &b.id)));

    let (mut planned, mut ignored) = (Vec::new(), Vec::new());
    for s in order {
        let (pname, policy) = match ignore_reason(doc, s) {
            Ok(p) => p,
            Err(reason) => {
                ignored.push(Ignored {
                    snapshot: s.id.clone(),
                    kind: s.kind,
                    reason,
                });
                continue;
            }
        };
        let push = |planned: &mut Vec<Planned>, region: &str, verdict: Verdict| {
            planned.push(Planned {
                source: s.clone(),
                policy: pname.to_string(),
                region: region.to_string(),
                verdict,
            })
        };
        if s.kind == ResourceKind::ElasticacheRedis {
            plan_redis(s, policy, keys, &mut |region, v| {
                push(&mut planned, region, v)
            });
            continue;
        }
        for target in &policy.dr {
            let region = target.region.0.as_str();
            let verdict = match copies.get(&(region, s.arn.as_str())) {
                Some(c) if is_available(c) => Verdict::Available { copy: c.id.clone() },
                Some(c) if is_broken(c) => Verdict::Blocked {
                    reason: format!(
                        "its copy {} in {region} is `{}` in AWS: delete that copy; the next sweep copies again",
                        c.id, c.status
                    ),
                },
                Some(c) => Verdict::InFlight { copy: c.id.clone() },
                None if !is_available(s) => Verdict::Waiting {
                    reason: format!("the snapshot is `{}`; it is copied once available", s.status),
                },
                None => decide_copy(s, target, keys, limit, &mut slots),
            };
            push(&mut planned, region, verdict);
        }
    }
    (planned, ignored)
}

fn decide_copy(
    s: &SnapshotInfo,
    target: &DrTarget,
    keys: &BTreeMap<(String, String), KeyCheck>,
    limit: usize,
    slots: &mut BTreeMap<(String, Family), usize>,
) -> Verdict {
    let region = &target.region.0;
    let kms_key = match keys.get(&(region.clone(), target.kms_key.clone())) {
        Some(KeyCheck::Usable(arn)) => arn.clone(),
        Some(KeyCheck::Problem(p)) => return Verdict::Blocked { reason: p.clone() },
        None => {
            return Verdict::Blocked {
                reason: format!("KMS key `{}` in {region} was not checked", target.kms_key),
            }
        }
    };
    if s.kind == ResourceKind::AuroraCluster && !s.encrypted {
        return Verdict::Blocked {
            reason: format!(
                "Aurora cluster {} is not encrypted, and AWS cannot encrypt a cluster snapshot while copying it \
                 (CopyDBClusterSnapshot refuses KmsKeyId for an unencrypted source): encrypt the cluster \
                 (restore this snapshot with --kms-key-id into a new cluster and switch to it); its next \
                 snapshots are then copied",
                s.source_id()
            ),
        };
    }
    let Some(family) = Family::of(s.kind) else {
        return Verdict::Blocked {
            reason: format!("{} snapshots are not copied this way", s.kind),
        };
    };
    if let Some(reason) = copy_problem(s) {
        return Verdict::Blocked { reason };
    }
    let used = slots.entry((region.clone(), family)).or_insert(0);
    if *used >= limit {
        return Verdict::Deferred {
            reason: format!(
                "{used} {} copies are in flight to {region} (limit {limit}); copied when a slot frees",
                match family {
                    Family::Rds => "RDS",
                    Family::Ebs => "EBS",
                }
            ),
        };
    }
    *used += 1;
    Verdict::Copy {
        target: if family == Family::Rds {
            s.id.clone()
        } else {
            String::new()
        },
        kms_key,
    }
}

fn plan_redis(
    s: &SnapshotInfo,
    policy: &Policy,
    keys: &BTreeMap<(String, String), KeyCheck>,
    push: &mut dyn FnMut(&str, Verdict),
) {
    let Some(bucket) = policy.export_bucket.clone() else {
        push(
            &s.region,
            Verdict::Blocked {
                reason: "the policy names no `export_bucket` for Redis exports".into(),
            },
        );
        return;
    };
    let Some((from_bucket, prefix)) = s.tags.get(TAG_EXPORT).and_then(|u| parse_s3_url(u)) else {
        let url = format!("s3://{bucket}/{}", s.id);
        let verdict = if !crate::naming::valid_elasticache_snapshot_name(&s.id)
            || !crate::naming::valid_tag_value(&url)
        {
            // The export is named after the snapshot, and its URL tags it.
            Verdict::Blocked {
                reason: format!(
                    "`{}` cannot name an export whose URL `{url}` is a valid tag value ({}): it was not named by Rempart; export it by hand",
                    s.id,
                    crate::naming::TAG_VALUE_RULE
                ),
            }
        } else if is_available(s) {
            Verdict::Export {
                bucket,
                prefix: s.id.clone(),
            }
        } else {
            Verdict::Waiting {
                reason: format!(
                    "the snapshot is `{}`; it is exported once available",
                    s.status
                ),
            }
        };
        push(&s.region, verdict);
        return;
    };
    for target in &policy.dr {
        let region = target.region.0.as_str();
        let verdict = if let Some(done) = s.tags.get(&dr_copy_tag(region)) {
            Verdict::Available { copy: done.clone() }
        } else if !is_available(s) {
            Verdict::Waiting {
                reason: format!("the export to s3://{from_bucket}/{prefix} is in progress"),
            }
        } else {
            match (
                keys.get(&(region.to_string(), target.kms_key.clone())),
                &target.bucket,
            ) {
                (Some(KeyCheck::Usable(arn)), Some(to_bucket)) => Verdict::Transfer {
                    from_bucket: from_bucket.clone(),
                    prefix: prefix.clone(),
                    to_bucket: to_bucket.clone(),
                    kms_key: arn.clone(),
                },
                (Some(KeyCheck::Problem(p)), _) => Verdict::Blocked { reason: p.clone() },
                (_, None) => Verdict::Blocked {
                    reason: format!(
                        "the policy names no DR `bucket` in {region} for Redis exports"
                    ),
                },
                (None, _) => Verdict::Blocked {
                    reason: format!("KMS key `{}` in {region} was not checked", target.kms_key),
                },
            }
        };
        push(region, verdict);
    }
}

/// Whether every DR region of its policy holds an available copy of `s`,
/// and every backup account of its policy (`[[vault]]`) its copy (the
/// source carries `rempart:vault-copy:<account>`, Redis too: its exported
/// files there): the retention floor's question. `copies` holds
/// (source ARN, region) of available copies.
pub fn has_all_copies(
    s: &SnapshotInfo,
    policy: &Policy,
    copies: &std::collections::BTreeSet<(String, String)>,
) -> bool {
    let vaulted = policy
        .vault
        .iter()
        .all(|v| s.tags.contains_key(&vault_copy_tag(&v.account)));
    vaulted
        && policy.dr.iter().all(|t| {
            s.tags.contains_key(&dr_copy_tag(&t.region.0))
                || copies.contains(&(s.arn.clone(), t.region.0.clone()))
        })
}

/// The age of a missing copy: from when the source was taken.
pub fn lag(source: &SnapshotInfo, now: DateTime<Utc>) -> Option<chrono::TimeDelta> {
    source.taken_at().map(|t| now - t)
}

/// One source snapshot and destination after this run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Item {
    pub snapshot: String,
    pub kind: ResourceKind,
    pub source: String,
    pub policy: String,
    /// Destination region (the primary region for a Redis export).
    pub region: String,
    /// `started`, `in-flight`, `available`, `deferred`, `blocked`, `failed`, `waiting`.
    pub state: String,
    /// The copy: an RDS identifier, a `snap-…` id, or an `s3://` URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub copy: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// When the source was taken: a missing copy's lag runs from there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taken_at: Option<DateTime<Utc>>,
}

impl Item {
    /// The item of `s` towards `region` (a DR region, or `vault:<account>`)
    /// in `state`, before anything is carried out.
    pub fn of(s: &SnapshotInfo, policy: &str, region: &str, state: &str) -> Item {
        Item {
            snapshot: s.id.clone(),
            kind: s.kind,
            source: s.source_id(),
            policy: policy.to_string(),
            region: region.to_string(),
            state: state.to_string(),
            copy: String::new(),
            reason: String::new(),
            error: None,
            taken_at: s.taken_at(),
        }
    }
}

/// What one invocation did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ReplicationReport {
    pub function: String,
    pub time: Option<DateTime<Utc>>,
    /// `sweep`, `snapshot` or `nothing`.
    pub mode: String,
    pub items: Vec<Item>,
    pub ignored: Vec<Ignored>,
    /// Copies in flight per `<region>/<family>` once this run's are started.
    pub in_flight: BTreeMap<String, usize>,
    /// Failures that stopped the run before any copy (listing, KMS).
    pub errors: Vec<ErrorInfo>,
    /// Registry or topic writes that failed.
    pub bookkeeping_errors: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ReplicationReport {
    pub fn count(&self, state: &str) -> usize {
        self.items.iter().filter(|i| i.state == state).count()
    }

    /// The source snapshots in `state`.
    pub fn ids(&self, state: &str) -> Vec<String> {
        self.items
            .iter()
            .filter(|i| i.state == state)
            .map(|i| i.snapshot.clone())
            .collect()
    }

    /// The reasons given for the items in `state`.
    pub fn reasons(&self, state: &str) -> Vec<String> {
        self.items
            .iter()
            .filter(|i| i.state == state)
            .map(|i| i.reason.clone())
            .collect()
    }

    pub fn summary(&self) -> String {
        let states = [
            "started",
            "in-flight",
            "available",
            "deferred",
            "blocked",
            "failed",
            "waiting",
        ];
        let mut parts: Vec<String> = states
            .iter()
            .filter(|s| self.count(s) > 0)
            .map(|s| format!("{} {s}", self.count(s)))
            .collect();
        if !self.ignored.is_empty() {
            parts.push(format!("{} ignored", self.ignored.len()));
        }
        if !self.errors.is_empty() {
            parts.push(format!("{} errors", self.errors.len()));
        }
        if parts.is_empty() {
            parts.push(
                self.note
                    .clone()
                    .unwrap_or_else(|| "nothing to copy".into()),
            );
        }
        format!("{}: {}", self.mode, parts.join(", "))
    }

    /// Whether failing the invocation (so that Lambda retries) could help.
    pub fn retry_would_help(&self) -> bool {
        self.errors.iter().any(|e| e.retryable)
            || !self.bookkeeping_errors.is_empty()
            || self
                .items
                .iter()
                .any(|i| i.error.as_ref().is_some_and(|e| e.retryable))
    }
}

/// The copy lag of one DR region, from a run's items.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RegionLag {
    pub available: usize,
    pub missing: usize,
    pub in_flight: usize,
    pub deferred: usize,
    pub blocked: usize,
    pub failed: usize,
    /// Missing for longer than their policy's RPO.
    pub over_rpo: usize,
    pub oldest_missing: Option<String>,
    pub oldest_missing_seconds: Option<i64>,
}

/// Per destination region: counts and the oldest missing copy (pure).
pub fn lag_by_region(
    doc: &PolicyDocument,
    items: &[Item],
    now: DateTime<Utc>,
) -> BTreeMap<String, RegionLag> {
    let mut out: BTreeMap<String, RegionLag> = BTreeMap::new();
    for i in items {
        let l = out.entry(i.region.clone()).or_default();
        match i.state.as_str() {
            "available" => {
                l.available += 1;
                continue;
            }
            "started" | "in-flight" => l.in_flight += 1,
            "deferred" => l.deferred += 1,
            "blocked" => l.blocked += 1,
            "failed" => l.failed += 1,
            _ => {}
        }
        l.missing += 1;
        if let Some(t) = i.taken_at {
            let age = (now - t).num_seconds();
            if l.oldest_missing_seconds.is_none_or(|o| age > o) {
                l.oldest_missing_seconds = Some(age);
                l.oldest_missing = Some(i.snapshot.clone());
            }
            if doc.policy(&i.policy).is_some_and(|p| age > p.rpo.seconds()) {
                l.over_rpo += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../examples/rewapp-policy.toml");
    const DR: &str = "eu-central-1";

    fn doc() -> PolicyDocument {
        PolicyDocument::from_toml(EXAMPLE, "example").expect("example parses")
    }

    fn snap(kind: ResourceKind, id: &str, day: u32, policy: &str) -> SnapshotInfo {
        let at = format!("2025-11-{day:02}T02:00:00Z");
        SnapshotInfo {
            kind,
            id: id.into(),
            arn: format!("arn:aws:test:eu-west-1:123456789012:snapshot:{id}"),
            region: "eu-west-1".into(),
            source: "src".into(),
            status: "available".into(),
            created: None,
            tags: BTreeMap::from([
                (TAG_MANAGED.to_string(), "true".to_string()),
                (TAG_POLICY.to_string(), policy.to_string()),
                (TAG_SCHEDULED_AT.to_string(), at),
                (
                    TAG_SOURCE.to_string(),
                    "arn:aws:rds:eu-west-1:1:db:src".to_string(),
                ),
            ]),
            encrypted: true,
            kms_key: None,
        }
    }

    fn copy_of(s: &SnapshotInfo, status: &str) -> SnapshotInfo {
        let mut c = s.clone();
        c.region = DR.into();
        c.status = status.into();
        c.arn = format!("{}-copy", s.arn);
        c.tags.insert(TAG_COPY_OF.into(), s.arn.clone());
        c
    }

    fn keys_ok() -> BTreeMap<(String, String), KeyCheck> {
        BTreeMap::from([(
            (DR.to_string(), "alias/rempart-dr".to_string()),
            KeyCheck::Usable("arn:aws:kms:eu-central-1:1:key/k".into()),
        )])
    }

    fn states(p: &[Planned]) -> Vec<(&str, &str)> {
        p.iter()
            .map(|p| (p.source.id.as_str(), p.verdict.state()))
            .collect()
    }

    /// Proves: copies already in flight and the ones this run starts count
    /// against the limit per destination region and family; the oldest
    /// snapshots go first and the rest are deferred, not failed.
    #[test]
    fn the_limit_counts_in_flight_copies_and_defers_the_newest() {
        let rds: Vec<_> = (1..=25)
            .map(|d| {
                snap(
                    ResourceKind::RdsInstance,
                    &format!("db-{d:02}"),
                    d,
                    "rewapp-postgres",
                )
            })
            .collect();
        // Three other copies are in flight already; one is available.
        let mut dr_snaps: Vec<_> = (0..3)
            .map(|i| {
                let mut c = copy_of(
                    &snap(
                        ResourceKind::RdsInstance,
                        &format!("old-{i}"),
                        1,
                        "rewapp-postgres",
                    ),
                    "copying",
                );
                c.tags
                    .insert(TAG_COPY_OF.into(), format!("arn:elsewhere:{i}"));
                c
            })
            .collect();
        dr_snaps.push(copy_of(&rds[0], "available"));
        let ebs = snap(ResourceKind::EbsVolume, "snap-1", 3, "rewapp-ebs");
        let mut sources = rds.clone();
        sources.reverse();
        sources.push(ebs);
        let dr = BTreeMap::from([(DR.to_string(), dr_snaps)]);
        let (planned, ignored) = plan(&doc(), &sources, &dr, &keys_ok(), 20);
        assert!(ignored.is_empty());
        let st = states(&planned);
        assert_eq!(st[0], ("db-01", "available"));
        let copies: Vec<_> = st
            .iter()
            .filter(|(_, s)| *s == "started")
            .map(|(id, _)| *id)
            .collect();
        // 3 in flight + 17 RDS copies = 20; the EBS copy has its own limit.
        assert_eq!(copies.len(), 18, "{st:?}");
        assert!(copies.contains(&"snap-1"));
        assert!(copies.contains(&"db-18") && !copies.contains(&"db-19"));
        let deferred: Vec<_> = st
            .iter()
            .filter(|(_, s)| *s == "deferred")
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(
            deferred,
            (19..=25).map(|d| format!("db-{d:02}")).collect::<Vec<_>>()
        );
        // RDS copies keep the source identifier; EBS copies are named by AWS.
        let target = |id: &str| {
            planned.iter().find_map(|p| match &p.verdict {
                Verdict::Copy { target, .. } if p.source.id == id => Some(target.clone()),
                _ => None,
            })
        };
        assert_eq!(target("db-02").as_deref(), Some("db-02"));
        assert_eq!(target("snap-1").as_deref(), Some(""));
    }

    /// Proves: an existing copy (available or in flight) is never copied
    /// again; a broken copy blocks with the fix; an unfinished source waits.
    #[test]
    fn existing_copies_are_found_by_their_copy_of_tag() {
        let a = snap(ResourceKind::EbsVolume, "snap-a", 1, "rewapp-ebs");
        let b = snap(ResourceKind::EbsVolume, "snap-b", 2, "rewapp-ebs");
        let c = snap(ResourceKind::EbsVolume, "snap-c", 3, "rewapp-ebs");
        let mut d = snap(ResourceKind::EbsVolume, "snap-d", 4, "rewapp-ebs");
        d.status = "pending".into();
        let dr = BTreeMap::from([(
            DR.to_string(),
            vec![
                copy_of(&a, "completed"),
                copy_of(&b, "pending"),
                copy_of(&c, "error"),
            ],
        )]);
        let (planned, _) = plan(&doc(), &[a, b, c, d], &dr, &keys_ok(), 20);
        assert_eq!(
            states(&planned),
            vec![
                ("snap-a", "available"),
                ("snap-b", "in-flight"),
                ("snap-c", "blocked"),
                ("snap-d", "waiting")
            ]
        );
        assert!(
            matches!(&planned[2].verdict, Verdict::Blocked { reason } if reason.contains("delete that copy"))
        );
    }

    /// Proves: what Rempart did not make, DR copies themselves and policies
    /// without DR are ignored, with the reason.
    #[test]
    fn unmanaged_copies_and_policies_without_dr_are_ignored() {
        let mut unmanaged = snap(ResourceKind::RdsInstance, "theirs", 1, "rewapp-postgres");
        unmanaged.tags.remove(TAG_MANAGED);
        let a_copy = copy_of(
            &snap(ResourceKind::RdsInstance, "x", 1, "rewapp-postgres"),
            "available",
        );
        let unknown = snap(ResourceKind::RdsInstance, "y", 1, "no-such-policy");
        let no_dr_doc = PolicyDocument::from_toml(
            &EXAMPLE.replace(
                "[[policies.rewapp-ebs.dr]]\nregion = \"eu-central-1\"\nkms_key = \"alias/rempart-dr\"\n",
                "",
            ),
            "t",
        )
        .expect("parses");
        let ebs = snap(ResourceKind::EbsVolume, "snap-1", 1, "rewapp-ebs");
        let (planned, ignored) = plan(
            &no_dr_doc,
            &[unmanaged, a_copy, unknown, ebs],
            &BTreeMap::new(),
            &keys_ok(),
            20,
        );
        assert!(planned.is_empty());
        let reasons: Vec<_> = ignored.iter().map(|i| i.reason.as_str()).collect();
        assert!(
            reasons.iter().any(|r| r.contains("not created by Rempart")),
            "{reasons:?}"
        );
        assert!(reasons.iter().any(|r| r.contains("itself a DR copy")));
        assert!(reasons
            .iter()
            .any(|r| r.contains("not in the policy document")));
        assert!(reasons.iter().any(|r| r.contains("names no DR region")));
    }

    /// Proves: an unencrypted Aurora snapshot (AWS refuses to encrypt it while
    /// copying) and a DR key problem block the copy with the fix.
    #[test]
    fn blocked_copies_say_what_to_do() {
        let mut aurora = snap(ResourceKind::AuroraCluster, "cl", 1, "rewapp-postgres");
        aurora.encrypted = false;
        let (planned, _) = plan(&doc(), &[aurora], &BTreeMap::new(), &keys_ok(), 20);
        assert!(
            matches!(&planned[0].verdict, Verdict::Blocked { reason } if reason.contains("encrypt the cluster"))
        );

        let target = &doc().policy("rewapp-postgres").expect("policy").dr[0].clone();
        let missing = check_key("rewapp-postgres", target, None);
        assert!(
            matches!(&missing, KeyCheck::Problem(m) if m.contains("create a customer-managed key in eu-central-1")
            && m.contains("[[policies.rewapp-postgres.dr]]"))
        );
        let facts = |state: &str, manager: &str| KeyFacts {
            arn: "arn:aws:kms:eu-central-1:1:key/k".into(),
            state: state.into(),
            manager: manager.into(),
        };
        assert!(
            matches!(check_key("p", target, Some(&facts("Disabled", "CUSTOMER"))), KeyCheck::Problem(m) if m.contains("enable-key"))
        );
        assert!(
            matches!(check_key("p", target, Some(&facts("PendingDeletion", "CUSTOMER"))), KeyCheck::Problem(m) if m.contains("cancel-key-deletion"))
        );
        assert!(
            matches!(check_key("p", target, Some(&facts("Enabled", "AWS"))), KeyCheck::Problem(m) if m.contains("AWS-managed"))
        );
        assert_eq!(
            check_key("p", target, Some(&facts("Enabled", "CUSTOMER"))),
            KeyCheck::Usable("arn:aws:kms:eu-central-1:1:key/k".into())
        );
        let ebs = snap(ResourceKind::EbsVolume, "snap-1", 1, "rewapp-ebs");
        let bad = BTreeMap::from([(
            (DR.to_string(), "alias/rempart-dr".to_string()),
            KeyCheck::Problem("fix it".into()),
        )]);
        let (planned, _) = plan(&doc(), &[ebs], &BTreeMap::new(), &bad, 20);
        assert_eq!(
            planned[0].verdict,
            Verdict::Blocked {
                reason: "fix it".into()
            }
        );
    }

    /// Proves: a copy carries the source's tags except Rempart's per-snapshot
    /// state and AWS's reserved tags, plus `rempart:copy-of`.
    #[test]
    fn copies_carry_tags_but_not_retention_marks() {
        let mut s = snap(ResourceKind::RdsInstance, "db", 1, "rewapp-postgres");
        for k in [
            TAG_DELETE_AFTER,
            TAG_VERIFIED,
            TAG_EXPORT,
            "aws:backup:source-resource",
            "rempart:dr-copy:eu-central-1",
        ] {
            s.tags.insert(k.into(), "x".into());
        }
        s.tags.insert("rempart:legal-hold".into(), "case-42".into());
        let tags: BTreeMap<_, _> = copy_tags(&s).into_iter().collect();
        assert_eq!(tags.get(TAG_COPY_OF), Some(&s.arn));
        assert_eq!(
            tags.get("rempart:legal-hold").map(String::as_str),
            Some("case-42")
        );
        assert_eq!(
            tags.get(TAG_POLICY).map(String::as_str),
            Some("rewapp-postgres")
        );
        for k in [
            TAG_DELETE_AFTER,
            TAG_VERIFIED,
            TAG_EXPORT,
            "aws:backup:source-resource",
            "rempart:dr-copy:eu-central-1",
        ] {
            assert!(!tags.contains_key(k), "{k} carried");
        }
    }

    /// Proves: the Redis path goes export -> transfer -> available, driven by
    /// the snapshot's tags, and the floor sees a Redis DR copy by its tag.
    #[test]
    fn redis_goes_through_export_then_transfer() {
        let mut r = snap(
            ResourceKind::ElasticacheRedis,
            "rempart-rewapp-redis-x",
            1,
            "rewapp-redis",
        );
        let step = |r: &SnapshotInfo| {
            plan(
                &doc(),
                std::slice::from_ref(r),
                &BTreeMap::new(),
                &keys_ok(),
                20,
            )
            .0
        };
        let p = step(&r);
        assert_eq!(p[0].region, "eu-west-1");
        assert_eq!(
            p[0].verdict,
            Verdict::Export {
                bucket: "rewapp-prod-backups".into(),
                prefix: r.id.clone()
            }
        );
        r.tags.insert(
            TAG_EXPORT.into(),
            format!("s3://rewapp-prod-backups/{}", r.id),
        );
        r.status = "exporting".into();
        assert_eq!(step(&r)[0].verdict.state(), "waiting");
        r.status = "available".into();
        assert!(
            matches!(&step(&r)[0].verdict, Verdict::Transfer { to_bucket, .. } if to_bucket == "rewapp-dr-backups")
        );
        let policy = doc().policy("rewapp-redis").expect("policy").clone();
        assert!(!has_all_copies(&r, &policy, &Default::default()));
        r.tags
            .insert(dr_copy_tag(DR), "s3://rewapp-dr-backups/x".into());
        assert_eq!(step(&r)[0].verdict.state(), "available");
        assert!(has_all_copies(&r, &policy, &Default::default()));
    }

    /// Proves: with two DR regions, the floor wants a copy in each.
    #[test]
    fn every_dr_region_needs_its_copy() {
        let two = EXAMPLE.replacen(
            "[[policies.rewapp-ebs.dr]]\nregion = \"eu-central-1\"\nkms_key = \"alias/rempart-dr\"\n",
            "[[policies.rewapp-ebs.dr]]\nregion = \"eu-central-1\"\nkms_key = \"alias/rempart-dr\"\n\n[[policies.rewapp-ebs.dr]]\nregion = \"eu-north-1\"\nkms_key = \"alias/rempart-dr\"\n",
            1,
        );
        let d = PolicyDocument::from_toml(&two, "t").expect("parses");
        let policy = d.policy("rewapp-ebs").expect("policy");
        let s = snap(ResourceKind::EbsVolume, "snap-1", 1, "rewapp-ebs");
        let mut copies = std::collections::BTreeSet::from([(s.arn.clone(), DR.to_string())]);
        assert!(!has_all_copies(&s, policy, &copies));
        copies.insert((s.arn.clone(), "eu-north-1".into()));
        assert!(has_all_copies(&s, policy, &copies));
    }

    /// Proves: the floor also waits for the copy in each backup account of
    /// the policy (the source's `rempart:vault-copy:<account>` mark).
    #[test]
    fn a_vault_copy_is_needed_too() {
        let with_vault = format!(
            "{EXAMPLE}\n[[policies.rewapp-ebs.vault]]\naccount = \"210987654321\"\nrole = \"arn:aws:iam::210987654321:role/rempart-vault-replicator\"\nkms_key = \"arn:aws:kms:eu-west-1:210987654321:alias/rempart-vault\"\n"
        );
        let d = PolicyDocument::from_toml(&with_vault, "t").expect("parses");
        let policy = d.policy("rewapp-ebs").expect("policy");
        let mut s = snap(ResourceKind::EbsVolume, "snap-1", 1, "rewapp-ebs");
        let copies = std::collections::BTreeSet::from([(s.arn.clone(), DR.to_string())]);
        assert!(!has_all_copies(&s, policy, &copies));
        s.tags
            .insert(vault_copy_tag("210987654321"), "snap-2".into());
        assert!(has_all_copies(&s, policy, &copies));
    }

    /// Proves: the lag digest counts per region and flags what is missing for
    /// longer than the policy's RPO (26 h for rewapp-postgres).
    #[test]
    fn lag_counts_and_flags_copies_older_than_the_rpo() {
        let now: DateTime<Utc> = "2025-11-03T12:00:00Z".parse().expect("time");
        let item = |id: &str, state: &str, day: u32| Item {
            snapshot: id.into(),
            kind: ResourceKind::RdsInstance,
            source: "db".into(),
            policy: "rewapp-postgres".into(),
            region: DR.into(),
            state: state.into(),
            copy: String::new(),
            reason: String::new(),
            error: None,
            taken_at: Some(format!("2025-11-{day:02}T02:00:00Z").parse().expect("time")),
        };
        let lags = lag_by_region(
            &doc(),
            &[
                item("a", "available", 1),
                item("b", "deferred", 1),
                item("c", "started", 3),
            ],
            now,
        );
        let l = &lags[DR];
        assert_eq!(
            (l.available, l.missing, l.deferred, l.in_flight, l.over_rpo),
            (1, 2, 1, 1, 1)
        );
        assert_eq!(l.oldest_missing.as_deref(), Some("b"));
        assert_eq!(
            crate::time::human(l.oldest_missing_seconds.expect("some")),
            "2d 10h"
        );
    }

    /// Proves: a snapshot Rempart did not name, whose id its copy could not
    /// keep (an Aurora id over 63 characters, a name with `_`) or whose ARN
    /// is too long to tag its copy with, is blocked with the reason instead
    /// of failing at AWS on every sweep; so is a Redis snapshot whose export
    /// URL would not be a valid tag value.
    #[test]
    fn snapshots_whose_copy_aws_would_refuse_are_blocked() {
        let long = format!("rempart-{}", "a".repeat(60));
        let aurora = snap(ResourceKind::AuroraCluster, &long, 20, "rewapp-postgres");
        let odd = snap(
            ResourceKind::RdsInstance,
            "rempart_x",
            20,
            "rewapp-postgres",
        );
        let mut far = snap(
            ResourceKind::RdsInstance,
            &format!("rempart-{}", "b".repeat(240)),
            20,
            "rewapp-postgres",
        );
        far.arn = format!("arn:aws:rds:eu-west-1:123456789012:snapshot:{}", far.id);
        let redis = snap(
            ResourceKind::ElasticacheRedis,
            &format!("rempart-{}", "c".repeat(240)),
            20,
            "rewapp-redis",
        );
        let (planned, _) = plan(
            &doc(),
            &[aurora, odd, far, redis],
            &BTreeMap::new(),
            &keys_ok(),
            20,
        );
        let reason = |prefix: &str| -> String {
            let p = planned
                .iter()
                .find(|p| p.source.id.starts_with(prefix))
                .expect(prefix);
            match &p.verdict {
                Verdict::Blocked { reason } => reason.clone(),
                v => panic!("{} should be blocked, not {v:?}", p.source.id),
            }
        };
        let r = reason("rempart-aaa");
        assert!(
            r.contains("not a valid aurora-cluster snapshot identifier"),
            "{r}"
        );
        let r = reason("rempart_x");
        assert!(
            r.contains("not a valid rds-instance snapshot identifier"),
            "{r}"
        );
        let r = reason("rempart-bbb");
        assert!(
            r.contains("cannot carry its tags") && r.contains("rempart:copy-of"),
            "{r}"
        );
        let r = reason("rempart-ccc");
        assert!(r.contains("cannot name an export"), "{r}");
    }

    /// Proves: a copy carries at most the 50 tags AWS allows, Rempart's own
    /// first, and always `rempart:copy-of`.
    #[test]
    fn copies_carry_at_most_fifty_tags() {
        let mut s = snap(
            ResourceKind::RdsInstance,
            "rempart-x",
            20,
            "rewapp-postgres",
        );
        for i in 0..46 {
            s.tags.insert(format!("app:{i:02}"), "v".into());
        }
        assert_eq!(s.tags.len(), 50);
        let tags = copy_tags(&s);
        assert_eq!(tags.len(), 50);
        assert_eq!(
            tags.last().unwrap(),
            &(TAG_COPY_OF.to_string(), s.arn.clone())
        );
        assert_eq!(
            tags.iter()
                .filter(|(k, _)| k.starts_with("rempart:"))
                .count(),
            5
        );
        assert!(crate::naming::check_tags(&tags).is_ok());
    }

    mod properties {
        use super::*;
        use crate::model::snapshot_id;
        use proptest::prelude::*;

        const REGION: &str = "us-gov-west-1";

        fn bucket() -> impl Strategy<Value = String> {
            "[a-z0-9][a-z0-9-]{1,61}[a-z0-9]"
        }

        fn document(policy: &str, export: &str, dr: &str) -> PolicyDocument {
            let text = format!(
                "version = 1\n[policies.{policy}]\nkinds = [\"rds-instance\", \"aurora-cluster\", \"ebs-volume\", \"elasticache-redis\"]\nrpo = \"1d\"\nexport_bucket = \"{export}\"\n[[policies.{policy}.dr]]\nregion = \"{REGION}\"\nkms_key = \"alias/k\"\nbucket = \"{dr}\"\n[policies.{policy}.retention]\nkeep_last = 1\n"
            );
            PolicyDocument::from_toml(&text, "t").expect("a valid document")
        }

        /// A Rempart snapshot as the scheduler names it, with the longest
        /// ARN AWS could give it and up to 60 tags.
        fn source(
            kind: ResourceKind,
            policy: &str,
            resource: &str,
            at: DateTime<Utc>,
            od: bool,
            extra: &BTreeMap<String, String>,
        ) -> SnapshotInfo {
            let id = match kind {
                ResourceKind::EbsVolume => "snap-0123456789abcdef0".to_string(),
                _ => snapshot_id(kind, policy, resource, at, od),
            };
            let arn = match kind {
                ResourceKind::RdsInstance => {
                    format!("arn:aws-us-gov:rds:{REGION}:123456789012:snapshot:{id}")
                }
                ResourceKind::AuroraCluster => {
                    format!("arn:aws-us-gov:rds:{REGION}:123456789012:cluster-snapshot:{id}")
                }
                ResourceKind::ElasticacheRedis => {
                    format!("arn:aws-us-gov:elasticache:{REGION}:123456789012:snapshot:{id}")
                }
                ResourceKind::EbsVolume => format!("arn:aws-us-gov:ec2:{REGION}::snapshot/{id}"),
            };
            let mut tags = extra.clone();
            tags.insert(TAG_MANAGED.into(), "true".into());
            tags.insert(TAG_POLICY.into(), policy.into());
            tags.insert(TAG_SCHEDULED_AT.into(), crate::time::rfc3339(at));
            tags.insert(
                TAG_SOURCE.into(),
                format!(
                    "arn:aws-us-gov:rds:{REGION}:123456789012:db:{}",
                    crate::naming::slug(resource)
                ),
            );
            SnapshotInfo {
                kind,
                id,
                arn,
                region: REGION.into(),
                source: resource.into(),
                status: "available".into(),
                created: None,
                tags,
                encrypted: true,
                kms_key: None,
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            /// Proves: for any snapshot Rempart names (any policy name that
            /// loads, any resource name, any time, scheduled or on demand,
            /// up to 60 tags, the longest ARN), with any valid export and DR
            /// buckets: an RDS or Aurora copy keeps an id valid for its kind
            /// in the DR region, every copy's tags are valid and at most 50,
            /// a Redis export is a valid snapshot name whose URL is a valid
            /// tag value, and the DR-copy tag recording its transfer has a
            /// valid key and value; none of them is blocked.
            #[test]
            fn dr_copies_and_exports_have_valid_names_and_tags(
                kind in prop::sample::select(ResourceKind::ALL.to_vec()),
                policy in "[a-z](-?[a-z0-9]){0,15}",
                resource in prop_oneof![any::<String>(), "[a-z0-9-]{40,200}"],
                secs in 0i64..4_000_000_000,
                od: bool,
                extra in prop::collection::btree_map("app:[A-Za-z0-9_.:/=+@-]{1,100}", "[A-Za-z0-9 _.:/=+@-]{0,256}", 0..60),
                export in bucket(),
                dr_bucket in bucket(),
            ) {
                let doc = document(&policy, &export, &dr_bucket);
                let at = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
                let s = source(kind, &policy, &resource, at, od, &extra);
                let keys = BTreeMap::from([((REGION.to_string(), "alias/k".to_string()), KeyCheck::Usable("arn:k".into()))]);
                let (planned, ignored) = plan(&doc, std::slice::from_ref(&s), &BTreeMap::new(), &keys, 20);
                prop_assert!(ignored.is_empty(), "{:?}", ignored);
                prop_assert_eq!(planned.len(), 1);
                match &planned[0].verdict {
                    Verdict::Copy { target, .. } => {
                        let ok = match kind {
                            ResourceKind::RdsInstance => crate::naming::valid_rds_snapshot_id(target),
                            ResourceKind::AuroraCluster => crate::naming::valid_rds_cluster_snapshot_id(target),
                            _ => target.is_empty(),
                        };
                        prop_assert!(ok, "{} {}", kind, target);
                        let tags = copy_tags(&s);
                        prop_assert!(crate::naming::check_tags(&tags).is_ok(), "{:?}", crate::naming::check_tags(&tags));
                    }
                    Verdict::Export { bucket, prefix } => {
                        prop_assert!(crate::naming::valid_elasticache_snapshot_name(prefix), "{}", prefix);
                        let url = format!("s3://{bucket}/{prefix}");
                        prop_assert!(crate::naming::valid_tag_value(&url), "{}", url);
                        // Once exported, the transfer's tag records the DR URL.
                        let mut exported = s.clone();
                        exported.tags.insert(TAG_EXPORT.into(), url);
                        let (planned, _) = plan(&doc, &[exported], &BTreeMap::new(), &keys, 20);
                        let Verdict::Transfer { to_bucket, prefix, .. } = &planned[0].verdict else {
                            return Err(TestCaseError::fail(format!("{:?}", planned[0].verdict)));
                        };
                        prop_assert!(crate::naming::valid_tag_key(&dr_copy_tag(REGION)));
                        let dr_url = format!("s3://{to_bucket}/{prefix}");
                        prop_assert!(crate::naming::valid_tag_value(&dr_url), "{}", dr_url);
                    }
                    v => return Err(TestCaseError::fail(format!("{kind} {}: {v:?}", s.id))),
                }
            }
        }
    }
}
