//! `rempart-local`: the emulator-backed tools, for trying Rempart on this
//! machine (never deployed): a demo of the scheduler and retention against a
//! local moto, a year-long simulation, and the set-up `rempart invoke` needs
//! against an emulator.

use clap::{Parser, Subcommand};
use rempart_core::model::SnapshotInfo;
use rempart_core::policy::PolicySource;
use rempart_core::tags::*;
use rempart_snapshot_scheduler as snapshot_scheduler;
use rempart_testkit::local::{create_estate, create_plumbing, LocalAws, REGION};
use rempart_testkit::KitError;
use serde_json::Value;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "rempart-local",
    version,
    about = "Rempart against a local AWS emulator (moto): demo, simulation, set-up"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a local AWS emulator, create a small estate shaped like the
    /// example policy's, run the scheduler over a few scheduled times and an
    /// on-demand request, and print what exists.
    Demo,
    /// Replay N days of the policy's schedules through the real scheduler and
    /// retention-enforcer against a local emulator (event times advance, the
    /// clock does not); print per day the snapshots per tier and region, and
    /// at the end which survive and why, checked against restic's rules.
    Simulate(rempart_testkit::simulate::SimArgs),
    /// Create the registry table and the events topic in a local emulator
    /// (AWS_ENDPOINT_URL must be set; in AWS, Terraform creates them), and
    /// print the variables that `rempart invoke` then needs.
    LocalInit {
        #[arg(long, default_value = "rempart-registry")]
        table: String,
        #[arg(long, default_value = "rempart-events")]
        topic: String,
    },
}

async fn simulate(args: &rempart_testkit::simulate::SimArgs) -> Result<(), KitError> {
    let outcome = rempart_testkit::simulate::simulate(args, &mut std::io::stdout()).await?;
    if outcome.matches() {
        Ok(())
    } else {
        Err(KitError::Usage(
            "the survivors differ from restic's prediction (see above)".into(),
        ))
    }
}

async fn local_init(table: &str, topic: &str) -> Result<(), KitError> {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        return Err(KitError::Usage(
            "local-init only creates resources in an emulator: set AWS_ENDPOINT_URL first (eval \"$(scripts/local-aws env)\")".into(),
        ));
    }
    let cfg = rempart_aws::runtime::aws_config().await;
    let (registry, topic) = create_plumbing(&cfg, table, topic).await?;
    println!(
        "export REMPART_REGISTRY_TABLE={} REMPART_EVENTS_TOPIC_ARN={}",
        registry.table(),
        topic.arn()
    );
    Ok(())
}

const SCHEDULED: &str = include_str!("../../events/snapshot-scheduler/scheduled.json");
const ON_DEMAND: &str = include_str!("../../events/snapshot-scheduler/on-demand.json");
const EXAMPLE_POLICY: &str = include_str!("../../examples/rewapp-policy.toml");

fn event_at(template: &str, time: &str) -> Value {
    let mut v: Value = serde_json::from_str(template).expect("shipped sample events are JSON");
    v["time"] = Value::String(time.to_string());
    v["id"] = Value::String(format!("demo-{time}"));
    v
}

