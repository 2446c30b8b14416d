//! Air-gapped copies (the vault): decisions of the snapshot-replicator for
//! copies in an isolated backup account that the production account cannot
//! touch (pure).
//!
//! A policy names its vaults (`[[policies.<name>.vault]]`): the account, the
//! role Rempart assumes there, the key there that copies are encrypted
//! with, and a key of the production account that the vault may use
//! (`share_key`). For each Rempart snapshot of the primary region:
//!
//! 1. **Stage** (only when the snapshot is under an AWS-managed key such as
//!    `aws/rds` or `aws/ebs`, which AWS does not let another account use):
//!    a copy in the production account under `share_key`, tagged
//!    `rempart:vault-stage-of=<source ARN>` (not `rempart:managed`: the
//!    other functions never see it).
//! 2. **Share and copy**: the snapshot (or its stage) is shared with the
//!    vault account (`restore` attribute, `createVolumePermission`) and
//!    copied there, through the vault role, under the vault's key, with
//!    Rempart's tags (`rempart:copy-of=<source ARN>`): the vault's own
//!    retention-enforcer keeps and deletes it.
//! 3. **Clean up** once the vault copy is available: the share is removed,
//!    the stage deleted, and the source tagged `rempart:vault-copy:<account>`
//!    with the copy's id. That tag is what says "done": a vault copy later
//!    deleted by the vault's retention is not made again.
//!
//! A Redis snapshot cannot be shared: its export (the DR path's, made even
//! without a DR region) is uploaded into the vault entry's `bucket`, a
//! bucket of the backup account with S3 Object Lock in compliance mode
//! ([`lock_days`]), and the source is then marked the same way.
//!
//! A copy is made in the primary region of the vault account: AWS copies a
//! shared Aurora cluster snapshot only within its region.
//!
//! Before anything is shared, the key the shared snapshot is under must let
//! the vault account use it (its key policy) and the vault key must be
//! usable: otherwise the snapshot is blocked with a message naming the key,
//! the account and what is missing, and nothing is shared.

use crate::kind::ResourceKind;
use crate::model::{is_available, SnapshotInfo};
use crate::naming::arn_parts;
use crate::policy::{PolicyDocument, Vault};
use crate::replication::{copy_tags, ignore_reason, is_broken, Family, KeyFacts};
use crate::tags::{vault_copy_tag, TAG_COPY_OF, TAG_MANAGED, TAG_POLICY, TAG_VAULT_STAGE_OF};
use serde::Serialize;
use std::collections::BTreeMap;

/// What the vault account must be allowed on the key of a shared RDS or
/// Aurora snapshot (AWS's "allowing access to a KMS key" for shared
/// snapshots): describe it, decrypt with it, and create the grant its copy
/// runs under.
pub const SHARED_KEY_ACTIONS: [&str; 3] = ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey"];

/// The same for a shared EBS snapshot, which EBS also re-encrypts from
/// that key to the vault key (the EBS user guide lists `kms:ReEncrypt` for
/// the users of a shared snapshot's key).
pub const SHARED_VOLUME_KEY_ACTIONS: [&str; 4] = [
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:ReEncryptFrom",
];

/// What the vault account must be allowed on the key of a shared snapshot
/// of `family`.
pub fn shared_key_actions(family: Family) -> &'static [&'static str] {
    match family {
        Family::Rds => &SHARED_KEY_ACTIONS,
        Family::Ebs => &SHARED_VOLUME_KEY_ACTIONS,
    }
}

/// The app name of the replicator's requests in a vault account (its
/// User-Agent says `app/<this>`: CloudTrail there, and the IAM recorder,
/// tell them from the production role's).
pub const VAULT_APP: &str = "snapshot-replicator-vault";

/// The role session name the replicator uses in a vault account.
pub const VAULT_SESSION: &str = "rempart-snapshot-replicator";

// ---------------------------------------------------------------------------
// Key policies

