################################################################################
# Vault drills: Rempart's restore-tester, run by this account
# (`<name>-vault-drill-tester`, REMPART_VAULT_OF = the production account).
# Every `drill_schedule` it follows the drills in progress and, on the policy
# document's `[drills]` frequency (default twice a year), restores here the
# newest vault copy of each resource of the drilled policies (the copy this
# account made last, by its creation time here) into a throw-away
# `rempart-rt-*` instance, cluster or volume, runs the restore tests'
# checks, measures the time from start to checked (the RTO from the vault),
# deletes it, tags the copy `rempart:verified` and records `drill.*` in this
# account's registry and on its topic. The copies never leave this account
# and production takes no part: the proof that the air-gapped copies restore
# holds with the production account gone. RDS instances, Aurora clusters
# and EBS volumes; with redis_bucket_name, Redis too: a `rempart-rt-*`
# replication group seeded with the newest export's locked files there
# (ElastiCache reads them with its service principal: the bucket's and the
# vault key's policies).
#
# It also takes this account's restores on request (`rempart restore
# --from-vault`, `Rempart Restore Request` on this account's default bus):
# a vault copy restored into a NEW instance or cluster here, named by the
# requester, followed, checked, recorded and announced, and never deleted;
# with `recovery_accounts`, into one of those accounts instead
# (`--to-account`, recovery.tf).
#
# Its rights are the restore tester's (modules/restore_rights) in this
# account and region, with the vault key: it restores from Rempart's
# snapshots (`rempart:managed`), creates and deletes only `rempart-rt-*`
# copies tagged `rempart:restore-test`, and writes on a vault copy only
# `rempart:verified`. It can delete no snapshot.
#
# With drill_vpc, the data checks of drilled RDS instances run too
# (`[[restore_tests.sql_checks]]`, PostgreSQL over TLS, with the copy's own
# RDS-managed master secret when a check names no `secret_arn`): the
# function in that VPC, the copies in a DB subnet group of its subnets, and
# a security group each (modules/tester_network, as the DR drill tester's
# drill_vpc); the policy's `[drills]` network is the DR region's and is not
# used here.
################################################################################

locals {
  drill_tester_name = "${var.name}-vault-drill-tester"
  drill_tester      = var.drill_tester_zip_file == null ? [] : [1]
  drill_tag_keys    = ["rempart:managed", "rempart:restore-test", "rempart:restore-snapshot", "rempart:restore-started", "rempart:policy", "rempart:drill"]
  # The drills' network: nothing without a drill tester.
  drill_vpc               = var.drill_tester_zip_file == null ? null : var.drill_vpc
  drill_subnet_group_name = coalesce(var.drill_subnet_group, local.drill_vpc == null ? "default" : "${var.name}-vault-drills")
  # Who may publish on this account's topic.
  publishers = concat([module.enforcer.role_arn], [for m in module.drill_tester : m.role_arn])
}

data "aws_iam_policy_document" "drill_tester" {
  # With recovery_accounts: their roles, and sharing the vault copies
  # (recovery.tf).
  source_policy_documents = concat([data.aws_iam_policy_document.plumbing.json], data.aws_iam_policy_document.drill_tester_recovery[*].json)

  # The drills in progress (tags included) and the vault copies.
  statement {
    sid     = "ListDrillCopiesAndVaultCopies"
    actions = ["rds:DescribeDBInstances", "rds:DescribeDBClusters", "rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots"]
    resources = [
      "arn:${local.partition}:rds:${local.region}:${local.account_id}:db:*",
      "arn:${local.partition}:rds:${local.region}:${local.account_id}:cluster:*",
      "arn:${local.partition}:rds:${local.region}:${local.account_id}:snapshot:*",
      "arn:${local.partition}:rds:${local.region}:${local.account_id}:cluster-snapshot:*",
    ]
  }

  # Each run follows every kind of throw-away copy in progress: the Redis
  # groups' listing too (without a Redis bucket there are none: no Redis
  # rights are granted).
  dynamic "statement" {
    for_each = length(local.redis) > 0 ? [] : [1]

    content {
      sid       = "ListRedisGroupsInProgress"
      actions   = ["elasticache:DescribeReplicationGroups"]
      resources = ["arn:${local.partition}:elasticache:${local.region}:${local.account_id}:replicationgroup:*"]
    }
  }

  # Redis drills: the exports in the Redis bucket (listed, and one file's
  # tags per export: its policy, source and copy-of), read only.
  dynamic "statement" {
    for_each = local.redis

    content {
      sid       = "ListRedisExports"
      actions   = ["s3:ListBucket"]
      resources = ["arn:${local.partition}:s3:::${statement.value}"]
    }
  }

  dynamic "statement" {
    for_each = local.redis

    content {
      sid       = "ReadRedisExportTags"
      actions   = ["s3:GetObjectTagging"]
      resources = ["arn:${local.partition}:s3:::${statement.value}/*"]
    }
  }

  # A volume drilled goes to the region's first available zone. EC2's
  # describes have no resource-level permissions.
  statement {
    sid       = "ListZones"
    actions   = ["ec2:DescribeAvailabilityZones"]
    resources = ["*"]
  }

  # A resource's drills this period (Query) and its records, written once.
  statement {
    sid       = "RegistryHistoryAndRecords"
    actions   = ["dynamodb:Query", "dynamodb:PutItem"]
    resources = [aws_dynamodb_table.registry.arn]
  }
}

