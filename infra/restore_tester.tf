################################################################################
# restore-tester: every `restore_test_schedule` (default 5 minutes), follows
# the restore tests in progress (throw-away RDS instances tagged
# `rempart:restore-test`: checked, timed, deleted, `restore.succeeded` or
# `restore.failed` recorded and announced, the snapshot tagged
# `rempart:verified`; `restore.slow` once beyond `alert_after`) and starts
# the month's test of every RDS instance of the policy's `[restore_tests]`
# that has none finished this month: a Rempart snapshot younger than
# `max_snapshot_age`, restored into `rempart-rt-<database>-<yyyymmddhhmm>`
# (private, single-AZ, tagged `rempart:managed`, `rempart:restore-test`,
# `rempart:restore-snapshot`, `rempart:restore-started`, `rempart:policy`).
#
# Everything happens in the primary region. The role can create instances
# only named `rempart-rt-*`, only from snapshots named `rempart-*`, only
# with the `rempart:restore-test` tag in the request, and delete only the
# instances carrying that tag: no other database can be deleted through it.
#
# A failed run (a listing, the registry, the topic) is retried twice by
# Lambda, then goes to the dead-letter queue, whose alarm fires (module).
################################################################################

locals {
  # Instance and snapshot names are fixed by the function, whatever var.name:
  # snapshots `rempart-<policy>-<resource>-<time>` (model.rs), test
  # instances `rempart-rt-<database>-<yyyymmddhhmm>` (restore.rs).
  tester_rds_arn          = "arn:${local.partition}:rds:${local.region}:${local.account_id}"
  tester_instance_arns    = "${local.tester_rds_arn}:db:rempart-rt-*"
  tester_snapshot_arns    = "${local.tester_rds_arn}:snapshot:rempart-*"
  tester_subnet_group_arn = "${local.tester_rds_arn}:subgrp:${coalesce(var.restore_test_subnet_group, "default")}"

  # The request carries the `rempart:restore-test` tag (any value): the
  # restore, and the tagging it implies, only for test instances.
  tester_request_tag_condition = {
    test     = "Null"
    variable = "aws:RequestTag/rempart:restore-test"
    values   = ["false"]
  }
}

data "aws_iam_policy_document" "tester" {
  # The policy parameter (ssm:GetParameter), sns:Publish on the events topic,
  # and the Rempart key through SNS, DynamoDB and SSM only.
  source_policy_documents = [data.aws_iam_policy_document.common.json]

  # The test instances in progress and the protected databases: one
  # DescribeDBInstances listing (tags come with it, so no
  # ListTagsForResource). RDS authorizes it on the `db` resource type.
  statement {
    sid       = "ListDatabases"
    actions   = ["rds:DescribeDBInstances"]
    resources = ["${local.tester_rds_arn}:db:*"]
  }

  # Rempart's snapshots (the listing of manual DB and cluster snapshots,
  # tags included, then filtered on rempart:managed), and the tested
  # snapshot by identifier before it is tagged.
  statement {
    sid     = "ListSnapshots"
    actions = ["rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots"]
    resources = [
      "${local.tester_rds_arn}:snapshot:*",
      "${local.tester_rds_arn}:cluster-snapshot:*",
    ]
  }

  # RestoreDBInstanceFromDBSnapshot is authorized on every resource it
  # names or uses (Service Authorization Reference: db, snapshot, subgrp and
  # og required; pg): the new instance `rempart-rt-*`, a Rempart snapshot,
  # the subnet group of `restore_test_subnet_group` (`default`, the default
  # VPC's, when null), and the option and parameter groups the restored
  # instance keeps from its snapshot (the engine's defaults or the source's,
  # not known here: any of the region, used, never modified).
  statement {
    sid     = "RestoreRempartSnapshotsIntoTestInstances"
    actions = ["rds:RestoreDBInstanceFromDBSnapshot"]
    resources = [
      local.tester_instance_arns,
      local.tester_snapshot_arns,
      local.tester_subnet_group_arn,
      "${local.tester_rds_arn}:og:*",
      "${local.tester_rds_arn}:pg:*",
    ]

    condition {
      test     = local.tester_request_tag_condition.test
      variable = local.tester_request_tag_condition.variable
      values   = local.tester_request_tag_condition.values
    }
  }

  # Tags given with the restore are authorized as rds:AddTagsToResource on
  # the new instance: only requests that mark it as a restore test.
  statement {
    sid       = "TagTestInstancesOnCreation"
    actions   = ["rds:AddTagsToResource"]
    resources = [local.tester_instance_arns]

    condition {
      test     = local.tester_request_tag_condition.test
      variable = local.tester_request_tag_condition.variable
      values   = local.tester_request_tag_condition.values
    }
  }

  # Deletion (no final snapshot) of the test instances only: named
  # `rempart-rt-*` AND tagged `rempart:restore-test`.
  statement {
    sid       = "DeleteTestInstances"
    actions   = ["rds:DeleteDBInstance"]
    resources = [local.tester_instance_arns]

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/rempart:restore-test"
      values   = ["false"]
    }
  }

  # `rempart:verified=<time>` on the tested snapshot: Rempart's only.
  statement {
    sid       = "MarkVerifiedSnapshots"
    actions   = ["rds:AddTagsToResource"]
    resources = [local.tester_snapshot_arns]

    condition {
      test     = local.managed_condition.test
      variable = local.managed_condition.variable
      values   = local.managed_condition.values
    }
  }

  # Snapshots of databases under customer managed keys: RDS uses the key
  # (and grants itself its use for the new instance) on the tester's
  # behalf. Through RDS in the primary region only. Snapshots under the
  # AWS managed aws/rds key need nothing here.
  dynamic "statement" {
    for_each = length(var.replicator_source_kms_key_arns) > 0 ? [1] : []

    content {
      sid       = "UseDatabaseKeysThroughRds"
      actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
      resources = var.replicator_source_kms_key_arns

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["rds.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.replicator_source_kms_key_arns) > 0 ? [1] : []

    content {
      sid       = "GrantDatabaseKeysToRds"
      actions   = ["kms:CreateGrant"]
      resources = var.replicator_source_kms_key_arns

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["rds.${local.region}.amazonaws.com"]
      }

      condition {
        test     = "Bool"
        variable = "kms:GrantIsForAWSResource"
        values   = ["true"]
      }
    }
  }

  # The database's history (Query: a test finished this month?) and its
  # records, written once (PutItem with attribute_not_exists).
  statement {
    sid       = "RegistryHistoryAndRecords"
    actions   = ["dynamodb:Query", "dynamodb:PutItem"]
    resources = [aws_dynamodb_table.registry.arn]
  }
}

module "restore_tester" {
  source = "./modules/function"

  function_name = local.tester_name
  description   = "Rempart: monthly restore test of each protected RDS instance into a throw-away instance; checks, RTO, deletion"
  zip_file      = "${local.zip_dir}/restore-tester/bootstrap.zip"
  architecture  = var.architecture
  memory_size   = var.memory_size
  timeout       = var.restore_tester_timeout

  # REMPART_POLICY, REMPART_REGISTRY_TABLE, REMPART_EVENTS_TOPIC_ARN, RUST_LOG.
  environment_variables = local.common_environment

  policy_json = data.aws_iam_policy_document.tester.json

  schedules = { poll = var.restore_test_schedule }

  log_retention_in_days = var.log_retention_in_days
  kms_key_arn           = aws_kms_key.this.arn
  alarm_actions         = local.alarm_actions

  tags = local.tags
}
