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

  log_retention_in_days = var.log_retention_in_days
  kms_key_arn           = aws_kms_key.this.arn
  alarm_actions         = local.alarm_actions

  tags = local.tags
}

resource "aws_lambda_permission" "notifier_sns" {
  statement_id   = "AllowEventsTopic"
  action         = "lambda:InvokeFunction"
  function_name  = module.slack_notifier.function_name
  principal      = "sns.amazonaws.com"
  source_arn     = aws_sns_topic.events.arn
  source_account = local.account_id
}

# What SNS could not deliver to the function, kept 14 days.
resource "aws_sqs_queue" "notifier_sns_dlq" {
  name                              = "${local.notifier_name}-sns-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = aws_kms_key.this.arn
  kms_data_key_reuse_period_seconds = 300

  tags = local.tags
}

data "aws_iam_policy_document" "notifier_sns_dlq" {
  statement {
    sid       = "EventsTopicDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.notifier_sns_dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.events.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "notifier_sns_dlq" {
  queue_url = aws_sqs_queue.notifier_sns_dlq.id
  policy    = data.aws_iam_policy_document.notifier_sns_dlq.json
}

# Every announcement: the policy document decides which go to which channel.
resource "aws_sns_topic_subscription" "notifier" {
  topic_arn      = aws_sns_topic.events.arn
  protocol       = "lambda"
  endpoint       = module.slack_notifier.function_arn
  redrive_policy = jsonencode({ deadLetterTargetArn = aws_sqs_queue.notifier_sns_dlq.arn })

  depends_on = [aws_lambda_permission.notifier_sns, aws_sqs_queue_policy.notifier_sns_dlq]
}

resource "aws_cloudwatch_metric_alarm" "notifier_sns_dlq" {
  alarm_name          = "${local.notifier_name}-sns-dlq-not-empty"
  alarm_description   = "Announcements SNS could not deliver to ${local.notifier_name} are waiting in ${aws_sqs_queue.notifier_sns_dlq.name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.notifier_sns_dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = local.tags
}
