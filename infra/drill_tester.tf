################################################################################
# drill-tester: the restore-tester deployed in dr_region
# (REMPART_TESTER_MODE=drills) for the policy's `[drills]`: every
# `drill_schedule` (default 5 minutes) it follows the drills in progress and,
# on the drills' frequency (default twice a year), restores the newest DR
# copy of each resource of the drilled policies found in its region (DB
# snapshots, cluster snapshots, EBS snapshots copied by the
# snapshot-replicator, `rempart:copy-of`) into a throw-away
# `rempart-rt-<resource>-<yyyymmddhhmm>` tagged `rempart:restore-test` and
# `rempart:drill=<the resource's region>`, runs the restore tests' checks
# (the data checks of RDS instances too, with the copy's own master secret,
# when drill_vpc puts the function next to the copies), measures the time
# from start to checked (the region-failover RTO), deletes it, records
# `drill.succeeded` / `drill.failed` (`drill.slow` beyond the alert
# threshold) on the resource's registry key and announces it on the events
# topic, where the incident-escalator opens an incident for a failed or slow
# drill. A policy without `[drills]`: each tick reads the policy and does
# nothing.
#
# The registry table, the events topic and the policy parameter stay in the
# primary region (REMPART_HOME_REGION). The role has the restore tester's
# rights (modules/restore_rights) in dr_region only, with the DR key (the
# copies' key) instead of the databases' keys. A Redis resource's DR copy
# is the `.rdb` export in the DR bucket: its drill seeds a `rempart-rt-*`
# group with those files (CreateReplicationGroup, SnapshotArns), which
# ElastiCache reads with its own service principal.
#
# Its errors, throttles and dead letters alarm in dr_region, on the topic
# `<name>-drill-alarms` there, to which the incident-escalator (in the
# primary region) is subscribed.
################################################################################

locals {
  drill_name              = "${var.name}-drill-tester"
  drill_rds_arn           = "arn:${local.partition}:rds:${var.dr_region}:${local.account_id}"
  drill_subnet_group_name = coalesce(var.drill_subnet_group, var.drill_vpc == null ? "default" : "${var.name}-drills")
  drill_tag_keys          = concat(local.tester_test_tag_keys, ["rempart:drill"])
}

data "aws_iam_policy_document" "drill_tester" {
  # The policy parameter, sns:Publish on the events topic, and the Rempart
  # key through SNS, DynamoDB and SSM (all in the primary region).
  source_policy_documents = [data.aws_iam_policy_document.common.json]

  # The drills in progress: one DescribeDBInstances and one
  # DescribeDBClusters listing of the DR region (tags included).
  statement {
    sid       = "ListDrillCopies"
    actions   = ["rds:DescribeDBInstances", "rds:DescribeDBClusters"]
    resources = ["${local.drill_rds_arn}:db:*", "${local.drill_rds_arn}:cluster:*"]
  }

  # The DR copies (manual DB and cluster snapshots of the DR region, tags
  # included, filtered on rempart:managed and rempart:copy-of), and the
  # drilled copy by identifier before it is restored and tagged.
  statement {
    sid       = "ListDrCopies"
    actions   = ["rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots"]
    resources = ["${local.drill_rds_arn}:snapshot:*", "${local.drill_rds_arn}:cluster-snapshot:*"]
  }

  # A volume restored from an EBS copy goes to the DR region's first
  # available zone (the volume's own zone is in the primary region). EC2's
  # describes have no resource-level permissions.
  statement {
    sid       = "ListZones"
    actions   = ["ec2:DescribeAvailabilityZones"]
    resources = ["*"]
  }

  # Redis drills: the primary region's Rempart ElastiCache snapshots (their
  # `rempart:dr-copy:<dr_region>` tag says where their export reached the
  # DR bucket), read only.
  statement {
    sid       = "ReadPrimaryRedisSnapshots"
    actions   = ["elasticache:DescribeSnapshots", "elasticache:ListTagsForResource"]
    resources = ["arn:${local.partition}:elasticache:${local.region}:${local.account_id}:snapshot:*"]
  }

  # ... and the export's .rdb files in the DR bucket (listed by prefix; the
  # new group is seeded by ElastiCache itself, which reads them with its own
  # principal: the bucket's and the DR key's policies).
  dynamic "statement" {
    for_each = var.dr_backup_bucket == null ? [] : [1]

    content {
      sid       = "ListDrBucketExports"
      actions   = ["s3:ListBucket"]
      resources = ["arn:${local.partition}:s3:::${var.dr_backup_bucket}"]
    }
  }

  # The resource's history (Query: a drill finished this half-year?) and
  # its records, written once (PutItem with attribute_not_exists), in the
  # primary region's registry.
  statement {
    sid       = "RegistryHistoryAndRecords"
    actions   = ["dynamodb:Query", "dynamodb:PutItem"]
    resources = [aws_dynamodb_table.registry.arn]
  }
}

# The restore rights in the DR region: the copies are `rempart-*` snapshots
# there (the replicator keeps the source's name), under the DR key; Redis
# groups `rempart-rt-*` are seeded with the DR bucket's files.
module "drill_rights" {
  source = "./modules/restore_rights"

  partition         = local.partition
  region            = var.dr_region
  account_id        = local.account_id
  subnet_group_name = local.drill_subnet_group_name
  tag_keys          = local.drill_tag_keys
  key_arns          = [aws_kms_key.dr.arn]
}

