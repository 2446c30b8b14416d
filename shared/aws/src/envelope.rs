//! Incoming events: turning what AWS (or an operator) sends into a domain
//! input, or a clear rejection.

use crate::error::{Error, Result};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};

use serde_json::Value;

/// Parses an EventBridge envelope, with a message that says what is wrong.
pub fn envelope(v: &Value) -> Result<EventBridgeEvent<Value>> {
    if !v.is_object() {
        return Err(Error::Event(format!(
            "expected an EventBridge event (a JSON object with detail-type, source, time, detail), got {}",
            json_kind(v)
        )));
    }
    for field in ["detail-type", "source"] {
        if !v.get(field).is_some_and(Value::is_string) {
            return Err(Error::Event(format!(
                "not an EventBridge event: field `{field}` is missing or not a string"
            )));
        }
    }
    serde_json::from_value(v.clone())
        .map_err(|e| Error::Event(format!("malformed EventBridge event: {e}")))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The event's `time`: Rempart's "now".
pub fn event_time(ev: &EventBridgeEvent<Value>) -> Result<DateTime<Utc>> {
    ev.time.ok_or_else(|| {
        Error::Event(format!(
            "`{}` event has no `time`: Rempart takes \"now\" from the event, never from the clock",
            ev.detail_type
        ))
    })
}
