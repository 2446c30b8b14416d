################################################################################
# restore-tester: every `restore_test_schedule` (default 5 minutes), follows
# the restore tests in progress (throw-away RDS instances and Aurora clusters
# tagged `rempart:restore-test`: checked, timed, deleted, `restore.succeeded`
# or `restore.failed` recorded and announced, the snapshot tagged
# `rempart:verified`; `restore.slow` once beyond `alert_after`) and starts
# the month's test of every RDS instance and Aurora cluster of the policy's
# `[restore_tests]` that has none finished this month: a Rempart snapshot
# (DB or cluster snapshot) younger than `max_snapshot_age`, restored into
# `rempart-rt-<database>-<yyyymmddhhmm>` (private, single-AZ, tagged
# `rempart:managed`, `rempart:restore-test`, `rempart:restore-snapshot`,
# `rempart:restore-started`, `rempart:policy`).
#
# Aurora clusters: RestoreDBClusterFromSnapshot into a new cluster
# `rempart-rt-*` (DeletionProtection off), then CreateDBInstance of its one
# member, of the same name, in that cluster (`aurora_instance_class`,
# default db.t4g.medium, PubliclyAccessible false), both with the tags above
# in the request. Once both are available: the checks, and, when the
# policy has a `[[restore_tests.sql_checks]]` for the cluster,
# EnableHttpEndpoint on the test cluster and one ExecuteStatement through
# the RDS Data API with the source cluster's master-credentials secret
# (`restore_test_sql_secret_arns`); then the member is deleted, the cluster
# tagged `rempart:restore-finished` and deleted (AWS refuses that deletion
# while the member is still being deleted: a later run retries it).
#
# Restores on request (`restore_requests_enabled`, default on): a
# `Rempart Restore Request` event (source `rempart`, default bus, put by
# `rempart restore`; rule `request`) restores an RDS instance or an Aurora
# cluster into a NEW one, named as the requester says (default
# `rempart-rr-<database>-<yyyymmddhhmm>`), in the source's DB subnet group,
# tagged `rempart:restore-request=<request id>`, `rempart:restore-source`,
# `rempart:restore-point`, `rempart:restore-started`,
# `rempart:requested-by`, `rempart:approved-by`. An instance: from any
# snapshot of the instance in the region (Rempart's or not, automated or
# manual, RestoreDBInstanceFromDBSnapshot) or to a point in time
# (RestoreDBInstanceToPointInTime), private. An Aurora cluster: from any
# cluster snapshot of the cluster in the region (Rempart's, manual or
# automated, RestoreDBClusterFromSnapshot) or to a point in time
# (RestoreDBClusterToPointInTime), DeletionProtection off, then
# CreateDBInstance of its one member, named as the cluster, in it (the
# requested class, else the source writer's, else db.t4g.medium),
# PubliclyAccessible false, with the same tags. The schedule then follows
# the instance (or the cluster and its member) and, once available and
# checked, tags the instance (the member) `rempart:restore-completed`.
# Nothing restored on request is ever deleted by Rempart (no
# `rempart:restore-test` tag, and usually not a `rempart-rt-*` name):
# whoever asked for it deletes it. Who may request a restore is whoever may
# `events:PutEvents` with detail-type `Rempart Restore Request` on the
# default bus: restrict that in the operators' IAM (infra/README.md).
#
# Everything happens in the primary region. For restore tests the role can
# create instances and clusters only named `rempart-rt-*`, only from
# snapshots named `rempart-*`, only with the `rempart:restore-test` tag in
# the request (instances only not publicly accessible); for restores on
# request, any new instance or cluster of the region from any snapshot,
# cluster snapshot, instance or cluster of the region, and a cluster's
# member instance, only with the `rempart:restore-request` tag in the
# request (instances only not publicly accessible). It deletes only the
# instances and clusters named `rempart-rt-*` AND tagged
# `rempart:restore-test`: no other database can be deleted through it,
# restored on request or not. The Data API runs only on those test
# clusters, with only the secrets listed in `restore_test_sql_secret_arns`.
#
# A failed run (a listing, the registry, the topic) or request is retried
# twice by Lambda, then goes to the dead-letter queue, whose alarm fires
# (module).
################################################################################

