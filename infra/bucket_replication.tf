################################################################################
# S3 replication of the policy's [[buckets]] to the DR region (bucket_replicas):
# a DR bucket per replicated bucket (versioning on, SSE-KMS with the DR key),
# the role S3 replicates with, and the replication configuration of the
# buckets created here. The retention-enforcer owns every replication
# configuration after creation: it writes the policy's
# [buckets.replication] into the buckets this module does not create, and
# rewrites any that drifts. The backup-auditor reports each bucket's
# replication status and lag (its RPO).
################################################################################

locals {
  replicate = length(var.bucket_replicas) > 0

  # The replicas of buckets created here keep their source's lifecycle.
  replica_buckets = { for src, dst in var.bucket_replicas : dst => try(var.backup_buckets[src], {}) }

  # The sources whose replication configuration Terraform writes at
  # creation (the others' is written by the retention-enforcer).
  replicated_here = { for src, dst in var.bucket_replicas : src => dst if contains(keys(var.backup_buckets), src) }

  replication_role_name = "${var.name}-s3-replication"
  replication_role_arn  = "arn:${local.partition}:iam::${local.account_id}:role/${local.replication_role_name}"
}

module "bucket_replicas" {
  source    = "./modules/backup_buckets"
  providers = { aws = aws.dr }

  buckets         = local.replica_buckets
  kms_key_arn     = aws_kms_key.dr.arn
  lifecycle_owner = "terraform"

  tags = local.tags
}

data "aws_iam_policy_document" "s3_replication_trust" {
  count = local.replicate ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# What S3 needs to replicate, and nothing more: read the sources' object
# versions, write replicas (no delete: delete markers are not replicated),
# decrypt under the primary key and encrypt under the DR key through S3.
data "aws_iam_policy_document" "s3_replication" {
  count = local.replicate ? 1 : 0

  statement {
    sid       = "ReadSourceConfiguration"
    actions   = ["s3:GetReplicationConfiguration", "s3:ListBucket"]
    resources = [for src in keys(var.bucket_replicas) : "arn:${local.partition}:s3:::${src}"]
  }

  statement {
    sid = "ReadSourceVersions"
    actions = [
      "s3:GetObjectVersionForReplication",
      "s3:GetObjectVersionAcl",
      "s3:GetObjectVersionTagging",
    ]
    resources = [for src in keys(var.bucket_replicas) : "arn:${local.partition}:s3:::${src}/*"]
  }

  statement {
    sid       = "WriteReplicas"
    actions   = ["s3:ReplicateObject", "s3:ReplicateTags"]
    resources = [for dst in values(var.bucket_replicas) : "arn:${local.partition}:s3:::${dst}/*"]
  }

  statement {
    sid       = "DecryptSources"
    actions   = ["kms:Decrypt"]
    resources = concat([aws_kms_key.this.arn], var.bucket_replica_source_kms_key_arns)

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "EncryptReplicasUnderTheDrKey"
    actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.dr.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.dr_region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "s3_replication" {
  count = local.replicate ? 1 : 0

  name               = local.replication_role_name
  description        = "Rempart: S3 replicates the policy's buckets to ${var.dr_region} with this role"
  assume_role_policy = data.aws_iam_policy_document.s3_replication_trust[0].json

  tags = local.tags
}

resource "aws_iam_role_policy" "s3_replication" {
  count = local.replicate ? 1 : 0

  name   = "replicate"
  role   = aws_iam_role.s3_replication[0].id
  policy = data.aws_iam_policy_document.s3_replication[0].json
}

# The rule the retention-enforcer writes (functions/retention-enforcer,
# shared/core/src/buckets.rs): whole bucket, SSE-KMS objects included,
# replicas under the DR key's alias (the policy's kms_key), metrics on (the
# auditor reads the lag), delete markers not replicated. Terraform creates
# it and then leaves it to the enforcer.
resource "aws_s3_bucket_replication_configuration" "this" {
  for_each = local.replicated_here

  bucket = each.key
  role   = aws_iam_role.s3_replication[0].arn

  rule {
    id       = "rempart-replication"
    priority = 1
    status   = "Enabled"

    filter {
      prefix = ""
    }

    delete_marker_replication {
      status = "Disabled"
    }

    source_selection_criteria {
      sse_kms_encrypted_objects {
        status = "Enabled"
      }
    }

    destination {
      bucket = module.bucket_replicas.arns[each.value]

      encryption_configuration {
        replica_kms_key_id = aws_kms_alias.dr.arn
      }

      metrics {
        status = "Enabled"
      }
    }
  }

  # Versioning on both sides first (S3 refuses replication without it).
  depends_on = [module.backup_buckets, module.bucket_replicas, aws_iam_role_policy.s3_replication]

  lifecycle {
    ignore_changes = [rule]
  }
}
