//! Coverage (pure): every resource of the kinds Rempart protects, found in
//! the regions it watches, classed as protected (under a policy of this
//! document), excluded (on purpose, with a reason an auditor can read) or
//! unprotected (a database nobody put under a policy: the most common way a
//! backup plan fails). The backup-auditor lists, calls [`classify`] and
//! announces what changed since its previous audit ([`changes`]);
//! `rempart status` shows the same classes.

use crate::kind::ResourceKind;
use crate::model::{Region, Resource};
use crate::tags::{TAG_DRILL, TAG_EXCLUDE_REASON, TAG_POLICY, TAG_POLICY_NONE, TAG_RESTORE_TEST};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The `[coverage]` section of the policy document.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    /// Whether the audit looks for unprotected resources at all (default on).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The kinds that must be covered (default: every kind Rempart
    /// protects). A kind left out is not listed for coverage (EBS volumes of
    /// stateless instances, say).
    #[serde(default = "all_kinds")]
    pub kinds: Vec<ResourceKind>,
    /// The regions searched (default: the region Rempart runs in and every
    /// DR region of the policies).
    #[serde(default)]
    pub regions: Option<Vec<Region>>,
    /// Resources left out on purpose, with the reason the report shows.
    #[serde(default)]
    pub ignore: Vec<IgnoreRule>,
}

fn yes() -> bool {
    true
}

fn all_kinds() -> Vec<ResourceKind> {
    ResourceKind::ALL.to_vec()
}

impl Default for Coverage {
    fn default() -> Self {
        Coverage {
            enabled: true,
            kinds: all_kinds(),
            regions: None,
            ignore: Vec::new(),
        }
    }
}

/// `[[coverage.ignore]]`: a selector of resources that need no backup.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IgnoreRule {
    /// `key=value` (that tag with that value) or `key` (the tag, any value).
    #[serde(default)]
    pub tag: Option<String>,
    /// A name pattern on the resource's identifier (`*` any run of
    /// characters, `?` one character): `dev-*`.
    #[serde(default)]
    pub name: Option<String>,
    /// The kinds the rule applies to (default: all).
    #[serde(default)]
    pub kinds: Option<Vec<ResourceKind>>,
    /// Why these resources need no backup (shown in the report).
    pub reason: String,
}

impl IgnoreRule {
    fn matches(&self, r: &Resource) -> bool {
        if self.kinds.as_ref().is_some_and(|k| !k.contains(&r.kind)) {
            return false;
        }
        let tag_ok = self.tag.as_deref().is_none_or(|t| match t.split_once('=') {
            Some((k, v)) => r.tags.get(k).is_some_and(|x| x == v),
            None => r.tags.contains_key(t),
        });
        let name_ok = self.name.as_deref().is_none_or(|p| wildcard(p, &r.id));
        tag_ok && name_ok
    }

    /// How the report names the rule: `tag env=dev`, `name dev-*`.
    pub fn selector(&self) -> String {
        let mut parts = Vec::new();
        if let Some(t) = &self.tag {
            parts.push(format!("tag {t}"));
        }
        if let Some(n) = &self.name {
            parts.push(format!("name {n}"));
        }
        if let Some(k) = &self.kinds {
            let k: Vec<&str> = k.iter().map(ResourceKind::as_str).collect();
            parts.push(format!("kinds {}", k.join(", ")));
        }
        parts.join(", ")
    }
}

impl Coverage {
    /// Checks the section; the error names the field.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let kinds: BTreeSet<_> = self.kinds.iter().collect();
        if kinds.len() != self.kinds.len() {
            return Err("coverage.kinds: a kind is listed twice".into());
        }
        if let Some(regions) = &self.regions {
            if regions.is_empty() {
                return Err(
                    "coverage.regions: list at least one region, or leave it out (the default: the primary and DR regions)"
                        .into(),
                );
            }
        }
        for (i, rule) in self.ignore.iter().enumerate() {
            let at = format!("coverage.ignore[{i}]");
            if rule.tag.is_none() && rule.name.is_none() {
                return Err(format!(
                    "{at}: give `tag` (key=value) or `name` (a pattern such as dev-*): a rule without either would ignore everything"
                ));
            }
            if rule
                .tag
                .as_deref()
                .is_some_and(|t| t.is_empty() || t.starts_with('='))
            {
                return Err(format!("{at}.tag: write `key=value` or `key`"));
            }
            if rule
                .name
                .as_deref()
                .is_some_and(|n| n.is_empty() || n == "*")
            {
                return Err(format!(
                    "{at}.name: `{}` would ignore every resource; name a pattern such as dev-*",
                    rule.name.as_deref().unwrap_or_default()
                ));
            }
            if rule.reason.trim().is_empty() {
                return Err(format!(
                    "{at}.reason: say why these resources need no backup (the report shows it to the auditor)"
                ));
            }
        }
        Ok(())
    }

    /// The regions searched: `regions`, or the primary and the DR regions.
    pub fn regions(&self, primary: &str, dr: &[String]) -> Vec<String> {
        match &self.regions {
            Some(r) => r.iter().map(|r| r.0.clone()).collect(),
            None => {
                let mut out = vec![primary.to_string()];
                for d in dr {
                    if !out.contains(d) {
                        out.push(d.clone());
                    }
                }
                out
            }
        }
    }
}

