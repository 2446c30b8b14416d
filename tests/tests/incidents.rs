//! incident-escalator against moto: the incidents table, the events topic
//! and three on-call tier topics, each with a recording HTTP subscriber.
//! moto does not run CloudWatch alarm actions: the tests deliver the alarm's
//! EventBridge event and SNS notification themselves, in the shapes AWS
//! sends (`events/incident-escalator/`). Time comes from the events.

use rempart_aws::incidents::Incidents;
use rempart_core::policy::PolicySource;
use rempart_incident_escalator::{handle, Deps};
use rempart_integration::{Harness, EXAMPLE_POLICY};

const PROFITUM_POLICY: &str = include_str!("../../examples/profitum-policy.toml");
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

impl Setup {
    /// The open incidents.
    async fn open(&self) -> Vec<rempart_core::incident::Incident> {
        self.store
            .all_open()
            .await
            .expect("open")
            .into_iter()
            .map(|s| s.incident)
            .collect()
    }

    /// The first open incident (the tests' only one).
    async fn first_open(&self) -> rempart_core::incident::Incident {
        self.open()
            .await
            .into_iter()
            .next()
            .expect("an open incident")
    }
}

async fn setup(policy: &str) -> Setup {
    // The first three tiers of the example deployment (infra/examples/rewapp:
    // `<name>-oncall-<tier>`), so that the IAM conformance test judges the
    // escalator's publications against the topics Terraform makes.
    setup_with(policy, &["devops", "lead-dev", "cto"]).await
}

