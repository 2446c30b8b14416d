data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  log_group_name = "/aws/lambda/${var.function_name}"
  log_group_arn  = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:${local.log_group_name}"

  # The function's ARN, built: the role's policies exist before the function
  # (depends_on below), so a reference would be a cycle.
  function_arn = "arn:${data.aws_partition.current.partition}:lambda:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:function:${var.function_name}"

  rules = merge(
    { for k, s in var.schedules : k => { schedule_expression = s, event_pattern = null, description = "Runs ${var.function_name} on ${s}" } },
    { for k, p in var.event_patterns : k => { schedule_expression = null, event_pattern = p, description = "Sends matching events to ${var.function_name}" } },
  )
}

################################################################################
# IAM role
################################################################################

data "aws_iam_policy_document" "assume_role" {
  statement {
    sid     = "LambdaAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name                  = var.function_name
  description           = "Execution role of the Rempart function ${var.function_name}"
  assume_role_policy    = data.aws_iam_policy_document.assume_role.json
  force_detach_policies = true

  tags = var.tags
}

resource "aws_iam_role_policy" "function" {
  name   = "${var.function_name}-function"
  role   = aws_iam_role.this.id
  policy = var.policy_json
}

# The function's rights by concern, as customer managed policies (6,144
# characters each, 10 per role by default) where one inline document could
# outgrow IAM's 10,240 characters for all of a role's inline policies.
resource "aws_iam_policy" "concern" {
  for_each = var.managed_policy_jsons

  name        = "${var.function_name}-${each.key}"
  description = "Rempart ${var.function_name}: ${each.key}"
  policy      = each.value

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "concern" {
  for_each = aws_iam_policy.concern

  role       = aws_iam_role.this.name
  policy_arn = each.value.arn
}

data "aws_iam_policy_document" "runtime" {
  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }

  # X-Ray's trace-writing actions support no resource-level permissions.
  dynamic "statement" {
    for_each = var.tracing_mode == "Active" ? [1] : []

    content {
      sid       = "WriteTraces"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }

  # In a VPC, Lambda creates, describes and deletes the function's network
  # interfaces with the execution role's credentials
  # (AWSLambdaVPCAccessExecutionRole's actions). Creation is scoped to the
  # function's subnets and security groups and to new interfaces; the
  # Describe* actions support no resource-level permissions; deletion and
  # address assignment act on interfaces only.
  dynamic "statement" {
    for_each = var.vpc_config == null ? [] : [1]

    content {
      sid     = "CreateNetworkInterfacesInTheFunctionsSubnets"
      actions = ["ec2:CreateNetworkInterface"]
      resources = concat(
        ["arn:${data.aws_partition.current.partition}:ec2:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:network-interface/*"],
        [for s in var.vpc_config.subnet_ids : "arn:${data.aws_partition.current.partition}:ec2:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:subnet/${s}"],
        [for g in var.vpc_config.security_group_ids : "arn:${data.aws_partition.current.partition}:ec2:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:security-group/${g}"],
      )
    }
  }

  dynamic "statement" {
    for_each = var.vpc_config == null ? [] : [1]

    content {
      sid       = "DescribeNetworkInterfaces"
      actions   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = var.vpc_config == null ? [] : [1]

    content {
      sid       = "ManageTheFunctionsNetworkInterfaces"
      actions   = ["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
      resources = ["arn:${data.aws_partition.current.partition}:ec2:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:network-interface/*"]
    }
  }

  statement {
    sid       = "SendToDeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  # Lambda decrypts the environment variables at every cold start with the
  # execution role's credentials (KMSAccessDeniedException at invocation
  # otherwise): Decrypt on the function's key, only for the ciphertext Lambda
  # made for this function (encryption context aws:lambda:FunctionArn). No
  # kms:ViaService condition: the scoping is the encryption context, and the
  # statement holds whether or not AWS sets kms:ViaService on that call.
  dynamic "statement" {
    for_each = var.kms_key_arn != null && length(var.environment_variables) > 0 ? [1] : []

    content {
      sid       = "DecryptEnvironment"
      actions   = ["kms:Decrypt"]
      resources = [var.kms_key_arn]

      condition {
        test     = "StringEquals"
        variable = "kms:EncryptionContext:aws:lambda:FunctionArn"
        values   = [local.function_arn]
      }
    }
  }

  dynamic "statement" {
    for_each = var.kms_key_arn != null ? [1] : []

    content {
      sid       = "EncryptDeadLetters"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [var.kms_key_arn]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sqs.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "runtime" {
  name   = "${var.function_name}-runtime"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.runtime.json
}

################################################################################
# Log group
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

################################################################################
# Function
################################################################################

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:vpc_config is null for the functions that call only AWS APIs (public, TLS, SigV4) and reach no VPC resource: a VPC would add NAT or ~10 interface endpoints per region, and network paths to break, for no security gain; the restore-tester, which connects to restored databases, runs in the VPC given by restore_tester_vpc.
  #checkov:skip=CKV_AWS_116:Failed asynchronous invocations go to the SQS queue through the on_failure destination (aws_lambda_function_event_invoke_config below), whose records carry the error and the request, unlike a DLQ's.
  #checkov:skip=CKV_AWS_272:The packages are built by cargo lambda in the deployer's pipeline and uploaded from a local zip; AWS Signer code signing needs a signing profile and signed S3 objects that this deployment path does not have.
  function_name    = var.function_name
  description      = var.description
  role             = aws_iam_role.this.arn
  filename         = var.zip_file
  source_code_hash = filebase64sha256(var.zip_file)
  handler          = var.handler
  runtime          = var.runtime
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.timeout

  reserved_concurrent_executions = var.reserved_concurrent_executions

  # Environment variables at rest (names, not secrets: DESIGN.md keeps
  # secrets out of them) under the Rempart key rather than Lambda's own.
  kms_key_arn = var.kms_key_arn

  tracing_config {
    mode = var.tracing_mode
  }

  dynamic "vpc_config" {
    for_each = var.vpc_config == null ? [] : [var.vpc_config]

    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  dynamic "environment" {
    for_each = length(var.environment_variables) > 0 ? [1] : []

    content {
      variables = var.environment_variables
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  tags = var.tags

  depends_on = [
    aws_iam_role_policy.function,
    aws_iam_role_policy.runtime,
    aws_iam_role_policy_attachment.concern,
  ]
}

################################################################################
# Asynchronous invocations: retries, then the dead-letter queue
################################################################################

resource "aws_sqs_queue" "dlq" {
  name                              = "${var.function_name}-dlq"
  message_retention_seconds         = var.dlq_message_retention_seconds
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_key_arn != null ? 300 : null
  sqs_managed_sse_enabled           = var.kms_key_arn == null ? true : null

  tags = var.tags
}

resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.maximum_retry_attempts
  maximum_event_age_in_seconds = var.maximum_event_age_in_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.dlq.arn
    }
  }
}

################################################################################
# Triggers: EventBridge rules on the default bus
################################################################################

resource "aws_cloudwatch_event_rule" "this" {
  for_each = local.rules

  name                = "${var.function_name}-${each.key}"
  description         = each.value.description
  schedule_expression = each.value.schedule_expression
  event_pattern       = each.value.event_pattern

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = local.rules

  rule      = aws_cloudwatch_event_rule.this[each.key].name
  target_id = "lambda"
  arn       = aws_lambda_function.this.arn
}

resource "aws_lambda_permission" "events" {
  for_each = local.rules

  statement_id   = "AllowEventBridge-${each.key}"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this.function_name
  principal      = "events.amazonaws.com"
  source_arn     = aws_cloudwatch_event_rule.this[each.key].arn
  source_account = data.aws_caller_identity.current.account_id
}

################################################################################
# Alarms
################################################################################

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${var.function_name}-errors"
  alarm_description   = "${var.function_name} returned errors (see its log group and dead-letter queue)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = var.alarm_period
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "throttles" {
  alarm_name          = "${var.function_name}-throttles"
  alarm_description   = "${var.function_name} was throttled."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = var.alarm_period
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dlq" {
  alarm_name          = "${var.function_name}-dlq-not-empty"
  alarm_description   = "Events ${var.function_name} failed to process after its retries are waiting in ${aws_sqs_queue.dlq.name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}
################################################################################
# An SNS topic's deliveries: permission, subscription, and what SNS cannot
# deliver (function gone, permission missing, throttled beyond SNS's
# retries) kept in an encrypted dead-letter queue, with an alarm
################################################################################

resource "aws_lambda_permission" "sns" {
  count = var.sns_topic == null ? 0 : 1

  statement_id   = "Allow${title(var.sns_topic.name)}Topic"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this.function_name
  principal      = "sns.amazonaws.com"
  source_arn     = var.sns_topic.arn
  source_account = data.aws_caller_identity.current.account_id
}

resource "aws_sqs_queue" "sns_dlq" {
  count = var.sns_topic == null ? 0 : 1

  name                              = "${var.function_name}-sns-dlq"
  message_retention_seconds         = var.dlq_message_retention_seconds
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_key_arn != null ? 300 : null
  sqs_managed_sse_enabled           = var.kms_key_arn == null ? true : null

  tags = var.tags
}

data "aws_iam_policy_document" "sns_dlq" {
  count = var.sns_topic == null ? 0 : 1

  statement {
    sid       = "${title(var.sns_topic.name)}TopicDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.sns_dlq[0].arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [var.sns_topic.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "sns_dlq" {
  count = var.sns_topic == null ? 0 : 1

  queue_url = aws_sqs_queue.sns_dlq[0].id
  policy    = data.aws_iam_policy_document.sns_dlq[0].json
}

resource "aws_sns_topic_subscription" "this" {
  count = var.sns_topic == null ? 0 : 1

  topic_arn           = var.sns_topic.arn
  protocol            = "lambda"
  endpoint            = aws_lambda_function.this.arn
  filter_policy       = var.sns_topic.filter_policy
  filter_policy_scope = var.sns_topic.filter_policy_scope
  redrive_policy      = jsonencode({ deadLetterTargetArn = aws_sqs_queue.sns_dlq[0].arn })

  depends_on = [aws_lambda_permission.sns, aws_sqs_queue_policy.sns_dlq]
}

resource "aws_cloudwatch_metric_alarm" "sns_dlq" {
  count = var.sns_topic == null ? 0 : 1

  alarm_name          = "${var.function_name}-sns-dlq-not-empty"
  alarm_description   = "Messages of the ${var.sns_topic.name} topic that SNS could not deliver to ${var.function_name} are waiting in ${aws_sqs_queue.sns_dlq[0].name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.sns_dlq[0].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}
