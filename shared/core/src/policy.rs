//! The policy document: one TOML file that declares named policies.
//!
//! Parsing rejects unknown fields and bad values with the line and the
//! reason (the TOML parser reports the position of the offending value; the
//! value types here validate themselves while being parsed). Rules that span
//! several fields are checked afterwards and name the policy and field.

use crate::cron::Cron;
use crate::duration::{serde_via_str, ResticDuration, Span};
use crate::error::{Error, Result};
use crate::kind::ResourceKind;
use crate::model::{Region, Tier};
use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

/// The environment variable that names the policy document: a file path, or
/// `ssm:<parameter name>` for an SSM Parameter Store parameter.
pub const POLICY_ENV: &str = "REMPART_POLICY";

/// A whole policy document.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// Document format version; must be 1.
    pub version: u32,
    /// Default time zone for schedules and retention (IANA name). UTC if absent.
    #[serde(default)]
    pub timezone: TimeZone,
    pub policies: BTreeMap<PolicyName, Policy>,
    /// S3 backup buckets whose versioning and lifecycle Rempart enforces.
    #[serde(default)]
    pub buckets: Vec<crate::buckets::BucketRule>,
    /// Who hears what in Slack (the slack-notifier).
    #[serde(default)]
    pub notifications: Notifications,
    /// Incident classification, deadlines and escalation (the
    /// incident-escalator).
    #[serde(default)]
    pub incidents: crate::incident::IncidentPolicy,
    /// Monthly restore tests (the restore-tester).
    #[serde(default)]
    pub restore_tests: Option<crate::restore::RestoreTests>,
    /// DR drills: the DR copies restored in their DR region (the
    /// restore-tester deployed there).
    #[serde(default)]
    pub drills: Option<crate::restore::Drills>,
    /// Multi-AZ failover drills (the restore-tester, opt-in).
    #[serde(default)]
    pub failover_drills: Option<crate::restore::FailoverDrills>,
    /// Which resources must be under a policy, and which are left out on
    /// purpose (the backup-auditor's coverage audit).
    #[serde(default)]
    pub coverage: crate::coverage::Coverage,
    /// Thresholds of the CloudWatch alarms every protected resource gets
    /// (the backup-auditor keeps them in step). None: no alarms.
    #[serde(default)]
    pub monitoring: Option<crate::monitoring::Monitoring>,
}

/// Slack routing: which announcements go to which channel.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    /// Language of the user-facing crisis templates: `fr` or `en` (default).
    #[serde(default)]
    pub language: Language,
    /// Where a warning or critical message that matches no route goes:
    /// never silence. Default `#ops-alerts`.
    #[serde(default = "default_channel")]
    pub default_channel: String,
    #[serde(default)]
    pub routes: Vec<Route>,
}

impl Default for Notifications {
    fn default() -> Self {
        Notifications {
            language: Language::default(),
            default_channel: default_channel(),
            routes: Vec::new(),
        }
    }
}

fn default_channel() -> String {
    "#ops-alerts".into()
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    En,
    Fr,
}

/// One route: messages of these severities and kinds go to `channel`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// `#channel` (a webhook for it, or the bot, must exist in the secret).
    pub channel: String,
    /// Who reads it (free text, shown in the README's table): `ops`, `crisis`…
    #[serde(default)]
    pub audience: Option<String>,
    /// Default `warning` and `critical`. `info` stays in the log unless a
    /// route lists it (info is for the log).
    #[serde(default = "warning_and_up")]
    pub severities: Vec<crate::announce::Severity>,
    /// Kind prefixes (`copy.`, `incident.`, `retention.digest`); empty: all.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Add to `incident.opened` and `incident.resolved` messages in this
    /// channel the user-facing crisis message (service disruption, service
    /// restored) in the
    /// document's `language`, ready to copy to the users' channels.
    #[serde(default)]
    pub crisis_template: bool,
}

fn warning_and_up() -> Vec<crate::announce::Severity> {
    vec![
        crate::announce::Severity::Warning,
        crate::announce::Severity::Critical,
    ]
}

/// A named policy: what to protect, when, for how long, and where to copy it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default)]
    pub description: String,
    /// The resource kinds this policy may be applied to.
    pub kinds: Vec<ResourceKind>,
    /// When snapshots are taken. May be empty for a policy used only on demand.
    #[serde(default)]
    pub schedules: Vec<Schedule>,
    pub retention: Retention,
    /// Recovery point objective: the newest snapshot must never be older.
    pub rpo: Span,
    /// Recovery time objective: a restore must finish within it.
    #[serde(default)]
    pub rto: Option<Span>,
    /// Overrides the document's time zone.
    #[serde(default)]
    pub timezone: Option<TimeZone>,
    /// Disaster-recovery regions, each with the KMS key that copies are
    /// re-encrypted with.
    #[serde(default)]
    pub dr: Vec<DrTarget>,
    /// Isolated backup accounts (air-gapped copies): `[[policies.<name>.vault]]`.
    #[serde(default)]
    pub vault: Vec<Vault>,
    /// RDS instances and Aurora clusters: the point-in-time recovery the
    /// policy relies on (automated backups), which the backup-auditor checks.
    #[serde(default)]
    pub pitr: Option<Pitr>,
    /// ElastiCache Redis only: the S3 bucket of the primary region that
    /// snapshots are exported to before they are copied to each DR region's
    /// `bucket` (ElastiCache snapshots cannot be copied across regions).
    #[serde(default)]
    pub export_bucket: Option<String>,
}

