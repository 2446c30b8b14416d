data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  region     = var.region

  zip_dir = startswith(var.lambda_zip_dir, "/") ? var.lambda_zip_dir : "${path.module}/${var.lambda_zip_dir}"

  scheduler_name  = "${var.name}-snapshot-scheduler"
  enforcer_name   = "${var.name}-retention-enforcer"
  replicator_name = "${var.name}-snapshot-replicator"
  notifier_name   = "${var.name}-slack-notifier"
  escalator_name  = "${var.name}-incident-escalator"
  auditor_name    = "${var.name}-backup-auditor"
  tester_name     = "${var.name}-restore-tester"
  function_names  = [local.scheduler_name, local.enforcer_name, local.replicator_name, local.notifier_name, local.escalator_name, local.auditor_name, local.tester_name, "${var.name}-slack-actions"]

  # Regions where the retention-enforcer lists and deletes snapshots, and
  # where the snapshot-replicator reads sources and writes copies.
  enforcer_regions = [local.region, var.dr_region]

  # The events topic's ARN, known before the topic (whose key policy names it).
  events_topic_name = "${var.name}-events"
  events_topic_arn  = "arn:${local.partition}:sns:${local.region}:${local.account_id}:${local.events_topic_name}"

  common_environment = {
    REMPART_POLICY            = "ssm:${aws_ssm_parameter.policy.name}"
    REMPART_REGISTRY_TABLE    = aws_dynamodb_table.registry.name
    REMPART_EVENTS_TOPIC_ARN  = aws_sns_topic.events.arn
    REMPART_METRICS_NAMESPACE = var.metrics_namespace
    RUST_LOG                  = var.rust_log
  }

  # The policy document's [[buckets]] (any region): those named in
  # backup_bucket_names and those created here (buckets.tf).
  backup_bucket_names = distinct(concat(var.backup_bucket_names, keys(var.backup_buckets)))
  backup_bucket_arns  = [for b in local.backup_bucket_names : "arn:${local.partition}:s3:::${b}"]

  managed_condition = {
    test     = "StringEquals"
    variable = "aws:ResourceTag/rempart:managed"
    values   = ["true"]
  }

  # The functions' alarms: to the given ARNs and the first on-call tier.
  alarm_actions = concat(var.alarm_actions, [for t in slice(var.oncall_tiers, 0, min(1, length(var.oncall_tiers))) : aws_sns_topic.oncall[t].arn])

  tags = var.tags
}

################################################################################
# KMS keys: one in the primary region (registry, topic, logs, dead-letter
# queues), one in the DR region (`alias/<name>-dr`, named by the policy
# document's DR copies)
################################################################################

# Key policies: `Resource = "*"` in a key policy means the key itself, and
# the account statement is AWS's default one, which delegates the key's use
# to IAM policies (the functions' least-privilege roles); without it the key
# could be locked beyond recovery.
#
# Disabling a key or scheduling its deletion makes every backup under it
# unreadable: only the principals of kms_break_glass_principal_arns may do
# either (default: nobody). That Deny does not cover kms:PutKeyPolicy: a key
# policy that let nobody (or only an empty break-glass list) change it would
# be final, since KMS refuses a policy that locks its own caller out and no
# one could ever lift the Deny again. An administrator can still rewrite the
# policy, so the Deny is a deliberate, visible extra step (a PutKeyPolicy
# in CloudTrail, worth an alarm), not an absolute wall.
data "aws_iam_policy_document" "kms_break_glass" {
  statement {
    sid       = "OnlyBreakGlassDisablesOrDeletes"
    effect    = "Deny"
    actions   = ["kms:DisableKey", "kms:ScheduleKeyDeletion"]
    resources = ["*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    dynamic "condition" {
      for_each = length(var.kms_break_glass_principal_arns) > 0 ? [1] : []

      content {
        test     = "ArnNotLike"
        variable = "aws:PrincipalArn"
        values   = var.kms_break_glass_principal_arns
      }
    }
  }
}

