variable "name" {
  description = "Prefix of every resource name (functions `<name>-snapshot-scheduler`, table `<name>-registry`, topic `<name>-events`, KMS aliases `alias/<name>` and `alias/<name>-dr`)."
  type        = string
  default     = "rempart"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,19}$", var.name))
    error_message = "name must be 1-20 characters of a-z, 0-9 and '-', starting with a letter."
  }
}

# region and dr_region name the regions of the caller's `aws` and `aws.dr`
# providers (the ARNs of the policies are built from them).
variable "region" {
  description = "Primary region, where the functions, the registry table, the events topic and the policy parameter live (provider `aws`)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "dr_region" {
  description = "Disaster-recovery region (provider `aws.dr`): holds the DR KMS key `alias/<name>-dr`; the retention-enforcer may act there. Must be the `region` of the policy document's `[[policies.<name>.dr]]` entries."
  type        = string
  default     = "eu-central-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.dr_region))
    error_message = "dr_region must be an AWS region name such as eu-central-1."
  }

  validation {
    condition     = var.dr_region != var.region
    error_message = "dr_region must differ from region."
  }
}

variable "policy_document" {
  description = "The Rempart policy document (TOML text, see examples/rewapp-policy.toml), stored in an Advanced SSM parameter without its whole-line comments (lines whose first non-blank character is `#`; a `#` line inside a multi-line string would be removed too)."
  type        = string

  validation {
    condition     = length(trimspace(var.policy_document)) > 0 && length(replace(var.policy_document, "/(?m)^[ \t]*#[^\n]*\n/", "")) <= 8192
    error_message = "policy_document must be non-empty and, without its whole-line comments, at most 8 KB (SSM Advanced parameter limit)."
  }
}

variable "policy_parameter_name" {
  description = "Name of the SSM parameter holding the policy document; the functions read it through `REMPART_POLICY=ssm:<name>`."
  type        = string
  default     = "/rempart/policy"

  validation {
    condition     = can(regex("^/[A-Za-z0-9_.\\-/]+$", var.policy_parameter_name))
    error_message = "policy_parameter_name must be a hierarchical SSM name starting with '/'."
  }
}

variable "lambda_zip_dir" {
  description = "Directory holding `<function>/bootstrap.zip` as built by `scripts/build-functions` (`cargo lambda build --release --arm64 --output-format zip` of the seven functions). A relative path is relative to this module's directory."
  type        = string
  default     = "../target/lambda"
  nullable    = false

  validation {
    condition     = length(var.lambda_zip_dir) > 0
    error_message = "lambda_zip_dir must not be empty."
  }
}

variable "architecture" {
  description = "Instruction set the functions were built for (`arm64` with `cargo lambda build --arm64`)."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "snapshot_schedules" {
  description = "EventBridge schedule expressions (UTC) triggering the snapshot-scheduler: one per distinct schedule time of the policy document. The default: daily 02:00, Sunday 03:00, daily 04:00 (the example policy's schedule times)."
  type        = list(string)
  default     = ["cron(0 2 * * ? *)", "cron(0 3 ? * SUN *)", "cron(0 4 * * ? *)"]

  validation {
    condition     = alltrue([for s in var.snapshot_schedules : can(regex("^(cron|rate)\\(.+\\)$", s))])
    error_message = "Every snapshot schedule must be an EventBridge schedule expression: cron(...) or rate(...)."
  }

  validation {
    condition     = length(distinct(var.snapshot_schedules)) == length(var.snapshot_schedules)
    error_message = "snapshot_schedules must not repeat an expression."
  }
}

variable "retention_schedule" {
  description = "EventBridge schedule expression (UTC) triggering the retention-enforcer: daily, after the last snapshot of the day."
  type        = string
  default     = "cron(30 5 * * ? *)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.retention_schedule))
    error_message = "retention_schedule must be an EventBridge schedule expression: cron(...) or rate(...)."
  }
}

variable "enable_request_rules" {
  description = "Also trigger the functions from Rempart requests put on the default event bus (source `rempart`): `Rempart On-Demand Snapshot Request` and `Rempart Retention Run`."
  type        = bool
  default     = true
}

