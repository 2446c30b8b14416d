//! The domain: what Rempart protects, and how its snapshots are named and
//! tagged.

use crate::kind::ResourceKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

use crate::duration::serde_via_str;
use crate::naming;
use crate::tags::*;
use std::str::FromStr;

/// A retention tier that a snapshot serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
    /// Taken on request, before a risky change.
    OnDemand,
}

impl Tier {
    pub const SCHEDULED: [Tier; 5] = [
        Tier::Hourly,
        Tier::Daily,
        Tier::Weekly,
        Tier::Monthly,
        Tier::Yearly,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Tier::Hourly => "hourly",
            Tier::Daily => "daily",
            Tier::Weekly => "weekly",
            Tier::Monthly => "monthly",
            Tier::Yearly => "yearly",
            Tier::OnDemand => "on-demand",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Tier list as a tag value: `daily+weekly` (`+` is allowed in tag values by
/// RDS, EC2 and ElastiCache alike; `,` is not everywhere).
pub fn tiers_tag_value(tiers: &[Tier]) -> String {
    tiers.iter().map(Tier::as_str).collect::<Vec<_>>().join("+")
}

/// How a Redis resource is snapshotted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum RedisShape {
    /// Cluster mode enabled: `CreateSnapshot(ReplicationGroupId)`.
    /// `members`: its cache clusters (nodes), as listed with it.
    ClusteredGroup {
        #[serde(default)]
        members: Vec<String>,
    },
    /// Cluster mode disabled: snapshot one node (`CreateSnapshot(CacheClusterId)`),
    /// a replica when there is one so that the primary is spared the fork.
    Group {
        node: String,
        #[serde(default)]
        members: Vec<String>,
    },
    /// A standalone cache cluster (no replication group).
    Standalone,
}

impl RedisShape {
    /// A group's cache clusters (CloudWatch publishes Redis metrics per
    /// node); none for a standalone cluster, which is its own node.
    pub fn members(&self) -> &[String] {
        match self {
            RedisShape::ClusteredGroup { members } | RedisShape::Group { members, .. } => members,
            RedisShape::Standalone => &[],
        }
    }
}

/// A resource found in an AWS region, with its tags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub kind: ResourceKind,
    /// The AWS identifier: DB instance / cluster identifier, `vol-…`,
    /// replication group or cache cluster id.
    pub id: String,
    pub arn: String,
    pub region: String,
    pub tags: BTreeMap<String, String>,
    /// For an RDS instance that belongs to an Aurora cluster: the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aurora_cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisShape>,
    /// RDS instances and Aurora clusters: their automated backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backups: Option<AutomatedBackups>,
    /// When AWS says it was created (coverage shows an unprotected
    /// resource's age).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
}

/// What RDS reports of a database's automated backups (point-in-time
/// recovery).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutomatedBackups {
    /// `BackupRetentionPeriod` (0: automated backups off).
    pub retention_days: i32,
    /// `PreferredBackupWindow` (`hh:mm-hh:mm` UTC).
    pub window: Option<String>,
    /// `LatestRestorableTime`: the newest point a restore can reach.
    pub latest_restorable: Option<DateTime<Utc>>,
}

impl Resource {
    /// The policy the resource is under. A restore test's throw-away
    /// instance or cluster carries its database's `rempart:policy` tag (for
    /// its records) but is never under a policy itself: not snapshotted,
    /// audited nor tested.
    pub fn policy_tag(&self) -> Option<&str> {
        if self.tags.contains_key(crate::tags::TAG_RESTORE_TEST) {
            return None;
        }
        // `rempart:policy=none`: excluded on purpose, under no policy.
        self.tags
            .get(TAG_POLICY)
            .map(String::as_str)
            .filter(|p| *p != TAG_POLICY_NONE)
    }

    /// The registry's partition key for this resource.
    pub fn registry_key(&self) -> String {
        format!("{}#{}#{}", self.kind, self.region, self.id)
    }
}

/// A snapshot Rempart made, as listed back from AWS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    pub kind: ResourceKind,
    /// The AWS identifier: snapshot name, or `snap-…` for EBS.
    pub id: String,
    /// The ARN (tagging calls of RDS and ElastiCache take it).
    pub arn: String,
    /// The region it lives in.
    pub region: String,
    /// The source resource's id.
    pub source: String,
    pub status: String,
    pub created: Option<DateTime<Utc>>,
    pub tags: BTreeMap<String, String>,
    /// Encrypted at rest, as the describe call reports it.
    #[serde(default)]
    pub encrypted: bool,
    /// The KMS key (ARN) it is encrypted with, when the describe call says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
}

