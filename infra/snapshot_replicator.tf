################################################################################
# snapshot-replicator: copies each new Rempart snapshot to the DR region,
# re-encrypted with the DR key. Triggered by the snapshot-completed events of
# the primary region and by a periodic sweep (which catches missed events,
# ElastiCache snapshots and copies deferred by AWS's in-flight copy limits).
################################################################################

locals {
  replicator_regions = [local.region, var.dr_region]

  # Rempart's snapshots in both regions: the source (primary) and the copy
  # (DR), which keeps the source's identifier `rempart-<policy>-...`
  # (model.rs, replicator.rs). Cross-region copies are requested in the DR
  # region; for encrypted RDS sources the call is also authorized in the
  # source region (pre-signed URL).
  replicator_rds_snapshot_arns = flatten([for r in local.replicator_regions : [
    "arn:${local.partition}:rds:${r}:${local.account_id}:snapshot:rempart-*",
    "arn:${local.partition}:rds:${r}:${local.account_id}:cluster-snapshot:rempart-*",
  ]])
  # The copies: in the DR region only.
  replicator_rds_copy_arns = [
    "arn:${local.partition}:rds:${var.dr_region}:${local.account_id}:snapshot:rempart-*",
    "arn:${local.partition}:rds:${var.dr_region}:${local.account_id}:cluster-snapshot:rempart-*",
  ]
  # The Rempart keys of both regions, and the keys of the protected resources.
  replicator_kms_key_arns = concat([aws_kms_key.this.arn, aws_kms_key.dr.arn], aws_kms_key.vault_share[*].arn, var.replicator_source_kms_key_arns)

  # The ElastiCache export bucket and the DR bucket that receives the
  # exports' copies: the replicator's only business in S3 (the other backup
  # buckets are the retention-enforcer's, for their configuration only).
  replicator_bucket_arns        = [for b in compact(concat([var.redis_export_bucket], keys(local.dr_backup_buckets))) : "arn:${local.partition}:s3:::${b}"]
  replicator_bucket_object_arns = [for b in local.replicator_bucket_arns : "${b}/*"]

  replicator_ec2_snapshot_arns = [for r in local.replicator_regions : "arn:${local.partition}:ec2:${r}::snapshot/*"]
  # ElastiCache snapshots are exported in the primary region only (no
  # cross-region copy): Rempart's, `rempart-*`, the export keeping the name.
  replicator_elasticache_snapshot_arns = ["arn:${local.partition}:elasticache:${local.region}:${local.account_id}:snapshot:rempart-*"]

  # Services through which the replicator may use the snapshot keys.
  replicator_kms_via_services = flatten([for r in local.replicator_regions : [
    "rds.${r}.amazonaws.com",
    "ec2.${r}.amazonaws.com",
    "elasticache.${r}.amazonaws.com",
    "s3.${r}.amazonaws.com",
  ]])

  replicator_event_patterns = {
    # Manual (Rempart-made) DB and cluster snapshots created.
    rds = jsonencode({
      source        = ["aws.rds"]
      "detail-type" = ["RDS DB Snapshot Event", "RDS DB Cluster Snapshot Event"]
      detail        = { EventID = ["RDS-EVENT-0042", "RDS-EVENT-0075"] }
    })
    ebs = jsonencode({
      source        = ["aws.ec2"]
      "detail-type" = ["EBS Snapshot Notification"]
      detail        = { event = ["createSnapshot"], result = ["succeeded"] }
    })
  }
}

