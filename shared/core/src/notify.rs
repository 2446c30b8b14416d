//! What the slack-notifier says, and where (pure): an SNS message from the
//! events topic (a Rempart announcement, or a raw AWS notification: a
//! CloudWatch alarm, an RDS event, an AWS Backup job) becomes a Slack Block
//! Kit message: severity visible at a glance, the resource, what happened,
//! what to do next, a link to the console; routed to channels by the
//! policy's `[notifications]` routes.

use crate::announce::{Announcement, Severity, SCHEMA};
use crate::policy::{Language, Notifications};
use crate::slack_action;
use crate::time::human;
use serde::Serialize;
use serde_json::{json, Value};

/// A message as the notifier reads it.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    Announcement(Announcement),
    /// A CloudWatch alarm action's notification.
    Alarm(Alarm),
    /// An RDS event subscription's notification.
    RdsEvent {
        source_id: String,
        event_id: String,
        message: String,
        link: String,
        time: String,
    },
    /// Anything else (AWS Backup job notifications are plain text): shown
    /// as it is, with the SNS subject.
    Text {
        subject: String,
        text: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alarm {
    pub name: String,
    pub description: String,
    pub state: String,
    pub old_state: String,
    pub reason: String,
    pub arn: String,
    pub time: String,
    pub metric: String,
}

fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Reads an SNS message body (and its subject).
pub fn incoming(message: &str, subject: Option<&str>) -> Incoming {
    let Ok(v) = serde_json::from_str::<Value>(message) else {
        return Incoming::Text {
            subject: subject.unwrap_or_default().to_string(),
            text: message.to_string(),
        };
    };
    if v.get("schema").and_then(Value::as_str) == Some(SCHEMA) {
        if let Ok(a) = serde_json::from_value::<Announcement>(v.clone()) {
            return Incoming::Announcement(a);
        }
    }
    if v.get("AlarmName").is_some() && v.get("NewStateValue").is_some() {
        let trigger = v.get("Trigger").cloned().unwrap_or(Value::Null);
        let metric = match (
            str_at(&trigger, "Namespace"),
            str_at(&trigger, "MetricName"),
        ) {
            ("", "") => String::new(),
            (ns, m) => format!("{ns} {m}").trim().to_string(),
        };
        return Incoming::Alarm(Alarm {
            name: str_at(&v, "AlarmName").into(),
            description: str_at(&v, "AlarmDescription").into(),
            state: str_at(&v, "NewStateValue").into(),
            old_state: str_at(&v, "OldStateValue").into(),
            reason: str_at(&v, "NewStateReason").into(),
            arn: str_at(&v, "AlarmArn").into(),
            time: str_at(&v, "StateChangeTime").into(),
            metric,
        });
    }
    if v.get("Event ID").is_some() && v.get("Source ID").is_some() {
        return Incoming::RdsEvent {
            source_id: str_at(&v, "Source ID").into(),
            event_id: str_at(&v, "Event ID")
                .rsplit('#')
                .next()
                .unwrap_or_default()
                .into(),
            message: str_at(&v, "Event Message").into(),
            link: str_at(&v, "Identifier Link").into(),
            time: str_at(&v, "Event Time").into(),
        };
    }
    Incoming::Text {
        subject: subject.unwrap_or_default().to_string(),
        text: serde_json::to_string_pretty(&v).unwrap_or_else(|_| message.to_string()),
    }
}

/// RDS event ids that mean something failed (RDS's "failure" category and
/// backup failures).
const RDS_FAILURES: &[&str] = &[
    "RDS-EVENT-0031",
    "RDS-EVENT-0034",
    "RDS-EVENT-0035",
    "RDS-EVENT-0036",
    "RDS-EVENT-0058",
    "RDS-EVENT-0079",
    "RDS-EVENT-0080",
    "RDS-EVENT-0081",
    "RDS-EVENT-0082",
    "RDS-EVENT-0159",
    "RDS-EVENT-0189",
];

impl Incoming {
    /// Severity: an announcement's own; an alarm in ALARM is critical when
    /// its name or description says so, else a warning; back to OK is info;
    /// an RDS failure event a warning; AWS Backup text mentioning a failure
    /// a warning; anything else info.
    pub fn severity(&self) -> Severity {
        match self {
            Incoming::Announcement(a) => a.severity,
            Incoming::Alarm(a) if a.state == "ALARM" => {
                let text = format!("{} {}", a.name, a.description).to_lowercase();
                if text.contains("critical") || text.contains("critique") {
                    Severity::Critical
                } else {
                    Severity::Warning
                }
            }
            Incoming::Alarm(a) if a.state == "INSUFFICIENT_DATA" => Severity::Warning,
            Incoming::Alarm(_) => Severity::Info,
            Incoming::RdsEvent { event_id, .. } if RDS_FAILURES.contains(&event_id.as_str()) => {
                Severity::Warning
            }
            Incoming::RdsEvent { .. } => Severity::Info,
            Incoming::Text { subject, text } => {
                let t = format!("{subject} {text}").to_lowercase();
                if ["fail", "error", "expired", "aborted"]
                    .iter()
                    .any(|w| t.contains(w))
                {
                    Severity::Warning
                } else {
                    Severity::Info
                }
            }
        }
    }

    /// The kind routes match on: an announcement's own, else `aws.alarm`,
    /// `aws.rds-event`, `aws.notification`.
    pub fn kind(&self) -> String {
        match self {
            Incoming::Announcement(a) => a.kind.clone(),
            Incoming::Alarm(_) => "aws.alarm".into(),
            Incoming::RdsEvent { .. } => "aws.rds-event".into(),
            Incoming::Text { .. } => "aws.notification".into(),
        }
    }
}

/// The channels a message goes to: every route that lists its severity and
/// one of its kind prefixes (none = all); a warning or critical message that
/// matches no route goes to the default channel. Info that no route asks
/// for goes nowhere (it stays in the log).
pub fn route(n: &Notifications, severity: Severity, kind: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in &n.routes {
        let kind_ok = r.kinds.is_empty() || r.kinds.iter().any(|k| kind.starts_with(k.as_str()));
        if kind_ok && r.severities.contains(&severity) && !out.contains(&r.channel) {
            out.push(r.channel.clone());
        }
    }
    if out.is_empty() && severity >= Severity::Warning {
        out.push(n.default_channel.clone());
    }
    out
}

/// The channels of `inc`: its routes', and, for an audience's reminder
/// (`incident.audience-due`), the audience's own channel too.
pub fn channels_for(n: &Notifications, inc: &Incoming) -> Vec<String> {
    let kind = inc.kind();
    let mut out = route(n, inc.severity(), &kind);
    if let Incoming::Announcement(a) = inc {
        let own = a.details["audience"]["channel"].as_str();
        if let Some(ch) = own.filter(|c| kind == "incident.audience-due" && c.starts_with('#')) {
            if !out.iter().any(|c| c == ch) {
                out.push(ch.to_string());
            }
        }
    }
    out
}

/// Whether messages to `channel` carry the crisis template.
pub fn wants_crisis_template(n: &Notifications, channel: &str) -> bool {
    n.routes
        .iter()
        .any(|r| r.channel == channel && r.crisis_template)
}

/// Adds the user-facing crisis message to an incident's opening or
/// resolution message (the users' crisis communication), in `language`.
pub fn add_crisis_template(m: &mut Message, kind: &str, language: Language) {
    let resolved = match kind {
        "incident.opened" => false,
        "incident.resolved" => true,
        _ => return,
    };
    let title = match language {
        Language::Fr => "*Message aux utilisateurs* (à copier tel quel)",
        Language::En => "*Message for users* (copy as is)",
    };
    m.blocks.push(section(format!(
        "{title}\n>{}",
        crisis_template(language, resolved)
    )));
}

/// A Slack message: `text` is the notification fallback, `blocks` the
/// Block Kit layout.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Message {
    pub text: String,
    pub blocks: Vec<Value>,
}