/// Point-in-time recovery of RDS instances and Aurora clusters (automated
/// backups): what the policy asks of each protected database.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Pitr {
    /// Days of automated backups RDS must keep (`BackupRetentionPeriod`,
    /// 1-35; the example policy: 35).
    pub retention_days: u32,
    /// The point-in-time RPO: `LatestRestorableTime` may lag the audit by
    /// at most this (the example policy: 5 min).
    pub target: Span,
    /// The daily backup window RDS must use (`PreferredBackupWindow`,
    /// `hh:mm-hh:mm` UTC), when the policy names one.
    #[serde(default)]
    pub backup_window: Option<String>,
}

impl Pitr {
    fn validate(&self, at: &str) -> std::result::Result<(), String> {
        if !(1..=35).contains(&self.retention_days) {
            return Err(format!(
                "{at}.retention_days: {} is not an RDS backup retention (1 to 35 days)",
                self.retention_days
            ));
        }
        if self.target.seconds() <= 0 {
            return Err(format!("{at}.target: must be positive"));
        }
        if let Some(w) = &self.backup_window {
            let ok = w.len() == 11
                && w.as_bytes()[5] == b'-'
                && [&w[..5], &w[6..]]
                    .iter()
                    .all(|t| chrono::NaiveTime::parse_from_str(t, "%H:%M").is_ok());
            if !ok {
                return Err(format!(
                    "{at}.backup_window: `{w}` is not `hh:mm-hh:mm` (UTC), as RDS writes it"
                ));
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Short name, unique in the policy (`daily`, `weekly-full`).
    pub name: String,
    /// Five-field cron in the policy's time zone: `0 2 * * *`.
    pub cron: Cron,
    /// Tiers the runs of this schedule may serve. A run serves a tier when it
    /// is the schedule's first run in that period (hour, day, ISO week, month,
    /// year). Default: all of hourly, daily, weekly, monthly, yearly.
    #[serde(default = "all_scheduled_tiers")]
    pub tiers: Vec<Tier>,
}

fn all_scheduled_tiers() -> Vec<Tier> {
    Tier::SCHEDULED.to_vec()
}

/// Retention in the vocabulary of `restic forget`. Counts: -1 = unlimited.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    pub keep_last: Option<KeepCount>,
    pub keep_hourly: Option<KeepCount>,
    pub keep_daily: Option<KeepCount>,
    pub keep_weekly: Option<KeepCount>,
    pub keep_monthly: Option<KeepCount>,
    pub keep_yearly: Option<KeepCount>,
    pub keep_within: Option<ResticDuration>,
    pub keep_within_hourly: Option<ResticDuration>,
    pub keep_within_daily: Option<ResticDuration>,
    pub keep_within_weekly: Option<ResticDuration>,
    pub keep_within_monthly: Option<ResticDuration>,
    pub keep_within_yearly: Option<ResticDuration>,
    /// A snapshot carrying all tags of any one list is kept (legal hold).
    /// Tags are `key` (present) or `key=value`.
    #[serde(default)]
    pub keep_tags: Vec<Vec<String>>,
    /// Delay between marking a snapshot for deletion and deleting it.
    #[serde(default)]
    pub grace_period: Option<Span>,
}

impl Retention {
    /// Whether any rule keeps anything. `restic forget` refuses an empty
    /// policy; so does Rempart, since it would delete everything it may.
    pub fn keeps_something(&self) -> bool {
        [
            self.keep_last,
            self.keep_hourly,
            self.keep_daily,
            self.keep_weekly,
            self.keep_monthly,
            self.keep_yearly,
        ]
        .iter()
        .any(|c| matches!(c, Some(k) if k.0 != 0))
            || [
                self.keep_within,
                self.keep_within_hourly,
                self.keep_within_daily,
                self.keep_within_weekly,
                self.keep_within_monthly,
                self.keep_within_yearly,
            ]
            .iter()
            .any(|d| matches!(d, Some(d) if !d.is_zero()))
            || !self.keep_tags.is_empty()
    }
}

/// A keep count: a non-negative number, or -1 for unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct KeepCount(pub i64);

impl KeepCount {
    pub fn is_unlimited(&self) -> bool {
        self.0 == -1
    }
}

impl<'de> Deserialize<'de> for KeepCount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        if n < -1 {
            return Err(serde::de::Error::custom(format!(
                "keep count {n} is invalid: use a number >= 0, or -1 for unlimited"
            )));
        }
        Ok(KeepCount(n))
    }
}

