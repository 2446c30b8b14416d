//! The retention-enforcer's decisions (pure): in every region a policy
//! covers, group Rempart's snapshots by source resource, apply the retention
//! engine, and decide the two-phase deletion (mark with the time a snapshot
//! becomes deletable, delete on a later run if it is still to be removed);
//! the report of a run. The retention-enforcer crate carries them out.

use crate::buckets::Drift;
use crate::kind::ResourceKind;
use crate::model::SnapshotInfo;
use crate::policy::PolicyDocument;
use crate::retention::{plan, Action, Place, Snap, Verdict};
use crate::tags::*;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

pub const FUNCTION: &str = "retention-enforcer";
/// Grace period when the policy gives none.
pub const DEFAULT_GRACE: TimeDelta = TimeDelta::hours(24);

/// What happens to one snapshot in this run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "step")]
pub enum Step {
    /// Kept, and no mark to clear.
    Keep,
    /// To remove, not yet marked: mark it deletable after `delete_after`.
    Mark { delete_after: DateTime<Utc> },
    /// Marked, grace period not over.
    Wait { delete_after: DateTime<Utc> },
    /// Marked, grace period over, still to remove: delete.
    Delete,
    /// Marked earlier but now kept (policy changed, a floor): clear the mark.
    Unmark,
}

/// The two-phase rule, given the engine's verdict and the snapshot's mark.
pub fn step(
    action: Action,
    mark: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    grace: TimeDelta,
) -> Step {
    match (action, mark) {
        (Action::Keep, None) => Step::Keep,
        (Action::Keep, Some(_)) => Step::Unmark,
        (Action::Remove, None) => Step::Mark {
            delete_after: now + grace,
        },
        (Action::Remove, Some(t)) if t <= now => Step::Delete,
        (Action::Remove, Some(t)) => Step::Wait { delete_after: t },
    }
}

/// Whether `s` is a copy that another account's Rempart made in this one:
/// a vault copy in a backup account (its `rempart:copy-of` names a snapshot
/// of another account).
pub fn is_vault_copy(s: &SnapshotInfo) -> bool {
    s.is_vault_copy_of(None)
}

/// Where `s` lives, for the floors and the report.
pub fn place_of(s: &SnapshotInfo) -> Place {
    if is_vault_copy(s) {
        Place::VaultCopy
    } else if s.tags.contains_key(TAG_COPY_OF) {
        Place::DrCopy
    } else {
        Place::Primary
    }
}

/// The time retention sorts `s` by: when it was taken (event time), except
/// for a vault copy, whose time is when the backup account made it (AWS's
/// creation time there), never a tag. Its tags were written by the
/// production account, which the backup account does not trust: a
/// `rempart:scheduled-at` forged newer, or into a past month, would
/// otherwise push genuine copies out of their tiers. A missing time counts
/// as `now` (newest, so kept).
pub fn retention_time(s: &SnapshotInfo, now: DateTime<Utc>) -> DateTime<Utc> {
    if is_vault_copy(s) {
        s.created.unwrap_or(now)
    } else {
        s.taken_at().unwrap_or(now)
    }
}

/// What a backup account's enforcer manages: the vault copies of the
/// production account's snapshots. Any other snapshot of Rempart's found
/// there is left untouched, one entry per group, with the reason.
pub fn vault_scope(
    snaps: Vec<SnapshotInfo>,
    production: &str,
) -> (Vec<SnapshotInfo>, Vec<Untouched>) {
    let (mut kept, mut untouched) = (Vec::new(), Vec::<Untouched>::new());
    for s in snaps.into_iter().filter(SnapshotInfo::is_managed) {
        if s.is_vault_copy_of(Some(production)) {
            kept.push(s);
            continue;
        }
        let u = Untouched {
            region: s.region.clone(),
            kind: s.kind,
            source: s.source_id(),
            reason: format!(
                "not a vault copy of account {production}'s snapshots: this backup account's enforcer deletes nothing else"
            ),
        };
        if !untouched.contains(&u) {
            untouched.push(u);
        }
    }
    (kept, untouched)
}