fn badge(s: Severity) -> &'static str {
    match s {
        Severity::Critical => ":red_circle: *CRITICAL*",
        Severity::Warning => ":large_orange_circle: *WARNING*",
        Severity::Info => ":large_blue_circle: *INFO*",
    }
}

/// Slack's mrkdwn escaping (`&`, `<`, `>`).
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Slack refuses a text object over 3000 characters.
fn cap(s: String) -> String {
    if s.chars().count() <= 2900 {
        s
    } else {
        format!("{}…", s.chars().take(2900).collect::<String>())
    }
}

fn section(text: String) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": cap(text)}})
}

fn fields(pairs: &[(&str, String)]) -> Option<Value> {
    let f: Vec<Value> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .take(10)
        .map(|(k, v)| json!({"type": "mrkdwn", "text": cap(format!("*{k}*\n{}", esc(v)))}))
        .collect();
    (!f.is_empty()).then(|| json!({"type": "section", "fields": f}))
}

fn context(text: String) -> Value {
    json!({"type": "context", "elements": [{"type": "mrkdwn", "text": cap(text)}]})
}

fn button(label: &str, url: &str) -> Value {
    json!({"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": label}, "url": url}]})
}

/// The AWS console page of a resource, when Rempart knows where it is.
pub fn console_url(kind: &str, id: &str, region: &str) -> Option<String> {
    if id.is_empty() || region.is_empty() {
        return None;
    }
    let base = format!("https://{region}.console.aws.amazon.com");
    Some(match kind {
        "rds-instance" => {
            format!("{base}/rds/home?region={region}#database:id={id};is-cluster=false")
        }
        "aurora-cluster" => {
            format!("{base}/rds/home?region={region}#database:id={id};is-cluster=true")
        }
        "ebs-volume" => format!("{base}/ec2/home?region={region}#VolumeDetails:volumeId={id}"),
        "elasticache-redis" => format!("{base}/elasticache/home?region={region}#/redis/{id}"),
        _ => return None,
    })
}

/// What to do next, for the kinds that need someone (the Slack message's
/// and the email's "What to do").
pub fn what_to_do(a: &Announcement) -> Option<String> {
    next_step(a)
}