async fn demo() -> Result<(), KitError> {
    println!("Starting the local AWS stack (moto server)...");
    let aws = LocalAws::start(&[])?;
    println!("  endpoint {} (pid {})", aws.endpoint, aws.pid);
    let cfg = aws.sdk_config(REGION).await;
    let (registry, topic) = create_plumbing(&cfg, "rempart-registry", "rempart-events").await?;
    let policy_path =
        std::env::temp_dir().join(format!("rempart-demo-policy-{}.toml", std::process::id()));
    std::fs::write(&policy_path, EXAMPLE_POLICY)
        .map_err(KitError::io("writing the demo policy"))?;
    let deps = snapshot_scheduler::Deps::new(
        &cfg,
        registry.table(),
        topic.arn(),
        PolicySource::File(policy_path.clone()),
    )?;

    let estate = create_estate(&cfg).await?;
    println!("\nEstate in {REGION} (policy from examples/rewapp-policy.toml):");
    println!(
        "  rds-instance      {:<24} rempart:policy=rewapp-postgres",
        estate.db
    );
    println!(
        "  aurora-cluster    {:<24} rempart:policy=rewapp-postgres",
        estate.aurora
    );
    println!(
        "  ebs-volume        {:<24} rempart:policy=rewapp-ebs",
        estate.volume
    );
    println!(
        "  elasticache-redis {:<24} rempart:policy=rewapp-redis",
        estate.redis
    );
    println!(
        "  rds-instance      {:<24} (untagged: never touched)",
        estate.untagged_db
    );
    println!(
        "  ebs-volume        {:<24} (untagged: never touched)",
        estate.untagged_volume
    );

    let mut on_demand = event_at(ON_DEMAND, "2025-11-24T14:25:00Z");
    on_demand["detail"]["resources"] = serde_json::json!([
        format!("rds-instance/{}", estate.db),
        format!("aurora-cluster/{}", estate.aurora)
    ]);
    let runs = [
        (
            "Sun 2025-11-23 03:00 UTC, weekly full backup",
            event_at(SCHEDULED, "2025-11-23T03:00:00Z"),
        ),
        (
            "Mon 2025-11-24 02:00 UTC, daily PostgreSQL",
            event_at(SCHEDULED, "2025-11-24T02:00:00Z"),
        ),
        (
            "Mon 2025-11-24 02:00 UTC, the same event delivered again",
            event_at(SCHEDULED, "2025-11-24T02:00:00Z"),
        ),
        (
            "Mon 2025-11-24 04:00 UTC, daily EBS and Redis",
            event_at(SCHEDULED, "2025-11-24T04:00:00Z"),
        ),
        (
            "Mon 2025-11-24 14:25 UTC, on demand before migration V42",
            on_demand,
        ),
        (
            "Sun 2025-12-07 03:00 UTC, first weekly of December",
            event_at(SCHEDULED, "2025-12-07T03:00:00Z"),
        ),
    ];
    for (label, event) in runs {
        let report = snapshot_scheduler::handle(&deps, event).await?;
        println!("\n{label}: {}", report.summary());
        for i in &report.created {
            println!(
                "  created  {:<18} {:<20} {} [{}]",
                i.kind,
                i.resource,
                i.snapshot_id.as_deref().unwrap_or(""),
                tiers(&i.tiers)
            );
        }
        for i in &report.skipped {
            println!(
                "  skipped  {:<18} {:<20} {}",
                i.kind,
                i.resource,
                i.reason.as_deref().unwrap_or("")
            );
        }
        for i in &report.failed {
            let why = i
                .error
                .as_ref()
                .map(|e| format!("{}: {}", e.code, e.message))
                .or(i.reason.clone())
                .unwrap_or_default();
            println!("  FAILED   {:<18} {:<20} {why}", i.kind, i.resource);
        }
    }

    let s = &deps.scheduler;
    let mut snaps: Vec<SnapshotInfo> = Vec::new();
    snaps.extend(s.rds.managed_snapshots().await?);
    snaps.extend(s.ec2.managed_snapshots().await?);
    snaps.extend(s.elasticache.managed_snapshots().await?);
    snaps.sort_by(|a, b| {
        (a.tags.get(TAG_SCHEDULED_AT), &a.id).cmp(&(b.tags.get(TAG_SCHEDULED_AT), &b.id))
    });
    println!("\nRempart snapshots now in {REGION} ({}):", snaps.len());
    println!(
        "  {:<18} {:<20} {:<24} {:<58} SCHEDULED AT",
        "KIND", "SOURCE", "TIERS", "SNAPSHOT"
    );
    for sn in &snaps {
        println!(
            "  {:<18} {:<20} {:<24} {:<58} {}",
            sn.kind.as_str(),
            sn.source,
            sn.tags.get(TAG_TIERS).map(String::as_str).unwrap_or(""),
            sn.id,
            sn.tags
                .get(TAG_SCHEDULED_AT)
                .map(String::as_str)
                .unwrap_or("")
        );
    }
    for untouched in [&estate.untagged_db, &estate.untagged_volume] {
        let n = snaps.iter().filter(|sn| &sn.source == untouched).count();
        println!("  {untouched}: {n} snapshots (untagged)");
    }
    println!("\nRegistry ({}), records per resource:", registry.table());
    for (kind, id) in [
        ("rds-instance", &estate.db),
        ("aurora-cluster", &estate.aurora),
        ("ebs-volume", &estate.volume),
        ("elasticache-redis", &estate.redis),
    ] {
        let h = registry.history(&format!("{kind}#{REGION}#{id}")).await?;
        println!("  {kind:<18} {id:<24} {} records", h.len());
    }
    let _ = std::fs::remove_file(&policy_path);
    println!("\nStopping the local AWS stack.");
    drop(aws);

    println!(
        "\nNow 40 days of the same policy, scheduler, replicator and retention-enforcer together,"
    );
    println!("in a fresh emulator, primary region eu-west-1 and DR region eu-central-1:\n");
    let args = rempart_testkit::simulate::SimArgs {
        days: 40,
        policy_file: None,
        start: "2025-01-01T00:00:00Z".parse().expect("constant"),
        enforce_cron: "30 5 * * *".parse().expect("constant"),
        without_dr: false,
        quiet: false,
    };
    rempart_testkit::simulate::simulate(&args, &mut std::io::stdout()).await?;
    Ok(())
}

fn tiers(t: &[rempart_core::model::Tier]) -> String {
    rempart_core::model::tiers_tag_value(t)
}

#[tokio::main]
async fn main() -> ExitCode {
    rempart_aws::runtime::init_tracing_quiet();
    let cli = Cli::parse();
    let res = match &cli.command {
        Command::Demo => demo().await,
        Command::Simulate(args) => simulate(args).await,
        Command::LocalInit { table, topic } => local_init(table, topic).await,
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rempart-local: {e}");
            ExitCode::FAILURE
        }
    }
}
