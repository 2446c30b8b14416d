//! slack-notifier: the events topic's SNS deliveries become Slack messages.

use aws_config::SdkConfig;
use rempart_aws::error::{Error, Result};
use rempart_aws::runtime::{env_var, load_policy};
use rempart_aws::secrets::Secrets;
use rempart_aws::slack::{Credentials, Slack, SECRET_ENV};
use rempart_core::notify::{
    add_crisis_template, channels_for, format, incoming, wants_crisis_template,
};
use rempart_core::policy::PolicySource;
use serde::Serialize;
use serde_json::Value;

pub const NAME: &str = "slack-notifier";

/// Everything the handler needs, built once per Lambda container. The
/// credentials are read from Secrets Manager at the first message and kept
/// for the container's life; they are never logged.
#[derive(Debug)]
pub struct Deps {
    pub slack: Slack,
    pub secrets: Secrets,
    pub secret_id: String,
    pub policy: PolicySource,
    pub ssm: aws_sdk_ssm::Client,
    creds: tokio::sync::OnceCell<Credentials>,
}

impl Deps {
    /// From the environment: `REMPART_POLICY`, `REMPART_SLACK_SECRET_ARN`,
    /// `REMPART_SLACK_API_URL` (optional).
    pub fn from_env(cfg: &SdkConfig) -> Result<Deps> {
        Deps::new(
            cfg,
            &env_var(SECRET_ENV)?,
            PolicySource::from_env()?,
            Slack::from_env()?,
        )
    }

    pub fn new(
        cfg: &SdkConfig,
        secret_id: &str,
        policy: PolicySource,
        slack: Slack,
    ) -> Result<Deps> {
        let cfg = &rempart_aws::runtime::function_config(cfg, "slack-notifier");
        Ok(Deps {
            slack,
            secrets: Secrets::new(aws_sdk_secretsmanager::Client::new(cfg)),
            secret_id: secret_id.to_string(),
            policy,
            ssm: aws_sdk_ssm::Client::new(cfg),
            creds: tokio::sync::OnceCell::new(),
        })
    }
}

/// What became of one SNS message.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Delivery {
    pub message_id: String,
    pub kind: String,
    pub severity: String,
    /// Channels it was posted to.
    pub channels: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Handles one SNS delivery. A message Slack refuses fails the invocation
/// (SNS retries, then dead-letters it); the error says which channels had
/// already taken it.
pub async fn handle(deps: &Deps, event: Value) -> Result<Vec<Delivery>> {
    let sns: aws_lambda_events::event::sns::SnsEvent =
        serde_json::from_value(event).map_err(|e| {
            Error::Event(format!(
                "slack-notifier takes the events topic's SNS deliveries (`Records` of `aws:sns`): {e}"
            ))
        })?;
    if sns.records.is_empty() {
        return Err(Error::Event("SNS event with no records".into()));
    }
    let doc = load_policy(&deps.policy, &deps.ssm).await?;
    let creds = deps
        .creds
        .get_or_try_init(|| async {
            Credentials::parse(&deps.secrets.string(&deps.secret_id).await?)
        })
        .await?;
    let mut out = Vec::new();
    for r in &sns.records {
        let m = &r.sns;
        let inc = incoming(&m.message, m.subject.as_deref());
        let (severity, kind) = (inc.severity(), inc.kind());
        let channels = channels_for(&doc.notifications, &inc);
        let mut d = Delivery {
            message_id: m.message_id.clone(),
            kind: kind.clone(),
            severity: severity.as_str().into(),
            channels: Vec::new(),
            note: None,
        };
        if channels.is_empty() {
            tracing::info!(message_id = %m.message_id, %kind, "info with no route: stays in the log");
            d.note = Some("info: no route asks for it; kept in the log".into());
            out.push(d);
            continue;
        }
        let message = format(&inc);
        for ch in channels {
            let mut message = message.clone();
            if wants_crisis_template(&doc.notifications, &ch) {
                add_crisis_template(&mut message, &kind, doc.notifications.language);
            }
            if let Err(e) = deps.slack.post(creds, &ch, &message).await {
                tracing::error!(message_id = %m.message_id, channel = %ch, delivered = ?d.channels, error = %e, "Slack refused the message");
                return Err(Error::Retry(format!(
                    "{NAME}: message {} ({kind}) {}; already posted to: [{}]",
                    m.message_id,
                    e,
                    d.channels.join(", ")
                )));
            }
            d.channels.push(ch);
        }
        tracing::info!(message_id = %m.message_id, %kind, channels = ?d.channels, "posted");
        out.push(d);
    }
    Ok(out)
}