/// What to do next, per announcement kind.
fn next_step(a: &Announcement) -> Option<String> {
    let d = &a.details;
    let reason = d.get("reason").and_then(Value::as_str).unwrap_or("");
    let code = d
        .pointer("/error/code")
        .and_then(Value::as_str)
        .unwrap_or("");
    Some(match a.kind.as_str() {
        "snapshot.failed" if code.contains("Quota") => "The manual snapshot quota of the region is reached: let the retention-enforcer run (or delete old manual snapshots), or ask AWS for a quota increase; the next scheduled run retries.".into(),
        "snapshot.failed" => "Check the error below; a retryable failure is retried by Lambda, otherwise the next scheduled run tries again. Until then the resource's RPO ages.".into(),
        "copy.blocked" => format!("Fix what blocks the copy: {reason}"),
        "copy.failed" => "The next sweep (every 15 minutes) tries again; if it keeps failing, check the replicator's logs and its role's KMS permissions in the DR region.".into(),
        "copy.deferred" => "Nothing to do: AWS's limit of 20 copies in flight is reached; the next sweep copies it.".into(),
        "copy.lag" if a.severity >= Severity::Warning => "Some DR copies are missing for longer than the RPO or cannot be made: see the counts below and the `copy.blocked` / `copy.failed` messages.".into(),
        "retention.digest" if a.severity >= Severity::Warning => "Some deletions failed: they are retried at the next run; nothing was lost.".into(),
        "snapshot.digest" if a.severity >= Severity::Warning => "Some snapshots failed: each has its own `snapshot.failed` message with the error; the retryable ones are retried by Lambda, the others at the next scheduled run.".into(),
        "incident.opened" | "incident.escalated" => {
            let id = d.get("incident").and_then(Value::as_str).unwrap_or("<id>");
            let notice = d
                .get("client_notice_within_s")
                .and_then(Value::as_i64)
                .map(human)
                .unwrap_or_else(|| "the policy's client-notice time".into());
            format!("Acknowledge to stop the escalation: `rempart incident ack '{id}' --by <you>`. Majors: notify the client within {notice}, then `rempart incident client-notified '{id}' --by <you>`.")
        }
        "incident.client-notice-due" => {
            let id = d.get("incident").and_then(Value::as_str).unwrap_or("<id>");
            format!("Send the client notification, then record it: `rempart incident client-notified '{id}' --by <you>`.")
        }
        "incident.update-due" => {
            let id = d.get("incident").and_then(Value::as_str).unwrap_or("<id>");
            format!("Post a status update: `rempart incident update '{id}' --by <you> --note \"...\"`.")
        }
        "incident.resolved" => "Write the post-mortem (every incident gets one): its skeleton is in the report (the incidents table's `closed#<key>` item, and this announcement's `details.report.post_mortem`).".into(),
        "restore.refused" => "Ask again inside the window given above: a point in time inside the point-in-time window, or one of the database's snapshots (`rempart restore <db> --snapshot <id> …`); a self-approved request needs another approver.".into(),
        "restore.completed" if a.severity == Severity::Info => {
            let target = d.get("target").and_then(Value::as_str).unwrap_or("the new instance");
            format!("Run the post-restore checks of the application on {target} (access, integrity, e-mails/SMS, integrations), repoint or copy the data back, write the report to the client with these timestamps, then delete {target}.")
        }
        "restore.completed" => "The restore did not complete: read the failed checks or the error, fix the cause, and ask again; the instance (if any) is left for inspection and must be deleted by hand.".into(),
        "restore.failed" => "A restore test failed: an incident is open. Read the failed checks; the throw-away instance was deleted. Until a test passes, nobody knows whether these snapshots restore.".into(),
        "restore.slow" => "The restore takes longer than the alert threshold: the promised RTO is at risk. Look at the instance's events in the RDS console.".into(),
        "drill.failed" => "A DR drill failed: an incident is open. Read the failed checks; the copy restored in the DR region was deleted. Until a drill passes, nobody knows whether the region's copies restore.".into(),
        "failover.failed" => "The Multi-AZ failover drill did not complete: an incident is open. Look at the instance's events and state in the RDS console; the standby may not be healthy.".into(),
        "failover.slow" => "The Multi-AZ failover takes longer than its alert threshold: clients of this database were cut off that long. Look at the instance's events in the RDS console.".into(),
        "failover.refused" => "The Multi-AZ failover drill was not run: the instance is single-AZ, missing or not available. Make it Multi-AZ (or remove it from [failover_drills]); the drill runs in the next window.".into(),
        "drill.slow" => "The DR drill takes longer than its alert threshold: the region-failover time promised is at risk. Look at the restored copy's events in the DR region's console.".into(),
        "coverage.unprotected" => format!("Put it under a policy (tag `{}=<policy>`) or leave it out on purpose (`{}={}` with `{}=<why>`, or a `[[coverage.ignore]]` rule); the incident closes at the next audit.", crate::tags::TAG_POLICY, crate::tags::TAG_POLICY, crate::tags::TAG_POLICY_NONE, crate::tags::TAG_EXCLUDE_REASON),
        "audit.breach" => "Check why the snapshots or copies are late (the scheduler's and replicator's messages, their alarms); an incident is open until an audit passes.".into(),
        _ => return None,
    })
}

/// The facts of an announcement worth a field, per kind.
fn facts(a: &Announcement) -> Vec<(&'static str, String)> {
    let d = &a.details;
    let s = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut out = vec![
        (
            "Resource",
            a.resource
                .as_ref()
                .map(|r| format!("{} {}", r.kind, r.id))
                .unwrap_or_default(),
        ),
        ("Region", a.region.clone()),
        ("Policy", a.policy.clone().unwrap_or_default()),
    ];
    match a.kind.as_str() {
        k if k.starts_with("snapshot.") => {
            out.push(("Snapshot", s("snapshot_id")));
            if let Some(t) = d.get("tiers").and_then(Value::as_array) {
                let tiers: Vec<&str> = t.iter().filter_map(Value::as_str).collect();
                out.push(("Tiers", tiers.join(", ")));
            }
        }
        k if k.starts_with("incident.") => {
            let n = |k: &str| d.get(k).and_then(Value::as_i64).unwrap_or(0);
            if s("class").is_empty() {
                out.push(("Impact", format!("{} (level {})", s("impact"), n("level"))));
            } else {
                out.push(("Class", format!("{} ({})", s("class"), s("impact"))));
            }
            out.push(("Respond within", human(n("respond_within_s"))));
            if s("on_call").is_empty() {
                out.push(("On-call tier", n("escalation_tier").to_string()));
            } else {
                out.push(("Paged", s("on_call")));
            }
            if d.get("recurring").and_then(Value::as_bool) == Some(true) {
                out.push(("Recurring", "yes".into()));
            }
            out.push(("Classified by", s("rule")));
        }
        k if k.starts_with("restore.") || k.starts_with("drill.") || k.starts_with("failover.") => {
            let req = d.get("request").filter(|r| r.is_object()).unwrap_or(d);
            let r = |k: &str| req.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            if k.starts_with("drill.") {
                out.push(("DR region", s("region")));
                if let Some(t) = d.get("target_s").and_then(Value::as_i64) {
                    out.push(("Failover target", human(t)));
                }
            }
            out.push(("Snapshot", s("snapshot")));
            out.push(("Restore point", s("point")));
            out.push(("Instance", s("target")));
            out.push(("Instance", s("instance")));
            if let Some(rto) = d.get("rto_s").and_then(Value::as_i64) {
                out.push(("Measured RTO", human(rto)));
            }
            if let Some(c) = d.get("checks").and_then(Value::as_array) {
                let failed: Vec<String> = c
                    .iter()
                    .filter(|c| c.get("ok") == Some(&Value::Bool(false)))
                    .map(|c| {
                        let g = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("");
                        format!("{} ({})", g("name"), g("detail"))
                    })
                    .collect();
                out.push((
                    "Checks",
                    if failed.is_empty() {
                        format!("{} passed", c.len())
                    } else {
                        format!("failed: {}", failed.join(", "))
                    },
                ));
            }
            out.push(("Requested at", s("requested_at")));
            out.push(("Available at", s("available_at")));
            out.push(("Requested by", r("requested_by")));
            out.push(("Approved by", r("approved_by")));
            out.push(("Environment", r("environment")));
            out.push(("Reason", r("reason")));
        }
        k if k.starts_with("audit.") => {
            if let Some(f) = d.get("findings").and_then(Value::as_array) {
                let checks: Vec<&str> = f
                    .iter()
                    .filter_map(|f| f.get("check").and_then(Value::as_str))
                    .collect();
                out.push(("Checks failed", checks.join(", ")));
            }
        }
        k if k.starts_with("copy.") && k != "copy.lag" => {
            out.push(("Source snapshot", s("source")));
            out.push(("Copy", s("copy")));
            if let Some(l) = d.get("lag_seconds").and_then(Value::as_i64) {
                out.push(("Waiting for", format!("{}h{:02}m", l / 3600, l % 3600 / 60)));
            }
        }
        _ => {}
    }
    if let Some(e) = d.get("error") {
        let code = e.get("code").and_then(Value::as_str).unwrap_or("");
        let msg = e.get("message").and_then(Value::as_str).unwrap_or("");
        out.push(("Error", format!("{code}: {msg}")));
    }
    out
}

