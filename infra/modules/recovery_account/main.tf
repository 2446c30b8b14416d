################################################################################
# A recovery account's side of the restores from the vault: applied with the
# recovery account's credentials, in the backup account's region (RDS copies
# a shared snapshot within its region only).
#
# `rempart restore --from-vault <production> --to-account <this account>`,
# sent to the backup account, has its drill tester (modules/vault_account,
# `recovery_accounts`) share the chosen vault copy with this account, assume
# the role below (session `rempart-vault-recovery`) and, through it:
#
#   * copy the shared snapshot here under the recovery key, into a snapshot
#     named as the request's target and tagged with the request;
#   * once the copy is available, restore it into a NEW instance (or a
#     cluster and its one member) of that name, private, in the region's
#     default subnet group, tagged with the request;
#   * follow it, and tag it `rempart:restore-completed` (a failed copy too).
#
# The role deletes nothing here: the copy and the restored database are the
# requester's. It writes only a request's tags (with the request's id), and
# on what a request created the completion mark.
################################################################################

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  role_name  = "${var.name}-recovery"

  # This account's RDS resources, and the backup account's (the shared vault
  # copies).
  rds       = "arn:${local.partition}:rds:${local.region}:${local.account_id}"
  vault_rds = "arn:${local.partition}:rds:${local.region}:${var.backup_account_id}"

  # The tag keys a request writes on its copy here (all of them) and on the
  # database restored from it (all but rempart:restore-class), as it creates
  # them (rempart_core::recovery).
  request_tag_keys = [
    "rempart:restore-request",
    "rempart:restore-source",
    "rempart:restore-point",
    "rempart:restore-started",
    "rempart:requested-by",
    "rempart:approved-by",
    "rempart:restore-from",
    "rempart:restore-class",
  ]

  # Conditions of the statements below.
  with_request_tag     = { test = "Null", variable = "aws:RequestTag/rempart:restore-request", values = ["false"] }
  request_keys_only    = { test = "ForAllValues:StringEquals", variable = "aws:TagKeys", values = local.request_tag_keys }
  of_a_request         = { test = "Null", variable = "aws:ResourceTag/rempart:restore-request", values = ["false"] }
  private              = { test = "Bool", variable = "rds:PubliclyAccessible", values = ["false"] }
  through_rds          = { test = "StringEquals", variable = "kms:ViaService", values = ["rds.${local.region}.amazonaws.com"] }
  for_aws_resources    = { test = "Bool", variable = "kms:GrantIsForAWSResource", values = ["true"] }
  request_resources    = ["${local.rds}:snapshot:*", "${local.rds}:cluster-snapshot:*", "${local.rds}:db:*", "${local.rds}:cluster:*"]
  default_subnet_group = "${local.rds}:subgrp:default"

  # The role's rights, one statement each.
  statements = [
    # The copies in progress (manual snapshots, tags in the TagList), the
    # restores in progress, and whether a target name is free.
    {
      sid        = "ListCopiesAndRestores"
      actions    = ["rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots", "rds:DescribeDBInstances", "rds:DescribeDBClusters"]
      resources  = local.request_resources
      conditions = []
    },
    # The copy, authorized on the source (a snapshot of the backup account,
    # shared with this one: that share is AWS's cross-account grant) and on
    # the new snapshot here: only with the request's tag, and only the
    # request's keys (a copy cannot carry rempart:managed).
    {
      sid        = "CopyVaultCopiesHere"
      actions    = ["rds:CopyDBSnapshot", "rds:CopyDBClusterSnapshot"]
      resources  = ["${local.vault_rds}:snapshot:*", "${local.vault_rds}:cluster-snapshot:*", "${local.rds}:snapshot:*", "${local.rds}:cluster-snapshot:*"]
      conditions = [local.with_request_tag, local.request_keys_only]
    },
    # Tags given with a copy, a restore or a member's creation are authorized
    # as AddTagsToResource on the new resource. RDS has no condition key that
    # tells them from tags added later (rds:TagsFromRequest is true for
    # both): hence only the request's keys, none that Rempart trusts for a
    # deletion or a retention. No Deny on what a request created either: a
    # redelivered request's copy (or restore) of a name already taken is
    # authorized on the existing snapshot, with its tags, and must get RDS's
    # "already exists", which the function takes for its own copy.
    {
      sid        = "TagRequestsOnCreation"
      actions    = ["rds:AddTagsToResource"]
      resources  = local.request_resources
      conditions = [local.with_request_tag, local.request_keys_only]
    },
    # The restore of a copy into a NEW instance named as the copy, in the
    # region's default subnet group, with the default option and parameter
    # groups (used, never modified), never public. Neither restore can
    # modify an existing database: a target name in use fails.
    {
      sid        = "RestoreCopiesIntoNewInstances"
      actions    = ["rds:RestoreDBInstanceFromDBSnapshot"]
      resources  = ["${local.rds}:db:*", local.default_subnet_group, "${local.rds}:og:*", "${local.rds}:pg:*"]
      conditions = [local.with_request_tag, local.private]
    },
    # The same for an Aurora copy: a NEW cluster (RDS has no
    # rds:PubliclyAccessible for it: its member's is CreateRestoredMembers').
    {
      sid        = "RestoreCopiesIntoNewClusters"
      actions    = ["rds:RestoreDBClusterFromSnapshot"]
      resources  = ["${local.rds}:cluster:*", local.default_subnet_group, "${local.rds}:cluster-pg:*", "${local.rds}:og:*"]
      conditions = [local.with_request_tag]
    },
    # ... from a request's own copy only (tagged rempart:restore-request):
    # no other snapshot of this account is restored.
    {
      sid        = "RestoreRequestCopiesOnly"
      actions    = ["rds:RestoreDBInstanceFromDBSnapshot", "rds:RestoreDBClusterFromSnapshot"]
      resources  = ["${local.rds}:snapshot:*", "${local.rds}:cluster-snapshot:*"]
      conditions = [local.with_request_tag, local.of_a_request]
    },
    # A restored cluster's one member (named as the cluster), private, with
    # the request's tag ...
    {
      sid        = "CreateRestoredMembers"
      actions    = ["rds:CreateDBInstance"]
      resources  = ["${local.rds}:db:*", local.default_subnet_group, "${local.rds}:og:*", "${local.rds}:pg:*"]
      conditions = [local.with_request_tag, local.private]
    },
    # ... in a cluster a request restored only.
    {
      sid        = "InRestoredClustersOnly"
      actions    = ["rds:CreateDBInstance"]
      resources  = ["${local.rds}:cluster:*"]
      conditions = [local.with_request_tag, local.private, local.of_a_request]
    },
    # rempart:restore-completed, once the restored instance (an Aurora
    # cluster's member) is available and checked, or on a copy that failed:
    # only on what a request created, and only that key.
    {
      sid        = "MarkRequestsCompleted"
      actions    = ["rds:AddTagsToResource"]
      resources  = ["${local.rds}:snapshot:*", "${local.rds}:cluster-snapshot:*", "${local.rds}:db:*"]
      conditions = [local.of_a_request, { test = "ForAllValues:StringEquals", variable = "aws:TagKeys", values = ["rempart:restore-completed"] }]
    },
    # The recovery key, through RDS of this region: the copy is encrypted
    # with it, the restored database keeps it.
    {
      sid        = "UseRecoveryKeyThroughRds"
      actions    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
      resources  = [aws_kms_key.recovery.arn]
      conditions = [local.through_rds]
    },
    # The vault key (the backup account's; its key policy lets this role
    # use it, RecoveryRolesReadVaultCopies): the shared copy is read through
    # RDS.
    {
      sid        = "ReadVaultCopiesThroughRds"
      actions    = ["kms:Decrypt", "kms:DescribeKey"]
      resources  = [var.vault_key_arn]
      conditions = [local.through_rds]
    },
    # RDS's grants on both keys for the copy and the restored database.
    {
      sid        = "GrantKeysToRds"
      actions    = ["kms:CreateGrant"]
      resources  = [aws_kms_key.recovery.arn, var.vault_key_arn]
      conditions = [local.through_rds, local.for_aws_resources]
    },
  ]
}

