//! Secrets Manager: the Slack credentials, the data checks' database
//! credentials.

use crate::aws_error;
use crate::error::{Error, Result};
use aws_sdk_secretsmanager::Client;

#[derive(Clone, Debug)]
pub struct Secrets {
    client: Client,
}

impl Secrets {
    pub fn new(client: Client) -> Self {
        Secrets { client }
    }

    /// The Slack secret's string value. Never logged.
    pub async fn string(&self, id: &str) -> Result<String> {
        self.value(id).await?.ok_or_else(|| {
            Error::Config(format!(
                "secret {id} has no string value: set it with `aws secretsmanager put-secret-value --secret-id {id} --secret-string '{{\"webhooks\": {{\"#ops-alerts\": \"https://hooks.slack.com/services/...\"}}}}'`"
            ))
        })
    }

    /// A secret's string value (`None`: a binary secret). Never logged.
    pub async fn value(&self, id: &str) -> Result<Option<String>> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| aws_error("GetSecretValue", e))?;
        Ok(out.secret_string().map(str::to_string))
    }
}