/// An incident's closing report: durations, deadlines, timeline.
fn report_lines(r: &Value) -> Option<String> {
    let n = |k: &str| r.get(k).and_then(Value::as_i64);
    let yes_no = |k: &str| match r.get(k).and_then(Value::as_bool) {
        Some(true) => "met",
        Some(false) => "*missed*",
        None => "n/a",
    };
    let mut lines = vec![
        format!(
            "*Report* · acknowledged after {} (deadline {}: {}) · resolved after {} · client notice: {} · escalations: {}",
            n("time_to_acknowledge_s").map(human).unwrap_or_else(|| "never".into()),
            n("response_deadline_s").map(human).unwrap_or_default(),
            yes_no("acknowledged_in_time"),
            n("time_to_resolve_s").map(human).unwrap_or_else(|| "-".into()),
            yes_no("client_notified_in_time"),
            n("escalations").unwrap_or(0)
        ),
    ];
    for e in r.get("timeline")?.as_array()?.iter().take(30) {
        let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("");
        let by = if s("by").is_empty() {
            String::new()
        } else {
            format!(" by {}", s("by"))
        };
        let detail = if s("detail").is_empty() {
            String::new()
        } else {
            format!(": {}", s("detail"))
        };
        lines.push(format!("• {} {}{by}{detail}", s("at"), s("what")));
    }
    lines.push(
        "A post-mortem skeleton is in the incident's record (`details.report.post_mortem`).".into(),
    );
    Some(esc(&lines.join("\n")))
}

