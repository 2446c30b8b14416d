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
