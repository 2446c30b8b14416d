variable "vpc" {
  description = "The VPC (`vpc_id`) and its private subnets (`subnet_ids`, at least two AZs, with a route to the AWS APIs) of the tester and its copies: the caller's input, which validates them."
  type = object({
    vpc_id     = string
    subnet_ids = list(string)
  })
}

variable "tester" {
  description = "The tester's security group: `name` and `description`."
  type = object({
    name        = string
    description = string
  })
}

variable "copies" {
  description = "The throw-away copies' security group: `name` and `description`."
  type = object({
    name        = string
    description = string
  })
}

variable "rule_descriptions" {
  description = "The rules' descriptions: `https` (the tester to the AWS APIs), `to_copies` (the tester's PostgreSQL egress), `from_tester` (the copies' PostgreSQL ingress)."
  type = object({
    https       = string
    to_copies   = string
    from_tester = string
  })
}

variable "subnet_group" {
  description = "The copies' DB subnet group to create in var.vpc's subnets (`name`, `description`); null: none (the caller names an existing one)."
  type = object({
    name        = string
    description = string
  })
  default = null
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
