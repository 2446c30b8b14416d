################################################################################
# Redis exports in the backup account (with redis_bucket_name): a bucket
# with S3 Object Lock in COMPLIANCE mode. Every file the vault role writes
# is locked for redis_lock_days (the replicator reads this default and
# writes each file with it): nobody, this account's root included, can
# delete or overwrite it earlier. Afterwards the lifecycle expires it.
################################################################################

locals {
  redis = var.redis_bucket_name == null ? [] : [var.redis_bucket_name]
  # Vault drills of Redis: a bucket and the drill tester.
  redis_drills          = var.redis_bucket_name != null && var.drill_tester_zip_file != null ? [var.redis_bucket_name] : []
  elasticache_principal = "${local.region}.elasticache-snapshot.amazonaws.com"
}

resource "aws_s3_bucket" "redis" {
  count = length(local.redis)

  #checkov:skip=CKV_AWS_18:Server access logs would need a log bucket of their own; the bucket's API calls are in this account's CloudTrail, and only the vault role writes here.
  #checkov:skip=CKV_AWS_144:The files are already copies (of production's exports); a second region would need a second Object Lock bucket, and Aurora's vault copies are single-region too.
  #checkov:skip=CKV2_AWS_62:No consumer of S3 event notifications: the replicator records each copy in the production registry.
  bucket              = local.redis[0]
  object_lock_enabled = true

  tags = var.tags
}

resource "aws_s3_bucket_versioning" "redis" {
  count = length(local.redis)

  bucket = aws_s3_bucket.redis[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_object_lock_configuration" "redis" {
  count = length(local.redis)

  bucket = aws_s3_bucket.redis[0].id

  rule {
    default_retention {
      mode = "COMPLIANCE"
      days = var.redis_lock_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.redis]
}

resource "aws_s3_bucket_server_side_encryption_configuration" "redis" {
  count = length(local.redis)

  bucket = aws_s3_bucket.redis[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.vault.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "redis" {
  count = length(local.redis)

  bucket                  = aws_s3_bucket.redis[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "redis" {
  count = length(local.redis)

  bucket = aws_s3_bucket.redis[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# Once unlocked, a file expires (a delete marker), and its version is
# removed a day later.
resource "aws_s3_bucket_lifecycle_configuration" "redis" {
  count = length(local.redis)

  bucket = aws_s3_bucket.redis[0].id

  rule {
    id     = "rempart-vault-redis"
    status = "Enabled"

    filter {
      prefix = ""
    }

    expiration {
      days = var.redis_lock_days + 1
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.redis]
}

data "aws_iam_policy_document" "redis_bucket" {
  count = length(local.redis)

  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.redis[0].arn, "${aws_s3_bucket.redis[0].arn}/*"]

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

  # ElastiCache reads the files a vault drill seeds a new replication
  # group with (CreateReplicationGroup with SnapshotArns): read only.
  dynamic "statement" {
    for_each = local.redis_drills

    content {
      sid       = "ElastiCacheSeeds"
      actions   = ["s3:GetObject", "s3:ListBucket", "s3:GetBucketAcl"]
      resources = [aws_s3_bucket.redis[0].arn, "${aws_s3_bucket.redis[0].arn}/*"]

      principals {
        type        = "Service"
        identifiers = [local.elasticache_principal]
      }

    }
  }
}

resource "aws_s3_bucket_policy" "redis" {
  count = length(local.redis)

  bucket = aws_s3_bucket.redis[0].id
  policy = data.aws_iam_policy_document.redis_bucket[0].json

  depends_on = [aws_s3_bucket_public_access_block.redis]
}

# The vault role writes the files: with their lock, under the vault key,
# tagged; it reads the bucket's default retention. It cannot delete a
# file, shorten a lock or change the bucket's lock configuration.
data "aws_iam_policy_document" "replicator_redis" {
  count = length(local.redis)

  statement {
    sid       = "ReadTheDefaultLock"
    actions   = ["s3:GetBucketObjectLockConfiguration"]
    resources = [aws_s3_bucket.redis[0].arn]
  }

  statement {
    sid = "WriteLockedFiles"
    actions = [
      "s3:PutObject",
      "s3:PutObjectTagging",
      "s3:PutObjectRetention",
      "s3:AbortMultipartUpload",
    ]
    resources = ["${aws_s3_bucket.redis[0].arn}/*"]
  }

  statement {
    sid       = "EncryptFilesUnderVaultKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.vault.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "replicator_redis" {
  count = length(local.redis)

  name   = "redis-exports"
  role   = aws_iam_role.replicator.id
  policy = data.aws_iam_policy_document.replicator_redis[0].json
}