variable "retention_dry_run" {
  description = "Sets `REMPART_DRY_RUN` on the retention-enforcer: scheduled runs decide and report but touch nothing."
  type        = bool
  default     = false
}

variable "rust_log" {
  description = "`RUST_LOG` log filter of the functions."
  type        = string
  default     = "info"

  validation {
    condition     = length(var.rust_log) > 0
    error_message = "rust_log must not be empty."
  }
}

variable "backup_bucket_names" {
  description = "S3 buckets listed under `[[buckets]]` in the policy document that this module does not create (the keys of backup_buckets are added): the retention-enforcer may read and set their versioning and lifecycle configuration (the snapshot-replicator reads and writes the objects of redis_export_bucket and dr_backup_bucket only)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for b in var.backup_bucket_names : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", b))])
    error_message = "backup_bucket_names must be valid S3 bucket names."
  }
}

variable "backup_buckets" {
  description = "Backup buckets to create in the primary region (name => lifecycle, the fields of the policy document's `[buckets.lifecycle]`: transition_days, storage_class (default GLACIER when transition_days is set), expiration_days, noncurrent_expiration_days, abort_incomplete_multipart_days). Versioning on, SSE-KMS with the Rempart key, public access blocked, ACLs disabled, TLS only; the lifecycle is written as the retention-enforcer's rule `rempart-backup-policy`. They are added to backup_bucket_names for the functions' permissions; list them under `[[buckets]]` in the policy document with the same lifecycle."
  type = map(object({
    transition_days                 = optional(number)
    storage_class                   = optional(string)
    expiration_days                 = optional(number)
    noncurrent_expiration_days      = optional(number)
    abort_incomplete_multipart_days = optional(number)
  }))
  default = {}

  validation {
    condition     = alltrue([for b in keys(var.backup_buckets) : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", b))])
    error_message = "backup_buckets keys must be valid S3 bucket names."
  }

  validation {
    condition = alltrue(flatten([for l in values(var.backup_buckets) : [
      for v in [l.transition_days, l.expiration_days, l.noncurrent_expiration_days, l.abort_incomplete_multipart_days] : v == null ? true : (v >= 1 && floor(v) == v)
    ]]))
    error_message = "backup_buckets lifecycle days must be whole numbers of at least 1."
  }

  validation {
    condition     = alltrue([for l in values(var.backup_buckets) : l.transition_days == null || l.expiration_days == null ? true : l.expiration_days > l.transition_days])
    error_message = "backup_buckets: expiration_days must come after transition_days (as the policy document requires)."
  }
}

variable "bucket_replicas" {
  description = "S3 replication to the DR region (the policy's `[buckets.replication]`): source bucket (a key of backup_buckets or a name in backup_bucket_names) => the bucket to create in dr_region for its replicas (versioning on, SSE-KMS with the DR key, public access blocked, TLS only; the source's lifecycle when the source is created here). Creates the role S3 replicates with (the retention-enforcer's REMPART_REPLICATION_ROLE_ARN) and the replication configuration of the sources created here; the retention-enforcer writes the others' from the policy document. In the policy: `[buckets.replication]` with `bucket` = this value, `region` = dr_region, `kms_key = \"alias/<name>-dr\"`."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for b in values(var.bucket_replicas) : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", b))])
    error_message = "bucket_replicas values must be valid S3 bucket names."
  }

  validation {
    condition     = alltrue([for s in keys(var.bucket_replicas) : contains(concat(keys(var.backup_buckets), var.backup_bucket_names), s)])
    error_message = "bucket_replicas keys must be keys of backup_buckets or names in backup_bucket_names (the policy's [[buckets]])."
  }

  validation {
    condition     = length(distinct(values(var.bucket_replicas))) == length(var.bucket_replicas)
    error_message = "bucket_replicas: each source needs a DR bucket of its own."
  }
}

variable "bucket_replica_source_kms_key_arns" {
  description = "KMS keys (ARNs) of the primary region that objects of the replicated buckets not created here are encrypted with, beside the Rempart key: the replication role may decrypt with them through S3. SSE-S3 objects need none."
  type        = list(string)
  default     = []
}

variable "redis_export_bucket" {
  description = "The key of backup_buckets that receives ElastiCache's snapshot exports (the policy's `export_bucket`): its bucket policy lets the region's ElastiCache export principal write there, and the Rempart key policy lets it encrypt through S3. null: none."
  type        = string
  default     = null

  validation {
    condition     = var.redis_export_bucket == null || contains(keys(var.backup_buckets), coalesce(var.redis_export_bucket, "-"))
    error_message = "redis_export_bucket must be one of the backup_buckets keys."
  }
}

variable "dr_backup_bucket" {
  description = "Bucket to create in the DR region for the Redis exports' DR copies (the `bucket` of the policy's `[[policies.<name>.dr]]` entries): versioning on, SSE-KMS with the DR key, public access blocked, ACLs disabled, TLS only. The snapshot-replicator may write there. null: none."
  type        = string
  default     = null

  validation {
    condition     = var.dr_backup_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.dr_backup_bucket, "-")))
    error_message = "dr_backup_bucket must be a valid S3 bucket name."
  }
}

