//! incident-escalator against moto: the incidents table, the events topic
//! and three on-call tier topics, each with a recording HTTP subscriber.
//! moto does not run CloudWatch alarm actions: the tests deliver the alarm's
//! EventBridge event and SNS notification themselves, in the shapes AWS
//! sends (`events/incident-escalator/`). Time comes from the events.

use rempart_aws::incidents::Incidents;
use rempart_core::policy::PolicySource;
use rempart_incident_escalator::{handle, Deps};
use rempart_integration::{Harness, EXAMPLE_POLICY};
use rempart_testkit::recorder::Recorder;
use serde_json::Value;

const ALARM: &str = include_str!("../../events/incident-escalator/alarm-state-change.json");
const ALARM_OK: &str = include_str!("../../events/incident-escalator/alarm-ok.json");
const SNS_ALARM: &str = include_str!("../../events/incident-escalator/sns-alarm.json");
const TICK: &str = include_str!("../../events/incident-escalator/tick.json");
const ACK: &str = include_str!("../../events/incident-escalator/ack.json");
const MALFORMED: &str = include_str!("../../events/incident-escalator/malformed.json");
const TABLE: &str = "rempart-incidents";

struct Setup {
    h: Harness,
    deps: Deps,
    tiers: Recorder,
    store: Incidents,
}

async fn setup(policy: &str) -> Setup {
    let h = Harness::with(&[], policy).await;
    let store = Incidents::new(aws_sdk_dynamodb::Client::new(&h.cfg), TABLE);
    store.create_table().await.expect("table");
    let sns = aws_sdk_sns::Client::new(&h.cfg);
    let tiers = Recorder::start().await.expect("recorder");
    let mut arns = Vec::new();
    // The first three tiers of the example deployment (infra/examples/rewapp:
    // `<name>-oncall-<tier>`), so that the IAM conformance test judges the
    // escalator's publications against the topics Terraform makes.
    for (n, tier) in (1..=3).zip(["devops", "lead-dev", "cto"]) {
        let t = sns
            .create_topic()
            .name(format!("rempart-oncall-{tier}"))
            .send()
            .await
            .expect("topic");
        let arn = t.topic_arn().expect("arn").to_string();
        sns.subscribe()
            .topic_arn(&arn)
            .protocol("http")
            .endpoint(tiers.url(&format!("/tier{n}")))
            .send()
            .await
            .expect("subscribe");
        arns.push(arn);
    }
    let deps = Deps::new(
        &h.cfg,
        TABLE,
        h.topic.arn(),
        &arns,
        PolicySource::File(h.policy_file.clone()),
    )
    .expect("deps");
    Setup {
        h,
        deps,
        tiers,
        store,
    }
}

fn at(json: &str, time: &str) -> Value {
    let mut v: Value = serde_json::from_str(json).expect("JSON");
    v["time"] = time.into();
    v
}

fn kinds(s: &Setup) -> Vec<String> {
    s.h.announcements("/all")
        .iter()
        .filter_map(|a| a["kind"].as_str().map(str::to_string))
        .filter(|k| k.starts_with("incident."))
        .collect()
}

/// Pages received by on-call tier `n` (the SNS HTTP deliveries, minus the
/// subscription confirmation).
fn pages(s: &Setup, n: usize) -> usize {
    s.tiers
        .received(&format!("/tier{n}"))
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("incident.page"))
        .count()
}

/// Proves: the EventBridge alarm event opens one incident, classified by
/// the policy (AWS/RDS + "critical": critical, level 3), announced once and
/// paged to tier 1; the same state change arriving as the alarm action's
/// SNS notification changes nothing.
#[tokio::test]
async fn an_alarm_in_either_shape_opens_one_incident() {
    let s = setup(EXAMPLE_POLICY).await;
    handle(&s.deps, serde_json::from_str(ALARM).expect("JSON"))
        .await
        .expect("handled");
    handle(&s.deps, serde_json::from_str(SNS_ALARM).expect("JSON"))
        .await
        .expect("handled");
    let open = s.store.all_open().await.expect("open");
    assert_eq!(open.len(), 1);
    let i = &open[0].incident;
    assert_eq!((i.class.impact.as_str(), i.class.level), ("critical", 3));
    assert_eq!(kinds(&s), vec!["incident.opened"]);
    assert_eq!(pages(&s, 1), 1);
}

