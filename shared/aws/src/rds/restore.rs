//! RDS restores: a restore test's throw-away instance or Aurora cluster, a
//! restore on request (from a snapshot or a point in time), their checks'
//! facts, and their deletion.

use super::{tag_map, to_tags, Rds, PAGE};
use crate::error::{Error, Result};
use crate::{aws_error, is_code, not_found, to_chrono};
use aws_sdk_rds::types::Tag;
use rempart_core::kind::ResourceKind;
use rempart_core::model::SnapshotInfo;
use rempart_core::restore::{RestoredCluster, RestoredInstance};

/// Where a restored instance goes and which parameter group it gets
/// (`None`: the account's default subnet group, the engine's default group).
#[derive(Clone, Copy, Debug, Default)]
pub struct Placement<'a> {
    pub subnet_group: Option<&'a str>,
    pub parameter_group: Option<&'a str>,
    /// VPC security groups (empty: the VPC's default group).
    pub security_groups: &'a [String],
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
    pub(super) async fn cluster_snapshots(
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
        let security_groups =
            (!placement.security_groups.is_empty()).then(|| placement.security_groups.to_vec());
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
                    .set_vpc_security_group_ids(security_groups.clone())
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
                    .set_vpc_security_group_ids(security_groups.clone())
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
            .set_vpc_security_group_ids(
                (!placement.security_groups.is_empty()).then(|| placement.security_groups.to_vec()),
            )
            .set_tags(Some(to_tags(tags)))
            .send()
            .await
            .map_err(|e| aws_error("RestoreDBInstanceFromDBSnapshot", e))?;
        Ok(())
    }

    /// Has RDS manage a throw-away instance's master password in Secrets
    /// Manager (`ModifyDBInstance` `ManageMasterUserPassword`, at once): RDS
    /// creates the instance's own secret and sets the password to it, which
    /// deleting the instance deletes. `false`: the instance is busy (a
    /// modification already under way), a later run looks again.
    pub async fn manage_master_secret(&self, i: &RestoredInstance, tag: &str) -> Result<bool> {
        if !i.tags.contains_key(tag) {
            return Err(Error::Config(format!(
                "refusing to modify {}: it is not a restore-test instance",
                i.id
            )));
        }
        match self
            .client
            .modify_db_instance()
            .db_instance_identifier(&i.id)
            .manage_master_user_password(true)
            .apply_immediately(true)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_code(&e, &["InvalidDBInstanceState"]) => Ok(false),
            Err(e) => Err(aws_error("ModifyDBInstance", e)),
        }
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
                    endpoint: db.endpoint().and_then(|e| {
                        Some((e.address()?.to_string(), u16::try_from(e.port()?).ok()?))
                    }),
                    master_secret: db.master_user_secret().and_then(|m| {
                        Some((
                            m.secret_arn()?.to_string(),
                            m.secret_status().unwrap_or_default().to_string(),
                        ))
                    }),
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
