//! S3 backup buckets: versioning and lifecycle configuration only. No call
//! here reads, writes or deletes an object.

use crate::error::Result;
use crate::{aws_error, is_code};
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketVersioningStatus,
    ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
    NoncurrentVersionExpiration, Transition, TransitionStorageClass, VersioningConfiguration,
};
use aws_sdk_s3::Client;
use rempart_core::buckets::{BucketState, Lifecycle, RULE_ID};

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
        })
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
