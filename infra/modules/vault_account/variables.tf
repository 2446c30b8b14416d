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

variable "policy_document" {
  description = "The policy document (TOML), the production deployment's (`policy_document` of the Rempart module): this account's enforcer keeps the vault copies by its retention. Stored here, in this account, so that production cannot change it."
  type        = string

  validation {
    condition     = length(trimspace(var.policy_document)) > 0
    error_message = "policy_document: the policy document's text (e.g. file(\"rempart-policy.toml\"))."
  }
}

variable "policy_parameter_name" {
  description = "SSM parameter holding the policy document in this account."
  type        = string
  default     = "/rempart/policy"
}

variable "enforcer_zip_file" {
  description = "The retention-enforcer's package (`<lambda_zip_dir>/retention-enforcer/bootstrap.zip`, built by `scripts/build-functions`): the same binary as production's."
  type        = string

  validation {
    condition     = endswith(var.enforcer_zip_file, ".zip")
    error_message = "enforcer_zip_file must be a path to a .zip file."
  }
}

variable "retention_schedule" {
  description = "EventBridge schedule expression (UTC) of this account's enforcer: daily, after the copies of the day are made."
  type        = string
  default     = "cron(30 6 * * ? *)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.retention_schedule))
    error_message = "retention_schedule must be an EventBridge schedule expression: cron(...) or rate(...)."
  }
}

variable "retention_dry_run" {
  description = "Report what this account's enforcer would delete, without deleting (REMPART_DRY_RUN)."
  type        = bool
  default     = false
}

variable "architecture" {
  description = "Instruction set of the enforcer's package: `arm64` (cargo lambda build --arm64) or `x86_64`."
  type        = string
  default     = "arm64"
}

variable "memory_size" {
  description = "Memory (MB) of the enforcer."
  type        = number
  default     = 256
}

variable "enforcer_timeout" {
  description = "Timeout (seconds) of the enforcer (it paces deletions at 12 a second)."
  type        = number
  default     = 900
}

variable "log_retention_in_days" {
  description = "Retention of the enforcer's CloudWatch log group, in days."
  type        = number
  default     = 365
}

variable "rust_log" {
  description = "RUST_LOG of the enforcer."
  type        = string
  default     = "info"
}

variable "alarm_actions" {
  description = "ARNs (SNS topics of this account) notified when the enforcer fails, is throttled or drops an invocation, and when a resource's newest copy here is older than its policy's RPO (alarm <name>-vault-isolated-rpo)."
  type        = list(string)
  default     = []
}

variable "registry_deletion_protection" {
  description = "Protect this account's registry table (the audit trail of the enforcer's deletions) from deletion."
  type        = bool
  default     = true
}

variable "redis_bucket_name" {
  description = "The bucket of this account the Redis exports are copied to, created with S3 Object Lock in COMPLIANCE mode (`bucket` of the [[policies.<name>.vault]] entry); null: no bucket, and Redis snapshots of a policy with this vault are blocked."
  type        = string
  default     = null
}

variable "redis_lock_days" {
  description = "How long each Redis export file is locked in redis_bucket_name (COMPLIANCE: nobody, this account's root included, can delete it earlier); it expires a day later."
  type        = number
  default     = 35

  validation {
    condition     = var.redis_lock_days >= 1
    error_message = "redis_lock_days: at least 1."
  }
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

variable "drill_tester_zip_file" {
  description = "The restore-tester's package (`<lambda_zip_dir>/restore-tester/bootstrap.zip`, built by `scripts/build-functions`): deploys this account's drill tester (`<name>-vault-drill-tester`), which restores the vault copies of the policy document's `[drills]` here. null: no vault drills."
  type        = string
  default     = null

  validation {
    condition     = var.drill_tester_zip_file == null || endswith(coalesce(var.drill_tester_zip_file, "x.zip"), ".zip")
    error_message = "drill_tester_zip_file must be a path to a .zip file."
  }
}

variable "drill_schedule" {
  description = "EventBridge schedule expression of this account's drill tester: how often the drills in progress are followed (the measured RTO is to this period) and due drills started."
  type        = string
  default     = "rate(5 minutes)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.drill_schedule))
    error_message = "drill_schedule must be an EventBridge schedule expression: cron(...) or rate(...)."
  }
}

