//! incident-escalator: CloudWatch alarm state changes (EventBridge, or an
//! alarm action's SNS notification), Rempart's failure announcements (SNS),
//! acknowledgements and other human events (source `rempart`), and the
//! minute tick. Decisions are `rempart_core::incident`'s; this module reads and
//! writes the store with conditional writes, retrying on a lost race.

use aws_config::SdkConfig;
use aws_lambda_events::event::cloudwatch_alarms::{
    CloudWatchAlarm, CloudWatchAlarmData, CloudWatchAlarmStateValue,
    CloudWatchMetricAlarmConfiguration,
};
use aws_lambda_events::event::sns::{CloudWatchAlarmPayload, SnsEvent};
use chrono::{DateTime, Utc};
use rempart_aws::envelope::{envelope, event_time};
use rempart_aws::error::{Error, Result};
use rempart_aws::incidents::{Incidents, Stored, Write, INCIDENTS_TABLE_ENV};
use rempart_aws::runtime::{env_var, load_policy, region_of};
use rempart_aws::topic::{Topic, EVENTS_TOPIC_ENV};
use rempart_core::announce::{Announcement, ResourceSummary, SCHEMA};
use rempart_core::audience;
use rempart_core::event::{REMPART_SOURCE, SCHEDULED_EVENT};
use rempart_core::incident::{
    on_ack, on_alarm, on_audience_declared, on_audience_notified, on_client_notified, on_ok,
    on_status_update, on_tick, report, Effect, Incident, IncidentPolicy, Signal, Subject,
};
use rempart_core::policy::PolicySource;
use serde::Serialize;
use serde_json::{json, Value};

pub const NAME: &str = "incident-escalator";
/// Environment variable: the on-call tiers in escalation order,
/// comma-separated `<tier>=<topic ARN>` (`devops=arn:aws:sns:…`), as
/// Terraform's `oncall_tiers` names them.
pub const ONCALL_TIERS_ENV: &str = "REMPART_ONCALL_TIERS";
pub const ALARM_STATE_CHANGE: &str = "CloudWatch Alarm State Change";
pub use rempart_core::event::{
    INCIDENT_ACK as ACK, INCIDENT_AUDIENCE_DECLARED as AUDIENCE_DECLARED,
    INCIDENT_AUDIENCE_NOTIFIED as AUDIENCE_NOTIFIED, INCIDENT_CLIENT_NOTIFIED as CLIENT_NOTIFIED,
    INCIDENT_STATUS_UPDATE as STATUS_UPDATE,
};
/// Lost races retried before the invocation fails (and is retried).
const RACE_ATTEMPTS: usize = 20;

#[derive(Clone, Debug)]
pub struct Deps {
    pub store: Incidents,
    pub topic: Topic,
    /// The on-call tiers in escalation order: name and topic.
    pub tiers: Vec<(String, Topic)>,
    pub policy: PolicySource,
    pub ssm: aws_sdk_ssm::Client,
    pub region: String,
}

impl Deps {
    /// From the environment: `REMPART_POLICY`, `REMPART_INCIDENTS_TABLE`,
    /// `REMPART_EVENTS_TOPIC_ARN`, `REMPART_ONCALL_TIERS`.
    pub fn from_env(cfg: &SdkConfig) -> Result<Deps> {
        let tiers = parse_tiers(&std::env::var(ONCALL_TIERS_ENV).unwrap_or_default())?;
        Deps::new(
            cfg,
            &env_var(INCIDENTS_TABLE_ENV)?,
            &env_var(EVENTS_TOPIC_ENV)?,
            &tiers,
            PolicySource::from_env()?,
        )
    }

    pub fn new(
        cfg: &SdkConfig,
        table: &str,
        topic: &str,
        tiers: &[(String, String)],
        policy: PolicySource,
    ) -> Result<Deps> {
        let cfg = &rempart_aws::runtime::function_config(cfg, "incident-escalator");
        let sns = aws_sdk_sns::Client::new(cfg);
        Ok(Deps {
            store: Incidents::new(aws_sdk_dynamodb::Client::new(cfg), table),
            topic: Topic::new(sns.clone(), topic),
            tiers: tiers
                .iter()
                .map(|(name, arn)| (name.clone(), Topic::new(sns.clone(), arn)))
                .collect(),
            policy,
            ssm: aws_sdk_ssm::Client::new(cfg),
            region: region_of(cfg)?,
        })
    }
}

