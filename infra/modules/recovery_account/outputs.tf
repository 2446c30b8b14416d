output "role_arn" {
  description = "The role the backup account's drill tester assumes here (`role_arn` of this account's entry in modules/vault_account's `recovery_accounts`)."
  value       = aws_iam_role.recovery.arn
}

output "kms_key_arn" {
  description = "The recovery key: the copies here and the databases restored from them are under it."
  value       = aws_kms_key.recovery.arn
}

output "kms_alias_arn" {
  description = "The recovery key's alias ARN (alias/<name>-recovery), stable across key replacement: the `kms_key` of this account's entry in modules/vault_account's `recovery_accounts`."
  value       = aws_kms_alias.recovery.arn
}

output "vault_entry" {
  description = "This account's entry in modules/vault_account's `recovery_accounts` (keyed by this account's id): `{ (account id) = <this> }`. With both modules in one configuration, pass the two ARNs as strings built from the account id instead (as infra/examples/rewapp does): the vault key's policy names this role and this module names the vault key, so neither then waits for the other."
  value = {
    role_arn    = aws_iam_role.recovery.arn
    kms_key     = aws_kms_alias.recovery.arn
    external_id = var.external_id
  }
}
