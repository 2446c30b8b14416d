################################################################################
# incident-escalator: opens, escalates and resolves incidents, kept in the
# incidents table (one open incident per key, written only by conditional
# writes on its version), and pages the on-call tier topics in escalation
# order. Its inputs:
#   * every CloudWatch alarm's state change of this account and region
#     (EventBridge rule `alarms`, optionally narrowed to alarm-name prefixes);
#   * the human events of `rempart incident ack|client-notified|update`
#     (EventBridge rule `human`, source `rempart`, default bus);
#   * the minute tick (schedule `tick`): deadlines, escalations, reminders;
#   * Rempart's failure announcements and the successes that resolve them
#     (SNS subscription to the events topic, filtered on `kind`, below).
#
# The escalator also understands an alarm action's SNS notification, but it
# is NOT subscribed to the on-call tier topics (or any alarm topic): the
# `alarms` rule already delivers every alarm's state change, so a second
# delivery of the same change would be harmless (the store makes it a
# no-op) but useless work; on the tier topics it would also bring back the
# escalator's own pages (ignored). The SNS path is for alarms whose state
# changes never reach this account's default bus (another account's alarm
# actions publishing to a topic here), which this deployment does not set up.
#
# No reserved concurrency by default: concurrent invocations (50 deliveries
# of one alarm, a tick during an acknowledgement) are safe, every write being
# conditional on the version read and retried when it loses.
################################################################################

locals {
  # The tier topics, in escalation order (REMPART_ONCALL_TIERS: tier=ARN).
  oncall_topic_arns = [for t in var.oncall_tiers : aws_sns_topic.oncall[t].arn]

  # The announcements that open an incident (failures) or resolve it (the
  # job's next success); the escalator ignores every other kind, and its
  # own `incident.*` announcements must not come back to it.
  escalator_announcement_kinds = [
    "snapshot.failed",
    "snapshot.created",
    "copy.failed",
    "copy.blocked",
    "copy.started",
    "copy.completed",
    "restore.failed",
    "restore.succeeded",
    # DR drills (the drill tester) and Multi-AZ failover drills (the
    # restore-tester).
    "drill.failed",
    "drill.slow",
    "drill.succeeded",
    "failover.failed",
    "failover.slow",
    "failover.refused",
    "failover.succeeded",
    # The backup-auditor's verdict per resource: a breach opens an audit
    # incident, a later pass resolves it. Its region-level findings
    # (`audit.finding`) open none and are not delivered.
    "audit.breach",
    "audit.passed",
    # Coverage: a resource no policy protects opens an incident; tagging it,
    # excluding it with a reason or deleting it resolves it.
    "coverage.unprotected",
    "coverage.cleared",
  ]

  escalator_event_patterns = {
    # ALARM opens an incident and OK starts its resolution; other states
    # (INSUFFICIENT_DATA) change nothing, so they are not delivered.
    alarms = jsonencode({
      source        = ["aws.cloudwatch"]
      "detail-type" = ["CloudWatch Alarm State Change"]
      detail = merge(
        { state = { value = ["ALARM", "OK"] } },
        length(var.incident_alarm_name_prefixes) > 0 ? { alarmName = [for p in var.incident_alarm_name_prefixes : { prefix = p }] } : {},
      )
    })
    human = jsonencode({
      source        = ["rempart"]
      "detail-type" = ["Rempart Incident Acknowledgement", "Rempart Incident Client Notified", "Rempart Incident Status Update", "Rempart Incident Audience Notified", "Rempart Incident Audience Declared"]
    })
  }
}

resource "aws_dynamodb_table" "incidents" {
  name                        = "${var.name}-incidents"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = var.incidents_deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.this.arn
  }

  tags = local.tags
}

