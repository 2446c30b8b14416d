//! Incoming events: turning what AWS (or an operator) sends into a domain
//! input, or a clear rejection.

use crate::error::{Error, Result};
use crate::model::ResourceKind;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `detail-type` of an EventBridge schedule rule's event.
pub const SCHEDULED_EVENT: &str = "Scheduled Event";
/// `source` of events that Rempart's operators and CLI send.
pub const REMPART_SOURCE: &str = "rempart";
/// `detail-type` of an on-demand snapshot request (seed 003 §5.1.2: before a
/// migration, a major upgrade or a schema change).
pub const ON_DEMAND_SNAPSHOT: &str = "Rempart On-Demand Snapshot Request";

/// A resource named in a request: an ARN, an EBS volume id, or `<kind>/<id>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResourceRef {
    pub kind: ResourceKind,
    pub id: String,
    /// For ElastiCache ARNs: `cluster` (a standalone node) rather than a
    /// replication group.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub redis_standalone: bool,
}

impl std::str::FromStr for ResourceRef {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || {
            format!(
                "`{s}` names no resource: use an RDS, EC2 volume or ElastiCache ARN, a volume id (vol-…), or <kind>/<id> with kind one of rds-instance, aurora-cluster, ebs-volume, elasticache-redis"
            )
        };
        let r = |kind, id: &str, redis_standalone| {
            if id.is_empty() {
                Err(bad())
            } else {
                Ok(ResourceRef {
                    kind,
                    id: id.to_string(),
                    redis_standalone,
                })
            }
        };
        if let Some(rest) = s.strip_prefix("arn:") {
            // arn:partition:service:region:account:resource
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            let [_, service, _, _, resource] = parts[..] else {
                return Err(bad());
            };
            return match (service, resource.split_once([':', '/'])) {
                ("rds", Some(("db", id))) => r(ResourceKind::RdsInstance, id, false),
                ("rds", Some(("cluster", id))) => r(ResourceKind::AuroraCluster, id, false),
                ("ec2", Some(("volume", id))) => r(ResourceKind::EbsVolume, id, false),
                ("elasticache", Some(("replicationgroup", id))) => {
                    r(ResourceKind::ElasticacheRedis, id, false)
                }
                ("elasticache", Some(("cluster", id))) => {
                    r(ResourceKind::ElasticacheRedis, id, true)
                }
                _ => Err(bad()),
            };
        }
        if s.starts_with("vol-") {
            return r(ResourceKind::EbsVolume, s, false);
        }
        match s.split_once('/') {
            Some((kind, id)) => match ResourceKind::parse(kind) {
                Some(kind) => r(kind, id, false),
                None => Err(bad()),
            },
            None => Err(bad()),
        }
    }
}

/// The `detail` of an on-demand snapshot request.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OnDemandDetail {
    /// What to snapshot: ARNs, volume ids or `<kind>/<id>`.
    pub resources: Vec<String>,
    /// Why (the change about to be made). Recorded and tagged.
    pub reason: String,
    /// Who asked. Recorded and tagged.
    pub requested_by: String,
    /// A change ticket reference, if any.
    #[serde(default)]
    pub change_ref: Option<String>,
    /// The policy for resources that carry no `rempart:policy` tag.
    #[serde(default)]
    pub policy: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnDemandRequest {
    pub resources: Vec<ResourceRef>,
    pub reason: String,
    pub requested_by: String,
    pub change_ref: Option<String>,
    pub policy: Option<String>,
}

/// What the snapshot-scheduler was asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchedulerInput {
    /// A schedule rule fired at `time`.
    Scheduled {
        time: DateTime<Utc>,
        event_id: Option<String>,
    },
    /// An operator asked for snapshots now.
    OnDemand {
        time: DateTime<Utc>,
        event_id: Option<String>,
        request: OnDemandRequest,
    },
}

impl SchedulerInput {
    pub fn time(&self) -> DateTime<Utc> {
        match self {
            SchedulerInput::Scheduled { time, .. } | SchedulerInput::OnDemand { time, .. } => *time,
        }
    }

