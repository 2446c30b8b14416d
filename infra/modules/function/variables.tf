variable "function_name" {
  description = "Name of the Lambda function (also names its role, log group, dead-letter queue, alarms and rules)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,56}$", var.function_name))
    error_message = "function_name must be 1-56 characters of letters, digits, '-' and '_' (room is left for suffixes of derived names)."
  }
}

variable "description" {
  description = "Description of the Lambda function."
  type        = string
  default     = ""
}

variable "zip_file" {
  description = "Path to the deployment package built by `scripts/build-functions` (`cargo lambda build --release --arm64 --output-format zip` of the seven functions) (`target/lambda/<name>/bootstrap.zip`)."
  type        = string

  validation {
    condition     = endswith(var.zip_file, ".zip")
    error_message = "zip_file must be a path to a .zip file."
  }
}

variable "handler" {
  description = "Lambda handler. Custom runtimes built by cargo-lambda use `bootstrap`."
  type        = string
  default     = "bootstrap"
}

variable "runtime" {
  description = "Lambda runtime."
  type        = string
  default     = "provided.al2023"

  validation {
    condition     = startswith(var.runtime, "provided.")
    error_message = "A Rempart function is a Rust binary and runs on an OS-only runtime (provided.al2023)."
  }
}

variable "architecture" {
  description = "Instruction set of the function: `arm64` (cargo lambda build --arm64) or `x86_64`."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "memory_size" {
  description = "Memory (MB) of the function."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "timeout" {
  description = "Timeout (seconds) of the function."
  type        = number
  default     = 300

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be between 1 and 900 seconds."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency of the function; -1 leaves it unreserved."
  type        = number
  default     = -1
}

variable "environment_variables" {
  description = "Environment variables of the function."
  type        = map(string)
  default     = {}
}

variable "policy_json" {
  description = "IAM policy document (JSON) granting the function what it does; attached inline to its role. Log and dead-letter queue permissions are added by the module."
  type        = string
}

variable "managed_policy_jsons" {
  description = "More IAM policy documents (JSON) granting the function what it does, by concern: each becomes a customer managed policy `<function_name>-<key>` attached to the role (at most 6,144 characters each; IAM's default quota is 10 managed policies per role). For rights that would push the role's inline policies past IAM's 10,240 characters."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(var.managed_policy_jsons) <= 9
    error_message = "managed_policy_jsons: at most 9 policies (IAM's default quota is 10 managed policies per role)."
  }
}

variable "schedules" {
  description = "EventBridge schedule expressions triggering the function, by rule suffix (e.g. `{ \"0200\" = \"cron(0 2 * * ? *)\" }`)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for s in values(var.schedules) : can(regex("^(cron|rate)\\(.+\\)$", s))])
    error_message = "Every schedule must be an EventBridge schedule expression: cron(...) or rate(...)."
  }

  validation {
    condition     = alltrue([for k in keys(var.schedules) : can(regex("^[A-Za-z0-9_.-]{1,7}$", k))])
    error_message = "Schedule keys are rule name suffixes: 1-7 characters of letters, digits, '.', '-', '_'."
  }
}

variable "event_patterns" {
  description = "EventBridge event patterns (JSON) triggering the function on the default bus, by rule suffix (e.g. Rempart requests, source `rempart`)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for p in values(var.event_patterns) : can(jsondecode(p))])
    error_message = "Every event pattern must be valid JSON."
  }

  validation {
    condition     = alltrue([for k in keys(var.event_patterns) : can(regex("^[A-Za-z0-9_.-]{1,7}$", k))])
    error_message = "Event pattern keys are rule name suffixes: 1-7 characters of letters, digits, '.', '-', '_'."
  }
}

variable "log_retention_in_days" {
  description = "Retention of the function's CloudWatch log group, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer managed KMS key encrypting the log group, the dead-letter queue and the environment variables. Null: CloudWatch Logs default encryption, SQS-managed SSE and Lambda's own key."
  type        = string
  default     = null
}

variable "maximum_retry_attempts" {
  description = "Retries of a failed asynchronous invocation before it goes to the dead-letter queue."
  type        = number
  default     = 2

  validation {
    condition     = var.maximum_retry_attempts >= 0 && var.maximum_retry_attempts <= 2
    error_message = "maximum_retry_attempts must be 0, 1 or 2."
  }
}

variable "maximum_event_age_in_seconds" {
  description = "Maximum age of an asynchronous event before it goes to the dead-letter queue."
  type        = number
  default     = 21600

  validation {
    condition     = var.maximum_event_age_in_seconds >= 60 && var.maximum_event_age_in_seconds <= 21600
    error_message = "maximum_event_age_in_seconds must be between 60 and 21600."
  }
}

variable "dlq_message_retention_seconds" {
  description = "How long failed events stay in the dead-letter queue."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600
    error_message = "dlq_message_retention_seconds must be between 60 and 1209600 (14 days)."
  }
}

variable "alarm_actions" {
  description = "ARNs notified when an alarm (errors, throttles, dead-letter queue not empty) fires and recovers."
  type        = list(string)
  default     = []
}

variable "alarm_period" {
  description = "Period (seconds) of the errors and throttles alarms."
  type        = number
  default     = 300

  validation {
    condition     = var.alarm_period >= 60 && var.alarm_period % 60 == 0
    error_message = "alarm_period must be a multiple of 60 seconds."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing of the function: `Active` records a trace of every invocation (the role may write traces), `PassThrough` only when the caller's request is sampled."
  type        = string
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be Active or PassThrough."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}

variable "sns_topic" {
  description = "An SNS topic the function subscribes to (null: none): `name` (in the permission's statement id, the queue policy's sid and the alarm's text), `arn`, and optionally `filter_policy` (JSON) and `filter_policy_scope`. What SNS cannot deliver goes to the encrypted dead-letter queue `<function_name>-sns-dlq` (kept dlq_message_retention_seconds), with an alarm when it is not empty."
  type = object({
    name                = string
    arn                 = string
    filter_policy       = optional(string)
    filter_policy_scope = optional(string)
  })
  default = null
}

variable "vpc_config" {
  description = "Runs the function in a VPC (null: outside any VPC, the default): `subnet_ids` (private subnets with a route to the AWS APIs, through a NAT gateway or VPC endpoints) and `security_group_ids`. The role then gets the network-interface rights Lambda uses as the role (those of AWSLambdaVPCAccessExecutionRole, scoped to these subnets and groups where EC2 allows it)."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null
}
