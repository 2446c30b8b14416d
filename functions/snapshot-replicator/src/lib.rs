//! snapshot-replicator: snapshot-completed events (EventBridge or SNS),
//! ElastiCache notifications, and the periodic sweep.

pub mod event;
pub mod replicator;
mod vault;

use crate::event::parse_replicator_event;
use crate::replicator::{Replicator, MAX_IN_FLIGHT_ENV};
use aws_config::SdkConfig;
use rempart_aws::error::{Error, Result};
use rempart_aws::registry::{Registry, REGISTRY_TABLE_ENV};
use rempart_aws::runtime::{env_var, load_policy, region_of};
use rempart_aws::topic::{Topic, EVENTS_TOPIC_ENV};
use rempart_core::policy::PolicySource;
use rempart_core::replication::{ReplicationReport, DEFAULT_MAX_IN_FLIGHT};
use serde_json::Value;

pub use rempart_core::replication::FUNCTION as NAME;

/// Everything the handler needs, built once per Lambda container.
#[derive(Clone, Debug)]
pub struct Deps {
    pub replicator: Replicator,
    pub policy: PolicySource,
    pub ssm: aws_sdk_ssm::Client,
}

/// Reads [`MAX_IN_FLIGHT_ENV`]: 1 to 100, default 20.
pub fn max_in_flight_from_env() -> Result<usize> {
    match std::env::var(MAX_IN_FLIGHT_ENV) {
        Err(_) => Ok(DEFAULT_MAX_IN_FLIGHT),
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err(Error::Config(format!(
                "{MAX_IN_FLIGHT_ENV}=`{v}`: expected a whole number from 1 to 100 (AWS allows 20 copies in flight per destination region unless a quota increase says otherwise)"
            ))),
        },
    }
}

impl Deps {
    /// From the environment: `REMPART_POLICY`, `REMPART_REGISTRY_TABLE`,
    /// `REMPART_EVENTS_TOPIC_ARN`, `REMPART_MAX_COPIES_IN_FLIGHT`, and the
    /// AWS configuration.
    pub fn from_env(cfg: &SdkConfig) -> Result<Deps> {
        Deps::new(
            cfg,
            &env_var(REGISTRY_TABLE_ENV)?,
            &env_var(EVENTS_TOPIC_ENV)?,
            PolicySource::from_env()?,
            max_in_flight_from_env()?,
        )
    }

    /// From explicit settings (the CLI, tests).
    pub fn new(
        cfg: &SdkConfig,
        table: &str,
        topic_arn: &str,
        policy: PolicySource,
        max_in_flight: usize,
    ) -> Result<Deps> {
        let cfg = &rempart_aws::runtime::function_config(cfg, "snapshot-replicator");
        let region = region_of(cfg)?;
        Ok(Deps {
            replicator: Replicator::new(
                cfg,
                &region,
                Registry::new(aws_sdk_dynamodb::Client::new(cfg), table),
                Topic::new(aws_sdk_sns::Client::new(cfg), topic_arn),
                max_in_flight,
            ),
            policy,
            ssm: aws_sdk_ssm::Client::new(cfg),
        })
    }
}

/// Handles one event (an SNS delivery may hold several messages). A
/// malformed or unknown event is rejected before anything is touched. The
/// invocation fails only when a retry could help (throttling, a listing
/// that failed); a deferred copy is not a failure: the sweep makes it.
pub async fn handle(deps: &Deps, event: Value) -> Result<Vec<ReplicationReport>> {
    let inputs = parse_replicator_event(&event)?;
    let doc = load_policy(&deps.policy, &deps.ssm).await?;
    let mut reports = Vec::new();
    for input in &inputs {
        let report = deps.replicator.run(&doc, input).await;
        let summary = report.summary();
        tracing::info!(
            report = %serde_json::to_string(&report).unwrap_or_default(),
            "{NAME}: {summary}"
        );
        reports.push(report);
    }
    if reports.iter().any(ReplicationReport::retry_would_help) {
        let failures: Vec<_> = reports
            .iter()
            .flat_map(|r| {
                r.errors
                    .iter()
                    .map(|e| format!("{}: {}", e.code, e.message))
                    .chain(r.bookkeeping_errors.iter().cloned())
                    .chain(r.items.iter().filter_map(|i| {
                        i.error.as_ref().filter(|e| e.retryable).map(|e| {
                            format!("{} to {}: {}: {}", i.snapshot, i.region, e.code, e.message)
                        })
                    }))
            })
            .collect();
        return Err(Error::Retry(format!(
            "{NAME}: {}; failures that a retry may fix: {}",
            reports
                .iter()
                .map(|r| r.summary())
                .collect::<Vec<_>>()
                .join(" | "),
            failures.join("; ")
        )));
    }
    Ok(reports)
}
