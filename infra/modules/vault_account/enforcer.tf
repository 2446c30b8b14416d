################################################################################
# Retention in the backup account: Rempart's retention-enforcer, run by this
# account (`<name>-vault-retention-enforcer`, REMPART_VAULT_OF = the
# production account). It keeps the vault copies by the policy document's
# retention, with the same floors, two-phase deletion and legal hold, and
# records its deletions in this account's own registry. No production role
# has any right here: production can make one more copy, never delete one.
################################################################################

locals {
  enforcer_name     = "${var.name}-vault-retention-enforcer"
  events_topic_name = "${var.name}-events"
  registry_name     = "${var.name}-registry"
  # The enforcer writes and removes only its retention mark as tags.
  enforcer_tag_keys = ["rempart:delete-after"]
  # Snapshots of this account Rempart made: the vault copies.
  vault_snapshot_arns = concat(local.copy_rds_arns, local.ec2_snapshot_arns)
}

resource "aws_ssm_parameter" "policy" {
  name        = var.policy_parameter_name
  description = "Rempart policy document (TOML), as the backup account keeps it"
  type        = "SecureString"
  key_id      = aws_kms_key.vault.arn
  tier        = "Advanced"
  data_type   = "text"
  # Without whole-line comments, as the production module stores it.
  value = replace(var.policy_document, "/(?m)^[ \t]*#[^\n]*\n/", "")

  tags = var.tags
}

# The audit trail of what the enforcer did here (same schema as the
# production registry).
resource "aws_dynamodb_table" "registry" {
  name                        = local.registry_name
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
    kms_key_arn = aws_kms_key.vault.arn
  }

  tags = var.tags
}

# The enforcer's digests and failures; subscribe this account's alerting to
# it (the `events_topic_arn` output).
resource "aws_sns_topic" "events" {
  name              = local.events_topic_name
  display_name      = "Rempart events (backup account)"
  kms_master_key_id = aws_kms_key.vault.arn

  tags = var.tags
}

# Only the enforcer and the drill tester publish; the account manages
# subscriptions.
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
    sid       = "RempartPublishes"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.events.arn]

    principals {
      type        = "AWS"
      identifiers = local.publishers
    }
  }

  statement {
    sid       = "OnlyRempartPublishes"
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
      values   = local.publishers
    }
  }
}

resource "aws_sns_topic_policy" "events" {
  arn    = aws_sns_topic.events.arn
  policy = data.aws_iam_policy_document.events_topic.json
}

# What each function of this account reads and announces with: its policy
# document, its topic, and the vault key through SNS, DynamoDB and SSM.
data "aws_iam_policy_document" "plumbing" {
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
    sid       = "UseVaultKeyForItsPlumbing"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.vault.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sns.${local.region}.amazonaws.com", "dynamodb.${local.region}.amazonaws.com", "ssm.${local.region}.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "enforcer" {
  source_policy_documents = [data.aws_iam_policy_document.plumbing.json]

  # Snapshot listings of this region (ElastiCache's too: the listing covers
  # every kind; none are copied here).
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
      values   = [local.region]
    }
  }

  # Mark, unmark and delete: only Rempart's copies here, and as tags only
  # the retention mark.
  statement {
    sid = "ManageVaultCopies"
    actions = [
      "rds:DeleteDBSnapshot",
      "rds:DeleteDBClusterSnapshot",
      "rds:AddTagsToResource",
      "rds:RemoveTagsFromResource",
      "ec2:DeleteSnapshot",
      "ec2:CreateTags",
      "ec2:DeleteTags",
    ]
    resources = local.vault_snapshot_arns

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/rempart:managed"
      values   = ["true"]
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = local.enforcer_tag_keys
    }
  }

  statement {
    sid       = "WriteRegistry"
    actions   = ["dynamodb:PutItem", "dynamodb:BatchWriteItem"]
    resources = [aws_dynamodb_table.registry.arn]
  }
}

module "enforcer" {
  source = "../function"

  function_name = local.enforcer_name
  description   = "Rempart: applies the policy document's retention to the vault copies of this backup account"
  zip_file      = var.enforcer_zip_file
  architecture  = var.architecture
  memory_size   = var.memory_size
  timeout       = var.enforcer_timeout

  environment_variables = {
    REMPART_POLICY           = "ssm:${aws_ssm_parameter.policy.name}"
    REMPART_REGISTRY_TABLE   = aws_dynamodb_table.registry.name
    REMPART_EVENTS_TOPIC_ARN = aws_sns_topic.events.arn
    REMPART_VAULT_OF         = var.production_account_id
    REMPART_DRY_RUN          = tostring(var.retention_dry_run)
    RUST_LOG                 = var.rust_log
  }

  policy_json = data.aws_iam_policy_document.enforcer.json

  schedules = { daily = var.retention_schedule }

  log_retention_in_days = var.log_retention_in_days
  kms_key_arn           = aws_kms_key.vault.arn
  alarm_actions         = var.alarm_actions

  tags = var.tags
}

# The isolated RPO as this account sees it, not as production's marks say:
# each run, the enforcer counts the resources whose newest copy here (by
# the time this account made it) is older than their policy's RPO (EMF
# metric VaultStaleResources, namespace Rempart, Resource = "vault"; 0 when
# none) and names them in its digest on the events topic (a warning). One
# or more: this alarm, to alarm_actions. Between the daily runs there is
# no data, which keeps the alarm's state; a run whose listing failed
# reports nothing (the enforcer's error alarm fires instead).
resource "aws_cloudwatch_metric_alarm" "isolated_rpo" {
  alarm_name          = "${var.name}-vault-isolated-rpo"
  alarm_description   = "Rempart: a resource's newest copy in this backup account is older than its policy's RPO (copies have stopped arriving); the enforcer's retention.digest on ${aws_sns_topic.events.name} names it."
  namespace           = "Rempart"
  metric_name         = "VaultStaleResources"
  dimensions          = { Resource = "vault" }
  statistic           = "Maximum"
  period              = 3600
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "ignore"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}
