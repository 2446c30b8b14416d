//! `rempart status`: is everything protected, and how fresh is it? One
//! read-only look for the operator: the backup-auditor's survey (AWS
//! describes: the protected resources against their RPO and DR copies, the
//! coverage classes), each protected resource's last restore test and DR
//! drill (registry), the open incidents (incidents table). Writes nothing.

use crate::CliError;
use chrono::{DateTime, Utc};
use rempart_aws::incidents::{Incidents, INCIDENTS_TABLE_ENV};
use rempart_aws::registry::{Registry, REGISTRY_TABLE_ENV};
use rempart_core::policy::{PolicyDocument, PolicySource};
use rempart_core::status::{build, render_text, Status};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// JSON for scripts, instead of the text for a terminal.
    #[arg(long)]
    pub json: bool,
    /// Never colour the text (colours are used only on a terminal, and
    /// never when NO_COLOR is set).
    #[arg(long)]
    pub no_color: bool,
    /// The policy document (default: REMPART_POLICY, as the functions read
    /// it).
    #[arg(long)]
    pub policy_file: Option<PathBuf>,
}

/// The status, from AWS and the two tables.
pub async fn gather(
    cfg: &aws_config::SdkConfig,
    doc: &PolicyDocument,
    registry: &Registry,
    incidents: &Incidents,
    now: DateTime<Utc>,
) -> Result<Status, CliError> {
    let region = rempart_aws::runtime::region_of(cfg)?;
    let survey = rempart_backup_auditor::survey(cfg, &region, doc, now)
        .await
        .map_err(|e| explain(e, "listing the resources and snapshots"))?;
    let mut tests = BTreeMap::new();
    for r in &survey.audit.resources {
        let key = format!("{}#{}#{}", r.kind, region, r.id);
        let records = registry.records(&key).await.map_err(|e| {
            explain(
                e,
                &format!("reading the registry table `{}`", registry.table()),
            )
        })?;
        tests.insert(key, records);
    }
    let open = incidents
        .all_open()
        .await
        .map_err(|e| explain(e, "reading the incidents table"))?
        .into_iter()
        .map(|s| s.incident)
        .collect::<Vec<_>>();
    Ok(build(
        now,
        &region,
        &survey.audit,
        &survey.coverage,
        &tests,
        &open,
    ))
}

/// An AWS error with what was being done and the usual fix: missing
/// credentials, a table that does not exist.
fn explain(e: rempart_aws::Error, doing: &str) -> CliError {
    let text = e.to_string();
    let hint = if text.contains("ResourceNotFoundException") {
        format!(
            " (the table does not exist in this region: set {REGISTRY_TABLE_ENV} and {INCIDENTS_TABLE_ENV} to the Terraform outputs `registry_table_name` and `incidents_table_name`, and AWS_REGION to the region Rempart runs in)"
        )
    } else if text.contains("credentials") || text.contains("Credentials") {
        " (no AWS credentials found: set AWS_PROFILE, or run `aws sso login`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)".to_string()
    } else if text.contains("AccessDenied") || text.contains("UnauthorizedOperation") {
        " (the credentials may not read this: `rempart status` needs the read-only describes of RDS, EC2 and ElastiCache, and Query/Scan on the two tables)".to_string()
    } else {
        String::new()
    };
    CliError::Usage(format!("{doing}: {text}{hint}"))
}

fn table(var: &str, output: &str) -> Result<String, CliError> {
    std::env::var(var).map_err(|_| {
        CliError::Usage(format!(
            "{var} must name the table (Terraform output `{output}`)"
        ))
    })
}

/// Renders the status: JSON, or text with colours when asked.
pub fn render(s: &Status, json: bool, colour: bool) -> Result<String, CliError> {
    if json {
        serde_json::to_string_pretty(s)
            .map(|t| t + "\n")
            .map_err(|e| CliError::Usage(format!("the status does not serialize: {e}")))
    } else {
        Ok(render_text(s, colour))
    }
}

/// `rempart status`: prints the status; exits non-zero when it is not OK
/// (for scripts), after printing it.
pub async fn run(args: &StatusArgs) -> Result<bool, CliError> {
    let cfg = rempart_aws::runtime::aws_config().await;
    let source = match &args.policy_file {
        Some(p) => PolicySource::File(p.clone()),
        None => PolicySource::from_env()?,
    };
    let registry = Registry::new(
        aws_sdk_dynamodb::Client::new(&cfg),
        table(REGISTRY_TABLE_ENV, "registry_table_name")?,
    );
    let incidents = Incidents::new(
        aws_sdk_dynamodb::Client::new(&cfg),
        table(INCIDENTS_TABLE_ENV, "incidents_table_name")?,
    );
    let doc = rempart_aws::runtime::load_policy(&source, &aws_sdk_ssm::Client::new(&cfg))
        .await
        .map_err(|e| explain(e, "reading the policy document"))?;
    let status = gather(&cfg, &doc, &registry, &incidents, Utc::now()).await?;
    let colour =
        !args.no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal();
    print!("{}", render(&status, args.json, colour)?);
    Ok(status.ok)
}