module "drill_tester" {
  source    = "./modules/function"
  providers = { aws = aws.dr }
  count     = var.drills_enabled ? 1 : 0

  function_name = local.drill_name
  description   = "Rempart: DR drills, twice a year by default: the newest DR copy of each drilled resource restored in ${var.dr_region}, checked, timed (region-failover RTO), deleted"
  zip_file      = "${local.zip_dir}/restore-tester/bootstrap.zip"
  architecture  = var.architecture
  memory_size   = var.memory_size
  timeout       = var.restore_tester_timeout

  environment_variables = merge(local.common_environment, {
    REMPART_TESTER_MODE = "drills"
    REMPART_HOME_REGION = local.region
    }, var.drill_vpc == null ? {} : {
    REMPART_RESTORE_TEST_SUBNET_GROUP    = local.drill_subnet_group_name
    REMPART_RESTORE_TEST_SECURITY_GROUPS = module.drill_network[0].copies_security_group_id
    }, var.restore_test_db_ca_file == null ? {} : {
    REMPART_DB_CA_FILE = "/var/task/${var.restore_test_db_ca_file}"
  })

  vpc_config = var.drill_vpc == null ? null : {
    subnet_ids         = var.drill_vpc.subnet_ids
    security_group_ids = [module.drill_network[0].tester_security_group_id]
  }

  policy_json          = data.aws_iam_policy_document.drill_tester.json
  managed_policy_jsons = module.drill_rights.policies

  schedules = { poll = var.drill_schedule }

  log_retention_in_days = var.log_retention_in_days
  kms_key_arn           = aws_kms_key.dr.arn
  alarm_actions         = [for t in aws_sns_topic.drill_alarms : t.arn]

  tags = local.tags
}

# CloudWatch alarms act only on topics of their own region: the drill
# tester's alarm on this one, which the incident-escalator reads like the
# primary region's alarms.
resource "aws_sns_topic" "drill_alarms" {
  provider = aws.dr
  count    = var.drills_enabled ? 1 : 0

  name              = "${var.name}-drill-alarms"
  display_name      = "Rempart drill tester alarms"
  kms_master_key_id = aws_kms_key.dr.arn

  tags = local.tags
}

resource "aws_sns_topic_subscription" "drill_alarms_to_escalator" {
  provider = aws.dr
  count    = var.drills_enabled ? 1 : 0

  topic_arn = aws_sns_topic.drill_alarms[0].arn
  protocol  = "lambda"
  endpoint  = module.incident_escalator.function_arn
}

resource "aws_lambda_permission" "drill_alarms_to_escalator" {
  count = var.drills_enabled ? 1 : 0

  statement_id  = "drill-alarms"
  action        = "lambda:InvokeFunction"
  function_name = module.incident_escalator.function_name
  principal     = "sns.amazonaws.com"
  source_arn    = aws_sns_topic.drill_alarms[0].arn
}

################################################################################
# The drill tester's network in the DR region (drill_vpc, modules/
# tester_network): as the restore-tester's, the function in the VPC's
# subnets, the drilled copies in a DB subnet group of the same subnets, and
# a security group each: the copies admit only the drill tester, on the
# PostgreSQL port.
################################################################################

module "drill_network" {
  source    = "./modules/tester_network"
  providers = { aws = aws.dr }
  count     = var.drill_vpc == null ? 0 : 1

  vpc = var.drill_vpc
  tester = {
    name        = "${var.name}-drill-tester"
    description = "Rempart drill tester: HTTPS to the AWS APIs, PostgreSQL to the drilled copies"
  }
  copies = {
    name        = "${var.name}-drilled"
    description = "Rempart DR drills' copies: PostgreSQL from the drill tester only"
  }
  rule_descriptions = {
    https       = "HTTPS to the AWS APIs (RDS, Secrets Manager, EC2 of the DR region; DynamoDB, SNS, SSM of the primary), through NAT or VPC endpoints"
    to_copies   = "The drilled copies' PostgreSQL"
    from_tester = "PostgreSQL from the drill tester"
  }
  subnet_group = var.drill_subnet_group != null ? null : {
    name        = "${var.name}-drills"
    description = "Rempart DR drills' throw-away copies"
  }

  tags = local.tags
}

# Before modules/tester_network, these were resources of this file: moved,
# not replaced.
moved {
  from = aws_security_group.drill_tester[0]
  to   = module.drill_network[0].aws_security_group.tester
}

moved {
  from = aws_security_group.drill_restored[0]
  to   = module.drill_network[0].aws_security_group.copies
}

moved {
  from = aws_vpc_security_group_egress_rule.drill_https[0]
  to   = module.drill_network[0].aws_vpc_security_group_egress_rule.https
}

moved {
  from = aws_vpc_security_group_egress_rule.drill_postgres[0]
  to   = module.drill_network[0].aws_vpc_security_group_egress_rule.postgres
}

moved {
  from = aws_vpc_security_group_ingress_rule.drilled_from_tester[0]
  to   = module.drill_network[0].aws_vpc_security_group_ingress_rule.from_tester
}

moved {
  from = aws_db_subnet_group.drills[0]
  to   = module.drill_network[0].aws_db_subnet_group.copies[0]
}
