output "arns" {
  description = "ARNs of the buckets, by name."
  value       = { for k, b in aws_s3_bucket.this : k => b.arn }
}