locals {
  # Instance, cluster and snapshot names are fixed by the function, whatever
  # var.name: DB and cluster snapshots `rempart-<policy>-<resource>-<time>`
  # (model.rs), test instances and clusters (and a test cluster's member)
  # `rempart-rt-<database>-<yyyymmddhhmm>` (restore.rs).
  tester_rds_arn               = "arn:${local.partition}:rds:${local.region}:${local.account_id}"
  tester_instance_arns         = "${local.tester_rds_arn}:db:rempart-rt-*"
  tester_cluster_arns          = "${local.tester_rds_arn}:cluster:rempart-rt-*"
  tester_snapshot_arns         = "${local.tester_rds_arn}:snapshot:rempart-*"
  tester_cluster_snapshot_arns = "${local.tester_rds_arn}:cluster-snapshot:rempart-*"
  tester_ec2_snapshot_arns     = "arn:${local.partition}:ec2:${local.region}::snapshot/*"
  tester_volume_arns           = "arn:${local.partition}:ec2:${local.region}:${local.account_id}:volume/*"
  tester_subnet_group_name     = coalesce(var.restore_test_subnet_group, var.restore_tester_vpc == null ? "default" : "${var.name}-restore-tests")
  tester_subnet_group_arn      = "${local.tester_rds_arn}:subgrp:${local.tester_subnet_group_name}"

  # The test copy carries the `rempart:restore-test` tag (any value): the
  # deletions, the Data API and later tagging act on test copies only.
  tester_test_resource_condition = {
    test     = "Null"
    variable = "aws:ResourceTag/rempart:restore-test"
    values   = ["false"]
  }

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

  # The tag keys a restore test writes on its copy, and those a restore on
  # request writes on the new database (restore_tester.rs).
  tester_test_tag_keys    = ["rempart:managed", "rempart:restore-test", "rempart:restore-snapshot", "rempart:restore-started", "rempart:policy"]
  tester_request_tag_keys = ["rempart:restore-request", "rempart:restore-source", "rempart:restore-point", "rempart:restore-started", "rempart:requested-by", "rempart:approved-by"]

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

  # The protected Aurora clusters and the test clusters in progress (tagged
  # `rempart:restore-test`): one paginated DescribeDBClusters listing of the
  # region, tags included. RDS authorizes it on the `cluster` resource type.
  # A test cluster's member instance is listed by ListDatabases. Also, for
  # restores on request of a cluster: the source cluster (point-in-time
  # window, subnet group, members: its writer is then read by
  # ListDatabases for its class), whether the target name is a cluster
  # already (ListDatabases answers for instances), and the clusters restored
  # on request that the schedule follows (their member too, by
  # ListDatabases).
  statement {
    sid       = "ListClusters"
    actions   = ["rds:DescribeDBClusters"]
    resources = ["${local.tester_rds_arn}:cluster:*"]
  }

  # Rempart's snapshots (the listing of manual DB and cluster snapshots,
  # tags included, then filtered on rempart:managed), and the tested
  # snapshot by identifier before it is restored (a cluster snapshot: its
  # engine and version, which RestoreDBClusterFromSnapshot needs) and
  # before it is tagged; `cluster-snapshot:*` covers the `rempart-*` cluster
  # snapshots of the Aurora tests. For restores on request,
  # the snapshots of one instance (any: `snapshot:*` includes the automated
  # `snapshot:rds:*`) or of one cluster (any: `cluster-snapshot:*` includes
  # the automated `cluster-snapshot:rds:*`); the `db` and `cluster` sides of
  # those filtered calls are granted by ReadRestoreSources below.
  statement {
    sid     = "ListSnapshots"
    actions = ["rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots"]
    resources = [
      "${local.tester_rds_arn}:snapshot:*",
      "${local.tester_rds_arn}:cluster-snapshot:*",
    ]
  }

  # The database's history (Query: a test finished this month?) and its
  # records, written once (PutItem with attribute_not_exists).
  statement {
    sid       = "RegistryHistoryAndRecords"
    actions   = ["dynamodb:Query", "dynamodb:PutItem"]
    resources = [aws_dynamodb_table.registry.arn]
  }
}