/// Per-region lines of a digest (`copy.lag`, `retention.digest`), per-policy
/// lines of the scheduler's (`snapshot.digest`), or an incident's report.
fn digest_lines(a: &Announcement) -> Option<String> {
    if a.kind == "incident.resolved" {
        return report_lines(a.details.get("report")?);
    }
    match a.kind.as_str() {
        "copy.lag" => {
            let regions = a.details.get("regions")?.as_object()?;
            Some(
                regions
                    .iter()
                    .map(|(r, l)| {
                        let n = |k: &str| l.get(k).and_then(Value::as_u64).unwrap_or(0);
                        format!(
                            "• *{r}*: {} available, {} missing ({} in flight, {} deferred, {} blocked, {} failed, {} older than the RPO)",
                            n("available"), n("missing"), n("in_flight"), n("deferred"), n("blocked"), n("failed"), n("over_rpo")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        }
        "snapshot.digest" => {
            let policies = a.details.get("policies")?.as_object()?;
            let mut lines: Vec<String> = policies
                .iter()
                .map(|(p, c)| {
                    let n = |k: &str| c.get(k).and_then(Value::as_u64).unwrap_or(0);
                    format!(
                        "• *{p}*: {} created, {} already there, {} failed",
                        n("created"),
                        n("skipped"),
                        n("failed")
                    )
                })
                .collect();
            for f in a.details.get("failures")?.as_array()?.iter().take(10) {
                let s = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("");
                let code = f
                    .pointer("/error/code")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let what: Vec<&str> = [s("kind"), s("resource"), code, s("reason")]
                    .into_iter()
                    .filter(|p| !p.is_empty())
                    .collect();
                lines.push(format!("• failed: {}", what.join(" ")));
            }
            let more = a
                .details
                .get("failed")
                .and_then(Value::as_u64)
                .unwrap_or(0)
                .saturating_sub(10);
            if more > 0 {
                lines.push(format!(
                    "• … and {more} more failures (each in its own message)"
                ));
            }
            Some(lines.join("\n"))
        }
        "retention.digest" => {
            let groups = a.details.get("groups")?.as_array()?;
            Some(
                groups
                    .iter()
                    .take(20)
                    .map(|g| {
                        let s = |k: &str| g.get(k).and_then(Value::as_str).unwrap_or("");
                        let n = |k: &str| g.get(k).and_then(Value::as_u64).unwrap_or(0);
                        format!(
                            "• {} {} ({}): {} kept ({} by a floor), {} marked, {} deleted, {} failed",
                            s("region"), s("source"), s("kind"), n("kept"), n("kept_by_floor"), n("marked"), n("deleted"), n("failed")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        }
        _ => None,
    }
}

/// Formats any incoming message.
pub fn format(m: &Incoming) -> Message {
    let severity = m.severity();
    match m {
        Incoming::Announcement(a) => format_announcement(a),
        Incoming::Alarm(al) => {
            let title = format!(
                "{} CloudWatch alarm `{}` is {}",
                badge(severity),
                esc(&al.name),
                al.state
            );
            let mut blocks = vec![section(title)];
            if !al.description.is_empty() {
                blocks.push(section(esc(&al.description)));
            }
            blocks.extend(fields(&[
                ("Was", al.old_state.clone()),
                ("Metric", al.metric.clone()),
                ("Why", al.reason.clone()),
                ("Since", al.time.clone()),
            ]));
            let region = al.arn.split(':').nth(3).unwrap_or_default();
            if !region.is_empty() {
                let url = format!(
                    "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#alarmsV2:alarm/{}",
                    al.name
                );
                blocks.push(button("Open the alarm", &url));
            }
            blocks.push(context(format!("aws.alarm · {}", esc(&al.arn))));
            Message {
                text: format!(
                    "[{}] CloudWatch alarm {} is {}",
                    severity.as_str(),
                    al.name,
                    al.state
                ),
                blocks,
            }
        }
        Incoming::RdsEvent {
            source_id,
            event_id,
            message,
            link,
            time,
        } => {
            let mut blocks = vec![section(format!(
                "{} RDS event on `{}`: {}",
                badge(severity),
                esc(source_id),
                esc(message)
            ))];
            blocks.extend(fields(&[
                ("Event", event_id.clone()),
                ("Time", time.clone()),
            ]));
            if link.starts_with("https://") {
                blocks.push(button("Open in the console", link));
            }
            Message {
                text: format!("[{}] RDS {source_id}: {message}", severity.as_str()),
                blocks,
            }
        }
        Incoming::Text { subject, text } => {
            let title = if subject.is_empty() {
                "AWS notification".to_string()
            } else {
                esc(subject)
            };
            Message {
                text: format!(
                    "[{}] {}",
                    severity.as_str(),
                    if subject.is_empty() {
                        "AWS notification"
                    } else {
                        subject
                    }
                ),
                blocks: vec![
                    section(format!("{} {title}", badge(severity))),
                    section(format!("```{}```", text.replace("```", "'''"))),
                ],
            }
        }
    }
}

/// The buttons of an incident's opening or escalation: "Acknowledge", and
/// "Client notified" when the impact calls for a client notice (major or
/// critical). None without an incident id (the CLI command in "What to
/// do" stays the fallback).
fn incident_buttons(a: &Announcement) -> Option<Value> {
    if !matches!(a.kind.as_str(), "incident.opened" | "incident.escalated") {
        return None;
    }
    let id = a.details.get("incident").and_then(Value::as_str)?;
    let client_notice = matches!(
        a.details.get("impact").and_then(Value::as_str),
        Some("major" | "critical")
    );
    slack_action::buttons(id, client_notice)
}

fn format_announcement(a: &Announcement) -> Message {
    let mut blocks = vec![section(format!(
        "{} {}",
        badge(a.severity),
        esc(&a.summary)
    ))];
    let f = facts(a);
    let pairs: Vec<(&str, String)> = f.iter().map(|(k, v)| (*k, v.clone())).collect();
    blocks.extend(fields(&pairs));
    if let Some(lines) = digest_lines(a) {
        if !lines.is_empty() {
            blocks.push(section(lines));
        }
    }
    if let Some(step) = next_step(a) {
        blocks.push(section(format!("*What to do:* {}", esc(&step))));
    }
    blocks.extend(incident_buttons(a));
    if let Some(r) = &a.resource {
        if let Some(url) = console_url(&r.kind, &r.id, &a.region_of_resource()) {
            blocks.push(button("Open in the AWS console", &url));
        }
    }
    blocks.push(context(format!(
        "{} · {} · {}{}",
        a.kind,
        a.function,
        crate::time::rfc3339(a.time),
        a.cause
            .as_deref()
            .map(|c| format!(" · event {c}"))
            .unwrap_or_default()
    )));
    Message {
        text: format!("[{}] {}", a.severity.as_str(), a.summary),
        blocks,
    }
}

impl Announcement {
    /// The region of the resource: from its ARN when there is one (a copy's
    /// announcement speaks from the DR region about a primary resource).
    pub fn region_of_resource(&self) -> String {
        self.resource
            .as_ref()
            .and_then(|r| r.arn.split(':').nth(3))
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| self.region.clone())
    }
}

/// The user-facing crisis messages (service disruption, then service
/// restored), in the policy's language.
pub fn crisis_template(language: Language, resolved: bool) -> &'static str {
    match (language, resolved) {
        (Language::Fr, false) => "Chers utilisateurs, nos services rencontrent actuellement des difficultés techniques. Nos équipes travaillent activement à la résolution. Vos points et données sont sécurisés. Nous vous tiendrons informés.",
        (Language::Fr, true) => "Bonne nouvelle ! Nos services sont de nouveau pleinement opérationnels. Merci de votre patience et confiance.",
        (Language::En, false) => "Dear users, our services are currently experiencing technical difficulties. Our teams are actively working on a resolution. Your points and data are safe. We will keep you informed.",
        (Language::En, true) => "Good news! Our services are fully operational again. Thank you for your patience and trust.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyDocument;

    const EXAMPLE: &str = include_str!("../../../examples/rewapp-policy.toml");

    fn notifications() -> Notifications {
        PolicyDocument::from_toml(EXAMPLE, "example")
            .expect("example parses")
            .notifications
    }

    fn announcement(kind: &str, severity: &str, summary: &str, details: Value) -> String {
        json!({
            "schema": SCHEMA,
            "kind": kind,
            "severity": severity,
            "time": "2025-11-23T02:00:00Z",
            "function": "snapshot-scheduler",
            "region": "eu-west-1",
            "resource": {"kind": "rds-instance", "id": "rewapp-prod-db", "arn": "arn:aws:rds:eu-west-1:123456789012:db:rewapp-prod-db"},
            "policy": "rewapp-postgres",
            "summary": summary,
            "details": details,
            "cause": "844e2571-85d4-695f-b930-0153b71dcb42"
        })
        .to_string()
    }

    /// A run's digest as the scheduler builds it: 998 created over two
    /// policies, a quota failure and a refused resource.
    fn snapshot_digest() -> String {
        use crate::error::ErrorInfo;
        use crate::scheduling::{digest_announcement, Item, RunReport};
        let item = |policy: &str, id: String| Item {
            kind: "rds-instance".into(),
            resource: id,
            policy: Some(policy.into()),
            snapshot_id: None,
            aws_id: None,
            tiers: vec![],
            reason: None,
            error: None,
        };
        let mut report = RunReport {
            trigger: "schedule".into(),
            due: vec!["rewapp-postgres/daily".into(), "rewapp-ebs/daily".into()],
            created: (0..400)
                .map(|i| item("rewapp-postgres", format!("db-{i}")))
                .chain((0..598).map(|i| item("rewapp-ebs", format!("vol-{i}"))))
                .collect(),
            ..Default::default()
        };
        let mut quota = item("rewapp-postgres", "rewapp-prod-db".into());
        quota.error = Some(ErrorInfo {
            code: "SnapshotQuotaExceeded".into(),
            message: "CreateDBSnapshot: the manual snapshot quota is reached".into(),
            retryable: false,
        });
        let mut refused = item("billing-postgres", "billing-db".into());
        refused.reason = Some("no policy `billing-postgres` in the policy document".into());
        report.failed = vec![quota, refused];
        let at = "2025-11-23T02:00:00Z".parse().expect("time");
        serde_json::to_string(&digest_announcement(&report, "eu-west-1", at)).expect("JSON")
    }

    /// Proves: each kind reads as the right severity and kind, and formats
    /// to the Block Kit layout in its snapshot (reviewed by hand; a change in
    /// wording or layout shows up as a diff).
    /// Proves: an opened incident's "what to do" names the client-notice
    /// time the escalator's policy sets, not a fixed 4 h, and does not
    /// invent one when the announcement carries none.
    #[test]
    fn the_client_notice_time_is_the_policys() {
        let opened = |details: Value| -> Announcement {
            serde_json::from_str(&announcement(
                "incident.opened",
                "critical",
                "Incident opened: x",
                details,
            ))
            .expect("announcement")
        };
        let two_hours = opened(json!({"incident": "k@t", "client_notice_within_s": 7200}));
        assert!(what_to_do(&two_hours)
            .unwrap_or_default()
            .contains("notify the client within 2h,"));
        let none = opened(json!({"incident": "k@t"}));
        assert!(what_to_do(&none)
            .unwrap_or_default()
            .contains("within the policy's client-notice time"));
    }

    #[test]
    fn every_message_kind_formats_as_its_snapshot() {
        let cases: Vec<(&str, String, Option<&str>)> = vec![
            ("snapshot_created", announcement("snapshot.created", "info", "Snapshot rempart-rewapp-postgres-rewapp-prod-db-20251123-0200 of rewapp-prod-db created (daily)", json!({"snapshot_id": "rempart-rewapp-postgres-rewapp-prod-db-20251123-0200", "tiers": ["daily"]})), None),
            ("snapshot_failed_quota", announcement("snapshot.failed", "warning", "Snapshot of rewapp-prod-db failed: SnapshotQuotaExceeded", json!({"snapshot_id": "rempart-rewapp-postgres-rewapp-prod-db-20251123-0200", "error": {"code": "SnapshotQuotaExceeded", "message": "Cannot create more than 100 manual snapshots", "retryable": false}})), None),
            ("copy_blocked", announcement("copy.blocked", "warning", "Copy of rempart-rewapp-postgres-rewapp-prod-db-20251123-0200 to eu-central-1 blocked: KMS key `alias/rempart-dr` does not exist in eu-central-1", json!({"source": "rempart-rewapp-postgres-rewapp-prod-db-20251123-0200", "copy": "", "reason": "KMS key `alias/rempart-dr` does not exist in eu-central-1: create a customer-managed key in eu-central-1 and set it as `kms_key`", "lag_seconds": 7200})), None),
            ("copy_lag", announcement("copy.lag", "warning", "DR copies: eu-central-1: 120 available, 3 missing (oldest 1d4h)", json!({"regions": {"eu-central-1": {"available": 120, "missing": 3, "in_flight": 1, "deferred": 1, "blocked": 1, "failed": 0, "over_rpo": 1, "oldest_missing": "rempart-rewapp-postgres-rewapp-prod-db-20251122-0200", "oldest_missing_seconds": 100800}}})), None),
            ("snapshot_digest", snapshot_digest(), None),
            ("retention_digest", announcement("retention.digest", "info", "Retention: 12 kept, 3 marked, 2 deleted in eu-west-1, eu-central-1", json!({"groups": [{"region": "eu-west-1", "kind": "rds-instance", "source": "rewapp-prod-db", "kept": 12, "kept_by_floor": 1, "marked": 3, "deleted": 2, "failed": 0}]})), None),
            ("alarm", json!({"AlarmName": "rempart-snapshot-scheduler-errors", "AlarmDescription": "snapshot-scheduler invocations fail", "AWSAccountId": "123456789012", "NewStateValue": "ALARM", "NewStateReason": "Threshold Crossed: 1 datapoint [2.0 (23/11/25 02:05:00)] was greater than or equal to the threshold (1.0).", "StateChangeTime": "2025-11-23T02:06:13.000+0000", "Region": "EU (Ireland)", "AlarmArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:rempart-snapshot-scheduler-errors", "OldStateValue": "OK", "Trigger": {"MetricName": "Errors", "Namespace": "AWS/Lambda"}}).to_string(), None),
            ("rds_event", json!({"Event Source": "db-instance", "Event Time": "2025-11-23 02:04:13.882", "Identifier Link": "https://console.aws.amazon.com/rds/home?region=eu-west-1#dbinstance:id=rewapp-prod-db", "Source ID": "rewapp-prod-db", "Source ARN": "arn:aws:rds:eu-west-1:123456789012:db:rewapp-prod-db", "Event ID": "http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/USER_Events.html#RDS-EVENT-0034", "Event Message": "RDS has not attempted a requested failover because a failover recently occurred on the DB instance."}).to_string(), None),
            ("incident_opened", json!({
                "schema": SCHEMA, "kind": "incident.opened", "severity": "critical", "time": "2025-11-23T02:06:13Z",
                "function": "incident-escalator", "region": "eu-west-1",
                "resource": {"kind": "incident", "id": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:rewapp-prod-db-critical-connections@2025-11-23T02:06:13Z"},
                "summary": "Incident opened: alarm rewapp-prod-db-critical-connections (critical, level 3, respond within 4 h)",
                "details": {"incident": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:rewapp-prod-db-critical-connections@2025-11-23T02:06:13Z", "impact": "critical", "level": 3, "rule": "incidents.rules[1]", "respond_within_s": 14400, "client_notice_within_s": 14400, "escalation_tier": 1, "acknowledged": false, "recurring": false}
            }).to_string(), None),
            ("incident_opened_class", json!({
                "schema": SCHEMA, "kind": "incident.opened", "severity": "critical", "time": "2025-11-23T02:06:13Z",
                "function": "incident-escalator", "region": "eu-west-1",
                "resource": {"kind": "incident", "id": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:profitum-db-cpu@2025-11-23T02:06:13Z"},
                "summary": "Incident opened: alarm profitum-db-cpu (class Critical (critical), respond within 15min; paged tier 2 (devops), tier 3 (lead-dev), tier 4 (cto))",
                "details": {"incident": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:profitum-db-cpu@2025-11-23T02:06:13Z", "impact": "critical", "level": 0, "class": "Critical", "on_call": "tier 2 (devops), tier 3 (lead-dev), tier 4 (cto)", "rule": "incidents.rules[0]", "respond_within_s": 900, "client_notice_within_s": 14400, "escalation_tier": 4, "acknowledged": false, "recurring": false}
            }).to_string(), None),
            ("incident_resolved", json!({
                "schema": SCHEMA, "kind": "incident.resolved", "severity": "critical", "time": "2025-11-23T03:11:00Z",
                "function": "incident-escalator", "region": "eu-west-1",
                "resource": {"kind": "incident", "id": "k@2025-11-23T02:06:13Z"},
                "summary": "Incident resolved: alarm rewapp-prod-db-critical-connections",
                "details": {"incident": "k@2025-11-23T02:06:13Z", "impact": "critical", "level": 3, "rule": "incidents.rules[1]", "respond_within_s": 14400, "client_notice_within_s": 14400, "escalation_tier": 1, "acknowledged": true, "recurring": false,
                    "report": {"time_to_acknowledge_s": 527, "response_deadline_s": 14400, "acknowledged_in_time": true, "time_to_resolve_s": 3886, "client_notified_in_time": false, "escalations": 0,
                        "timeline": [{"at": "2025-11-23T02:06:13Z", "what": "opened", "detail": "Threshold Crossed"}, {"at": "2025-11-23T02:15:00Z", "what": "acknowledged", "by": "alice@rewapp.fr"}, {"at": "2025-11-23T03:00:00Z", "what": "ok"}, {"at": "2025-11-23T03:11:00Z", "what": "resolved", "detail": "OK for the whole flap window"}],
                        "post_mortem": "# Post-mortem"}}
            }).to_string(), None),
            ("restore_refused", announcement("restore.refused", "warning", "Restore of rewapp-prod-db requested by alice@rewapp.io REFUSED: 2025-11-12T08:00:00Z is outside the window: the point-in-time window of rewapp-prod-db is 2025-11-16T03:00:00Z to 2025-11-23T09:55:00Z; its 3 available snapshot(s) cover 2025-11-01T02:00:00Z to 2025-11-22T02:00:00Z; the newest snapshot before it is snap-1110 (taken 2025-11-10T02:00:00Z): ask for that snapshot instead", json!({"request": {"database": "rewapp-prod-db", "point_in_time": "2025-11-12T08:00:00Z", "environment": "production (tenant acme)", "scope": "Visitor", "requested_by": "alice@rewapp.io", "reason": "bad import batch", "approved_by": "bob@rewapp.io"}, "reason": "outside the window"})), None),
            ("restore_completed", announcement("restore.completed", "info", "Restore of rewapp-prod-db to 2025-11-24T14:30:00Z is ready: rempart-rr-rewapp-prod-db-202511241510 available after 22 min, checks passed (requested by alice@rewapp.io, approved by bob@rewapp.io)", json!({"request": "8b2c3d4e", "target": "rempart-rr-rewapp-prod-db-202511241510", "point": "2025-11-24T14:30:00Z", "requested_by": "alice@rewapp.io", "approved_by": "bob@rewapp.io", "requested_at": "2025-11-24T15:10:00Z", "available_at": "2025-11-24T15:32:00Z", "rto_s": 1320, "status": "available", "checks": [{"name": "available", "ok": true, "detail": "status available"}, {"name": "private", "ok": true, "detail": "not publicly accessible"}]})), None),
            ("restore_failed", announcement("restore.failed", "warning", "Restore test of rewapp-prod-db FAILED: private (publicly accessible)", json!({"snapshot": "rempart-rewapp-postgres-rewapp-prod-db-20251123-0200", "instance": "rempart-rt-rewapp-prod-db-202511230600", "rto_s": 300, "alert_after_s": 2700, "checks": [{"name": "available", "ok": true, "detail": "status available"}, {"name": "private", "ok": false, "detail": "publicly accessible"}]})), None),
            ("backup_text", "An AWS Backup job was completed with status FAILED. Resource ARN : arn:aws:rds:eu-west-1:123456789012:db:rewapp-prod-db. BackupJob ID : 1b2c3d".to_string(), Some("Notification from AWS Backup")),
        ];
        for (name, body, subject) in cases {
            let inc = incoming(&body, subject);
            let m = format(&inc);
            insta::assert_json_snapshot!(
                name,
                json!({"severity": inc.severity().as_str(), "kind": inc.kind(), "message": m})
            );
            // Slack's limits: at most 50 blocks, text objects under 3000 chars.
            assert!(m.blocks.len() <= 50);
            assert!(
                serde_json::to_string(&m.blocks).is_ok_and(|s| !s.contains("\"text\":\"\"")),
                "{name}: empty text"
            );
        }
    }

    /// Proves: an incident's opening and escalation carry the Slack buttons
    /// (valued with the incident id), "Client notified" only for a major or
    /// critical impact; a resolution, or an incident announcement without
    /// an id, carries none.
    #[test]
    fn incident_messages_carry_the_acknowledge_buttons() {
        let actions = |kind: &str, details: Value| -> Vec<String> {
            let body = announcement(kind, "warning", "Incident", details);
            format(&incoming(&body, None))
                .blocks
                .iter()
                .filter(|b| b["block_id"] == slack_action::BLOCK_ID)
                .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
                .map(|e| format!("{}={}", e["action_id"], e["value"]))
                .map(|s| s.replace('"', ""))
                .collect()
        };
        let id = "audit#rds-instance#db@2025-11-23T06:00:00Z";
        assert_eq!(
            actions(
                "incident.escalated",
                json!({"incident": id, "impact": "major"})
            ),
            vec![
                format!("{}={id}", slack_action::ACTION_ACK),
                format!("{}={id}", slack_action::ACTION_CLIENT_NOTIFIED)
            ]
        );
        assert_eq!(
            actions(
                "incident.opened",
                json!({"incident": id, "impact": "minor"})
            ),
            vec![format!("{}={id}", slack_action::ACTION_ACK)]
        );
        assert!(actions("incident.opened", json!({"impact": "critical"})).is_empty());
        assert!(actions(
            "incident.resolved",
            json!({"incident": id, "impact": "critical"})
        )
        .is_empty());
        assert!(actions("snapshot.failed", json!({"incident": id})).is_empty());
    }

    /// Proves: routing follows the policy: warnings to #ops-alerts, critical
    /// also to the war room, incidents to #incidents whatever their severity,
    /// info nowhere unless a route asks (restores do), and a warning matching no route
    /// still reaches the default channel (never silence).
    #[test]
    fn messages_go_where_the_policy_routes_them() {
        let n = notifications();
        assert_eq!(
            route(&n, Severity::Info, "snapshot.created"),
            Vec::<String>::new()
        );
        // Restores, successes included, reach their requesters.
        assert_eq!(
            route(&n, Severity::Info, "restore.completed"),
            vec!["#ops-alerts".to_string()]
        );
        assert_eq!(
            route(&n, Severity::Warning, "copy.failed"),
            vec!["#ops-alerts"]
        );
        assert_eq!(
            route(&n, Severity::Critical, "aws.alarm"),
            vec!["#ops-alerts", "#incident-war-room"]
        );
        assert_eq!(
            route(&n, Severity::Info, "incident.resolved"),
            vec!["#incidents"]
        );
        assert_eq!(
            route(&n, Severity::Critical, "incident.opened"),
            vec!["#ops-alerts", "#incident-war-room", "#incidents"]
        );
        let mut only_incidents = n.clone();
        only_incidents.routes.retain(|r| r.channel == "#incidents");
        assert_eq!(
            route(&only_incidents, Severity::Warning, "copy.failed"),
            vec!["#ops-alerts"]
        );
        assert!(route(&only_incidents, Severity::Info, "copy.started").is_empty());
    }

    /// Proves: severities of raw AWS notifications.
    #[test]
    fn raw_notifications_get_a_severity() {
        let alarm = |name: &str, state: &str| {
            incoming(&json!({"AlarmName": name, "NewStateValue": state, "AlarmArn": "arn:aws:cloudwatch:eu-west-1:1:alarm:x"}).to_string(), None)
        };
        assert_eq!(alarm("db-cpu", "ALARM").severity(), Severity::Warning);
        assert_eq!(
            alarm("db-down-critical", "ALARM").severity(),
            Severity::Critical
        );
        assert_eq!(alarm("db-cpu", "OK").severity(), Severity::Info);
        assert_eq!(
            incoming("Backup job COMPLETED", None).severity(),
            Severity::Info
        );
        assert_eq!(
            incoming("Backup job FAILED", None).severity(),
            Severity::Warning
        );
        assert_eq!(
            crisis_template(Language::Fr, false)
                .split_whitespace()
                .next(),
            Some("Chers")
        );
        assert!(crisis_template(Language::En, true).starts_with("Good news"));
    }

    /// Proves: the crisis template is added to incident openings and
    /// resolutions in the channels whose route asks for it, in the policy's
    /// language (French in the example policy), and nowhere else.
    #[test]
    fn the_crisis_template_goes_where_a_route_asks_for_it() {
        let n = notifications();
        assert!(wants_crisis_template(&n, "#incident-war-room"));
        assert!(!wants_crisis_template(&n, "#ops-alerts"));
        let mut m = Message {
            text: "x".into(),
            blocks: vec![],
        };
        add_crisis_template(&mut m, "incident.opened", n.language);
        assert!(m.blocks[0].to_string().contains("Chers utilisateurs"));
        let mut m = Message {
            text: "x".into(),
            blocks: vec![],
        };
        add_crisis_template(&mut m, "incident.resolved", Language::En);
        assert!(m.blocks[0].to_string().contains("Good news"));
        let mut m = Message {
            text: "x".into(),
            blocks: vec![],
        };
        add_crisis_template(&mut m, "incident.escalated", Language::En);
        assert!(m.blocks.is_empty());
    }
}
