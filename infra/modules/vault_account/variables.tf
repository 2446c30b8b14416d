variable "name" {
  description = "Name prefix, the production deployment's (`name` of the Rempart module): the role is <name>-vault-replicator, the key alias/<name>-vault."
  type        = string
  default     = "rempart"
}

variable "production_account_id" {
  description = "The production account, whose Rempart snapshots are shared with this one."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.production_account_id))
    error_message = "production_account_id: 12 digits."
  }
}

variable "production_replicator_role_arn" {
  description = "The production snapshot-replicator's role (the Rempart module's `snapshot_replicator_role_arn` output): the only principal that may assume the vault role."
  type        = string
}

variable "external_id" {
  description = "The external id the vault role's trust policy requires (sts:ExternalId): the `external_id` of the policy document's [[policies.<name>.vault]] entry."
  type        = string

  validation {
    condition     = length(var.external_id) >= 2 && length(var.external_id) <= 1224 && can(regex("^[A-Za-z0-9+=,.@:/_-]+$", var.external_id))
    error_message = "external_id: 2 to 1224 letters, digits or +=,.@:/_- (AWS's rule)."
  }
}

variable "production_kms_key_arns" {
  description = "The production account's keys a shared snapshot may be under: its share key (the Rempart module's `vault_share_key_arn`) and the customer managed keys of the protected resources shared directly. The vault role may use them through RDS and EC2 to copy what is shared."
  type        = list(string)
}

variable "kms_deletion_window_in_days" {
  description = "Waiting period before the vault key is deleted once deletion is scheduled."
  type        = number
  default     = 30
}

variable "kms_break_glass_principal_arns" {
  description = "The only principals of this account that may disable the vault key or schedule its deletion (default: nobody)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