impl SnapshotInfo {
    pub fn is_managed(&self) -> bool {
        self.tags.get(TAG_MANAGED).is_some_and(|v| v == "true")
    }

    /// Whether it is a copy that another account's Rempart made in this
    /// one: a vault copy in a backup account (its `rempart:copy-of` names a
    /// snapshot of another account than its own ARN's); with `production`,
    /// of that account's snapshots only.
    pub fn is_vault_copy_of(&self, production: Option<&str>) -> bool {
        let account = |arn: &str| crate::naming::arn_parts(arn).map(|p| p.3.to_string());
        match (
            self.tags
                .get(crate::tags::TAG_COPY_OF)
                .and_then(|a| account(a)),
            account(&self.arn),
        ) {
            (Some(source), Some(here)) => {
                !source.is_empty()
                    && !here.is_empty()
                    && source != here
                    && production.is_none_or(|p| p == source)
            }
            _ => false,
        }
    }

    /// The id of the resource it protects: from the `rempart:source` tag
    /// (the resource ARN, carried over to DR copies), else what the describe
    /// call says. EBS copies report a placeholder volume id (`vol-ffffffff`)
    /// in AWS, so the tag is the only reliable source for them.
    pub fn source_id(&self) -> String {
        match self.tags.get(TAG_SOURCE) {
            Some(arn) if !arn.is_empty() => {
                arn.rsplit([':', '/']).next().unwrap_or(arn).to_string()
            }
            _ => self.source.clone(),
        }
    }

    /// When it was taken in event time (`rempart:scheduled-at`), else the
    /// creation time AWS reports.
    pub fn taken_at(&self) -> Option<DateTime<Utc>> {
        self.tags
            .get(TAG_SCHEDULED_AT)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
            .or(self.created)
    }
}

/// Whether a snapshot's status is final and usable.
pub fn is_available(s: &SnapshotInfo) -> bool {
    matches!(s.status.as_str(), "available" | "completed")
}

/// The deterministic snapshot identifier for `(kind, resource, policy, time)`.
///
/// `rempart-<policy>-<resource>-<yyyymmdd>-<hhmm>` for a scheduled run (the
/// minute of the schedule), with seconds and `-od` for an on-demand one. The
/// result is a valid identifier for the kind's service ([`naming::valid_snapshot_id`]):
/// it starts with a letter, holds only `[a-z0-9-]`, has no `--`, does not end
/// with `-`, and has at most [`naming::snapshot_id_max`] characters: 63 for
/// an Aurora cluster snapshot, [`naming::SNAPSHOT_ID_MAX`] otherwise. A name
/// that would be longer has its policy and resource parts cut and a hash of
/// them added (`rempart-<policy…>-<resource…>-<hash>-<stamp>`), so that two
/// long names stay distinct; a part with nothing usable reads `policy` or
/// `resource`.
pub fn snapshot_id(
    kind: ResourceKind,
    policy: &str,
    resource_id: &str,
    at: DateTime<Utc>,
    on_demand: bool,
) -> String {
    let (policy, res, stamp) = id_parts(policy, resource_id, at, on_demand);
    naming::fit_id(
        "rempart",
        &[&policy, &res],
        &stamp,
        naming::snapshot_id_max(kind),
    )
}

/// The snapshot identifier of a resource whose [`snapshot_id`] is also
/// another's (`rewapp` + `postgres-db` and `rewapp-postgres` + `db` both give
/// `rempart-rewapp-postgres-db-…`): the same shape with a hash of the kind,
/// policy, id and ARN before the stamp, so that neither snapshot is taken
/// for the other.
pub fn distinct_snapshot_id(
    resource: &Resource,
    policy: &str,
    at: DateTime<Utc>,
    on_demand: bool,
) -> String {
    let (p, res, stamp) = id_parts(policy, &resource.id, at, on_demand);
    let hash = naming::short_hash(&[resource.kind.as_str(), policy, &resource.id, &resource.arn]);
    naming::hashed_id(
        "rempart",
        &[&p, &res],
        &stamp,
        naming::snapshot_id_max(resource.kind),
        &hash,
    )
}

