//! The snapshot-replicator's vault loop: per vault account, assume its
//! role, list Rempart's copies there and the production account's stages,
//! check the keys, ask the core for the plan (`rempart_core::vault`), and
//! stage, share, copy and clean up.

use crate::replicator::Replicator;
use chrono::{DateTime, Utc};
use rempart_aws::error::{Error, Result};
use rempart_aws::exports::{tagging, Objects, UPLOAD_PART};
use rempart_aws::kms::Kms;
use rempart_aws::pace::bounded;
use rempart_aws::registry::ReplicaState;
use rempart_aws::snapshots::Snapshots;
use rempart_aws::vault::{assume, delete_stage, share, stages};
use rempart_core::model::SnapshotInfo;
use rempart_core::policy::{PolicyDocument, Vault};
use rempart_core::replication::{Family, Item, Planned, ReplicationReport, Verdict};
use rempart_core::tags::vault_copy_tag;
use rempart_core::time::rfc3339;
use rempart_core::vault::*;
use std::collections::{BTreeMap, BTreeSet};

/// The adapters of one vault account (its primary region).
pub(crate) struct VaultSide {
    snapshots: Snapshots,
    /// Its S3 (the Object Lock bucket of Redis exports).
    objects: Objects,
}

impl Replicator {
    /// Plans and carries out the vault copies of `sources`; items go into
    /// the report under the destination `vault:<account>`. Returns the
    /// registry states of each vault reached, by destination (the sweep
    /// forgets those of sources that are gone).
    pub(crate) async fn vaults(
        &self,
        doc: &PolicyDocument,
        sources: &[SnapshotInfo],
        now: DateTime<Utc>,
        cause: Option<&str>,
        report: &mut ReplicationReport,
    ) -> BTreeMap<String, BTreeMap<String, ReplicaState>> {
        // Every vault of the document (first entry per account), whether
        // or not a source of its policy is left.
        let mut vaults: BTreeMap<String, (String, Vault)> = BTreeMap::new();
        for (name, p) in &doc.policies {
            for v in &p.vault {
                vaults
                    .entry(v.account.clone())
                    .or_insert_with(|| (name.as_str().to_string(), v.clone()));
            }
        }
        let mut stored = BTreeMap::new();
        if vaults.is_empty() {
            return stored;
        }
        let stage_list = match stages(&self.primary).await {
            Ok(l) => l,
            Err(e) => {
                // Without the stages a stage could be made twice.
                report.errors.push((&e).into());
                return stored;
            }
        };
        let mut pre = Preflight::default();
        let primary_kms = Kms::new(aws_sdk_kms::Client::new(&self.cfg));
        let mut listing = BTreeMap::new();
        let mut sides = BTreeMap::new();
        let mut failed_vaults = BTreeSet::new();
        for (account, (_, v)) in &vaults {
            match self.vault_side(v, &primary_kms, &mut pre).await {
                Ok((side, copies)) => {
                    listing.insert(account.clone(), copies);
                    sides.insert(account.clone(), side);
                }
                Err(e) => {
                    // A vault that cannot be reached is reported, the others
                    // go on.
                    report.errors.push((&e).into());
                    failed_vaults.insert(account.clone());
                }
            }
        }
        // Source keys (which need a stage) and the policies of the keys a
        // share would be under.
        let source_keys: BTreeSet<String> = sources
            .iter()
            .filter(|s| s.encrypted)
            .filter_map(|s| s.kms_key.clone())
            .collect();
        for k in source_keys {
            match primary_kms.describe(&k).await {
                Ok(Some(f)) => {
                    pre.source_keys.insert(k, f);
                }
                Ok(None) => {}
                Err(e) => {
                    report.errors.push((&e).into());
                    return stored;
                }
            }
        }
        let mut to_read: BTreeSet<String> = pre
            .source_keys
            .values()
            .filter(|f| f.manager != "AWS")
            .map(|f| f.arn.clone())
            .collect();
        to_read.extend(
            pre.vaults
                .values()
                .filter_map(|k| k.share_key.as_ref().map(|f| f.arn.clone())),
        );
        to_read.extend(stage_list.iter().filter_map(|s| s.kms_key.clone()));
        for k in to_read {
            // An unreadable policy is a pre-flight problem of the snapshots
            // under that key (the core says which permission is missing).
            if let Ok(p) = primary_kms.policy(&k).await {
                pre.policies.insert(k, p);
            }
        }

        let mut planned = plan_vault(
            doc,
            sources,
            &listing,
            &stage_list,
            &pre,
            self.max_in_flight,
        );
        planned.retain(|p| !failed_vaults.contains(&p.account));
        for account in sides.keys() {
            match self.registry.replicas(&destination(account)).await {
                Ok(r) => {
                    stored.insert(destination(account), r);
                }
                Err(e) => report.bookkeeping_errors.push(e.to_string()),
            }
        }
        let (sides, states) = (&sides, &stored);
        let done = bounded(&planned, self.concurrency, |p| async move {
            let item = self.act_vault(p, cause, sides.get(&p.account)).await;
            let dest = destination(&p.account);
            // The registry's bookkeeping is the DR copies' (destination
            // `vault:<account>`); a finish announces the copy as available.
            let as_dr = Planned {
                source: p.source.clone(),
                policy: p.policy.clone(),
                region: dest.clone(),
                verdict: Verdict::Waiting {
                    reason: String::new(),
                },
            };
            let prior = states.get(&dest).and_then(|m| m.get(&p.source.arn));
            let errors = self.bookkeep(&as_dr, &item, prior, now, cause).await;
            (item, errors)
        })
        .await;
        for (item, mut errors) in done {
            report.bookkeeping_errors.append(&mut errors);
            report.items.push(item);
        }
        stored
    }

