//! `rempart`: the operator's command line.

use clap::{Parser, Subcommand};
use rempart_backup_auditor as backup_auditor;
use rempart_cli::CliError;
use rempart_core::policy::PolicySource;
use rempart_incident_escalator as incident_escalator;
use rempart_restore_tester as restore_tester;
use rempart_retention_enforcer as retention_enforcer;
use rempart_slack_notifier as slack_notifier;
use rempart_snapshot_replicator as snapshot_replicator;
use rempart_snapshot_scheduler as snapshot_scheduler;
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
    /// Print the EventBridge rule expressions of the policy's schedules (for
    /// Terraform's `snapshot_schedules`).
    Schedules {
        /// Policy document.
        #[arg(long, default_value = "examples/rewapp-policy.toml")]
        policy_file: PathBuf,
    },
    /// Is everything protected, and how fresh is it? Per protected resource
    /// its policy, newest snapshot against the RPO, DR copies, last restore
    /// test and DR drill; then unprotected and excluded resources and open
    /// incidents, under a one-line verdict. Reads AWS and the registry and
    /// incidents tables (REMPART_REGISTRY_TABLE, REMPART_INCIDENTS_TABLE);
    /// writes nothing. Exits 1 when the verdict is not OK.
    Status(rempart_cli::status::StatusArgs),
    /// Retention: see what the policy keeps and removes, and why.
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Tell the incident-escalator what a human did: acknowledge an incident
    /// (escalation stops), record that the client was notified, or post a
    /// status update. Publishes the event on EventBridge (bus
    /// REMPART_EVENT_BUS, default `default`).
    Incident {
        #[command(subcommand)]
        command: IncidentCommand,
    },
    /// Restore a database on request into a new instance: to a
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
}

#[derive(Subcommand)]
enum IncidentCommand {
    /// Acknowledge: the on-call chain stops escalating.
    Ack(IncidentArgs),
    /// Record that the client notification was sent (majors: within the
    /// policy's `client_notice_within`, default 4 h).
    ClientNotified(IncidentArgs),
    /// Record that an audience of the policy's `[[incidents.audiences]]`
    /// was notified (direction, partners, the authority…): its reminders
    /// stop, the report says whether it was in time.
    Notified {
        #[command(flatten)]
        args: IncidentArgs,
        /// The audience's name, as the policy writes it.
        #[arg(long)]
        audience: String,
    },
    /// Start an audience's clock now (`starts = "declared"`: a personal-data
    /// breach confirmed starts the authority's 72 h).
    Declare {
        #[command(flatten)]
        args: IncidentArgs,
        /// The audience's name, as the policy writes it.
        #[arg(long)]
        audience: String,
    },
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
    let cfg = rempart_aws::runtime::aws_config().await;
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
    use rempart_incident_escalator::{
        ACK, AUDIENCE_DECLARED, AUDIENCE_NOTIFIED, CLIENT_NOTIFIED, STATUS_UPDATE,
    };
    let human = rempart_incident_escalator::human_detail;
    let audience = rempart_core::event::incident_audience_detail;
    let (detail_type, args, detail) = match command {
        IncidentCommand::Ack(a) => (ACK, a, human(&a.id, &a.by, "")),
        IncidentCommand::ClientNotified(a) => (CLIENT_NOTIFIED, a, human(&a.id, &a.by, "")),
        IncidentCommand::Notified { args, audience: n } => {
            (AUDIENCE_NOTIFIED, args, audience(&args.id, n, &args.by))
        }
        IncidentCommand::Declare { args, audience: n } => {
            (AUDIENCE_DECLARED, args, audience(&args.id, n, &args.by))
        }
        IncidentCommand::Update { args, note } => {
            (STATUS_UPDATE, args, human(&args.id, &args.by, note))
        }
    };
    if args.by.trim().is_empty() {
        return Err(CliError::Usage("--by must name who acts".into()));
    }
    if let IncidentCommand::Notified { audience, .. } | IncidentCommand::Declare { audience, .. } =
        command
    {
        if audience.trim().is_empty() {
            return Err(CliError::Usage(
                "--audience must name one of the policy's incidents.audiences".into(),
            ));
        }
    }
    let cfg = rempart_aws::runtime::aws_config().await;
    let bus = rempart_aws::bus::Bus::new(
        aws_sdk_eventbridge::Client::new(&cfg),
        std::env::var("REMPART_EVENT_BUS").unwrap_or_else(|_| "default".into()),
    );
    let id = bus.put(detail_type, &detail).await?;
    println!("published `{detail_type}` for {} (event {id})", args.id);
    Ok(())
}

async fn undo(regions: &[String]) -> Result<(), CliError> {
    let cfg = rempart_aws::runtime::aws_config().await;
    let regions = if regions.is_empty() {
        let source = PolicySource::from_env()?;
        let doc =
            rempart_aws::runtime::load_policy(&source, &aws_sdk_ssm::Client::new(&cfg)).await?;
        rempart_core::enforcement::regions_of(&doc, &rempart_aws::runtime::region_of(&cfg)?)
    } else {
        regions.to_vec()
    };
    let adapters: Vec<_> = regions
        .iter()
        .map(|r| rempart_aws::snapshots::Snapshots::for_region(&cfg, r))
        .collect();
    let cleared = rempart_retention_enforcer::enforcer::undo(&adapters).await?;
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
    let doc = rempart_core::policy::PolicyDocument::from_toml(&text, &path.display().to_string())?;
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

#[tokio::main]
async fn main() -> ExitCode {
    rempart_aws::runtime::init_tracing_quiet();
    let cli = Cli::parse();
    let res = match &cli.command {
        Command::Invoke { function, event } => invoke(function, event).await,
        Command::Retention {
            command: RetentionCommand::Plan(args),
        } => rempart_cli::retention::run_plan(args).map(|out| print!("{out}")),
        Command::Retention {
            command: RetentionCommand::Undo { region },
        } => undo(region).await,
        Command::Incident { command } => incident(command).await,
        Command::Schedules { policy_file } => schedules(policy_file),
        Command::Restore(args) => rempart_cli::restore::run(args).await,
        Command::Report(args) => rempart_cli::report::run(args).await,
        Command::Status(args) => match rempart_cli::status::run(args).await {
            // Not OK: printed, and said by the exit status (for scripts).
            Ok(false) => return ExitCode::from(1),
            other => other.map(|_| ()),
        },
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rempart: {e}");
            ExitCode::FAILURE
        }
    }
}