variable "dr_backup_bucket_lifecycle" {
  description = "Lifecycle of dr_backup_bucket, same fields as backup_buckets (rule `rempart-backup-policy`). The DR bucket is not in the policy's `[[buckets]]` unless you add it there (with its region); Rempart never deletes its objects, so expiry is this rule's."
  type = object({
    transition_days                 = optional(number)
    storage_class                   = optional(string)
    expiration_days                 = optional(number)
    noncurrent_expiration_days      = optional(number)
    abort_incomplete_multipart_days = optional(number)
  })
  default = { abort_incomplete_multipart_days = 7 }

  validation {
    condition = alltrue([
      for v in [var.dr_backup_bucket_lifecycle.transition_days, var.dr_backup_bucket_lifecycle.expiration_days, var.dr_backup_bucket_lifecycle.noncurrent_expiration_days, var.dr_backup_bucket_lifecycle.abort_incomplete_multipart_days] : v == null ? true : (v >= 1 && floor(v) == v)
    ])
    error_message = "dr_backup_bucket_lifecycle days must be whole numbers of at least 1."
  }
}

variable "replication_sweep_schedule" {
  description = "EventBridge schedule expression of the snapshot-replicator's sweep, which copies what the snapshot-completed events missed (and ElastiCache snapshots, which send none to EventBridge)."
  type        = string
  default     = "rate(15 minutes)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.replication_sweep_schedule))
    error_message = "replication_sweep_schedule must be an EventBridge schedule expression: cron(...) or rate(...)."
  }
}

variable "max_copies_in_flight" {
  description = "`REMPART_MAX_COPIES_IN_FLIGHT` of the snapshot-replicator: copies it keeps in flight per destination region and snapshot family (AWS allows 20 unless a quota increase says more); the rest wait for the next sweep."
  type        = number
  default     = 20

  validation {
    condition     = var.max_copies_in_flight >= 1 && var.max_copies_in_flight <= 100 && floor(var.max_copies_in_flight) == var.max_copies_in_flight
    error_message = "max_copies_in_flight must be a whole number from 1 to 100."
  }
}