data "aws_iam_policy_document" "replicator" {
  source_policy_documents = concat(
    [data.aws_iam_policy_document.common.json],
    local.vaults_enabled ? [data.aws_iam_policy_document.replicator_vault.json] : [],
  )

  statement {
    sid = "ListSnapshots"
    actions = [
      "rds:DescribeDBSnapshots",
      "rds:DescribeDBClusterSnapshots",
      "rds:ListTagsForResource",
      "ec2:DescribeSnapshots",
      "elasticache:DescribeSnapshots",
      "elasticache:ListTagsForResource",
    ]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = local.replicator_regions
    }
  }

  # Copies of Rempart's snapshots only. rds:CrossRegionCommunication is
  # listed by AWS's authorization data for cross-region operations on
  # snapshots and cluster snapshots (no API of its own): granted on the same
  # snapshots.
  statement {
    sid       = "CopyRdsSnapshots"
    actions   = ["rds:CopyDBSnapshot", "rds:CopyDBClusterSnapshot", "rds:CrossRegionCommunication"]
    resources = local.replicator_rds_snapshot_arns
  }

  # Tags given with the copy request (authorized on the new copy): only on
  # copies (DR region, Rempart's names), and only requests that mark the copy
  # as Rempart's and name its source (rempart:copy-of, replicator.rs
  # copy_tags; the retention-enforcer may then delete it). The other keys
  # are the source's tags, copied as they are.
  statement {
    sid       = "TagRdsCopiesAsManaged"
    actions   = ["rds:AddTagsToResource"]
    resources = local.replicator_rds_copy_arns

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

  statement {
    sid       = "CopyEbsSnapshots"
    actions   = ["ec2:CopySnapshot"]
    resources = local.replicator_ec2_snapshot_arns
  }

  statement {
    sid       = "TagEbsCopiesOnCreation"
    actions   = ["ec2:CreateTags"]
    resources = local.replicator_ec2_snapshot_arns

    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["CopySnapshot"]
    }
  }

  # ElastiCache copies a snapshot only within its region: to a new name or,
  # with TargetBucket, exported to an S3 bucket of that region, from where it
  # is copied to the DR region's bucket. Rempart's snapshots only, exported
  # under their own name.
  statement {
    sid       = "CopyElastiCacheSnapshots"
    actions   = ["elasticache:CopySnapshot"]
    resources = local.replicator_elasticache_snapshot_arns
  }

  # The replicator records an export (rempart:export) and a DR copy
  # (rempart:dr-copy:<region>) on the source snapshot: Rempart's only, and
  # only those keys.
  statement {
    sid       = "TagManagedElastiCacheSnapshots"
    actions   = ["elasticache:AddTagsToResource"]
    resources = local.replicator_elasticache_snapshot_arns

    condition {
      test     = local.managed_condition.test
      variable = local.managed_condition.variable
      values   = local.managed_condition.values
    }

    condition {
      test     = "ForAllValues:StringLike"
      variable = "aws:TagKeys"
      values   = ["rempart:export", "rempart:dr-copy:*"]
    }
  }

  statement {
    sid       = "DescribeSnapshotKeys"
    actions   = ["kms:DescribeKey"]
    resources = local.replicator_kms_key_arns
  }

  statement {
    sid = "UseSnapshotKeysThroughServices"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
    ]
    resources = local.replicator_kms_key_arns

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = local.replicator_kms_via_services
    }
  }

  # RDS and EBS create grants on the keys for the copy they make.
  statement {
    sid       = "GrantSnapshotKeysToServices"
    actions   = ["kms:CreateGrant"]
    resources = local.replicator_kms_key_arns

    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }

  statement {
    sid = "RegistryReadWrite"
    actions = [
      "dynamodb:Query",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
    ]
    resources = [aws_dynamodb_table.registry.arn]
  }

  dynamic "statement" {
    for_each = length(local.replicator_bucket_arns) > 0 ? [1] : []

    content {
      sid       = "BackupBuckets"
      actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
      resources = local.replicator_bucket_arns
    }
  }

  # ElastiCache's CopySnapshot with TargetBucket also authorizes
  # s3:ListAllMyBuckets for the caller (AWS's ElastiCache API permissions
  # reference); that action has no resource but "*".
  dynamic "statement" {
    for_each = var.redis_export_bucket == null ? [] : [1]

    content {
      sid       = "ExportElastiCacheSnapshots"
      actions   = ["s3:ListAllMyBuckets"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = length(local.replicator_bucket_arns) > 0 ? [1] : []

    content {
      sid = "BackupObjects"
      actions = [
        "s3:GetObject",
        "s3:PutObject",
        "s3:GetObjectTagging",
        "s3:PutObjectTagging",
      ]
      resources = local.replicator_bucket_object_arns
    }
  }
}

module "snapshot_replicator" {
  source = "./modules/function"

  function_name = local.replicator_name
  description   = "Rempart: copies new snapshots to the DR region, re-encrypted with the DR key"
  zip_file      = "${local.zip_dir}/snapshot-replicator/bootstrap.zip"
  architecture  = var.architecture
  memory_size   = var.memory_size
  timeout       = var.replicator_timeout

  # One invocation at a time: the replicator counts the copies in flight
  # before starting more (AWS allows 20 per destination region), and two
  # concurrent invocations would both count the same free slots.
  reserved_concurrent_executions = 1

  environment_variables = merge(local.common_environment, {
    REMPART_MAX_COPIES_IN_FLIGHT = tostring(var.max_copies_in_flight)
  })

  policy_json = data.aws_iam_policy_document.replicator.json

  schedules      = { sweep = var.replication_sweep_schedule }
  event_patterns = local.replicator_event_patterns

  log_retention_in_days = var.log_retention_in_days
  kms_key_arn           = aws_kms_key.this.arn
  alarm_actions         = local.alarm_actions

  tags = local.tags
}
