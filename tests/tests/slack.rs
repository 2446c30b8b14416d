//! slack-notifier against moto (Secrets Manager holds the credentials, the
//! policy routes) and a local Slack stub that records what it receives and
//! answers as Slack does (200 `ok`, 429 with `Retry-After`, 500, the Web
//! API's `{"ok": false}`).

use rempart_aws::slack::Slack;
use rempart_core::policy::PolicySource;
use rempart_integration::Harness;
use rempart_slack_notifier::{handle, Deps};
use rempart_testkit::http::Request;
use rempart_testkit::recorder::Recorder;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Instant;

const ANNOUNCEMENT: &str = include_str!("../../events/slack-notifier/sns-announcement.json");
const ALARM: &str = include_str!("../../events/slack-notifier/sns-cloudwatch-alarm.json");
const INFO: &str = include_str!("../../events/slack-notifier/sns-info-announcement.json");

/// A Slack stub answering from `script` in turn (then `200 ok`), noting when
/// each request arrived.
struct Stub {
    server: Recorder,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

async fn stub(script: Vec<(&'static str, &'static str)>) -> Stub {
    let script = Arc::new(Mutex::new(
        script
            .into_iter()
            .collect::<std::collections::VecDeque<_>>(),
    ));
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let seen = arrivals.clone();
    let server = Recorder::with_responder(Arc::new(move |_: &Request| {
        seen.lock().expect("lock").push(Instant::now());
        let (status, body) = script
            .lock()
            .expect("lock")
            .pop_front()
            .unwrap_or(("200 OK", "ok"));
        (status.to_string(), body.to_string())
    }))
    .await
    .expect("stub");
    Stub { server, arrivals }
}

/// The notifier with the example policy and a secret in moto.
async fn notifier(h: &Harness, secret: Value, api: &Stub) -> Deps {
    let sm = aws_sdk_secretsmanager::Client::new(&h.cfg);
    sm.create_secret()
        .name("rempart/slack-webhook")
        .secret_string(secret.to_string())
        .send()
        .await
        .expect("secret");
    Deps::new(
        &h.cfg,
        "rempart/slack-webhook",
        PolicySource::File(h.policy_file.clone()),
        Slack::new(&api.server.url("/api")).expect("client"),
    )
    .expect("deps")
}

fn webhooks(s: &Stub) -> Value {
    serde_json::json!({"webhooks": {
        "#ops-alerts": s.server.url("/hooks/ops"),
        "#incident-war-room": s.server.url("/hooks/war-room"),
        "#incidents": s.server.url("/hooks/incidents"),
        "#account-managers": s.server.url("/hooks/account-managers"),
    }})
}

fn posted(s: &Stub, path: &str) -> Vec<Value> {
    s.server
        .received(path)
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("JSON body"))
        .collect()
}

/// Proves: a warning announcement is posted once, as Block Kit, to the
/// channel its route names (#ops-alerts); a critical CloudWatch alarm in
/// the raw shape an alarm action publishes goes to #ops-alerts and the war
/// room; an info announcement posts nothing (it stays in the log).
#[tokio::test]
async fn messages_reach_the_routed_channels_once() {
    let h = Harness::new().await;
    let s = stub(vec![]).await;
    let deps = notifier(&h, webhooks(&s), &s).await;

    let d = handle(&deps, serde_json::from_str(ANNOUNCEMENT).expect("JSON"))
        .await
        .expect("posted");
    assert_eq!(d[0].channels, vec!["#ops-alerts"]);
    let ops = posted(&s, "/hooks/ops");
    assert_eq!(ops.len(), 1);
    let blocks = ops[0]["blocks"].as_array().expect("blocks");
    assert!(blocks[0]["text"]["text"]
        .as_str()
        .is_some_and(|t| t.contains("WARNING")));
    assert!(ops[0]["text"]
        .as_str()
        .is_some_and(|t| t.contains("blocked")));
    assert!(ops[0]
        .to_string()
        .contains("create a customer-managed key in eu-central-1"));

    let d = handle(&deps, serde_json::from_str(ALARM).expect("JSON"))
        .await
        .expect("posted");
    assert_eq!(d[0].severity, "critical");
    assert_eq!(d[0].channels, vec!["#ops-alerts", "#incident-war-room"]);
    assert_eq!(posted(&s, "/hooks/war-room").len(), 1);
    assert!(posted(&s, "/hooks/war-room")[0]
        .to_string()
        .contains("rempart-snapshot-scheduler-errors-critical"));

    let before = s.server.all().len();
    let d = handle(&deps, serde_json::from_str(INFO).expect("JSON"))
        .await
        .expect("handled");
    assert!(d[0].channels.is_empty());
    assert!(d[0].note.as_deref().is_some_and(|n| n.contains("log")));
    assert_eq!(s.server.all().len(), before, "info posts nothing");
}

