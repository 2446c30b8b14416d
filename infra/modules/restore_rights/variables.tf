variable "partition" {
  description = "The AWS partition of the ARNs (aws, aws-cn, aws-us-gov)."
  type        = string
}

variable "region" {
  description = "The region the rights hold in: where the restore-tester (or the drill tester, in the DR region) restores its throw-away copies."
  type        = string
}

variable "account_id" {
  description = "The account of the databases, snapshots and copies."
  type        = string
}

variable "subnet_group_name" {
  description = "The DB subnet group the copies may be restored into (`default`: the region's default VPC's)."
  type        = string
}

variable "cache_subnet_group_name" {
  description = "The cache subnet group Redis test groups may be created in (`default`: ElastiCache's)."
  type        = string
  default     = "default"
}

variable "tag_keys" {
  description = "The tag keys the function writes on a throw-away copy as it creates it."
  type        = list(string)
}

variable "key_arns" {
  description = "The customer managed KMS keys of the snapshots restored (used through RDS, EC2 and ElastiCache of var.region only)."
  type        = list(string)
  default     = []
}

variable "redis" {
  description = "Whether Redis restore tests are granted (the drill tester restores no Redis)."
  type        = bool
  default     = true
}

variable "requests" {
  description = "Whether restores on request are granted (requests.tf): into NEW instances and clusters of any name, tagged with the request, marked completed, never deleted."
  type        = bool
  default     = false
}

variable "requests_point_in_time" {
  description = "Restores on request name a live database: its point-in-time window and its snapshots are read, and point-in-time restores granted. false in a backup account, whose drill tester restores vault copies only."
  type        = bool
  default     = true
}