/// `devops=arn:…,lead-dev=arn:…` as (name, ARN) pairs, in order.
pub fn parse_tiers(v: &str) -> Result<Vec<(String, String)>> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((name, arn)) if !name.trim().is_empty() && arn.trim().starts_with("arn:") => {
                Ok((name.trim().to_string(), arn.trim().to_string()))
            }
            _ => Err(Error::Config(format!(
                "{ONCALL_TIERS_ENV}: `{pair}` is not `<tier>=<SNS topic ARN>`"
            ))),
        })
        .collect()
}

impl Deps {
    /// The on-call tier names, in escalation order.
    pub fn chain(&self) -> Vec<String> {
        self.tiers.iter().map(|(n, _)| n.clone()).collect()
    }
}

/// What the escalator is asked to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    Alarm {
        key: String,
        subject: Subject,
        state: String,
        reason: String,
        at: DateTime<Utc>,
    },
    /// A Rempart job failed (`ok` false) or succeeded again (`ok` true).
    Job {
        key: String,
        title: String,
        kind: String,
        ok: bool,
        at: DateTime<Utc>,
    },
    Human {
        what: String,
        incident: String,
        by: String,
        note: String,
        /// Audience events: which audience.
        audience: String,
        at: DateTime<Utc>,
    },
    Tick {
        at: DateTime<Utc>,
    },
    Nothing {
        reason: String,
    },
}

fn alarm_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// An alarm's data as EventBridge's `CloudWatch Alarm State Change`
/// (`detail`) and a direct alarm action on the function (`alarmData`) carry
/// it. A composite alarm's configuration has no metrics: it reads with an
/// empty list.
type AlarmData = CloudWatchAlarmData<CloudWatchMetricAlarmConfiguration, Value>;

fn state_name(v: &CloudWatchAlarmStateValue) -> &'static str {
    match v {
        CloudWatchAlarmStateValue::Ok => "OK",
        CloudWatchAlarmStateValue::Alarm => "ALARM",
        CloudWatchAlarmStateValue::InsufficientData => "INSUFFICIENT_DATA",
        _ => "UNKNOWN",
    }
}

/// An alarm's data as the escalator's input; `key` is the alarm's ARN when
/// the event names it, its name otherwise.
fn alarm_input(key: Option<String>, data: Value, what: &str) -> Result<Input> {
    let d: AlarmData = serde_json::from_value(data).map_err(|e| {
        Error::Event(format!(
            "`{what}`: not an alarm's data (alarmName, state.value, state.timestamp, configuration): {e}"
        ))
    })?;
    let state = d
        .state
        .ok_or_else(|| Error::Event(format!("`{what}`: the alarm's state.value is missing")))?;
    if d.alarm_name.is_empty() {
        return Err(Error::Event(format!(
            "`{what}`: the alarm's alarmName is missing"
        )));
    }
    Ok(Input::Alarm {
        key: key
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| d.alarm_name.clone()),
        subject: Subject {
            namespace: d
                .configuration
                .metrics
                .first()
                .and_then(|m| m.metric_stat.metric.namespace.clone())
                .unwrap_or_default(),
            description: d.configuration.description.unwrap_or_default(),
            name: d.alarm_name,
        },
        state: state_name(&state.value).into(),
        reason: state.reason,
        at: state.timestamp,
    })
}