/// The on-call chain `tiers`, in order: topic `rempart-oncall-<tier>`, its
/// HTTP subscriber at `/tier<n>` (n from 1).
async fn setup_with(policy: &str, chain: &[&str]) -> Setup {
    let h = Harness::with(&[], policy).await;
    let store = Incidents::new(aws_sdk_dynamodb::Client::new(&h.cfg), TABLE);
    store.create_table().await.expect("table");
    let sns = aws_sdk_sns::Client::new(&h.cfg);
    let tiers = Recorder::start().await.expect("recorder");
    let mut arns = Vec::new();
    for (n, tier) in (1..).zip(chain.iter().copied()) {
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
        arns.push((tier.to_string(), arn));
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
/// paged at once to the three tiers level 3 names (DevOps, lead developer,
/// CTO), each once; the same state change arriving as the alarm action's
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
    let open = s.open().await;
    assert_eq!(open.len(), 1);
    let i = &open[0];
    assert_eq!((i.class.impact.as_str(), i.class.level), ("critical", 3));
    assert_eq!(kinds(&s), vec!["incident.opened"]);
    assert_eq!((pages(&s, 1), pages(&s, 2), pages(&s, 3)), (1, 1, 1));
}

/// Proves, with the second example policy (its own class scale, five
/// tiers): a critical database alarm is class Critical and pages DevOps,
/// the lead developer and the CTO at once, not the support desk; its page
/// says so; unacknowledged 15 minutes later Direction is paged, and no tier
/// is ever paged twice, neither by redeliveries nor by later ticks.
#[tokio::test]
async fn a_critical_alarm_pages_its_class_tiers_at_once_and_none_twice() {
    let s = setup_with(
        PROFITUM_POLICY,
        &["support", "devops", "lead-dev", "cto", "direction"],
    )
    .await;
    handle(&s.deps, serde_json::from_str(ALARM).expect("JSON"))
        .await
        .expect("opened");
    handle(&s.deps, serde_json::from_str(SNS_ALARM).expect("JSON"))
        .await
        .expect("redelivered");
    let count = |s: &Setup| (1..=5).map(|n| pages(s, n)).collect::<Vec<_>>();
    assert_eq!(count(&s), [0, 1, 1, 1, 0]);
    let i = s.first_open().await;
    assert_eq!(
        (i.class.class.as_str(), i.class.impact.as_str()),
        ("Critical", "critical")
    );
    let page = s
        .tiers
        .received("/tier4")
        .into_iter()
        .map(|r| String::from_utf8_lossy(&r.body).to_string())
        .find(|b| b.contains("incident.page"))
        .expect("the CTO's page");
    assert!(page.contains("On-call tier 4 (cto)"), "{page}");

    handle(&s.deps, at(TICK, "2025-11-23T02:20:13Z"))
        .await
        .expect("tick");
    assert_eq!(count(&s), [0, 1, 1, 1, 0], "14 min: not yet");
    handle(&s.deps, at(TICK, "2025-11-23T02:21:14Z"))
        .await
        .expect("tick");
    assert_eq!(count(&s), [0, 1, 1, 1, 1], "15 min: Direction");
    for time in ["2025-11-23T02:40:00Z", "2025-11-23T04:00:00Z"] {
        handle(&s.deps, at(TICK, time)).await.expect("tick");
    }
    assert_eq!(
        count(&s),
        [0, 1, 1, 1, 1],
        "the top of the chain: nobody twice"
    );
}

/// The alarm event renamed: a Rempart function's alarm (`rempart-…`), which
/// the example policy classifies major, level 2.
fn rempart_alarm() -> Value {
    let mut v: Value = serde_json::from_str(ALARM).expect("JSON");
    let arn = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:rempart-snapshot-scheduler-errors";
    v["resources"] = serde_json::json!([arn]);
    v["detail"]["alarmName"] = "rempart-snapshot-scheduler-errors".into();
    v
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
    assert_eq!(s.open().await.len(), 1);
    assert_eq!(kinds(&s), vec!["incident.opened"]);
}

/// Proves: a level-2 incident (major: a Rempart function's alarm) pages
/// tier 1 only, then escalates to tier 2 once the level's `escalate_every`
/// (1 h) has passed unacknowledged, and not a minute before; after an
/// acknowledgement it never escalates.
#[tokio::test]
async fn the_tick_escalates_after_the_deadline_and_ack_stops_it() {
    let s = setup(EXAMPLE_POLICY).await;
    handle(&s.deps, rempart_alarm()).await.expect("opened");
    assert_eq!((pages(&s, 1), pages(&s, 2)), (1, 0));
    handle(&s.deps, at(TICK, "2025-11-23T03:05:13Z"))
        .await
        .expect("tick");
    assert_eq!(pages(&s, 2), 0, "59 min: not yet");
    handle(&s.deps, at(TICK, "2025-11-23T03:06:14Z"))
        .await
        .expect("tick");
    assert_eq!(pages(&s, 2), 1, "1 h: tier 2 paged");
    assert!(kinds(&s).contains(&"incident.escalated".to_string()));
    handle(&s.deps, at(TICK, "2025-11-23T03:30:00Z"))
        .await
        .expect("tick");
    assert_eq!((pages(&s, 1), pages(&s, 2), pages(&s, 3)), (1, 1, 0));

    let s = setup(EXAMPLE_POLICY).await;
    handle(&s.deps, rempart_alarm()).await.expect("opened");
    let mut ack: Value = serde_json::from_str(ACK).expect("JSON");
    ack["detail"]["incident"] =
        "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:rempart-snapshot-scheduler-errors".into();
    handle(&s.deps, ack).await.expect("acked");
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
    assert_eq!(s.open().await.len(), 1, "within the flap window");
    handle(&s.deps, at(TICK, "2025-11-23T03:11:00Z"))
        .await
        .expect("tick");
    assert!(s.open().await.is_empty());
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
    assert!(s.open().await.is_empty());
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
    let id = s.first_open().await.id.clone();
    let detail = human_detail(&id, "alice@rewapp.fr", "");
    let bus = rempart_aws::bus::Bus::new(aws_sdk_eventbridge::Client::new(&s.h.cfg), "default");
    let event_id = bus.put(ACK, &detail).await.expect("published");
    let delivered = serde_json::json!({
        "version": "0", "id": event_id, "detail-type": ACK, "source": "rempart",
        "account": "123456789012", "time": "2025-11-23T02:20:00Z", "region": "eu-west-1",
        "resources": [], "detail": detail
    });
    handle(&s.deps, delivered).await.expect("acknowledged");
    let i = &s.first_open().await;
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
    let open = s.open().await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].key, "snapshot#rds-instance#rewapp-prod-db");
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
    assert!(s.open().await.is_empty());
    assert!(kinds(&s).contains(&"incident.resolved".to_string()));
}

/// Request bodies recorded by a proxy.
type Recorded = std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>;