# Restoring, checking and deleting throw-away copies of the vault copies, in
# this account and region, under the vault key.
module "drill_rights" {
  source = "../restore_rights"

  partition         = local.partition
  region            = local.region
  account_id        = local.account_id
  subnet_group_name = local.drill_subnet_group_name
  tag_keys          = local.drill_tag_keys
  key_arns          = [aws_kms_key.vault.arn]
  redis             = length(local.redis) > 0
  # Restores on request from the vault copies: snapshots only.
  requests               = true
  requests_point_in_time = false
}

module "drill_tester" {
  source   = "../function"
  for_each = toset([for _ in local.drill_tester : "vault"])

  function_name = local.drill_tester_name
  description   = "Rempart: vault drills (the newest vault copy of each drilled resource restored in this backup account, checked, timed, deleted) and restores on request from the vault"
  zip_file      = var.drill_tester_zip_file
  architecture  = var.architecture
  memory_size   = var.memory_size
  timeout       = var.drill_tester_timeout

  environment_variables = merge({
    REMPART_POLICY           = "ssm:${aws_ssm_parameter.policy.name}"
    REMPART_REGISTRY_TABLE   = aws_dynamodb_table.registry.name
    REMPART_EVENTS_TOPIC_ARN = aws_sns_topic.events.arn
    REMPART_VAULT_OF         = var.production_account_id
    RUST_LOG                 = var.rust_log
    }, var.redis_bucket_name == null ? {} : {
    REMPART_VAULT_REDIS_BUCKET = var.redis_bucket_name
    }, local.drill_vpc != null ? {
    REMPART_RESTORE_TEST_SUBNET_GROUP    = local.drill_subnet_group_name
    REMPART_RESTORE_TEST_SECURITY_GROUPS = module.drill_network[0].copies_security_group_id
    } : local.drill_subnet_group_name == "default" ? {} : {
    REMPART_RESTORE_TEST_SUBNET_GROUP = local.drill_subnet_group_name
    }, var.drill_db_ca_file == null ? {} : {
    REMPART_DB_CA_FILE = "/var/task/${var.drill_db_ca_file}"
  }, local.recovery_environment)

  # With drill_vpc: in that VPC, for the data checks (Lambda manages the
  # function's network interfaces with the role: module "function").
  vpc_config = local.drill_vpc == null ? null : {
    subnet_ids         = local.drill_vpc.subnet_ids
    security_group_ids = [module.drill_network[0].tester_security_group_id]
  }

  policy_json          = data.aws_iam_policy_document.drill_tester.json
  managed_policy_jsons = module.drill_rights.policies

  # The 5-minute poll, and the restore requests of this account's default
  # bus (whoever may put them there: this account's administrators).
  schedules      = { poll = var.drill_schedule }
  event_patterns = { request = jsonencode({ source = ["rempart"], "detail-type" = ["Rempart Restore Request"] }) }

  log_retention_in_days = var.log_retention_in_days
  kms_key_arn           = aws_kms_key.vault.arn
  alarm_actions         = var.alarm_actions

  tags = var.tags
}

################################################################################
# The drill tester's network (drill_vpc, modules/tester_network), as the DR
# drill tester's: the function in the VPC's subnets, the drilled copies in
# a DB subnet group of the same subnets, and a security group each: the
# copies admit only the drill tester, on the PostgreSQL port; the tester
# reaches them and the AWS APIs (HTTPS), nothing else.
################################################################################

module "drill_network" {
  source = "../tester_network"
  count  = local.drill_vpc == null ? 0 : 1

  vpc = local.drill_vpc
  tester = {
    name        = local.drill_tester_name
    description = "Rempart vault drill tester: HTTPS to the AWS APIs, PostgreSQL to the drilled copies"
  }
  copies = {
    name        = "${var.name}-vault-drilled"
    description = "Rempart vault drills' copies: PostgreSQL from the vault drill tester only"
  }
  rule_descriptions = {
    https       = "HTTPS to the AWS APIs (RDS, Secrets Manager, EC2, ElastiCache, S3, DynamoDB, SNS, SSM, STS), through NAT or VPC endpoints"
    to_copies   = "The drilled copies' PostgreSQL"
    from_tester = "PostgreSQL from the vault drill tester"
  }
  subnet_group = var.drill_subnet_group != null ? null : {
    name        = "${var.name}-vault-drills"
    description = "Rempart vault drills' throw-away copies"
  }

  tags = var.tags
}