/// An alarm notification delivered by SNS (the classic `AlarmName`,
/// `NewStateValue`, `Trigger` message). AWS writes `null` for a missing
/// description (and a missing unit), which the crate's type (strings)
/// refuses: a top-level `null` reads as an empty string, a `null` in
/// `Trigger` as absent.
fn sns_alarm_input(mut m: Value, sent: DateTime<Utc>) -> Result<Input> {
    if let Some(o) = m.as_object_mut() {
        for v in o.values_mut().filter(|v| v.is_null()) {
            *v = Value::String(String::new());
        }
        if let Some(t) = o.get_mut("Trigger").and_then(Value::as_object_mut) {
            t.retain(|_, v| !v.is_null());
        }
    }
    let a: CloudWatchAlarmPayload = serde_json::from_value(m)
        .map_err(|e| Error::Event(format!("malformed CloudWatch alarm notification: {e}")))?;
    Ok(Input::Alarm {
        key: if a.alarm_arn.is_empty() {
            a.alarm_name.clone()
        } else {
            a.alarm_arn
        },
        subject: Subject {
            name: a.alarm_name,
            namespace: a.trigger.namespace.unwrap_or_default(),
            description: a.alarm_description,
        },
        state: a.new_state_value,
        reason: a.new_state_reason,
        at: alarm_time(&a.state_change_time).unwrap_or(sent),
    })
}

/// Failure kinds that open an incident, and the success kinds that resolve
/// it: (kind, job, success). Terraform's SNS filter on the events topic
/// (`escalator_announcement_kinds`) delivers exactly these.
pub const JOB_KINDS: &[(&str, &str, bool)] = &[
    ("snapshot.failed", "snapshot", false),
    ("snapshot.created", "snapshot", true),
    ("copy.failed", "copy", false),
    ("copy.blocked", "copy", false),
    ("copy.started", "copy", true),
    ("copy.completed", "copy", true),
    ("restore.failed", "restore", false),
    ("restore.succeeded", "restore", true),
    ("drill.failed", "drill", false),
    ("drill.slow", "drill", false),
    ("drill.succeeded", "drill", true),
    ("failover.failed", "failover", false),
    ("failover.slow", "failover", false),
    ("failover.refused", "failover", false),
    ("failover.succeeded", "failover", true),
    ("audit.breach", "audit", false),
    ("audit.passed", "audit", true),
    ("coverage.unprotected", "coverage", false),
    ("coverage.cleared", "coverage", true),
];

fn job_of(kind: &str) -> Option<(&'static str, bool)> {
    JOB_KINDS
        .iter()
        .find(|(k, _, _)| *k == kind)
        .map(|(_, job, ok)| (*job, *ok))
}

