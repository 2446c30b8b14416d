//! `rempart`: the operator's command line.

use clap::{Parser, Subcommand};
use rempart_cli::local::{create_estate, create_plumbing, LocalAws, REGION};
use rempart_cli::CliError;
use rempart_shared::functions::{
    backup_auditor, incident_escalator, restore_tester, retention_enforcer, slack_notifier,
    snapshot_replicator, snapshot_scheduler,
};
use rempart_shared::model::{SnapshotInfo, TAG_SCHEDULED_AT, TAG_TIERS};
use rempart_shared::policy::PolicySource;
use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "rempart",
    version,
    about = "Backup and disaster-recovery automation for AWS, run from your policy"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a function's handler here, against the AWS endpoint of the
    /// environment (AWS_ENDPOINT_URL for a local emulator), with the same
    /// settings as the Lambda (REMPART_POLICY, REMPART_REGISTRY_TABLE,
    /// REMPART_EVENTS_TOPIC_ARN).
    Invoke {
        /// Function name: snapshot-scheduler.
        function: String,
        /// Event file (JSON), or `-` for standard input.
        #[arg(long)]
        event: PathBuf,
    },
    /// Create the registry table and the events topic in a local emulator
    /// (AWS_ENDPOINT_URL must be set; in AWS, Terraform creates them), and
    /// print the variables that `invoke` then needs.
    LocalInit {
        #[arg(long, default_value = "rempart-registry")]
        table: String,
        #[arg(long, default_value = "rempart-events")]
        topic: String,
    },
    /// Print the EventBridge rule expressions of the policy's schedules (for
    /// Terraform's `snapshot_schedules`).
    Schedules {
        /// Policy document.
        #[arg(long, default_value = "examples/rewapp-policy.toml")]
        policy_file: PathBuf,
    },
    /// Retention: see what the policy keeps and removes, and why.
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Replay N days of the policy's schedules through the real scheduler and
    /// retention-enforcer against a local emulator (event times advance, the
    /// clock does not); print per day the snapshots per tier and region, and
    /// at the end which survive and why, checked against restic's rules.
    Simulate(rempart_cli::simulate::SimArgs),
    /// Tell the incident-escalator what a human did: acknowledge an incident
    /// (escalation stops), record that the client was notified, or post a
    /// status update. Publishes the event on EventBridge (bus
    /// REMPART_EVENT_BUS, default `default`).
    Incident {
        #[command(subcommand)]
        command: IncidentCommand,
    },
    /// Restore a database on request (seed 002 §3) into a new instance: to a
    /// point in time inside its point-in-time window, or from one of its
    /// snapshots. Checks the request now (read-only) and prints the plan or
    /// the refusal with the windows; then publishes it on EventBridge (bus
    /// REMPART_EVENT_BUS, default `default`) for the restore-tester, which
    /// restores, runs the post-restore checks and reports with timestamps.
    Restore(Box<rempart_cli::restore::RestoreArgs>),
    /// For an auditor: every backup, copy, deletion, restore test, restore
    /// and incident of a period, with the measured RPO and RTO against the
    /// policy's targets, from the registry (REMPART_REGISTRY_TABLE) and the
    /// incidents table (REMPART_INCIDENTS_TABLE), as a table, JSON, or a
    /// self-contained HTML page with a timeline.
    Report(Box<rempart_cli::report::ReportArgs>),
    /// Start a local AWS emulator, create a small estate shaped like the
    /// example policy's (seed 003), run the scheduler over a few scheduled
    /// times and an on-demand request, and print what exists.
    Demo,
}

#[derive(Subcommand)]
enum IncidentCommand {
    /// Acknowledge: the on-call chain stops escalating.
    Ack(IncidentArgs),
    /// Record that the client notification was sent (majors: within 4 h).
    ClientNotified(IncidentArgs),
    /// Post a status update (resets the update reminder).
    Update {
        #[command(flatten)]
        args: IncidentArgs,
        /// What is happening.
        #[arg(long)]
        note: String,
    },
}