# The rights by concern, as customer managed policies attached to the role
# (module: managed_policy_jsons): the SQL checks grow with every secret and
# the key statements with every database key, and one inline document for
# all would outgrow IAM's 10,240 characters for a role's inline policies.
# scripts/iam-check fails when any of them exceeds AWS's size quotas.
locals {
  tester_managed_policies = merge(
    { restore-tests = data.aws_iam_policy_document.tester_tests.json },
    { ebs-restore-tests = data.aws_iam_policy_document.tester_ebs_tests.json },
    length(var.replicator_source_kms_key_arns) > 0 ? { database-keys = data.aws_iam_policy_document.tester_database_keys.json } : {},
    length(var.restore_test_sql_secret_arns) > 0 ? { sql-checks = data.aws_iam_policy_document.tester_sql_checks.json } : {},
    var.restore_requests_enabled ? { restores-on-request = data.aws_iam_policy_document.tester_requests.json } : {},
  )
}

# The restore tests: restores of Rempart's snapshots into `rempart-rt-*`
# copies, their checks, marks and deletion.
data "aws_iam_policy_document" "tester_tests" {
  # Data checks on a test instance without a secret of their own
  # (`[[restore_tests.sql_checks]]` without `secret_arn`): once the copy is
  # available, ModifyDBInstance ManageMasterUserPassword has RDS create the
  # copy's own master secret and set its password (a snapshot keeps the
  # password of its day, which the source's secret may have rotated away
  # since). Only test instances (`rempart-rt-*` tagged
  # `rempart:restore-test`); deleting the instance deletes its secret.
  statement {
    sid       = "GiveTestInstancesTheirOwnMasterSecret"
    actions   = ["rds:ModifyDBInstance"]
    resources = [local.tester_instance_arns]

    condition {
      test     = local.tester_test_resource_condition.test
      variable = local.tester_test_resource_condition.variable
      values   = local.tester_test_resource_condition.values
    }
  }

  # RDS creates, tags and rotates that secret (`rds!db-<uuid>`) with the
  # caller's permissions (RDS User Guide: permissions for the Secrets
  # Manager integration), under the AWS managed aws/secretsmanager key. Only
  # secrets named as RDS names its own.
  statement {
    sid       = "LetRdsCreateTheTestInstancesSecrets"
    actions   = ["secretsmanager:CreateSecret", "secretsmanager:TagResource", "secretsmanager:RotateSecret"]
    resources = ["arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:rds!db-*"]
  }

  # The data checks read that secret: only secrets RDS made for a test
  # instance (the `aws:rds:primaryDBInstanceArn` tag, which RDS sets and no
  # caller can, since `aws:` tags are reserved). A production database's
  # own secret is not readable.
  statement {
    sid       = "ReadTheTestInstancesSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:rds!db-*"]

    condition {
      test     = "StringLike"
      variable = "aws:ResourceTag/aws:rds:primaryDBInstanceArn"
      values   = [local.tester_instance_arns]
    }
  }

  # RestoreDBInstanceFromDBSnapshot is authorized on every resource it
  # names or uses (Service Authorization Reference: db, snapshot, subgrp and
  # og required; pg): the new instance `rempart-rt-*`, a Rempart snapshot,
  # the subnet group of `restore_test_subnet_group` (`default`, the default
  # VPC's, when null), and the option and parameter groups the restored
  # instance keeps from its snapshot (the engine's defaults or the source's,
  # not known here: any of the region, used, never modified). Only not
  # publicly accessible (the function always sends PubliclyAccessible=false).
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

    condition {
      test     = "Bool"
      variable = "rds:PubliclyAccessible"
      values   = ["false"]
    }
  }

  # Tags given with the restore are authorized as rds:AddTagsToResource on
  # the new instance: only requests that mark it as a restore test, and only
  # the keys a restore test writes (restore_tester.rs).
  statement {
    sid       = "TagTestInstancesOnCreation"
    actions   = ["rds:AddTagsToResource"]
    resources = [local.tester_instance_arns]

    condition {
      test     = local.tester_request_tag_condition.test
      variable = local.tester_request_tag_condition.variable
      values   = local.tester_request_tag_condition.values
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = local.tester_test_tag_keys
    }
  }

  # Restore tests of Aurora clusters, first step: RestoreDBClusterFromSnapshot
  # is authorized on every resource it names or uses (Service Authorization
  # Reference: cluster, cluster-pg, og and subgrp required; cluster-snapshot,
  # or snapshot when restoring a DB snapshot, which the function never
  # does): the new cluster `rempart-rt-*`, a Rempart cluster snapshot
  # `rempart-*`, the subnet group of `restore_test_subnet_group` (`default`
  # when null), and the cluster parameter group and option group the
  # restored cluster keeps from its snapshot (the engine's defaults or the
  # source's, not known here: any of the region, used, never modified).
  # Only when the request carries the `rempart:restore-test` tag. The
  # function sends DeletionProtection false, so that the cluster can be
  # deleted after the test.
  statement {
    sid     = "RestoreRempartClusterSnapshotsIntoTestClusters"
    actions = ["rds:RestoreDBClusterFromSnapshot"]
    resources = [
      local.tester_cluster_arns,
      local.tester_cluster_snapshot_arns,
      local.tester_subnet_group_arn,
      "${local.tester_rds_arn}:cluster-pg:*",
      "${local.tester_rds_arn}:og:*",
    ]

    condition {
      test     = local.tester_request_tag_condition.test
      variable = local.tester_request_tag_condition.variable
      values   = local.tester_request_tag_condition.values
    }
  }

  # Tags given with the cluster restore are authorized as
  # rds:AddTagsToResource on the new cluster: only requests that mark it as
  # a restore test (the member's tags are TagTestInstancesOnCreation's).
  statement {
    sid       = "TagTestClustersOnCreation"
    actions   = ["rds:AddTagsToResource"]
    resources = [local.tester_cluster_arns]

    condition {
      test     = local.tester_request_tag_condition.test
      variable = local.tester_request_tag_condition.variable
      values   = local.tester_request_tag_condition.values
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = local.tester_test_tag_keys
    }
  }

  # Second step: the test cluster's one member, CreateDBInstance named as the
  # cluster (`rempart-rt-*`) in that cluster. Authorized on db (required),
  # and on cluster, og, pg, secgrp and subgrp when the request uses them
  # (Service Authorization Reference): the new instance, the test cluster
  # `rempart-rt-*`, the subnet group (the cluster's, that of
  # `restore_test_subnet_group`), and the engine's default parameter and
  # option groups (any of the region, used, never modified); no DB security
  # group (EC2-Classic) is used. Only when the request carries the
  # `rempart:restore-test` tag and PubliclyAccessible is false (the function
  # always sends false; a public member is refused). It cannot add an
  # instance to any other cluster: only `cluster:rempart-rt-*` is granted.
  statement {
    sid     = "CreateTestClusterMembers"
    actions = ["rds:CreateDBInstance"]
    resources = [
      local.tester_instance_arns,
      local.tester_cluster_arns,
      local.tester_subnet_group_arn,
      "${local.tester_rds_arn}:og:*",
      "${local.tester_rds_arn}:pg:*",
    ]

    condition {
      test     = local.tester_request_tag_condition.test
      variable = local.tester_request_tag_condition.variable
      values   = local.tester_request_tag_condition.values
    }

    condition {
      test     = "Bool"
      variable = "rds:PubliclyAccessible"
      values   = ["false"]
    }
  }

  # The RDS Data API of a test cluster, turned on once it is available and
  # only when the policy has a SQL check for it (EnableHttpEndpoint,
  # ResourceArn = the cluster ARN; authorized on `cluster`): test clusters
  # only, named `rempart-rt-*` AND tagged `rempart:restore-test`.
  statement {
    sid       = "EnableDataApiOnTestClusters"
    actions   = ["rds:EnableHttpEndpoint"]
    resources = [local.tester_cluster_arns]

    condition {
      test     = local.tester_test_resource_condition.test
      variable = local.tester_test_resource_condition.variable
      values   = local.tester_test_resource_condition.values
    }
  }

  # `rempart:restore-finished=<time>` on a concluded test cluster (only its
  # deletion is left, which AWS allows once the member is gone): test
  # clusters only, and only that tag key in such a call.
  statement {
    sid       = "MarkTestClustersFinished"
    actions   = ["rds:AddTagsToResource"]
    resources = [local.tester_cluster_arns]

    condition {
      test     = local.tester_test_resource_condition.test
      variable = local.tester_test_resource_condition.variable
      values   = local.tester_test_resource_condition.values
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = ["rempart:restore-finished"]
    }
  }

  # Deletion (no final snapshot) of the test instances only: named
  # `rempart-rt-*` AND tagged `rempart:restore-test`. A test cluster's
  # member is such an instance (created with the tag in the request).
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

  # Deletion of the test clusters only, once their member is gone:
  # DeleteDBCluster with SkipFinalSnapshot, on clusters named `rempart-rt-*`
  # AND tagged `rempart:restore-test`.
  statement {
    sid       = "DeleteTestClusters"
    actions   = ["rds:DeleteDBCluster"]
    resources = [local.tester_cluster_arns]

    condition {
      test     = local.tester_test_resource_condition.test
      variable = local.tester_test_resource_condition.variable
      values   = local.tester_test_resource_condition.values
    }
  }

  # AWS's authorization data lists `cluster-snapshot` as a required resource
  # type of rds:DeleteDBCluster too (the final snapshot's), granted on that
  # word alone (infra/README.md): only names of test copies,
  # `cluster-snapshot:rempart-rt-*`, a snapshot that does not exist yet and
  # so carries no tag. The function sends SkipFinalSnapshot; this statement
  # deletes nothing by itself (the cluster side above must allow it too).
  statement {
    sid       = "DeleteTestClustersFinalSnapshotName"
    actions   = ["rds:DeleteDBCluster"]
    resources = ["${local.tester_rds_arn}:cluster-snapshot:rempart-rt-*"]
  }

  # `rempart:verified=<time>` on the tested snapshot, DB or cluster
  # snapshot: Rempart's only.
  statement {
    sid       = "MarkVerifiedSnapshots"
    actions   = ["rds:AddTagsToResource"]
    resources = [local.tester_snapshot_arns, local.tester_cluster_snapshot_arns]

    condition {
      test     = local.managed_condition.test
      variable = local.managed_condition.variable
      values   = local.managed_condition.values
    }
  }
}

