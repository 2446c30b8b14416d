//! A year and more of the seed 003 policy, replayed through the real
//! scheduler, replicator and enforcer handlers against moto, in the primary
//! and the DR region.

use rempart_testkit::simulate::{simulate, SimArgs, RDS_MANUAL_QUOTA};

/// Proves: 400 days of seed 003's schedules, with the retention-enforcer
/// running daily, leave exactly what restic's rules (applied once to every
/// snapshot ever taken) keep: for EBS the 14 newest days, for Redis the 7
/// newest, for PostgreSQL keep-within 24 h + 7 daily + 4 weekly + 12 monthly
/// + yearly; the same in the DR region (eu-central-1) for the copies of
/// PostgreSQL, Aurora and EBS snapshots (Redis reaches the DR region as
/// files in S3, not as snapshots); and never more manual RDS snapshots than
/// the AWS quota in either region.
#[tokio::test]
async fn four_hundred_days_end_with_what_restic_predicts() {
    let args = SimArgs {
        days: 400,
        policy_file: None,
        start: "2025-01-01T00:00:00Z".parse().unwrap(),
        enforce_cron: "30 5 * * *".parse().unwrap(),
        without_dr: false,
        quiet: true,
    };
    let mut out = Vec::new();
    let o = simulate(&args, &mut out).await.expect("simulation runs");
    let text = String::from_utf8_lossy(&out);
    assert!(o.matches(), "{text}");
    assert!(o.max_rds_manual <= RDS_MANUAL_QUOTA, "{}", o.max_rds_manual);
    let by_kind = |region: &str, k: &str| {
        o.survivors
            .iter()
            .filter(|(g, _)| g.0 == region && g.1 == k)
            .map(|(_, s)| s.len())
            .collect::<Vec<_>>()
    };
    assert_eq!(by_kind("eu-west-1", "ebs-volume"), [14]);
    assert_eq!(by_kind("eu-west-1", "elasticache-redis"), [7]);
    assert_eq!(by_kind("eu-central-1", "ebs-volume"), [14]);
    assert_eq!(
        by_kind("eu-central-1", "elasticache-redis"),
        Vec::<usize>::new()
    );
    // Both regions hold the same PostgreSQL and Aurora history.
    for kind in ["rds-instance", "aurora-cluster"] {
        assert_eq!(
            by_kind("eu-west-1", kind),
            by_kind("eu-central-1", kind),
            "{kind}"
        );
    }
    for n in by_kind("eu-west-1", "rds-instance")
        .into_iter()
        .chain(by_kind("eu-west-1", "aurora-cluster"))
    {
        // 7 daily + 4 weekly + 12 monthly + 2 yearly (2025, 2026), with overlaps.
        assert!((12..=1 + 7 + 4 + 12 + 5).contains(&n), "{n}\n{text}");
    }
    for region in ["eu-west-1", "eu-central-1"] {
        let db = o
            .survivors
            .iter()
            .find(|(g, _)| g.0 == region && g.2 == "rewapp-prod-db")
            .expect("the database's group")
            .1;
        assert!(
            db.contains("rempart-rewapp-postgres-rewapp-prod-db-20250101-0200"),
            "the 2025 yearly in {region}: {db:?}"
        );
    }
    assert!(
        text.contains("Survivors match restic's rules applied once to every snapshot taken: yes")
    );
    // Every function's requests went through the counting proxy: the three
    // that ran, and nothing unattributed.
    assert_eq!(
        o.requests.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "retention-enforcer",
            "snapshot-replicator",
            "snapshot-scheduler"
        ],
        "{:?}",
        o.requests
    );
    // The figure bench/README.md reports (scripts/test shows this line).
    println!(
        "{}",
        text.lines()
            .find(|l| l.starts_with("AWS requests per simulated day"))
            .unwrap_or("no request count")
    );
}