/// Parses every shape the escalator takes; a malformed event is an error.
pub fn parse(v: &Value) -> Result<Vec<Input>> {
    if v.get("Records").is_some() {
        let sns: SnsEvent = serde_json::from_value(v.clone())
            .map_err(|e| Error::Event(format!("malformed SNS event: {e}")))?;
        return sns
            .records
            .iter()
            .map(|r| {
                let m: Value = serde_json::from_str(&r.sns.message).map_err(|e| {
                    Error::Event(format!("SNS message {} is not JSON: {e}", r.sns.message_id))
                })?;
                if m.get("schema").and_then(Value::as_str) == Some(SCHEMA) {
                    let a: Announcement = serde_json::from_value(m)
                        .map_err(|e| Error::Event(format!("malformed announcement: {e}")))?;
                    let Some((job, ok)) = job_of(&a.kind) else {
                        return Ok(Input::Nothing {
                            reason: format!("announcement `{}` concerns no incident", a.kind),
                        });
                    };
                    let res = a
                        .resource
                        .as_ref()
                        .map(|r| format!("{}#{}", r.kind, r.id))
                        .unwrap_or_default();
                    return Ok(Input::Job {
                        key: format!("{job}#{res}"),
                        title: a.summary.clone(),
                        kind: a.kind.clone(),
                        ok,
                        at: a.time,
                    });
                }
                if m.get("AlarmName").is_some() {
                    return sns_alarm_input(m, r.sns.timestamp);
                }
                Err(Error::Event(format!(
                    "SNS message {} is neither a CloudWatch alarm nor a Rempart announcement",
                    r.sns.message_id
                )))
            })
            .collect();
    }
    if v.get("alarmData").is_some() {
        // A CloudWatch alarm's Lambda action invokes the function directly.
        let alarm: CloudWatchAlarm = serde_json::from_value(v.clone())
            .map_err(|e| Error::Event(format!("malformed CloudWatch alarm action: {e}")))?;
        return Ok(vec![alarm_input(
            alarm.alarm_arn,
            serde_json::to_value(alarm.alarm_data).unwrap_or_default(),
            "CloudWatch alarm action",
        )?]);
    }
    let ev = envelope(v)?;
    let at = event_time(&ev)?;
    let d = &ev.detail;
    let ds = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    Ok(vec![match (ev.source.as_str(), ev.detail_type.as_str()) {
        ("aws.events" | "aws.scheduler", SCHEDULED_EVENT) => Input::Tick { at },
        ("aws.cloudwatch", ALARM_STATE_CHANGE) => {
            let key = ev.resources.as_ref().and_then(|r| r.first().cloned());
            alarm_input(key, ev.detail.clone(), ALARM_STATE_CHANGE)?
        }
        (
            REMPART_SOURCE,
            ACK | CLIENT_NOTIFIED | STATUS_UPDATE | AUDIENCE_NOTIFIED | AUDIENCE_DECLARED,
        ) => {
            let incident = ds("incident");
            let by = ds("by");
            if incident.is_empty() || by.is_empty() {
                return Err(Error::Event(format!(
                    "`{}` needs detail.incident (the incident id or key) and detail.by (who)",
                    ev.detail_type
                )));
            }
            let audience = ds("audience");
            if matches!(ev.detail_type.as_str(), AUDIENCE_NOTIFIED | AUDIENCE_DECLARED)
                && audience.is_empty()
            {
                return Err(Error::Event(format!(
                    "`{}` needs detail.audience (a name of the policy's incidents.audiences)",
                    ev.detail_type
                )));
            }
            Input::Human {
                what: ev.detail_type.clone(),
                incident,
                by,
                note: ds("note"),
                audience,
                at,
            }
        }
        (source, dt) => {
            return Err(Error::Event(format!(
                "incident-escalator does not handle `{dt}` from `{source}`; it takes `{ALARM_STATE_CHANGE}` (aws.cloudwatch), `{SCHEDULED_EVENT}` (the tick), `{ACK}`, `{CLIENT_NOTIFIED}`, `{STATUS_UPDATE}`, `{AUDIENCE_NOTIFIED}`, `{AUDIENCE_DECLARED}` (source rempart), and SNS deliveries of alarm notifications and Rempart announcements"
            )))
        }
    }])
}

/// The `detail` of a human event (`ACK`, `CLIENT_NOTIFIED`,
/// `STATUS_UPDATE`), as `rempart incident` publishes it.
pub fn human_detail(incident: &str, by: &str, note: &str) -> Value {
    rempart_core::event::incident_detail(incident, by, note)
}

/// What one input did.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Outcome {
    pub incidents: Vec<String>,
    pub effects: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Handles one event.
pub async fn handle(deps: &Deps, event: Value) -> Result<Vec<Outcome>> {
    let inputs = parse(&event)?;
    let doc = load_policy(&deps.policy, &deps.ssm).await?;
    if let Err(e) = doc.incidents.check_tiers(&deps.chain()) {
        // Each incident so classified says so too, and pages the first tier.
        tracing::warn!(problem = %e, "the policy's paging does not fit the on-call tiers");
    }
    let mut out = Vec::new();
    for input in inputs {
        out.push(apply(deps, &doc.incidents, input).await?);
    }
    Ok(out)
}