/// Does a glob of an IAM policy (`*`, `?`) match `s` (case-insensitive, as
/// IAM compares actions)?
fn glob(pattern: &str, s: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], s) || (!s.is_empty() && go(p, &s[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => go(&p[1..], &s[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), s.as_bytes())
}

fn strings(v: Option<&serde_json::Value>) -> Vec<String> {
    match v {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a key policy principal names `account`: `*`, the account id,
/// its root, or any principal of that account (a role there).
fn principal_names(principal: Option<&serde_json::Value>, account: &str) -> bool {
    let names: Vec<String> = match principal {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Object(m)) => strings(m.get("AWS")),
        _ => Vec::new(),
    };
    names.iter().any(|n| {
        n == "*"
            || n == account
            || arn_parts(n).is_some_and(|(_, s, _, a, _)| s == "iam" && a == account)
    })
}

/// The actions of [`shared_key_actions`] of `family` that a key policy
/// does not allow to `account` (empty: the vault account may use the key
/// for a copy of that family). Allow
/// statements naming the account (or a principal of it) count, conditions
/// or not (a condition Rempart cannot evaluate is the key owner's choice);
/// a Deny naming it removes what it denies. A policy that is not JSON
/// allows nothing.
pub fn missing_key_grants(policy: &str, account: &str, family: Family) -> Vec<&'static str> {
    let needed = shared_key_actions(family);
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(policy) else {
        return needed.to_vec();
    };
    let statements = match doc.get("Statement") {
        Some(serde_json::Value::Array(a)) => a.clone(),
        Some(o @ serde_json::Value::Object(_)) => vec![o.clone()],
        _ => Vec::new(),
    };
    let covered = |effect: &str, action: &str| {
        statements.iter().any(|st| {
            st.get("Effect").and_then(|e| e.as_str()) == Some(effect)
                && principal_names(st.get("Principal"), account)
                && strings(st.get("Action")).iter().any(|p| glob(p, action))
        })
    };
    needed
        .iter()
        .copied()
        .filter(|a| !covered("Allow", a) || covered("Deny", a))
        .collect()
}

// ---------------------------------------------------------------------------
// Planning

/// What the replicator learnt about the keys a vault needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultKeys {
    /// The vault key as the vault role sees it (`None`: no such key, or the
    /// role may not describe it).
    pub vault_key: Option<KeyFacts>,
    /// The share key as the production account sees it.
    pub share_key: Option<KeyFacts>,
    /// Redis: the Object Lock default of the entry's `bucket`, as the vault
    /// role reads it once per run (`Ok(None)`: no lock configuration or no
    /// bucket; `Err`: it could not be read).
    pub bucket_lock: Result<Option<BucketLock>, String>,
}

impl Default for VaultKeys {
    fn default() -> Self {
        VaultKeys {
            vault_key: None,
            share_key: None,
            bucket_lock: Ok(None),
        }
    }
}

/// The pre-flight facts of one run: per source key ARN, what KMS says about
/// it; per key ARN, its key policy; per vault account, its keys.
#[derive(Clone, Debug, Default)]
pub struct Preflight {
    pub source_keys: BTreeMap<String, KeyFacts>,
    pub policies: BTreeMap<String, String>,
    pub vaults: BTreeMap<String, VaultKeys>,
}

/// What to do about one source snapshot and one vault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum VaultVerdict {
    /// Copy the source in the production account under the share key
    /// (`target`: the stage's identifier for RDS, empty for EBS).
    Stage { target: String, kms_key: String },
    /// Share `from` (the source or its stage) with the vault account and
    /// copy it there under `kms_key` as `target` (RDS; EBS: empty).
    Copy {
        from: SnapshotInfo,
        target: String,
        kms_key: String,
    },
    /// The vault copy is available: remove the vault account from the
    /// shares of `unshare` (the source, its stage, or both when it is not
    /// known which was shared), delete `stage` (when no other vault still
    /// needs it), and tag the source as done.
    Finish {
        copy: String,
        unshare: Vec<SnapshotInfo>,
        stage: Option<SnapshotInfo>,
    },
    /// Redis: copy the exported files `s3://from_bucket/prefix*` into the
    /// vault's Object Lock bucket `to_bucket`, encrypted under `kms_key`,
    /// each locked in compliance mode for `lock_days` (the bucket's
    /// default), then tag the source as done.
    Upload {
        from_bucket: String,
        prefix: String,
        to_bucket: String,
        kms_key: String,
        lock_days: i64,
    },
    /// Done (the source carries the vault-copy tag).
    Available { copy: String },
    /// The stage or the vault copy is being made.
    InFlight { copy: String },
    /// No free copy slot in the vault now.
    Deferred { reason: String },
    /// Cannot be copied until a human acts; the reason says what to do.
    Blocked { reason: String },
    /// Not ready yet.
    Waiting { reason: String },
}

impl VaultVerdict {
    /// The state name recorded in the registry.
    pub fn state(&self) -> &'static str {
        match self {
            VaultVerdict::Stage { .. }
            | VaultVerdict::Copy { .. }
            | VaultVerdict::Upload { .. } => "started",
            VaultVerdict::Finish { .. } | VaultVerdict::Available { .. } => "available",
            VaultVerdict::InFlight { .. } => "in-flight",
            VaultVerdict::Deferred { .. } => "deferred",
            VaultVerdict::Blocked { .. } => "blocked",
            VaultVerdict::Waiting { .. } => "waiting",
        }
    }
}

/// One source snapshot and one vault, with the verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VaultPlanned {
    pub source: SnapshotInfo,
    pub policy: String,
    pub account: String,
    pub verdict: VaultVerdict,
}

/// The identifier of a stage: the source's with `-vault` (RDS; EBS names
/// its snapshots itself), shortened to fit the kind's limit with a short
/// hash of the source's identifier.
pub fn stage_id(kind: ResourceKind, source_id: &str) -> String {
    let max = crate::naming::snapshot_id_max(kind);
    let plain = format!("{source_id}-vault");
    if plain.len() <= max {
        return plain;
    }
    // FNV-1a: stable across builds and platforms.
    let hash = source_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let suffix = format!("-{:08x}-vault", hash as u32);
    let mut head = source_id[..max - suffix.len()].to_string();
    while head.ends_with('-') {
        head.pop();
    }
    format!("{head}{suffix}")
}

/// The tags of a stage: the source's policy, and which snapshot it stages.
pub fn stage_tags(source: &SnapshotInfo) -> Vec<(String, String)> {
    let mut tags = vec![(TAG_VAULT_STAGE_OF.to_string(), source.arn.clone())];
    if let Some(p) = source.tags.get(TAG_POLICY) {
        tags.push((TAG_POLICY.to_string(), p.clone()));
    }
    tags
}

/// The tags of a vault copy: those of a DR copy ([`copy_tags`]), which make
/// it Rempart's in the vault account (`rempart:managed`, `rempart:policy`,
/// `rempart:copy-of`).
pub fn vault_copy_tags(source: &SnapshotInfo) -> Vec<(String, String)> {
    copy_tags(source)
}

/// Judges the vault key as the vault role sees it.
pub fn check_vault_key(
    policy: &str,
    v: &Vault,
    facts: Option<&KeyFacts>,
) -> Result<String, String> {
    let (account, key) = (&v.account, &v.kms_key);
    let entry = format!("the [[policies.{policy}.vault]] entry for account {account}");
    match facts {
        None => Err(format!(
            "KMS key `{key}` cannot be described by role {} in account {account}: create the key there (the vault Terraform module does) and let that role use it (kms:DescribeKey, kms:CreateGrant, kms:Encrypt, kms:GenerateDataKey*, kms:ReEncrypt*), or fix `kms_key` of {entry}",
            v.role
        )),
        Some(f) if f.state != "Enabled" => Err(format!(
            "KMS key `{key}` of account {account} is {}: enable it there (`aws kms enable-key --key-id {}`), or set another key as `kms_key` of {entry}",
            f.state, f.arn
        )),
        Some(f) if f.manager == "AWS" => Err(format!(
            "KMS key `{key}` of account {account} is AWS-managed: use a customer-managed key of the backup account as `kms_key` of {entry}"
        )),
        Some(f) => Ok(f.arn.clone()),
    }
}