/// A proxy between a function and moto that records the body of every
/// request of one operation (`sns:Publish`) and forwards everything, and
/// an SDK configuration through it.
async fn recording(
    s: &Setup,
    op: &'static str,
) -> (
    rempart_testkit::proxy::CountingProxy,
    Recorded,
    aws_config::SdkConfig,
) {
    let bodies: Recorded = Recorded::default();
    let seen = bodies.clone();
    let proxy = rempart_testkit::proxy::CountingProxy::with_hooks(
        &s.h.aws.endpoint,
        Some(std::sync::Arc::new(
            move |r: &rempart_testkit::http::Request| {
                if rempart_testkit::proxy::operation(r) == op {
                    seen.lock().expect("lock").push(r.body.to_vec());
                }
                None
            },
        )),
        None,
    )
    .await
    .expect("proxy");
    let cfg = rempart_testkit::local::sdk_config_for(&proxy.url(), "eu-west-1").await;
    (proxy, bodies, cfg)
}

/// Proves: a page reaches each medium in its own form. The escalator
/// publishes with SNS `MessageStructure=json`: the email body says what,
/// the class and deadline and how to acknowledge, under an ASCII subject
/// of fewer than 100 characters; the SMS is one line of at most 160
/// characters; machines (the tier's HTTP subscriber here, Lambda and SQS
/// alike) still get the announcement's JSON, with the subject beside it.
/// moto delivers nothing to the email or SMS subscriptions of a topic: the
/// published structure is read at the HTTP level, from the Publish
/// requests a proxy between the escalator and moto records.
#[tokio::test]
async fn a_page_reads_well_by_email_and_sms_and_machines_keep_the_json() {
    let s = setup(EXAMPLE_POLICY).await;
    let (_proxy, published, cfg) = recording(&s, "sns:Publish").await;
    let deps = Deps::new(
        &cfg,
        TABLE,
        s.h.topic.arn(),
        &s.deps
            .tiers
            .iter()
            .map(|(n, t)| (n.clone(), t.arn().to_string()))
            .collect::<Vec<_>>(),
        PolicySource::File(s.h.policy_file.clone()),
    )
    .expect("deps");
    handle(&deps, serde_json::from_str(ALARM).expect("JSON"))
        .await
        .expect("opened");

    let forms: Vec<std::collections::HashMap<String, String>> = published
        .lock()
        .expect("lock")
        .iter()
        .map(|b| form_urlencoded::parse(b).into_owned().collect())
        .collect();
    let page = forms
        .iter()
        .find(|f| {
            f.get("Message")
                .is_some_and(|m| m.contains("incident.page"))
        })
        .expect("the page was published");
    assert_eq!(
        page.get("MessageStructure").map(String::as_str),
        Some("json")
    );
    let subject = page.get("Subject").cloned().unwrap_or_default();
    assert!(
        subject.is_ascii()
            && subject.len() < 100
            && subject.starts_with("[Rempart] CRITICAL incident.page"),
        "{subject}"
    );
    let message: Value = serde_json::from_str(&page["Message"]).expect("structured JSON");
    let email = message["email"].as_str().unwrap_or("");
    for want in [
        "Class:     critical, level 3",
        "Deadline:  respond within 4h",
        "To acknowledge (stops the escalation)",
        "rempart incident ack 'arn:aws:cloudwatch:",
    ] {
        assert!(
            email.contains(want),
            "missing `{want}` in the email:\n{email}"
        );
    }
    assert!(!email.trim_start().starts_with('{'), "not JSON: {email}");
    let sms = message["sms"].as_str().unwrap_or("");
    assert!(sms.chars().count() <= 160 && !sms.contains('\n'), "{sms}");
    assert!(sms.starts_with("Rempart CRITICAL: "), "{sms}");

    // The machine subscriber of tier 1: the JSON announcement, as before.
    let delivery = s
        .tiers
        .received("/tier1")
        .into_iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).expect("SNS posts JSON"))
        .find(|e| {
            e["Message"]
                .as_str()
                .is_some_and(|m| m.contains("incident.page"))
        })
        .expect("tier 1 paged");
    let announcement: Value = serde_json::from_str(delivery["Message"].as_str().unwrap_or(""))
        .expect("JSON for machines");
    assert_eq!(announcement["kind"], "incident.page");
    assert_eq!(delivery["Subject"].as_str(), Some(subject.as_str()));
}