fn mark_of(s: &SnapshotInfo) -> Option<DateTime<Utc>> {
    s.tags
        .get(TAG_DELETE_AFTER)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// One snapshot's decision.
#[derive(Clone, Debug, Serialize)]
pub struct SnapshotDecision {
    #[serde(skip)]
    pub snapshot: SnapshotInfo,
    pub id: String,
    pub time: DateTime<Utc>,
    pub reasons: Vec<String>,
    #[serde(flatten)]
    pub step: Step,
}

/// The snapshots of one source resource in one region.
#[derive(Clone, Debug, Serialize)]
pub struct GroupPlan {
    pub region: String,
    pub kind: ResourceKind,
    pub source: String,
    pub policy: String,
    pub place: &'static str,
    pub decisions: Vec<SnapshotDecision>,
}

/// A group left alone, and why.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Untouched {
    pub region: String,
    pub kind: ResourceKind,
    pub source: String,
    pub reason: String,
}

/// Decides every group (pure). `copies_available` holds (source ARN, DR
/// region) of the DR copies that are available; a primary snapshot of a
/// policy with DR regions is kept (floor) until every DR region of its
/// policy holds an available copy (for Redis: until its exported files
/// reached every DR bucket, as its `rempart:dr-copy:<region>` tags say).
pub fn decide(
    doc: &PolicyDocument,
    snaps: Vec<SnapshotInfo>,
    copies_available: &BTreeSet<(String, String)>,
    now: DateTime<Utc>,
) -> (Vec<GroupPlan>, Vec<Untouched>) {
    let mut groups: BTreeMap<(String, ResourceKind, String, Place), Vec<SnapshotInfo>> =
        BTreeMap::new();
    for s in snaps.into_iter().filter(SnapshotInfo::is_managed) {
        groups
            .entry((s.region.clone(), s.kind, s.source_id(), place_of(&s)))
            .or_default()
            .push(s);
    }
    let (mut plans, mut untouched) = (Vec::new(), Vec::new());
    for ((region, kind, source, place), members) in groups {
        let is_copy = place != Place::Primary;
        let policies: BTreeSet<&str> = members
            .iter()
            .filter_map(|s| s.tags.get(TAG_POLICY))
            .map(String::as_str)
            .collect();
        let leave = |reason: String| Untouched {
            region: region.clone(),
            kind,
            source: source.clone(),
            reason,
        };
        let [policy_name] = policies.iter().copied().collect::<Vec<_>>()[..] else {
            untouched.push(leave(format!(
                "its snapshots name {} policies ({}): nothing is deleted until they agree",
                policies.len(),
                policies.iter().copied().collect::<Vec<_>>().join(", ")
            )));
            continue;
        };
        let Some(policy) = doc.policy(policy_name) else {
            untouched.push(leave(format!(
                "policy `{policy_name}` is not in the policy document: nothing is deleted"
            )));
            continue;
        };
        let tz = doc.timezone_of(policy);
        let engine_input: Vec<Snap> = members
            .iter()
            .map(|s| Snap {
                id: s.id.clone(),
                time: retention_time(s, now),
                tags: s
                    .tags
                    .iter()
                    .map(|(k, v)| {
                        if v.is_empty() {
                            k.clone()
                        } else {
                            format!("{k}={v}")
                        }
                    })
                    .collect(),
                dr_copy_pending: !is_copy
                    && !crate::replication::has_all_copies(s, policy, copies_available),
            })
            .collect();
        let grace = policy
            .retention
            .grace_period
            .map(|g| g.0)
            .unwrap_or(DEFAULT_GRACE);
        let verdicts: Vec<Verdict> = plan(&engine_input, &policy.retention, tz, place);
        let by_id: std::collections::HashMap<&str, &SnapshotInfo> =
            members.iter().map(|s| (s.id.as_str(), s)).collect();
        let decisions = verdicts
            .into_iter()
            .filter_map(|v| {
                let s = (*by_id.get(v.id.as_str())?).clone();
                let st = step(v.action, mark_of(&s), now, grace);
                Some(SnapshotDecision {
                    id: v.id,
                    time: v.time,
                    reasons: v.reasons,
                    step: st,
                    snapshot: s,
                })
            })
            .collect();
        plans.push(GroupPlan {
            region,
            kind,
            source,
            policy: policy_name.to_string(),
            place: place.label(),
            decisions,
        });
    }
    (plans, untouched)
}