# The EBS restore tests: volumes created from Rempart's EBS snapshots,
# checked and deleted (a policy of its own: the restore-tests document is
# near IAM's 6,144 characters for a managed policy).
data "aws_iam_policy_document" "tester_ebs_tests" {
  # The protected volumes (the zone of each), the test
  # volumes in progress and Rempart's EBS snapshots: EC2's describes have
  # no resource-level permissions.
  statement {
    sid       = "ListVolumesAndEbsSnapshots"
    actions   = ["ec2:DescribeVolumes", "ec2:DescribeSnapshots"]
    resources = ["*"]
  }

  # A test volume from a Rempart EBS snapshot. CreateVolume is authorized on
  # the snapshot (Rempart's only) and on the new volume (the request carries
  # `rempart:restore-test`).
  statement {
    sid       = "RestoreRempartEbsSnapshots"
    actions   = ["ec2:CreateVolume"]
    resources = [local.tester_ec2_snapshot_arns]

    condition {
      test     = local.managed_condition.test
      variable = local.managed_condition.variable
      values   = local.managed_condition.values
    }
  }

  statement {
    sid       = "CreateTestVolumes"
    actions   = ["ec2:CreateVolume"]
    resources = [local.tester_volume_arns]

    condition {
      test     = local.tester_request_tag_condition.test
      variable = local.tester_request_tag_condition.variable
      values   = local.tester_request_tag_condition.values
    }
  }

  # The test volume's tags, only as CreateVolume creates it, and only the
  # keys a restore test writes (and its Name).
  statement {
    sid       = "TagTestVolumesOnCreation"
    actions   = ["ec2:CreateTags"]
    resources = [local.tester_volume_arns]

    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["CreateVolume"]
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = concat(local.tester_test_tag_keys, ["Name"])
    }
  }

  # Deleting a volume: test volumes only.
  statement {
    sid       = "DeleteTestVolumes"
    actions   = ["ec2:DeleteVolume"]
    resources = [local.tester_volume_arns]

    condition {
      test     = local.tester_test_resource_condition.test
      variable = local.tester_test_resource_condition.variable
      values   = local.tester_test_resource_condition.values
    }
  }

  # `rempart:verified=<time>` on a tested EBS snapshot: Rempart's only, and
  # that key only.
  statement {
    sid       = "MarkVerifiedEbsSnapshots"
    actions   = ["ec2:CreateTags"]
    resources = [local.tester_ec2_snapshot_arns]

    condition {
      test     = local.managed_condition.test
      variable = local.managed_condition.variable
      values   = local.managed_condition.values
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = ["rempart:verified"]
    }
  }
}

