//! Benchmark of a built function binary, as Lambda would run it.
//!
//! Method (see bench/README.md): a local Lambda runtime API on 127.0.0.1 and
//! a moto server holding seed 003's estate. For each of N runs the binary is
//! started fresh; "cold start" is the time from exec to its first
//! `GET /runtime/invocation/next` (configuration read, SDK clients built).
//! One scheduled event (02:00: two snapshots, registry, topic) is then
//! served, and the process's peak resident memory (VmHWM) is read from
//! /proc before it is stopped. Sizes are of the binary and of its zip.
//!
//! Usage: rempart-bench functions [BIN_DIR] [ZIP_DIR] [RUNS] [POLICY_FILE]
//!        rempart-bench retention-engine [SNAPSHOTS] [RUNS]
//!        rempart-bench retention-sweep [SNAPSHOTS]
//!        rempart-bench scheduler-scale [RESOURCES]

use rempart_testkit::lambda_rt::{Outcome, RuntimeApi};
use rempart_testkit::local::{create_estate, create_plumbing, LocalAws, REGION};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const POLICY: &str = include_str!("../../examples/rewapp-policy.toml");
const SCHEDULED: &str = include_str!("../../events/snapshot-scheduler/scheduled.json");

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The retention engine alone: one resource with `n` snapshots (one every
/// 30 seconds, so hours, days, weeks, months and years all hold many), the
/// seed 003 policy (keep-within 24h, 7 daily, 4 weekly, 12 monthly, 5
/// yearly, a keep-tag), in UTC and in Europe/Paris. Median of `runs` runs on
/// one thread.
fn retention_engine(n: usize, runs: usize) -> Result<(), Box<dyn std::error::Error>> {
    use rempart_core::policy::PolicyDocument;
    use rempart_core::retention::{plan, Place, Snap};
    let doc = PolicyDocument::from_toml(POLICY, "examples/rewapp-policy.toml")?;
    let policy = doc
        .policy("rewapp-postgres")
        .ok_or("no rewapp-postgres policy")?;
    let start = chrono::DateTime::<chrono::Utc>::from_timestamp(1_600_000_000, 0).ok_or("time")?;
    let snaps: Vec<Snap> = (0..n)
        .map(|i| Snap {
            id: format!("s{i}"),
            time: start + chrono::TimeDelta::seconds(30 * i as i64),
            tags: if i % 1000 == 0 {
                vec!["rempart:legal-hold=x".into()]
            } else {
                vec![]
            },
            dr_copy_pending: false,
        })
        .collect();
    for tz in [chrono_tz::Tz::UTC, "Europe/Paris".parse::<chrono_tz::Tz>()?] {
        let mut times = Vec::new();
        let mut kept = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let v = plan(&snaps, &policy.retention, tz, Place::Primary);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            kept = v
                .iter()
                .filter(|v| v.action == rempart_core::retention::Action::Keep)
                .count();
        }
        println!(
            "retention engine  {n} snapshots, {tz}: median {:.0} ms over {runs} runs ({kept} kept)",
            median(&mut times)
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("replication") {
        return replication(args.get(2).and_then(|s| s.parse().ok()).unwrap_or(500)).await;
    }
    if args.get(1).map(String::as_str) == Some("scheduler-scale") {
        return scheduler_scale(args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1000)).await;
    }
    if args.get(1).map(String::as_str) == Some("retention-sweep") {
        return retention_sweep(
            args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5000),
            args.get(3).and_then(|s| s.parse().ok()).unwrap_or(0),
        )
        .await;
    }
    if args.get(1).map(String::as_str) == Some("retention-engine") {
        let n = args
            .get(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(1_000_000);
        let runs = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
        return retention_engine(n, runs);
    }
    if args.get(1).map(String::as_str) == Some("functions") {
        let bins = PathBuf::from(
            args.get(2)
                .map_or("target/x86_64-unknown-linux-gnu/release", String::as_str),
        );
        let zips = PathBuf::from(args.get(3).map_or("target/lambda", String::as_str));
        let runs = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(20);
        // The policy the binaries understand (an older build: its own
        // example), default this tree's example.
        let policy = match args.get(5) {
            Some(p) => std::fs::read_to_string(p)?,
            None => POLICY.to_string(),
        };
        return functions(&bins, &zips, runs, &policy).await;
    }
    Err(format!(
        "usage: rempart-bench functions [BIN_DIR] [ZIP_DIR] [RUNS] [POLICY_FILE] | retention-engine [SNAPSHOTS] [RUNS] | \
         retention-sweep [SNAPSHOTS] [LATENCY_MS] | replication [N] | scheduler-scale [RESOURCES]; got {:?}",
        &args[1..]
    )
    .into())
}

/// The seven functions as `scripts/build-functions` leaves them (the
/// binaries `BIN_DIR/<function>`, the packages `ZIP_DIR/<function>/bootstrap.zip`), each run
/// `runs` times from a fresh process under a local runtime API against one
/// moto server holding seed 003's estate, with one real invocation each.
const FUNCTIONS: [(&str, &str); 7] = [
    (
        "snapshot-scheduler",
        include_str!("../../events/snapshot-scheduler/scheduled.json"),
    ),
    (
        "snapshot-replicator",
        include_str!("../../events/snapshot-replicator/sweep.json"),
    ),
    (
        "retention-enforcer",
        include_str!("../../events/retention-enforcer/scheduled.json"),
    ),
    (
        "backup-auditor",
        include_str!("../../events/backup-auditor/scheduled.json"),
    ),
    (
        "restore-tester",
        include_str!("../../events/restore-tester/scheduled.json"),
    ),
    (
        "incident-escalator",
        include_str!("../../events/incident-escalator/tick.json"),
    ),
    (
        "slack-notifier",
        include_str!("../../events/slack-notifier/sns-announcement.json"),
    ),
];

/// What one function measured: medians over the runs, and its sizes.
struct Figures {
    cold_ms: f64,
    invoke_ms: f64,
    rss_mib: f64,
    binary_mib: Option<f64>,
    zip_mib: Option<f64>,
}

async fn functions(
    bins: &std::path::Path,
    zips: &std::path::Path,
    runs: usize,
    policy_text: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    use rempart_testkit::recorder::Recorder;
    for (name, _) in FUNCTIONS {
        let bin = bins.join(name);
        if !bin.exists() {
            return Err(format!(
                "{} not found: build the functions first (scripts/build-functions)",
                bin.display()
            )
            .into());
        }
    }
    let aws = LocalAws::start(&[])?;
    let cfg = aws.sdk_config(REGION).await;
    let (registry, topic) = create_plumbing(&cfg, "rempart-registry", "rempart-events").await?;
    create_estate(&cfg).await?;
    rempart_testkit::local::create_dr(&cfg, true).await?;
    let incidents = rempart_aws::incidents::Incidents::new(
        aws_sdk_dynamodb::Client::new(&cfg),
        "rempart-incidents",
    );
    incidents.create_table().await?;
    // Slack: a local server that answers `ok`, behind every channel.
    let slack = Recorder::start().await?;
    let hooks: serde_json::Map<String, serde_json::Value> =
        ["#ops-alerts", "#incident-war-room", "#incidents"]
            .into_iter()
            .map(|c| (c.to_string(), slack.url("/hooks").into()))
            .collect();
    aws_sdk_secretsmanager::Client::new(&cfg)
        .create_secret()
        .name("rempart/slack-webhook")
        .secret_string(serde_json::json!({ "webhooks": hooks }).to_string())
        .send()
        .await?;
    let policy = std::env::temp_dir().join(format!("rempart-bench-{}.toml", std::process::id()));
    std::fs::write(&policy, policy_text)?;
    let mut env = aws.child_env(REGION);
    env.extend([
        ("REMPART_POLICY".to_string(), policy.display().to_string()),
        ("REMPART_REGISTRY_TABLE".into(), registry.table().into()),
        ("REMPART_EVENTS_TOPIC_ARN".into(), topic.arn().into()),
        ("REMPART_INCIDENTS_TABLE".into(), "rempart-incidents".into()),
        (
            "REMPART_SLACK_SECRET_ARN".into(),
            "rempart/slack-webhook".into(),
        ),
        ("REMPART_SLACK_API_URL".into(), slack.url("/api")),
    ]);
    println!(
        "| function | cold start (median) | one invocation (median) | peak RSS (median) | binary | zip |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for (name, sample) in FUNCTIONS {
        let f = measure(
            &bins.join(name),
            &zips.join(name).join("bootstrap.zip"),
            name,
            &env,
            sample,
            runs,
        )
        .await?;
        let mib = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.2} MiB"));
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:.1} MiB | {} | {} |",
            f.cold_ms,
            f.invoke_ms,
            f.rss_mib,
            mib(f.binary_mib),
            mib(f.zip_mib),
        );
    }
    let _ = std::fs::remove_file(&policy);
    Ok(())
}

