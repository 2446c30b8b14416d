//! ElastiCache Redis (and Valkey) replication groups and standalone clusters.

use crate::error::Result;
use crate::not_found;
use crate::{aws_error, is_code, to_chrono, Created};
use aws_sdk_elasticache::types::{CacheCluster, ReplicationGroup, Tag};
use aws_sdk_elasticache::Client;
use rempart_core::kind::ResourceKind;
use rempart_core::model::{RedisShape, Resource, SnapshotInfo};
use rempart_core::restore::RestoredCache;
use rempart_core::tags::*;
use std::collections::BTreeMap;

const PAGE: i32 = 100;

/// The prefix of the replication groups restore tests create
/// (`rempart_core::restore::cache_group_id`).
const TEST_GROUP_PREFIX: &str = "rempart-rt-";

/// What a snapshot restores into.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheSnapshotShape {
    pub engine: Option<String>,
    pub engine_version: Option<String>,
    /// Its node groups (shards), when the snapshot says (a snapshot of a
    /// replication group does).
    pub shards: Option<usize>,
    /// The snapshot's cache parameter group.
    pub parameter_group: Option<String>,
}

impl CacheSnapshotShape {
    /// A snapshot of a cluster-mode-enabled group: restored with as many
    /// node groups, under its parameter group (`cluster-enabled yes`).
    pub fn clustered(&self) -> bool {
        self.shards.is_some_and(|n| n > 1)
            || self
                .parameter_group
                .as_deref()
                .is_some_and(|g| g.contains("cluster.on"))
    }
}

fn restored_cache(g: &ReplicationGroup, tags: BTreeMap<String, String>) -> Option<RestoredCache> {
    Some(RestoredCache {
        id: g.replication_group_id()?.to_string(),
        arn: g.arn()?.to_string(),
        status: g.status().unwrap_or_default().to_string(),
        engine: g.engine().unwrap_or_default().to_string(),
        engine_version: String::new(),
        node_type: g.cache_node_type().unwrap_or_default().to_string(),
        shards: g.node_groups().len(),
        nodes: g.member_clusters().len(),
        at_rest_encrypted: g.at_rest_encryption_enabled() == Some(true),
        kms_key: g.kms_key_id().map(str::to_string),
        tags,
    })
}

#[derive(Clone, Debug)]
pub struct ElastiCache {
    client: Client,
    region: String,
}

fn is_redis(engine: Option<&str>) -> bool {
    matches!(engine, Some("redis" | "valkey"))
}

/// The node to snapshot in a cluster-mode-disabled group: a replica when
/// there is one (the snapshot's fork then does not load the primary).
fn snapshot_node(g: &ReplicationGroup) -> Option<String> {
    let members: Vec<_> = g
        .node_groups()
        .iter()
        .flat_map(|ng| ng.node_group_members())
        .collect();
    members
        .iter()
        .find(|m| m.current_role() == Some("replica"))
        .or_else(|| members.first())
        .and_then(|m| m.cache_cluster_id().map(str::to_string))
        .or_else(|| g.member_clusters().first().cloned())
}

