//! Restore tests (pure): the policy's `[restore_tests]` section, when a
//! database is due for its monthly test, which snapshot to restore, the
//! throw-away instance's name, and the checks on the restored instance.
//! A restore test: a random snapshot younger than 7 days, restored to a test
//! instance, checked, timed (the real RTO; alert beyond 45 min), deleted.
//!
//! Restores on request: who asks, why, who approved
//! the interruption, and a target point that must lie inside the database's
//! point-in-time window or be one of its snapshots: [`decide`].

use crate::duration::Span;
use crate::model::SnapshotInfo;
use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An Aurora cluster restored by a restore test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoredCluster {
    pub id: String,
    pub arn: String,
    pub status: String,
    pub engine: String,
    pub engine_version: String,
    pub tags: BTreeMap<String, String>,
}

/// An instance restored by Rempart (a restore test or a restore on request).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoredInstance {
    pub id: String,
    pub arn: String,
    /// The Aurora cluster it belongs to (a cluster restore test's member).
    pub cluster: Option<String>,
    pub status: String,
    pub engine: String,
    pub engine_version: String,
    pub storage_gb: i32,
    pub publicly_accessible: bool,
    /// DB parameter groups: (name, apply status, e.g. `in-sync`).
    pub parameter_groups: Vec<(String, String)>,
    pub tags: BTreeMap<String, String>,
    /// Where it listens (host, port), once it has an endpoint.
    pub endpoint: Option<(String, u16)>,
    /// Its RDS-managed master secret (ARN, status), when it has one.
    pub master_secret: Option<(String, String)>,
}

/// An EBS volume created from a snapshot by a restore test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoredVolume {
    pub id: String,
    /// `creating`, `available`, `error`, ...
    pub state: String,
    pub size_gib: i32,
    pub encrypted: bool,
    pub kms_key: Option<String>,
    pub zone: String,
    pub tags: BTreeMap<String, String>,
}

/// An ElastiCache Redis (or Valkey) replication group created from a
/// snapshot by a restore test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoredCache {
    pub id: String,
    pub arn: String,
    /// `creating`, `available`, `modifying`, `deleting`, `create-failed`, ...
    pub status: String,
    pub engine: String,
    pub engine_version: String,
    pub node_type: String,
    /// Node groups (shards) and their nodes.
    pub shards: usize,
    pub nodes: usize,
    pub at_rest_encrypted: bool,
    pub kms_key: Option<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
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
    /// A restore still running after this is reported (default 45 min).
    #[serde(default = "d_alert")]
    pub alert_after: Span,
    /// A test still unfinished after this (a copy that never becomes
    /// available, a master secret that never becomes active) is concluded
    /// as failed and its copy deleted, instead of running (and costing) for
    /// ever after its one `restore.slow`. Longer than `alert_after`.
    #[serde(default = "d_give_up")]
    pub give_up_after: Span,
    /// How often each resource is tested: a test is due when none
    /// finished in the current calendar period (UTC).
    #[serde(default)]
    pub frequency: Frequency,
    /// Per kind, instead of `frequency` (`"ebs-volume" = "week"`).
    #[serde(default)]
    pub frequency_by_kind: BTreeMap<crate::kind::ResourceKind, Frequency>,
    /// The restore time a test should meet (the report's objective; a test
    /// beyond `alert_after` is an alert). None: only the alert is judged.
    #[serde(default)]
    pub time_objective: Option<Span>,
    /// The share of tests that must pass, in percent, under which the
    /// report raises an alert (the objective is 100 %).
    #[serde(default = "d_success_alert")]
    pub success_rate_alert: f64,
    /// The share of checks that must pass (data integrity), in percent,
    /// under which the report raises an alert (the objective is 100 %).
    #[serde(default = "d_integrity_alert")]
    pub integrity_alert: f64,
    /// The class of the one instance of a restored Aurora cluster (Aurora
    /// has no micro class).
    #[serde(default = "d_aurora_class")]
    pub aurora_instance_class: String,
    /// The VPC security groups of the restored instances (default: the
    /// subnet group's VPC default group): one that admits only the
    /// restore-tester, for the data checks.
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// Data checks on the restored copies, per protected database.
    #[serde(default)]
    pub sql_checks: Vec<SqlCheck>,
    /// The checks run on a restored instance (default: all of them; `sql`
    /// and `tables` run where `sql_checks` names the database).
    #[serde(default = "d_checks")]
    pub checks: Vec<CheckName>,
    /// The DB parameter group restored instances get (default: the
    /// engine's default group); the `parameter-group` check verifies that it
    /// is the one applied and in sync.
    #[serde(default)]
    pub parameter_group: Option<String>,
    /// The node type of a Redis restore test's replication group (one node
    /// per shard, no replica).
    #[serde(default = "d_cache_node_type")]
    pub cache_node_type: String,
    /// The cache subnet group of Redis restore tests (default: ElastiCache's
    /// `default` group of the default VPC).
    #[serde(default)]
    pub cache_subnet_group: Option<String>,
}

impl RestoreTests {
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        if self.give_up_after.0 <= self.alert_after.0 {
            return Err(format!(
                "restore_tests.give_up_after ({}) must be longer than alert_after ({}): a test is reported slow before it is given up",
                self.give_up_after, self.alert_after
            ));
        }
        for (name, v) in [
            ("success_rate_alert", self.success_rate_alert),
            ("integrity_alert", self.integrity_alert),
        ] {
            if !(0.0..=100.0).contains(&v) {
                return Err(format!(
                    "restore_tests.{name} = {v}: a percentage from 0 to 100"
                ));
            }
        }
        if let Some(t) = &self.time_objective {
            if t.0 > self.alert_after.0 {
                return Err(format!(
                    "restore_tests.time_objective ({t}) must not be longer than alert_after ({})",
                    self.alert_after
                ));
            }
        }
        for (i, c) in self.sql_checks.iter().enumerate() {
            c.validate(&format!("restore_tests.sql_checks[{i}]"))?;
        }
        Ok(())
    }

    /// The data checks of one protected database, when the policy's
    /// `checks` keep `sql` or `tables`.
    pub fn data_checks(&self, database: &str) -> Vec<&SqlCheck> {
        if !self
            .checks
            .iter()
            .any(|c| matches!(c, CheckName::Sql | CheckName::Tables))
        {
            return Vec::new();
        }
        self.sql_checks
            .iter()
            .filter(|c| c.target() == database)
            .collect()
    }

    /// Whether a test that started `elapsed` ago is past `give_up_after`:
    /// concluded now as failed, whatever its copy's state.
    pub fn given_up(&self, elapsed: chrono::TimeDelta) -> bool {
        elapsed >= self.give_up_after.0
    }

    /// Whether a restored copy of `database` needs its own master secret:
    /// an instance check without a secret of its own.
    pub fn needs_master_secret(&self, database: &str) -> bool {
        self.data_checks(database)
            .iter()
            .any(|c| c.instance.is_some() && c.secret_arn.is_none())
    }
}

/// A check the policy can name.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CheckName {
    /// The instance (and the cluster) reached `available`.
    Available,
    /// The engine and its version are reported.
    Engine,
    /// Storage is allocated.
    Storage,
    /// Not publicly accessible.
    Private,
    /// The parameter group is applied (`in-sync`), and is the policy's.
    ParameterGroup,
    /// The policy's statements (`sql_checks[].sql`) on the restored data.
    Sql,
    /// The tables the policy lists (`sql_checks[].tables`) exist and are
    /// readable on the restored data.
    Tables,
    /// An EBS volume or a Redis replication group restored encrypted at
    /// rest.
    Encryption,
}

impl CheckName {
    pub fn as_str(&self) -> &'static str {
        match self {
            CheckName::Available => "available",
            CheckName::Engine => "engine",
            CheckName::Storage => "storage",
            CheckName::Private => "private",
            CheckName::ParameterGroup => "parameter-group",
            CheckName::Sql => "sql",
            CheckName::Tables => "tables",
            CheckName::Encryption => "encryption",
        }
    }
}

fn d_checks() -> Vec<CheckName> {
    vec![
        CheckName::Available,
        CheckName::Engine,
        CheckName::Storage,
        CheckName::Private,
        CheckName::ParameterGroup,
        CheckName::Sql,
        CheckName::Tables,
        CheckName::Encryption,
    ]
}

/// Keeps the checks the policy names (`available` always: a restore that
/// did not finish is never a pass).
pub fn named(results: Vec<Check>, names: &[CheckName]) -> Vec<Check> {
    results
        .into_iter()
        .filter(|c| c.name == "available" || names.iter().any(|n| n.as_str() == c.name))
        .collect()
}

/// A data check on the restored copy of one protected database: the
/// tables that must exist and be readable, and a read-only statement whose
/// first value is compared with what the policy expects.
///
/// An RDS instance (PostgreSQL) is reached over TLS at the restored
/// instance's endpoint, with the credentials of `secret_arn` or, without
/// it, of the restored instance's own RDS-managed master secret (the
/// tester has RDS create one on the throw-away copy: a snapshot keeps the
/// password of its day, which the source's secret may have rotated away
/// since). An Aurora cluster is queried through the RDS Data API (which
/// serves Aurora clusters only), with `secret_arn`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SqlCheck {
    /// The protected Aurora cluster (identifier) whose restores it checks.
    #[serde(default)]
    pub cluster: Option<String>,
    /// The protected RDS instance (identifier) whose restores it checks.
    #[serde(default)]
    pub instance: Option<String>,
    /// A Secrets Manager secret holding `username` and `password` (the
    /// format of RDS's own secrets). Required for a cluster; for an
    /// instance, a role that exists in the snapshot's data (a read-only
    /// checking role, say).
    #[serde(default)]
    pub secret_arn: Option<String>,
    /// The database to connect to (default: `postgres` on an instance, the
    /// secret's on a cluster): connecting proves it exists.
    #[serde(default)]
    pub database: Option<String>,
    /// Tables (`schema.table` or `table`) that must exist and be readable.
    #[serde(default)]
    pub tables: Vec<String>,
    /// A read-only statement, e.g. `SELECT count(*) FROM users`.
    #[serde(default)]
    pub sql: Option<String>,
    /// The first column of the first row must be a number at least this
    /// (a row count, say).
    #[serde(default)]
    pub min_value: Option<f64>,
    /// ... and at most this.
    #[serde(default)]
    pub max_value: Option<f64>,
    /// ... or exactly this text (e.g. `t`, `16.4`).
    #[serde(default)]
    pub equals: Option<String>,
}

impl SqlCheck {
    /// The protected database it checks.
    pub fn target(&self) -> &str {
        self.instance
            .as_deref()
            .or(self.cluster.as_deref())
            .unwrap_or_default()
    }

    /// The statements it runs in `dialect`, each with the check it
    /// decides: the tables first, then the policy's statement.
    pub fn statements(&self, dialect: Dialect) -> Vec<(Probe, String)> {
        let mut out: Vec<(Probe, String)> = self
            .tables
            .iter()
            .filter_map(|t| Some((Probe::Table(t.clone()), table_statement(t, dialect).ok()?)))
            .collect();
        if let Some(sql) = &self.sql {
            out.push((Probe::Sql, sql.clone()));
        }
        out
    }

    fn validate(&self, at: &str) -> std::result::Result<(), String> {
        match (&self.cluster, &self.instance) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(format!(
                    "{at}: name the protected database: `instance = \"<RDS instance id>\"` or `cluster = \"<Aurora cluster id>\"` (one of them)"
                ))
            }
            (Some(c), None) if self.secret_arn.is_none() => {
                return Err(format!(
                    "{at}: cluster `{c}`: the RDS Data API needs `secret_arn` (the cluster's credentials in Secrets Manager)"
                ))
            }
            _ => {}
        }
        if self.tables.is_empty() && self.sql.is_none() {
            return Err(format!(
                "{at}: nothing to check: list `tables` that must be readable, or a `sql` statement"
            ));
        }
        for t in &self.tables {
            table_statement(t, Dialect::Postgres).map_err(|e| format!("{at}.tables: {e}"))?;
        }
        let compared = self.min_value.is_some() || self.max_value.is_some();
        if self.sql.is_none() && (compared || self.equals.is_some()) {
            return Err(format!(
                "{at}: `min_value`, `max_value` and `equals` compare the answer of `sql`: add the statement"
            ));
        }
        if compared && self.equals.is_some() {
            return Err(format!(
                "{at}: `equals` compares text, `min_value`/`max_value` numbers: use one or the other"
            ));
        }
        if let (Some(lo), Some(hi)) = (self.min_value, self.max_value) {
            if lo > hi {
                return Err(format!("{at}: min_value {lo} is above max_value {hi}"));
            }
        }
        Ok(())
    }
}

/// What a statement of a [`SqlCheck`] decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// This table exists and is readable.
    Table(String),
    /// The policy's statement.
    Sql,
}

/// How a database engine quotes identifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// `"name"` (PostgreSQL, Aurora PostgreSQL).
    Postgres,
    /// `` `name` `` (MySQL, MariaDB, Aurora MySQL: double quotes are strings
    /// there unless ANSI_QUOTES is set).
    MySql,
}

impl Dialect {
    /// The dialect of an RDS engine name (`aurora-mysql`, `postgres`, ...).
    pub fn of(engine: &str) -> Dialect {
        if engine.contains("mysql") || engine.contains("mariadb") {
            Dialect::MySql
        } else {
            Dialect::Postgres
        }
    }
}

