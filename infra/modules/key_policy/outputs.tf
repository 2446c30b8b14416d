output "json" {
  description = "The two statements, as a policy document (JSON) for source_policy_documents."
  value       = data.aws_iam_policy_document.this.json
}
