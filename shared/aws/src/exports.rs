//! Redis exports in S3: the `.rdb` objects that ElastiCache writes into the
//! primary region's backup bucket, copied to the DR region's bucket. Objects
//! are only read and copied here; nothing is ever deleted.

use crate::aws_error;
use crate::error::{Error, Result};
use aws_sdk_s3::types::{ServerSideEncryption, TaggingDirective};
use aws_sdk_s3::Client;

/// The largest object a single `CopyObject` copies (5 GiB).
pub const SINGLE_COPY_LIMIT: i64 = 5 * 1024 * 1024 * 1024;

/// One exported object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    pub key: String,
    pub size: i64,
}

/// S3 objects of one region.
#[derive(Clone, Debug)]
pub struct Objects {
    client: Client,
}

impl Objects {
    pub fn new(client: Client) -> Self {
        Objects { client }
    }

    /// Objects under `prefix` in `bucket`.
    pub async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<Object>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("ListObjectsV2", e))?;
            out.extend(page.contents().iter().filter_map(|o| {
                Some(Object {
                    key: o.key()?.to_string(),
                    size: o.size().unwrap_or(0),
                })
            }));
        }
        Ok(out)
    }

    /// Copies `src_bucket/key` (any region) into `dst_bucket` of this
    /// client's region under the same key, encrypted with `kms_key`
    /// (SSE-KMS), tagged `tagging` (URL-encoded `k=v&k=v`).
    pub async fn copy_in(
        &self,
        src_bucket: &str,
        object: &Object,
        dst_bucket: &str,
        kms_key: &str,
        tagging: &str,
    ) -> Result<()> {
        if object.size > SINGLE_COPY_LIMIT {
            return Err(Error::Aws {
                operation: "CopyObject",
                code: "EntityTooLarge".into(),
                message: format!(
                    "s3://{src_bucket}/{} is {} bytes: copies above 5 GiB need a multipart copy, which Rempart does not do yet; copy it by hand with `aws s3 cp` and tag the snapshot",
                    object.key, object.size
                ),
                retryable: false,
            });
        }
        self.client
            .copy_object()
            .copy_source(format!("{src_bucket}/{}", encode_key(&object.key)))
            .bucket(dst_bucket)
            .key(&object.key)
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(kms_key)
            .tagging_directive(TaggingDirective::Replace)
            .tagging(tagging)
            .send()
            .await
            .map_err(|e| aws_error("CopyObject", e))?;
        Ok(())
    }
}

/// Percent-encodes an object key for `x-amz-copy-source` (keeps `/`).
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `k=v&k=v` with both sides percent-encoded, for the `x-amz-tagging` header.
pub fn tagging(tags: &[(&str, &str)]) -> String {
    let enc = |s: &str| encode_key(s).replace('/', "%2F");
    tags.iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_tags_are_percent_encoded() {
        assert_eq!(encode_key("a b/c+d.rdb"), "a%20b/c%2Bd.rdb");
        assert_eq!(
            tagging(&[
                ("rempart:managed", "true"),
                ("rempart:copy-of", "arn:aws:x/y")
            ]),
            "rempart%3Amanaged=true&rempart%3Acopy-of=arn%3Aaws%3Ax%2Fy"
        );
    }
}