/// The statement that proves `table` (`schema.table` or `table`) exists and
/// is readable: one row read from it, each part of the name quoted as an
/// identifier of `dialect` (so a name is never SQL).
pub fn table_statement(table: &str, dialect: Dialect) -> std::result::Result<String, String> {
    let parts: Vec<&str> = table.split('.').collect();
    if parts.len() > 2 || parts.iter().any(|p| p.is_empty()) || table.contains('\0') {
        return Err(format!(
            "`{table}` is not a table name: write `schema.table` or `table`"
        ));
    }
    let q = match dialect {
        Dialect::Postgres => '"',
        Dialect::MySql => '`',
    };
    let quoted: Vec<String> = parts
        .iter()
        .map(|p| format!("{q}{}{q}", p.replace(q, &format!("{q}{q}"))))
        .collect();
    Ok(format!("SELECT 1 FROM {} LIMIT 1", quoted.join(".")))
}

/// The verdict on one table: readable (one row or none), or the error.
pub fn table_check(table: &str, answer: std::result::Result<Option<String>, String>) -> Check {
    let (ok, detail) = match answer {
        Ok(Some(_)) => (true, format!("`{table}` exists and is readable")),
        Ok(None) => (true, format!("`{table}` exists and is readable (empty)")),
        Err(e) => (false, format!("`{table}`: {e}")),
    };
    Check {
        name: "tables".into(),
        ok,
        detail,
    }
}

/// The `username` and `password` of a secret in RDS's format (other fields,
/// such as `host` or `engine`, are ignored).
pub fn credentials(secret: &str) -> std::result::Result<(String, String), String> {
    #[derive(Deserialize)]
    struct Creds {
        username: String,
        password: String,
    }
    serde_json::from_str::<Creds>(secret)
        .map(|c| (c.username, c.password))
        .map_err(|_| "the secret is not JSON with `username` and `password`".to_string())
}

fn d_age() -> Span {
    "7d".parse().expect("constant")
}
fn d_class() -> String {
    "db.t4g.micro".into()
}
/// The smallest Aurora instance class: restored clusters' one instance when
/// nothing else says.
pub const DEFAULT_AURORA_CLASS: &str = "db.t4g.medium";

fn d_cache_node_type() -> String {
    "cache.t4g.micro".into()
}

fn d_aurora_class() -> String {
    DEFAULT_AURORA_CLASS.into()
}
fn d_alert() -> Span {
    "45min".parse().expect("constant")
}

fn d_success_alert() -> f64 {
    95.0
}

fn d_integrity_alert() -> f64 {
    99.9
}

fn d_give_up() -> Span {
    "6h".parse().expect("constant")
}

/// How often a resource's restore is tested: once per calendar day, ISO
/// week, month or quarter (UTC).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Frequency {
    Day,
    Week,
    #[default]
    Month,
    Quarter,
    /// January to June, July to December.
    HalfYear,
}

impl Frequency {
    /// Whether `a` and `b` fall in the same period.
    fn same_period(self, a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
        match self {
            Frequency::Day => a.date_naive() == b.date_naive(),
            Frequency::Week => a.iso_week() == b.iso_week(),
            Frequency::Month => a.year() == b.year() && a.month() == b.month(),
            Frequency::Quarter => a.year() == b.year() && a.month0() / 3 == b.month0() / 3,
            Frequency::HalfYear => a.year() == b.year() && a.month0() / 6 == b.month0() / 6,
        }
    }
}

impl RestoreTests {
    /// The frequency of a kind's tests.
    pub fn frequency_of(&self, kind: crate::kind::ResourceKind) -> Frequency {
        self.frequency_by_kind
            .get(&kind)
            .copied()
            .unwrap_or(self.frequency)
    }
}

/// DR drills (the policy's `[drills]`): on their schedule, the newest DR
/// copy of each resource of the drilled policies is restored in its DR
/// region by the restore-tester deployed there, checked as a restore test
/// is, timed from start to checked (the measured region-failover RTO),
/// deleted, and recorded `drill.succeeded` / `drill.failed` (`drill.slow`
/// once beyond `alert_after`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Drills {
    /// Policies whose resources' DR copies are drilled.
    pub policies: Vec<String>,
    /// How often each resource is drilled (default: twice a year).
    #[serde(default = "d_drill_frequency")]
    pub frequency: Frequency,
    /// The region-failover time a drill should meet (the report's
    /// objective).
    #[serde(default = "d_drill_target")]
    pub target: Span,
    /// A drill still running after this is reported (`drill.slow`), and one
    /// that ends later is an alert in the report.
    #[serde(default = "d_drill_alert")]
    pub alert_after: Span,
    /// A drill unfinished after this is concluded as failed, its copy
    /// deleted.
    #[serde(default = "d_drill_give_up")]
    pub give_up_after: Span,
    /// The DB subnet group of the drills' instances and clusters in the DR
    /// region (default: the DR region's default VPC's).
    #[serde(default)]
    pub subnet_group: Option<String>,
    /// Their VPC security groups in the DR region (default: the subnet
    /// group's VPC default group).
    #[serde(default)]
    pub security_groups: Vec<String>,
}

fn d_drill_frequency() -> Frequency {
    Frequency::HalfYear
}
fn d_drill_target() -> Span {
    "4h".parse().expect("constant")
}
fn d_drill_alert() -> Span {
    "6h".parse().expect("constant")
}
fn d_drill_give_up() -> Span {
    "12h".parse().expect("constant")
}

impl Drills {
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        if self.policies.is_empty() {
            return Err("drills.policies: name at least one policy".into());
        }
        if self.target.0 > self.alert_after.0 {
            return Err(format!(
                "drills.target ({}) must not be longer than alert_after ({})",
                self.target, self.alert_after
            ));
        }
        if self.give_up_after.0 <= self.alert_after.0 {
            return Err(format!(
                "drills.give_up_after ({}) must be longer than alert_after ({}): a drill is reported slow before it is given up",
                self.give_up_after, self.alert_after
            ));
        }
        Ok(())
    }

    /// What a drill runs with: the checks, classes and data checks of
    /// `[restore_tests]` (their defaults without one; of the data checks,
    /// those on instances without a `secret_arn`), the drill's thresholds
    /// and its placement in the DR region. No parameter group
    /// is asked for (the primary region's groups are not the DR region's):
    /// the `parameter-group` check then verifies the one applied is in
    /// sync.
    pub fn settings(&self, tests: Option<&RestoreTests>) -> RestoreTests {
        let mut cfg = tests.cloned().unwrap_or_else(|| RestoreTests {
            policies: Vec::new(),
            max_snapshot_age: d_age(),
            instance_class: d_class(),
            subnet_group: None,
            alert_after: d_alert(),
            give_up_after: d_give_up(),
            frequency: Frequency::default(),
            frequency_by_kind: BTreeMap::new(),
            time_objective: None,
            success_rate_alert: d_success_alert(),
            integrity_alert: d_integrity_alert(),
            aurora_instance_class: d_aurora_class(),
            security_groups: Vec::new(),
            sql_checks: Vec::new(),
            checks: d_checks(),
            parameter_group: None,
            cache_node_type: d_cache_node_type(),
            cache_subnet_group: None,
        });
        cfg.policies = self.policies.clone();
        cfg.frequency = self.frequency;
        cfg.frequency_by_kind = BTreeMap::new();
        cfg.alert_after = self.alert_after;
        cfg.give_up_after = self.give_up_after;
        cfg.time_objective = Some(self.target);
        cfg.subnet_group = self.subnet_group.clone();
        cfg.security_groups = self.security_groups.clone();
        cfg.parameter_group = None;
        cfg.cache_subnet_group = None;
        // The data checks a drill can run in the DR region: on instances,
        // with the copy's own master secret (RDS creates it there). A
        // `secret_arn` is a primary-region secret, and the Aurora checks go
        // through the Data API with one: not run by drills.
        cfg.sql_checks
            .retain(|c| c.instance.is_some() && c.secret_arn.is_none());
        cfg
    }
}

/// Multi-AZ failover drills (the policy's `[failover_drills]`, opt-in):
/// on their frequency (default quarterly), inside the declared window, the
/// restore-tester reboots each named Multi-AZ instance with failover and
/// measures the time from the reboot to RDS's "failover completed" event,
/// against `target` (met) and `alert_after` (alert). A single-AZ instance
/// is refused, never rebooted.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FailoverDrills {
    /// The RDS instances drilled (identifiers, in the primary region).
    pub instances: Vec<String>,
    #[serde(default = "d_failover_frequency")]
    pub frequency: Frequency,
    /// `hh:mm-hh:mm` UTC (may wrap midnight): a drill starts only inside.
    pub window: String,
    /// The days the window opens (`mon` … `sun`; default every day).
    #[serde(default)]
    pub days: Vec<String>,
    /// The time back to available a failover should meet.
    #[serde(default = "d_failover_target")]
    pub target: Span,
    /// Beyond this, `failover.slow` and an alert in the report.
    #[serde(default = "d_failover_alert")]
    pub alert_after: Span,
    /// No "failover completed" event by then: `failover.failed`.
    #[serde(default = "d_failover_give_up")]
    pub give_up_after: Span,
}

fn d_failover_frequency() -> Frequency {
    Frequency::Quarter
}
fn d_failover_target() -> Span {
    "5min".parse().expect("constant")
}
fn d_failover_alert() -> Span {
    "10min".parse().expect("constant")
}
fn d_failover_give_up() -> Span {
    "1h".parse().expect("constant")
}

/// `hh:mm-hh:mm` as two times of day.
fn parse_window(w: &str) -> Option<(chrono::NaiveTime, chrono::NaiveTime)> {
    let (a, b) = w.split_once('-')?;
    let t = |x: &str| chrono::NaiveTime::parse_from_str(x.trim(), "%H:%M").ok();
    Some((t(a)?, t(b)?))
}

impl FailoverDrills {
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        if self.instances.is_empty() {
            return Err("failover_drills.instances: name at least one Multi-AZ instance".into());
        }
        match parse_window(&self.window) {
            Some((a, b)) if a != b => {}
            _ => {
                return Err(format!(
                    "failover_drills.window: `{}` is not `hh:mm-hh:mm` (UTC), two different times",
                    self.window
                ))
            }
        }
        for d in &self.days {
            if d.parse::<chrono::Weekday>().is_err() {
                return Err(format!(
                    "failover_drills.days: `{d}` is not a day (`mon` … `sun`)"
                ));
            }
        }
        if self.target.0 > self.alert_after.0 {
            return Err(format!(
                "failover_drills.target ({}) must not be longer than alert_after ({})",
                self.target, self.alert_after
            ));
        }
        if self.give_up_after.0 <= self.alert_after.0 {
            return Err(format!(
                "failover_drills.give_up_after ({}) must be longer than alert_after ({})",
                self.give_up_after, self.alert_after
            ));
        }
        Ok(())
    }

    /// Whether `now` is inside the declared window (opened on one of
    /// `days`; a window wrapping midnight belongs to the day it opens).
    pub fn in_window(&self, now: DateTime<Utc>) -> bool {
        let Some((open, close)) = parse_window(&self.window) else {
            return false;
        };
        let t = now.time();
        let (inside, opened) = if open < close {
            (t >= open && t < close, now.date_naive())
        } else if t >= open {
            (true, now.date_naive())
        } else {
            (t < close, now.date_naive() - chrono::Days::new(1))
        };
        inside
            && (self.days.is_empty()
                || self
                    .days
                    .iter()
                    .filter_map(|d| d.parse::<chrono::Weekday>().ok())
                    .any(|d| d == opened.weekday()))
    }
}

/// Where a failover drill started at `started` stands at `now`, given the
/// time of RDS's "failover completed" event for the instance, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailoverState {
    /// Completed: the measured seconds from the reboot to the event.
    Completed(i64),
    /// Not yet; past `alert_after` (report it once) or not.
    Running { slow: bool },
    /// Not completed by `give_up_after`.
    GivenUp,
}

pub fn failover_state(
    cfg: &FailoverDrills,
    started: DateTime<Utc>,
    completed: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> FailoverState {
    match completed {
        Some(t) if t >= started => FailoverState::Completed((t - started).num_seconds()),
        _ if now - started >= cfg.give_up_after.0 => FailoverState::GivenUp,
        _ => FailoverState::Running {
            slow: now - started >= cfg.alert_after.0,
        },
    }
}

/// The resource a DR copy protects, and where: the newest available copy
/// of each is the one a drill restores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrillCandidate {
    pub kind: crate::kind::ResourceKind,
    /// The protected resource's id and region (its registry key's).
    pub resource: String,
    pub source_region: String,
    pub policy: String,
    /// The DR copy (RDS, Aurora, EBS), or for Redis the primary region's
    /// snapshot whose export reached the DR bucket.
    pub copy: SnapshotInfo,
    /// Redis: the export in the DR bucket (`s3://bucket/prefix`).
    pub export: Option<String>,
}

impl DrillCandidate {
    /// The protected resource's registry key.
    pub fn registry_key(&self) -> String {
        format!("{}#{}#{}", self.kind, self.source_region, self.resource)
    }
}