async fn apply(deps: &Deps, policy: &IncidentPolicy, input: Input) -> Result<Outcome> {
    let mut o = Outcome::default();
    match input {
        Input::Nothing { reason } => o.note = Some(reason),
        Input::Tick { at } => {
            let open = deps.store.all_open().await?;
            let chain = deps.chain();
            // A tick acknowledges or resolves nothing: what is open now
            // stays open after it.
            rempart_aws::metrics::emit(&[rempart_core::metrics::emf(
                "incidents",
                at,
                &[(rempart_core::metrics::OPEN_INCIDENTS, open.len() as f64)],
            )]);
            for st in open {
                let key = st.incident.key.clone();
                change(deps, policy, &key, &mut o, |i| {
                    i.and_then(|i| on_tick(i, at, &chain, policy))
                })
                .await?;
            }
        }
        Input::Alarm {
            key,
            subject,
            state,
            reason,
            at,
        } => {
            if state == "ALARM" {
                let class = policy.classify(&subject);
                let signal = Signal {
                    key: key.clone(),
                    title: format!("alarm {} ({})", subject.name, reason),
                    class,
                    at,
                    reason,
                };
                let since = at - policy.recurring_within.0;
                let recent = deps.store.closed_since(&key, since).await?;
                let chain = deps.chain();
                change(deps, policy, &key, &mut o, |i| {
                    let (n, fx) = on_alarm(i, &signal, recent, policy, &chain);
                    n.map(|n| (n, fx))
                })
                .await?;
            } else if state == "OK" {
                change(deps, policy, &key, &mut o, |i| {
                    i.and_then(|i| on_ok(i, at, policy)).map(|n| (n, vec![]))
                })
                .await?;
            } else {
                o.note = Some(format!("alarm state {state}: nothing to do"));
            }
        }
        Input::Job {
            key,
            title,
            kind,
            ok,
            at,
        } => {
            if ok {
                change(deps, policy, &key, &mut o, |i| {
                    i.and_then(|i| on_ok(i, at, policy)).map(|n| (n, vec![]))
                })
                .await?;
            } else {
                let class = policy.classify(&Subject {
                    name: kind.clone(),
                    namespace: "Rempart".into(),
                    description: title.clone(),
                });
                let signal = Signal {
                    key: key.clone(),
                    title,
                    class,
                    at,
                    reason: kind,
                };
                let recent = deps
                    .store
                    .closed_since(&key, at - policy.recurring_within.0)
                    .await?;
                let chain = deps.chain();
                change(deps, policy, &key, &mut o, |i| {
                    let (n, fx) = on_alarm(i, &signal, recent, policy, &chain);
                    n.map(|n| (n, fx))
                })
                .await?;
            }
        }
        Input::Human {
            what,
            incident,
            by,
            note,
            audience,
            at,
        } => {
            let key = incident
                .rsplit_once('@')
                .map(|(k, _)| k.to_string())
                .unwrap_or(incident.clone());
            if matches!(what.as_str(), AUDIENCE_NOTIFIED | AUDIENCE_DECLARED) {
                // Checked before anything changes: an unknown audience is
                // the sender's mistake, not a retry.
                audience::known(&policy.audiences, &audience).map_err(Error::Event)?;
            }
            let found = change(deps, policy, &key, &mut o, |i| match what.as_str() {
                ACK => i.and_then(|i| on_ack(i, at, &by)),
                CLIENT_NOTIFIED => i
                    .and_then(|i| on_client_notified(i, at, &by))
                    .map(|n| (n, vec![])),
                AUDIENCE_NOTIFIED => i
                    .and_then(|i| {
                        on_audience_notified(i, policy, &audience, at, &by)
                            .ok()
                            .flatten()
                    })
                    .map(|n| (n, vec![])),
                AUDIENCE_DECLARED => i
                    .and_then(|i| {
                        on_audience_declared(i, policy, &audience, at, &by)
                            .ok()
                            .flatten()
                    })
                    .map(|n| (n, vec![])),
                _ => i.map(|i| (on_status_update(i, at, &by, &note), vec![])),
            })
            .await?;
            if !found {
                return Err(Error::Event(format!("no open incident `{incident}`")));
            }
        }
    }
    Ok(o)
}

/// Reads the open incident of `key`, decides with `f`, writes conditionally,
/// and carries out the effects once the write won. Returns whether an open
/// incident (or a new one) was there.
async fn change<F>(
    deps: &Deps,
    policy: &IncidentPolicy,
    key: &str,
    o: &mut Outcome,
    f: F,
) -> Result<bool>
where
    F: Fn(Option<&Incident>) -> Option<(Incident, Vec<Effect>)>,
{
    for _ in 0..RACE_ATTEMPTS {
        let stored: Option<Stored> = deps.store.open(key).await?;
        let existed = stored.is_some();
        let Some((next, effects)) = f(stored.as_ref().map(|s| &s.incident)) else {
            return Ok(existed);
        };
        let written = match (&stored, next.resolved_at) {
            (Some(st), Some(_)) => {
                deps.store
                    .close(&next, st.version, &report(&next, policy))
                    .await?
            }
            (st, _) => {
                deps.store
                    .save(&next, st.as_ref().map(|s| s.version))
                    .await?
            }
        };
        if written == Write::Conflict {
            continue;
        }
        o.incidents.push(next.id.clone());
        for fx in effects {
            o.effects.push(effect(deps, policy, &next, &fx).await?);
        }
        return Ok(true);
    }
    Err(Error::Retry(format!(
        "incident {key}: {RACE_ATTEMPTS} concurrent updates in a row; retry"
    )))
}

