# REWAPP's backup and DR plan: primary region eu-west-1, DR region eu-central-1, the
# policy document of examples/rewapp-policy.toml.
#
#   scripts/build-functions   # from the repository root (cargo lambda build --release --arm64 of the seven functions)
#   terraform init && terraform apply
#
# The providers (aws in var.region, aws.dr in var.dr_region) are configured
# here (providers.tf) and passed to the module.

locals {
  tags = {
    Project     = "rewapp"
    Environment = "prod"
    ManagedBy   = "terraform"
  }
}

module "rempart" {
  source = "../.."

  providers = {
    aws    = aws
    aws.dr = aws.dr
  }

  region          = var.region
  dr_region       = var.dr_region
  policy_document = file("${path.module}/../../../examples/rewapp-policy.toml")
  lambda_zip_dir  = var.lambda_zip_dir

  # The policy's schedule times, in UTC: rewapp-postgres daily 02:00 and
  # weekly Sunday 03:00, rewapp-ebs and rewapp-redis daily 04:00.
  snapshot_schedules = [
    "cron(0 2 * * ? *)",
    "cron(0 3 ? * SUN *)",
    "cron(0 4 * * ? *)",
  ]

  # After the last snapshot of the day.
  retention_schedule = "cron(30 5 * * ? *)"
  retention_dry_run  = false

  # Copies to eu-central-1 every 15 minutes at the latest, besides the
  # snapshot-completed events.
  replication_sweep_schedule = "rate(15 minutes)"

  # Every protected resource checked against the policy every hour: RPO age,
  # copies in eu-central-1, encryption, tiers, RDS snapshot quota.
  audit_schedule = "rate(1 hour)"

  # The policy's [restore_tests] (rewapp-postgres, monthly, from a snapshot
  # younger than 7 days), followed every 5 minutes: the RTO is measured to
  # that period. The policy names no subnet_group: the default VPC's.
  restore_test_schedule     = "rate(5 minutes)"
  restore_test_subnet_group = var.restore_test_subnet_group

  # rewapp-postgres covers RDS instances and Aurora clusters: a cluster is
  # restored with one db.t4g.medium instance. The policy has no
  # [[restore_tests.sql_checks]] yet, so no secret by default: give in
  # var.restore_test_sql_secret_arns the `secret_arn` of each SQL check added
  # there (the Aurora cluster's master-credentials secret, and its customer
  # managed key, if any, in restore_test_sql_secret_kms_key_arns).
  restore_test_sql_secret_arns = var.restore_test_sql_secret_arns

  # The data checks (rewapp-prod-db's tables and row counts, over TLS):
  # the tester in the VPC, the test instances in a subnet group and a
  # security group that admits only it (created here).
  restore_tester_vpc = var.restore_tester_vpc

  # §10.1: the semi-annual cross-region test, by the drill tester in
  # eu-central-1 (the policy's [drills]); in drill_vpc there, it checks the
  # drilled database's data too.
  drills_enabled     = true
  drill_vpc          = var.drill_vpc
  drill_subnet_group = var.drill_subnet_group

  # §10.3: the quarterly Multi-AZ failover test of the policy's
  # [failover_drills] (the role may reboot these instances only).
  failover_drill_instances = ["rewapp-prod-db"]

  # `rempart restore`: restores on request into new instances,
  # by whoever may put a `Rempart Restore Request` event on the default bus
  # (restrict events:PutEvents on that detail-type to the operators).
  restore_requests_enabled = true

  # The policy's [[buckets]], created with the same lifecycle as its
  # [buckets.lifecycle] (the retention-enforcer then finds no drift).
  # Already existing buckets must be imported first (infra/README.md).
  backup_buckets = {
    "rewapp-prod-assets"    = { transition_days = 90, noncurrent_expiration_days = 30 }
    "rewapp-prod-documents" = { transition_days = 60, expiration_days = 1825, noncurrent_expiration_days = 90 }
    "rewapp-prod-exports"   = { transition_days = 30, expiration_days = 365, noncurrent_expiration_days = 7 }
    "rewapp-prod-backups"   = { transition_days = 30, expiration_days = 1825, noncurrent_expiration_days = 365, abort_incomplete_multipart_days = 7 }
  }

  # §4.2: the production buckets replicate to eu-central-1 (the policy's
  # [buckets.replication]); rewapp-prod-backups' Redis exports reach
  # eu-central-1 through the snapshot-replicator instead.
  bucket_replicas = {
    "rewapp-prod-assets"    = "rewapp-prod-assets-dr"
    "rewapp-prod-documents" = "rewapp-prod-documents-dr"
    "rewapp-prod-exports"   = "rewapp-prod-exports-dr"
  }

  # rewapp-redis: export_bucket, and the `bucket` of its [[dr]] entry, kept
  # as long as the exports themselves.
  redis_export_bucket        = "rewapp-prod-backups"
  dr_backup_bucket           = "rewapp-dr-backups"
  dr_backup_bucket_lifecycle = { expiration_days = 1825, noncurrent_expiration_days = 365, abort_incomplete_multipart_days = 7 }