variable "replicator_source_kms_key_arns" {
  description = "ARNs of the customer managed KMS keys encrypting the protected resources (so their snapshots): the snapshot-replicator may use them, through RDS, EC2, ElastiCache and S3 only, to copy the snapshots. Snapshots under AWS managed keys (aws/rds, aws/ebs) need nothing here."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for k in var.replicator_source_kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", k))])
    error_message = "replicator_source_kms_key_arns must be KMS key ARNs (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "vaults" {
  description = "The isolated backup accounts of the policy document's [[policies.<name>.vault]] entries: each account's id and the role the snapshot-replicator assumes there (modules/vault_account's `replicator_role_arn` output). Creates the share key (alias/<name>-vault-share, the `share_key` of those entries) and gives the replicator its rights to stage, share and clean up; empty: no vault."
  type = list(object({
    account_id = string
    role_arn   = string
  }))
  default = []

  validation {
    condition     = alltrue([for v in var.vaults : can(regex("^[0-9]{12}$", v.account_id)) && can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", v.role_arn)) && split(":", v.role_arn)[4] == v.account_id])
    error_message = "vaults: each entry needs account_id (12 digits) and role_arn, the ARN of a role of that account."
  }
}

variable "scheduler_timeout" {
  description = "Timeout (seconds) of the snapshot-scheduler."
  type        = number
  default     = 300

  validation {
    condition     = var.scheduler_timeout >= 1 && var.scheduler_timeout <= 900
    error_message = "scheduler_timeout must be between 1 and 900 seconds."
  }
}

variable "enforcer_timeout" {
  description = "Timeout (seconds) of the retention-enforcer (it paces deletions at 12 a second per region)."
  type        = number
  default     = 900

  validation {
    condition     = var.enforcer_timeout >= 1 && var.enforcer_timeout <= 900
    error_message = "enforcer_timeout must be between 1 and 900 seconds."
  }
}

variable "replicator_timeout" {
  description = "Timeout (seconds) of the snapshot-replicator."
  type        = number
  default     = 300

  validation {
    condition     = var.replicator_timeout >= 1 && var.replicator_timeout <= 900
    error_message = "replicator_timeout must be between 1 and 900 seconds."
  }
}

variable "slack_notifier_timeout" {
  description = "Timeout (seconds) of the slack-notifier: one announcement, posted to each of its channels at Slack's pace, waiting out Slack's 429 answers (at most 30 s each); a timed-out invocation is retried whole, to every channel again."
  type        = number
  default     = 300

  validation {
    condition     = var.slack_notifier_timeout >= 1 && var.slack_notifier_timeout <= 900
    error_message = "slack_notifier_timeout must be between 1 and 900 seconds."
  }
}

variable "slack_notifier_reserved_concurrency" {
  description = "Reserved concurrency of the slack-notifier; null: unreserved (SNS invokes it once per announcement, and Slack's pace is kept per container)."
  type        = number
  default     = null

  validation {
    condition     = var.slack_notifier_reserved_concurrency == null ? true : var.slack_notifier_reserved_concurrency >= 1 && floor(var.slack_notifier_reserved_concurrency) == var.slack_notifier_reserved_concurrency
    error_message = "slack_notifier_reserved_concurrency must be null or a whole number of at least 1."
  }
}

variable "incident_escalator_timeout" {
  description = "Timeout (seconds) of the incident-escalator: one event, or one tick over every open incident (a few conditional writes and publishes each)."
  type        = number
  default     = 60

  validation {
    condition     = var.incident_escalator_timeout >= 1 && var.incident_escalator_timeout <= 900
    error_message = "incident_escalator_timeout must be between 1 and 900 seconds."
  }
}

variable "incident_escalator_reserved_concurrency" {
  description = "Reserved concurrency of the incident-escalator; null: unreserved (concurrent invocations are safe: every write to the incidents table is conditional on the version read)."
  type        = number
  default     = null

  validation {
    condition     = var.incident_escalator_reserved_concurrency == null ? true : var.incident_escalator_reserved_concurrency >= 1 && floor(var.incident_escalator_reserved_concurrency) == var.incident_escalator_reserved_concurrency
    error_message = "incident_escalator_reserved_concurrency must be null or a whole number of at least 1."
  }
}

variable "incident_tick_schedule" {
  description = "EventBridge schedule expression of the incident-escalator's tick: acknowledgement deadlines and escalations, client-notice and status-update reminders, resolution after the flap window. Deadlines are met to within one tick."
  type        = string
  default     = "rate(1 minute)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.incident_tick_schedule))
    error_message = "incident_tick_schedule must be an EventBridge schedule expression: cron(...) or rate(...)."
  }
}

variable "incident_alarm_name_prefixes" {
  description = "Alarm-name prefixes whose state changes the incident-escalator receives (EventBridge `CloudWatch Alarm State Change`, ALARM and OK only); empty: every alarm of the account in `region`."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.incident_alarm_name_prefixes : length(p) > 0])
    error_message = "incident_alarm_name_prefixes must not hold an empty prefix (leave the list empty for every alarm)."
  }
}

variable "audit_schedule" {
  description = "EventBridge schedule expression of the backup-auditor: how often every protected resource is checked against its policy (RPO age, DR copies, encryption, tiers, RDS snapshot quota). A breach is seen within one period."
  type        = string
  default     = "rate(1 hour)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.audit_schedule))
    error_message = "audit_schedule must be an EventBridge schedule expression: cron(...) or rate(...)."
  }
}