/// `*` matches any run of characters, `?` one character; the rest is
/// literal. Iterative, with one backtrack point (linear in practice).
pub fn wildcard(pattern: &str, s: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), s.chars().collect());
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// The class of one resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "class")]
pub enum Class {
    /// Under a policy of this document, in a region where Rempart runs.
    Protected { policy: String },
    /// Left out on purpose: `rempart:policy=none` with a
    /// `rempart:exclude-reason` tag, or a `[[coverage.ignore]]` rule.
    Excluded { reason: String, by: String },
    /// Nothing backs it up.
    Unprotected { reason: String },
}

/// One resource and its class.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Covered {
    pub kind: ResourceKind,
    pub id: String,
    pub arn: String,
    pub region: String,
    /// When AWS says it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
    /// Who or what made it, as its tags say (no CloudTrail look-up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
    #[serde(flatten)]
    pub class: Class,
}

impl Covered {
    /// The key of its incident and registry records: `<kind>#<region>#<id>`.
    pub fn key(&self) -> String {
        format!("{}#{}#{}", self.kind, self.region, self.id)
    }

    pub fn is_unprotected(&self) -> bool {
        matches!(self.class, Class::Unprotected { .. })
    }

    /// Seconds since its creation, when known.
    pub fn age_s(&self, now: DateTime<Utc>) -> Option<i64> {
        self.created.map(|c| (now - c).num_seconds().max(0))
    }
}

/// Tags that, by common convention, name who or what created a resource
/// (checked in this order; case-insensitive keys).
pub const CREATOR_TAGS: &[&str] = &[
    "created-by",
    "createdby",
    "creator",
    "owner",
    "team",
    "aws:cloudformation:stack-name",
    "managed-by",
    "managedby",
];

fn creator(tags: &BTreeMap<String, String>) -> Option<String> {
    CREATOR_TAGS.iter().find_map(|want| {
        tags.iter()
            .find(|(k, v)| k.eq_ignore_ascii_case(want) && !v.is_empty())
            .map(|(k, v)| format!("{k}={v}"))
    })
}

/// What the audit knows of the document: the policies and the kinds each
/// protects.
pub type PolicyKinds<'a> = BTreeMap<&'a str, &'a [ResourceKind]>;

/// Classes every resource of a required kind. `primary` is the region
/// Rempart runs (and snapshots) in: a resource tagged for a policy
/// elsewhere is not backed up by this deployment. Aurora cluster members
/// (covered through their cluster) and Rempart's own restore-test and drill
/// copies are left out. Sorted by class (unprotected first), kind, region,
/// id.
pub fn classify(
    cfg: &Coverage,
    policies: &PolicyKinds,
    primary: &str,
    resources: &[Resource],
) -> Vec<Covered> {
    let mut out: Vec<Covered> = resources
        .iter()
        .filter(|r| cfg.kinds.contains(&r.kind))
        .filter(|r| r.aurora_cluster.is_none())
        .filter(|r| !r.tags.contains_key(TAG_RESTORE_TEST) && !r.tags.contains_key(TAG_DRILL))
        .map(|r| Covered {
            kind: r.kind,
            id: r.id.clone(),
            arn: r.arn.clone(),
            region: r.region.clone(),
            created: r.created,
            creator: creator(&r.tags),
            class: class_of(cfg, policies, primary, r),
        })
        .collect();
    let rank = |c: &Class| match c {
        Class::Unprotected { .. } => 0,
        Class::Excluded { .. } => 1,
        Class::Protected { .. } => 2,
    };
    out.sort_by(|a, b| {
        (rank(&a.class), a.kind, &a.region, &a.id).cmp(&(rank(&b.class), b.kind, &b.region, &b.id))
    });
    out
}