  # Alert levels: critical at once (SMS to the on-call),
  # warning by email and Slack (the slack-notifier subscribes itself),
  # info in the registry and logs only.
  event_subscriptions = merge(
    var.oncall_phone == null ? {} : {
      oncall-critical = { protocol = "sms", endpoint = var.oncall_phone, severities = ["critical"] }
    },
    var.ops_email == null ? {} : {
      ops-warnings = { protocol = "email", endpoint = var.ops_email, severities = ["warning", "critical"] }
    },
    var.dba_email == null ? {} : {
      # The DBAs: what happens to the database snapshots and their DR copies.
      dba-copies = { protocol = "email", endpoint = var.dba_email, kind_prefixes = ["snapshot.", "copy.", "retention."], severities = ["warning", "critical"] }
    },
  )

  # Escalation: DevOps, lead developer, CTO, management. The
  # functions' alarms go to the DevOps tier.
  oncall_tiers = ["devops", "lead-dev", "cto", "direction"]
  oncall_subscriptions = var.oncall_phone == null ? [] : [
    { tier = "devops", protocol = "sms", endpoint = var.oncall_phone },
  ]

  # Who alone may disable the KMS keys or schedule their deletion (empty:
  # nobody; name the break-glass role before any `terraform destroy`).
  kms_break_glass_principal_arns = var.kms_break_glass_principal_arns

  log_retention_in_days         = 365
  registry_deletion_protection  = var.registry_deletion_protection
  incidents_deletion_protection = var.registry_deletion_protection
  alarm_actions                 = var.alarm_actions

  # §7.3, air-gapped copies: the backup account of var.vault_account_id
  # (null: none). Its role's ARN is known before the module below creates
  # it (no cycle between the two accounts' resources).
  vaults = var.vault_account_id == null ? [] : [{
    account_id = var.vault_account_id
    role_arn   = "arn:aws:iam::${var.vault_account_id}:role/rempart-vault-replicator"
  }]

  tags = local.tags
}

# The backup account's side, applied with its provider (aws.vault): the
# vault key, the role the snapshot-replicator assumes there, and that
# account's own retention-enforcer, which keeps the copies by the same
# policy document (stored there, out of production's reach). The policy
# document's [[policies.<name>.vault]] entry names them (README.md,
# "Air-gapped copies").
module "vault" {
  source = "../../modules/vault_account"
  count  = var.vault_account_id == null ? 0 : 1

  providers = {
    aws = aws.vault
  }

  production_account_id          = data.aws_caller_identity.current.account_id
  production_replicator_role_arn = module.rempart.snapshot_replicator_role_arn
  external_id                    = var.vault_external_id
  production_kms_key_arns        = compact([module.rempart.vault_share_key_arn])
  kms_break_glass_principal_arns = var.vault_break_glass_principal_arns

  # rewapp-redis's exports, locked 35 days (its keep_daily = 7, with room).
  redis_bucket_name = "rewapp-rempart-vault-redis-${var.vault_account_id}"
  redis_lock_days   = 35

  policy_document   = file("${path.module}/../../../examples/rewapp-policy.toml")
  enforcer_zip_file = "${module.rempart.lambda_zip_dir}/retention-enforcer/bootstrap.zip"
  # Vault drills: the example policy's [drills] restored from the vault
  # copies, in the backup account.
  drill_tester_zip_file = "${module.rempart.lambda_zip_dir}/restore-tester/bootstrap.zip"
  # In a VPC of the backup account, the vault drills check the drilled
  # database's data too (null: control-plane checks only).
  drill_vpc             = var.vault_drill_vpc
  drill_subnet_group    = var.vault_drill_subnet_group
  log_retention_in_days = 365

  registry_deletion_protection = var.registry_deletion_protection

  # Restores from the vault into the recovery account of
  # var.recovery_account_id (null: none): its role and key ARNs, known
  # before the module below creates them (no cycle between the accounts).
  recovery_accounts = var.recovery_account_id == null ? {} : {
    (var.recovery_account_id) = {
      role_arn    = "arn:aws:iam::${var.recovery_account_id}:role/rempart-recovery"
      kms_key     = "arn:aws:kms:${var.region}:${var.recovery_account_id}:alias/rempart-recovery"
      external_id = var.recovery_external_id
    }
  }

  tags = local.tags
}

# The recovery account's side, applied with its provider (aws.recovery): the
# recovery key and the role the backup account's drill tester assumes there
# to copy a vault copy in and restore it (`rempart restore --from-vault
# <production> --to-account <recovery>`, README.md, "Air-gapped copies").
module "recovery" {
  source = "../../modules/recovery_account"
  count  = var.recovery_account_id == null || var.vault_account_id == null ? 0 : 1

  providers = {
    aws = aws.recovery
  }

  backup_account_id              = var.vault_account_id
  vault_drill_tester_role_arn    = module.vault[0].drill_tester_role_arn
  vault_key_arn                  = module.vault[0].kms_key_arn
  external_id                    = var.recovery_external_id
  kms_break_glass_principal_arns = var.recovery_break_glass_principal_arns

  tags = local.tags
}

check "recovery_needs_a_vault" {
  assert {
    condition     = var.recovery_account_id == null || var.vault_account_id != null
    error_message = "recovery_account_id is set without vault_account_id: restores into a recovery account come from the vault, nothing of it is deployed."
  }
}

data "aws_caller_identity" "current" {}