/// Counts for one group in the digest.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct GroupCounts {
    pub region: String,
    pub kind: String,
    pub source: String,
    pub policy: String,
    pub kept: usize,
    /// Kept only because of a floor (restic's rules would remove them).
    pub kept_by_floor: usize,
    pub marked: usize,
    pub waiting: usize,
    pub deleted: usize,
    pub unmarked: usize,
    pub failed: usize,
}

/// The retention metrics of a run (one EMF line per group: the snapshots
/// of one resource in one region kept and deleted).
pub fn emf_lines(
    groups: &[GroupCounts],
    primary: &str,
    now: DateTime<Utc>,
) -> Vec<serde_json::Value> {
    use crate::metrics::{emf, resource, SNAPSHOTS_DELETED, SNAPSHOTS_KEPT};
    groups
        .iter()
        .map(|g| {
            emf(
                &resource(&g.kind, &g.source, &g.region, primary),
                now,
                &[
                    (SNAPSHOTS_KEPT, g.kept as f64),
                    (SNAPSHOTS_DELETED, g.deleted as f64),
                ],
            )
        })
        .collect()
}

/// A snapshot whose step failed.
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    pub region: String,
    pub snapshot: String,
    pub step: String,
    pub error: String,
    pub retryable: bool,
}

/// The result of one run.
#[derive(Clone, Debug, Serialize, Default)]
pub struct EnforcerReport {
    pub function: String,
    pub time: Option<DateTime<Utc>>,
    pub dry_run: bool,
    pub regions: Vec<String>,
    pub groups: Vec<GroupCounts>,
    pub untouched: Vec<Untouched>,
    pub failed: Vec<Failure>,
    /// Per group, every snapshot's decision (with `--json` / the Lambda result).
    pub decisions: Vec<GroupPlan>,
    /// S3 backup buckets: drift found and corrected.
    pub buckets: Vec<BucketOutcome>,
    pub bookkeeping_errors: Vec<String>,
    /// In a backup account: the newest copy it holds of each resource,
    /// against the policy's RPO ([`held_copies`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<HeldCopy>,
}

/// A backup account's own reading of its isolated RPO: the newest vault
/// copy it holds of one resource, how old it is by the time that account
/// made it (AWS's creation time there, not the production-written
/// `rempart:scheduled-at`, which a compromised production account could
/// forge to look fresh), against the policy's RPO.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct HeldCopy {
    pub region: String,
    pub kind: ResourceKind,
    pub source: String,
    pub policy: String,
    pub newest_copy: String,
    pub made: DateTime<Utc>,
    pub age_s: i64,
    pub rpo_s: i64,
    /// Older than the RPO: copies have stopped reaching this account.
    pub stale: bool,
}

/// The newest available vault copy of each group of `plans` that this run
/// does not delete, against its policy's RPO (groups of another place, of
/// a policy no longer in the document, or with no available copy yet are
/// not measured).
pub fn held_copies(doc: &PolicyDocument, plans: &[GroupPlan], now: DateTime<Utc>) -> Vec<HeldCopy> {
    plans
        .iter()
        .filter(|g| g.place == Place::VaultCopy.label())
        .filter_map(|g| {
            let rpo_s = doc.policy(&g.policy)?.rpo.seconds();
            let newest = g
                .decisions
                .iter()
                .filter(|d| d.step != Step::Delete && crate::model::is_available(&d.snapshot))
                .max_by_key(|d| d.time)?;
            let age_s = (now - newest.time).num_seconds().max(0);
            Some(HeldCopy {
                region: g.region.clone(),
                kind: g.kind,
                source: g.source.clone(),
                policy: g.policy.clone(),
                newest_copy: newest.id.clone(),
                made: newest.time,
                age_s,
                rpo_s,
                stale: age_s > rpo_s,
            })
        })
        .collect()
}