/// The key a shared snapshot is under must let the vault account use it.
fn check_shared_key(
    key_arn: &str,
    account: &str,
    family: Family,
    pre: &Preflight,
    what: &str,
) -> Result<(), String> {
    let Some(policy) = pre.policies.get(key_arn) else {
        return Err(format!(
            "the key policy of {key_arn} ({what}) could not be read: the replicator needs kms:GetKeyPolicy on it"
        ));
    };
    let missing = missing_key_grants(policy, account, family);
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "KMS key {key_arn} ({what}) does not let the backup account {account} use it: its key policy allows {account} no {}. Add to the key policy a statement allowing principal `arn:aws:iam::{account}:root` the actions {} (the Terraform output `vault_share_key_policy_statements` are those statements); nothing was shared",
        missing.join(", "),
        shared_key_actions(family).join(", ")
    ))
}

/// Copies in flight towards each vault account and family: stages and vault
/// copies not yet available.
fn in_flight(vault: &BTreeMap<String, Vec<SnapshotInfo>>) -> BTreeMap<(String, Family), usize> {
    let mut out = BTreeMap::new();
    for (account, snaps) in vault {
        for s in snaps.iter().filter(|s| s.tags.contains_key(TAG_COPY_OF)) {
            if let (false, false, Some(f)) = (is_available(s), is_broken(s), Family::of(s.kind)) {
                *out.entry((account.clone(), f)).or_insert(0) += 1;
            }
        }
    }
    out
}

/// Decides, for each Rempart snapshot of the primary region and each vault
/// of its policy, what to do. `vault` holds the Rempart snapshots of each
/// vault account (its primary region), `stages` the production account's
/// stages, `pre` what KMS said; `limit` the copies allowed in flight per
/// vault account and family.
pub fn plan_vault(
    doc: &PolicyDocument,
    sources: &[SnapshotInfo],
    vault: &BTreeMap<String, Vec<SnapshotInfo>>,
    stages: &[SnapshotInfo],
    pre: &Preflight,
    limit: usize,
) -> Vec<VaultPlanned> {
    let mut slots = in_flight(vault);
    let copy_in = |account: &str, source: &str| -> Option<&SnapshotInfo> {
        let mut best: Option<&SnapshotInfo> = None;
        for c in vault.get(account).into_iter().flatten() {
            if c.tags.get(TAG_COPY_OF).map(String::as_str) == Some(source) {
                let better = match best {
                    None => true,
                    Some(b) => is_broken(b) || (!is_available(b) && is_available(c)),
                };
                if better {
                    best = Some(c);
                }
            }
        }
        best
    };
    let stage_of = |source: &str| {
        stages
            .iter()
            .find(|s| s.tags.get(TAG_VAULT_STAGE_OF).map(String::as_str) == Some(source))
    };
    let mut order: Vec<&SnapshotInfo> = sources.iter().collect();
    order.sort_by(|a, b| (a.taken_at(), &a.id).cmp(&(b.taken_at(), &b.id)));
    let mut out = Vec::new();
    for s in order {
        let Ok((pname, policy)) = vault_policy(doc, s) else {
            continue;
        };
        let stage = stage_of(&s.arn);
        for v in &policy.vault {
            // The stage serves every vault of the policy: deleted when the
            // others no longer need it.
            let others_done = policy
                .vault
                .iter()
                .filter(|o| o.account != v.account)
                .all(|o| {
                    s.tags.contains_key(&vault_copy_tag(&o.account))
                        || copy_in(&o.account, &s.arn).is_some_and(is_available)
                });
            let facts = Facts {
                copy: copy_in(&v.account, &s.arn),
                stage,
                stage_deletable: others_done,
            };
            let verdict = decide(s, pname, v, &facts, pre, limit, &mut slots);
            out.push(VaultPlanned {
                source: s.clone(),
                policy: pname.to_string(),
                account: v.account.clone(),
                verdict,
            });
        }
    }
    out
}

/// A Redis snapshot, which AWS cannot share: its exported `.rdb` files (the
/// export the DR path makes, `rempart:export`) are copied into the vault's
/// Object Lock bucket.
fn decide_redis(s: &SnapshotInfo, pname: &str, v: &Vault, pre: &Preflight) -> VaultVerdict {
    let account = &v.account;
    let Some(to_bucket) = v.bucket.clone() else {
        return VaultVerdict::Blocked {
            reason: format!(
                "the [[policies.{pname}.vault]] entry for account {account} names no `bucket`: Redis exports are copied to an S3 bucket of the backup account with Object Lock (modules/vault_account's output `redis_bucket`)"
            ),
        };
    };
    let Some((from_bucket, prefix)) = s
        .tags
        .get(crate::tags::TAG_EXPORT)
        .and_then(|u| crate::naming::parse_s3_url(u))
    else {
        return VaultVerdict::Waiting {
            reason: "it is exported to the policy's `export_bucket` first".into(),
        };
    };
    if !is_available(s) {
        return VaultVerdict::Waiting {
            reason: format!("the export to s3://{from_bucket}/{prefix} is in progress"),
        };
    }
    let keys = pre.vaults.get(account);
    let checked = check_vault_key(pname, v, keys.and_then(|k| k.vault_key.as_ref())).and_then(
        |kms_key| {
            let lock = match keys.map(|k| &k.bucket_lock) {
                Some(Err(e)) => {
                    return Err(format!(
                        "the Object Lock configuration of bucket {to_bucket} of account {account} could not be read ({e}); nothing was copied"
                    ))
                }
                Some(Ok(l)) => l.as_ref(),
                None => None,
            };
            Ok((kms_key, lock_days(&to_bucket, account, lock)?))
        },
    );
    match checked {
        Ok((kms_key, lock_days)) => VaultVerdict::Upload {
            from_bucket,
            prefix,
            to_bucket,
            kms_key,
            lock_days,
        },
        Err(reason) => VaultVerdict::Blocked { reason },
    }
}

/// A bucket's Object Lock default retention, as S3 reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BucketLock {
    /// `COMPLIANCE` or `GOVERNANCE`; empty without a default rule.
    pub mode: String,
    pub days: Option<i32>,
    pub years: Option<i32>,
}

