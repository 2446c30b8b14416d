################################################################################
# slack-actions: the Slack app's interactivity URL. Incident messages in
# Slack carry "Acknowledge" and "Client notified" buttons; Slack POSTs each
# click, signed with the app's signing secret, to this function's URL. The
# function checks the signature (HMAC-SHA256, constant-time) and that the
# request is under 5 minutes old, that the incident is open, and that the
# request was not handled before (a record per signed request in the
# registry), then publishes the same EventBridge event `rempart incident
# ack` sends, with the Slack user as `by`; the incident-escalator acts on
# it. A refused request changes nothing.
#
# Set-up: the Slack app's "Interactivity & Shortcuts" Request URL is the
# output `slack_actions_url`; its "Signing Secret" goes into the secret
# `slack_signing_secret_arn`:
#   aws secretsmanager put-secret-value --secret-id <slack_signing_secret_arn> \
#     --secret-string '<signing secret>'
################################################################################

resource "aws_secretsmanager_secret" "slack_signing" {
  count = var.slack_actions_enabled ? 1 : 0
  #checkov:skip=CKV2_AWS_57:A Slack app's signing secret is issued by Slack, not by AWS: a rotation Lambda cannot mint a new one. It is replaced by hand (put-secret-value) when regenerated in Slack.
  name                    = "${var.name}/slack-signing-secret"
  description             = "Rempart: the Slack app's signing secret, which verifies the button clicks slack-actions receives (set with put-secret-value, never by Terraform)"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.secret_recovery_window_in_days

  tags = local.tags
}

locals {
  slack_actions_name = "${var.name}-slack-actions"
  default_bus_arn    = "arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/default"
}

data "aws_iam_policy_document" "slack_actions" {
  count = var.slack_actions_enabled ? 1 : 0

  # Is the clicked incident open? One GetItem.
  statement {
    sid       = "ReadOpenIncidents"
    actions   = ["dynamodb:GetItem"]
    resources = [aws_dynamodb_table.incidents.arn]
  }

  # One record per signed request (conditional PutItem): a replay finds it.
  statement {
    sid       = "RecordClicks"
    actions   = ["dynamodb:PutItem"]
    resources = [aws_dynamodb_table.registry.arn]
  }

  # The incident events only, from source `rempart`, on the default bus
  # (the incident-escalator's rule). Both keys are multivalued in
  # PutEvents (one value per entry): every entry must be one of these.
  statement {
    sid       = "PublishIncidentEvents"
    actions   = ["events:PutEvents"]
    resources = [local.default_bus_arn]

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "events:source"
      values   = ["rempart"]
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "events:detail-type"
      values   = ["Rempart Incident Acknowledgement", "Rempart Incident Client Notified"]
    }
  }

  statement {
    sid       = "ReadSigningSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.slack_signing[0].arn]
  }

  # The tables are under the Rempart key.
  statement {
    sid       = "UseRempartKeyForTables"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${local.region}.amazonaws.com"]
    }
  }

  # So is the signing secret: decrypting through Secrets Manager, for that
  # secret only (its encryption context), never another secret's value.
  statement {
    sid       = "DecryptSigningSecret"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:SecretARN"
      values   = [aws_secretsmanager_secret.slack_signing[0].arn]
    }
  }
}

module "slack_actions" {
  count  = var.slack_actions_enabled ? 1 : 0
  source = "./modules/function"

  function_name = local.slack_actions_name
  description   = "Rempart: Slack's button clicks on incident messages (function URL), signature-verified, turned into incident events"
  zip_file      = "${local.zip_dir}/slack-actions/bootstrap.zip"
  architecture  = var.architecture
  memory_size   = var.memory_size
  # Slack waits 3 s for the answer.
  timeout = 10

  # A burst of clicks is small; a flood of forged requests is refused
  # before any AWS call but the secret's (cached) and costs at most this.
  reserved_concurrent_executions = var.slack_actions_reserved_concurrency

  environment_variables = {
    REMPART_INCIDENTS_TABLE          = aws_dynamodb_table.incidents.name
    REMPART_REGISTRY_TABLE           = aws_dynamodb_table.registry.name
    REMPART_SLACK_SIGNING_SECRET_ARN = aws_secretsmanager_secret.slack_signing[0].arn
    REMPART_EVENT_BUS                = "default"
    RUST_LOG                         = var.rust_log
  }

  policy_json = data.aws_iam_policy_document.slack_actions[0].json

  log_retention_in_days = var.log_retention_in_days
  kms_key_arn           = aws_kms_key.this.arn
  alarm_actions         = local.alarm_actions

  tags = local.tags
}

# Slack cannot sign with AWS credentials (SigV4): the URL is public and the
# function authenticates every request by Slack's own signature.
resource "aws_lambda_function_url" "slack_actions" {
  #checkov:skip=CKV_AWS_258:Slack's interactivity requests carry Slack's HMAC signature, not AWS SigV4; the function verifies the signature (and the timestamp, and replays) before acting.
  count              = var.slack_actions_enabled ? 1 : 0
  function_name      = module.slack_actions[0].summary.function_name
  authorization_type = "NONE"
}

resource "aws_lambda_permission" "slack_actions_url" {
  #checkov:skip=CKV_AWS_301:The function URL must be reachable by Slack, which cannot sign with AWS credentials; every request is authenticated by Slack's HMAC signature (and timestamp, and replay record) in the function before anything else.
  count                  = var.slack_actions_enabled ? 1 : 0
  statement_id           = "AllowSlackInteractivity"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = module.slack_actions[0].summary.function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}