/// The EMF lines of a backup account's reading: the newest copy's age per
/// resource, and the number of stale resources (resource `vault`, 0 when
/// none: the vault module's alarm reads it).
pub fn held_emf_lines(
    held: &[HeldCopy],
    primary: &str,
    now: DateTime<Utc>,
) -> Vec<serde_json::Value> {
    use crate::metrics::{emf, resource, VAULT_HELD_AGE, VAULT_STALE};
    let mut lines: Vec<serde_json::Value> = held
        .iter()
        .map(|h| {
            emf(
                &resource(h.kind.as_str(), &h.source, &h.region, primary),
                now,
                &[(VAULT_HELD_AGE, h.age_s as f64)],
            )
        })
        .collect();
    let stale = held.iter().filter(|h| h.stale).count();
    lines.push(emf("vault", now, &[(VAULT_STALE, stale as f64)]));
    lines
}

/// One backup bucket's check.
#[derive(Clone, Debug, Serialize)]
pub struct BucketOutcome {
    pub bucket: String,
    pub region: String,
    pub drift: Drift,
    /// The drift was corrected in this run (false in a dry run).
    pub corrected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether the error may go away on a retry (throttling, 5xx).
    #[serde(skip)]
    pub retryable: bool,
}

impl EnforcerReport {
    pub fn retry_would_help(&self) -> bool {
        !self.bookkeeping_errors.is_empty()
            || self.failed.iter().any(|f| f.retryable)
            || self.buckets.iter().any(|b| b.retryable)
    }

    pub fn totals(&self) -> GroupCounts {
        let mut t = GroupCounts::default();
        for g in &self.groups {
            t.kept += g.kept;
            t.kept_by_floor += g.kept_by_floor;
            t.marked += g.marked;
            t.waiting += g.waiting;
            t.deleted += g.deleted;
            t.unmarked += g.unmarked;
            t.failed += g.failed;
        }
        t
    }

    pub fn summary(&self) -> String {
        let t = self.totals();
        let corrected = self.buckets.iter().filter(|b| b.corrected).count();
        let drifting = self.buckets.iter().filter(|b| !b.drift.is_none()).count();
        let stale: Vec<String> = self
            .held
            .iter()
            .filter(|h| h.stale)
            .map(|h| {
                format!(
                    "{} {} ({}h old, RPO {}h)",
                    h.kind,
                    h.source,
                    h.age_s / 3600,
                    h.rpo_s / 3600
                )
            })
            .collect();
        let stale = if stale.is_empty() {
            String::new()
        } else {
            format!(
                "; newest copy held here older than the RPO: {}",
                stale.join(", ")
            )
        };
        format!(
            "{}{} groups in {}: {} kept ({} by a floor), {} marked, {} waiting, {} deleted, {} unmarked, {} failed, {} left alone; {} bucket(s) drifted, {} corrected{}",
            if self.dry_run { "dry run: " } else { "" },
            self.groups.len(),
            self.regions.join(", "),
            t.kept,
            t.kept_by_floor,
            t.marked,
            t.waiting,
            t.deleted,
            t.unmarked,
            t.failed,
            self.untouched.len(),
            drifting,
            corrected,
            stale
        )
    }
}

/// DynamoDB items are at most 400 KB: the decisions stored with a group's
/// record are cut to stay well under it (the counts are always complete).
const MAX_DECISIONS_BYTES: usize = 256 * 1024;

/// The details of a `retention.applied` record: counts, and every decision
/// with its reasons, changes first, cut at [`MAX_DECISIONS_BYTES`].
pub fn applied_details(c: &GroupCounts, decisions: &[SnapshotDecision]) -> serde_json::Value {
    let mut ordered: Vec<&SnapshotDecision> =
        decisions.iter().filter(|d| d.step != Step::Keep).collect();
    ordered.extend(decisions.iter().filter(|d| d.step == Step::Keep));
    let (mut kept, mut size) = (Vec::new(), 0);
    for d in ordered {
        let v = serde_json::to_value(d).unwrap_or_default();
        size += v.to_string().len();
        if size > MAX_DECISIONS_BYTES {
            break;
        }
        kept.push(v);
    }
    let truncated = kept.len() < decisions.len();
    json!({ "counts": c, "decisions": kept, "decisions_truncated": truncated })
}

