################################################################################
# The rights of restoring Rempart's snapshots into throw-away copies in one
# region, checking them, marking the snapshots verified and deleting the
# copies: the restore-tester's in the primary region, the drill tester's in
# the DR region (its DR copies). Policy documents only; the caller attaches
# them (module "function": managed_policy_jsons).
################################################################################

locals {
  # Instance, cluster and snapshot names are fixed by the function:
  # DB and cluster snapshots `rempart-<policy>-<resource>-<time>` (and their
  # DR copies, of the same name), throw-away instances and clusters (and a
  # test cluster's member) `rempart-rt-<database>-<yyyymmddhhmm>`.
  rds_arn               = "arn:${var.partition}:rds:${var.region}:${var.account_id}"
  instance_arns         = "${local.rds_arn}:db:rempart-rt-*"
  cluster_arns          = "${local.rds_arn}:cluster:rempart-rt-*"
  snapshot_arns         = "${local.rds_arn}:snapshot:rempart-*"
  cluster_snapshot_arns = "${local.rds_arn}:cluster-snapshot:rempart-*"
  ec2_snapshot_arns     = "arn:${var.partition}:ec2:${var.region}::snapshot/*"
  volume_arns           = "arn:${var.partition}:ec2:${var.region}:${var.account_id}:volume/*"
  subnet_group_arn      = "${local.rds_arn}:subgrp:${var.subnet_group_name}"
  # Redis restore tests: replication groups `rempart-rt-*` (and their nodes
  # `rempart-rt-*-00n`) from ElastiCache snapshots `rempart-*`.
  ec_arn              = "arn:${var.partition}:elasticache:${var.region}:${var.account_id}"
  cache_group_arns    = "${local.ec_arn}:replicationgroup:rempart-rt-*"
  cache_node_arns     = "${local.ec_arn}:cluster:rempart-rt-*"
  cache_snapshot_arns = "${local.ec_arn}:snapshot:rempart-*"
  cache_subnet_group  = var.cache_subnet_group_name

  partition  = var.partition
  region     = var.region
  account_id = var.account_id

  # Snapshots Rempart made.
  managed_condition = {
    test     = "StringEquals"
    variable = "aws:ResourceTag/rempart:managed"
    values   = ["true"]
  }

  # The copy carries the `rempart:restore-test` tag (any value): the
  # deletions, the Data API and later tagging act on throw-away copies only.
  test_resource_condition = {
    test     = "Null"
    variable = "aws:ResourceTag/rempart:restore-test"
    values   = ["false"]
  }

  # The request carries the `rempart:restore-test` tag (any value): the
  # restore, and the tagging it implies, only for throw-away copies.
  request_tag_condition = {
    test     = "Null"
    variable = "aws:RequestTag/rempart:restore-test"
    values   = ["false"]
  }
}

