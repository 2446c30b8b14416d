variable "name" {
  description = "Name prefix, the production deployment's (`name` of the Rempart module): the role is <name>-recovery, the key alias/<name>-recovery."
  type        = string
  default     = "rempart"
}

variable "backup_account_id" {
  description = "The backup account (modules/vault_account) whose vault copies are shared with this account and copied here."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.backup_account_id))
    error_message = "backup_account_id: 12 digits."
  }
}

variable "vault_drill_tester_role_arn" {
  description = "The backup account's drill tester's role (modules/vault_account's `drill_tester_role_arn`): the only principal that may assume the recovery role."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", var.vault_drill_tester_role_arn))
    error_message = "vault_drill_tester_role_arn: the ARN of a role (arn:aws:iam::<backup account>:role/<name>)."
  }
}

variable "vault_key_arn" {
  description = "The vault key (modules/vault_account's `kms_key_arn`: a key ARN, not an alias, since KMS authorizes on the key), which the shared vault copies are under: the recovery role reads them through RDS."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.vault_key_arn))
    error_message = "vault_key_arn: the ARN of a key (arn:aws:kms:<region>:<backup account>:key/<id>), not of an alias."
  }
}

variable "external_id" {
  description = "The external id the recovery role's trust policy requires (sts:ExternalId), the `external_id` of this account's entry in modules/vault_account's `recovery_accounts`; null: none."
  type        = string
  default     = null

  validation {
    condition     = var.external_id == null || (length(coalesce(var.external_id, "x")) >= 2 && length(coalesce(var.external_id, "x")) <= 1224 && can(regex("^[A-Za-z0-9+=,.@:/_-]+$", coalesce(var.external_id, "x"))))
    error_message = "external_id: 2 to 1224 letters, digits or +=,.@:/_- (AWS's rule)."
  }
}

variable "kms_deletion_window_in_days" {
  description = "Waiting period before the recovery key is deleted once deletion is scheduled."
  type        = number
  default     = 30
}

variable "kms_break_glass_principal_arns" {
  description = "The only principals of this account that may disable the recovery key or schedule its deletion (default: nobody)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
