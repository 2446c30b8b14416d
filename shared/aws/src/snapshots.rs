//! Rempart's snapshots of every kind in one region: list, tag, untag,
//! delete. Every mutation refuses a snapshot without `rempart:managed=true`.

use crate::ec2::Ec2;
use crate::elasticache::ElastiCache;
use crate::error::{Error, Result};
use crate::rds::Rds;
use crate::{aws_error, is_code};
use rempart_core::kind::ResourceKind;
use rempart_core::model::{Resource, SnapshotInfo};

/// The snapshot adapters of one region.
#[derive(Clone, Debug)]
pub struct Snapshots {
    pub region: String,
    pub rds: Rds,
    pub ec2: Ec2,
    pub elasticache: ElastiCache,
}

fn refuse_unmanaged(s: &SnapshotInfo) -> Result<()> {
    if s.is_managed() {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "refusing to modify {} {}: it does not carry rempart:managed=true",
            s.kind, s.id
        )))
    }
}

impl Snapshots {
    /// Build the adapters for `region` from a configuration.
    pub fn for_region(cfg: &aws_config::SdkConfig, region: &str) -> Snapshots {
        let cfg = cfg
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build();
        Snapshots {
            region: region.to_string(),
            rds: Rds::new(aws_sdk_rds::Client::new(&cfg), region),
            ec2: Ec2::new(aws_sdk_ec2::Client::new(&cfg), region),
            elasticache: ElastiCache::new(aws_sdk_elasticache::Client::new(&cfg), region),
        }
    }

    /// The region's resources: every resource of the kinds in `all`, tagged
    /// or not (for the coverage audit), and, with `tagged`, the resources of
    /// the other kinds that carry the policy tag. One listing per kind (one
    /// describe call per page): a resource listed for coverage is not
    /// listed again for its tag.
    pub async fn resources(&self, all: &[ResourceKind], tagged: bool) -> Result<Vec<Resource>> {
        use ResourceKind::*;
        let want = |k: ResourceKind| all.contains(&k);
        let (a, b, c, d) = tokio::join!(
            async {
                match (want(RdsInstance), tagged) {
                    (true, _) => self.rds.instances().await,
                    (false, true) => self.rds.tagged_instances().await,
                    (false, false) => Ok(Vec::new()),
                }
            },
            async {
                match (want(AuroraCluster), tagged) {
                    (true, _) => self.rds.clusters().await,
                    (false, true) => self.rds.tagged_clusters().await,
                    (false, false) => Ok(Vec::new()),
                }
            },
            async {
                match (want(EbsVolume), tagged) {
                    (true, _) => self.ec2.volumes_all().await,
                    (false, true) => self.ec2.tagged_volumes().await,
                    (false, false) => Ok(Vec::new()),
                }
            },
            async {
                match (want(ElasticacheRedis), tagged) {
                    (true, _) => self.elasticache.redis_all().await,
                    (false, true) => self.elasticache.tagged_redis().await,
                    (false, false) => Ok(Vec::new()),
                }
            }
        );
        let mut out = a?;
        out.extend(b?);
        out.extend(c?);
        out.extend(d?);
        Ok(out)
    }

    /// Every Rempart-managed snapshot of every kind in the region.
    pub async fn list_managed(&self) -> Result<Vec<SnapshotInfo>> {
        let (a, b, c) = tokio::join!(
            self.rds.managed_snapshots(),
            self.ec2.managed_snapshots(),
            self.elasticache.managed_snapshots()
        );
        let mut out = a?;
        out.extend(b?);
        out.extend(c?);
        Ok(out)
    }

