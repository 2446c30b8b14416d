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