async fn effect(deps: &Deps, policy: &IncidentPolicy, i: &Incident, fx: &Effect) -> Result<String> {
    let (kind, summary) = match fx {
        Effect::Announce { kind, summary } => (kind.clone(), summary.clone()),
        Effect::Remind {
            audience,
            due_at,
            overdue,
            summary,
        } => return remind(deps, policy, i, audience, *due_at, *overdue, summary).await,
        Effect::Page { tier } => {
            let Some((name, topic)) = deps.tiers.get(*tier) else {
                return Ok(format!(
                    "page tier {}: no on-call topic configured",
                    tier + 1
                ));
            };
            let a = announcement(
                deps,
                i,
                "incident.page",
                &format!("On-call tier {} ({name}): {}", tier + 1, i.title),
                policy,
            );
            topic.publish(&a).await?;
            return Ok(format!("paged tier {} ({name})", tier + 1));
        }
    };
    let a = announcement(deps, i, &kind, &summary, policy);
    deps.topic.publish(&a).await?;
    Ok(kind)
}

/// An audience's reminder: on the events topic (routed like any incident
/// message, and to the audience's own Slack channel), and on the on-call
/// tier the audience names as its topic.
async fn remind(
    deps: &Deps,
    policy: &IncidentPolicy,
    i: &Incident,
    audience: &str,
    due_at: chrono::DateTime<chrono::Utc>,
    overdue: bool,
    summary: &str,
) -> Result<String> {
    const KIND: &str = "incident.audience-due";
    let a = policy.audiences.iter().find(|a| a.name == audience);
    let mut ann = announcement(deps, i, KIND, summary, policy);
    ann.details["audience"] = json!({
        "name": audience,
        "due_at": rempart_core::time::rfc3339(due_at),
        "overdue": overdue,
        "channel": a.and_then(|a| a.channel.clone()),
    });
    deps.topic.publish(&ann).await?;
    let Some(tier) = a.and_then(|a| a.topic.as_deref()) else {
        return Ok(format!("{KIND} ({audience})"));
    };
    match deps.tiers.iter().find(|(name, _)| name == tier) {
        Some((_, topic)) => {
            topic.publish(&ann).await?;
            Ok(format!("{KIND} ({audience}, also to on-call {tier})"))
        }
        None => Ok(format!(
            "{KIND} ({audience}); its topic `{tier}` is not an on-call tier of {ONCALL_TIERS_ENV}"
        )),
    }
}