# The databases' customer managed keys, used through RDS (tests and
# restores on request).
data "aws_iam_policy_document" "tester_database_keys" {
  # Snapshots of databases under customer managed keys: RDS uses the key
  # (and grants itself its use for the new instance) on the tester's
  # behalf. Through RDS in the primary region only. Snapshots under the
  # AWS managed aws/rds key need nothing here. The same two statements
  # cover restores on request of encrypted sources: a snapshot (Rempart's,
  # automated or manual) or a point-in-time restore keeps the source
  # instance's key, so RDS needs the same Decrypt/GenerateDataKey/CreateGrant
  # on it; a source under a customer managed key missing from
  # replicator_source_kms_key_arns cannot be restored (by a test or on
  # request). They cover the Aurora tests too: RestoreDBClusterFromSnapshot
  # of a cluster snapshot under a customer managed key keeps that key (the
  # function names no KmsKeyId), and RDS decrypts it and creates its grant
  # (kms:CreateGrant, for an AWS resource) through RDS on the tester's
  # behalf, as for an instance. And the Aurora restores on request: a
  # cluster restored from any of its cluster snapshots or to a point in
  # time keeps the source cluster's key (no KmsKeyId is sent), used through
  # RDS the same way; its member instance is encrypted by the cluster's
  # storage, with no key of its own to grant. A cluster under a customer
  # managed key missing from replicator_source_kms_key_arns cannot be
  # restored either. EBS restore tests: CreateVolume from a snapshot under a
  # customer managed key uses that key through EC2 the same way (the volume
  # keeps the snapshot's key).
  dynamic "statement" {
    for_each = length(var.replicator_source_kms_key_arns) > 0 ? [1] : []

    content {
      sid       = "UseDatabaseKeysThroughRds"
      actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
      resources = var.replicator_source_kms_key_arns

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["rds.${local.region}.amazonaws.com", "ec2.${local.region}.amazonaws.com"]
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
        values   = ["rds.${local.region}.amazonaws.com", "ec2.${local.region}.amazonaws.com"]
      }

      condition {
        test     = "Bool"
        variable = "kms:GrantIsForAWSResource"
        values   = ["true"]
      }
    }
  }
}

