################################################################################
# snapshot-scheduler
################################################################################

locals {
  # The tag keys the snapshot-scheduler writes on its snapshots
  # (shared/core/src/tags.rs, scheduling.rs: base_tags, on-demand requests).
  scheduler_tag_keys = [
    "rempart:managed",
    "rempart:policy",
    "rempart:tiers",
    "rempart:source",
    "rempart:source-kind",
    "rempart:scheduled-at",
    "rempart:schedule",
    "rempart:key",
    "rempart:reason",
    "rempart:requested-by",
    "rempart:change-ref",
  ]
  scheduler_rds_arn         = "arn:${local.partition}:rds:${local.region}:${local.account_id}"
  scheduler_elasticache_arn = "arn:${local.partition}:elasticache:${local.region}:${local.account_id}"
}

data "aws_iam_policy_document" "scheduler" {
  source_policy_documents = [data.aws_iam_policy_document.common.json]

  statement {
    sid = "DescribeResources"
    actions = [
      "rds:Describe*",
      "ec2:DescribeVolumes",
      "ec2:DescribeSnapshots",
      "elasticache:Describe*",
      "elasticache:ListTagsForResource",
    ]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region]
    }
  }

  # Snapshots of any instance, cluster, volume or Redis of the region, only
  # under Rempart's names (`rempart-<policy>-<resource>-<time>`, model.rs;
  # EBS snapshots have no name, their ids are AWS's).
  statement {
    sid = "CreateSnapshots"
    actions = [
      "rds:CreateDBSnapshot",
      "rds:CreateDBClusterSnapshot",
      "ec2:CreateSnapshot",
      "elasticache:CreateSnapshot",
    ]
    resources = [
      "${local.scheduler_rds_arn}:db:*",
      "${local.scheduler_rds_arn}:cluster:*",
      "${local.scheduler_rds_arn}:snapshot:rempart-*",
      "${local.scheduler_rds_arn}:cluster-snapshot:rempart-*",
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:volume/*",
      "arn:${local.partition}:ec2:${local.region}::snapshot/*",
      "${local.scheduler_elasticache_arn}:replicationgroup:*",
      "${local.scheduler_elasticache_arn}:cluster:*",
      "${local.scheduler_elasticache_arn}:snapshot:rempart-*",
    ]
  }

  # The tags given with CreateDBSnapshot, CreateDBClusterSnapshot and
  # ElastiCache's CreateSnapshot are authorized as AddTagsToResource on the
  # new snapshot: only on Rempart's names, and only the keys the scheduler
  # writes (scheduler.rs base_tags and the on-demand ones).
  statement {
    sid     = "TagOwnSnapshotsOnCreation"
    actions = ["rds:AddTagsToResource", "elasticache:AddTagsToResource"]
    resources = [
      "${local.scheduler_rds_arn}:snapshot:rempart-*",
      "${local.scheduler_rds_arn}:cluster-snapshot:rempart-*",
      "${local.scheduler_elasticache_arn}:snapshot:rempart-*",
    ]

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = local.scheduler_tag_keys
    }
  }

  statement {
    sid       = "TagEbsSnapshotsOnCreation"
    actions   = ["ec2:CreateTags"]
    resources = ["arn:${local.partition}:ec2:${local.region}::snapshot/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["CreateSnapshot"]
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = concat(local.scheduler_tag_keys, ["Name"])
    }
  }

  statement {
    sid       = "WriteRegistry"
    actions   = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
    resources = [aws_dynamodb_table.registry.arn]
  }
}

module "snapshot_scheduler" {
  source = "./modules/function"

  function_name = local.scheduler_name
  description   = "Rempart: takes the snapshots the policy document schedules, and on-demand snapshots"
  zip_file      = "${local.zip_dir}/snapshot-scheduler/bootstrap.zip"
  architecture  = var.architecture
  memory_size   = var.memory_size
  timeout       = var.scheduler_timeout

  environment_variables = merge(local.common_environment, {
    REMPART_ACCOUNT_ID = local.account_id
  })

  policy_json = data.aws_iam_policy_document.scheduler.json

  schedules = { for s in var.snapshot_schedules : substr(md5(s), 0, 7) => s }
  event_patterns = var.enable_request_rules ? {
    request = jsonencode({ source = ["rempart"], "detail-type" = ["Rempart On-Demand Snapshot Request"] })
  } : {}

  log_retention_in_days = var.log_retention_in_days
  kms_key_arn           = aws_kms_key.this.arn
  alarm_actions         = local.alarm_actions

  tags = local.tags
}
