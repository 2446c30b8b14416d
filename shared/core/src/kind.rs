//! The kinds of resource Rempart protects: the one type every layer names
//! (the naming rules, the model, the policy), below all of them.

use serde::{Deserialize, Serialize};
use std::fmt;

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