/// A DR region and the KMS key (id, ARN or alias in that region) that
/// copies there are encrypted with.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DrTarget {
    pub region: Region,
    pub kms_key: String,
    /// ElastiCache Redis only: the S3 bucket in this region that exported
    /// Redis snapshots are copied to (encrypted with `kms_key`).
    #[serde(default)]
    pub bucket: Option<String>,
}

/// One isolated backup account of a policy (air-gapped copies; the
/// snapshot-replicator's decisions about it are in `vault`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Vault {
    /// The backup account's 12-digit id.
    pub account: String,
    /// The role of that account that the snapshot-replicator assumes (ARN).
    pub role: String,
    /// The external id its trust policy requires (`sts:ExternalId`), if any.
    #[serde(default)]
    pub external_id: Option<String>,
    /// The key of the backup account, in the primary region, that copies
    /// there are encrypted with (a key or alias ARN).
    pub kms_key: String,
    /// A customer-managed key of the production account, in the primary
    /// region, whose key policy lets the backup account use it: snapshots
    /// under an AWS-managed key are first copied under it (key or alias ARN,
    /// or `alias/...`).
    #[serde(default)]
    pub share_key: Option<String>,
    /// ElastiCache Redis only: the S3 bucket of the backup account, in the
    /// primary region, with S3 Object Lock in compliance mode (its default
    /// retention locks each file), that the exported `.rdb` files are
    /// copied to (modules/vault_account's `redis_bucket`).
    #[serde(default)]
    pub bucket: Option<String>,
}

impl Vault {
    /// Checks one entry; `at` names it in errors.
    pub fn validate(&self, at: &str) -> std::result::Result<(), String> {
        if !crate::naming::valid_account_id(&self.account) {
            return Err(format!(
                "{at}.account: `{}` is not an AWS account id (12 digits)",
                self.account
            ));
        }
        match crate::naming::arn_parts(&self.role) {
            Some((_, "iam", "", a, res)) if a == self.account && res.starts_with("role/") => {}
            _ => {
                return Err(format!(
                    "{at}.role: `{}` is not the ARN of a role of account {} (arn:aws:iam::{}:role/<name>)",
                    self.role, self.account, self.account
                ))
            }
        }
        if let Some(id) = &self.external_id {
            let ok = (2..=1224).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+=,.@:/-_".contains(&b));
            if !ok {
                return Err(format!(
                    "{at}.external_id: must be 2 to 1224 letters, digits or `+=,.@:/-_` (AWS's rule)"
                ));
            }
        }
        match crate::naming::arn_parts(&self.kms_key) {
            Some((_, "kms", r, a, res))
                if a == self.account
                    && !r.is_empty()
                    && (res.starts_with("key/") || res.starts_with("alias/")) => {}
            _ => {
                return Err(format!(
                    "{at}.kms_key: `{}` is not the ARN of a KMS key or alias of account {} (the key must be the backup account's, in the primary region)",
                    self.kms_key, self.account
                ))
            }
        }
        if let Some(k) = &self.share_key {
            let ok = k.starts_with("alias/")
                || matches!(crate::naming::arn_parts(k), Some((_, "kms", r, a, res))
                    if !r.is_empty() && crate::naming::valid_account_id(a) && a != self.account
                        && (res.starts_with("key/") || res.starts_with("alias/")));
            if !ok {
                return Err(format!(
                    "{at}.share_key: `{k}` is not a KMS key or alias of the production account (`alias/<name>` or its ARN)"
                ));
            }
        }
        if let Some(b) = &self.bucket {
            if !crate::naming::valid_s3_bucket_name(b) {
                return Err(format!("{at}.bucket: `{b}` is not a valid S3 bucket name"));
            }
        }
        Ok(())
    }

    /// The region of the vault key (where copies are made).
    pub fn region(&self) -> &str {
        crate::naming::arn_parts(&self.kms_key)
            .map(|p| p.2)
            .unwrap_or_default()
    }
}

/// The longest schedule name.
pub const SCHEDULE_NAME_MAX: usize = 32;

