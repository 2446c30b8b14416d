//! A year and more of the seed 003 policy, replayed through the real
//! scheduler and enforcer handlers against moto.

use rempart_cli::simulate::{simulate, SimArgs, RDS_MANUAL_QUOTA};

/// Proves: 400 days of seed 003's schedules, with the retention-enforcer
/// running daily, leave exactly what restic's rules (applied once to every
/// snapshot ever taken) keep: for EBS the 14 newest days, for Redis the 7
/// newest, for PostgreSQL keep-within 24 h + 7 daily + 4 weekly + 12 monthly
/// + yearly; and never more manual RDS snapshots than the AWS quota. DR
/// regions are left out: no replicator takes part yet (see README).
#[tokio::test]
async fn four_hundred_days_end_with_what_restic_predicts() {
    let args = SimArgs {
        days: 400,
        policy_file: None,
        start: "2025-01-01T00:00:00Z".parse().unwrap(),
        enforce_cron: "30 5 * * *".parse().unwrap(),
        without_dr: true,
        quiet: true,
    };
    let mut out = Vec::new();
    let o = simulate(&args, &mut out).await.expect("simulation runs");
    let text = String::from_utf8_lossy(&out);
    assert!(o.matches(), "{text}");
    assert!(o.max_rds_manual <= RDS_MANUAL_QUOTA, "{}", o.max_rds_manual);
    let by_kind = |k: &str| {
        o.survivors
            .iter()
            .filter(|(g, _)| g.1 == k)
            .map(|(_, s)| s.len())
            .collect::<Vec<_>>()
    };
    assert_eq!(by_kind("ebs-volume"), [14]);
    assert_eq!(by_kind("elasticache-redis"), [7]);
    for n in by_kind("rds-instance")
        .into_iter()
        .chain(by_kind("aurora-cluster"))
    {
        // 7 daily + 4 weekly + 12 monthly + 2 yearly (2025, 2026), with overlaps.
        assert!((12..=1 + 7 + 4 + 12 + 5).contains(&n), "{n}\n{text}");
    }
    let db = o
        .survivors
        .iter()
        .find(|(g, _)| g.2 == "rewapp-prod-db")
        .unwrap()
        .1;
    assert!(
        db.contains("rempart-rewapp-postgres-rewapp-prod-db-20250101-0200"),
        "the 2025 yearly: {db:?}"
    );
    assert!(
        text.contains("Survivors match restic's rules applied once to every snapshot taken: yes")
    );
}
