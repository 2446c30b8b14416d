//! `rempart retention plan`: the retention engine as a command, in restic's
//! words.

use crate::error::CliError;
use chrono_tz::Tz;
use clap::Args;
use rempart_core::duration::ResticDuration;
use rempart_core::policy::{KeepCount, PolicyDocument, Retention};
use rempart_core::retention::{plan, Action, Place, Snap, Verdict};
use std::io::Read;
use std::path::PathBuf;

/// Flags of `rempart retention plan`, named as `restic forget` names them.
#[derive(Args, Debug, Default)]
pub struct PlanArgs {
    /// JSON array of {"id", "time" (RFC 3339), "tags": [...]}; `-` for stdin.
    #[arg(long, value_name = "FILE|-")]
    pub snapshots: PathBuf,
    /// A Rempart policy document (with --policy)...
    #[arg(long, value_name = "FILE", requires = "policy", conflicts_with_all = RESTIC_FLAGS)]
    pub policy_file: Option<PathBuf>,
    /// ...and the policy in it whose retention applies.
    #[arg(long, value_name = "NAME", requires = "policy_file")]
    pub policy: Option<String>,
    /// Keep the last N snapshots (-1: all).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub keep_last: Option<i64>,
    /// Keep the last N hourly snapshots (-1: unlimited).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub keep_hourly: Option<i64>,
    /// Keep the last N daily snapshots (-1: unlimited).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub keep_daily: Option<i64>,
    /// Keep the last N weekly snapshots, by ISO week (-1: unlimited).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub keep_weekly: Option<i64>,
    /// Keep the last N monthly snapshots (-1: unlimited).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub keep_monthly: Option<i64>,
    /// Keep the last N yearly snapshots (-1: unlimited).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub keep_yearly: Option<i64>,
    /// Keep snapshots newer than DURATION before the newest (e.g. 1y5m7d2h).
    #[arg(long, value_name = "DURATION")]
    pub keep_within: Option<ResticDuration>,
    /// Keep hourly snapshots newer than DURATION before the newest.
    #[arg(long, value_name = "DURATION")]
    pub keep_within_hourly: Option<ResticDuration>,
    /// Keep daily snapshots newer than DURATION before the newest.
    #[arg(long, value_name = "DURATION")]
    pub keep_within_daily: Option<ResticDuration>,
    /// Keep weekly snapshots newer than DURATION before the newest.
    #[arg(long, value_name = "DURATION")]
    pub keep_within_weekly: Option<ResticDuration>,
    /// Keep monthly snapshots newer than DURATION before the newest.
    #[arg(long, value_name = "DURATION")]
    pub keep_within_monthly: Option<ResticDuration>,
    /// Keep yearly snapshots newer than DURATION before the newest.
    #[arg(long, value_name = "DURATION")]
    pub keep_within_yearly: Option<ResticDuration>,
    /// Keep snapshots carrying all of these tags (a,b); may be repeated.
    #[arg(long, value_name = "TAGS")]
    pub keep_tag: Vec<String>,
    /// Time zone of hours, days, weeks, months and years (default: the
    /// policy's, else UTC).
    #[arg(long, value_name = "IANA NAME")]
    pub timezone: Option<String>,
    /// The snapshots are DR copies (the newest-copy floor applies).
    #[arg(long)]
    pub dr_copies: bool,
    /// Print a JSON array of {"id", "time", "action", "reasons"}.
    #[arg(long)]
    pub json: bool,
}

const RESTIC_FLAGS: &[&str] = &[
    "keep_last",
    "keep_hourly",
    "keep_daily",
    "keep_weekly",
    "keep_monthly",
    "keep_yearly",
    "keep_within",
    "keep_within_hourly",
    "keep_within_daily",
    "keep_within_weekly",
    "keep_within_monthly",
    "keep_within_yearly",
    "keep_tag",
];

fn count(flag: &str, n: Option<i64>) -> Result<Option<KeepCount>, CliError> {
    match n {
        Some(n) if n < -1 => Err(CliError::Usage(format!(
            "--{flag} {n}: use a number >= 0, or -1 for unlimited"
        ))),
        other => Ok(other.map(KeepCount)),
    }
}