variable "drill_subnet_group" {
  description = "The DB subnet group of this account the drilled copies are restored into (the drill tester's role allows restores into this group only; the policy's `[drills].subnet_group` names the DR region's network and is not used here). Null: with drill_vpc, the group Terraform creates (`<name>-vault-drills`); without, the region's default VPC's `default` group."
  type        = string
  default     = null

  validation {
    condition     = var.drill_subnet_group == null ? true : can(regex("^[A-Za-z0-9 ._-]{1,255}$", var.drill_subnet_group))
    error_message = "drill_subnet_group must be a DB subnet group name (letters, digits, spaces, '.', '_', '-'), or null."
  }
}

variable "drill_vpc" {
  description = "The VPC of this account and region in which the drill tester checks drilled RDS instances down to their data (`[[restore_tests.sql_checks]]`; `vpc_id` and `subnet_ids`: private subnets, at least two AZs, with a route to the AWS APIs through a NAT gateway or VPC endpoints). Set: the function runs there with its own security group (`<name>-vault-drill-tester`); Terraform creates the DB subnet group `<name>-vault-drills` (unless drill_subnet_group names one) and the security group of the drilled copies (`<name>-vault-drilled`), which admits only the drill tester on the PostgreSQL port, and the drills place their copies there. Null: the drill tester runs outside any VPC (control-plane checks only). Needs drill_tester_zip_file."
  type = object({
    vpc_id     = string
    subnet_ids = list(string)
  })
  default = null

  validation {
    condition     = var.drill_vpc == null ? true : length(var.drill_vpc.subnet_ids) >= 2
    error_message = "drill_vpc.subnet_ids: list at least two subnets (a DB subnet group spans two Availability Zones)."
  }
}

variable "drill_db_ca_file" {
  description = "The name, at the package's root, of RDS's CA bundle (`global-bundle.pem`) that `scripts/build-functions --db-ca-bundle` added to the restore-tester's zip (drill_tester_zip_file): the vault drills' data checks then verify the restored copy's certificate (REMPART_DB_CA_FILE=/var/task/<name>). Null: TLS without server verification, which each check's detail says."
  type        = string
  default     = null

  validation {
    condition     = var.drill_db_ca_file == null ? true : can(regex("^[A-Za-z0-9._-]+\\.pem$", var.drill_db_ca_file))
    error_message = "drill_db_ca_file must be a file name ending in .pem (at the package's root), or null."
  }
}

variable "drill_tester_timeout" {
  description = "Timeout (seconds) of this account's drill tester (each run lists, then per resource restores, checks or deletes: the restores run between invocations)."
  type        = number
  default     = 120

  validation {
    condition     = var.drill_tester_timeout >= 30 && var.drill_tester_timeout <= 900
    error_message = "drill_tester_timeout must be between 30 and 900 seconds."
  }
}

variable "recovery_accounts" {
  description = "The recovery accounts this account's drill tester may restore vault copies into (`rempart restore --from-vault ... --to-account <id>`), by account id: the role it assumes there (`role_arn`, modules/recovery_account's `role_arn`), the key the copies are made under there (`kms_key`, a key or alias ARN of that account, in this region: its `kms_alias_arn`) and the external id that role's trust policy asks for (`external_id`, optional); modules/recovery_account's `vault_entry`. Needs drill_tester_zip_file. Empty: none."
  type = map(object({
    role_arn    = string
    kms_key     = string
    external_id = optional(string)
  }))
  default = {}

  validation {
    condition     = alltrue([for id, a in var.recovery_accounts : can(regex("^[0-9]{12}$", id))])
    error_message = "recovery_accounts: each key is an account id (12 digits)."
  }

  validation {
    condition     = alltrue([for id, a in var.recovery_accounts : can(regex("^arn:aws[a-z-]*:iam::${id}:role/[A-Za-z0-9+=,.@_/-]+$", a.role_arn))])
    error_message = "recovery_accounts: each role_arn is the ARN of a role of its account (arn:aws:iam::<that id>:role/<name>)."
  }

  validation {
    condition     = alltrue([for id, a in var.recovery_accounts : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:${id}:(key|alias)/.+$", a.kms_key))])
    error_message = "recovery_accounts: each kms_key is the ARN of a key or an alias of its account (arn:aws:kms:<region>:<that id>:alias/<name>)."
  }

  validation {
    condition     = alltrue([for id, a in var.recovery_accounts : a.external_id == null || (length(coalesce(a.external_id, "x")) >= 2 && length(coalesce(a.external_id, "x")) <= 1224 && can(regex("^[A-Za-z0-9+=,.@:/_-]+$", coalesce(a.external_id, "x"))))])
    error_message = "recovery_accounts: external_id, when set, is 2 to 1224 letters, digits or +=,.@:/_- (AWS's rule)."
  }
}