/// A schedule name: 1 to [`SCHEDULE_NAME_MAX`] ASCII letters, digits, `-`,
/// `_` or `.`. The names of the schedules a snapshot serves, joined with
/// `+`, are its `rempart:schedule` tag, valid on every service.
pub fn valid_schedule_name(s: &str) -> bool {
    (1..=SCHEDULE_NAME_MAX).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// An S3 bucket the policy names: a valid bucket name (its `s3://` URL goes
/// into the tags of exported Redis snapshots).
fn check_bucket(b: &str, field: &str) -> std::result::Result<(), String> {
    if crate::naming::valid_s3_bucket_name(b) {
        Ok(())
    } else {
        Err(format!(
            "{field}: `{b}` is not a valid S3 bucket name (3-63 lowercase letters, digits, `.` and `-`, beginning and ending with a letter or digit)"
        ))
    }
}

/// A validated policy name: `[a-z0-9-]`, 1 to 32 characters, starting with a
/// letter, no `--`, not ending with `-`. It goes into snapshot identifiers
/// and tag values, so it must be valid in all of them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PolicyName(String);

impl PolicyName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PolicyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PolicyName {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let ok = (1..=32).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.contains("--")
            && !s.ends_with('-')
            && s != crate::tags::TAG_POLICY_NONE;
        if ok {
            Ok(PolicyName(s.to_string()))
        } else {
            Err(format!(
                "policy name `{s}` is invalid: use 1-32 characters of a-z, 0-9 and single hyphens, starting with a letter (`none` is reserved: `rempart:policy=none` excludes a resource)"
            ))
        }
    }
}