/// The region of an ARN (`arn:partition:service:region:...`).
fn arn_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// The newest available DR copy (`rempart:copy-of`) of each resource of
/// `policies` among a DR region's snapshots, by resource. RDS instances,
/// Aurora clusters and EBS volumes: Redis DR copies are `.rdb` exports in
/// the DR bucket, not snapshots ([`redis_drill_candidates`]).
pub fn drill_candidates(copies: &[SnapshotInfo], policies: &[String]) -> Vec<DrillCandidate> {
    use crate::tags::{TAG_COPY_OF, TAG_POLICY, TAG_SOURCE};
    let mut newest: BTreeMap<(String, String, String), DrillCandidate> = BTreeMap::new();
    for s in copies {
        if s.kind == crate::kind::ResourceKind::ElasticacheRedis
            || !crate::model::is_available(s)
            || !s.is_managed()
        {
            continue;
        }
        let Some(of) = s.tags.get(TAG_COPY_OF) else {
            continue;
        };
        let Some(policy) = s.tags.get(TAG_POLICY).filter(|p| policies.contains(p)) else {
            continue;
        };
        let Some(region) = s
            .tags
            .get(TAG_SOURCE)
            .and_then(|a| arn_region(a))
            .or_else(|| arn_region(of))
        else {
            continue;
        };
        let Some(taken) = s.taken_at() else {
            continue;
        };
        let c = DrillCandidate {
            kind: s.kind,
            resource: s.source_id(),
            source_region: region.to_string(),
            policy: policy.clone(),
            copy: s.clone(),
            export: None,
        };
        let key = (
            s.kind.to_string(),
            c.source_region.clone(),
            c.resource.clone(),
        );
        let newer = newest
            .get(&key)
            .is_none_or(|old| old.copy.taken_at().is_none_or(|t| taken > t));
        if newer {
            newest.insert(key, c);
        }
    }
    newest.into_values().collect()
}

/// Vault drills, in a backup account: the newest available vault copy of
/// each resource of `policies` among that account's snapshots, keeping only
/// the copies of `production`'s snapshots (`SnapshotInfo::is_vault_copy_of`,
/// as the backup account's enforcer scopes them).
/// Newest by when the backup account made the copy (AWS's creation time
/// there), never by the tags production wrote: a source dated forward
/// cannot make an older copy the one drilled. The candidate's resource and
/// region are the protected resource's in production (its registry key),
/// read from `rempart:source` or else the `rempart:copy-of` ARN.
pub fn vault_drill_candidates(
    snaps: Vec<SnapshotInfo>,
    policies: &[String],
    production: &str,
) -> Vec<DrillCandidate> {
    use crate::tags::{TAG_COPY_OF, TAG_POLICY, TAG_SOURCE};
    let copies = snaps
        .into_iter()
        .filter(|s| s.is_managed() && s.is_vault_copy_of(Some(production)));
    let mut newest: BTreeMap<(String, String, String), DrillCandidate> = BTreeMap::new();
    for s in copies {
        if s.kind == crate::kind::ResourceKind::ElasticacheRedis || !crate::model::is_available(&s)
        {
            continue;
        }
        let Some(policy) = s.tags.get(TAG_POLICY).filter(|p| policies.contains(p)) else {
            continue;
        };
        let Some(region) = s
            .tags
            .get(TAG_SOURCE)
            .and_then(|a| arn_region(a))
            .or_else(|| s.tags.get(TAG_COPY_OF).and_then(|a| arn_region(a)))
            .map(str::to_string)
        else {
            continue;
        };
        let Some(made) = s.created else {
            continue;
        };
        let key = (s.kind.to_string(), region.clone(), s.source_id());
        let newer = newest
            .get(&key)
            .is_none_or(|old| old.copy.created.is_none_or(|t| made > t));
        if newer {
            newest.insert(
                key,
                DrillCandidate {
                    kind: s.kind,
                    resource: s.source_id(),
                    source_region: region,
                    policy: policy.clone(),
                    copy: s,
                    export: None,
                },
            );
        }
    }
    newest.into_values().collect()
}

/// One export of a Redis snapshot in a backup account's Object Lock bucket:
/// its `.rdb` files share the snapshot's name as their prefix
/// (`<snapshot>-0001.rdb`, … or `<snapshot>.rdb`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultExport {
    /// The snapshot's name (the files' common prefix).
    pub name: String,
    /// When the backup account received its last file.
    pub written: DateTime<Utc>,
    /// One of its files, whose tags speak for the export.
    pub first_key: String,
}

/// The vault bucket's `.rdb` files (key, when written there) as exports,
/// one per snapshot, by name.
pub fn vault_exports(files: &[(String, DateTime<Utc>)]) -> Vec<VaultExport> {
    let mut out: BTreeMap<String, VaultExport> = BTreeMap::new();
    for (key, written) in files {
        let Some(stem) = key.strip_suffix(".rdb") else {
            continue;
        };
        // Rempart's snapshot names end in `-<yyyymmdd>-<hhmm>`; a `-0001`
        // … after that is a shard's file of a multi-shard export.
        let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
        let ends_with_time = |n: &str| {
            let mut parts = n.rsplit('-');
            matches!((parts.next(), parts.next()), (Some(hm), Some(ymd)) if digits(hm, 4) && digits(ymd, 8))
        };
        let name = match stem.rsplit_once('-') {
            Some((n, shard)) if !ends_with_time(stem) && digits(shard, 4) => n,
            _ => stem,
        };
        let e = out.entry(name.to_string()).or_insert_with(|| VaultExport {
            name: name.to_string(),
            written: *written,
            first_key: key.clone(),
        });
        e.written = e.written.max(*written);
        e.first_key = e.first_key.clone().min(key.clone());
    }
    out.into_values().collect()
}

/// Vault drills of Redis, in a backup account: among the exports in its
/// Object Lock bucket `bucket` (each with its first file's tags), the
/// newest of each Redis resource of `policies` copied from `production`'s
/// snapshots (`rempart:copy-of` naming that account), newest by when the
/// backup account received it. The resource is the file's
/// `rempart:source`; an export without one is not drilled.
pub fn vault_redis_candidates(
    exports: Vec<(VaultExport, BTreeMap<String, String>)>,
    policies: &[String],
    production: &str,
    bucket: &str,
) -> Vec<DrillCandidate> {
    use crate::tags::{TAG_COPY_OF, TAG_MANAGED, TAG_POLICY, TAG_SOURCE};
    let mut newest: BTreeMap<(String, String), DrillCandidate> = BTreeMap::new();
    for (e, tags) in exports {
        let of = tags
            .get(TAG_COPY_OF)
            .and_then(|a| crate::naming::arn_parts(a));
        let (Some(of), Some(policy), Some(_)) = (
            of.filter(|p| p.3 == production),
            tags.get(TAG_POLICY).filter(|p| policies.contains(p)),
            tags.get(TAG_SOURCE).filter(|s| !s.is_empty()),
        ) else {
            continue;
        };
        if tags.get(TAG_MANAGED).map(String::as_str) != Some("true") {
            continue;
        }
        let region = of.2.to_string();
        let copy = SnapshotInfo {
            kind: crate::kind::ResourceKind::ElasticacheRedis,
            id: e.name.clone(),
            arn: tags.get(TAG_COPY_OF).cloned().unwrap_or_default(),
            region: region.clone(),
            source: String::new(),
            status: "available".into(),
            created: Some(e.written),
            tags: tags.clone(),
            encrypted: true,
            kms_key: None,
        };
        let resource = copy.source_id();
        let key = (region.clone(), resource.clone());
        let newer = newest
            .get(&key)
            .is_none_or(|old| old.copy.created.is_none_or(|t| e.written > t));
        if newer {
            newest.insert(
                key,
                DrillCandidate {
                    kind: crate::kind::ResourceKind::ElasticacheRedis,
                    resource,
                    source_region: region,
                    policy: policy.clone(),
                    copy,
                    export: Some(format!("s3://{bucket}/{}", e.name)),
                },
            );
        }
    }
    newest.into_values().collect()
}

/// What a restore on request from a backup account can restore `db` from:
/// its vault copies there (copies of `production`'s snapshots, or with
/// `None` of any other account's, available),
/// each at the time the backup account made it, and no point-in-time
/// window (a vault holds snapshots only). With the kind of the newest copy
/// (an RDS instance or an Aurora cluster), `None` when there is none.
pub fn vault_windows(
    snaps: Vec<SnapshotInfo>,
    production: Option<&str>,
    db: &str,
) -> (Option<crate::kind::ResourceKind>, Windows) {
    use crate::kind::ResourceKind::{AuroraCluster, RdsInstance};
    let copies = snaps
        .into_iter()
        .filter(|s| s.is_managed() && s.is_vault_copy_of(production));
    let mut mine: Vec<(crate::kind::ResourceKind, String, DateTime<Utc>)> = copies
        .into_iter()
        .filter(|s| matches!(s.kind, RdsInstance | AuroraCluster))
        .filter(|s| crate::model::is_available(s) && s.source_id() == db)
        .filter_map(|s| Some((s.kind, s.id.clone(), s.created?)))
        .collect();
    mine.sort_by(|a, b| (a.2, &a.1).cmp(&(b.2, &b.1)));
    let kind = mine.last().map(|(k, _, _)| *k);
    let snapshots = mine
        .into_iter()
        .filter(|(k, _, _)| Some(*k) == kind)
        .map(|(_, id, at)| (id, at))
        .collect();
    (
        kind,
        Windows {
            pitr: None,
            snapshots,
        },
    )
}

/// Redis drills: among the primary region's Rempart ElastiCache snapshots,
/// the newest available one of each Redis resource of `policies` whose
/// export reached the DR bucket of `dr_region` (`rempart:dr-copy:<region>`,
/// an `s3://` URL): the `.rdb` files a drill seeds a replication group
/// with.
pub fn redis_drill_candidates(
    snaps: &[SnapshotInfo],
    policies: &[String],
    dr_region: &str,
) -> Vec<DrillCandidate> {
    use crate::tags::{dr_copy_tag, TAG_POLICY};
    let tag = dr_copy_tag(dr_region);
    let mut newest: BTreeMap<String, DrillCandidate> = BTreeMap::new();
    for s in snaps {
        if s.kind != crate::kind::ResourceKind::ElasticacheRedis
            || !crate::model::is_available(s)
            || !s.is_managed()
        {
            continue;
        }
        let (Some(url), Some(policy), Some(taken)) = (
            s.tags
                .get(&tag)
                .filter(|u| crate::naming::parse_s3_url(u).is_some()),
            s.tags.get(TAG_POLICY).filter(|p| policies.contains(p)),
            s.taken_at(),
        ) else {
            continue;
        };
        let newer = newest
            .get(&s.source_id())
            .is_none_or(|old| old.copy.taken_at().is_none_or(|t| taken > t));
        if newer {
            newest.insert(
                s.source_id(),
                DrillCandidate {
                    kind: s.kind,
                    resource: s.source_id(),
                    source_region: s.region.clone(),
                    policy: policy.clone(),
                    copy: s.clone(),
                    export: Some(url.clone()),
                },
            );
        }
    }
    newest.into_values().collect()
}

/// Due when no test of this resource finished in the current period of
/// `every` (UTC).
pub fn due(finished: &[DateTime<Utc>], now: DateTime<Utc>, every: Frequency) -> bool {
    !finished
        .iter()
        .any(|t| *t <= now && every.same_period(*t, now))
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
        .filter(|s| crate::model::is_available(s))
        .filter(|s| s.taken_at().is_some_and(|t| now - t <= max_age && t <= now))
        .collect();
    young.sort_by(|a, b| a.id.cmp(&b.id));
    let n = young.len();
    (n > 0).then(|| young[(seed % n as u64) as usize])
}

/// `rempart-rt-<db>-<yyyymmddhhmm>`: a valid RDS instance (and cluster)
/// identifier: at most 63 characters, a letter first, no `--`, no trailing
/// `-`. A database name too long for that is cut and followed by a hash of
/// it (`rempart-rt-<db…>-<hash>-<stamp>`), so that two databases sharing a
/// long prefix, tested in the same run, do not get the same name.
pub fn instance_id(db: &str, now: DateTime<Utc>) -> String {
    stamped_id("rempart-rt", db, now)
}

fn stamped_id(head: &str, db: &str, now: DateTime<Utc>) -> String {
    let mut slug = crate::naming::slug(db);
    if slug.is_empty() {
        slug.push_str("db");
    }
    let stamp = now.format("%Y%m%d%H%M").to_string();
    crate::naming::fit_id(head, &[&slug], &stamp, crate::naming::RDS_INSTANCE_ID_MAX)
}

/// A restore on request: the database, the target point (a
/// snapshot or a point in time), and who asks, why, and who approved the
/// interruption. The detail of a `Rempart Restore Request` event.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// The source RDS DB instance.
    pub database: String,
    /// Restore from this snapshot…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// …or to this point in time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point_in_time: Option<DateTime<Utc>>,
    /// The new instance (default `rempart-rr-<db>-<yyyymmddhhmm>`). Never the
    /// source: a restore always creates a new instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The new instance's class (default: the snapshot's or the source's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_class: Option<String>,
    /// The environment concerned (client/tenant, production or staging).
    pub environment: String,
    /// The scope (product, site…), as the requester words it.
    #[serde(default)]
    pub scope: String,
    /// Who asks (a name or an e-mail address).
    pub requested_by: String,
    /// Why: the incident, the import batch, the change; urgency and impact.
    pub reason: String,
    /// Who approved the restore and its interruption: not the requester.
    pub approved_by: String,
    /// The support ticket, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// Not before this time (RFC 3339): the agreed window. The request is
    /// checked at once and recorded as scheduled; the restore starts at the
    /// first 5-minute tick from then, checked again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<DateTime<Utc>>,
    /// From a vault only: restore in this recovery account (its id), not in
    /// the backup account (`crate::recovery`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_account: Option<String>,
}

/// How far ahead a restore may be scheduled (`not_before`).
pub const MAX_SCHEDULE_AHEAD_DAYS: i64 = 30;

/// The registry key under which scheduled restore requests wait.
pub fn scheduled_requests_key(region: &str) -> String {
    format!("restore-requests#{region}")
}

