################################################################################
# The statements a key policy of a backup or recovery account starts with
# (modules/vault_account, modules/recovery_account), for the caller's account:
#
#   * AccountAdministers: AWS's default account statement, which delegates
#     the key's use to IAM policies (without it the key could be locked
#     beyond recovery);
#   * OnlyBreakGlassDisablesOrDeletes: disabling the key or scheduling its
#     deletion makes every backup under it unreadable, so only the principals
#     of break_glass_principal_arns may (default: nobody). It does not cover
#     kms:PutKeyPolicy: a policy nobody could change would be final, so the
#     account's administrators keep it, and lifting the Deny is a deliberate,
#     visible step (a PutKeyPolicy in CloudTrail).
#
# The caller adds its own statements (source_policy_documents).
################################################################################

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "this" {
  #checkov:skip=CKV_AWS_356:In a key policy, Resource "*" is this key only.
  #checkov:skip=CKV_AWS_111:The account-root statement is AWS's default key policy; the use of the key is granted by the roles' IAM policies, each through its services only.
  #checkov:skip=CKV_AWS_109:The account-root statement is AWS's default key policy; permission management stays with the account's administrators through IAM.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "OnlyBreakGlassDisablesOrDeletes"
    effect    = "Deny"
    actions   = ["kms:DisableKey", "kms:ScheduleKeyDeletion"]
    resources = ["*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    dynamic "condition" {
      for_each = length(var.break_glass_principal_arns) > 0 ? [1] : []

      content {
        test     = "ArnNotLike"
        variable = "aws:PrincipalArn"
        values   = var.break_glass_principal_arns
      }
    }
  }
}