/// Proves: 50 concurrent deliveries of the same alarm leave exactly one
/// incident and one announcement (conditional writes).
#[tokio::test]
async fn fifty_concurrent_deliveries_leave_one_incident() {
    let s = setup(EXAMPLE_POLICY).await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let deps = s.deps.clone();
        set.spawn(async move { handle(&deps, serde_json::from_str(ALARM).expect("JSON")).await });
    }
    while let Some(r) = set.join_next().await {
        r.expect("task").expect("handled");
    }
    assert_eq!(s.store.all_open().await.expect("open").len(), 1);
    assert_eq!(kinds(&s), vec!["incident.opened"]);
}

/// Proves: the tick escalates to tier 2 once the level's deadline (level 3:
/// 4 h) has passed unacknowledged, and not a minute before; after an
/// acknowledgement it never escalates.
#[tokio::test]
async fn the_tick_escalates_after_the_deadline_and_ack_stops_it() {
    let s = setup(EXAMPLE_POLICY).await;
    handle(&s.deps, serde_json::from_str(ALARM).expect("JSON"))
        .await
        .expect("opened");
    handle(&s.deps, at(TICK, "2025-11-23T06:05:13Z"))
        .await
        .expect("tick");
    assert_eq!(pages(&s, 2), 0, "3 h 59 min: not yet");
    handle(&s.deps, at(TICK, "2025-11-23T06:06:14Z"))
        .await
        .expect("tick");
    assert_eq!(pages(&s, 2), 1, "4 h: tier 2 paged");
    assert!(kinds(&s).contains(&"incident.escalated".to_string()));

    let s = setup(EXAMPLE_POLICY).await;
    handle(&s.deps, serde_json::from_str(ALARM).expect("JSON"))
        .await
        .expect("opened");
    handle(&s.deps, serde_json::from_str(ACK).expect("JSON"))
        .await
        .expect("acked");
    handle(&s.deps, at(TICK, "2025-11-23T10:07:00Z"))
        .await
        .expect("tick");
    assert_eq!(pages(&s, 2), 0, "acknowledged: no escalation");
    assert!(kinds(&s).contains(&"incident.acknowledged".to_string()));
}

/// Proves: the client-notification reminder fires for a major incident and
/// not for a minor one.
#[tokio::test]
async fn the_client_notice_reminder_is_for_majors_only() {
    // A rule for minors, first in the list.
    let minor = EXAMPLE_POLICY.replacen(
        "[incidents.default]",
        "[[incidents.rules]]\ndescription_contains = \"minor\"\nimpact = \"minor\"\nlevel = 1\n\n[incidents.default]",
        1,
    );
    assert_ne!(minor, EXAMPLE_POLICY);
    for (description, reminded) in [
        ("Critical: the PostgreSQL primary refuses connections", true),
        ("minor: replica lag", false),
    ] {
        let s = setup(&minor).await;
        let mut alarm: Value = serde_json::from_str(ALARM).expect("JSON");
        alarm["detail"]["configuration"]["description"] = description.into();
        handle(&s.deps, alarm).await.expect("opened");
        handle(&s.deps, at(TICK, "2025-11-23T02:40:00Z"))
            .await
            .expect("tick");
        assert_eq!(
            kinds(&s).contains(&"incident.client-notice-due".to_string()),
            reminded,
            "{description}: {:?}",
            kinds(&s)
        );
    }
}

/// Proves: OK resolves the incident once the flap window (10 min) has
/// passed, and the resolution announcement carries the report.
#[tokio::test]
async fn ok_resolves_and_posts_the_report() {
    let s = setup(EXAMPLE_POLICY).await;
    handle(&s.deps, serde_json::from_str(ALARM).expect("JSON"))
        .await
        .expect("opened");
    handle(&s.deps, serde_json::from_str(ALARM_OK).expect("JSON"))
        .await
        .expect("ok");
    handle(&s.deps, at(TICK, "2025-11-23T03:05:00Z"))
        .await
        .expect("tick");
    assert_eq!(
        s.store.all_open().await.expect("open").len(),
        1,
        "within the flap window"
    );
    handle(&s.deps, at(TICK, "2025-11-23T03:11:00Z"))
        .await
        .expect("tick");
    assert!(s.store.all_open().await.expect("open").is_empty());
    let resolved: Vec<Value> =
        s.h.announcements("/all")
            .into_iter()
            .filter(|a| a["kind"] == "incident.resolved")
            .collect();
    assert_eq!(resolved.len(), 1);
    let report = &resolved[0]["details"]["report"];
    // Opened 02:06:13.989 (the alarm's state time), resolved at the 03:11 tick.
    assert_eq!(report["time_to_resolve_s"], 3886);
    assert!(report["post_mortem"]
        .as_str()
        .is_some_and(|p| p.contains("## Root cause")));
}

