//! `rempart restore`: a restore on request. The request is
//! checked here against the database as it is now (read-only, with the
//! operator's credentials) and the plan or the refusal is printed; then it
//! is published on EventBridge, where the restore-tester takes it, restores,
//! runs the post-restore checks and reports with timestamps.

use crate::CliError;
use chrono::{DateTime, Utc};
use rempart_aws::rds::Rds;
use rempart_core::restore::{RestoreRequest, RestoreSource};
use rempart_core::time::rfc3339;
use rempart_restore_tester::{assess, assess_vault, Assessment, RESTORE_REQUEST};

#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// The source RDS DB instance.
    pub database: String,
    /// Restore from this snapshot (any snapshot of the database; with
    /// --from-vault, one of its vault copies, default the newest).
    #[arg(
        long,
        conflicts_with = "to",
        required_unless_present_any = ["to", "from_vault"]
    )]
    pub snapshot: Option<String>,
    /// Restore to this point in time (RFC 3339, e.g. 2025-11-24T14:30:00Z):
    /// it must lie inside the database's point-in-time window.
    #[arg(long, conflicts_with = "from_vault")]
    pub to: Option<DateTime<Utc>>,
    /// Restore from the air-gapped copies of the backup account ACCOUNT,
    /// in that account: run with that account's credentials (a profile of
    /// its own; production's are refused). The request goes to that
    /// account's event bus, where its drill tester restores the vault copy
    /// into a new instance or cluster there, checks it and reports.
    #[arg(long, value_name = "ACCOUNT")]
    pub from_vault: Option<String>,
    /// With --from-vault: restore in the recovery account RECOVERY instead
    /// of the backup account. The drill tester shares the vault copy with
    /// it, copies it there under that account's key (through the role of
    /// modules/recovery_account), restores the copy there and reports; the
    /// account must be one of the backup account's `recovery_accounts`.
    #[arg(long, value_name = "RECOVERY", requires = "from_vault")]
    pub to_account: Option<String>,
    /// The new instance (default `rempart-rr-<db>-<yyyymmddhhmm>`). A restore
    /// never overwrites the source.
    #[arg(long)]
    pub target: Option<String>,
    /// The new instance's class (default: the snapshot's or the source's).
    #[arg(long)]
    pub instance_class: Option<String>,
    /// The environment concerned (client/tenant, production or staging).
    #[arg(long)]
    pub environment: String,
    /// The scope (product, site…).
    #[arg(long, default_value = "")]
    pub scope: String,
    /// Who asks: a name or an e-mail address.
    #[arg(long)]
    pub requested_by: String,
    /// Why: the incident, the import batch or the change; urgency and impact.
    #[arg(long)]
    pub reason: String,
    /// Who approved the restore and its interruption (not the requester).
    #[arg(long)]
    pub approved_by: String,
    /// The support ticket.
    #[arg(long)]
    pub ticket: Option<String>,
    /// Not before this time (RFC 3339, at most 30 days ahead): the agreed
    /// window. The request is checked now and recorded as scheduled; the
    /// restore-tester starts it at its first run from then, checked again.
    #[arg(long)]
    pub not_before: Option<DateTime<Utc>>,
    /// Check and print the plan; send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

impl RestoreArgs {
    pub fn request(&self) -> RestoreRequest {
        RestoreRequest {
            database: self.database.clone(),
            snapshot: self.snapshot.clone(),
            point_in_time: self.to,
            target: self.target.clone(),
            instance_class: self.instance_class.clone(),
            environment: self.environment.clone(),
            scope: self.scope.clone(),
            requested_by: self.requested_by.clone(),
            reason: self.reason.clone(),
            approved_by: self.approved_by.clone(),
            ticket: self.ticket.clone(),
            not_before: self.not_before,
            to_account: self.to_account.clone(),
        }
    }
}

