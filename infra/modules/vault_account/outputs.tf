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