variable "backup_auditor_timeout" {
  description = "Timeout (seconds) of the backup-auditor: the listings of the protected resources and of the snapshots in region and dr_region (one ElastiCache ListTagsForResource per Redis resource and snapshot), then a registry record and an announcement per resource."
  type        = number
  default     = 300

  validation {
    condition     = var.backup_auditor_timeout >= 1 && var.backup_auditor_timeout <= 900
    error_message = "backup_auditor_timeout must be between 1 and 900 seconds."
  }
}

variable "restore_test_schedule" {
  description = "EventBridge schedule expression of the restore-tester: how often the tests in progress are followed (the measured RTO is to this period) and the month's tests started."
  type        = string
  default     = "rate(5 minutes)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.restore_test_schedule))
    error_message = "restore_test_schedule must be an EventBridge schedule expression: cron(...) or rate(...)."
  }
}

# Must be the `[restore_tests].subnet_group` of the policy document: the
# role may restore into this subnet group only, and the function passes the
# policy's. Both null: the default VPC's subnet group (`default`).
variable "restore_test_subnet_group" {
  description = "DB subnet group of the restore-test instances and Aurora clusters (the role allows restores into this group only); the restore-tester uses it when the policy's `[restore_tests].subnet_group` is unset, which must otherwise name the same group. Null: with restore_tester_vpc, the group Terraform creates (`<name>-restore-tests`); without, the default VPC's `default` group."
  type        = string
  default     = null

  validation {
    condition     = var.restore_test_subnet_group == null ? true : can(regex("^[A-Za-z0-9 ._-]{1,255}$", var.restore_test_subnet_group))
    error_message = "restore_test_subnet_group must be a DB subnet group name (letters, digits, spaces, '.', '_', '-'), or null for the default VPC's group."
  }
}

# Must be the `[restore_tests].cache_subnet_group` of the policy document
# when that is set: the role may create Redis test groups in this cache
# subnet group only.
variable "restore_test_cache_subnet_group" {
  description = "Cache subnet group of the Redis restore tests' replication groups (the role allows them there only); the restore-tester uses it when the policy's `[restore_tests].cache_subnet_group` is unset, which must otherwise name the same group. Null: ElastiCache's `default` group (of the default VPC)."
  type        = string
  default     = null

  validation {
    condition     = var.restore_test_cache_subnet_group == null ? true : can(regex("^[a-z0-9-]{1,255}$", var.restore_test_cache_subnet_group))
    error_message = "restore_test_cache_subnet_group must be a cache subnet group name (lowercase letters, digits, '-'), or null for ElastiCache's default group."
  }
}

variable "restore_test_db_ca_file" {
  description = "The name, at the package's root, of RDS's CA bundle (`global-bundle.pem`) that `scripts/build-functions --db-ca-bundle` added to the restore-tester's zip: the data checks then verify the restored database's certificate (REMPART_DB_CA_FILE=/var/task/<name>), for the restore tests and the drills. Null: TLS without server verification, which each check's detail says."
  type        = string
  default     = null

  validation {
    condition     = var.restore_test_db_ca_file == null ? true : can(regex("^[A-Za-z0-9._-]+\\.pem$", var.restore_test_db_ca_file))
    error_message = "restore_test_db_ca_file must be a file name ending in .pem (at the package's root), or null."
  }
}

variable "restore_tester_vpc" {
  description = "The VPC in which the restore-tester checks restored databases down to their data (`[[restore_tests.sql_checks]]` on RDS instances): `vpc_id` and `subnet_ids` (private subnets, at least two AZs, with a route to the AWS APIs through a NAT gateway or VPC endpoints). Set: the function runs in these subnets with its own security group; Terraform creates the DB subnet group `<name>-restore-tests` (unless restore_test_subnet_group names one) and the security group of the restored instances, which admits only the tester on the PostgreSQL port, and the tester places its test instances there unless the policy names others. Null: the function runs outside any VPC (control-plane checks and the Aurora Data API only)."
  type = object({
    vpc_id     = string
    subnet_ids = list(string)
  })
  default = null

  validation {
    condition     = var.restore_tester_vpc == null ? true : length(var.restore_tester_vpc.subnet_ids) >= 2
    error_message = "restore_tester_vpc.subnet_ids: list at least two subnets (a DB subnet group spans two Availability Zones)."
  }
}

