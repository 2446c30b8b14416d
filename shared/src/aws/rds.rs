//! RDS DB instances and Aurora DB clusters.

use super::{aws_error, is_code, to_chrono, Created};
use crate::error::{Error, Result};
use crate::model::{Resource, ResourceKind, SnapshotInfo};
use aws_sdk_rds::types::Tag;
use aws_sdk_rds::Client;
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
        })
    }

    /// DB instances carrying the policy tag (tags come with the describe
    /// call: no per-instance tag request).
    pub async fn tagged_instances(&self) -> Result<Vec<Resource>> {
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
                    .filter_map(|db| self.instance(db))
                    .filter(|r| r.policy_tag().is_some()),
            );
        }
        Ok(out)
    }

    /// Aurora (and Multi-AZ) DB clusters carrying the policy tag.
    pub async fn tagged_clusters(&self) -> Result<Vec<Resource>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .describe_db_clusters()
            .max_records(PAGE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("DescribeDBClusters", e))?;
            out.extend(
                page.db_clusters()
                    .iter()
                    .filter_map(|c| self.cluster(c))
                    .filter(|r| r.policy_tag().is_some()),
            );
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

pub(crate) fn not_found(operation: &'static str, code: &str, id: &str) -> Error {
    Error::Aws {
        operation,
        code: code.to_string(),
        message: format!("{id} not found"),
        retryable: false,
    }
}

/// Where a restored instance goes and which parameter group it gets
/// (`None`: the account's default subnet group, the engine's default group).
#[derive(Clone, Copy, Debug, Default)]
pub struct Placement<'a> {
    pub subnet_group: Option<&'a str>,
    pub parameter_group: Option<&'a str>,
}

/// What a cluster is restored from.
#[derive(Clone, Copy, Debug)]
pub enum ClusterFrom<'a> {
    Snapshot(&'a str),
    PointInTime {
        source: &'a str,
        time: chrono::DateTime<chrono::Utc>,
    },
}

/// An Aurora cluster restored by a restore test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoredCluster {
    pub id: String,
    pub arn: String,
    pub status: String,
    pub engine: String,
    pub engine_version: String,
    pub tags: BTreeMap<String, String>,
}

/// An instance restored by Rempart (a restore test or a restore on request).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoredInstance {
    pub id: String,
    pub arn: String,
    /// The Aurora cluster it belongs to (a cluster restore test's member).
    pub cluster: Option<String>,
    pub status: String,
    pub engine: String,
    pub engine_version: String,
    pub storage_gb: i32,
    pub publicly_accessible: bool,
    /// DB parameter groups: (name, apply status, e.g. `in-sync`).
    pub parameter_groups: Vec<(String, String)>,
    pub tags: BTreeMap<String, String>,
}

/// What a restore on request needs to know of its source instance or
/// Aurora cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreSourceInfo {
    pub kind: ResourceKind,
    /// Aurora: the writer's instance class (the restored cluster's one
    /// instance gets it unless the request names one).
    pub class: Option<String>,
    /// The point-in-time window: from the automated backups' restore window
    /// when RDS gives one, else from the instance (the later of its creation
    /// and `LatestRestorableTime` minus the backup retention period).
    pub pitr: Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>,
    /// The source's DB subnet group: the restored instance goes beside it.
    pub subnet_group: Option<String>,
}

impl Rds {
    /// The PITR window and network placement of a source instance.
    pub async fn restore_source(&self, db: &str) -> Result<RestoreSourceInfo> {
        let out = self
            .client
            .describe_db_instances()
            .db_instance_identifier(db)
            .send()
            .await
            .map_err(|e| aws_error("DescribeDBInstances", e))?;
        let i = out
            .db_instances()
            .first()
            .ok_or_else(|| not_found("DescribeDBInstances", "DBInstanceNotFound", db))?;
        let retention = i.backup_retention_period().unwrap_or(0);
        let latest = to_chrono(i.latest_restorable_time());
        let mut pitr = match (retention, latest) {
            (1.., Some(latest)) => {
                let by_retention = latest - chrono::TimeDelta::days(i64::from(retention));
                let created = to_chrono(i.instance_create_time()).unwrap_or(by_retention);
                Some((by_retention.max(created).min(latest), latest))
            }
            _ => None,
        };
        if pitr.is_some() {
            let backups = self
                .client
                .describe_db_instance_automated_backups()
                .db_instance_identifier(db)
                .send()
                .await
                .map_err(|e| aws_error("DescribeDBInstanceAutomatedBackups", e))?;
            let window = backups
                .db_instance_automated_backups()
                .iter()
                .filter_map(|b| b.restore_window())
                .filter_map(|w| Some((to_chrono(w.earliest_time())?, to_chrono(w.latest_time())?)))
                .min();
            if let (Some((earliest, _)), Some((_, latest))) = (window, pitr) {
                pitr = Some((earliest.min(latest), latest));
            }
        }
        Ok(RestoreSourceInfo {
            kind: ResourceKind::RdsInstance,
            class: None,
            pitr,
            subnet_group: i
                .db_subnet_group()
                .and_then(|g| g.db_subnet_group_name())
                .map(str::to_string),
        })
    }