fn class_of(cfg: &Coverage, policies: &PolicyKinds, primary: &str, r: &Resource) -> Class {
    match r.tags.get(TAG_POLICY).map(String::as_str) {
        Some(TAG_POLICY_NONE) => match r.tags.get(TAG_EXCLUDE_REASON).map(|s| s.trim()) {
            Some(reason) if !reason.is_empty() => Class::Excluded {
                reason: reason.to_string(),
                by: format!("tag {TAG_POLICY}={TAG_POLICY_NONE}"),
            },
            _ => Class::Unprotected {
                reason: format!(
                    "tagged {TAG_POLICY}={TAG_POLICY_NONE} without a {TAG_EXCLUDE_REASON} tag: say why it needs no backup"
                ),
            },
        },
        Some(p) => match policies.get(p) {
            None => Class::Unprotected {
                reason: format!(
                    "tagged {TAG_POLICY}={p}, a policy the policy document does not define"
                ),
            },
            Some(kinds) if !kinds.contains(&r.kind) => Class::Unprotected {
                reason: format!("policy `{p}` does not protect the kind {}", r.kind),
            },
            Some(_) if r.region != primary => Class::Unprotected {
                reason: format!(
                    "tagged {TAG_POLICY}={p} in {}, where this Rempart takes no snapshots (it runs in {primary})",
                    r.region
                ),
            },
            Some(_) => Class::Protected {
                policy: p.to_string(),
            },
        },
        None => match cfg.ignore.iter().find(|rule| rule.matches(r)) {
            Some(rule) => Class::Excluded {
                reason: rule.reason.clone(),
                by: format!("coverage.ignore: {}", rule.selector()),
            },
            None => Class::Unprotected {
                reason: format!("no {TAG_POLICY} tag: no policy backs it up"),
            },
        },
    }
}

/// What an audit changed against the previous one's unprotected set
/// (resource key to its first sighting).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Unprotected now, not before: announce them.
    pub newly_unprotected: Vec<String>,
    /// Unprotected before, no longer (now protected or excluded, with the
    /// class; `None` when the resource is gone).
    pub cleared: Vec<(String, Option<Class>)>,
    /// The unprotected set to keep for the next audit.
    pub unprotected: BTreeMap<String, DateTime<Utc>>,
}

/// Compares this audit's classes with the previous unprotected set. Only the
/// searched `regions` are compared: a region left out of this audit keeps
/// its entries.
pub fn changes(
    previous: &BTreeMap<String, DateTime<Utc>>,
    now_classes: &[Covered],
    regions: &[String],
    now: DateTime<Utc>,
) -> Changes {
    let by_key: BTreeMap<String, &Covered> = now_classes.iter().map(|c| (c.key(), c)).collect();
    let in_scope = |key: &str| {
        key.split('#')
            .nth(1)
            .is_some_and(|r| regions.iter().any(|x| x == r))
    };
    let mut out = Changes::default();
    for (key, since) in previous {
        if !in_scope(key) {
            out.unprotected.insert(key.clone(), *since);
            continue;
        }
        match by_key.get(key) {
            Some(c) if c.is_unprotected() => {
                out.unprotected.insert(key.clone(), *since);
            }
            Some(c) => out.cleared.push((key.clone(), Some(c.class.clone()))),
            None => out.cleared.push((key.clone(), None)),
        }
    }
    for c in now_classes.iter().filter(|c| c.is_unprotected()) {
        let key = c.key();
        if !previous.contains_key(&key) {
            out.newly_unprotected.push(key.clone());
            out.unprotected.insert(key, now);
        }
    }
    out
}

/// `[coverage]` turned off: every resource still announced unprotected is
/// cleared (nobody checks it any more), so that its incident resolves, and
/// nothing is kept for the next audit.
pub fn switched_off(previous: &BTreeMap<String, DateTime<Utc>>) -> Changes {
    Changes {
        cleared: previous.keys().map(|k| (k.clone(), None)).collect(),
        ..Changes::default()
    }
}

/// Why a resource's coverage incident ends when coverage is turned off.
pub fn off_message(key: &str) -> String {
    format!(
        "{} is no longer checked: [coverage] is off in the policy",
        what(key)
    )
}

