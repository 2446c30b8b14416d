terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
      # The caller configures both: `aws` in var.region, `aws.dr` in
      # var.dr_region (examples/rewapp/providers.tf).
      configuration_aliases = [aws.dr]
    }
  }
}