    /// Assumes the vault role, lists Rempart's snapshots there and checks
    /// the vault and share keys.
    async fn vault_side(
        &self,
        v: &Vault,
        primary_kms: &Kms,
        pre: &mut Preflight,
    ) -> Result<(VaultSide, Vec<SnapshotInfo>)> {
        let cfg = self.vault_config(v).await;
        let snapshots = Snapshots::for_region(&cfg, &self.region);
        let kms = Kms::new(aws_sdk_kms::Client::new(
            &cfg.to_builder()
                .region(aws_config::Region::new(v.region().to_string()))
                .build(),
        ));
        let (rds, ec2, key) = tokio::join!(
            snapshots.rds.managed_snapshots(),
            snapshots.ec2.managed_snapshots(),
            kms.describe(&v.kms_key)
        );
        let mut copies = rds.map_err(|e| in_vault(v, e))?;
        copies.extend(ec2.map_err(|e| in_vault(v, e))?);
        // A key the vault role may not describe is a pre-flight problem.
        let vault_key = key.ok().flatten();
        let share_key = match &v.share_key {
            Some(k) => primary_kms.describe(k).await?,
            None => None,
        };
        let objects = Objects::new(aws_sdk_s3::Client::new(&cfg));
        // Redis: the bucket's lock, read once for every upload of the run.
        let bucket_lock = match &v.bucket {
            Some(b) => objects.lock(b).await.map_err(|e| e.to_string()),
            None => Ok(None),
        };
        pre.vaults.insert(
            v.account.clone(),
            VaultKeys {
                vault_key,
                share_key,
                bucket_lock,
            },
        );
        Ok((VaultSide { snapshots, objects }, copies))
    }

    /// The configuration acting through the vault role of `v`: assumed on
    /// first use and kept ([`Replicator::vault_cfgs`]).
    async fn vault_config(&self, v: &Vault) -> aws_config::SdkConfig {
        let key = (v.role.clone(), v.external_id.clone());
        let mut known = self.vault_cfgs.lock().await;
        if let Some(cfg) = known.get(&key) {
            return cfg.clone();
        }
        let cfg = assume(&self.cfg, &v.role, v.external_id.as_deref(), VAULT_SESSION).await;
        let cfg = rempart_aws::runtime::function_config(&cfg, VAULT_APP);
        known.insert(key, cfg.clone());
        cfg
    }

