################################################################################
# backup-auditor: every `audit_schedule` (default hourly), checks every
# resource tagged with a policy against it: RPO age of the newest snapshot,
# DR copies per DR region, encryption, promised tiers, RDS manual-snapshot
# quota, snapshots whose resource is gone. It only reads AWS resources; it
# writes its findings to the registry (conditional PutItem, once per record)
# and announces them on the events topic (`audit.breach`, `audit.passed`,
# `audit.finding`), where the incident-escalator opens and resolves audit
# incidents (incident_escalator.tf) and the slack-notifier posts them.
#
# Its metrics (RpoAgeSeconds, DrCopyLagSeconds, Coverage; namespace Rempart,
# dimension Resource) are lines in CloudWatch's embedded metric format on
# stdout: CloudWatch Logs extracts them from the function's log group, so the
# role needs no cloudwatch:PutMetricData.
#
# Coverage: every RDS instance, Aurora cluster, EBS volume and Redis group
# or cluster of the kinds the policy's `[coverage]` requires, in the primary
# and DR regions, is classed protected, excluded or unprotected; a resource
# newly unprotected is announced (`coverage.unprotected`, an incident), and
# again when it is tagged, excluded or deleted (`coverage.cleared`). Metric
# UnprotectedResources (dimension Resource = `coverage`, `coverage@<region>`).
# The previous audit's classes are read back from the registry (one Query).
#
# Monitoring: with `[monitoring]`, CloudWatch alarms `rempart-monitor-*` on
# every protected resource (thresholds per kind), created, updated and
# deleted as resources come and go; without it, Rempart's are removed.
#
# A listing that fails fails the run (an audit on partial data would report
# false breaches): Lambda retries it twice, then it goes to the dead-letter
# queue, whose alarm fires (module).
################################################################################

locals {
  # Protected resources are listed in the primary region, and for coverage
  # every resource in the primary and DR regions; snapshots and DR copies
  # in the primary region and the DR region. A `[coverage] regions` list
  # naming another region is refused by IAM (the audit fails loudly). The policy document's
  # DR entries must name `dr_region` (variables.tf): a DR region not listed
  # here is refused by IAM, and the audit fails loudly rather than report
  # copies missing.
  auditor_regions = [local.region, var.dr_region]
}

