//! snapshot-scheduler: EventBridge "Scheduled Event" and on-demand requests.

pub mod event;
pub mod scheduler;

use crate::event::parse_scheduler_event;
use crate::scheduler::{Scheduler, CREATES_PER_SECOND, DEFAULT_CONCURRENCY};
use aws_config::SdkConfig;
use rempart_aws::ec2::Ec2;
use rempart_aws::elasticache::ElastiCache;
use rempart_aws::error::{Error, Result};
use rempart_aws::pace::Pacer;
use rempart_aws::rds::Rds;
use rempart_aws::registry::{Registry, REGISTRY_TABLE_ENV};
use rempart_aws::runtime::{env_var, load_policy, region_of};
use rempart_aws::topic::{Topic, EVENTS_TOPIC_ENV};
use rempart_core::policy::PolicySource;
use rempart_core::scheduling::RunReport;
use serde_json::Value;

pub use rempart_core::scheduling::FUNCTION as NAME;

/// Everything the handler needs, built once per Lambda container.
#[derive(Clone, Debug)]
pub struct Deps {
    pub scheduler: Scheduler,
    pub policy: PolicySource,
    pub ssm: aws_sdk_ssm::Client,
}

impl Deps {
    /// From the environment: `REMPART_POLICY`, `REMPART_REGISTRY_TABLE`,
    /// `REMPART_EVENTS_TOPIC_ARN`, and the AWS configuration.
    pub fn from_env(cfg: &SdkConfig) -> Result<Deps> {
        Deps::new(
            cfg,
            &env_var(REGISTRY_TABLE_ENV)?,
            &env_var(EVENTS_TOPIC_ENV)?,
            PolicySource::from_env()?,
        )
    }

    /// From explicit settings (the CLI's demo, tests).
    pub fn new(
        cfg: &SdkConfig,
        table: &str,
        topic_arn: &str,
        policy: PolicySource,
    ) -> Result<Deps> {
        let cfg = &rempart_aws::runtime::function_config(cfg, "snapshot-scheduler");
        let region = region_of(cfg)?;
        let account = std::env::var("REMPART_ACCOUNT_ID").ok();
        Ok(Deps {
            scheduler: Scheduler {
                rds: Rds::new(aws_sdk_rds::Client::new(cfg), &region),
                ec2: Ec2::new(aws_sdk_ec2::Client::new(cfg), &region).with_account(account),
                elasticache: ElastiCache::new(aws_sdk_elasticache::Client::new(cfg), &region),
                registry: Registry::new(aws_sdk_dynamodb::Client::new(cfg), table),
                topic: Topic::new(aws_sdk_sns::Client::new(cfg), topic_arn),
                region,
                concurrency: DEFAULT_CONCURRENCY,
                pace: Pacer::per_second(CREATES_PER_SECOND),
            },
            policy,
            ssm: aws_sdk_ssm::Client::new(cfg),
        })
    }
}

/// Handles one event. A malformed or unknown event, or an invalid policy,
/// is rejected before anything is touched. Failures on single resources are
/// in the report; the invocation fails only when a retry could help.
pub async fn handle(deps: &Deps, event: Value) -> Result<RunReport> {
    let input = parse_scheduler_event(&event)?;
    let doc = load_policy(&deps.policy, &deps.ssm).await?;
    let report = deps.scheduler.run(&doc, &input).await;
    let summary = report.summary();
    tracing::info!(
        report = %serde_json::to_string(&report).unwrap_or_default(),
        "{NAME}: {summary}"
    );
    if report.retry_would_help() {
        return Err(Error::Retry(format!(
            "{NAME}: {summary}; failures that a retry may fix: {}",
            serde_json::to_string(&report.failed).unwrap_or_default()
        )));
    }
    Ok(report)
}
