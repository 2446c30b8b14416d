################################################################################
# CloudWatch dashboard: the recovery objectives as Rempart's functions
# measure them (EMF metrics, namespace `Rempart`, one series per protected
# resource: dimension `Resource`), and the functions' own health.
################################################################################

locals {
  dashboard_functions = merge({
    snapshot-scheduler  = module.snapshot_scheduler.summary
    retention-enforcer  = module.retention_enforcer.summary
    snapshot-replicator = module.snapshot_replicator.summary
    slack-notifier      = module.slack_notifier.summary
    incident-escalator  = module.incident_escalator.summary
    backup-auditor      = module.backup_auditor.summary
    restore-tester      = module.restore_tester.summary
  }, var.slack_actions_enabled ? { slack-actions = module.slack_actions[0].summary } : {})

  # One line per protected resource, whatever resources exist: a SEARCH
  # expression on the metric name in the {Rempart,Resource} schema.
  rempart_search = { for m in ["RpoAgeSeconds", "DrCopyLagSeconds", "Coverage", "SnapshotsKept", "SnapshotsDeleted", "PitrLagSeconds", "RestoreTestRtoSeconds", "RestoreTestSuccess", "RestoreIntegrityPercent", "DrillRtoSeconds", "OpenIncidents", "UnprotectedResources", "BucketReplicationLagSeconds", "VaultCopyAgeSeconds"] :
    m => "SEARCH('{${var.metrics_namespace},Resource} MetricName=\"${m}\"', '%s', %d)"
  }

  # The recovery objectives, two graphs a row: the lines of each graph are
  # `id = [metric, statistic, label]`.
  objective_graphs = concat([
    { title = "RPO age: time since the newest snapshot (s)", period = 300, lines = { rpo = ["RpoAgeSeconds", "Maximum", ""] } },
    { title = "DR copy lag: newest snapshot not yet copied to ${var.dr_region} (s)", period = 300, lines = { lag = ["DrCopyLagSeconds", "Maximum", ""] } },
    { title = "Point-in-time recovery: newest restorable point's lag (s)", period = 3600, lines = { pitr = ["PitrLagSeconds", "Maximum", ""] } },
    { title = "Retention: snapshots kept and deleted", period = 86400, lines = { kept = ["SnapshotsKept", "Maximum", "kept"], deleted = ["SnapshotsDeleted", "Sum", "deleted"] } },
    { title = "Restore test: measured RTO (s)", period = 86400, lines = { rto = ["RestoreTestRtoSeconds", "Maximum", ""] } },
    # Each concluded restore test: 1 passed, 0 failed (Minimum keeps a
    # failure visible), and the share of its checks that passed (the data
    # checks included).
    { title = "Restore test: passed (1) or failed (0)", period = 86400, lines = { passed = ["RestoreTestSuccess", "Minimum", ""] } },
    { title = "Restore test: integrity, checks passed (%)", period = 86400, lines = { integrity = ["RestoreIntegrityPercent", "Minimum", ""] } },
    # The backup-auditor's verdict per resource, each audit (hourly): 1 when
    # every check passed, 0 on a breach; Minimum keeps a breach visible.
    { title = "Audit coverage: 1 when every check passed, 0 on a breach", period = 3600, lines = { coverage = ["Coverage", "Minimum", ""] } },
    # The coverage audit (hourly): resources of a required kind that no
    # policy covers and no exclusion explains, one line per searched region.
    { title = "Unprotected resources (no policy, no exclusion)", period = 3600, lines = { unprotected = ["UnprotectedResources", "Maximum", ""] } },
    # The backup-auditor's reading of S3's replication metrics (hourly): the
    # hour's highest replication lag per `[buckets.replication]` bucket, its
    # RPO.
    { title = "S3 replication lag to the DR bucket (s)", period = 3600, lines = { s3lag = ["BucketReplicationLagSeconds", "Maximum", ""] } },
    # Each concluded DR drill (the drill tester emits it in the DR region).
    { title = "DR drill: measured region-failover time in ${var.dr_region} (s)", period = 86400, lines = { drill = ["DrillRtoSeconds", "Maximum", ""] }, region = var.dr_region },
    ], local.vaults_enabled ? [
    # With `vaults`: the backup-auditor's isolated RPO (hourly), the age of
    # each resource's newest copy in its backup accounts (the oldest).
    { title = "Isolated RPO: newest copy in the backup accounts (s)", period = 3600, lines = { vault = ["VaultCopyAgeSeconds", "Maximum", ""] } },
  ] : [])

  # The rows below the objective graphs.
  health_y = 2 + ceil(length(local.objective_graphs) / 2) * 6

  dashboard_widgets = concat([
    {
      type = "text", x = 0, y = 0, width = 24, height = 2
      properties = {
        markdown = "# Rempart (${var.name})\nRecovery objectives measured by Rempart (namespace `${var.metrics_namespace}`, one line per protected resource) and the health of its functions. Events: SNS `${aws_sns_topic.events.name}`; registry: DynamoDB `${aws_dynamodb_table.registry.name}`."
      }
    },
    ], [for i, g in local.objective_graphs : {
      type = "metric", x = (i % 2) * 12, y = 2 + floor(i / 2) * 6, width = 12, height = 6
      properties = {
        title   = g.title
        region  = try(g.region, local.region)
        view    = "timeSeries"
        period  = g.period
        metrics = [for id, l in g.lines : [{ expression = format(local.rempart_search[l[0]], l[1], g.period), id = id, label = l[2] }]]
        yAxis   = { left = { min = 0 } }
      }
    }], [
    {
      type = "metric", x = 0, y = local.health_y, width = 6, height = 6
      properties = {
        title   = "Open incidents"
        region  = local.region
        view    = "singleValue"
        period  = 300
        metrics = [[{ expression = "SUM(${format(local.rempart_search["OpenIncidents"], "Maximum", 300)})", id = "open", label = "open incidents" }]]
      }
    },
    {
      type = "metric", x = 6, y = local.health_y, width = 18, height = 6
      properties = {
        title  = "Functions: errors and throttles"
        region = local.region
        view   = "timeSeries"
        stat   = "Sum"
        period = 300
        metrics = concat(
          [for f, s in local.dashboard_functions : ["AWS/Lambda", "Errors", "FunctionName", s.function_name, { label = "${f} errors" }]],
          [for f, s in local.dashboard_functions : ["AWS/Lambda", "Throttles", "FunctionName", s.function_name, { label = "${f} throttles" }]],
        )
      }
    },
    {
      type = "alarm", x = 0, y = local.health_y + 6, width = 24, height = 4
      properties = {
        title  = "Alarms"
        alarms = flatten([for s in values(local.dashboard_functions) : values(s.alarm_arns)])
      }
    },
  ])
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
