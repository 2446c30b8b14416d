//! The built `snapshot-scheduler` binary, run as Lambda runs it: a local
//! Lambda runtime API hands it events, and it reaches the emulator through
//! the standard AWS_ENDPOINT_URL only.

use rempart_integration::{scheduled_at, Harness};
use rempart_testkit::lambda_rt::{Outcome, RuntimeApi};
use rempart_testkit::local::REGION;
use std::path::Path;
use std::time::Duration;

/// Proves: the binary starts under the runtime API with its configuration
/// from the environment, answers a scheduled event with its report (the
/// snapshots exist in the emulator afterwards), and answers an unknown event
/// with a Lambda error whose type says it was rejected, without dying.
#[tokio::test]
async fn the_binary_serves_events_through_the_runtime_api() {
    let h = Harness::new().await;
    let api = RuntimeApi::start().await.unwrap();
    let mut env = h.aws.child_env(REGION);
    env.push(("REMPART_POLICY".into(), h.policy_file.display().to_string()));
    env.push(("REMPART_REGISTRY_TABLE".into(), h.registry.table().into()));
    env.push(("REMPART_EVENTS_TOPIC_ARN".into(), h.topic.arn().into()));
    let mut child = api
        .spawn(
            Path::new(env!("CARGO_BIN_EXE_snapshot-scheduler")),
            "rempart-snapshot-scheduler",
            &env,
        )
        .unwrap();

    let id = api.push(scheduled_at("2025-11-24T02:00:00Z"));
    let Outcome::Response(report) = api.outcome(&id, Duration::from_secs(60)).await.unwrap() else {
        panic!("expected a response");
    };
    assert_eq!(
        report["created"].as_array().map(Vec::len),
        Some(2),
        "{report}"
    );
    assert_eq!(h.rds_snapshots().await.len(), 2);

    let unknown: serde_json::Value = serde_json::from_str(include_str!(
        "../../../events/snapshot-scheduler/unknown-detail-type.json"
    ))
    .unwrap();
    let id = api.push(unknown);
    let Outcome::Error(err) = api.outcome(&id, Duration::from_secs(60)).await.unwrap() else {
        panic!("expected an error");
    };
    assert_eq!(err["errorType"], "Rempart.RejectedEvent", "{err}");
    assert!(err["errorMessage"]
        .as_str()
        .unwrap()
        .contains("EC2 Instance State-change Notification"));
    assert_eq!(
        h.rds_snapshots().await.len(),
        2,
        "the rejected event created nothing"
    );
    assert!(child.try_wait().unwrap().is_none(), "still serving");
    child.kill().await.unwrap();
}