    /// Carries out one vault verdict.
    async fn act_vault(
        &self,
        p: &VaultPlanned,
        cause: Option<&str>,
        side: Option<&VaultSide>,
    ) -> Item {
        let s = &p.source;
        let mut item = Item::of(s, &p.policy, &destination(&p.account), p.verdict.state());
        let outcome: Result<()> = match (&p.verdict, side) {
            (VaultVerdict::Available { copy } | VaultVerdict::InFlight { copy }, _) => {
                item.copy = copy.clone();
                Ok(())
            }
            (
                VaultVerdict::Deferred { reason }
                | VaultVerdict::Blocked { reason }
                | VaultVerdict::Waiting { reason },
                _,
            ) => {
                item.reason = reason.clone();
                Ok(())
            }
            (_, None) => Err(Error::Config(format!(
                "no adapters for account {}",
                p.account
            ))),
            (VaultVerdict::Stage { target, kms_key }, Some(_)) => {
                item.reason = format!("staging under the share key {kms_key}");
                self.stage(s, target, kms_key, cause, &mut item).await
            }
            (
                VaultVerdict::Copy {
                    from,
                    target,
                    kms_key,
                },
                Some(side),
            ) => {
                self.copy_to_vault(p, from, target, kms_key, cause, side, &mut item)
                    .await
            }
            (
                VaultVerdict::Upload {
                    from_bucket,
                    prefix,
                    to_bucket,
                    kms_key,
                    lock_days,
                },
                Some(side),
            ) => {
                self.upload_to_vault(
                    p,
                    (from_bucket, prefix),
                    (to_bucket, kms_key, *lock_days),
                    cause,
                    side,
                    &mut item,
                )
                .await
            }
            (
                VaultVerdict::Finish {
                    copy,
                    unshare,
                    stage,
                },
                Some(_),
            ) => {
                item.copy = copy.clone();
                self.finish(p, copy, unshare, stage.as_ref(), &mut item)
                    .await
            }
        };
        crate::replicator::settle(&mut item, outcome);
        item
    }

    /// Copies the source in the production account under the share key.
    async fn stage(
        &self,
        s: &SnapshotInfo,
        target: &str,
        kms_key: &str,
        cause: Option<&str>,
        item: &mut Item,
    ) -> Result<()> {
        let tags = stage_tags(s);
        self.pace.wait().await;
        match Family::of(s.kind) {
            Some(Family::Rds) => {
                self.primary
                    .rds
                    .copy_snapshot(s.kind, &s.arn, target, Some(kms_key), &tags)
                    .await?;
                item.copy = target.to_string();
                Ok(())
            }
            Some(Family::Ebs) => {
                let Some(holder) = self.claim(&format!("stage#{}", s.id), cause).await? else {
                    item.state = "waiting".into();
                    item.reason = "another delivery is staging it".into();
                    return Ok(());
                };
                let description = format!("Rempart vault stage of {}", s.id);
                match self
                    .primary
                    .ec2
                    .copy_snapshot(&self.region, &s.id, kms_key, &description, &tags)
                    .await
                {
                    Ok(id) => {
                        item.copy = id;
                        Ok(())
                    }
                    Err(e) => {
                        self.release(&format!("stage#{}", s.id), &holder).await;
                        Err(e)
                    }
                }
            }
            None => Err(Error::Config(format!("{} is not staged", s.kind))),
        }
    }

    /// Shares `from` with the vault account and copies it there. When the
    /// copy cannot be started the share is removed again: nothing stays
    /// shared for a copy that does not exist.
    #[allow(clippy::too_many_arguments)]
    async fn copy_to_vault(
        &self,
        p: &VaultPlanned,
        from: &SnapshotInfo,
        target: &str,
        kms_key: &str,
        cause: Option<&str>,
        side: &VaultSide,
        item: &mut Item,
    ) -> Result<()> {
        let s = &p.source;
        let claim = format!("vault#{}#{}", p.account, s.id);
        let holder = if Family::of(s.kind) == Some(Family::Ebs) {
            match self.claim(&claim, cause).await? {
                Some(h) => Some(h),
                None => {
                    item.state = "waiting".into();
                    item.reason = "another delivery is copying it".into();
                    return Ok(());
                }
            }
        } else {
            None
        };
        share(&self.primary, from, &p.account, true).await?;
        self.pace.wait().await;
        let tags = vault_copy_tags(s);
        let copied = match Family::of(s.kind) {
            Some(Family::Rds) => side
                .snapshots
                .rds
                .copy_snapshot(s.kind, &from.arn, target, Some(kms_key), &tags)
                .await
                .map(|c| {
                    if let rempart_aws::Created::AlreadyThere(_) = c {
                        item.state = "in-flight".into();
                        item.reason = "the copy already exists (a second delivery)".into();
                    }
                    target.to_string()
                }),
            _ => {
                let description = format!(
                    "Rempart vault copy of {} ({}, account of the source) taken {}",
                    s.id,
                    self.region,
                    s.taken_at().map(rfc3339).unwrap_or_default()
                );
                side.snapshots
                    .ec2
                    .copy_snapshot(&self.region, &from.id, kms_key, &description, &tags)
                    .await
            }
        };
        match copied {
            Ok(copy) => {
                item.copy = copy;
                if item.reason.is_empty() {
                    item.reason = format!(
                        "shared {} with account {}; copy started",
                        from.id, p.account
                    );
                }
                Ok(())
            }
            Err(e) => {
                if let Some(h) = holder {
                    self.release(&claim, &h).await;
                }
                match share(&self.primary, from, &p.account, false).await {
                    Ok(()) => Err(e),
                    Err(u) => Err(Error::Config(format!(
                        "the copy in account {} failed ({e}), and {} is STILL SHARED with it: removing the share failed ({u}); the next sweep retries, or remove it by hand",
                        p.account, from.id
                    ))),
                }
            }
        }
    }

