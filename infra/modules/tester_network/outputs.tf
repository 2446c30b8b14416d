output "tester_security_group_id" {
  description = "The tester's security group: the function's vpc_config `security_group_ids`."
  value       = aws_security_group.tester.id
}

output "copies_security_group_id" {
  description = "The copies' security group: REMPART_RESTORE_TEST_SECURITY_GROUPS."
  value       = aws_security_group.copies.id
}
