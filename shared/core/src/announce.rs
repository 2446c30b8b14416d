//! Announcements on the events topic, and the registry's records.
//!
//! One JSON schema for every Rempart announcement (`schema` =
//! [`SCHEMA`]); SNS message attributes `kind`, `severity` and `schema` carry
//! the same values so that subscriptions can filter without parsing.

use crate::model::Resource;
use crate::time::rfc3339;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Version of the announcement schema. A breaking change bumps it.
pub const SCHEMA: &str = "rempart.announcement/v1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// The resource an announcement is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceSummary {
    pub kind: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub arn: String,
}

impl From<&Resource> for ResourceSummary {
    fn from(r: &Resource) -> Self {
        ResourceSummary {
            kind: r.kind.to_string(),
            id: r.id.clone(),
            arn: r.arn.clone(),
        }
    }
}

/// One announcement: something Rempart did or found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Announcement {
    pub schema: String,
    /// Dotted kind: `snapshot.created`, `snapshot.failed`, …
    pub kind: String,
    pub severity: Severity,
    /// When it happened, in event time.
    pub time: DateTime<Utc>,
    /// The function that speaks: `snapshot-scheduler`, …
    pub function: String,
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// One sentence for a human.
    pub summary: String,
    /// Kind-specific facts (snapshot id, tiers, error code…).
    #[serde(default)]
    pub details: Value,
    /// The id of the event that caused it, for tracing a replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// One line of the registry: an action on a resource.
///
/// Key: partition `resource` (`<kind>#<region>#<id>`), sort key `sk`
/// (`<time>#<action>#<subject>`), so a resource's history reads in time order
/// and the same action on the same subject at the same time is one record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegistryRecord {
    pub resource: String,
    pub time: DateTime<Utc>,
    /// Same vocabulary as announcement kinds.
    pub action: String,
    /// What was acted on: a snapshot id, a copy id…
    pub subject: String,
    /// `success` or `failure`.
    pub outcome: Outcome,
    pub policy: Option<String>,
    pub region: String,
    pub function: String,
    pub details: Value,
    pub cause: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

impl RegistryRecord {
    pub fn sort_key(&self) -> String {
        format!("{}#{}#{}", rfc3339(self.time), self.action, self.subject)
    }

    /// The announcement that goes with this record.
    pub fn announcement(
        &self,
        severity: Severity,
        resource: Option<ResourceSummary>,
        summary: String,
    ) -> Announcement {
        Announcement {
            schema: SCHEMA.to_string(),
            kind: self.action.clone(),
            severity,
            time: self.time,
            function: self.function.clone(),
            region: self.region.clone(),
            resource,
            policy: self.policy.clone(),
            summary,
            details: self.details.clone(),
            cause: self.cause.clone(),
        }
    }
}