/// Proves: when Slack answers 429 with `Retry-After: 1`, the notifier waits
/// that long and posts again, and the invocation succeeds.
#[tokio::test]
async fn a_slack_429_is_retried_after_retry_after() {
    let h = Harness::new().await;
    let s = stub(vec![(
        "429 Too Many Requests\r\nRetry-After: 1",
        "rate_limited",
    )])
    .await;
    let deps = notifier(&h, webhooks(&s), &s).await;
    handle(&deps, serde_json::from_str(ANNOUNCEMENT).expect("JSON"))
        .await
        .expect("posted after the wait");
    let arrivals = s.arrivals.lock().expect("lock").clone();
    assert_eq!(arrivals.len(), 2, "one refused, one accepted");
    let gap = arrivals[1] - arrivals[0];
    assert!(
        gap.as_millis() >= 950,
        "waited {gap:?}, Retry-After said 1 s"
    );
}

/// Proves: a message Slack refuses (HTTP 500, or the Web API's
/// `{"ok": false}`) fails the invocation with a retryable error that names
/// the channel (so SNS retries, then dead-letters it), and the webhook URL
/// appears in no error.
#[tokio::test]
async fn a_refused_message_fails_the_invocation() {
    let h = Harness::new().await;
    let s = stub(vec![("500 Internal Server Error", "oops")]).await;
    let deps = notifier(&h, webhooks(&s), &s).await;
    let err = handle(&deps, serde_json::from_str(ANNOUNCEMENT).expect("JSON"))
        .await
        .expect_err("refused");
    assert!(err.is_retryable(), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("#ops-alerts") && text.contains("500"),
        "{text}"
    );
    assert!(!text.contains("/hooks/"), "the webhook URL leaked: {text}");

    // The bot token path: HTTP 200 with {"ok": false} is a refusal too.
    let h = Harness::new().await;
    let s = stub(vec![(
        "200 OK",
        r#"{"ok": false, "error": "channel_not_found"}"#,
    )])
    .await;
    let deps = notifier(
        &h,
        serde_json::json!({"bot_token": "xoxb-not-a-real-token"}),
        &s,
    )
    .await;
    let err = handle(&deps, serde_json::from_str(ANNOUNCEMENT).expect("JSON"))
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("channel_not_found"), "{err}");
    assert!(!err.to_string().contains("xoxb"), "the token leaked: {err}");
    let req = &s.server.received("/api/chat.postMessage")[0];
    assert_eq!(
        req.header("authorization"),
        Some("Bearer xoxb-not-a-real-token")
    );
}

/// Proves: an event that is not an SNS delivery is rejected with a clear
/// error and posts nothing.
#[tokio::test]
async fn a_malformed_event_is_rejected_and_posts_nothing() {
    let h = Harness::new().await;
    let s = stub(vec![]).await;
    let deps = notifier(&h, webhooks(&s), &s).await;
    let err = handle(&deps, serde_json::json!({"detail-type": "Scheduled Event"}))
        .await
        .expect_err("rejected");
    assert!(err.to_string().contains("SNS"), "{err}");
    assert!(s.server.all().is_empty());
}

