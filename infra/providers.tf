# The root module configures its providers: `aws` in the primary region and
# `aws.dr` in the DR region. It is deployed directly (`terraform apply` here)
# or from a deployment such as examples/rewapp, which sets region and
# dr_region; such a caller cannot use count, for_each or depends_on on it.

provider "aws" {
  region  = var.region
  profile = var.profile
}

provider "aws" {
  alias   = "dr"
  region  = var.dr_region
  profile = var.profile
}