    /// Redis: copies the exported files into the vault's Object Lock bucket
    /// (read here, written through the vault role), then marks the source.
    async fn upload_to_vault(
        &self,
        p: &VaultPlanned,
        (from_bucket, prefix): (&str, &str),
        (to_bucket, kms_key, lock_days): (&str, &str, i64),
        cause: Option<&str>,
        side: &VaultSide,
        item: &mut Item,
    ) -> Result<()> {
        let s = &p.source;
        let objects = self.objects.list(from_bucket, prefix).await?;
        if objects.is_empty() {
            item.state = "waiting".into();
            item.reason = format!("ElastiCache has not written s3://{from_bucket}/{prefix}* yet");
            return Ok(());
        }
        let until = Utc::now() + chrono::TimeDelta::days(lock_days);
        let claim = format!("vault#{}#{}", p.account, s.id);
        let Some(holder) = self.claim(&claim, cause).await? else {
            item.state = "waiting".into();
            item.reason = "another delivery is copying it".into();
            return Ok(());
        };
        // The source group too: the backup account's drills name the
        // resource by it.
        let mut file_tags = vec![
            (rempart_core::tags::TAG_MANAGED, "true"),
            (rempart_core::tags::TAG_COPY_OF, s.arn.as_str()),
            (rempart_core::tags::TAG_POLICY, p.policy.as_str()),
        ];
        if let Some(source) = s.tags.get(rempart_core::tags::TAG_SOURCE) {
            file_tags.push((rempart_core::tags::TAG_SOURCE, source.as_str()));
        }
        let tags = tagging(&file_tags);
        let mut copied = Ok(());
        for o in &objects {
            copied = side
                .objects
                .upload_from(
                    &self.objects,
                    from_bucket,
                    o,
                    (to_bucket, kms_key),
                    &tags,
                    until,
                    UPLOAD_PART,
                )
                .await;
            if copied.is_err() {
                break;
            }
        }
        let url = format!("s3://{to_bucket}/{prefix}");
        let marked = match copied {
            Ok(()) => self.primary.tag(s, &vault_copy_tag(&p.account), &url).await,
            Err(e) => Err(e),
        };
        self.release(&claim, &holder).await;
        marked?;
        item.state = "available".into();
        item.copy = url;
        item.reason = format!(
            "{} file(s) copied into the Object Lock bucket of account {}, locked until {}",
            objects.len(),
            p.account,
            rfc3339(until)
        );
        Ok(())
    }

    /// The vault copy is available: unshare, delete the stage, mark done.
    async fn finish(
        &self,
        p: &VaultPlanned,
        copy: &str,
        unshare: &[SnapshotInfo],
        stage: Option<&SnapshotInfo>,
        item: &mut Item,
    ) -> Result<()> {
        for u in unshare {
            share(&self.primary, u, &p.account, false).await?;
        }
        if let Some(st) = stage {
            delete_stage(&self.primary, st).await?;
        }
        self.primary
            .tag(&p.source, &vault_copy_tag(&p.account), copy)
            .await?;
        item.reason = format!(
            "copy {copy} available in account {}; share removed{}",
            p.account,
            if stage.is_some() {
                ", stage deleted"
            } else {
                ""
            }
        );
        Ok(())
    }
}

/// Names the vault in an error of its listing.
fn in_vault(v: &Vault, e: Error) -> Error {
    Error::Config(format!(
        "backup account {} (role {}): {e}",
        v.account, v.role
    ))
}
