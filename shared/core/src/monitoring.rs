//! Monitoring thresholds (pure): the policy's `[monitoring]` section, the
//! CloudWatch alarms every protected resource should have, and the plan
//! that brings the account's Rempart alarms in step with them (create,
//! update, delete).
//!
//! Rempart reconciles these alarms itself (the backup-auditor, every hour)
//! rather than Terraform: the resources are chosen by tag and come and go
//! between two `terraform apply`s; a database tagged at 10:00 is watched by
//! 11:00, and the alarms of one deleted or untagged go with it. Only alarms
//! whose name starts with [`PREFIX`] are Rempart's: the plan never touches
//! another, and IAM allows writing and deleting only those.

use crate::duration::Span;
use crate::kind::ResourceKind;
use crate::model::Resource;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Every alarm Rempart creates for monitoring starts with this.
pub const PREFIX: &str = "rempart-monitor-";
/// Tag on each alarm: the resource it watches (`<kind>/<id>`).
pub const MONITORS_TAG: &str = "rempart:monitors";

/// `[monitoring]`: thresholds per resource kind. A threshold left out makes
/// no alarm; no section, no alarm (and Rempart's existing ones are removed).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Monitoring {
    /// The statistic's period (default `5min`; 1 min to 1 day, whole
    /// minutes).
    #[serde(default = "d_period")]
    pub period: Span,
    /// Breaching this many periods in a row raises the alarm (default 3).
    #[serde(default = "d_evaluation_periods")]
    pub evaluation_periods: u32,
    /// RDS instances and Aurora clusters (`AWS/RDS`).
    #[serde(default)]
    pub rds: Option<RdsThresholds>,
    /// ElastiCache Redis, per node (`AWS/ElastiCache`).
    #[serde(default)]
    pub elasticache: Option<CacheThresholds>,
    /// EBS volumes (`AWS/EBS`): what CloudWatch measures of a volume (its
    /// disk usage is the instance's, not CloudWatch's).
    #[serde(default)]
    pub ebs: Option<EbsThresholds>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RdsThresholds {
    /// Alarm above this CPU percentage (`CPUUtilization`).
    #[serde(default)]
    pub cpu_percent: Option<f64>,
    /// Alarm below this much freeable memory, MiB (`FreeableMemory`: RDS
    /// reports bytes free, not a percentage).
    #[serde(default)]
    pub freeable_memory_mib: Option<f64>,
    /// Instances: alarm below this much free storage, GiB
    /// (`FreeStorageSpace`; Aurora's storage grows by itself).
    #[serde(default)]
    pub free_storage_gib: Option<f64>,
    /// Alarm above this average read latency (`ReadLatency`).
    #[serde(default)]
    pub read_latency: Option<Span>,
    /// Alarm above this average write latency (`WriteLatency`).
    #[serde(default)]
    pub write_latency: Option<Span>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CacheThresholds {
    /// Alarm above this CPU percentage (`EngineCPUUtilization`: Redis runs
    /// on one core).
    #[serde(default)]
    pub cpu_percent: Option<f64>,
    /// Alarm above this share of the memory Redis may use
    /// (`DatabaseMemoryUsagePercentage`).
    #[serde(default)]
    pub memory_percent: Option<f64>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EbsThresholds {
    /// gp2, st1, sc1: alarm below this burst balance percentage
    /// (`BurstBalance`; gp3 and io volumes publish none, their alarm stays
    /// OK).
    #[serde(default)]
    pub burst_balance_percent: Option<f64>,
    /// Alarm above this average queue length (`VolumeQueueLength`).
    #[serde(default)]
    pub queue_length: Option<f64>,
}

impl Default for Monitoring {
    fn default() -> Self {
        Monitoring {
            period: d_period(),
            evaluation_periods: d_evaluation_periods(),
            rds: None,
            elasticache: None,
            ebs: None,
        }
    }
}

fn d_period() -> Span {
    "5min".parse().expect("constant span")
}
fn d_evaluation_periods() -> u32 {
    3
}

impl Monitoring {
    /// Checks ranges; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        let p = self.period.seconds();
        if !(60..=86_400).contains(&p) || p % 60 != 0 {
            return Err(format!(
                "monitoring.period: {} is not whole minutes between 1 min and 1 day",
                crate::time::human(p)
            ));
        }
        if !(1..=100).contains(&self.evaluation_periods) {
            return Err(format!(
                "monitoring.evaluation_periods: {} is not between 1 and 100",
                self.evaluation_periods
            ));
        }
        let percent = |field: &str, v: Option<f64>| match v {
            Some(x) if !(x > 0.0 && x <= 100.0) => Err(format!(
                "monitoring.{field}: {x} is not a percentage above 0 and at most 100"
            )),
            _ => Ok(()),
        };
        let positive = |field: &str, v: Option<f64>| match v {
            Some(x) if !(x > 0.0 && x.is_finite()) => {
                Err(format!("monitoring.{field}: {x} must be above 0"))
            }
            _ => Ok(()),
        };
        let latency = |field: &str, v: &Option<Span>| match v {
            Some(s) if s.0 <= chrono::TimeDelta::zero() => {
                Err(format!("monitoring.{field}: must be longer than zero"))
            }
            _ => Ok(()),
        };
        if let Some(r) = &self.rds {
            percent("rds.cpu_percent", r.cpu_percent)?;
            positive("rds.freeable_memory_mib", r.freeable_memory_mib)?;
            positive("rds.free_storage_gib", r.free_storage_gib)?;
            latency("rds.read_latency", &r.read_latency)?;
            latency("rds.write_latency", &r.write_latency)?;
        }
        if let Some(c) = &self.elasticache {
            percent("elasticache.cpu_percent", c.cpu_percent)?;
            percent("elasticache.memory_percent", c.memory_percent)?;
        }
        if let Some(e) = &self.ebs {
            percent("ebs.burst_balance_percent", e.burst_balance_percent)?;
            positive("ebs.queue_length", e.queue_length)?;
        }
        Ok(())
    }
}

/// `GreaterThanThreshold` or `LessThanThreshold`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Comparison {
    Above,
    Below,
}