# The SQL checks of the Aurora tests and their secrets.
data "aws_iam_policy_document" "tester_sql_checks" {
  # The SQL checks of the Aurora tests (`[[restore_tests.sql_checks]]`),
  # when restore_test_sql_secret_arns lists their secrets: one
  # ExecuteStatement through the RDS Data API (authorized on `cluster`) on
  # a test cluster only, named `rempart-rt-*` AND tagged
  # `rempart:restore-test`. No BatchExecuteStatement, no transactions. The
  # statement is the policy's; it runs with the source cluster's master
  # credentials, on the throw-away copy.
  dynamic "statement" {
    for_each = length(var.restore_test_sql_secret_arns) > 0 ? [1] : []

    content {
      sid       = "RunSqlChecksOnTestClusters"
      actions   = ["rds-data:ExecuteStatement"]
      resources = [local.tester_cluster_arns]

      condition {
        test     = local.tester_test_resource_condition.test
        variable = local.tester_test_resource_condition.variable
        values   = local.tester_test_resource_condition.values
      }
    }
  }

  # The Data API reads the SecretArn it is given with the caller's own
  # permissions (secretsmanager:GetSecretValue): the secrets of the SQL
  # checks (the source clusters' master credentials, which a cluster
  # restored from a snapshot keeps), those listed only.
  dynamic "statement" {
    for_each = length(var.restore_test_sql_secret_arns) > 0 ? [1] : []

    content {
      sid       = "ReadSqlCheckSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = var.restore_test_sql_secret_arns
    }
  }

  # Secrets under a customer managed key: Secrets Manager decrypts them with
  # the caller's permissions, so the role may use those keys, to decrypt,
  # through Secrets Manager of the primary region only, and only for the
  # secrets above (the encryption context Secrets Manager sends names the
  # secret). Secrets under the AWS managed aws/secretsmanager key need
  # nothing here.
  dynamic "statement" {
    for_each = length(var.restore_test_sql_secret_arns) > 0 && length(var.restore_test_sql_secret_kms_key_arns) > 0 ? [1] : []

    content {
      sid       = "DecryptSqlCheckSecrets"
      actions   = ["kms:Decrypt"]
      resources = var.restore_test_sql_secret_kms_key_arns

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }

      condition {
        test     = "StringLike"
        variable = "kms:EncryptionContext:SecretARN"
        values   = var.restore_test_sql_secret_arns
      }
    }
  }
}