/// The scheduled requests (`restore.scheduled` records under
/// [`scheduled_requests_key`], subject = the request id, the request in
/// `details.request`) whose `not_before` has come and that were not yet
/// dispatched (`restore.dispatched`, same subject): (id, request), in the
/// order they were scheduled.
pub fn due_requests(
    records: &[crate::announce::RegistryRecord],
    now: DateTime<Utc>,
) -> Vec<(String, RestoreRequest)> {
    let dispatched: std::collections::BTreeSet<&str> = records
        .iter()
        .filter(|r| r.action == "restore.dispatched")
        .map(|r| r.subject.as_str())
        .collect();
    let mut out: Vec<(DateTime<Utc>, String, RestoreRequest)> = records
        .iter()
        .filter(|r| r.action == "restore.scheduled" && !dispatched.contains(r.subject.as_str()))
        .filter_map(|r| {
            let req: RestoreRequest = serde_json::from_value(r.details["request"].clone()).ok()?;
            req.not_before
                .is_none_or(|t| t <= now)
                .then(|| (r.time, r.subject.clone(), req))
        })
        .collect();
    out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    out.into_iter().map(|(_, id, req)| (id, req)).collect()
}

/// What a database can be restored to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Windows {
    /// The point-in-time window (earliest, latest restorable time); `None`
    /// when automated backups are off.
    pub pitr: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// The database's available snapshots: (id, taken at).
    pub snapshots: Vec<(String, DateTime<Utc>)>,
}

impl Windows {
    /// "snapshots cover A to B (N)", or "no available snapshot".
    fn snapshot_text(&self) -> String {
        let times = self.snapshots.iter().map(|(_, t)| *t);
        match (times.clone().min(), times.max()) {
            (Some(a), Some(b)) => format!(
                "its {} available snapshot(s) cover {} to {}",
                self.snapshots.len(),
                crate::time::rfc3339(a),
                crate::time::rfc3339(b)
            ),
            _ => "it has no available snapshot".into(),
        }
    }

    fn pitr_text(&self, db: &str) -> String {
        match self.pitr {
            Some((a, b)) => format!(
                "the point-in-time window of {db} is {} to {}",
                crate::time::rfc3339(a),
                crate::time::rfc3339(b)
            ),
            None => format!("point-in-time restore is off for {db} (no automated backups)"),
        }
    }
}

/// Where a restore starts from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "from", content = "at")]
pub enum RestoreSource {
    Snapshot(String),
    PointInTime(DateTime<Utc>),
}

impl RestoreSource {
    /// The snapshot id or the RFC 3339 time (the `rempart:restore-point` tag).
    pub fn point(&self) -> String {
        match self {
            RestoreSource::Snapshot(s) => s.clone(),
            RestoreSource::PointInTime(t) => crate::time::rfc3339(*t),
        }
    }
}

/// An accepted request: what to restore, into what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RestorePlan {
    pub source: RestoreSource,
    pub target: String,
}

/// The new instance's name: the request's, or
/// `rempart-rr-<db>-<yyyymmddhhmm>` at the request's time.
pub fn request_target(req: &RestoreRequest, now: DateTime<Utc>) -> String {
    match &req.target {
        Some(t) => t.trim().to_string(),
        None => stamped_id("rempart-rr", req.database.trim(), now),
    }
}

/// Feasibility: accepts the request, or refuses it with a
/// message that says why and what is possible (the windows). `target_exists`:
/// whether an instance already has the target's name.
pub fn decide(
    req: &RestoreRequest,
    w: &Windows,
    target_exists: bool,
    now: DateTime<Utc>,
) -> std::result::Result<RestorePlan, String> {
    let db = req.database.trim();
    for (field, v) in [
        ("database", &req.database),
        ("environment", &req.environment),
        ("requested_by", &req.requested_by),
        ("reason", &req.reason),
        ("approved_by", &req.approved_by),
    ] {
        if v.trim().is_empty() {
            return Err(format!("the request has no {field}"));
        }
    }
    if let Some(t) = req.not_before {
        if t - now > chrono::TimeDelta::days(MAX_SCHEDULE_AHEAD_DAYS) {
            return Err(format!(
                "not_before {} is more than {MAX_SCHEDULE_AHEAD_DAYS} days ahead: ask again closer to the window",
                crate::time::rfc3339(t)
            ));
        }
    }
    if req
        .approved_by
        .trim()
        .eq_ignore_ascii_case(req.requested_by.trim())
    {
        return Err(format!(
            "{} cannot approve their own restore request: the approval must come from someone else",
            req.requested_by.trim()
        ));
    }
    // Written as tags of the new instance: RDS refuses the restore otherwise.
    for (field, v) in [
        ("requested_by", &req.requested_by),
        ("approved_by", &req.approved_by),
    ] {
        if !crate::naming::valid_rds_tag_value(v.trim()) {
            return Err(format!(
                "{field} `{}` cannot be written as a tag of the restored instance: use {}",
                v.trim(),
                crate::naming::TAG_VALUE_RULE.replace("letters", "letters (any script)")
            ));
        }
    }
    let target = request_target(req, now);
    if !crate::naming::valid_rds_instance_id(&target) {
        return Err(format!(
            "`{target}` is not a valid RDS instance identifier (1-63 letters, digits or hyphens, a letter first, no `--`, no trailing hyphen)"
        ));
    }
    if target.to_ascii_lowercase().starts_with("rempart-rt-") {
        return Err(format!(
            "`{target}`: names starting with rempart-rt- are the restore tests' throw-away instances (deleted after the test); choose another target"
        ));
    }
    if target.eq_ignore_ascii_case(db) {
        return Err(format!(
            "the target cannot be the source {db}: a restore creates a new instance"
        ));
    }
    if target_exists {
        return Err(format!(
            "an instance named {target} already exists: choose another target"
        ));
    }
    let windows = format!("{}; {}", w.pitr_text(db), w.snapshot_text());
    let source = match (&req.snapshot, req.point_in_time) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(format!(
                "give either a snapshot or a point in time, not {}; {windows}",
                if req.snapshot.is_some() {
                    "both"
                } else {
                    "neither"
                }
            ))
        }
        (Some(id), None) => {
            if !w.snapshots.iter().any(|(s, _)| s == id) {
                return Err(format!(
                    "{id} is not an available snapshot of {db}; {windows}"
                ));
            }
            RestoreSource::Snapshot(id.clone())
        }
        (None, Some(t)) => {
            let inside = w.pitr.is_some_and(|(a, b)| a <= t && t <= b);
            if !inside {
                let hint = w
                    .snapshots
                    .iter()
                    .filter(|(_, at)| *at <= t)
                    .max_by_key(|(id, at)| (*at, id.clone()))
                    .map(|(id, at)| {
                        format!(
                            "; the newest snapshot before it is {id} (taken {}): ask for that snapshot instead",
                            crate::time::rfc3339(*at)
                        )
                    })
                    .unwrap_or_default();
                return Err(format!(
                    "{} is outside the window: {windows}{hint}",
                    crate::time::rfc3339(t)
                ));
            }
            RestoreSource::PointInTime(t)
        }
    };
    Ok(RestorePlan { source, target })
}

/// One check on the restored instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// The parameter group check: every group of the instance in sync, and the
/// expected one (when the policy names it) among them.
fn parameter_group_check(i: &RestoredInstance, expected: Option<&str>) -> Check {
    let listed = i
        .parameter_groups
        .iter()
        .map(|(n, st)| format!("{n} ({st})"))
        .collect::<Vec<_>>()
        .join(", ");
    let in_sync =
        !i.parameter_groups.is_empty() && i.parameter_groups.iter().all(|(_, st)| st == "in-sync");
    let right = expected.is_none_or(|e| i.parameter_groups.iter().any(|(n, _)| n == e));
    Check {
        name: "parameter-group".into(),
        ok: in_sync && right,
        detail: match (listed.is_empty(), right, expected) {
            (true, _, _) => "no parameter group reported".into(),
            (false, false, Some(e)) => format!("{listed}; expected {e}"),
            _ => listed,
        },
    }
}

/// The checks of a restored instance that the control plane can answer:
/// available, engine present, storage allocated, not publicly accessible,
/// the parameter group applied (the policy's, when it names one).
pub fn checks(i: &RestoredInstance, parameter_group: Option<&str>) -> Vec<Check> {
    let mut out = vec![
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
    ];
    out.push(parameter_group_check(i, parameter_group));
    out
}

/// The checks on a restored Aurora cluster and its member instance.
/// The checks of a volume restored from an EBS snapshot: it reached
/// `available`, has its storage, and is encrypted at rest (a volume
/// restored from an encrypted snapshot always is; one from an unencrypted
/// snapshot is not, which the auditor's encryption finding reports too).
pub fn volume_checks(v: &RestoredVolume) -> Vec<Check> {
    vec![
        Check {
            name: "available".into(),
            ok: v.state == "available",
            detail: format!("state {} in {}", v.state, v.zone),
        },
        Check {
            name: "storage".into(),
            ok: v.size_gib > 0,
            detail: format!("{} GiB", v.size_gib),
        },
        Check {
            name: "encryption".into(),
            ok: v.encrypted,
            detail: match (&v.encrypted, &v.kms_key) {
                (true, Some(k)) => format!("encrypted with {k}"),
                (true, None) => "encrypted".into(),
                (false, _) => "not encrypted at rest".into(),
            },
        },
    ]
}

/// The checks of a Redis replication group restored from a snapshot: it
/// reached `available`, runs its engine, has its shards and nodes (as many
/// shards as the snapshot had, when it says), and is encrypted at rest (the
/// test always asks for it: a snapshot that cannot be restored encrypted
/// fails the restore, not this check).
pub fn cache_checks(c: &RestoredCache, snapshot_shards: Option<usize>) -> Vec<Check> {
    let shards_ok = c.shards > 0 && c.nodes > 0 && snapshot_shards.is_none_or(|n| n == c.shards);
    vec![
        Check {
            name: "available".into(),
            ok: c.status == "available",
            detail: format!("status {}", c.status),
        },
        Check {
            name: "engine".into(),
            ok: !c.engine.is_empty(),
            detail: format!("{} {}", c.engine, c.engine_version)
                .trim()
                .to_string(),
        },
        Check {
            name: "storage".into(),
            ok: shards_ok,
            detail: match snapshot_shards {
                Some(n) if n != c.shards => format!(
                    "{} shard(s), {} node(s) of {}; the snapshot had {n} shard(s)",
                    c.shards, c.nodes, c.node_type
                ),
                _ => format!(
                    "{} shard(s), {} node(s) of {}",
                    c.shards, c.nodes, c.node_type
                ),
            },
        },
        Check {
            name: "encryption".into(),
            ok: c.at_rest_encrypted,
            detail: match (c.at_rest_encrypted, &c.kms_key) {
                (true, Some(k)) => format!("encrypted at rest with {k}"),
                (true, None) => "encrypted at rest".into(),
                (false, _) => "not encrypted at rest".into(),
            },
        },
    ]
}

/// Whether a Redis replication group is in a state that will not become
/// `available`.
pub fn cache_failed(status: &str) -> bool {
    matches!(status, "create-failed" | "deleting" | "deleted")
}

/// `rempart-rt-<group>-<yyyymmddhhmm>` in at most 40 characters: a valid
/// ElastiCache replication group id (a letter first, lowercase letters,
/// digits and single hyphens), cut and hashed as [`instance_id`] when the
/// group's name is long.
pub fn cache_group_id(group: &str, now: DateTime<Utc>) -> String {
    let mut slug = crate::naming::slug(group);
    if slug.is_empty() {
        slug.push_str("cache");
    }
    let stamp = now.format("%Y%m%d%H%M").to_string();
    crate::naming::fit_id(
        "rempart-rt",
        &[&slug],
        &stamp,
        crate::naming::ELASTICACHE_GROUP_ID_MAX,
    )
}

/// Whether an EBS volume is in a state that will not become `available`.
pub fn volume_failed(state: &str) -> bool {
    matches!(state, "error" | "deleting" | "deleted")
}

/// The idempotency token of a restore test's `CreateVolume` (EBS names
/// volumes itself): the same event creates the same volume once.
pub fn volume_token(volume: &str, now: DateTime<Utc>) -> String {
    stamped_id("rempart-rt", volume, now)
}

pub fn cluster_checks(
    c: &RestoredCluster,
    member: Option<&RestoredInstance>,
    parameter_group: Option<&str>,
) -> Vec<Check> {
    let member_status = member.map_or("missing", |m| m.status.as_str());
    let mut out = vec![
        Check {
            name: "available".into(),
            ok: c.status == "available" && member_status == "available",
            detail: format!("cluster {}, instance {member_status}", c.status),
        },
        Check {
            name: "engine".into(),
            ok: !c.engine.is_empty(),
            detail: format!("{} {}", c.engine, c.engine_version),
        },
        Check {
            name: "private".into(),
            ok: member.is_some_and(|m| !m.publicly_accessible),
            detail: match member {
                Some(m) if m.publicly_accessible => "instance publicly accessible".into(),
                Some(_) => "instance not publicly accessible".into(),
                None => "no instance".into(),
            },
        },
    ];
    if let Some(m) = member {
        out.push(parameter_group_check(m, parameter_group));
    }
    out
}

/// The metrics of a concluded restore test of `database` (a `kind`): its
/// measured RTO, its success (1 or 0) and its integrity (checks passed of
/// checks run, in percent).
pub fn emf_line(
    kind: &str,
    database: &str,
    rto_s: i64,
    ok: bool,
    results: &[Check],
    now: DateTime<Utc>,
) -> serde_json::Value {
    use crate::metrics::{emf, RESTORE_INTEGRITY, RESTORE_TEST_RTO, RESTORE_TEST_SUCCESS};
    let passed = results.iter().filter(|c| c.ok).count();
    let integrity = if results.is_empty() {
        0.0
    } else {
        100.0 * passed as f64 / results.len() as f64
    };
    emf(
        &format!("{kind}/{database}"),
        now,
        &[
            (RESTORE_TEST_RTO, rto_s as f64),
            (RESTORE_TEST_SUCCESS, if ok { 1.0 } else { 0.0 }),
            (RESTORE_INTEGRITY, integrity),
        ],
    )
}

