output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "role_name" {
  description = "Name of the function's execution role."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Name of the function's CloudWatch log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "dead_letter_queue_arn" {
  description = "ARN of the SQS queue receiving asynchronous invocations that failed after their retries."
  value       = aws_sqs_queue.dlq.arn
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dlq.url
}

output "event_rule_arns" {
  description = "ARNs of the EventBridge rules triggering the function, by rule suffix."
  value       = { for k, r in aws_cloudwatch_event_rule.this : k => r.arn }
}

output "alarm_arns" {
  description = "ARNs of the function's CloudWatch alarms."
  value       = local.alarm_arns
}

output "sns_subscription_arn" {
  description = "ARN of the subscription to sns_topic (null without one)."
  value       = one(aws_sns_topic_subscription.this[*].arn)
}

output "sns_dead_letter_queue_url" {
  description = "URL of the queue holding what SNS could not deliver (null without sns_topic)."
  value       = one(aws_sqs_queue.sns_dlq[*].url)
}

output "summary" {
  description = "The function's name and ARN, role ARN, log group, dead-letter queue URL, rule ARNs and alarm ARNs, in one object; with sns_topic, the subscription's ARN and its dead-letter queue's URL."
  value = merge({
    function_name         = aws_lambda_function.this.function_name
    function_arn          = aws_lambda_function.this.arn
    role_arn              = aws_iam_role.this.arn
    log_group_name        = aws_cloudwatch_log_group.this.name
    dead_letter_queue_url = aws_sqs_queue.dlq.url
    event_rule_arns       = { for k, r in aws_cloudwatch_event_rule.this : k => r.arn }
    alarm_arns            = local.alarm_arns
    }, { for k, v in {
      subscription_arn          = one(aws_sns_topic_subscription.this[*].arn)
      sns_dead_letter_queue_url = one(aws_sqs_queue.sns_dlq[*].url)
  } : k => v if v != null })
}

locals {
  alarm_arns = merge(
    {
      errors    = aws_cloudwatch_metric_alarm.errors.arn
      throttles = aws_cloudwatch_metric_alarm.throttles.arn
      dlq       = aws_cloudwatch_metric_alarm.dlq.arn
    },
    { for k, v in { sns_dlq = one(aws_cloudwatch_metric_alarm.sns_dlq[*].arn) } : k => v if v != null },
  )
}
