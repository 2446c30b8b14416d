//! restore-tester: an EventBridge schedule (every 5 minutes) that follows
//! the restore tests in progress (throw-away instances tagged
//! `rempart:restore-test`) and starts the month's test of each database that
//! is due. A finished test is checked, timed (the real RTO, to the polling
//! period), deleted, recorded and announced; its snapshot is tagged
//! `rempart:verified`.
//!
//! It also takes restores on request (`Rempart Restore Request`, source
//! `rempart`, sent by `rempart restore`): the request is checked against the
//! database's point-in-time window and snapshots ([`rempart_core::restore::decide`]),
//! refused with the windows or started into a new private instance; the next
//! ticks follow that instance to "available", run the same checks, and
//! report with timestamps. An instance restored on request is never deleted.

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use rempart_aws::envelope::{envelope, event_time};
use rempart_aws::error::{Error, Result};
use rempart_aws::postgres::Postgres;
use rempart_aws::rds::{ClusterFrom, Placement, Rds};
use rempart_aws::rdsdata::DataApi;
use rempart_aws::registry::{Registry, REGISTRY_TABLE_ENV};
use rempart_aws::runtime::{env_var, load_policy, region_of};
use rempart_aws::secrets::Secrets;
use rempart_aws::snapshots::Snapshots;
use rempart_aws::topic::{Topic, EVENTS_TOPIC_ENV};
use rempart_core::announce::{Outcome, RegistryRecord, ResourceSummary, Severity};
use rempart_core::event::SCHEDULED_EVENT;
use rempart_core::kind::ResourceKind;
use rempart_core::model::SnapshotInfo;
use rempart_core::policy::PolicySource;
use rempart_core::restore::{
    cache_checks, cache_failed, cache_group_id, drill_candidates, due_requests, failover_state,
    redis_drill_candidates, scheduled_requests_key, vault_drill_candidates, vault_exports,
    vault_redis_candidates, volume_checks, volume_failed, volume_token, Dialect, DrillCandidate,
    FailoverDrills, FailoverState, RestoredCache, RestoredCluster, RestoredInstance,
    RestoredVolume, VaultExport,
};
use rempart_core::restore::{
    checks, cluster_checks, credentials, decide, due, instance_id, named, pick, request_target,
    seed, sql_check, table_check, Check, Probe, RestorePlan, RestoreRequest, RestoreSource,
    RestoreTests, SqlCheck, Windows,
};
use rempart_core::tags::*;
use rempart_core::tags::{TAG_DRILL, TAG_VERIFIED};
use rempart_core::time::rfc3339;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

mod recovery;

pub const NAME: &str = "restore-tester";
/// The name of its deployment in the DR region, in drill mode.
pub const DRILL_NAME: &str = "drill-tester";
/// The name of its deployment in a backup account (its Lambda function is
/// `<name>-vault-drill-tester`, modules/vault_account).
pub const VAULT_DRILL_NAME: &str = "vault-drill-tester";
/// The production account whose vault copies a backup account's drill
/// tester restores.
pub const VAULT_OF_ENV: &str = "REMPART_VAULT_OF";
/// A backup account's bucket of Redis exports (modules/vault_account's
/// `redis_bucket_name`).
pub const VAULT_REDIS_BUCKET_ENV: &str = "REMPART_VAULT_REDIS_BUCKET";
/// The detail-type of a restore on request (source `rempart`).
pub const RESTORE_REQUEST: &str = "Rempart Restore Request";
/// A backup account's recovery accounts (modules/vault_account's
/// `recovery_accounts`, as JSON: [`rempart_core::recovery::parse_recovery_accounts`]).
pub const RECOVERY_ACCOUNTS_ENV: &str = "REMPART_RECOVERY_ACCOUNTS";

#[derive(Clone, Debug)]
pub struct Deps {
    pub rds: Rds,
    pub data: DataApi,
    /// The data checks' sessions on restored PostgreSQL instances.
    pub postgres: Postgres,
    /// The data checks' credentials.
    pub secrets: Secrets,
    pub snapshots: Snapshots,
    pub registry: Registry,
    pub topic: Topic,
    pub policy: PolicySource,
    pub ssm: aws_sdk_ssm::Client,
    pub region: String,
    /// Where test instances go when the policy's `[restore_tests]` names
    /// no subnet group / no security groups (Terraform's network, from
    /// `REMPART_RESTORE_TEST_SUBNET_GROUP` and the comma-separated
    /// `REMPART_RESTORE_TEST_SECURITY_GROUPS`).
    pub default_subnet_group: Option<String>,
    pub default_security_groups: Vec<String>,
    /// Where Redis test groups go when the policy's `[restore_tests]` names
    /// no `cache_subnet_group` (`REMPART_RESTORE_TEST_CACHE_SUBNET_GROUP`).
    pub default_cache_subnet_group: Option<String>,
    /// Drills: the primary region's ElastiCache (its snapshots say where
    /// their exports reached the DR bucket) and this region's S3 (the
    /// `.rdb` files there). None outside drill mode.
    pub home_elasticache: Option<rempart_aws::elasticache::ElastiCache>,
    pub objects: Option<rempart_aws::exports::Objects>,
    /// Deployed in a DR region to run the policy's `[drills]`
    /// (`REMPART_TESTER_MODE=drills`): it restores the DR copies found in
    /// its region, and nothing else (no restore tests, no requests).
    pub drills: bool,
    /// Deployed in a backup account (`REMPART_VAULT_OF=<production
    /// account>`, modules/vault_account): a drill tester of the vault
    /// copies of that account's snapshots, restored in the backup account
    /// itself ([`rempart_core::restore::vault_drill_candidates`]), which
    /// also takes that account's restores on request from the vault copies
    /// ([`assess_vault`]).
    pub vault_of: Option<String>,
    /// In a backup account: its Object Lock bucket of Redis exports
    /// (`REMPART_VAULT_REDIS_BUCKET`), whose files seed the Redis drills.
    pub vault_redis_bucket: Option<String>,
    /// In a backup account: the recovery accounts its restores on request
    /// may go to (`REMPART_RECOVERY_ACCOUNTS`, [`recovery`]).
    pub recovery: BTreeMap<String, rempart_core::recovery::RecoveryAccount>,
    /// The function's own configuration: the recovery accounts' roles are
    /// assumed from it.
    pub cfg: SdkConfig,
}

/// `tests` (the default: restore tests and requests in the function's
/// region) or `drills` (DR drills of the copies in the function's region).
pub const MODE_ENV: &str = "REMPART_TESTER_MODE";
/// The region of the registry table, the events topic and the policy
/// parameter, when the function runs elsewhere (a drill tester in a DR
/// region). Default: the function's own region.
pub const HOME_REGION_ENV: &str = "REMPART_HOME_REGION";

/// The environment variables of the test instances' default placement.
pub const SUBNET_GROUP_ENV: &str = "REMPART_RESTORE_TEST_SUBNET_GROUP";
pub const SECURITY_GROUPS_ENV: &str = "REMPART_RESTORE_TEST_SECURITY_GROUPS";
pub const CACHE_SUBNET_GROUP_ENV: &str = "REMPART_RESTORE_TEST_CACHE_SUBNET_GROUP";

