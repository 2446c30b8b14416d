################################################################################
# The network of a tester that checks its throw-away copies down to their
# data (`[[restore_tests.sql_checks]]` on RDS instances, PostgreSQL over
# TLS): the restore-tester's (restore_tester_vpc), the DR drill tester's
# (drill_vpc) and a backup account's vault drill tester's (modules/
# vault_account, drill_vpc). In the caller's provider's account and region:
#
#   * the tester's security group (the function's, vpc_config): HTTPS to
#     the AWS APIs (through the subnets' NAT gateway or VPC endpoints) and
#     PostgreSQL to the copies' group, nothing else;
#   * the copies' security group (REMPART_RESTORE_TEST_SECURITY_GROUPS):
#     PostgreSQL from the tester's group only;
#   * with `subnet_group`, the DB subnet group of the copies, in the same
#     subnets (REMPART_RESTORE_TEST_SUBNET_GROUP; the tester's role may
#     restore into that one group only, modules/restore_rights).
#
# Names and descriptions are the caller's (a security group's description
# cannot change without replacing it).
################################################################################

resource "aws_security_group" "tester" {
  #checkov:skip=CKV2_AWS_5:Attached to the tester function through the caller's module "function" vpc_config, which checkov does not follow across modules.
  name        = var.tester.name
  description = var.tester.description
  vpc_id      = var.vpc.vpc_id
  tags        = var.tags
}

resource "aws_security_group" "copies" {
  #checkov:skip=CKV2_AWS_5:Attached at run time: the tester puts its throw-away copies in this group (REMPART_RESTORE_TEST_SECURITY_GROUPS); Terraform creates no instance.
  name        = var.copies.name
  description = var.copies.description
  vpc_id      = var.vpc.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.tester.id
  description       = var.rule_descriptions.https
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
  tags              = var.tags
}

resource "aws_vpc_security_group_egress_rule" "postgres" {
  security_group_id            = aws_security_group.tester.id
  description                  = var.rule_descriptions.to_copies
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.copies.id
  tags                         = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "from_tester" {
  security_group_id            = aws_security_group.copies.id
  description                  = var.rule_descriptions.from_tester
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.tester.id
  tags                         = var.tags
}

resource "aws_db_subnet_group" "copies" {
  count = var.subnet_group == null ? 0 : 1

  name        = var.subnet_group.name
  description = var.subnet_group.description
  subnet_ids  = var.vpc.subnet_ids
  tags        = var.tags
}