# Must be the `instances` of the policy document's `[failover_drills]`: the
# restore-tester may reboot (with failover) these instances only.
variable "failover_drill_instances" {
  description = "RDS instances (identifiers, in `region`) of the policy's Multi-AZ failover drills (`[failover_drills].instances`): the restore-tester may `rds:RebootDBInstance` these only (and read RDS's events). Empty: no reboot right, and a policy naming instances gets AccessDenied, recorded as the drill's error."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for i in var.failover_drill_instances : can(regex("^[A-Za-z][A-Za-z0-9-]{0,62}$", i))])
    error_message = "failover_drill_instances: RDS instance identifiers (a letter, then letters, digits and hyphens, at most 63)."
  }
}

variable "drills_enabled" {
  description = "Deploy the drill tester in dr_region (the restore-tester in drill mode): it runs the policy document's `[drills]` (and does nothing without that section)."
  type        = bool
  default     = true
}

variable "drill_schedule" {
  description = "EventBridge schedule expression of the drill tester: how often the drills in progress are followed (the measured region-failover time is to this period) and due drills started."
  type        = string
  default     = "rate(5 minutes)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.drill_schedule))
    error_message = "drill_schedule must be an EventBridge schedule expression: cron(...) or rate(...)."
  }
}

# Must be the `[drills].subnet_group` of the policy document when that is
# set: the drill tester's role may restore into this subnet group only.
variable "drill_subnet_group" {
  description = "DB subnet group, in dr_region, of the drills' throw-away copies (the drill tester's role allows restores into this group only); used when the policy's `[drills].subnet_group` is unset, which must otherwise name the same group. Null: with drill_vpc, the group Terraform creates (`<name>-drills`); without, the DR region's default VPC's `default` group."
  type        = string
  default     = null

  validation {
    condition     = var.drill_subnet_group == null ? true : can(regex("^[A-Za-z0-9 ._-]{1,255}$", var.drill_subnet_group))
    error_message = "drill_subnet_group must be a DB subnet group name (letters, digits, spaces, '.', '_', '-'), or null."
  }
}

variable "drill_vpc" {
  description = "The VPC of dr_region in which the drill tester checks drilled RDS instances down to their data (`vpc_id` and `subnet_ids`: private subnets, at least two AZs, with a route to the AWS APIs of both regions). Set: the function runs there with its own security group; Terraform creates the DB subnet group `<name>-drills` (unless drill_subnet_group names one) and the security group of the drilled copies, which admits only the drill tester on the PostgreSQL port. Null: the drill tester runs outside any VPC (control-plane checks only)."
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

# Must be the `secret_arn`s of the policy document's
# `[[restore_tests.sql_checks]]`: the Data API reads each secret with the
# restore-tester's permissions, which cover these secrets only.
variable "restore_test_sql_secret_arns" {
  description = "Secrets Manager secrets of the restore tests' data checks: must match the `sql_checks[].secret_arn` of the policy document's `[[restore_tests.sql_checks]]` (for an Aurora cluster, the source cluster's master credentials, which a restored cluster keeps; for an RDS instance, a role that exists in the snapshot's data). Non-empty: the restore-tester may `secretsmanager:GetSecretValue` on these secrets only, and `rds-data:ExecuteStatement` on its test clusters (`rempart-rt-*` tagged `rempart:restore-test`), the Data API reading the secret with its permissions. An instance check without `secret_arn` needs nothing here: it uses the test instance's own RDS-managed secret. Full ARNs, with Secrets Manager's 6-character suffix (or `-??????`)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.restore_test_sql_secret_arns : can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", a))])
    error_message = "restore_test_sql_secret_arns must be Secrets Manager secret ARNs (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>)."
  }
}

