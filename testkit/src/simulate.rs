//! `rempart-local simulate`: replays N days of a policy's schedules through the
//! real snapshot-scheduler, snapshot-replicator and retention-enforcer
//! handlers against the local emulator, primary and DR regions. Event times
//! advance; the clock does not.
//!
//! The replicator sweeps once before each enforcer run (a Redis export
//! started by one sweep reaches the DR bucket at the next), and twice before
//! the last one. moto does not implement
//! ElastiCache's export (`CopySnapshot` with `TargetBucket`): a proxy
//! answers it as AWS does, and the simulator then writes the `.rdb` file
//! into the export bucket, as ElastiCache would.

use crate::error::KitError;
use crate::local::{create_dr, create_estate, create_plumbing, LocalAws, REGION};
use crate::proxy::CountingProxy;
use chrono::{DateTime, TimeDelta, Timelike, Utc};
use clap::Args;
use rempart_core::cron::Cron;
use rempart_core::enforcement::Step;
use rempart_core::kind::ResourceKind;
use rempart_core::model::SnapshotInfo;
use rempart_core::policy::{PolicyDocument, PolicySource};
use rempart_core::retention::{plan, Action, Place, Snap};
use rempart_core::tags::*;
use rempart_retention_enforcer as retention_enforcer;
use rempart_snapshot_replicator as snapshot_replicator;
use rempart_snapshot_scheduler as snapshot_scheduler;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// AWS's default quota of manual RDS snapshots per region.
pub const RDS_MANUAL_QUOTA: usize = 100;

#[derive(Args, Debug, Clone)]
pub struct SimArgs {
    /// Days to replay.
    #[arg(long, default_value_t = 400)]
    pub days: u32,
    /// Policy document (default: the seed 003 example).
    #[arg(long, value_name = "FILE")]
    pub policy_file: Option<PathBuf>,
    /// First instant replayed (RFC 3339).
    #[arg(long, default_value = "2025-01-01T00:00:00Z")]
    pub start: DateTime<Utc>,
    /// When the retention-enforcer runs (cron, UTC).
    #[arg(long, default_value = "30 5 * * *")]
    pub enforce_cron: Cron,
    /// Ignore the policy's DR regions (the replicator copies nothing, and
    /// only the primary region is simulated).
    #[arg(long)]
    pub without_dr: bool,
    /// Print only the summary, not one line a day.
    #[arg(long)]
    pub quiet: bool,
}

/// (region, kind, source resource): one retention group.
pub type GroupKey = (String, String, String);

/// A snapshot seen during the simulation: its group, when it was taken, its policy.
type Taken = (GroupKey, DateTime<Utc>, String);

/// What a simulation ends with.
#[derive(Debug, Default)]
pub struct SimOutcome {
    /// Surviving snapshot ids per (region, kind, source).
    pub survivors: BTreeMap<GroupKey, BTreeSet<String>>,
    /// What restic's rules (plus the floors) keep of everything ever taken.
    pub predicted: BTreeMap<GroupKey, BTreeSet<String>>,
    /// The most manual RDS snapshots (instances + clusters) seen in a region.
    pub max_rds_manual: usize,
    /// Groups whose policy has `keep_within_<unit>` rules: run by run they
    /// may keep more than one application (restic's "oldest kept" rule, see
    /// the engine's property tests), so they are not compared.
    pub not_compared: BTreeSet<GroupKey>,
    pub scheduler_runs: usize,
    pub replicator_runs: usize,
    pub enforcer_runs: usize,
    /// AWS requests over the whole simulation, by function.
    pub requests: BTreeMap<String, usize>,
}

impl SimOutcome {
    /// Survivors equal the prediction in every group that was compared.
    pub fn matches(&self) -> bool {
        self.predicted
            .iter()
            .all(|(g, want)| self.survivors.get(g) == Some(want))
            && self
                .survivors
                .keys()
                .all(|g| self.predicted.contains_key(g) || self.not_compared.contains(g))
    }
}

const EXAMPLE_POLICY: &str = include_str!("../../examples/rewapp-policy.toml");
const SCHEDULED: &str = include_str!("../../events/snapshot-scheduler/scheduled.json");