/// A function URL request as Lambda hands it to slack-actions: Slack's
/// POST, body base64-encoded, received at `received_ms`.
fn slack_request(body: &str, timestamp: &str, signature: &str, received_ms: i64) -> Value {
    use aws_smithy_types::base64;
    serde_json::json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
        "headers": {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": timestamp,
            "x-slack-signature": signature,
            "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)"
        },
        "requestContext": {
            "accountId": "anonymous", "apiId": "abc123", "domainName": "abc123.lambda-url.eu-west-1.on.aws",
            "domainPrefix": "abc123", "requestId": "r-1", "routeKey": "$default", "stage": "$default",
            "time": "23/Nov/2025:02:20:00 +0000", "timeEpoch": received_ms,
            "http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "54.1.2.3", "userAgent": "Slackbot 1.0"}
        },
        "body": base64::encode(body.as_bytes()),
        "isBase64Encoded": true
    })
}

/// Slack's `block_actions` body for a click on `action_id` with `value`.
fn click_body(action_id: &str, value: &str) -> String {
    let payload = serde_json::json!({
        "type": "block_actions",
        "user": {"id": "U0ALICE", "username": "alice", "name": "alice", "team_id": "T0REWAPP"},
        "team": {"id": "T0REWAPP", "domain": "rewapp"},
        "container": {"type": "message", "message_ts": "1763864000.000100", "channel_id": "C0INCIDENTS"},
        "channel": {"id": "C0INCIDENTS", "name": "incidents"},
        "response_url": "https://hooks.slack.com/actions/T0REWAPP/1/abc",
        "actions": [{"action_id": action_id, "block_id": "rempart_incident", "type": "button", "value": value, "action_ts": "1763864400.1"}]
    });
    form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish()
}