variable "restore_test_sql_secret_kms_key_arns" {
  description = "Customer managed KMS keys encrypting the secrets of restore_test_sql_secret_arns: the restore-tester may kms:Decrypt with them through Secrets Manager in `region` only, for those secrets only (encryption context). Secrets under the AWS managed aws/secretsmanager key need nothing here. Ignored while restore_test_sql_secret_arns is empty."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for k in var.restore_test_sql_secret_kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", k))])
    error_message = "restore_test_sql_secret_kms_key_arns must be KMS key ARNs (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "restore_requests_enabled" {
  description = "Let the restore-tester take restores on request: a `Rempart Restore Request` event (source `rempart`, default bus, put by `rempart restore`) restores an RDS instance of `region` into a NEW, private instance, or an Aurora cluster into a NEW cluster with one private member instance, from any of its snapshots or cluster snapshots (Rempart's or not, automated or manual) or to a point in time, tagged `rempart:restore-request`; never deleted by Rempart. Creates the rule `<name>-restore-tester-request` and grants the role the restores, the member creation, the tagging and the reads they need. Whoever may `events:PutEvents` with detail-type `Rempart Restore Request` on the default bus may request a restore: restrict that in the operators' IAM (condition on `events:detail-type`, infra/README.md)."
  type        = bool
  default     = true
}

variable "restore_tester_timeout" {
  description = "Timeout (seconds) of the restore-tester: the listings of the instances, the Aurora clusters and the RDS snapshots, then per database a registry query and at most a restore (for a cluster, the restore and its instance) or a deletion, an optional SQL check through the Data API, a record and an announcement (RDS calls return at once; the restore runs between invocations)."
  type        = number
  default     = 120

  validation {
    condition     = var.restore_tester_timeout >= 1 && var.restore_tester_timeout <= 900
    error_message = "restore_tester_timeout must be between 1 and 900 seconds."
  }
}

variable "memory_size" {
  description = "Memory (MB) of each function."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "log_retention_in_days" {
  description = "Retention of the functions' CloudWatch log groups, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "alarm_actions" {
  description = "ARNs notified, besides the first on-call tier topic, when a function's errors, throttles or dead-letter queue alarm fires and recovers."
  type        = list(string)
  default     = []
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the EMF metrics Rempart's functions publish (RpoAgeSeconds, DrCopyLagSeconds, Coverage, SnapshotsKept, SnapshotsDeleted, RestoreTestRtoSeconds, OpenIncidents, ...; dimension Resource; given to the functions as REMPART_METRICS_NAMESPACE), shown on the dashboard."
  type        = string
  default     = "Rempart"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be a custom CloudWatch namespace (not AWS/...)."
  }
}

variable "oncall_tiers" {
  description = "On-call tiers, in escalation order: one SNS topic each (`<name>-oncall-<tier>`). The functions' errors, throttles and dead-letter alarms go to the first; the incident-escalator escalates along the list. Empty: no tier topics."
  type        = list(string)
  default     = ["level-1", "level-2", "level-3", "level-4"]

  validation {
    condition     = alltrue([for t in var.oncall_tiers : can(regex("^[a-z0-9][a-z0-9-]{0,30}$", t))]) && length(distinct(var.oncall_tiers)) == length(var.oncall_tiers)
    error_message = "oncall_tiers must be distinct names of 1-31 characters of a-z, 0-9 and '-'."
  }
}

variable "oncall_subscriptions" {
  description = "Subscriptions to the on-call tier topics: `tier` (one of oncall_tiers), `protocol` (sms, email, https, lambda, sqs, ...) and `endpoint`. For example, critical alerts by SMS."
  type = list(object({
    tier     = string
    protocol = string
    endpoint = string
  }))
  default = []

  validation {
    condition     = alltrue([for s in var.oncall_subscriptions : contains(var.oncall_tiers, s.tier)])
    error_message = "Every oncall_subscriptions entry must name a tier of oncall_tiers."
  }

  validation {
    condition     = alltrue([for s in var.oncall_subscriptions : contains(["http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose"], s.protocol)])
    error_message = "protocol must be an SNS protocol: http, https, email, email-json, sms, sqs, application, lambda or firehose."
  }
}

