//! retention-enforcer: EventBridge "Scheduled Event", or a
//! "Rempart Retention Run" request (dry run on demand).

pub mod enforcer;

use crate::enforcer::{Enforcer, DEFAULT_CONCURRENCY, DEFAULT_PACE};
use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use rempart_aws::envelope::{envelope, event_time};
use rempart_aws::error::{Error, Result};
use rempart_aws::registry::{Registry, REGISTRY_TABLE_ENV};
use rempart_aws::runtime::{env_var, load_policy, region_of};
use rempart_aws::snapshots::Snapshots;
use rempart_aws::topic::{Topic, EVENTS_TOPIC_ENV};
use rempart_core::enforcement::{regions_of, EnforcerReport};
use rempart_core::event::{REMPART_SOURCE, SCHEDULED_EVENT};
use rempart_core::policy::PolicySource;
use serde::Deserialize;
use serde_json::Value;

pub use rempart_core::enforcement::FUNCTION as NAME;

/// `detail-type` of an on-demand run (e.g. a dry run before changing a policy).
pub const RETENTION_RUN: &str = "Rempart Retention Run";
/// `true` makes scheduled runs report without acting.
pub const DRY_RUN_ENV: &str = "REMPART_DRY_RUN";
/// Set in a backup account (air-gapped copies) to the production account's
/// id: the enforcer there manages the vault copies of that account's
/// snapshots, in its own region only, and nothing else.
pub const VAULT_OF_ENV: &str = "REMPART_VAULT_OF";
/// The name a backup account's enforcer goes by (its Lambda function is
/// `<name>-vault-retention-enforcer`, modules/vault_account).
pub const VAULT_NAME: &str = "vault-retention-enforcer";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunDetail {
    #[serde(default)]
    dry_run: bool,
}

/// What the enforcer was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnforcerInput {
    pub time: DateTime<Utc>,
    pub dry_run: bool,
    pub event_id: Option<String>,
}

/// Parses the enforcer's event. `dry_run_default` applies to scheduled runs.
pub fn parse_event(v: &Value, dry_run_default: bool) -> Result<EnforcerInput> {
    let ev = envelope(v)?;
    let time = event_time(&ev)?;
    let dry_run = match (ev.source.as_str(), ev.detail_type.as_str()) {
        ("aws.events" | "aws.scheduler", SCHEDULED_EVENT) => dry_run_default,
        (REMPART_SOURCE, RETENTION_RUN) => {
            let d: RunDetail = serde_json::from_value(ev.detail)
                .map_err(|e| Error::Event(format!("malformed `{RETENTION_RUN}` detail: {e}")))?;
            d.dry_run
        }
        (source, dt) => {
            return Err(Error::Event(format!(
                "retention-enforcer does not handle detail-type `{dt}` from source `{source}`; it takes `{SCHEDULED_EVENT}` (source aws.events) and `{RETENTION_RUN}` (source {REMPART_SOURCE})"
            )))
        }
    };
    Ok(EnforcerInput {
        time,
        dry_run,
        event_id: ev.id,
    })
}

#[derive(Clone, Debug)]
pub struct Deps {
    pub cfg: SdkConfig,
    pub primary: String,
    pub registry: Registry,
    pub topic: Topic,
    pub policy: PolicySource,
    pub ssm: aws_sdk_ssm::Client,
    pub dry_run_default: bool,
    /// Mutating calls a second per region (0: not paced, for the emulator).
    pub pace: u32,
    /// Calls in progress at once.
    pub concurrency: usize,
    /// The role S3 replicates the `[[buckets]]` with
    /// (`REMPART_REPLICATION_ROLE_ARN`); none: replication is not written.
    pub replication_role: Option<String>,
    /// In a backup account: the production account whose vault copies it
    /// manages ([`VAULT_OF_ENV`]).
    pub vault_of: Option<String>,
}

