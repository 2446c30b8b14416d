################################################################################
# retention-enforcer
################################################################################

locals {
  # As tags, the enforcer writes and removes only its retention mark
  # (rempart:delete-after, enforcer.rs).
  enforcer_tag_keys_condition = {
    test     = "ForAllValues:StringEquals"
    variable = "aws:TagKeys"
    values   = ["rempart:delete-after"]
  }
}

data "aws_iam_policy_document" "enforcer" {
  source_policy_documents = [data.aws_iam_policy_document.common.json]

  statement {
    sid = "ListSnapshots"
    actions = [
      "rds:DescribeDBSnapshots",
      "rds:DescribeDBClusterSnapshots",
      "ec2:DescribeSnapshots",
      "elasticache:DescribeSnapshots",
      "elasticache:ListTagsForResource",
    ]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = local.enforcer_regions
    }
  }

  # Mark, unmark and delete: only snapshots Rempart made, and as tags only
  # the retention mark (rempart:delete-after, enforcer.rs).
  statement {
    sid = "ManageRempartRdsAndElastiCacheSnapshots"
    actions = [
      "rds:DeleteDBSnapshot",
      "rds:DeleteDBClusterSnapshot",
      "rds:AddTagsToResource",
      "rds:RemoveTagsFromResource",
      "elasticache:DeleteSnapshot",
      "elasticache:AddTagsToResource",
      "elasticache:RemoveTagsFromResource",
    ]
    resources = flatten([for r in local.enforcer_regions : [
      "arn:${local.partition}:rds:${r}:${local.account_id}:snapshot:*",
      "arn:${local.partition}:rds:${r}:${local.account_id}:cluster-snapshot:*",
      "arn:${local.partition}:elasticache:${r}:${local.account_id}:snapshot:*",
    ]])

    condition {
      test     = local.managed_condition.test
      variable = local.managed_condition.variable
      values   = local.managed_condition.values
    }

    condition {
      test     = local.enforcer_tag_keys_condition.test
      variable = local.enforcer_tag_keys_condition.variable
      values   = local.enforcer_tag_keys_condition.values
    }
  }

  statement {
    sid       = "ManageRempartEbsSnapshots"
    actions   = ["ec2:DeleteSnapshot", "ec2:CreateTags", "ec2:DeleteTags"]
    resources = [for r in local.enforcer_regions : "arn:${local.partition}:ec2:${r}::snapshot/*"]

    condition {
      test     = local.managed_condition.test
      variable = local.managed_condition.variable
      values   = local.managed_condition.values
    }

    condition {
      test     = local.enforcer_tag_keys_condition.test
      variable = local.enforcer_tag_keys_condition.variable
      values   = local.enforcer_tag_keys_condition.values
    }
  }

  statement {
    sid       = "WriteRegistry"
    actions   = ["dynamodb:PutItem", "dynamodb:BatchWriteItem"]
    resources = [aws_dynamodb_table.registry.arn]
  }

  dynamic "statement" {
    for_each = length(local.backup_bucket_names) > 0 ? [1] : []

    content {
      sid = "KeepBackupBucketsRight"
      actions = [
        "s3:GetBucketVersioning",
        "s3:PutBucketVersioning",
        "s3:GetLifecycleConfiguration",
        "s3:PutLifecycleConfiguration",
        "s3:GetReplicationConfiguration",
        "s3:PutReplicationConfiguration",
      ]
      resources = local.backup_bucket_arns
    }
  }

  # Writing a replication configuration passes the replication role to S3
  # (bucket_replication.tf): that role only, to S3 only.
  dynamic "statement" {
    for_each = local.replicate ? [1] : []

    content {
      sid       = "PassTheReplicationRoleToS3"
      actions   = ["iam:PassRole"]
      resources = [local.replication_role_arn]

      condition {
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["s3.amazonaws.com"]
      }
    }
  }
}

module "retention_enforcer" {
  source = "./modules/function"

  function_name = local.enforcer_name
  description   = "Rempart: applies the policy document's retention in the primary and DR regions"
  zip_file      = "${local.zip_dir}/retention-enforcer/bootstrap.zip"
  architecture  = var.architecture
  memory_size   = var.memory_size
  timeout       = var.enforcer_timeout

  environment_variables = merge(local.common_environment, {
    REMPART_DRY_RUN = tostring(var.retention_dry_run)
  }, local.replicate ? { REMPART_REPLICATION_ROLE_ARN = local.replication_role_arn } : {})

  policy_json = data.aws_iam_policy_document.enforcer.json

  schedules = { daily = var.retention_schedule }
  event_patterns = var.enable_request_rules ? {
    request = jsonencode({ source = ["rempart"], "detail-type" = ["Rempart Retention Run"] })
  } : {}

  log_retention_in_days = var.log_retention_in_days
  kms_key_arn           = aws_kms_key.this.arn
  alarm_actions         = local.alarm_actions

  tags = local.tags
}
