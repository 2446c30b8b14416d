//! Redis exports in S3: the `.rdb` objects that ElastiCache writes into the
//! primary region's backup bucket, copied to the DR region's bucket. Objects
//! are only read and copied here; nothing is ever deleted.

use crate::aws_error;
use crate::error::{Error, Result};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, ObjectLockMode,
    ServerSideEncryption, TaggingDirective,
};
use aws_sdk_s3::Client;

/// The largest object a single `CopyObject` copies (5 GiB).
pub const SINGLE_COPY_LIMIT: i64 = 5 * 1024 * 1024 * 1024;

/// The part size of an upload streamed through Rempart ([`Objects::upload_from`]):
/// small enough that a few uploads at once fit the function's memory, large
/// enough for S3's 10,000 parts to cover 160 GiB.
pub const UPLOAD_PART: usize = 16 * 1024 * 1024;

/// One exported object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    pub key: String,
    pub size: i64,
    /// When S3 received it.
    pub modified: Option<chrono::DateTime<chrono::Utc>>,
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
                    modified: crate::to_chrono(o.last_modified()),
                })
            }));
        }
        Ok(out)
    }

    /// An object's tags.
    pub async fn tags(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<std::collections::BTreeMap<String, String>> {
        let out = self
            .client
            .get_object_tagging()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| aws_error("GetObjectTagging", e))?;
        Ok(out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect())
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

impl Objects {
    /// The Object Lock default retention of `bucket` (`None`: the bucket
    /// has no Object Lock configuration).
    pub async fn lock(&self, bucket: &str) -> Result<Option<rempart_core::vault::BucketLock>> {
        match self
            .client
            .get_object_lock_configuration()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(out) => {
                let rule = out
                    .object_lock_configuration()
                    .and_then(|c| c.rule())
                    .and_then(|r| r.default_retention());
                Ok(Some(rempart_core::vault::BucketLock {
                    mode: rule
                        .and_then(|d| d.mode())
                        .map(|m| m.as_str().to_string())
                        .unwrap_or_default(),
                    days: rule.and_then(|d| d.days()),
                    years: rule.and_then(|d| d.years()),
                }))
            }
            Err(e) => {
                let e = aws_error("GetObjectLockConfiguration", e);
                match &e {
                    Error::Aws { code, .. } if code == "ObjectLockConfigurationNotFoundError" => {
                        Ok(None)
                    }
                    _ => Err(e),
                }
            }
        }
    }

    /// Copies `object` of `src_bucket`, read with `from` (a client of
    /// another account), into `dst_bucket` with this client under the same
    /// key, encrypted with `kms_key` (SSE-KMS) and tagged `tagging`. The
    /// bytes go through this process, `part` bytes at a time (a multipart
    /// upload when the object is larger), so that neither account needs a
    /// right on the other's bucket or key. A bucket's Object Lock default
    /// retention applies to what is written. A failed multipart upload is
    /// aborted.
    ///
    /// Each file is locked in compliance mode until `retain_until`.
    #[allow(clippy::too_many_arguments)]
    pub async fn upload_from(
        &self,
        from: &Objects,
        src_bucket: &str,
        object: &Object,
        (dst_bucket, kms_key): (&str, &str),
        tagging: &str,
        retain_until: chrono::DateTime<chrono::Utc>,
        part: usize,
    ) -> Result<()> {
        let until = aws_sdk_s3::primitives::DateTime::from_secs(retain_until.timestamp());
        let part = part.max(5 * 1024 * 1024);
        let got = from
            .client
            .get_object()
            .bucket(src_bucket)
            .key(&object.key)
            .send()
            .await
            .map_err(|e| aws_error("GetObject", e))?;
        let mut body = got.body;
        let read = |e: aws_sdk_s3::primitives::ByteStreamError| Error::Aws {
            operation: "GetObject",
            code: "ReadError".into(),
            message: format!("reading s3://{src_bucket}/{}: {e}", object.key),
            retryable: true,
        };
        let mut buf = bytes::BytesMut::new();
        let mut ended = false;
        while buf.len() <= part {
            match body.try_next().await.map_err(read)? {
                Some(b) => buf.extend_from_slice(&b),
                None => {
                    ended = true;
                    break;
                }
            }
        }
        if ended && buf.len() <= part {
            self.client
                .put_object()
                .bucket(dst_bucket)
                .key(&object.key)
                .body(ByteStream::from(buf.freeze()))
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(kms_key)
                .tagging(tagging)
                .object_lock_mode(ObjectLockMode::Compliance)
                .object_lock_retain_until_date(until)
                .send()
                .await
                .map_err(|e| aws_error("PutObject", e))?;
            return Ok(());
        }
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(dst_bucket)
            .key(&object.key)
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(kms_key)
            .tagging(tagging)
            .object_lock_mode(ObjectLockMode::Compliance)
            .object_lock_retain_until_date(until)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .send()
            .await
            .map_err(|e| aws_error("CreateMultipartUpload", e))?;
        let id = upload.upload_id().unwrap_or_default().to_string();
        let parts = async {
            let mut parts = Vec::new();
            loop {
                while buf.len() >= part || (ended && !buf.is_empty()) {
                    let chunk = buf.split_to(part.min(buf.len())).freeze();
                    let n = parts.len() as i32 + 1;
                    let out = self
                        .client
                        .upload_part()
                        .bucket(dst_bucket)
                        .key(&object.key)
                        .upload_id(&id)
                        .part_number(n)
                        .checksum_algorithm(ChecksumAlgorithm::Crc32)
                        .body(ByteStream::from(chunk))
                        .send()
                        .await
                        .map_err(|e| aws_error("UploadPart", e))?;
                    parts.push(
                        CompletedPart::builder()
                            .part_number(n)
                            .set_e_tag(out.e_tag().map(str::to_string))
                            .set_checksum_crc32(out.checksum_crc32().map(str::to_string))
                            .build(),
                    );
                }
                if ended {
                    return Ok(parts);
                }
                match body.try_next().await.map_err(read)? {
                    Some(b) => buf.extend_from_slice(&b),
                    None => ended = true,
                }
            }
        }
        .await;
        let done = match parts {
            Ok(parts) => self
                .client
                .complete_multipart_upload()
                .bucket(dst_bucket)
                .key(&object.key)
                .upload_id(&id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_error("CompleteMultipartUpload", e)),
            Err(e) => Err(e),
        };
        if done.is_err() {
            // Best effort: an upload left open costs storage, nothing else.
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(dst_bucket)
                .key(&object.key)
                .upload_id(&id)
                .send()
                .await;
        }
        done
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