impl Deps {
    pub fn from_env(cfg: &SdkConfig) -> Result<Deps> {
        let (table, topic, policy) = (
            env_var(REGISTRY_TABLE_ENV)?,
            env_var(EVENTS_TOPIC_ENV)?,
            PolicySource::from_env()?,
        );
        let mut d = match std::env::var(VAULT_OF_ENV).ok().filter(|v| !v.is_empty()) {
            Some(production) => Deps::for_backup_account(cfg, &table, &topic, policy, &production)?,
            None => Deps::new(cfg, &table, &topic, policy)?,
        };
        d.dry_run_default = std::env::var(DRY_RUN_ENV).is_ok_and(|v| v == "true" || v == "1");
        d.replication_role = std::env::var(rempart_core::buckets::REPLICATION_ROLE_ENV)
            .ok()
            .filter(|r| !r.is_empty());
        Ok(d)
    }

    pub fn new(
        cfg: &SdkConfig,
        table: &str,
        topic_arn: &str,
        policy: PolicySource,
    ) -> Result<Deps> {
        Self::build(cfg, NAME, table, topic_arn, policy)
    }

    /// The enforcer of a backup account: it manages the vault copies of
    /// `production`'s snapshots there (its primary region only; no backup
    /// buckets, which are production's).
    pub fn for_backup_account(
        cfg: &SdkConfig,
        table: &str,
        topic_arn: &str,
        policy: PolicySource,
        production: &str,
    ) -> Result<Deps> {
        if !rempart_core::naming::valid_account_id(production) {
            return Err(Error::Config(format!(
                "{VAULT_OF_ENV}=`{production}` is not an AWS account id (12 digits): set it to the production account whose vault copies this account keeps"
            )));
        }
        let mut d = Self::build(cfg, VAULT_NAME, table, topic_arn, policy)?;
        d.vault_of = Some(production.to_string());
        Ok(d)
    }

    fn build(
        cfg: &SdkConfig,
        name: &str,
        table: &str,
        topic_arn: &str,
        policy: PolicySource,
    ) -> Result<Deps> {
        let cfg = &rempart_aws::runtime::function_config(cfg, name);
        Ok(Deps {
            cfg: cfg.clone(),
            primary: region_of(cfg)?,
            registry: Registry::new(aws_sdk_dynamodb::Client::new(cfg), table),
            topic: Topic::new(aws_sdk_sns::Client::new(cfg), topic_arn),
            policy,
            ssm: aws_sdk_ssm::Client::new(cfg),
            dry_run_default: false,
            pace: DEFAULT_PACE,
            concurrency: DEFAULT_CONCURRENCY,
            replication_role: None,
            vault_of: None,
        })
    }
}

/// Handles one event: primary and DR regions, two-phase deletion, a digest.
/// In a backup account: its vault copies, in its region only.
pub async fn handle(deps: &Deps, event: Value) -> Result<EnforcerReport> {
    let input = parse_event(&event, deps.dry_run_default)?;
    let doc = load_policy(&deps.policy, &deps.ssm).await?;
    let regions = match deps.vault_of {
        Some(_) => vec![deps.primary.clone()],
        None => regions_of(&doc, &deps.primary),
    };
    let enforcer = Enforcer {
        primary: deps.primary.clone(),
        regions: regions
            .iter()
            .map(|r| Snapshots::for_region(&deps.cfg, r))
            .collect(),
        registry: deps.registry.clone(),
        topic: deps.topic.clone(),
        buckets: doc
            .buckets
            .iter()
            .filter(|_| deps.vault_of.is_none())
            .map(|b| {
                let region = b
                    .region
                    .as_ref()
                    .map(|r| r.0.as_str())
                    .unwrap_or(&deps.primary);
                let cfg = deps
                    .cfg
                    .to_builder()
                    .region(aws_config::Region::new(region.to_string()))
                    .build();
                (
                    b.clone(),
                    rempart_aws::s3::Buckets::new(aws_sdk_s3::Client::new(&cfg)),
                )
            })
            .collect(),
        replication_role: deps.replication_role.clone(),
        vault_of: deps.vault_of.clone(),
        pace: deps.pace,
        concurrency: deps.concurrency,
    };
    let report = enforcer
        .run(&doc, input.time, input.dry_run, input.event_id.as_deref())
        .await;
    tracing::info!(summary = %report.summary(), "{NAME}");
    if report.retry_would_help() {
        return Err(Error::Retry(format!(
            "{NAME}: {}; failures that a retry may fix: {}",
            report.summary(),
            serde_json::to_string(&report.failed).unwrap_or_default()
        )));
    }
    Ok(report)
}