    /// The PITR window (`EarliestRestorableTime` to `LatestRestorableTime`),
    /// subnet group and writer class of a source Aurora cluster.
    pub async fn cluster_restore_source(&self, db: &str) -> Result<RestoreSourceInfo> {
        let out = self
            .client
            .describe_db_clusters()
            .db_cluster_identifier(db)
            .send()
            .await
            .map_err(|e| aws_error("DescribeDBClusters", e))?;
        let c = out
            .db_clusters()
            .first()
            .ok_or_else(|| not_found("DescribeDBClusters", "DBClusterNotFoundFault", db))?;
        let pitr = match (
            to_chrono(c.earliest_restorable_time()),
            to_chrono(c.latest_restorable_time()),
        ) {
            (Some(a), Some(b)) => Some((a.min(b), b)),
            _ => None,
        };
        let writer = c
            .db_cluster_members()
            .iter()
            .find(|m| m.is_cluster_writer() == Some(true))
            .and_then(|m| m.db_instance_identifier());
        let class = match writer {
            Some(w) => self
                .client
                .describe_db_instances()
                .db_instance_identifier(w)
                .send()
                .await
                .map_err(|e| aws_error("DescribeDBInstances", e))?
                .db_instances()
                .first()
                .and_then(|i| i.db_instance_class())
                .map(str::to_string),
            None => None,
        };
        Ok(RestoreSourceInfo {
            kind: ResourceKind::AuroraCluster,
            class,
            pitr,
            subnet_group: c.db_subnet_group().map(str::to_string),
        })
    }

    /// Every snapshot of one Aurora cluster, Rempart's or not.
    pub async fn snapshots_of_cluster(&self, db: &str) -> Result<Vec<SnapshotInfo>> {
        self.cluster_snapshots(Some(db), None).await
    }

