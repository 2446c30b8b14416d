//! Restores from the vault into a recovery account (a request's
//! `to_account`, backup accounts only). The backup account's drill tester
//! shares the vault copy with the recovery account, and through the role of
//! modules/recovery_account copies it there under that account's key; a
//! later run restores the copy there once it is made and unshares the vault
//! copy; the restored database is then followed as any restore on request,
//! recorded and announced in the backup account. The copy and the database
//! stay in the recovery account: they are the requester's.

use crate::{announce, follow_request, About, Deps, TesterReport};
use chrono::{DateTime, Utc};
use rempart_aws::error::{Error, Result};
use rempart_aws::rds::{ClusterFrom, Placement, Rds};
use rempart_aws::vault::{assume, share};
use rempart_aws::Created;
use rempart_core::announce::Severity;
use rempart_core::kind::ResourceKind;
use rempart_core::model::SnapshotInfo;
use rempart_core::recovery::{
    copy_tags, recovery_step, shared_vault_copy, RecoveryAccount, RecoveryStep,
};
use rempart_core::restore::{RestoreRequest, DEFAULT_AURORA_CLASS};
use rempart_core::tags::{
    TAG_RESTORE_COMPLETED, TAG_RESTORE_FROM, TAG_RESTORE_REQUEST, TAG_RESTORE_SOURCE,
};
use rempart_core::time::rfc3339;
use serde_json::json;

/// The session name of the drill tester in a recovery account.
const SESSION: &str = "rempart-vault-recovery";

/// A recovery account, reached through its role.
pub(crate) struct Remote {
    pub account: String,
    pub conf: RecoveryAccount,
    /// RDS there, in the function's region.
    pub rds: Rds,
}

impl Remote {
    /// The recovery account `account` through its role (assumed at the
    /// first call; an error then names the role, [`Remote::unreachable`]).
    pub async fn reach(deps: &Deps, account: &str, conf: &RecoveryAccount) -> Remote {
        let cfg = assume(&deps.cfg, &conf.role, conf.external_id.as_deref(), SESSION).await;
        Remote {
            account: account.to_string(),
            conf: conf.clone(),
            rds: Rds::new(aws_sdk_rds::Client::new(&cfg), &deps.region),
        }
    }

    /// Why a request to this account is refused when it cannot be reached.
    pub fn unreachable(&self, e: &Error) -> String {
        format!(
            "recovery account {} cannot be reached through {}: {e}. modules/recovery_account's role must trust this drill tester{}",
            self.account,
            self.conf.role,
            if self.conf.external_id.is_some() {
                " with the same external id"
            } else {
                ""
            }
        )
    }

    /// Shares the vault copy `snapshot` (of `vault_snaps`, this backup
    /// account's) with the recovery account and starts its copy there into
    /// `target` under that account's key, tagged with the request. `false`:
    /// this request's copy is there already (a redelivery). When the copy
    /// cannot start, the share is removed again: nothing stays shared for a
    /// copy that does not exist.
    #[allow(clippy::too_many_arguments)]
    pub async fn start_copy(
        &self,
        deps: &Deps,
        vault_snaps: &[SnapshotInfo],
        kind: ResourceKind,
        snapshot: &str,
        target: &str,
        req: &RestoreRequest,
        request_tags: &[(String, String)],
    ) -> Result<bool> {
        let from = vault_snaps
            .iter()
            .find(|s| s.id == snapshot && s.kind == kind)
            .ok_or_else(|| {
                Error::Config(format!("the vault copy {snapshot} is not in this account"))
            })?;
        share(&deps.snapshots, from, &self.account, true).await?;
        let tags = copy_tags(request_tags, &from.arn, req.instance_class.as_deref());
        let copied = self
            .rds
            .copy_snapshot(kind, &from.arn, target, Some(&self.conf.kms_key), &tags)
            .await;
        let request = request_tags
            .iter()
            .find(|(k, _)| k == TAG_RESTORE_REQUEST)
            .map(|(_, v)| v.as_str());
        match copied {
            Ok(Created::New(_)) => Ok(true),
            Ok(Created::AlreadyThere(_)) => {
                // Ours (a redelivery), or another snapshot of that name.
                let there = self.rds.snapshots_tagged(TAG_RESTORE_REQUEST).await?;
                if there.iter().any(|s| {
                    s.id == target && s.tags.get(TAG_RESTORE_REQUEST).map(String::as_str) == request
                }) {
                    Ok(false)
                } else {
                    self.unshare(deps, from).await?;
                    Err(Error::Config(format!(
                        "a snapshot named {target} already exists in account {}: name another target",
                        self.account
                    )))
                }
            }
            Err(e) => {
                self.unshare(deps, from).await?;
                if e.is_retryable() {
                    return Err(e);
                }
                Err(Error::Config(format!(
                    "copying {} into account {} under {} failed: {e}. The vault key's policy must let {} use it through RDS (modules/vault_account's recovery_accounts), and that role must be allowed {} (modules/recovery_account); the share was removed",
                    from.id, self.account, self.conf.kms_key, self.conf.role, self.conf.kms_key
                )))
            }
        }
    }

    /// Removes the recovery account from a vault copy's shares.
    async fn unshare(&self, deps: &Deps, from: &SnapshotInfo) -> Result<()> {
        share(&deps.snapshots, from, &self.account, false).await
    }