fn id_parts(
    policy: &str,
    resource_id: &str,
    at: DateTime<Utc>,
    on_demand: bool,
) -> (String, String, String) {
    let or = |s: String, default: &str| if s.is_empty() { default.to_string() } else { s };
    let stamp = if on_demand {
        at.format("%Y%m%d-%H%M%S-od")
    } else {
        at.format("%Y%m%d-%H%M")
    };
    (
        or(naming::slug(policy), "policy"),
        or(naming::slug(resource_id), "resource"),
        stamp.to_string(),
    )
}

/// An AWS region name such as `eu-central-1`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Region(pub String);

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Region {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        // <area>-<direction>-<n>, optionally with a partition part (us-gov-west-1).
        let parts: Vec<&str> = s.split('-').collect();
        let ok = parts.len() >= 3
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            })
            && parts
                .last()
                .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
        if ok {
            Ok(Region(s.to_string()))
        } else {
            Err(format!(
                "`{s}` is not an AWS region name (e.g. eu-central-1)"
            ))
        }
    }
}

serde_via_str!(Region);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::tag_value;
    use proptest::prelude::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// Proves: ordinary ids keep their documented shape
    /// `rempart-<policy>-<resource>-<yyyymmdd>-<hhmm>` (`-<hhmmss>-od` on
    /// demand), for every kind, and are deterministic.
    #[test]
    fn snapshot_id_is_readable_and_deterministic() {
        let t = at("2025-11-24T02:00:00Z");
        for kind in ResourceKind::ALL {
            let id = snapshot_id(kind, "rewapp-postgres", "rewapp-prod-db", t, false);
            assert_eq!(id, "rempart-rewapp-postgres-rewapp-prod-db-20251124-0200");
            assert_eq!(
                id,
                snapshot_id(kind, "rewapp-postgres", "rewapp-prod-db", t, false)
            );
            let od = snapshot_id(kind, "rewapp-postgres", "rewapp-prod-db", t, true);
            assert_eq!(
                od,
                "rempart-rewapp-postgres-rewapp-prod-db-20251124-020000-od"
            );
        }
    }

    /// Proves: the inputs that broke the old generator now give valid ids:
    /// an empty policy (was `rempart--db-…`), an Aurora cluster whose id is
    /// over RDS's 63-character cluster snapshot limit (was 70 characters), a
    /// very long policy (was over 255), a resource with no usable character.
    #[test]
    fn the_ids_that_were_invalid_are_valid() {
        let t = at("2025-11-24T02:00:00Z");
        assert_eq!(
            snapshot_id(ResourceKind::RdsInstance, "", "db", t, false),
            "rempart-policy-db-20251124-0200"
        );
        assert_eq!(
            snapshot_id(ResourceKind::EbsVolume, "p", "ünï", t, false),
            "rempart-p-n-20251124-0200"
        );
        assert_eq!(
            snapshot_id(ResourceKind::EbsVolume, "p", "é", t, false),
            "rempart-p-resource-20251124-0200"
        );
        let aurora = snapshot_id(
            ResourceKind::AuroraCluster,
            "rewapp-postgres",
            "rewapp-production-aurora-cluster",
            t,
            true,
        );
        assert_eq!(
            aurora,
            "rempart-rewapp-postgr-rewapp-produc-82411a6d-20251124-020000-od"
        );
        assert!(naming::valid_rds_cluster_snapshot_id(&aurora), "{aurora}");
        let long = snapshot_id(ResourceKind::RdsInstance, &"p".repeat(300), "db", t, true);
        assert!(
            naming::valid_snapshot_id(ResourceKind::RdsInstance, &long),
            "{long}"
        );
        assert!(long.starts_with("rempart-ppp") && long.ends_with("-20251124-020000-od"));
    }

    /// Any string, empty or long, any script.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            any::<String>(),
            ".{0,40}",
            "[a-z0-9_ -]{100,400}",
        ]
    }

    fn kind() -> impl Strategy<Value = ResourceKind> {
        prop::sample::select(ResourceKind::ALL.to_vec())
    }

    proptest! {
        /// Proves: whatever the policy name and resource id (empty, odd
        /// characters, any script, very long) and the time (0 to 4e9 s,
        /// scheduled or on demand), the snapshot id is a valid identifier of
        /// the kind's service, within Rempart's bound, prefixed `rempart-`
        /// and ending with its time stamp.
        #[test]
        fn snapshot_id_is_always_a_valid_identifier(kind in kind(), policy in text(), res in text(), secs in 0i64..4_000_000_000, od: bool) {
            let t = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            let id = snapshot_id(kind, &policy, &res, t, od);
            prop_assert!(naming::valid_snapshot_id(kind, &id), "{} {}", kind, id);
            prop_assert!(id.starts_with("rempart-"));
            let stamp = if od { t.format("%Y%m%d-%H%M%S-od") } else { t.format("%Y%m%d-%H%M") };
            prop_assert!(id.ends_with(&stamp.to_string()), "{}", id);
            prop_assert!(naming::valid_tag_value(&id));
        }

        /// Proves: for ordinary inputs (a valid policy name, an AWS-style
        /// resource id) the id is exactly `rempart-<policy>-<resource>-<stamp>`
        /// whenever that fits the kind's limit, so the ids of existing
        /// deployments do not change.
        #[test]
        fn ordinary_ids_are_unchanged(kind in kind(), policy in "[a-z](-?[a-z0-9]){0,15}", res in "[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,8}){0,6}", secs in 0i64..4_000_000_000, od: bool) {
            let t = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            let stamp = if od { t.format("%Y%m%d-%H%M%S-od") } else { t.format("%Y%m%d-%H%M") };
            let plain = format!("rempart-{policy}-{res}-{stamp}");
            let id = snapshot_id(kind, &policy, &res, t, od);
            if plain.len() <= naming::snapshot_id_max(kind) {
                prop_assert_eq!(id, plain);
            } else {
                prop_assert!(naming::valid_snapshot_id(kind, &id), "{}", id);
            }
        }

        /// Proves: two resources whose ids had to be shortened (Aurora
        /// clusters with long names) still get distinct snapshot ids.
        #[test]
        fn shortened_ids_stay_distinct(a in "[a-z][a-z0-9-]{40,62}", b in "[a-z][a-z0-9-]{40,62}", secs in 0i64..4_000_000_000) {
            prop_assume!(naming::slug(&a) != naming::slug(&b));
            let t = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            let k = ResourceKind::AuroraCluster;
            prop_assert_ne!(snapshot_id(k, "rewapp-postgres", &a, t, false), snapshot_id(k, "rewapp-postgres", &b, t, false));
        }

        /// Proves: two different minutes never give the same scheduled id.
        #[test]
        fn snapshot_id_differs_per_minute(kind in kind(), a in 0i64..60_000_000, b in 0i64..60_000_000) {
            let (ta, tb) = (DateTime::<Utc>::from_timestamp(a * 60, 0).unwrap(), DateTime::<Utc>::from_timestamp(b * 60, 0).unwrap());
            prop_assert_eq!(a == b, snapshot_id(kind, "p", "db", ta, false) == snapshot_id(kind, "p", "db", tb, false));
        }
    }

    /// Proves: the source id comes from the `rempart:source` tag when there
    /// is one, else from what AWS reports.
    #[test]
    fn the_source_comes_from_the_tag_when_there_is_one() {
        let mut s = SnapshotInfo {
            kind: ResourceKind::EbsVolume,
            id: "snap-1".into(),
            arn: String::new(),
            region: "eu-central-1".into(),
            source: "vol-ffffffff".into(),
            status: "completed".into(),
            created: None,
            tags: BTreeMap::new(),
            encrypted: false,
            kms_key: None,
        };
        assert_eq!(s.source_id(), "vol-ffffffff");
        s.tags.insert(
            TAG_SOURCE.into(),
            "arn:aws:ec2:eu-west-1:123456789012:volume/vol-0abc".into(),
        );
        assert_eq!(s.source_id(), "vol-0abc");
        s.tags.insert(
            TAG_SOURCE.into(),
            "arn:aws:rds:eu-west-1:123456789012:db:rewapp-prod-db".into(),
        );
        assert_eq!(s.source_id(), "rewapp-prod-db");
    }

    /// Proves: free text loses the characters some service refuses, and
    /// accented letters are folded rather than lost.
    #[test]
    fn tag_value_strips_forbidden_characters() {
        assert_eq!(
            tag_value("Migration V42, schema (users)!"),
            "Migration V42  schema  users"
        );
        assert_eq!(tag_value("alice@rewapp.fr"), "alice@rewapp.fr");
        assert_eq!(tag_value("Mise à jour, Hélène"), "Mise a jour  Helene");
        assert_eq!(tag_value("aws:evil"), "aws evil");
        assert_eq!(tag_value("  "), "");
    }
}