#[derive(clap::Args)]
struct IncidentArgs {
    /// The incident id (`<key>@<opened at>`, as in its messages) or its key.
    id: String,
    /// Who: a name or an e-mail address.
    #[arg(long)]
    by: String,
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Apply a retention policy (restic `forget` semantics plus Rempart's
    /// floors) to a list of snapshots and print keep/remove with reasons.
    /// Nothing is deleted.
    Plan(Box<rempart_cli::retention::PlanArgs>),
    /// Clear every deletion mark (`rempart:delete-after`) that the
    /// retention-enforcer set, in the policy's regions (REMPART_POLICY) or
    /// the regions given: marked snapshots then start a new grace period.
    Undo {
        /// Region to clear (repeatable). Default: the primary region of the
        /// AWS configuration and every DR region of the policy.
        #[arg(long)]
        region: Vec<String>,
    },
}

fn read_event(path: &PathBuf) -> Result<Value, CliError> {
    let text = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(CliError::io("reading the event from stdin"))?;
        s
    } else {
        std::fs::read_to_string(path)
            .map_err(CliError::io(format!("reading {}", path.display())))?
    };
    serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("{} is not JSON: {e}", path.display())))
}

async fn invoke(function: &str, event: &PathBuf) -> Result<(), CliError> {
    let event = read_event(event)?;
    let cfg = rempart_shared::runtime::aws_config().await;
    let report = match function {
        snapshot_scheduler::NAME => {
            let deps = snapshot_scheduler::Deps::from_env(&cfg)?;
            serde_json::to_value(snapshot_scheduler::handle(&deps, event).await?)
                .unwrap_or_default()
        }
        retention_enforcer::NAME => {
            let deps = retention_enforcer::Deps::from_env(&cfg)?;
            serde_json::to_value(retention_enforcer::handle(&deps, event).await?)
                .unwrap_or_default()
        }
        snapshot_replicator::NAME => {
            let deps = snapshot_replicator::Deps::from_env(&cfg)?;
            serde_json::to_value(snapshot_replicator::handle(&deps, event).await?)
                .unwrap_or_default()
        }
        slack_notifier::NAME => {
            let deps = slack_notifier::Deps::from_env(&cfg)?;
            serde_json::to_value(slack_notifier::handle(&deps, event).await?).unwrap_or_default()
        }
        restore_tester::NAME => {
            let deps = restore_tester::Deps::from_env(&cfg)?;
            serde_json::to_value(restore_tester::handle(&deps, event).await?).unwrap_or_default()
        }
        backup_auditor::NAME => {
            let deps = backup_auditor::Deps::from_env(&cfg)?;
            serde_json::to_value(backup_auditor::handle(&deps, event).await?).unwrap_or_default()
        }
        incident_escalator::NAME => {
            let deps = incident_escalator::Deps::from_env(&cfg)?;
            serde_json::to_value(incident_escalator::handle(&deps, event).await?)
                .unwrap_or_default()
        }
        other => {
            return Err(CliError::Usage(format!(
                "unknown function `{other}`; known: {}, {}, {}, {}, {}, {}, {}",
                snapshot_scheduler::NAME,
                snapshot_replicator::NAME,
                retention_enforcer::NAME,
                slack_notifier::NAME,
                incident_escalator::NAME,
                backup_auditor::NAME,
                restore_tester::NAME
            )))
        }
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    Ok(())
}

async fn incident(command: &IncidentCommand) -> Result<(), CliError> {
    use rempart_shared::functions::incident_escalator::{ACK, CLIENT_NOTIFIED, STATUS_UPDATE};
    let (detail_type, args, note) = match command {
        IncidentCommand::Ack(a) => (ACK, a, ""),
        IncidentCommand::ClientNotified(a) => (CLIENT_NOTIFIED, a, ""),
        IncidentCommand::Update { args, note } => (STATUS_UPDATE, args, note.as_str()),
    };
    if args.by.trim().is_empty() {
        return Err(CliError::Usage("--by must name who acts".into()));
    }
    let cfg = rempart_shared::runtime::aws_config().await;
    let bus = rempart_shared::aws::bus::Bus::new(
        aws_sdk_eventbridge::Client::new(&cfg),
        std::env::var("REMPART_EVENT_BUS").unwrap_or_else(|_| "default".into()),
    );
    let id = bus
        .put(
            detail_type,
            &rempart_shared::functions::incident_escalator::human_detail(&args.id, &args.by, note),
        )
        .await?;
    println!("published `{detail_type}` for {} (event {id})", args.id);
    Ok(())
}

async fn undo(regions: &[String]) -> Result<(), CliError> {
    let cfg = rempart_shared::runtime::aws_config().await;
    let regions = if regions.is_empty() {
        let source = PolicySource::from_env()?;
        let doc =
            rempart_shared::runtime::load_policy(&source, &aws_sdk_ssm::Client::new(&cfg)).await?;
        rempart_shared::enforcer::regions_of(&doc, &rempart_shared::runtime::region_of(&cfg)?)
    } else {
        regions.to_vec()
    };
    let adapters: Vec<_> = regions
        .iter()
        .map(|r| rempart_shared::aws::snapshots::Snapshots::for_region(&cfg, r))
        .collect();
    let cleared = rempart_shared::enforcer::undo(&adapters).await?;
    println!(
        "cleared {} deletion mark(s) in {}",
        cleared.len(),
        regions.join(", ")
    );
    for c in cleared {
        println!("  {c}");
    }
    Ok(())
}

fn schedules(path: &PathBuf) -> Result<(), CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(CliError::io(format!("reading {}", path.display())))?;
    let doc =
        rempart_shared::policy::PolicyDocument::from_toml(&text, &path.display().to_string())?;
    for (name, p) in &doc.policies {
        let tz = doc.timezone_of(p);
        for s in &p.schedules {
            let expr = s.cron.to_eventbridge().map_err(CliError::Usage)?;
            let note = if tz == chrono_tz::Tz::UTC {
                String::new()
            } else {
                format!("  (policy time zone {tz}: use EventBridge Scheduler with that time zone, rules run in UTC)")
            };
            println!("{name}/{}\t{expr}{note}", s.name);
        }
    }
    Ok(())
}