data "aws_iam_policy_document" "auditor" {
  # The policy parameter (ssm:GetParameter), sns:Publish on the events topic,
  # and the Rempart key through SNS, DynamoDB and SSM only (the topic, the
  # registry and the parameter are under it).
  source_policy_documents = [data.aws_iam_policy_document.common.json]

  # RDS and ElastiCache authorize these Describe/List actions per resource
  # (Service Authorization Reference: DescribeDBInstances `db`,
  # DescribeDBClusters `cluster`, DescribeReplicationGroups `replicationgroup`,
  # DescribeCacheClusters `cluster`, ListTagsForResource on the resource
  # listed): the account's resources of the audited regions, of those types.
  statement {
    sid     = "ListRdsResources"
    actions = ["rds:DescribeDBInstances", "rds:DescribeDBClusters"]
    resources = flatten([for r in local.auditor_regions : [
      "arn:${local.partition}:rds:${r}:${local.account_id}:db:*",
      "arn:${local.partition}:rds:${r}:${local.account_id}:cluster:*",
    ]])
  }

  # ElastiCache's describe calls return no tags: one ListTagsForResource per
  # replication group or standalone cluster, to find the policy tag.
  statement {
    sid = "ListElastiCacheResources"
    actions = [
      "elasticache:DescribeReplicationGroups",
      "elasticache:DescribeCacheClusters",
      "elasticache:ListTagsForResource",
    ]
    resources = flatten([for r in local.auditor_regions : [
      "arn:${local.partition}:elasticache:${r}:${local.account_id}:replicationgroup:*",
      "arn:${local.partition}:elasticache:${r}:${local.account_id}:cluster:*",
    ]])
  }

  # Snapshots (Rempart's, and for the quota every manual DB snapshot) and
  # their DR copies: DescribeDBSnapshots `snapshot`,
  # DescribeDBClusterSnapshots `cluster-snapshot`, ElastiCache
  # DescribeSnapshots and ListTagsForResource `snapshot` (the
  # `rempart:dr-copy:<region>` tags of Redis snapshots).
  statement {
    sid     = "ListRdsSnapshots"
    actions = ["rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots"]
    resources = flatten([for r in local.auditor_regions : [
      "arn:${local.partition}:rds:${r}:${local.account_id}:snapshot:*",
      "arn:${local.partition}:rds:${r}:${local.account_id}:cluster-snapshot:*",
    ]])
  }

  statement {
    sid       = "ListElastiCacheSnapshots"
    actions   = ["elasticache:DescribeSnapshots", "elasticache:ListTagsForResource"]
    resources = [for r in local.auditor_regions : "arn:${local.partition}:elasticache:${r}:${local.account_id}:snapshot:*"]
  }

  # EC2's Describe actions support no resource-level permissions: "*",
  # limited to the regions audited.
  statement {
    sid       = "ListEbsVolumes"
    actions   = ["ec2:DescribeVolumes"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = local.auditor_regions
    }
  }

  statement {
    sid       = "ListEbsSnapshots"
    actions   = ["ec2:DescribeSnapshots"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = local.auditor_regions
    }
  }

  # Monitoring (`[monitoring]`): the alarms of the protected resources,
  # kept in step every audit. DescribeAlarms authorizes on `alarm:*` (it
  # reads, by name prefix); writing, tagging at creation and deleting only
  # Rempart's alarms, `rempart-monitor-*`: no other alarm of the account
  # can be changed or removed (probes). The alarms have no action: their
  # state changes reach the incident-escalator by EventBridge.
  statement {
    sid       = "ReadAlarms"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:*"]
  }

  statement {
    sid       = "KeepMonitoringAlarms"
    actions   = ["cloudwatch:PutMetricAlarm", "cloudwatch:TagResource", "cloudwatch:DeleteAlarms"]
    resources = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:rempart-monitor-*"]
  }

  # Monitoring a Redis group: its nodes, as listed (DescribeReplicationGroups, above).

  # Replication (`[buckets.replication]`): each bucket's replication
  # configuration, and the replication metrics S3 publishes (metric reads
  # have no resource-level permission).
  dynamic "statement" {
    for_each = length(local.backup_bucket_names) > 0 ? [1] : []

    content {
      sid       = "ReadBucketReplication"
      actions   = ["s3:GetReplicationConfiguration"]
      resources = local.backup_bucket_arns
    }
  }

  statement {
    sid       = "ReadReplicationMetrics"
    actions   = ["cloudwatch:GetMetricStatistics"]
    resources = ["*"]
  }

  # Findings are recorded once (PutItem with attribute_not_exists), and the
  # previous coverage audit is read back (Query): no update or delete.
  statement {
    sid       = "RecordFindings"
    actions   = ["dynamodb:PutItem", "dynamodb:Query"]
    resources = [aws_dynamodb_table.registry.arn]
  }
}

module "backup_auditor" {
  source = "./modules/function"

  function_name = local.auditor_name
  description   = "Rempart: hourly audit of every protected resource against its policy (RPO, DR copies, encryption, tiers, quota)"
  zip_file      = "${local.zip_dir}/backup-auditor/bootstrap.zip"
  architecture  = var.architecture
  memory_size   = var.memory_size
  timeout       = var.backup_auditor_timeout

  # REMPART_POLICY, REMPART_REGISTRY_TABLE, REMPART_EVENTS_TOPIC_ARN, RUST_LOG.
  # With bucket_replicas, Rempart's replication role: a bucket replicating
  # with another role is audited as misconfigured.
  environment_variables = merge(local.common_environment, local.replicate ? { REMPART_REPLICATION_ROLE_ARN = local.replication_role_arn } : {})

  policy_json = data.aws_iam_policy_document.auditor.json

  schedules = { audit = var.audit_schedule }

  log_retention_in_days = var.log_retention_in_days
  kms_key_arn           = aws_kms_key.this.arn
  alarm_actions         = local.alarm_actions

  tags = local.tags
}