data "aws_iam_policy_document" "kms" {
  source_policy_documents = [data.aws_iam_policy_document.kms_break_glass.json]

  #checkov:skip=CKV_AWS_356:In a key policy, Resource "*" is this key only (see above).
  #checkov:skip=CKV_AWS_111:The account-root statement is AWS's default key policy; write use of the key is granted by the roles' IAM policies, each limited to its key and service (kms:ViaService).
  #checkov:skip=CKV_AWS_109:The account-root statement is AWS's default key policy; permission management stays with the account's administrators through IAM.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

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
      values   = [for f in local.function_names : "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${f}"]
    }
  }

  # SNS moves the events topic's messages it cannot deliver to the
  # slack-notifier or the incident-escalator into that subscription's
  # encrypted dead-letter queue (`<function>-sns-dlq`).
  # The topic's ARN is built, not referenced: the topic is encrypted with
  # this key, so a reference would be a cycle.
  statement {
    sid       = "SnsDeadLettersFromEventsTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.events_topic_arn]
    }
  }

  # ElastiCache writes its snapshot exports into redis_export_bucket, whose
  # default encryption is SSE-KMS under this key: through S3, for that
  # bucket's objects only.
  dynamic "statement" {
    for_each = var.redis_export_bucket == null ? [] : [1]

    content {
      sid       = "ElastiCacheExportsThroughS3"
      actions   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = [local.elasticache_export_principal]
      }

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }

      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:s3:arn"
        values   = ["arn:${local.partition}:s3:::${var.redis_export_bucket}", "arn:${local.partition}:s3:::${var.redis_export_bucket}/*"]
      }
    }
  }

  # CloudWatch alarms publish to the encrypted on-call topics.
  statement {
    sid       = "CloudWatchAlarmsPublishToEncryptedTopics"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "Rempart: registry table, events topic, function logs and dead-letter queues"
  enable_key_rotation     = true
  rotation_period_in_days = var.kms_rotation_period_in_days
  deletion_window_in_days = var.kms_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.kms.json

  tags = local.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

data "aws_iam_policy_document" "kms_dr" {
  source_policy_documents = [data.aws_iam_policy_document.kms_break_glass.json]

  #checkov:skip=CKV_AWS_356:In a key policy, Resource "*" is this key only (see the primary key's policy).
  #checkov:skip=CKV_AWS_111:The account-root statement is AWS's default key policy; the snapshot-replicator's use of the key is granted by its IAM policy, through RDS, EC2, ElastiCache and S3 only.
  #checkov:skip=CKV_AWS_109:The account-root statement is AWS's default key policy; permission management stays with the account's administrators through IAM.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # The drill tester's logs (drills_enabled), encrypted in the DR region.
  statement {
    sid       = "CloudWatchLogsEncryptDrillLogs"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${var.dr_region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${var.dr_region}:${local.account_id}:log-group:/aws/lambda/${local.drill_name}"]
    }
  }

  # ElastiCache of the DR region reads the DR bucket's .rdb files (SSE-KMS
  # under this key) when a Redis drill seeds a group with them: through S3,
  # for the DR bucket's objects only.
  dynamic "statement" {
    for_each = var.drills_enabled && var.dr_backup_bucket != null ? [1] : []

    content {
      sid       = "ElastiCacheSeedsFromDrBucket"
      actions   = ["kms:Decrypt", "kms:DescribeKey"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = [local.elasticache_dr_principal]
      }

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${var.dr_region}.amazonaws.com"]
      }

      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:s3:arn"
        values   = ["arn:${local.partition}:s3:::${var.dr_backup_bucket}", "arn:${local.partition}:s3:::${var.dr_backup_bucket}/*"]
      }
    }
  }

  # The drill tester's alarms publish to the encrypted `<name>-drill-alarms`
  # topic of the DR region.
  statement {
    sid       = "CloudWatchAlarmsPublishToDrillAlarms"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "dr" {
  provider = aws.dr

  description             = "Rempart: snapshot copies in the DR region"
  enable_key_rotation     = true
  rotation_period_in_days = var.kms_rotation_period_in_days
  deletion_window_in_days = var.kms_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.kms_dr.json

  tags = local.tags
}

resource "aws_kms_alias" "dr" {
  provider = aws.dr

  name          = "alias/${var.name}-dr"
  target_key_id = aws_kms_key.dr.key_id
}

################################################################################
# Registry table, events topic, policy document
################################################################################

resource "aws_dynamodb_table" "registry" {
  name                        = "${var.name}-registry"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "resource"
  range_key                   = "sk"
  deletion_protection_enabled = var.registry_deletion_protection

  attribute {
    name = "resource"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.this.arn
  }

  tags = local.tags
}

resource "aws_sns_topic" "events" {
  name              = local.events_topic_name
  display_name      = "Rempart events"
  kms_master_key_id = aws_kms_key.this.arn

  tags = local.tags
}

# Who may publish to the events topic: the functions that announce (all but
# the slack-notifier, which only reads it). Every subscriber trusts what it
# reads there (the incident-escalator opens and resolves incidents from it),
# so any other principal of the account is refused by the Deny, whatever its
# IAM policies allow. The account keeps the topic's management (subscribing,
# reading its attributes), as in SNS's default policy.
locals {
  publisher_role_arns = concat([
    module.snapshot_scheduler.role_arn,
    module.retention_enforcer.role_arn,
    module.snapshot_replicator.role_arn,
    module.incident_escalator.role_arn,
    module.backup_auditor.role_arn,
    module.restore_tester.role_arn,
  ], [for d in module.drill_tester : d.role_arn])
}

data "aws_iam_policy_document" "events_topic" {
  statement {
    sid       = "AccountManagesTopic"
    actions   = ["sns:GetTopicAttributes", "sns:Subscribe", "sns:ListSubscriptionsByTopic"]
    resources = [aws_sns_topic.events.arn]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "RempartPublishers"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.events.arn]

    principals {
      type        = "AWS"
      identifiers = local.publisher_role_arns
    }
  }

  statement {
    sid       = "OnlyRempartPublishers"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.events.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = local.publisher_role_arns
    }
  }
}

resource "aws_sns_topic_policy" "events" {
  arn    = aws_sns_topic.events.arn
  policy = data.aws_iam_policy_document.events_topic.json
}

locals {
  # The policy as stored: without its whole-line comments (a line whose
  # first non-blank character is `#`), which the functions do not read, so
  # that a well-commented document fits the parameter's 8 KB.
  policy_stored = replace(var.policy_document, "/(?m)^[ \t]*#[^\n]*\n/", "")
}

resource "aws_ssm_parameter" "policy" {
  name        = var.policy_parameter_name
  description = "Rempart policy document (TOML)"
  type        = "SecureString"
  key_id      = aws_kms_key.this.arn
  tier        = "Advanced"
  data_type   = "text"
  value       = local.policy_stored

  tags = local.tags
}

################################################################################
# Permissions shared by the functions that read the policy and announce
################################################################################

data "aws_iam_policy_document" "common" {
  statement {
    sid       = "ReadPolicyDocument"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.policy.arn]
  }

  statement {
    sid       = "Announce"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.events.arn]
  }

  statement {
    sid       = "UseRempartKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sns.${local.region}.amazonaws.com", "dynamodb.${local.region}.amazonaws.com", "ssm.${local.region}.amazonaws.com"]
    }
  }
}
