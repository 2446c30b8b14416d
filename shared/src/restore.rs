//! Restore tests (pure): the policy's `[restore_tests]` section, when a
//! database is due for its monthly test, which snapshot to restore, the
//! throw-away instance's name, and the checks on the restored instance.
//! Seed 003 §10: a random snapshot younger than 7 days, restored to a test
//! instance, checked, timed (the real RTO; alert beyond 45 min), deleted.

use crate::aws::rds::RestoredInstance;
use crate::duration::Span;
use crate::model::SnapshotInfo;
use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};

/// On a restore-test instance: the source DB instance.
pub const TAG_RESTORE_TEST: &str = "rempart:restore-test";
/// On a restore-test instance: the snapshot it was restored from.
pub const TAG_RESTORE_SNAPSHOT: &str = "rempart:restore-snapshot";
/// On a restore-test instance: when the restore started (RFC 3339).
pub const TAG_RESTORE_STARTED: &str = "rempart:restore-started";

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RestoreTests {
    /// Policies whose RDS instances are tested.
    pub policies: Vec<String>,
    #[serde(default = "d_age")]
    pub max_snapshot_age: Span,
    #[serde(default = "d_class")]
    pub instance_class: String,
    /// The isolated DB subnet group of the test instances (default: the
    /// account's default VPC subnet group).
    #[serde(default)]
    pub subnet_group: Option<String>,
    /// A restore still running after this is reported (seed 003 §10: 45 min).
    #[serde(default = "d_alert")]
    pub alert_after: Span,
}

fn d_age() -> Span {
    "7d".parse().expect("constant")
}
fn d_class() -> String {
    "db.t4g.micro".into()
}
fn d_alert() -> Span {
    "45min".parse().expect("constant")
}

/// Due when no test of this database finished this calendar month (UTC).
pub fn due(finished: &[DateTime<Utc>], now: DateTime<Utc>) -> bool {
    !finished
        .iter()
        .any(|t| t.year() == now.year() && t.month() == now.month() && *t <= now)
}

/// FNV-1a: a stable "random" from the event id and the database, so a
/// redelivery picks the same snapshot.
pub fn seed(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    h
}

/// A snapshot to restore: one of the available Rempart snapshots of the
/// database younger than `max_age`, chosen by `seed`.
pub fn pick(
    snaps: &[SnapshotInfo],
    max_age: chrono::TimeDelta,
    now: DateTime<Utc>,
    seed: u64,
) -> Option<&SnapshotInfo> {
    let mut young: Vec<&SnapshotInfo> = snaps
        .iter()
        .filter(|s| crate::replicator::is_available(s))
        .filter(|s| s.taken_at().is_some_and(|t| now - t <= max_age && t <= now))
        .collect();
    young.sort_by(|a, b| a.id.cmp(&b.id));
    let n = young.len();
    (n > 0).then(|| young[(seed % n as u64) as usize])
}

/// `rempart-rt-<db>-<yyyymmddhhmm>`: a valid RDS instance identifier (at
/// most 63 characters, a letter first, no `--`, no trailing `-`).
pub fn instance_id(db: &str, now: DateTime<Utc>) -> String {
    let mut slug: String = db
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while slug.contains("--") {
        slug = slug.replace("--", "-");
    }
    let stamp = now.format("%Y%m%d%H%M").to_string();
    let room = 63 - "rempart-rt-".len() - 1 - stamp.len();
    slug.truncate(room);
    let slug = slug.trim_matches('-');
    format!("rempart-rt-{slug}-{stamp}")
}

/// One check on the restored instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// The checks seed 003 §10 asks for that the control plane can answer:
/// available, engine present, storage allocated, not publicly accessible.
/// (A SQL check through the RDS Data API is not done yet.)
pub fn checks(i: &RestoredInstance) -> Vec<Check> {
    vec![
        Check {
            name: "available".into(),
            ok: i.status == "available",
            detail: format!("status {}", i.status),
        },
        Check {
            name: "engine".into(),
            ok: !i.engine.is_empty(),
            detail: format!("{} {}", i.engine, i.engine_version),
        },
        Check {
            name: "storage".into(),
            ok: i.storage_gb > 0,
            detail: format!("{} GiB", i.storage_gb),
        },
        Check {
            name: "private".into(),
            ok: !i.publicly_accessible,
            detail: if i.publicly_accessible {
                "publicly accessible".into()
            } else {
                "not publicly accessible".into()
            },
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    /// Proves: one test per calendar month.
    #[test]
    fn a_database_is_due_once_a_month() {
        assert!(due(&[], t("2025-11-23T02:00:00Z")));
        assert!(!due(
            &[t("2025-11-01T03:00:00Z")],
            t("2025-11-23T02:00:00Z")
        ));
        assert!(due(&[t("2025-10-31T23:00:00Z")], t("2025-11-01T00:05:00Z")));
    }

    /// Proves: instance ids are valid RDS identifiers, however odd the name.
    #[test]
    fn instance_ids_are_valid() {
        let now = t("2025-11-23T02:30:00Z");
        assert_eq!(
            instance_id("rewapp-prod-db", now),
            "rempart-rt-rewapp-prod-db-202511230230"
        );
        let long = instance_id(&"x_".repeat(60), now);
        assert!(long.len() <= 63 && !long.contains("--"), "{long}");
    }

    /// Proves: only young, available snapshots are picked, and the same seed
    /// picks the same one.
    #[test]
    fn picks_a_young_available_snapshot() {
        let snap = |id: &str, at: &str, status: &str| SnapshotInfo {
            kind: crate::model::ResourceKind::RdsInstance,
            id: id.into(),
            arn: String::new(),
            region: "eu-west-1".into(),
            source: "db".into(),
            status: status.into(),
            created: Some(t(at)),
            tags: Default::default(),
            encrypted: true,
            kms_key: None,
        };
        let snaps = vec![
            snap("old", "2025-11-01T02:00:00Z", "available"),
            snap("creating", "2025-11-22T02:00:00Z", "creating"),
            snap("a", "2025-11-21T02:00:00Z", "available"),
            snap("b", "2025-11-22T02:00:00Z", "available"),
        ];
        let now = t("2025-11-23T02:30:00Z");
        let week = chrono::TimeDelta::days(7);
        for s in 0..10 {
            let p = pick(&snaps, week, now, s).expect("one");
            assert!(p.id == "a" || p.id == "b");
            assert_eq!(pick(&snaps, week, now, s), Some(p));
        }
        assert!(pick(&snaps[..2], week, now, 1).is_none());
        assert_ne!(seed(&["e1", "db"]), seed(&["e1db"]));
    }
}
