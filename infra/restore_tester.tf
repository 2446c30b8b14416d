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
# Restores on request (`restore_requests_enabled`, default on): a
# `Rempart Restore Request` event (source `rempart`, default bus, put by
# `rempart restore`; rule `request`) restores a database into a NEW
# instance, named as the requester says (default
# `rempart-rr-<database>-<yyyymmddhhmm>`): from any snapshot of the instance
# in the region (Rempart's or not, automated or manual,
# RestoreDBInstanceFromDBSnapshot) or to a point in time
# (RestoreDBInstanceToPointInTime), in the source's DB subnet group,
# private, tagged `rempart:restore-request=<request id>`,
# `rempart:restore-source`, `rempart:restore-point`, `rempart:restore-started`,
# `rempart:requested-by`, `rempart:approved-by`. The schedule then follows
# it and, once available and checked, tags it `rempart:restore-completed`.
# Such an instance is never deleted by Rempart (no `rempart:restore-test`
# tag, and usually not a `rempart-rt-*` name): whoever asked for it deletes
# it. Who may request a restore is whoever may `events:PutEvents` with
# detail-type `Rempart Restore Request` on the default bus: restrict that in
# the operators' IAM (infra/README.md).
#
# Everything happens in the primary region. For restore tests the role can
# create instances only named `rempart-rt-*`, only from snapshots named
# `rempart-*`, only with the `rempart:restore-test` tag in the request; for
# restores on request, any new instance of the region from any snapshot or
# instance of the region, only with the `rempart:restore-request` tag in the
# request and not publicly accessible. It deletes only the instances named
# `rempart-rt-*` AND tagged `rempart:restore-test`: no other database can be
# deleted through it, restored on request or not.
#
# A failed run (a listing, the registry, the topic) or request is retried
# twice by Lambda, then goes to the dead-letter queue, whose alarm fires
# (module).
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

  # Restores on request: the request carries the `rempart:restore-request`
  # tag (the request id), for the restore and the tagging it implies.
  tester_restore_request_tag_condition = {
    test     = "Null"
    variable = "aws:RequestTag/rempart:restore-request"
    values   = ["false"]
  }

  # The rule of restore requests, on the default bus (module: rule
  # `<name>-restore-tester-request`, its target and Lambda permission).
  tester_event_patterns = var.restore_requests_enabled ? {
    request = jsonencode({ source = ["rempart"], "detail-type" = ["Rempart Restore Request"] })
  } : {}
}

