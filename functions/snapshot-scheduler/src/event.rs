//! The snapshot-scheduler's events: an EventBridge schedule's `Scheduled
//! Event`, or an operator's on-demand request, decoded into its input or
//! rejected with the reason.

use rempart_aws::envelope::{envelope, event_time};
use rempart_aws::error::{Error, Result};
use rempart_core::event::*;
use serde_json::Value;

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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use rempart_core::kind::ResourceKind;
    use serde_json::json;

    fn scheduled() -> Value {
        serde_json::from_str(include_str!(
            "../../../events/snapshot-scheduler/scheduled.json"
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
            "../../../events/snapshot-scheduler/on-demand.json"
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
}