/// The incident-escalator (its table in moto, no on-call tiers) after the
/// example's critical database alarm opened an incident.
async fn escalator_with_an_open_incident(h: &Harness) -> rempart_incident_escalator::Deps {
    use rempart_incident_escalator as incident_escalator;
    rempart_aws::incidents::Incidents::new(
        aws_sdk_dynamodb::Client::new(&h.cfg),
        "rempart-incidents",
    )
    .create_table()
    .await
    .expect("table");
    let esc = incident_escalator::Deps::new(
        &h.cfg,
        "rempart-incidents",
        h.topic.arn(),
        &[],
        PolicySource::File(h.policy_file.clone()),
    )
    .expect("escalator");
    incident_escalator::handle(
        &esc,
        serde_json::from_str(include_str!(
            "../../events/incident-escalator/alarm-state-change.json"
        ))
        .expect("JSON"),
    )
    .await
    .expect("opened");
    esc
}

/// Proves, end to end: a CloudWatch alarm event reaches the
/// incident-escalator, whose `incident.opened` announcement (as the topic
/// delivered it to a subscriber) makes the notifier post one message to each
/// channel the routes name: #ops-alerts, #incident-war-room (with seed 003's
/// French user message) and #incidents.
#[tokio::test]
async fn an_alarm_becomes_one_incident_message_per_routed_channel() {
    let h = Harness::new().await;
    let s = stub(vec![]).await;
    let deps = notifier(&h, webhooks(&s), &s).await;
    escalator_with_an_open_incident(&h).await;
    let opened = h
        .announcements("/all")
        .into_iter()
        .find(|a| a["kind"] == "incident.opened")
        .expect("announced");
    let mut delivery: Value = serde_json::from_str(ANNOUNCEMENT).expect("JSON");
    delivery["Records"][0]["Sns"]["Message"] = opened.to_string().into();
    let d = handle(&deps, delivery).await.expect("posted");
    assert_eq!(
        d[0].channels,
        vec!["#ops-alerts", "#incident-war-room", "#incidents"]
    );
    for path in ["/hooks/ops", "/hooks/war-room", "/hooks/incidents"] {
        assert_eq!(posted(&s, path).len(), 1, "{path}");
    }
    let war = posted(&s, "/hooks/war-room")[0].to_string();
    assert!(war.contains("Chers utilisateurs"), "{war}");
    assert!(!posted(&s, "/hooks/ops")[0]
        .to_string()
        .contains("Chers utilisateurs"));
}

/// Proves, end to end: an audience's reminder (the example policy's
/// premium partners, due 1 h after a critical incident opened) decided by
/// the escalator's tick is posted by the notifier to the channels the
/// routes name for incident messages and to the audience's own channel
/// (#account-managers), once each; the opening message lists the clocks.
#[tokio::test]
async fn an_audience_reminder_reaches_the_audience_channel_too() {
    use rempart_incident_escalator as incident_escalator;
    let h = Harness::new().await;
    let s = stub(vec![]).await;
    let deps = notifier(&h, webhooks(&s), &s).await;
    let esc = escalator_with_an_open_incident(&h).await;
    let mut tick: Value =
        serde_json::from_str(include_str!("../../events/incident-escalator/tick.json"))
            .expect("JSON");
    tick["time"] = "2025-11-23T02:37:00Z".into();
    incident_escalator::handle(&esc, tick).await.expect("tick");
    let all = h.announcements("/all");
    let opened = all
        .iter()
        .find(|a| a["kind"] == "incident.opened")
        .expect("opened");
    assert!(
        opened["summary"]
            .as_str()
            .is_some_and(|t| t.contains("notify direction by 2025-11-23T02:36:13Z")),
        "{}",
        opened["summary"]
    );
    let partners = all
        .iter()
        .find(|a| {
            a["kind"] == "incident.audience-due"
                && a["details"]["audience"]["name"] == "premium-partners"
        })
        .expect("the partners' reminder");
    let mut delivery: Value = serde_json::from_str(ANNOUNCEMENT).expect("JSON");
    delivery["Records"][0]["Sns"]["Message"] = partners.to_string().into();
    let d = handle(&deps, delivery).await.expect("posted");
    assert_eq!(
        d[0].channels,
        vec![
            "#ops-alerts",
            "#incident-war-room",
            "#incidents",
            "#account-managers"
        ]
    );
    let posted_there = posted(&s, "/hooks/account-managers");
    assert_eq!(posted_there.len(), 1);
    assert!(posted_there[0]
        .to_string()
        .contains("Notify premium-partners by 2025-11-23T03:06:13Z"));
}