impl<'de> Deserialize<'de> for PolicyName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An IANA time zone name (`UTC`, `Europe/Paris`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeZone(pub Tz);

impl Default for TimeZone {
    fn default() -> Self {
        TimeZone(Tz::UTC)
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

impl FromStr for TimeZone {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        s.parse::<Tz>()
            .map(TimeZone)
            .map_err(|_| format!("`{s}` is not an IANA time zone name (e.g. UTC, Europe/Paris)"))
    }
}
serde_via_str!(TimeZone);

impl PolicyDocument {
    /// Parses and validates a document. `origin` (a file path, an SSM
    /// parameter) is named in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<PolicyDocument> {
        let doc: PolicyDocument = toml::from_str(text)
            .map_err(|e| Error::policy(Some(origin), e.to_string().trim_end()))?;
        doc.validate().map_err(|m| Error::policy(Some(origin), m))?;
        Ok(doc)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.version != 1 {
            return Err(format!(
                "version = {} is not supported; this Rempart reads version = 1",
                self.version
            ));
        }
        if self.policies.is_empty() {
            return Err("no policy declared: add a [policies.<name>] table".into());
        }
        let mut names = BTreeSet::new();
        for b in &self.buckets {
            if !names.insert(b.name.as_str()) {
                return Err(format!("buckets: `{}` is listed twice", b.name));
            }
            if !b.versioning {
                return Err(format!(
                    "buckets `{}`: versioning = false is refused: a backup bucket keeps its versions",
                    b.name
                ));
            }
            b.lifecycle.validate(&b.name)?;
            if let Some(r) = &b.replication {
                r.validate(&b.name)?;
            }
        }
        self.incidents.validate()?;
        self.coverage.validate()?;
        if let Some(m) = &self.monitoring {
            m.validate()?;
        }
        if let Some(t) = &self.restore_tests {
            t.validate()?;
        }
        if let Some(f) = &self.failover_drills {
            f.validate()?;
        }
        if let Some(d) = &self.drills {
            d.validate()?;
            for p in &d.policies {
                if self.policy(p).is_none() {
                    return Err(format!("drills.policies: no policy `{p}`"));
                }
            }
        }
        let channel_ok = |c: &str| {
            c.len() > 1 && (c.starts_with('#') || c.starts_with('C') || c.starts_with('G'))
        };
        if !channel_ok(&self.notifications.default_channel) {
            return Err(format!(
                "notifications.default_channel: `{}` is not a channel; write `#name`",
                self.notifications.default_channel
            ));
        }
        for (i, r) in self.notifications.routes.iter().enumerate() {
            if !channel_ok(&r.channel) {
                return Err(format!(
                    "notifications.routes[{i}].channel: `{}` is not a channel; write `#name`",
                    r.channel
                ));
            }
            if r.severities.is_empty() {
                return Err(format!(
                    "notifications.routes[{i}].severities: list at least one of info, warning, critical"
                ));
            }
        }
        for (name, p) in &self.policies {
            let at = |field: &str| format!("policies.{name}.{field}");
            if p.kinds.is_empty() {
                return Err(format!("{}: list at least one resource kind", at("kinds")));
            }
            let kinds: BTreeSet<_> = p.kinds.iter().collect();
            if kinds.len() != p.kinds.len() {
                return Err(format!("{}: a kind is listed twice", at("kinds")));
            }
            let mut names = BTreeSet::new();
            for (i, s) in p.schedules.iter().enumerate() {
                if s.name.is_empty() || !names.insert(s.name.as_str()) {
                    return Err(format!(
                        "{}: schedule names must be non-empty and unique; `{}` is not",
                        at(&format!("schedules[{i}].name")),
                        s.name
                    ));
                }
                if !valid_schedule_name(&s.name) {
                    return Err(format!(
                        "{}: `{}` is invalid: use 1-{SCHEDULE_NAME_MAX} letters, digits, `-`, `_` or `.` (the names go into the `rempart:schedule` tag of every snapshot)",
                        at(&format!("schedules[{i}].name")),
                        s.name
                    ));
                }
                if s.tiers.is_empty() {
                    return Err(format!(
                        "{}: list at least one tier",
                        at(&format!("schedules[{i}].tiers"))
                    ));
                }
                if s.tiers.contains(&Tier::OnDemand) {
                    return Err(format!(
                        "{}: `on-demand` is the tier of requested snapshots, not of a schedule",
                        at(&format!("schedules[{i}].tiers"))
                    ));
                }
            }
            // A snapshot serving every schedule at once carries all their names.
            let joined: usize = p.schedules.iter().map(|s| s.name.len() + 1).sum();
            if joined > crate::naming::TAG_VALUE_MAX + 1 {
                return Err(format!(
                    "{}: the schedule names, joined with `+`, make {} characters, more than the 256 of the `rempart:schedule` tag a snapshot serving them all carries: shorten them",
                    at("schedules"),
                    joined - 1
                ));
            }
            if !p.retention.keeps_something() {
                return Err(format!(
                    "{}: keeps nothing; set at least one keep_* rule (as restic forget requires)",
                    at("retention")
                ));
            }
            if p.rpo.seconds() <= 0 {
                return Err(format!("{}: must be positive", at("rpo")));
            }
            if let Some(pitr) = &p.pitr {
                pitr.validate(&at("pitr"))?;
            }
            let mut regions = BTreeSet::new();
            for (i, d) in p.dr.iter().enumerate() {
                if !regions.insert(&d.region) {
                    return Err(format!(
                        "{}: region {} is listed twice",
                        at(&format!("dr[{i}]")),
                        d.region
                    ));
                }
                if d.kms_key.trim().is_empty() {
                    return Err(format!(
                        "{}: name the KMS key of {}",
                        at(&format!("dr[{i}].kms_key")),
                        d.region
                    ));
                }
                if !crate::naming::valid_tag_key(&crate::tags::dr_copy_tag(&d.region.0)) {
                    return Err(format!(
                        "{}: `{}` is too long for an AWS region name",
                        at(&format!("dr[{i}].region")),
                        d.region
                    ));
                }
                if let Some(b) = d.bucket.as_deref().filter(|b| !b.trim().is_empty()) {
                    check_bucket(b, &at(&format!("dr[{i}].bucket")))?;
                }
                if p.kinds.contains(&ResourceKind::ElasticacheRedis)
                    && d.bucket.as_deref().is_none_or(|b| b.trim().is_empty())
                {
                    return Err(format!(
                        "{}: Redis snapshots reach {} as exported files: name the S3 bucket there that receives them",
                        at(&format!("dr[{i}].bucket")),
                        d.region
                    ));
                }
            }
            let mut accounts = BTreeSet::new();
            for (i, v) in p.vault.iter().enumerate() {
                let here = at(&format!("vault[{i}]"));
                v.validate(&here)?;
                if !accounts.insert(&v.account) {
                    return Err(format!("{here}: account {} is listed twice", v.account));
                }
            }
            if let Some(b) = p.export_bucket.as_deref().filter(|b| !b.trim().is_empty()) {
                check_bucket(b, &at("export_bucket"))?;
            }
            if p.kinds.contains(&ResourceKind::ElasticacheRedis)
                && !p.dr.is_empty()
                && p.export_bucket
                    .as_deref()
                    .is_none_or(|b| b.trim().is_empty())
            {
                return Err(format!(
                    "{}: ElastiCache cannot copy a snapshot to another region; name the S3 bucket of the primary region that Redis snapshots are exported to",
                    at("export_bucket")
                ));
            }
        }
        Ok(())
    }

    pub fn policy(&self, name: &str) -> Option<&Policy> {
        self.policies
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, p)| p)
    }

    /// The time zone in force for a policy.
    pub fn timezone_of(&self, policy: &Policy) -> Tz {
        policy.timezone.unwrap_or(self.timezone).0
    }
}

/// How far back [`tiers_for_run`] looks for a schedule's previous run: a
/// yearly schedule's previous run is 365 or 366 days back.
const LOOKBACK_DAYS: u32 = 400;

/// The tiers a run of `schedule` at `at` serves: each tier the schedule may
/// serve for which this run is the first of its period (hour, day, ISO week,
/// month, year) in time zone `tz`. One snapshot serves them all.
pub fn tiers_for_run(schedule: &Schedule, at: DateTime<Utc>, tz: Tz) -> Vec<Tier> {
    let prev = schedule
        .cron
        .previous_before(at, tz, LOOKBACK_DAYS)
        .map(|p| p.with_timezone(&tz));
    let now = at.with_timezone(&tz);
    let mut tiers: Vec<Tier> = schedule
        .tiers
        .iter()
        .copied()
        .filter(|tier| {
            let Some(p) = prev else { return true };
            match tier {
                Tier::Hourly => (p.date_naive(), p.hour()) != (now.date_naive(), now.hour()),
                Tier::Daily => p.date_naive() != now.date_naive(),
                Tier::Weekly => p.iso_week() != now.iso_week(),
                Tier::Monthly => (p.year(), p.month()) != (now.year(), now.month()),
                Tier::Yearly => p.year() != now.year(),
                Tier::OnDemand => false,
            }
        })
        .collect();
    tiers.sort();
    tiers.dedup();
    tiers
}