/// The regions a policy document covers: the primary and every DR region.
pub fn regions_of(doc: &PolicyDocument, primary: &str) -> Vec<String> {
    let mut r = vec![primary.to_string()];
    for p in doc.policies.values() {
        for d in &p.dr {
            if !r.contains(&d.region.0) {
                r.push(d.region.0.clone());
            }
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_huge_group_record_stays_under_the_dynamodb_item_limit() {
        let snap = |i: usize| SnapshotInfo {
            kind: ResourceKind::EbsVolume,
            id: format!("snap-{i:017}"),
            arn: String::new(),
            region: "eu-west-1".into(),
            source: "vol-1".into(),
            status: "completed".into(),
            created: None,
            tags: BTreeMap::new(),
            encrypted: false,
            kms_key: None,
        };
        let decisions: Vec<SnapshotDecision> = (0..5000)
            .map(|i| SnapshotDecision {
                snapshot: snap(i),
                id: format!("snap-{i:017}"),
                time: t("2025-11-24T05:00:00Z"),
                reasons: if i < 10 {
                    vec!["daily snapshot".into()]
                } else {
                    vec![]
                },
                step: if i < 10 {
                    Step::Keep
                } else {
                    Step::Mark {
                        delete_after: t("2025-11-25T05:00:00Z"),
                    }
                },
            })
            .collect();
        let v = applied_details(&GroupCounts::default(), &decisions);
        assert!(v.to_string().len() < 300 * 1024, "{}", v.to_string().len());
        assert_eq!(v["decisions_truncated"], true);
        assert_eq!(v["decisions"][0]["step"], "mark", "changes come first");
        let small = applied_details(&GroupCounts::default(), &decisions[..20]);
        assert_eq!(small["decisions_truncated"], false);
        assert_eq!(small["decisions"].as_array().map(Vec::len), Some(20));
    }

    const PROD: &str = "123456789012";
    const VAULT: &str = "210987654321";

    /// A copy in the backup account of production's `source` snapshot,
    /// made at `made` there, whose production-written tags say it was
    /// scheduled at `scheduled`.
    fn vault_copy(id: &str, made: &str, scheduled: &str) -> SnapshotInfo {
        SnapshotInfo {
            kind: ResourceKind::EbsVolume,
            id: id.into(),
            arn: format!("arn:aws:ec2:eu-west-1:{VAULT}:snapshot/{id}"),
            region: "eu-west-1".into(),
            source: "vol-ffffffff".into(),
            status: "completed".into(),
            created: Some(t(made)),
            tags: [
                (TAG_MANAGED, "true"),
                (TAG_POLICY, "vaulted"),
                (
                    TAG_SOURCE,
                    "arn:aws:ec2:eu-west-1:123456789012:volume/vol-1",
                ),
                (TAG_SCHEDULED_AT, scheduled),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain([(
                TAG_COPY_OF.to_string(),
                format!("arn:aws:ec2:eu-west-1:{PROD}:snapshot/src-{id}"),
            )])
            .collect(),
            encrypted: true,
            kms_key: None,
        }
    }

    fn vault_doc() -> PolicyDocument {
        PolicyDocument::from_toml(
            r##"version = 1
[notifications]
default_channel = "#ops"
[policies.vaulted]
kinds = ["ebs-volume"]
rpo = "26h"
[policies.vaulted.retention]
keep_last = 2
"##,
            "test",
        )
        .expect("policy")
    }

    /// Proves: a copy whose `rempart:copy-of` names another account is a
    /// vault copy, a copy of this account's own snapshot is a DR copy, and
    /// a snapshot without the tag is a primary one.
    #[test]
    fn places_are_told_by_the_accounts_of_the_arns() {
        let v = vault_copy("snap-1", "2026-12-01T02:10:00Z", "2026-12-01T02:00:00Z");
        assert_eq!(place_of(&v), Place::VaultCopy);
        let mut dr = v.clone();
        dr.arn = format!("arn:aws:ec2:eu-central-1:{PROD}:snapshot/snap-1");
        assert_eq!(place_of(&dr), Place::DrCopy);
        let mut primary = dr.clone();
        primary.tags.remove(TAG_COPY_OF);
        assert_eq!(place_of(&primary), Place::Primary);
        assert_eq!(place_of(&v).label(), "vault-copy");
    }

    /// Proves: in the backup account, retention orders copies by when that
    /// account made them, so a copy whose production-written
    /// `rempart:scheduled-at` claims to be the newest (as a compromised
    /// production account could write) does not push out the genuinely
    /// newer copies; the oldest by creation time is the one marked.
    #[test]
    fn a_vault_copy_is_timed_by_its_creation_not_by_its_tags() {
        let now = t("2026-12-04T06:00:00Z");
        let snaps = vec![
            vault_copy("snap-old", "2026-12-01T02:10:00Z", "2026-12-01T02:00:00Z"),
            vault_copy("snap-mid", "2026-12-02T02:10:00Z", "2026-12-02T02:00:00Z"),
            // Made first, tagged as if from far in the future.
            vault_copy(
                "snap-forged",
                "2026-11-30T02:10:00Z",
                "2030-01-01T00:00:00Z",
            ),
            vault_copy("snap-new", "2026-12-03T02:10:00Z", "2026-12-03T02:00:00Z"),
        ];
        let (plans, untouched) = decide(&vault_doc(), snaps, &BTreeSet::new(), now);
        assert!(untouched.is_empty(), "{untouched:?}");
        assert_eq!(plans.len(), 1, "one group: {plans:?}");
        assert_eq!(plans[0].place, "vault-copy");
        let steps: BTreeMap<&str, &Step> = plans[0]
            .decisions
            .iter()
            .map(|d| (d.id.as_str(), &d.step))
            .collect();
        assert_eq!(steps["snap-new"], &Step::Keep);
        assert_eq!(steps["snap-mid"], &Step::Keep);
        for gone in ["snap-old", "snap-forged"] {
            assert!(
                matches!(steps[gone], Step::Mark { .. }),
                "{gone}: {steps:?}"
            );
        }
        let newest = &plans[0].decisions[0];
        assert_eq!(newest.id, "snap-new");
        assert!(
            newest
                .reasons
                .iter()
                .any(|r| r == "floor: newest copy in the backup account"),
            "{:?}",
            newest.reasons
        );
    }

    /// Proves: a backup account measures its isolated RPO by the newest
    /// copy it made (a copy whose production-written time claims to be
    /// newer changes nothing), fresh under the policy's RPO (26 h here) and
    /// stale past it; a copy not yet available is not counted; the metric
    /// lines carry each resource's age and the count of stale ones, 0
    /// included.
    #[test]
    fn a_backup_account_measures_the_age_of_the_newest_copy_it_holds() {
        let snaps = || {
            let mut copying = vault_copy(
                "snap-copying",
                "2026-12-03T05:00:00Z",
                "2026-12-03T02:00:00Z",
            );
            copying.status = "pending".into();
            vec![
                vault_copy("snap-old", "2026-12-01T02:10:00Z", "2026-12-01T02:00:00Z"),
                vault_copy(
                    "snap-forged",
                    "2026-11-30T02:10:00Z",
                    "2030-01-01T00:00:00Z",
                ),
                vault_copy("snap-new", "2026-12-02T02:10:00Z", "2026-12-02T02:00:00Z"),
                copying,
            ]
        };
        let fresh_at = t("2026-12-03T02:10:00Z");
        let (plans, _) = decide(&vault_doc(), snaps(), &BTreeSet::new(), fresh_at);
        let held = held_copies(&vault_doc(), &plans, fresh_at);
        assert_eq!(held.len(), 1, "{held:?}");
        assert_eq!(held[0].newest_copy, "snap-new");
        assert_eq!(held[0].age_s, 24 * 3600);
        assert_eq!(held[0].rpo_s, 26 * 3600);
        assert!(!held[0].stale);
        assert_eq!(held[0].source, "vol-1");
        let lines = held_emf_lines(&held, "eu-west-1", fresh_at);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["Resource"], "ebs-volume/vol-1");
        assert_eq!(lines[0][crate::metrics::VAULT_HELD_AGE], 86400.0);
        assert_eq!(lines[1]["Resource"], "vault");
        assert_eq!(lines[1][crate::metrics::VAULT_STALE], 0.0);

        let stale_at = t("2026-12-03T04:11:00Z");
        let (plans, _) = decide(&vault_doc(), snaps(), &BTreeSet::new(), stale_at);
        let held = held_copies(&vault_doc(), &plans, stale_at);
        assert!(held[0].stale, "{held:?}");
        assert_eq!(held[0].newest_copy, "snap-new");
        let lines = held_emf_lines(&held, "eu-west-1", stale_at);
        assert_eq!(lines[1][crate::metrics::VAULT_STALE], 1.0);
        // A production account's groups are not measured.
        let mut primary = vault_copy("snap-p", "2026-12-01T02:10:00Z", "2026-12-01T02:00:00Z");
        primary.tags.remove(TAG_COPY_OF);
        primary.arn = format!("arn:aws:ec2:eu-west-1:{PROD}:snapshot/snap-p");
        let (plans, _) = decide(&vault_doc(), vec![primary], &BTreeSet::new(), stale_at);
        assert!(held_copies(&vault_doc(), &plans, stale_at).is_empty());
    }

    /// Proves: a backup account's enforcer takes only the vault copies of
    /// its production account; a copy of another account's snapshot, a DR
    /// copy and a primary snapshot found there are left untouched with the
    /// reason, once per group, and unmanaged snapshots are not listed.
    #[test]
    fn the_vault_scope_is_the_production_accounts_copies_only() {
        let ours = vault_copy("snap-1", "2026-12-01T02:10:00Z", "2026-12-01T02:00:00Z");
        let mut foreign = vault_copy("snap-2", "2026-12-01T02:10:00Z", "2026-12-01T02:00:00Z");
        foreign.tags.insert(
            TAG_COPY_OF.into(),
            "arn:aws:ec2:eu-west-1:555555555555:snapshot/snap-x".into(),
        );
        let mut foreign_too = foreign.clone();
        foreign_too.id = "snap-3".into();
        let mut own = ours.clone();
        own.id = "snap-4".into();
        own.tags.remove(TAG_COPY_OF);
        own.tags.insert(
            TAG_SOURCE.into(),
            "arn:aws:ec2:eu-west-1:210987654321:volume/vol-9".into(),
        );
        let mut unmanaged = ours.clone();
        unmanaged.tags.remove(TAG_MANAGED);
        let snaps = vec![ours.clone(), foreign, foreign_too, own, unmanaged];
        let (kept, untouched) = vault_scope(snaps, PROD);
        assert_eq!(kept, vec![ours]);
        assert_eq!(untouched.len(), 2, "one per group: {untouched:?}");
        assert!(untouched.iter().all(|u| u.reason.contains(PROD)));
        assert_eq!(
            untouched
                .iter()
                .map(|u| u.source.as_str())
                .collect::<Vec<_>>(),
            vec!["vol-1", "vol-9"]
        );
    }

    #[test]
    fn two_phase_steps() {
        let now = t("2025-11-24T05:00:00Z");
        let g = TimeDelta::hours(24);
        assert_eq!(step(Action::Keep, None, now, g), Step::Keep);
        assert_eq!(step(Action::Keep, Some(now), now, g), Step::Unmark);
        assert_eq!(
            step(Action::Remove, None, now, g),
            Step::Mark {
                delete_after: t("2025-11-25T05:00:00Z")
            }
        );
        let later = t("2025-11-25T05:00:00Z");
        assert_eq!(
            step(Action::Remove, Some(later), now, g),
            Step::Wait {
                delete_after: later
            }
        );
        assert_eq!(step(Action::Remove, Some(later), later, g), Step::Delete);
    }
}
