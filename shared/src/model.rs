//! The domain: what Rempart protects, and how its snapshots are named and
//! tagged.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The tag that puts a resource under a policy: `rempart:policy=<name>`.
pub const TAG_POLICY: &str = "rempart:policy";
/// Carried by every snapshot Rempart creates. Rempart never deletes or
/// modifies a snapshot without it.
pub const TAG_MANAGED: &str = "rempart:managed";
pub const TAG_TIERS: &str = "rempart:tiers";
pub const TAG_SOURCE: &str = "rempart:source";
pub const TAG_SOURCE_KIND: &str = "rempart:source-kind";
pub const TAG_SCHEDULED_AT: &str = "rempart:scheduled-at";
pub const TAG_SCHEDULE: &str = "rempart:schedule";
/// The deterministic snapshot key. EBS chooses its own snapshot ids, so the
/// key is how a second delivery finds the first one's snapshot.
pub const TAG_KEY: &str = "rempart:key";
pub const TAG_REASON: &str = "rempart:reason";
pub const TAG_REQUESTED_BY: &str = "rempart:requested-by";
pub const TAG_CHANGE_REF: &str = "rempart:change-ref";

/// What kind of resource a policy protects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    /// An RDS DB instance (not an Aurora cluster member).
    RdsInstance,
    /// An Aurora DB cluster.
    AuroraCluster,
    /// An EBS volume.
    EbsVolume,
    /// An ElastiCache Redis (or Valkey) replication group or standalone cluster.
    ElasticacheRedis,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 4] = [
        ResourceKind::RdsInstance,
        ResourceKind::AuroraCluster,
        ResourceKind::EbsVolume,
        ResourceKind::ElasticacheRedis,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            ResourceKind::RdsInstance => "rds-instance",
            ResourceKind::AuroraCluster => "aurora-cluster",
            ResourceKind::EbsVolume => "ebs-volume",
            ResourceKind::ElasticacheRedis => "elasticache-redis",
        }
    }

    pub fn parse(s: &str) -> Option<ResourceKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    ClusteredGroup,
    /// Cluster mode disabled: snapshot one node (`CreateSnapshot(CacheClusterId)`),
    /// a replica when there is one so that the primary is spared the fork.
    Group { node: String },
    /// A standalone cache cluster (no replication group).
    Standalone,
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
}

impl Resource {
    /// The policy the resource is under. A restore test's throw-away
    /// instance or cluster carries its database's `rempart:policy` tag (for
    /// its records) but is never under a policy itself: not snapshotted,
    /// audited nor tested.
    pub fn policy_tag(&self) -> Option<&str> {
        if self.tags.contains_key(crate::restore::TAG_RESTORE_TEST) {
            return None;
        }
        self.tags.get(TAG_POLICY).map(String::as_str)
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

/// Lower-cases and replaces anything but `[a-z0-9-]` with `-`, collapses
/// runs of `-` and trims them at the ends: the intersection of what RDS,
/// ElastiCache and EC2 accept in identifiers and tag values.
fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// The deterministic snapshot identifier for `(resource, policy, time)`.
///
/// `rempart-<policy>-<resource>-<yyyymmdd>-<hhmm>` for a scheduled run (the
/// minute of the schedule), with seconds and `-od` for an on-demand one. The
/// result is a valid RDS and ElastiCache snapshot identifier: it starts with a
/// letter, holds only `[a-z0-9-]`, has no `--`, does not end with `-`, and is
/// at most 255 characters (resource ids are cut to 120).
pub fn snapshot_id(policy: &str, resource_id: &str, at: DateTime<Utc>, on_demand: bool) -> String {
    let mut res = slug(resource_id);
    res.truncate(120);
    while res.ends_with('-') {
        res.pop();
    }
    if res.is_empty() {
        res.push_str("resource");
    }
    let stamp = if on_demand {
        at.format("%Y%m%d-%H%M%S-od")
    } else {
        at.format("%Y%m%d-%H%M")
    };
    format!("rempart-{}-{}-{}", slug(policy), res, stamp)
}

/// Makes free text (a reason, a requester) safe as a tag value in every
/// service: letters, digits, spaces and `_ . : / = + - @`, at most 256.
pub fn tag_value(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_alphanumeric() || " _.:/=+-@".contains(c) {
                c
            } else {
                ' '
            }
        })
        .take(256)
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn valid_rds_identifier(s: &str) -> bool {
        s.len() <= 255
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.contains("--")
            && !s.ends_with('-')
    }

    #[test]
    fn snapshot_id_is_readable_and_deterministic() {
        let at: DateTime<Utc> = "2025-11-24T02:00:00Z".parse().unwrap();
        let id = snapshot_id("rewapp-postgres", "rewapp-prod-db", at, false);
        assert_eq!(id, "rempart-rewapp-postgres-rewapp-prod-db-20251124-0200");
        assert_eq!(
            id,
            snapshot_id("rewapp-postgres", "rewapp-prod-db", at, false)
        );
        let od = snapshot_id("rewapp-postgres", "rewapp-prod-db", at, true);
        assert_eq!(
            od,
            "rempart-rewapp-postgres-rewapp-prod-db-20251124-020000-od"
        );
    }

    proptest! {
        /// Whatever the resource id (EBS ids, odd characters, very long), the
        /// snapshot id is one that RDS and ElastiCache accept.
        #[test]
        fn snapshot_id_is_always_a_valid_identifier(res in ".{0,300}", secs in 0i64..4_000_000_000, od: bool) {
            let at = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            let id = snapshot_id("p", &res, at, od);
            prop_assert!(valid_rds_identifier(&id), "{}", id);
        }

        /// Two different minutes never give the same scheduled id.
        #[test]
        fn snapshot_id_differs_per_minute(a in 0i64..100_000_000, b in 0i64..100_000_000) {
            let (ta, tb) = (DateTime::<Utc>::from_timestamp(a * 60, 0).unwrap(), DateTime::<Utc>::from_timestamp(b * 60, 0).unwrap());
            prop_assert_eq!(a == b, snapshot_id("p", "db", ta, false) == snapshot_id("p", "db", tb, false));
        }
    }

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

    #[test]
    fn tag_value_strips_forbidden_characters() {
        assert_eq!(
            tag_value("Migration V42, schema (users)!"),
            "Migration V42  schema  users"
        );
        assert_eq!(tag_value("alice@rewapp.fr"), "alice@rewapp.fr");
    }
}
