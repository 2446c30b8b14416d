//! S3 backup buckets: versioning, lifecycle and replication configuration
//! only. No call here reads, writes or deletes an object.

use crate::error::Result;
use crate::{aws_error, is_code};
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketVersioningStatus,
    DeleteMarkerReplication, DeleteMarkerReplicationStatus, Destination, EncryptionConfiguration,
    ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, Metrics,
    MetricsStatus, NoncurrentVersionExpiration, ReplicationConfiguration, ReplicationRuleFilter,
    ReplicationRuleStatus, SourceSelectionCriteria, SseKmsEncryptedObjects,
    SseKmsEncryptedObjectsStatus, StorageClass, Transition, TransitionStorageClass,
    VersioningConfiguration,
};
use aws_sdk_s3::Client;
use rempart_core::buckets::{BucketState, Lifecycle, ReplicationConfig, ReplicationRule, RULE_ID};

#[derive(Clone, Debug)]
pub struct Buckets {
    client: Client,
}

/// Reads a rule as a [`Lifecycle`] if it is an enabled whole-bucket rule
/// made only of what Rempart writes.
fn read_rule(r: &LifecycleRule) -> Option<Lifecycle> {
    let whole_bucket = r.filter().is_none_or(|f| {
        f.prefix().is_none_or(str::is_empty)
            && f.tag().is_none()
            && f.and().is_none()
            && f.object_size_greater_than().is_none()
            && f.object_size_less_than().is_none()
    });
    // The rule-level prefix is deprecated in favour of the filter, but S3
    // still returns it for rules written the old way.
    #[allow(deprecated)]
    let whole_bucket = whole_bucket && r.prefix().is_none_or(str::is_empty);
    if !whole_bucket || r.status() != &ExpirationStatus::Enabled || r.transitions().len() > 1 {
        return None;
    }
    let t = r.transitions().first();
    Some(Lifecycle {
        transition_days: t.and_then(|t| t.days()),
        storage_class: t
            .and_then(|t| t.storage_class())
            .map(|c| c.as_str().to_string()),
        expiration_days: r.expiration().and_then(|e| e.days()),
        noncurrent_expiration_days: r
            .noncurrent_version_expiration()
            .and_then(|n| n.noncurrent_days()),
        abort_incomplete_multipart_days: r
            .abort_incomplete_multipart_upload()
            .and_then(|a| a.days_after_initiation()),
    })
}

fn write_rule(l: &Lifecycle) -> Result<LifecycleRule> {
    let l = l.normalized();
    let mut b = LifecycleRule::builder()
        .id(RULE_ID)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build());
    if let Some(days) = l.transition_days {
        let class = TransitionStorageClass::from(l.storage_class.as_deref().unwrap_or("GLACIER"));
        b = b.transitions(
            Transition::builder()
                .days(days)
                .storage_class(class)
                .build(),
        );
    }
    if let Some(days) = l.expiration_days {
        b = b.expiration(LifecycleExpiration::builder().days(days).build());
    }
    if let Some(days) = l.noncurrent_expiration_days {
        b = b.noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(days)
                .build(),
        );
    }
    if let Some(days) = l.abort_incomplete_multipart_days {
        b = b.abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(days)
                .build(),
        );
    }
    b.build()
        .map_err(|e| crate::error::Error::Config(format!("lifecycle rule: {e}")))
}

/// Reads a replication rule as Rempart compares it.
fn read_replication_rule(r: &aws_sdk_s3::types::ReplicationRule) -> ReplicationRule {
    let whole_bucket = r.filter().is_none_or(|f| {
        f.prefix().is_none_or(str::is_empty) && f.tag().is_none() && f.and().is_none()
    });
    #[allow(deprecated)]
    let whole_bucket = whole_bucket && r.prefix().is_none_or(str::is_empty);
    let d = r.destination();
    ReplicationRule {
        id: r.id().unwrap_or_default().to_string(),
        enabled: r.status() == &ReplicationRuleStatus::Enabled,
        whole_bucket,
        destination: d.map(|d| d.bucket().to_string()).unwrap_or_default(),
        replica_kms_key: d
            .and_then(|d| d.encryption_configuration())
            .and_then(|e| e.replica_kms_key_id())
            .map(str::to_string),
        kms_objects: r
            .source_selection_criteria()
            .and_then(|c| c.sse_kms_encrypted_objects())
            .is_some_and(|o| o.status() == &SseKmsEncryptedObjectsStatus::Enabled),
        metrics: d
            .and_then(|d| d.metrics())
            .is_some_and(|m| m.status() == &MetricsStatus::Enabled),
        delete_markers: r
            .delete_marker_replication()
            .and_then(|m| m.status())
            .is_some_and(|s| s == &DeleteMarkerReplicationStatus::Enabled),
        storage_class: d
            .and_then(|d| d.storage_class())
            .map(|c| c.as_str().to_string()),
    }
}

