//! The events topic (SNS): where every announcement goes; the on-call
//! topics, where pages go.

use crate::aws_error;
use crate::error::Result;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;
use rempart_core::announce::{Announcement, SCHEMA};

/// Environment variable naming the events topic ARN.
pub const EVENTS_TOPIC_ENV: &str = "REMPART_EVENTS_TOPIC_ARN";

#[derive(Clone, Debug)]
pub struct Topic {
    client: Client,
    arn: String,
}

fn attr(v: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(v)
        .build()
        .expect("data type is set")
}

impl Topic {
    pub fn new(client: Client, arn: impl Into<String>) -> Self {
        Topic {
            client,
            arn: arn.into(),
        }
    }

    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// Publishes one announcement, with `kind`, `severity` and `schema`
    /// message attributes for subscription filter policies. One message
    /// per medium (`MessageStructure=json`): the announcement's JSON for
    /// machines (Lambda, SQS, HTTP, `email-json`), a subject and a readable
    /// body for email, one line for SMS ([`rempart_core::medium`]).
    pub async fn publish(&self, a: &Announcement) -> Result<()> {
        let what_to_do = rempart_core::notify::what_to_do(a);
        let (message, subject) = rempart_core::medium::structured(a, what_to_do.as_deref());
        self.client
            .publish()
            .topic_arn(&self.arn)
            .message_structure("json")
            .message(message)
            .subject(subject)
            .message_attributes("kind", attr(&a.kind))
            .message_attributes("severity", attr(a.severity.as_str()))
            .message_attributes("schema", attr(SCHEMA))
            .send()
            .await
            .map_err(|e| aws_error("Publish", e))?;
        Ok(())
    }

    /// Creates a topic (local stack and tests; Terraform does it in AWS).
    pub async fn create(client: Client, name: &str) -> Result<Topic> {
        let out = client
            .create_topic()
            .name(name)
            .send()
            .await
            .map_err(|e| aws_error("CreateTopic", e))?;
        Ok(Topic::new(client, out.topic_arn().unwrap_or_default()))
    }
}