/// Proves: a malformed event is rejected with a clear error and opens nothing.
#[tokio::test]
async fn a_malformed_event_is_rejected_and_opens_nothing() {
    let s = setup(EXAMPLE_POLICY).await;
    let err = handle(&s.deps, serde_json::from_str(MALFORMED).expect("JSON"))
        .await
        .expect_err("rejected");
    assert!(err.to_string().contains("state.value"), "{err}");
    assert!(s.store.all_open().await.expect("open").is_empty());
    assert!(kinds(&s).is_empty());
}

/// Proves: what `rempart incident ack` publishes is accepted by EventBridge
/// (moto) and, delivered by the rule to the escalator in EventBridge's
/// envelope, acknowledges the incident.
#[tokio::test]
async fn the_cli_acknowledgement_reaches_the_escalator() {
    use rempart_incident_escalator::{human_detail, ACK};
    let s = setup(EXAMPLE_POLICY).await;
    handle(&s.deps, serde_json::from_str(ALARM).expect("JSON"))
        .await
        .expect("opened");
    let id = s.store.all_open().await.expect("open")[0]
        .incident
        .id
        .clone();
    let detail = human_detail(&id, "alice@rewapp.fr", "");
    let bus = rempart_aws::bus::Bus::new(aws_sdk_eventbridge::Client::new(&s.h.cfg), "default");
    let event_id = bus.put(ACK, &detail).await.expect("published");
    let delivered = serde_json::json!({
        "version": "0", "id": event_id, "detail-type": ACK, "source": "rempart",
        "account": "123456789012", "time": "2025-11-23T02:20:00Z", "region": "eu-west-1",
        "resources": [], "detail": detail
    });
    handle(&s.deps, delivered).await.expect("acknowledged");
    let i = &s.store.all_open().await.expect("open")[0].incident;
    assert_eq!(
        i.timeline.last().map(|e| (e.what.as_str(), e.by.as_str())),
        Some(("acknowledged", "alice@rewapp.fr"))
    );
}

/// Proves: a Rempart failure announcement (a failed snapshot) opens an
/// incident keyed by job and resource, the next success of that job
/// resolves it (after the flap window), and the escalator's own
/// `incident.*` announcements coming back on the topic are ignored.
#[tokio::test]
async fn a_failed_job_opens_an_incident_that_its_next_success_resolves() {
    let s = setup(EXAMPLE_POLICY).await;
    let sns = |kind: &str, severity: &str, time: &str| {
        let a = serde_json::json!({
            "schema": "rempart.announcement/v1", "kind": kind, "severity": severity, "time": time,
            "function": "snapshot-scheduler", "region": "eu-west-1",
            "resource": {"kind": "rds-instance", "id": "rewapp-prod-db", "arn": ""},
            "policy": "rewapp-postgres", "summary": format!("{kind} of rewapp-prod-db"), "details": {}
        });
        let mut e: Value = serde_json::from_str(include_str!(
            "../../events/slack-notifier/sns-announcement.json"
        ))
        .expect("JSON");
        e["Records"][0]["Sns"]["Message"] = a.to_string().into();
        e
    };
    handle(
        &s.deps,
        sns("snapshot.failed", "warning", "2025-11-23T02:00:05Z"),
    )
    .await
    .expect("opened");
    let open = s.store.all_open().await.expect("open");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].incident.key, "snapshot#rds-instance#rewapp-prod-db");
    let out = handle(
        &s.deps,
        sns("incident.opened", "critical", "2025-11-23T02:00:06Z"),
    )
    .await
    .expect("ignored");
    assert!(out[0]
        .note
        .as_deref()
        .is_some_and(|n| n.contains("concerns no incident")));
    handle(
        &s.deps,
        sns("snapshot.created", "info", "2025-11-24T02:00:05Z"),
    )
    .await
    .expect("ok");
    handle(&s.deps, at(TICK, "2025-11-24T02:11:00Z"))
        .await
        .expect("tick");
    assert!(s.store.all_open().await.expect("open").is_empty());
    assert!(kinds(&s).contains(&"incident.resolved".to_string()));
}