/// For how many days a file written into the vault bucket is locked: the
/// bucket's default retention, which must be in compliance mode (in
/// governance mode a principal with `s3:BypassGovernanceRetention` could
/// delete it early, and without a default rule nothing is locked). `Err`
/// says what to fix; nothing is then uploaded.
pub fn lock_days(bucket: &str, account: &str, lock: Option<&BucketLock>) -> Result<i64, String> {
    let fix = format!(
        "give bucket {bucket} of account {account} Object Lock with a default retention in COMPLIANCE mode (modules/vault_account creates it so); nothing was copied"
    );
    let Some(l) = lock.filter(|l| !l.mode.is_empty()) else {
        return Err(format!(
            "bucket {bucket} of account {account} has no Object Lock default retention, so a copy there could be deleted at once: {fix}"
        ));
    };
    if l.mode != "COMPLIANCE" {
        return Err(format!(
            "bucket {bucket} of account {account} locks in {} mode, which a principal allowed s3:BypassGovernanceRetention can lift: {fix}",
            l.mode
        ));
    }
    let days = i64::from(l.days.unwrap_or(0)) + 365 * i64::from(l.years.unwrap_or(0));
    if days <= 0 {
        return Err(format!(
            "bucket {bucket} of account {account} has a default retention of no days: {fix}"
        ));
    }
    Ok(days)
}

/// The policy of a source that has vaults/// The policy of a source that has vaults (the DR rules of
/// [`ignore_reason`] apply, less "no DR region").
fn vault_policy<'a>(
    doc: &'a PolicyDocument,
    s: &SnapshotInfo,
) -> Result<(&'a str, &'a crate::policy::Policy), String> {
    match ignore_reason(doc, s) {
        Ok((n, p)) if !p.vault.is_empty() => Ok((n, p)),
        Ok(_) => Err("no vault".into()),
        Err(e) if e.contains("names no DR region") && s.is_managed() => {
            let name = s.tags.get(TAG_POLICY).cloned().unwrap_or_default();
            doc.policies
                .iter()
                .find(|(n, p)| n.as_str() == name && !p.vault.is_empty())
                .map(|(n, p)| (n.as_str(), p))
                .ok_or(e)
        }
        Err(e) => Err(e),
    }
}

/// What the listings say about one source and one vault.
struct Facts<'a> {
    /// Its copy in the vault.
    copy: Option<&'a SnapshotInfo>,
    /// Its stage in the production account.
    stage: Option<&'a SnapshotInfo>,
    /// No other vault of the policy still needs the stage.
    stage_deletable: bool,
}

fn decide(
    s: &SnapshotInfo,
    pname: &str,
    v: &Vault,
    facts: &Facts,
    pre: &Preflight,
    limit: usize,
    slots: &mut BTreeMap<(String, Family), usize>,
) -> VaultVerdict {
    let account = &v.account;
    if let Some(done) = s.tags.get(&vault_copy_tag(account)) {
        return VaultVerdict::Available { copy: done.clone() };
    }
    let Some(family) = Family::of(s.kind) else {
        return decide_redis(s, pname, v, pre);
    };
    let (copy, stage) = (facts.copy, facts.stage);
    // Which key a share of the source would be under, and whether it is
    // AWS-managed (then the stage was shared).
    let source_key = s.kms_key.as_deref().filter(|_| s.encrypted);
    let source_facts = source_key.and_then(|k| pre.source_keys.get(k));
    let aws_managed = source_facts.map(|f| f.manager == "AWS");
    if let Some(c) = copy {
        if is_broken(c) {
            return VaultVerdict::Blocked {
                reason: format!(
                    "its copy {} in account {account} is `{}`: delete that copy in the backup account; the next sweep copies again",
                    c.id, c.status
                ),
            };
        }
        if !is_available(c) {
            return VaultVerdict::InFlight { copy: c.id.clone() };
        }
        let unshare = match (aws_managed, stage) {
            (Some(true), Some(st)) => vec![st.clone()],
            (Some(true), None) => Vec::new(),
            (Some(false), _) | (None, None) => vec![s.clone()],
            (None, Some(st)) => vec![s.clone(), st.clone()],
        };
        return VaultVerdict::Finish {
            copy: c.id.clone(),
            unshare,
            stage: stage.filter(|_| facts.stage_deletable).cloned(),
        };
    }
    if !is_available(s) {
        return VaultVerdict::Waiting {
            reason: format!(
                "the snapshot is `{}`; it is copied once available",
                s.status
            ),
        };
    }
    if s.kind == ResourceKind::AuroraCluster && !s.encrypted {
        return VaultVerdict::Blocked {
            reason: format!(
                "Aurora cluster {} is not encrypted, and AWS cannot encrypt a cluster snapshot while copying it: encrypt the cluster; its next snapshots are then copied",
                s.source_id()
            ),
        };
    }
    let vault_key = match check_vault_key(
        pname,
        v,
        pre.vaults.get(account).and_then(|k| k.vault_key.as_ref()),
    ) {
        Ok(k) => k,
        Err(reason) => return VaultVerdict::Blocked { reason },
    };
    if arn_parts(&vault_key).map(|p| p.2) != Some(s.region.as_str()) {
        return VaultVerdict::Blocked {
            reason: format!(
                "vault key {vault_key} is not in {}, the region of the snapshot: AWS copies a shared snapshot within its region; set a key of account {account} in {} as `kms_key` of the [[policies.{pname}.vault]] entry",
                s.region, s.region
            ),
        };
    }
    if let (Some(k), None) = (source_key, source_facts) {
        return VaultVerdict::Blocked {
            reason: format!("the key of the snapshot, {k}, could not be described: the replicator needs kms:DescribeKey on it"),
        };
    }
    let from = if aws_managed == Some(true) {
        let share_facts = pre.vaults.get(account).and_then(|k| k.share_key.as_ref());
        let share = match (&v.share_key, share_facts) {
            (None, _) => {
                return VaultVerdict::Blocked {
                    reason: format!(
                        "the snapshot is under the AWS-managed key {}, which AWS does not let another account use: set `share_key` of the [[policies.{pname}.vault]] entry for account {account} to a customer-managed key that account may use (the Terraform output `vault_share_key_arn`)",
                        source_key.unwrap_or_default()
                    ),
                }
            }
            (Some(k), None) => {
                return VaultVerdict::Blocked {
                    reason: format!("share key `{k}` does not exist in {} or cannot be described: create it (customer-managed) or fix `share_key` of the [[policies.{pname}.vault]] entry", s.region),
                }
            }
            (Some(k), Some(f)) if f.state != "Enabled" || f.manager == "AWS" => {
                return VaultVerdict::Blocked {
                    reason: format!("share key `{k}` ({}) is {} and {}-managed: it must be an enabled customer-managed key", f.arn, f.state, f.manager.to_lowercase()),
                }
            }
            (Some(_), Some(f)) => f.arn.clone(),
        };
        // An existing stage (made for another vault) is under its own key.
        let staged_under = stage
            .and_then(|st| st.kms_key.clone())
            .unwrap_or(share.clone());
        if let Err(reason) = check_shared_key(&staged_under, account, family, pre, "the share key")
        {
            return VaultVerdict::Blocked { reason };
        }
        match stage {
            Some(st) if is_broken(st) => {
                return VaultVerdict::Blocked {
                    reason: format!("its stage {} (the copy under the share key) is `{}`: delete it; the next sweep stages again", st.id, st.status),
                }
            }
            Some(st) if !is_available(st) => {
                return VaultVerdict::InFlight { copy: st.id.clone() }
            }
            Some(st) => st.clone(),
            None => {
                return match take_slot(slots, account, family, limit) {
                    Err(reason) => VaultVerdict::Deferred { reason },
                    Ok(()) => VaultVerdict::Stage {
                        target: if family == Family::Rds {
                            stage_id(s.kind, &s.id)
                        } else {
                            String::new()
                        },
                        kms_key: share,
                    },
                }
            }
        }
    } else {
        if let Some(k) = source_key {
            if let Err(reason) =
                check_shared_key(k, account, family, pre, "the key of the snapshot")
            {
                return VaultVerdict::Blocked { reason };
            }
        }
        s.clone()
    };
    match take_slot(slots, account, family, limit) {
        Err(reason) => VaultVerdict::Deferred { reason },
        Ok(()) => VaultVerdict::Copy {
            from,
            target: if family == Family::Rds {
                s.id.clone()
            } else {
                String::new()
            },
            kms_key: vault_key,
        },
    }
}