# The restore tests: restores of Rempart's snapshots into `rempart-rt-*`
# copies, their checks, marks and deletion.
data "aws_iam_policy_document" "tests" {
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
    resources = [local.instance_arns]

    condition {
      test     = local.test_resource_condition.test
      variable = local.test_resource_condition.variable
      values   = local.test_resource_condition.values
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
      values   = [local.instance_arns]
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
      local.instance_arns,
      local.snapshot_arns,
      local.subnet_group_arn,
      "${local.rds_arn}:og:*",
      "${local.rds_arn}:pg:*",
    ]

    condition {
      test     = local.request_tag_condition.test
      variable = local.request_tag_condition.variable
      values   = local.request_tag_condition.values
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
    resources = [local.instance_arns]

    condition {
      test     = local.request_tag_condition.test
      variable = local.request_tag_condition.variable
      values   = local.request_tag_condition.values
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = var.tag_keys
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
      local.cluster_arns,
      local.cluster_snapshot_arns,
      local.subnet_group_arn,
      "${local.rds_arn}:cluster-pg:*",
      "${local.rds_arn}:og:*",
    ]

    condition {
      test     = local.request_tag_condition.test
      variable = local.request_tag_condition.variable
      values   = local.request_tag_condition.values
    }
  }

  # Tags given with the cluster restore are authorized as
  # rds:AddTagsToResource on the new cluster: only requests that mark it as
  # a restore test (the member's tags are TagTestInstancesOnCreation's).
  statement {
    sid       = "TagTestClustersOnCreation"
    actions   = ["rds:AddTagsToResource"]
    resources = [local.cluster_arns]

    condition {
      test     = local.request_tag_condition.test
      variable = local.request_tag_condition.variable
      values   = local.request_tag_condition.values
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = var.tag_keys
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
      local.instance_arns,
      local.cluster_arns,
      local.subnet_group_arn,
      "${local.rds_arn}:og:*",
      "${local.rds_arn}:pg:*",
    ]

    condition {
      test     = local.request_tag_condition.test
      variable = local.request_tag_condition.variable
      values   = local.request_tag_condition.values
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
    resources = [local.cluster_arns]

    condition {
      test     = local.test_resource_condition.test
      variable = local.test_resource_condition.variable
      values   = local.test_resource_condition.values
    }
  }

  # `rempart:restore-finished=<time>` on a concluded test cluster (only its
  # deletion is left, which AWS allows once the member is gone): test
  # clusters only, and only that tag key in such a call.
  statement {
    sid       = "MarkTestClustersFinished"
    actions   = ["rds:AddTagsToResource"]
    resources = [local.cluster_arns]

    condition {
      test     = local.test_resource_condition.test
      variable = local.test_resource_condition.variable
      values   = local.test_resource_condition.values
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
    resources = [local.instance_arns]

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
    resources = [local.cluster_arns]

    condition {
      test     = local.test_resource_condition.test
      variable = local.test_resource_condition.variable
      values   = local.test_resource_condition.values
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
    resources = ["${local.rds_arn}:cluster-snapshot:rempart-rt-*"]
  }

  # `rempart:verified=<time>` on the tested snapshot, DB or cluster
  # snapshot: Rempart's only, and that key only (another key, a retention
  # mark or a policy, would steer the retention-enforcer).
  statement {
    sid       = "MarkVerifiedSnapshots"
    actions   = ["rds:AddTagsToResource"]
    resources = [local.snapshot_arns, local.cluster_snapshot_arns]

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

# The EBS restore tests: volumes created from Rempart's EBS snapshots,
# checked and deleted (a policy of its own: the restore-tests document is
# near IAM's 6,144 characters for a managed policy).
data "aws_iam_policy_document" "ebs_tests" {
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
    resources = [local.ec2_snapshot_arns]

    condition {
      test     = local.managed_condition.test
      variable = local.managed_condition.variable
      values   = local.managed_condition.values
    }
  }

  statement {
    sid       = "CreateTestVolumes"
    actions   = ["ec2:CreateVolume"]
    resources = [local.volume_arns]

    condition {
      test     = local.request_tag_condition.test
      variable = local.request_tag_condition.variable
      values   = local.request_tag_condition.values
    }
  }

  # The test volume's tags, only as CreateVolume creates it, and only the
  # keys a restore test writes (and its Name).
  statement {
    sid       = "TagTestVolumesOnCreation"
    actions   = ["ec2:CreateTags"]
    resources = [local.volume_arns]

    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["CreateVolume"]
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = concat(var.tag_keys, ["Name"])
    }
  }

  # Deleting a volume: test volumes only.
  statement {
    sid       = "DeleteTestVolumes"
    actions   = ["ec2:DeleteVolume"]
    resources = [local.volume_arns]

    condition {
      test     = local.test_resource_condition.test
      variable = local.test_resource_condition.variable
      values   = local.test_resource_condition.values
    }
  }

  # `rempart:verified=<time>` on a tested EBS snapshot: Rempart's only, and
  # that key only.
  statement {
    sid       = "MarkVerifiedEbsSnapshots"
    actions   = ["ec2:CreateTags"]
    resources = [local.ec2_snapshot_arns]

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

# The Redis restore tests: replication groups `rempart-rt-*` created from
# Rempart's ElastiCache snapshots, checked and deleted.
data "aws_iam_policy_document" "redis_tests" {
  # The protected Redis groups and standalone clusters (ElastiCache's
  # describes carry no tags: one ListTagsForResource each), the test groups
  # in progress (a tag call per `rempart-rt-*` group only), and Rempart's
  # snapshots (DescribeSnapshots, then the tags of the `rempart-*` ones; by
  # name: the restored snapshot's engine and shards).
  statement {
    sid = "ListRedisAndTheirSnapshots"
    actions = [
      "elasticache:DescribeReplicationGroups",
      "elasticache:DescribeCacheClusters",
      "elasticache:DescribeSnapshots",
      "elasticache:ListTagsForResource",
    ]
    resources = [
      "${local.ec_arn}:replicationgroup:*",
      "${local.ec_arn}:cluster:*",
      "${local.ec_arn}:snapshot:*",
    ]
  }

  # CreateReplicationGroup from a snapshot is authorized on every resource
  # it names or uses (Service Authorization Reference: parametergroup
  # required; replicationgroup, cluster, snapshot, subnetgroup when used).
  # The new group `rempart-rt-*`: only when the request carries the
  # `rempart:restore-test` tag and asks for encryption at rest (the function
  # always does; the reference gives the encryption key on this resource
  # type only).
  statement {
    sid       = "CreateTestGroups"
    actions   = ["elasticache:CreateReplicationGroup"]
    resources = [local.cache_group_arns]

    condition {
      test     = local.request_tag_condition.test
      variable = local.request_tag_condition.variable
      values   = local.request_tag_condition.values
    }

    condition {
      test     = "Bool"
      variable = "elasticache:AtRestEncryptionEnabled"
      values   = ["true"]
    }
  }

  # ... and what that group uses: its nodes `rempart-rt-*`, a Rempart
  # snapshot `rempart-*`, the cache subnet group of
  # restore_test_cache_subnet_group (`default` when null), and the engine's
  # default parameter group or the snapshot's (any of the region, used,
  # never modified). This statement allows no call by itself: the group's
  # own resource must pass the one above.
  statement {
    sid     = "RestoreRempartRedisSnapshotsIntoTestGroups"
    actions = ["elasticache:CreateReplicationGroup"]
    resources = [
      local.cache_node_arns,
      local.cache_snapshot_arns,
      "${local.ec_arn}:subnetgroup:${local.cache_subnet_group}",
      "${local.ec_arn}:parametergroup:*",
    ]

    condition {
      test     = local.request_tag_condition.test
      variable = local.request_tag_condition.variable
      values   = local.request_tag_condition.values
    }
  }

  # The tags given with CreateReplicationGroup are authorized as
  # elasticache:AddTagsToResource on the new group: only requests that mark
  # it as a restore test, and only the keys a restore test writes.
  statement {
    sid       = "TagTestGroupsOnCreation"
    actions   = ["elasticache:AddTagsToResource"]
    resources = [local.cache_group_arns, local.cache_node_arns]

    condition {
      test     = local.request_tag_condition.test
      variable = local.request_tag_condition.variable
      values   = local.request_tag_condition.values
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = var.tag_keys
    }
  }

  # Deleting a replication group: only test groups, named `rempart-rt-*`
  # AND tagged `rempart:restore-test` (no final snapshot is asked for).
  statement {
    sid       = "DeleteTestGroups"
    actions   = ["elasticache:DeleteReplicationGroup"]
    resources = [local.cache_group_arns]

    condition {
      test     = local.test_resource_condition.test
      variable = local.test_resource_condition.variable
      values   = local.test_resource_condition.values
    }
  }

  # `rempart:verified=<time>` on a tested ElastiCache snapshot: Rempart's
  # only, and that key only.
  statement {
    sid       = "MarkVerifiedRedisSnapshots"
    actions   = ["elasticache:AddTagsToResource"]
    resources = [local.cache_snapshot_arns]

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
data "aws_iam_policy_document" "database_keys" {
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
  # keeps the snapshot's key). Redis restore tests: CreateReplicationGroup
  # from a snapshot under a customer managed key decrypts it through
  # ElastiCache (the test group is encrypted under the AWS owned key).
  dynamic "statement" {
    for_each = length(var.key_arns) > 0 ? [1] : []

    content {
      sid       = "UseDatabaseKeysThroughRds"
      actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
      resources = var.key_arns

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["rds.${local.region}.amazonaws.com", "ec2.${local.region}.amazonaws.com", "elasticache.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.key_arns) > 0 ? [1] : []

    content {
      sid       = "GrantDatabaseKeysToRds"
      actions   = ["kms:CreateGrant"]
      resources = var.key_arns

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["rds.${local.region}.amazonaws.com", "ec2.${local.region}.amazonaws.com", "elasticache.${local.region}.amazonaws.com"]
      }

      condition {
        test     = "Bool"
        variable = "kms:GrantIsForAWSResource"
        values   = ["true"]
      }
    }
  }
}
