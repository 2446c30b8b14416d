//! CloudWatch alarms (monitoring thresholds): lists, writes and deletes
//! only Rempart's (`rempart-monitor-*`), as `rempart_core::monitoring`
//! plans them; and reads the S3 replication metrics the audit judges
//! (`rempart_core::buckets::audit_replication`).

use crate::aws_error;
use crate::error::Result;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, StandardUnit, Statistic, Tag};
use aws_sdk_cloudwatch::Client;
use rempart_core::buckets::ReplicationMetrics;
use rempart_core::monitoring::{AlarmSpec, ExistingAlarm, MONITORS_TAG, PREFIX};
use rempart_core::tags::TAG_MANAGED;

/// DeleteAlarms takes at most this many names.
const DELETE_BATCH: usize = 100;

#[derive(Clone, Debug)]
pub struct Alarms {
    client: Client,
}

impl Alarms {
    pub fn new(client: Client) -> Self {
        Alarms { client }
    }

    /// What S3 published of a replication rule between `from` and `to`
    /// (`AWS/S3` `ReplicationLatency` maximum and
    /// `OperationsFailedReplication` sum, per source, destination and
    /// rule): read from the client's region, the source bucket's.
    pub async fn replication_metrics(
        &self,
        source: &str,
        destination: &str,
        rule: &str,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<ReplicationMetrics> {
        let dims = [
            ("SourceBucket", source),
            ("DestinationBucket", destination),
            ("RuleId", rule),
        ]
        .map(|(n, v)| Dimension::builder().name(n).value(v).build());
        let period = (to - from).num_seconds().max(60) as i32;
        let read = |metric: &'static str, stat: Statistic| {
            self.client
                .get_metric_statistics()
                .namespace("AWS/S3")
                .metric_name(metric)
                .set_dimensions(Some(dims.to_vec()))
                .start_time(aws_sdk_cloudwatch::primitives::DateTime::from_secs(
                    from.timestamp(),
                ))
                .end_time(aws_sdk_cloudwatch::primitives::DateTime::from_secs(
                    to.timestamp(),
                ))
                .period(period)
                .statistics(stat)
                .send()
        };
        let latency = read("ReplicationLatency", Statistic::Maximum)
            .await
            .map_err(|e| aws_error("GetMetricStatistics", e))?;
        let failed = read("OperationsFailedReplication", Statistic::Sum)
            .await
            .map_err(|e| aws_error("GetMetricStatistics", e))?;
        Ok(ReplicationMetrics {
            max_latency_s: latency
                .datapoints()
                .iter()
                .filter_map(|d| d.maximum())
                .reduce(f64::max),
            failed_operations: failed.datapoints().iter().filter_map(|d| d.sum()).sum(),
        })
    }

    /// Every metric alarm whose name starts with Rempart's prefix.
    pub async fn list(&self) -> Result<Vec<ExistingAlarm>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_alarms()
                .alarm_name_prefix(PREFIX)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| aws_error("DescribeAlarms", e))?;
            for a in page.metric_alarms() {
                let Some(name) = a.alarm_name() else { continue };
                out.push(ExistingAlarm {
                    name: name.to_string(),
                    description: a.alarm_description().unwrap_or_default().to_string(),
                    namespace: a.namespace().unwrap_or_default().to_string(),
                    metric: a.metric_name().unwrap_or_default().to_string(),
                    dimensions: a
                        .dimensions()
                        .iter()
                        .filter_map(|d| Some((d.name()?.to_string(), d.value()?.to_string())))
                        .collect(),
                    statistic: a
                        .statistic()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    period_s: a.period().unwrap_or_default(),
                    evaluation_periods: a.evaluation_periods().unwrap_or_default(),
                    threshold: a.threshold().unwrap_or_default(),
                    comparison: a
                        .comparison_operator()
                        .map(|c| c.as_str().to_string())
                        .unwrap_or_default(),
                    treat_missing_data: a.treat_missing_data().unwrap_or_default().to_string(),
                });
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// Creates or replaces one alarm. No alarm action: its state changes
    /// reach the incident-escalator through EventBridge, as every alarm of
    /// the account does. The tags only apply when it is created.
    pub async fn put(&self, a: &AlarmSpec) -> Result<()> {
        let dims = a
            .dimensions
            .iter()
            .map(|(n, v)| Dimension::builder().name(n).value(v).build())
            .collect::<Vec<_>>();
        self.client
            .put_metric_alarm()
            .alarm_name(&a.name)
            .alarm_description(&a.description)
            .namespace(&a.namespace)
            .metric_name(&a.metric)
            .set_dimensions(Some(dims))
            .statistic(Statistic::from(a.statistic.as_str()))
            .period(a.period_s)
            .evaluation_periods(a.evaluation_periods)
            .threshold(a.threshold)
            .comparison_operator(ComparisonOperator::from(a.comparison.as_aws()))
            .treat_missing_data(&a.treat_missing_data)
            .set_unit(None::<StandardUnit>)
            .tags(Tag::builder().key(TAG_MANAGED).value("true").build())
            .tags(Tag::builder().key(MONITORS_TAG).value(&a.monitors).build())
            .send()
            .await
            .map_err(|e| aws_error("PutMetricAlarm", e))?;
        Ok(())
    }

    /// Deletes Rempart's alarms of these names (any other name is skipped:
    /// never someone else's alarm).
    pub async fn delete(&self, names: &[String]) -> Result<()> {
        let ours: Vec<String> = names
            .iter()
            .filter(|n| n.starts_with(PREFIX))
            .cloned()
            .collect();
        for chunk in ours.chunks(DELETE_BATCH) {
            self.client
                .delete_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| aws_error("DeleteAlarms", e))?;
        }
        Ok(())
    }
}
