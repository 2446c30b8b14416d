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
  tester_rds_arn           = "arn:${local.partition}:rds:${local.region}:${local.account_id}"
  tester_cluster_arns      = "${local.tester_rds_arn}:cluster:rempart-rt-*"
  tester_subnet_group_name = coalesce(var.restore_test_subnet_group, var.restore_tester_vpc == null ? "default" : "${var.name}-restore-tests")

  # The test copy carries the `rempart:restore-test` tag (any value): the
  # Data API acts on test clusters only.
  tester_test_resource_condition = {
    test     = "Null"
    variable = "aws:ResourceTag/rempart:restore-test"
    values   = ["false"]
  }

  # The tag keys a restore test writes on its copy (a drill adds
  # `rempart:drill`); those a restore on request writes are
  # modules/restore_rights' (`requests`).
  tester_test_tag_keys = ["rempart:managed", "rempart:restore-test", "rempart:restore-snapshot", "rempart:restore-started", "rempart:policy"]

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

# Restoring Rempart's snapshots into throw-away `rempart-rt-*` copies in the
# primary region, their checks, marks and deletion (modules/restore_rights,
# shared with the drill tester in the DR region).
module "tester_rights" {
  source = "./modules/restore_rights"

  partition               = local.partition
  region                  = local.region
  account_id              = local.account_id
  subnet_group_name       = local.tester_subnet_group_name
  cache_subnet_group_name = coalesce(var.restore_test_cache_subnet_group, "default")
  tag_keys                = local.tester_test_tag_keys
  key_arns                = var.replicator_source_kms_key_arns
  requests                = var.restore_requests_enabled
}

# The rights by concern, as customer managed policies attached to the role
# (module: managed_policy_jsons): the SQL checks grow with every secret and
# the key statements with every database key, and one inline document for
# all would outgrow IAM's 10,240 characters for a role's inline policies.
# scripts/iam-check fails when any of them exceeds AWS's size quotas.
locals {
  tester_managed_policies = merge(
    module.tester_rights.policies,
    length(var.restore_test_sql_secret_arns) > 0 ? { sql-checks = data.aws_iam_policy_document.tester_sql_checks.json } : {},
    length(var.failover_drill_instances) > 0 ? { failover-drills = data.aws_iam_policy_document.tester_failover_drills.json } : {},
  )
}

# The Multi-AZ failover drills (`[failover_drills]`, opt-in): a reboot with
# failover of the named instances, and RDS's events that time it.
data "aws_iam_policy_document" "tester_failover_drills" {
  # RebootDBInstance (ForceFailover) is authorized on the instance: those of
  # failover_drill_instances only. RDS refuses a failover of a single-AZ
  # instance; the function does not ask for one.
  statement {
    sid       = "RebootNamedInstancesWithFailover"
    actions   = ["rds:RebootDBInstance"]
    resources = [for i in var.failover_drill_instances : "${local.tester_rds_arn}:db:${i}"]
  }

  # The "failover completed" event (DescribeEvents, category failover): RDS's
  # events have no resource-level permissions.
  statement {
    sid       = "ReadFailoverEvents"
    actions   = ["rds:DescribeEvents"]
    resources = ["*"]
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
    REMPART_RESTORE_TEST_SECURITY_GROUPS = module.restore_tester_network[0].copies_security_group_id
    }, var.restore_test_cache_subnet_group == null ? {} : {
    REMPART_RESTORE_TEST_CACHE_SUBNET_GROUP = var.restore_test_cache_subnet_group
    }, var.restore_test_db_ca_file == null ? {} : {
    REMPART_DB_CA_FILE = "/var/task/${var.restore_test_db_ca_file}"
  })

  vpc_config = var.restore_tester_vpc == null ? null : {
    subnet_ids         = var.restore_tester_vpc.subnet_ids
    security_group_ids = [module.restore_tester_network[0].tester_security_group_id]
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
# The restore-tester's network (restore_tester_vpc, modules/tester_network):
# the function in the VPC's subnets, the test instances in a DB subnet group
# of the same subnets, and a security group each: the restored instances
# admit only the tester, on the PostgreSQL port; the tester reaches them and
# the AWS APIs (HTTPS, through the subnets' NAT gateway or VPC endpoints),
# nothing else.
################################################################################

module "restore_tester_network" {
  source = "./modules/tester_network"
  count  = var.restore_tester_vpc == null ? 0 : 1

  vpc = var.restore_tester_vpc
  tester = {
    name        = "${var.name}-restore-tester"
    description = "Rempart restore-tester: HTTPS to the AWS APIs, PostgreSQL to the restored test instances"
  }
  copies = {
    name        = "${var.name}-restored-test-instances"
    description = "Rempart restore tests: the throw-away restored instances, reachable by the restore-tester only"
  }
  rule_descriptions = {
    https       = "HTTPS to the AWS APIs (RDS, Secrets Manager, DynamoDB, SNS, SSM), through NAT or VPC endpoints"
    to_copies   = "PostgreSQL to the restored test instances"
    from_tester = "PostgreSQL from the restore-tester only"
  }
  subnet_group = var.restore_test_subnet_group != null ? null : {
    name        = "${var.name}-restore-tests"
    description = "Rempart restore tests: where the throw-away restored instances and clusters go"
  }

  tags = local.tags
}

# Before modules/tester_network, these were resources of this file: moved,
# not replaced.
moved {
  from = aws_security_group.restore_tester[0]
  to   = module.restore_tester_network[0].aws_security_group.tester
}

moved {
  from = aws_security_group.restored[0]
  to   = module.restore_tester_network[0].aws_security_group.copies
}

moved {
  from = aws_vpc_security_group_egress_rule.tester_https[0]
  to   = module.restore_tester_network[0].aws_vpc_security_group_egress_rule.https
}

moved {
  from = aws_vpc_security_group_egress_rule.tester_postgres[0]
  to   = module.restore_tester_network[0].aws_vpc_security_group_egress_rule.postgres
}

moved {
  from = aws_vpc_security_group_ingress_rule.restored_from_tester[0]
  to   = module.restore_tester_network[0].aws_vpc_security_group_ingress_rule.from_tester
}

moved {
  from = aws_db_subnet_group.restore_tests[0]
  to   = module.restore_tester_network[0].aws_db_subnet_group.copies[0]
}