async fn simulate(args: &rempart_cli::simulate::SimArgs) -> Result<(), CliError> {
    let outcome = rempart_cli::simulate::simulate(args, &mut std::io::stdout()).await?;
    if outcome.matches() {
        Ok(())
    } else {
        Err(CliError::Usage(
            "the survivors differ from restic's prediction (see above)".into(),
        ))
    }
}

async fn local_init(table: &str, topic: &str) -> Result<(), CliError> {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        return Err(CliError::Usage(
            "local-init only creates resources in an emulator: set AWS_ENDPOINT_URL first (eval \"$(scripts/local-aws env)\")".into(),
        ));
    }
    let cfg = rempart_shared::runtime::aws_config().await;
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

async fn demo() -> Result<(), CliError> {
    println!("Starting the local AWS stack (moto server)...");
    let aws = LocalAws::start(&[])?;
    println!("  endpoint {} (pid {})", aws.endpoint, aws.pid);
    let cfg = aws.sdk_config(REGION).await;
    let (registry, topic) = create_plumbing(&cfg, "rempart-registry", "rempart-events").await?;
    let policy_path =
        std::env::temp_dir().join(format!("rempart-demo-policy-{}.toml", std::process::id()));
    std::fs::write(&policy_path, EXAMPLE_POLICY)
        .map_err(CliError::io("writing the demo policy"))?;
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
    let args = rempart_cli::simulate::SimArgs {
        days: 40,
        policy_file: None,
        start: "2025-01-01T00:00:00Z".parse().expect("constant"),
        enforce_cron: "30 5 * * *".parse().expect("constant"),
        without_dr: false,
        quiet: false,
    };
    rempart_cli::simulate::simulate(&args, &mut std::io::stdout()).await?;
    Ok(())
}

fn tiers(t: &[rempart_shared::model::Tier]) -> String {
    rempart_shared::model::tiers_tag_value(t)
}

#[tokio::main]
async fn main() -> ExitCode {
    rempart_shared::runtime::init_tracing();
    let cli = Cli::parse();
    let res = match &cli.command {
        Command::Invoke { function, event } => invoke(function, event).await,
        Command::LocalInit { table, topic } => local_init(table, topic).await,
        Command::Retention {
            command: RetentionCommand::Plan(args),
        } => rempart_cli::retention::run_plan(args).map(|out| print!("{out}")),
        Command::Retention {
            command: RetentionCommand::Undo { region },
        } => undo(region).await,
        Command::Simulate(args) => simulate(args).await,
        Command::Incident { command } => incident(command).await,
        Command::Schedules { policy_file } => schedules(policy_file),
        Command::Restore(args) => rempart_cli::restore::run(args).await,
        Command::Report(args) => rempart_cli::report::run(args).await,
        Command::Demo => demo().await,
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rempart: {e}");
            ExitCode::FAILURE
        }
    }
}
