################################################################################
# Air-gapped copies, backup-account side: applied with the backup account's
# credentials, in the production deployment's primary region (AWS copies a
# shared Aurora snapshot only within its region).
#
#   * the vault key: copies here are encrypted with it;
#   * the vault role, assumed by the production snapshot-replicator only
#     (with the external id): it lists Rempart's copies here and copies what
#     production shares with this account, under the vault key, tagged as
#     Rempart's. It can delete, untag or share nothing: a stolen production
#     role reaches no further than making one more copy;
#   * the enforcer of this account (enforcer.tf), which keeps the copies by
#     the policy's retention.
################################################################################

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  role_name  = "${var.name}-vault-replicator"

  # Rempart's snapshots shared by production (sources and their stages) and
  # the copies here, which keep the source's name.
  shared_rds_arns = [
    "arn:${local.partition}:rds:${local.region}:${var.production_account_id}:snapshot:rempart-*",
    "arn:${local.partition}:rds:${local.region}:${var.production_account_id}:cluster-snapshot:rempart-*",
  ]
  copy_rds_arns = [
    "arn:${local.partition}:rds:${local.region}:${local.account_id}:snapshot:rempart-*",
    "arn:${local.partition}:rds:${local.region}:${local.account_id}:cluster-snapshot:rempart-*",
  ]
  ec2_snapshot_arns = ["arn:${local.partition}:ec2:${local.region}::snapshot/*"]
  via_services      = ["rds.${local.region}.amazonaws.com", "ec2.${local.region}.amazonaws.com"]
}

# Key policy: AWS's default account statement (the key's use is granted by
# IAM policies, the vault role's), and only the break-glass principals may
# disable the key or schedule its deletion (modules/key_policy); the
# services' statements below.
module "key_policy" {
  source = "../key_policy"

  break_glass_principal_arns = var.kms_break_glass_principal_arns
}

data "aws_iam_policy_document" "kms" {
  # With recovery_accounts: their roles read shared copies (recovery.tf).
  source_policy_documents = concat([module.key_policy.json], data.aws_iam_policy_document.kms_recovery[*].json)

  #checkov:skip=CKV_AWS_356:In a key policy, Resource "*" is this key only.
  statement {
    sid       = "CloudWatchLogsEncryptFunctionLogs"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = [for f in concat([local.enforcer_name], [for _ in local.drill_tester : local.drill_tester_name]) : "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${f}"]
    }
  }

  # ElastiCache of this region reads the Redis bucket's files (SSE-KMS
  # under this key) when a vault drill seeds a group with them: through S3,
  # for that bucket's objects only.
  dynamic "statement" {
    for_each = length(local.redis_drills) > 0 ? [1] : []

    content {
      sid       = "ElastiCacheSeedsFromRedisBucket"
      actions   = ["kms:Decrypt", "kms:DescribeKey"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = [local.elasticache_principal]
      }

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }

      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:s3:arn"
        values   = ["arn:${local.partition}:s3:::${var.redis_bucket_name}", "arn:${local.partition}:s3:::${var.redis_bucket_name}/*"]
      }
    }
  }
}

resource "aws_kms_key" "vault" {
  description             = "Rempart: air-gapped copies of the production snapshots"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.kms.json

  tags = var.tags

  lifecycle {
    # RDS copies a shared snapshot within its region only.
    precondition {
      condition     = alltrue([for a in values(var.recovery_accounts) : split(":", a.kms_key)[3] == local.region])
      error_message = "recovery_accounts: each kms_key must be of this module's region (${local.region}), where the vault copies are shared and copied."
    }
  }
}

resource "aws_kms_alias" "vault" {
  name          = "alias/${var.name}-vault"
  target_key_id = aws_kms_key.vault.key_id
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = [var.production_replicator_role_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [var.external_id]
    }
  }
}

data "aws_iam_policy_document" "replicator" {
  statement {
    sid = "ListCopies"
    actions = [
      "rds:DescribeDBSnapshots",
      "rds:DescribeDBClusterSnapshots",
      "ec2:DescribeSnapshots",
    ]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region]
    }
  }

  # The source (shared by production) and the copy here.
  statement {
    sid       = "CopySharedRdsSnapshots"
    actions   = ["rds:CopyDBSnapshot", "rds:CopyDBClusterSnapshot"]
    resources = concat(local.shared_rds_arns, local.copy_rds_arns)
  }

  # The copy's tags, given with the copy request: Rempart's, naming the source.
  statement {
    sid       = "TagRdsCopiesAsManaged"
    actions   = ["rds:AddTagsToResource"]
    resources = local.copy_rds_arns

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/rempart:managed"
      values   = ["true"]
    }

    condition {
      test     = "Null"
      variable = "aws:RequestTag/rempart:copy-of"
      values   = ["false"]
    }
  }

  # RDS has no condition key telling tags given with a copy from tags
  # added later, so the Allow above would let this role rewrite the tags of
  # a copy already here (its policy, its source, its retention mark) and
  # steer the enforcer into deleting it. A copy being made has no tags yet;
  # one already here carries rempart:copy-of: its tags are refused.
  statement {
    sid       = "NeverRetagACopyHere"
    effect    = "Deny"
    actions   = ["rds:AddTagsToResource"]
    resources = local.copy_rds_arns

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/rempart:copy-of"
      values   = ["false"]
    }
  }

  statement {
    sid       = "CopySharedEbsSnapshots"
    actions   = ["ec2:CopySnapshot"]
    resources = local.ec2_snapshot_arns
  }

  statement {
    sid       = "TagEbsCopiesOnCreation"
    actions   = ["ec2:CreateTags"]
    resources = local.ec2_snapshot_arns

    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["CopySnapshot"]
    }
  }

  statement {
    sid       = "DescribeVaultKey"
    actions   = ["kms:DescribeKey"]
    resources = [aws_kms_key.vault.arn]
  }

  # The copies' key here, and the production keys the shared snapshots are
  # under (their key policies must let this account use them too): through
  # RDS and EC2 only.
  statement {
    sid = "UseKeysThroughServices"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:DescribeKey",
    ]
    resources = concat([aws_kms_key.vault.arn], var.production_kms_key_arns)

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = local.via_services
    }
  }

  statement {
    sid       = "GrantKeysToServices"
    actions   = ["kms:CreateGrant"]
    resources = concat([aws_kms_key.vault.arn], var.production_kms_key_arns)

    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }
}

resource "aws_iam_role" "replicator" {
  name                 = local.role_name
  description          = "Rempart: the production snapshot-replicator copies shared snapshots into this backup account"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600

  tags = var.tags
}

resource "aws_iam_role_policy" "replicator" {
  name   = "copies"
  role   = aws_iam_role.replicator.id
  policy = data.aws_iam_policy_document.replicator.json
}