/// Runs `binary` `runs` times, each from a fresh process under a fresh
/// runtime API, with one event made from `sample` (its time moved a day
/// each run, so a scheduled run finds new work). An invocation that fails
/// stops the bench: a figure of a function that did not work is no figure.
async fn measure(
    binary: &std::path::Path,
    zip: &std::path::Path,
    name: &str,
    env: &[(String, String)],
    sample: &str,
    runs: usize,
) -> Result<Figures, Box<dyn std::error::Error>> {
    let (mut cold, mut invoke, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    let sample: serde_json::Value = serde_json::from_str(sample)?;
    for run in 0..runs {
        let api = RuntimeApi::start().await?;
        let started = Instant::now();
        let mut child = api.spawn(binary, &format!("rempart-{name}"), env)?;
        let first = loop {
            if let Some(t) = api.first_poll() {
                break t;
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(format!("{name} never polled the runtime API").into());
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        };
        cold.push((first - started).as_secs_f64() * 1000.0);
        let mut event = sample.clone();
        let day = format!("2025-11-{:02}", 1 + run % 28);
        if event.get("time").is_some() {
            let time = event["time"].as_str().unwrap_or("T02:00:00Z").to_string();
            let clock = time.split_once('T').map_or("02:00:00Z", |(_, c)| c);
            event["time"] = format!("{day}T{clock}").into();
            event["id"] = format!("bench-{name}-{run}").into();
        } else if let Some(records) = event["Records"].as_array_mut() {
            for r in records {
                r["Sns"]["Timestamp"] = format!("{day}T02:00:00.000Z").into();
                r["Sns"]["MessageId"] = format!("bench-{name}-{run}").into();
            }
        }
        let t = Instant::now();
        let id = api.push(event);
        match api.outcome(&id, Duration::from_secs(120)).await? {
            Outcome::Response(_) => {}
            Outcome::Error(e) => return Err(format!("{name}: invocation failed: {e}").into()),
        }
        invoke.push(t.elapsed().as_secs_f64() * 1000.0);
        if let Some(kib) = child.id().and_then(peak_rss_kib) {
            rss.push(kib as f64 / 1024.0);
        }
        child.kill().await?;
    }
    let size = |p: &std::path::Path| {
        std::fs::metadata(p)
            .ok()
            .map(|m| m.len() as f64 / 1048576.0)
    };
    Ok(Figures {
        cold_ms: median(&mut cold),
        invoke_ms: median(&mut invoke),
        rss_mib: median(&mut rss),
        binary_mib: size(binary),
        zip_mib: size(zip),
    })
}

/// A retention sweep over `n` Rempart snapshots in the emulator (half RDS,
/// half EBS, one a day for each of two resources' worth of history), seen
/// through a counting proxy: API calls by operation for the marking run and
/// for the deleting run a grace period later.
///
/// With `latency_ms` > 0, every call is held that long by the proxy (AWS's
/// round trip) and the enforcer is paced as on Lambda (12 mutating calls a
/// second per region); the marking run is made once one call at a time and
/// once with the enforcer's bounded concurrency (the marks cleared between
/// the two by `rempart retention undo`'s code), to compare wall times and
/// the peak calls a second.
pub async fn retention_sweep(n: usize, latency_ms: u64) -> Result<(), Box<dyn std::error::Error>> {
    use rempart_core::policy::PolicySource;
    use rempart_retention_enforcer as retention_enforcer;
    use rempart_testkit::local::sdk_config_for;
    use rempart_testkit::proxy::CountingProxy;

    let aws = LocalAws::start(&[("MOTO_RDS_SNAPSHOT_LIMIT", "1000000")])?;
    let cfg = aws.sdk_config(REGION).await;
    let (registry, topic) = create_plumbing(&cfg, "rempart-registry", "rempart-events").await?;
    let estate = create_estate(&cfg).await?;
    let policy = "version = 1\n[policies.rewapp-postgres]\nkinds = [\"rds-instance\"]\nrpo = \"26h\"\n\
                  [policies.rewapp-postgres.retention]\nkeep_daily = 7\nkeep_weekly = 4\nkeep_monthly = 12\nkeep_yearly = 5\n\
                  [policies.rewapp-ebs]\nkinds = [\"ebs-volume\"]\nrpo = \"26h\"\n[policies.rewapp-ebs.retention]\nkeep_daily = 14\n";
    let path = std::env::temp_dir().join(format!("rempart-sweep-{}.toml", std::process::id()));
    std::fs::write(&path, policy)?;
    let start = chrono::DateTime::<chrono::Utc>::from_timestamp(1_600_000_000, 0).ok_or("time")?;
    let rds = rempart_testkit::local::rds_client(&cfg);
    let ec2 = rempart_testkit::local::ec2_client(&cfg);
    let t0 = Instant::now();
    for i in 0..n {
        let at = start + chrono::TimeDelta::hours(6 * i as i64);
        let stamp = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        if i % 2 == 0 {
            rempart_testkit::local::put_rds_snapshot(
                &rds,
                &estate.db,
                &format!("rempart-sweep-{i}"),
                "rewapp-postgres",
                &stamp,
            )
            .await?;
        } else {
            rempart_testkit::local::put_ebs_snapshot(&ec2, &estate.volume, "rewapp-ebs", &stamp)
                .await?;
        }
    }
    println!(
        "created {n} snapshots in {:.0} s (not counted)",
        t0.elapsed().as_secs_f64()
    );
    let end = start + chrono::TimeDelta::hours(6 * n as i64);
    if latency_ms > 0 {
        return retention_scale(&aws, &registry, &topic, &path, end, n, latency_ms).await;
    }
    let proxy = CountingProxy::start(&aws.endpoint).await?;
    let pcfg = sdk_config_for(&proxy.url(), REGION).await;
    let mut deps = retention_enforcer::Deps::new(
        &pcfg,
        registry.table(),
        topic.arn(),
        PolicySource::File(path.clone()),
    )?;
    deps.pace = 0;
    for (label, at) in [
        ("marking run", end),
        (
            "deleting run (after the grace period)",
            end + chrono::TimeDelta::hours(25),
        ),
    ] {
        let mut event: serde_json::Value = serde_json::from_str(SCHEDULED)?;
        event["time"] = at.to_rfc3339().into();
        let t = Instant::now();
        let r = retention_enforcer::handle(&deps, event).await?;
        let counts = proxy.take();
        let total: usize = counts.values().sum();
        println!(
            "{label}: {} in {:.1} s, {total} API calls",
            r.summary(),
            t.elapsed().as_secs_f64()
        );
        for (op, c) in counts {
            println!("  {op:<36} {c}");
        }
    }
    let _ = std::fs::remove_file(&path);
    Ok(())
}

/// The marking run behind `latency_ms` a call, one call at a time and then
/// bounded, paced as on Lambda.
#[allow(clippy::too_many_arguments)]
async fn retention_scale(
    aws: &LocalAws,
    registry: &rempart_aws::registry::Registry,
    topic: &rempart_aws::topic::Topic,
    path: &std::path::Path,
    at: chrono::DateTime<chrono::Utc>,
    n: usize,
    latency_ms: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    use rempart_core::policy::PolicySource;
    use rempart_retention_enforcer as retention_enforcer;
    use rempart_testkit::local::sdk_config_for;
    use rempart_testkit::proxy::CountingProxy;
    println!("retention-enforcer's marking run over {n} snapshots, {latency_ms} ms added to every call, 12 mutating calls a second");
    println!(
        "| run | wall time | requests | mutating calls | peak requests/s | peak mutating calls/s |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    let mutating = |op: &str| op == "rds:AddTagsToResource" || op == "ec2:CreateTags";
    for (label, concurrency) in [
        ("one at a time", 1),
        ("bounded", retention_enforcer::enforcer::DEFAULT_CONCURRENCY),
    ] {
        let proxy = CountingProxy::with_latency(
            &aws.endpoint,
            None,
            None,
            Duration::from_millis(latency_ms),
        )
        .await?;
        let mut deps = retention_enforcer::Deps::new(
            &sdk_config_for(&proxy.url(), REGION).await,
            registry.table(),
            topic.arn(),
            PolicySource::File(path.to_path_buf()),
        )?;
        deps.concurrency = concurrency;
        let mut event: serde_json::Value = serde_json::from_str(SCHEDULED)?;
        event["time"] = at.to_rfc3339().into();
        event["id"] = format!("scale-{concurrency}").into();
        let t = Instant::now();
        let r = retention_enforcer::handle(&deps, event).await?;
        let wall = t.elapsed();
        let counts = proxy.take();
        let marks: usize = counts
            .iter()
            .filter(|(op, _)| mutating(op))
            .map(|(_, c)| c)
            .sum();
        println!(
            "| {label} ({concurrency}) | {:.1} s | {} | {marks} | {} | {} |",
            wall.as_secs_f64(),
            counts.values().sum::<usize>(),
            proxy.peak_per_second(|_| true),
            proxy.peak_per_second(mutating),
        );
        if r.totals().marked == 0 {
            return Err(format!("{label}: nothing was marked: {}", r.summary()).into());
        }
        // Clear the marks so the next run marks the same snapshots again.
        let cfg = aws.sdk_config(REGION).await;
        retention_enforcer::enforcer::undo(&[rempart_aws::snapshots::Snapshots::for_region(
            &cfg, REGION,
        )])
        .await?;
    }
    let _ = std::fs::remove_file(path);
    Ok(())
}

/// `replication [N]`: N Rempart snapshots (half RDS, half EBS) complete at
/// once; their N completion events reach the snapshot-replicator one after
/// the other (reserved concurrency 1), while AWS finishes 5 RDS and 5 EBS
/// copies every 10 events; then the 15-minute sweep runs, AWS finishing 20
/// of each between sweeps, until every snapshot has its DR copy. Copies are
/// held "in flight" at the HTTP level (moto makes them available at once).
/// Prints the API calls per copy and the most copies ever in flight.
pub async fn replication(n: usize) -> Result<(), Box<dyn std::error::Error>> {
    use rempart_core::policy::PolicySource;
    use rempart_snapshot_replicator as snapshot_replicator;
    use rempart_testkit::latency::CopyLatency;
    use rempart_testkit::local::{create_dr, sdk_config_for};
    use rempart_testkit::proxy::CountingProxy;

    const DR: &str = "eu-central-1";
    let aws = LocalAws::start(&[("MOTO_RDS_SNAPSHOT_LIMIT", "1000000")])?;
    let cfg = aws.sdk_config(REGION).await;
    let (registry, topic) = create_plumbing(&cfg, "rempart-registry", "rempart-events").await?;
    let estate = create_estate(&cfg).await?;
    create_dr(&cfg, true).await?;
    let policy = "version = 1\n[policies.rewapp-postgres]\nkinds = [\"rds-instance\"]\nrpo = \"26h\"\n\
                  [policies.rewapp-postgres.retention]\nkeep_daily = 7\n\
                  [[policies.rewapp-postgres.dr]]\nregion = \"eu-central-1\"\nkms_key = \"alias/rempart-dr\"\n\
                  [policies.rewapp-ebs]\nkinds = [\"ebs-volume\"]\nrpo = \"26h\"\n[policies.rewapp-ebs.retention]\nkeep_daily = 14\n\
                  [[policies.rewapp-ebs.dr]]\nregion = \"eu-central-1\"\nkms_key = \"alias/rempart-dr\"\n";
    let path = std::env::temp_dir().join(format!("rempart-repl-{}.toml", std::process::id()));
    std::fs::write(&path, policy)?;
    let rds = rempart_testkit::local::rds_client(&cfg);
    let ec2 = rempart_testkit::local::ec2_client(&cfg);
    let stamp = "2025-11-23T02:00:00Z";
    let mut events = Vec::new();
    let rds_sample: serde_json::Value = serde_json::from_str(include_str!(
        "../../events/snapshot-replicator/rds-snapshot-created.json"
    ))?;
    let ebs_sample: serde_json::Value = serde_json::from_str(include_str!(
        "../../events/snapshot-replicator/ebs-snapshot-completed.json"
    ))?;
    for i in 0..n.div_ceil(2) {
        let id = format!("rempart-bench-{i:04}");
        rempart_testkit::local::put_rds_snapshot(&rds, &estate.db, &id, "rewapp-postgres", stamp)
            .await?;
        let mut e = rds_sample.clone();
        e["detail"]["SourceIdentifier"] = id.into();
        events.push(e);
    }
    for _ in 0..n / 2 {
        rempart_testkit::local::put_ebs_snapshot(&ec2, &estate.volume, "rewapp-ebs", stamp).await?;
    }
    let snaps = ec2.describe_snapshots().owner_ids("self").send().await?;
    for s in snaps.snapshots() {
        let mut e = ebs_sample.clone();
        e["detail"]["snapshot_id"] = format!(
            "arn:aws:ec2::eu-west-1:snapshot/{}",
            s.snapshot_id().unwrap_or_default()
        )
        .into();
        events.push(e);
    }
    println!(
        "{} snapshots created (not counted), {} events",
        n,
        events.len()
    );

    let latency = CopyLatency::new();
    let proxy = CountingProxy::with_hooks(&aws.endpoint, None, Some(latency.hook())).await?;
    let deps = snapshot_replicator::Deps::new(
        &sdk_config_for(&proxy.url(), REGION).await,
        registry.table(),
        topic.arn(),
        PolicySource::File(path.clone()),
        20,
    )?;
    let t = Instant::now();
    let (mut started, mut deferred) = (0usize, 0usize);
    for (i, e) in events.into_iter().enumerate() {
        for r in snapshot_replicator::handle(&deps, e).await? {
            started += r.count("started");
            deferred += r.count("deferred");
        }
        if i % 10 == 9 {
            latency.complete(DR, "rds", 5);
            latency.complete(DR, "ec2", 5);
        }
    }
    let event_calls = proxy.take();
    println!(
        "events: {started} copies started, {deferred} deferred, in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let mut sweeps = 0;
    let mut sweep: serde_json::Value =
        serde_json::from_str(include_str!("../../events/snapshot-replicator/sweep.json"))?;
    loop {
        sweeps += 1;
        sweep["time"] = format!(
            "2025-11-23T{:02}:{:02}:00Z",
            3 + sweeps / 4,
            (sweeps % 4) * 15
        )
        .into();
        let r = snapshot_replicator::handle(&deps, sweep.clone())
            .await?
            .remove(0);
        if r.count("available") == n || sweeps > 200 {
            println!("sweep {sweeps}: {}", r.summary());
            break;
        }
        latency.complete(DR, "rds", 20);
        latency.complete(DR, "ec2", 20);
    }
    let sweep_calls = proxy.take();
    let total = |c: &std::collections::BTreeMap<String, usize>| c.values().sum::<usize>();
    println!(
        "{} copies started in all (one per snapshot: {}), {sweeps} sweeps until all available",
        latency.started(),
        latency.started() == n
    );
    for ((region, service), max) in latency.max_in_flight() {
        println!("most copies in flight at once to {region}, {service}: {max}");
    }
    println!(
        "API calls: {} during the events ({:.1} per copy), {} during the sweeps",
        total(&event_calls),
        total(&event_calls) as f64 / n as f64,
        total(&sweep_calls)
    );
    for (label, calls) in [("events", &event_calls), ("sweeps", &sweep_calls)] {
        println!("  {label}:");
        for (op, c) in calls {
            println!("    {op:<36} {c}");
        }
    }
    let _ = std::fs::remove_file(&path);
    Ok(())
}

/// The snapshot-scheduler over `n` tagged RDS instances, every call held
/// 100 ms by the proxy (AWS's round trip; moto answers at once), once with
/// one snapshot at a time and once with its bounded concurrency: wall time,
/// requests per resource, and the peak requests in any one second (all, and
/// `CreateDBSnapshot` alone, which the pacer keeps near 12 a second).
pub async fn scheduler_scale(n: usize) -> Result<(), Box<dyn std::error::Error>> {
    use rempart_core::policy::PolicySource;
    use rempart_snapshot_scheduler as snapshot_scheduler;
    use rempart_testkit::local::sdk_config_for;
    use rempart_testkit::proxy::CountingProxy;

    let aws = LocalAws::start(&[("MOTO_RDS_SNAPSHOT_LIMIT", "1000000")])?;
    let cfg = aws.sdk_config(REGION).await;
    let (registry, topic) = create_plumbing(&cfg, "rempart-registry", "rempart-events").await?;
    let rds = rempart_testkit::local::rds_client(&cfg);
    for i in 0..n {
        rds.create_db_instance()
            .db_instance_identifier(format!("db-{i:04}"))
            .engine("postgres")
            .db_instance_class("db.t4g.micro")
            .allocated_storage(20)
            .master_username("u")
            .master_user_password("not-a-real-password")
            .tags(
                aws_sdk_rds::types::Tag::builder()
                    .key("rempart:policy")
                    .value("pg")
                    .build(),
            )
            .send()
            .await?;
    }
    let policy = "version = 1\n[policies.pg]\nkinds = [\"rds-instance\"]\nrpo = \"26h\"\n\
                  [[policies.pg.schedules]]\nname = \"daily\"\ncron = \"0 2 * * *\"\ntiers = [\"daily\"]\n\
                  [policies.pg.retention]\nkeep_daily = 7\n";
    let path = std::env::temp_dir().join(format!("rempart-scale-{}.toml", std::process::id()));
    std::fs::write(&path, policy)?;
    println!("snapshot-scheduler over {n} RDS instances, 100 ms added to every call");
    println!(
        "| run | wall time | requests | per resource | peak requests/s | peak CreateDBSnapshot/s |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for (day, (label, concurrency)) in [
        ("one at a time", 1),
        (
            "bounded",
            snapshot_scheduler::scheduler::DEFAULT_CONCURRENCY,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let proxy =
            CountingProxy::with_latency(&aws.endpoint, None, None, Duration::from_millis(100))
                .await?;
        let mut deps = snapshot_scheduler::Deps::new(
            &sdk_config_for(&proxy.url(), REGION).await,
            registry.table(),
            topic.arn(),
            PolicySource::File(path.clone()),
        )?;
        deps.scheduler.concurrency = concurrency;
        let mut event: serde_json::Value = serde_json::from_str(SCHEDULED)?;
        event["time"] = format!("2025-11-{:02}T02:00:00Z", 10 + day).into();
        event["id"] = format!("scale-{day}").into();
        let t = Instant::now();
        let report = snapshot_scheduler::handle(&deps, event).await?;
        let wall = t.elapsed();
        if report.created.len() != n {
            return Err(format!(
                "{label}: {} created of {n}: {}",
                report.created.len(),
                report.summary()
            )
            .into());
        }
        let requests: usize = proxy.take().values().sum();
        println!(
            "| {label} ({concurrency}) | {:.1} s | {requests} | {:.2} | {} | {} |",
            wall.as_secs_f64(),
            requests as f64 / n as f64,
            proxy.peak_per_second(|_| true),
            proxy.peak_per_second(|op| op == "rds:CreateDBSnapshot"),
        );
    }
    let _ = std::fs::remove_file(&path);
    Ok(())
}
