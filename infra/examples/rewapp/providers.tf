# The caller configures the providers (terraform-aws-modules conventions):
# `aws` in the primary region, `aws.dr` in the DR region, both passed to the
# module. Credentials come from the standard chain (AWS_PROFILE, SSO, a
# role); set `profile` here if you prefer.

provider "aws" {
  region = var.region
}

provider "aws" {
  alias  = "dr"
  region = var.dr_region
}

# The backup account (air-gapped copies), in the primary region, through a
# role of that account that may administer it (by default the one AWS
# Organizations creates). Unused while var.vault_account_id is null.
provider "aws" {
  alias  = "vault"
  region = var.region

  dynamic "assume_role" {
    for_each = var.vault_account_id == null ? [] : [1]

    content {
      role_arn = coalesce(var.vault_admin_role_arn, "arn:aws:iam::${var.vault_account_id}:role/OrganizationAccountAccessRole")
    }
  }
}

# The recovery account (restores from the vault), in the primary region,
# through a role of that account that may administer it. Unused while
# var.recovery_account_id is null.
provider "aws" {
  alias  = "recovery"
  region = var.region

  dynamic "assume_role" {
    for_each = var.recovery_account_id == null ? [] : [1]

    content {
      role_arn = coalesce(var.recovery_admin_role_arn, "arn:aws:iam::${var.recovery_account_id}:role/OrganizationAccountAccessRole")
    }
  }
}
