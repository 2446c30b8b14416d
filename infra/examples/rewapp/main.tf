# REWAPP (seed 003): primary region eu-west-1, DR region eu-central-1, the
# policy document of examples/rewapp-policy.toml.
#
#   cargo lambda build --release --arm64 --output-format zip   # from the repository root
#   terraform init && terraform apply
#
# The providers (aws in var.region, aws.dr in var.dr_region) are configured
# by the root module.

locals {
  tags = {
    Project     = "rewapp"
    Environment = "prod"
    ManagedBy   = "terraform"
  }
}

module "rempart" {
  source = "../.."

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

  # The policy's [[buckets]].
  backup_bucket_names = [
    "rewapp-prod-assets",
    "rewapp-prod-documents",
    "rewapp-prod-exports",
    "rewapp-prod-backups",
  ]

  log_retention_in_days        = 365
  registry_deletion_protection = var.registry_deletion_protection
  alarm_actions                = var.alarm_actions

  tags = local.tags
}
