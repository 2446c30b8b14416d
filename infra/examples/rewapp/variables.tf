variable "region" {
  description = "Primary region, where the functions run (seed 003: eu-west-1)."
  type        = string
  default     = "eu-west-1"
}

variable "dr_region" {
  description = "Disaster-recovery region (seed 003: eu-central-1)."
  type        = string
  default     = "eu-central-1"
}

variable "alarm_actions" {
  description = "ARNs notified by the functions' alarms (e.g. the operations SNS topic)."
  type        = list(string)
  default     = []
}

variable "lambda_zip_dir" {
  description = "Directory holding `<function>/bootstrap.zip` (absolute, or relative to infra/); null: the repository's target/lambda, where `cargo lambda build` writes them."
  type        = string
  default     = null
}

variable "registry_deletion_protection" {
  description = "Protect the registry table (the audit trail) from deletion; false only for a throw-away deployment."
  type        = bool
  default     = true
}
