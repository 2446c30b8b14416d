################################################################################
# Backup buckets, one modules/backup_buckets per region:
# versioning, SSE-KMS under the region's Rempart key, every public access
# blocked, ACLs disabled, TLS only, the lifecycle as the retention-enforcer
# writes it. One primary bucket may receive the ElastiCache exports
# (redis_export_bucket); the DR bucket (dr_backup_bucket, DR region)
# receives the snapshot-replicator's copies of those exports, under the DR
# key.
################################################################################

locals {
  dr_backup_buckets = var.dr_backup_bucket == null ? {} : { (var.dr_backup_bucket) = var.dr_backup_bucket_lifecycle }

  # ElastiCache's export service principal of the primary region, and of
  # the DR region (which reads the DR bucket's files for Redis drills).
  elasticache_export_principal = "${local.region}.elasticache-snapshot.amazonaws.com"
  elasticache_dr_principal     = "${var.dr_region}.elasticache-snapshot.amazonaws.com"
}

module "backup_buckets" {
  source = "./modules/backup_buckets"

  buckets         = var.backup_buckets
  kms_key_arn     = aws_kms_key.this.arn
  lifecycle_owner = "enforcer"

  elasticache_export_bucket    = var.redis_export_bucket
  elasticache_export_principal = local.elasticache_export_principal

  tags = local.tags
}

module "dr_backup_buckets" {
  source    = "./modules/backup_buckets"
  providers = { aws = aws.dr }

  buckets         = local.dr_backup_buckets
  kms_key_arn     = aws_kms_key.dr.arn
  lifecycle_owner = "terraform"

  # The drill tester's Redis drills seed a group with the files here.
  elasticache_seed_principal = var.drills_enabled ? local.elasticache_dr_principal : null

  tags = local.tags
}

# Where these were before modules/backup_buckets.
moved {
  from = aws_s3_bucket.backup
  to   = module.backup_buckets.aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_versioning.backup
  to   = module.backup_buckets.aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.backup
  to   = module.backup_buckets.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_public_access_block.backup
  to   = module.backup_buckets.aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_ownership_controls.backup
  to   = module.backup_buckets.aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_policy.backup
  to   = module.backup_buckets.aws_s3_bucket_policy.this
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.backup
  to   = module.backup_buckets.aws_s3_bucket_lifecycle_configuration.enforcer_owned
}

moved {
  from = aws_s3_bucket.dr_backup
  to   = module.dr_backup_buckets.aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_versioning.dr_backup
  to   = module.dr_backup_buckets.aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.dr_backup
  to   = module.dr_backup_buckets.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_public_access_block.dr_backup
  to   = module.dr_backup_buckets.aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_ownership_controls.dr_backup
  to   = module.dr_backup_buckets.aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_policy.dr_backup
  to   = module.dr_backup_buckets.aws_s3_bucket_policy.this
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.dr_backup
  to   = module.dr_backup_buckets.aws_s3_bucket_lifecycle_configuration.terraform_owned
}
