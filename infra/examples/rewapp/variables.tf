variable "region" {
  description = "Primary region, where the functions run (REWAPP's backup and DR plan: eu-west-1)."
  type        = string
  default     = "eu-west-1"
}

variable "dr_region" {
  description = "Disaster-recovery region (REWAPP's backup and DR plan: eu-central-1)."
  type        = string
  default     = "eu-central-1"
}

variable "alarm_actions" {
  description = "ARNs notified by the functions' alarms (e.g. the operations SNS topic)."
  type        = list(string)
  default     = []
}

variable "lambda_zip_dir" {
  description = "Directory holding `<function>/bootstrap.zip` (absolute, or relative to infra/); null: the repository's target/lambda, where `cargo lambda build` writes them."
  type        = string
  default     = null
}

variable "registry_deletion_protection" {
  description = "Protect the registry table (the audit trail) and the incidents table (incidents and their reports) from deletion; false only for a throw-away deployment."
  type        = bool
  default     = true
}

variable "oncall_phone" {
  description = "Phone number (E.164, e.g. +33612345678) of the DevOps on-call: SMS for critical announcements and for the functions' alarms. Null: none."
  type        = string
  default     = null
}

variable "ops_email" {
  description = "Operations mailbox: warning and critical announcements (the subscription must be confirmed from the mail). Null: none."
  type        = string
  default     = null
}

variable "dba_email" {
  description = "DBA mailbox: warning and critical announcements about snapshots, DR copies and retention. Null: none."
  type        = string
  default     = null
}

variable "kms_break_glass_principal_arns" {
  description = "The break-glass principals (role ARNs) that alone may disable the Rempart KMS keys or schedule their deletion; empty: nobody (a `terraform destroy` of the keys then fails until one is named)."
  type        = list(string)
  default     = []
}

variable "restore_test_sql_secret_arns" {
  description = "The secrets of the policy's [[restore_tests.sql_checks]] (the Aurora clusters' master-credentials secrets), read by the restore-tester through the RDS Data API; none while the policy has no SQL check."
  type        = list(string)
  default     = []
}

variable "restore_tester_vpc" {
  description = "The VPC (vpc_id, and at least two private subnet_ids with a route to the AWS APIs) where the restore-tester connects to restored PostgreSQL copies for the policy's data checks; null: control-plane checks only."
  type = object({
    vpc_id     = string
    subnet_ids = list(string)
  })
  default = null
}

variable "restore_test_subnet_group" {
  description = "The DB subnet group of the restore tests' throw-away instances; null: the one Terraform creates with restore_tester_vpc, else the default VPC's."
  type        = string
  default     = null
}

variable "drill_vpc" {
  description = "The DR region's VPC (vpc_id, and at least two private subnet_ids with a route to the AWS APIs of both regions) where the drill tester connects to drilled PostgreSQL copies for the policy's data checks; null: control-plane checks only."
  type = object({
    vpc_id     = string
    subnet_ids = list(string)
  })
  default = null
}

variable "drill_subnet_group" {
  description = "The DB subnet group, in the DR region, of the drills' throw-away copies; null: the one Terraform creates with drill_vpc, else the default VPC's."
  type        = string
  default     = null
}

variable "vault_account_id" {
  description = "The isolated backup account of the air-gapped copies (§7.3); null: no vault. Its [[policies.<name>.vault]] entry must name the same account."
  type        = string
  default     = null
}

variable "vault_admin_role_arn" {
  description = "The role Terraform assumes to manage the backup account; null: OrganizationAccountAccessRole there."
  type        = string
  default     = null
}

variable "vault_external_id" {
  description = "The external id of the vault role's trust policy: the `external_id` of the [[policies.<name>.vault]] entry."
  type        = string
  default     = "rewapp-rempart-vault"
}

variable "vault_drill_vpc" {
  description = "The backup account's VPC, in var.region (vpc_id, and at least two private subnet_ids with a route to the AWS APIs), where its drill tester connects to drilled PostgreSQL copies of the vault copies for the policy's data checks; null: control-plane checks only. Needs vault_account_id."
  type = object({
    vpc_id     = string
    subnet_ids = list(string)
  })
  default = null
}

variable "vault_drill_subnet_group" {
  description = "The DB subnet group of the backup account's drilled copies; null: the one Terraform creates with vault_drill_vpc, else the default VPC's."
  type        = string
  default     = null
}

variable "vault_break_glass_principal_arns" {
  description = "The only principals of the backup account that may disable its vault key or schedule its deletion (default: nobody)."
  type        = list(string)
  default     = []
}

variable "recovery_account_id" {
  description = "The recovery account the backup account's drill tester restores vault copies into on request (`rempart restore --from-vault ... --to-account <this>`); null: none. Needs vault_account_id."
  type        = string
  default     = null

  validation {
    condition     = var.recovery_account_id == null || can(regex("^[0-9]{12}$", coalesce(var.recovery_account_id, "x")))
    error_message = "recovery_account_id: 12 digits."
  }
}

variable "recovery_admin_role_arn" {
  description = "The role Terraform assumes to manage the recovery account; null: OrganizationAccountAccessRole there."
  type        = string
  default     = null
}

variable "recovery_external_id" {
  description = "The external id of the recovery role's trust policy (the drill tester sends it); null: none."
  type        = string
  default     = "rewapp-rempart-recovery"
}

variable "recovery_break_glass_principal_arns" {
  description = "The only principals of the recovery account that may disable its recovery key or schedule its deletion (default: nobody)."
  type        = list(string)
  default     = []
}