    pub fn event_id(&self) -> Option<&str> {
        match self {
            SchedulerInput::Scheduled { event_id, .. }
            | SchedulerInput::OnDemand { event_id, .. } => event_id.as_deref(),
        }
    }
}

/// Parses an EventBridge envelope, with a message that says what is wrong.
pub fn envelope(v: &Value) -> Result<EventBridgeEvent<Value>> {
    if !v.is_object() {
        return Err(Error::Event(format!(
            "expected an EventBridge event (a JSON object with detail-type, source, time, detail), got {}",
            json_kind(v)
        )));
    }
    for field in ["detail-type", "source"] {
        if !v.get(field).is_some_and(Value::is_string) {
            return Err(Error::Event(format!(
                "not an EventBridge event: field `{field}` is missing or not a string"
            )));
        }
    }
    serde_json::from_value(v.clone())
        .map_err(|e| Error::Event(format!("malformed EventBridge event: {e}")))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The event's `time`: Rempart's "now".
pub fn event_time(ev: &EventBridgeEvent<Value>) -> Result<DateTime<Utc>> {
    ev.time.ok_or_else(|| {
        Error::Event(format!(
            "`{}` event has no `time`: Rempart takes \"now\" from the event, never from the clock",
            ev.detail_type
        ))
    })
}

/// Turns the snapshot-scheduler's event into its input.
pub fn parse_scheduler_event(v: &Value) -> Result<SchedulerInput> {
    let ev = envelope(v)?;
    let time = event_time(&ev)?;
    match (ev.source.as_str(), ev.detail_type.as_str()) {
        ("aws.events" | "aws.scheduler", SCHEDULED_EVENT) => Ok(SchedulerInput::Scheduled { time, event_id: ev.id }),
        (REMPART_SOURCE, ON_DEMAND_SNAPSHOT) => {
            let d: OnDemandDetail = serde_json::from_value(ev.detail)
                .map_err(|e| Error::Event(format!("malformed `{ON_DEMAND_SNAPSHOT}` detail: {e}")))?;
            Ok(SchedulerInput::OnDemand { time, event_id: ev.id, request: on_demand_request(d)? })
        }
        (source, detail_type) => Err(Error::Event(format!(
            "snapshot-scheduler does not handle detail-type `{detail_type}` from source `{source}`; it takes `{SCHEDULED_EVENT}` (source aws.events) and `{ON_DEMAND_SNAPSHOT}` (source {REMPART_SOURCE})"
        ))),
    }
}

/// Validates an on-demand request's detail.
pub fn on_demand_request(d: OnDemandDetail) -> Result<OnDemandRequest> {
    if d.resources.is_empty() {
        return Err(Error::Event(
            "on-demand request names no resource (`resources` is empty)".into(),
        ));
    }
    if d.reason.trim().is_empty() {
        return Err(Error::Event(
            "on-demand request has no `reason`: say which change it protects".into(),
        ));
    }
    if d.requested_by.trim().is_empty() {
        return Err(Error::Event(
            "on-demand request has no `requested_by`: say who asked".into(),
        ));
    }
    let resources = d
        .resources
        .iter()
        .map(|s| s.parse::<ResourceRef>().map_err(Error::Event))
        .collect::<Result<Vec<_>>>()?;
    Ok(OnDemandRequest {
        resources,
        reason: d.reason,
        requested_by: d.requested_by,
        change_ref: d.change_ref,
        policy: d.policy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scheduled() -> Value {
        serde_json::from_str(include_str!(
            "../../events/snapshot-scheduler/scheduled.json"
        ))
        .unwrap()
    }

    #[test]
    fn the_sample_scheduled_event_parses_with_its_time() {
        let input = parse_scheduler_event(&scheduled()).unwrap();
        assert_eq!(
            input.time(),
            "2025-11-24T02:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!(matches!(input, SchedulerInput::Scheduled { .. }));
    }

    #[test]
    fn the_sample_on_demand_event_parses() {
        let v: Value = serde_json::from_str(include_str!(
            "../../events/snapshot-scheduler/on-demand.json"
        ))
        .unwrap();
        let SchedulerInput::OnDemand { request, .. } = parse_scheduler_event(&v).unwrap() else {
            panic!()
        };
        assert_eq!(request.resources[0].kind, ResourceKind::RdsInstance);
        assert_eq!(request.resources[0].id, "rewapp-prod-db");
        assert!(!request.reason.is_empty());
    }

    #[test]
    fn unknown_detail_type_is_named_in_the_error() {
        let mut v = scheduled();
        v["detail-type"] = json!("EC2 Instance State-change Notification");
        let err = parse_scheduler_event(&v).unwrap_err().to_string();
        assert!(
            err.contains("EC2 Instance State-change Notification"),
            "{err}"
        );
        assert!(err.contains(SCHEDULED_EVENT), "{err}");
    }

    #[test]
    fn malformed_events_are_rejected_clearly() {
        assert!(parse_scheduler_event(&json!([1, 2]))
            .unwrap_err()
            .to_string()
            .contains("an array"));
        assert!(parse_scheduler_event(&json!({"source": "aws.events"}))
            .unwrap_err()
            .to_string()
            .contains("detail-type"));
        let mut v = scheduled();
        v.as_object_mut().unwrap().remove("time");
        assert!(parse_scheduler_event(&v)
            .unwrap_err()
            .to_string()
            .contains("no `time`"));
        v["time"] = json!("yesterday");
        assert!(parse_scheduler_event(&v)
            .unwrap_err()
            .to_string()
            .contains("malformed"));
    }

    #[test]
    fn on_demand_requires_reason_requester_and_known_resources() {
        let base = |detail: Value| json!({"source": REMPART_SOURCE, "detail-type": ON_DEMAND_SNAPSHOT, "time": "2025-11-24T10:00:00Z", "detail": detail});
        let ok = json!({"resources": ["vol-1"], "reason": "r", "requested_by": "a"});
        assert!(parse_scheduler_event(&base(ok)).is_ok());
        for (detail, needle) in [
            (
                json!({"resources": [], "reason": "r", "requested_by": "a"}),
                "names no resource",
            ),
            (
                json!({"resources": ["vol-1"], "reason": " ", "requested_by": "a"}),
                "reason",
            ),
            (
                json!({"resources": ["vol-1"], "reason": "r"}),
                "requested_by",
            ),
            (
                json!({"resources": ["db1"], "reason": "r", "requested_by": "a"}),
                "`db1` names no resource",
            ),
            (
                json!({"resources": ["vol-1"], "reason": "r", "requested_by": "a", "urgent": true}),
                "unknown field `urgent`",
            ),
        ] {
            let err = parse_scheduler_event(&base(detail))
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }

    #[test]
    fn resource_refs_from_arns_ids_and_kind_paths() {
        let cases = [
            (
                "arn:aws:rds:eu-west-1:123456789012:db:prod-db",
                ResourceKind::RdsInstance,
                "prod-db",
                false,
            ),
            (
                "arn:aws:rds:eu-west-1:123456789012:cluster:aur",
                ResourceKind::AuroraCluster,
                "aur",
                false,
            ),
            (
                "arn:aws:ec2:eu-west-1:123456789012:volume/vol-0abc",
                ResourceKind::EbsVolume,
                "vol-0abc",
                false,
            ),
            ("vol-0abc", ResourceKind::EbsVolume, "vol-0abc", false),
            (
                "arn:aws:elasticache:eu-west-1:123456789012:replicationgroup:rg",
                ResourceKind::ElasticacheRedis,
                "rg",
                false,
            ),
            (
                "arn:aws:elasticache:eu-west-1:123456789012:cluster:c1",
                ResourceKind::ElasticacheRedis,
                "c1",
                true,
            ),
            (
                "aurora-cluster/aur",
                ResourceKind::AuroraCluster,
                "aur",
                false,
            ),
        ];
        for (s, kind, id, standalone) in cases {
            let r: ResourceRef = s.parse().unwrap();
            assert_eq!(
                (r.kind, r.id.as_str(), r.redis_standalone),
                (kind, id, standalone),
                "{s}"
            );
        }
        assert!("arn:aws:s3:::bucket".parse::<ResourceRef>().is_err());
        assert!("rds-instance/".parse::<ResourceRef>().is_err());
    }
}

/// RDS's "manual snapshot created" event.
pub const RDS_MANUAL_SNAPSHOT_CREATED: &str = "RDS-EVENT-0042";
/// RDS's "manual cluster snapshot created" event.
pub const RDS_MANUAL_CLUSTER_SNAPSHOT_CREATED: &str = "RDS-EVENT-0075";
pub const RDS_SNAPSHOT_EVENT: &str = "RDS DB Snapshot Event";
pub const RDS_CLUSTER_SNAPSHOT_EVENT: &str = "RDS DB Cluster Snapshot Event";
pub const EBS_SNAPSHOT_EVENT: &str = "EBS Snapshot Notification";
/// The ElastiCache notification (on the cluster's SNS topic) that a
/// snapshot is complete.
pub const ELASTICACHE_SNAPSHOT_COMPLETE: &str = "ElastiCache:SnapshotComplete";

/// What the snapshot-replicator is asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicatorInput {
    /// A snapshot is complete in `region`: copy it if it is Rempart's.
    Snapshot {
        time: DateTime<Utc>,
        cause: Option<String>,
        kind: ResourceKind,
        id: String,
        region: Option<String>,
    },
    /// Look at every Rempart snapshot of the primary region (of one kind
    /// only, for an ElastiCache notification).
    Sweep {
        time: DateTime<Utc>,
        cause: Option<String>,
        only: Option<ResourceKind>,
    },
    /// A well-formed event that asks for nothing (another RDS event id, an
    /// EBS copy notification…), and why.
    Nothing {
        time: DateTime<Utc>,
        cause: Option<String>,
        reason: String,
    },
}

impl ReplicatorInput {
    pub fn time(&self) -> DateTime<Utc> {
        match self {
            ReplicatorInput::Snapshot { time, .. }
            | ReplicatorInput::Sweep { time, .. }
            | ReplicatorInput::Nothing { time, .. } => *time,
        }
    }

    pub fn cause(&self) -> Option<&str> {
        match self {
            ReplicatorInput::Snapshot { cause, .. }
            | ReplicatorInput::Sweep { cause, .. }
            | ReplicatorInput::Nothing { cause, .. } => cause.as_deref(),
        }
    }
}

fn detail_str<'a>(ev: &'a EventBridgeEvent<Value>, field: &str) -> Result<&'a str> {
    ev.detail.get(field).and_then(Value::as_str).ok_or_else(|| {
        Error::Event(format!(
            "`{}` event: detail.{field} is missing or not a string",
            ev.detail_type
        ))
    })
}

/// Turns the snapshot-replicator's event into its inputs: an EventBridge
/// event (snapshot completed, or the sweep's schedule), or an SNS delivery
/// (`Records`) whose messages are such events or ElastiCache notifications.
pub fn parse_replicator_event(v: &Value) -> Result<Vec<ReplicatorInput>> {
    if v.get("Records").is_some() {
        let sns: aws_lambda_events::event::sns::SnsEvent = serde_json::from_value(v.clone())
            .map_err(|e| Error::Event(format!("malformed SNS event: {e}")))?;
        if sns.records.is_empty() {
            return Err(Error::Event("SNS event with no records".into()));
        }
        return sns
            .records
            .iter()
            .map(|r| {
                if r.event_source != "aws:sns" {
                    return Err(Error::Event(format!(
                        "record from `{}`, not aws:sns",
                        r.event_source
                    )));
                }
                let m = &r.sns;
                let inner: Value = serde_json::from_str(&m.message).map_err(|e| {
                    Error::Event(format!(
                        "SNS message {} is not JSON ({e}); expected an EventBridge event or an ElastiCache notification",
                        m.message_id
                    ))
                })?;
                if inner.get("detail-type").is_some() {
                    let mut ev = envelope(&inner)?;
                    ev.time = ev.time.or(Some(m.timestamp));
                    return replicator_input(ev);
                }
                let cause = Some(m.message_id.clone());
                match inner.as_object().and_then(|o| o.keys().find(|k| k.starts_with("ElastiCache:"))) {
                    Some(k) if k == ELASTICACHE_SNAPSHOT_COMPLETE => Ok(ReplicatorInput::Sweep {
                        time: m.timestamp,
                        cause,
                        only: Some(ResourceKind::ElasticacheRedis),
                    }),
                    Some(k) => Ok(ReplicatorInput::Nothing {
                        time: m.timestamp,
                        cause,
                        reason: format!("ElastiCache notification `{k}` is not a completed snapshot"),
                    }),
                    None => Err(Error::Event(format!(
                        "SNS message {} is neither an EventBridge event nor an ElastiCache notification",
                        m.message_id
                    ))),
                }
            })
            .collect();
    }
    let ev = envelope(v)?;
    Ok(vec![replicator_input(ev)?])
}

fn replicator_input(ev: EventBridgeEvent<Value>) -> Result<ReplicatorInput> {
    let time = event_time(&ev)?;
    let cause = ev.id.clone();
    let nothing = |reason: String| {
        Ok(ReplicatorInput::Nothing {
            time,
            cause: cause.clone(),
            reason,
        })
    };
    match (ev.source.as_str(), ev.detail_type.as_str()) {
        ("aws.events" | "aws.scheduler", SCHEDULED_EVENT) => Ok(ReplicatorInput::Sweep {
            time,
            cause,
            only: None,
        }),
        ("aws.rds", RDS_SNAPSHOT_EVENT | RDS_CLUSTER_SNAPSHOT_EVENT) => {
            let cluster = ev.detail_type == RDS_CLUSTER_SNAPSHOT_EVENT;
            let id = detail_str(&ev, "EventID")?;
            let wanted = if cluster {
                RDS_MANUAL_CLUSTER_SNAPSHOT_CREATED
            } else {
                RDS_MANUAL_SNAPSHOT_CREATED
            };
            if id != wanted {
                let message = ev.detail.get("Message").and_then(Value::as_str).unwrap_or("");
                return nothing(format!(
                    "{id} ({message}) is not a manual snapshot completion ({wanted})"
                ));
            }
            let snapshot = detail_str(&ev, "SourceIdentifier")?;
            Ok(ReplicatorInput::Snapshot {
                time,
                cause: cause.clone(),
                kind: if cluster {
                    ResourceKind::AuroraCluster
                } else {
                    ResourceKind::RdsInstance
                },
                id: snapshot.to_string(),
                region: ev.region.clone(),
            })
        }
        ("aws.ec2", EBS_SNAPSHOT_EVENT) => {
            let what = detail_str(&ev, "event")?;
            let result = detail_str(&ev, "result")?;
            if what != "createSnapshot" || result != "succeeded" {
                return nothing(format!(
                    "EBS `{what}` {result}: only a succeeded createSnapshot is copied"
                ));
            }
            let arn = detail_str(&ev, "snapshot_id")?;
            let id = arn.rsplit('/').next().unwrap_or(arn);
            if !id.starts_with("snap-") {
                return Err(Error::Event(format!(
                    "`{EBS_SNAPSHOT_EVENT}`: detail.snapshot_id `{arn}` names no snap-… id"
                )));
            }
            Ok(ReplicatorInput::Snapshot {
                time,
                cause: cause.clone(),
                kind: ResourceKind::EbsVolume,
                id: id.to_string(),
                region: ev.region.clone(),
            })
        }
        (source, detail_type) => Err(Error::Event(format!(
            "snapshot-replicator does not handle detail-type `{detail_type}` from source `{source}`; it takes \
             `{SCHEDULED_EVENT}` (aws.events), `{RDS_SNAPSHOT_EVENT}` and `{RDS_CLUSTER_SNAPSHOT_EVENT}` (aws.rds), \
             `{EBS_SNAPSHOT_EVENT}` (aws.ec2), the same wrapped in SNS, and ElastiCache SNS notifications"
        ))),
    }
}