/// Proves: an "Acknowledge" click in Slack, signed with the app's signing
/// secret, reaches slack-actions' function URL and acknowledges the
/// incident: slack-actions publishes the same EventBridge event `rempart
/// incident ack` does, with the Slack user as `by`, and the escalation
/// stops (no tier-2 page past the level's hour). A forged signature (401), a
/// request older than 5 minutes (401), a click on an incident that is not
/// open (404) and the same signed request again (a replay, 409) each get
/// a status that says why and change nothing: no event published, no
/// record written. moto keeps no EventBridge event for a rule to deliver:
/// a proxy between slack-actions and moto records the PutEvents request,
/// whose entry the test delivers to the escalator in EventBridge's
/// envelope, as the rule would.
#[tokio::test]
async fn a_signed_slack_click_acknowledges_and_forged_stale_unknown_or_replayed_ones_do_nothing() {
    use rempart_core::slack_action::{sign, ACTION_ACK};
    let s = setup(EXAMPLE_POLICY).await;
    // A level-2 incident: tier 1 paged, tier 2 after an hour unacknowledged.
    handle(&s.deps, rempart_alarm()).await.expect("opened");
    let id = s.first_open().await.id.clone();
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    let secret_arn = aws_sdk_secretsmanager::Client::new(&s.h.cfg)
        .create_secret()
        .name("rempart/slack-signing-secret")
        .secret_string(SECRET)
        .send()
        .await
        .expect("secret")
        .arn()
        .unwrap_or_default()
        .to_string();
    let (_proxy, put, cfg) = recording(&s, "events:PutEvents").await;
    let actions = rempart_slack_actions::Deps::new(
        &cfg,
        TABLE,
        rempart_integration::TABLE,
        &secret_arn,
        "default",
    )
    .expect("deps");
    // The click, 14 minutes after the incident opened.
    let ts: i64 = 1_763_864_400; // 2025-11-23T02:20:00Z
    let at_ms = ts * 1000 + 350;
    let body = click_body(ACTION_ACK, &id);
    let status = |v: &Value| v["statusCode"].as_u64().unwrap_or(0);
    let text = |v: &Value| {
        serde_json::from_str::<Value>(v["body"].as_str().unwrap_or("{}")).unwrap_or_default()
            ["text"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let before = s.h.registry_items().await;

    let forged = sign(b"not-the-app-secret", &ts.to_string(), body.as_bytes());
    let r = rempart_slack_actions::handle(
        &actions,
        slack_request(&body, &ts.to_string(), &forged, at_ms),
    )
    .await
    .expect("answered");
    assert_eq!(status(&r), 401, "{r}");
    assert!(text(&r).contains("signature does not match"), "{r}");

    let old = ts - 301;
    let stale = sign(SECRET.as_bytes(), &old.to_string(), body.as_bytes());
    let r = rempart_slack_actions::handle(
        &actions,
        slack_request(&body, &old.to_string(), &stale, at_ms),
    )
    .await
    .expect("answered");
    assert_eq!(status(&r), 401, "{r}");
    assert!(text(&r).contains("5 minutes"), "{r}");

    let unknown_body = click_body(ACTION_ACK, "audit#rds-instance#nope@2025-11-23T01:00:00Z");
    let unknown = sign(SECRET.as_bytes(), &ts.to_string(), unknown_body.as_bytes());
    let r = rempart_slack_actions::handle(
        &actions,
        slack_request(&unknown_body, &ts.to_string(), &unknown, at_ms),
    )
    .await
    .expect("answered");
    assert_eq!(status(&r), 404, "{r}");
    assert!(text(&r).contains("No open incident"), "{r}");
    assert!(put.lock().expect("lock").is_empty(), "nothing published");
    assert_eq!(s.h.registry_items().await, before, "nothing recorded");

    let valid = sign(SECRET.as_bytes(), &ts.to_string(), body.as_bytes());
    let r = rempart_slack_actions::handle(
        &actions,
        slack_request(&body, &ts.to_string(), &valid, at_ms),
    )
    .await
    .expect("answered");
    assert_eq!(status(&r), 200, "{r}");
    assert!(text(&r).contains("acknowledged"), "{r}");
    // The same request, a minute later: a replay.
    let r = rempart_slack_actions::handle(
        &actions,
        slack_request(&body, &ts.to_string(), &valid, at_ms + 60_000),
    )
    .await
    .expect("answered");
    assert_eq!(status(&r), 409, "{r}");
    let published: Vec<Value> = put
        .lock()
        .expect("lock")
        .iter()
        .filter_map(|b| serde_json::from_slice(b).ok())
        .collect();
    assert_eq!(published.len(), 1, "one event for one click: {published:?}");
    let entry = &published[0]["Entries"][0];
    assert_eq!(entry["Source"], "rempart");
    assert_eq!(entry["DetailType"], rempart_incident_escalator::ACK);
    let detail: Value =
        serde_json::from_str(entry["Detail"].as_str().unwrap_or("")).expect("detail");
    assert_eq!(detail["by"], "slack:alice (U0ALICE)");
    assert_eq!(detail["incident"], id.as_str());

    // EventBridge's rule delivers it to the escalator.
    let delivered = serde_json::json!({
        "version": "0", "id": "e-1", "detail-type": entry["DetailType"], "source": "rempart",
        "account": "123456789012", "time": "2025-11-23T02:20:01Z", "region": "eu-west-1",
        "resources": [], "detail": detail
    });
    handle(&s.deps, delivered).await.expect("acknowledged");
    let i = &s.first_open().await;
    assert_eq!(
        i.timeline.last().map(|e| (e.what.as_str(), e.by.as_str())),
        Some(("acknowledged", "slack:alice (U0ALICE)"))
    );
    handle(&s.deps, at(TICK, "2025-11-23T06:07:00Z"))
        .await
        .expect("tick");
    assert_eq!(pages(&s, 2), 0, "acknowledged from Slack: no escalation");
}

/// The events of `kind` on the events topic, with the audience they name.
fn audience_reminders(s: &Setup) -> Vec<(String, bool)> {
    s.h.announcements("/all")
        .iter()
        .filter(|a| a["kind"] == "incident.audience-due")
        .map(|a| {
            (
                a["details"]["audience"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                a["details"]["audience"]["overdue"] == true,
            )
        })
        .collect()
}

/// An audience event as EventBridge delivers it (source rempart).
fn audience_event(kind: &str, incident: &str, audience: &str, time: &str) -> Value {
    serde_json::json!({
        "version": "0", "id": format!("ev-{audience}-{time}"), "detail-type": kind,
        "source": "rempart", "account": "123456789012", "time": time,
        "region": "eu-west-1", "resources": [],
        "detail": rempart_core::event::incident_audience_detail(incident, audience, "carol@rewapp.fr"),
    })
}

/// Proves, with the example policy's audiences (direction within 30 min,
/// paged on the CTO tier too; premium partners within 1 h; users 2 h;
/// public 4 h; the authority's 72 h declared by hand): a critical incident
/// (opened 02:06:14) starts the four opening clocks; reminders fire at
/// their checkpoints (direction at once and overdue at the deadline,
/// partners at half-time, then overdue), reach the CTO's topic for
/// direction, and stop for an audience once `rempart incident notified`'s
/// event recorded its notice; the authority's clock starts at the
/// declaration; an unknown audience is refused and changes nothing; the
/// closing report grades each audience.
#[tokio::test]
async fn audience_reminders_fire_at_their_deadlines_and_stop_at_the_notice() {
    use rempart_incident_escalator::{AUDIENCE_DECLARED, AUDIENCE_NOTIFIED};
    let s = setup(EXAMPLE_POLICY).await;
    handle(&s.deps, serde_json::from_str(ALARM).expect("JSON"))
        .await
        .expect("opened");
    let id = s.first_open().await.id.clone();
    let clocks: Vec<String> = s
        .first_open()
        .await
        .audiences
        .iter()
        .map(|c| c.audience.clone())
        .collect();
    assert_eq!(clocks, ["direction", "premium-partners", "users", "public"]);

    handle(&s.deps, at(TICK, "2025-11-23T02:07:00Z"))
        .await
        .expect("tick");
    assert_eq!(audience_reminders(&s), [("direction".to_string(), false)]);
    let to_cto = s
        .tiers
        .received("/tier3")
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("incident.audience-due"))
        .count();
    assert_eq!(to_cto, 1, "direction's reminder reaches the CTO's topic");

    handle(&s.deps, at(TICK, "2025-11-23T02:37:00Z"))
        .await
        .expect("tick");
    assert_eq!(
        audience_reminders(&s)[1..],
        [
            ("direction".to_string(), true),
            ("premium-partners".to_string(), false)
        ]
    );

    // An unknown audience: refused, nothing recorded.
    let before = s.first_open().await;
    let err = handle(
        &s.deps,
        audience_event(AUDIENCE_NOTIFIED, &id, "press", "2025-11-23T02:39:00Z"),
    )
    .await
    .expect_err("unknown audience");
    assert!(err.to_string().contains("no audience `press`"), "{err}");
    assert_eq!(s.first_open().await, before);

    handle(
        &s.deps,
        audience_event(AUDIENCE_NOTIFIED, &id, "direction", "2025-11-23T02:40:00Z"),
    )
    .await
    .expect("recorded");
    handle(
        &s.deps,
        audience_event(
            AUDIENCE_DECLARED,
            &id,
            "data-protection-authority",
            "2025-11-23T02:45:00Z",
        ),
    )
    .await
    .expect("declared");
    let n = audience_reminders(&s).len();
    handle(&s.deps, at(TICK, "2025-11-23T03:10:00Z"))
        .await
        .expect("tick");
    assert_eq!(
        audience_reminders(&s)[n..],
        [
            ("premium-partners".to_string(), true),
            ("users".to_string(), false)
        ],
        "no more reminders for direction once notified"
    );
    let i = &s.first_open().await;
    let dpa = i
        .audiences
        .iter()
        .find(|c| c.audience == "data-protection-authority")
        .expect("declared clock");
    assert_eq!(
        rempart_core::time::rfc3339(dpa.due_at),
        "2025-11-26T02:45:00Z"
    );

    handle(&s.deps, serde_json::from_str(ALARM_OK).expect("JSON"))
        .await
        .expect("ok");
    handle(&s.deps, at(TICK, "2025-11-23T04:00:00Z"))
        .await
        .expect("tick");
    let resolved =
        s.h.announcements("/all")
            .into_iter()
            .find(|a| a["kind"] == "incident.resolved")
            .expect("resolved");
    let graded: Vec<(String, bool)> = resolved["details"]["report"]["audiences"]
        .as_array()
        .expect("audiences in the report")
        .iter()
        .map(|a| {
            (
                a["audience"].as_str().unwrap_or_default().to_string(),
                a["in_time"] == true,
            )
        })
        .collect();
    assert_eq!(
        graded[0],
        ("direction".to_string(), false),
        "notified at 02:40, due 02:36"
    );
    assert!(graded[1..].iter().all(|(_, in_time)| !in_time));
    assert!(resolved["details"]["report"]["post_mortem"]
        .as_str()
        .is_some_and(|p| p.contains("Audiences: direction late, premium-partners not notified")));
}