/// The metric of a concluded DR drill of `database` (a `kind` of region
/// `home`): its measured region-failover time.
pub fn drill_emf_line(
    kind: &str,
    database: &str,
    home: &str,
    rto_s: i64,
    now: DateTime<Utc>,
) -> serde_json::Value {
    use crate::metrics::{emf, DRILL_RTO};
    emf(
        &format!("{kind}/{database}@{home}"),
        now,
        &[(DRILL_RTO, rto_s as f64)],
    )
}

/// The SQL check's verdict on what the database answered: the first value
/// of the first row (`Ok(None)`: no row), or the error.
pub fn sql_check(c: &SqlCheck, answer: std::result::Result<Option<String>, String>) -> Check {
    let sql = c.sql.as_deref().unwrap_or_default();
    let (ok, detail) = match answer {
        Err(e) => (false, format!("`{sql}` failed: {e}")),
        Ok(None) => (false, format!("`{sql}` returned no row")),
        Ok(Some(v)) => match (&c.equals, c.min_value, c.max_value) {
            (Some(want), _, _) if v.trim() == want.trim() => {
                (true, format!("`{sql}` returned {v} (as expected)"))
            }
            (Some(want), _, _) => (false, format!("`{sql}` returned {v}, not {want}")),
            (None, None, None) => (true, format!("`{sql}` returned {v}")),
            (None, lo, hi) => match v.trim().parse::<f64>() {
                Ok(n) if lo.is_some_and(|lo| n < lo) => (
                    false,
                    format!("`{sql}` returned {v}, below {}", lo.unwrap_or_default()),
                ),
                Ok(n) if hi.is_some_and(|hi| n > hi) => (
                    false,
                    format!("`{sql}` returned {v}, above {}", hi.unwrap_or_default()),
                ),
                Ok(_) => (
                    true,
                    format!(
                        "`{sql}` returned {v} ({})",
                        match (lo, hi) {
                            (Some(lo), Some(hi)) => format!("between {lo} and {hi}"),
                            (Some(lo), None) => format!("at least {lo}"),
                            (None, Some(hi)) => format!("at most {hi}"),
                            (None, None) => String::new(),
                        }
                    ),
                ),
                Err(_) => (false, format!("`{sql}` returned {v}, not a number")),
            },
        },
    };
    Check {
        name: "sql".into(),
        ok,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    fn dr_copy(
        kind: crate::kind::ResourceKind,
        id: &str,
        source_arn: &str,
        at: &str,
    ) -> SnapshotInfo {
        let tags: BTreeMap<String, String> = [
            ("rempart:managed", "true"),
            ("rempart:policy", "rewapp-postgres"),
            ("rempart:source", source_arn),
            ("rempart:scheduled-at", at),
            (
                "rempart:copy-of",
                &format!("arn:aws:rds:eu-west-1:123456789012:snapshot:{id}"),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        SnapshotInfo {
            kind,
            id: id.into(),
            arn: format!("arn:aws:rds:eu-central-1:123456789012:snapshot:{id}"),
            region: "eu-central-1".into(),
            source: "ignored".into(),
            status: "available".into(),
            created: None,
            tags,
            encrypted: true,
            kms_key: None,
        }
    }

    /// Proves: a failover drill's window opens on its days only, wraps
    /// midnight onto the day it opened, and its state is measured from the
    /// reboot to RDS's completed event (an event older than the reboot is
    /// not this drill's), slow past `alert_after`, given up at
    /// `give_up_after`; bad windows, days and bounds are refused.
    #[test]
    fn failover_drills_windows_and_states() {
        let parse = |extra: &str| -> FailoverDrills {
            toml::from_str(&format!("instances = [\"rewapp-prod-db\"]\n{extra}")).expect("parse")
        };
        let fo = parse("window = \"03:00-05:00\"\ndays = [\"sun\"]\n");
        assert!(fo.validate().is_ok());
        assert_eq!(fo.frequency, Frequency::Quarter);
        // 2025-11-23 is a Sunday.
        assert!(fo.in_window(t("2025-11-23T03:00:00Z")));
        assert!(fo.in_window(t("2025-11-23T04:59:00Z")));
        assert!(!fo.in_window(t("2025-11-23T05:00:00Z")));
        assert!(!fo.in_window(t("2025-11-24T03:30:00Z")), "a Monday");
        let night = parse("window = \"23:00-01:00\"\ndays = [\"sat\"]\n");
        assert!(night.in_window(t("2025-11-22T23:30:00Z")), "Saturday night");
        assert!(
            night.in_window(t("2025-11-23T00:30:00Z")),
            "opened Saturday"
        );
        assert!(!night.in_window(t("2025-11-23T23:30:00Z")), "Sunday night");
        let started = t("2025-11-23T03:00:00Z");
        assert_eq!(
            failover_state(
                &fo,
                started,
                Some(t("2025-11-23T03:02:30Z")),
                t("2025-11-23T03:05:00Z")
            ),
            FailoverState::Completed(150)
        );
        assert_eq!(
            failover_state(
                &fo,
                started,
                Some(t("2025-11-23T02:00:00Z")),
                t("2025-11-23T03:05:00Z")
            ),
            FailoverState::Running { slow: false }
        );
        assert_eq!(
            failover_state(&fo, started, None, t("2025-11-23T03:10:00Z")),
            FailoverState::Running { slow: true }
        );
        assert_eq!(
            failover_state(&fo, started, None, t("2025-11-23T04:00:00Z")),
            FailoverState::GivenUp
        );
        for (extra, why) in [
            ("window = \"3h-5h\"\n", "window"),
            ("window = \"03:00-03:00\"\n", "window"),
            ("window = \"03:00-05:00\"\ndays = [\"someday\"]\n", "days"),
            ("window = \"03:00-05:00\"\ntarget = \"20min\"\n", "target"),
            (
                "window = \"03:00-05:00\"\ngive_up_after = \"10min\"\n",
                "give_up_after",
            ),
        ] {
            let e = parse(extra).validate().expect_err(extra);
            assert!(e.contains(why), "{extra}: {e}");
        }
    }

    /// Proves: a Redis drill takes, per group, the newest available Rempart
    /// snapshot whose export reached this DR region's bucket, with its URL;
    /// a snapshot exported elsewhere, not yet transferred, of another
    /// policy or not Rempart's is never one.
    #[test]
    fn redis_drills_take_the_newest_export_in_the_dr_bucket() {
        use crate::kind::ResourceKind::ElasticacheRedis;
        let snap = |id: &str, at: &str, dr: Option<&str>| {
            let mut s = dr_copy(
                ElasticacheRedis,
                id,
                "arn:aws:elasticache:eu-west-1:123456789012:replicationgroup:rewapp-sessions",
                at,
            );
            s.region = "eu-west-1".into();
            s.tags.remove("rempart:copy-of");
            s.tags
                .insert("rempart:policy".into(), "rewapp-redis".into());
            if let Some(region) = dr {
                s.tags.insert(
                    format!("rempart:dr-copy:{region}"),
                    format!("s3://rewapp-dr-backups/{id}"),
                );
            }
            s
        };
        let mut foreign = snap("e", "2025-11-25T04:00:00Z", Some("eu-central-1"));
        foreign.tags.remove("rempart:managed");
        let snaps = vec![
            snap("a", "2025-11-22T04:00:00Z", Some("eu-central-1")),
            snap("b", "2025-11-23T04:00:00Z", Some("eu-central-1")),
            snap("c", "2025-11-24T04:00:00Z", None),
            snap("d", "2025-11-24T05:00:00Z", Some("us-east-1")),
            foreign,
        ];
        let got = redis_drill_candidates(&snaps, &["rewapp-redis".to_string()], "eu-central-1");
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].copy.id, "b");
        assert_eq!(got[0].resource, "rewapp-sessions");
        assert_eq!(got[0].source_region, "eu-west-1");
        assert_eq!(got[0].export.as_deref(), Some("s3://rewapp-dr-backups/b"));
        assert!(redis_drill_candidates(&snaps, &["other".to_string()], "eu-central-1").is_empty());
        // The snapshot drills of the other kinds never take a Redis one.
        assert!(drill_candidates(&snaps, &["rewapp-redis".to_string()]).is_empty());
    }

    /// Proves: a drill takes, per protected resource, the newest available
    /// Rempart DR copy of a drilled policy, with the resource's id and
    /// home region read from its `rempart:source` ARN; copies of other
    /// policies, unavailable ones, snapshots that are not copies and
    /// snapshots Rempart did not make are never candidates.
    #[test]
    fn drills_take_the_newest_copy_of_each_resource() {
        use crate::kind::ResourceKind::*;
        let db = "arn:aws:rds:eu-west-1:123456789012:db:rewapp-prod-db";
        let vol = "arn:aws:ec2:eu-west-1:123456789012:volume/vol-0abc";
        let mut copies = vec![
            dr_copy(RdsInstance, "a", db, "2025-11-22T02:00:00Z"),
            dr_copy(RdsInstance, "b", db, "2025-11-23T02:00:00Z"),
            dr_copy(RdsInstance, "c", db, "2025-11-21T02:00:00Z"),
            dr_copy(EbsVolume, "snap-1", vol, "2025-11-23T04:00:00Z"),
        ];
        let mut creating = dr_copy(RdsInstance, "d", db, "2025-11-24T02:00:00Z");
        creating.status = "creating".into();
        let mut other_policy = dr_copy(RdsInstance, "e", db, "2025-11-25T02:00:00Z");
        other_policy
            .tags
            .insert("rempart:policy".into(), "other".into());
        let mut not_a_copy = dr_copy(RdsInstance, "f", db, "2025-11-26T02:00:00Z");
        not_a_copy.tags.remove("rempart:copy-of");
        let mut foreign = dr_copy(RdsInstance, "g", db, "2025-11-27T02:00:00Z");
        foreign.tags.remove("rempart:managed");
        copies.extend([creating, other_policy, not_a_copy, foreign]);
        let got = drill_candidates(&copies, &["rewapp-postgres".to_string()]);
        let picked: Vec<(String, String, String, String)> = got
            .iter()
            .map(|c| {
                (
                    c.registry_key(),
                    c.copy.id.clone(),
                    c.policy.clone(),
                    c.source_region.clone(),
                )
            })
            .collect();
        assert_eq!(
            picked,
            [
                (
                    "ebs-volume#eu-west-1#vol-0abc".to_string(),
                    "snap-1".to_string(),
                    "rewapp-postgres".to_string(),
                    "eu-west-1".to_string()
                ),
                (
                    "rds-instance#eu-west-1#rewapp-prod-db".to_string(),
                    "b".to_string(),
                    "rewapp-postgres".to_string(),
                    "eu-west-1".to_string()
                ),
            ]
        );
        assert!(drill_candidates(&copies, &["nothing".to_string()]).is_empty());
    }

    /// Proves: a vault drill takes, per protected resource, the copy the
    /// backup account made last (its creation time there), not the one
    /// whose production tags claim the latest date; copies of another
    /// account's snapshots, the backup account's own DR-style copies,
    /// unavailable copies and other policies are never candidates; the
    /// resource and its region are production's.
    #[test]
    fn vault_drills_take_the_copy_the_backup_account_made_last() {
        use crate::kind::ResourceKind::*;
        let db = "arn:aws:rds:eu-west-1:123456789012:db:rewapp-prod-db";
        let vault = |id: &str, of_account: &str, made: &str, tagged: &str| {
            let mut s = dr_copy(RdsInstance, id, db, tagged);
            s.arn = format!("arn:aws:rds:eu-west-1:210987654321:snapshot:{id}");
            s.region = "eu-west-1".into();
            s.tags.insert(
                "rempart:copy-of".into(),
                format!("arn:aws:rds:eu-west-1:{of_account}:snapshot:{id}"),
            );
            s.created = Some(t(made));
            s
        };
        let older = vault(
            "a",
            "123456789012",
            "2026-12-01T02:10:00Z",
            "2026-12-01T02:00:00Z",
        );
        // Made before `newest`, but its source claims a later date.
        let forged = vault(
            "b",
            "123456789012",
            "2026-12-02T02:10:00Z",
            "2099-01-01T02:00:00Z",
        );
        let newest = vault(
            "c",
            "123456789012",
            "2026-12-03T02:10:00Z",
            "2026-12-03T02:00:00Z",
        );
        let other_account = vault(
            "d",
            "999999999999",
            "2026-12-04T02:10:00Z",
            "2026-12-04T02:00:00Z",
        );
        let mut own_copy = vault(
            "e",
            "210987654321",
            "2026-12-05T02:10:00Z",
            "2026-12-05T02:00:00Z",
        );
        own_copy.arn = "arn:aws:rds:eu-west-1:210987654321:snapshot:e".into();
        let mut creating = vault(
            "f",
            "123456789012",
            "2026-12-06T02:10:00Z",
            "2026-12-06T02:00:00Z",
        );
        creating.status = "creating".into();
        let mut other_policy = vault(
            "g",
            "123456789012",
            "2026-12-07T02:10:00Z",
            "2026-12-07T02:00:00Z",
        );
        other_policy
            .tags
            .insert("rempart:policy".into(), "other".into());
        let snaps = vec![
            older,
            forged,
            newest,
            other_account,
            own_copy,
            creating,
            other_policy,
        ];
        let got = vault_drill_candidates(
            snaps.clone(),
            &["rewapp-postgres".to_string()],
            "123456789012",
        );
        let picked: Vec<(String, String)> = got
            .iter()
            .map(|c| (c.registry_key(), c.copy.id.clone()))
            .collect();
        assert_eq!(
            picked,
            [(
                "rds-instance#eu-west-1#rewapp-prod-db".to_string(),
                "c".to_string()
            )]
        );
        assert!(
            vault_drill_candidates(snaps, &["rewapp-postgres".to_string()], "111111111111")
                .is_empty()
        );
    }

    /// Proves: a restore from the vault may name only the vault copies of
    /// the database (of the production account, available), listed oldest
    /// first by when the backup account made them, with no point-in-time
    /// window: a point in time is refused naming the newest copy before it,
    /// a copy of another database or account is refused, the newest copy
    /// is accepted.
    #[test]
    fn a_restore_from_the_vault_takes_the_vault_copies_only() {
        use crate::kind::ResourceKind::*;
        let db = "arn:aws:rds:eu-west-1:123456789012:db:rewapp-prod-db";
        let other_db = "arn:aws:rds:eu-west-1:123456789012:db:other-db";
        let copy = |id: &str, source: &str, of_account: &str, made: &str| {
            let mut s = dr_copy(RdsInstance, id, source, "2099-01-01T00:00:00Z");
            s.arn = format!("arn:aws:rds:eu-west-1:210987654321:snapshot:{id}");
            s.tags.insert(
                "rempart:copy-of".into(),
                format!("arn:aws:rds:eu-west-1:{of_account}:snapshot:{id}"),
            );
            s.created = Some(t(made));
            s
        };
        let snaps = vec![
            copy("b", db, "123456789012", "2026-12-02T02:10:00Z"),
            copy("a", db, "123456789012", "2026-12-01T02:10:00Z"),
            copy("c", other_db, "123456789012", "2026-12-03T02:10:00Z"),
            copy("d", db, "999999999999", "2026-12-04T02:10:00Z"),
        ];
        let (kind, w) = vault_windows(snaps.clone(), Some("123456789012"), "rewapp-prod-db");
        // Any other account's: the copy of account 999999999999 too.
        let (_, any) = vault_windows(snaps.clone(), None, "rewapp-prod-db");
        assert_eq!(any.snapshots.len(), 3, "{any:?}");
        assert_eq!(kind, Some(RdsInstance));
        assert_eq!(
            w.snapshots,
            [
                ("a".to_string(), t("2026-12-01T02:10:00Z")),
                ("b".to_string(), t("2026-12-02T02:10:00Z"))
            ]
        );
        assert!(w.pitr.is_none());
        let req = |snapshot: Option<&str>, at: Option<&str>| RestoreRequest {
            database: "rewapp-prod-db".into(),
            snapshot: snapshot.map(str::to_string),
            point_in_time: at.map(t),
            target: Some("rewapp-recovered".into()),
            instance_class: None,
            environment: "production".into(),
            scope: String::new(),
            requested_by: "alice".into(),
            reason: "ransomware".into(),
            approved_by: "bob".into(),
            ticket: None,
            not_before: None,
            to_account: None,
        };
        let now = t("2026-12-03T08:00:00Z");
        assert!(decide(&req(Some("b"), None), &w, false, now).is_ok());
        for refused in ["c", "d"] {
            let why = decide(&req(Some(refused), None), &w, false, now).unwrap_err();
            assert!(why.contains("is not an available snapshot"), "{why}");
        }
        let why = decide(&req(None, Some("2026-12-02T12:00:00Z")), &w, false, now).unwrap_err();
        assert!(
            why.contains("ask for that snapshot instead") && why.contains(" b "),
            "{why}"
        );
        let (none, empty) = vault_windows(snaps, Some("123456789012"), "missing-db");
        assert!(none.is_none() && empty.snapshots.is_empty());
    }

    /// Proves: the vault bucket's files are grouped per export (a
    /// multi-shard export's `-000N` files as one, written when its last file
    /// was), and a Redis vault drill takes, per resource, the export the
    /// backup account received last, whatever production's names or dates
    /// say; exports of another account, of another policy, not Rempart's or
    /// without a source are never drilled; the seed URL is the export's
    /// prefix in the vault bucket.
    #[test]
    fn redis_vault_drills_take_the_export_received_last() {
        let files = vec![
            (
                "rempart-r-g-20261201-0400-0001.rdb".to_string(),
                t("2026-12-01T04:20:00Z"),
            ),
            (
                "rempart-r-g-20261201-0400-0002.rdb".to_string(),
                t("2026-12-01T04:21:00Z"),
            ),
            // Named as if older, received later.
            (
                "rempart-r-g-20261130-0400.rdb".to_string(),
                t("2026-12-02T04:20:00Z"),
            ),
            (
                "rempart-r-x-20261201-0400.rdb".to_string(),
                t("2026-12-03T04:20:00Z"),
            ),
            (
                "rempart-r-y-20261201-0400.rdb".to_string(),
                t("2026-12-03T04:20:00Z"),
            ),
            ("notes.txt".to_string(), t("2026-12-03T04:20:00Z")),
        ];
        let exports = vault_exports(&files);
        assert_eq!(exports.len(), 4, "{exports:?}");
        let shards = exports
            .iter()
            .find(|e| e.name == "rempart-r-g-20261201-0400")
            .expect("the two-shard export");
        assert_eq!(shards.written, t("2026-12-01T04:21:00Z"));
        assert_eq!(shards.first_key, "rempart-r-g-20261201-0400-0001.rdb");
        let tags = |name: &str, account: &str, policy: &str, source: Option<&str>| {
            let mut m: BTreeMap<String, String> = [
                ("rempart:managed", "true".to_string()),
                ("rempart:policy", policy.to_string()),
                (
                    "rempart:copy-of",
                    format!("arn:aws:elasticache:eu-west-1:{account}:snapshot:{name}"),
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            if let Some(src) = source {
                m.insert("rempart:source".into(), src.into());
            }
            m
        };
        let group = "arn:aws:elasticache:eu-west-1:123456789012:replicationgroup:g";
        let tagged: Vec<(VaultExport, BTreeMap<String, String>)> = exports
            .into_iter()
            .map(|e| {
                let t = match e.name.as_str() {
                    "rempart-r-x-20261201-0400" => tags(&e.name, "999999999999", "r", Some(group)),
                    "rempart-r-y-20261201-0400" => tags(&e.name, "123456789012", "r", None),
                    _ => tags(&e.name, "123456789012", "r", Some(group)),
                };
                (e, t)
            })
            .collect();
        let got = vault_redis_candidates(
            tagged.clone(),
            &["r".to_string()],
            "123456789012",
            "vault-bucket",
        );
        let picked: Vec<(String, String, Option<String>)> = got
            .iter()
            .map(|c| (c.registry_key(), c.copy.id.clone(), c.export.clone()))
            .collect();
        assert_eq!(
            picked,
            [(
                "elasticache-redis#eu-west-1#g".to_string(),
                "rempart-r-g-20261130-0400".to_string(),
                Some("s3://vault-bucket/rempart-r-g-20261130-0400".to_string())
            )]
        );
        assert!(
            vault_redis_candidates(tagged, &["other".to_string()], "123456789012", "b").is_empty()
        );
    }

    /// Proves: a drill runs with the restore tests' checks and the data
    /// checks it can run in the DR region (on instances, with the copy's own
    /// master secret; not those naming a primary-region secret nor the
    /// Aurora Data API ones), but its own thresholds (target as the time objective, its alert and
    /// give-up) and DR placement, and no primary-region parameter group;
    /// without `[restore_tests]`, the tests' defaults. `half-year` periods
    /// are January-June and July-December; the section's bounds are
    /// checked.
    #[test]
    fn drill_settings_frequency_and_bounds() {
        let drills: Drills = toml::from_str(
            "policies = [\"rewapp-postgres\"]\nsubnet_group = \"dr-private\"\nsecurity_groups = [\"sg-dr\"]\n",
        )
        .expect("drills");
        assert_eq!(drills.frequency, Frequency::HalfYear);
        let tests: RestoreTests = toml::from_str(
            "policies = [\"x\"]\nparameter_group = \"pg16\"\nsubnet_group = \"primary\"\n[[sql_checks]]\ninstance = \"rewapp-prod-db\"\ntables = [\"users\"]\n[[sql_checks]]\ninstance = \"rewapp-prod-db\"\nsecret_arn = \"arn:aws:secretsmanager:eu-west-1:123456789012:secret:ro-AbCdEf\"\nsql = \"SELECT 1\"\n[[sql_checks]]\ncluster = \"rewapp-aurora\"\nsecret_arn = \"arn:aws:secretsmanager:eu-west-1:123456789012:secret:a-AbCdEf\"\nsql = \"SELECT 1\"\n",
        )
        .expect("tests");
        let cfg = drills.settings(Some(&tests));
        assert_eq!(cfg.policies, ["rewapp-postgres"]);
        assert_eq!(cfg.alert_after, "6h".parse().expect("span"));
        assert_eq!(cfg.give_up_after, "12h".parse().expect("span"));
        assert_eq!(cfg.time_objective, Some("4h".parse().expect("span")));
        assert_eq!(cfg.subnet_group.as_deref(), Some("dr-private"));
        assert_eq!(cfg.security_groups, ["sg-dr"]);
        assert_eq!(cfg.parameter_group, None);
        // Only the instance check with the copy's own secret is kept.
        assert_eq!(tests.sql_checks.len(), 3);
        assert_eq!(cfg.data_checks("rewapp-prod-db").len(), 1);
        assert!(cfg.data_checks("rewapp-prod-db")[0].secret_arn.is_none());
        assert!(cfg.data_checks("rewapp-aurora").is_empty());
        assert!(cfg.validate().is_ok());
        let bare = drills.settings(None);
        assert_eq!(bare.instance_class, "db.t4g.micro");
        assert!(bare.validate().is_ok());
        let every = Frequency::HalfYear;
        assert!(!due(
            &[t("2025-02-01T00:00:00Z")],
            t("2025-06-30T23:59:00Z"),
            every
        ));
        assert!(due(
            &[t("2025-02-01T00:00:00Z")],
            t("2025-07-01T00:00:00Z"),
            every
        ));
        let bad: Drills = toml::from_str("policies = [\"p\"]\ntarget = \"7h\"\n").expect("parse");
        assert!(bad.validate().unwrap_err().contains("target"));
        let bad: Drills =
            toml::from_str("policies = [\"p\"]\ngive_up_after = \"5h\"\n").expect("parse");
        assert!(bad.validate().unwrap_err().contains("give_up_after"));
        let none: Drills = toml::from_str("policies = []\n").expect("parse");
        assert!(none.validate().is_err());
    }

    /// Proves: a test is given up at `give_up_after` (6 h unless the policy
    /// says), not a second before; a `give_up_after` not longer than
    /// `alert_after` is refused with both values named, since a test must
    /// be reported slow before it is given up.
    #[test]
    fn a_test_is_given_up_after_its_deadline() {
        let policy = |extra: &str| {
            crate::policy::PolicyDocument::from_toml(
                &format!(
                    "version = 1\n[policies.p]\nkinds = [\"rds-instance\"]\nrpo = \"26h\"\n[policies.p.retention]\nkeep_last = 2\n[restore_tests]\npolicies = [\"p\"]\n{extra}"
                ),
                "test",
            )
        };
        let doc = policy("").expect("defaults");
        let cfg = doc.restore_tests.expect("section");
        let six = chrono::TimeDelta::hours(6);
        assert!(!cfg.given_up(six - chrono::TimeDelta::seconds(1)));
        assert!(cfg.given_up(six));
        let doc = policy("give_up_after = \"2h\"").expect("2h");
        assert!(doc
            .restore_tests
            .expect("section")
            .given_up(chrono::TimeDelta::hours(2)));
        let refused = policy("alert_after = \"1h\"\ngive_up_after = \"1h\"")
            .expect_err("not longer than alert_after")
            .to_string();
        assert!(
            refused.contains("give_up_after (1h)") && refused.contains("alert_after (1h)"),
            "{refused}"
        );
    }

    /// Proves: one test per calendar month.
    #[test]
    fn a_database_is_due_once_a_month() {
        let m = Frequency::Month;
        assert!(due(&[], t("2025-11-23T02:00:00Z"), m));
        assert!(!due(
            &[t("2025-11-01T03:00:00Z")],
            t("2025-11-23T02:00:00Z"),
            m
        ));
        assert!(due(
            &[t("2025-10-31T23:00:00Z")],
            t("2025-11-01T00:05:00Z"),
            m
        ));
    }

    /// Proves: a test is due once per calendar period of its frequency: a
    /// week is the ISO week (a Sunday's test does not count on the Monday
    /// after; a Monday's counts until Sunday), across a year boundary too
    /// (2025-12-29 is in ISO week 1 of 2026, like 2026-01-02); a quarter is
    /// three calendar months; a day is the UTC date; a test finished after
    /// `now` (a replayed older event) does not count; the policy's
    /// `frequency_by_kind` overrides `frequency` for its kinds only.
    #[test]
    fn frequencies_follow_calendar_periods() {
        let (w, q, d) = (Frequency::Week, Frequency::Quarter, Frequency::Day);
        // 2025-11-23 is a Sunday, 2025-11-24 a Monday.
        assert!(due(
            &[t("2025-11-23T10:00:00Z")],
            t("2025-11-24T00:05:00Z"),
            w
        ));
        assert!(!due(
            &[t("2025-11-24T00:05:00Z")],
            t("2025-11-30T23:55:00Z"),
            w
        ));
        assert!(!due(
            &[t("2025-12-29T06:00:00Z")],
            t("2026-01-02T06:00:00Z"),
            w
        ));
        assert!(!due(
            &[t("2025-10-01T06:00:00Z")],
            t("2025-12-31T06:00:00Z"),
            q
        ));
        assert!(due(
            &[t("2025-09-30T06:00:00Z")],
            t("2025-10-01T06:00:00Z"),
            q
        ));
        assert!(due(
            &[t("2025-11-23T23:59:00Z")],
            t("2025-11-24T00:00:00Z"),
            d
        ));
        assert!(due(
            &[t("2025-11-25T06:00:00Z")],
            t("2025-11-24T06:00:00Z"),
            w
        ));
        let doc = crate::policy::PolicyDocument::from_toml(
            "version = 1\n[policies.p]\nkinds = [\"rds-instance\", \"ebs-volume\"]\nrpo = \"26h\"\n[policies.p.retention]\nkeep_last = 2\n[restore_tests]\npolicies = [\"p\"]\n[restore_tests.frequency_by_kind]\nebs-volume = \"week\"\n",
            "test",
        )
        .expect("policy");
        let cfg = doc.restore_tests.expect("section");
        use crate::kind::ResourceKind::*;
        assert_eq!(cfg.frequency_of(EbsVolume), Frequency::Week);
        assert_eq!(cfg.frequency_of(RdsInstance), Frequency::Month);
    }

    /// Proves: a scheduled request is due once its `not_before` has come
    /// and until it is dispatched, in the order scheduled; a request not
    /// yet due, one already dispatched and a record that holds no request
    /// are not; a `not_before` more than 30 days ahead is refused with the
    /// time named.
    #[test]
    fn scheduled_requests_come_due_once() {
        use crate::announce::{Outcome, RegistryRecord};
        let rec = |action: &str, time: &str, id: &str, details: serde_json::Value| RegistryRecord {
            resource: scheduled_requests_key("eu-west-1"),
            time: t(time),
            action: action.into(),
            subject: id.into(),
            outcome: Outcome::Success,
            policy: None,
            region: "eu-west-1".into(),
            function: "restore-tester".into(),
            details,
            cause: None,
        };
        let at = |nb: &str| {
            let mut r = request();
            r.not_before = Some(t(nb));
            serde_json::json!({ "request": r })
        };
        let recs = vec![
            rec(
                "restore.scheduled",
                "2025-11-20T10:00:00Z",
                "b",
                at("2025-11-22T20:00:00Z"),
            ),
            rec(
                "restore.scheduled",
                "2025-11-20T09:00:00Z",
                "a",
                at("2025-11-22T20:00:00Z"),
            ),
            rec(
                "restore.scheduled",
                "2025-11-20T11:00:00Z",
                "later",
                at("2025-11-23T20:00:00Z"),
            ),
            rec(
                "restore.scheduled",
                "2025-11-20T12:00:00Z",
                "done",
                at("2025-11-21T20:00:00Z"),
            ),
            rec(
                "restore.dispatched",
                "2025-11-21T20:05:00Z",
                "done",
                serde_json::Value::Null,
            ),
            rec(
                "restore.scheduled",
                "2025-11-20T13:00:00Z",
                "junk",
                serde_json::json!({}),
            ),
        ];
        let ids = |now: &str| -> Vec<String> {
            due_requests(&recs, t(now))
                .into_iter()
                .map(|(id, _)| id)
                .collect()
        };
        assert_eq!(ids("2025-11-22T19:59:00Z"), Vec::<String>::new());
        assert_eq!(ids("2025-11-22T20:00:00Z"), ["a", "b"]);
        assert_eq!(ids("2025-11-24T00:00:00Z"), ["a", "b", "later"]);
        let mut far = request();
        far.point_in_time = None;
        far.snapshot = Some("s".into());
        far.not_before = Some(t("2026-01-01T00:00:00Z"));
        let why = decide(&far, &windows(), false, t("2025-11-24T00:00:00Z")).expect_err("too far");
        assert!(
            why.contains("2026-01-01T00:00:00Z") && why.contains("30 days"),
            "{why}"
        );
    }

    fn request() -> RestoreRequest {
        RestoreRequest {
            database: "rewapp-prod-db".into(),
            snapshot: None,
            point_in_time: Some(t("2025-11-20T14:30:00Z")),
            target: None,
            instance_class: None,
            environment: "production".into(),
            scope: "Visitor".into(),
            requested_by: "alice@rewapp.io".into(),
            reason: "bad import batch at 14:35".into(),
            approved_by: "bob@rewapp.io".into(),
            ticket: None,
            not_before: None,
            to_account: None,
        }
    }

    fn windows() -> Windows {
        Windows {
            pitr: Some((t("2025-11-16T03:00:00Z"), t("2025-11-23T09:55:00Z"))),
            snapshots: vec![
                ("snap-1101".into(), t("2025-11-01T02:00:00Z")),
                ("snap-1110".into(), t("2025-11-10T02:00:00Z")),
                ("snap-1122".into(), t("2025-11-22T02:00:00Z")),
            ],
        }
    }

    /// Proves: a point inside the PITR window, or an available snapshot, is
    /// accepted into a new instance named after the database and the time.
    #[test]
    fn a_request_inside_the_window_is_accepted() {
        let now = t("2025-11-23T10:00:00Z");
        let p = decide(&request(), &windows(), false, now).expect("accepted");
        assert_eq!(
            p,
            RestorePlan {
                source: RestoreSource::PointInTime(t("2025-11-20T14:30:00Z")),
                target: "rempart-rr-rewapp-prod-db-202511231000".into()
            }
        );
        let r = RestoreRequest {
            snapshot: Some("snap-1101".into()),
            point_in_time: None,
            target: Some("rewapp-prod-db-restored".into()),
            ..request()
        };
        let p = decide(&r, &windows(), false, now).expect("accepted");
        assert_eq!(p.source, RestoreSource::Snapshot("snap-1101".into()));
        assert_eq!(p.target, "rewapp-prod-db-restored");
    }

    /// Proves: a point outside the PITR window is refused with both windows
    /// and the snapshot to ask for instead; an unknown snapshot, a missing
    /// approval, a self-approval, the source as target, an existing target,
    /// an invalid name and a name reserved for the restore tests are
    /// refused, each with its reason.
    #[test]
    fn requests_outside_the_window_or_unapproved_are_refused() {
        let now = t("2025-11-23T10:00:00Z");
        let w = windows();
        let old = RestoreRequest {
            point_in_time: Some(t("2025-11-12T08:00:00Z")),
            ..request()
        };
        let e = decide(&old, &w, false, now).expect_err("refused");
        assert_eq!(
            e,
            "2025-11-12T08:00:00Z is outside the window: the point-in-time window of rewapp-prod-db is 2025-11-16T03:00:00Z to 2025-11-23T09:55:00Z; its 3 available snapshot(s) cover 2025-11-01T02:00:00Z to 2025-11-22T02:00:00Z; the newest snapshot before it is snap-1110 (taken 2025-11-10T02:00:00Z): ask for that snapshot instead"
        );
        let no_pitr = Windows {
            pitr: None,
            snapshots: vec![],
        };
        let e = decide(&request(), &no_pitr, false, now).expect_err("refused");
        assert!(
            e.contains("point-in-time restore is off") && e.contains("no available snapshot"),
            "{e}"
        );
        let cases: Vec<(RestoreRequest, bool, &str)> = vec![
            (
                RestoreRequest {
                    snapshot: Some("nope".into()),
                    point_in_time: None,
                    ..request()
                },
                false,
                "nope is not an available snapshot of rewapp-prod-db; the point-in-time window",
            ),
            (
                RestoreRequest {
                    snapshot: Some("snap-1101".into()),
                    ..request()
                },
                false,
                "not both",
            ),
            (
                RestoreRequest {
                    approved_by: " ".into(),
                    ..request()
                },
                false,
                "no approved_by",
            ),
            (
                RestoreRequest {
                    approved_by: "Alice@rewapp.io".into(),
                    ..request()
                },
                false,
                "cannot approve their own",
            ),
            (
                RestoreRequest {
                    target: Some("rewapp-prod-db".into()),
                    ..request()
                },
                false,
                "cannot be the source",
            ),
            (
                RestoreRequest {
                    target: Some("restored".into()),
                    ..request()
                },
                true,
                "already exists",
            ),
            (
                RestoreRequest {
                    target: Some("9-bad--name-".into()),
                    ..request()
                },
                false,
                "not a valid RDS instance identifier",
            ),
            (
                RestoreRequest {
                    target: Some("rempart-rt-mine".into()),
                    ..request()
                },
                false,
                "restore tests' throw-away",
            ),
        ];
        for (r, exists, want) in cases {
            let e = decide(&r, &w, exists, now).expect_err(want);
            assert!(e.contains(want), "{e} should say {want}");
        }
    }

    /// Proves: the SQL check passes on a value at least the minimum, and
    /// fails, saying why, on a smaller value, a non-number, no row, or an
    /// error; without a minimum any row passes.
    #[test]
    fn the_sql_check_reads_the_first_value() {
        let c = SqlCheck {
            cluster: Some("rewapp-aurora".into()),
            secret_arn: Some("arn:aws:secretsmanager:eu-west-1:1:secret:x".into()),
            sql: Some("SELECT count(*) FROM users".into()),
            min_value: Some(1.0),
            ..check()
        };
        assert!(sql_check(&c, Ok(Some("1200".into()))).ok);
        let low = sql_check(&c, Ok(Some("0".into())));
        assert!(!low.ok && low.detail.contains("below 1"), "{low:?}");
        assert!(!sql_check(&c, Ok(Some("abc".into()))).ok);
        assert!(!sql_check(&c, Ok(None)).ok);
        let err = sql_check(
            &c,
            Err("BadRequestException: HttpEndpoint is not enabled".into()),
        );
        assert!(!err.ok && err.detail.contains("HttpEndpoint"), "{err:?}");
        let any = SqlCheck {
            min_value: None,
            ..c.clone()
        };
        assert!(sql_check(&any, Ok(Some("abc".into()))).ok);
        let capped = SqlCheck {
            max_value: Some(1000.0),
            ..c.clone()
        };
        let high = sql_check(&capped, Ok(Some("1200".into())));
        assert!(!high.ok && high.detail.contains("above 1000"), "{high:?}");
        assert!(sql_check(&capped, Ok(Some("999.5".into()))).ok);
        let exact = SqlCheck {
            min_value: None,
            equals: Some("t".into()),
            ..c
        };
        assert!(sql_check(&exact, Ok(Some("t".into()))).ok);
        let wrong = sql_check(&exact, Ok(Some("f".into())));
        assert!(!wrong.ok && wrong.detail.contains("not t"), "{wrong:?}");
    }

    /// Proves: a concluded test's metrics are its RTO, 1/0 for success and
    /// the share of checks that passed (3 of 4: 75 %).
    #[test]
    fn a_concluded_test_gives_rto_success_and_integrity() {
        let now: DateTime<Utc> = "2025-11-23T06:05:00Z".parse().expect("time");
        let c = |ok| Check {
            name: "sql".into(),
            ok,
            detail: String::new(),
        };
        let l = emf_line(
            "rds-instance",
            "rewapp-prod-db",
            600,
            false,
            &[c(true), c(true), c(false), c(true)],
            now,
        );
        assert_eq!(l["Resource"], "rds-instance/rewapp-prod-db");
        assert_eq!(l["RestoreTestRtoSeconds"], 600);
        assert_eq!(l["RestoreTestSuccess"], 0);
        assert_eq!(l["RestoreIntegrityPercent"], 75);
    }

    fn check() -> SqlCheck {
        SqlCheck {
            cluster: None,
            instance: Some("rewapp-prod-db".into()),
            secret_arn: None,
            database: None,
            tables: Vec::new(),
            sql: None,
            min_value: None,
            max_value: None,
            equals: None,
        }
    }

    /// Proves: a table name becomes one quoted identifier per part (a quote
    /// in a name is doubled, so no name can end the identifier and add SQL);
    /// three parts, an empty part or a NUL are refused.
    #[test]
    fn table_names_are_quoted_identifiers_never_sql() {
        assert_eq!(
            table_statement("public.users", Dialect::Postgres).as_deref(),
            Ok("SELECT 1 FROM \"public\".\"users\" LIMIT 1")
        );
        assert_eq!(
            table_statement("orders", Dialect::Postgres).as_deref(),
            Ok("SELECT 1 FROM \"orders\" LIMIT 1")
        );
        assert_eq!(
            table_statement("x\"; DROP TABLE users; --", Dialect::Postgres).as_deref(),
            Ok("SELECT 1 FROM \"x\"\"; DROP TABLE users; --\" LIMIT 1")
        );
        for bad in ["a.b.c", "", "public.", "a\0b"] {
            assert!(table_statement(bad, Dialect::Postgres).is_err(), "{bad:?}");
            assert!(table_statement(bad, Dialect::MySql).is_err(), "{bad:?}");
        }
    }

    /// Proves: on MySQL-family engines (Aurora MySQL through the Data API)
    /// a table name is quoted with backticks, a backtick in a name doubled,
    /// since double quotes there make a string, not a name; the engine
    /// names pick the dialect.
    #[test]
    fn mysql_table_names_are_backtick_identifiers() {
        assert_eq!(
            table_statement("app.users", Dialect::MySql).as_deref(),
            Ok("SELECT 1 FROM `app`.`users` LIMIT 1")
        );
        assert_eq!(
            table_statement("x`; DROP TABLE users; --", Dialect::MySql).as_deref(),
            Ok("SELECT 1 FROM `x``; DROP TABLE users; --` LIMIT 1")
        );
        for (engine, d) in [
            ("aurora-mysql", Dialect::MySql),
            ("mysql", Dialect::MySql),
            ("mariadb", Dialect::MySql),
            ("aurora-postgresql", Dialect::Postgres),
            ("postgres", Dialect::Postgres),
        ] {
            assert_eq!(Dialect::of(engine), d, "{engine}");
        }
    }

    /// Proves: a table check passes on a row or an empty table and fails,
    /// with the database's reason, on an error.
    #[test]
    fn a_table_check_fails_with_the_reason() {
        assert!(table_check("users", Ok(Some("1".into()))).ok);
        let empty = table_check("users", Ok(None));
        assert!(empty.ok && empty.detail.contains("empty"));
        let gone = table_check("users", Err("relation \"users\" does not exist".into()));
        assert!(
            !gone.ok && gone.detail.contains("does not exist"),
            "{gone:?}"
        );
        assert_eq!(gone.name, "tables");
    }

    /// Proves: the data checks a policy can write are validated: one target
    /// (instance or cluster), a secret for a cluster, something to check,
    /// comparisons only with a statement, numbers or text not both, an
    /// ordered range, table names that are names.
    #[test]
    fn data_checks_are_validated() {
        let ok = SqlCheck {
            tables: vec!["public.users".into()],
            ..check()
        };
        assert_eq!(ok.validate("c"), Ok(()));
        let cases = [
            (
                SqlCheck {
                    instance: None,
                    ..ok.clone()
                },
                "name the protected database",
            ),
            (
                SqlCheck {
                    cluster: Some("a".into()),
                    ..ok.clone()
                },
                "one of them",
            ),
            (
                SqlCheck {
                    instance: None,
                    cluster: Some("a".into()),
                    ..ok.clone()
                },
                "needs `secret_arn`",
            ),
            (
                SqlCheck {
                    tables: vec![],
                    ..ok.clone()
                },
                "nothing to check",
            ),
            (
                SqlCheck {
                    min_value: Some(1.0),
                    ..ok.clone()
                },
                "add the statement",
            ),
            (
                SqlCheck {
                    sql: Some("SELECT 1".into()),
                    min_value: Some(1.0),
                    equals: Some("1".into()),
                    ..ok.clone()
                },
                "one or the other",
            ),
            (
                SqlCheck {
                    sql: Some("SELECT 1".into()),
                    min_value: Some(5.0),
                    max_value: Some(1.0),
                    ..ok.clone()
                },
                "above max_value",
            ),
            (
                SqlCheck {
                    tables: vec!["a.b.c".into()],
                    ..ok.clone()
                },
                "not a table name",
            ),
        ];
        for (c, says) in cases {
            let e = c.validate("c").expect_err(says);
            assert!(e.contains(says), "{e}");
        }
    }

    /// Proves: RDS's secret format gives the credentials; anything else is
    /// refused without echoing the secret.
    #[test]
    fn credentials_come_from_an_rds_format_secret() {
        assert_eq!(
            credentials(r#"{"username":"admin","password":"P@55w0rd!","engine":"postgres"}"#),
            Ok(("admin".into(), "P@55w0rd!".into()))
        );
        let e = credentials("hunter2").expect_err("not JSON");
        assert!(!e.contains("hunter2"));
        assert!(credentials(r#"{"username":"admin"}"#).is_err());
    }

    fn restored(groups: &[(&str, &str)]) -> RestoredInstance {
        RestoredInstance {
            endpoint: None,
            master_secret: None,
            id: "rempart-rt-db-202511230600".into(),
            arn: String::new(),
            cluster: None,
            status: "available".into(),
            engine: "postgres".into(),
            engine_version: "16.4".into(),
            storage_gb: 20,
            publicly_accessible: false,
            parameter_groups: groups
                .iter()
                .map(|(n, s)| (n.to_string(), s.to_string()))
                .collect(),
            tags: Default::default(),
        }
    }

    /// Proves: the parameter-group check passes when every group is in
    /// sync and the policy's group (if named) is applied, and says why it
    /// fails otherwise; the policy's `checks` keep only the named checks,
    /// `available` always.
    #[test]
    fn the_parameter_group_check_and_the_named_checks() {
        let pg = |i: &RestoredInstance, want: Option<&str>| {
            checks(i, want)
                .into_iter()
                .find(|c| c.name == "parameter-group")
                .expect("check")
        };
        let ok = restored(&[("rewapp-pg16", "in-sync")]);
        assert!(pg(&ok, Some("rewapp-pg16")).ok);
        assert!(pg(&ok, None).ok);
        let other = pg(
            &restored(&[("default.postgres16", "in-sync")]),
            Some("rewapp-pg16"),
        );
        assert!(
            !other.ok && other.detail.ends_with("expected rewapp-pg16"),
            "{other:?}"
        );
        let pending = pg(&restored(&[("rewapp-pg16", "pending-reboot")]), None);
        assert!(!pending.ok && pending.detail.contains("pending-reboot"));
        assert!(!pg(&restored(&[]), None).ok);
        let kept: Vec<String> = named(checks(&ok, None), &[CheckName::Private])
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(kept, ["available", "private"]);
    }

    /// Proves: a restored volume passes when available, with storage and
    /// encrypted (the key named); it fails on each of them, with the state,
    /// size or "not encrypted" in the detail; `error` is a state that will
    /// not become available, `creating` is not; the idempotency token is
    /// the same for the same volume and minute.
    #[test]
    fn volume_checks_and_states() {
        let v = RestoredVolume {
            id: "vol-1".into(),
            state: "available".into(),
            size_gib: 100,
            encrypted: true,
            kms_key: Some("arn:aws:kms:eu-west-1:1:key/k".into()),
            zone: "eu-west-1a".into(),
            tags: BTreeMap::new(),
        };
        let ok = |v: &RestoredVolume| volume_checks(v).iter().all(|c| c.ok);
        assert!(ok(&v));
        assert!(volume_checks(&v)[2].detail.contains("key/k"));
        for (bad, detail) in [
            (
                RestoredVolume {
                    state: "creating".into(),
                    ..v.clone()
                },
                "state creating",
            ),
            (
                RestoredVolume {
                    size_gib: 0,
                    ..v.clone()
                },
                "0 GiB",
            ),
            (
                RestoredVolume {
                    encrypted: false,
                    kms_key: None,
                    ..v.clone()
                },
                "not encrypted at rest",
            ),
        ] {
            assert!(!ok(&bad));
            assert!(
                volume_checks(&bad)
                    .iter()
                    .any(|c| !c.ok && c.detail.contains(detail)),
                "{detail}"
            );
        }
        assert!(volume_failed("error") && !volume_failed("creating"));
        let now = t("2025-11-23T06:00:00Z");
        assert_eq!(
            volume_token("vol-0abc", now),
            "rempart-rt-vol-0abc-202511230600"
        );
        assert_eq!(volume_token("vol-0abc", now), volume_token("vol-0abc", now));
    }

    fn cache(status: &str) -> RestoredCache {
        RestoredCache {
            id: "rempart-rt-rewapp-redis-202511230600".into(),
            arn: "arn:aws:elasticache:eu-west-1:123456789012:replicationgroup:rempart-rt-rewapp-redis-202511230600".into(),
            status: status.into(),
            engine: "redis".into(),
            engine_version: "7.1".into(),
            node_type: "cache.t4g.micro".into(),
            shards: 1,
            nodes: 1,
            at_rest_encrypted: true,
            kms_key: None,
            tags: BTreeMap::new(),
        }
    }

    /// Proves: a restored Redis group passes when available, with its
    /// engine, as many shards as the snapshot and encryption at rest; each
    /// of those failing fails its own check with what was seen.
    #[test]
    fn cache_checks_judge_state_shards_and_encryption() {
        let names = |v: &[Check]| {
            v.iter()
                .filter(|c| !c.ok)
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
        };
        assert!(names(&cache_checks(&cache("available"), Some(1))).is_empty());
        assert!(names(&cache_checks(&cache("available"), None)).is_empty());
        assert_eq!(
            names(&cache_checks(&cache("create-failed"), Some(1))),
            ["available"]
        );
        let short = cache_checks(&cache("available"), Some(3));
        assert_eq!(names(&short), ["storage"]);
        assert!(short[2].detail.contains("the snapshot had 3"), "{short:?}");
        let plain = RestoredCache {
            at_rest_encrypted: false,
            ..cache("available")
        };
        let out = cache_checks(&plain, Some(1));
        assert_eq!(names(&out), ["encryption"]);
        assert_eq!(out[3].detail, "not encrypted at rest");
        assert!(cache_failed("create-failed") && !cache_failed("creating"));
    }

    /// Proves: a Redis test group's id is a valid replication group id
    /// (at most 40 characters, a lowercase letter first, lowercase letters,
    /// digits and single hyphens, no trailing hyphen), stable for one
    /// instant, different for two long names sharing a prefix.
    #[test]
    fn cache_group_ids_are_valid_replication_group_ids() {
        let now = t("2025-11-23T06:00:00Z");
        assert_eq!(
            cache_group_id("rewapp-redis", now),
            "rempart-rt-rewapp-redis-202511230600"
        );
        let valid = |s: &str| {
            (1..=40).contains(&s.len())
                && s.starts_with(|c: char| c.is_ascii_lowercase())
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !s.contains("--")
                && !s.ends_with('-')
        };
        for name in [
            "rewapp-redis",
            "Sessions_Cache--EU",
            "a-very-long-replication-group-name-for-sessions-1",
            "a-very-long-replication-group-name-for-sessions-2",
            "--",
        ] {
            let id = cache_group_id(name, now);
            assert!(valid(&id), "{name} -> {id}");
        }
        assert_ne!(
            cache_group_id("a-very-long-replication-group-name-for-sessions-1", now),
            cache_group_id("a-very-long-replication-group-name-for-sessions-2", now)
        );
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

    /// Proves: the names that broke the old generator are valid: a database
    /// with no usable character (was `rempart-rt--<stamp>`), and two long
    /// names sharing their first 39 characters (were cut to the same name,
    /// so the second restore of a run failed).
    #[test]
    fn odd_and_long_database_names_give_distinct_valid_ids() {
        let now = t("2025-11-23T02:30:00Z");
        assert_eq!(instance_id("é", now), "rempart-rt-db-202511230230");
        let r = RestoreRequest {
            database: "ü".into(),
            ..request()
        };
        assert_eq!(request_target(&r, now), "rempart-rr-db-202511230230");
        let a = instance_id("rewapp-production-postgres-primary-eu-west-1", now);
        let b = instance_id("rewapp-production-postgres-primary-eu-west-2", now);
        assert_ne!(a, b);
        for id in [&a, &b] {
            assert!(crate::naming::valid_rds_instance_id(id), "{id}");
            assert!(
                id.starts_with("rempart-rt-rewapp-production-postgres-"),
                "{id}"
            );
        }
    }

    /// Proves: a requester or approver that RDS cannot write as a tag of the
    /// restored instance (a comma, parentheses, over 256 characters) is
    /// refused before any restore starts; names in any script are accepted.
    #[test]
    fn requesters_that_cannot_be_tags_are_refused() {
        let now = t("2025-11-23T10:00:00Z");
        for ok in ["Hélène Dupont", "李明", "ops+oncall@rewapp.io"] {
            let r = RestoreRequest {
                requested_by: ok.into(),
                ..request()
            };
            assert!(decide(&r, &windows(), false, now).is_ok(), "{ok}");
        }
        let long = "a".repeat(257);
        for bad in ["Alice (ops)", "alice, bob", long.as_str(), "aws:alice"] {
            let r = RestoreRequest {
                approved_by: bad.into(),
                ..request()
            };
            let err = decide(&r, &windows(), false, now).unwrap_err();
            assert!(err.starts_with("approved_by `"), "{err}");
            assert!(err.contains("cannot be written as a tag"), "{err}");
        }
    }

    proptest::proptest! {
        /// Proves: whatever the database name (empty, any script, very
        /// long) and the time (0 to 4e9 s), the restore-test and the
        /// restore-request instance ids are valid RDS instance and cluster
        /// identifiers with their `rempart-rt-` / `rempart-rr-` prefix; an
        /// ordinary name of at most 39 characters keeps the documented
        /// `rempart-rt-<db>-<yyyymmddhhmm>` shape.
        #[test]
        fn restore_ids_are_always_valid(db in proptest::prop_oneof![proptest::prelude::any::<String>(), ".{0,100}", "[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,8}){0,6}"], secs in 0i64..4_000_000_000) {
            let now = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            let r = RestoreRequest { database: db.clone(), ..request() };
            for (id, prefix) in [(instance_id(&db, now), "rempart-rt-"), (request_target(&r, now), "rempart-rr-")] {
                proptest::prop_assert!(crate::naming::valid_rds_instance_id(&id), "{}", id);
                proptest::prop_assert!(crate::naming::valid_rds_cluster_id(&id), "{}", id);
                proptest::prop_assert!(id.starts_with(prefix) && id.ends_with(&now.format("-%Y%m%d%H%M").to_string()), "{}", id);
                proptest::prop_assert!(crate::naming::valid_tag_value(&id));
            }
            let slug = crate::naming::slug(&db);
            if !slug.is_empty() && slug.len() <= 39 && slug == db {
                proptest::prop_assert_eq!(instance_id(&db, now), format!("rempart-rt-{db}-{}", now.format("%Y%m%d%H%M")));
            }
        }
    }

    /// Proves: only young, available snapshots are picked, and the same seed
    /// picks the same one.
    #[test]
    fn picks_a_young_available_snapshot() {
        let snap = |id: &str, at: &str, status: &str| SnapshotInfo {
            kind: crate::kind::ResourceKind::RdsInstance,
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
