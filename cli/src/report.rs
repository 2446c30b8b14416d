//! `rempart report`: what Rempart did in a period, for an auditor, read
//! from the registry (every backup, copy, deletion, restore) and the
//! incidents table, with the measured RPO/RTO against the policy's targets,
//! as a table, JSON, or a self-contained HTML page with a timeline.

use crate::CliError;
use chrono::{DateTime, TimeDelta, Utc};
use rempart_aws::incidents::{Incidents, INCIDENTS_TABLE_ENV};
use rempart_aws::registry::{Registry, REGISTRY_TABLE_ENV};
use rempart_core::policy::{PolicyDocument, PolicySource};
use rempart_core::report::{build, render_html, render_table, Objectives, Report, Targets};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Html,
}

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Start of the period (RFC 3339). Default: 30 days before `--to`.
    #[arg(long)]
    pub from: Option<DateTime<Utc>>,
    /// End of the period (RFC 3339). Default, and at the latest: now.
    #[arg(long)]
    pub to: Option<DateTime<Utc>>,
    /// Only this resource: its id (`rewapp-prod-db`) or registry key
    /// (`rds-instance#eu-west-1#rewapp-prod-db`).
    #[arg(long)]
    pub resource: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// The policy document for the targets (default: REMPART_POLICY, as the
    /// functions read it).
    #[arg(long)]
    pub policy_file: Option<PathBuf>,
}

/// The RPO and RTO targets of every policy.
pub fn targets(doc: &PolicyDocument) -> BTreeMap<String, Targets> {
    doc.policies
        .iter()
        .map(|(name, p)| {
            (
                name.to_string(),
                Targets {
                    rpo: p.rpo.0,
                    rto: p.rto.map(|r| r.0),
                    pitr: p.pitr.as_ref().map(|p| p.target.0),
                },
            )
        })
        .collect()
}

/// Reads the period's records and the incidents, and builds the report.
pub async fn gather(
    registry: &Registry,
    incidents: Option<&Incidents>,
    doc: &PolicyDocument,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    resource: Option<&str>,
) -> Result<Report, CliError> {
    if from >= to {
        return Err(CliError::Usage(format!(
            "--from ({from}) must be before --to ({to})"
        )));
    }
    // Records before `from` tell which resources existed and their policy.
    let records = registry.between(DateTime::UNIX_EPOCH, to).await?;
    let incidents = match incidents {
        Some(store) => store.all().await?,
        None => Vec::new(),
    };
    Ok(build(
        &records,
        &incidents,
        &targets(doc),
        doc.restore_tests.as_ref().map(Objectives::of).as_ref(),
        from,
        to,
        resource,
    ))
}

/// The report in the format asked.
pub fn render(r: &Report, format: Format) -> Result<String, CliError> {
    Ok(match format {
        Format::Table => render_table(r),
        Format::Html => render_html(r),
        Format::Json => serde_json::to_string_pretty(r)
            .map_err(|e| CliError::Usage(format!("the report does not serialize: {e}")))?,
    })
}

/// The period: `--to` (at the latest now), `--from` (default 30 days before).
pub fn period(
    args: &ReportArgs,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), CliError> {
    let to = args.to.unwrap_or(now).min(now);
    let from = args.from.unwrap_or(to - TimeDelta::days(30));
    if from >= to {
        return Err(CliError::Usage(format!(
            "--from {} is not before --to {} (the end is capped at now)",
            rempart_core::time::rfc3339(from),
            rempart_core::time::rfc3339(to)
        )));
    }
    Ok((from, to))
}

pub async fn run(args: &ReportArgs) -> Result<(), CliError> {
    let (from, to) = period(args, Utc::now())?;
    let cfg = rempart_aws::runtime::aws_config().await;
    let source = match &args.policy_file {
        Some(p) => PolicySource::File(p.clone()),
        None => PolicySource::from_env()?,
    };
    let doc = rempart_aws::runtime::load_policy(&source, &aws_sdk_ssm::Client::new(&cfg)).await?;
    let table = std::env::var(REGISTRY_TABLE_ENV).map_err(|_| {
        CliError::Usage(format!(
            "{REGISTRY_TABLE_ENV} must name the registry table (Terraform output `registry_table_name`)"
        ))
    })?;
    let registry = Registry::new(aws_sdk_dynamodb::Client::new(&cfg), table);
    let incidents = std::env::var(INCIDENTS_TABLE_ENV)
        .ok()
        .map(|t| Incidents::new(aws_sdk_dynamodb::Client::new(&cfg), t));
    if incidents.is_none() {
        eprintln!("rempart: {INCIDENTS_TABLE_ENV} is not set: the report lists no incidents");
    }
    let report = gather(
        &registry,
        incidents.as_ref(),
        &doc,
        from,
        to,
        args.resource.as_deref(),
    )
    .await?;
    let text = render(&report, args.format)?;
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .map_err(CliError::io(format!("writing {}", path.display())))?,
        None => print!("{text}"),
    }
    Ok(())
}
