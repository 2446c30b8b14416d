variable "buckets" {
  description = "The buckets (name => lifecycle: the fields of the policy document's `[buckets.lifecycle]`). Validated by the caller."
  type = map(object({
    transition_days                 = optional(number)
    storage_class                   = optional(string)
    expiration_days                 = optional(number)
    noncurrent_expiration_days      = optional(number)
    abort_incomplete_multipart_days = optional(number)
  }))
}

variable "kms_key_arn" {
  description = "The KMS key of the region (SSE-KMS, with a bucket key)."
  type        = string
}

variable "lifecycle_owner" {
  description = "Who owns the lifecycle rule after creation: `enforcer` (the retention-enforcer rewrites it from the policy document; Terraform creates it and then leaves it alone) or `terraform` (Terraform keeps it as given)."
  type        = string

  validation {
    condition     = contains(["enforcer", "terraform"], var.lifecycle_owner)
    error_message = "lifecycle_owner must be `enforcer` or `terraform`."
  }
}

variable "elasticache_export_bucket" {
  description = "The key of `buckets` that receives ElastiCache's snapshot exports: its bucket policy lets `elasticache_export_principal` write there. null: none."
  type        = string
  default     = null
}

variable "elasticache_export_principal" {
  description = "ElastiCache's export service principal of the bucket's region (`<region>.elasticache-snapshot.amazonaws.com`)."
  type        = string
  default     = null
}

variable "elasticache_seed_principal" {
  description = "ElastiCache's service principal of the buckets' region (`<region>.elasticache-snapshot.amazonaws.com`) when a new replication group may be seeded with the `.rdb` files here (the DR drills of Redis): read only. null: none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags of the buckets."
  type        = map(string)
  default     = {}
}
