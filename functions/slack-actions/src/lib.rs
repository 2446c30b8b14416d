//! slack-actions: the Slack app's interactivity URL (a Lambda function
//! URL). A click on an incident message's button ("Acknowledge", "Client
//! notified") arrives as Slack's signed `block_actions` request; the click
//! is checked (signature and timestamp, `rempart_core::slack_action`), the
//! incident must be open, a replayed request is refused, and a valid click
//! becomes the same EventBridge event `rempart incident ack` (or
//! `client-notified`) sends, with the Slack user as `by`: the
//! incident-escalator acts on it as on the command's. A refused request
//! changes nothing and gets a status that says why.

use aws_config::SdkConfig;
use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use chrono::{DateTime, Utc};
use rempart_aws::bus::Bus;
use rempart_aws::error::{Error, Result};
use rempart_aws::incidents::{Incidents, INCIDENTS_TABLE_ENV};
use rempart_aws::registry::{Registry, REGISTRY_TABLE_ENV};
use rempart_aws::runtime::{env_var, region_of};
use rempart_aws::secrets::Secrets;
use rempart_core::announce::{Outcome, RegistryRecord};
use rempart_core::event::{INCIDENT_ACK, INCIDENT_CLIENT_NOTIFIED};
use rempart_core::slack_action::{self, Action, Refusal, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use serde_json::{json, Value};
use tokio::sync::OnceCell;

pub const NAME: &str = "slack-actions";
/// Environment variable: the secret holding the Slack app's signing secret
/// (the string itself, or JSON `{"signing_secret": "..."}`).
pub const SIGNING_SECRET_ENV: &str = "REMPART_SLACK_SIGNING_SECRET_ARN";
/// Environment variable: the EventBridge bus the incident events go to
/// (default `default`, where the incident-escalator's rule listens).
pub const EVENT_BUS_ENV: &str = "REMPART_EVENT_BUS";

#[derive(Debug)]
pub struct Deps {
    pub store: Incidents,
    pub registry: Registry,
    pub bus: Bus,
    pub secrets: Secrets,
    pub secret_id: String,
    /// The signing secret, read once per container.
    signing_secret: OnceCell<Vec<u8>>,
    pub region: String,
}

impl Deps {
    /// From the environment: `REMPART_INCIDENTS_TABLE`,
    /// `REMPART_REGISTRY_TABLE`, `REMPART_SLACK_SIGNING_SECRET_ARN`,
    /// `REMPART_EVENT_BUS`.
    pub fn from_env(cfg: &SdkConfig) -> Result<Deps> {
        Deps::new(
            cfg,
            &env_var(INCIDENTS_TABLE_ENV)?,
            &env_var(REGISTRY_TABLE_ENV)?,
            &env_var(SIGNING_SECRET_ENV)?,
            &std::env::var(EVENT_BUS_ENV).unwrap_or_else(|_| "default".into()),
        )
    }

    pub fn new(
        cfg: &SdkConfig,
        incidents: &str,
        registry: &str,
        secret_id: &str,
        bus: &str,
    ) -> Result<Deps> {
        let cfg = &rempart_aws::runtime::function_config(cfg, NAME);
        Ok(Deps {
            store: Incidents::new(aws_sdk_dynamodb::Client::new(cfg), incidents),
            registry: Registry::new(aws_sdk_dynamodb::Client::new(cfg), registry),
            bus: Bus::new(aws_sdk_eventbridge::Client::new(cfg), bus),
            secrets: Secrets::new(aws_sdk_secretsmanager::Client::new(cfg)),
            secret_id: secret_id.to_string(),
            signing_secret: OnceCell::new(),
            region: region_of(cfg)?,
        })
    }

    async fn signing_secret(&self) -> Result<&[u8]> {
        self.signing_secret
            .get_or_try_init(|| async {
                let raw = self.secrets.string(&self.secret_id).await?;
                let secret = match serde_json::from_str::<Value>(&raw) {
                    Ok(v) => v
                        .get("signing_secret")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .ok_or_else(|| {
                            Error::Config(format!(
                                "secret {} is JSON without a `signing_secret` string (the Slack app's Basic Information > Signing Secret)",
                                self.secret_id
                            ))
                        })?,
                    Err(_) => raw.trim().to_string(),
                };
                Ok::<_, Error>(secret.into_bytes())
            })
            .await
            .map(Vec::as_slice)
    }
}

/// The function URL's answer: `status` and a message only the clicking
/// user sees.
fn respond(status: u16, text: &str) -> Value {
    json!({
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": slack_action::reply(text).to_string(),
    })
}

fn refused(r: &Refusal) -> Value {
    tracing::warn!(status = r.status(), refusal = %r, "{NAME}: request refused");
    respond(r.status(), &format!("Refused: {r}"))
}

/// Handles one function URL request. Refusals are answers (4xx), not
/// errors; only an event that is not a function URL request, or an AWS
/// failure, is an error (the URL then answers 5xx and Slack shows that the
/// click failed: nothing was recorded as done).
pub async fn handle(deps: &Deps, event: Value) -> Result<Value> {
    let req: LambdaFunctionUrlRequest = serde_json::from_value(event).map_err(|e| {
        Error::Event(format!(
            "{NAME} takes a Lambda function URL request (Slack's interactivity POST): {e}"
        ))
    })?;
    let method = req.request_context.http.method.as_deref().unwrap_or("");
    if !method.eq_ignore_ascii_case("POST") {
        return Ok(respond(405, "Slack's interactivity requests are POSTs"));
    }
    let raw = req.body.as_deref().unwrap_or("");
    let body: Vec<u8> = if req.is_base64_encoded {
        match aws_smithy_types::base64::decode(raw) {
            Ok(b) => b,
            Err(_) => return Ok(respond(400, "the request body is not valid base64")),
        }
    } else {
        raw.as_bytes().to_vec()
    };
    let header = |name: &str| {
        req.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let (timestamp, signature) = (header(HEADER_TIMESTAMP), header(HEADER_SIGNATURE));
    // The time the URL received the request.
    let now = DateTime::<Utc>::from_timestamp_millis(req.request_context.time_epoch)
        .ok_or_else(|| Error::Event("requestContext.timeEpoch is not a time".into()))?;
    let secret = deps.signing_secret().await?;
    if let Err(r) = slack_action::verify(secret, &timestamp, &signature, &body, now) {
        return Ok(refused(&r));
    }
    let click = match slack_action::parse(&body) {
        Ok(c) => c,
        Err(r) => return Ok(refused(&r)),
    };
    let key = click
        .incident
        .rsplit_once('@')
        .map_or(click.incident.as_str(), |(k, _)| k);
    let open = deps.store.open(key).await?;
    if open
        .as_ref()
        .is_none_or(|s| s.incident.id != click.incident)
    {
        tracing::warn!(incident = %click.incident, "{NAME}: no such open incident");
        return Ok(respond(
            404,
            &format!(
                "No open incident `{}`: it was resolved, or the id is not one of Rempart's. Nothing was recorded.",
                click.incident
            ),
        ));
    }
    let (detail_type, action, done) = match click.action {
        Action::Ack => (
            INCIDENT_ACK,
            "incident.ack-requested",
            "acknowledged: the escalation stops",
        ),
        Action::ClientNotified => (
            INCIDENT_CLIENT_NOTIFIED,
            "incident.client-notified-requested",
            "client notification recorded",
        ),
    };
    // Once per signed request: the same request again (a replay within the
    // timestamp's five minutes) finds its record and changes nothing. The
    // record's time is the request's own timestamp, so that a replay has
    // the same key.
    let at = timestamp
        .parse::<i64>()
        .ok()
        .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
        .unwrap_or(now);
    let by = click.by();
    let record = RegistryRecord {
        resource: format!("slack-action#{signature}"),
        time: at,
        action: action.into(),
        subject: click.incident.clone(),
        outcome: Outcome::Success,
        policy: None,
        region: deps.region.clone(),
        function: NAME.into(),
        details: json!({"by": by, "team": click.team, "channel": click.channel, "message_ts": click.message_ts}),
        cause: None,
    };
    if !deps.registry.record_once(&record).await? {
        tracing::warn!(incident = %click.incident, "{NAME}: replayed request");
        return Ok(respond(
            409,
            "This request was already handled (a replay): nothing more was recorded.",
        ));
    }
    let detail = rempart_core::event::incident_detail(&click.incident, &by, "");
    let id = deps.bus.put(detail_type, &detail).await?;
    tracing::info!(incident = %click.incident, by = %by, event = %id, "{NAME}: {done}");
    Ok(respond(
        200,
        &format!("Incident `{}` {done} (by {by}).", click.incident),
    ))
}
