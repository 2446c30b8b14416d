//! KMS: the pre-flight check on a DR region's key.

use super::{aws_error, is_code};
use crate::error::Result;
use aws_sdk_kms::Client;

/// What KMS says about a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyFacts {
    pub arn: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, …
    pub state: String,
    /// `AWS` for an AWS-managed key (`aws/rds`, `aws/ebs`), `CUSTOMER` otherwise.
    pub manager: String,
}

#[derive(Clone, Debug)]
pub struct Kms {
    client: Client,
}

impl Kms {
    pub fn new(client: Client) -> Self {
        Kms { client }
    }

    /// `DescribeKey` (id, ARN, alias name or alias ARN). `None` when the key
    /// or alias does not exist in the client's region.
    pub async fn describe(&self, key: &str) -> Result<Option<KeyFacts>> {
        match self.client.describe_key().key_id(key).send().await {
            Ok(out) => Ok(out.key_metadata().map(|m| KeyFacts {
                arn: m.arn().unwrap_or_default().to_string(),
                state: m
                    .key_state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                manager: m
                    .key_manager()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            })),
            Err(e) if is_code(&e, &["NotFoundException"]) => Ok(None),
            Err(e) => Err(aws_error("DescribeKey", e)),
        }
    }
}