# Key policy: AWS's default account statement (the key's use is granted by
# IAM policies, the recovery role's, through RDS only), and only the
# break-glass principals may disable the key or schedule its deletion: the
# restored databases are under it (modules/key_policy).
module "key_policy" {
  source = "../key_policy"

  break_glass_principal_arns = var.kms_break_glass_principal_arns
}

resource "aws_kms_key" "recovery" {
  description             = "Rempart: copies of vault copies restored in this recovery account, and the databases restored from them"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_in_days
  policy                  = module.key_policy.json

  tags = var.tags
}

resource "aws_kms_alias" "recovery" {
  name          = "alias/${var.name}-recovery"
  target_key_id = aws_kms_key.recovery.key_id
}

# Only the backup account's drill tester, with the external id when one is
# set.
data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "VaultDrillTesterOnly"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = [var.vault_drill_tester_role_arn]
    }

    dynamic "condition" {
      for_each = var.external_id == null ? [] : [var.external_id]

      content {
        test     = "StringEquals"
        variable = "sts:ExternalId"
        values   = [condition.value]
      }
    }
  }
}

data "aws_iam_policy_document" "recovery" {
  dynamic "statement" {
    for_each = local.statements

    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources

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

resource "aws_iam_role" "recovery" {
  name                 = local.role_name
  description          = "Rempart: the backup account's drill tester copies vault copies into this recovery account and restores them here"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600

  tags = var.tags

  lifecycle {
    precondition {
      condition     = split(":", var.vault_drill_tester_role_arn)[4] == var.backup_account_id && split(":", var.vault_key_arn)[4] == var.backup_account_id
      error_message = "vault_drill_tester_role_arn and vault_key_arn must be of backup_account_id (${var.backup_account_id})."
    }

    precondition {
      condition     = split(":", var.vault_key_arn)[3] == local.region
      error_message = "vault_key_arn must be of this provider's region (${local.region}): RDS copies a shared snapshot within its region only."
    }
  }
}

resource "aws_iam_role_policy" "recovery" {
  name   = "restores-from-the-vault"
  role   = aws_iam_role.recovery.id
  policy = data.aws_iam_policy_document.recovery.json
}