# Restores on request (restore_requests_enabled).
data "aws_iam_policy_document" "tester_requests" {
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
    for_each = var.restore_requests_enabled ? [1] : []

    content {
      sid     = "ReadRestoreSources"
      actions = ["rds:DescribeDBInstanceAutomatedBackups", "rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots"]
      resources = [
        "${local.tester_rds_arn}:db:*",
        "${local.tester_rds_arn}:auto-backup:*",
        "${local.tester_rds_arn}:cluster:*",
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
  # rds:AddTagsToResource on the new instance or cluster (and, for an Aurora
  # restore, on the member instance, tags given with its CreateDBInstance):
  # only requests that mark it with `rempart:restore-request`. RDS has no
  # condition key tying the tagging to the restore call (as
  # ec2:CreateAction does for EC2), and the name is the requester's, so
  # this is any instance or cluster of the region: hence only the keys a
  # restore on request writes (restore_tester.rs), none of which Rempart
  # trusts for a deletion (no `rempart:managed`, no `rempart:restore-test`).
  dynamic "statement" {
    for_each = var.restore_requests_enabled ? [1] : []

    content {
      sid     = "TagRequestedRestoresOnCreation"
      actions = ["rds:AddTagsToResource"]
      resources = [
        "${local.tester_rds_arn}:db:*",
        "${local.tester_rds_arn}:cluster:*",
      ]

      condition {
        test     = local.tester_restore_request_tag_condition.test
        variable = local.tester_restore_request_tag_condition.variable
        values   = local.tester_restore_request_tag_condition.values
      }

      condition {
        test     = "ForAllValues:StringEquals"
        variable = "aws:TagKeys"
        values   = local.tester_request_tag_keys
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
    for_each = var.restore_requests_enabled ? [1] : []

    content {
      sid     = "RestoreOnRequestIntoNewClusters"
      actions = ["rds:RestoreDBClusterFromSnapshot", "rds:RestoreDBClusterToPointInTime"]
      resources = [
        "${local.tester_rds_arn}:cluster:*",
        "${local.tester_rds_arn}:cluster-snapshot:*",
        "${local.tester_rds_arn}:subgrp:*",
        "${local.tester_rds_arn}:cluster-pg:*",
        "${local.tester_rds_arn}:og:*",
      ]

      condition {
        test     = local.tester_restore_request_tag_condition.test
        variable = local.tester_restore_request_tag_condition.variable
        values   = local.tester_restore_request_tag_condition.values
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
    for_each = var.restore_requests_enabled ? [1] : []

    content {
      sid     = "CreateRequestedClusterMembers"
      actions = ["rds:CreateDBInstance"]
      resources = [
        "${local.tester_rds_arn}:db:*",
        "${local.tester_rds_arn}:cluster:*",
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

  # `rempart:restore-completed=<time>` once the instance is available and
  # checked: only on instances restored on request (tagged
  # `rempart:restore-request`), and only that tag key in such a call. For
  # an Aurora restore, the tag goes on the cluster's member instance
  # (created with `rempart:restore-request`), not on the cluster.
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
  description   = "Rempart: monthly restore test of each protected RDS instance and Aurora cluster into a throw-away copy (checks, RTO, deletion); restores on request into new instances and clusters"
  zip_file      = "${local.zip_dir}/restore-tester/bootstrap.zip"
  architecture  = var.architecture
  memory_size   = var.memory_size
  timeout       = var.restore_tester_timeout

  # REMPART_POLICY, REMPART_REGISTRY_TABLE, REMPART_EVENTS_TOPIC_ARN,
  # RUST_LOG; in a VPC, where test instances go unless the policy says.
  environment_variables = merge(local.common_environment, var.restore_tester_vpc == null ? {} : {
    REMPART_RESTORE_TEST_SUBNET_GROUP    = local.tester_subnet_group_name
    REMPART_RESTORE_TEST_SECURITY_GROUPS = aws_security_group.restored[0].id
  })

  vpc_config = var.restore_tester_vpc == null ? null : {
    subnet_ids         = var.restore_tester_vpc.subnet_ids
    security_group_ids = [aws_security_group.restore_tester[0].id]
  }

  policy_json          = data.aws_iam_policy_document.tester.json
  managed_policy_jsons = local.tester_managed_policies

  # The 5-minute poll, and the restore requests (async, so retried twice
  # then to the dead-letter queue, as the schedule's runs).
  schedules      = { poll = var.restore_test_schedule }
  event_patterns = local.tester_event_patterns

  log_retention_in_days = var.log_retention_in_days
  kms_key_arn           = aws_kms_key.this.arn
  alarm_actions         = local.alarm_actions

  tags = local.tags
}

################################################################################
# The restore-tester's network (restore_tester_vpc): the function in the
# VPC's subnets, the test instances in a DB subnet group of the same
# subnets, and a security group each: the restored instances admit only the
# tester, on the PostgreSQL port; the tester reaches them and the AWS APIs
# (HTTPS, through the subnets' NAT gateway or VPC endpoints), nothing else.
################################################################################

resource "aws_security_group" "restore_tester" {
  #checkov:skip=CKV2_AWS_5:Attached to the restore-tester function through module.restore_tester's vpc_config, which checkov does not follow into the module.
  count = var.restore_tester_vpc == null ? 0 : 1

  name        = "${var.name}-restore-tester"
  description = "Rempart restore-tester: HTTPS to the AWS APIs, PostgreSQL to the restored test instances"
  vpc_id      = var.restore_tester_vpc.vpc_id
  tags        = local.tags
}

resource "aws_security_group" "restored" {
  #checkov:skip=CKV2_AWS_5:Attached at run time: the restore-tester puts its throw-away test instances in this group (REMPART_RESTORE_TEST_SECURITY_GROUPS); Terraform creates no instance.
  count = var.restore_tester_vpc == null ? 0 : 1

  name        = "${var.name}-restored-test-instances"
  description = "Rempart restore tests: the throw-away restored instances, reachable by the restore-tester only"
  vpc_id      = var.restore_tester_vpc.vpc_id
  tags        = local.tags
}

resource "aws_vpc_security_group_egress_rule" "tester_https" {
  count = var.restore_tester_vpc == null ? 0 : 1

  security_group_id = aws_security_group.restore_tester[0].id
  description       = "HTTPS to the AWS APIs (RDS, Secrets Manager, DynamoDB, SNS, SSM), through NAT or VPC endpoints"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
  tags              = local.tags
}

resource "aws_vpc_security_group_egress_rule" "tester_postgres" {
  count = var.restore_tester_vpc == null ? 0 : 1

  security_group_id            = aws_security_group.restore_tester[0].id
  description                  = "PostgreSQL to the restored test instances"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.restored[0].id
  tags                         = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "restored_from_tester" {
  count = var.restore_tester_vpc == null ? 0 : 1

  security_group_id            = aws_security_group.restored[0].id
  description                  = "PostgreSQL from the restore-tester only"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.restore_tester[0].id
  tags                         = local.tags
}

resource "aws_db_subnet_group" "restore_tests" {
  count = var.restore_tester_vpc != null && var.restore_test_subnet_group == null ? 1 : 0

  name        = "${var.name}-restore-tests"
  description = "Rempart restore tests: where the throw-away restored instances and clusters go"
  subnet_ids  = var.restore_tester_vpc.subnet_ids
  tags        = local.tags
}