    /// One run in the recovery account: each request's copy that is made is
    /// restored (and its vault copy unshared), a failed one is reported, and
    /// the databases restored there are followed to `restore.completed`.
    pub async fn tick(
        &self,
        deps: &Deps,
        now: DateTime<Utc>,
        report: &mut TesterReport,
    ) -> Result<()> {
        let copies = self.rds.snapshots_tagged(TAG_RESTORE_REQUEST).await?;
        let instances = self.rds.instances_tagged(&[TAG_RESTORE_REQUEST]).await?;
        let clusters = if copies.iter().any(|c| c.kind == ResourceKind::AuroraCluster)
            || instances.iter().any(|i| i.cluster.is_some())
        {
            self.rds.clusters_tagged(TAG_RESTORE_REQUEST).await?
        } else {
            Vec::new()
        };
        for c in &copies {
            let exists =
                instances.iter().any(|i| i.id == c.id) || clusters.iter().any(|x| x.id == c.id);
            // Each step's future boxed: the handler's nesting is deep.
            match recovery_step(c, exists) {
                RecoveryStep::Restore {
                    kind,
                    target,
                    class,
                    tags,
                } => {
                    let started = Box::pin(self.restore(c, kind, &target, class, &tags)).await;
                    match started {
                        Ok(()) => {
                            if let Some(v) = self.vault_copy(deps, c) {
                                Box::pin(self.unshare(deps, &v)).await?;
                            }
                            report.requests.push(json!({
                                "request": c.tags.get(TAG_RESTORE_REQUEST), "state": "restoring",
                                "target": target, "account": self.account,
                            }));
                        }
                        Err(e) if e.is_retryable() => return Err(e),
                        Err(e) => {
                            let why = format!("restoring the copy {} failed: {e}", c.id);
                            Box::pin(self.failed(deps, c, &why, now, report)).await?;
                        }
                    }
                }
                RecoveryStep::Failed { why } => {
                    Box::pin(self.failed(deps, c, &why, now, report)).await?
                }
                RecoveryStep::Copying | RecoveryStep::Restored | RecoveryStep::Done => {}
            }
        }
        for i in instances
            .iter()
            .filter(|i| !i.tags.contains_key(TAG_RESTORE_COMPLETED))
        {
            let cluster = i
                .cluster
                .as_deref()
                .and_then(|c| clusters.iter().find(|x| x.id == c));
            Box::pin(follow_request(
                deps,
                &self.rds,
                Some(&self.account),
                i,
                cluster,
                now,
                report,
            ))
            .await?;
        }
        Ok(())
    }

    /// Restores the copy `c` into `target` (a new instance, or a cluster with
    /// its one instance), in the region's default network, with `tags`.
    async fn restore(
        &self,
        c: &SnapshotInfo,
        kind: ResourceKind,
        target: &str,
        class: Option<String>,
        tags: &[(String, String)],
    ) -> Result<()> {
        let placement = Placement {
            subnet_group: None,
            parameter_group: None,
            security_groups: &[],
        };
        if kind == ResourceKind::AuroraCluster {
            let class = class.as_deref().unwrap_or(DEFAULT_AURORA_CLASS);
            self.rds
                .restore_cluster(
                    ClusterFrom::Snapshot(&c.id),
                    target,
                    class,
                    &placement,
                    tags,
                )
                .await
        } else {
            self.rds
                .restore_instance(&c.id, target, class.as_deref(), &placement, tags)
                .await
        }
    }

    /// The vault copy a copy was made from (its `rempart:restore-from`),
    /// when that names a snapshot of this region that is neither the
    /// recovery account's nor production's: this backup account's.
    fn vault_copy(&self, deps: &Deps, c: &SnapshotInfo) -> Option<SnapshotInfo> {
        let v = shared_vault_copy(c.tags.get(TAG_RESTORE_FROM)?)?;
        let account = rempart_core::naming::arn_parts(&v.arn)?.3;
        let elsewhere = account == self.account || Some(account) == deps.vault_of.as_deref();
        (v.region == deps.region && !elsewhere).then_some(v)
    }

    /// A request's copy or restore that failed: recorded and announced as
    /// `restore.completed` failed, the copy marked reported, the vault copy
    /// unshared.
    async fn failed(
        &self,
        deps: &Deps,
        c: &SnapshotInfo,
        why: &str,
        now: DateTime<Utc>,
        report: &mut TesterReport,
    ) -> Result<()> {
        let tag = |k: &str| c.tags.get(k).cloned().unwrap_or_default();
        let (id, db) = (tag(TAG_RESTORE_REQUEST), tag(TAG_RESTORE_SOURCE));
        let about = About::new(deps, c.kind, &db, None, Some(id.clone()));
        let r = about.record(
            "restore.completed",
            now,
            &id,
            false,
            json!({"request": id, "target": c.id, "account": self.account, "error": why}),
        );
        announce(
            deps,
            &r,
            Severity::Warning,
            about.summary(),
            format!(
                "Restore of {db} into {} in account {} FAILED: {why}",
                c.id, self.account
            ),
        )
        .await?;
        self.rds
            .tag_instance(&c.arn, TAG_RESTORE_COMPLETED, &rfc3339(now))
            .await?;
        if let Some(v) = self.vault_copy(deps, c) {
            self.unshare(deps, &v).await?;
        }
        report.requests.push(
            json!({"request": id, "state": "failed", "reason": why, "account": self.account}),
        );
        Ok(())
    }
}