data "aws_iam_policy_document" "escalator" {
  # The policy parameter, sns:Publish on the events topic, and the Rempart
  # key through SNS, DynamoDB and SSM: the table, the events topic and the
  # tier topics are all under that key (publishing to an encrypted topic
  # needs kms:GenerateDataKey and kms:Decrypt on its key).
  source_policy_documents = [data.aws_iam_policy_document.common.json]

  # GetItem (an open incident), Query (all open ones; closed ones of a key
  # since a date), PutItem (conditional on the version). Closing is a
  # TransactWriteItems of a conditional Delete and a Put: IAM has no action
  # for the transaction, each part is authorized as DeleteItem and PutItem
  # (dynamodb:ConditionCheckItem would only be needed for a ConditionCheck
  # part, which the escalator does not use).
  statement {
    sid       = "IncidentsReadWrite"
    actions   = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem"]
    resources = [aws_dynamodb_table.incidents.arn]
  }

  dynamic "statement" {
    for_each = length(local.oncall_topic_arns) > 0 ? [1] : []

    content {
      sid       = "PageOncallTiers"
      actions   = ["sns:Publish"]
      resources = local.oncall_topic_arns
    }
  }
}

module "incident_escalator" {
  source = "./modules/function"

  function_name = local.escalator_name
  description   = "Rempart: opens, escalates and resolves incidents from alarms and failures; pages the on-call tiers"
  zip_file      = "${local.zip_dir}/incident-escalator/bootstrap.zip"
  architecture  = var.architecture
  memory_size   = var.memory_size
  timeout       = var.incident_escalator_timeout

  reserved_concurrent_executions = var.incident_escalator_reserved_concurrency == null ? -1 : var.incident_escalator_reserved_concurrency

  environment_variables = {
    REMPART_POLICY           = local.common_environment.REMPART_POLICY
    REMPART_INCIDENTS_TABLE  = aws_dynamodb_table.incidents.name
    REMPART_EVENTS_TOPIC_ARN = aws_sns_topic.events.arn
    REMPART_ONCALL_TIERS     = join(",", [for t in var.oncall_tiers : "${t}=${aws_sns_topic.oncall[t].arn}"])
    # OpenIncidents, in the dashboard's namespace.
    REMPART_METRICS_NAMESPACE = var.metrics_namespace
    RUST_LOG                  = var.rust_log
  }

  policy_json = data.aws_iam_policy_document.escalator.json

  # Only the announcements that open or resolve incidents.
  sns_topic = {
    name                = "events"
    arn                 = aws_sns_topic.events.arn
    filter_policy       = jsonencode({ kind = local.escalator_announcement_kinds })
    filter_policy_scope = "MessageAttributes"
  }

  schedules      = { tick = var.incident_tick_schedule }
  event_patterns = local.escalator_event_patterns

  log_retention_in_days = var.log_retention_in_days
  kms_key_arn           = aws_kms_key.this.arn
  alarm_actions         = local.alarm_actions

  tags = local.tags
}

# The escalator's filtered subscription to the events topic, its
# dead-letter queue (a lost failure announcement would be an incident never
# opened; SNS may use the Rempart key for it: key policy statement
# SnsDeadLettersFromEventsTopic) and that queue's alarm are
# modules/function's sns_topic.
moved {
  from = aws_lambda_permission.escalator_sns
  to   = module.incident_escalator.aws_lambda_permission.sns[0]
}

moved {
  from = aws_sqs_queue.escalator_sns_dlq
  to   = module.incident_escalator.aws_sqs_queue.sns_dlq[0]
}

moved {
  from = aws_sqs_queue_policy.escalator_sns_dlq
  to   = module.incident_escalator.aws_sqs_queue_policy.sns_dlq[0]
}

moved {
  from = aws_sns_topic_subscription.escalator
  to   = module.incident_escalator.aws_sns_topic_subscription.this[0]
}

moved {
  from = aws_cloudwatch_metric_alarm.escalator_sns_dlq
  to   = module.incident_escalator.aws_cloudwatch_metric_alarm.sns_dlq[0]
}

