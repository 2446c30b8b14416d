//! RDS DB instances and Aurora DB clusters: listing, snapshots and copies
//! here; restores (restore tests, restores on request) in [`restore`].

mod restore;
pub use restore::{ClusterFrom, Placement, RestoreSourceInfo};

use crate::error::{Error, Result};
use crate::{aws_error, is_code, not_found, to_chrono, Created};
use aws_sdk_rds::types::Tag;
use aws_sdk_rds::Client;
use rempart_core::kind::ResourceKind;
use rempart_core::model::{AutomatedBackups, Resource, SnapshotInfo};
use std::collections::BTreeMap;

/// RDS accepts at most 100 records per page.
const PAGE: i32 = 100;

#[derive(Clone, Debug)]
pub struct Rds {
    client: Client,
    region: String,
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

fn to_tags(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

impl Rds {
    /// The underlying client (for the snapshot facade in this module's parent).
    pub(crate) fn client(&self) -> &aws_sdk_rds::Client {
        &self.client
    }

    pub fn new(client: Client, region: impl Into<String>) -> Self {
        Rds {
            client,
            region: region.into(),
        }
    }

    fn instance(&self, db: &aws_sdk_rds::types::DbInstance) -> Option<Resource> {
        Some(Resource {
            kind: ResourceKind::RdsInstance,
            id: db.db_instance_identifier()?.to_string(),
            arn: db.db_instance_arn().unwrap_or_default().to_string(),
            region: self.region.clone(),
            tags: tag_map(db.tag_list()),
            aurora_cluster: db.db_cluster_identifier().map(str::to_string),
            redis: None,
            backups: Some(AutomatedBackups {
                retention_days: db.backup_retention_period().unwrap_or(0),
                window: db.preferred_backup_window().map(str::to_string),
                latest_restorable: to_chrono(db.latest_restorable_time()),
            }),
            created: to_chrono(db.instance_create_time()),
        })
    }

    fn cluster(&self, c: &aws_sdk_rds::types::DbCluster) -> Option<Resource> {
        Some(Resource {
            kind: ResourceKind::AuroraCluster,
            id: c.db_cluster_identifier()?.to_string(),
            arn: c.db_cluster_arn().unwrap_or_default().to_string(),
            region: self.region.clone(),
            tags: tag_map(c.tag_list()),
            aurora_cluster: None,
            redis: None,
            backups: Some(AutomatedBackups {
                retention_days: c.backup_retention_period().unwrap_or(0),
                window: c.preferred_backup_window().map(str::to_string),
                latest_restorable: to_chrono(c.latest_restorable_time()),
            }),
            created: to_chrono(c.cluster_create_time()),
        })
    }

    /// DB instances carrying the policy tag (tags come with the describe
    /// call: no per-instance tag request).
    pub async fn tagged_instances(&self) -> Result<Vec<Resource>> {
        let mut all = self.instances().await?;
        all.retain(|r| r.policy_tag().is_some());
        Ok(all)
    }

    /// Every DB instance, tagged or not, with its tags: one
    /// `DescribeDBInstances` call per page.
    pub async fn instances(&self) -> Result<Vec<Resource>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .describe_db_instances()
            .max_records(PAGE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("DescribeDBInstances", e))?;
            out.extend(
                page.db_instances()
                    .iter()
                    .filter_map(|db| self.instance(db)),
            );
        }
        Ok(out)
    }

    /// Aurora (and Multi-AZ) DB clusters carrying the policy tag.
    pub async fn tagged_clusters(&self) -> Result<Vec<Resource>> {
        let mut all = self.clusters().await?;
        all.retain(|r| r.policy_tag().is_some());
        Ok(all)
    }

