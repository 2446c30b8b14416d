//! Delivery to Slack: incoming webhooks (one per channel) or a bot token
//! (`chat.postMessage`), from the Secrets Manager secret. About one message
//! a second per channel (Slack's limit); HTTP 429 waits `Retry-After` and
//! tries again; any other refusal is an error, so that the invocation fails
//! and SNS delivers again, then dead-letters: never "logged and forgotten".

use crate::error::{Error, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rempart_core::notify::Message;
use serde::Deserialize;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// Environment variable: the secret (name or ARN) holding the credentials.
pub const SECRET_ENV: &str = "REMPART_SLACK_SECRET_ARN";
/// Environment variable: Slack's Web API base URL (default
/// `https://slack.com/api`; a local stub in tests).
pub const API_URL_ENV: &str = "REMPART_SLACK_API_URL";
/// Slack's rate: about one message a second per channel.
const PACE: Duration = Duration::from_secs(1);
/// Attempts per message when Slack answers 429.
const ATTEMPTS: u32 = 4;
/// The longest `Retry-After` honoured inside one invocation; beyond it the
/// invocation fails and SNS retries later.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// The secret's value: `{"webhooks": {"#channel": "https://hooks.slack.com/..."}}`
/// and/or `{"bot_token": "xoxb-..."}` (a webhook wins for its channel).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[serde(default)]
    webhooks: BTreeMap<String, String>,
    #[serde(default)]
    bot_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("webhooks", &self.webhooks.keys().collect::<Vec<_>>())
            .field("bot_token", &self.bot_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Credentials {
    /// Parses the secret's value; the error never quotes it.
    pub fn parse(secret: &str) -> Result<Credentials> {
        let c: Credentials = serde_json::from_str(secret).map_err(|e| {
            Error::Config(format!(
                "the Slack secret is not {{\"webhooks\": {{\"#channel\": \"https://hooks.slack.com/...\"}}}} or {{\"bot_token\": \"xoxb-...\"}} (JSON error at line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        if c.webhooks.is_empty() && c.bot_token.is_none() {
            return Err(Error::Config(
                "the Slack secret names no webhook and no bot token".into(),
            ));
        }
        Ok(c)
    }

    /// Whether a message to `channel` can be delivered.
    pub fn covers(&self, channel: &str) -> bool {
        self.webhooks.contains_key(channel) || self.bot_token.is_some()
    }
}

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// The Slack client of one Lambda container.
pub struct Slack {
    client: Client<Https, Full<Bytes>>,
    api_url: String,
    last: tokio::sync::Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for Slack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slack")
            .field("api_url", &self.api_url)
            .finish()
    }
}

impl Slack {
    pub fn new(api_url: &str) -> Result<Slack> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| Error::Config(format!("no TLS root certificates: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Slack {
            client: Client::builder(TokioExecutor::new()).build(https),
            api_url: api_url.trim_end_matches('/').to_string(),
            last: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    /// From [`API_URL_ENV`] (default Slack's).
    pub fn from_env() -> Result<Slack> {
        Slack::new(
            &std::env::var(API_URL_ENV).unwrap_or_else(|_| "https://slack.com/api".to_string()),
        )
    }

    /// Posts `m` to `channel`, pacing and honouring 429s.
    pub async fn post(&self, creds: &Credentials, channel: &str, m: &Message) -> Result<()> {
        let (url, body, token) = match creds.webhooks.get(channel) {
            Some(url) => (
                url.clone(),
                json!({"text": m.text, "blocks": m.blocks}),
                None,
            ),
            None => match &creds.bot_token {
                Some(t) => (
                    format!("{}/chat.postMessage", self.api_url),
                    json!({"channel": channel, "text": m.text, "blocks": m.blocks}),
                    Some(t.clone()),
                ),
                None => {
                    return Err(Error::Config(format!(
                        "the Slack secret has no webhook for {channel} and no bot token"
                    )))
                }
            },
        };
        let refused = |status: u16, message: String| Error::Slack {
            channel: channel.to_string(),
            status,
            message,
        };
        let body = Bytes::from(body.to_string());
        for attempt in 1..=ATTEMPTS {
            self.pace(channel).await;
            let mut req = hyper::Request::post(&url)
                .header("content-type", "application/json; charset=utf-8");
            if let Some(t) = &token {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            let req = req
                .body(Full::new(body.clone()))
                .map_err(|e| refused(0, format!("bad request: {e}")))?;
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| refused(0, format!("no answer: {e}")))?;
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let text = resp
                .into_body()
                .collect()
                .await
                .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
                .unwrap_or_default();
            match status {
                200..=299 if token.is_some() => {
                    // The Web API answers 200 with {"ok": false} when it refuses.
                    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                    return if v.get("ok").and_then(serde_json::Value::as_bool) == Some(true) {
                        Ok(())
                    } else {
                        Err(refused(
                            status,
                            v.get("error")
                                .and_then(serde_json::Value::as_str)
                                .unwrap_or("not ok")
                                .to_string(),
                        ))
                    };
                }
                200..=299 => return Ok(()),
                429 if attempt < ATTEMPTS => {
                    let wait = retry_after.unwrap_or(PACE);
                    if wait > MAX_WAIT {
                        return Err(refused(
                            429,
                            format!("rate limited for {}s", wait.as_secs()),
                        ));
                    }
                    tracing::warn!(
                        channel,
                        attempt,
                        wait_s = wait.as_secs(),
                        "Slack rate limit (429): waiting Retry-After"
                    );
                    tokio::time::sleep(wait).await;
                }
                _ => return Err(refused(status, text.chars().take(300).collect())),
            }
        }
        Err(refused(
            429,
            format!("still rate limited after {ATTEMPTS} attempts"),
        ))
    }

    /// Waits until a second has passed since the last post to `channel`.
    async fn pace(&self, channel: &str) {
        let mut last = self.last.lock().await;
        if let Some(t) = last.get(channel) {
            let since = t.elapsed();
            if since < PACE {
                tokio::time::sleep(PACE - since).await;
            }
        }
        last.insert(channel.to_string(), Instant::now());
    }
}
