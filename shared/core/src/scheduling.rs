//! The snapshot-scheduler's decisions (pure): which resources get a snapshot
//! now, with which name and tags, and the report of a run. The
//! snapshot-scheduler crate carries them out through the adapters.

use crate::announce::{Announcement, Severity, SCHEMA};
use crate::error::ErrorInfo;
use crate::event::OnDemandRequest;
use crate::kind::ResourceKind;
use crate::model::*;
use crate::naming::tag_value;
use crate::policy::{tiers_for_run, PolicyDocument};
use crate::tags::*;
use crate::time::rfc3339;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

pub const FUNCTION: &str = "snapshot-scheduler";

/// A snapshot to take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub resource: Resource,
    pub policy: String,
    pub snapshot_id: String,
    pub tiers: Vec<Tier>,
    /// The schedules this snapshot serves (`daily`, `weekly-full`), or
    /// `on-demand`.
    pub schedules: Vec<String>,
    pub at: DateTime<Utc>,
    pub tags: Vec<(String, String)>,
}

/// What to do with one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Snapshot(Planned),
    /// Protected, but none of its policy's schedules fires now.
    NotDue {
        resource: Resource,
        policy: String,
    },
    /// Tagged for protection but cannot be protected as tagged: reported as
    /// a failure, because the operator believes it is protected.
    Refused {
        resource: Resource,
        policy: Option<String>,
        reason: String,
    },
}

/// Schedules due at `at`, per policy name.
pub fn due_schedules(doc: &PolicyDocument, at: DateTime<Utc>) -> BTreeMap<String, Vec<String>> {
    doc.policies
        .iter()
        .filter_map(|(name, p)| {
            let tz = doc.timezone_of(p);
            let due: Vec<String> = p
                .schedules
                .iter()
                .filter(|s| s.cron.matches(at, tz))
                .map(|s| s.name.clone())
                .collect();
            (!due.is_empty()).then(|| (name.to_string(), due))
        })
        .collect()
}

pub fn minute(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::minutes(1)).unwrap_or(at)
}

