//! S3 backup buckets: the versioning and lifecycle rules a policy demands,
//! and the drift between them and what a bucket has.
//! Rempart corrects the configuration; it never deletes objects itself.

use serde::{Deserialize, Serialize};

/// The ID of the lifecycle rule Rempart writes.
pub const RULE_ID: &str = "rempart-backup-policy";

/// A backup bucket declared in the policy document (`[[buckets]]`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BucketRule {
    pub name: String,
    /// The bucket's region (default: the function's region).
    #[serde(default)]
    pub region: Option<crate::model::Region>,
    /// Versioning must be on (the only accepted value is `true`: Rempart
    /// never suspends versioning).
    #[serde(default = "yes")]
    pub versioning: bool,
    #[serde(default)]
    pub lifecycle: Lifecycle,
}

fn yes() -> bool {
    true
}

/// One lifecycle rule over the whole bucket.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    /// Days after creation when current versions move to `storage_class`.
    pub transition_days: Option<i32>,
    /// Storage class of the transition (default GLACIER).
    pub storage_class: Option<String>,
    /// Days after creation when current versions expire (none: never).
    pub expiration_days: Option<i32>,
    /// Days a version stays once it becomes noncurrent.
    pub noncurrent_expiration_days: Option<i32>,
    /// Days after which incomplete multipart uploads are aborted.
    pub abort_incomplete_multipart_days: Option<i32>,
}

impl Lifecycle {
    /// With defaults filled in, as it is written to and read from S3.
    pub fn normalized(&self) -> Lifecycle {
        Lifecycle {
            storage_class: self.transition_days.map(|_| {
                self.storage_class
                    .clone()
                    .unwrap_or_else(|| "GLACIER".into())
            }),
            ..self.clone()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.transition_days.is_none()
            && self.expiration_days.is_none()
            && self.noncurrent_expiration_days.is_none()
            && self.abort_incomplete_multipart_days.is_none()
    }

    /// Checks the numbers (positive days, expiration after transition).
    pub fn validate(&self, bucket: &str) -> Result<(), String> {
        for (field, v) in [
            ("transition_days", self.transition_days),
            ("expiration_days", self.expiration_days),
            (
                "noncurrent_expiration_days",
                self.noncurrent_expiration_days,
            ),
            (
                "abort_incomplete_multipart_days",
                self.abort_incomplete_multipart_days,
            ),
        ] {
            if v.is_some_and(|d| d <= 0) {
                return Err(format!(
                    "buckets `{bucket}`: lifecycle.{field} must be a positive number of days"
                ));
            }
        }
        if let (Some(t), Some(e)) = (self.transition_days, self.expiration_days) {
            if e <= t {
                return Err(format!(
                    "buckets `{bucket}`: lifecycle.expiration_days ({e}) must come after transition_days ({t})"
                ));
            }
        }
        Ok(())
    }
}

/// What a bucket has now.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BucketState {
    /// `Enabled`, `Suspended`, or `None` when versioning was never set.
    pub versioning: Option<String>,
    /// Its lifecycle rules: (rule id, the rule read as a [`Lifecycle`] when it
    /// is a whole-bucket rule Rempart can read, else `None`).
    pub rules: Vec<(String, Option<Lifecycle>)>,
}

/// What must change for a bucket to match its rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub enable_versioning: bool,
    /// The lifecycle configuration must be rewritten; why.
    pub lifecycle: Option<String>,
}

impl Drift {
    pub fn is_none(&self) -> bool {
        !self.enable_versioning && self.lifecycle.is_none()
    }
}

/// Compares a bucket's state with its rule (pure).
pub fn drift(rule: &BucketRule, state: &BucketState) -> Drift {
    let want = rule.lifecycle.normalized();
    let lifecycle = if want.is_empty() {
        None
    } else {
        match &state.rules[..] {
            [] => Some("no lifecycle rule".to_string()),
            [(id, Some(have))] if id == RULE_ID && *have == want => None,
            [(id, Some(have))] if id == RULE_ID => {
                Some(format!("rule differs: has {have:?}, policy wants {want:?}"))
            }
            rules => Some(format!(
                "{} rule(s) ({}) instead of Rempart's single rule",
                rules.len(),
                rules
                    .iter()
                    .map(|(id, _)| id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    };
    Drift {
        enable_versioning: rule.versioning && state.versioning.as_deref() != Some("Enabled"),
        lifecycle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> BucketRule {
        BucketRule {
            name: "b".into(),
            region: None,
            versioning: true,
            lifecycle: Lifecycle {
                transition_days: Some(30),
                expiration_days: Some(1825),
                noncurrent_expiration_days: Some(365),
                ..Default::default()
            },
        }
    }

    #[test]
    fn a_bucket_matching_its_rule_has_no_drift() {
        let state = BucketState {
            versioning: Some("Enabled".into()),
            rules: vec![(RULE_ID.into(), Some(rule().lifecycle.normalized()))],
        };
        assert!(drift(&rule(), &state).is_none());
    }

    #[test]
    fn versioning_off_or_suspended_is_drift() {
        for v in [None, Some("Suspended".to_string())] {
            let state = BucketState {
                versioning: v,
                rules: vec![(RULE_ID.into(), Some(rule().lifecycle.normalized()))],
            };
            let d = drift(&rule(), &state);
            assert!(d.enable_versioning && d.lifecycle.is_none());
        }
    }

    #[test]
    fn missing_different_or_foreign_rules_are_drift() {
        let mut other = rule().lifecycle.normalized();
        other.expiration_days = Some(30 + 1);
        for (rules, needle) in [
            (vec![], "no lifecycle rule"),
            (vec![(RULE_ID.to_string(), Some(other))], "rule differs"),
            (vec![("theirs".to_string(), None)], "theirs"),
        ] {
            let state = BucketState {
                versioning: Some("Enabled".into()),
                rules,
            };
            let d = drift(&rule(), &state);
            assert!(
                d.lifecycle.as_deref().unwrap_or("").contains(needle),
                "{d:?}"
            );
        }
    }

    #[test]
    fn validation_names_the_bucket_and_field() {
        let mut l = rule().lifecycle;
        l.expiration_days = Some(10);
        assert!(l
            .validate("b")
            .unwrap_err()
            .contains("expiration_days (10)"));
        l.expiration_days = Some(0);
        assert!(l.validate("b").unwrap_err().contains("positive"));
    }
}
