################################################################################
# slack-notifier: posts the events topic's announcements to Slack, to the
# channels the policy document's [notifications] section routes them to,
# with the webhooks or bot token of the Slack secret (notifications.tf).
#
# Failures are kept, never dropped:
#   * a message Slack refuses fails the invocation: Lambda retries it twice
#     (SNS invokes asynchronously), then puts it in the function's
#     dead-letter queue (module: on_failure destination, alarm);
#   * a message SNS cannot hand to Lambda at all (function deleted,
#     permission missing, throttled beyond SNS's retries) goes to the
#     subscription's own dead-letter queue (redrive policy, below, alarm).
################################################################################

data "aws_iam_policy_document" "notifier" {
  statement {
    sid       = "ReadPolicyDocument"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.policy.arn]
  }

  statement {
    sid       = "ReadSlackSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.slack_webhook.arn]
  }

  # The policy parameter and the Slack secret are both under the Rempart key.
  statement {
    sid       = "DecryptPolicyAndSlackSecret"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ssm.${local.region}.amazonaws.com", "secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

module "slack_notifier" {
  source = "./modules/function"

  function_name = local.notifier_name
  description   = "Rempart: posts the events topic's announcements to Slack, routed by the policy document's [notifications]"
  zip_file      = "${local.zip_dir}/slack-notifier/bootstrap.zip"
  architecture  = var.architecture
  memory_size   = var.memory_size
  timeout       = var.slack_notifier_timeout

  # Unreserved by default: SNS invokes once per message and Slack's pace
  # (one message a second per channel) is kept per container.
  reserved_concurrent_executions = var.slack_notifier_reserved_concurrency == null ? -1 : var.slack_notifier_reserved_concurrency

  environment_variables = {
    REMPART_POLICY           = local.common_environment.REMPART_POLICY
    REMPART_SLACK_SECRET_ARN = aws_secretsmanager_secret.slack_webhook.arn
    RUST_LOG                 = var.rust_log
  }

  policy_json = data.aws_iam_policy_document.notifier.json
  sns_topic   = { name = "events", arn = aws_sns_topic.events.arn }

  log_retention_in_days = var.log_retention_in_days
  kms_key_arn           = aws_kms_key.this.arn
  alarm_actions         = local.alarm_actions

  tags = local.tags
}

# The slack-notifier's subscription to the events topic (every
# announcement: the policy document decides which go to which channel), its
# dead-letter queue and that queue's alarm are modules/function's sns_topic.
moved {
  from = aws_lambda_permission.notifier_sns
  to   = module.slack_notifier.aws_lambda_permission.sns[0]
}

moved {
  from = aws_sqs_queue.notifier_sns_dlq
  to   = module.slack_notifier.aws_sqs_queue.sns_dlq[0]
}

moved {
  from = aws_sqs_queue_policy.notifier_sns_dlq
  to   = module.slack_notifier.aws_sqs_queue_policy.sns_dlq[0]
}

moved {
  from = aws_sns_topic_subscription.notifier
  to   = module.slack_notifier.aws_sns_topic_subscription.this[0]
}

moved {
  from = aws_cloudwatch_metric_alarm.notifier_sns_dlq
  to   = module.slack_notifier.aws_cloudwatch_metric_alarm.sns_dlq[0]
}