/// A `CreateReplicationGroup` answer: the group asked again (a redelivered
/// event) is not an error.
fn created<T>(
    res: std::result::Result<
        T,
        aws_sdk_elasticache::error::SdkError<
            aws_sdk_elasticache::operation::create_replication_group::CreateReplicationGroupError,
        >,
    >,
) -> Result<()> {
    match res {
        Ok(_) => Ok(()),
        Err(e)
            if is_code(
                &e,
                &[
                    "ReplicationGroupAlreadyExists",
                    "ReplicationGroupAlreadyExistsFault",
                ],
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(aws_error("CreateReplicationGroup", e)),
    }
}

impl ElastiCache {
    /// The underlying client (for the snapshot facade in this module's parent).
    pub(crate) fn client(&self) -> &aws_sdk_elasticache::Client {
        &self.client
    }

    pub fn new(client: Client, region: impl Into<String>) -> Self {
        ElastiCache {
            client,
            region: region.into(),
        }
    }

    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_name(arn)
            .send()
            .await
            .map_err(|e| aws_error("ListTagsForResource", e))?;
        Ok(out
            .tag_list()
            .iter()
            .filter_map(|t| {
                Some((
                    t.key()?.to_string(),
                    t.value().unwrap_or_default().to_string(),
                ))
            })
            .collect())
    }

    async fn group(&self, g: &ReplicationGroup) -> Result<Option<Resource>> {
        let (Some(id), Some(arn)) = (g.replication_group_id(), g.arn()) else {
            return Ok(None);
        };
        // Replication groups of other engines (Memcached has none) are skipped.
        if g.engine().is_some_and(|e| !is_redis(Some(e))) {
            return Ok(None);
        }
        let members = g.member_clusters().to_vec();
        let shape = match snapshot_node(g).filter(|_| g.cluster_enabled() != Some(true)) {
            Some(node) => RedisShape::Group { node, members },
            None => RedisShape::ClusteredGroup { members },
        };
        Ok(Some(Resource {
            kind: ResourceKind::ElasticacheRedis,
            id: id.to_string(),
            arn: arn.to_string(),
            region: self.region.clone(),
            tags: self.tags(arn).await?,
            aurora_cluster: None,
            redis: Some(shape),
            backups: None,
            created: to_chrono(g.replication_group_create_time()),
        }))
    }

    async fn standalone(&self, c: &CacheCluster) -> Result<Option<Resource>> {
        let (Some(id), Some(arn)) = (c.cache_cluster_id(), c.arn()) else {
            return Ok(None);
        };
        if c.replication_group_id().is_some() || !is_redis(c.engine()) {
            return Ok(None);
        }
        Ok(Some(Resource {
            kind: ResourceKind::ElasticacheRedis,
            id: id.to_string(),
            arn: arn.to_string(),
            region: self.region.clone(),
            tags: self.tags(arn).await?,
            aurora_cluster: None,
            redis: Some(RedisShape::Standalone),
            backups: None,
            created: to_chrono(c.cache_cluster_create_time()),
        }))
    }

    /// Redis replication groups and standalone Redis clusters carrying the
    /// policy tag. ElastiCache's describe calls return no tags, so this makes
    /// one `ListTagsForResource` call per Redis resource.
    pub async fn tagged_redis(&self) -> Result<Vec<Resource>> {
        let mut all = self.redis_all().await?;
        all.retain(|r| r.tags.contains_key(TAG_POLICY));
        Ok(all)
    }

    /// Every Redis replication group and standalone Redis cluster, tagged
    /// or not: one describe call per page, and one `ListTagsForResource`
    /// per Redis resource (ElastiCache's describes carry no tags).
    pub async fn redis_all(&self) -> Result<Vec<Resource>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .describe_replication_groups()
            .max_records(PAGE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("DescribeReplicationGroups", e))?;
            for g in page.replication_groups() {
                out.extend(self.group(g).await?);
            }
        }
        let mut pages = self
            .client
            .describe_cache_clusters()
            .show_cache_clusters_not_in_replication_groups(true)
            .max_records(PAGE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("DescribeCacheClusters", e))?;
            for c in page.cache_clusters() {
                out.extend(self.standalone(c).await?);
            }
        }
        Ok(out)
    }

    /// One replication group (or, with `standalone`, cache cluster) by id.
    pub async fn redis_by_id(&self, id: &str, standalone: bool) -> Result<Resource> {
        if standalone {
            let res = self
                .client
                .describe_cache_clusters()
                .cache_cluster_id(id)
                .send()
                .await;
            let out = res.map_err(|e| aws_error("DescribeCacheClusters", e))?;
            if let Some(c) = out.cache_clusters().first() {
                if let Some(r) = self.standalone(c).await? {
                    return Ok(r);
                }
            }
            return Err(not_found(
                "DescribeCacheClusters",
                "CacheClusterNotFound",
                id,
            ));
        }
        let res = self
            .client
            .describe_replication_groups()
            .replication_group_id(id)
            .send()
            .await;
        let out = res.map_err(|e| aws_error("DescribeReplicationGroups", e))?;
        match out.replication_groups().first() {
            Some(g) => self.group(g).await?,
            None => None,
        }
        .ok_or_else(|| {
            not_found(
                "DescribeReplicationGroups",
                "ReplicationGroupNotFoundFault",
                id,
            )
        })
    }

    /// `CreateSnapshot` of a group or a node; an existing snapshot of that
    /// name is `AlreadyThere`. If the chosen node of a cluster-mode-disabled
    /// group is gone (a failover replaced it since the listing), the snapshot
    /// is taken through the replication group instead.
    pub async fn snapshot(
        &self,
        resource: &Resource,
        snapshot_name: &str,
        tags: &[(String, String)],
    ) -> Result<Created> {
        let by_node = match &resource.redis {
            Some(RedisShape::Group { node, .. }) => Some(node.as_str()),
            Some(RedisShape::Standalone) => Some(resource.id.as_str()),
            Some(RedisShape::ClusteredGroup { .. }) | None => None,
        };
        let group =
            (resource.redis != Some(RedisShape::Standalone)).then_some(resource.id.as_str());
        let send = |node: Option<&str>| {
            let req = self
                .client
                .create_snapshot()
                .snapshot_name(snapshot_name)
                .set_tags(Some(
                    tags.iter()
                        .map(|(k, v)| Tag::builder().key(k).value(v).build())
                        .collect(),
                ));
            match node {
                Some(n) => req.cache_cluster_id(n),
                None => req.set_replication_group_id(group.map(str::to_string)),
            }
            .send()
        };
        let mut res = send(by_node).await;
        if by_node.is_some() && group.is_some() {
            if let Err(e) = &res {
                if is_code(e, &["CacheClusterNotFound", "CacheClusterNotFoundFault"]) {
                    res = send(None).await;
                }
            }
        }
        match res {
            Ok(_) => Ok(Created::New(snapshot_name.to_string())),
            Err(e) if is_code(&e, &["SnapshotAlreadyExistsFault", "SnapshotAlreadyExists"]) => {
                Ok(Created::AlreadyThere(snapshot_name.to_string()))
            }
            Err(e) => Err(aws_error("CreateSnapshot", e)),
        }
    }

    /// Manual snapshots named `rempart-…` and tagged `rempart:managed=true`.
    /// ElastiCache's describe call returns no tags: one tag call per
    /// `rempart-` snapshot.
    pub async fn managed_snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        self.managed_snapshots_named(None).await
    }

    async fn managed_snapshots_named(&self, name: Option<&str>) -> Result<Vec<SnapshotInfo>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .describe_snapshots()
            .snapshot_source("manual")
            .set_snapshot_name(name.map(str::to_string))
            .max_records(50)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("DescribeSnapshots", e))?;
            for s in page.snapshots() {
                let (Some(name), Some(arn)) = (s.snapshot_name(), s.arn()) else {
                    continue;
                };
                if !name.starts_with("rempart-") {
                    continue;
                }
                let source = s
                    .replication_group_id()
                    .or(s.cache_cluster_id())
                    .unwrap_or_default();
                out.push(SnapshotInfo {
                    kind: ResourceKind::ElasticacheRedis,
                    id: name.to_string(),
                    arn: arn.to_string(),
                    region: self.region.clone(),
                    source: source.to_string(),
                    status: s.snapshot_status().unwrap_or_default().to_string(),
                    created: to_chrono(
                        s.node_snapshots()
                            .first()
                            .and_then(|n| n.snapshot_create_time()),
                    ),
                    tags: self.tags(arn).await?,
                    encrypted: false,
                    kms_key: s.kms_key_id().map(str::to_string),
                });
            }
        }
        out.retain(SnapshotInfo::is_managed);
        Ok(out)
    }

    /// Exports a snapshot to an S3 bucket of this region (`CopySnapshot`
    /// with `TargetBucket`): ElastiCache writes `<target_name>*.rdb`
    /// objects there, asynchronously (the snapshot is `exporting` meanwhile).
    pub async fn export(&self, snapshot_name: &str, target_name: &str, bucket: &str) -> Result<()> {
        self.client
            .copy_snapshot()
            .source_snapshot_name(snapshot_name)
            .target_snapshot_name(target_name)
            .target_bucket(bucket)
            .send()
            .await
            .map_err(|e| aws_error("CopySnapshot", e))?;
        Ok(())
    }

    /// The engine and shape of a snapshot, by name.
    pub async fn snapshot_shape(&self, name: &str) -> Result<CacheSnapshotShape> {
        let out = self
            .client
            .describe_snapshots()
            .snapshot_name(name)
            .send()
            .await
            .map_err(|e| aws_error("DescribeSnapshots", e))?;
        let s = out
            .snapshots()
            .first()
            .ok_or_else(|| not_found("DescribeSnapshots", "SnapshotNotFoundFault", name))?;
        Ok(CacheSnapshotShape {
            engine: s.engine().map(str::to_string),
            engine_version: s.engine_version().map(str::to_string),
            shards: s.num_node_groups().and_then(|n| usize::try_from(n).ok()),
            parameter_group: s.cache_parameter_group_name().map(str::to_string),
        })
    }

    /// One Rempart snapshot by name, with its tags (`None` when gone).
    pub async fn snapshot_by_name(&self, name: &str) -> Result<Option<SnapshotInfo>> {
        match self.managed_snapshots_named(Some(name)).await {
            Ok(found) => Ok(found.into_iter().find(|s| s.id == name)),
            Err(crate::error::Error::Aws { code, .. })
                if code == "SnapshotNotFoundFault" || code == "SnapshotNotFound" =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// A restore test: a new replication group `id` (`rempart-rt-*`) from
    /// the snapshot, one node per shard (no replica), encrypted at rest and
    /// in transit, in `subnet_group` (ElastiCache's default when `None`),
    /// with `tags` in the request. The same id asked again (a redelivered
    /// event) is not an error. Returns the snapshot's shape.
    pub async fn restore_group(
        &self,
        snapshot: &str,
        id: &str,
        node_type: &str,
        subnet_group: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<CacheSnapshotShape> {
        let shape = self.snapshot_shape(snapshot).await?;
        let mut req = self
            .throwaway_group(
                id,
                &format!("Rempart restore test of {snapshot}"),
                node_type,
                subnet_group,
                tags,
            )
            .snapshot_name(snapshot)
            .set_engine(shape.engine.clone())
            .set_engine_version(shape.engine_version.clone());
        req = if shape.clustered() {
            req.num_node_groups(
                shape
                    .shards
                    .and_then(|n| i32::try_from(n).ok())
                    .unwrap_or(1),
            )
            .replicas_per_node_group(0)
            .set_cache_parameter_group_name(shape.parameter_group.clone())
        } else {
            req.num_cache_clusters(1)
        };
        created(req.send().await)?;
        Ok(shape)
    }

    /// A drill of a Redis DR copy: a new replication group `id`
    /// (`rempart-rt-*`) seeded with the `.rdb` files of an export
    /// (`SnapshotArns`, `arn:aws:s3:::bucket/key`; one file per shard), one
    /// node per shard, encrypted at rest and in transit, in `subnet_group`,
    /// with `tags` in the request. ElastiCache reads the files with its own
    /// service principal (the bucket's policy and the key's). The same id
    /// asked again is not an error.
    pub async fn seed_group(
        &self,
        files: &[String],
        id: &str,
        node_type: &str,
        subnet_group: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<()> {
        let mut req = self
            .throwaway_group(
                id,
                "Rempart DR drill of a Redis export",
                node_type,
                subnet_group,
                tags,
            )
            .set_snapshot_arns(Some(files.to_vec()))
            .engine("redis");
        req = if files.len() > 1 {
            req.num_node_groups(i32::try_from(files.len()).unwrap_or(i32::MAX))
                .replicas_per_node_group(0)
        } else {
            req.num_cache_clusters(1)
        };
        created(req.send().await)
    }

    /// The parts every throw-away group shares: named `id`, encrypted at
    /// rest and in transit, no failover, `tags` in the request.
    fn throwaway_group(
        &self,
        id: &str,
        description: &str,
        node_type: &str,
        subnet_group: Option<&str>,
        tags: &[(String, String)],
    ) -> aws_sdk_elasticache::operation::create_replication_group::builders::CreateReplicationGroupFluentBuilder
    {
        self.client
            .create_replication_group()
            .replication_group_id(id)
            .replication_group_description(description)
            .cache_node_type(node_type)
            .set_cache_subnet_group_name(subnet_group.map(str::to_string))
            .at_rest_encryption_enabled(true)
            .transit_encryption_enabled(true)
            .automatic_failover_enabled(false)
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
    }

    /// The replication groups restore tests created (`rempart-rt-*`)
    /// carrying `tag_key`: one paginated listing, then one tag call per
    /// `rempart-rt-*` group only.
    pub async fn restored_groups(&self, tag_key: &str) -> Result<Vec<RestoredCache>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .describe_replication_groups()
            .max_records(PAGE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("DescribeReplicationGroups", e))?;
            for g in page.replication_groups() {
                let (Some(id), Some(arn)) = (g.replication_group_id(), g.arn()) else {
                    continue;
                };
                if !id.starts_with(TEST_GROUP_PREFIX) {
                    continue;
                }
                let tags = self.tags(arn).await?;
                if tags.contains_key(tag_key) {
                    out.extend(restored_cache(g, tags));
                }
            }
        }
        Ok(out)
    }

    /// Deletes a restore test's replication group: only one named
    /// `rempart-rt-*` and tagged `tag_key` (the role's condition too). One
    /// already gone or being deleted is not an error.
    pub async fn delete_restored_group(&self, c: &RestoredCache, tag_key: &str) -> Result<()> {
        if !c.id.starts_with(TEST_GROUP_PREFIX) || !c.tags.contains_key(tag_key) {
            return Err(crate::error::Error::Config(format!(
                "refusing to delete replication group {}: not a `{TEST_GROUP_PREFIX}*` group tagged {tag_key}",
                c.id
            )));
        }
        match self
            .client
            .delete_replication_group()
            .replication_group_id(&c.id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if is_code(
                    &e,
                    &[
                        "ReplicationGroupNotFoundFault",
                        "ReplicationGroupNotFound",
                        "InvalidReplicationGroupState",
                        "InvalidReplicationGroupStateFault",
                    ],
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(aws_error("DeleteReplicationGroup", e)),
        }
    }

    /// Sets one tag on a snapshot (by ARN).
    pub async fn tag_snapshot(&self, arn: &str, key: &str, value: &str) -> Result<()> {
        self.client
            .add_tags_to_resource()
            .resource_name(arn)
            .tags(Tag::builder().key(key).value(value).build())
            .send()
            .await
            .map_err(|e| aws_error("AddTagsToResource", e))?;
        Ok(())
    }
}