data "aws_iam_policy_document" "tester" {
  # The policy parameter (ssm:GetParameter), sns:Publish on the events topic,
  # and the Rempart key through SNS, DynamoDB and SSM only.
  source_policy_documents = [data.aws_iam_policy_document.common.json]

  # The test instances in progress and the protected databases: one
  # DescribeDBInstances listing (tags come with it, so no
  # ListTagsForResource). RDS authorizes it on the `db` resource type.
  # Also, for restores on request: the source instance (window, subnet
  # group), whether the target name exists, and the instances restored on
  # request that the schedule follows.
  statement {
    sid       = "ListDatabases"
    actions   = ["rds:DescribeDBInstances"]
    resources = ["${local.tester_rds_arn}:db:*"]
  }

  # Rempart's snapshots (the listing of manual DB and cluster snapshots,
  # tags included, then filtered on rempart:managed), and the tested
  # snapshot by identifier before it is tagged. For restores on request,
  # the snapshots of one instance (any: `snapshot:*` includes the automated
  # `snapshot:rds:*`); the `db` side of that filtered call is granted by
  # ReadRestoreSources below.
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
  # AWS managed aws/rds key need nothing here. The same two statements
  # cover restores on request of encrypted sources: a snapshot (Rempart's,
  # automated or manual) or a point-in-time restore keeps the source
  # instance's key, so RDS needs the same Decrypt/GenerateDataKey/CreateGrant
  # on it; a source under a customer managed key missing from
  # replicator_source_kms_key_arns cannot be restored (by a test or on
  # request).
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

  # Restores on request, below. The source and the target name (exists?)
  # are read by ListDatabases; the snapshots by ListSnapshots (`snapshot:*`
  # covers every DB snapshot of the region: Rempart's, other manual ones,
  # and the automated `snapshot:rds:*`).

  # The source's point-in-time window (DescribeDBInstanceAutomatedBackups,
  # authorized on `db` and `auto-backup`, Service Authorization Reference)
  # and the snapshots of one instance (DescribeDBSnapshots filtered by
  # DBInstanceIdentifier: besides `snapshot`, the reference lists the `db`
  # resource type for it). Read-only, region's instances only.
  dynamic "statement" {
    for_each = var.restore_requests_enabled ? [1] : []

    content {
      sid     = "ReadRestoreSources"
      actions = ["rds:DescribeDBInstanceAutomatedBackups", "rds:DescribeDBSnapshots"]
      resources = [
        "${local.tester_rds_arn}:db:*",
        "${local.tester_rds_arn}:auto-backup:*",
      ]
    }
  }

  # The restores themselves, into a NEW instance of any valid name (the
  # requester's, default `rempart-rr-*`): from any DB snapshot of the
  # region (RestoreDBInstanceFromDBSnapshot: db, snapshot, subgrp, og, pg)
  # or to a point in time (RestoreDBInstanceToPointInTime: the source and
  # the target `db`, optionally `auto-backup`, subgrp, og, pg), in the
  # source's subnet group (any of the region), with the option and
  # parameter groups the new instance keeps (used, never modified). Only
  # when the request carries the `rempart:restore-request` tag, and only
  # not publicly accessible (the function always sends
  # PubliclyAccessible=false; a public copy of a database is refused).
  # Neither action can modify or delete an existing instance: a restore
  # whose target name exists fails.
  dynamic "statement" {
    for_each = var.restore_requests_enabled ? [1] : []

    content {
      sid     = "RestoreOnRequestIntoNewInstances"
      actions = ["rds:RestoreDBInstanceFromDBSnapshot", "rds:RestoreDBInstanceToPointInTime"]
      resources = [
        "${local.tester_rds_arn}:db:*",
        "${local.tester_rds_arn}:snapshot:*",
        "${local.tester_rds_arn}:auto-backup:*",
        "${local.tester_rds_arn}:subgrp:*",
        "${local.tester_rds_arn}:og:*",
        "${local.tester_rds_arn}:pg:*",
      ]

      condition {
        test     = local.tester_restore_request_tag_condition.test
        variable = local.tester_restore_request_tag_condition.variable
        values   = local.tester_restore_request_tag_condition.values
      }

      condition {
        test     = "Bool"
        variable = "rds:PubliclyAccessible"
        values   = ["false"]
      }
    }
  }

  # Tags given with a restore on request are authorized as
  # rds:AddTagsToResource on the new instance: only requests that mark it
  # with `rempart:restore-request`. RDS has no condition key tying the
  # tagging to the restore call (as ec2:CreateAction does for EC2), and the
  # name is the requester's, so this is any instance of the region: tags
  # only, no key restriction (tags a restore inherits from its source may
  # be authorized here too).
  dynamic "statement" {
    for_each = var.restore_requests_enabled ? [1] : []

    content {
      sid       = "TagRequestedInstancesOnCreation"
      actions   = ["rds:AddTagsToResource"]
      resources = ["${local.tester_rds_arn}:db:*"]

      condition {
        test     = local.tester_restore_request_tag_condition.test
        variable = local.tester_restore_request_tag_condition.variable
        values   = local.tester_restore_request_tag_condition.values
      }
    }
  }

  # `rempart:restore-completed=<time>` once the instance is available and
  # checked: only on instances restored on request (tagged
  # `rempart:restore-request`), and only that tag key in such a call.
  dynamic "statement" {
    for_each = var.restore_requests_enabled ? [1] : []

    content {
      sid       = "MarkRequestedRestoresCompleted"
      actions   = ["rds:AddTagsToResource"]
      resources = ["${local.tester_rds_arn}:db:*"]

      condition {
        test     = "Null"
        variable = "aws:ResourceTag/rempart:restore-request"
        values   = ["false"]
      }

      condition {
        test     = "ForAllValues:StringEquals"
        variable = "aws:TagKeys"
        values   = ["rempart:restore-completed"]
      }
    }
  }
}

module "restore_tester" {
  source = "./modules/function"

  function_name = local.tester_name
  description   = "Rempart: monthly restore test of each protected RDS instance into a throw-away instance (checks, RTO, deletion); restores on request into new instances"
  zip_file      = "${local.zip_dir}/restore-tester/bootstrap.zip"
  architecture  = var.architecture
  memory_size   = var.memory_size
  timeout       = var.restore_tester_timeout

  # REMPART_POLICY, REMPART_REGISTRY_TABLE, REMPART_EVENTS_TOPIC_ARN, RUST_LOG.
  environment_variables = local.common_environment

  policy_json = data.aws_iam_policy_document.tester.json

  # The 5-minute poll, and the restore requests (async, so retried twice
  # then to the dead-letter queue, as the schedule's runs).
  schedules      = { poll = var.restore_test_schedule }
  event_patterns = local.tester_event_patterns

  log_retention_in_days = var.log_retention_in_days
  kms_key_arn           = aws_kms_key.this.arn
  alarm_actions         = local.alarm_actions

  tags = local.tags
}