impl Deps {
    pub fn from_env(cfg: &SdkConfig) -> Result<Deps> {
        let set = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let (table, topic) = (env_var(REGISTRY_TABLE_ENV)?, env_var(EVENTS_TOPIC_ENV)?);
        let policy = PolicySource::from_env()?;
        let mut deps = match (set(MODE_ENV).as_deref(), set(VAULT_OF_ENV)) {
            (None | Some("drills"), Some(production)) => {
                let mut d = Deps::for_backup_account(cfg, &table, &topic, policy, &production)?;
                d.vault_redis_bucket = set(VAULT_REDIS_BUCKET_ENV);
                d.recovery = rempart_core::recovery::parse_recovery_accounts(
                    &set(RECOVERY_ACCOUNTS_ENV).unwrap_or_default(),
                )
                .map_err(|e| Error::Config(format!("{RECOVERY_ACCOUNTS_ENV}: {e}")))?;
                d
            }
            (Some(other), Some(_)) => {
                return Err(Error::Config(format!(
                    "{MODE_ENV} is `{other}` with {VAULT_OF_ENV} set: a backup account's restore-tester runs drills of the vault copies only (unset {MODE_ENV}, or `drills`)"
                )))
            }
            (None | Some("tests"), None) => Deps::new(cfg, &table, &topic, policy)?,
            (Some("drills"), None) => {
                let home = match set(HOME_REGION_ENV) {
                    Some(h) => h,
                    None => region_of(cfg)?,
                };
                Deps::drills(cfg, &home, &table, &topic, policy)?
            }
            (Some(other), None) => {
                return Err(Error::Config(format!(
                    "{MODE_ENV} is `{other}`: `tests` (restore tests and requests) or `drills` (DR drills in this region)"
                )))
            }
        };
        deps.default_subnet_group = set(SUBNET_GROUP_ENV);
        deps.default_security_groups = set(SECURITY_GROUPS_ENV)
            .map(|v| {
                v.split(',')
                    .map(|g| g.trim().to_string())
                    .filter(|g| !g.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        deps.default_cache_subnet_group = set(CACHE_SUBNET_GROUP_ENV);
        Ok(deps)
    }

    pub fn new(cfg: &SdkConfig, table: &str, topic: &str, policy: PolicySource) -> Result<Deps> {
        Deps::build(cfg, NAME, table, topic, policy)
    }

    /// The drill tester: the restore-tester in drill mode in `cfg`'s region
    /// (a DR region), its registry, events topic and policy parameter in
    /// `home` (the primary region). Its calls name it `drill-tester`.
    pub fn drills(
        cfg: &SdkConfig,
        home: &str,
        table: &str,
        topic: &str,
        policy: PolicySource,
    ) -> Result<Deps> {
        let mut deps = Deps::build(cfg, DRILL_NAME, table, topic, policy)?;
        let home_cfg = rempart_aws::runtime::function_config(cfg, DRILL_NAME)
            .to_builder()
            .region(aws_config::Region::new(home.to_string()))
            .build();
        deps.registry = Registry::new(aws_sdk_dynamodb::Client::new(&home_cfg), table);
        deps.topic = Topic::new(aws_sdk_sns::Client::new(&home_cfg), topic);
        deps.ssm = aws_sdk_ssm::Client::new(&home_cfg);
        deps.home_elasticache = Some(rempart_aws::elasticache::ElastiCache::new(
            aws_sdk_elasticache::Client::new(&home_cfg),
            home,
        ));
        let here = rempart_aws::runtime::function_config(cfg, DRILL_NAME);
        deps.objects = Some(rempart_aws::exports::Objects::new(aws_sdk_s3::Client::new(
            &here,
        )));
        deps.drills = true;
        Ok(deps)
    }

    /// The drill tester of a backup account: it restores, in its own
    /// account and region, the newest vault copy of each resource of the
    /// policy's `[drills]` made from `production`'s snapshots, checks and
    /// times it, deletes it, and records and announces in that account
    /// (its registry, its topic, its policy parameter): RDS instances,
    /// Aurora clusters and EBS volumes, and Redis groups seeded from the
    /// locked files of `vault_redis_bucket` when it is set. It also takes
    /// that account's restores on request from the vault copies.
    pub fn for_backup_account(
        cfg: &SdkConfig,
        table: &str,
        topic: &str,
        policy: PolicySource,
        production: &str,
    ) -> Result<Deps> {
        if !rempart_core::naming::valid_account_id(production) {
            return Err(Error::Config(format!(
                "{VAULT_OF_ENV}=`{production}` is not an AWS account id (12 digits): set it to the production account whose vault copies this account drills"
            )));
        }
        let mut deps = Deps::build(cfg, VAULT_DRILL_NAME, table, topic, policy)?;
        deps.drills = true;
        deps.vault_of = Some(production.to_string());
        deps.objects = Some(rempart_aws::exports::Objects::new(aws_sdk_s3::Client::new(
            &rempart_aws::runtime::function_config(cfg, VAULT_DRILL_NAME),
        )));
        Ok(deps)
    }

    fn build(
        cfg: &SdkConfig,
        app: &str,
        table: &str,
        topic: &str,
        policy: PolicySource,
    ) -> Result<Deps> {
        let cfg = &rempart_aws::runtime::function_config(cfg, app);
        let region = region_of(cfg)?;
        Ok(Deps {
            rds: Rds::new(aws_sdk_rds::Client::new(cfg), &region),
            data: DataApi::new(aws_sdk_rdsdata::Client::new(cfg)),
            postgres: Postgres::from_env()?,
            secrets: Secrets::new(aws_sdk_secretsmanager::Client::new(cfg)),
            snapshots: Snapshots::for_region(cfg, &region),
            registry: Registry::new(aws_sdk_dynamodb::Client::new(cfg), table),
            topic: Topic::new(aws_sdk_sns::Client::new(cfg), topic),
            policy,
            ssm: aws_sdk_ssm::Client::new(cfg),
            region,
            default_subnet_group: None,
            default_security_groups: Vec::new(),
            default_cache_subnet_group: None,
            home_elasticache: None,
            objects: None,
            drills: false,
            vault_of: None,
            vault_redis_bucket: None,
            recovery: BTreeMap::new(),
            cfg: cfg.clone(),
        })
    }
}

/// What one run did, per database.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TesterReport {
    pub started: Vec<String>,
    pub finished: Vec<Value>,
    pub running: Vec<String>,
    pub not_due: Vec<String>,
    pub failed: Vec<String>,
    /// Restores on request: accepted, refused, started, completed.
    pub requests: Vec<Value>,
}

pub async fn handle(deps: &Deps, event: Value) -> Result<TesterReport> {
    let ev = envelope(&event)?;
    let now = event_time(&ev)?;
    if ev.detail_type == RESTORE_REQUEST && deps.drills && deps.vault_of.is_none() {
        return Err(Error::Event(format!(
            "this restore-tester runs DR drills in {}: send `{RESTORE_REQUEST}` to the one of the primary region",
            deps.region
        )));
    }
    if ev.detail_type == RESTORE_REQUEST {
        let req: RestoreRequest = serde_json::from_value(ev.detail.clone()).map_err(|e| {
            Error::Event(format!(
                "a `{RESTORE_REQUEST}` detail is {{database, snapshot | point_in_time, environment, requested_by, reason, approved_by, target?, instance_class?, scope?, ticket?}}: {e}"
            ))
        })?;
        let id = ev
            .id
            .clone()
            .unwrap_or_else(|| format!("{}@{}", req.database.trim(), rfc3339(now)));
        return Box::pin(request(deps, &req, &id, now)).await;
    }
    if ev.detail_type != SCHEDULED_EVENT {
        return Err(Error::Event(format!(
            "restore-tester takes `{SCHEDULED_EVENT}` (its 5-minute schedule) and `{RESTORE_REQUEST}` (source rempart), not `{}`",
            ev.detail_type
        )));
    }
    if deps.drills {
        // The request, drill and tick futures are boxed: nested inline
        // (a backup account's drills follow restores on request), the
        // handler's future is too deep for the compiler to lay out.
        return Box::pin(drill_tick(deps, ev.id.as_deref(), now)).await;
    }
    let mut report = TesterReport::default();
    let restored = requests_tick(deps, now, &mut report).await?;
    let doc = load_policy(&deps.policy, &deps.ssm).await?;
    if let Some(fo) = &doc.failover_drills {
        failover_tick(deps, fo, ev.id.as_deref(), now, &mut report).await?;
    }
    let Some(mut cfg) = doc.restore_tests.clone() else {
        return Ok(report);
    };
    if cfg.subnet_group.is_none() {
        cfg.subnet_group = deps.default_subnet_group.clone();
    }
    if cfg.security_groups.is_empty() {
        cfg.security_groups = deps.default_security_groups.clone();
    }
    if cfg.cache_subnet_group.is_none() {
        cfg.cache_subnet_group = deps.default_cache_subnet_group.clone();
    }
    let copies = follow_all(deps, &cfg, restored, now, &mut report).await?;
    let mut dbs: Vec<_> = deps
        .rds
        .tagged_instances()
        .await?
        .into_iter()
        .filter(|d| d.aurora_cluster.is_none())
        .collect();
    dbs.extend(deps.rds.tagged_clusters().await?);
    let covers_volumes = cfg.policies.iter().any(|p| {
        doc.policy(p)
            .is_some_and(|p| p.kinds.contains(&ResourceKind::EbsVolume))
    });
    if covers_volumes {
        dbs.extend(deps.snapshots.ec2.tagged_volumes().await?);
    }
    let covers_redis = cfg.policies.iter().any(|p| {
        doc.policy(p)
            .is_some_and(|p| p.kinds.contains(&ResourceKind::ElasticacheRedis))
    });
    if covers_redis {
        dbs.extend(deps.snapshots.elasticache.tagged_redis().await?);
    }
    // Listed once per family, and only when a resource of it is due: most
    // ticks start nothing.
    let mut listed: BTreeMap<&'static str, Vec<SnapshotInfo>> = BTreeMap::new();
    for db in dbs.iter().filter(|d| {
        d.policy_tag()
            .is_some_and(|p| cfg.policies.iter().any(|x| x == p))
    }) {
        let testing = |tags: &BTreeMap<String, String>| tags.get(TAG_RESTORE_TEST) == Some(&db.id);
        if copies.busy(db.kind, &testing) {
            continue;
        }
        let finished = concluded(deps, &db.registry_key(), "restore").await?;
        if !due(&finished, now, cfg.frequency_of(db.kind)) {
            report.not_due.push(db.id.clone());
            continue;
        }
        let family = match db.kind {
            ResourceKind::EbsVolume => "ebs",
            ResourceKind::ElasticacheRedis => "elasticache",
            ResourceKind::RdsInstance | ResourceKind::AuroraCluster => "rds",
        };
        if !listed.contains_key(family) {
            let snaps = match db.kind {
                ResourceKind::EbsVolume => deps.snapshots.ec2.managed_snapshots().await?,
                ResourceKind::ElasticacheRedis => {
                    deps.snapshots.elasticache.managed_snapshots().await?
                }
                ResourceKind::RdsInstance | ResourceKind::AuroraCluster => {
                    deps.snapshots.rds.managed_snapshots().await?
                }
            };
            listed.insert(family, snaps);
        }
        let mine: Vec<_> = listed
            .get(family)
            .into_iter()
            .flatten()
            .filter(|s| s.kind == db.kind && s.source_id() == db.id)
            .cloned()
            .collect();
        let summary = ResourceSummary::from(db);
        let about = About::new(
            deps,
            db.kind,
            &db.id,
            db.policy_tag().map(str::to_string),
            ev.id.clone(),
        );
        let base = |action: &str, subject: &str, ok: bool, details: Value| {
            about.record(action, now, subject, ok, details)
        };
        let Some(s) = pick(
            &mine,
            cfg.max_snapshot_age.0,
            now,
            seed(&[ev.id.as_deref().unwrap_or(""), &db.id]),
        ) else {
            let r = base(
                "restore.failed",
                "no-snapshot",
                false,
                json!({"reason": format!("no available Rempart snapshot younger than {}", cfg.max_snapshot_age)}),
            );
            announce(
                deps,
                &r,
                Severity::Warning,
                summary,
                format!(
                    "Restore test of {}: no Rempart snapshot younger than {} to test",
                    db.id, cfg.max_snapshot_age
                ),
            )
            .await?;
            report.failed.push(db.id.clone());
            continue;
        };
        let tags = copy_tags(&db.id, &s.id, db.policy_tag().unwrap_or_default(), now);
        let zone = if db.kind == ResourceKind::EbsVolume {
            Some(deps.snapshots.ec2.volume_zone(&db.id).await?)
        } else {
            None
        };
        let (instance, class) =
            start_copy(deps, &cfg, db.kind, &db.id, &s.id, zone, tags, now).await?;
        let r = base(
            "restore.started",
            &instance,
            true,
            json!({"snapshot": s.id, "instance": instance, "kind": db.kind, "class": class}),
        );
        announce(
            deps,
            &r,
            Severity::Info,
            summary,
            format!(
                "Restore test of {} started from {} into {instance}",
                db.id, s.id
            ),
        )
        .await?;
        report.started.push(instance);
    }
    Ok(report)
}

/// The throw-away copies in progress in the function's region (restore
/// tests, or drills in a DR region), as followed this tick.
struct InProgress {
    instances: Vec<RestoredInstance>,
    clusters: Vec<RestoredCluster>,
    volumes: Vec<RestoredVolume>,
    caches: Vec<RestoredCache>,
}

impl InProgress {
    /// Whether a copy of a resource of `kind` for which `mine` holds is
    /// still in progress (a test cluster concluded and waiting for its
    /// deletion is not).
    fn busy(&self, kind: ResourceKind, mine: &dyn Fn(&BTreeMap<String, String>) -> bool) -> bool {
        match kind {
            ResourceKind::AuroraCluster => self
                .clusters
                .iter()
                .any(|c| mine(&c.tags) && !c.tags.contains_key(TAG_RESTORE_FINISHED)),
            ResourceKind::EbsVolume => self.volumes.iter().any(|v| mine(&v.tags)),
            ResourceKind::ElasticacheRedis => self.caches.iter().any(|c| mine(&c.tags)),
            ResourceKind::RdsInstance => self
                .instances
                .iter()
                .any(|i| i.cluster.is_none() && mine(&i.tags)),
        }
    }
}

/// The restores on request of a run: those scheduled for later
/// (`not_before`) whose time has come, checked again and started, then
/// marked dispatched; and those in progress, followed. Returns the
/// instances tagged as restore tests or requests (one listing).
async fn requests_tick(
    deps: &Deps,
    now: DateTime<Utc>,
    report: &mut TesterReport,
) -> Result<Vec<RestoredInstance>> {
    let key = scheduled_requests_key(&deps.region);
    for (id, req) in due_requests(&deps.registry.records(&key).await?, now) {
        let started = Box::pin(request(deps, &req, &id, now)).await?;
        report.requests.extend(started.requests);
        let done = waiting_record(deps, "restore.dispatched", &id, now, json!({}));
        deps.registry.record_once(&done).await?;
    }
    let restored = deps
        .rds
        .instances_tagged(&[TAG_RESTORE_TEST, TAG_RESTORE_REQUEST])
        .await?;
    let requested: Vec<&RestoredInstance> = restored
        .iter()
        .filter(|i| {
            i.tags.contains_key(TAG_RESTORE_REQUEST) && !i.tags.contains_key(TAG_RESTORE_COMPLETED)
        })
        .collect();
    // Aurora restores on request: the cluster's state too (listed only then).
    let request_clusters = if requested.iter().any(|i| i.cluster.is_some()) {
        deps.rds.clusters_tagged(TAG_RESTORE_REQUEST).await?
    } else {
        Vec::new()
    };
    for i in requested {
        let cluster = i
            .cluster
            .as_deref()
            .and_then(|c| request_clusters.iter().find(|x| x.id == c));
        follow_request(deps, &deps.rds, None, i, cluster, now, report).await?;
    }
    if deps.vault_of.is_some() {
        for (account, conf) in &deps.recovery {
            let r = Box::pin(recovery::Remote::reach(deps, account, conf)).await;
            // A recovery account out of reach does not stop the drills.
            if let Err(e) = Box::pin(r.tick(deps, now, report)).await {
                tracing::warn!(account = %account, error = %e, "recovery account not followed");
                report
                    .failed
                    .push(format!("recovery account {account}: {e}"));
            }
        }
    }
    Ok(restored)
}

/// Follows every throw-away copy in progress (`restored`: the instances
/// tagged `rempart:restore-test`, requests' included and skipped here):
/// instances, Aurora clusters, EBS volumes and Redis groups, whatever the
/// policy says now (one that stopped covering a kind still has its copies
/// followed and deleted).
async fn follow_all(
    deps: &Deps,
    cfg: &RestoreTests,
    restored: Vec<RestoredInstance>,
    now: DateTime<Utc>,
    report: &mut TesterReport,
) -> Result<InProgress> {
    let instances: Vec<RestoredInstance> = restored
        .into_iter()
        .filter(|i| i.tags.contains_key(TAG_RESTORE_TEST))
        .collect();
    for i in instances.iter().filter(|i| i.cluster.is_none()) {
        follow(deps, cfg, i, now, report).await?;
    }
    let clusters = deps.rds.clusters_tagged(TAG_RESTORE_TEST).await?;
    for c in &clusters {
        let member = instances
            .iter()
            .find(|i| i.cluster.as_deref() == Some(c.id.as_str()));
        follow_cluster(deps, cfg, c, member, now, report).await?;
    }
    let volumes: Vec<RestoredVolume> = deps
        .snapshots
        .ec2
        .restored_volumes(TAG_RESTORE_TEST)
        .await?
        .into_iter()
        // Deleted by an earlier run; EBS lists them for a while.
        .filter(|v| !matches!(v.state.as_str(), "deleting" | "deleted"))
        .collect();
    for v in &volumes {
        follow_volume(deps, cfg, v, now, report).await?;
    }
    // One DescribeReplicationGroups listing, and a tag call per
    // `rempart-rt-*` group only.
    let caches: Vec<RestoredCache> = deps
        .snapshots
        .elasticache
        .restored_groups(TAG_RESTORE_TEST)
        .await?
        .into_iter()
        .filter(|c| !matches!(c.status.as_str(), "deleting" | "deleted"))
        .collect();
    for c in &caches {
        follow_cache(deps, cfg, c, now, report).await?;
    }
    Ok(InProgress {
        instances,
        clusters,
        volumes,
        caches,
    })
}

/// When the tests (`restore`) or drills (`drill`) of a resource concluded.
async fn concluded(deps: &Deps, key: &str, head: &str) -> Result<Vec<DateTime<Utc>>> {
    let (ok, failed) = (format!("{head}.succeeded"), format!("{head}.failed"));
    Ok(deps
        .registry
        .records(key)
        .await?
        .into_iter()
        .filter(|r| r.action == ok || r.action == failed)
        .map(|r| r.time)
        .collect())
}

/// The Multi-AZ failover drills (`[failover_drills]`): each named
/// instance's drill in progress is followed (RDS's "failover completed"
/// event measures it: `failover.succeeded`, `failover.slow` once past
/// `alert_after`, `failover.failed` at `give_up_after`); one due this
/// period starts inside the window only, on an available Multi-AZ instance
/// (`RebootDBInstance` with `ForceFailover`, `failover.started`); a
/// single-AZ (or missing) instance is refused once per period and never
/// rebooted.
async fn failover_tick(
    deps: &Deps,
    fo: &FailoverDrills,
    event_id: Option<&str>,
    now: DateTime<Utc>,
    report: &mut TesterReport,
) -> Result<()> {
    for id in &fo.instances {
        let about = About::new(
            deps,
            ResourceKind::RdsInstance,
            id,
            None,
            event_id.map(str::to_string),
        );
        let key = format!("{}#{}#{id}", ResourceKind::RdsInstance, deps.region);
        let records = deps.registry.records(&key).await?;
        let of = |action: &str| {
            records
                .iter()
                .filter(|r| r.action == action)
                .map(|r| r.time)
                .max()
        };
        let concluded: Vec<DateTime<Utc>> = records
            .iter()
            .filter(|r| r.action == "failover.succeeded" || r.action == "failover.failed")
            .map(|r| r.time)
            .collect();
        let started = of("failover.started");
        let running = started.filter(|s| concluded.iter().all(|c| c < s));
        if let Some(started) = running {
            let completed = deps.rds.failover_completed(id, started).await?;
            let details = |secs: i64| json!({"instance": id, "rto_s": secs, "target_s": fo.target.seconds(), "alert_after_s": fo.alert_after.seconds(), "measured_to": "RDS's failover-completed event"});
            match failover_state(fo, started, completed, now) {
                FailoverState::Completed(secs) => {
                    let r = about.record("failover.succeeded", now, id, true, details(secs));
                    let severity = if secs > fo.alert_after.seconds() {
                        Severity::Warning
                    } else {
                        Severity::Info
                    };
                    announce(
                        deps,
                        &r,
                        severity,
                        about.summary(),
                        format!(
                            "Multi-AZ failover drill of {id}: back to available in {secs} s (target {}, alert at {})",
                            fo.target, fo.alert_after
                        ),
                    )
                    .await?;
                    report.finished.push(r.details.clone());
                }
                FailoverState::Running { slow } => {
                    if slow {
                        let at = started + fo.alert_after.0;
                        let r = about.record(
                            "failover.slow",
                            at,
                            id,
                            false,
                            details((now - started).num_seconds()),
                        );
                        announce(
                            deps,
                            &r,
                            Severity::Warning,
                            about.summary(),
                            format!(
                                "Multi-AZ failover drill of {id}: no failover completed after {} (alert at {})",
                                fo.alert_after, fo.alert_after
                            ),
                        )
                        .await?;
                    }
                    report.running.push(id.clone());
                }
                FailoverState::GivenUp => {
                    let mut d = details((now - started).num_seconds());
                    d["reason"] = json!(format!(
                        "RDS reported no failover completed within {} of the reboot",
                        fo.give_up_after
                    ));
                    let r = about.record("failover.failed", now, id, false, d);
                    announce(
                        deps,
                        &r,
                        Severity::Warning,
                        about.summary(),
                        format!(
                            "Multi-AZ failover drill of {id} FAILED: no failover completed within {}",
                            fo.give_up_after
                        ),
                    )
                    .await?;
                    report.failed.push(id.clone());
                }
            }
            continue;
        }
        if !due(&concluded, now, fo.frequency) {
            report.not_due.push(id.clone());
            continue;
        }
        if !fo.in_window(now) {
            continue;
        }
        let refused_this_period =
            of("failover.refused").is_some_and(|t| !due(&[t], now, fo.frequency));
        let (multi_az, status) = match deps.rds.multi_az(id).await {
            Ok(x) => x,
            Err(Error::Aws { code, .. }) if code.contains("DBInstanceNotFound") => {
                (false, "not found".to_string())
            }
            Err(e) => return Err(e),
        };
        if !multi_az || status != "available" {
            if !refused_this_period {
                let why = if multi_az {
                    format!("the instance is `{status}`, not available")
                } else if status == "not found" {
                    "no such instance in this region".to_string()
                } else {
                    "the instance is single-AZ: a failover needs a Multi-AZ standby".to_string()
                };
                let r = about.record(
                    "failover.refused",
                    now,
                    id,
                    false,
                    json!({"instance": id, "reason": why}),
                );
                announce(
                    deps,
                    &r,
                    Severity::Warning,
                    about.summary(),
                    format!("Multi-AZ failover drill of {id} refused: {why}"),
                )
                .await?;
            }
            report.failed.push(id.clone());
            continue;
        }
        deps.rds.reboot_with_failover(id).await?;
        let r = about.record(
            "failover.started",
            now,
            id,
            true,
            json!({"instance": id, "window": fo.window, "target_s": fo.target.seconds(), "alert_after_s": fo.alert_after.seconds()}),
        );
        announce(
            deps,
            &r,
            Severity::Info,
            about.summary(),
            format!("Multi-AZ failover drill of {id} started: reboot with failover inside the window {} UTC", fo.window),
        )
        .await?;
        report.started.push(id.clone());
    }
    Ok(())
}

/// A Redis drill: a replication group seeded with the `.rdb` files of the
/// export at `url` in this region's DR bucket. `Ok(Err(why))` when there is
/// nothing to seed it with.
async fn seed_from_export(
    deps: &Deps,
    cfg: &RestoreTests,
    c: &DrillCandidate,
    url: &str,
    tags: Vec<(String, String)>,
    now: DateTime<Utc>,
) -> Result<std::result::Result<(String, String), String>> {
    let (Some(objects), Some((bucket, prefix))) =
        (&deps.objects, rempart_core::naming::parse_s3_url(url))
    else {
        return Ok(Err(format!(
            "`{url}` is not an export this tester can read"
        )));
    };
    let files: Vec<String> = objects
        .list(&bucket, &prefix)
        .await?
        .into_iter()
        .filter(|o| o.key.ends_with(".rdb"))
        .map(|o| format!("arn:aws:s3:::{bucket}/{}", o.key))
        .collect();
    if files.is_empty() {
        return Ok(Err(format!("no .rdb file under {url}")));
    }
    let id = cache_group_id(&c.resource, now);
    deps.snapshots
        .elasticache
        .seed_group(
            &files,
            &id,
            &cfg.cache_node_type,
            cfg.cache_subnet_group.as_deref(),
            &tags,
        )
        .await?;
    Ok(Ok((id, cfg.cache_node_type.clone())))
}

/// A drill tester's tick, in a DR region: follows the drills in progress,
/// then starts the due drill of each resource of the policy's `[drills]`
/// from its newest DR copy in this region (RDS instances, Aurora clusters,
/// EBS volumes; Redis from its export in the DR bucket): the copy restored
/// as a restore test's is, tagged `rempart:drill=<the resource's region>`,
/// its records the resource's. In a backup account (`vault_of`), the same
/// from the vault copies there, after the restores on request.
async fn drill_tick(
    deps: &Deps,
    event_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<TesterReport> {
    let mut report = TesterReport::default();
    // A backup account's tester also restores on request from the vault,
    // whether or not the policy has drills.
    let requested = match deps.vault_of {
        Some(_) => Some(requests_tick(deps, now, &mut report).await?),
        None => None,
    };
    let doc = load_policy(&deps.policy, &deps.ssm).await?;
    let Some(drills) = doc.drills.clone() else {
        return Ok(report);
    };
    let mut cfg = drills.settings(doc.restore_tests.as_ref());
    if deps.vault_of.is_some() {
        // `[drills]`' subnet group and security groups are the DR region's,
        // of the production account: a backup account places its drills
        // in its own (Terraform's drill_subnet_group, else the default VPC).
        cfg.subnet_group = None;
        cfg.security_groups = Vec::new();
    }
    if cfg.subnet_group.is_none() {
        cfg.subnet_group = deps.default_subnet_group.clone();
    }
    if cfg.security_groups.is_empty() {
        cfg.security_groups = deps.default_security_groups.clone();
    }
    let restored = match requested {
        Some(restored) => restored,
        None => deps.rds.instances_tagged(&[TAG_RESTORE_TEST]).await?,
    };
    let copies = follow_all(deps, &cfg, restored, now, &mut report).await?;
    let covers = |kind: ResourceKind| {
        cfg.policies
            .iter()
            .any(|p| doc.policy(p).is_some_and(|p| p.kinds.contains(&kind)))
    };
    let mut snaps = if covers(ResourceKind::RdsInstance) || covers(ResourceKind::AuroraCluster) {
        deps.snapshots.rds.managed_snapshots().await?
    } else {
        Vec::new()
    };
    if covers(ResourceKind::EbsVolume) {
        snaps.extend(deps.snapshots.ec2.managed_snapshots().await?);
    }
    let mut candidates = match &deps.vault_of {
        Some(production) => vault_drill_candidates(snaps, &cfg.policies, production),
        None => drill_candidates(&snaps, &cfg.policies),
    };
    if let (true, Some(production), Some(bucket), Some(objects)) = (
        covers(ResourceKind::ElasticacheRedis),
        &deps.vault_of,
        &deps.vault_redis_bucket,
        &deps.objects,
    ) {
        candidates.extend(vault_redis_candidates(
            vault_exports_tagged(objects, bucket).await?,
            &cfg.policies,
            production,
            bucket,
        ));
    }
    if covers(ResourceKind::ElasticacheRedis) && deps.vault_of.is_none() {
        if let Some(home) = &deps.home_elasticache {
            candidates.extend(redis_drill_candidates(
                &home.managed_snapshots().await?,
                &cfg.policies,
                &deps.region,
            ));
        }
    }
    let mut zone: Option<String> = None;
    for c in candidates {
        let mine = |tags: &BTreeMap<String, String>| {
            tags.get(TAG_RESTORE_TEST) == Some(&c.resource)
                && tags.get(TAG_DRILL) == Some(&c.source_region)
        };
        if copies.busy(c.kind, &mine) {
            continue;
        }
        let finished = concluded(deps, &c.registry_key(), "drill").await?;
        if !due(&finished, now, cfg.frequency) {
            report.not_due.push(c.resource.clone());
            continue;
        }
        let mut tags = copy_tags(&c.resource, &c.copy.id, &c.policy, now);
        tags.push((TAG_DRILL.to_string(), c.source_region.clone()));
        let at = if c.kind == ResourceKind::EbsVolume {
            if zone.is_none() {
                zone = Some(deps.snapshots.ec2.first_zone().await?);
            }
            zone.clone()
        } else {
            None
        };
        // The drill's records are the resource's, in its own region.
        let mut about = About::new(
            deps,
            c.kind,
            &c.resource,
            Some(c.policy.clone()),
            event_id.map(str::to_string),
        );
        about.region = c.source_region.clone();
        let (instance, class) = match &c.export {
            Some(url) => match seed_from_export(deps, &cfg, &c, url, tags, now).await? {
                Ok(started) => started,
                Err(why) => {
                    // Nothing to restore: the drill fails now, and again
                    // only next period.
                    let r = about.record(
                        "drill.failed",
                        now,
                        url,
                        false,
                        json!({"snapshot": c.copy.id, "export": url, "region": deps.region, "source_region": c.source_region, "reason": why}),
                    );
                    announce(
                        deps,
                        &r,
                        Severity::Warning,
                        about.summary(),
                        format!(
                            "{} FAILED: {why}",
                            drill_title(deps, &c.resource, &c.source_region)
                        ),
                    )
                    .await?;
                    report.failed.push(c.resource.clone());
                    continue;
                }
            },
            None => start_copy(deps, &cfg, c.kind, &c.resource, &c.copy.id, at, tags, now).await?,
        };
        let r = about.record(
            "drill.started",
            now,
            &instance,
            true,
            json!({"snapshot": c.copy.id, "instance": instance, "kind": c.kind, "class": class, "region": deps.region, "source_region": c.source_region}),
        );
        announce(
            deps,
            &r,
            Severity::Info,
            about.summary(),
            format!(
                "{} started from its copy {} into {instance}",
                drill_title(deps, &c.resource, &c.source_region),
                c.copy.id
            ),
        )
        .await?;
        report.started.push(instance);
    }
    Ok(report)
}

/// The exports in a backup account's Redis bucket, each with its first
/// file's tags (one tag call per export, not per file).
async fn vault_exports_tagged(
    objects: &rempart_aws::exports::Objects,
    bucket: &str,
) -> Result<Vec<(VaultExport, BTreeMap<String, String>)>> {
    let files: Vec<(String, DateTime<Utc>)> = objects
        .list(bucket, "")
        .await?
        .into_iter()
        .filter_map(|o| Some((o.key, o.modified?)))
        .collect();
    let mut out = Vec::new();
    for e in vault_exports(&files) {
        let tags = objects.tags(bucket, &e.first_key).await?;
        out.push((e, tags));
    }
    Ok(out)
}

/// How a drill of `resource` (of `home`, its region) is named: a DR drill
/// in this region, or a vault drill in this backup account.
fn drill_title(deps: &Deps, resource: &str, home: &str) -> String {
    match &deps.vault_of {
        Some(production) => format!(
            "Vault drill of {resource} ({production}, {home}) in the backup account, {}",
            deps.region
        ),
        None => format!("DR drill of {resource} ({home}) in {}", deps.region),
    }
}

/// The tags of a throw-away copy of `db` restored from `snapshot`.
fn copy_tags(db: &str, snapshot: &str, policy: &str, now: DateTime<Utc>) -> Vec<(String, String)> {
    vec![
        (TAG_MANAGED.to_string(), "true".to_string()),
        (TAG_RESTORE_TEST.to_string(), db.to_string()),
        (TAG_RESTORE_SNAPSHOT.to_string(), snapshot.to_string()),
        (TAG_RESTORE_STARTED.to_string(), rfc3339(now)),
        (TAG_POLICY.to_string(), policy.to_string()),
    ]
}

/// Starts restoring `snapshot` (of `db`, a `kind`) into a throw-away copy
/// tagged `tags` (a volume in `zone`). Returns the copy's id and what it
/// was restored as (an instance class, a node type, a volume's zone).
#[allow(clippy::too_many_arguments)]
async fn start_copy(
    deps: &Deps,
    cfg: &RestoreTests,
    kind: ResourceKind,
    db: &str,
    snapshot: &str,
    zone: Option<String>,
    mut tags: Vec<(String, String)>,
    now: DateTime<Utc>,
) -> Result<(String, String)> {
    let instance = instance_id(db, now);
    let placement = Placement {
        subnet_group: cfg.subnet_group.as_deref(),
        parameter_group: cfg.parameter_group.as_deref(),
        security_groups: &cfg.security_groups,
    };
    Ok(match kind {
        ResourceKind::EbsVolume => {
            let zone = zone.ok_or_else(|| {
                Error::Config(format!("no availability zone to restore {snapshot} in"))
            })?;
            // EBS names volumes itself: the token is the test's name.
            let token = volume_token(db, now);
            tags.push(("Name".to_string(), token.clone()));
            let id = deps
                .snapshots
                .ec2
                .restore_volume(snapshot, &zone, &token, &tags)
                .await?;
            (id, zone)
        }
        ResourceKind::ElasticacheRedis => {
            let id = cache_group_id(db, now);
            deps.snapshots
                .elasticache
                .restore_group(
                    snapshot,
                    &id,
                    &cfg.cache_node_type,
                    cfg.cache_subnet_group.as_deref(),
                    &tags,
                )
                .await?;
            (id, cfg.cache_node_type.clone())
        }
        ResourceKind::AuroraCluster => {
            deps.rds
                .restore_cluster(
                    ClusterFrom::Snapshot(snapshot),
                    &instance,
                    &cfg.aurora_instance_class,
                    &placement,
                    &tags,
                )
                .await?;
            (instance, cfg.aurora_instance_class.clone())
        }
        ResourceKind::RdsInstance => {
            deps.rds
                .restore_instance(
                    snapshot,
                    &instance,
                    Some(&cfg.instance_class),
                    &placement,
                    &tags,
                )
                .await?;
            (instance, cfg.instance_class.clone())
        }
    })
}

/// One restore test in progress, whatever it restored.
struct Test {
    kind: ResourceKind,
    /// The tested database (instance or cluster).
    db: String,
    /// The restored instance or cluster.
    restored: String,
    snapshot: String,
    started: DateTime<Utc>,
    policy: Option<String>,
    status: String,
    /// A DR drill: the region of the drilled resource (`rempart:drill`).
    drill: Option<String>,
}

impl Test {
    fn new(
        kind: ResourceKind,
        restored: &str,
        status: &str,
        tags: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Test {
        let tag = |k: &str| tags.get(k).cloned().unwrap_or_default();
        Test {
            kind,
            db: tag(TAG_RESTORE_TEST),
            restored: restored.to_string(),
            snapshot: tag(TAG_RESTORE_SNAPSHOT),
            started: DateTime::parse_from_rfc3339(&tag(TAG_RESTORE_STARTED))
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(now),
            policy: tags.get(TAG_POLICY).cloned(),
            status: status.to_string(),
            drill: tags.get(TAG_DRILL).cloned(),
        }
    }

    /// A drill's records are the drilled resource's, in its own region.
    fn about(&self, deps: &Deps) -> About {
        let mut about = About::new(deps, self.kind, &self.db, self.policy.clone(), None);
        if let Some(home) = &self.drill {
            about.region = home.clone();
        }
        about
    }

    /// `restore.<what>`, or `drill.<what>` for a drill.
    fn action(&self, what: &str) -> String {
        let head = if self.drill.is_some() {
            "drill"
        } else {
            "restore"
        };
        format!("{head}.{what}")
    }

    /// How the announcement names it.
    fn title(&self, deps: &Deps) -> String {
        match &self.drill {
            Some(home) => drill_title(deps, &self.db, home),
            None => format!("Restore test of {}", self.db),
        }
    }
}

/// A restore test still restoring: reported once past `alert_after`.
/// Returns whether it is still running.
async fn still_running(
    deps: &Deps,
    cfg: &RestoreTests,
    t: &Test,
    done: bool,
    now: DateTime<Utc>,
    report: &mut TesterReport,
) -> Result<bool> {
    if done {
        return Ok(false);
    }
    let elapsed = now - t.started;
    if elapsed >= cfg.alert_after.0 {
        // Once per test: the record's time is the alert instant.
        let about = t.about(deps);
        let r = about.record(
            &t.action("slow"),
            t.started + cfg.alert_after.0,
            &t.restored,
            false,
            json!({"snapshot": t.snapshot, "status": t.status, "elapsed_s": elapsed.num_seconds(), "alert_after_s": cfg.alert_after.seconds(), "region": deps.region}),
        );
        announce(
            deps,
            &r,
            Severity::Warning,
            about.summary(),
            format!(
                "{} still not available after {} min (alert at {})",
                t.title(deps),
                elapsed.num_minutes(),
                cfg.alert_after
            ),
        )
        .await?;
    }
    report.running.push(t.restored.clone());
    Ok(true)
}

/// A finished restore test (its restored copy already deleted): records and
/// announces the verdict with the measured RTO, and tags the snapshot
/// `rempart:verified` when it passed.
async fn conclude(
    deps: &Deps,
    cfg: &RestoreTests,
    t: &Test,
    results: Vec<Check>,
    failed_state: bool,
    now: DateTime<Utc>,
    report: &mut TesterReport,
) -> Result<()> {
    let elapsed = now - t.started;
    let ok = !failed_state && results.iter().all(|c| c.ok);
    let action = t.action(if ok { "succeeded" } else { "failed" });
    let mut details = json!({"snapshot": t.snapshot, "instance": t.restored, "kind": t.kind, "rto_s": elapsed.num_seconds(), "alert_after_s": cfg.alert_after.seconds(), "checks": results, "measured_to": "the polling period"});
    if let Some(home) = &t.drill {
        // The measured region-failover time, against the drill's target.
        details["region"] = json!(deps.region);
        details["source_region"] = json!(home);
        details["target_s"] = json!(cfg.time_objective.map(|s| s.seconds()));
        rempart_aws::metrics::emit(&[rempart_core::restore::drill_emf_line(
            t.kind.as_str(),
            &t.db,
            home,
            elapsed.num_seconds(),
            now,
        )]);
    } else {
        rempart_aws::metrics::emit(&[rempart_core::restore::emf_line(
            t.kind.as_str(),
            &t.db,
            elapsed.num_seconds(),
            ok,
            &results,
            now,
        )]);
    }
    let about = t.about(deps);
    let r = about.record(&action, now, &t.restored, ok, details.clone());
    let severity = if !ok || elapsed >= cfg.alert_after.0 {
        Severity::Warning
    } else {
        Severity::Info
    };
    let text = if ok && t.drill.is_some() {
        format!(
            "{} passed: {} restored and checked in {} min (target {}, alert at {})",
            t.title(deps),
            t.snapshot,
            elapsed.num_minutes(),
            cfg.time_objective
                .map_or_else(|| "none".to_string(), |s| s.to_string()),
            cfg.alert_after
        )
    } else if ok {
        format!("Restore test of {} passed: {} restored in {} min (RTO measured to the 5-minute polling)", t.db, t.snapshot, elapsed.num_minutes())
    } else {
        format!(
            "{} FAILED: {}",
            t.title(deps),
            results
                .iter()
                .filter(|c| !c.ok)
                .map(|c| format!("{} ({})", c.name, c.detail))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    announce(deps, &r, severity, about.summary(), text).await?;
    // The restored snapshot is tagged verified where it lives: not a Redis
    // drill's, whose snapshot is in the primary region (its DR copy is the
    // export's files).
    let redis_drill = t.drill.is_some() && t.kind == ResourceKind::ElasticacheRedis;
    if ok && !redis_drill {
        let snap = if t.kind == ResourceKind::EbsVolume {
            deps.snapshots.ec2.snapshot_by_id(&t.snapshot).await?
        } else if t.kind == ResourceKind::ElasticacheRedis {
            deps.snapshots
                .elasticache
                .snapshot_by_name(&t.snapshot)
                .await?
        } else if t.kind == ResourceKind::AuroraCluster {
            deps.snapshots
                .rds
                .cluster_snapshot_by_id(&t.snapshot)
                .await?
        } else {
            deps.snapshots
                .rds
                .instance_snapshot_by_id(&t.snapshot)
                .await?
        };
        if let Some(s) = snap {
            deps.snapshots.tag(&s, TAG_VERIFIED, &rfc3339(now)).await?;
        }
    }
    report.finished.push(details);
    Ok(())
}

/// A restore test of an RDS instance: checked (down to the data when the
/// policy has data checks for the database), deleted, concluded once the
/// instance is available (or failed). A data check without a secret of its
/// own first has RDS give the copy its own master secret: the run that
/// asks returns, a later one checks. When RDS refuses (a denied
/// `CreateSecret`, a parameter the engine does not take), the data checks
/// fail with its answer and the test concludes now, the copy deleted: a
/// refusal would be the same on every tick. Only a retryable error (a
/// throttle, a 5xx) is left for the next tick.
async fn follow(
    deps: &Deps,
    cfg: &RestoreTests,
    i: &RestoredInstance,
    now: DateTime<Utc>,
    report: &mut TesterReport,
) -> Result<()> {
    let t = Test::new(ResourceKind::RdsInstance, &i.id, &i.status, &i.tags, now);
    let failed_state = is_failed_state(&i.status);
    let available = i.status == "available";
    let waiting_for_secret = available
        && cfg.needs_master_secret(&t.db)
        && i.master_secret
            .as_ref()
            .is_none_or(|(_, st)| st != "active");
    let mut refused = None;
    if waiting_for_secret && i.master_secret.is_none() {
        match deps.rds.manage_master_secret(i, TAG_RESTORE_TEST).await {
            Ok(_) => {}
            Err(e) if e.is_retryable() => return Err(e),
            Err(e) => {
                refused = Some(format!(
                    "RDS did not give the restored copy its own master secret (ModifyDBInstance ManageMasterUserPassword): {e}"
                ))
            }
        }
    }
    let given_up = cfg.given_up(now - t.started);
    if still_running(
        deps,
        cfg,
        &t,
        (available && (!waiting_for_secret || refused.is_some())) || failed_state || given_up,
        now,
        report,
    )
    .await?
    {
        return Ok(());
    }
    let mut results = named(checks(i, cfg.parameter_group.as_deref()), &cfg.checks);
    for c in cfg.data_checks(&t.db) {
        let data = if let (Some(why), None) = (&refused, &c.secret_arn) {
            unanswered(c, why)
        } else if available && waiting_for_secret && c.secret_arn.is_none() {
            unanswered(
                c,
                &format!(
                    "given up after {}: the restored copy's own master secret was still not active",
                    cfg.give_up_after
                ),
            )
        } else if available {
            instance_data_checks(deps, c, i).await
        } else {
            unanswered(c, "the restored instance is not available")
        };
        results.extend(named(data, &cfg.checks));
    }
    deps.rds.delete_restored(i, TAG_RESTORE_TEST).await?;
    conclude(deps, cfg, &t, results, failed_state, now, report).await
}

/// A restore test of an EBS volume: once the volume created from the
/// snapshot is available (or failed, or given up), checked (state, size,
/// encryption), deleted, concluded.
async fn follow_volume(
    deps: &Deps,
    cfg: &RestoreTests,
    v: &RestoredVolume,
    now: DateTime<Utc>,
    report: &mut TesterReport,
) -> Result<()> {
    let t = Test::new(ResourceKind::EbsVolume, &v.id, &v.state, &v.tags, now);
    let failed_state = volume_failed(&v.state);
    let done = v.state == "available" || failed_state || cfg.given_up(now - t.started);
    if still_running(deps, cfg, &t, done, now, report).await? {
        return Ok(());
    }
    let results = named(volume_checks(v), &cfg.checks);
    deps.snapshots
        .ec2
        .delete_restored_volume(v, TAG_RESTORE_TEST)
        .await?;
    conclude(deps, cfg, &t, results, failed_state, now, report).await
}

/// A restore test of a Redis replication group: once the group created
/// from the snapshot is available (or failed, or given up), checked
/// (state, engine, shards against the snapshot's, encryption at rest),
/// deleted, concluded.
async fn follow_cache(
    deps: &Deps,
    cfg: &RestoreTests,
    c: &RestoredCache,
    now: DateTime<Utc>,
    report: &mut TesterReport,
) -> Result<()> {
    let t = Test::new(
        ResourceKind::ElasticacheRedis,
        &c.id,
        &c.status,
        &c.tags,
        now,
    );
    let failed_state = cache_failed(&c.status);
    let done = c.status == "available" || failed_state || cfg.given_up(now - t.started);
    if still_running(deps, cfg, &t, done, now, report).await? {
        return Ok(());
    }
    // The snapshot's shards, when it is still there to say. A drill's group
    // was seeded from the export's files: its snapshot is in the primary
    // region, not here, and is not asked for.
    let shards = if t.drill.is_some() {
        None
    } else {
        match deps.snapshots.elasticache.snapshot_shape(&t.snapshot).await {
            Ok(shape) => shape.shards,
            Err(e) if e.is_retryable() => return Err(e),
            Err(_) => None,
        }
    };
    let results = named(cache_checks(c, shards), &cfg.checks);
    deps.snapshots
        .elasticache
        .delete_restored_group(c, TAG_RESTORE_TEST)
        .await?;
    conclude(deps, cfg, &t, results, failed_state, now, report).await
}

/// Every check of `c` failed for one reason (nothing could be asked).
fn unanswered(c: &SqlCheck, why: &str) -> Vec<Check> {
    verdicts(
        c,
        c.statements(Dialect::Postgres)
            .into_iter()
            .map(|(p, _)| (p, Err(why.to_string()))),
    )
}

fn verdicts(
    c: &SqlCheck,
    answers: impl IntoIterator<Item = (Probe, std::result::Result<Option<String>, String>)>,
) -> Vec<Check> {
    answers
        .into_iter()
        .map(|(probe, answer)| match probe {
            Probe::Table(t) => table_check(&t, answer),
            Probe::Sql => sql_check(c, answer),
        })
        .collect()
}

/// One data check on a restored PostgreSQL instance: a read-only TLS
/// session at its endpoint, with the policy's secret or the copy's own
/// master secret, then each statement.
async fn instance_data_checks(deps: &Deps, c: &SqlCheck, i: &RestoredInstance) -> Vec<Check> {
    if !i.engine.starts_with("postgres") {
        return unanswered(
            c,
            &format!(
                "data checks read PostgreSQL; engine `{}` is not supported",
                i.engine
            ),
        );
    }
    let database = c.database.as_deref().unwrap_or("postgres");
    let secret = c
        .secret_arn
        .as_deref()
        .or(i.master_secret.as_ref().map(|(arn, _)| arn.as_str()));
    let session = async {
        let (host, port) = i
            .endpoint
            .clone()
            .ok_or_else(|| "the restored instance reports no endpoint".to_string())?;
        let arn = secret.ok_or_else(|| "the restored instance has no master secret".to_string())?;
        let value = deps
            .secrets
            .value(arn)
            .await
            .map_err(|e| format!("reading the credentials: {e}"))?
            .ok_or_else(|| format!("secret {arn} has no string value"))?;
        let (user, password) = credentials(&value).map_err(|e| format!("secret {arn}: {e}"))?;
        deps.postgres
            .connect(&host, port, database, &user, &password)
            .await
            .map(|s| (s, user))
            .map_err(|e| format!("connecting to `{database}` at {host}:{port}: {e}"))
    }
    .await;
    let (session, user) = match session {
        Ok(s) => s,
        Err(e) => return unanswered(c, &e),
    };
    let tls = if deps.postgres.verified {
        "TLS, server verified"
    } else {
        "TLS, server not verified"
    };
    let mut answers = Vec::new();
    // Instances are checked only on PostgreSQL (above).
    for (probe, statement) in c.statements(Dialect::Postgres) {
        let answer = session
            .first_value(&statement)
            .await
            .map_err(|e| e.to_string());
        answers.push((probe, answer));
    }
    verdicts(c, answers)
        .into_iter()
        .map(|mut k| {
            k.detail = format!("{} (`{database}` as `{user}`, {tls})", k.detail);
            k
        })
        .collect()
}

/// A restore test of an Aurora cluster: once the cluster and its instance
/// are available (or one failed), checked (and the SQL check run through
/// the Data API when the policy names one), deleted (the instance, then the
/// cluster: a later tick finishes a cluster AWS still refuses to delete),
/// concluded.
async fn follow_cluster(
    deps: &Deps,
    cfg: &RestoreTests,
    c: &RestoredCluster,
    member: Option<&RestoredInstance>,
    now: DateTime<Utc>,
    report: &mut TesterReport,
) -> Result<()> {
    if c.tags.contains_key(TAG_RESTORE_FINISHED) {
        // Concluded earlier; only the cluster's deletion was left.
        if let Some(m) = member {
            deps.rds.delete_restored(m, TAG_RESTORE_TEST).await?;
        }
        deps.rds
            .delete_restored_cluster(c, TAG_RESTORE_TEST)
            .await?;
        return Ok(());
    }
    let t = Test::new(ResourceKind::AuroraCluster, &c.id, &c.status, &c.tags, now);
    let failed_state =
        is_failed_state(&c.status) || member.is_some_and(|m| is_failed_state(&m.status));
    let available = c.status == "available" && member.is_some_and(|m| m.status == "available");
    let given_up = cfg.given_up(now - t.started);
    if still_running(
        deps,
        cfg,
        &t,
        available || failed_state || given_up,
        now,
        report,
    )
    .await?
    {
        return Ok(());
    }
    let mut results = named(
        cluster_checks(c, member, cfg.parameter_group.as_deref()),
        &cfg.checks,
    );
    let data = cfg.data_checks(&t.db);
    let endpoint = if !data.is_empty() && available {
        deps.rds
            .enable_http_endpoint(&c.arn)
            .await
            .map_err(|e| e.to_string())
    } else {
        Err("the cluster is not available".into())
    };
    for q in data {
        let mut answers = Vec::new();
        for (probe, statement) in q.statements(Dialect::of(&c.engine)) {
            let answer = match (&endpoint, q.secret_arn.as_deref()) {
                (Ok(()), Some(secret)) => deps
                    .data
                    .first_value(&c.arn, secret, q.database.as_deref(), &statement)
                    .await
                    .map_err(|e| e.to_string()),
                (Ok(()), None) => Err("no secret_arn for the Data API".into()),
                (Err(e), _) => Err(e.clone()),
            };
            answers.push((probe, answer));
        }
        results.extend(named(verdicts(q, answers), &cfg.checks));
    }
    if let Some(m) = member {
        deps.rds.delete_restored(m, TAG_RESTORE_TEST).await?;
    }
    deps.rds
        .tag_instance(&c.arn, TAG_RESTORE_FINISHED, &rfc3339(now))
        .await?;
    deps.rds
        .delete_restored_cluster(c, TAG_RESTORE_TEST)
        .await?;
    conclude(deps, cfg, &t, results, failed_state, now, report).await
}

/// What a restore request meets: the windows, the placement, and the
/// decision. Read-only: `rempart restore` runs it before sending a request,
/// and the handler again when it takes one.
#[derive(Clone, Debug, Serialize)]
pub struct Assessment {
    pub database: String,
    /// An RDS DB instance or an Aurora cluster.
    pub kind: ResourceKind,
    pub windows: Windows,
    pub subnet_group: Option<String>,
    /// Aurora: the source writer's class, for the restored cluster's instance.
    pub class: Option<String>,
    /// The target exists and carries this request's id: a redelivery.
    #[serde(skip)]
    pub already_started: bool,
    pub decision: std::result::Result<RestorePlan, String>,
}

/// Checks a restore request against the database as it is now.
pub async fn assess(
    rds: &Rds,
    req: &RestoreRequest,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Assessment> {
    let db = req.database.trim().to_string();
    let refused = |why: String| Assessment {
        database: db.clone(),
        kind: ResourceKind::RdsInstance,
        windows: Windows::default(),
        subnet_group: None,
        class: None,
        already_started: false,
        decision: Err(why),
    };
    if db.is_empty() {
        return Ok(refused("the request has no database".into()));
    }
    let source = match rds.restore_source(&db).await {
        Ok(s) => s,
        Err(Error::Aws { code, .. }) if is_not_found(&code) => {
            match rds.cluster_restore_source(&db).await {
                Ok(s) => s,
                Err(Error::Aws { code, .. }) if is_not_found(&code) => {
                    return Ok(refused(format!(
                        "there is no DB instance nor Aurora cluster {db} in this region"
                    )));
                }
                Err(e) => return Err(e),
            }
        }
        Err(e) => return Err(e),
    };
    let snapshots = if source.kind == ResourceKind::AuroraCluster {
        rds.snapshots_of_cluster(&db).await?
    } else {
        rds.snapshots_of_instance(&db).await?
    };
    let windows = Windows {
        pitr: source.pitr,
        snapshots: snapshots
            .iter()
            .filter(|s| rempart_core::model::is_available(s))
            .filter_map(|s| Some((s.id.clone(), s.taken_at()?)))
            .collect(),
    };
    let (already_started, decision) =
        plan_against_target(rds, req, source.kind, &windows, request_id, now).await?;
    Ok(Assessment {
        database: db,
        kind: source.kind,
        windows,
        subnet_group: source.subnet_group,
        class: source.class,
        already_started,
        decision,
    })
}

/// Whether the request's target is already this request's restore (a
/// redelivery), and the decision against the windows and the target's
/// name. A restored cluster's one instance has the cluster's name: both
/// namespaces must be free.
async fn plan_against_target(
    rds: &Rds,
    req: &RestoreRequest,
    kind: ResourceKind,
    windows: &Windows,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(bool, std::result::Result<RestorePlan, String>)> {
    let target = request_target(req, now);
    let existing = match rds.instance_by_id(&target).await {
        Ok(r) => Some(r),
        Err(Error::Aws { code, .. }) if is_not_found(&code) => None,
        Err(e) => return Err(e),
    };
    let cluster_taken = kind == ResourceKind::AuroraCluster
        && match rds.cluster_by_id(&target).await {
            Ok(_) => true,
            Err(Error::Aws { code, .. }) if is_not_found(&code) => false,
            Err(e) => return Err(e),
        };
    let already_started = existing.as_ref().is_some_and(|r| {
        request_id.is_some_and(|id| r.tags.get(TAG_RESTORE_REQUEST).map(String::as_str) == Some(id))
    });
    let decision = if already_started {
        Ok(RestorePlan {
            source: match (&req.snapshot, req.point_in_time) {
                (Some(s), _) => RestoreSource::Snapshot(s.clone()),
                (None, Some(t)) => RestoreSource::PointInTime(t),
                (None, None) => RestoreSource::Snapshot(String::new()),
            },
            target,
        })
    } else {
        decide(req, windows, existing.is_some() || cluster_taken, now)
    };
    Ok((already_started, decision))
}

fn is_not_found(code: &str) -> bool {
    matches!(
        code,
        "DBInstanceNotFound" | "DBInstanceNotFoundFault" | "DBClusterNotFoundFault"
    )
}

/// Checks a restore request against the vault copies among `snaps` (the
/// backup account's Rempart snapshots, listed once by the caller): copies
/// of `production`'s snapshots (`None`, as `rempart restore --from-vault`
/// reads them: of any other account's). The database need not exist
/// here, a vault holds snapshots only (no point in time), and a request
/// that names no snapshot takes the newest copy, by when this account made
/// it. The restored instance or cluster goes to the region's default
/// subnet group, with the snapshot's class (a cluster's one instance:
/// the request's class, else the default). The target's name is checked
/// free in `target_rds`, the account the restore goes to (`None`: not
/// checked, the account is not reachable from the caller).
pub async fn assess_vault(
    target_rds: Option<&Rds>,
    snaps: Vec<SnapshotInfo>,
    req: &RestoreRequest,
    production: Option<&str>,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(RestoreRequest, Assessment)> {
    let db = req.database.trim().to_string();
    let (kind, windows) = rempart_core::restore::vault_windows(snaps, production, &db);
    let mut req = req.clone();
    if req.snapshot.is_none() && req.point_in_time.is_none() {
        req.snapshot = windows.snapshots.last().map(|(id, _)| id.clone());
    }
    let Some(kind) = kind else {
        let why = format!(
            "there is no vault copy of {db}{} in this backup account and region",
            production
                .map(|p| format!(" (of account {p}'s snapshots)"))
                .unwrap_or_default()
        );
        return Ok((
            req,
            Assessment {
                database: db,
                kind: ResourceKind::RdsInstance,
                windows,
                subnet_group: None,
                class: None,
                already_started: false,
                decision: Err(why),
            },
        ));
    };
    let (already_started, decision) = match target_rds {
        Some(rds) => plan_against_target(rds, &req, kind, &windows, request_id, now).await?,
        None => (false, decide(&req, &windows, false, now)),
    };
    Ok((
        req,
        Assessment {
            database: db,
            kind,
            windows,
            subnet_group: None,
            class: None,
            already_started,
            decision,
        },
    ))
}

/// A restore on request: refused (recorded and announced with the windows)
/// or started into a new instance tagged with the request.
async fn request(
    deps: &Deps,
    req: &RestoreRequest,
    id: &str,
    now: DateTime<Utc>,
) -> Result<TesterReport> {
    let mut report = TesterReport::default();
    // Into a recovery account (from a vault only): reached through its role.
    let recovery = rempart_core::recovery::recovery_of(
        req.to_account.as_deref(),
        deps.vault_of.is_some(),
        &deps.recovery,
    );
    let remote = match &recovery {
        Ok(Some((account, r))) => Some(Box::pin(recovery::Remote::reach(deps, account, r)).await),
        _ => None,
    };
    let mut vault_snaps = Vec::new();
    let (vault_req, mut a) = match &deps.vault_of {
        Some(production) => {
            vault_snaps = deps.rds.managed_snapshots().await?;
            let target_rds = remote.as_ref().map_or(&deps.rds, |r| &r.rds);
            let (r, mut a) = Box::pin(assess_vault(
                Some(target_rds),
                vault_snaps.clone(),
                req,
                Some(production),
                Some(id),
                now,
            ))
            .await
            .or_else(|e| match &remote {
                // A recovery account that cannot be reached refuses the
                // request (reported), rather than failing the run.
                Some(r) if !e.is_retryable() => Ok((
                    req.clone(),
                    Assessment {
                        database: req.database.trim().to_string(),
                        kind: ResourceKind::RdsInstance,
                        windows: Windows::default(),
                        subnet_group: None,
                        class: None,
                        already_started: false,
                        decision: Err(r.unreachable(&e)),
                    },
                )),
                _ => Err(e),
            })?;
            if let Err(why) = &recovery {
                a.decision = Err(why.clone());
            }
            (Some(r), a)
        }
        None => (None, assess(&deps.rds, req, Some(id), now).await?),
    };
    if let (Err(why), None) = (&recovery, &deps.vault_of) {
        a.decision = Err(why.clone());
    }
    // From a vault, the request as completed (its snapshot: the newest copy
    // when it named none).
    let req = vault_req.as_ref().unwrap_or(req);
    let db = a.database.clone();
    let about = About::new(
        deps,
        ResourceKind::RdsInstance,
        &db,
        None,
        Some(id.to_string()),
    );
    let summary = about.summary();
    let record =
        |action: &str, ok: bool, details: Value| about.record(action, now, id, ok, details);
    let plan = match &a.decision {
        Err(why) => {
            let r = record(
                "restore.refused",
                false,
                json!({"request": req, "reason": why, "windows": a.windows}),
            );
            announce(
                deps,
                &r,
                Severity::Warning,
                summary,
                format!(
                    "Restore of {db} requested by {} REFUSED: {why}",
                    req.requested_by.trim()
                ),
            )
            .await?;
            report
                .requests
                .push(json!({"request": id, "state": "refused", "reason": why}));
            return Ok(report);
        }
        Ok(plan) => plan.clone(),
    };
    if a.already_started {
        report
            .requests
            .push(json!({"request": id, "state": "already-started", "target": plan.target}));
        return Ok(report);
    }
    if let Some(t) = req.not_before.filter(|t| *t > now) {
        // The agreed window: recorded and announced now, started by the
        // first tick from `not_before` on (checked again then).
        let r = record(
            "restore.scheduled",
            true,
            json!({"request": req, "plan": plan, "windows": a.windows, "not_before": rfc3339(t), "requested_at": rfc3339(now)}),
        );
        announce(
            deps,
            &r,
            Severity::Info,
            summary,
            format!(
                "Restore of {db} requested by {} scheduled for {} into {} (approved by {})",
                req.requested_by.trim(),
                rfc3339(t),
                plan.target,
                req.approved_by.trim()
            ),
        )
        .await?;
        let waiting = waiting_record(
            deps,
            "restore.scheduled",
            id,
            now,
            json!({ "request": req }),
        );
        deps.registry.record_once(&waiting).await?;
        report.requests.push(
            json!({"request": id, "state": "scheduled", "not_before": rfc3339(t), "target": plan.target}),
        );
        return Ok(report);
    }
    let r = record(
        "restore.requested",
        true,
        json!({"request": req, "plan": plan, "windows": a.windows, "requested_at": rfc3339(now)}),
    );
    let point = plan.source.point();
    let mut tags = vec![
        (TAG_RESTORE_REQUEST.to_string(), id.to_string()),
        (TAG_RESTORE_SOURCE.to_string(), db.clone()),
        (TAG_RESTORE_POINT.to_string(), point.clone()),
        (TAG_RESTORE_STARTED.to_string(), rfc3339(now)),
        (
            rempart_core::tags::TAG_REQUESTED_BY.to_string(),
            req.requested_by.trim().to_string(),
        ),
        (
            TAG_APPROVED_BY.to_string(),
            req.approved_by.trim().to_string(),
        ),
    ];
    tags.retain(|(_, v)| v.len() <= 256);
    let placement = Placement {
        subnet_group: a.subnet_group.as_deref(),
        parameter_group: None,
        security_groups: &[],
    };
    let started = match (&plan.source, &remote) {
        (RestoreSource::Snapshot(s), Some(r)) => {
            match Box::pin(r.start_copy(deps, &vault_snaps, a.kind, s, &plan.target, req, &tags))
                .await
            {
                Ok(true) => Ok(()),
                Ok(false) => {
                    // A redelivery: the copy is there already.
                    report.requests.push(
                        json!({"request": id, "state": "already-started", "target": plan.target, "account": r.account}),
                    );
                    return Ok(report);
                }
                Err(e) => Err(e),
            }
        }
        _ if a.kind == ResourceKind::AuroraCluster => {
            let from = match &plan.source {
                RestoreSource::Snapshot(s) => ClusterFrom::Snapshot(s),
                RestoreSource::PointInTime(t) => ClusterFrom::PointInTime {
                    source: &db,
                    time: *t,
                },
            };
            let class = req
                .instance_class
                .as_deref()
                .or(a.class.as_deref())
                .unwrap_or(rempart_core::restore::DEFAULT_AURORA_CLASS);
            deps.rds
                .restore_cluster(from, &plan.target, class, &placement, &tags)
                .await
        }
        (RestoreSource::Snapshot(s), None) => {
            deps.rds
                .restore_instance(
                    s,
                    &plan.target,
                    req.instance_class.as_deref(),
                    &placement,
                    &tags,
                )
                .await
        }
        (RestoreSource::PointInTime(t), _) => {
            deps.rds
                .restore_instance_to_time(
                    &db,
                    &plan.target,
                    *t,
                    req.instance_class.as_deref(),
                    &placement,
                    &tags,
                )
                .await
        }
    };
    match started {
        Ok(()) => {}
        Err(e) if e.is_retryable() => return Err(e),
        Err(e) => {
            let why = e.to_string();
            let r = record(
                "restore.completed",
                false,
                json!({"request": req, "plan": plan, "error": why, "requested_at": rfc3339(now)}),
            );
            announce(
                deps,
                &r,
                Severity::Warning,
                summary,
                format!(
                    "Restore of {db} to {point} into {} FAILED to start: {why}",
                    plan.target
                ),
            )
            .await?;
            report
                .requests
                .push(json!({"request": id, "state": "failed", "reason": why}));
            return Ok(report);
        }
    }
    let into = match &remote {
        Some(r) => format!(
            "{} in account {} ({point} shared with it and being copied there under {}, then restored)",
            plan.target, r.account, r.conf.kms_key
        ),
        None => plan.target.clone(),
    };
    announce(
        deps,
        &r,
        Severity::Info,
        summary,
        format!(
            "Restore of {db} to {point} into {into} started, requested by {} ({}), approved by {}",
            req.requested_by.trim(),
            req.reason.trim(),
            req.approved_by.trim()
        ),
    )
    .await?;
    report.requests.push(json!({
        "request": id, "state": if remote.is_some() { "copying" } else { "started" },
        "target": plan.target, "point": point,
        "account": remote.as_ref().map(|r| r.account.clone()),
    }));
    Ok(report)
}

/// Follows an instance restored on request (by `rds`: in the function's
/// account, or in the recovery `account`): once it is available (or has
/// failed), runs the checks, records and announces `restore.completed` with
/// the timestamps, and tags it completed. The instance is the requester's:
/// it is never deleted.
async fn follow_request(
    deps: &Deps,
    rds: &Rds,
    account: Option<&str>,
    i: &RestoredInstance,
    cluster: Option<&RestoredCluster>,
    now: DateTime<Utc>,
    report: &mut TesterReport,
) -> Result<()> {
    let failed_state =
        is_failed_state(&i.status) || cluster.is_some_and(|c| is_failed_state(&c.status));
    let available = i.status == "available" && cluster.is_none_or(|c| c.status == "available");
    if !available && !failed_state {
        report.running.push(i.id.clone());
        return Ok(());
    }
    let tag = |k: &str| i.tags.get(k).cloned().unwrap_or_default();
    let db = tag(TAG_RESTORE_SOURCE);
    let id = tag(TAG_RESTORE_REQUEST);
    let requested_at = DateTime::parse_from_rfc3339(&tag(TAG_RESTORE_STARTED))
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now);
    // The source's parameter group is kept: only "applied" is checked.
    let (kind, results) = match cluster {
        Some(c) => (
            ResourceKind::AuroraCluster,
            cluster_checks(c, Some(i), None),
        ),
        None => (ResourceKind::RdsInstance, checks(i, None)),
    };
    let ok = !failed_state && results.iter().all(|c| c.ok);
    let rto_s = (now - requested_at).num_seconds();
    let details = json!({
        "request": id, "target": i.id, "point": tag(TAG_RESTORE_POINT),
        "requested_by": tag(rempart_core::tags::TAG_REQUESTED_BY), "approved_by": tag(TAG_APPROVED_BY),
        "requested_at": rfc3339(requested_at), "available_at": rfc3339(now), "rto_s": rto_s,
        "status": i.status, "checks": results, "measured_to": "the polling period",
        "account": account,
    });
    let about = About::new(deps, kind, &db, None, Some(id.clone()));
    let r = about.record("restore.completed", now, &id, ok, details.clone());
    let target = match account {
        Some(a) => format!("{} (account {a})", i.id),
        None => i.id.clone(),
    };
    let text = if ok {
        format!(
            "Restore of {db} to {} is ready: {target} available after {} min, checks passed (requested by {}, approved by {})",
            tag(TAG_RESTORE_POINT),
            rto_s / 60,
            tag(rempart_core::tags::TAG_REQUESTED_BY),
            tag(TAG_APPROVED_BY)
        )
    } else {
        format!(
            "Restore of {db} into {target} FAILED ({}): {}",
            i.status,
            results
                .iter()
                .filter(|c| !c.ok)
                .map(|c| format!("{} ({})", c.name, c.detail))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let severity = if ok {
        Severity::Info
    } else {
        Severity::Warning
    };
    announce(deps, &r, severity, about.summary(), text).await?;
    rds.tag_instance(&i.arn, TAG_RESTORE_COMPLETED, &rfc3339(now))
        .await?;
    report.requests.push(details);
    Ok(())
}

fn is_failed_state(status: &str) -> bool {
    matches!(
        status,
        "failed"
            | "incompatible-restore"
            | "incompatible-parameters"
            | "incompatible-network"
            | "storage-full"
    )
}

/// A record under the region's scheduled-requests key (a restore request
/// waiting for its `not_before`, or its dispatch), the request id as its
/// subject.
fn waiting_record(
    deps: &Deps,
    action: &str,
    id: &str,
    now: DateTime<Utc>,
    details: Value,
) -> RegistryRecord {
    RegistryRecord {
        resource: scheduled_requests_key(&deps.region),
        time: now,
        action: action.into(),
        subject: id.into(),
        outcome: Outcome::Success,
        policy: None,
        region: deps.region.clone(),
        function: NAME.into(),
        details,
        cause: Some(id.into()),
    }
}

/// The database a record is about, and what every record of it shares.
struct About {
    kind: ResourceKind,
    db: String,
    region: String,
    policy: Option<String>,
    cause: Option<String>,
}

impl About {
    fn new(
        deps: &Deps,
        kind: ResourceKind,
        db: &str,
        policy: Option<String>,
        cause: Option<String>,
    ) -> About {
        About {
            kind,
            db: db.to_string(),
            region: deps.region.clone(),
            policy,
            cause,
        }
    }

    fn record(
        &self,
        action: &str,
        time: DateTime<Utc>,
        subject: &str,
        ok: bool,
        details: Value,
    ) -> RegistryRecord {
        RegistryRecord {
            resource: format!("{}#{}#{}", self.kind, self.region, self.db),
            time,
            action: action.into(),
            subject: subject.to_string(),
            outcome: if ok {
                Outcome::Success
            } else {
                Outcome::Failure
            },
            policy: self.policy.clone(),
            region: self.region.clone(),
            function: NAME.into(),
            details,
            cause: self.cause.clone(),
        }
    }

    fn summary(&self) -> ResourceSummary {
        ResourceSummary {
            kind: self.kind.to_string(),
            id: self.db.clone(),
            arn: String::new(),
        }
    }
}

async fn announce(
    deps: &Deps,
    r: &RegistryRecord,
    severity: Severity,
    resource: ResourceSummary,
    summary: String,
) -> Result<()> {
    if deps.registry.record_once(r).await? {
        deps.topic
            .publish(&r.announcement(severity, Some(resource), summary))
            .await?;
    }
    Ok(())
}