fn announcement(
    deps: &Deps,
    i: &Incident,
    kind: &str,
    summary: &str,
    policy: &IncidentPolicy,
) -> Announcement {
    let mut details = json!({
        "incident": i.id,
        "key": i.key,
        "impact": i.class.impact,
        "level": i.class.level,
        "class": i.class.class,
        "on_call": rempart_core::incident::tier_names(&i.paged(), &deps.chain()),
        "rule": i.class.rule,
        "respond_within_s": policy.respond_within(&i.class).num_seconds(),
        "client_notice_within_s": policy.client_notice_within.0.num_seconds(),
        "escalation_tier": i.escalation + 1,
        "acknowledged": i.acked_at.is_some(),
        "recurring": i.recurring,
        "audiences": i.audiences,
    });
    if kind == "incident.resolved" {
        details["report"] = serde_json::to_value(report(i, policy)).unwrap_or_default();
    }
    Announcement {
        schema: SCHEMA.into(),
        kind: kind.into(),
        severity: i.class.impact.severity(),
        time: i.timeline.last().map(|e| e.at).unwrap_or(i.opened_at),
        function: NAME.into(),
        region: deps.region.clone(),
        resource: Some(ResourceSummary {
            kind: "incident".into(),
            id: i.id.clone(),
            arn: String::new(),
        }),
        policy: None,
        summary: summary.into(),
        details,
        cause: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves: the kinds Terraform's SNS filter delivers to the escalator
    /// (`escalator_announcement_kinds` in infra/incident_escalator.tf) are
    /// exactly those that open or resolve an incident here: a failure kind
    /// missing from the filter would never open its incident on AWS.
    #[test]
    fn the_sns_filter_delivers_exactly_the_job_kinds() {
        let tf = include_str!("../../../infra/incident_escalator.tf");
        let list = tf
            .split_once("escalator_announcement_kinds = [")
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(l, _)| l)
            .expect("the list in incident_escalator.tf");
        let mut filtered: Vec<&str> = list
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with('"'))
            .map(|l| l.trim_end_matches(',').trim_matches('"'))
            .collect();
        let mut known: Vec<&str> = JOB_KINDS.iter().map(|(k, _, _)| *k).collect();
        filtered.sort_unstable();
        known.sort_unstable();
        assert_eq!(filtered, known);
    }

    fn event(name: &str) -> Value {
        let path = format!(
            "{}/../../events/incident-escalator/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).expect("sample")).expect("JSON")
    }

    fn alarm(v: &Value) -> (String, Subject, String, DateTime<Utc>) {
        match parse(v).expect("parses").remove(0) {
            Input::Alarm {
                key,
                subject,
                state,
                at,
                ..
            } => (key, subject, state, at),
            other => panic!("not an alarm: {other:?}"),
        }
    }

    /// Proves: the three ways a CloudWatch alarm reaches the escalator (an
    /// EventBridge state change, an SNS notification, the alarm's direct
    /// Lambda action) are read, through `aws_lambda_events`' types, as the
    /// same alarm: same key (its ARN), name, namespace, description, state
    /// and state time.
    #[test]
    fn every_alarm_shape_reads_as_the_same_alarm() {
        let arn =
            "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:rewapp-prod-db-critical-connections";
        let at: DateTime<Utc> = "2025-11-23T02:06:13.989Z".parse().expect("time");
        for name in [
            "alarm-state-change.json",
            "sns-alarm.json",
            "alarm-action.json",
        ] {
            let (key, subject, state, when) = alarm(&event(name));
            assert_eq!(key, arn, "{name}");
            assert_eq!(
                subject.name, "rewapp-prod-db-critical-connections",
                "{name}"
            );
            assert_eq!(subject.namespace, "AWS/RDS", "{name}");
            assert_eq!(
                subject.description, "Critical: the PostgreSQL primary refuses connections",
                "{name}"
            );
            assert_eq!((state.as_str(), when), ("ALARM", at), "{name}");
        }
    }

    /// Proves: an SNS alarm notification with the `null`s AWS writes for an
    /// alarm without a description or a unit is read (empty description),
    /// not rejected.
    #[test]
    fn an_sns_alarm_without_description_or_unit_is_read() {
        let mut v = event("sns-alarm.json");
        let msg = v["Records"][0]["Sns"]["Message"]
            .as_str()
            .expect("message")
            .to_string();
        let mut m: Value = serde_json::from_str(&msg).expect("JSON");
        m["AlarmDescription"] = Value::Null;
        m["Trigger"]["Unit"] = Value::Null;
        v["Records"][0]["Sns"]["Message"] = m.to_string().into();
        let (_, subject, state, _) = alarm(&v);
        assert_eq!(
            (subject.description.as_str(), state.as_str()),
            ("", "ALARM")
        );
    }

    /// Proves: an alarm action whose alarm data has no state, and an
    /// EventBridge alarm without configuration, are rejected with what is
    /// missing.
    #[test]
    fn alarms_without_their_state_are_rejected() {
        let mut v = event("alarm-action.json");
        v["alarmData"]
            .as_object_mut()
            .expect("object")
            .remove("state");
        let err = parse(&v).expect_err("rejected").to_string();
        assert!(err.contains("state.value"), "{err}");
        let err = parse(&event("malformed.json"))
            .expect_err("rejected")
            .to_string();
        assert!(err.contains("state.value"), "{err}");
    }
}