fn write_replication_rule(r: &ReplicationRule) -> Result<aws_sdk_s3::types::ReplicationRule> {
    let bad = |e: aws_sdk_s3::error::BuildError| {
        crate::error::Error::Config(format!("replication rule: {e}"))
    };
    let status = |on: bool| {
        if on {
            ReplicationRuleStatus::Enabled
        } else {
            ReplicationRuleStatus::Disabled
        }
    };
    let mut dest = Destination::builder().bucket(&r.destination);
    if let Some(key) = &r.replica_kms_key {
        dest = dest.encryption_configuration(
            EncryptionConfiguration::builder()
                .replica_kms_key_id(key)
                .build(),
        );
    }
    if r.metrics {
        dest = dest.metrics(
            Metrics::builder()
                .status(MetricsStatus::Enabled)
                .build()
                .map_err(bad)?,
        );
    }
    if let Some(class) = &r.storage_class {
        dest = dest.storage_class(StorageClass::from(class.as_str()));
    }
    aws_sdk_s3::types::ReplicationRule::builder()
        .id(&r.id)
        .priority(1)
        .status(status(r.enabled))
        .filter(ReplicationRuleFilter::builder().prefix("").build())
        .delete_marker_replication(
            DeleteMarkerReplication::builder()
                .status(if r.delete_markers {
                    DeleteMarkerReplicationStatus::Enabled
                } else {
                    DeleteMarkerReplicationStatus::Disabled
                })
                .build(),
        )
        .source_selection_criteria(
            SourceSelectionCriteria::builder()
                .sse_kms_encrypted_objects(
                    SseKmsEncryptedObjects::builder()
                        .status(if r.kms_objects {
                            SseKmsEncryptedObjectsStatus::Enabled
                        } else {
                            SseKmsEncryptedObjectsStatus::Disabled
                        })
                        .build()
                        .map_err(bad)?,
                )
                .build(),
        )
        .destination(dest.build().map_err(bad)?)
        .build()
        .map_err(bad)
}

impl Buckets {
    pub fn new(client: Client) -> Self {
        Buckets { client }
    }

    /// Versioning status and lifecycle rules of a bucket.
    pub async fn state(&self, bucket: &str) -> Result<BucketState> {
        let v = self
            .client
            .get_bucket_versioning()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| aws_error("GetBucketVersioning", e))?;
        let rules = match self
            .client
            .get_bucket_lifecycle_configuration()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(out) => out
                .rules()
                .iter()
                .map(|r| (r.id().unwrap_or_default().to_string(), read_rule(r)))
                .collect(),
            Err(e) if is_code(&e, &["NoSuchLifecycleConfiguration"]) => Vec::new(),
            Err(e) => return Err(aws_error("GetBucketLifecycleConfiguration", e)),
        };
        Ok(BucketState {
            versioning: v.status().map(|s| s.as_str().to_string()),
            rules,
            replication: None,
        })
    }

    /// The bucket's replication configuration (`None`: it has none).
    pub async fn replication(&self, bucket: &str) -> Result<Option<ReplicationConfig>> {
        match self
            .client
            .get_bucket_replication()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(out) => Ok(out.replication_configuration().map(|c| ReplicationConfig {
                role: c.role().to_string(),
                rules: c.rules().iter().map(read_replication_rule).collect(),
            })),
            Err(e) if is_code(&e, &["ReplicationConfigurationNotFoundError"]) => Ok(None),
            Err(e) => Err(aws_error("GetBucketReplication", e)),
        }
    }

    /// Replaces the bucket's replication configuration with Rempart's
    /// rule, replicated by `role` (S3 checks that the caller may pass it).
    pub async fn put_replication(
        &self,
        bucket: &str,
        role: &str,
        rule: &ReplicationRule,
    ) -> Result<()> {
        let cfg = ReplicationConfiguration::builder()
            .role(role)
            .rules(write_replication_rule(rule)?)
            .build()
            .map_err(|e| crate::error::Error::Config(format!("replication configuration: {e}")))?;
        self.client
            .put_bucket_replication()
            .bucket(bucket)
            .replication_configuration(cfg)
            .send()
            .await
            .map_err(|e| aws_error("PutBucketReplication", e))?;
        Ok(())
    }

    pub async fn enable_versioning(&self, bucket: &str) -> Result<()> {
        self.client
            .put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| aws_error("PutBucketVersioning", e))?;
        Ok(())
    }

    /// Replaces the bucket's lifecycle configuration with Rempart's rule.
    pub async fn put_lifecycle(&self, bucket: &str, l: &Lifecycle) -> Result<()> {
        let cfg = BucketLifecycleConfiguration::builder()
            .rules(write_rule(l)?)
            .build()
            .map_err(|e| crate::error::Error::Config(format!("lifecycle configuration: {e}")))?;
        self.client
            .put_bucket_lifecycle_configuration()
            .bucket(bucket)
            .lifecycle_configuration(cfg)
            .send()
            .await
            .map_err(|e| aws_error("PutBucketLifecycleConfiguration", e))?;
        Ok(())
    }
}
