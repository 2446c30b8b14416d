################################################################################
# Restores on request (`requests`): a `Rempart Restore Request` restores an
# RDS instance or an Aurora cluster into a NEW one, named as the requester
# says, tagged with the request; the function follows it and marks it
# completed. Nothing restored on request is ever deleted by Rempart. The
# restore-tester's in the primary region (restore_requests_enabled), a
# backup account's drill tester's from the vault copies there
# (`requests_point_in_time = false`: a vault holds snapshots only).
################################################################################

locals {
  # The request carries the `rempart:restore-request` tag (the request id),
  # for the restore and the tagging it implies.
  request_tag_condition_on_request = {
    test     = "Null"
    variable = "aws:RequestTag/rempart:restore-request"
    values   = ["false"]
  }

  # The tag keys a restore on request writes on the new database
  # (restore-tester, `request`).
  request_tag_keys = ["rempart:restore-request", "rempart:restore-source", "rempart:restore-point", "rempart:restore-started", "rempart:requested-by", "rempart:approved-by"]
}

data "aws_iam_policy_document" "requests" {
  # The source and the target name (exists?) are read by ListDatabases and
  # ListClusters (the role's inline policy) (a target name must be free
  # among instances and clusters); the snapshots by ListSnapshots
  # (`snapshot:*` and `cluster-snapshot:*` cover every DB and cluster
  # snapshot of the region: Rempart's, other manual ones, and the automated
  # `rds:*` ones).

  # The source's point-in-time window (DescribeDBInstanceAutomatedBackups,
  # authorized on `db` and `auto-backup`, Service Authorization Reference)
  # and the snapshots of one instance (DescribeDBSnapshots filtered by
  # DBInstanceIdentifier: besides `snapshot`, the reference lists the `db`
  # resource type for it); for an Aurora cluster, its snapshots
  # (DescribeDBClusterSnapshots filtered by DBClusterIdentifier: besides
  # `cluster-snapshot`, granted by ListSnapshots, the reference lists
  # `cluster`; its point-in-time window comes with ListClusters). One
  # statement to keep the role's policy short: each action is authorized
  # only on the resource types the reference lists for it. Read-only,
  # region's instances and clusters only.
  dynamic "statement" {
    for_each = var.requests && var.requests_point_in_time ? [1] : []

    content {
      sid     = "ReadRestoreSources"
      actions = ["rds:DescribeDBInstanceAutomatedBackups", "rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots"]
      resources = [
        "${local.rds_arn}:db:*",
        "${local.rds_arn}:auto-backup:*",
        "${local.rds_arn}:cluster:*",
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
    for_each = var.requests ? [1] : []

    content {
      sid     = "RestoreOnRequestIntoNewInstances"
      actions = var.requests_point_in_time ? ["rds:RestoreDBInstanceFromDBSnapshot", "rds:RestoreDBInstanceToPointInTime"] : ["rds:RestoreDBInstanceFromDBSnapshot"]
      resources = concat([
        "${local.rds_arn}:db:*",
        "${local.rds_arn}:snapshot:*",
        ], var.requests_point_in_time ? ["${local.rds_arn}:auto-backup:*"] : [], [
        "${local.rds_arn}:subgrp:*",
        "${local.rds_arn}:og:*",
        "${local.rds_arn}:pg:*",
      ])

      condition {
        test     = local.request_tag_condition_on_request.test
        variable = local.request_tag_condition_on_request.variable
        values   = local.request_tag_condition_on_request.values
      }

      condition {
        test     = "Bool"
        variable = "rds:PubliclyAccessible"
        values   = ["false"]
      }
    }
  }

  # Tags given with a restore on request are authorized as
  # rds:AddTagsToResource on the new instance or cluster (and, for an Aurora
  # restore, on the member instance, tags given with its CreateDBInstance):
  # only requests that mark it with `rempart:restore-request`. RDS has no
  # condition key tying the tagging to the restore call (as
  # ec2:CreateAction does for EC2), and the name is the requester's, so
  # this is any instance or cluster of the region: hence only the keys a
  # restore on request writes (restore_tester.rs), none of which Rempart
  # trusts for a deletion (no `rempart:managed`, no `rempart:restore-test`).
  dynamic "statement" {
    for_each = var.requests ? [1] : []

    content {
      sid     = "TagRequestedRestoresOnCreation"
      actions = ["rds:AddTagsToResource"]
      resources = [
        "${local.rds_arn}:db:*",
        "${local.rds_arn}:cluster:*",
      ]

      condition {
        test     = local.request_tag_condition_on_request.test
        variable = local.request_tag_condition_on_request.variable
        values   = local.request_tag_condition_on_request.values
      }

      condition {
        test     = "ForAllValues:StringEquals"
        variable = "aws:TagKeys"
        values   = local.request_tag_keys
      }
    }
  }

  # The cluster restores themselves, into a NEW cluster of any valid name
  # (the requester's, default `rempart-rr-*`): from any cluster snapshot of
  # the region (RestoreDBClusterFromSnapshot: cluster, cluster-pg, og,
  # subgrp required; cluster-snapshot) or to a point in time
  # (RestoreDBClusterToPointInTime: cluster, the source's and the new one's;
  # cluster-pg, og, subgrp required), in the source's subnet group (any of
  # the region), with the cluster parameter group and option group the new
  # cluster keeps (used, never modified). Not granted: `snapshot`
  # (RestoreDBClusterFromSnapshot of a DB snapshot, a migration the function
  # never does) and `cluster-auto-backup` (a point-in-time restore from a
  # deleted cluster's retained backups; the function names the source
  # cluster). Only when the request carries the `rempart:restore-request`
  # tag. Clusters have no public access of their own (RDS has no
  # rds:PubliclyAccessible key for these actions): the member's is refused
  # by CreateRequestedClusterMembers. The tags given with the restore are
  # TagRequestedRestoresOnCreation's. The function sends DeletionProtection
  # false. Neither action can modify or delete an existing cluster: a
  # restore whose target name exists fails.
  dynamic "statement" {
    for_each = var.requests ? [1] : []

    content {
      sid     = "RestoreOnRequestIntoNewClusters"
      actions = var.requests_point_in_time ? ["rds:RestoreDBClusterFromSnapshot", "rds:RestoreDBClusterToPointInTime"] : ["rds:RestoreDBClusterFromSnapshot"]
      resources = [
        "${local.rds_arn}:cluster:*",
        "${local.rds_arn}:cluster-snapshot:*",
        "${local.rds_arn}:subgrp:*",
        "${local.rds_arn}:cluster-pg:*",
        "${local.rds_arn}:og:*",
      ]

      condition {
        test     = local.request_tag_condition_on_request.test
        variable = local.request_tag_condition_on_request.variable
        values   = local.request_tag_condition_on_request.values
      }
    }
  }

  # The restored cluster's one member, CreateDBInstance named as the cluster
  # in that cluster, once it is available. Authorized on db (required), and
  # on cluster, og, pg, secgrp and subgrp when the request uses them
  # (Service Authorization Reference): the new instance (any name: the
  # requester's), the restored cluster (any: the requester's name), the
  # cluster's subnet group, and the engine's default parameter and option
  # groups (used, never modified); no DB security group (EC2-Classic). Only
  # when the request carries the `rempart:restore-request` tag and
  # PubliclyAccessible is false (the function always sends false; a public
  # copy of a database is refused). The cluster's name being the
  # requester's, `cluster:*` is any cluster of the region: the role could add
  # a private member, tagged `rempart:restore-request`, to another cluster
  # (the function names only the cluster it restored); it creates
  # instances only, and modifies or deletes no existing instance or cluster.
  dynamic "statement" {
    for_each = var.requests ? [1] : []

    content {
      sid     = "CreateRequestedClusterMembers"
      actions = ["rds:CreateDBInstance"]
      resources = [
        "${local.rds_arn}:db:*",
        "${local.rds_arn}:cluster:*",
        "${local.rds_arn}:subgrp:*",
        "${local.rds_arn}:og:*",
        "${local.rds_arn}:pg:*",
      ]

      condition {
        test     = local.request_tag_condition_on_request.test
        variable = local.request_tag_condition_on_request.variable
        values   = local.request_tag_condition_on_request.values
      }

      condition {
        test     = "Bool"
        variable = "rds:PubliclyAccessible"
        values   = ["false"]
      }
    }
  }

  # `rempart:restore-completed=<time>` once the instance is available and
  # checked: only on instances restored on request (tagged
  # `rempart:restore-request`), and only that tag key in such a call. For
  # an Aurora restore, the tag goes on the cluster's member instance
  # (created with `rempart:restore-request`), not on the cluster.
  dynamic "statement" {
    for_each = var.requests ? [1] : []

    content {
      sid       = "MarkRequestedRestoresCompleted"
      actions   = ["rds:AddTagsToResource"]
      resources = ["${local.rds_arn}:db:*"]

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