    /// DB cluster snapshots, of one cluster or all, of one type or all.
    async fn cluster_snapshots(
        &self,
        db: Option<&str>,
        snapshot_type: Option<&str>,
    ) -> Result<Vec<SnapshotInfo>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .describe_db_cluster_snapshots()
            .set_db_cluster_identifier(db.map(str::to_string))
            .set_snapshot_type(snapshot_type.map(str::to_string))
            .max_records(PAGE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("DescribeDBClusterSnapshots", e))?;
            out.extend(
                page.db_cluster_snapshots()
                    .iter()
                    .map(|s| self.cluster_snapshot(s)),
            );
        }
        Ok(out)
    }

    /// `RestoreDBInstanceToPointInTime` into a new, private instance.
    pub async fn restore_instance_to_time(
        &self,
        source: &str,
        target: &str,
        time: chrono::DateTime<chrono::Utc>,
        class: Option<&str>,
        placement: &Placement<'_>,
        tags: &[(String, String)],
    ) -> Result<()> {
        self.client
            .restore_db_instance_to_point_in_time()
            .set_db_parameter_group_name(placement.parameter_group.map(str::to_string))
            .source_db_instance_identifier(source)
            .target_db_instance_identifier(target)
            .restore_time(aws_smithy_types::DateTime::from_secs(time.timestamp()))
            .set_db_instance_class(class.map(str::to_string))
            .publicly_accessible(false)
            .deletion_protection(false)
            .set_db_subnet_group_name(placement.subnet_group.map(str::to_string))
            .set_tags(Some(to_tags(tags)))
            .send()
            .await
            .map_err(|e| aws_error("RestoreDBInstanceToPointInTime", e))?;
        Ok(())
    }

    /// `RestoreDBClusterFromSnapshot` into a new cluster (the engine is the
    /// snapshot's), then its one member instance of `class`, private: an
    /// Aurora cluster without an instance cannot be reached. The member has
    /// the cluster's name (instances and clusters are separate namespaces).
    pub async fn restore_cluster(
        &self,
        from: ClusterFrom<'_>,
        cluster_id: &str,
        class: &str,
        placement: &Placement<'_>,
        tags: &[(String, String)],
    ) -> Result<()> {
        let subnet_group = placement.subnet_group.map(str::to_string);
        let engine = match from {
            ClusterFrom::Snapshot(snapshot_id) => {
                let out = self
                    .client
                    .describe_db_cluster_snapshots()
                    .db_cluster_snapshot_identifier(snapshot_id)
                    .send()
                    .await
                    .map_err(|e| aws_error("DescribeDBClusterSnapshots", e))?;
                let snap = out.db_cluster_snapshots().first().ok_or_else(|| {
                    not_found(
                        "DescribeDBClusterSnapshots",
                        "DBClusterSnapshotNotFoundFault",
                        snapshot_id,
                    )
                })?;
                let engine = snap.engine().unwrap_or("aurora-postgresql").to_string();
                let res = self
                    .client
                    .restore_db_cluster_from_snapshot()
                    .snapshot_identifier(snapshot_id)
                    .db_cluster_identifier(cluster_id)
                    .engine(&engine)
                    .set_engine_version(snap.engine_version().map(str::to_string))
                    .deletion_protection(false)
                    .set_db_subnet_group_name(subnet_group)
                    .set_tags(Some(to_tags(tags)))
                    .send()
                    .await;
                match res {
                    Ok(_) => {}
                    Err(e) if is_code(&e, &["DBClusterAlreadyExistsFault"]) => {}
                    Err(e) => return Err(aws_error("RestoreDBClusterFromSnapshot", e)),
                }
                engine
            }
            ClusterFrom::PointInTime { source, time } => {
                let src = self.cluster_engine(source).await?;
                let res = self
                    .client
                    .restore_db_cluster_to_point_in_time()
                    .source_db_cluster_identifier(source)
                    .db_cluster_identifier(cluster_id)
                    .restore_to_time(aws_smithy_types::DateTime::from_secs(time.timestamp()))
                    .deletion_protection(false)
                    .set_db_subnet_group_name(subnet_group)
                    .set_tags(Some(to_tags(tags)))
                    .send()
                    .await;
                match res {
                    Ok(_) => {}
                    Err(e) if is_code(&e, &["DBClusterAlreadyExistsFault"]) => {}
                    Err(e) => return Err(aws_error("RestoreDBClusterToPointInTime", e)),
                }
                src
            }
        };
        self.client
            .create_db_instance()
            .db_instance_identifier(cluster_id)
            .db_cluster_identifier(cluster_id)
            .engine(&engine)
            .db_instance_class(class)
            .set_db_parameter_group_name(placement.parameter_group.map(str::to_string))
            .publicly_accessible(false)
            .set_tags(Some(to_tags(tags)))
            .send()
            .await
            .map_err(|e| aws_error("CreateDBInstance", e))?;
        Ok(())
    }

    /// A cluster's engine.
    async fn cluster_engine(&self, id: &str) -> Result<String> {
        let out = self
            .client
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
            .map_err(|e| aws_error("DescribeDBClusters", e))?;
        Ok(out
            .db_clusters()
            .first()
            .and_then(|c| c.engine())
            .unwrap_or("aurora-postgresql")
            .to_string())
    }

    /// Clusters carrying tag `key` (the restore tester's).
    pub async fn clusters_tagged(&self, key: &str) -> Result<Vec<RestoredCluster>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .describe_db_clusters()
            .max_records(PAGE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("DescribeDBClusters", e))?;
            for c in page.db_clusters() {
                let tags = tag_map(c.tag_list());
                if !tags.contains_key(key) {
                    continue;
                }
                out.push(RestoredCluster {
                    id: c.db_cluster_identifier().unwrap_or_default().to_string(),
                    arn: c.db_cluster_arn().unwrap_or_default().to_string(),
                    status: c.status().unwrap_or_default().to_string(),
                    engine: c.engine().unwrap_or_default().to_string(),
                    engine_version: c.engine_version().unwrap_or_default().to_string(),
                    tags,
                });
            }
        }
        Ok(out)
    }

    /// Turns on the RDS Data API of a cluster (`EnableHttpEndpoint`).
    pub async fn enable_http_endpoint(&self, cluster_arn: &str) -> Result<()> {
        self.client
            .enable_http_endpoint()
            .resource_arn(cluster_arn)
            .send()
            .await
            .map_err(|e| aws_error("EnableHttpEndpoint", e))?;
        Ok(())
    }

    /// Deletes a restore-test cluster, without a final snapshot. Refuses a
    /// cluster without the restore-test tag. `Ok(false)` while its member is
    /// still being deleted (AWS refuses until then): a later tick retries.
    pub async fn delete_restored_cluster(&self, c: &RestoredCluster, tag: &str) -> Result<bool> {
        if !c.tags.contains_key(tag) {
            return Err(Error::Config(format!(
                "refusing to delete {}: it is not a restore-test cluster",
                c.id
            )));
        }
        let res = self
            .client
            .delete_db_cluster()
            .db_cluster_identifier(&c.id)
            .skip_final_snapshot(true)
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if is_code(&e, &["DBClusterNotFoundFault"]) => Ok(true),
            Err(e)
                if is_code(
                    &e,
                    &[
                        "InvalidDBClusterStateFault",
                        "DBClusterToBeDeletedHasActiveMembers",
                    ],
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(aws_error("DeleteDBCluster", e)),
        }
    }

    /// Sets one tag on an instance Rempart restored.
    pub async fn tag_instance(&self, arn: &str, key: &str, value: &str) -> Result<()> {
        self.client
            .add_tags_to_resource()
            .resource_name(arn)
            .tags(Tag::builder().key(key).value(value).build())
            .send()
            .await
            .map_err(|e| aws_error("AddTagsToResource", e))?;
        Ok(())
    }

    /// `RestoreDBInstanceFromDBSnapshot` into a new, private instance (class:
    /// the snapshot's unless given).
    pub async fn restore_instance(
        &self,
        snapshot_id: &str,
        instance_id: &str,
        class: Option<&str>,
        placement: &Placement<'_>,
        tags: &[(String, String)],
    ) -> Result<()> {
        let subnet_group = placement.subnet_group;
        self.client
            .restore_db_instance_from_db_snapshot()
            .db_snapshot_identifier(snapshot_id)
            .db_instance_identifier(instance_id)
            .set_db_parameter_group_name(placement.parameter_group.map(str::to_string))
            .set_db_instance_class(class.map(str::to_string))
            .publicly_accessible(false)
            .multi_az(false)
            .deletion_protection(false)
            .set_db_subnet_group_name(subnet_group.map(str::to_string))
            .set_tags(Some(to_tags(tags)))
            .send()
            .await
            .map_err(|e| aws_error("RestoreDBInstanceFromDBSnapshot", e))?;
        Ok(())
    }

    /// Instances carrying any of the tag keys `keys` (the restore tester's).
    pub async fn instances_tagged(&self, keys: &[&str]) -> Result<Vec<RestoredInstance>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .describe_db_instances()
            .max_records(PAGE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("DescribeDBInstances", e))?;
            for db in page.db_instances() {
                let tags = tag_map(db.tag_list());
                if !keys.iter().any(|k| tags.contains_key(*k)) {
                    continue;
                }
                out.push(RestoredInstance {
                    id: db.db_instance_identifier().unwrap_or_default().to_string(),
                    arn: db.db_instance_arn().unwrap_or_default().to_string(),
                    cluster: db.db_cluster_identifier().map(str::to_string),
                    status: db.db_instance_status().unwrap_or_default().to_string(),
                    engine: db.engine().unwrap_or_default().to_string(),
                    engine_version: db.engine_version().unwrap_or_default().to_string(),
                    storage_gb: db.allocated_storage().unwrap_or(0),
                    publicly_accessible: db.publicly_accessible().unwrap_or(false),
                    parameter_groups: db
                        .db_parameter_groups()
                        .iter()
                        .map(|g| {
                            (
                                g.db_parameter_group_name().unwrap_or_default().to_string(),
                                g.parameter_apply_status().unwrap_or_default().to_string(),
                            )
                        })
                        .collect(),
                    tags,
                });
            }
        }
        Ok(out)
    }

    /// Deletes a throw-away instance, without a final snapshot. Refuses an
    /// instance without the restore-test tag.
    pub async fn delete_restored(&self, i: &RestoredInstance, tag: &str) -> Result<()> {
        if !i.tags.contains_key(tag) {
            return Err(Error::Config(format!(
                "refusing to delete {}: it is not a restore-test instance",
                i.id
            )));
        }
        let res = self
            .client
            .delete_db_instance()
            .db_instance_identifier(&i.id)
            .skip_final_snapshot(true)
            .delete_automated_backups(true)
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["DBInstanceNotFound", "DBInstanceNotFoundFault"]) => Ok(()),
            Err(e) => Err(aws_error("DeleteDBInstance", e)),
        }
    }
}
