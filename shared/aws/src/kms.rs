//! KMS: the pre-flight check on a DR region's key.

use crate::error::Result;
use crate::{aws_error, is_code};
use aws_sdk_kms::Client;
use rempart_core::replication::KeyFacts;

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

    /// The key policy (`GetKeyPolicy`, policy `default`, the only one KMS has).
    pub async fn policy(&self, key: &str) -> Result<String> {
        let out = self
            .client
            .get_key_policy()
            .key_id(key)
            .policy_name("default")
            .send()
            .await
            .map_err(|e| aws_error("GetKeyPolicy", e))?;
        Ok(out.policy().unwrap_or_default().to_string())
    }
}