fn take_slot(
    slots: &mut BTreeMap<(String, Family), usize>,
    account: &str,
    family: Family,
    limit: usize,
) -> Result<(), String> {
    let used = slots.entry((account.to_string(), family)).or_insert(0);
    if *used >= limit {
        return Err(format!(
            "{used} copies are in flight to account {account} (limit {limit}); copied when a slot frees"
        ));
    }
    *used += 1;
    Ok(())
}

/// The destination name of a vault in reports and the registry
/// (`vault:<account>`, where a DR copy names its region).
pub fn destination(account: &str) -> String {
    format!("vault:{account}")
}

/// Whether a snapshot is a vault stage (the other functions leave it alone;
/// it never carries `rempart:managed`).
pub fn is_stage(s: &SnapshotInfo) -> bool {
    s.tags.contains_key(TAG_VAULT_STAGE_OF) && !s.tags.contains_key(TAG_MANAGED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tags::{TAG_SCHEDULED_AT, TAG_SOURCE};
    use proptest::prelude::*;

    const VAULT: &str = "210987654321";
    const PROD: &str = "123456789012";
    const VAULT_KEY: &str = "arn:aws:kms:eu-west-1:210987654321:key/vault";
    const SHARE_KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/share";
    const CMK: &str = "arn:aws:kms:eu-west-1:123456789012:key/cmk";
    const AWS_RDS: &str = "arn:aws:kms:eu-west-1:123456789012:key/aws-rds";

    fn doc(vaults: &str) -> PolicyDocument {
        let text = format!(
            r##"version = 1
[notifications]
default_channel = "#ops"
[policies.db]
kinds = ["rds-instance", "aurora-cluster", "ebs-volume"]
rpo = "24h"
[policies.db.retention]
keep_daily = 7
{vaults}"##
        );
        PolicyDocument::from_toml(&text, "t").expect("policy parses")
    }

    fn one_vault() -> String {
        format!(
            "[[policies.db.vault]]\naccount = \"{VAULT}\"\nrole = \"arn:aws:iam::{VAULT}:role/rempart-vault\"\nexternal_id = \"rempart-prod\"\nkms_key = \"{VAULT_KEY}\"\nshare_key = \"alias/rempart-share\"\n"
        )
    }

    fn err_of(vaults: &str) -> String {
        let text = format!(
            "version = 1\n[notifications]\ndefault_channel = \"#ops\"\n[policies.db]\nkinds = [\"rds-instance\"]\nrpo = \"24h\"\n[policies.db.retention]\nkeep_daily = 7\n{vaults}"
        );
        PolicyDocument::from_toml(&text, "t")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    fn snap(kind: ResourceKind, id: &str, key: Option<&str>) -> SnapshotInfo {
        SnapshotInfo {
            kind,
            id: id.into(),
            arn: format!("arn:aws:rds:eu-west-1:{PROD}:snapshot:{id}"),
            region: "eu-west-1".into(),
            source: "src".into(),
            status: "available".into(),
            created: None,
            tags: BTreeMap::from([
                (TAG_MANAGED.to_string(), "true".to_string()),
                (TAG_POLICY.to_string(), "db".to_string()),
                (
                    TAG_SCHEDULED_AT.to_string(),
                    "2026-12-01T02:00:00Z".to_string(),
                ),
                (
                    TAG_SOURCE.to_string(),
                    format!("arn:aws:rds:eu-west-1:{PROD}:db:src"),
                ),
            ]),
            encrypted: key.is_some(),
            kms_key: key.map(str::to_string),
        }
    }

    fn facts(arn: &str, manager: &str) -> KeyFacts {
        KeyFacts {
            arn: arn.into(),
            state: "Enabled".into(),
            manager: manager.into(),
        }
    }

    fn granting(account: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[
              {{"Sid":"Owner","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{PROD}:root"}},"Action":"kms:*","Resource":"*"}},
              {{"Sid":"Vault","Effect":"Allow","Principal":{{"AWS":["arn:aws:iam::{account}:root"]}},"Action":["kms:Decrypt","kms:DescribeKey","kms:CreateGrant","kms:ReEncryptFrom"],"Resource":"*"}}]}}"#
        )
    }

    /// The facts of a well set-up run: the vault key, the share key and a
    /// customer key, all usable and shared with the vault.
    fn pre() -> Preflight {
        Preflight {
            source_keys: BTreeMap::from([
                (CMK.to_string(), facts(CMK, "CUSTOMER")),
                (AWS_RDS.to_string(), facts(AWS_RDS, "AWS")),
            ]),
            policies: BTreeMap::from([
                (SHARE_KEY.to_string(), granting(VAULT)),
                (CMK.to_string(), granting(VAULT)),
            ]),
            vaults: BTreeMap::from([(
                VAULT.to_string(),
                VaultKeys {
                    vault_key: Some(facts(VAULT_KEY, "CUSTOMER")),
                    share_key: Some(facts(SHARE_KEY, "CUSTOMER")),
                    bucket_lock: Ok(Some(BucketLock {
                        mode: "COMPLIANCE".into(),
                        days: Some(30),
                        years: None,
                    })),
                },
            )]),
        }
    }

    fn vault_copy(s: &SnapshotInfo, status: &str) -> SnapshotInfo {
        let mut c = s.clone();
        c.status = status.into();
        c.arn = s.arn.replace(PROD, VAULT);
        c.tags.insert(TAG_COPY_OF.into(), s.arn.clone());
        c.kms_key = Some(VAULT_KEY.into());
        c
    }

    fn stage(s: &SnapshotInfo, status: &str) -> SnapshotInfo {
        let mut st = s.clone();
        st.id = stage_id(s.kind, &s.id);
        st.arn = format!("{}-vault", s.arn);
        st.status = status.into();
        st.tags = stage_tags(s).into_iter().collect();
        st.kms_key = Some(SHARE_KEY.into());
        st
    }

    fn one(
        sources: &[SnapshotInfo],
        vault: Vec<SnapshotInfo>,
        stages: &[SnapshotInfo],
        pre: &Preflight,
    ) -> VaultVerdict {
        let plan = plan_vault(
            &doc(&one_vault()),
            sources,
            &BTreeMap::from([(VAULT.to_string(), vault)]),
            stages,
            pre,
            20,
        );
        assert_eq!(plan.len(), 1, "one source, one vault: {plan:?}");
        plan[0].verdict.clone()
    }

    /// Proves: each field of a vault entry is checked, with a message that
    /// names the field, and a good entry passes.
    #[test]
    fn vault_entries_are_validated() {
        let ok = err_of(&one_vault());
        assert!(ok.is_empty(), "{ok}");
        let cases = [
            ("210987654321", "2109", "vault[0].account"),
            (":role/rempart-vault", ":user/bob", "vault[0].role"),
            ("rempart-prod", "a b", "vault[0].external_id"),
            (VAULT_KEY, "alias/rempart-vault", "vault[0].kms_key"),
            ("alias/rempart-share", "rempart-share", "vault[0].share_key"),
        ];
        for (from, to, field) in cases {
            let e = err_of(&one_vault().replacen(from, to, 1));
            assert!(e.contains(field), "{field}: {e}");
        }
        // The vault key must be the vault account's.
        let e = err_of(&one_vault().replace(VAULT_KEY, &VAULT_KEY.replace(VAULT, PROD)));
        assert!(e.contains("vault[0].kms_key"), "{e}");
        let e = err_of(&format!("{}{}", one_vault(), one_vault()));
        assert!(e.contains("listed twice"), "{e}");
    }

    /// Proves: a key policy grants the vault account only when an Allow
    /// names it (root, id or one of its roles) for all the actions of the
    /// copy's family, wildcards included; a Deny or another account does
    /// not count; an EBS copy needs `kms:ReEncryptFrom` besides what an
    /// RDS copy needs.
    #[test]
    fn key_policies_are_read_for_the_vault_account() {
        let (rds, ebs) = (Family::Rds, Family::Ebs);
        assert!(missing_key_grants(&granting(VAULT), VAULT, rds).is_empty());
        assert!(missing_key_grants(&granting(VAULT), VAULT, ebs).is_empty());
        assert_eq!(
            missing_key_grants(&granting(VAULT), "999999999999", rds).len(),
            3
        );
        let wild = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"210987654321"},"Action":"kms:*"}}"#;
        assert!(missing_key_grants(wild, VAULT, ebs).is_empty());
        let role = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:role/x"},"Action":["kms:De*","kms:CreateGrant"]}]}"#;
        assert!(missing_key_grants(role, VAULT, rds).is_empty());
        assert_eq!(
            missing_key_grants(role, VAULT, ebs),
            vec!["kms:ReEncryptFrom"]
        );
        let partial = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":"kms:Decrypt"}]}"#;
        assert_eq!(
            missing_key_grants(partial, VAULT, rds),
            vec!["kms:CreateGrant", "kms:DescribeKey"]
        );
        let denied = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*"},{"Effect":"Deny","Principal":{"AWS":"210987654321"},"Action":"kms:CreateGrant"}]}"#;
        assert_eq!(
            missing_key_grants(denied, VAULT, rds),
            vec!["kms:CreateGrant"]
        );
        assert_eq!(missing_key_grants("not json", VAULT, rds).len(), 3);
        assert_eq!(missing_key_grants("not json", VAULT, ebs).len(), 4);
    }

    /// Proves the Redis path: with no `bucket` in the vault entry the
    /// snapshot is blocked with what to set; before its export it waits;
    /// while exporting it waits; once exported it is uploaded from the
    /// export into the vault bucket under the vault key; once marked it is
    /// available. The retention floor keeps it until then.
    #[test]
    fn a_redis_export_goes_to_the_vault_bucket() {
        let plan_with = |vault: &str, s: &SnapshotInfo| {
            let d = doc(vault);
            let p = plan_vault(
                &d,
                std::slice::from_ref(s),
                &BTreeMap::new(),
                &[],
                &pre(),
                20,
            );
            assert_eq!(p.len(), 1, "{p:?}");
            p[0].verdict.clone()
        };
        let mut s = snap(
            ResourceKind::ElasticacheRedis,
            "rempart-db-cache-20261201-0200",
            None,
        );
        s.arn = format!("arn:aws:elasticache:eu-west-1:{PROD}:snapshot:{}", s.id);
        let without = plan_with(&one_vault(), &s);
        assert!(
            matches!(&without, VaultVerdict::Blocked { reason } if reason.contains("names no `bucket`") && reason.contains("redis_bucket")),
            "{without:?}"
        );
        let with_bucket = format!("{}bucket = \"rempart-vault-redis\"\n", one_vault());
        let bad = err_of(&format!("{}bucket = \"Not_A_Bucket\"\n", one_vault()));
        assert!(bad.contains("vault[0].bucket"), "{bad}");
        assert!(
            matches!(plan_with(&with_bucket, &s), VaultVerdict::Waiting { reason } if reason.contains("exported")),
        );
        s.tags.insert(
            crate::tags::TAG_EXPORT.into(),
            "s3://rempart-exports/rempart-db-cache-20261201-0200".into(),
        );
        s.status = "exporting".into();
        assert!(matches!(
            plan_with(&with_bucket, &s),
            VaultVerdict::Waiting { reason } if reason.contains("in progress")
        ));
        s.status = "available".into();
        assert_eq!(
            plan_with(&with_bucket, &s),
            VaultVerdict::Upload {
                from_bucket: "rempart-exports".into(),
                prefix: "rempart-db-cache-20261201-0200".into(),
                to_bucket: "rempart-vault-redis".into(),
                kms_key: VAULT_KEY.into(),
                lock_days: 30,
            }
        );
        let mut unreadable = pre();
        if let Some(k) = unreadable.vaults.get_mut(VAULT) {
            k.bucket_lock = Err("AccessDenied".into());
        }
        let d = doc(&with_bucket);
        let p = plan_vault(
            &d,
            std::slice::from_ref(&s),
            &BTreeMap::new(),
            &[],
            &unreadable,
            20,
        );
        assert!(
            matches!(&p[0].verdict, VaultVerdict::Blocked { reason } if reason.contains("could not be read") && reason.contains("AccessDenied")),
            "{p:?}"
        );
        let d = doc(&with_bucket);
        let policy = d.policy("db").expect("policy");
        assert!(
            !crate::replication::has_all_copies(&s, policy, &Default::default()),
            "kept by the floor until its vault copy is made"
        );
        s.tags
            .insert(vault_copy_tag(VAULT), "s3://rempart-vault-redis/x".into());
        assert!(matches!(
            plan_with(&with_bucket, &s),
            VaultVerdict::Available { .. }
        ));
        assert!(crate::replication::has_all_copies(
            &s,
            policy,
            &Default::default()
        ));
    }

    /// Proves: a file is locked for the bucket's default retention (days
    /// and years); a bucket without a default rule, in
    /// governance mode, or with no days is refused with what to fix.
    #[test]
    fn the_vault_bucket_must_lock_in_compliance_mode() {
        let lock = |mode: &str, days, years| BucketLock {
            mode: mode.into(),
            days,
            years,
        };
        assert_eq!(
            lock_days("b", VAULT, Some(&lock("COMPLIANCE", Some(30), None))),
            Ok(30)
        );
        assert_eq!(
            lock_days("b", VAULT, Some(&lock("COMPLIANCE", None, Some(1)))),
            Ok(365)
        );
        for (l, needle) in [
            (None, "no Object Lock default retention"),
            (
                Some(lock("", None, None)),
                "no Object Lock default retention",
            ),
            (
                Some(lock("GOVERNANCE", Some(30), None)),
                "BypassGovernanceRetention",
            ),
            (Some(lock("COMPLIANCE", Some(0), None)), "no days"),
        ] {
            let e = lock_days("b", VAULT, l.as_ref()).expect_err("refused");
            assert!(
                e.contains(needle) && e.contains(VAULT) && e.contains("COMPLIANCE"),
                "{e}"
            );
        }
    }

    /// Proves: a source under a customer key the vault may use is shared and
    /// copied directly, under the vault key, keeping its identifier.
    #[test]
    fn a_snapshot_under_a_shared_customer_key_is_copied_directly() {
        let s = snap(ResourceKind::RdsInstance, "rempart-db-a", Some(CMK));
        match one(std::slice::from_ref(&s), vec![], &[], &pre()) {
            VaultVerdict::Copy {
                from,
                target,
                kms_key,
            } => {
                assert_eq!(
                    (from.id.as_str(), target.as_str(), kms_key.as_str()),
                    (s.id.as_str(), s.id.as_str(), VAULT_KEY)
                );
            }
            v => panic!("{v:?}"),
        }
    }

    /// Proves: the whole chain for a snapshot under aws/rds: stage under the
    /// share key, wait for it, share and copy the stage, wait for the copy,
    /// then finish (unshare the stage, delete it), then nothing more.
    #[test]
    fn a_snapshot_under_an_aws_managed_key_goes_through_a_stage() {
        let s = snap(ResourceKind::AuroraCluster, "rempart-db-b", Some(AWS_RDS));
        let p = pre();
        assert_eq!(
            one(std::slice::from_ref(&s), vec![], &[], &p),
            VaultVerdict::Stage {
                target: "rempart-db-b-vault".into(),
                kms_key: SHARE_KEY.into()
            }
        );
        let pending = stage(&s, "creating");
        assert_eq!(
            one(std::slice::from_ref(&s), vec![], &[pending], &p).state(),
            "in-flight"
        );
        let ready = stage(&s, "available");
        match one(
            std::slice::from_ref(&s),
            vec![],
            std::slice::from_ref(&ready),
            &p,
        ) {
            VaultVerdict::Copy { from, target, .. } => {
                assert_eq!((from.id, target), (ready.id.clone(), s.id.clone()))
            }
            v => panic!("{v:?}"),
        }
        let copying = vault_copy(&s, "copying");
        assert_eq!(
            one(
                std::slice::from_ref(&s),
                vec![copying],
                std::slice::from_ref(&ready),
                &p
            ),
            VaultVerdict::InFlight { copy: s.id.clone() }
        );
        let done = vault_copy(&s, "available");
        assert_eq!(
            one(
                std::slice::from_ref(&s),
                vec![done.clone()],
                std::slice::from_ref(&ready),
                &p
            ),
            VaultVerdict::Finish {
                copy: s.id.clone(),
                unshare: vec![ready.clone()],
                stage: Some(ready.clone())
            }
        );
        let mut tagged = s.clone();
        tagged.tags.insert(vault_copy_tag(VAULT), s.id.clone());
        assert_eq!(
            one(&[tagged.clone()], vec![done], &[], &p),
            VaultVerdict::Available { copy: s.id.clone() }
        );
        // Done stays done, even once the vault's retention deleted the copy.
        assert_eq!(one(&[tagged], vec![], &[], &p).state(), "available");
    }

    /// Proves: what would leave a share behind or a copy AWS refuses is
    /// blocked before anything is shared, and the message names the key, the
    /// account and what is missing.
    #[test]
    fn missing_grants_block_with_a_fix_it_message() {
        let s = snap(ResourceKind::RdsInstance, "rempart-db-c", Some(CMK));
        let mut p = pre();
        p.policies.insert(CMK.into(), granting("999999999999"));
        match one(std::slice::from_ref(&s), vec![], &[], &p) {
            VaultVerdict::Blocked { reason } => {
                for needle in [CMK, VAULT, "kms:CreateGrant", "nothing was shared"] {
                    assert!(reason.contains(needle), "{needle}: {reason}");
                }
            }
            v => panic!("{v:?}"),
        }
        // No share key for an aws/rds snapshot.
        let mut d = doc(&one_vault().replace("share_key = \"alias/rempart-share\"\n", ""));
        let s = snap(ResourceKind::RdsInstance, "rempart-db-d", Some(AWS_RDS));
        let plan = plan_vault(
            &d,
            std::slice::from_ref(&s),
            &BTreeMap::new(),
            &[],
            &pre(),
            20,
        );
        assert!(
            matches!(&plan[0].verdict, VaultVerdict::Blocked { reason } if reason.contains("share_key")),
            "{plan:?}"
        );
        // The vault key cannot be described by the vault role.
        let mut p = pre();
        p.vaults.get_mut(VAULT).expect("vault").vault_key = None;
        let plan = plan_vault(
            &d,
            &[snap(ResourceKind::RdsInstance, "x", Some(CMK))],
            &BTreeMap::new(),
            &[],
            &p,
            20,
        );
        assert!(
            matches!(&plan[0].verdict, VaultVerdict::Blocked { reason } if reason.contains(VAULT_KEY) && reason.contains("rempart-vault")),
            "{plan:?}"
        );
        // A vault key in another region than the snapshot's.
        d = doc(&one_vault().replace(VAULT_KEY, &VAULT_KEY.replace("eu-west-1", "eu-west-3")));
        let mut p = pre();
        p.vaults.get_mut(VAULT).expect("vault").vault_key = Some(facts(
            &VAULT_KEY.replace("eu-west-1", "eu-west-3"),
            "CUSTOMER",
        ));
        let plan = plan_vault(
            &d,
            &[snap(ResourceKind::EbsVolume, "snap-1", Some(CMK))],
            &BTreeMap::new(),
            &[],
            &p,
            20,
        );
        assert!(
            matches!(&plan[0].verdict, VaultVerdict::Blocked { reason } if reason.contains("within its region")),
            "{plan:?}"
        );
    }

    /// Proves: copies in flight in the vault count against the limit, and
    /// the newest are deferred.
    #[test]
    fn the_vault_limit_defers_the_newest() {
        let sources: Vec<_> = (0..3)
            .map(|i| {
                let mut s = snap(ResourceKind::EbsVolume, &format!("snap-{i}"), Some(CMK));
                s.tags.insert(
                    TAG_SCHEDULED_AT.into(),
                    format!("2026-12-0{}T02:00:00Z", i + 1),
                );
                s
            })
            .collect();
        let other = vault_copy(
            &snap(ResourceKind::EbsVolume, "snap-old", Some(CMK)),
            "pending",
        );
        let plan = plan_vault(
            &doc(&one_vault()),
            &sources,
            &BTreeMap::from([(VAULT.to_string(), vec![other])]),
            &[],
            &pre(),
            2,
        );
        let states: Vec<_> = plan
            .iter()
            .map(|p| (p.source.id.as_str(), p.verdict.state()))
            .collect();
        assert_eq!(
            states,
            vec![
                ("snap-0", "started"),
                ("snap-1", "deferred"),
                ("snap-2", "deferred")
            ]
        );
    }

    /// Proves: with two vaults, the stage is deleted only by the last one to
    /// finish, and each unshares only its own account.
    #[test]
    fn a_stage_serving_two_vaults_outlives_the_first() {
        let second = one_vault().replace(VAULT, "333333333333");
        let d = doc(&format!("{}{second}", one_vault()));
        let s = snap(ResourceKind::RdsInstance, "rempart-db-e", Some(AWS_RDS));
        let st = stage(&s, "available");
        let mut p = pre();
        let mut k = p.vaults[VAULT].clone();
        k.vault_key = Some(facts(&VAULT_KEY.replace(VAULT, "333333333333"), "CUSTOMER"));
        p.vaults.insert("333333333333".into(), k);
        p.policies.insert(
            SHARE_KEY.into(),
            granting(VAULT).replace(
                "\"arn:aws:iam::210987654321:root\"]",
                "\"arn:aws:iam::210987654321:root\",\"333333333333\"]",
            ),
        );
        let vault = BTreeMap::from([(VAULT.to_string(), vec![vault_copy(&s, "available")])]);
        let plan = plan_vault(
            &d,
            std::slice::from_ref(&s),
            &vault,
            std::slice::from_ref(&st),
            &p,
            20,
        );
        assert!(
            matches!(&plan[0].verdict, VaultVerdict::Finish { stage: None, unshare, .. } if unshare == &vec![st.clone()]),
            "{plan:?}"
        );
        assert!(
            matches!(&plan[1].verdict, VaultVerdict::Copy { from, .. } if from.id == st.id),
            "{plan:?}"
        );
    }

    proptest! {
        /// Proves: a stage identifier is valid for its kind, ends in
        /// `-vault`, and differs for different sources.
        #[test]
        fn stage_ids_are_valid_and_distinct(a in "[a-z][a-z0-9]{0,20}(-[a-z0-9]{1,20}){0,12}", b in "[a-z][a-z0-9]{0,20}(-[a-z0-9]{1,20}){0,12}") {
            for kind in [ResourceKind::RdsInstance, ResourceKind::AuroraCluster] {
                let id = stage_id(kind, &a);
                prop_assert!(crate::naming::valid_snapshot_id(kind, &id), "{id}");
                prop_assert!(id.ends_with("-vault"));
                if a != b {
                    prop_assert_ne!(id, stage_id(kind, &b));
                }
            }
        }
    }
}