/// Checks that `resource` may be snapshotted under `policy`.
fn check(
    doc: &PolicyDocument,
    resource: &Resource,
    policy: &str,
) -> std::result::Result<(), String> {
    let Some(p) = doc.policy(policy) else {
        let known: Vec<_> = doc.policies.keys().map(|k| k.as_str()).collect();
        return Err(format!(
            "tagged {TAG_POLICY}={policy}, but the policy document has no policy `{policy}` (it has: {})",
            known.join(", ")
        ));
    };
    if !p.kinds.contains(&resource.kind) {
        return Err(format!(
            "policy `{policy}` does not cover {} resources (it covers: {})",
            resource.kind,
            p.kinds
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(cluster) = &resource.aurora_cluster {
        return Err(format!(
            "this DB instance belongs to cluster `{cluster}`: Aurora is snapshotted per cluster; tag the cluster instead"
        ));
    }
    Ok(())
}

fn base_tags(
    resource: &Resource,
    policy: &str,
    tiers: &[Tier],
    schedules: &[String],
    at: DateTime<Utc>,
    id: &str,
) -> Vec<(String, String)> {
    let source = if resource.arn.is_empty() {
        resource.id.clone()
    } else {
        resource.arn.clone()
    };
    let mut tags = vec![
        (TAG_MANAGED.to_string(), "true".to_string()),
        (TAG_POLICY.to_string(), policy.to_string()),
        (TAG_TIERS.to_string(), tiers_tag_value(tiers)),
        (TAG_SOURCE.to_string(), source),
        (TAG_SOURCE_KIND.to_string(), resource.kind.to_string()),
        (TAG_SCHEDULED_AT.to_string(), rfc3339(at)),
        (TAG_SCHEDULE.to_string(), schedules.join("+")),
        (TAG_KEY.to_string(), id.to_string()),
    ];
    if resource.kind == ResourceKind::EbsVolume {
        tags.push(("Name".to_string(), id.to_string()));
    }
    tags
}

/// A resource whose snapshot's tags AWS would refuse (its ARN, say, is not
/// a valid tag value): refused with the reason, never half-snapshotted.
fn untaggable(resource: Resource, policy: String, reason: String) -> Decision {
    Decision::Refused {
        resource,
        policy: Some(policy),
        reason: format!("its snapshot cannot be tagged as AWS requires: {reason}"),
    }
}

/// Gives the resources whose snapshot ids coincide (same kind, `rewapp` +
/// `postgres-db` and `rewapp-postgres` + `db`) distinct ids
/// ([`distinct_snapshot_id`]): otherwise the second snapshot would be found
/// "already there" and its resource silently left without one.
fn disambiguate(mut decisions: Vec<Decision>, on_demand: bool) -> Vec<Decision> {
    let mut seen: BTreeMap<(ResourceKind, String), usize> = BTreeMap::new();
    for d in &decisions {
        if let Decision::Snapshot(p) = d {
            *seen
                .entry((p.resource.kind, p.snapshot_id.clone()))
                .or_default() += 1;
        }
    }
    for d in &mut decisions {
        let Decision::Snapshot(p) = d else { continue };
        if seen[&(p.resource.kind, p.snapshot_id.clone())] < 2 {
            continue;
        }
        let id = distinct_snapshot_id(&p.resource, &p.policy, p.at, on_demand);
        for (k, v) in &mut p.tags {
            if (k == TAG_KEY || k == "Name") && *v == p.snapshot_id {
                v.clone_from(&id);
            }
        }
        p.snapshot_id = id;
    }
    decisions
}

/// Decides, for every tagged resource, whether a scheduled event at `at`
/// snapshots it, and how. One snapshot per resource serves every schedule of
/// its policy that fires now and every tier those runs serve.
pub fn plan_scheduled(
    doc: &PolicyDocument,
    resources: Vec<Resource>,
    at: DateTime<Utc>,
) -> Vec<Decision> {
    let at = minute(at);
    let decisions = resources
        .into_iter()
        // A restore test's throw-away copy carries its database's policy
        // tag (it is found by the same listing) but is never under it; a
        // resource tagged `rempart:policy=none` is left out on purpose.
        .filter(|resource| {
            !resource.tags.contains_key(crate::tags::TAG_RESTORE_TEST)
                && resource.tags.get(TAG_POLICY).map(String::as_str)
                    != Some(crate::tags::TAG_POLICY_NONE)
        })
        .map(|resource| {
            let policy = resource.policy_tag().unwrap_or_default().to_string();
            if let Err(reason) = check(doc, &resource, &policy) {
                return Decision::Refused {
                    resource,
                    policy: Some(policy),
                    reason,
                };
            }
            let p = doc.policy(&policy).expect("checked");
            let tz = doc.timezone_of(p);
            let due: Vec<_> = p
                .schedules
                .iter()
                .filter(|s| s.cron.matches(at, tz))
                .collect();
            if due.is_empty() {
                return Decision::NotDue { resource, policy };
            }
            let mut tiers: Vec<Tier> = due.iter().flat_map(|s| tiers_for_run(s, at, tz)).collect();
            tiers.sort();
            tiers.dedup();
            let schedules: Vec<String> = due.iter().map(|s| s.name.clone()).collect();
            let snapshot_id = snapshot_id(resource.kind, &policy, &resource.id, at, false);
            let tags = base_tags(&resource, &policy, &tiers, &schedules, at, &snapshot_id);
            if let Err(reason) = crate::naming::check_tags(&tags) {
                return untaggable(resource, policy, reason);
            }
            Decision::Snapshot(Planned {
                resource,
                policy,
                snapshot_id,
                tiers,
                schedules,
                at,
                tags,
            })
        })
        .collect();
    disambiguate(decisions, false)
}

/// Decides the snapshots of an on-demand request. A resource's own
/// `rempart:policy` tag wins; the request's `policy` covers untagged ones.
pub fn plan_on_demand(
    doc: &PolicyDocument,
    resources: Vec<Resource>,
    req: &OnDemandRequest,
    at: DateTime<Utc>,
) -> Vec<Decision> {
    let at = at.duration_trunc(TimeDelta::seconds(1)).unwrap_or(at);
    let decisions = resources
        .into_iter()
        .map(|resource| {
            let Some(policy) = resource
                .policy_tag()
                .map(str::to_string)
                .or_else(|| req.policy.clone())
            else {
                return Decision::Refused {
                    resource,
                    policy: None,
                    reason: format!(
                        "resource has no {TAG_POLICY} tag and the request names no `policy`"
                    ),
                };
            };
            if let Err(reason) = check(doc, &resource, &policy) {
                return Decision::Refused {
                    resource,
                    policy: Some(policy),
                    reason,
                };
            }
            let tiers = vec![Tier::OnDemand];
            let schedules = vec![Tier::OnDemand.to_string()];
            let snapshot_id = snapshot_id(resource.kind, &policy, &resource.id, at, true);
            let mut tags = base_tags(&resource, &policy, &tiers, &schedules, at, &snapshot_id);
            tags.push((TAG_REASON.to_string(), tag_value(&req.reason)));
            tags.push((TAG_REQUESTED_BY.to_string(), tag_value(&req.requested_by)));
            if let Some(c) = &req.change_ref {
                tags.push((TAG_CHANGE_REF.to_string(), tag_value(c)));
            }
            if let Err(reason) = crate::naming::check_tags(&tags) {
                return untaggable(resource, policy, reason);
            }
            Decision::Snapshot(Planned {
                resource,
                policy,
                snapshot_id,
                tiers,
                schedules,
                at,
                tags,
            })
        })
        .collect();
    disambiguate(decisions, true)
}

/// One line of a run's result.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Item {
    pub kind: String,
    pub resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    /// The AWS id where it differs from `snapshot_id` (EBS `snap-…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<Tier>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
}

/// The result of one invocation: what was created, skipped and failed.
#[derive(Clone, Debug, Serialize, Default)]
pub struct RunReport {
    pub function: String,
    pub trigger: String,
    pub time: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// `policy/schedule` pairs that fired.
    pub due: Vec<String>,
    pub created: Vec<Item>,
    pub skipped: Vec<Item>,
    pub failed: Vec<Item>,
    /// Protected resources whose policy has no schedule firing now.
    pub not_due: Vec<String>,
    /// Registry or topic writes that failed (the snapshot work itself is in
    /// `created`/`failed`). A retry of the event repairs them.
    pub bookkeeping_errors: Vec<String>,
    /// Registry records this run wrote for the first time (each one
    /// announced): none on a second delivery that found everything done.
    #[serde(skip)]
    pub new_records: usize,
}

impl RunReport {
    /// Whether failing the invocation (so that Lambda retries it) could help.
    pub fn retry_would_help(&self) -> bool {
        !self.bookkeeping_errors.is_empty()
            || self
                .failed
                .iter()
                .any(|f| f.error.as_ref().is_some_and(|e| e.retryable))
    }

    pub fn summary(&self) -> String {
        format!(
            "{} created, {} skipped, {} failed, {} not due{}",
            self.created.len(),
            self.skipped.len(),
            self.failed.len(),
            self.not_due.len(),
            if self.bookkeeping_errors.is_empty() {
                String::new()
            } else {
                format!(", {} registry/topic errors", self.bookkeeping_errors.len())
            }
        )
    }
}

/// Failures listed by name in a run's digest; the count is always complete
/// (an SNS message is at most 256 KB).
pub const DIGEST_FAILURES_LISTED: usize = 100;

/// The run's digest (`snapshot.digest`): counts of snapshots created,
/// already there and failed, per policy, and the first failures; a warning
/// when anything failed.
pub fn digest_announcement(report: &RunReport, region: &str, time: DateTime<Utc>) -> Announcement {
    let mut per_policy: BTreeMap<String, BTreeMap<&str, usize>> = BTreeMap::new();
    for (outcome, items) in [
        ("created", &report.created),
        ("skipped", &report.skipped),
        ("failed", &report.failed),
    ] {
        for i in items {
            let policy = i.policy.clone().unwrap_or_else(|| "-".into());
            *per_policy
                .entry(policy)
                .or_default()
                .entry(outcome)
                .or_default() += 1;
        }
    }
    let listed: Vec<&Item> = report.failed.iter().take(DIGEST_FAILURES_LISTED).collect();
    Announcement {
        schema: SCHEMA.into(),
        kind: "snapshot.digest".into(),
        severity: if report.failed.is_empty() {
            Severity::Info
        } else {
            Severity::Warning
        },
        time,
        function: FUNCTION.into(),
        region: region.to_string(),
        resource: None,
        policy: None,
        summary: format!("Snapshots in {region}: {}", report.summary()),
        details: serde_json::json!({
            "trigger": report.trigger,
            "due": report.due,
            "created": report.created.len(),
            "skipped": report.skipped.len(),
            "failed": report.failed.len(),
            "policies": per_policy,
            "failures": listed,
            "failures_not_listed": report.failed.len() - listed.len(),
        }),
        cause: report.event_id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../examples/rewapp-policy.toml");

    fn doc() -> PolicyDocument {
        PolicyDocument::from_toml(EXAMPLE, "example").unwrap()
    }

    fn res(kind: ResourceKind, id: &str, policy: Option<&str>) -> Resource {
        Resource {
            kind,
            id: id.into(),
            arn: format!("arn:aws:test:eu-west-1:123456789012:x:{id}"),
            region: "eu-west-1".into(),
            tags: policy
                .map(|p| BTreeMap::from([(TAG_POLICY.to_string(), p.to_string())]))
                .unwrap_or_default(),
            aurora_cluster: None,
            redis: None,
            backups: None,
            created: None,
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn estate() -> Vec<Resource> {
        vec![
            res(ResourceKind::RdsInstance, "db", Some("rewapp-postgres")),
            res(ResourceKind::AuroraCluster, "aur", Some("rewapp-postgres")),
            res(ResourceKind::EbsVolume, "vol-1", Some("rewapp-ebs")),
            res(
                ResourceKind::ElasticacheRedis,
                "redis",
                Some("rewapp-redis"),
            ),
        ]
    }

    fn planned(ds: &[Decision]) -> Vec<&Planned> {
        ds.iter()
            .filter_map(|d| {
                if let Decision::Snapshot(p) = d {
                    Some(p)
                } else {
                    None
                }
            })
            .collect()
    }

    #[test]
    fn at_0200_only_postgres_is_due() {
        let ds = plan_scheduled(&doc(), estate(), t("2025-11-24T02:00:00Z"));
        let ps = planned(&ds);
        assert_eq!(
            ps.iter()
                .map(|p| p.resource.id.as_str())
                .collect::<Vec<_>>(),
            ["db", "aur"]
        );
        assert_eq!(ps[0].tiers, vec![Tier::Daily]);
        assert_eq!(
            ds.iter()
                .filter(|d| matches!(d, Decision::NotDue { .. }))
                .count(),
            2
        );
    }

    #[test]
    fn at_0400_ebs_and_redis_are_due_with_their_tags() {
        let ds = plan_scheduled(&doc(), estate(), t("2025-11-24T04:00:00Z"));
        let ps = planned(&ds);
        assert_eq!(ps.len(), 2);
        let ebs = ps
            .iter()
            .find(|p| p.resource.kind == ResourceKind::EbsVolume)
            .unwrap();
        let tags: BTreeMap<_, _> = ebs.tags.iter().cloned().collect();
        assert_eq!(tags[TAG_MANAGED], "true");
        assert_eq!(tags[TAG_POLICY], "rewapp-ebs");
        assert_eq!(tags[TAG_TIERS], "daily");
        assert_eq!(tags[TAG_SCHEDULED_AT], "2025-11-24T04:00:00Z");
        assert_eq!(tags[TAG_KEY], ebs.snapshot_id);
        assert_eq!(tags[TAG_SOURCE_KIND], "ebs-volume");
    }

    /// Proves: a restore test's throw-away copy, found by the same listing
    /// because it carries its database's policy tag, is neither snapshotted
    /// nor refused (no warning about a policy it is not under): the plan
    /// has no decision for it, and the protected volume is still planned.
    #[test]
    fn a_restore_tests_copy_is_not_planned() {
        let mut copy = res(ResourceKind::EbsVolume, "vol-copy", Some("rewapp-ebs"));
        copy.tags
            .insert(crate::tags::TAG_RESTORE_TEST.into(), "vol-0abc".into());
        let mut resources = estate();
        resources.push(copy);
        let ds = plan_scheduled(&doc(), resources, t("2025-11-24T04:00:00Z"));
        let id = |d: &Decision| match d {
            Decision::Snapshot(p) => p.resource.id.clone(),
            Decision::NotDue { resource, .. } | Decision::Refused { resource, .. } => {
                resource.id.clone()
            }
        };
        assert!(ds.iter().all(|d| id(d) != "vol-copy"), "{ds:?}");
        assert_eq!(planned(&ds).len(), 2);
    }

    #[test]
    fn a_late_delivery_within_the_minute_names_the_same_snapshot() {
        let a = plan_scheduled(&doc(), estate(), t("2025-11-24T02:00:00Z"));
        let b = plan_scheduled(&doc(), estate(), t("2025-11-24T02:00:41Z"));
        assert_eq!(a, b);
    }

    #[test]
    fn one_snapshot_serves_all_tiers_of_coinciding_schedules() {
        let text = EXAMPLE.replace("cron = \"0 3 * * SUN\"", "cron = \"0 2 * * SUN\"");
        let doc = PolicyDocument::from_toml(&text, "t").unwrap();
        // Sunday 2025-12-07 02:00: daily and weekly-full both fire; first Sunday of the month.
        let ds = plan_scheduled(&doc, estate(), t("2025-12-07T02:00:00Z"));
        let ps = planned(&ds);
        assert_eq!(
            ps.len(),
            2,
            "one snapshot per resource, not one per schedule or tier"
        );
        assert_eq!(ps[0].tiers, vec![Tier::Daily, Tier::Weekly, Tier::Monthly]);
        assert_eq!(ps[0].schedules, vec!["daily", "weekly-full"]);
    }

    #[test]
    fn misconfigured_resources_are_refused_with_a_reason() {
        let mut aurora_member = res(ResourceKind::RdsInstance, "aur-1", Some("rewapp-postgres"));
        aurora_member.aurora_cluster = Some("aur".into());
        let rs = vec![
            res(ResourceKind::RdsInstance, "db", Some("rewapp-postgre")),
            res(ResourceKind::EbsVolume, "vol-1", Some("rewapp-postgres")),
            aurora_member,
        ];
        let ds = plan_scheduled(&doc(), rs, t("2025-11-24T02:00:00Z"));
        let reasons: Vec<_> = ds
            .iter()
            .map(|d| match d {
                Decision::Refused { reason, .. } => reason.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(
            reasons[0].contains("no policy `rewapp-postgre`"),
            "{}",
            reasons[0]
        );
        assert!(
            reasons[1].contains("does not cover ebs-volume"),
            "{}",
            reasons[1]
        );
        assert!(reasons[2].contains("tag the cluster"), "{}", reasons[2]);
    }

    #[test]
    fn on_demand_uses_the_request_policy_only_for_untagged_resources() {
        let req = OnDemandRequest {
            resources: vec![],
            reason: "Migration V42 (schema)".into(),
            requested_by: "ops@rewapp.fr".into(),
            change_ref: Some("CHG-1".into()),
            policy: Some("rewapp-postgres".into()),
        };
        let rs = vec![
            res(ResourceKind::RdsInstance, "db", None),
            res(ResourceKind::EbsVolume, "vol-1", Some("rewapp-ebs")),
        ];
        let ds = plan_on_demand(&doc(), rs, &req, t("2025-11-24T14:25:07.5Z"));
        let ps = planned(&ds);
        assert_eq!(ps[0].policy, "rewapp-postgres");
        assert_eq!(ps[1].policy, "rewapp-ebs");
        assert_eq!(
            ps[0].snapshot_id,
            "rempart-rewapp-postgres-db-20251124-142507-od"
        );
        let tags: BTreeMap<_, _> = ps[0].tags.iter().cloned().collect();
        assert_eq!(tags[TAG_TIERS], "on-demand");
        assert_eq!(tags[TAG_REASON], "Migration V42  schema");
        assert_eq!(tags[TAG_REQUESTED_BY], "ops@rewapp.fr");
        let no_policy = OnDemandRequest {
            policy: None,
            ..req
        };
        let ds = plan_on_demand(
            &doc(),
            vec![res(ResourceKind::RdsInstance, "db", None)],
            &no_policy,
            t("2025-11-24T14:25:00Z"),
        );
        assert!(
            matches!(&ds[0], Decision::Refused { reason, .. } if reason.contains("no rempart:policy tag"))
        );
    }

    #[test]
    fn nothing_is_due_at_an_odd_minute() {
        assert!(due_schedules(&doc(), t("2025-11-24T02:01:00Z")).is_empty());
        let due = due_schedules(&doc(), t("2025-11-23T03:00:00Z"));
        assert_eq!(due["rewapp-postgres"], vec!["weekly-full"]);
    }

    /// Proves: two resources whose ordinary snapshot ids coincide
    /// (`rewapp` + `postgres-db`, `rewapp-postgres` + `db`) get distinct,
    /// valid ids and `rempart:key` tags, instead of the second being found
    /// "already there"; a resource alone keeps its ordinary id.
    #[test]
    fn colliding_snapshot_ids_are_made_distinct() {
        let text = "version = 1\n\
            [policies.rewapp]\nkinds = [\"ebs-volume\"]\nrpo = \"1d\"\n\
            [[policies.rewapp.schedules]]\nname = \"d\"\ncron = \"0 2 * * *\"\n\
            [policies.rewapp.retention]\nkeep_last = 1\n\
            [policies.rewapp-postgres]\nkinds = [\"ebs-volume\"]\nrpo = \"1d\"\n\
            [[policies.rewapp-postgres.schedules]]\nname = \"d\"\ncron = \"0 2 * * *\"\n\
            [policies.rewapp-postgres.retention]\nkeep_last = 1\n";
        let doc = PolicyDocument::from_toml(text, "t").unwrap();
        let at = t("2025-11-24T02:00:00Z");
        let a = res(ResourceKind::EbsVolume, "postgres-db", Some("rewapp"));
        let b = res(ResourceKind::EbsVolume, "db", Some("rewapp-postgres"));
        let alone = plan_scheduled(&doc, vec![a.clone()], at);
        assert_eq!(
            planned(&alone)[0].snapshot_id,
            "rempart-rewapp-postgres-db-20251124-0200"
        );
        let ds = plan_scheduled(&doc, vec![a, b], at);
        let ps = planned(&ds);
        assert_eq!(ps.len(), 2);
        assert_ne!(ps[0].snapshot_id, ps[1].snapshot_id);
        for p in ps {
            assert!(
                crate::naming::valid_snapshot_id(p.resource.kind, &p.snapshot_id),
                "{}",
                p.snapshot_id
            );
            let tags: BTreeMap<_, _> = p.tags.iter().cloned().collect();
            assert_eq!(tags[TAG_KEY], p.snapshot_id);
            assert_eq!(tags["Name"], p.snapshot_id);
        }
    }

    /// Proves: a resource whose snapshot could not carry its tags (an ARN
    /// that is no valid tag value) is refused with the reason, not
    /// snapshotted.
    #[test]
    fn a_resource_whose_tags_aws_would_refuse_is_refused() {
        let mut r = res(ResourceKind::RdsInstance, "db", Some("rewapp-postgres"));
        r.arn = format!("arn:aws:rds:eu-west-1:123456789012:db:{}", "d".repeat(300));
        let ds = plan_scheduled(&doc(), vec![r], t("2025-11-24T02:00:00Z"));
        assert!(
            matches!(&ds[0], Decision::Refused { reason, .. } if reason.contains("cannot be tagged") && reason.contains("rempart:source")),
            "{ds:?}"
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn kind() -> impl Strategy<Value = ResourceKind> {
            prop::sample::select(ResourceKind::ALL.to_vec())
        }

        /// A resource as AWS could list it (an AWS-style id and ARN), or
        /// with any id and ARN at all.
        fn resource() -> impl Strategy<Value = (ResourceKind, String, Option<String>)> {
            (
                kind(),
                prop_oneof![
                    "[a-z][a-z0-9]{0,9}(-[a-z0-9]{1,9}){0,5}",
                    "vol-[0-9a-f]{17}",
                    any::<String>(),
                    "[a-z0-9 _-]{100,300}",
                ],
                prop_oneof![
                    Just(None),
                    Just(Some(String::new())),
                    any::<String>().prop_map(Some)
                ],
            )
        }

        fn document(policy: &str, schedules: &[String]) -> PolicyDocument {
            let mut text = format!(
                "version = 1\n[policies.{policy}]\nkinds = [\"rds-instance\", \"aurora-cluster\", \"ebs-volume\", \"elasticache-redis\"]\nrpo = \"1d\"\n"
            );
            for s in schedules {
                text.push_str(&format!(
                    "[[policies.{policy}.schedules]]\nname = \"{s}\"\ncron = \"* * * * *\"\n"
                ));
            }
            text.push_str(&format!("[policies.{policy}.retention]\nkeep_last = 1\n"));
            PolicyDocument::from_toml(&text, "t").expect("a valid document")
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]

            /// Proves: for any policy document that loads (any valid policy
            /// name, up to 7 schedules of any valid name, all due), any
            /// resources (any kind, id and ARN: empty, any script, very
            /// long), any time (0 to 4e9 s) and any on-demand reason and
            /// requester, every snapshot the scheduler plans has a valid id
            /// for its kind and tags valid on every service; resources as
            /// AWS lists them are never refused for their tags; and no two
            /// planned snapshots of a kind share an id.
            #[test]
            fn every_planned_snapshot_has_a_valid_id_and_tags(
                policy in "[a-z](-?[a-z0-9]){0,15}",
                schedules in prop::collection::btree_set("[A-Za-z0-9_.-]{1,32}", 0..=7),
                resources in prop::collection::vec(resource(), 1..6),
                secs in 0i64..4_000_000_000,
                reason in any::<String>(),
                requested_by in any::<String>(),
            ) {
                let schedules: Vec<String> = schedules.into_iter().collect();
                let doc = document(&policy, &schedules);
                let at = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
                let rs: Vec<Resource> = resources
                    .iter()
                    .map(|(kind, id, arn)| Resource {
                        kind: *kind,
                        id: id.clone(),
                        arn: arn.clone().unwrap_or_else(|| format!("arn:aws:rds:eu-west-1:123456789012:db:{id}")),
                        region: "eu-west-1".into(),
                        tags: BTreeMap::from([(TAG_POLICY.to_string(), policy.clone())]),
                        aurora_cluster: None,
                        redis: None,
                        backups: None,
                        created: None,
                    })
                    .collect();
                let req = OnDemandRequest {
                    resources: vec![],
                    reason,
                    requested_by,
                    change_ref: Some("CHG-1".into()),
                    policy: None,
                };
                for ds in [plan_scheduled(&doc, rs.clone(), at), plan_on_demand(&doc, rs.clone(), &req, at)] {
                    let mut ids = std::collections::BTreeSet::new();
                    for d in &ds {
                        match d {
                            Decision::Snapshot(p) => {
                                prop_assert!(crate::naming::valid_snapshot_id(p.resource.kind, &p.snapshot_id), "{}", p.snapshot_id);
                                prop_assert!(crate::naming::check_tags(&p.tags).is_ok(), "{:?}", p.tags);
                                prop_assert!(ids.insert((p.resource.kind, p.snapshot_id.clone())), "{} twice", p.snapshot_id);
                            }
                            Decision::Refused { resource, reason, .. } => {
                                let aws_like = crate::naming::valid_tag_value(&resource.arn) && crate::naming::valid_tag_value(&resource.id);
                                prop_assert!(!aws_like, "{} refused: {}", resource.id, reason);
                            }
                            Decision::NotDue { .. } => prop_assert!(schedules.is_empty()),
                        }
                    }
                }
            }
        }
    }

    /// Proves: the run's digest counts every outcome per policy, lists the
    /// first 100 failures and counts the rest, and is a warning only when
    /// something failed.
    #[test]
    fn the_digest_counts_every_outcome_and_lists_the_first_failures() {
        let item = |policy: &str, id: usize| Item {
            kind: "rds-instance".into(),
            resource: format!("db-{id}"),
            policy: Some(policy.into()),
            snapshot_id: None,
            aws_id: None,
            tiers: vec![],
            reason: None,
            error: None,
        };
        let mut report = RunReport {
            trigger: "schedule".into(),
            created: (0..900).map(|i| item("a", i)).collect(),
            skipped: (0..3).map(|i| item("b", i)).collect(),
            ..Default::default()
        };
        let at = t("2025-11-24T02:00:00Z");
        let ok = digest_announcement(&report, "eu-west-1", at);
        assert_eq!(
            (ok.kind.as_str(), ok.severity),
            ("snapshot.digest", Severity::Info)
        );
        assert_eq!(ok.details["policies"]["a"]["created"], 900);
        assert_eq!(ok.details["policies"]["b"]["skipped"], 3);
        report.failed = (0..150).map(|i| item("a", i)).collect();
        let bad = digest_announcement(&report, "eu-west-1", at);
        assert_eq!(bad.severity, Severity::Warning);
        assert_eq!(bad.details["failed"], 150);
        assert_eq!(bad.details["failures"].as_array().map(Vec::len), Some(100));
        assert_eq!(bad.details["failures_not_listed"], 50);
        assert_eq!(bad.details["policies"]["a"]["failed"], 150);
        assert!(
            bad.summary.contains("900 created") && bad.summary.contains("150 failed"),
            "{}",
            bad.summary
        );
    }
}
