output "kms_key_arn" {
  description = "ARN of the primary-region KMS key (registry, events topic, logs, dead-letter queues)."
  value       = aws_kms_key.this.arn
}

output "kms_alias_name" {
  description = "Alias of the primary-region KMS key."
  value       = aws_kms_alias.this.name
}

output "dr_kms_key_arn" {
  description = "ARN of the DR-region KMS key, for snapshot copies."
  value       = aws_kms_key.dr.arn
}

output "dr_kms_alias_name" {
  description = "Alias of the DR-region KMS key: the `kms_key` of the policy document's `[[policies.<name>.dr]]` entries."
  value       = aws_kms_alias.dr.name
}

output "registry_table_name" {
  description = "Name of the DynamoDB registry table (`REMPART_REGISTRY_TABLE`)."
  value       = aws_dynamodb_table.registry.name
}

output "registry_table_arn" {
  description = "ARN of the DynamoDB registry table."
  value       = aws_dynamodb_table.registry.arn
}

output "events_topic_arn" {
  description = "ARN of the SNS events topic (`REMPART_EVENTS_TOPIC_ARN`): subscribe here, filtering on the `kind`, `severity` and `schema` message attributes."
  value       = aws_sns_topic.events.arn
}

output "policy_parameter_name" {
  description = "Name of the SSM parameter holding the policy document (`REMPART_POLICY=ssm:<name>`)."
  value       = aws_ssm_parameter.policy.name
}

output "policy_parameter_arn" {
  description = "ARN of the SSM parameter holding the policy document."
  value       = aws_ssm_parameter.policy.arn
}

output "snapshot_scheduler" {
  description = "The snapshot-scheduler: function, role, log group, dead-letter queue, rules and alarms."
  value       = module.snapshot_scheduler.summary
}

output "retention_enforcer" {
  description = "The retention-enforcer: function, role, log group, dead-letter queue, rules and alarms."
  value       = module.retention_enforcer.summary
}

output "snapshot_replicator" {
  description = "The snapshot-replicator: function, role, log group, dead-letter queue, rules (events `rds`, `ebs`, schedule `sweep`) and alarms."
  value       = module.snapshot_replicator.summary
}

output "slack_notifier" {
  description = "The slack-notifier: function, role, log group, dead-letter queue and alarms; its subscription to the events topic and the subscription's dead-letter queue (its alarm is `alarm_arns.sns_dlq`)."
  value       = module.slack_notifier.summary
}

output "incident_escalator" {
  description = "The incident-escalator: function, role, log group, dead-letter queue, rules (events `alarms`, `human`, schedule `tick`) and alarms; its filtered subscription to the events topic and the subscription's dead-letter queue (its alarm is `alarm_arns.sns_dlq`)."
  value       = module.incident_escalator.summary
}

output "backup_auditor" {
  description = "The backup-auditor: function, role, log group, dead-letter queue, rule (schedule `audit`) and alarms."
  value       = module.backup_auditor.summary
}

output "restore_tester" {
  description = "The restore-tester: function, role, log group, dead-letter queue, rules (schedule `poll`; events `request`, the restore requests, when restore_requests_enabled) and alarms."
  value       = module.restore_tester.summary
}

output "drill_tester" {
  description = "The drill tester in dr_region (the restore-tester in drill mode): name, ARN, role, log group, dead-letter queue, rules and alarms (alarm topic `<name>-drill-alarms`); null when drills_enabled is false."
  value       = var.drills_enabled ? module.drill_tester[0].summary : null
}

output "incidents_table_name" {
  description = "Name of the DynamoDB incidents table (`REMPART_INCIDENTS_TABLE`)."
  value       = aws_dynamodb_table.incidents.name
}

output "incidents_table_arn" {
  description = "ARN of the DynamoDB incidents table."
  value       = aws_dynamodb_table.incidents.arn
}

output "slack_webhook_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the slack-notifier's Slack credentials (`REMPART_SLACK_SECRET_ARN`). Terraform never sets its value: `aws secretsmanager put-secret-value --secret-id <arn> --secret-string '{\"webhooks\": {\"#ops-alerts\": \"https://hooks.slack.com/services/...\"}}'` (format: infra/README.md)."
  value       = aws_secretsmanager_secret.slack_webhook.arn
}

output "oncall_topic_arns" {
  description = "ARNs of the on-call tier topics, by tier (escalation order: oncall_tiers)."
  value       = { for t, topic in aws_sns_topic.oncall : t => topic.arn }
}

output "event_subscription_arns" {
  description = "ARNs of the events topic's audience subscriptions, by name (pending until confirmed, for email and http(s))."
  value       = { for k, s in aws_sns_topic_subscription.events : k => s.arn }
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard (RPO age, DR copy lag, audit coverage, unprotected resources, retention counts, restore-test RTO, open incidents, function health)."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "backup_bucket_arns" {
  description = "The backup buckets created in the primary region (name => ARN)."
  value       = module.backup_buckets.arns
}

output "dr_backup_bucket_arn" {
  description = "The DR region's bucket of the Redis exports' copies; null when dr_backup_bucket is."
  value       = one(values(module.dr_backup_buckets.arns))
}

output "slack_actions_url" {
  description = "The Slack app's Interactivity Request URL (slack-actions' function URL); null when slack_actions_enabled is false."
  value       = one(aws_lambda_function_url.slack_actions[*].function_url)
}

output "slack_signing_secret_arn" {
  description = "Secret to fill with the Slack app's signing secret (put-secret-value); null when slack_actions_enabled is false."
  value       = one(aws_secretsmanager_secret.slack_signing[*].arn)
}

output "vault_share_key_arn" {
  description = "The share key (alias/<name>-vault-share): the `share_key` of the policy document's [[policies.<name>.vault]] entries; null without vaults."
  value       = one(aws_kms_key.vault_share[*].arn)
}

output "vault_share_key_policy_statements" {
  description = "The key policy statements (JSON array) that let the backup accounts copy what is shared with them: the share key has them; add them to the policy of a customer-managed key of your own whose snapshots are shared directly (the replicator's pre-flight blocks those snapshots until then). Null without vaults."
  value       = one([for d in data.aws_iam_policy_document.vault_share_backup_accounts : jsonencode(jsondecode(d.json).Statement)])
}

output "snapshot_replicator_role_arn" {
  description = "The snapshot-replicator's role: the principal a backup account's vault role trusts (modules/vault_account's `production_replicator_role_arn`)."
  value       = module.snapshot_replicator.role_arn
}

output "lambda_zip_dir" {
  description = "The directory the functions' packages were taken from (`<function>/bootstrap.zip`): the backup account's module takes its enforcer's package from there."
  value       = local.zip_dir
}