fn what(key: &str) -> String {
    match key.splitn(3, '#').collect::<Vec<_>>()[..] {
        [kind, region, id] => format!("{kind} {id} in {region}"),
        _ => key.to_string(),
    }
}

/// Counts per region: (protected, excluded, unprotected).
pub fn counts(classes: &[Covered], regions: &[String]) -> BTreeMap<String, (usize, usize, usize)> {
    let mut out: BTreeMap<String, (usize, usize, usize)> =
        regions.iter().map(|r| (r.clone(), (0, 0, 0))).collect();
    for c in classes {
        let e = out.entry(c.region.clone()).or_default();
        match c.class {
            Class::Protected { .. } => e.0 += 1,
            Class::Excluded { .. } => e.1 += 1,
            Class::Unprotected { .. } => e.2 += 1,
        }
    }
    out
}

/// The most excluded resources a coverage record lists (the rest are
/// counted): the record stays far under DynamoDB's item limit whatever the
/// estate.
pub const LISTED_EXCLUDED_MAX: usize = 300;

/// The `details` of a `coverage.audit` record: the counts per region, the
/// unprotected resources (all of them) with the time each was first seen
/// unprotected, and the excluded ones with their reasons (at most
/// [`LISTED_EXCLUDED_MAX`]). The next audit reads `unprotected` back
/// ([`state_of`]); the report shows the rest.
pub fn record_details(
    classes: &[Covered],
    regions: &[String],
    state: &BTreeMap<String, DateTime<Utc>>,
) -> Value {
    let unprotected: Vec<Value> = classes
        .iter()
        .filter(|c| c.is_unprotected())
        .map(|c| {
            let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
            if let (Some(o), Some(since)) = (v.as_object_mut(), state.get(&c.key())) {
                o.insert("since".into(), Value::String(crate::time::rfc3339(*since)));
            }
            v
        })
        .collect();
    let excluded: Vec<&Covered> = classes
        .iter()
        .filter(|c| matches!(c.class, Class::Excluded { .. }))
        .collect();
    let counts: BTreeMap<String, Value> = counts(classes, regions)
        .into_iter()
        .map(|(r, (p, e, u))| {
            (
                r,
                serde_json::json!({"protected": p, "excluded": e, "unprotected": u}),
            )
        })
        .collect();
    serde_json::json!({
        "regions": regions,
        "counts": counts,
        "unprotected": unprotected,
        "excluded": excluded.iter().take(LISTED_EXCLUDED_MAX).collect::<Vec<_>>(),
        "excluded_not_listed": excluded.len().saturating_sub(LISTED_EXCLUDED_MAX),
        "state": state.iter().map(|(k, t)| (k.clone(), Value::String(crate::time::rfc3339(*t)))).collect::<serde_json::Map<_, _>>(),
    })
}