/// The plan (or the refusal) as the operator reads it.
pub fn describe(a: &Assessment, req: &RestoreRequest, vault: Option<&str>) -> String {
    let mut out = format!("Restore request for {}\n", a.database);
    match (vault, a.windows.pitr) {
        (Some(account), _) => {
            out.push_str(&format!(
                "  from the vault of:    backup account {account} (vault copies only, no point in time)\n"
            ));
            if let Some(to) = &req.to_account {
                out.push_str(&format!(
                    "  into account:         {} (the vault copy shared with it, copied there under its key, restored there)\n",
                    to.trim()
                ));
            }
        }
        (None, Some((from, to))) => out.push_str(&format!(
            "  point-in-time window: {} to {}\n",
            rfc3339(from),
            rfc3339(to)
        )),
        (None, None) => out.push_str("  point-in-time window: none (automated backups are off)\n"),
    }
    let times = a.windows.snapshots.iter().map(|(_, t)| *t);
    match (times.clone().min(), times.max()) {
        (Some(first), Some(last)) => out.push_str(&format!(
            "  snapshots:            {} available, {} to {}\n",
            a.windows.snapshots.len(),
            rfc3339(first),
            rfc3339(last)
        )),
        _ => out.push_str("  snapshots:            none available\n"),
    }
    match &a.decision {
        Ok(plan) => {
            let from = match &plan.source {
                RestoreSource::Snapshot(s) => format!("snapshot {s}"),
                RestoreSource::PointInTime(t) => format!("point in time {}", rfc3339(*t)),
            };
            out.push_str(&format!("  from:                 {from}\n"));
            out.push_str(&format!(
                "  into:                 {} (new, private{})\n",
                plan.target,
                a.subnet_group
                    .as_deref()
                    .map(|g| format!(", subnet group {g}"))
                    .unwrap_or_default()
            ));
            if let Some(t) = req.not_before {
                out.push_str(&format!("  not before:           {}\n", rfc3339(t)));
            }
            out.push_str(&format!(
                "  requested by:         {} ({}), approved by {}\n",
                req.requested_by.trim(),
                req.reason.trim(),
                req.approved_by.trim()
            ));
        }
        Err(why) => out.push_str(&format!("  refused:              {why}\n")),
    }
    out
}

/// A restore from the vault: checked against the vault copies the
/// credentials see, which must be the backup account's (the copies' ARNs
/// name the account the credentials act in).
pub async fn assess_from_vault(
    rds: &Rds,
    req: &RestoreRequest,
    account: &str,
    now: DateTime<Utc>,
) -> Result<(RestoreRequest, Assessment), CliError> {
    if !rempart_core::naming::valid_account_id(account) {
        return Err(CliError::Usage(format!(
            "--from-vault `{account}` is not an AWS account id (12 digits): give the backup account's"
        )));
    }
    // One listing: the account it shows, and the vault copies planned from.
    let snaps = rds.managed_snapshots().await?;
    let here = snaps
        .iter()
        .find_map(|s| rempart_core::naming::arn_parts(&s.arn).map(|p| p.3.to_string()));
    match here {
        Some(h) if h != account => {
            return Err(CliError::Usage(format!(
                "these credentials act in account {h}, not in the backup account {account}: run `rempart restore --from-vault` with the backup account's (e.g. AWS_PROFILE of that account); nothing was sent"
            )))
        }
        None => {
            return Err(CliError::Usage(format!(
                "restore refused: these credentials see no Rempart snapshot in this region: no vault copy of {} here (run with the backup account {account}'s credentials, in the vault's region); nothing was sent",
                req.database.trim()
            )))
        }
        Some(_) => {}
    }
    // Into a recovery account: its names are not seen from here (the
    // drill tester checks the target there).
    let target_here = req.to_account.is_none().then_some(rds);
    Ok(assess_vault(target_here, snaps, req, None, None, now).await?)
}

pub async fn run(args: &RestoreArgs) -> Result<(), CliError> {
    let mut req = args.request();
    let cfg = rempart_aws::runtime::aws_config().await;
    let region = rempart_aws::runtime::region_of(&cfg)?;
    let rds = Rds::new(aws_sdk_rds::Client::new(&cfg), &region);
    let now = Utc::now();
    let a = match &args.from_vault {
        Some(account) => {
            let (completed, a) = assess_from_vault(&rds, &req, account, now).await?;
            req = completed;
            a
        }
        None => assess(&rds, &req, None, now).await?,
    };
    // A refusal goes to stderr only: its message carries the windows.
    let plan = match &a.decision {
        Ok(plan) => plan.clone(),
        Err(why) => return Err(CliError::Usage(format!("restore refused: {why}"))),
    };
    print!("{}", describe(&a, &req, args.from_vault.as_deref()));
    if args.dry_run {
        println!("dry run: nothing sent");
        return Ok(());
    }
    // The target is fixed here, so that the name printed is the name used.
    req.target = Some(plan.target.clone());
    let detail = serde_json::to_value(&req)
        .map_err(|e| CliError::Usage(format!("the request does not serialize: {e}")))?;
    let bus = rempart_aws::bus::Bus::new(
        aws_sdk_eventbridge::Client::new(&cfg),
        std::env::var("REMPART_EVENT_BUS").unwrap_or_else(|_| "default".into()),
    );
    let id = bus.put(RESTORE_REQUEST, &detail).await?;
    match &args.from_vault {
        Some(account) => println!(
            "sent `{RESTORE_REQUEST}` (event {id}) in backup account {account}: its drill tester starts it from the vault copy{}, reports on that account's topic when {} is available and checked, and records it in that account's registry",
            req.to_account
                .as_deref()
                .map(|to| format!(" (shared with account {to}, copied there under its key, restored there)"))
                .unwrap_or_default(),
            plan.target
        ),
        None => println!(
            "sent `{RESTORE_REQUEST}` (event {id}): the restore-tester starts it, reports in Slack when {} is available and checked, and `rempart report --resource {}` shows it",
            plan.target, a.database
        ),
    }
    Ok(())
}
