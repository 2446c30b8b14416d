################################################################################
# Air-gapped copies, production side: the share key the backup accounts may
# use, and the snapshot-replicator's rights to stage, share, hand over to the
# backup account's role and clean up. The backup account's side (its key,
# the role the replicator assumes there) is modules/vault_account, applied
# with that account's credentials.
#
# The replicator never deletes anything of the backup account, and no role
# here has any right there: the backup account's own role copies what is
# shared with it, and its own key policy and roles decide the rest.
################################################################################

locals {
  vaults_enabled = length(var.vaults) > 0

  # Rempart's snapshots of the primary region: the sources and their stages
  # (`rempart-...-vault`, vault.rs stage_id).
  vault_rds_snapshot_arns = [
    "arn:${local.partition}:rds:${local.region}:${local.account_id}:snapshot:rempart-*",
    "arn:${local.partition}:rds:${local.region}:${local.account_id}:cluster-snapshot:rempart-*",
  ]
  # Stages only: `<source>-vault` (vault.rs stage_id). RDS has no condition
  # key that tells a tag given at creation from a later one: a stage's
  # ownership tag is bound to these names.
  vault_rds_stage_arns = [
    "arn:${local.partition}:rds:${local.region}:${local.account_id}:snapshot:rempart-*-vault",
    "arn:${local.partition}:rds:${local.region}:${local.account_id}:cluster-snapshot:rempart-*-vault",
  ]
  vault_ec2_snapshot_arns = ["arn:${local.partition}:ec2:${local.region}::snapshot/*"]
  vault_account_ids       = [for v in var.vaults : v.account_id]
}

