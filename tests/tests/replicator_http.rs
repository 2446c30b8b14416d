//! snapshot-replicator where moto falls short, at the HTTP level: moto makes
//! every copy available at once, so a proxy between the replicator and moto
//! (`rempart_testkit::latency`) keeps each copy "in flight" (RDS `copying`, EBS
//! `pending` in the DR region's describe answers) until the test lets AWS
//! finish it. Everything else is moto's real answer.

use rempart_core::policy::PolicySource;
use rempart_core::replication::ReplicationReport;
use rempart_integration::{Harness, TABLE};
use rempart_snapshot_replicator as snapshot_replicator;
use rempart_testkit::latency::CopyLatency;
use rempart_testkit::local::{put_ebs_snapshot, put_rds_snapshot, sdk_config_for, REGION};
use rempart_testkit::proxy::CountingProxy;

const DR: &str = "eu-central-1";

fn sweep_at(minute: u32) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(include_str!("../../events/snapshot-replicator/sweep.json"))
            .expect("JSON");
    v["time"] = format!("2025-12-01T10:{minute:02}:00Z").into();
    v
}

/// Proves: with copies that take time, the replicator never has more than
/// 20 copies in flight per destination region and service across sweeps:
/// it starts 20, defers the rest (recorded, not failed), starts more only as
/// AWS finishes some, and in the end every snapshot has exactly one copy.
#[tokio::test]
async fn copies_in_flight_never_exceed_the_limit_across_sweeps() {
    let h = Harness::new().await;
    let rds = rempart_testkit::local::rds_client(&h.cfg);
    let ec2 = rempart_testkit::local::ec2_client(&h.cfg);
    for i in 0..30u32 {
        let at = format!("2025-11-{:02}T{:02}:00:00Z", 1 + i / 24, i % 24);
        put_rds_snapshot(
            &rds,
            &h.estate.db,
            &format!("rempart-rewapp-postgres-db-{i:03}"),
            "rewapp-postgres",
            &at,
        )
        .await
        .expect("rds snapshot");
    }
    for i in 0..25u32 {
        let at = format!("2025-11-{:02}T{:02}:00:00Z", 1 + i / 24, i % 24);
        put_ebs_snapshot(&ec2, &h.estate.volume, "rewapp-ebs", &at)
            .await
            .expect("ebs snapshot");
    }
    let latency = CopyLatency::new();
    let proxy = CountingProxy::with_hooks(&h.aws.endpoint, None, Some(latency.hook()))
        .await
        .expect("proxy");
    let deps = snapshot_replicator::Deps::new(
        &sdk_config_for(&proxy.url(), REGION).await,
        TABLE,
        h.topic.arn(),
        PolicySource::File(h.policy_file.clone()),
        20,
    )
    .expect("deps");
    let run = |minute: u32| {
        let deps = &deps;
        async move {
            let mut r: Vec<ReplicationReport> = snapshot_replicator::handle(deps, sweep_at(minute))
                .await
                .expect("sweep");
            r.remove(0)
        }
    };

    let first = run(0).await;
    assert_eq!(first.count("started"), 40, "{}", first.summary());
    assert_eq!(first.count("deferred"), 15, "{}", first.summary());
    assert_eq!(latency.in_flight(DR, "rds"), 20);
    assert_eq!(latency.in_flight(DR, "ec2"), 20);

    // Nothing finished: nothing more starts, nothing fails.
    let second = run(15).await;
    assert_eq!(second.count("started"), 0, "{}", second.summary());
    assert_eq!(second.count("in-flight"), 40, "{}", second.summary());
    assert_eq!(second.count("deferred"), 15);
    assert_eq!(second.count("failed"), 0);

    // AWS finishes 7 RDS and 3 EBS copies: exactly that many start.
    latency.complete(DR, "rds", 7);
    latency.complete(DR, "ec2", 3);
    let third = run(30).await;
    assert_eq!(third.count("available"), 10, "{}", third.summary());
    assert_eq!(third.count("started"), 10, "{}", third.summary());
    assert_eq!(third.count("deferred"), 5);

    for minute in [45, 50, 55] {
        latency.complete(DR, "rds", 100);
        latency.complete(DR, "ec2", 100);
        run(minute).await;
    }
    let last = run(59).await;
    assert_eq!(last.count("available"), 55, "{}", last.summary());
    assert_eq!(latency.started(), 55, "each snapshot copied exactly once");
    for ((region, service), max) in latency.max_in_flight() {
        assert_eq!(region, DR);
        assert_eq!(
            max, 20,
            "{service}: at most 20 in flight, and the limit was used"
        );
    }
    let deferred = h
        .registry_items()
        .await
        .into_iter()
        .filter(|i| i.1 == "copy.deferred")
        .count();
    assert_eq!(
        deferred, 15,
        "each deferral recorded once, not once per sweep"
    );
}
