//! Incoming events: turning what AWS (or an operator) sends into a domain
//! input, or a clear rejection.

use crate::error::{Error, Result};
use crate::kind::ResourceKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `detail-type` of an EventBridge schedule rule's event.
pub const SCHEDULED_EVENT: &str = "Scheduled Event";
/// `source` of events that Rempart's operators and CLI send.
pub const REMPART_SOURCE: &str = "rempart";
/// `detail-type` of the human events of an incident, which `rempart
/// incident` and the slack-actions function publish and the
/// incident-escalator takes.
pub const INCIDENT_ACK: &str = "Rempart Incident Acknowledgement";
pub const INCIDENT_CLIENT_NOTIFIED: &str = "Rempart Incident Client Notified";
pub const INCIDENT_STATUS_UPDATE: &str = "Rempart Incident Status Update";
/// An audience of `[[incidents.audiences]]` was notified (`detail.audience`).
pub const INCIDENT_AUDIENCE_NOTIFIED: &str = "Rempart Incident Audience Notified";
/// An audience's clock starts now (`starts = "declared"`: a personal-data
/// breach confirmed).
pub const INCIDENT_AUDIENCE_DECLARED: &str = "Rempart Incident Audience Declared";
/// The `detail` of a human incident event: the incident (its id or key),
/// who acted, an optional note.
pub fn incident_detail(incident: &str, by: &str, note: &str) -> serde_json::Value {
    serde_json::json!({"incident": incident, "by": by, "note": note})
}
/// The `detail` of an audience event: the incident, the audience, who.
pub fn incident_audience_detail(incident: &str, audience: &str, by: &str) -> serde_json::Value {
    serde_json::json!({"incident": incident, "audience": audience, "by": by})
}

/// `detail-type` of an on-demand snapshot request (e.g. before a migration, a
/// major upgrade or a schema change).
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

#[cfg(test)]
mod tests {
    use super::*;

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