impl Comparison {
    pub fn as_aws(&self) -> &'static str {
        match self {
            Comparison::Above => "GreaterThanThreshold",
            Comparison::Below => "LessThanThreshold",
        }
    }
}

/// One alarm as Rempart wants it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlarmSpec {
    pub name: String,
    pub description: String,
    pub namespace: String,
    pub metric: String,
    /// Name and value, sorted by name.
    pub dimensions: Vec<(String, String)>,
    /// Always `Average`.
    pub statistic: String,
    pub period_s: i32,
    pub evaluation_periods: i32,
    /// In the metric's unit (bytes, seconds, percent, count).
    pub threshold: f64,
    pub comparison: Comparison,
    /// `notBreaching`: a metric a volume type does not publish keeps its
    /// alarm OK, and a resource being replaced does not page.
    pub treat_missing_data: String,
    /// The resource, `<kind>/<id>` (tag [`MONITORS_TAG`]).
    pub monitors: String,
}

/// An alarm as CloudWatch describes it (only Rempart's are listed).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExistingAlarm {
    pub name: String,
    pub description: String,
    pub namespace: String,
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    pub statistic: String,
    pub period_s: i32,
    pub evaluation_periods: i32,
    pub threshold: f64,
    pub comparison: String,
    pub treat_missing_data: String,
}

impl AlarmSpec {
    fn matches(&self, e: &ExistingAlarm) -> bool {
        let mut dims = e.dimensions.clone();
        dims.sort();
        self.description == e.description
            && self.namespace == e.namespace
            && self.metric == e.metric
            && self.dimensions == dims
            && self.statistic == e.statistic
            && self.period_s == e.period_s
            && self.evaluation_periods == e.evaluation_periods
            && (self.threshold - e.threshold).abs() <= f64::EPSILON * self.threshold.abs().max(1.0)
            && self.comparison.as_aws() == e.comparison
            && self.treat_missing_data == e.treat_missing_data
    }
}

