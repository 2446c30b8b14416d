//! The snapshot-replicator's events: snapshot completions (RDS, Aurora,
//! EBS) from EventBridge, the sweep's schedule, and the same wrapped in SNS
//! with ElastiCache's notifications, decoded into its inputs or rejected
//! with the reason.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use rempart_aws::envelope::{envelope, event_time};
use rempart_aws::error::{Error, Result};
use rempart_core::event::*;
use rempart_core::kind::ResourceKind;
use serde_json::Value;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> serde_json::Value {
        let path = format!(
            "{}/../../events/snapshot-replicator/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).expect("sample")).expect("JSON")
    }

    /// Proves: every sample event parses to what it means; other RDS and EBS
    /// events ask for nothing; unknown and malformed events are rejected.
    #[test]
    fn events_parse_to_what_they_mean() {
        let one = |v: serde_json::Value| parse_replicator_event(&v).expect("parses").remove(0);
        assert!(matches!(one(sample("rds-snapshot-created.json")),
            ReplicatorInput::Snapshot { kind: ResourceKind::RdsInstance, ref id, .. } if id == "rempart-rewapp-postgres-rewapp-prod-db-20251123-0200"));
        assert!(matches!(
            one(sample("aurora-snapshot-created.json")),
            ReplicatorInput::Snapshot {
                kind: ResourceKind::AuroraCluster,
                ..
            }
        ));
        assert!(matches!(one(sample("ebs-snapshot-completed.json")),
            ReplicatorInput::Snapshot { kind: ResourceKind::EbsVolume, ref id, .. } if id == "snap-01234567"));
        assert!(matches!(
            one(sample("sweep.json")),
            ReplicatorInput::Sweep { only: None, .. }
        ));
        assert!(matches!(
            one(sample("sns-rds-snapshot-created.json")),
            ReplicatorInput::Snapshot {
                kind: ResourceKind::RdsInstance,
                ..
            }
        ));
        assert!(matches!(
            one(sample("sns-elasticache-snapshot-complete.json")),
            ReplicatorInput::Sweep {
                only: Some(ResourceKind::ElasticacheRedis),
                ..
            }
        ));
        let mut other = sample("rds-snapshot-created.json");
        other["detail"]["EventID"] = "RDS-EVENT-0040".into();
        assert!(matches!(one(other), ReplicatorInput::Nothing { .. }));
        let mut copy = sample("ebs-snapshot-completed.json");
        copy["detail"]["event"] = "copySnapshot".into();
        assert!(matches!(one(copy), ReplicatorInput::Nothing { .. }));
        let err = parse_replicator_event(&sample("malformed.json")).expect_err("malformed");
        assert!(err.to_string().contains("detail.SourceIdentifier"), "{err}");
        let mut unknown = sample("sweep.json");
        unknown["detail-type"] = "Something Else".into();
        let err = parse_replicator_event(&unknown).expect_err("unknown");
        assert!(err.to_string().contains("does not handle"), "{err}");
    }
}
