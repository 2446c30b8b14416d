################################################################################
# Backup buckets (seed 003 §5.3): created in the primary region with
# versioning, SSE-KMS under the Rempart key, every public access blocked,
# ACLs disabled (BucketOwnerEnforced), a TLS-only bucket policy, and the
# policy document's lifecycle written exactly as the retention-enforcer
# writes it (one whole-bucket rule `rempart-backup-policy`), so that its
# daily run finds no drift. One of them may receive the ElastiCache exports
# (redis_export_bucket); the DR bucket (dr_backup_bucket, DR region) receives
# the snapshot-replicator's copies of those exports, under the DR key.
################################################################################

locals {
  # The whole-bucket rule of the retention-enforcer (shared/src/aws/s3.rs):
  # a transition (GLACIER unless storage_class says otherwise), expiration,
  # noncurrent expiration, abort of incomplete uploads, each only when set.
  # A bucket with no lifecycle setting gets no lifecycle configuration (the
  # enforcer does not check its lifecycle either).
  backup_lifecycles = {
    for name, l in var.backup_buckets : name => l
    if anytrue([for v in [l.transition_days, l.expiration_days, l.noncurrent_expiration_days, l.abort_incomplete_multipart_days] : v != null])
  }

  dr_backup_buckets = var.dr_backup_bucket == null ? {} : { (var.dr_backup_bucket) = var.dr_backup_bucket_lifecycle }
  dr_backup_lifecycles = {
    for name, l in local.dr_backup_buckets : name => l
    if anytrue([for v in [l.transition_days, l.expiration_days, l.noncurrent_expiration_days, l.abort_incomplete_multipart_days] : v != null])
  }

  # ElastiCache's export service principal of the primary region.
  elasticache_export_principal = "${local.region}.elasticache-snapshot.amazonaws.com"
}

################################################################################
# Primary region
################################################################################

resource "aws_s3_bucket" "backup" {
  for_each = var.backup_buckets

  #checkov:skip=CKV_AWS_18:Server access logs would need a log bucket of their own per region; the backup buckets' API calls are in CloudTrail, and Rempart never reads or deletes their objects outside the replicator's exports.
  #checkov:skip=CKV_AWS_144:Cross-region replication is not wanted here: the Redis exports reach the DR region through the snapshot-replicator's re-encrypting copies (dr_backup_bucket); the other buckets' DR is out of this module's scope (seed 003 §5.3 asks for versioning and lifecycle).
  #checkov:skip=CKV2_AWS_62:No consumer of S3 event notifications: the replicator follows its exports by polling in its sweep.
  #checkov:skip=CKV_AWS_21:Versioning is aws_s3_bucket_versioning.backup, for_each over these buckets; checkov 3.3.30's graph links it to one for_each instance only and reports the others.
  #checkov:skip=CKV_AWS_145:SSE-KMS is aws_s3_bucket_server_side_encryption_configuration.backup, for_each over these buckets (same checkov for_each linking limit as CKV_AWS_21).
  #checkov:skip=CKV2_AWS_6:The public access block is aws_s3_bucket_public_access_block.backup, for_each over these buckets (same checkov for_each linking limit as CKV_AWS_21).
  #checkov:skip=CKV2_AWS_61:The lifecycle is aws_s3_bucket_lifecycle_configuration.backup for every bucket with lifecycle settings (same checkov for_each linking limit); a bucket whose policy sets none gets none, as the retention-enforcer wants.
  bucket = each.key

  tags = local.tags
}