/// CloudWatch's limit on an alarm name.
const NAME_MAX: usize = 255;

fn alarm_name(short: &str, id: &str, metric: &str) -> String {
    let mut n = format!("{PREFIX}{short}-{id}-{metric}");
    n.truncate(NAME_MAX);
    n
}

const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * MIB;

/// One threshold of a resource kind: CloudWatch's metric, how the
/// description names it, the alarm name's suffix, which side breaches, and
/// the threshold (in CloudWatch's unit, and as the policy wrote it), when
/// the policy sets it.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    Comparison,
    Option<(f64, String)>,
);

fn percent(v: Option<f64>) -> Option<(f64, String)> {
    v.map(|v| (v, format!("{v} %")))
}

fn seconds(v: &Option<Span>) -> Option<(f64, String)> {
    v.map(|v| {
        let s = v.0.num_milliseconds() as f64 / 1000.0;
        (s, format!("{s} s"))
    })
}

/// A kind's thresholds, and where CloudWatch publishes them: (the alarm
/// name's kind, namespace, dimension, rows). None: the policy watches none.
fn thresholds(
    m: &Monitoring,
    kind: ResourceKind,
) -> Option<(&'static str, &'static str, &'static str, Vec<Row>)> {
    use Comparison::{Above, Below};
    Some(match kind {
        ResourceKind::RdsInstance | ResourceKind::AuroraCluster => {
            let t = m.rds.as_ref()?;
            let instance = kind == ResourceKind::RdsInstance;
            let (short, dim) = if instance {
                ("rds", "DBInstanceIdentifier")
            } else {
                ("aurora", "DBClusterIdentifier")
            };
            let rows = vec![
                (
                    "CPUUtilization",
                    "CPU",
                    "cpu",
                    Above,
                    percent(t.cpu_percent),
                ),
                (
                    "FreeableMemory",
                    "freeable memory",
                    "freeable-memory",
                    Below,
                    t.freeable_memory_mib.map(|v| (v * MIB, format!("{v} MiB"))),
                ),
                // Aurora's storage grows by itself: instances only.
                (
                    "FreeStorageSpace",
                    "free storage",
                    "free-storage",
                    Below,
                    t.free_storage_gib
                        .filter(|_| instance)
                        .map(|v| (v * GIB, format!("{v} GiB"))),
                ),
                (
                    "ReadLatency",
                    "read latency",
                    "read-latency",
                    Above,
                    seconds(&t.read_latency),
                ),
                (
                    "WriteLatency",
                    "write latency",
                    "write-latency",
                    Above,
                    seconds(&t.write_latency),
                ),
            ];
            (short, "AWS/RDS", dim, rows)
        }
        ResourceKind::ElasticacheRedis => {
            let t = m.elasticache.as_ref()?;
            let rows = vec![
                (
                    "EngineCPUUtilization",
                    "engine CPU",
                    "cpu",
                    Above,
                    percent(t.cpu_percent),
                ),
                (
                    "DatabaseMemoryUsagePercentage",
                    "memory used",
                    "memory",
                    Above,
                    percent(t.memory_percent),
                ),
            ];
            ("redis", "AWS/ElastiCache", "CacheClusterId", rows)
        }
        ResourceKind::EbsVolume => {
            let t = m.ebs.as_ref()?;
            let rows = vec![
                (
                    "BurstBalance",
                    "burst balance",
                    "burst-balance",
                    Below,
                    percent(t.burst_balance_percent),
                ),
                (
                    "VolumeQueueLength",
                    "queue length",
                    "queue-length",
                    Above,
                    t.queue_length.map(|v| (v, format!("{v}"))),
                ),
            ];
            ("ebs", "AWS/EBS", "VolumeId", rows)
        }
    })
}

