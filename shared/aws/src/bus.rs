//! EventBridge: the human events of an incident (acknowledgement, client
//! notified, status update), published by `rempart incident`.

use crate::aws_error;
use crate::error::{Error, Result};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;

#[derive(Clone, Debug)]
pub struct Bus {
    client: Client,
    /// The event bus name or ARN (`default` unless told).
    name: String,
}

impl Bus {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        Bus {
            client,
            name: name.into(),
        }
    }

    /// Publishes one event with source `rempart`; returns its id.
    pub async fn put(&self, detail_type: &str, detail: &serde_json::Value) -> Result<String> {
        let out = self
            .client
            .put_events()
            .entries(
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.name)
                    .source(rempart_core::event::REMPART_SOURCE)
                    .detail_type(detail_type)
                    .detail(detail.to_string())
                    .build(),
            )
            .send()
            .await
            .map_err(|e| aws_error("PutEvents", e))?;
        let entry = out.entries().first();
        match entry.and_then(|e| e.event_id()) {
            Some(id) if out.failed_entry_count() == 0 => Ok(id.to_string()),
            _ => Err(Error::Aws {
                operation: "PutEvents",
                code: entry
                    .and_then(|e| e.error_code())
                    .unwrap_or("Unknown")
                    .to_string(),
                message: entry
                    .and_then(|e| e.error_message())
                    .unwrap_or("the event was not accepted")
                    .to_string(),
                retryable: true,
            }),
        }
    }
}