/// Where the policy document comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicySource {
    File(std::path::PathBuf),
    Ssm(String),
}

impl PolicySource {
    /// Reads [`POLICY_ENV`].
    pub fn from_env() -> Result<PolicySource> {
        let v = std::env::var(POLICY_ENV).map_err(|_| {
            Error::Config(format!(
                "{POLICY_ENV} is not set: set it to a policy file path or to ssm:<parameter name>"
            ))
        })?;
        Self::parse(&v)
    }

    pub fn parse(v: &str) -> Result<PolicySource> {
        let v = v.trim();
        if v.is_empty() {
            return Err(Error::Config(format!("{POLICY_ENV} is empty")));
        }
        Ok(match v.strip_prefix("ssm:") {
            Some(name) if !name.is_empty() => PolicySource::Ssm(name.to_string()),
            Some(_) => {
                return Err(Error::Config(format!(
                    "{POLICY_ENV}=ssm: names no parameter"
                )))
            }
            None => PolicySource::File(v.strip_prefix("file:").unwrap_or(v).into()),
        })
    }

    pub fn describe(&self) -> String {
        match self {
            PolicySource::File(p) => p.display().to_string(),
            PolicySource::Ssm(n) => format!("ssm:{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const EXAMPLE: &str = include_str!("../../../examples/rewapp-policy.toml");

    /// Proves: the example's PITR section parses; a retention RDS cannot
    /// keep, a zero target or a window not in RDS's `hh:mm-hh:mm` form is
    /// refused with the field named.
    #[test]
    fn pitr_sections_are_validated() {
        let doc = PolicyDocument::from_toml(EXAMPLE, "example").expect("example");
        let pitr = doc
            .policy("rewapp-postgres")
            .and_then(|p| p.pitr.clone())
            .expect("pitr");
        assert_eq!((pitr.retention_days, pitr.target.seconds()), (35, 300));
        let with = |section: &str| {
            EXAMPLE.replace(
                "[policies.rewapp-postgres.pitr]\nretention_days = 35\ntarget = \"5min\"",
                &format!("[policies.rewapp-postgres.pitr]\n{section}"),
            )
        };
        for (section, says) in [
            (
                "retention_days = 36\ntarget = \"5min\"",
                "pitr.retention_days",
            ),
            ("retention_days = 35\ntarget = \"0s\"", "pitr.target"),
            (
                "retention_days = 35\ntarget = \"5min\"\nbackup_window = \"1:00-2:00\"",
                "pitr.backup_window",
            ),
        ] {
            let text = with(section);
            assert_ne!(text, EXAMPLE, "the example's section was replaced");
            let e = PolicyDocument::from_toml(&text, "t")
                .expect_err(says)
                .to_string();
            assert!(e.contains(says), "{e}");
        }
        let ok = with("retention_days = 35\ntarget = \"5min\"\nbackup_window = \"01:00-01:30\"");
        assert!(PolicyDocument::from_toml(&ok, "t").is_ok());
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_shipped_example_policy_parses() {
        let doc = PolicyDocument::from_toml(EXAMPLE, "example").unwrap();
        let pg = doc.policy("rewapp-postgres").unwrap();
        assert_eq!(
            pg.kinds,
            vec![ResourceKind::RdsInstance, ResourceKind::AuroraCluster]
        );
        assert_eq!(pg.retention.keep_daily, Some(KeepCount(7)));
        assert_eq!(pg.retention.keep_weekly, Some(KeepCount(4)));
        assert_eq!(pg.retention.keep_monthly, Some(KeepCount(12)));
        assert_eq!(pg.retention.keep_yearly, Some(KeepCount(5)));
        assert_eq!(pg.dr[0].region.0, "eu-central-1");
        let ebs = doc.policy("rewapp-ebs").unwrap();
        assert_eq!(ebs.retention.keep_daily, Some(KeepCount(14)));
        let redis = doc.policy("rewapp-redis").unwrap();
        assert_eq!(redis.retention.keep_daily, Some(KeepCount(7)));
    }

    fn err_of(text: &str) -> String {
        PolicyDocument::from_toml(text, "test.toml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_typo_is_rejected_with_its_line_and_the_field() {
        let text = EXAMPLE.replacen("keep_daily = 7", "keep_dayly = 7", 1);
        let line = text.lines().position(|l| l.contains("keep_dayly")).unwrap() + 1;
        let err = err_of(&text);
        assert!(err.contains(&format!("line {line}")), "{err}");
        assert!(err.contains("unknown field `keep_dayly`"), "{err}");
        assert!(err.contains("test.toml"), "{err}");
    }

    #[test]
    fn bad_values_are_rejected_with_their_line() {
        let cases = [
            ("cron = \"0 2 * * *\"", "cron = \"0 25 * * *\"", "hour"),
            ("rpo = \"26h\"", "rpo = \"26m\"", "min"),
            ("keep_weekly = 4", "keep_weekly = -2", "-1 for unlimited"),
            (
                "kinds = [\"ebs-volume\"]",
                "kinds = [\"ebs-volumes\"]",
                "unknown variant",
            ),
            (
                "region = \"eu-central-1\"",
                "region = \"frankfurt\"",
                "not an AWS region",
            ),
        ];
        for (from, to, needle) in cases {
            assert!(EXAMPLE.contains(from), "example lacks {from}");
            let text = EXAMPLE.replacen(from, to, 1);
            let line = text.lines().position(|l| l.contains(to)).unwrap() + 1;
            let err = err_of(&text);
            assert!(err.contains(needle), "{to}: {err}");
            assert!(err.contains(&format!("line {line}")), "{to}: {err}");
        }
    }

    #[test]
    fn cross_field_rules_name_the_policy_and_field() {
        let base = "version = 1\n[policies.p]\nkinds = [\"ebs-volume\"]\nrpo = \"1d\"\n";
        assert!(err_of(&format!("{base}[policies.p.retention]\n"))
            .contains("policies.p.retention: keeps nothing"));
        assert!(err_of("version = 2\n[policies]\n").contains("version = 2"));
        let no_kinds = "version = 1\n[policies.p]\nkinds = []\nrpo = \"1d\"\n[policies.p.retention]\nkeep_last = 1\n";
        assert!(err_of(no_kinds).contains("policies.p.kinds"));
        let bad_name = "version = 1\n[policies.Prod_DB]\nkinds = [\"ebs-volume\"]\nrpo = \"1d\"\n[policies.Prod_DB.retention]\nkeep_last = 1\n";
        assert!(err_of(bad_name).contains("policy name `Prod_DB` is invalid"));
    }

    /// Proves: a document whose own names would make an invalid id or tag
    /// (an odd or long policy or schedule name, too many schedule names for
    /// the `rempart:schedule` tag, an invalid bucket, an over-long region) is
    /// refused at load, naming the field.
    #[test]
    fn names_that_would_make_invalid_ids_or_tags_are_refused() {
        let doc = |policy: &str, schedules: &str, extra: &str| {
            format!(
                "version = 1\n[policies.{policy}]\nkinds = [\"elasticache-redis\"]\nrpo = \"1d\"\n{extra}{schedules}[policies.{policy}.retention]\nkeep_last = 1\n"
            )
        };
        let sched = |names: &[&str]| {
            names
                .iter()
                .map(|n| {
                    format!("[[policies.p.schedules]]\nname = \"{n}\"\ncron = \"0 2 * * *\"\n")
                })
                .collect::<String>()
        };
        assert!(
            PolicyDocument::from_toml(&doc("p", &sched(&["daily", "weekly-full"]), ""), "t")
                .is_ok()
        );
        for bad in [
            "\"\"",
            "a--b",
            "a-",
            "\"1db\"",
            &"p".repeat(33),
            "\"Prod DB\"",
        ] {
            let err = err_of(&doc(bad, "", ""));
            assert!(
                err.contains("policy name") && err.contains("is invalid"),
                "{bad}: {err}"
            );
        }
        for bad in ["daily, weekly", "nightly (UTC)", "a+b", &"d".repeat(33)] {
            let err = err_of(&doc("p", &sched(&[bad]), ""));
            assert!(
                err.contains("policies.p.schedules[0].name") && err.contains("is invalid"),
                "{bad}: {err}"
            );
        }
        let names: Vec<String> = (0..8).map(|i| format!("{i}{}", "s".repeat(31))).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let err = err_of(&doc("p", &sched(&names), ""));
        assert!(
            err.contains("policies.p.schedules: the schedule names") && err.contains("263"),
            "{err}"
        );
        let err = err_of(&doc("p", "", "export_bucket = \"Rewapp_Backups\"\n"));
        assert!(
            err.contains(
                "policies.p.export_bucket: `Rewapp_Backups` is not a valid S3 bucket name"
            ),
            "{err}"
        );
        let dr = |region: &str, bucket: &str| {
            format!("export_bucket = \"rewapp-prod-backups\"\n[[policies.p.dr]]\nregion = \"{region}\"\nkms_key = \"alias/k\"\nbucket = \"{bucket}\"\n")
        };
        assert!(
            PolicyDocument::from_toml(&doc("p", "", &dr("eu-central-1", "rewapp-dr")), "t").is_ok()
        );
        let err = err_of(&doc("p", "", &dr("eu-central-1", "x")));
        assert!(
            err.contains("policies.p.dr[0].bucket: `x` is not a valid S3 bucket name"),
            "{err}"
        );
        let long_region = format!("eu-{}-1", "c".repeat(120));
        let err = err_of(&doc("p", "", &dr(&long_region, "rewapp-dr")));
        assert!(
            err.contains("policies.p.dr[0].region") && err.contains("too long"),
            "{err}"
        );
    }

    proptest::proptest! {
        /// Proves: whatever text a document gives as a policy or schedule
        /// name, one that loads is a valid tag value everywhere, is its own
        /// slug (a policy name: so it appears unchanged in snapshot ids), and
        /// the `+`-joined names of a policy's schedules, as the load allows
        /// them, make a valid tag value.
        #[test]
        fn names_that_load_make_valid_ids_and_tags(s in proptest::prelude::any::<String>(), ascii in "[a-z0-9._+, -]{0,40}", n in 1usize..=8) {
            for name in [s.as_str(), ascii.as_str()] {
                if let Ok(p) = name.parse::<PolicyName>() {
                    proptest::prop_assert!(crate::naming::valid_tag_value(p.as_str()));
                    proptest::prop_assert_eq!(crate::naming::slug(p.as_str()), p.as_str());
                }
                if valid_schedule_name(name) {
                    proptest::prop_assert!(crate::naming::valid_tag_value(name) && !name.contains('+'));
                    let joined = vec![name; n].join("+");
                    if joined.len() <= crate::naming::TAG_VALUE_MAX {
                        proptest::prop_assert!(crate::naming::valid_tag_value(&joined));
                    }
                }
            }
        }
    }

    #[test]
    fn tiers_of_a_daily_schedule_follow_the_calendar() {
        let s = Schedule {
            name: "d".into(),
            cron: "0 2 * * *".parse().unwrap(),
            tiers: all_scheduled_tiers(),
        };
        // Wednesday 2025-11-12: just daily (the previous run was the same ISO week).
        assert_eq!(
            tiers_for_run(&s, t("2025-11-12T02:00:00Z"), Tz::UTC),
            vec![Tier::Hourly, Tier::Daily]
        );
        // Monday 2025-11-10: first run of the ISO week.
        assert_eq!(
            tiers_for_run(&s, t("2025-11-10T02:00:00Z"), Tz::UTC),
            vec![Tier::Hourly, Tier::Daily, Tier::Weekly]
        );
        // Thursday 2026-01-01: first of week? no (ISO week 1 began Monday Dec 29); month and year yes.
        assert_eq!(
            tiers_for_run(&s, t("2026-01-01T02:00:00Z"), Tz::UTC),
            vec![Tier::Hourly, Tier::Daily, Tier::Monthly, Tier::Yearly]
        );
    }

    #[test]
    fn tiers_of_the_example_weekly_full_backup() {
        let doc = PolicyDocument::from_toml(EXAMPLE, "example").unwrap();
        let pg = doc.policy("rewapp-postgres").unwrap();
        let weekly = pg
            .schedules
            .iter()
            .find(|s| s.name == "weekly-full")
            .unwrap();
        let daily = pg.schedules.iter().find(|s| s.name == "daily").unwrap();
        // First Sunday of December 2025: weekly + monthly.
        assert_eq!(
            tiers_for_run(weekly, t("2025-12-07T03:00:00Z"), Tz::UTC),
            vec![Tier::Weekly, Tier::Monthly]
        );
        // Second Sunday: weekly only.
        assert_eq!(
            tiers_for_run(weekly, t("2025-12-14T03:00:00Z"), Tz::UTC),
            vec![Tier::Weekly]
        );
        // First Sunday of 2026 (Jan 4): weekly, monthly, yearly.
        assert_eq!(
            tiers_for_run(weekly, t("2026-01-04T03:00:00Z"), Tz::UTC),
            vec![Tier::Weekly, Tier::Monthly, Tier::Yearly]
        );
        // The daily 02:00 run serves only the daily tier, even on Sundays.
        assert_eq!(
            tiers_for_run(daily, t("2025-12-07T02:00:00Z"), Tz::UTC),
            vec![Tier::Daily]
        );
    }

    #[test]
    fn policy_source_reads_files_and_ssm() {
        assert_eq!(
            PolicySource::parse("ssm:/rempart/policy").unwrap(),
            PolicySource::Ssm("/rempart/policy".into())
        );
        assert_eq!(
            PolicySource::parse("/etc/p.toml").unwrap(),
            PolicySource::File("/etc/p.toml".into())
        );
        assert_eq!(
            PolicySource::parse("file:p.toml").unwrap(),
            PolicySource::File("p.toml".into())
        );
        assert!(PolicySource::parse("ssm:").is_err());
        assert!(PolicySource::parse("  ").is_err());
    }
}
