output "events_topic_arn" {
  description = "ARN of the SNS events topic."
  value       = module.rempart.events_topic_arn
}

output "registry_table_name" {
  description = "Name of the DynamoDB registry table."
  value       = module.rempart.registry_table_name
}

output "policy_parameter_name" {
  description = "Name of the SSM parameter holding the policy document."
  value       = module.rempart.policy_parameter_name
}

output "dr_kms_alias_name" {
  description = "Alias of the DR-region KMS key named by the policy document."
  value       = module.rempart.dr_kms_alias_name
}

output "snapshot_scheduler" {
  description = "The snapshot-scheduler's function, role, log group, dead-letter queue, rules and alarms."
  value       = module.rempart.snapshot_scheduler
}

output "retention_enforcer" {
  description = "The retention-enforcer's function, role, log group, dead-letter queue, rules and alarms."
  value       = module.rempart.retention_enforcer
}

output "snapshot_replicator" {
  description = "The snapshot-replicator's function, role, log group, dead-letter queue, rules and alarms."
  value       = module.rempart.snapshot_replicator
}

output "slack_notifier" {
  description = "The slack-notifier's function, role, log group, dead-letter queues and alarms, and its subscription to the events topic."
  value       = module.rempart.slack_notifier
}

output "incident_escalator" {
  description = "The incident-escalator's function, role, log group, dead-letter queue, rules and alarms, and its subscription to the events topic."
  value       = module.rempart.incident_escalator
}

output "backup_auditor" {
  description = "The backup-auditor's function, role, log group, dead-letter queue, rule and alarms."
  value       = module.rempart.backup_auditor
}

output "restore_tester" {
  description = "The restore-tester's function, role, log group, dead-letter queue, rules (poll, restore requests) and alarms."
  value       = module.rempart.restore_tester
}

output "drill_tester" {
  description = "The drill tester in the DR region (the policy's [drills]): its function, role, log group, dead-letter queue, rule and alarms."
  value       = module.rempart.drill_tester
}

output "incidents_table_name" {
  description = "Name of the DynamoDB incidents table."
  value       = module.rempart.incidents_table_name
}

output "slack_webhook_secret_arn" {
  description = "Secret to fill with the Slack credentials (JSON: webhooks by channel and/or bot token, see infra/README.md): aws secretsmanager put-secret-value --secret-id <this> --secret-string file://slack.json."
  value       = module.rempart.slack_webhook_secret_arn
}

output "oncall_topic_arns" {
  description = "On-call tier topics, by tier."
  value       = module.rempart.oncall_topic_arns
}

output "dashboard_name" {
  description = "CloudWatch dashboard."
  value       = module.rempart.dashboard_name
}

output "backup_bucket_arns" {
  description = "The policy's [[buckets]], created in eu-west-1 (name => ARN)."
  value       = module.rempart.backup_bucket_arns
}

output "dr_backup_bucket_arn" {
  description = "rewapp-dr-backups in eu-central-1: the Redis exports' DR copies."
  value       = module.rempart.dr_backup_bucket_arn
}

output "slack_actions_url" {
  description = "The Slack app's Interactivity Request URL."
  value       = module.rempart.slack_actions_url
}

output "slack_signing_secret_arn" {
  description = "Secret to fill with the Slack app's signing secret."
  value       = module.rempart.slack_signing_secret_arn
}

output "vault_role_arn" {
  description = "The role the snapshot-replicator assumes in the backup account (`role` of the [[policies.<name>.vault]] entry); null without a vault."
  value       = one(module.vault[*].replicator_role_arn)
}

output "vault_kms_alias_arn" {
  description = "The vault key's alias ARN (`kms_key` of the [[policies.<name>.vault]] entry); null without a vault."
  value       = one(module.vault[*].kms_alias_arn)
}

output "vault_share_key_arn" {
  description = "The share key (`share_key` of the [[policies.<name>.vault]] entry: alias/rempart-vault-share); null without a vault."
  value       = module.rempart.vault_share_key_arn
}

output "vault_share_key_policy_statements" {
  description = "The key policy statements (JSON array) that let the backup account copy what is shared with it: add them to the policy of a customer-managed key of your own whose snapshots are shared directly; null without a vault."
  value       = module.rempart.vault_share_key_policy_statements
}

output "vault_events_topic_arn" {
  description = "The topic of the backup account's enforcer (digests, failures): subscribe that account's alerting to it; null without a vault."
  value       = one(module.vault[*].events_topic_arn)
}

output "vault_redis_bucket" {
  description = "The backup account's Object Lock bucket of the Redis exports (`bucket` of the [[policies.<name>.vault]] entry); null without a vault."
  value       = one(module.vault[*].redis_bucket)
}

output "recovery_role_arn" {
  description = "The role the backup account's drill tester assumes in the recovery account; null without one."
  value       = one(module.recovery[*].role_arn)
}

output "recovery_kms_alias_arn" {
  description = "The recovery key's alias ARN (alias/rempart-recovery): the copies and the databases restored there are under it; null without a recovery account."
  value       = one(module.recovery[*].kms_alias_arn)
}