fn scheduled(t: DateTime<Utc>) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(SCHEDULED).expect("shipped sample is JSON");
    v["time"] = t.to_rfc3339().into();
    v["id"] = format!("sim-{}", t.timestamp()).into();
    v
}

fn tier_counts(snaps: &[SnapshotInfo]) -> BTreeMap<String, usize> {
    let mut c = BTreeMap::new();
    for s in snaps {
        for t in s
            .tags
            .get(TAG_TIERS)
            .map(String::as_str)
            .unwrap_or("")
            .split('+')
            .filter(|t| !t.is_empty())
        {
            *c.entry(t.to_string()).or_insert(0) += 1;
        }
    }
    c
}

fn group_key(s: &SnapshotInfo) -> GroupKey {
    (s.region.clone(), s.kind.to_string(), s.source_id())
}

/// Runs the simulation, writing its report to `out`.
pub async fn simulate(args: &SimArgs, out: &mut impl Write) -> Result<SimOutcome, KitError> {
    let text = match &args.policy_file {
        Some(p) => {
            std::fs::read_to_string(p).map_err(KitError::io(format!("reading {}", p.display())))?
        }
        None => EXAMPLE_POLICY.to_string(),
    };
    let mut doc = PolicyDocument::from_toml(&text, "simulated policy")?;
    let mut text = text;
    if args.without_dr {
        for p in doc.policies.values_mut() {
            p.dr.clear();
        }
        text = strip_dr(&text);
        PolicyDocument::from_toml(&text, "simulated policy without DR")?;
    }
    // The buckets are not part of the simulated estate.
    doc.buckets.clear();
    let text = strip_buckets(&text);

    // No request log: 55,000 lines that slow moto (scripts/moto-server.py).
    let aws = LocalAws::start(&[
        ("MOTO_RDS_SNAPSHOT_LIMIT", "100000"),
        ("REMPART_MOTO_REQUEST_LOG", "0"),
    ])?;
    let cfg = aws.sdk_config(REGION).await;
    let (registry, topic) = create_plumbing(&cfg, "rempart-registry", "rempart-events").await?;
    let estate = create_estate(&cfg).await?;
    let policy_path = std::env::temp_dir().join(format!(
        "rempart-sim-{}-{}.toml",
        std::process::id(),
        aws.pid
    ));
    std::fs::write(&policy_path, &text).map_err(KitError::io("writing the simulated policy"))?;
    // Every function through one proxy: it counts their requests, by
    // function, and answers the replicator's ElastiCache exports.
    create_dr(&cfg, true).await?;
    let exports: Arc<Mutex<Vec<(String, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let seen = exports.clone();
    let proxy = CountingProxy::with_hooks(
        &aws.endpoint,
        Some(Arc::new(move |r: &crate::http::Request| {
            if crate::proxy::operation(r) != "elasticache:CopySnapshot" {
                return None;
            }
            let body = String::from_utf8_lossy(&r.body).to_string();
            let field = |n: &str| {
                body.split('&')
                    .find_map(|kv| kv.strip_prefix(&format!("{n}=")))
                    .unwrap_or_default()
                    .to_string()
            };
            let (bucket, name) = (field("TargetBucket"), field("TargetSnapshotName"));
            seen.lock()
                .expect("exports lock")
                .push((bucket, name.clone()));
            Some(("200 OK".to_string(), export_answer(&name)))
        })),
        None,
    )
    .await?;
    let pcfg = crate::local::sdk_config_for(&proxy.url(), REGION).await;
    let sched = snapshot_scheduler::Deps::new(
        &pcfg,
        registry.table(),
        topic.arn(),
        PolicySource::File(policy_path.clone()),
    )?;
    let mut enf = retention_enforcer::Deps::new(
        &pcfg,
        registry.table(),
        topic.arn(),
        PolicySource::File(policy_path.clone()),
    )?;
    enf.pace = 0;
    let rep = snapshot_replicator::Deps::new(
        &pcfg,
        registry.table(),
        topic.arn(),
        PolicySource::File(policy_path.clone()),
        rempart_core::replication::DEFAULT_MAX_IN_FLIGHT,
    )?;
    let s3 = aws_sdk_s3::Client::new(&cfg);
    let replicate = |t: DateTime<Utc>, sweeps: usize| {
        let (rep, s3, exports) = (&rep, &s3, &exports);
        async move {
            for _ in 0..sweeps {
                let reports = snapshot_replicator::handle(rep, scheduled(t)).await?;
                if let Some(i) = reports
                    .iter()
                    .flat_map(|r| &r.items)
                    .find(|i| matches!(i.state.as_str(), "failed" | "blocked" | "deferred"))
                {
                    return Err(KitError::Usage(format!(
                        "simulated replicator run at {t}: {} to {} {}: {}",
                        i.snapshot, i.region, i.state, i.reason
                    )));
                }
                // ElastiCache writes the files it was asked to export.
                let pending = std::mem::take(&mut *exports.lock().expect("exports lock"));
                for (bucket, name) in pending {
                    s3.put_object()
                        .bucket(&bucket)
                        .key(format!("{name}.rdb"))
                        .body(aws_sdk_s3::primitives::ByteStream::from_static(
                            b"REDIS0011",
                        ))
                        .send()
                        .await
                        .map_err(|e| KitError::Setup(format!("writing the export: {e:?}")))?;
                }
            }
            Ok::<usize, KitError>(sweeps)
        }
    };
    let regions: Vec<_> = rempart_core::enforcement::regions_of(&doc, REGION)
        .iter()
        .map(|r| rempart_aws::snapshots::Snapshots::for_region(&cfg, r))
        .collect();

    let w = |out: &mut dyn Write, s: String| {
        writeln!(out, "{s}").map_err(KitError::io("writing the report"))
    };
    w(
        out,
        format!(
            "Simulating {} days from {} (estate: {}, {}, {}, {}; enforcer at `{}` UTC{})",
            args.days,
            args.start.format("%Y-%m-%d"),
            estate.db,
            estate.aurora,
            estate.volume,
            estate.redis,
            args.enforce_cron,
            if args.without_dr {
                "; DR regions ignored"
            } else {
                ""
            }
        ),
    )?;

    let crons: Vec<(Cron, chrono_tz::Tz)> = doc
        .policies
        .values()
        .flat_map(|p| {
            p.schedules
                .iter()
                .map(|s| (s.cron.clone(), doc.timezone_of(p)))
        })
        .collect();
    let mut outcome = SimOutcome::default();
    // Every snapshot ever taken: (region, id) -> (group, time). An RDS copy
    // has its source's identifier, in another region.
    let mut taken: BTreeMap<(String, String), Taken> = BTreeMap::new();
    let end = args.start + TimeDelta::days(i64::from(args.days));
    let mut t = args.start;
    let mut last_enforce = args.start;
    let mut spent = [std::time::Duration::ZERO; 4];
    while t < end {
        if crons.iter().any(|(c, tz)| c.matches(t, *tz)) {
            let clock = std::time::Instant::now();
            let r = snapshot_scheduler::handle(&sched, scheduled(t)).await?;
            spent[0] += clock.elapsed();
            outcome.scheduler_runs += 1;
            if let Some(f) = r.failed.first() {
                return Err(KitError::Usage(format!(
                    "simulated scheduler run at {t} failed: {f:?}"
                )));
            }
        }
        if args.enforce_cron.matches(t, chrono_tz::Tz::UTC) {
            let clock = std::time::Instant::now();
            outcome.replicator_runs += replicate(t, 1).await?;
            spent[1] += clock.elapsed();
            let clock = std::time::Instant::now();
            retention_enforcer::handle(&enf, scheduled(t)).await?;
            spent[2] += clock.elapsed();
            let clock = std::time::Instant::now();
            outcome.enforcer_runs += 1;
            last_enforce = t;
            let mut line = format!("{}", t.format("%Y-%m-%d"));
            let mut rds_manual = 0;
            for r in &regions {
                let snaps = r.list_managed().await?;
                for s in &snaps {
                    taken.entry((s.region.clone(), s.id.clone())).or_insert((
                        group_key(s),
                        s.taken_at().unwrap_or(t),
                        policy_of(s),
                    ));
                }
                let n_rds = snaps
                    .iter()
                    .filter(|s| {
                        matches!(
                            s.kind,
                            ResourceKind::RdsInstance | ResourceKind::AuroraCluster
                        )
                    })
                    .count();
                rds_manual = rds_manual.max(n_rds);
                let counts = tier_counts(&snaps);
                let marked = snaps
                    .iter()
                    .filter(|s| s.tags.contains_key(TAG_DELETE_AFTER))
                    .count();
                line.push_str(&format!(
                    "  {}: {} snapshots ({}), {} marked, RDS manual {}/{}",
                    r.region,
                    snaps.len(),
                    counts
                        .iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    marked,
                    n_rds,
                    RDS_MANUAL_QUOTA
                ));
            }
            outcome.max_rds_manual = outcome.max_rds_manual.max(rds_manual);
            spent[3] += clock.elapsed();
            if !args.quiet {
                w(out, line)?;
            }
        }
        t = next_minute(t);
    }
    if !args.quiet {
        w(
            out,
            format!(
                "Time spent: scheduler {:.1} s, replicator {:.1} s, enforcer {:.1} s, listing {:.1} s",
                spent[0].as_secs_f64(),
                spent[1].as_secs_f64(),
                spent[2].as_secs_f64(),
                spent[3].as_secs_f64()
            ),
        )?;
    }
    // Snapshots taken after the last enforcer run are not in `taken` yet.
    let mut finals = Vec::new();
    for r in &regions {
        finals.extend(r.list_managed().await?);
    }
    for s in &finals {
        taken.entry((s.region.clone(), s.id.clone())).or_insert((
            group_key(s),
            s.taken_at().unwrap_or(end),
            policy_of(s),
        ));
    }
    // One more run once every grace period is over, with no new snapshot:
    // what is still marked is then deleted.
    let max_grace = doc
        .policies
        .values()
        .filter_map(|p| p.retention.grace_period.map(|g| g.0))
        .max()
        .unwrap_or(rempart_core::enforcement::DEFAULT_GRACE);
    let settle = last_enforce.max(end) + max_grace + TimeDelta::minutes(1);
    outcome.replicator_runs += replicate(settle, 2).await?;
    let report = retention_enforcer::handle(&enf, scheduled(settle)).await?;
    outcome.enforcer_runs += 1;

    let mut finals = Vec::new();
    for r in &regions {
        finals.extend(r.list_managed().await?);
    }
    for s in &finals {
        outcome
            .survivors
            .entry(group_key(s))
            .or_default()
            .insert(s.id.clone());
    }
    // restic's prediction over everything ever taken, one shot.
    let mut groups: BTreeMap<GroupKey, Vec<(String, DateTime<Utc>, String)>> = BTreeMap::new();
    for ((_, id), (g, time, policy)) in &taken {
        groups
            .entry(g.clone())
            .or_default()
            .push((id.clone(), *time, policy.clone()));
    }
    for (g, members) in groups {
        let Some(policy) = doc.policy(&members[0].2) else {
            continue;
        };
        let r = &policy.retention;
        if [
            r.keep_within_hourly,
            r.keep_within_daily,
            r.keep_within_weekly,
            r.keep_within_monthly,
            r.keep_within_yearly,
        ]
        .iter()
        .any(Option::is_some)
        {
            outcome.not_compared.insert(g);
            continue;
        }
        let snaps: Vec<Snap> = members
            .iter()
            .map(|(id, time, _)| Snap {
                id: id.clone(),
                time: *time,
                tags: vec![],
                // The replicator copied every snapshot before the enforcer
                // ran (a failed, blocked or deferred copy stops the run).
                dr_copy_pending: false,
            })
            .collect();
        let place = if g.0 == REGION {
            Place::Primary
        } else {
            Place::DrCopy
        };
        let kept: BTreeSet<String> =
            plan(&snaps, &policy.retention, doc.timezone_of(policy), place)
                .into_iter()
                .filter(|v| v.action == Action::Keep)
                .map(|v| v.id)
                .collect();
        outcome.predicted.insert(g, kept);
    }

    w(out, format!(
        "\nAfter {} days ({} scheduler runs, {} replicator sweeps, {} enforcer runs, the last at {} once grace periods were over):",
        args.days, outcome.scheduler_runs, outcome.replicator_runs, outcome.enforcer_runs, settle.format("%Y-%m-%d %H:%M")
    ))?;
    outcome.requests = proxy.take_by_app();
    w(
        out,
        format!(
            "AWS requests per simulated day, by function: {}",
            outcome
                .requests
                .iter()
                .map(|(f, n)| format!("{f} {:.1}", *n as f64 / f64::from(args.days.max(1))))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )?;
    for g in &report.decisions {
        let kept: Vec<_> = g
            .decisions
            .iter()
            .filter(|d| d.step == Step::Keep)
            .collect();
        w(
            out,
            format!(
                "  {} {} {} ({}): {} kept",
                g.region,
                g.kind,
                g.source,
                g.policy,
                kept.len()
            ),
        )?;
        for d in kept {
            w(
                out,
                format!(
                    "    {}  {}  {}",
                    d.time.format("%Y-%m-%d %H:%M"),
                    d.id,
                    d.reasons.join(", ")
                ),
            )?;
        }
    }
    w(
        out,
        format!(
            "\nMost manual RDS snapshots in a region: {} (AWS quota {}){}",
            outcome.max_rds_manual,
            RDS_MANUAL_QUOTA,
            if outcome.max_rds_manual > RDS_MANUAL_QUOTA * 8 / 10 {
                "  WARNING: above 80% of the quota"
            } else {
                ""
            }
        ),
    )?;
    for g in &outcome.not_compared {
        w(out, format!("  {g:?}: not compared (its policy has keep_within_<unit> rules, which keep more run by run)"))?;
    }
    if outcome.matches() {
        w(
            out,
            "Survivors match restic's rules applied once to every snapshot taken: yes".into(),
        )?;
    } else {
        w(
            out,
            "Survivors match restic's rules applied once to every snapshot taken: NO".into(),
        )?;
        for (g, want) in &outcome.predicted {
            let have = outcome.survivors.get(g).cloned().unwrap_or_default();
            if &have != want {
                w(
                    out,
                    format!(
                        "  {g:?}: extra {:?}, missing {:?}",
                        have.difference(want).collect::<Vec<_>>(),
                        want.difference(&have).collect::<Vec<_>>()
                    ),
                )?;
            }
        }
        for (g, have) in &outcome.survivors {
            if !outcome.predicted.contains_key(g) && !outcome.not_compared.contains(g) {
                w(
                    out,
                    format!("  {g:?}: {} survive, none predicted", have.len()),
                )?;
            }
        }
    }
    let _ = std::fs::remove_file(&policy_path);
    Ok(outcome)
}

/// ElastiCache's answer to an export, as its API reference shows it.
fn export_answer(name: &str) -> String {
    format!(
        r#"<CopySnapshotResponse xmlns="http://elasticache.amazonaws.com/doc/2015-02-02/"><CopySnapshotResult><Snapshot><SnapshotName>{name}</SnapshotName><SnapshotStatus>exporting</SnapshotStatus><SnapshotSource>manual</SnapshotSource></Snapshot></CopySnapshotResult><ResponseMetadata><RequestId>simulated</RequestId></ResponseMetadata></CopySnapshotResponse>"#
    )
}

fn policy_of(s: &SnapshotInfo) -> String {
    s.tags
        .get(rempart_core::tags::TAG_POLICY)
        .cloned()
        .unwrap_or_default()
}

fn next_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t + TimeDelta::seconds(60 - i64::from(t.second()))
}

/// The policy text without its `[[policies.*.dr]]` tables.
fn strip_dr(text: &str) -> String {
    strip_tables(text, |header| {
        header.starts_with("[[policies.") && header.ends_with(".dr]]")
    })
}

/// The policy text without its `[[buckets]]` tables (and their
/// sub-tables, `[buckets.lifecycle]`, `[buckets.replication]`).
fn strip_buckets(text: &str) -> String {
    strip_tables(text, |header| {
        header == "[[buckets]]" || header.starts_with("[buckets.")
    })
}

fn strip_tables(text: &str, drop: impl Fn(&str) -> bool) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            skipping = drop(trimmed);
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}