    /// Every DB cluster, tagged or not: one `DescribeDBClusters` call per
    /// page.
    pub async fn clusters(&self) -> Result<Vec<Resource>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .describe_db_clusters()
            .max_records(PAGE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("DescribeDBClusters", e))?;
            out.extend(page.db_clusters().iter().filter_map(|c| self.cluster(c)));
        }
        Ok(out)
    }

    /// One DB instance by identifier, whatever its tags.
    pub async fn instance_by_id(&self, id: &str) -> Result<Resource> {
        let out = self
            .client
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .map_err(|e| aws_error("DescribeDBInstances", e))?;
        out.db_instances()
            .first()
            .and_then(|db| self.instance(db))
            .ok_or_else(|| not_found("DescribeDBInstances", "DBInstanceNotFound", id))
    }

    /// An instance's Multi-AZ setting and status, for a failover drill.
    pub async fn multi_az(&self, id: &str) -> Result<(bool, String)> {
        let out = self
            .client
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .map_err(|e| aws_error("DescribeDBInstances", e))?;
        let db = out
            .db_instances()
            .first()
            .ok_or_else(|| not_found("DescribeDBInstances", "DBInstanceNotFound", id))?;
        Ok((
            db.multi_az() == Some(true),
            db.db_instance_status().unwrap_or_default().to_string(),
        ))
    }

    /// A failover drill: `RebootDBInstance` with `ForceFailover` (RDS
    /// refuses it for a single-AZ instance).
    pub async fn reboot_with_failover(&self, id: &str) -> Result<()> {
        self.client
            .reboot_db_instance()
            .db_instance_identifier(id)
            .force_failover(true)
            .send()
            .await
            .map_err(|e| aws_error("RebootDBInstance", e))?;
        Ok(())
    }

    /// The time of the first "failover completed" event of an instance
    /// since `since` (RDS's events, category `failover`: RDS-EVENT-0015
    /// "Multi-AZ instance failover completed").
    pub async fn failover_completed(
        &self,
        id: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        let out = self
            .client
            .describe_events()
            .source_identifier(id)
            .source_type(aws_sdk_rds::types::SourceType::DbInstance)
            .start_time(aws_sdk_rds::primitives::DateTime::from_secs(
                since.timestamp(),
            ))
            .event_categories("failover")
            .send()
            .await
            .map_err(|e| aws_error("DescribeEvents", e))?;
        Ok(out
            .events()
            .iter()
            .filter(|e| {
                e.message()
                    .is_some_and(|m| m.to_ascii_lowercase().contains("failover completed"))
            })
            .filter_map(|e| to_chrono(e.date()))
            .filter(|t| *t >= since)
            .min())
    }

    /// One DB cluster by identifier, whatever its tags.
    pub async fn cluster_by_id(&self, id: &str) -> Result<Resource> {
        let out = self
            .client
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
            .map_err(|e| aws_error("DescribeDBClusters", e))?;
        out.db_clusters()
            .first()
            .and_then(|c| self.cluster(c))
            .ok_or_else(|| not_found("DescribeDBClusters", "DBClusterNotFoundFault", id))
    }

    /// `CreateDBSnapshot`; an existing snapshot of that name is `AlreadyThere`.
    pub async fn snapshot_instance(
        &self,
        id: &str,
        snapshot_id: &str,
        tags: &[(String, String)],
    ) -> Result<Created> {
        let res = self
            .client
            .create_db_snapshot()
            .db_instance_identifier(id)
            .db_snapshot_identifier(snapshot_id)
            .set_tags(Some(to_tags(tags)))
            .send()
            .await;
        match res {
            Ok(_) => Ok(Created::New(snapshot_id.to_string())),
            Err(e)
                if is_code(
                    &e,
                    &["DBSnapshotAlreadyExists", "DBSnapshotAlreadyExistsFault"],
                ) =>
            {
                Ok(Created::AlreadyThere(snapshot_id.to_string()))
            }
            Err(e) => Err(aws_error("CreateDBSnapshot", e)),
        }
    }

    /// `CreateDBClusterSnapshot`; an existing snapshot of that name is `AlreadyThere`.
    pub async fn snapshot_cluster(
        &self,
        id: &str,
        snapshot_id: &str,
        tags: &[(String, String)],
    ) -> Result<Created> {
        let res = self
            .client
            .create_db_cluster_snapshot()
            .db_cluster_identifier(id)
            .db_cluster_snapshot_identifier(snapshot_id)
            .set_tags(Some(to_tags(tags)))
            .send()
            .await;
        match res {
            Ok(_) => Ok(Created::New(snapshot_id.to_string())),
            Err(e)
                if is_code(
                    &e,
                    &[
                        "DBClusterSnapshotAlreadyExistsFault",
                        "DBClusterSnapshotAlreadyExists",
                    ],
                ) =>
            {
                Ok(Created::AlreadyThere(snapshot_id.to_string()))
            }
            Err(e) => Err(aws_error("CreateDBClusterSnapshot", e)),
        }
    }
}