resource "aws_s3_bucket_versioning" "backup" {
  for_each = aws_s3_bucket.backup

  bucket = each.value.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "backup" {
  for_each = aws_s3_bucket.backup

  bucket = each.value.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "backup" {
  for_each = aws_s3_bucket.backup

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# ACLs disabled: ElastiCache's export is granted by the bucket policy
# (service principal), which works with BucketOwnerEnforced; the older
# canonical-ID ACL grants would not.
resource "aws_s3_bucket_ownership_controls" "backup" {
  for_each = aws_s3_bucket.backup

  bucket = each.value.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "backup" {
  for_each = local.backup_lifecycles

  #checkov:skip=CKV_AWS_300:The rule is the policy document's [buckets.lifecycle], written as the retention-enforcer writes it; a bucket whose policy sets no abort_incomplete_multipart_days gets none, or the enforcer would see drift and rewrite it.
  bucket = aws_s3_bucket.backup[each.key].id

  rule {
    id     = "rempart-backup-policy"
    status = "Enabled"

    filter {
      prefix = ""
    }

    dynamic "transition" {
      for_each = each.value.transition_days == null ? [] : [1]
      content {
        days          = each.value.transition_days
        storage_class = coalesce(each.value.storage_class, "GLACIER")
      }
    }

    dynamic "expiration" {
      for_each = each.value.expiration_days == null ? [] : [1]
      content {
        days = each.value.expiration_days
      }
    }

    dynamic "noncurrent_version_expiration" {
      for_each = each.value.noncurrent_expiration_days == null ? [] : [1]
      content {
        noncurrent_days = each.value.noncurrent_expiration_days
      }
    }

    dynamic "abort_incomplete_multipart_upload" {
      for_each = each.value.abort_incomplete_multipart_days == null ? [] : [1]
      content {
        days_after_initiation = each.value.abort_incomplete_multipart_days
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.backup]

  # After creation the retention-enforcer owns the rule: it rewrites it from
  # the policy document's [buckets.lifecycle] whenever they differ. Terraform
  # creates it and then leaves it alone, so the two never fight; change the
  # lifecycle in the policy document.
  lifecycle {
    ignore_changes = [rule]
  }
}

data "aws_iam_policy_document" "backup_bucket" {
  for_each = aws_s3_bucket.backup

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value.arn, "${each.value.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # ElastiCache writes the exported .rdb files (CopySnapshot with
  # TargetBucket). ElastiCache itself refuses a bucket the caller's account
  # does not own, so the regional service principal cannot be used from
  # another account to write here.
  dynamic "statement" {
    for_each = each.key == var.redis_export_bucket ? [1] : []

    content {
      sid = "ElastiCacheExports"
      actions = [
        "s3:PutObject",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:GetBucketAcl",
        "s3:ListMultipartUploadParts",
        "s3:ListBucketMultipartUploads",
      ]
      resources = [each.value.arn, "${each.value.arn}/*"]

      principals {
        type        = "Service"
        identifiers = [local.elasticache_export_principal]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "backup" {
  for_each = aws_s3_bucket.backup

  bucket = each.value.id
  policy = data.aws_iam_policy_document.backup_bucket[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.backup]
}

################################################################################
# DR region: the Redis exports' copies
################################################################################

resource "aws_s3_bucket" "dr_backup" {
  provider = aws.dr
  for_each = local.dr_backup_buckets

  #checkov:skip=CKV_AWS_18:Server access logs would need a log bucket of their own in the DR region; the bucket's API calls are in CloudTrail.
  #checkov:skip=CKV_AWS_144:This bucket is itself the DR copy (the snapshot-replicator writes it, re-encrypted with the DR key); replicating it back would defeat its purpose.
  #checkov:skip=CKV2_AWS_62:No consumer of S3 event notifications: the replicator records each copy in the registry.
  bucket = each.key

  tags = local.tags
}

resource "aws_s3_bucket_versioning" "dr_backup" {
  provider = aws.dr
  for_each = aws_s3_bucket.dr_backup

  bucket = each.value.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "dr_backup" {
  provider = aws.dr
  for_each = aws_s3_bucket.dr_backup

  bucket = each.value.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.dr.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "dr_backup" {
  provider = aws.dr
  for_each = aws_s3_bucket.dr_backup

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "dr_backup" {
  provider = aws.dr
  for_each = aws_s3_bucket.dr_backup

  bucket = each.value.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "dr_backup" {
  provider = aws.dr
  for_each = local.dr_backup_lifecycles

  #checkov:skip=CKV_AWS_300:The rule is dr_backup_bucket_lifecycle as given (same shape as the policy's [buckets.lifecycle]); its default aborts incomplete uploads after 7 days, a caller may leave that out.
  bucket = aws_s3_bucket.dr_backup[each.key].id

  rule {
    id     = "rempart-backup-policy"
    status = "Enabled"

    filter {
      prefix = ""
    }

    dynamic "transition" {
      for_each = each.value.transition_days == null ? [] : [1]
      content {
        days          = each.value.transition_days
        storage_class = coalesce(each.value.storage_class, "GLACIER")
      }
    }

    dynamic "expiration" {
      for_each = each.value.expiration_days == null ? [] : [1]
      content {
        days = each.value.expiration_days
      }
    }

    dynamic "noncurrent_version_expiration" {
      for_each = each.value.noncurrent_expiration_days == null ? [] : [1]
      content {
        noncurrent_days = each.value.noncurrent_expiration_days
      }
    }

    dynamic "abort_incomplete_multipart_upload" {
      for_each = each.value.abort_incomplete_multipart_days == null ? [] : [1]
      content {
        days_after_initiation = each.value.abort_incomplete_multipart_days
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.dr_backup]
}

data "aws_iam_policy_document" "dr_backup_bucket" {
  for_each = aws_s3_bucket.dr_backup

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value.arn, "${each.value.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "dr_backup" {
  provider = aws.dr
  for_each = aws_s3_bucket.dr_backup

  bucket = each.value.id
  policy = data.aws_iam_policy_document.dr_backup_bucket[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.dr_backup]
}