    /// Sets one tag on a managed snapshot.
    pub async fn tag(&self, s: &SnapshotInfo, key: &str, value: &str) -> Result<()> {
        refuse_unmanaged(s)?;
        match s.kind {
            ResourceKind::RdsInstance | ResourceKind::AuroraCluster => {
                let tag = aws_sdk_rds::types::Tag::builder()
                    .key(key)
                    .value(value)
                    .build();
                self.rds
                    .client()
                    .add_tags_to_resource()
                    .resource_name(&s.arn)
                    .tags(tag)
                    .send()
                    .await
                    .map_err(|e| aws_error("AddTagsToResource", e))?;
            }
            ResourceKind::EbsVolume => {
                let tag = aws_sdk_ec2::types::Tag::builder()
                    .key(key)
                    .value(value)
                    .build();
                self.ec2
                    .client()
                    .create_tags()
                    .resources(&s.id)
                    .tags(tag)
                    .send()
                    .await
                    .map_err(|e| aws_error("CreateTags", e))?;
            }
            ResourceKind::ElasticacheRedis => {
                let tag = aws_sdk_elasticache::types::Tag::builder()
                    .key(key)
                    .value(value)
                    .build();
                self.elasticache
                    .client()
                    .add_tags_to_resource()
                    .resource_name(&s.arn)
                    .tags(tag)
                    .send()
                    .await
                    .map_err(|e| aws_error("AddTagsToResource", e))?;
            }
        }
        Ok(())
    }

    /// Removes one tag from a managed snapshot.
    pub async fn untag(&self, s: &SnapshotInfo, key: &str) -> Result<()> {
        refuse_unmanaged(s)?;
        match s.kind {
            ResourceKind::RdsInstance | ResourceKind::AuroraCluster => {
                self.rds
                    .client()
                    .remove_tags_from_resource()
                    .resource_name(&s.arn)
                    .tag_keys(key)
                    .send()
                    .await
                    .map_err(|e| aws_error("RemoveTagsFromResource", e))?;
            }
            ResourceKind::EbsVolume => {
                let tag = aws_sdk_ec2::types::Tag::builder().key(key).build();
                self.ec2
                    .client()
                    .delete_tags()
                    .resources(&s.id)
                    .tags(tag)
                    .send()
                    .await
                    .map_err(|e| aws_error("DeleteTags", e))?;
            }
            ResourceKind::ElasticacheRedis => {
                self.elasticache
                    .client()
                    .remove_tags_from_resource()
                    .resource_name(&s.arn)
                    .tag_keys(key)
                    .send()
                    .await
                    .map_err(|e| aws_error("RemoveTagsFromResource", e))?;
            }
        }
        Ok(())
    }

    /// Deletes a managed snapshot. One that is already gone is not an error.
    pub async fn delete(&self, s: &SnapshotInfo) -> Result<()> {
        refuse_unmanaged(s)?;
        self.remove(s).await
    }

    /// Deletes `s`, whatever its tags (a snapshot already gone counts as
    /// deleted): the callers guard it ([`Snapshots::delete`]: Rempart's
    /// only; `vault::delete_stage`: stages only).
    pub(crate) async fn remove(&self, s: &SnapshotInfo) -> Result<()> {
        let res = match s.kind {
            ResourceKind::RdsInstance => self
                .rds
                .client()
                .delete_db_snapshot()
                .db_snapshot_identifier(&s.id)
                .send()
                .await
                .map(|_| ())
                .or_else(|e| {
                    gone(
                        e,
                        &["DBSnapshotNotFound", "DBSnapshotNotFoundFault"],
                        "DeleteDBSnapshot",
                    )
                }),
            ResourceKind::AuroraCluster => self
                .rds
                .client()
                .delete_db_cluster_snapshot()
                .db_cluster_snapshot_identifier(&s.id)
                .send()
                .await
                .map(|_| ())
                .or_else(|e| {
                    gone(
                        e,
                        &["DBClusterSnapshotNotFoundFault"],
                        "DeleteDBClusterSnapshot",
                    )
                }),
            ResourceKind::EbsVolume => self
                .ec2
                .client()
                .delete_snapshot()
                .snapshot_id(&s.id)
                .send()
                .await
                .map(|_| ())
                .or_else(|e| gone(e, &["InvalidSnapshot.NotFound"], "DeleteSnapshot")),
            ResourceKind::ElasticacheRedis => self
                .elasticache
                .client()
                .delete_snapshot()
                .snapshot_name(&s.id)
                .send()
                .await
                .map(|_| ())
                .or_else(|e| gone(e, &["SnapshotNotFoundFault"], "DeleteSnapshot")),
        };
        res
    }
}

/// `Ok` when the error says the snapshot is already gone.
fn gone<E>(
    e: aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
    codes: &[&str],
    operation: &'static str,
) -> Result<()>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
{
    if is_code(&e, codes) {
        Ok(())
    } else {
        Err(aws_error(operation, e))
    }
}