impl Rds {
    fn instance_snapshot(&self, s: &aws_sdk_rds::types::DbSnapshot) -> SnapshotInfo {
        SnapshotInfo {
            kind: ResourceKind::RdsInstance,
            id: s.db_snapshot_identifier().unwrap_or_default().to_string(),
            arn: s.db_snapshot_arn().unwrap_or_default().to_string(),
            region: self.region.clone(),
            source: s.db_instance_identifier().unwrap_or_default().to_string(),
            status: s.status().unwrap_or_default().to_string(),
            created: to_chrono(s.snapshot_create_time()),
            tags: tag_map(s.tag_list()),
            encrypted: s.encrypted().unwrap_or(false),
            kms_key: s.kms_key_id().map(str::to_string),
        }
    }

    fn cluster_snapshot(&self, s: &aws_sdk_rds::types::DbClusterSnapshot) -> SnapshotInfo {
        SnapshotInfo {
            kind: ResourceKind::AuroraCluster,
            id: s
                .db_cluster_snapshot_identifier()
                .unwrap_or_default()
                .to_string(),
            arn: s.db_cluster_snapshot_arn().unwrap_or_default().to_string(),
            region: self.region.clone(),
            source: s.db_cluster_identifier().unwrap_or_default().to_string(),
            status: s.status().unwrap_or_default().to_string(),
            created: to_chrono(s.snapshot_create_time()),
            tags: tag_map(s.tag_list()),
            encrypted: s.storage_encrypted().unwrap_or(false),
            kms_key: s.kms_key_id().map(str::to_string),
        }
    }