# What a backup account needs of the key of a snapshot shared with it to
# copy it (AWS: "Allowing access to a KMS key" for shared RDS snapshots;
# EBS: "Share the KMS key used to encrypt a shared Amazon EBS snapshot"),
# through RDS and EC2 of this region only; that account's IAM policies then
# decide which of its principals may (its vault role). In the share key's
# policy below, and the output `vault_share_key_policy_statements` for a
# customer key of the user's own whose snapshots are shared directly.
data "aws_iam_policy_document" "vault_share_backup_accounts" {
  count = local.vaults_enabled ? 1 : 0

  #checkov:skip=CKV_AWS_356:Key policy statements: Resource "*" is the key they are attached to only.
  #checkov:skip=CKV_AWS_111:Key policy statements for the backup accounts, bound to RDS and EC2 of this region by kms:ViaService; their IAM narrows them to the vault role.

  statement {
    sid       = "BackupAccountsCopyShared"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [for a in local.vault_account_ids : "arn:${local.partition}:iam::${a}:root"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["rds.${local.region}.amazonaws.com", "ec2.${local.region}.amazonaws.com"]
    }
  }

  # EBS re-encrypts a shared snapshot's data key from this key to the
  # backup account's (the EBS guide lists kms:ReEncrypt for a shared key's
  # users): the reading direction only (no ReEncryptTo, Encrypt or
  # GenerateDataKey: the backup account encrypts nothing under this key),
  # through EC2 only.
  statement {
    sid       = "BackupAccountsCopySharedVolumes"
    actions   = ["kms:ReEncryptFrom"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [for a in local.vault_account_ids : "arn:${local.partition}:iam::${a}:root"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ec2.${local.region}.amazonaws.com"]
    }
  }
}

# The share key: snapshots under an AWS-managed key (aws/rds, aws/ebs) are
# copied under it first (a stage), because AWS lets no other account use an
# AWS-managed key. Its policy lets the backup accounts use it for the copy
# of what is shared with them (above).
data "aws_iam_policy_document" "kms_vault_share" {
  count = local.vaults_enabled ? 1 : 0

  source_policy_documents = [
    data.aws_iam_policy_document.kms_break_glass.json,
    data.aws_iam_policy_document.vault_share_backup_accounts[0].json,
  ]

  #checkov:skip=CKV_AWS_356:In a key policy, Resource "*" is this key only (see the primary key's policy).
  #checkov:skip=CKV_AWS_111:The account-root statement is AWS's default key policy; the snapshot-replicator's use of the key is granted by its IAM policy, through RDS and EC2 only.
  #checkov:skip=CKV_AWS_109:The account-root statement is AWS's default key policy; permission management stays with the account's administrators through IAM.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "vault_share" {
  count = local.vaults_enabled ? 1 : 0

  description             = "Rempart: snapshots shared with the backup accounts (stages of snapshots under AWS-managed keys)"
  enable_key_rotation     = true
  rotation_period_in_days = var.kms_rotation_period_in_days
  deletion_window_in_days = var.kms_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.kms_vault_share[0].json

  tags = local.tags
}

resource "aws_kms_alias" "vault_share" {
  count = local.vaults_enabled ? 1 : 0

  name          = "alias/${var.name}-vault-share"
  target_key_id = aws_kms_key.vault_share[0].key_id
}

# The replicator's rights for the vaults (merged into its policy,
# snapshot_replicator.tf).
data "aws_iam_policy_document" "replicator_vault" {
  # Only the backup accounts' vault roles (their trust policies require the
  # external id and trust this role only).
  statement {
    sid       = "AssumeVaultRoles"
    actions   = ["sts:AssumeRole"]
    resources = length(var.vaults) > 0 ? [for v in var.vaults : v.role_arn] : ["arn:${local.partition}:iam::${local.account_id}:role/${var.name}-no-vault"]
  }

  # Share with (and unshare from) the backup accounts: Rempart's snapshots
  # and their stages only. EBS says which account a permission names
  # (ec2:Add/userId, ec2:Remove/userId): the backup accounts only.
  statement {
    sid       = "ShareRdsWithVaults"
    actions   = ["rds:ModifyDBSnapshotAttribute", "rds:ModifyDBClusterSnapshotAttribute"]
    resources = local.vault_rds_snapshot_arns
  }

  statement {
    sid       = "ShareEbsWithVaults"
    actions   = ["ec2:ModifySnapshotAttribute"]
    resources = local.vault_ec2_snapshot_arns

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "ec2:Add/userId"
      values   = local.vaults_enabled ? local.vault_account_ids : ["none"]
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "ec2:Remove/userId"
      values   = local.vaults_enabled ? local.vault_account_ids : ["none"]
    }
  }

  # A stage is tagged at its creation as what it is (rempart:vault-stage-of,
  # with the source's policy), never as Rempart-managed: no other function
  # ever sees it, and only the replicator deletes it.
  statement {
    sid       = "TagRdsStages"
    actions   = ["rds:AddTagsToResource"]
    resources = local.vault_rds_stage_arns

    condition {
      test     = "Null"
      variable = "aws:RequestTag/rempart:vault-stage-of"
      values   = ["false"]
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = ["rempart:vault-stage-of", "rempart:policy"]
    }
  }

  statement {
    sid       = "DeleteRdsStages"
    actions   = ["rds:DeleteDBSnapshot", "rds:DeleteDBClusterSnapshot"]
    resources = local.vault_rds_stage_arns

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/rempart:vault-stage-of"
      values   = ["false"]
    }

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/rempart:managed"
      values   = ["true"]
    }
  }

  statement {
    sid       = "DeleteEbsStages"
    actions   = ["ec2:DeleteSnapshot"]
    resources = local.vault_ec2_snapshot_arns

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/rempart:vault-stage-of"
      values   = ["false"]
    }

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/rempart:managed"
      values   = ["true"]
    }
  }

  # The mark on a source whose vault copy is made (rempart:vault-copy:<account>):
  # on Rempart's snapshots, that key only.
  statement {
    sid       = "MarkRdsVaultCopies"
    actions   = ["rds:AddTagsToResource"]
    resources = local.vault_rds_snapshot_arns

    condition {
      test     = local.managed_condition.test
      variable = local.managed_condition.variable
      values   = local.managed_condition.values
    }

    condition {
      test     = "ForAllValues:StringLike"
      variable = "aws:TagKeys"
      values   = ["rempart:vault-copy:*"]
    }
  }

  statement {
    sid       = "MarkRedisVaultCopies"
    actions   = ["elasticache:AddTagsToResource"]
    resources = ["arn:${local.partition}:elasticache:${local.region}:${local.account_id}:snapshot:*"]

    condition {
      test     = local.managed_condition.test
      variable = local.managed_condition.variable
      values   = local.managed_condition.values
    }

    condition {
      test     = "ForAllValues:StringLike"
      variable = "aws:TagKeys"
      values   = ["rempart:vault-copy:*"]
    }
  }

  statement {
    sid       = "MarkEbsVaultCopies"
    actions   = ["ec2:CreateTags"]
    resources = local.vault_ec2_snapshot_arns

    condition {
      test     = local.managed_condition.test
      variable = local.managed_condition.variable
      values   = local.managed_condition.values
    }

    condition {
      test     = "ForAllValues:StringLike"
      variable = "aws:TagKeys"
      values   = ["rempart:vault-copy:*"]
    }
  }

  # The pre-flight: which key each source is under (an AWS-managed key,
  # whose id is the account's own, needs a stage) and whether the key a
  # shared snapshot is under lets the backup account use it (its key
  # policy). Read-only, on the keys of the primary region.
  statement {
    sid       = "ReadSourceKeys"
    actions   = ["kms:DescribeKey", "kms:GetKeyPolicy"]
    resources = ["arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*"]
  }
}