variable "event_subscriptions" {
  description = <<-EOT
    Subscriptions to the events topic, one per audience, by name. Each receives only the announcements whose message attributes match:
    `severities` (any of info, warning, critical; empty: all), `kinds` (exact, e.g. `copy.completed`) and `kind_prefixes` (e.g. `snapshot.`; both empty: all kinds),
    `schemas` (default `rempart.announcement/v1`, the one schema Rempart publishes). `raw_message_delivery` applies to sqs, firehose and http(s).
  EOT
  type = map(object({
    protocol             = string
    endpoint             = string
    severities           = optional(list(string), [])
    kinds                = optional(list(string), [])
    kind_prefixes        = optional(list(string), [])
    schemas              = optional(list(string), ["rempart.announcement/v1"])
    raw_message_delivery = optional(bool, false)
  }))
  default = {}

  validation {
    condition     = alltrue([for s in values(var.event_subscriptions) : alltrue([for v in s.severities : contains(["info", "warning", "critical"], v)])])
    error_message = "severities must be among info, warning and critical."
  }

  validation {
    condition     = alltrue([for s in values(var.event_subscriptions) : contains(["http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose"], s.protocol)])
    error_message = "protocol must be an SNS protocol: http, https, email, email-json, sms, sqs, application, lambda or firehose."
  }

  validation {
    condition     = alltrue([for s in values(var.event_subscriptions) : length(s.schemas) > 0])
    error_message = "schemas must not be empty."
  }
}

variable "secret_recovery_window_in_days" {
  description = "Days a deleted Slack secret (webhooks and/or bot token of the slack-notifier) can still be restored (0: deleted at once)."
  type        = number
  default     = 30

  validation {
    condition     = var.secret_recovery_window_in_days == 0 || (var.secret_recovery_window_in_days >= 7 && var.secret_recovery_window_in_days <= 30)
    error_message = "secret_recovery_window_in_days must be 0 or between 7 and 30."
  }
}

variable "kms_deletion_window_in_days" {
  description = "Waiting period before a deleted KMS key is destroyed."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_in_days >= 7 && var.kms_deletion_window_in_days <= 30
    error_message = "kms_deletion_window_in_days must be between 7 and 30."
  }
}

variable "kms_break_glass_principal_arns" {
  description = "IAM principals (role or user ARNs; `*` patterns allowed, e.g. an IAM Identity Center role `arn:aws:iam::<account>:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_BreakGlass_*`) that alone may disable the Rempart KMS keys or schedule their deletion (kms:DisableKey, kms:ScheduleKeyDeletion), in both regions. Empty (default): nobody, not even the account's administrators or the root user, until this list names someone (a `terraform destroy` of the keys included). Changing the key policies (kms:PutKeyPolicy) stays with the account's administrators, so that the keys can never be locked beyond recovery (infra/README.md)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.kms_break_glass_principal_arns : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:.+$", p))])
    error_message = "kms_break_glass_principal_arns must be IAM principal ARNs (arn:aws:iam::<account>:role/<name>, ...)."
  }
}

variable "kms_rotation_period_in_days" {
  description = "Automatic rotation period of the KMS keys (default: annual)."
  type        = number
  default     = 365

  validation {
    condition     = var.kms_rotation_period_in_days >= 90 && var.kms_rotation_period_in_days <= 2560
    error_message = "kms_rotation_period_in_days must be between 90 and 2560."
  }
}

variable "registry_deletion_protection" {
  description = "Protect the registry table (the audit trail of every action) from deletion."
  type        = bool
  default     = true
}

variable "incidents_deletion_protection" {
  description = "Protect the incidents table (open incidents and the closed ones' reports) from deletion."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "slack_actions_enabled" {
  description = "Deploy slack-actions: a function URL for the Slack app's interactivity, so that incident messages' Acknowledge and Client notified buttons act (signature-verified). Off: the messages still carry the buttons, which then fail in Slack; use `rempart incident ack`."
  type        = bool
  default     = true
}

variable "slack_actions_reserved_concurrency" {
  description = "Reserved concurrency of slack-actions (caps what a flood of requests to its public URL can cost; each is refused before any AWS call when unsigned)."
  type        = number
  default     = 5

  validation {
    condition     = var.slack_actions_reserved_concurrency >= 1
    error_message = "slack_actions_reserved_concurrency must be at least 1."
  }
}