    /// Manual DB instance and cluster snapshots tagged `rempart:managed=true`
    /// (tags come with the describe calls; 100 per page).
    pub async fn managed_snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        let mut out = self.instance_snapshots(None, Some("manual")).await?;
        out.extend(self.cluster_snapshots(None, Some("manual")).await?);
        out.retain(SnapshotInfo::is_managed);
        Ok(out)
    }

    /// Manual DB instance and cluster snapshots carrying `tag` (whatever
    /// its value).
    pub async fn snapshots_tagged(&self, tag: &str) -> Result<Vec<SnapshotInfo>> {
        let mut out = self.instance_snapshots(None, Some("manual")).await?;
        out.extend(self.cluster_snapshots(None, Some("manual")).await?);
        out.retain(|s| s.tags.contains_key(tag));
        Ok(out)
    }

    /// Every snapshot of one DB instance, Rempart's or not, automated or
    /// manual: what a restore on request may start from.
    pub async fn snapshots_of_instance(&self, db: &str) -> Result<Vec<SnapshotInfo>> {
        self.instance_snapshots(Some(db), None).await
    }

    /// DB instance snapshots, of one instance or all, of one type or all.
    async fn instance_snapshots(
        &self,
        db: Option<&str>,
        snapshot_type: Option<&str>,
    ) -> Result<Vec<SnapshotInfo>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .describe_db_snapshots()
            .set_db_instance_identifier(db.map(str::to_string))
            .set_snapshot_type(snapshot_type.map(str::to_string))
            .max_records(PAGE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("DescribeDBSnapshots", e))?;
            out.extend(
                page.db_snapshots()
                    .iter()
                    .map(|s| self.instance_snapshot(s)),
            );
        }
        Ok(out)
    }

    /// How many manual DB snapshots the region holds, Rempart's or not: the
    /// count AWS's quota (100 by default) applies to.
    pub async fn manual_snapshot_count(&self) -> Result<usize> {
        let mut n = 0;
        let mut pages = self
            .client
            .describe_db_snapshots()
            .snapshot_type("manual")
            .max_records(PAGE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            n += page
                .map_err(|e| aws_error("DescribeDBSnapshots", e))?
                .db_snapshots()
                .len();
        }
        Ok(n)
    }

    /// One DB instance snapshot by identifier, whatever its tags; `None` if
    /// there is none.
    pub async fn instance_snapshot_by_id(&self, id: &str) -> Result<Option<SnapshotInfo>> {
        let res = self
            .client
            .describe_db_snapshots()
            .db_snapshot_identifier(id)
            .send()
            .await;
        match res {
            Ok(out) => Ok(out
                .db_snapshots()
                .first()
                .map(|s| self.instance_snapshot(s))),
            Err(e) if is_code(&e, &["DBSnapshotNotFound", "DBSnapshotNotFoundFault"]) => Ok(None),
            Err(e) => Err(aws_error("DescribeDBSnapshots", e)),
        }
    }

    /// One DB cluster snapshot by identifier, whatever its tags; `None` if
    /// there is none.
    pub async fn cluster_snapshot_by_id(&self, id: &str) -> Result<Option<SnapshotInfo>> {
        let res = self
            .client
            .describe_db_cluster_snapshots()
            .db_cluster_snapshot_identifier(id)
            .send()
            .await;
        match res {
            Ok(out) => Ok(out
                .db_cluster_snapshots()
                .first()
                .map(|s| self.cluster_snapshot(s))),
            Err(e) if is_code(&e, &["DBClusterSnapshotNotFoundFault"]) => Ok(None),
            Err(e) => Err(aws_error("DescribeDBClusterSnapshots", e)),
        }
    }

    /// Copies a DB instance or cluster snapshot from another region into
    /// this client's region (`CopyDBSnapshot` / `CopyDBClusterSnapshot`
    /// called in the destination region with the source ARN), encrypted with
    /// `kms_key`, tagged with `tags`. An existing target is `AlreadyThere`.
    ///
    /// No `PreSignedUrl` is sent: AWS generates it itself for cross-region
    /// copies within the commercial partitions; it is required only in
    /// AWS GovCloud (US), which Rempart does not support.
    pub async fn copy_snapshot(
        &self,
        kind: ResourceKind,
        source_arn: &str,
        target_id: &str,
        kms_key: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<Created> {
        // Err(None): the target exists already (a redelivered event).
        let res: std::result::Result<(), Option<Error>> = if kind == ResourceKind::AuroraCluster {
            self.client
                .copy_db_cluster_snapshot()
                .source_db_cluster_snapshot_identifier(source_arn)
                .target_db_cluster_snapshot_identifier(target_id)
                .set_kms_key_id(kms_key.map(str::to_string))
                .set_tags(Some(to_tags(tags)))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    (!is_code(
                        &e,
                        &[
                            "DBClusterSnapshotAlreadyExistsFault",
                            "DBClusterSnapshotAlreadyExists",
                        ],
                    ))
                    .then(|| aws_error("CopyDBClusterSnapshot", e))
                })
        } else {
            self.client
                .copy_db_snapshot()
                .source_db_snapshot_identifier(source_arn)
                .target_db_snapshot_identifier(target_id)
                .set_kms_key_id(kms_key.map(str::to_string))
                .set_tags(Some(to_tags(tags)))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    (!is_code(
                        &e,
                        &["DBSnapshotAlreadyExists", "DBSnapshotAlreadyExistsFault"],
                    ))
                    .then(|| aws_error("CopyDBSnapshot", e))
                })
        };
        match res {
            Ok(()) => Ok(Created::New(target_id.to_string())),
            Err(None) => Ok(Created::AlreadyThere(target_id.to_string())),
            Err(Some(e)) => Err(e),
        }
    }
}