/// The alarms `resources` (the protected ones) should have. A Redis group
/// gets one set per node (its cache clusters, as listed with it), since
/// CloudWatch publishes Redis metrics per node; a standalone cluster is its
/// own node.
pub fn desired(m: &Monitoring, resources: &[Resource]) -> Vec<AlarmSpec> {
    let mut out = Vec::new();
    let every = crate::time::human(m.period.seconds());
    for r in resources {
        let Some((short, namespace, dimension, rows)) = thresholds(m, r.kind) else {
            continue;
        };
        let policy = r.policy_tag().unwrap_or_default();
        let ids = match r.redis.as_ref().map(|s| s.members()) {
            Some(nodes) if !nodes.is_empty() => nodes.to_vec(),
            _ => vec![r.id.clone()],
        };
        for id in &ids {
            for (metric, label, slug, comparison, set) in &rows {
                let Some((threshold, shown)) = set else {
                    continue;
                };
                out.push(AlarmSpec {
                    name: alarm_name(short, id, slug),
                    description: format!(
                        "Rempart monitoring of {} {id} (policy {policy}): {label} {} {shown} (average over {every}, {} periods in a row)",
                        r.kind,
                        match comparison {
                            Comparison::Above => "above",
                            Comparison::Below => "below",
                        },
                        m.evaluation_periods,
                    ),
                    namespace: (*namespace).into(),
                    metric: (*metric).into(),
                    dimensions: vec![((*dimension).into(), id.clone())],
                    statistic: "Average".into(),
                    period_s: m.period.seconds() as i32,
                    evaluation_periods: m.evaluation_periods as i32,
                    threshold: *threshold,
                    comparison: *comparison,
                    treat_missing_data: "notBreaching".into(),
                    monitors: format!("{}/{}", r.kind, r.id),
                });
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|a, b| a.name == b.name);
    out
}

/// What to do to bring the account's Rempart alarms in step.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Plan {
    /// New alarms.
    pub create: Vec<AlarmSpec>,
    /// Alarms whose settings differ (PutMetricAlarm replaces them).
    pub update: Vec<AlarmSpec>,
    /// Rempart alarms no protected resource needs any more.
    pub delete: Vec<String>,
    /// Already right.
    pub unchanged: usize,
}

/// The plan from `existing` (what CloudWatch lists under [`PREFIX`]) to
/// `want`. Alarms of other names are never in it, even if listed.
pub fn plan(want: &[AlarmSpec], existing: &[ExistingAlarm]) -> Plan {
    let mut p = Plan::default();
    let ours: BTreeMap<&str, &ExistingAlarm> = existing
        .iter()
        .filter(|e| e.name.starts_with(PREFIX))
        .map(|e| (e.name.as_str(), e))
        .collect();
    for w in want {
        match ours.get(w.name.as_str()) {
            None => p.create.push(w.clone()),
            Some(e) if !w.matches(e) => p.update.push(w.clone()),
            Some(_) => p.unchanged += 1,
        }
    }
    p.delete = ours
        .keys()
        .filter(|n| !want.iter().any(|w| w.name == **n))
        .map(|n| n.to_string())
        .collect();
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn resource(kind: ResourceKind, id: &str) -> Resource {
        serde_json::from_value(serde_json::json!({
            "kind": kind, "id": id, "arn": format!("arn:{id}"), "region": "eu-west-1",
            "tags": {"rempart:policy": "p"},
        }))
        .expect("resource")
    }

    fn monitoring() -> Monitoring {
        toml::from_str(
            r#"
            period = "5min"
            evaluation_periods = 3
            [rds]
            cpu_percent = 80
            freeable_memory_mib = 512
            free_storage_gib = 10
            read_latency = "2s"
            [elasticache]
            cpu_percent = 80
            memory_percent = 85
            [ebs]
            burst_balance_percent = 20
            "#,
        )
        .expect("monitoring")
    }

    fn as_existing(s: &AlarmSpec) -> ExistingAlarm {
        ExistingAlarm {
            name: s.name.clone(),
            description: s.description.clone(),
            namespace: s.namespace.clone(),
            metric: s.metric.clone(),
            dimensions: s.dimensions.clone(),
            statistic: s.statistic.clone(),
            period_s: s.period_s,
            evaluation_periods: s.evaluation_periods,
            threshold: s.threshold,
            comparison: s.comparison.as_aws().into(),
            treat_missing_data: s.treat_missing_data.clone(),
        }
    }

    /// Proves: each kind gets the alarms of its thresholds, in the metric's
    /// unit (MiB and GiB to bytes, latency in seconds), on the right
    /// dimension; Aurora gets no free-storage alarm; a Redis group gets one
    /// set per node.
    #[test]
    fn each_kind_gets_its_alarms_in_the_metric_units() {
        let mut cache = resource(ResourceKind::ElasticacheRedis, "cache");
        cache.redis = Some(crate::model::RedisShape::Group {
            node: "cache-002".into(),
            members: vec!["cache-001".to_string(), "cache-002".to_string()],
        });
        let want = desired(
            &monitoring(),
            &[
                resource(ResourceKind::RdsInstance, "db"),
                resource(ResourceKind::AuroraCluster, "aur"),
                cache,
                resource(ResourceKind::EbsVolume, "vol-1"),
            ],
        );
        let names: Vec<&str> = want.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "rempart-monitor-aurora-aur-cpu",
                "rempart-monitor-aurora-aur-freeable-memory",
                "rempart-monitor-aurora-aur-read-latency",
                "rempart-monitor-ebs-vol-1-burst-balance",
                "rempart-monitor-rds-db-cpu",
                "rempart-monitor-rds-db-free-storage",
                "rempart-monitor-rds-db-freeable-memory",
                "rempart-monitor-rds-db-read-latency",
                "rempart-monitor-redis-cache-001-cpu",
                "rempart-monitor-redis-cache-001-memory",
                "rempart-monitor-redis-cache-002-cpu",
                "rempart-monitor-redis-cache-002-memory",
            ]
        );
        let get = |n: &str| want.iter().find(|a| a.name == n).expect(n);
        let mem = get("rempart-monitor-rds-db-freeable-memory");
        assert_eq!(mem.threshold, 512.0 * 1024.0 * 1024.0);
        assert_eq!(mem.comparison.as_aws(), "LessThanThreshold");
        assert_eq!(
            mem.dimensions,
            [("DBInstanceIdentifier".to_string(), "db".to_string())]
        );
        assert_eq!(get("rempart-monitor-rds-db-read-latency").threshold, 2.0);
        assert_eq!(
            get("rempart-monitor-aurora-aur-cpu").dimensions[0].0,
            "DBClusterIdentifier"
        );
        let cpu = get("rempart-monitor-redis-cache-002-cpu");
        assert_eq!((cpu.period_s, cpu.evaluation_periods), (300, 3));
        assert!(
            cpu.description
                .contains("elasticache-redis cache-002 (policy p): engine CPU above 80 %"),
            "{}",
            cpu.description
        );
        assert_eq!(cpu.monitors, "elasticache-redis/cache");
    }

    /// Proves: no section, no alarm; the plan then deletes every Rempart
    /// alarm, and never one of another name.
    #[test]
    fn without_monitoring_rempart_alarms_go_and_others_stay() {
        let want = desired(
            &Monitoring::default(),
            &[resource(ResourceKind::RdsInstance, "db")],
        );
        assert!(want.is_empty());
        let theirs = desired(&monitoring(), &[resource(ResourceKind::RdsInstance, "db")]);
        let mut existing: Vec<ExistingAlarm> = theirs.iter().map(as_existing).collect();
        existing.push(ExistingAlarm {
            name: "team-db-cpu".into(),
            ..as_existing(&theirs[0])
        });
        let p = plan(&want, &existing);
        assert_eq!(p.delete.len(), theirs.len());
        assert!(p.delete.iter().all(|n| n.starts_with(PREFIX)));
    }

    /// Proves: a changed threshold is an update, a new resource a create, a
    /// removed one a delete, and what is right stays unchanged.
    #[test]
    fn the_plan_creates_updates_and_deletes() {
        let m = monitoring();
        let before = desired(
            &m,
            &[
                resource(ResourceKind::RdsInstance, "db"),
                resource(ResourceKind::RdsInstance, "old"),
            ],
        );
        let existing: Vec<ExistingAlarm> = before.iter().map(as_existing).collect();
        let mut m2 = m.clone();
        if let Some(r) = m2.rds.as_mut() {
            r.cpu_percent = Some(90.0);
        }
        let after = desired(
            &m2,
            &[
                resource(ResourceKind::RdsInstance, "db"),
                resource(ResourceKind::EbsVolume, "vol-9"),
            ],
        );
        let p = plan(&after, &existing);
        let names = |v: &[AlarmSpec]| v.iter().map(|a| a.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&p.create),
            ["rempart-monitor-ebs-vol-9-burst-balance"]
        );
        assert_eq!(names(&p.update), ["rempart-monitor-rds-db-cpu"]);
        assert_eq!(p.unchanged, 3);
        assert_eq!(p.delete.len(), 4);
        assert!(p
            .delete
            .iter()
            .all(|n| n.starts_with("rempart-monitor-rds-old-")));
    }

    /// Proves: bad thresholds are refused with the field named.
    #[test]
    fn bad_thresholds_are_refused() {
        let mut m = monitoring();
        assert!(m.validate().is_ok());
        m.rds.as_mut().expect("rds").cpu_percent = Some(120.0);
        assert!(m
            .validate()
            .unwrap_err()
            .contains("monitoring.rds.cpu_percent"));
        let mut m = monitoring();
        m.period = "90s".parse().expect("span");
        assert!(m.validate().unwrap_err().contains("monitoring.period"));
        let mut m = monitoring();
        m.evaluation_periods = 0;
        assert!(m.validate().unwrap_err().contains("evaluation_periods"));
        let mut m = monitoring();
        m.ebs.as_mut().expect("ebs").queue_length = Some(-1.0);
        assert!(m
            .validate()
            .unwrap_err()
            .contains("monitoring.ebs.queue_length"));
    }

    proptest! {
        /// Proves: applying a plan converges: after it, the same wish over
        /// the resulting alarms plans nothing; and no plan names an alarm
        /// outside Rempart's prefix.
        #[test]
        fn a_plan_applied_converges(
            ids in proptest::collection::btree_set("[a-z]{1,6}", 0..6),
            old in proptest::collection::btree_set("[a-z]{1,6}", 0..6),
            cpu in 1u8..100,
        ) {
            let m = monitoring();
            let mk = |set: &std::collections::BTreeSet<String>| set
                .iter()
                .map(|i| resource(ResourceKind::RdsInstance, i))
                .collect::<Vec<_>>();
            let mut existing: Vec<ExistingAlarm> = desired(&m, &mk(&old))
                .iter()
                .map(as_existing)
                .collect();
            existing.push(ExistingAlarm { name: "someone-else".into(), ..as_existing(&desired(&m, &[resource(ResourceKind::RdsInstance, "x")])[0]) });
            let mut m2 = m.clone();
            if let Some(r) = m2.rds.as_mut() { r.cpu_percent = Some(f64::from(cpu)); }
            let want = desired(&m2, &mk(&ids));
            let p = plan(&want, &existing);
            prop_assert!(p.delete.iter().chain(p.create.iter().map(|a| &a.name)).all(|n| n.starts_with(PREFIX)));
            // Apply.
            existing.retain(|e| !p.delete.contains(&e.name));
            for a in p.create.iter().chain(&p.update) {
                existing.retain(|e| e.name != a.name);
                existing.push(as_existing(a));
            }
            let again = plan(&want, &existing);
            prop_assert!(again.create.is_empty() && again.update.is_empty() && again.delete.is_empty());
            prop_assert!(existing.iter().any(|e| e.name == "someone-else"));
        }
    }
}
