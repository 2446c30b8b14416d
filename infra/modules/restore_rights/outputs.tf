output "policies" {
  description = "The rights by concern, as policy documents (JSON) keyed by the name of the managed policy they become."
  value = merge(
    { restore-tests = data.aws_iam_policy_document.tests.json },
    { ebs-restore-tests = data.aws_iam_policy_document.ebs_tests.json },
    var.redis ? { redis-restore-tests = data.aws_iam_policy_document.redis_tests.json } : {},
    length(var.key_arns) > 0 ? { database-keys = data.aws_iam_policy_document.database_keys.json } : {},
    var.requests ? { restores-on-request = data.aws_iam_policy_document.requests.json } : {},
  )
}
