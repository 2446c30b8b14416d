################################################################################
# Backup buckets of one region: versioning, SSE-KMS under the
# region's Rempart key, every public access blocked, ACLs disabled
# (BucketOwnerEnforced), a TLS-only bucket policy, and the lifecycle written
# exactly as the retention-enforcer writes it (one whole-bucket rule
# `rempart-backup-policy`), so that its daily run finds no drift. Used for
# the primary region's backup buckets, and in the DR region (the caller
# passes the DR provider) for the copy of the Redis exports and for the
# replicas of the replicated buckets.
################################################################################

locals {
  # The whole-bucket rule of the retention-enforcer (shared/aws/src/s3.rs):
  # a transition (GLACIER unless storage_class says otherwise), expiration,
  # noncurrent expiration, abort of incomplete uploads, each only when set.
  # A bucket with no lifecycle setting gets no lifecycle configuration (the
  # enforcer does not check its lifecycle either).
  lifecycles = {
    for name, l in var.buckets : name => l
    if anytrue([for v in [l.transition_days, l.expiration_days, l.noncurrent_expiration_days, l.abort_incomplete_multipart_days] : v != null])
  }
}

resource "aws_s3_bucket" "this" {
  for_each = var.buckets

  #checkov:skip=CKV_AWS_18:Server access logs would need a log bucket of their own per region; the backup buckets' API calls are in CloudTrail, and Rempart never reads or deletes their objects outside the replicator's exports.
  #checkov:skip=CKV_AWS_144:Cross-region replication is set outside this module, per source, where the policy asks for it (bucket_replication.tf, bucket_replicas; the retention-enforcer keeps it); the DR-region instances of this module hold replicas and the Redis exports' DR copies, which are not replicated again.
  #checkov:skip=CKV2_AWS_62:No consumer of S3 event notifications: the replicator follows its exports by polling in its sweep and records each copy in the registry.
  #checkov:skip=CKV_AWS_21:Versioning is aws_s3_bucket_versioning.this, for_each over these buckets; checkov 3.3.30's graph links it to one for_each instance only and reports the others.
  #checkov:skip=CKV_AWS_145:SSE-KMS is aws_s3_bucket_server_side_encryption_configuration.this, for_each over these buckets (same checkov for_each linking limit as CKV_AWS_21).
  #checkov:skip=CKV2_AWS_6:The public access block is aws_s3_bucket_public_access_block.this, for_each over these buckets (same checkov for_each linking limit as CKV_AWS_21).
  #checkov:skip=CKV2_AWS_61:The lifecycle is aws_s3_bucket_lifecycle_configuration.enforcer_owned or .terraform_owned for every bucket with lifecycle settings (same checkov for_each linking limit); a bucket whose policy sets none gets none, as the retention-enforcer wants.
  bucket = each.key

  tags = var.tags
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = aws_s3_bucket.this

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# ACLs disabled: ElastiCache's export is granted by the bucket policy
# (service principal), which works with BucketOwnerEnforced; the older
# canonical-ID ACL grants would not.
resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# The retention-enforcer owns the rule after creation: it rewrites it from
# the policy document's [buckets.lifecycle] whenever they differ. Terraform
# creates it and then leaves it alone, so the two never fight; change the
# lifecycle in the policy document.
resource "aws_s3_bucket_lifecycle_configuration" "enforcer_owned" {
  for_each = var.lifecycle_owner == "enforcer" ? local.lifecycles : {}

  #checkov:skip=CKV_AWS_300:The rule is the policy document's [buckets.lifecycle], written as the retention-enforcer writes it; a bucket whose policy sets no abort_incomplete_multipart_days gets none, or the enforcer would see drift and rewrite it.
  bucket = aws_s3_bucket.this[each.key].id

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

  depends_on = [aws_s3_bucket_versioning.this]

  lifecycle {
    ignore_changes = [rule]
  }
}

# The same rule, kept by Terraform as given (the DR copy of the exports,
# which the retention-enforcer does not check). Two resources for one rule
# because `lifecycle { ignore_changes }` cannot depend on a variable.
resource "aws_s3_bucket_lifecycle_configuration" "terraform_owned" {
  for_each = var.lifecycle_owner == "terraform" ? local.lifecycles : {}

  #checkov:skip=CKV_AWS_300:The rule is the lifecycle as given (same shape as the policy's [buckets.lifecycle]); the caller's default aborts incomplete uploads after 7 days, a caller may leave that out.
  bucket = aws_s3_bucket.this[each.key].id

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

  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "this" {
  for_each = aws_s3_bucket.this

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

  # ElastiCache reads the .rdb files a DR drill seeds a new replication
  # group with (CreateReplicationGroup with SnapshotArns): read only.
  dynamic "statement" {
    for_each = var.elasticache_seed_principal == null ? [] : [1]

    content {
      sid       = "ElastiCacheSeeds"
      actions   = ["s3:GetObject", "s3:ListBucket", "s3:GetBucketAcl"]
      resources = [each.value.arn, "${each.value.arn}/*"]

      principals {
        type        = "Service"
        identifiers = [var.elasticache_seed_principal]
      }
    }
  }

  # ElastiCache writes the exported .rdb files (CopySnapshot with
  # TargetBucket). ElastiCache itself refuses a bucket the caller's account
  # does not own, so the regional service principal cannot be used from
  # another account to write here.
  dynamic "statement" {
    for_each = each.key == var.elasticache_export_bucket ? [1] : []

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
        identifiers = [var.elasticache_export_principal]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  policy = data.aws_iam_policy_document.this[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.this]
}