/// The retention policy and time zone the flags describe.
pub fn policy_of(args: &PlanArgs) -> Result<(Retention, Tz), CliError> {
    let tz_flag = args
        .timezone
        .as_deref()
        .map(|s| {
            s.parse::<Tz>()
                .map_err(|_| CliError::Usage(format!("--timezone {s}: not an IANA time zone name")))
        })
        .transpose()?;
    if let (Some(file), Some(name)) = (&args.policy_file, &args.policy) {
        let text = std::fs::read_to_string(file)
            .map_err(CliError::io(format!("reading {}", file.display())))?;
        let doc = PolicyDocument::from_toml(&text, &file.display().to_string())?;
        let p = doc.policy(name).ok_or_else(|| {
            let known: Vec<_> = doc.policies.keys().map(|k| k.to_string()).collect();
            CliError::Usage(format!(
                "{} has no policy `{name}` (it has: {})",
                file.display(),
                known.join(", ")
            ))
        })?;
        return Ok((
            p.retention.clone(),
            tz_flag.unwrap_or_else(|| doc.timezone_of(p)),
        ));
    }
    let r = Retention {
        keep_last: count("keep-last", args.keep_last)?,
        keep_hourly: count("keep-hourly", args.keep_hourly)?,
        keep_daily: count("keep-daily", args.keep_daily)?,
        keep_weekly: count("keep-weekly", args.keep_weekly)?,
        keep_monthly: count("keep-monthly", args.keep_monthly)?,
        keep_yearly: count("keep-yearly", args.keep_yearly)?,
        keep_within: args.keep_within,
        keep_within_hourly: args.keep_within_hourly,
        keep_within_daily: args.keep_within_daily,
        keep_within_weekly: args.keep_within_weekly,
        keep_within_monthly: args.keep_within_monthly,
        keep_within_yearly: args.keep_within_yearly,
        keep_tags: args
            .keep_tag
            .iter()
            .map(|l| {
                l.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .filter(|l: &Vec<String>| !l.is_empty())
            .collect(),
        grace_period: None,
    };
    if !r.keeps_something() {
        return Err(CliError::Usage(
            "no policy was specified: give --policy-file and --policy, or restic's --keep-* flags"
                .into(),
        ));
    }
    Ok((r, tz_flag.unwrap_or(Tz::UTC)))
}

/// Parses the snapshot list, with the position of a mistake.
pub fn parse_snapshots(text: &str, origin: &str) -> Result<Vec<Snap>, CliError> {
    let snaps: Vec<Snap> = serde_json::from_str(text).map_err(|e| {
        CliError::Usage(format!(
            "{origin}: {e}; expected a JSON array of {{\"id\": \"...\", \"time\": \"2025-11-24T02:00:00Z\", \"tags\": [\"...\"]}}"
        ))
    })?;
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = snaps.iter().find(|s| !seen.insert(s.id.as_str())) {
        return Err(CliError::Usage(format!(
            "{origin}: snapshot id `{}` appears twice",
            dup.id
        )));
    }
    Ok(snaps)
}

/// Renders the verdicts as a table, restic-style.
pub fn table(verdicts: &[Verdict]) -> String {
    let idw = verdicts
        .iter()
        .map(|v| v.id.len())
        .max()
        .unwrap_or(2)
        .max(2);
    let mut out = String::new();
    for action in [Action::Keep, Action::Remove] {
        let rows: Vec<_> = verdicts.iter().filter(|v| v.action == action).collect();
        let word = if action == Action::Keep {
            "keep"
        } else {
            "remove"
        };
        out.push_str(&format!(
            "{} {} snapshot{}:\n",
            word,
            rows.len(),
            if rows.len() == 1 { "" } else { "s" }
        ));
        if rows.is_empty() {
            out.push('\n');
            continue;
        }
        out.push_str(&format!(
            "{:<idw$}  {:<20}  {:<6}  REASONS\n",
            "ID", "TIME", "ACTION"
        ));
        for v in rows {
            let time = v.time.format("%Y-%m-%d %H:%M:%S").to_string();
            out.push_str(&format!(
                "{:<idw$}  {:<20}  {:<6}  {}\n",
                v.id,
                time,
                word,
                v.reasons.join(", ")
            ));
        }
        out.push('\n');
    }
    out
}

/// Runs `rempart retention plan`; returns what to print.
pub fn run_plan(args: &PlanArgs) -> Result<String, CliError> {
    let (policy, tz) = policy_of(args)?;
    let (text, origin) = if args.snapshots.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(CliError::io("reading snapshots from stdin"))?;
        (s, "stdin".to_string())
    } else {
        let text = std::fs::read_to_string(&args.snapshots).map_err(CliError::io(format!(
            "reading {}",
            args.snapshots.display()
        )))?;
        (text, args.snapshots.display().to_string())
    };
    let snaps = parse_snapshots(&text, &origin)?;
    let place = if args.dr_copies {
        Place::DrCopy
    } else {
        Place::Primary
    };
    let verdicts = plan(&snaps, &policy, tz, place);
    Ok(if args.json {
        serde_json::to_string_pretty(&verdicts).unwrap_or_default()
    } else {
        table(&verdicts)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: PlanArgs,
    }

    fn args(flags: &[&str]) -> Result<PlanArgs, clap::Error> {
        let mut v = vec!["t", "--snapshots", "-"];
        v.extend_from_slice(flags);
        T::try_parse_from(v).map(|t| t.a)
    }

    #[test]
    fn restic_flags_build_the_policy() {
        let a = args(&[
            "--keep-daily",
            "7",
            "--keep-monthly",
            "-1",
            "--keep-within",
            "1y2m",
            "--keep-tag",
            "a,b",
            "--keep-tag",
            "c",
        ])
        .unwrap();
        let (r, tz) = policy_of(&a).unwrap();
        assert_eq!(r.keep_daily, Some(KeepCount(7)));
        assert_eq!(r.keep_monthly, Some(KeepCount(-1)));
        assert_eq!(r.keep_within.unwrap().to_string(), "1y2m");
        assert_eq!(
            r.keep_tags,
            vec![
                vec!["a".to_string(), "b".to_string()],
                vec!["c".to_string()]
            ]
        );
        assert_eq!(tz, Tz::UTC);
    }

    #[test]
    fn bad_flags_are_refused_with_the_reason() {
        let err = policy_of(&args(&["--keep-daily", "-3"]).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("--keep-daily -3"), "{err}");
        let err = policy_of(&args(&[]).unwrap()).unwrap_err().to_string();
        assert!(err.contains("no policy was specified"), "{err}");
        assert!(
            args(&["--keep-within", "3w"]).is_err(),
            "restic durations have no weeks"
        );
        assert!(
            args(&["--policy-file", "p.toml"]).is_err(),
            "--policy-file needs --policy"
        );
        assert!(args(&[
            "--policy-file",
            "p.toml",
            "--policy",
            "x",
            "--keep-last",
            "1"
        ])
        .is_err());
    }

    #[test]
    fn snapshots_parse_and_duplicates_are_refused() {
        let s = parse_snapshots(r#"[{"id": "a", "time": "2025-01-01T00:00:00Z", "tags": ["x"]}, {"id": "b", "time": "2025-01-02T00:00:00+01:00"}]"#, "in").unwrap();
        assert_eq!(s.len(), 2);
        let err = parse_snapshots(r#"[{"id": "a", "time": "2025-01-01T00:00:00Z"}, {"id": "a", "time": "2025-01-01T00:00:00Z"}]"#, "in")
            .unwrap_err()
            .to_string();
        assert!(err.contains("appears twice"), "{err}");
        let err = parse_snapshots(r#"[{"id": "a", "time": "yesterday"}]"#, "in")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("in:") && err.contains("expected a JSON array"),
            "{err}"
        );
    }

    #[test]
    fn the_table_lists_each_snapshot_with_its_reasons() {
        let snaps = parse_snapshots(
            r#"[{"id": "new", "time": "2025-01-03T00:00:00Z"}, {"id": "mid", "time": "2025-01-02T00:00:00Z"}, {"id": "old", "time": "2025-01-01T00:00:00Z"}]"#,
            "in",
        )
        .unwrap();
        let (r, tz) = policy_of(&args(&["--keep-last", "2"]).unwrap()).unwrap();
        let out = table(&plan(&snaps, &r, tz, Place::Primary));
        assert!(out.contains("keep 2 snapshots:"), "{out}");
        assert!(out.contains("remove 1 snapshot:"), "{out}");
        let new_line = out.lines().find(|l| l.starts_with("new")).unwrap();
        assert!(
            new_line.contains("last snapshot") && new_line.contains("floor: newest"),
            "{new_line}"
        );
        assert!(
            out.lines()
                .any(|l| l.starts_with("old") && l.contains("remove")),
            "{out}"
        );
    }
}