/// The unprotected set a `coverage.audit` record's details kept (empty for
/// anything else).
pub fn state_of(details: &Value) -> BTreeMap<String, DateTime<Utc>> {
    details
        .get("state")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let t = DateTime::parse_from_rfc3339(v.as_str()?).ok()?;
                    Some((k.clone(), t.with_timezone(&Utc)))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The resources of a `coverage.audit` record's details, read back (for
/// the report and `rempart status`).
pub fn listed(details: &Value, field: &str) -> Vec<Covered> {
    details
        .get(field)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| serde_json::from_value(v.clone()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The one-line message of an unprotected resource: what, where, why,
/// since when and by whom, and what to do.
pub fn unprotected_message(c: &Covered, now: DateTime<Utc>) -> String {
    let reason = match &c.class {
        Class::Unprotected { reason } => reason.as_str(),
        _ => "",
    };
    let mut msg = format!(
        "{} {} in {} is not backed up: {reason}",
        c.kind, c.id, c.region
    );
    if let Some(created) = c.created {
        let age = crate::time::human((now - created).num_seconds().max(0));
        msg.push_str(&format!(
            "; created {} ({age} ago)",
            created.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    if let Some(who) = &c.creator {
        msg.push_str(&format!(", {who}"));
    }
    msg.push_str(&format!(
        ". Tag it {TAG_POLICY}=<policy> to back it up, or {TAG_POLICY}={TAG_POLICY_NONE} with {TAG_EXCLUDE_REASON}=<why> to leave it out on purpose."
    ));
    msg
}

/// The message when a resource is no longer unprotected.
pub fn cleared_message(key: &str, now_class: Option<&Class>) -> String {
    let what = what(key);
    match now_class {
        Some(Class::Protected { policy }) => format!("{what} is now under policy `{policy}`"),
        Some(Class::Excluded { reason, .. }) => {
            format!("{what} is now excluded on purpose: {reason}")
        }
        _ => format!("{what} is gone (no longer listed)"),
    }
}

/// EMF lines: the unprotected resources per searched region (resource
/// `coverage`, `coverage@<region>` outside the primary region), zero
/// included, so that the graph falls back to 0 when they are fixed.
pub fn emf_lines(
    classes: &[Covered],
    regions: &[String],
    primary: &str,
    now: DateTime<Utc>,
) -> Vec<Value> {
    counts(classes, regions)
        .into_iter()
        .map(|(region, (_, _, u))| {
            let name = if region == primary {
                "coverage".to_string()
            } else {
                format!("coverage@{region}")
            };
            crate::metrics::emf(&name, now, &[(crate::metrics::UNPROTECTED, u as f64)])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    fn res(kind: ResourceKind, id: &str, region: &str, tags: &[(&str, &str)]) -> Resource {
        Resource {
            kind,
            id: id.into(),
            arn: format!("arn:aws:x:{region}:1:{id}"),
            region: region.into(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            aurora_cluster: None,
            redis: None,
            backups: None,
            created: Some(t("2025-11-01T10:00:00Z")),
        }
    }

    const PG: &[ResourceKind] = &[ResourceKind::RdsInstance, ResourceKind::AuroraCluster];

    fn policies() -> PolicyKinds<'static> {
        BTreeMap::from([("pg", PG)])
    }

    fn class(c: &Coverage, r: &Resource) -> Class {
        let v = classify(c, &policies(), "eu-west-1", std::slice::from_ref(r));
        v.into_iter().next().expect("classed").class
    }

    /// Proves: a database under a policy of the document, in the region
    /// Rempart runs in, is protected; untagged, it is unprotected.
    /// Proves: turning coverage off clears every resource still announced
    /// unprotected, with a message that says why, and keeps nothing.
    #[test]
    fn switching_coverage_off_clears_what_was_unprotected() {
        let t: DateTime<Utc> = "2025-11-23T06:00:00Z".parse().expect("time");
        let previous = BTreeMap::from([
            ("rds-instance#eu-west-1#db".to_string(), t),
            ("ebs-volume#eu-central-1#vol-1".to_string(), t),
        ]);
        let ch = switched_off(&previous);
        assert_eq!(ch.cleared.len(), 2);
        assert!(ch.newly_unprotected.is_empty() && ch.unprotected.is_empty());
        assert_eq!(
            off_message("rds-instance#eu-west-1#db"),
            "rds-instance db in eu-west-1 is no longer checked: [coverage] is off in the policy"
        );
    }

    #[test]
    fn tagged_is_protected_untagged_is_not() {
        let c = Coverage::default();
        let db = res(
            ResourceKind::RdsInstance,
            "prod",
            "eu-west-1",
            &[(TAG_POLICY, "pg")],
        );
        assert_eq!(
            class(&c, &db),
            Class::Protected {
                policy: "pg".into()
            }
        );
        let bare = res(ResourceKind::RdsInstance, "billing-db", "eu-west-1", &[]);
        assert!(
            matches!(class(&c, &bare), Class::Unprotected { reason } if reason.contains("no rempart:policy tag"))
        );
    }

    /// Proves: a tag naming no policy, a policy that does not protect the
    /// kind, and a tag in a region this deployment does not snapshot each
    /// leave the resource unprotected, with a reason that says which.
    #[test]
    fn a_tag_alone_does_not_protect() {
        let c = Coverage::default();
        let cases = [
            (
                res(
                    ResourceKind::RdsInstance,
                    "a",
                    "eu-west-1",
                    &[(TAG_POLICY, "nope")],
                ),
                "does not define",
            ),
            (
                res(
                    ResourceKind::EbsVolume,
                    "vol-1",
                    "eu-west-1",
                    &[(TAG_POLICY, "pg")],
                ),
                "does not protect the kind ebs-volume",
            ),
            (
                res(
                    ResourceKind::RdsInstance,
                    "b",
                    "eu-central-1",
                    &[(TAG_POLICY, "pg")],
                ),
                "in eu-central-1, where this Rempart takes no snapshots",
            ),
        ];
        for (r, want) in cases {
            match class(&c, &r) {
                Class::Unprotected { reason } => assert!(reason.contains(want), "{reason}"),
                other => panic!("{}: {other:?}", r.id),
            }
        }
    }

    /// Proves: `rempart:policy=none` excludes only with a reason; without
    /// one the resource stays unprotected, and the message says what to add.
    #[test]
    fn exclusion_by_tag_needs_a_reason() {
        let c = Coverage::default();
        let with = res(
            ResourceKind::ElasticacheRedis,
            "sessions",
            "eu-west-1",
            &[
                (TAG_POLICY, "none"),
                (TAG_EXCLUDE_REASON, "cache rebuilt from the database"),
            ],
        );
        assert_eq!(
            class(&c, &with),
            Class::Excluded {
                reason: "cache rebuilt from the database".into(),
                by: "tag rempart:policy=none".into()
            }
        );
        let without = res(
            ResourceKind::ElasticacheRedis,
            "s2",
            "eu-west-1",
            &[(TAG_POLICY, "none"), (TAG_EXCLUDE_REASON, " ")],
        );
        assert!(
            matches!(class(&c, &without), Class::Unprotected { reason } if reason.contains("without a rempart:exclude-reason"))
        );
    }

    /// Proves: an ignore rule by tag or by name pattern excludes an
    /// untagged resource with the rule's reason, a rule limited to kinds
    /// spares other kinds, and an explicit policy tag wins over a rule.
    #[test]
    fn ignore_rules_select_by_tag_name_and_kind() {
        let c = Coverage {
            ignore: vec![
                IgnoreRule {
                    tag: Some("env=dev".into()),
                    name: None,
                    kinds: None,
                    reason: "dev data is rebuilt from fixtures".into(),
                },
                IgnoreRule {
                    tag: None,
                    name: Some("tmp-*".into()),
                    kinds: Some(vec![ResourceKind::EbsVolume]),
                    reason: "scratch volumes".into(),
                },
            ],
            ..Coverage::default()
        };
        let dev = res(
            ResourceKind::RdsInstance,
            "dev-db",
            "eu-west-1",
            &[("env", "dev")],
        );
        assert!(
            matches!(class(&c, &dev), Class::Excluded { reason, by } if reason.contains("fixtures") && by == "coverage.ignore: tag env=dev")
        );
        let staging = res(
            ResourceKind::RdsInstance,
            "stg-db",
            "eu-west-1",
            &[("env", "staging")],
        );
        assert!(matches!(class(&c, &staging), Class::Unprotected { .. }));
        let scratch = res(ResourceKind::EbsVolume, "tmp-build", "eu-west-1", &[]);
        assert!(matches!(class(&c, &scratch), Class::Excluded { .. }));
        let db_named_tmp = res(ResourceKind::RdsInstance, "tmp-build", "eu-west-1", &[]);
        assert!(matches!(
            class(&c, &db_named_tmp),
            Class::Unprotected { .. }
        ));
        let tagged_dev = res(
            ResourceKind::RdsInstance,
            "dev-prod",
            "eu-west-1",
            &[("env", "dev"), (TAG_POLICY, "pg")],
        );
        assert_eq!(
            class(&c, &tagged_dev),
            Class::Protected {
                policy: "pg".into()
            }
        );
    }

    /// Proves: kinds left out of `coverage.kinds`, Aurora cluster members
    /// and Rempart's own restore-test and drill copies are not listed; the
    /// unprotected come first; the creator comes from a conventional tag.
    #[test]
    fn what_is_listed_and_in_which_order() {
        let c = Coverage {
            kinds: vec![ResourceKind::RdsInstance, ResourceKind::AuroraCluster],
            ..Coverage::default()
        };
        let mut member = res(ResourceKind::RdsInstance, "aurora-1", "eu-west-1", &[]);
        member.aurora_cluster = Some("aurora".into());
        let list = [
            res(
                ResourceKind::RdsInstance,
                "prod",
                "eu-west-1",
                &[(TAG_POLICY, "pg")],
            ),
            res(ResourceKind::EbsVolume, "vol-1", "eu-west-1", &[]),
            member,
            res(
                ResourceKind::RdsInstance,
                "rempart-rt-prod-1",
                "eu-west-1",
                &[(TAG_RESTORE_TEST, "x"), (TAG_POLICY, "pg")],
            ),
            res(
                ResourceKind::RdsInstance,
                "rempart-rt-prod-2",
                "eu-central-1",
                &[(TAG_DRILL, "eu-west-1")],
            ),
            res(
                ResourceKind::AuroraCluster,
                "billing",
                "eu-west-1",
                &[("Owner", "alice")],
            ),
        ];
        let v = classify(&c, &policies(), "eu-west-1", &list);
        let ids: Vec<&str> = v.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["billing", "prod"]);
        assert_eq!(v[0].creator.as_deref(), Some("Owner=alice"));
        assert_eq!(v[0].age_s(t("2025-11-02T10:00:00Z")), Some(86_400));
    }

    /// Proves: the diff announces a resource once when it becomes
    /// unprotected, keeps its first sighting while it stays so, clears it
    /// (with its new class, or gone) when it is tagged, excluded or
    /// deleted, and leaves the regions this audit did not search alone.
    #[test]
    fn changes_announce_once_and_clear() {
        let c = Coverage::default();
        let regions = vec!["eu-west-1".to_string()];
        let now = t("2025-11-03T10:00:00Z");
        let before = BTreeMap::from([
            (
                "rds-instance#eu-west-1#billing".to_string(),
                t("2025-11-02T10:00:00Z"),
            ),
            (
                "rds-instance#eu-west-1#tagged-since".to_string(),
                t("2025-11-02T10:00:00Z"),
            ),
            (
                "rds-instance#eu-west-1#deleted".to_string(),
                t("2025-11-02T10:00:00Z"),
            ),
            (
                "rds-instance#us-east-1#elsewhere".to_string(),
                t("2025-11-02T10:00:00Z"),
            ),
        ]);
        let list = [
            res(ResourceKind::RdsInstance, "billing", "eu-west-1", &[]),
            res(
                ResourceKind::RdsInstance,
                "tagged-since",
                "eu-west-1",
                &[(TAG_POLICY, "pg")],
            ),
            res(ResourceKind::RdsInstance, "new-db", "eu-west-1", &[]),
        ];
        let classes = classify(&c, &policies(), "eu-west-1", &list);
        let ch = changes(&before, &classes, &regions, now);
        assert_eq!(ch.newly_unprotected, ["rds-instance#eu-west-1#new-db"]);
        assert_eq!(
            ch.cleared,
            [
                ("rds-instance#eu-west-1#deleted".to_string(), None),
                (
                    "rds-instance#eu-west-1#tagged-since".to_string(),
                    Some(Class::Protected {
                        policy: "pg".into()
                    })
                ),
            ]
        );
        assert_eq!(
            ch.unprotected.get("rds-instance#eu-west-1#billing"),
            Some(&t("2025-11-02T10:00:00Z"))
        );
        assert_eq!(
            ch.unprotected.get("rds-instance#eu-west-1#new-db"),
            Some(&now)
        );
        assert!(ch
            .unprotected
            .contains_key("rds-instance#us-east-1#elsewhere"));
        // The same audit again (a redelivered schedule) changes nothing.
        let again = changes(&ch.unprotected, &classes, &regions, now);
        assert!(again.newly_unprotected.is_empty() && again.cleared.is_empty());
        assert_eq!(again.unprotected, ch.unprotected);
    }

    /// Proves: the section's checks refuse a rule that would ignore
    /// everything, a rule without a reason, a kind twice and an empty region list.
    #[test]
    fn validation_refuses_rules_that_hide_everything() {
        let rule = |tag: Option<&str>, name: Option<&str>, reason: &str| IgnoreRule {
            tag: tag.map(str::to_string),
            name: name.map(str::to_string),
            kinds: None,
            reason: reason.into(),
        };
        let bad = [
            (vec![rule(None, None, "x")], "give `tag`"),
            (
                vec![rule(None, Some("*"), "x")],
                "would ignore every resource",
            ),
            (vec![rule(Some("env=dev"), None, " ")], "say why"),
            (vec![rule(Some("=dev"), None, "x")], "key=value"),
        ];
        for (ignore, want) in bad {
            let c = Coverage {
                ignore,
                ..Coverage::default()
            };
            let e = c.validate().expect_err("refused");
            assert!(e.contains(want), "{e}");
        }
        let twice = Coverage {
            kinds: vec![ResourceKind::EbsVolume, ResourceKind::EbsVolume],
            ..Coverage::default()
        };
        assert!(twice.validate().is_err());
        let none = Coverage {
            regions: Some(vec![]),
            ..Coverage::default()
        };
        assert!(none
            .validate()
            .expect_err("refused")
            .contains("at least one region"));
        assert!(Coverage::default().validate().is_ok());
    }

    /// Proves: the wildcard matcher on fixed cases (anchored at both ends).
    #[test]
    fn wildcard_cases() {
        for (p, s, want) in [
            ("dev-*", "dev-db", true),
            ("dev-*", "prod-dev-db", false),
            ("*-dev", "db-dev", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*db*", "billing-db-2", true),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("**", "", true),
        ] {
            assert_eq!(wildcard(p, s), want, "{p} ~ {s}");
        }
    }

    /// Proves: the message names the resource, its region, the reason, its
    /// creation and creator, and both ways to fix it; the cleared message
    /// says what changed.
    #[test]
    fn messages_say_what_and_what_to_do() {
        let c = Coverage::default();
        let r = res(
            ResourceKind::RdsInstance,
            "billing-db",
            "eu-west-1",
            &[("created-by", "bob")],
        );
        let v = classify(&c, &policies(), "eu-west-1", &[r]);
        let m = unprotected_message(&v[0], t("2025-11-08T10:00:00Z"));
        assert_eq!(
            m,
            "rds-instance billing-db in eu-west-1 is not backed up: no rempart:policy tag: no policy backs it up; created 2025-11-01 10:00 UTC (7d ago), created-by=bob. Tag it rempart:policy=<policy> to back it up, or rempart:policy=none with rempart:exclude-reason=<why> to leave it out on purpose."
        );
        assert_eq!(
            cleared_message(
                "rds-instance#eu-west-1#billing-db",
                Some(&Class::Protected {
                    policy: "pg".into()
                })
            ),
            "rds-instance billing-db in eu-west-1 is now under policy `pg`"
        );
        assert_eq!(
            cleared_message("ebs-volume#eu-west-1#vol-1", None),
            "ebs-volume vol-1 in eu-west-1 is gone (no longer listed)"
        );
    }

    /// Proves: the record's details carry the state the next audit reads
    /// back unchanged, the counts per region (zero for a clean region), and
    /// each unprotected resource with its first sighting.
    #[test]
    fn record_details_round_trip_the_state() {
        let c = Coverage::default();
        let regions = vec!["eu-west-1".to_string(), "eu-central-1".to_string()];
        let list = [
            res(ResourceKind::RdsInstance, "billing", "eu-west-1", &[]),
            res(
                ResourceKind::RdsInstance,
                "prod",
                "eu-west-1",
                &[(TAG_POLICY, "pg")],
            ),
        ];
        let classes = classify(&c, &policies(), "eu-west-1", &list);
        let ch = changes(
            &BTreeMap::new(),
            &classes,
            &regions,
            t("2025-11-03T10:00:00Z"),
        );
        let d = record_details(&classes, &regions, &ch.unprotected);
        assert_eq!(state_of(&d), ch.unprotected);
        assert_eq!(
            d["counts"]["eu-west-1"],
            serde_json::json!({"protected": 1, "excluded": 0, "unprotected": 1})
        );
        assert_eq!(d["counts"]["eu-central-1"]["unprotected"], 0);
        let back = listed(&d, "unprotected");
        assert_eq!(back, vec![classes[0].clone()]);
        assert_eq!(d["unprotected"][0]["since"], "2025-11-03T10:00:00Z");
        let lines = emf_lines(&classes, &regions, "eu-west-1", t("2025-11-03T10:00:00Z"));
        let by: Vec<(String, i64)> = lines
            .iter()
            .map(|l| {
                (
                    l["Resource"].as_str().unwrap_or("").to_string(),
                    l["UnprotectedResources"].as_i64().unwrap_or(-1),
                )
            })
            .collect();
        assert_eq!(
            by,
            [
                ("coverage@eu-central-1".to_string(), 0),
                ("coverage".to_string(), 1)
            ]
        );
    }

    proptest! {
        /// Proves: `*x*` matches exactly the strings containing x, and a
        /// pattern without wildcards matches only itself.
        #[test]
        fn wildcard_agrees_with_contains(s in "[a-c-]{0,12}", x in "[a-c]{1,3}") {
            prop_assert_eq!(wildcard(&format!("*{x}*"), &s), s.contains(&x));
            prop_assert_eq!(wildcard(&x, &s), s == x);
        }
    }
}
