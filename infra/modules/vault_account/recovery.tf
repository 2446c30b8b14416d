################################################################################
# Restores from the vault into a recovery account (`recovery_accounts`):
# `rempart restore --from-vault <production> --to-account <recovery>` has
# this account's drill tester share the chosen vault copy with the recovery
# account, assume the role of modules/recovery_account there (session
# `rempart-vault-recovery`) and, through it, copy the shared snapshot there
# under that account's key, then restore the copy there; the share is
# removed once the copy is made (or has failed). The copy and the restored
# database stay in the recovery account, the requester's; nothing is
# deleted there.
#
# Here: the recovery accounts in the drill tester's environment
# (REMPART_RECOVERY_ACCOUNTS), its right to assume those roles and to share
# Rempart's vault copies, and the vault key's statements that let those
# roles (and no other principal of those accounts) read a shared copy
# through RDS. Nothing without a drill tester (drill_tester_zip_file) or
# without recovery accounts.
################################################################################

locals {
  recovery           = var.drill_tester_zip_file == null ? {} : var.recovery_accounts
  recovery_role_arns = sort([for a in values(local.recovery) : a.role_arn])

  # REMPART_RECOVERY_ACCOUNTS: the accounts by id, as the function reads them
  # (rempart_core::recovery).
  recovery_environment = length(local.recovery) == 0 ? {} : {
    REMPART_RECOVERY_ACCOUNTS = jsonencode({
      for id, a in local.recovery : id => { role = a.role_arn, external_id = a.external_id, kms_key = a.kms_key }
    })
  }

  # The roles, through RDS of this region (where the copies are made: RDS
  # copies a shared snapshot within its region only).
  recovery_key_conditions = [
    { test = "StringEquals", variable = "kms:ViaService", values = ["rds.${local.region}.amazonaws.com"] },
    { test = "ArnEquals", variable = "aws:PrincipalArn", values = local.recovery_role_arns },
  ]
}

# The drill tester's rights for the recovery accounts (merged into its
# policy, drill_tester.tf).
data "aws_iam_policy_document" "drill_tester_recovery" {
  count = length(local.recovery) > 0 ? 1 : 0

  # Only the configured roles (their trust policies name this role, with the
  # external id when one is set).
  statement {
    sid       = "AssumeRecoveryRoles"
    actions   = ["sts:AssumeRole"]
    resources = local.recovery_role_arns
  }

  # Share a vault copy with a recovery account, and remove the share (RDS's
  # `restore` attribute): Rempart's copies only. RDS has no condition key for
  # the accounts a share names (EBS has ec2:Add/userId): a copy shared with
  # any other account stays unreadable there, since the vault key lets only
  # the recovery roles use it (RecoveryRolesReadVaultCopies).
  dynamic "statement" {
    for_each = [
      { sid = "ShareVaultCopiesWithRecoveryAccounts", action = "rds:ModifyDBSnapshotAttribute", type = "snapshot" },
      { sid = "ShareVaultClusterCopiesWithRecoveryAccounts", action = "rds:ModifyDBClusterSnapshotAttribute", type = "cluster-snapshot" },
    ]

    content {
      sid       = statement.value.sid
      actions   = [statement.value.action]
      resources = ["arn:${local.partition}:rds:${local.region}:${local.account_id}:${statement.value.type}:*"]

      condition {
        test     = "StringEquals"
        variable = "rds:${statement.value.type}-tag/rempart:managed"
        values   = ["true"]
      }
    }
  }
}

# The vault key's statements for the recovery roles (merged into its policy,
# main.tf). The principal is each recovery account (its root), narrowed to
# the configured roles by aws:PrincipalArn: KMS refuses a key policy naming
# a role that does not exist yet, and a recovery role comes after this key
# (modules/recovery_account grants it this key), or from another apply. What
# AWS asks of the key of a shared snapshot for a copy: Decrypt, DescribeKey,
# CreateGrant, here through RDS of this region only; the recovery role's own
# IAM policy must grant it too.
data "aws_iam_policy_document" "kms_recovery" {
  count = length(local.recovery) > 0 ? 1 : 0

  dynamic "statement" {
    for_each = [
      { sid = "RecoveryRolesReadVaultCopies", actions = ["kms:Decrypt", "kms:DescribeKey"], conditions = local.recovery_key_conditions },
      # For AWS resources only: RDS's grant for the copy.
      { sid = "RecoveryRolesGrantVaultKeyToRds", actions = ["kms:CreateGrant"], conditions = concat(local.recovery_key_conditions, [
        { test = "Bool", variable = "kms:GrantIsForAWSResource", values = ["true"] },
      ]) },
    ]

    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = ["*"]

      principals {
        type        = "AWS"
        identifiers = [for id in sort(keys(local.recovery)) : "arn:${local.partition}:iam::${id}:root"]
      }

      dynamic "condition" {
        for_each = statement.value.conditions

        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}
