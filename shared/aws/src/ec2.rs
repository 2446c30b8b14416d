//! EBS volumes and snapshots.

use crate::error::Result;
use crate::not_found;
use crate::{aws_error, is_code, to_chrono, Created};
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use aws_sdk_ec2::Client;
use rempart_core::kind::ResourceKind;
use rempart_core::model::{Resource, SnapshotInfo};
use rempart_core::restore::RestoredVolume;
use rempart_core::tags::*;
use std::collections::BTreeMap;

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

fn tag_spec(kind: ResourceType, tags: &[(String, String)]) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

#[derive(Clone, Debug)]
pub struct Ec2 {
    client: Client,
    region: String,
    account: Option<String>,
}

impl Ec2 {
    /// The underlying client (for the snapshot facade in this module's parent).
    pub(crate) fn client(&self) -> &aws_sdk_ec2::Client {
        &self.client
    }

    pub fn new(client: Client, region: impl Into<String>) -> Self {
        Ec2 {
            client,
            region: region.into(),
            account: None,
        }
    }

    fn volume(&self, v: &aws_sdk_ec2::types::Volume) -> Option<Resource> {
        let id = v.volume_id()?.to_string();
        let tags = tag_map(v.tags());
        Some(Resource {
            kind: ResourceKind::EbsVolume,
            arn: format!(
                "arn:{}:ec2:{}:{}:volume/{id}",
                rempart_core::naming::partition_of(&self.region),
                self.region,
                self.account.as_deref().unwrap_or_default()
            ),
            id,
            region: self.region.clone(),
            tags,
            aurora_cluster: None,
            redis: None,
            backups: None,
            created: to_chrono(v.create_time()),
        })
    }

    /// Every volume, tagged or not: one `DescribeVolumes` call per page of
    /// 500.
    pub async fn volumes_all(&self) -> Result<Vec<Resource>> {
        self.volumes(None, None).await
    }

    /// Volumes carrying the policy tag (filtered server-side).
    pub async fn tagged_volumes(&self) -> Result<Vec<Resource>> {
        self.volumes(
            Some(Filter::builder().name("tag-key").values(TAG_POLICY).build()),
            None,
        )
        .await
    }

