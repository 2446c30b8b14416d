################################################################################
# Who hears what: the events topic's subscriptions per audience (filtered on
# the message attributes Rempart sets on every announcement: kind, severity,
# schema), the on-call tier topics, and the Slack secret.
################################################################################

locals {
  # SNS filter policies on message attributes: a subscription receives a
  # message only when every listed attribute matches one of its values.
  event_filter_policies = {
    for name, s in var.event_subscriptions : name => jsonencode(merge(
      { schema = s.schemas },
      length(s.severities) > 0 ? { severity = s.severities } : {},
      # Exact kinds and prefixes in one list ("kind": ["copy.completed",
      # {"prefix": "snapshot."}]): built as JSON, the two element types
      # cannot share a Terraform list.
      length(s.kinds) + length(s.kind_prefixes) > 0 ? {
        kind = jsondecode(format("[%s]", join(",", concat(
          [for k in s.kinds : jsonencode(k)],
          [for p in s.kind_prefixes : jsonencode({ prefix = p })],
        ))))
      } : {},
    ))
  }
}

resource "aws_sns_topic_subscription" "events" {
  for_each = var.event_subscriptions

  topic_arn            = aws_sns_topic.events.arn
  protocol             = each.value.protocol
  endpoint             = each.value.endpoint
  raw_message_delivery = contains(["sqs", "firehose", "http", "https"], each.value.protocol) ? each.value.raw_message_delivery : null
  filter_policy        = local.event_filter_policies[each.key]
  filter_policy_scope  = "MessageAttributes"
}

# On-call tiers, in escalation order (e.g. DevOps, lead developer, CTO,
# management): the functions' alarms go to the first; the incident-escalator
# publishes to the next one when a tier does not acknowledge in time.
resource "aws_sns_topic" "oncall" {
  for_each = toset(var.oncall_tiers)

  name              = "${var.name}-oncall-${each.key}"
  display_name      = "Rempart on-call: ${each.key}"
  kms_master_key_id = aws_kms_key.this.arn

  tags = merge(local.tags, { "rempart:oncall-tier" = tostring(index(var.oncall_tiers, each.key) + 1) })
}

data "aws_iam_policy_document" "oncall" {
  for_each = aws_sns_topic.oncall

  statement {
    sid       = "AccountPublishes"
    actions   = ["sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes"]
    resources = [each.value.arn]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "AlarmsOfThisAccountPublish"
    actions   = ["sns:Publish"]
    resources = [each.value.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "oncall" {
  for_each = aws_sns_topic.oncall

  arn    = each.value.arn
  policy = data.aws_iam_policy_document.oncall[each.key].json
}

resource "aws_sns_topic_subscription" "oncall" {
  for_each = { for s in var.oncall_subscriptions : "${s.tier}/${s.protocol}/${s.endpoint}" => s }

  topic_arn = aws_sns_topic.oncall[each.value.tier].arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}

# The Slack credentials of the slack-notifier (slack_notifier.tf). Terraform
# creates the secret only: its value is set outside Terraform, so it is never
# in the state or the plan. A JSON object: incoming webhooks by channel and/or
# a bot token (a webhook wins for its channel; see infra/README.md):
#   aws secretsmanager put-secret-value --secret-id <slack_webhook_secret_arn> \
#     --secret-string '{"webhooks": {"#ops-alerts": "https://hooks.slack.com/services/..."}}'
resource "aws_secretsmanager_secret" "slack_webhook" {
  #checkov:skip=CKV2_AWS_57:Slack incoming-webhook URLs and bot tokens are issued by Slack, not by AWS: a rotation Lambda cannot mint new ones. They are replaced by hand (put-secret-value) when Slack revokes them.
  name                    = "${var.name}/slack-webhook"
  description             = "Rempart: Slack webhooks by channel and/or bot token of the slack-notifier (JSON, set with put-secret-value, never by Terraform)"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.secret_recovery_window_in_days

  tags = local.tags
}
