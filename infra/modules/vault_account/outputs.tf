output "replicator_role_arn" {
  description = "The role the production snapshot-replicator assumes here: `role` of the [[policies.<name>.vault]] entry, and `role_arn` of the Rempart module's `vaults`."
  value       = aws_iam_role.replicator.arn
}

output "kms_key_arn" {
  description = "The vault key: copies here are encrypted with it (`kms_key` of the [[policies.<name>.vault]] entry, or its alias ARN)."
  value       = aws_kms_key.vault.arn
}

output "kms_alias_arn" {
  description = "The vault key's alias ARN (alias/<name>-vault), stable across key replacement."
  value       = aws_kms_alias.vault.arn
}

output "enforcer_function_name" {
  description = "This account's retention-enforcer (`<name>-vault-retention-enforcer`)."
  value       = module.enforcer.function_name
}

output "events_topic_arn" {
  description = "The topic of this account's enforcer (digests, failures): subscribe this account's alerting to it."
  value       = aws_sns_topic.events.arn
}

output "registry_table_name" {
  description = "This account's registry: the enforcer's decisions and deletions here."
  value       = aws_dynamodb_table.registry.name
}

output "redis_bucket" {
  description = "The Object Lock bucket of the Redis exports (`bucket` of the [[policies.<name>.vault]] entry); null without redis_bucket_name."
  value       = one(aws_s3_bucket.redis[*].bucket)
}

output "drill_tester_function_name" {
  description = "This account's drill tester (null without drill_tester_zip_file)."
  value       = one([for m in module.drill_tester : m.function_name])
}

output "drill_tester_role_arn" {
  description = "This account's drill tester's role (null without drill_tester_zip_file): the only principal modules/recovery_account's role trusts (`vault_drill_tester_role_arn`)."
  value       = one([for m in module.drill_tester : m.role_arn])
}