    /// One volume by id, whatever its tags.
    pub async fn volume_by_id(&self, id: &str) -> Result<Resource> {
        self.volumes(None, Some(id))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| not_found("DescribeVolumes", "InvalidVolume.NotFound", id))
    }

    async fn volumes(&self, filter: Option<Filter>, id: Option<&str>) -> Result<Vec<Resource>> {
        Ok(self
            .describe_volumes(filter, id)
            .await?
            .iter()
            .filter_map(|v| self.volume(v))
            .collect())
    }

    /// `DescribeVolumes`, every page (one volume when `id` is given).
    async fn describe_volumes(
        &self,
        filter: Option<Filter>,
        id: Option<&str>,
    ) -> Result<Vec<aws_sdk_ec2::types::Volume>> {
        let mut out = Vec::new();
        let mut req = self
            .client
            .describe_volumes()
            .set_filters(filter.map(|f| vec![f]));
        req = match id {
            Some(id) => req.volume_ids(id),
            None => req.max_results(500),
        };
        let mut pages = req.into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("DescribeVolumes", e))?;
            out.extend(page.volumes().iter().cloned());
        }
        Ok(out)
    }

    /// The Availability Zone of a volume (a restore test restores its
    /// snapshot there, where the volume's instance would attach it).
    pub async fn volume_zone(&self, id: &str) -> Result<String> {
        self.describe_volumes(None, Some(id))
            .await?
            .first()
            .and_then(|v| v.availability_zone())
            .map(str::to_string)
            .ok_or_else(|| not_found("DescribeVolumes", "InvalidVolume.NotFound", id))
    }

    /// The region's first available zone (in name order): where a drill
    /// restores a volume whose own zone is in another region.
    pub async fn first_zone(&self) -> Result<String> {
        let out = self
            .client
            .describe_availability_zones()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("state")
                    .values("available")
                    .build(),
            )
            .send()
            .await
            .map_err(|e| aws_error("DescribeAvailabilityZones", e))?;
        out.availability_zones()
            .iter()
            .filter_map(|z| z.zone_name())
            .min()
            .map(str::to_string)
            .ok_or_else(|| {
                crate::error::Error::Config(format!(
                    "no available zone in {} to restore a volume in",
                    self.region
                ))
            })
    }

    /// A restore test's volume from an EBS snapshot, in `zone`, tagged as it
    /// is created (`CreateVolume` with a tag specification; the restore
    /// tester may create only volumes so tagged). `token` is the
    /// idempotency token: a second delivery of the same event gets the same
    /// volume back.
    pub async fn restore_volume(
        &self,
        snapshot: &str,
        zone: &str,
        token: &str,
        tags: &[(String, String)],
    ) -> Result<String> {
        let out = self
            .client
            .create_volume()
            .snapshot_id(snapshot)
            .availability_zone(zone)
            .client_token(token)
            .tag_specifications(tag_spec(ResourceType::Volume, tags))
            .send()
            .await
            .map_err(|e| aws_error("CreateVolume", e))?;
        out.volume_id()
            .map(str::to_string)
            .ok_or_else(|| not_found("CreateVolume", "NoVolumeId", snapshot))
    }

    /// The volumes carrying `tag` (the restore tests' throw-away volumes).
    pub async fn restored_volumes(&self, tag: &str) -> Result<Vec<RestoredVolume>> {
        let filter = Filter::builder().name("tag-key").values(tag).build();
        Ok(self
            .describe_volumes(Some(filter), None)
            .await?
            .iter()
            .filter_map(|v| {
                Some(RestoredVolume {
                    id: v.volume_id()?.to_string(),
                    state: v
                        .state()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    size_gib: v.size().unwrap_or_default(),
                    encrypted: v.encrypted().unwrap_or_default(),
                    kms_key: v.kms_key_id().map(str::to_string),
                    zone: v.availability_zone().unwrap_or_default().to_string(),
                    tags: tag_map(v.tags()),
                })
            })
            .collect())
    }

    /// Deletes a restored volume: only one that carries `tag` (the role may
    /// delete nothing else either). A volume already gone is deleted.
    pub async fn delete_restored_volume(&self, v: &RestoredVolume, tag: &str) -> Result<()> {
        if !v.tags.contains_key(tag) {
            return Err(crate::error::Error::Config(format!(
                "refusing to delete volume {}: it does not carry {tag}",
                v.id
            )));
        }
        match self.client.delete_volume().volume_id(&v.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["InvalidVolume.NotFound"]) => Ok(()),
            Err(e) => Err(aws_error("DeleteVolume", e)),
        }
    }

    /// The id of a Rempart snapshot with this key, if one exists (not one
    /// that failed).
    pub async fn snapshot_by_key(&self, key: &str) -> Result<Option<String>> {
        let out = self
            .client
            .describe_snapshots()
            .owner_ids("self")
            .filters(
                Filter::builder()
                    .name(format!("tag:{TAG_KEY}"))
                    .values(key)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| aws_error("DescribeSnapshots", e))?;
        Ok(out
            .snapshots()
            .iter()
            .filter(|s| s.state().map(|st| st.as_str()) != Some("error"))
            .find_map(|s| s.snapshot_id().map(str::to_string)))
    }

    /// `CreateSnapshot` with tags. EBS names its snapshots itself; the caller
    /// must have checked [`Ec2::snapshot_by_key`] and claimed the key.
    pub async fn snapshot_volume(
        &self,
        volume_id: &str,
        description: &str,
        tags: &[(String, String)],
    ) -> Result<Created> {
        let spec = tag_spec(ResourceType::Snapshot, tags);
        let out = self
            .client
            .create_snapshot()
            .volume_id(volume_id)
            .description(description)
            .tag_specifications(spec)
            .send()
            .await
            .map_err(|e| aws_error("CreateSnapshot", e))?;
        Ok(Created::New(
            out.snapshot_id().unwrap_or_default().to_string(),
        ))
    }

    fn snapshot_info(&self, s: &aws_sdk_ec2::types::Snapshot) -> SnapshotInfo {
        SnapshotInfo {
            kind: ResourceKind::EbsVolume,
            id: s.snapshot_id().unwrap_or_default().to_string(),
            arn: format!(
                "arn:{}:ec2:{}:{}:snapshot/{}",
                rempart_core::naming::partition_of(&self.region),
                self.region,
                s.owner_id().unwrap_or_default(),
                s.snapshot_id().unwrap_or_default()
            ),
            region: self.region.clone(),
            source: s.volume_id().unwrap_or_default().to_string(),
            status: s
                .state()
                .map(|st| st.as_str().to_string())
                .unwrap_or_default(),
            created: to_chrono(s.start_time()),
            tags: tag_map(s.tags()),
            encrypted: s.encrypted().unwrap_or(false),
            kms_key: s.kms_key_id().map(str::to_string),
        }
    }

    /// EBS snapshots owned by this account and tagged `rempart:managed=true`
    /// (filtered server-side; tags come with the describe call).
    pub async fn managed_snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .describe_snapshots()
            .owner_ids("self")
            .filters(
                Filter::builder()
                    .name(format!("tag:{TAG_MANAGED}"))
                    .values("true")
                    .build(),
            )
            .max_results(1000)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("DescribeSnapshots", e))?;
            out.extend(page.snapshots().iter().map(|s| self.snapshot_info(s)));
        }
        Ok(out)
    }

    /// EBS snapshots owned by this account that carry `tag` (any value).
    pub async fn snapshots_tagged(&self, tag: &str) -> Result<Vec<SnapshotInfo>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .describe_snapshots()
            .owner_ids("self")
            .filters(Filter::builder().name("tag-key").values(tag).build())
            .max_results(1000)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("DescribeSnapshots", e))?;
            out.extend(page.snapshots().iter().map(|s| self.snapshot_info(s)));
        }
        Ok(out)
    }

    /// One snapshot by id, whatever its tags; `None` if there is none.
    pub async fn snapshot_by_id(&self, id: &str) -> Result<Option<SnapshotInfo>> {
        let res = self
            .client
            .describe_snapshots()
            .owner_ids("self")
            .snapshot_ids(id)
            .send()
            .await;
        match res {
            Ok(out) => Ok(out.snapshots().first().map(|s| self.snapshot_info(s))),
            Err(e) if is_code(&e, &["InvalidSnapshot.NotFound"]) => Ok(None),
            Err(e) => Err(aws_error("DescribeSnapshots", e)),
        }
    }

    /// `CopySnapshot` from `source_region` into this client's region,
    /// encrypted with `kms_key`, tagged with `tags`. Returns the copy's id.
    /// EBS names copies itself: the caller must have checked that no copy
    /// exists and hold the claim on this one.
    pub async fn copy_snapshot(
        &self,
        source_region: &str,
        source_id: &str,
        kms_key: &str,
        description: &str,
        tags: &[(String, String)],
    ) -> Result<String> {
        let out = self
            .client
            .copy_snapshot()
            .source_region(source_region)
            .source_snapshot_id(source_id)
            .encrypted(true)
            .kms_key_id(kms_key)
            .description(description)
            .tag_specifications(tag_spec(ResourceType::Snapshot, tags))
            .send()
            .await
            .map_err(|e| aws_error("CopySnapshot", e))?;
        Ok(out.snapshot_id().unwrap_or_default().to_string())
    }

    /// Sets the account id used in volume ARNs.
    pub fn with_account(mut self, account: Option<String>) -> Self {
        self.account = account;
        self
    }
}
